// One-line wrappers for syscalls that Swift's Glibc module does not expose.
#define _GNU_SOURCE
#include "cshims.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

const int CS_CLONE_NEWNS = CLONE_NEWNS, CS_CLONE_NEWUTS = CLONE_NEWUTS, CS_CLONE_NEWIPC = CLONE_NEWIPC,
          CS_CLONE_NEWUSER = CLONE_NEWUSER, CS_CLONE_NEWPID = CLONE_NEWPID, CS_CLONE_NEWNET = CLONE_NEWNET,
          CS_CLONE_NEWCGROUP = CLONE_NEWCGROUP;

int cs_unshare(int flags) { return unshare(flags); }

int cs_setns(int fd, int nstype) { return setns(fd, nstype); }

int cs_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

// Resolves `path` as if `rootfd` were "/": "..", absolute symlinks and absolute paths all stay
// inside it, and /proc magic links are refused. This is what keeps hostile rootfs symlinks from
// redirecting a mount or a device node onto the host.
int cs_openat2_in_root(int rootfd, const char *path, int flags, int mode) {
    struct open_how how = {0};
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? (uint64_t)mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks for a retry.
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) return fd;
    }
}

int cs_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int cs_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int cs_prctl_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int cs_close_range_cloexec(unsigned int first) {
    return (int)syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
}

int cs_close_range(unsigned int first, unsigned int last) {
    return (int)syscall(SYS_close_range, first, last, 0);
}

int cs_mkfifo(const char *path, unsigned int mode) { return mkfifo(path, (mode_t)mode); }

long cs_filesystem_type(const char *path) {
    struct statfs fs;
    return statfs(path, &fs) == 0 ? (long)fs.f_type : -1;
}

int cs_malloc_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

int cs_is_mount_root(int dirfd, const char *name) {
    struct statx stx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &stx) != 0) return -1;
    if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return -1;
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

int cs_gettid(void) { return (int)syscall(SYS_gettid); }
int cs_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cs_socket_in_netns(const char *netns, int family) {
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return -1;
    int target = open(netns, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        int saved = errno;
        close(self);
        errno = saved;
        return -1;
    }
    int fd = -1;
    if (setns(target, CLONE_NEWNET) == 0) {
        fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int saved = errno;
        // A daemon thread left in a pod's network namespace would be worse than no daemon.
        if (setns(self, CLONE_NEWNET) != 0) abort();
        errno = saved;
    }
    close(target);
    close(self);
    return fd;
}
