/* Internals shared by the image store's files (core/agent/images*.c). */
#ifndef BERTH_AGENT_IMAGES_INT_H
#define BERTH_AGENT_IMAGES_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/images.h"

struct berth_images {
    char dir[PATH_MAX - 512];
    char last_error[512];
};

/* Progress of one import: bytes read so far of how many. */
typedef struct feed {
    berth_image_progress_fn fn;
    void *arg;
    uint64_t done, total;
    const char *what;
} feed;

/* Records a failure's message in st and returns err. */
int images_fail(berth_images *st, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs tar with args; when in_path is set its bytes go to tar's stdin
 * (counted into f); when out is set tar's stdout is collected into it (a
 * malloc'd string the caller frees). tar's first stderr line ends up in
 * msg. */
int images_run_tar(const char *const *args, const char *in_path, feed *f, char **out,
                   char *msg, size_t msglen);
/* tar's decompression flag for an archive, from its first bytes, or NULL. */
const char *images_compression(const char *path);
/* Unpacks an archive (plain or compressed tar) into root with GNU tar. */
int images_extract(berth_images *st, const char *archive, const char *root, feed *f);
/* Imports the OCI image layout at layout into root (images-oci.c). */
int images_import_oci(berth_images *st, const char *layout, const char *root, feed *f);

#endif
