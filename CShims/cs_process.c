// The container process's identity and limits, applied in the child after the rootfs is ready:
// rlimits, hostname, sysctls, groups and ids, capabilities, no_new_privs, seccomp; then the lookup of
// the executable. The order follows the kernel's rules: the bounding set is dropped while we still
// hold CAP_SETPCAP, capabilities survive setuid only with KEEPCAPS, ambient needs inheritable.
#define _GNU_SOURCE
#include "cs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int write_file(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)len) { errno = n < 0 ? saved : EIO; return -1; }
    return 0;
}

int cs_write_sysctl(const char *key, const char *value) {
    // "net.ipv4.ip_forward" → "/proc/sys/net/ipv4/ip_forward"; the key was validated in Swift.
    char path[CS_PATH_MAX] = "/proc/sys/";
    if (cs_copy(path + 10, key, CS_PATH_MAX - 10) != 0) { errno = ENAMETOOLONG; return -1; }
    for (char *p = path + 10; *p; p++) if (*p == '.') *p = '/';
    return write_file(path, value);
}

void cs_apply_limits(const cs_plan *plan) {
    if (plan->hostname && sethostname(plan->hostname, strlen(plan->hostname)) != 0)
        cs_fail(CS_STAGE_HOSTNAME, errno, -1);
    if (plan->domainname && setdomainname(plan->domainname, strlen(plan->domainname)) != 0)
        cs_fail(CS_STAGE_DOMAINNAME, errno, -1);
    for (int i = 0; i < plan->sysctl_count; i++)
        if (cs_write_sysctl(plan->sysctl_keys[i], plan->sysctl_values[i]) != 0) cs_fail(CS_STAGE_SYSCTL, errno, i);
    for (int i = 0; i < plan->rlimit_count; i++) {
        struct rlimit rl = { (rlim_t)plan->rlimits[i].soft, (rlim_t)plan->rlimits[i].hard };
        if (setrlimit(plan->rlimits[i].resource, &rl) != 0) cs_fail(CS_STAGE_RLIMIT, errno, i);
    }
    if (plan->oom_score_adj_set) {
        char value[16];
        int v = plan->oom_score_adj, n = 0;
        char digits[12];
        unsigned u = v < 0 ? (unsigned)(-v) : (unsigned)v;
        do { digits[n++] = (char)('0' + u % 10); u /= 10; } while (u);
        int k = 0;
        if (v < 0) value[k++] = '-';
        while (n) value[k++] = digits[--n];
        value[k] = 0;
        if (write_file("/proc/self/oom_score_adj", value) != 0) cs_fail(CS_STAGE_OOM_SCORE, errno, -1);
    }
    if (plan->umask >= 0) umask((mode_t)plan->umask);
}

static int capset_all(const cs_plan *plan) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(plan->cap_effective >> (32 * i));
        data[i].permitted = (uint32_t)(plan->cap_permitted >> (32 * i));
        data[i].inheritable = (uint32_t)(plan->cap_inheritable >> (32 * i));
    }
    return (int)syscall(SYS_capset, &header, data);
}

void cs_load_seccomp(const cs_plan *plan) {
    if (plan->seccomp_len == 0) return;
    struct sock_fprog prog = { plan->seccomp_len, (struct sock_filter *)plan->seccomp_filter };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan->seccomp_flags, &prog) != 0)
        cs_fail(CS_STAGE_SECCOMP, errno, -1);
}

void cs_apply_credentials(const cs_plan *plan) {
    for (int cap = 0; cap <= plan->last_cap; cap++) {
        if (plan->cap_bounding & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) cs_fail(CS_STAGE_CAP_BOUNDING, errno, cap);
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) cs_fail(CS_STAGE_KEEPCAPS, errno, -1);
    if (!plan->deny_setgroups && setgroups((size_t)plan->group_count, (const gid_t *)plan->groups) != 0)
        cs_fail(CS_STAGE_GROUPS, errno, -1);
    if (setresgid(plan->gid, plan->gid, plan->gid) != 0) cs_fail(CS_STAGE_SETGID, errno, -1);
    if (setresuid(plan->uid, plan->uid, plan->uid) != 0) cs_fail(CS_STAGE_SETUID, errno, -1);
    if (capset_all(plan) != 0) cs_fail(CS_STAGE_CAPSET, errno, -1);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) cs_fail(CS_STAGE_KEEPCAPS, errno, -1);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        cs_fail(CS_STAGE_AMBIENT, errno, -1);
    for (int cap = 0; cap <= plan->last_cap; cap++) {
        if (!(plan->cap_ambient & (1ULL << cap))) continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) cs_fail(CS_STAGE_AMBIENT, errno, cap);
    }
    if (plan->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        cs_fail(CS_STAGE_NO_NEW_PRIVS, errno, -1);
}

static int is_executable(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISREG(st.st_mode)) { errno = EACCES; return 0; }
    return access(path, X_OK) == 0;
}

/// Finds argv[0] the way execvp does, but before the exec FIFO, so `create` reports a missing
/// binary instead of the container failing after `start`.
const char *cs_lookup_executable(const cs_plan *plan) {
    static char found[CS_PATH_MAX];
    const char *name = plan->argv[0];
    if (!name || !*name) cs_fail(CS_STAGE_EXEC_LOOKUP, ENOENT, -1);
    if (strchr(name, '/')) {
        if (!is_executable(name)) cs_fail(CS_STAGE_EXEC_LOOKUP, errno, -1);
        return name;
    }
    const char *p = plan->path_env ? plan->path_env : "";
    int last_error = ENOENT;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && len + 1 + strlen(name) < sizeof found) {
            memcpy(found, p, len);
            found[len] = '/';
            strcpy(found + len + 1, name);
            if (is_executable(found)) return found;
            if (errno != ENOENT && errno != ENOTDIR) last_error = errno;
        }
        if (!end) break;
        p = end + 1;
    }
    cs_fail(CS_STAGE_EXEC_LOOKUP, last_error, -1);
}

void cs_apply_apparmor(const cs_plan *plan) {
    if (!plan->apparmor_profile) return;
    char value[CS_PATH_MAX] = "exec ";
    if (cs_copy(value + 5, plan->apparmor_profile, CS_PATH_MAX - 5) != 0) cs_fail(CS_STAGE_APPARMOR, ENAMETOOLONG, -1);
    // The profile takes effect at execve. The LSM's own attribute file first (kernels that stack
    // LSMs have it), then the one every AppArmor kernel has.
    int fd = open("/proc/thread-self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
    if (fd < 0) fd = open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
    if (fd < 0) cs_fail(CS_STAGE_APPARMOR, errno, -1);
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)len) cs_fail(CS_STAGE_APPARMOR, n < 0 ? saved : EIO, -1);
}
