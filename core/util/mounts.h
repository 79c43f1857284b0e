/* The mount table as the kernel tells it (/proc/self/mountinfo), for the
 * agent's volume directories: a bind mount from the same file system has
 * the same st_dev as its parent, so only the table says what is mounted. */
#ifndef BERTH_UTIL_MOUNTS_H
#define BERTH_UTIL_MOUNTS_H

#include <stdbool.h>

/* Whether path (absolute, no trailing slash) is a mount point. */
bool berth_is_mount_point(const char *path);
/* Detaches (umount2 MNT_DETACH) every mount at or below dir, deepest
 * first, so that removing dir afterwards can never reach into a mounted
 * volume. Returns how many could not be detached. */
int berth_detach_mounts_under(const char *dir);
/* Whether some mount point at or below `under` shows directory dir (a bind
 * mount of it: the same device and inode). */
bool berth_is_mounted_below(const char *dir, const char *under);

#endif
