/* The service proxy shared by the network plugins: renders a
 * berth_proxy_table into one nftables transaction (or, where nft is missing,
 * one iptables-restore input) and applies it without blocking the host
 * loop. Only the newest table waiting is applied; a check every few seconds
 * puts the rules back if someone flushed them. Everything it installs lives
 * in its own table (nft) or its own chains (iptables), so removing it
 * removes exactly what it added. */
#ifndef BERTH_PLUGINS_COMMON_PROXY_H
#define BERTH_PLUGINS_COMMON_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "berth/plugin.h"

typedef enum berth_nproxy_backend {
    BERTH_NPROXY_AUTO = 0,     /* nft when it is on PATH, else iptables-restore */
    BERTH_NPROXY_NFT = 1,
    BERTH_NPROXY_IPTABLES = 2,
} berth_nproxy_backend;

typedef struct berth_nproxy_opts {
    const berth_host *host;   /* the plugin's host table (spawn, timers, log);
                               * NULL makes a proxy that only renders (tests,
                               * benchmarks): its sync fails with BERTH_EINVAL */
    const char *name;         /* the nft table / iptables chain prefix: a letter,
                               * then [a-z0-9-], at most 16 bytes; NULL: "berth-proxy" */
    const char *cluster_cidr; /* pod traffic to a Service from this range is masqueraded,
                               * so replies from a backend on the same bridge come back
                               * through the node; NULL: none */
    berth_nproxy_backend backend;
    uint32_t repair_ms;       /* how often the rules are checked; 0: 5000 */
} berth_nproxy_opts;

typedef struct berth_nproxy berth_nproxy;

/* What the proxy has done so far, for logs, tests and benchmarks. */
typedef struct berth_nproxy_stats {
    uint64_t applied_generation; /* the newest table live in the kernel; 0: none */
    uint32_t applies;            /* successful applies */
    uint32_t failures;           /* failed applies (each is retried) */
    uint32_t repairs;            /* re-applies because the rules had gone */
    uint32_t element_applies;    /* applies that changed map elements only (nft) */
    uint32_t skipped;            /* entries or backends the last render left out */
    int64_t last_apply_ns;       /* how long the last successful apply ran */
    int64_t last_sync_to_live_ns; /* from the sync that made it to its rules being live */
} berth_nproxy_stats;

/* Strings in o are copied. Nothing is installed until the first sync. */
int berth_nproxy_new(const berth_nproxy_opts *o, berth_nproxy **out);
/* Changes the masqueraded pod range; takes effect with the next sync. */
int berth_nproxy_set_cluster_cidr(berth_nproxy *p, const char *cidr);
/* Renders t (borrowed for the call) and applies it as one atomic batch: at
 * once, or when the apply in flight finishes. */
int berth_nproxy_sync(berth_nproxy *p, const berth_proxy_table *t);
/* Removes exactly the proxy's own rules (synchronously) and frees p. */
void berth_nproxy_free(berth_nproxy *p);
/* Copies p's counters into out. */
void berth_nproxy_get_stats(const berth_nproxy *p, berth_nproxy_stats *out);

/* The text t renders to with p's backend, for tests and benchmarks:
 * malloc'd, NUL-terminated, *len (when len is not NULL) gets its length;
 * NULL when out of memory. t->generation goes into the comment the repair
 * check looks for. */
char *berth_nproxy_render(const berth_nproxy *p, const berth_proxy_table *t, size_t *len);

#endif
