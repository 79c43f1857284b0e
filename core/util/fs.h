/* Small file-system helpers. */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include <sys/types.h>

/* mkdir -p: creates path's missing parents (mode 0755) and path itself
 * (mode). Returns 0, BERTH_ETOOLARGE for an over-long path, or BERTH_EIO with
 * errno telling why. */
int berth_mkdirs(const char *path, mode_t mode);
/* Creates the missing directories above path (a file's), mode 0755. */
int berth_mkdir_parents(const char *path);
/* rm -rf that never follows a symlink and stays on path's file system
 * (nothing mounted below is entered). 0 once path is gone (or was never
 * there), else BERTH_EIO. */
int berth_remove_tree(const char *path);

#endif
