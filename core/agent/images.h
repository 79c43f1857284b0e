/* The node's local image store, DATA_DIR/images: root filesystems imported
 * from tarballs or OCI image layouts, resolved by NAME[:TAG] to a directory
 * the runtime uses as its read-only lower layer. Pulling from a registry is
 * out of scope; `berthctl image import` fills the store. */
#ifndef BERTH_AGENT_IMAGES_H
#define BERTH_AGENT_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "berth/errno.h"

typedef struct berth_images berth_images;

typedef struct berth_image_info {
    char ref[256];       /* NAME:TAG */
    char rootfs[4096];
    uint64_t size;       /* bytes of archive imported */
    int64_t imported_ns; /* wall clock */
} berth_image_info;

/* done and total are bytes of archive read so far and in all (total 0 when
 * unknown); what names the step ("layer 2/3", "busybox"). */
typedef void (*berth_image_progress_fn)(void *arg, uint64_t done, uint64_t total,
                                        const char *what);
/* Returns 0 to go on, anything else to stop listing. */
typedef int (*berth_image_list_fn)(void *arg, const berth_image_info *info);

/* Opens (creating) DATA_DIR/images. The caller frees the store with
 * berth_images_close; data_dir is copied. */
int berth_images_open(const char *data_dir, berth_images **out);
void berth_images_close(berth_images *st);

/* Imports NAME[:TAG] (tag "latest" by default) from a root filesystem
 * tarball (plain, gzip, bzip2 or xz) or an OCI image layout directory,
 * replacing an image of the same reference only once the import succeeded.
 * progress may be NULL. */
int berth_image_import(berth_images *st, const char *ref, const char *path,
                       berth_image_progress_fn progress, void *arg);
/* Writes the image's root filesystem path into rootfs. The image busybox
 * (busybox:latest) is built from the host's busybox-static on first use.
 * BERTH_ENOTFOUND for a missing image, with berth_images_last_error saying
 * how to import it (the agent reports it as ErrImageNeverPull). */
int berth_image_resolve(berth_images *st, const char *ref, char *rootfs, size_t len);
int berth_image_list(berth_images *st, berth_image_list_fn fn, void *arg);
int berth_image_remove(berth_images *st, const char *ref);

/* The last failure's message, one line naming the reference, file or
 * layer; owned by st. */
const char *berth_images_last_error(const berth_images *st);

#endif
