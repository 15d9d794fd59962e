// skiff-monitor: the parent of one container for its whole life, apart from skiffd, so that a
// container outlives the daemon (kill -9 of skiffd, a restart of its unit, an upgrade).
//
//   skiff-monitor --dir DIR --log PATH --pid-file PATH [--stdin [--stdin-once]] [--console-socket PATH]
//                 [--attach PATH] [--sync-fd N] -- RUNTIME ARGS...
//
// It runs the OCI runtime's `create` (RUNTIME ARGS, which name --pid-file PATH) with pipes for the
// container's stdio, or with --console-socket for a terminal, and becomes the container's parent
// (a child subreaper: the init is reparented to it when the runtime exits). It reports on the sync
// descriptor "0 <container pid> <monitor pid>\n", or "1 <the runtime's message>\n" when create failed,
// then turns the container's output into CRI log lines in --log (SIGHUP reopens it, for rotation)
// (and to the clients attached on --attach, see attach.h) and, when the init exits, writes DIR/exit
// atomically:
//   {"pid":<pid>,"status":<wait status>,"exitCode":<code or 128+signal>,"exitedAt":<ns since epoch>}
// and ends. DIR/monitor.pid holds its own pid from the start, for a skiffd that restarts.
// Policy (which runtime, which arguments, what an exit means) is skiffd's; this is mechanism.
#define _GNU_SOURCE
#include "attach.h"
#include "crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *dir, *log, *pid_file, *console_socket, *attach;
    int keep_stdin, stdin_once, sync_fd;
    char **runtime_argv;
} options;

static void usage(void) {
    fputs("usage: skiff-monitor --dir DIR --log PATH --pid-file PATH [--stdin [--stdin-once]] [--console-socket PATH] "
          "[--attach PATH] [--sync-fd N] -- RUNTIME ARGS...\n", stderr);
    exit(2);
}

static options parse(int argc, char **argv) {
    options o = { .sync_fd = -1 };
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--stdin") == 0) { o.keep_stdin = 1; continue; }
        if (strcmp(a, "--stdin-once") == 0) { o.stdin_once = 1; continue; }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (strcmp(a, "--dir") == 0) o.dir = v;
        else if (strcmp(a, "--log") == 0) o.log = v;
        else if (strcmp(a, "--pid-file") == 0) o.pid_file = v;
        else if (strcmp(a, "--console-socket") == 0) o.console_socket = v;
        else if (strcmp(a, "--attach") == 0) o.attach = v;
        else if (strcmp(a, "--sync-fd") == 0) o.sync_fd = atoi(v);
        else usage();
    }
    if (i + 1 >= argc || !o.dir || !o.log || !o.pid_file) usage();
    o.runtime_argv = argv + i + 1;
    return o;
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void write_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/// DIR/name written whole or not at all: temp file, fsync, rename, fsync of the directory.
static int write_atomic(const char *dir, const char *name, const char *text) {
    char tmp[4096], final[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(final, sizeof final, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    write_all(fd, text, strlen(text));
    int ok = fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, final) != 0) return -1;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) { fsync(d); close(d); }
    return 0;
}

static void report(int sync_fd, const char *text) {
    if (sync_fd < 0) return;
    write_all(sync_fd, text, strlen(text));
    close(sync_fd);
}

/// The pty master the runtime sends over the console socket (SCM_RIGHTS), or -1.
static int receive_master(int listener) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    char byte;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    int fd = -1;
    if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) >= 0) {
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
    close(conn);
    return fd;
}

/// The console socket, and the runtime's `--console-socket` argument rewritten to reach it through
/// a directory descriptor the runtime inherits: a deep state directory may not fit a socket address.
static int listen_console(const char *path, char **runtime_argv, int *dir_fd) {
    int s = unix_listen(path);
    if (s < 0) return -1;
    fcntl(s, F_SETFL, 0);
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    *dir_fd = open(dir, O_PATH | O_DIRECTORY);   // inherited by the runtime alone: closed after it
    static char short_path[64];
    snprintf(short_path, sizeof short_path, "/proc/self/fd/%d/%s", *dir_fd, slash ? slash + 1 : path);
    for (int i = 0; runtime_argv[i] && runtime_argv[i + 1]; i++)
        if (strcmp(runtime_argv[i], "--console-socket") == 0 && *dir_fd >= 0 && strlen(slash ? slash + 1 : path) < 40) runtime_argv[i + 1] = short_path;
    return s;
}

static attach_hub hub = { .listener = -1, .input = -1 };

/// Reads what a stream has now (to the log and the attached clients); returns 0 at its end.
static int pump(int fd, crilog_file *log, crilog_stream *stream, char *capture, size_t *captured, size_t cap) {
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN ? 1 : 0;   // EIO: a pty whose last holder went away
        if (n == 0) return 0;
        if (capture) {
            size_t k = (size_t)n < cap - *captured ? (size_t)n : cap - *captured;
            memcpy(capture + *captured, buf, k);
            *captured += k;
        } else {
            crilog_feed(log, stream, buf, (size_t)n);
            if (hub.listener >= 0) attach_broadcast(&hub, stream->name[3] == 'o' ? 1 : 2, buf, (size_t)n);
        }
    }
}

/// `skiff-monitor --pause`: pid 1 of a pod's shared pid namespace (no pause image). It holds the
/// namespace open for the pod's containers and reaps what is orphaned in it; SIGKILL ends it, and
/// with it everything left in the namespace.
__attribute__((noreturn)) static int pause_main(void) {
    for (int fd = 3; fd < 1024; fd++) close(fd);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        int sig = 0;
        if (sigwait(&all, &sig) != 0) continue;
        if (sig == SIGCHLD) while (waitpid(-1, NULL, WNOHANG) > 0) {}
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--pause") == 0) return pause_main();
    options o = parse(argc, argv);
    // The caller (skiffd) waits for this process only until the fork below: the monitor proper is
    // nobody's child but the subreaper's above it, so it outlives skiffd and needs no reaping there.
    pid_t first = fork();
    if (first < 0) { report(o.sync_fd, "1 fork: cannot start the monitor\n"); return 1; }
    if (first > 0) return 0;
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    // Nothing of skiffd's reaches the container: only the sync descriptor survives.
    for (int fd = 3; fd < 1024; fd++) if (fd != o.sync_fd) close(fd);
    char text[4096 + 64];
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    if (write_atomic(o.dir, "monitor.pid", text) != 0) {
        snprintf(text, sizeof text, "1 cannot write %s/monitor.pid: %s\n", o.dir, strerror(errno));
        report(o.sync_fd, text);
        return 1;
    }
    if (o.attach && attach_listen(&hub, o.attach) != 0) {
        snprintf(text, sizeof text, "1 cannot listen on %s: %s\n", o.attach, strerror(errno));
        report(o.sync_fd, text);
        return 1;
    }
    hub.stdin_once = o.stdin_once;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    // Nor its stdio: a caller's pipe held here would never see its end.
    for (int fd = 0; fd < 3; fd++) if (fd != o.sync_fd) dup2(null, fd);
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 };
    int listener = -1, console_dir = -1;
    if (o.console_socket) {
        listener = listen_console(o.console_socket, o.runtime_argv, &console_dir);
    } else if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        listener = -1;
        out[0] = -1;
    }
    if ((o.console_socket && listener < 0) || (!o.console_socket && out[0] < 0)
        || (o.keep_stdin && pipe2(in, O_CLOEXEC) != 0)) {
        snprintf(text, sizeof text, "1 cannot set up the container's stdio: %s\n", strerror(errno));
        report(o.sync_fd, text);
        return 1;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    pid_t runtime = fork();
    if (runtime == 0) {
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        dup2(in[0] >= 0 ? in[0] : null, 0);
        dup2(out[1] >= 0 ? out[1] : null, 1);
        dup2(err[1] >= 0 ? err[1] : null, 2);
        execvp(o.runtime_argv[0], o.runtime_argv);
        dprintf(2, "cannot run %s: %s", o.runtime_argv[0], strerror(errno));
        _exit(127);
    }
    if (in[0] >= 0) close(in[0]);
    if (console_dir >= 0) close(console_dir);
    if (out[1] >= 0) { close(out[1]); close(err[1]); }
    if (out[0] >= 0) { fcntl(out[0], F_SETFL, O_NONBLOCK); fcntl(err[0], F_SETFL, O_NONBLOCK); }

    crilog_file log = { .path = o.log, .fd = -1 };
    static crilog_stream streams[2] = { { .name = "stdout" }, { .name = "stderr" } };
    int fds[2] = { out[0], err[0] };
    // Until the runtime returns, the output is the runtime's own (the init waits for `start`): kept
    // for the report, not logged.
    char said[4096];
    size_t said_len = 0;
    int runtime_status = -1, master = -1;
    pid_t init = -1;
    int init_status = 0;
    long long exited_at = 0;
    while (runtime_status < 0 && runtime > 0) {
        struct pollfd p[4] = { { sfd, POLLIN, 0 }, { listener, POLLIN, 0 }, { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
        if (poll(p, 4, -1) < 0 && errno != EINTR) break;
        if (p[1].revents & POLLIN) { master = receive_master(listener); close(listener); listener = -1; }
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0 && (p[2 + i].revents & (POLLIN | POLLHUP)) && !pump(fds[i], &log, &streams[i], said, &said_len, sizeof said - 1))
                { close(fds[i]); fds[i] = -1; }
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {}
        int status;
        pid_t w;
        while ((w = waitpid(-1, &status, WNOHANG)) > 0)
            if (w == runtime) runtime_status = status;
    }
    for (int i = 0; i < 2; i++) if (fds[i] >= 0) pump(fds[i], &log, &streams[i], said, &said_len, sizeof said - 1);
    said[said_len] = 0;
    if (runtime_status != 0) {
        snprintf(text, sizeof text, "1 %s\n", said_len ? said : "the runtime failed without a message");
        for (char *c = text + 2; *c && c[1]; c++) if (*c == '\n') *c = ' ';
        report(o.sync_fd, text);
        return 1;
    }
    FILE *pf = fopen(o.pid_file, "re");
    if (!pf || fscanf(pf, "%d", &init) != 1 || init <= 0) {
        report(o.sync_fd, "1 the runtime wrote no pid file\n");
        return 1;
    }
    fclose(pf);
    if (o.console_socket) {
        if (master < 0) { report(o.sync_fd, "1 the runtime sent no terminal\n"); kill(init, SIGKILL); return 1; }
        fcntl(master, F_SETFL, O_NONBLOCK);
        fds[0] = master;
        hub.terminal = 1;
    }
    // What attached clients send goes to the container's stdin, when it has one.
    if (o.keep_stdin) {
        hub.input = o.console_socket ? master : in[1];
        if (!o.console_socket) fcntl(in[1], F_SETFL, O_NONBLOCK);
    }
    // The init is normally this process's child by now (reparented when the runtime exited); its
    // pidfd says when it ends even if some runtime left it elsewhere.
    int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
    snprintf(text, sizeof text, "0 %d %d\n", (int)init, (int)getpid());
    report(o.sync_fd, text);
    crilog_open(&log);

    // The container's life: its output to the log, until the init exits and its streams end (or,
    // should something outside its pid namespace hold them, two seconds after the exit).
    for (;;) {
        int timeout = exited_at ? 2000 - (int)((now_ns() - exited_at) / 1000000) : -1;
        if ((exited_at && timeout <= 0) || (exited_at && fds[0] < 0 && fds[1] < 0)) break;
        struct pollfd p[4 + 2 + ATTACH_MAX_CLIENTS] = { { sfd, POLLIN, 0 }, { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 }, { exited_at ? -1 : pidfd, POLLIN, 0 } };
        int attached = hub.listener >= 0 ? attach_pollfds(&hub, p + 4) : 0;
        if (poll(p, 4 + (nfds_t)attached, timeout) < 0 && errno != EINTR) break;
        if (attached) attach_handle(&hub, p + 4, attached);
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0 && (p[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(fds[i], &log, &streams[i], NULL, NULL, 0)) {
                crilog_flush(&log, &streams[i]);
                close(fds[i]);
                fds[i] = -1;
            }
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
            if (si.ssi_signo == SIGHUP) crilog_open(&log);   // SIGTERM, SIGINT: the container decides
        int status;
        pid_t w;
        while ((w = waitpid(-1, &status, WNOHANG)) > 0)
            if (w == init) { init_status = status; exited_at = now_ns(); }
        if (!exited_at && pidfd >= 0 && (p[3].revents & POLLIN)) {
            // Ended but not ours to wait for: its status is unknown.
            if (waitpid(init, &status, WNOHANG) == init) init_status = status;
            else init_status = 255 << 8;
            exited_at = now_ns();
        }
    }
    for (int i = 0; i < 2; i++) crilog_flush(&log, &streams[i]);
    attach_close(&hub, o.attach);
    int code = WIFEXITED(init_status) ? WEXITSTATUS(init_status) : WIFSIGNALED(init_status) ? 128 + WTERMSIG(init_status) : 255;
    snprintf(text, sizeof text, "{\"pid\":%d,\"status\":%d,\"exitCode\":%d,\"exitedAt\":%lld}\n",
             (int)init, init_status, code, exited_at);
    return write_atomic(o.dir, "exit", text) == 0 ? 0 : 1;
}
