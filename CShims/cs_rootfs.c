// The container's mount namespace, built in the child: propagation, the rootfs bind, the plan's
// mounts and devices, pivot_root, then masked and read-only paths. Every path inside the rootfs is
// resolved with cs_openat2_in_root and mounted through /proc/self/fd, so a symlink planted in the
// image can never redirect a mount outside the root.
#define _GNU_SOURCE
#include "cs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static int rootfd = -1;

/// Opens `path` (absolute, inside the root) as O_PATH.
static int open_in_root(const char *path) { return cs_openat2_in_root(rootfd, path, O_PATH, 0); }

/// Splits "/a/b/c" into parent "/a/b" (in buf) and returns a pointer to "c".
static const char *split_parent(const char *path, char *buf) {
    if (cs_copy(buf, path, CS_PATH_MAX) != 0) return NULL;
    char *slash = strrchr(buf, '/');
    if (!slash) return NULL;
    const char *base = path + (slash - buf) + 1;
    if (slash == buf) slash[1] = 0; else *slash = 0;
    return base;
}

/// mkdir -p inside the root, one component at a time, each resolved in the root. A dangling
/// symlink on the way (an image may ship `/var/run -> /run`) gets its target created, inside the
/// root too, as runc's securejoin does; `depth` bounds symlink chains.
static int mkdirs_in_root_depth(const char *path, int depth) {
    char prefix[CS_PATH_MAX];
    int len = (int)strlen(path);
    if (len >= CS_PATH_MAX) { errno = ENAMETOOLONG; return -1; }
    if (depth > 16) { errno = ELOOP; return -1; }
    for (int i = 1; i <= len; i++) {
        if (i < len && path[i] != '/') continue;
        memcpy(prefix, path, (size_t)i);
        prefix[i] = 0;
        int fd = open_in_root(prefix);
        if (fd >= 0) { close(fd); continue; }
        if (errno != ENOENT) return -1;
        char parent[CS_PATH_MAX];
        const char *base = split_parent(prefix, parent);
        if (!base || !*base) { errno = EINVAL; return -1; }
        int pfd = open_in_root(parent);
        if (pfd < 0) return -1;
        int rc = mkdirat(pfd, base, 0755);
        if (rc != 0 && errno == EEXIST) {
            char link[CS_PATH_MAX], target[CS_PATH_MAX];
            ssize_t n = readlinkat(pfd, base, link, sizeof link - 1);
            if (n < 0) { close(pfd); return -1; }
            link[n] = 0;
            if (link[0] == '/') {
                rc = cs_copy(target, link, CS_PATH_MAX);
            } else {
                size_t plen = strlen(parent);
                rc = plen + 1 + (size_t)n + 1 > sizeof target ? -1 : 0;
                if (rc == 0) {
                    memcpy(target, parent, plen);
                    target[plen] = '/';
                    memcpy(target + plen + 1, link, (size_t)n + 1);
                }
            }
            if (rc != 0) { close(pfd); errno = ENAMETOOLONG; return -1; }
            rc = mkdirs_in_root_depth(target, depth + 1);
        }
        int saved = errno;
        close(pfd);
        if (rc != 0 && saved != EEXIST) { errno = saved; return -1; }
    }
    return 0;
}

static int mkdirs_in_root(const char *path) { return mkdirs_in_root_depth(path, 0); }

/// Opens the mount target, creating it (a directory, or an empty file) when missing.
static int open_target(const char *path, int is_file) {
    int fd = open_in_root(path);
    if (fd >= 0 || errno != ENOENT) return fd;
    if (!is_file) return mkdirs_in_root(path) == 0 ? open_in_root(path) : -1;
    char parent[CS_PATH_MAX];
    const char *base = split_parent(path, parent);
    if (!base || mkdirs_in_root(parent) != 0) return -1;
    int pfd = open_in_root(parent);
    if (pfd < 0) return -1;
    int f = openat(pfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    int saved = errno;
    close(pfd);
    if (f < 0 && saved != EEXIST) { errno = saved; return -1; }
    if (f >= 0) close(f);
    return open_in_root(path);
}

/// Flags a bind remount must keep: the kernel refuses to clear nosuid/nodev/noexec/atime
/// flags that a less privileged mount namespace inherited locked.
static unsigned long locked_flags(const char *procpath) {
    struct statvfs st;
    if (statvfs(procpath, &st) != 0) return 0;
    unsigned long keep = 0;
    if (st.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
    if (st.f_flag & ST_RDONLY) keep |= MS_RDONLY;
    return keep;
}

static int remount_bind(const char *procpath, unsigned long flags) {
    if (mount(NULL, procpath, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0) return 0;
    if (errno != EPERM) return -1;
    return mount(NULL, procpath, NULL, MS_REMOUNT | MS_BIND | flags | locked_flags(procpath), NULL);
}

/// Sets `attr` on the mount at `procpath` and on every mount below it: "rro" makes a volume's
/// submounts read-only too, which a remount of the top alone does not.
static int set_recursive(const char *procpath, uint64_t attr) {
    struct cs_mount_attr a = { attr, 0, 0, 0 };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, procpath, AT_RECURSIVE, &a, sizeof a);
}

/// `tree`: the source cloned on the host (cs_trees.c), attached instead of mounting by path; or -1.
static void do_mount(const cs_mount *m, int index, int tree) {
    int fd = open_target(m->target, m->target_is_file);
    if (fd < 0) cs_fail(CS_STAGE_MOUNT_TARGET, errno, index);
    char procpath[32];
    cs_fd_path(procpath, fd);
    unsigned long flags = m->flags;
    int bind = m->fstype == NULL;
    if (tree >= 0) {
        if (cs_attach_tree(tree, procpath) != 0) cs_fail(CS_STAGE_MOUNT, errno, index);
        close(tree);
    // For a bind, ro/nosuid/… only take effect on a remount; mount(2) ignores them on the bind.
    } else if (mount(m->source, procpath, m->fstype, m->fstype ? flags : (flags & (MS_BIND | MS_REC)), m->data) != 0) {
        // cgroup2 cannot be mounted without a cgroup namespace of our own in some setups (a user
        // namespace, an old kernel): the container's cgroup directory bound there is the same view.
        if (!m->fallback_source || (errno != EPERM && errno != EBUSY)
            || mount(m->fallback_source, procpath, NULL, MS_BIND | MS_REC, NULL) != 0)
            cs_fail(CS_STAGE_MOUNT, errno, index);
        bind = 1;
        flags = MS_BIND | MS_REC;
    }
    close(fd);
    // The old fd still names the covered directory; reopen to reach the new mount.
    if ((bind && m->remount) || m->propagation || m->recursive_attr) {
        fd = open_in_root(m->target);
        if (fd < 0) cs_fail(CS_STAGE_MOUNT_TARGET, errno, index);
        cs_fd_path(procpath, fd);
        if (bind && m->remount && remount_bind(procpath, m->remount | (flags & MS_REC)) != 0)
            cs_fail(CS_STAGE_REMOUNT, errno, index);
        if (m->recursive_attr && set_recursive(procpath, m->recursive_attr) != 0)
            cs_fail(CS_STAGE_REMOUNT, errno, index);
        if (m->propagation && mount(NULL, procpath, NULL, m->propagation, NULL) != 0)
            cs_fail(CS_STAGE_MOUNT_PROPAGATION, errno, index);
        close(fd);
    }
}

static void make_device(const cs_plan *plan, const cs_device *d, int index) {
    char parent[CS_PATH_MAX];
    const char *base = split_parent(d->path, parent);
    if (!base || mkdirs_in_root(parent) != 0) cs_fail(CS_STAGE_DEVICE, errno ? errno : EINVAL, index);
    if (plan->bind_devices) {
        // A user namespace may not mknod: bind the host's node over an empty file instead.
        cs_mount m = { d->path, d->path, NULL, MS_BIND, 0, 0, NULL, 1, NULL, 0, 0 };
        do_mount(&m, index, -1);
        return;
    }
    int pfd = open_in_root(parent);
    if (pfd < 0) cs_fail(CS_STAGE_DEVICE, errno, index);
    unlinkat(pfd, base, 0);
    if (mknodat(pfd, base, d->mode, makedev(d->major, d->minor)) != 0) cs_fail(CS_STAGE_DEVICE, errno, index);
    if (fchownat(pfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) != 0) cs_fail(CS_STAGE_DEVICE, errno, index);
    // mknod applies the umask; the spec's mode is what the container must see.
    if (fchmodat(pfd, base, d->mode & 07777, 0) != 0) cs_fail(CS_STAGE_DEVICE, errno, index);
    close(pfd);
}

static void device_links(const cs_plan *plan) {
    int dev = open_in_root("/dev");
    if (dev < 0) return;
    for (int i = 0; i < plan->device_link_count; i++) {
        const char *target = plan->device_link_targets[i], *name = plan->device_link_names[i];
        if (strcmp(name, "ptmx") == 0) {
            // Only when devpts is mounted, and replacing any node an image shipped.
            struct stat st;
            if (fstatat(dev, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            unlinkat(dev, "ptmx", 0);
        }
        if (symlinkat(target, dev, name) != 0 && errno != EEXIST) cs_fail(CS_STAGE_DEVICE_LINKS, errno, i);
    }
    close(dev);
}

/// Makes the mount that `path` lives on private: the nearest mount root at or above it.
static int make_mount_private(const char *path) {
    char buf[CS_PATH_MAX];
    if (cs_copy(buf, path, CS_PATH_MAX) != 0) { errno = ENAMETOOLONG; return -1; }
    for (;;) {
        struct statx stx;
        int root = strcmp(buf, "/") == 0;
        if (!root && statx(AT_FDCWD, buf, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0) return -1;
        if (root || ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)))
            return mount(NULL, buf, NULL, MS_PRIVATE, NULL);
        char *slash = strrchr(buf, '/');
        if (!slash) { errno = EINVAL; return -1; }
        if (slash == buf) slash[1] = 0; else *slash = 0;
    }
}

void cs_setup_rootfs(const cs_plan *plan) {
    // Nothing mounted below may propagate back to the host, unless the spec asks for it
    // (rootfsPropagation rshared, which containerd sets for a bidirectional volume): then the host's
    // mounts stay peers here, so a volume's mounts reach the host and the host's reach the container.
    unsigned long root_propagation = plan->rootfs_propagation ? plan->rootfs_propagation : (MS_REC | MS_SLAVE);
    if (mount(NULL, "/", NULL, root_propagation, NULL) != 0) cs_fail(CS_STAGE_PROPAGATION, errno, -1);
    // The rootfs's own bind below must not propagate to the host, and pivot_root refuses a new
    // root whose parent mount is shared: the mount the rootfs lives on becomes private (in this
    // namespace only), as runc does.
    int tree = cs_root_tree();
    if (tree >= 0) {
        // Cloned on the host, with the cwd left on the rootfs's directory (cs_trees.c): attached
        // there, the tree's own descriptor is the new root.
        if ((root_propagation & MS_SHARED) && mount(NULL, ".", NULL, MS_PRIVATE, NULL) != 0)
            cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
        if (cs_attach_tree(tree, ".") != 0) cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
        rootfd = tree;
    } else {
        if ((root_propagation & MS_SHARED) && make_mount_private(plan->rootfs) != 0)
            cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
        // pivot_root needs the new root to be a mount point.
        if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0)
            cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
        rootfd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
    }
    for (int i = 0; i < plan->mount_count; i++) do_mount(&plan->mounts[i], i, cs_mount_tree(i));
    for (int i = 0; i < plan->device_count; i++) make_device(plan, &plan->devices[i], i);
    device_links(plan);
    cs_before_pivot(plan);
    int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    if (fchdir(rootfd) != 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
    // the container's tree, with no path back to the host.
    if (cs_pivot_root(".", ".") != 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    // "." is the new root's directory, whatever is stacked on it: step onto the old root itself
    // (as runc does) so that what follows applies to it and not to the container's mounts. It is
    // made a slave before it goes, so that its unmount cannot propagate to the host when the
    // root was shared.
    if (fchdir(oldroot) != 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    close(oldroot);
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) != 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    if (umount2(".", MNT_DETACH) != 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    if (chdir("/") != 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    close(rootfd);
    rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) cs_fail(CS_STAGE_PIVOT_ROOT, errno, -1);
    if (plan->rootfs_propagation && mount(NULL, "/", NULL, plan->rootfs_propagation, NULL) != 0)
        cs_fail(CS_STAGE_PROPAGATION, errno, -1);
    // A missing working directory is made, inside the root, as runc does (images name a WORKDIR
    // their layers may not hold); a cwd that cannot be made fails when it is entered.
    if (plan->cwd) mkdirs_in_root(plan->cwd);
}

void cs_enter_cwd(const cs_plan *plan) {
    if (!plan->cwd) return;
    // Resolved as if "/" were the root, magic links refused: /proc/self/fd/N, /proc/self/cwd and
    // ".." cannot lead out. Then checked: the kernel names a directory outside the process's
    // root "(unreachable)/…", so anything but an absolute path means the cwd escaped.
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) cs_fail(CS_STAGE_CWD, errno, -1);
    int fd = cs_openat2_in_root(root, plan->cwd, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) cs_fail(CS_STAGE_CWD, errno, -1);
    if (fchdir(fd) != 0) cs_fail(CS_STAGE_CWD, errno, -1);
    close(fd);
    close(root);
    char buf[CS_PATH_MAX];
    if (syscall(SYS_getcwd, buf, sizeof buf) < 0) cs_fail(CS_STAGE_CWD, errno, -1);
    if (buf[0] != '/') cs_fail(CS_STAGE_CWD, EXDEV, -1);
}

/// Masks, read-only paths and a read-only root: last, so earlier steps (sysctls) can still write.
void cs_finish_rootfs(const cs_plan *plan) {
    char procpath[32];
    for (int i = 0; i < plan->masked_count; i++) {
        int fd = open_in_root(plan->masked_paths[i]);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            cs_fail(CS_STAGE_MASK, errno, i);
        }
        struct stat st;
        if (fstat(fd, &st) != 0) cs_fail(CS_STAGE_MASK, errno, i);
        cs_fd_path(procpath, fd);
        int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", procpath, "tmpfs", MS_RDONLY, "size=0k")
                                     : mount("/dev/null", procpath, NULL, MS_BIND, NULL);
        if (rc != 0) cs_fail(CS_STAGE_MASK, errno, i);
        close(fd);
    }
    for (int i = 0; i < plan->readonly_count; i++) {
        int fd = open_in_root(plan->readonly_paths[i]);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            cs_fail(CS_STAGE_READONLY_PATH, errno, i);
        }
        cs_fd_path(procpath, fd);
        if (mount(procpath, procpath, NULL, MS_BIND | MS_REC, NULL) != 0) cs_fail(CS_STAGE_READONLY_PATH, errno, i);
        close(fd);
        fd = open_in_root(plan->readonly_paths[i]);
        if (fd < 0) cs_fail(CS_STAGE_READONLY_PATH, errno, i);
        cs_fd_path(procpath, fd);
        if (remount_bind(procpath, MS_RDONLY | MS_REC) != 0) cs_fail(CS_STAGE_READONLY_PATH, errno, i);
        close(fd);
    }
    if (plan->rootfs_readonly && remount_bind("/", MS_RDONLY) != 0) cs_fail(CS_STAGE_ROOT_READONLY, errno, -1);
    close(rootfd);
}
