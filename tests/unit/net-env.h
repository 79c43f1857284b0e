/* Network plugin tests: each runs in a forked child inside fresh network
 * and mount namespaces, so nothing it makes (links, routes, nft tables,
 * namespace mounts) can reach the host's, and everything vanishes with the
 * child even when a check fails half-way. */
#ifndef BERTH_TEST_NET_ENV_H
#define BERTH_TEST_NET_ENV_H

#include "agent/plugin-loader.h"
#include "berth/plugin.h"

/* Runs fn(arg) isolated as above (lo up, a sysfs of the new namespace on
 * /sys) and counts the child's failed checks as this test's. Skips, with a
 * line on stderr, where it cannot isolate: not root, no namespaces. */
void net_isolated(void (*fn)(void *arg), void *arg);

/* A network plugin opened through the loader from the build's plugins dir,
 * with config key "bridge" = bridge. */
typedef struct net_env {
    struct event_base *base;
    berth_plugins *ps;
    berth_plugin_inst *inst;
    const berth_network_ops *ops;
    void *state;
    char bridge[16];
} net_env;

int net_env_open(net_env *e, const char *name, const char *bridge);
void net_env_close(net_env *e);

/* How many entries dir has, not counting dot files (temporary ones). */
int net_entries(const char *dir);

/* Forks a child that joins the network namespace at netns_path (NULL:
 * stays) and exits with fn(arg); returns its pid. */
int net_fork_in(const char *netns_path, int (*fn)(void *arg), void *arg);
/* Waits for pid; its exit status, or -1 when it was killed. */
int net_wait(int pid);

#endif
