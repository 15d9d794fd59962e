// Attach: clients on a unix socket see the container's output as it is logged, and what they send
// reaches the container's stdin (a pipe the monitor holds, or the terminal's master). skiffd's
// streaming server is the client; the monitor keeps the container's stdin across clients and
// across restarts of skiffd.
//
// Frames, both ways: [kind u8][length u32 big-endian][payload]
//   monitor -> client: 1 stdout, 2 stderr (a terminal's output is stdout)
//   client -> monitor: 0 stdin bytes, 1 the end of this client's stdin,
//                      2 a terminal size (u16 width, u16 height, big-endian)
// A client that cannot take output as fast as the container writes it is dropped, never waited
// for: the log must not stall behind an attached client.
#pragma once
#include <poll.h>
#include <stddef.h>

#define ATTACH_MAX_CLIENTS 16
#define ATTACH_MAX_FRAME 65536

typedef struct {
    int fd;
    size_t in_len;                          // bytes of an incoming frame not yet whole
    size_t pending_len;                     // stdin bytes waiting for the container's input
    // Allocated while a client is attached: a monitor nobody attaches to keeps no buffer pages
    // (it is the memory each running container costs).
    char *in;                               // ATTACH_MAX_FRAME + 5
    char *pending;                          // ATTACH_MAX_FRAME
} attach_client;

typedef struct {
    int listener;
    int input;                              // the container's stdin (pipe or pty master), or -1
    int terminal;                           // input is a pty master: resizes apply, EOT ends input
    int stdin_once;                         // the first client's end closes the container's stdin
    attach_client clients[ATTACH_MAX_CLIENTS];
} attach_hub;

/// A listening unix socket (non-blocking, mode 0600) at `path`, however long the path: bound by
/// name from inside its directory. -1 on failure.
int unix_listen(const char *path);
/// Listens on `path`; the hub starts with no input (set `input` once the container has one).
int attach_listen(attach_hub *hub, const char *path);
/// Fills `p` (at most 2 + ATTACH_MAX_CLIENTS entries) with what to poll; returns how many.
int attach_pollfds(const attach_hub *hub, struct pollfd *p);
/// Handles what poll reported for the entries attach_pollfds filled.
void attach_handle(attach_hub *hub, const struct pollfd *p, int n);
/// Output of the container to every client (stream 1 stdout, 2 stderr).
void attach_broadcast(attach_hub *hub, int stream, const char *data, size_t n);
/// The container is gone: clients see the end of their connection.
void attach_close(attach_hub *hub, const char *path);
