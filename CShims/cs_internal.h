// Helpers shared by the child-path files. Everything here runs in the cloned child: no malloc,
// no stdio, no locks; buffers live on the stack and strings come from the parent's plan.
#ifndef SKIFF_CS_INTERNAL_H
#define SKIFF_CS_INTERNAL_H
#include "cshims.h"

#define CS_PATH_MAX 4096

/// Sends {stage, errno, index} to the parent (or stderr after READY) and exits.
__attribute__((noreturn)) void cs_fail(int stage, int err, int index);

/// Rootfs setup before and after pivot_root (cs_rootfs.c).
void cs_setup_rootfs(const cs_plan *plan);
void cs_finish_rootfs(const cs_plan *plan);

/// mount_setattr(2)'s argument (its own definition: glibc's and the kernel's headers disagree on
/// who declares it).
struct cs_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };

/// Detached trees made on the host before a user namespace is joined (cs_trees.c): the rootfs
/// (the cwd is left on its directory) and each bind source, idmapped where asked.
void cs_open_trees(const cs_plan *plan, int userns_fd);
int cs_root_tree(void);            // -1 when none was made
int cs_mount_tree(int index);      // -1 for a mount made by path
int cs_attach_tree(int tree, const char *target);

/// The working directory, resolved inside the container's root (cs_rootfs.c).
void cs_enter_cwd(const cs_plan *plan);

/// Credentials, limits and the final exec (cs_process.c).
void cs_apply_limits(const cs_plan *plan);
void cs_apply_credentials(const cs_plan *plan);
const char *cs_lookup_executable(const cs_plan *plan);
void cs_load_seccomp(const cs_plan *plan);
/// Writes the AppArmor exec transition, before credentials change (as runc orders it).
void cs_apply_apparmor(const cs_plan *plan);

/// The pty, in the child after pivot_root (cs_console.c).
void cs_setup_terminal(const cs_plan *plan);

/// Tells the parent the mounts are done and waits for its hooks (cs_spawn.c).
void cs_before_pivot(const cs_plan *plan);

/// "/proc/self/fd/N" into buf (at least 32 bytes).
void cs_fd_path(char *buf, int fd);
/// Copies at most n-1 bytes; returns 0, or -1 if it did not fit.
int cs_copy(char *dst, const char *src, int n);
/// Writes a sysctl by its dotted key, in the calling process's namespaces.
int cs_write_sysctl(const char *key, const char *value);
#endif
