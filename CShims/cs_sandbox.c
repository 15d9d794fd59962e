// A pod's namespaces without a pause process: `skiff sandbox-pin` (single-threaded, never skiffd)
// unshares them, prepares them, and bind-mounts each one's nsfs file, which keeps it alive with
// no process in it. The pod's containers then join them by path.
#define _GNU_SOURCE
#include "cshims.h"
#include "cs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail_at(const char **step, const char *name) {
    *step = name;
    return -1;
}

/// Up, as every runtime leaves a pod's loopback (CNI's loopback plugin does the same).
static int loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return rc;
}

/// The file stays as the mount point; a second pin of the same directory finds it and fails.
/// `owner`: the process whose namespace is pinned, 0 for the calling thread.
static int pin_of(const char *dir, const char *name, pid_t owner) {
    char target[CS_PATH_MAX], source[64];
    if (snprintf(target, sizeof target, "%s/%s", dir, name) >= (int)sizeof target) { errno = ENAMETOOLONG; return -1; }
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0) return -1;
    close(fd);
    if (owner > 0) snprintf(source, sizeof source, "/proc/%d/ns/%s", (int)owner, name);
    else snprintf(source, sizeof source, "/proc/thread-self/ns/%s", name);
    if (mount(source, target, NULL, MS_BIND, NULL) != 0) {
        int saved = errno;
        unlink(target);
        errno = saved;
        return -1;
    }
    return 0;
}

static int pin(const char *dir, const char *name) { return pin_of(dir, name, 0); }

static int write_map(pid_t pid, const char *name, const char *map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, map, strlen(map));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(map) ? 0 : -1;
}

/// The pod's user namespace, and its other namespaces owned by it: only a process inside a user
/// namespace can make namespaces that belong to it, so a child unshares them all at once (the
/// user namespace first, as the kernel orders it), this process maps its ids (it holds the host's
/// CAP_SETUID, so no setgroups restriction is needed), pins the user namespace and joins the
/// others, where it goes on as root of the host.
static int enter_with_userns(int flags, const char *dir, const char *uid_map, const char *gid_map, const char **step) {
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) != 0) return fail_at(step, "pipe");
    if (pipe2(down, O_CLOEXEC) != 0) { close(up[0]); close(up[1]); return fail_at(step, "pipe"); }
    pid_t child = fork();
    if (child < 0) return fail_at(step, "fork");
    if (child == 0) {
        close(up[0]);
        close(down[1]);
        char ok = unshare(CLONE_NEWUSER | flags) == 0 ? '1' : '0';
        if (write(up[1], &ok, 1) != 1 || ok != '1') _exit(1);
        char byte;
        while (read(down[0], &byte, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    char ok = 0;
    ssize_t n;
    do { n = read(up[0], &ok, 1); } while (n < 0 && errno == EINTR);
    int rc = 0;
    if (n != 1 || ok != '1') { errno = EPERM; rc = fail_at(step, "unshare"); }
    else if (write_map(child, "uid_map", uid_map) != 0) rc = fail_at(step, "writing uid_map");
    else if (write_map(child, "gid_map", gid_map) != 0) rc = fail_at(step, "writing gid_map");
    else if (pin_of(dir, "user", child) != 0) rc = fail_at(step, "pinning user");
    static const struct { int flag; const char *name; } kinds[] = {
        { CLONE_NEWNET, "net" }, { CLONE_NEWIPC, "ipc" }, { CLONE_NEWUTS, "uts" } };
    for (int i = 0; rc == 0 && i < 3; i++) {
        if (!(flags & kinds[i].flag)) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)child, kinds[i].name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, kinds[i].flag) != 0) rc = fail_at(step, "joining the pod's namespaces");
        if (fd >= 0) close(fd);
    }
    int saved = errno;
    close(down[1]);
    close(up[0]);
    cs_waitpid(child, NULL);
    errno = saved;
    return rc;
}

int cs_pin_namespaces(int flags, const char *dir, const char *uid_map, const char *gid_map, const char *hostname,
                      const char *const *keys, const char *const *values, int count, const char **step) {
    if (uid_map && gid_map) {
        if (enter_with_userns(flags, dir, uid_map, gid_map, step) != 0) return -1;
    } else if (unshare(flags) != 0) {
        return fail_at(step, "unshare");
    }
    if ((flags & CLONE_NEWNET) && loopback_up() != 0) return fail_at(step, "bringing up lo");
    if ((flags & CLONE_NEWUTS) && hostname && sethostname(hostname, strlen(hostname)) != 0)
        return fail_at(step, "sethostname");
    // In a user namespace, IPC sysctls are writable by its root alone (ipc_permissions compares
    // the effective uid), network ones by a holder of CAP_NET_ADMIN over it (this process, as
    // root: a changed effective uid would drop the capability). So each as its kind needs.
    uid_t owner = 0;
    if (uid_map && sscanf(uid_map, "0 %u", &owner) != 1) { errno = EINVAL; return fail_at(step, "uid_map without 0"); }
    for (int i = 0; i < count; i++) {
        int as_owner = owner != 0 && strncmp(keys[i], "net.", 4) != 0;
        if (as_owner && setresuid((uid_t)-1, owner, (uid_t)-1) != 0) return fail_at(step, "seteuid");
        int rc = cs_write_sysctl(keys[i], values[i]);
        int saved = errno;
        if (as_owner && setresuid((uid_t)-1, 0, (uid_t)-1) != 0) return fail_at(step, "seteuid");
        errno = saved;
        if (rc != 0) return fail_at(step, keys[i]);
    }
    if ((flags & CLONE_NEWNET) && pin(dir, "net") != 0) return fail_at(step, "pinning net");
    if ((flags & CLONE_NEWIPC) && pin(dir, "ipc") != 0) return fail_at(step, "pinning ipc");
    if ((flags & CLONE_NEWUTS) && pin(dir, "uts") != 0) return fail_at(step, "pinning uts");
    return 0;
}

pid_t cs_start_pid_holder(const char *holder, const char *userns) {
    // In the pod's user namespace, the pid namespace is the pod's to mount /proc for.
    if (userns) {
        int fd = open(userns, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        int rc = setns(fd, CLONE_NEWUSER);
        close(fd);
        if (rc != 0) return -1;
    }
    if (unshare(CLONE_NEWPID) != 0) return -1;
    pid_t pid = fork();
    if (pid != 0) return pid;
    // Pid 1 of the new namespace: its own session, nothing of the caller's but /dev/null as stdio.
    setsid();
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++) dup2(null, fd);
    char *const argv[] = { (char *)holder, "--pause", NULL };
    execv(holder, argv);
    _exit(127);
}
