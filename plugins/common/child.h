/* Short-lived children a plugin waits for: a tool it runs to completion
 * (nft at configure time, at shutdown) or a forked helper. Both block the
 * caller, so they are for rare and quick work only. */
#ifndef BERTH_PLUGINS_COMMON_CHILD_H
#define BERTH_PLUGINS_COMMON_CHILD_H

#include <stddef.h>

#include "berth/plugin.h"

/* Reads fd (the child's stderr or message pipe) to its end into out (len
 * bytes with the NUL; the rest is dropped), closes fd, and reaps pid.
 * Returns the wait status, or -1 when the child could not be reaped. */
int berth_child_finish(int pid, int fd, char *out, size_t len);

/* Runs argv through the host's spawn with input (NULL: none; it must fit a
 * pipe's buffer) on its stdin and waits. 0 when it exited 0; otherwise a
 * negative code with its stderr's first line (or what failed) in err. */
int berth_run_tool(const berth_host *h, const char *const *argv, const char *input, char *err,
                   size_t len);

#endif
