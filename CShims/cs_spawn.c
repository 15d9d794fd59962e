// clone3 and the child path up to execve. The parent (`skiff create`) waits for the child to
// report READY or the {stage, errno, index} of the step that failed; after READY the child blocks
// on the exec FIFO until `skiff start` writes to it, then execs.
#define _GNU_SOURCE
#include "cs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report_fd = -1;
static int sync_fd = -1;

void cs_fd_path(char *buf, int fd) {
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    unsigned u = (unsigned)fd;
    do { digits[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    memcpy(buf, prefix, sizeof prefix - 1);
    int k = sizeof prefix - 1;
    while (n) buf[k++] = digits[--n];
    buf[k] = 0;
}

int cs_copy(char *dst, const char *src, int n) {
    size_t len = strlen(src);
    if (len + 1 > (size_t)n) return -1;
    memcpy(dst, src, len + 1);
    return 0;
}

static void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

void cs_fail(int stage, int err, int index) {
    if (report_fd >= 0) {
        cs_report r = { stage, err, index };
        write_all(report_fd, &r, sizeof r);
    } else {
        // After READY nobody reads the report pipe: say it on the container's stderr.
        static const char msg[] = "skiff: container init failed before exec: ";
        write_all(2, msg, sizeof msg - 1);
        const char *reason = strerror(err);
        write_all(2, reason, strlen(reason));
        write_all(2, "\n", 1);
    }
    _exit(err == ENOENT ? 127 : 126);
}

/// Reads one byte from the parent; anything but '1' means "stop here" (it reports the error).
static void wait_for_parent(int stage) {
    char go = 0;
    ssize_t n;
    do { n = read(sync_fd, &go, 1); } while (n < 0 && errno == EINTR);
    if (n != 1) cs_fail(stage, n < 0 ? errno : EPIPE, -1);
    if (go != '1') _exit(1);
}

void cs_before_pivot(const cs_plan *plan) {
    if (!plan->before_pivot) return;
    cs_report r = { CS_STAGE_BEFORE_PIVOT, 0, -1 };
    write_all(report_fd, &r, sizeof r);
    wait_for_parent(CS_STAGE_HOOKS);
}

/// A joined pid namespace only applies to children, so the process that goes on (exec's, or an
/// init that joins a pod's pid namespace) is a fork; this one tells the parent its pid and leaves
/// (the parent, a subreaper, inherits it).
static void fork_into_pid_namespace(void) {
    pid_t pid = fork();
    if (pid < 0) cs_fail(CS_STAGE_FORK, errno, -1);
    if (pid == 0) return;
    cs_report r = { CS_STAGE_FORKED, 0, pid };
    write_all(report_fd, &r, sizeof r);
    _exit(0);
}

/// Through the sealed trampoline when there is one (see cs_trampoline.S), so the runtime's binary
/// is never this process's /proc/self/exe once the container's code runs.
__attribute__((noreturn)) static void exec_program(const cs_plan *plan, const char *exe) {
    if (plan->trampoline_fd >= 0) {
        plan->trampoline_argv[0] = exe;
        syscall(SYS_execveat, plan->trampoline_fd, "", plan->trampoline_argv, plan->envp, AT_EMPTY_PATH);
        // A seccomp profile may allow execve but not execveat: exec directly then.
    }
    execve(exe, (char *const *)plan->argv, (char *const *)plan->envp);
    cs_fail(CS_STAGE_EXEC, errno, -1);
}

/// Closes every descriptor the child path does not need, before it resolves any path the config
/// supplies (mount targets, cwd, the executable). A descriptor the runtime opened on the host (the
/// cgroup directory, a bundle file) would otherwise be reachable as /proc/self/fd/N, and a cwd
/// or program path through it would start the container outside its root (runc's CVE-2024-21626).
/// Marking them close-on-exec is not enough: the lookups happen before execve.
static void close_unneeded_fds(const cs_plan *plan) {
    int keep[32];
    int n = 0;
    keep[n++] = report_fd;
    keep[n++] = sync_fd;
    keep[n++] = plan->exec_fifo_fd;
    keep[n++] = plan->console_socket_fd;
    keep[n++] = plan->trampoline_fd;
    for (int i = 0; i < 3; i++) keep[n++] = plan->stdio_fds[i];
    for (int i = 0; i < plan->join_count && n < 32; i++) keep[n++] = plan->join_fds[i];
    // Sorted, so the gaps between kept descriptors can each go with one close_range.
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
    unsigned first = 3u + (unsigned)(plan->preserve_fds > 0 ? plan->preserve_fds : 0);
    for (int i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < first) continue;
        if ((unsigned)keep[i] > first && cs_close_range(first, (unsigned)keep[i] - 1) != 0)
            cs_fail(CS_STAGE_CLOSE_FDS, errno, -1);
        first = (unsigned)keep[i] + 1;
    }
    if (cs_close_range(first, ~0u) != 0) cs_fail(CS_STAGE_CLOSE_FDS, errno, -1);
}

/// After setns and dup2 the namespace descriptors and the original stdio are done with.
static void close_spent_fds(const cs_plan *plan) {
    unsigned preserved_end = 3u + (unsigned)(plan->preserve_fds > 0 ? plan->preserve_fds : 0);
    for (int i = 0; i < plan->join_count; i++) close(plan->join_fds[i]);
    for (int i = 0; i < 3; i++) {
        int fd = plan->stdio_fds[i];
        if (fd >= 3 && (unsigned)fd >= preserved_end && fd != plan->stdio_fds[(i + 1) % 3]
            && fd != plan->stdio_fds[(i + 2) % 3])
            close(fd);
    }
}

__attribute__((noreturn)) static void child_main(const cs_plan *plan, int report, int sync) {
    report_fd = report;
    sync_fd = sync;
    // Not dumpable while runtime code runs: a container process cannot open /proc/<pid>/exe or
    // /proc/<pid>/fd of this process. execve makes the new program dumpable again.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    close_unneeded_fds(plan);
    wait_for_parent(CS_STAGE_SYNC);
    if ((plan->clone_flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
        cs_fail(CS_STAGE_USERNS_MAP, errno, -1);
    // A joined user namespace comes first in the joins; what needs the host's root is done before.
    if (plan->join_count > 0 && plan->join_types[0] == CLONE_NEWUSER && !plan->exec_mode)
        cs_open_trees(plan, plan->join_fds[0]);
    for (int i = 0; i < plan->join_count; i++) {
        if (setns(plan->join_fds[i], plan->join_types[i]) != 0) cs_fail(CS_STAGE_SETNS, errno, i);
        // Its root from here on (capabilities are kept: the ids change to that namespace's root).
        if (plan->join_types[i] == CLONE_NEWUSER && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
            cs_fail(CS_STAGE_USERNS_MAP, errno, i);
    }
    if (plan->unshare_flags && unshare((int)plan->unshare_flags) != 0) cs_fail(CS_STAGE_SETNS, errno, -1);
    if (plan->fork_after_join) fork_into_pid_namespace();
    if (plan->setsid && setsid() < 0) cs_fail(CS_STAGE_SETSID, errno, -1);
    for (int i = 0; i < 3; i++)
        if (plan->stdio_fds[i] >= 0 && plan->stdio_fds[i] != i && dup2(plan->stdio_fds[i], i) < 0)
            cs_fail(CS_STAGE_STDIO, errno, i);
    close_spent_fds(plan);
    if (!plan->exec_mode) cs_setup_rootfs(plan);
    close(sync_fd);
    if (plan->terminal) cs_setup_terminal(plan);
    cs_apply_limits(plan);
    if (!plan->exec_mode) cs_finish_rootfs(plan);
    cs_apply_apparmor(plan);
    // Without no_new_privileges the filter needs CAP_SYS_ADMIN, so it goes in before the drop.
    if (!plan->no_new_privileges) cs_load_seccomp(plan);
    cs_apply_credentials(plan);
    cs_enter_cwd(plan);
    const char *exe = cs_lookup_executable(plan);
    for (int i = 0; i < plan->preserve_fds; i++)
        if (fcntl(3 + i, F_SETFD, 0) != 0) cs_fail(CS_STAGE_CLOSE_FDS, errno, 3 + i);
    // Whatever else is open (the runtime's own descriptors) closes at execve.
    if (cs_close_range_cloexec((unsigned)(3 + plan->preserve_fds)) != 0) cs_fail(CS_STAGE_CLOSE_FDS, errno, -1);
    cs_report ready = { CS_STAGE_READY, 0, -1 };
    write_all(report_fd, &ready, sizeof ready);
    close(report_fd);
    report_fd = -1;
    if (plan->exec_fifo_fd >= 0) {
        // The FIFO was opened read-write by the parent, so this read blocks until `start` writes.
        char byte;
        ssize_t n;
        do { n = read(plan->exec_fifo_fd, &byte, 1); } while (n < 0 && errno == EINTR);
        if (n != 1) cs_fail(CS_STAGE_FIFO, n < 0 ? errno : EPIPE, -1);
    }
    if (plan->no_new_privileges) cs_load_seccomp(plan);
    exec_program(plan, exe);
}

static int write_proc_file(pid_t pid, const char *name, const char *value) {
    char path[64] = "/proc/";
    char digits[12];
    int n = 0, k = 6;
    unsigned u = (unsigned)pid;
    do { digits[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    while (n) path[k++] = digits[--n];
    path[k++] = '/';
    strcpy(path + k, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t w = write(fd, value, strlen(value));
    int saved = errno;
    close(fd);
    if (w != (ssize_t)strlen(value)) { errno = w < 0 ? saved : EIO; return -1; }
    return 0;
}

/// Parent-side setup while the child waits: cgroup membership (when clone3 could not place it)
/// and user namespace maps.
static int prepare_child(const cs_plan *plan, pid_t pid, int placed, cs_report *report) {
    if (!placed && plan->place_child) {
        int err = plan->place_child(plan->place_child_context, pid);
        if (err != 0) {
            *report = (cs_report){ CS_STAGE_CGROUP, err, -1 };
            return -1;
        }
    } else if (!placed && plan->cgroup_fd >= 0) {
        int fd = openat(plan->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        char digits[16];
        int n = 0;
        unsigned u = (unsigned)pid;
        char text[16];
        do { digits[n++] = (char)('0' + u % 10); u /= 10; } while (u);
        int k = 0;
        while (n) text[k++] = digits[--n];
        if (fd < 0 || write(fd, text, (size_t)k) != k) {
            *report = (cs_report){ CS_STAGE_CLONE, errno, -1 };
            if (fd >= 0) close(fd);
            return -1;
        }
        close(fd);
    }
    if (plan->clone_flags & CLONE_NEWUSER) {
        if ((plan->deny_setgroups && write_proc_file(pid, "setgroups", "deny") != 0)
            || (plan->uid_map && write_proc_file(pid, "uid_map", plan->uid_map) != 0)
            || (plan->gid_map && write_proc_file(pid, "gid_map", plan->gid_map) != 0)) {
            *report = (cs_report){ CS_STAGE_USERNS_MAP, errno, -1 };
            return -1;
        }
    }
    return 0;
}

pid_t cs_spawn(const cs_plan *plan, cs_report *report, int *pidfd_out) {
    *pidfd_out = -1;
    int rp[2], sp[2];
    if (pipe2(rp, O_CLOEXEC) != 0) { *report = (cs_report){ CS_STAGE_CLONE, errno, -1 }; return -1; }
    if (pipe2(sp, O_CLOEXEC) != 0) {
        *report = (cs_report){ CS_STAGE_CLONE, errno, -1 };
        close(rp[0]); close(rp[1]);
        return -1;
    }
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = plan->clone_flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    int placed = 0;
    if (plan->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)plan->cgroup_fd;
        placed = 1;
    }
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0 && placed) {
        // Kernels before 5.7, or a cgroup clone3 cannot enter: join it from the parent instead,
        // while the child is still blocked on the sync pipe.
        args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
        args.cgroup = 0;
        placed = 0;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    }
    if (pid == 0) {
        close(rp[0]);
        close(sp[1]);
        child_main(plan, rp[1], sp[0]);
    }
    int saved = errno;
    close(rp[1]);
    close(sp[0]);
    if (pid < 0) {
        *report = (cs_report){ CS_STAGE_CLONE, saved, -1 };
        close(rp[0]); close(sp[1]);
        return -1;
    }
    pid_t exec_pid = -1;
    int ready = 0;
    int ok = prepare_child(plan, pid, placed, report) == 0;
    if (ok) write_all(sp[1], "1", 1);
    while (ok) {
        cs_report r;
        ssize_t n;
        do { n = read(rp[0], &r, sizeof r); } while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof r) {
            *report = (cs_report){ CS_STAGE_EXEC, n < 0 ? errno : EPIPE, -1 };
            ok = 0;
        } else if (r.stage == CS_STAGE_FORKED) {
            exec_pid = r.index;
            cs_waitpid(pid, NULL);
            pid = -1;
            if (ready) break;
        } else if (r.stage == CS_STAGE_BEFORE_PIVOT) {
            int err = plan->before_pivot(plan->before_pivot_context, exec_pid > 0 ? exec_pid : pid);
            write_all(sp[1], err == 0 ? "1" : "0", 1);
            if (err != 0) {
                *report = (cs_report){ CS_STAGE_HOOKS, err, -1 };
                ok = 0;
            }
        } else if (r.stage == CS_STAGE_READY) {
            // The forked process can report before its parent names it: wait for both.
            ready = 1;
            if (!plan->fork_after_join || exec_pid > 0) break;
        } else {
            *report = r;
            ok = 0;
        }
    }
    close(sp[1]);
    close(rp[0]);
    if (ok && plan->fork_after_join) {
        if (pidfd >= 0) close(pidfd);
        *pidfd_out = exec_pid > 0 ? cs_pidfd_open(exec_pid) : -1;
        return exec_pid;
    }
    if (ok) {
        *pidfd_out = pidfd;
        return pid;
    }
    if (exec_pid > 0) { kill(exec_pid, SIGKILL); cs_waitpid(exec_pid, NULL); }
    if (pid > 0) { kill(pid, SIGKILL); cs_waitpid(pid, NULL); }
    if (pidfd >= 0) close(pidfd);
    return -1;
}

int cs_waitpid(pid_t pid, int *status) {
    int rc;
    do { rc = waitpid(pid, status, 0); } while (rc < 0 && errno == EINTR);
    return rc;
}

int cs_trampoline_fd(void) {
    extern const unsigned char cs_trampoline_image[];
    extern const uint64_t cs_trampoline_size;
    if (cs_trampoline_size == 0) return -1;
    int fd = memfd_create("skiff-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    // Sealed: nothing, not even a process that gets hold of it through /proc, can change it.
    if (write(fd, cs_trampoline_image, cs_trampoline_size) != (ssize_t)cs_trampoline_size
        || fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
