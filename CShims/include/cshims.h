// CShims: the C half of Skiff. It holds what Swift cannot do: raw syscalls that Glibc's module lacks
// (clone3, pivot_root, openat2, setns, capset, seccomp) and the allocation-free child path between
// clone and execve. It holds no policy: which namespaces, mounts, capabilities or syscalls a
// container gets is decided in Swift (RuntimeEngine) and arrives here as a flat `cs_plan`.
#ifndef SKIFF_CSHIMS_H
#define SKIFF_CSHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- thin syscall wrappers (return -1 and set errno on failure) ----
int cs_unshare(int flags);
int cs_setns(int fd, int nstype);
int cs_pivot_root(const char *new_root, const char *put_old);
int cs_openat2_in_root(int rootfd, const char *path, int flags, int mode);
int cs_pidfd_open(pid_t pid);
int cs_pidfd_send_signal(int pidfd, int sig);
int cs_prctl_set_child_subreaper(void);
int cs_close_range_cloexec(unsigned int first);
int cs_close_range(unsigned int first, unsigned int last);    // closes first..last
int cs_mkfifo(const char *path, unsigned int mode);
int cs_waitpid(pid_t pid, int *status);                    // EINTR retried
long cs_filesystem_type(const char *path);                 // statfs f_type, or -1
int cs_malloc_mmap_threshold(int bytes);
int cs_gettid(void);
/// A pod's namespaces (`flags`: CLONE_NEWNET|NEWIPC|NEWUTS), unshared by the calling process, which
/// must be single-threaded: lo up, the hostname, sysctls (keys with dots), then each bind-mounted at
/// `dir`/net, ipc, uts. With `uid_map` and `gid_map` ("0 100000 65536\n"), a user namespace with
/// those maps owns them, pinned at `dir`/user. On failure, errno and `*step` say where.
int cs_pin_namespaces(int flags, const char *dir, const char *uid_map, const char *gid_map, const char *hostname,
                      const char *const *keys, const char *const *values, int count, const char **step);
/// Binds `source` (not recursively) at `target`, idmapped with the user namespace whose nsfs file is
/// `userns`: files appear owned by the ids that namespace maps theirs to (a pod's image layers).
int cs_idmapped_bind(const char *source, const char *target, const char *userns);
/// A new pid namespace whose pid 1 is `holder --pause` (skiff-monitor), forked by the calling
/// single-threaded process (which joins `userns` first, when given: the pid namespace is then
/// that one's); returns its pid (host view) or -1 with errno.
pid_t cs_start_pid_holder(const char *holder, const char *userns);
/// pipe2(O_CLOEXEC), which Swift's Glibc module does not declare: a pipe no concurrent spawn can inherit.
int cs_pipe_cloexec(int fds[2]);
/// 1 if `name` in `dirfd` is the root of a mount (statx STATX_ATTR_MOUNT_ROOT), 0 if not, -1 unknown.
int cs_is_mount_root(int dirfd, const char *name);                   // mallopt(M_MMAP_THRESHOLD): 1 on success

// ---- terminals (cs_console.c) ----
/// Sends `fd` over a connected unix socket (SCM_RIGHTS), as runc's --console-socket protocol does.
int cs_send_fd(int sock, int fd, const char *name);
/// Receives one fd sent with SCM_RIGHTS; returns it (CLOEXEC) or -1.
int cs_recv_fd(int sock);
/// A stream socket of `family` created in the network namespace pinned at `netns`: the calling
/// thread switches in and back within the call, and the socket stays in that namespace.
int cs_socket_in_netns(const char *netns, int family);

// ---- the exec trampoline (cs_trampoline.S, cs_spawn.c) ----
/// A sealed memfd holding a tiny ELF that execs its argv[0]: the container's first execve goes
/// through it so the runtime's binary is never the container's /proc/self/exe. -1 when this
/// architecture has no image (the child then execs directly).
int cs_trampoline_fd(void);

// ---- seccomp: libseccomp without variadics or macros (cs_seccomp.c) ----
typedef struct {
    uint32_t index;     // argument number 0…5
    uint32_t op;        // enum scmp_compare: 1 NE, 2 LT, 3 LE, 4 EQ, 5 GE, 6 GT, 7 MASKED_EQ
    uint64_t value, value_two;
} cs_seccomp_arg;
void *cs_seccomp_new(uint32_t default_action);
void cs_seccomp_free(void *ctx);
int cs_seccomp_add_arch(void *ctx, const char *name);      // "x86_64", "x86", "x32", "aarch64"…
int cs_seccomp_syscall_number(const char *name);           // negative when unknown
int cs_seccomp_add_rule(void *ctx, uint32_t action, int syscall_nr, unsigned count, const cs_seccomp_arg *args);
int cs_seccomp_set_log(void *ctx);
int cs_seccomp_export(void *ctx, void **out, size_t *len);  // BPF bytes, malloc'd

// ---- the device cgroup: BPF_PROG_TYPE_CGROUP_DEVICE programs (cs_bpf.c) ----
/// Loads `count` instructions; returns the program fd (CLOEXEC) or -1. `log` gets the verifier's text.
int cs_bpf_load_device_program(const void *insns, unsigned count, char *log, unsigned log_size);
/// Attaches with BPF_F_ALLOW_MULTI; with `replace_fd` >= 0, atomically in place of that program.
int cs_bpf_attach_device_program(int cgroup_fd, int prog_fd, int replace_fd);
int cs_bpf_detach_device_program(int cgroup_fd, int prog_fd);
/// Ids of the programs attached to the cgroup itself; `*count` is the room in, the number out.
int cs_bpf_query_device_programs(int cgroup_fd, uint32_t *ids, uint32_t *count);
int cs_bpf_program_fd(uint32_t id);

// ---- namespace flags, for Swift (Glibc's module does not export CLONE_NEW*) ----
extern const int CS_CLONE_NEWNS, CS_CLONE_NEWUTS, CS_CLONE_NEWIPC, CS_CLONE_NEWUSER, CS_CLONE_NEWPID,
    CS_CLONE_NEWNET, CS_CLONE_NEWCGROUP;

// ---- the spawn plan ----

/// One mount, in order. `target` is absolute inside the container; it is created and resolved
/// inside the rootfs, never followed outside it.
typedef struct {
    const char *source;        // may be NULL (e.g. proc, tmpfs)
    const char *target;
    const char *fstype;        // NULL for bind mounts
    unsigned long flags;       // MS_* for mount(2); MS_BIND for binds
    unsigned long propagation; // MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE, maybe | MS_REC; 0 none
    unsigned long remount;     // for binds (and a fallback bind): flags re-applied with MS_REMOUNT|MS_BIND
    const char *data;          // filesystem options
    int target_is_file;        // bind of a non-directory: create a file, not a directory
    const char *fallback_source; // when mounting fstype fails with EPERM/EBUSY, bind this instead
    uint64_t recursive_attr;   // MOUNT_ATTR_* set on the mount and every mount below it (mount_setattr, AT_RECURSIVE); 0 none
    int idmap;                 // bind idmapped with the joined user namespace (its ids as the files' owners)
} cs_mount;

/// A device node to create (or, inside a user namespace, bind from the host).
typedef struct {
    const char *path;   // absolute inside the container
    uint32_t mode;      // S_IFCHR/S_IFBLK | permissions
    uint32_t major, minor;
    uint32_t uid, gid;
} cs_device;

typedef struct {
    int resource;
    uint64_t soft, hard;
} cs_rlimit;

typedef struct {
    // Namespaces: created with clone3 flags; joined from fds opened by the parent (user first).
    uint64_t clone_flags;
    // Created with unshare after the joins, so that a joined user namespace owns them (a pod's
    // containers): clone_flags then holds none.
    uint64_t unshare_flags;
    int join_fds[8];
    int join_types[8];
    int join_count;
    int cgroup_fd;                 // CLONE_INTO_CGROUP target, or -1
    const char *uid_map, *gid_map; // written by the parent for a new user namespace, or NULL
    int deny_setgroups;

    // Root filesystem.
    const char *rootfs;            // absolute host path
    int rootfs_readonly;
    unsigned long rootfs_propagation;
    const cs_mount *mounts;
    int mount_count;
    int *tree_fds;                 // mount_count slots for cs_trees.c (a joined user namespace), or NULL
    const cs_device *devices;
    int device_count;
    const char *const *device_link_targets;  // symlinks made in /dev: target…
    const char *const *device_link_names;    // …and name (inside /dev); "ptmx" only when devpts is there
    int device_link_count;
    int bind_devices;              // user namespace: mknod is not allowed, bind host nodes
    const char *const *masked_paths;
    int masked_count;
    const char *const *readonly_paths;
    int readonly_count;
    const char *hostname;          // NULL: leave
    const char *domainname;
    const char *const *sysctl_keys;   // "net.ipv4.ip_forward" form
    const char *const *sysctl_values;
    int sysctl_count;

    // Process.
    const char *cwd;
    const char *const *argv;       // NULL-terminated
    const char *const *envp;       // NULL-terminated
    const char *path_env;          // PATH used to find argv[0] (the container's, else the default)
    uint32_t uid, gid;
    const uint32_t *groups;
    int group_count;
    int umask;                     // -1: leave
    const cs_rlimit *rlimits;
    int rlimit_count;
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    int last_cap;                  // highest capability number the kernel knows
    int no_new_privileges;
    const void *seccomp_filter;    // struct sock_filter[]
    unsigned short seccomp_len;    // number of instructions; 0: none
    unsigned int seccomp_flags;
    int oom_score_adj_set;
    int oom_score_adj;

    // Terminal: a pty is created inside the container, its master sent over console_socket_fd.
    int terminal;
    int console_socket_fd;         // connected unix socket, or -1
    int mount_console;             // bind the pty over /dev/console (the init, not exec)

    // exec: join the namespaces (join_fds), no rootfs work; fork after joining so the process
    // is inside the pid namespace (the parent learns its pid from a CS_STAGE_FORKED report).
    int exec_mode;
    // Fork after joining the namespaces (the process that goes on is the fork): for exec, and for
    // an init that joins an existing pid namespace, since setns(CLONE_NEWPID) applies only to
    // children. The parent must be a child subreaper to wait for the fork.
    int fork_after_join;

    // The systemd cgroup driver: with cgroup_fd -1, the parent calls this with the child's pid
    // while the child waits, to put it in its cgroup (a transient scope). 0: go on.
    int (*place_child)(void *context, pid_t pid);
    void *place_child_context;

    // AppArmor: the profile the process changes to at execve, or NULL.
    const char *apparmor_profile;

    // Hooks (createRuntime, prestart) run in the parent after the mounts and before pivot_root.
    int (*before_pivot)(void *context, pid_t pid); // 0: go on; else the child is killed
    void *before_pivot_context;

    // Plumbing.
    int trampoline_fd;             // cs_trampoline_fd(), or -1 to exec directly
    const char **trampoline_argv;  // argc + 2 slots: [0] set by the child, then argv, NULL
    int exec_fifo_fd;              // O_PATH fd of the exec FIFO, or -1 to exec at once
    int stdio_fds[3];              // -1: inherit
    int preserve_fds;              // keep fds 3 .. 3+n-1 (LISTEN_FDS)
    int setsid;
} cs_plan;

/// Where the child path stopped, reported over a CLOEXEC pipe.
typedef enum {
    CS_STAGE_READY = 0,    // waiting on the exec FIFO (or about to exec): not an error
    CS_STAGE_CLONE, CS_STAGE_USERNS_MAP, CS_STAGE_SYNC, CS_STAGE_SETNS, CS_STAGE_SETSID, CS_STAGE_STDIO,
    CS_STAGE_PROPAGATION, CS_STAGE_ROOTFS_BIND, CS_STAGE_MOUNT_TARGET, CS_STAGE_MOUNT,
    CS_STAGE_MOUNT_PROPAGATION, CS_STAGE_REMOUNT, CS_STAGE_DEVICE, CS_STAGE_DEVICE_LINKS,
    CS_STAGE_PIVOT_ROOT, CS_STAGE_MASK, CS_STAGE_READONLY_PATH, CS_STAGE_ROOT_READONLY,
    CS_STAGE_HOSTNAME, CS_STAGE_DOMAINNAME, CS_STAGE_SYSCTL, CS_STAGE_RLIMIT, CS_STAGE_OOM_SCORE,
    CS_STAGE_CAP_BOUNDING, CS_STAGE_KEEPCAPS, CS_STAGE_GROUPS, CS_STAGE_SETGID, CS_STAGE_SETUID,
    CS_STAGE_CAPSET, CS_STAGE_AMBIENT, CS_STAGE_NO_NEW_PRIVS, CS_STAGE_CWD, CS_STAGE_EXEC_LOOKUP,
    CS_STAGE_FIFO, CS_STAGE_SECCOMP, CS_STAGE_EXEC, CS_STAGE_CLOSE_FDS,
    CS_STAGE_FORK, CS_STAGE_TERMINAL, CS_STAGE_CONSOLE_SOCKET, CS_STAGE_HOOKS, CS_STAGE_CGROUP, CS_STAGE_APPARMOR,
    // Progress messages, not errors:
    CS_STAGE_FORKED = 100, // index: the exec process's pid
    CS_STAGE_BEFORE_PIVOT, // the parent runs hooks, then answers on the sync pipe
} cs_stage;

typedef struct {
    int32_t stage;  // cs_stage
    int32_t err;    // errno
    int32_t index;  // which mount/device/path/sysctl/rlimit, or -1
} cs_report;

/// Clones the container's init process and runs the plan in it up to the exec FIFO.
/// Returns the child's pid once it reported READY; on failure returns -1 with `*report` set
/// (the child has been reaped). `pidfd_out` receives a pidfd of the child (or -1).
/// In exec mode the returned pid is the forked process inside the container's pid namespace;
/// the caller must be a child subreaper to wait for it.
pid_t cs_spawn(const cs_plan *plan, cs_report *report, int *pidfd_out);

#ifdef __cplusplus
}
#endif
#endif
