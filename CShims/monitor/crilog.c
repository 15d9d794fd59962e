#define _GNU_SOURCE
#include "crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

void crilog_open(crilog_file *file) {
    if (file->fd >= 0) close(file->fd);
    file->fd = open(file->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

/// One log line in one write(2), so that lines of the two streams never interleave.
static void write_line(crilog_file *file, const char *stream, char tag, const char *data, size_t n) {
    if (file->fd < 0) return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char head[96];
    int h = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec, stream, tag);
    struct iovec iov[3] = { { head, (size_t)h }, { (void *)data, n }, { "\n", 1 } };
    ssize_t r;
    // A full disk or a removed file loses this line, not the container: it never blocks on the log.
    do { r = writev(file->fd, iov, 3); } while (r < 0 && errno == EINTR);
}

void crilog_feed(crilog_file *file, crilog_stream *s, const char *data, size_t n) {
    while (n > 0) {
        if (s->len == CRILOG_CHUNK) {
            // A full chunk: the next byte tells whether the line ends exactly here.
            if (*data == '\n') {
                write_line(file, s->name, 'F', s->buf, s->len);
                s->len = 0;
                data++;
                n--;
                continue;
            }
            write_line(file, s->name, 'P', s->buf, s->len);
            s->len = 0;
        }
        size_t room = CRILOG_CHUNK - s->len;
        size_t take = n < room ? n : room;
        const char *newline = memchr(data, '\n', take);
        if (newline) {
            size_t k = (size_t)(newline - data);
            memcpy(s->buf + s->len, data, k);
            write_line(file, s->name, 'F', s->buf, s->len + k);
            s->len = 0;
            data += k + 1;
            n -= k + 1;
        } else {
            memcpy(s->buf + s->len, data, take);
            s->len += take;
            data += take;
            n -= take;
        }
    }
}

void crilog_flush(crilog_file *file, crilog_stream *s) {
    if (s->len > 0) write_line(file, s->name, 'F', s->buf, s->len);
    s->len = 0;
}
