// Mounts prepared on the host for a container that joins a user namespace (a pod's). Once inside
// that namespace the child is no longer root on the host: it could not walk the host's 0700
// directories to its rootfs or to a volume, nor make an idmapped mount (that needs CAP_SYS_ADMIN
// where the filesystem was mounted). So, still root on the host, it clones the rootfs and each
// bind source as a detached tree (open_tree), idmaps the trees that ask for it with the joined
// namespace, and attaches them in the container's mount namespace later (move_mount), as runc 1.2
// does with its mount sources. skiffd binds a pod's image layers the same way (cs_idmapped_bind).
#define _GNU_SOURCE
#include "cs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#define CS_MOUNT_ATTR_IDMAP 0x00100000ULL

static int root_tree = -1;
static int *trees;   // the plan's tree_fds: the child's copy of the parent's buffer

static int open_tree_at(const char *path, int recursive) {
    unsigned flags = OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    return (int)syscall(SYS_open_tree, AT_FDCWD, path, flags);
}

static int set_idmap(int tree, int userns_fd, int recursive) {
    struct cs_mount_attr a = { CS_MOUNT_ATTR_IDMAP, 0, 0, (uint64_t)userns_fd };
    return (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

/// A clone of a shared mount is a peer of it: it would send the container's mounts back to the
/// host (and pivot_root refuses a shared root). A slave, as a bind made inside the container's
/// rslave tree would be; the mount's own propagation is applied once attached.
static int make_slave(int tree) {
    struct cs_mount_attr a = { 0, 0, MS_SLAVE, 0 };
    return (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a);
}

void cs_open_trees(const cs_plan *plan, int userns_fd) {
    // The cwd goes along into the new mount namespace: the rootfs tree is attached on it there.
    int dir = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || fchdir(dir) != 0) cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
    close(dir);
    root_tree = open_tree_at(plan->rootfs, 1);
    if (root_tree < 0 || make_slave(root_tree) != 0) cs_fail(CS_STAGE_ROOTFS_BIND, errno, -1);
    trees = plan->tree_fds;
    if (!trees && plan->mount_count > 0) cs_fail(CS_STAGE_MOUNT, EINVAL, -1);
    for (int i = 0; i < plan->mount_count; i++) {
        const cs_mount *m = &plan->mounts[i];
        trees[i] = -1;
        if (m->fstype || !m->source) continue;
        int recursive = (m->flags & MS_REC) != 0;
        trees[i] = open_tree_at(m->source, recursive);
        if (trees[i] < 0 || make_slave(trees[i]) != 0) cs_fail(CS_STAGE_MOUNT, errno, i);
        if (m->idmap && set_idmap(trees[i], userns_fd, recursive) != 0) cs_fail(CS_STAGE_MOUNT, errno, i);
    }
}

int cs_root_tree(void) { return root_tree; }

int cs_mount_tree(int index) { return trees ? trees[index] : -1; }

int cs_attach_tree(int tree, const char *target) {
    // Targets are /proc/self/fd/N: followed (a magic link), as mount(2) follows them.
    return (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS);
}

int cs_idmapped_bind(const char *source, const char *target, const char *userns) {
    int ns = open(userns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return -1;
    int tree = open_tree_at(source, 0);
    int rc = tree < 0 ? -1 : set_idmap(tree, ns, 0);
    if (rc == 0) rc = make_slave(tree);
    if (rc == 0) rc = cs_attach_tree(tree, target);
    int saved = errno;
    if (tree >= 0) close(tree);
    close(ns);
    errno = saved;
    return rc;
}
