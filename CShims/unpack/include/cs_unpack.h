// CUnpack: one image layer (tar, tar+gzip, tar+zstd) extracted into a snapshot directory with
// libarchive, every path resolved inside that directory. Kept apart from CShims so the runtime
// binary does not load libarchive.
#ifndef SKIFF_CS_UNPACK_H
#define SKIFF_CS_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Receives the uncompressed tar stream as it is read, for the diffID.
typedef void (*cs_unpack_digest_fn)(void *context, const void *data, size_t length);

/// Called at the end of the bytes `blob_fd` holds so far, while the blob is still being written:
/// blocks until it holds more than `offset` bytes (returns 1), or the download ended there
/// (returns 0) or failed (returns -1).
typedef int (*cs_unpack_wait_fn)(void *context, int64_t offset);

typedef struct {
    int64_t entries;      // entries applied
    int64_t whiteouts;    // `.wh.` entries turned into overlay whiteouts
    char message[1024];   // why it failed
} cs_unpack_result;

/// Extracts the layer read from `blob_fd` (from offset 0, with pread) under the directory
/// `root_fd`. Whiteouts become overlay whiteouts (0/0 character devices, `trusted.overlay.opaque`).
/// With `wait`, the blob may still be growing (see cs_unpack_wait_fn); without, its end is the end.
/// `context` goes to both callbacks. Returns 0, or -1 with `message`.
int cs_unpack_layer(int blob_fd, int root_fd, cs_unpack_digest_fn digest, cs_unpack_wait_fn wait, void *context,
                    cs_unpack_result *result);

#ifdef __cplusplus
}
#endif
#endif
