/* The service proxy's informers and its one timer (proxy.h). Every change
 * to a Service or an Endpoints arms the timer unless it is armed already,
 * so a burst of changes (a rollout moving many endpoints) becomes one
 * rebuild; the rebuild hands the table over only when it differs from the
 * last one handed over. The same timer waits for the first lists and backs
 * off after a failed apply. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "client/informer.h"
#include "proxy/proxy.h"
#include "util/clock.h"

#define DEFAULT_DEBOUNCE_MS 10
#define UNSYNCED_POLL_MS 100
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 30000

struct berth_svcproxy {
    struct event_base *base;
    berth_informer *svc, *eps;
    berth_svcproxy_apply_fn apply;
    void *arg;
    uint32_t debounce_ms;
    uint32_t retry_ms;       /* the next backoff after a failed apply; 0: none yet */
    struct event *timer;
    berth_proxy_table_buf buf;
    char *node_name;         /* buf.node_name */
    berth_svchealth *health; /* health check node ports */
    bool applied;            /* a table was applied: last_hash means something */
    uint64_t last_hash;
    uint64_t generation;
    uint64_t syncs, skipped, failures;
    uint32_t services, backends; /* in the last table built */
    int64_t last_sync_ns;    /* how long the last build (and apply) took */
};

static void arm(berth_svcproxy *p, uint32_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

/* A change coalesces with the rebuild already pending, if any: the timer
 * is not pushed back, so steady churn still gets applied every window. */
static void changed(berth_svcproxy *p)
{
    if (!evtimer_pending(p->timer, NULL))
        arm(p, p->debounce_ms);
}

static void on_add(void *arg, const cJSON *obj)
{
    changed(arg);
}

static void on_update(void *arg, const cJSON *old, const cJSON *obj)
{
    changed(arg);
}

/* Builds from the caches. The table borrows from the cached objects, which
 * stay put until the loop applies the next event, after the apply call. */
static int build(berth_svcproxy *p)
{
    berth_proxy_table_reset(&p->buf);
    const cJSON **svcs = NULL;
    size_t n = berth_informer_list(p->svc, NULL, &svcs);
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        const cJSON *eps = berth_informer_get(p->eps, berth_obj_namespace(svcs[i]),
                                              berth_obj_name(svcs[i]));
        err = berth_proxy_table_add(&p->buf, svcs[i], eps);
    }
    free(svcs);
    berth_proxy_table_finish(&p->buf);
    return err;
}

/* Ready endpoints of eps on this node, each address once. */
static uint32_t local_endpoints(const berth_svcproxy *p, const cJSON *eps)
{
    const char *seen[64];
    uint32_t n = 0;
    const cJSON *ss, *a;
    cJSON_ArrayForEach(ss, cJSON_GetObjectItemCaseSensitive(eps, "subsets"))
    {
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(ss, "addresses"))
        {
            const char *ip = berth_obj_str(a, "ip"), *node = berth_obj_str(a, "nodeName");
            if (!ip || !node || !p->node_name || strcmp(node, p->node_name) != 0)
                continue;
            bool dup = false;
            for (uint32_t i = 0; i < n && i < 64 && !dup; i++)
                dup = !strcmp(seen[i], ip);
            if (!dup && n < 64)
                seen[n] = ip;
            n += !dup;
        }
    }
    return n;
}

/* The health check node ports of the Services that have one. */
static void sync_health(berth_svcproxy *p)
{
    const cJSON **svcs = NULL;
    size_t n = berth_informer_list(p->svc, NULL, &svcs), k = 0;
    berth_svchealth_entry *e = n ? calloc(n, sizeof *e) : NULL;
    for (size_t i = 0; e && i < n; i++) {
        const cJSON *hc = berth_obj_at(svcs[i], "spec.healthCheckNodePort");
        const char *type = berth_obj_str(svcs[i], "spec.type");
        const char *policy = berth_obj_str(svcs[i], "spec.externalTrafficPolicy");
        if (!cJSON_IsNumber(hc) || hc->valuedouble < 1 || hc->valuedouble > 65535 || !type ||
            strcmp(type, "LoadBalancer") != 0 || !policy || strcmp(policy, "Local") != 0)
            continue;
        const char *ns = berth_obj_namespace(svcs[i]), *name = berth_obj_name(svcs[i]);
        if (!ns || !name)
            continue;
        e[k++] = (berth_svchealth_entry){ns, name, (uint16_t)hc->valuedouble,
                                         local_endpoints(p, berth_informer_get(p->eps, ns, name))};
    }
    berth_svchealth_sync(p->health, e, k);
    free(e);
    free(svcs);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    berth_svcproxy *p = arg;
    if (!berth_informer_synced(p->svc) || !berth_informer_synced(p->eps)) {
        /* A partial cache would withdraw working rules: wait for both. */
        arm(p, p->debounce_ms > UNSYNCED_POLL_MS ? p->debounce_ms : UNSYNCED_POLL_MS);
        return;
    }
    int64_t t0 = berth_mono_ns();
    if (build(p) != 0) {
        BERTH_WARN("proxy", "out of memory building the service proxy table; retrying");
        arm(p, RETRY_FIRST_MS);
        return;
    }
    if (p->health)
        sync_health(p);
    berth_proxy_table *t = &p->buf.table;
    p->services = t->nservices;
    p->backends = (uint32_t)p->buf.nbackends;
    uint64_t hash = berth_proxy_table_hash(t);
    if (p->applied && hash == p->last_hash) {
        p->skipped++;
        return;
    }
    t->generation = p->generation + 1;
    int err = p->apply(p->arg, t);
    p->last_sync_ns = berth_mono_ns() - t0;
    if (err) {
        p->failures++;
        p->retry_ms = p->retry_ms ? p->retry_ms * 2 : RETRY_FIRST_MS;
        if (p->retry_ms > RETRY_MAX_MS)
            p->retry_ms = RETRY_MAX_MS;
        BERTH_WARN("proxy", "applying service proxy table %llu failed: %s; again in %u ms",
                   (unsigned long long)t->generation, berth_strerror(err), p->retry_ms);
        arm(p, p->retry_ms);
        return;
    }
    p->generation = t->generation;
    p->retry_ms = 0;
    p->applied = true;
    p->last_hash = hash;
    p->syncs++;
    BERTH_DEBUG("proxy", "applied service proxy table %llu: %u service ports, %u backends, %.2f ms",
                (unsigned long long)p->generation, p->services, p->backends,
                (double)p->last_sync_ns / 1e6);
}

static int informer(berth_svcproxy *p, berth_client *c, const char *kind, berth_informer **out)
{
    berth_informer_handler h = {on_add, on_update, on_add, p};
    int rc = berth_informer_new(c, p->base, berth_kind_find("v1", kind), NULL, out);
    return rc ? rc : berth_informer_add_handler(*out, &h);
}

int berth_svcproxy_start(const berth_svcproxy_opts *o, berth_svcproxy **out)
{
    if (!o || !o->base || !o->client || !o->apply)
        return BERTH_EINVAL;
    berth_svcproxy *p = calloc(1, sizeof *p);
    if (!p)
        return BERTH_ENOMEM;
    p->base = o->base;
    p->apply = o->apply;
    p->arg = o->arg;
    p->debounce_ms = o->debounce_ms ? o->debounce_ms : DEFAULT_DEBOUNCE_MS;
    p->timer = evtimer_new(p->base, on_timer, p);
    int rc = p->timer ? 0 : BERTH_ENOMEM;
    if (!rc && o->node_name && !(p->buf.node_name = p->node_name = strdup(o->node_name)))
        rc = BERTH_ENOMEM;
    if (!rc && o->health_checks)
        rc = berth_svchealth_new(p->base, o->health_addr, &p->health);
    if (!rc)
        rc = informer(p, o->client, "Service", &p->svc);
    if (!rc)
        rc = informer(p, o->client, "Endpoints", &p->eps);
    if (rc) {
        berth_svcproxy_free(p);
        return rc;
    }
    /* Armed before the lists, which may be empty and so report no change:
     * the first table goes out either way. */
    arm(p, p->debounce_ms);
    if ((rc = berth_informer_start(p->svc)) != 0 || (rc = berth_informer_start(p->eps)) != 0) {
        berth_svcproxy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void berth_svcproxy_free(berth_svcproxy *p)
{
    if (!p)
        return;
    if (p->timer)
        event_free(p->timer);
    berth_informer_free(p->svc);
    berth_informer_free(p->eps);
    berth_proxy_table_free(&p->buf);
    berth_svchealth_free(p->health);
    free(p->node_name);
    free(p);
}

cJSON *berth_svcproxy_stats(const berth_svcproxy *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", "ServiceProxyStats");
    cJSON_AddBoolToObject(o, "synced",
                          berth_informer_synced(p->svc) && berth_informer_synced(p->eps));
    struct { const char *name; double v; } f[] = {
        {"services", (double)p->services},
        {"backends", (double)p->backends},
        {"generation", (double)p->generation},
        {"syncs", (double)p->syncs},
        {"syncsSkipped", (double)p->skipped},
        {"syncFailures", (double)p->failures},
        {"lastSyncMs", (double)p->last_sync_ns / 1e6},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        cJSON_AddNumberToObject(o, f[i].name, f[i].v);
    return o;
}
