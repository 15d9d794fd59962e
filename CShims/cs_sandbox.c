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
static int pin(const char *dir, const char *name) {
    char target[CS_PATH_MAX], source[64];
    if (snprintf(target, sizeof target, "%s/%s", dir, name) >= (int)sizeof target) { errno = ENAMETOOLONG; return -1; }
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0) return -1;
    close(fd);
    snprintf(source, sizeof source, "/proc/thread-self/ns/%s", name);
    if (mount(source, target, NULL, MS_BIND, NULL) != 0) {
        int saved = errno;
        unlink(target);
        errno = saved;
        return -1;
    }
    return 0;
}

int cs_pin_namespaces(int flags, const char *dir, const char *hostname, const char *const *keys,
                      const char *const *values, int count, const char **step) {
    if (unshare(flags) != 0) return fail_at(step, "unshare");
    if ((flags & CLONE_NEWNET) && loopback_up() != 0) return fail_at(step, "bringing up lo");
    if ((flags & CLONE_NEWUTS) && hostname && sethostname(hostname, strlen(hostname)) != 0)
        return fail_at(step, "sethostname");
    for (int i = 0; i < count; i++)
        if (cs_write_sysctl(keys[i], values[i]) != 0) return fail_at(step, keys[i]);
    if ((flags & CLONE_NEWNET) && pin(dir, "net") != 0) return fail_at(step, "pinning net");
    if ((flags & CLONE_NEWIPC) && pin(dir, "ipc") != 0) return fail_at(step, "pinning ipc");
    if ((flags & CLONE_NEWUTS) && pin(dir, "uts") != 0) return fail_at(step, "pinning uts");
    return 0;
}

pid_t cs_start_pid_holder(const char *holder) {
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
