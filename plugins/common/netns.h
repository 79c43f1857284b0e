/* Network namespaces that outlive any process: each is kept alive by a bind
 * mount of its /proc/PID/ns/net onto a file, the way ip-netns(8) does, so a
 * pod's network survives the agent that made it. Work inside one runs in a
 * forked child that joins it with setns, so the caller's own threads never
 * change namespace.
 *
 * Functions return 0 or a negative BERTH_E* code and, on failure, put one
 * line saying what failed into msg. */
#ifndef BERTH_PLUGINS_COMMON_NETNS_H
#define BERTH_PLUGINS_COMMON_NETNS_H

#include <stddef.h>

/* Runs in the child, inside the namespace; returns 0 or a negative code and
 * describes a failure in msg. It must not allocate or log: the child of a
 * threaded process may only make plain system calls. */
typedef int (*berth_netns_fn)(void *arg, char *msg, size_t len);

/* A new network namespace bind-mounted on path, which must not be in use by
 * anything else; an existing namespace file there is kept (idempotent), and
 * a plain file left by a crash is mounted over. On failure nothing is left. */
int berth_netns_create(const char *path, char *msg, size_t len);
/* Unmounts (lazily: processes still inside keep it alive) and unlinks path;
 * 0 when it does not exist. */
int berth_netns_remove(const char *path, char *msg, size_t len);
/* Whether path holds a mounted namespace. */
int berth_netns_exists(const char *path);
/* Calls fn(arg) inside the namespace at path and waits for it. */
int berth_netns_run(const char *path, berth_netns_fn fn, void *arg, char *msg, size_t len);

#endif
