// Layer extraction. Two libarchive readers are chained: the outer one only decompresses (any
// filter, "raw" format), the inner one reads tar from the outer's output, which also passes
// through the digest callback (the diffID is the hash of the uncompressed tar). Each entry is
// applied relative to the snapshot's directory fd: parents are opened with
// openat2(RESOLVE_IN_ROOT), so `..`, absolute names and symlinks planted by earlier entries all
// resolve inside the snapshot, and the final component is never followed.
#define _GNU_SOURCE
#include "cs_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PATH_BYTES 4096

struct source {
    struct archive *outer;
    cs_unpack_digest_fn digest;
    void *context;
    int blob_fd;
    off_t offset;
    cs_unpack_wait_fn wait;
    int download_failed;
    char buffer[1 << 16];
    char blob_buffer[1 << 16];
};

static int fail(cs_unpack_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int open_in_root(int root, const char *path, int flags) {
    struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int fd;
    do { fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how); } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return fd;
}

// The compressed blob, read at its own offset. At the end of what is there, `wait` (when the blob
// is still being downloaded) blocks until more arrives or says the download ended or failed.
static la_ssize_t read_blob(struct archive *outer, void *client, const void **buffer) {
    struct source *s = client;
    *buffer = s->blob_buffer;
    for (;;) {
        ssize_t n = pread(s->blob_fd, s->blob_buffer, sizeof s->blob_buffer, s->offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            archive_set_error(outer, errno, "reading the layer: %s", strerror(errno));
            return -1;
        }
        if (n > 0) {
            s->offset += n;
            return n;
        }
        int more = s->wait ? s->wait(s->context, (int64_t)s->offset) : 0;
        if (more == 0) return 0;
        if (more < 0) {
            s->download_failed = 1;
            archive_set_error(outer, EIO, "the download of the layer failed");
            return -1;
        }
    }
}

static la_ssize_t read_tar(struct archive *inner, void *client, const void **buffer) {
    struct source *s = client;
    la_ssize_t n = archive_read_data(s->outer, s->buffer, sizeof s->buffer);
    if (n < 0) {
        archive_set_error(inner, EIO, "decompressing: %s", archive_error_string(s->outer));
        return -1;
    }
    if (n > 0) s->digest(s->context, s->buffer, (size_t)n);
    *buffer = s->buffer;
    return n;
}

/// "./a//b/" → "a/b"; NULL for a name with a ".." component (refused, not reinterpreted).
static const char *clean(const char *name, char *out) {
    size_t k = 0;
    const char *p = name;
    while (*p) {
        while (*p == '/') p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return NULL;
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (k + len + 2 > PATH_BYTES) return NULL;
            if (k) out[k++] = '/';
            memcpy(out + k, p, len);
            k += len;
        }
        p += len;
    }
    out[k] = 0;
    return out;
}

/// Opens (creating as needed) the parent directory of `path` inside the root; `*base` is the
/// last component.
static int open_parent(int root, char *path, const char **base) {
    char *slash = strrchr(path, '/');
    if (!slash) { *base = path; return open_in_root(root, ".", O_RDONLY | O_DIRECTORY); }
    *slash = 0;
    *base = slash + 1;
    int fd = open_in_root(root, path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0 || errno != ENOENT) { *slash = '/'; return fd; }
    // Create missing parents one level at a time, each resolved inside the root.
    int dir = open_in_root(root, ".", O_RDONLY | O_DIRECTORY);
    for (char *p = path; dir >= 0;) {
        char *next = strchr(p, '/');
        if (next) *next = 0;
        if (mkdirat(dir, p, 0755) != 0 && errno != EEXIST) { close(dir); dir = -1; break; }
        int child = open_in_root(root, path, O_RDONLY | O_DIRECTORY);
        close(dir);
        dir = child;
        if (!next) break;
        *next = '/';
        p = next + 1;
    }
    *slash = '/';
    return dir;
}

/// Removes whatever is at `base` (not a directory: a directory stays, and a non-directory entry
/// replacing it is refused by the create that follows).
static void remove_existing(int dir, const char *base) {
    if (unlinkat(dir, base, 0) != 0 && errno == EISDIR) unlinkat(dir, base, AT_REMOVEDIR);
}

static int apply_xattrs(struct archive_entry *e, int fd) {
    const char *name;
    const void *value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        // An image may not set overlay's own attributes (it could fake whiteouts or redirects).
        if (strncmp(name, "trusted.", 8) == 0) continue;
        if (fsetxattr(fd, name, value, size, 0) != 0 && errno != ENOTSUP) return -1;
    }
    return 0;
}

static int write_data(struct archive *a, int fd, int64_t size) {
    const void *block;
    size_t length;
    la_int64_t offset;
    int rc;
    while ((rc = archive_read_data_block(a, &block, &length, &offset)) == ARCHIVE_OK) {
        const char *p = block;
        while (length > 0) {
            ssize_t n = pwrite(fd, p, length, offset);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return -1;
            p += n;
            length -= (size_t)n;
            offset += n;
        }
    }
    if (rc != ARCHIVE_EOF) { errno = EIO; return -1; }
    // Sparse files end in a hole: the size comes from the header.
    return ftruncate(fd, size);
}

static int apply_entry(struct archive *a, struct archive_entry *e, int root, cs_unpack_result *r) {
    char path[PATH_BYTES], target[PATH_BYTES];
    if (!clean(archive_entry_pathname(e), path)) return fail(r, "%s: a path with '..' is not allowed", archive_entry_pathname(e));
    if (!*path) return 0;   // the root itself
    const char *base;
    int dir = open_parent(root, path, &base);
    if (dir < 0) return fail(r, "%s: parent directory: %s", path, strerror(errno));
    int rc = 0;
    mode_t perm = archive_entry_perm(e);
    uid_t uid = (uid_t)archive_entry_uid(e);
    gid_t gid = (gid_t)archive_entry_gid(e);
    struct timespec times[2] = { { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
                                 { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };

    if (strcmp(base, ".wh..wh..opq") == 0) {
        rc = fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0);
        if (rc == 0) r->whiteouts++;
        if (rc != 0) fail(r, "%s: opaque directory: %s", path, strerror(errno));
    } else if (strncmp(base, ".wh.", 4) == 0) {
        remove_existing(dir, base + 4);
        rc = mknodat(dir, base + 4, S_IFCHR, makedev(0, 0));
        if (rc == 0) r->whiteouts++;
        if (rc != 0) fail(r, "%s: whiteout: %s", path, strerror(errno));
    } else if (archive_entry_hardlink(e)) {
        if (!clean(archive_entry_hardlink(e), target)) { close(dir); return fail(r, "%s: a link target with '..' is not allowed", path); }
        int source = open_in_root(root, target, O_PATH | O_NOFOLLOW);
        remove_existing(dir, base);
        rc = source < 0 ? -1 : linkat(source, "", dir, base, AT_EMPTY_PATH);
        if (rc != 0) fail(r, "%s: hard link to %s: %s", path, target, strerror(errno));
        if (source >= 0) close(source);
    } else {
        switch (archive_entry_filetype(e)) {
        case AE_IFDIR: {
            if (mkdirat(dir, base, 0700) != 0 && errno != EEXIST) { rc = -1; fail(r, "%s: mkdir: %s", path, strerror(errno)); break; }
            int fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = fd < 0 || fchown(fd, uid, gid) != 0 || fchmod(fd, perm) != 0 || apply_xattrs(e, fd) != 0 ? -1 : 0;
            if (rc != 0) fail(r, "%s: directory: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            break;
        }
        case AE_IFREG: {
            remove_existing(dir, base);
            int fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            // chown before chmod: chown clears setuid bits.
            rc = fd < 0 || write_data(a, fd, archive_entry_size(e)) != 0 || fchown(fd, uid, gid) != 0
                || fchmod(fd, perm) != 0 || apply_xattrs(e, fd) != 0 || futimens(fd, times) != 0 ? -1 : 0;
            if (rc != 0) fail(r, "%s: file: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            break;
        }
        case AE_IFLNK:
            remove_existing(dir, base);
            // Stored as written: it is resolved later only inside the container's root.
            rc = symlinkat(archive_entry_symlink(e), dir, base) != 0 || fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) != 0
                || utimensat(dir, base, times, AT_SYMLINK_NOFOLLOW) != 0 ? -1 : 0;
            if (rc != 0) fail(r, "%s: symlink: %s", path, strerror(errno));
            break;
        case AE_IFCHR: case AE_IFBLK: case AE_IFIFO:
            remove_existing(dir, base);
            rc = mknodat(dir, base, archive_entry_filetype(e) | perm, archive_entry_rdev(e)) != 0
                || fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 || fchmodat(dir, base, perm, 0) != 0 ? -1 : 0;
            if (rc != 0) fail(r, "%s: device node: %s", path, strerror(errno));
            break;
        default:
            break;  // sockets and unknown types are not image content
        }
    }
    close(dir);
    if (rc == 0) r->entries++;
    return rc;
}

int cs_unpack_layer(int blob_fd, int root_fd, cs_unpack_digest_fn digest, cs_unpack_wait_fn wait, void *context,
                    cs_unpack_result *r) {
    memset(r, 0, sizeof *r);
    struct source *s = calloc(1, sizeof *s);
    if (!s) return fail(r, "out of memory");
    s->digest = digest;
    s->wait = wait;
    s->context = context;
    s->blob_fd = blob_fd;
    s->outer = archive_read_new();
    struct archive *inner = archive_read_new();
    struct archive_entry *entry;
    int rc = -1;
    archive_read_support_filter_all(s->outer);
    archive_read_support_format_raw(s->outer);
    archive_read_support_format_tar(inner);
    if (archive_read_open(s->outer, s, NULL, read_blob, NULL) != ARCHIVE_OK || archive_read_next_header(s->outer, &entry) != ARCHIVE_OK) {
        fail(r, "not a readable layer: %s", archive_error_string(s->outer));
    } else if (archive_read_open(inner, s, NULL, read_tar, NULL) != ARCHIVE_OK) {
        fail(r, "not a tar archive: %s", archive_error_string(inner));
    } else {
        int h;
        rc = 0;
        while (rc == 0 && (h = archive_read_next_header(inner, &entry)) != ARCHIVE_EOF) {
            if (h != ARCHIVE_OK && h != ARCHIVE_WARN) { rc = fail(r, "tar: %s", archive_error_string(inner)); break; }
            rc = apply_entry(inner, entry, root_fd, r);
        }
        // The diffID covers the whole stream, padding after the end-of-archive blocks too.
        const void *unused;
        while (rc == 0 && read_tar(inner, s, &unused) > 0) {}
    }
    // Whichever entry was being read when the download failed, that failure is the cause.
    if (rc != 0 && s->download_failed) fail(r, "the download of the layer failed");
    archive_read_free(inner);
    archive_read_free(s->outer);
    free(s);
    return rc;
}
