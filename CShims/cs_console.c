// Terminals. In the child: the pty is allocated inside the container (its devpts), so the
// container owns both ends' namespace and the host's /dev/pts is never exposed; the master goes
// to whoever listens on the console socket (containerd's shim, skiffd, or `skiff run` itself).
// In the parent: fd passing and the raw-mode/window-size plumbing a foreground `run` needs.
#define _GNU_SOURCE
#include "cs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int cs_send_fd(int sock, int fd, const char *name) {
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    // runc's protocol sends the pty's name as the payload; consoles ignore it but need a byte.
    struct iovec iov = { (void *)name, strlen(name) + 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int cs_recv_fd(int sock) {
    char control[CMSG_SPACE(sizeof(int))];
    char name[4096];
    struct iovec iov = { name, sizeof name };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return fd;
        }
    }
    errno = EBADMSG;
    return -1;
}

/// Child: after pivot_root (the container's /dev/pts is in place), allocate the pty, send the
/// master, make the peer our stdio and controlling terminal, and for the init show it as
/// /dev/console.
void cs_setup_terminal(const cs_plan *plan) {
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) cs_fail(CS_STAGE_TERMINAL, errno, 0);
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0) cs_fail(CS_STAGE_TERMINAL, errno, 1);
    // TIOCGPTPEER opens the peer through the master, not by a path the container could swap.
    int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0) cs_fail(CS_STAGE_TERMINAL, errno, 2);
    if (plan->mount_console) {
        int fd = open("/dev/console", O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_RDONLY, 0600);
        if (fd < 0) cs_fail(CS_STAGE_TERMINAL, errno, 3);
        close(fd);
        // By the pty's name, not /proc/self/fd: the container may have no /proc.
        unsigned int number;
        if (ioctl(master, TIOCGPTN, &number) != 0) cs_fail(CS_STAGE_TERMINAL, errno, 3);
        char from[32] = "/dev/pts/";
        char digits[12];
        int n = 0, k = 9;
        do { digits[n++] = (char)('0' + number % 10); number /= 10; } while (number);
        while (n) from[k++] = digits[--n];
        from[k] = 0;
        if (mount(from, "/dev/console", NULL, MS_BIND, NULL) != 0) cs_fail(CS_STAGE_TERMINAL, errno, 3);
    }
    if (cs_send_fd(plan->console_socket_fd, master, "/dev/ptmx") != 0) cs_fail(CS_STAGE_CONSOLE_SOCKET, errno, -1);
    close(master);
    for (int i = 0; i < 3; i++)
        if (dup2(peer, i) < 0) cs_fail(CS_STAGE_TERMINAL, errno, 4);
    if (peer > 2) close(peer);
    if (ioctl(0, TIOCSCTTY, 0) != 0) cs_fail(CS_STAGE_TERMINAL, errno, 5);
}
