#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

int unix_listen(const char *path) {
    // A socket's path must fit in 107 bytes: it is bound by its name, from inside its directory
    // (the monitor is single-threaded, so a chdir and back is safe).
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(name) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, name);
    int here = open(".", O_PATH | O_CLOEXEC);
    if (here < 0) return -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    int listener = -1, ok = chdir(dir) == 0;
    if (ok) {
        unlink(name);
        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ok = listener >= 0 && bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0 && chmod(name, 0600) == 0 && listen(listener, 4) == 0;
    }
    int saved = errno;
    if (fchdir(here) != 0) ok = 0;
    close(here);
    if (!ok) {
        if (listener >= 0) close(listener);
        errno = saved;
        return -1;
    }
    return listener;
}

int attach_listen(attach_hub *hub, const char *path) {
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) hub->clients[i].fd = -1;
    hub->input = -1;
    hub->listener = unix_listen(path);
    return hub->listener >= 0 ? 0 : -1;
}

static int pending_input(const attach_hub *hub) {
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
        if (hub->clients[i].fd >= 0 && hub->clients[i].pending_len > 0) return 1;
    return 0;
}

int attach_pollfds(const attach_hub *hub, struct pollfd *p) {
    int n = 0;
    p[n++] = (struct pollfd){ hub->listener, POLLIN, 0 };
    // The container's input is watched only while some client's bytes wait for it.
    p[n++] = (struct pollfd){ hub->input >= 0 && pending_input(hub) ? hub->input : -1, POLLOUT, 0 };
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
        const attach_client *c = &hub->clients[i];
        // A client with bytes still waiting is not read: its socket pushes back on it.
        p[n++] = (struct pollfd){ c->fd, c->pending_len ? 0 : POLLIN, 0 };
    }
    return n;
}

static void drop(attach_client *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->in_len = c->pending_len = 0;
    free(c->in);
    free(c->pending);
    c->in = c->pending = NULL;
}

/// The end of a client's stdin: with stdin_once, the container's stdin ends too (an EOT on a
/// terminal, which cannot be half-closed).
static void stdin_ended(attach_hub *hub) {
    if (!hub->stdin_once || hub->input < 0) return;
    if (hub->terminal) {
        char eot = 4;
        if (write(hub->input, &eot, 1) < 0) {}
    } else {
        close(hub->input);
        hub->input = -1;
    }
}

static void parse(attach_hub *hub, attach_client *c) {
    size_t at = 0;
    while (c->in_len - at >= 5) {
        const unsigned char *h = (const unsigned char *)c->in + at;
        size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        if (len > ATTACH_MAX_FRAME || h[0] > 2) { drop(c); stdin_ended(hub); return; }
        if (c->in_len - at < 5 + len) break;
        const char *payload = c->in + at + 5;
        if (h[0] == 0) {
            if (c->pending_len + len > ATTACH_MAX_FRAME) break;   // parsed again once written
            if (hub->input >= 0) { memcpy(c->pending + c->pending_len, payload, len); c->pending_len += len; }
        } else if (h[0] == 1) {
            if (c->pending_len > 0) break;   // after the bytes sent before it
            stdin_ended(hub);
        } else if (len == 4 && hub->terminal && hub->input >= 0) {
            const unsigned char *s = (const unsigned char *)payload;
            struct winsize ws = { .ws_col = (unsigned short)(s[0] << 8 | s[1]), .ws_row = (unsigned short)(s[2] << 8 | s[3]) };
            ioctl(hub->input, TIOCSWINSZ, &ws);
        }
        at += 5 + len;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
}

static void accept_client(attach_hub *hub) {
    int fd = accept4(hub->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
        attach_client *c = &hub->clients[i];
        if (c->fd >= 0) continue;
        c->in = malloc(ATTACH_MAX_FRAME + 5);
        c->pending = malloc(ATTACH_MAX_FRAME);
        if (!c->in || !c->pending) {
            free(c->in);
            free(c->pending);
            c->in = c->pending = NULL;
            break;
        }
        int size = 1 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        c->fd = fd;
        c->in_len = c->pending_len = 0;
        return;
    }
    close(fd);
}

void attach_handle(attach_hub *hub, const struct pollfd *p, int n) {
    if (n < 2) return;
    if (p[0].revents & POLLIN) accept_client(hub);
    if (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
        for (int i = 0; i < ATTACH_MAX_CLIENTS && hub->input >= 0; i++) {
            attach_client *c = &hub->clients[i];
            if (c->fd < 0 || c->pending_len == 0) continue;
            ssize_t w = write(hub->input, c->pending, c->pending_len);
            if (w < 0 && errno != EAGAIN && errno != EINTR) { c->pending_len = 0; continue; }   // EPIPE: the container closed its stdin
            if (w <= 0) break;
            memmove(c->pending, c->pending + w, c->pending_len - (size_t)w);
            c->pending_len -= (size_t)w;
            parse(hub, c);
        }
    }
    for (int i = 0; i < ATTACH_MAX_CLIENTS && 2 + i < n; i++) {
        attach_client *c = &hub->clients[i];
        if (c->fd < 0 || !(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t r = read(c->fd, c->in + c->in_len, ATTACH_MAX_FRAME + 5 - c->in_len);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) { drop(c); stdin_ended(hub); continue; }
        c->in_len += (size_t)r;
        parse(hub, c);
    }
}

void attach_broadcast(attach_hub *hub, int stream, const char *data, size_t n) {
    while (n > 0) {
        size_t len = n < ATTACH_MAX_FRAME ? n : ATTACH_MAX_FRAME;
        unsigned char head[5] = { (unsigned char)stream, (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len };
        for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
            attach_client *c = &hub->clients[i];
            if (c->fd < 0) continue;
            struct iovec iov[2] = { { head, 5 }, { (void *)data, len } };
            struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
            if (sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(5 + len)) { drop(c); stdin_ended(hub); }
        }
        data += len;
        n -= len;
    }
}

void attach_close(attach_hub *hub, const char *path) {
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) drop(&hub->clients[i]);
    if (hub->listener >= 0) close(hub->listener);
    hub->listener = -1;
    if (path) unlink(path);
}
