// probe: a small static program the privileged tests put into a container's rootfs. It prints
// what the container sees, one "key value" line each, so tests assert the runtime's work from the
// inside. The same probe runs under skiff and under runc, which proves the tests themselves.
//
// Usage: probe [report] | probe syscall <name> | probe write <path> | probe read <path> | probe sleep
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static void print_status_lines(void) {
    static const char *const keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Umask"};
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            size_t n = strlen(keys[i]);
            if (strncmp(line, keys[i], n) == 0 && line[n] == ':') {
                char *v = line + n + 1;
                while (*v == ' ' || *v == '\t') v++;
                printf("%s %s", keys[i], v);
            }
        }
    }
    fclose(f);
}

static void print_file(const char *key, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { printf("%s error:%d\n", key, errno); return; }
    char line[4096];
    while (fgets(line, sizeof line, f)) printf("%s %s", key, line);
    fclose(f);
}

static void report(void) {
    printf("pid %d\n", getpid());
    printf("uid %u\ngid %u\n", getuid(), getgid());
    gid_t groups[64];
    int n = getgroups(64, groups);
    printf("groups");
    for (int i = 0; i < n; i++) printf(" %u", groups[i]);
    printf("\n");
    print_status_lines();
    char buf[4096];
    if (gethostname(buf, sizeof buf) == 0) printf("hostname %s\n", buf);
    if (getcwd(buf, sizeof buf)) printf("cwd %s\n", buf);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) printf("rlimit_nofile %llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
    static const char *const ns[] = {"pid", "net", "mnt", "ipc", "uts", "user", "cgroup"};
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char path[64], target[128];
        snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i]);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len > 0) { target[len] = 0; printf("ns %s\n", target); }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);
        struct dirent *de;
        printf("fds");
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            if (atoi(de->d_name) == self) continue;
            printf(" %s", de->d_name);
        }
        printf("\n");
        closedir(d);
    }
    char *tty = ttyname(0);
    printf("tty %s\n", tty ? tty : "none");
    // /dev/tty opens only for a process with a controlling terminal.
    int ctty = open("/dev/tty", O_RDWR);
    printf("ctty %s\n", ctty >= 0 ? "yes" : "no");
    if (ctty >= 0) close(ctty);
    print_file("cgroup", "/proc/self/cgroup");
    print_file("mount", "/proc/self/mounts");
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "read") == 0) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { printf("read %s error:%d\n", argv[2], errno); return 0; }
        char c[64];
        ssize_t n = read(fd, c, sizeof c);
        printf("read %s ok:%zd\n", argv[2], n < 0 ? -errno : n);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "write") == 0) {
        int fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1) { printf("write %s error:%d\n", argv[2], errno); return 0; }
        printf("write %s ok\n", argv[2]);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
        for (;;) pause();
    }
    if (argc >= 2 && strcmp(argv[1], "exit") == 0) return argc >= 3 ? atoi(argv[2]) : 0;
    report();
    return 0;
}
