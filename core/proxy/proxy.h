/* The service proxy's front half: informers on Services and Endpoints (all
 * namespaces) turned into the flat berth_proxy_table of berth/plugin.h and
 * handed to a callback (the node agent passes it on to the network plugin's
 * proxy_sync). Changes are coalesced over a short window; an unchanged table
 * is not handed over again. docs/network.md says what goes in the table. */
#ifndef BERTH_PROXY_PROXY_H
#define BERTH_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "berth/client.h"
#include "berth/plugin.h"

struct event_base;
typedef struct berth_svcproxy berth_svcproxy;

/* t and everything it points to are borrowed for the call. Returns 0, or a
 * negative BERTH_E* code to have the table offered again after a backoff
 * (1 s doubling to 30 s) even if nothing changes meanwhile. */
typedef int (*berth_svcproxy_apply_fn)(void *arg, const berth_proxy_table *t);

typedef struct berth_svcproxy_opts {
    struct event_base *base;
    berth_client *client;          /* borrowed: free it before the proxy */
    berth_svcproxy_apply_fn apply;
    void *arg;
    uint32_t debounce_ms;          /* changes within this window are applied
                                    * together; 0: 10 */
    const char *node_name;         /* this node: which endpoints are local
                                    * (copied); NULL: none is */
    bool health_checks;            /* serve the health check node ports */
    const char *health_addr;       /* where (borrowed); NULL: every address */
} berth_svcproxy_opts;

/* Starts the informers. The first table is applied once both have their
 * first list (even an empty one: stale rules go). *out is freed with
 * berth_svcproxy_free, after the client (which ends the watches); apply is
 * never called after that. BERTH_EINVAL without a base, client or apply. */
int berth_svcproxy_start(const berth_svcproxy_opts *o, berth_svcproxy **out);
void berth_svcproxy_free(berth_svcproxy *p);

/* Counters for a debug endpoint: service ports and backends in the last
 * table, its generation, syncs applied, skipped (unchanged) and failed, and
 * how long the last build and apply took. The caller owns the result. */
cJSON *berth_svcproxy_stats(const berth_svcproxy *p);

/* ---- Building the table (table.c), apart from the informers for tests. ---- */

/* A table and the flat arrays it points into, reused from build to build
 * (a zeroed one is empty). Strings point into the Service and Endpoints
 * objects the table was built from: it is valid while they are. */
typedef struct berth_proxy_table_buf {
    berth_proxy_table table;
    berth_proxy_service *services;
    size_t services_cap;
    berth_proxy_backend *backends;
    size_t nbackends, backends_cap;
    const char **external_ips;
    size_t nexternal_ips, external_ips_cap;
    const char *node_name; /* backends on this node are local; NULL: none */
} berth_proxy_table_buf;

/* Empties b, keeping its memory (and its node_name). */
void berth_proxy_table_reset(berth_proxy_table_buf *b);
/* Appends one entry per port of Service svc, with the ready backends of eps
 * (its Endpoints, or NULL). A Service the proxy does not serve (headless,
 * ExternalName, malformed) adds nothing. Returns 0 or BERTH_ENOMEM. */
int berth_proxy_table_add(berth_proxy_table_buf *b, const cJSON *svc, const cJSON *eps);
/* Points the entries at their backends and sorts them (namespace, name,
 * port name, protocol, port) so that equal inputs give equal tables. */
void berth_proxy_table_finish(berth_proxy_table_buf *b);
/* A digest of everything in t but its generation, to skip re-applying an
 * identical table. */
uint64_t berth_proxy_table_hash(const berth_proxy_table *t);
void berth_proxy_table_free(berth_proxy_table_buf *b);

/* The whole build from arrays of Service and Endpoints objects (Endpoints
 * are matched to Services by namespace and name); b is reset first. */
int berth_svcproxy_build(const cJSON *const *services, size_t nsvc,
                         const cJSON *const *endpoints, size_t nep, berth_proxy_table_buf *b);

/* ---- Health check node ports (health.c) ---- */

typedef struct berth_svchealth berth_svchealth;
typedef struct berth_svchealth_entry {
    const char *ns, *name;
    uint16_t port;  /* the Service's healthCheckNodePort */
    uint32_t local; /* its ready endpoints on this node */
} berth_svchealth_entry;

/* Serves nothing until the first sync. addr: where to listen (NULL: every
 * address of the node); borrowed for the server's life. */
int berth_svchealth_new(struct event_base *base, const char *addr, berth_svchealth **out);
/* Listens on exactly the ports of e (borrowed for the call), answering
 * with their counts; a port that cannot be bound is said once and tried
 * again at the next sync. */
void berth_svchealth_sync(berth_svchealth *h, const berth_svchealth_entry *e, size_t n);
void berth_svchealth_free(berth_svchealth *h);

#endif
