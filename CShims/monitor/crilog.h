// The CRI log format the kubelet reads (and `kubectl logs` shows): one line per chunk,
// "<RFC3339Nano time> <stdout|stderr> <F|P> <bytes>\n". F ends a line of the program's output,
// P is a piece of a longer one: a line is cut every 16 KiB, as containerd and CRI-O cut it.
#pragma once
#include <stddef.h>

#define CRILOG_CHUNK 16384

typedef struct {
    const char *path;
    int fd;                 // -1 while the file cannot be opened: output is then dropped, never held
} crilog_file;

typedef struct {
    const char *name;       // "stdout" or "stderr"
    size_t len;
    char buf[CRILOG_CHUNK];
} crilog_stream;

/// (Re)opens the file for appending, as after the kubelet renamed it for rotation.
void crilog_open(crilog_file *file);
/// Frames what a stream produced; a line without its newline yet waits in the stream's buffer.
void crilog_feed(crilog_file *file, crilog_stream *stream, const char *data, size_t n);
/// At the stream's end: what is left is written as a full line.
void crilog_flush(crilog_file *file, crilog_stream *stream);
