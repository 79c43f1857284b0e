/* NoExecute taint evictions: a pod bound to a node with a NoExecute taint
 * it does not tolerate is deleted at once; one that tolerates it for
 * tolerationSeconds is deleted when that time has passed since the taint's
 * timeAdded. The core (berth_sched_taint_evictions) says who and when;
 * this file keeps the pending ones and deletes them when due. Times are
 * epoch milliseconds, as timeAdded is a timestamp.
 *
 * Nodes are re-examined only when their taints change, and pods when they
 * change while bound to a node with a NoExecute taint, so heartbeats and
 * status updates cost a lookup, not a scan. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "sched/run-int.h"

static void on_timer(evutil_socket_t fd, short what, void *arg);

static int64_t epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool has_noexecute(const cJSON *node)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, berth_obj_at(node, "spec.taints"))
    {
        const char *e = berth_obj_str(t, "effect");
        if (e && !strcmp(e, "NoExecute"))
            return true;
    }
    return false;
}

static void entry_drop(berth_scheduler *s, size_t i)
{
    free(s->ev[i].key);
    s->ev[i] = s->ev[--s->nev];
}

static void drop_matching(berth_scheduler *s, const char *node, const char *key)
{
    for (size_t i = s->nev; i-- > 0;)
        if ((node && !strcmp(s->ev[i].node, node)) || (key && !strcmp(s->ev[i].key, key)))
            entry_drop(s, i);
}

static void arm(berth_scheduler *s)
{
    if (!s->nev) {
        if (s->evict_timer)
            event_del(s->evict_timer);
        return;
    }
    if (!s->evict_timer) {
        s->evict_timer = evtimer_new(s->base, on_timer, s);
        if (!s->evict_timer)
            return;
    }
    int64_t at = INT64_MAX;
    for (size_t i = 0; i < s->nev; i++)
        if (s->ev[i].at_ms < at)
            at = s->ev[i].at_ms;
    int64_t ms = at - epoch_ms();
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(s->evict_timer, &tv);
}

static void evict_now(berth_scheduler *s, const cJSON *pod, const char *node)
{
    const char *ns = berth_obj_namespace(pod);
    char msg[400];
    snprintf(msg, sizeof msg, "Marking for deletion Pod %s/%s", ns ? ns : "default",
             berth_obj_name(pod));
    s->evictions++;
    act_event(s, pod, "Normal", "TaintManagerEviction", msg);
    char why[320];
    snprintf(why, sizeof why, "node %s has a NoExecute taint the pod does not tolerate", node);
    act_delete_pod(s, ns ? ns : "default", berth_obj_name(pod), berth_obj_uid(pod), why);
}

static void remember(berth_scheduler *s, const cJSON *pod, const char *node, int64_t at)
{
    if (s->nev == s->evcap) {
        size_t cap = s->evcap ? s->evcap * 2 : 16;
        sched_eviction *e = realloc(s->ev, cap * sizeof *e);
        if (!e)
            return; /* the next change to the pod or node tries again */
        s->ev = e;
        s->evcap = cap;
    }
    const char *ns = berth_obj_namespace(pod), *name = berth_obj_name(pod);
    const char *uid = berth_obj_uid(pod);
    size_t lk = strlen(ns ? ns : "default") + strlen(name) + 2;
    size_t lu = strlen(uid ? uid : "") + 1, ln = strlen(node) + 1;
    char *buf = malloc(lk + lu + ln);
    if (!buf)
        return;
    sched_eviction *e = &s->ev[s->nev++];
    e->key = buf;
    snprintf(e->key, lk, "%s/%s", ns ? ns : "default", name);
    e->uid = buf + lk;
    memcpy(e->uid, uid ? uid : "", lu);
    e->node = buf + lk + lu;
    memcpy(e->node, node, ln);
    e->at_ms = at;
}

/* Evaluates the pods in arr (references to cached pods) on node. Informer
 * handlers run inside the client's transfer callbacks, where no request may
 * start: from there (due false) even a pod due now is remembered, and the
 * timer, a moment later, deletes it. The timer passes due true for a pod
 * whose remembered time has come: it is deleted if some NoExecute taint
 * still evicts it at all, since a taint without timeAdded would otherwise
 * count its tolerationSeconds from every new evaluation. */
static void evaluate(berth_scheduler *s, const cJSON *node, const cJSON *arr, bool due)
{
    size_t n = 0, cap = (size_t)cJSON_GetArraySize(arr);
    berth_sched_eviction *out = cap ? malloc(cap * sizeof *out) : NULL;
    int64_t now = epoch_ms();
    if (!out || berth_sched_taint_evictions(node, arr, now, out, cap, &n) < 0) {
        free(out);
        return;
    }
    const char *name = berth_obj_name(node);
    for (size_t i = 0; i < n && i < cap; i++) {
        const cJSON *pod = cJSON_GetArrayItem(arr, (int)out[i].pod);
        if (!pod || berth_obj_str(pod, "metadata.deletionTimestamp"))
            continue;
        if (due)
            evict_now(s, pod, name);
        else
            remember(s, pod, name, out[i].at_ms);
    }
    free(out);
}

static bool live_on(const cJSON *pod, const char *node)
{
    const char *n = berth_obj_str(pod, "spec.nodeName");
    const char *phase = berth_obj_str(pod, "status.phase");
    return n && !strcmp(n, node) && !berth_obj_str(pod, "metadata.deletionTimestamp") &&
           !(phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")));
}

void evict_node_changed(berth_scheduler *s, const cJSON *old, const cJSON *node)
{
    const char *name = berth_obj_name(node);
    if (!name)
        return;
    /* Heartbeats and status updates leave the taints alone; a resync
     * (old == node) changes nothing. */
    const cJSON *a = old ? berth_obj_at(old, "spec.taints") : NULL;
    const cJSON *b = berth_obj_at(node, "spec.taints");
    if (old == node || (old && ((!a && !b) || (a && b && cJSON_Compare(a, b, true)))))
        return;
    if (!has_noexecute(node)) {
        drop_matching(s, name, NULL);
        arm(s);
        return;
    }
    drop_matching(s, name, NULL);
    const cJSON **pods;
    size_t n = berth_informer_list(s->pods, NULL, &pods);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++)
        if (live_on(pods[i], name))
            cJSON_AddItemReferenceToArray(arr, (cJSON *)pods[i]);
    if (arr)
        evaluate(s, node, arr, false);
    cJSON_Delete(arr);
    free(pods);
    arm(s);
}

void evict_node_deleted(berth_scheduler *s, const char *name)
{
    if (!name)
        return;
    drop_matching(s, name, NULL);
    arm(s);
}

static void evaluate_pod(berth_scheduler *s, const cJSON *pod, bool due)
{
    const char *node_name = berth_obj_str(pod, "spec.nodeName");
    const cJSON *node = node_name ? berth_informer_get(s->nodes, NULL, node_name) : NULL;
    if (!node || !has_noexecute(node) || !live_on(pod, node_name))
        return;
    cJSON *arr = cJSON_CreateArray();
    if (arr && cJSON_AddItemReferenceToArray(arr, (cJSON *)pod))
        evaluate(s, node, arr, due);
    cJSON_Delete(arr);
}

void evict_pod_changed(berth_scheduler *s, const cJSON *pod)
{
    const char *node_name = berth_obj_str(pod, "spec.nodeName");
    const cJSON *node = node_name ? berth_informer_get(s->nodes, NULL, node_name) : NULL;
    if (!node || !has_noexecute(node))
        return;
    char key[512];
    const char *ns = berth_obj_namespace(pod);
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "default", berth_obj_name(pod));
    drop_matching(s, NULL, key);
    evaluate_pod(s, pod, false);
    arm(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_scheduler *s = arg;
    int64_t now = epoch_ms();
    for (size_t i = s->nev; i-- > 0;) {
        if (s->ev[i].at_ms > now)
            continue;
        /* Due: evaluate the pod as it is now (it may have gone, moved, or
         * the taint may have been lifted). */
        char *slash = strchr(s->ev[i].key, '/');
        *slash = 0;
        const cJSON *pod = berth_informer_get(s->pods, s->ev[i].key, slash + 1);
        *slash = '/';
        bool same = pod && berth_obj_uid(pod) && !strcmp(berth_obj_uid(pod), s->ev[i].uid);
        entry_drop(s, i);
        if (same)
            evaluate_pod(s, pod, true);
    }
    arm(s);
}

void evict_free(berth_scheduler *s)
{
    for (size_t i = 0; i < s->nev; i++)
        free(s->ev[i].key);
    free(s->ev);
    if (s->evict_timer)
        event_free(s->evict_timer);
}
