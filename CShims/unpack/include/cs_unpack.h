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

typedef struct {
    int64_t entries;      // entries applied
    int64_t whiteouts;    // `.wh.` entries turned into overlay whiteouts
    char message[1024];   // why it failed
} cs_unpack_result;

/// Extracts the layer read from `blob_fd` under the directory `root_fd`. Whiteouts become overlay
/// whiteouts (0/0 character devices, `trusted.overlay.opaque`). Returns 0, or -1 with `message`.
int cs_unpack_layer(int blob_fd, int root_fd, cs_unpack_digest_fn digest, void *context, cs_unpack_result *result);

#ifdef __cplusplus
}
#endif
#endif
