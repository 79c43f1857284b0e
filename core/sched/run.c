/* The scheduler at work: informers feed the core, and a decision loop on
 * the event loop decides pods in batches and hands each decision to act.c.
 *
 * The loop never starves the event loop: one turn decides at most `batch`
 * pods and stops early when `max_inflight` writes are waiting for replies;
 * the rest waits for a zero-delay timer (so sockets are polled in between)
 * or for replies to come back. Work arriving from an informer makes the
 * work event active; the core's backoff and unschedulable expiries arm a
 * timer from berth_sched_next_wakeup. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "sched/run-int.h"
#include "util/clock.h"

int64_t sched_mono_ms(void)
{
    return berth_mono_ms();
}

void sched_kick(berth_scheduler *s)
{
    if (s->synced)
        event_active(s->work, EV_TIMEOUT, 0);
}

/* --- Feeding the core. --- */

static void pod_changed(berth_scheduler *s, const cJSON *pod)
{
    const char *node = berth_obj_str(pod, "spec.nodeName");
    bool bound = node && *node;
    /* A pending pod being deleted is not scheduled; a bound one keeps its
     * room until it is gone, as its containers may still run. */
    if (!bound && berth_obj_str(pod, "metadata.deletionTimestamp")) {
        const char *ns = berth_obj_namespace(pod);
        if (berth_sched_pod_delete(s->core, ns ? ns : "default", berth_obj_name(pod)) == 0)
            sched_kick(s);
        return;
    }
    int rc = berth_sched_pod_upsert(s->core, pod);
    if (rc < 0)
        BERTH_WARN("scheduler", "ignoring pod %s/%s: %s", berth_obj_namespace(pod),
                   berth_obj_name(pod), berth_strerror(rc));
    if (bound)
        evict_pod_changed(s, pod);
    else
        sched_kick(s);
}

static void on_pod_add(void *arg, const cJSON *obj)
{
    pod_changed(arg, obj);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *obj)
{
    (void)old;
    pod_changed(arg, obj);
}

static void on_pod_delete(void *arg, const cJSON *obj)
{
    berth_scheduler *s = arg;
    const char *ns = berth_obj_namespace(obj);
    /* Freed room may let a waiting pod fit. */
    if (berth_sched_pod_delete(s->core, ns ? ns : "default", berth_obj_name(obj)) == 0)
        sched_kick(s);
}

static void on_node_update(void *arg, const cJSON *old, const cJSON *obj)
{
    berth_scheduler *s = arg;
    int rc = berth_sched_node_upsert(s->core, obj);
    if (rc < 0)
        BERTH_WARN("scheduler", "ignoring node %s: %s", berth_obj_name(obj),
                   berth_strerror(rc));
    evict_node_changed(s, old, obj);
    sched_kick(s);
}

static void on_node_add(void *arg, const cJSON *obj)
{
    on_node_update(arg, NULL, obj);
}

static void on_node_delete(void *arg, const cJSON *obj)
{
    berth_scheduler *s = arg;
    berth_sched_node_delete(s->core, berth_obj_name(obj));
    evict_node_deleted(s, berth_obj_name(obj));
}

static void on_ns_add(void *arg, const cJSON *obj)
{
    berth_scheduler *s = arg;
    if (berth_sched_namespace_upsert(s->core, obj) == 0)
        sched_kick(s);
}

static void on_ns_update(void *arg, const cJSON *old, const cJSON *obj)
{
    const cJSON *a = berth_obj_at(old, "metadata.labels");
    const cJSON *b = berth_obj_at(obj, "metadata.labels");
    /* Only labels matter, and a relabel rebuilds every term's counts. */
    if (old == obj || !cJSON_Compare(a, b, true))
        on_ns_add(arg, obj);
}

static void on_ns_delete(void *arg, const cJSON *obj)
{
    berth_scheduler *s = arg;
    berth_sched_namespace_delete(s->core, berth_obj_name(obj));
}

/* --- Volumes: where a pod's bound claims allow it to run. --- */

static const cJSON *volume_affinity(void *arg, const char *ns, const char *claim)
{
    berth_scheduler *s = arg;
    const cJSON *pvc = berth_informer_get(s->claims, ns, claim);
    const char *pv_name = berth_obj_str(pvc, "spec.volumeName");
    const cJSON *pv = pv_name && *pv_name ? berth_informer_get(s->volumes, NULL, pv_name) : NULL;
    return berth_obj_at(pv, "spec.nodeAffinity.required.nodeSelectorTerms");
}

static bool has_claims(const cJSON *pod)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, berth_obj_at(pod, "spec.volumes"))
    {
        if (berth_obj_str(v, "persistentVolumeClaim.claimName"))
            return true;
    }
    return false;
}

/* A claim was bound or a volume's affinity changed: pending pods with
 * claims are read again (they are few, and such changes rare). */
static void on_volume_change(void *arg, const cJSON *obj)
{
    berth_scheduler *s = arg;
    if (!s->pods_started)
        return;
    const cJSON **pods = NULL;
    size_t n = berth_informer_list(s->pods, NULL, &pods);
    for (size_t i = 0; i < n; i++) {
        const char *node = berth_obj_str(pods[i], "spec.nodeName");
        if ((!node || !*node) && has_claims(pods[i]))
            pod_changed(s, pods[i]);
    }
    free(pods);
}

static void on_volume_update(void *arg, const cJSON *old, const cJSON *obj)
{
    on_volume_change(arg, obj);
}

/* --- The decision loop. --- */

static void on_decision(void *arg, const berth_sched_decision *d)
{
    berth_scheduler *s = arg;
    s->decisions++;
    act_decision(s, d);
}

static void arm_wakeup(berth_scheduler *s, int64_t now)
{
    int64_t at = berth_sched_next_wakeup(s->core, now);
    if (at == INT64_MAX) {
        event_del(s->wakeup);
        return;
    }
    int64_t ms = at - now;
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(s->wakeup, &tv);
}

static void on_work(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_scheduler *s = arg;
    if (!s->synced)
        return;
    int64_t now = sched_mono_ms();
    size_t room = s->inflight < s->max_inflight ? s->max_inflight - s->inflight : 0;
    size_t max = room < s->batch ? room : s->batch;
    if (max)
        berth_sched_run(s->core, now, max, on_decision, s);
    if (s->inflight >= s->max_inflight)
        return; /* a reply makes room and kicks again */
    if (berth_sched_next_wakeup(s->core, now) <= now) {
        /* More is ready: continue after the loop has polled its sockets. */
        struct timeval zero = {0, 0};
        event_add(s->work, &zero);
        return;
    }
    arm_wakeup(s, now);
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_scheduler *s = arg;
    /* Pods come once the claims and volumes are known, so that each pod's
     * first shape sees its bound volumes. */
    if (!s->pods_started && berth_informer_synced(s->claims) &&
        berth_informer_synced(s->volumes)) {
        s->pods_started = true;
        berth_informer_start(s->pods);
    }
    if (!s->pods_started || !berth_informer_synced(s->nodes) || !berth_informer_synced(s->pods) ||
        !berth_informer_synced(s->nss)) {
        struct timeval tv = {0, 10000};
        event_add(s->sync, &tv);
        return;
    }
    /* Decisions wait for the first lists: a pod placed before the bound
     * pods are counted could overcommit a node. */
    s->synced = true;
    berth_sched_stats st;
    berth_sched_stats_get(s->core, &st);
    BERTH_INFO("scheduler", "caches synced: %zu nodes, %zu pods bound, %zu pending",
               st.nodes, st.pods_bound, st.active + st.backoff + st.unschedulable);
    sched_kick(s);
}

/* --- Lifecycle. --- */

static int watch(berth_scheduler *s, const char *kind, berth_informer **inf,
                 const berth_informer_handler *h)
{
    const berth_kind *k = berth_kind_find("v1", kind);
    int rc = k ? berth_informer_new(s->client, s->base, k, NULL, inf) : BERTH_EINVAL;
    if (rc == 0)
        rc = berth_informer_add_handler(*inf, h);
    return rc;
}

int berth_scheduler_start(const berth_scheduler_opts *o, berth_scheduler **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    if (!o || !o->base || !o->client)
        return BERTH_EINVAL;
    berth_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return BERTH_ENOMEM;
    s->base = o->base;
    s->client = o->client;
    s->batch = o->batch ? o->batch : 256;
    s->max_inflight = o->max_inflight ? o->max_inflight : 256;
    int rc = berth_sched_new(o->cfg, &s->core, err, errlen);
    if (rc < 0)
        goto fail;
    berth_informer_handler nh = {on_node_add, on_node_update, on_node_delete, s};
    berth_informer_handler ph = {on_pod_add, on_pod_update, on_pod_delete, s};
    berth_informer_handler sh = {on_ns_add, on_ns_update, on_ns_delete, s};
    berth_informer_handler vh = {on_volume_change, on_volume_update, on_volume_change, s};
    if ((rc = watch(s, "Node", &s->nodes, &nh)) < 0 ||
        (rc = watch(s, "Namespace", &s->nss, &sh)) < 0 ||
        (rc = watch(s, "Pod", &s->pods, &ph)) < 0 ||
        (rc = watch(s, "PersistentVolumeClaim", &s->claims, &vh)) < 0 ||
        (rc = watch(s, "PersistentVolume", &s->volumes, &vh)) < 0)
        goto fail;
    berth_sched_set_volume_lookup(s->core, volume_affinity, s);
    s->work = event_new(s->base, -1, 0, on_work, s);
    s->wakeup = evtimer_new(s->base, on_work, s);
    s->sync = evtimer_new(s->base, on_sync, s);
    if (!s->work || !s->wakeup || !s->sync) {
        rc = BERTH_ENOMEM;
        goto fail;
    }
    /* Nodes first: bound pods then land on known nodes at once. Pods
     * start once the claims and volumes have their first lists (on_sync). */
    berth_informer_start(s->nodes);
    berth_informer_start(s->nss);
    berth_informer_start(s->claims);
    berth_informer_start(s->volumes);
    struct timeval tv = {0, 10000};
    event_add(s->sync, &tv);
    *out = s;
    return 0;
fail:
    if (rc == BERTH_ENOMEM && err && errlen)
        snprintf(err, errlen, "out of memory");
    berth_scheduler_free(s);
    return rc;
}

void berth_scheduler_free(berth_scheduler *s)
{
    if (!s)
        return;
    act_free(s);
    evict_free(s);
    if (s->work)
        event_free(s->work);
    if (s->wakeup)
        event_free(s->wakeup);
    if (s->sync)
        event_free(s->sync);
    berth_informer_free(s->pods);
    berth_informer_free(s->claims);
    berth_informer_free(s->volumes);
    berth_informer_free(s->nss);
    berth_informer_free(s->nodes);
    berth_sched_free(s->core);
    free(s);
}

cJSON *berth_scheduler_stats(const berth_scheduler *s)
{
    berth_sched_stats st;
    berth_sched_stats_get(s->core, &st);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", "SchedulerStats");
    cJSON_AddBoolToObject(o, "synced", s->synced);
    struct { const char *name; double v; } f[] = {
        {"nodes", (double)st.nodes},
        {"podsBound", (double)st.pods_bound},
        {"podsAssumed", (double)st.pods_assumed},
        {"queueActive", (double)st.active},
        {"queueBackoff", (double)st.backoff},
        {"queueUnschedulable", (double)st.unschedulable},
        {"decisions", (double)s->decisions},
        {"bindings", (double)s->binds},
        {"bindingFailures", (double)s->bind_failures},
        {"unschedulable", (double)s->unschedulable},
        {"statusUpdates", (double)s->status_updates},
        {"preemptions", (double)s->preemptions},
        {"evictions", (double)s->evictions},
        {"writeFailures", (double)s->write_failures},
        {"writesInFlight", (double)s->inflight},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        cJSON_AddNumberToObject(o, f[i].name, f[i].v);
    return o;
}

int berth_scheduler_config_load(const char *path, berth_sched_config **out, char *err,
                                size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open the scheduler config %s: %s", path, strerror(errno));
        return BERTH_EIO;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                snprintf(err, errlen, "out of memory reading %s", path);
                return BERTH_ENOMEM;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        snprintf(err, errlen, "cannot read the scheduler config %s", path);
        return BERTH_EIO;
    }
    char why[400] = "";
    int rc = berth_sched_config_parse(text, len, out, why, sizeof why);
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}
