/* Carrying the core's decisions out through the API: a Binding for each
 * placed pod (many in flight at once, so the server commits them in
 * batches), the PodScheduled=False condition and a FailedScheduling Event
 * for a pod that fits nowhere, and for preemption the victims' deletion,
 * their Preempted Events and the preemptor's status.nominatedNodeName. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "sched/run-int.h"

enum { OP_BIND, OP_STATUS, OP_EVENT, OP_DELETE };

static const char *const op_names[] = {"binding", "status update", "event", "deletion"};

static const berth_kind *kind_of(const char *kind)
{
    return berth_kind_find("v1", kind);
}

/* A write in flight for pod ns/name; NULL when out of memory. */
static sched_op *op_new(berth_scheduler *s, int type, const char *ns, const char *name,
                        const char *uid)
{
    size_t ln = strlen(ns) + 1, lm = strlen(name) + 1, lu = uid ? strlen(uid) + 1 : 1;
    sched_op *op = malloc(sizeof *op + ln + lm + lu);
    if (!op)
        return NULL;
    op->s = s;
    op->type = type;
    op->ns = op->buf;
    op->name = op->buf + ln;
    op->uid = op->buf + ln + lm;
    memcpy(op->ns, ns, ln);
    memcpy(op->name, name, lm);
    memcpy(op->uid, uid ? uid : "", lu);
    op->prev = NULL;
    op->next = s->ops;
    if (s->ops)
        s->ops->prev = op;
    s->ops = op;
    s->inflight++;
    return op;
}

static void op_done(sched_op *op)
{
    berth_scheduler *s = op->s;
    if (op->prev)
        op->prev->next = op->next;
    else
        s->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    bool was_full = s->inflight >= s->max_inflight;
    s->inflight--;
    free(op);
    if (was_full && s->inflight < s->max_inflight)
        sched_kick(s);
}

static void on_reply(void *arg, const berth_reply *r)
{
    sched_op *op = arg;
    berth_scheduler *s = op->s;
    if (op->type == OP_BIND) {
        if (r->err == 0) {
            s->binds++;
        } else {
            /* Roll the assumption back: the pod's room is free again and
             * the pod retries after its backoff. A pod already deleted is
             * no longer assumed, and the core says so. */
            s->bind_failures++;
            BERTH_DEBUG("scheduler", "binding %s/%s failed: %s", op->ns, op->name,
                        r->message ? r->message : berth_strerror(r->err));
            berth_sched_forget(s->core, op->ns, op->name, sched_mono_ms());
            sched_kick(s);
        }
    } else if (r->err && !(op->type == OP_DELETE && r->err == BERTH_ENOTFOUND)) {
        s->write_failures++;
        BERTH_WARN("scheduler", "%s for pod %s/%s failed: %s", op_names[op->type], op->ns,
                   op->name, r->message ? r->message : berth_strerror(r->err));
    }
    op_done(op);
}

/* Sends a request for op; on failure to send, counts it and drops op. */
static void op_send(sched_op *op, berth_verb verb, const berth_request *req)
{
    berth_scheduler *s = op->s;
    int rc = berth_client_request(s->client, verb, req, on_reply, op);
    if (rc == 0)
        return;
    if (op->type == OP_BIND) {
        s->bind_failures++;
        berth_sched_forget(s->core, op->ns, op->name, sched_mono_ms());
    } else {
        s->write_failures++;
    }
    BERTH_WARN("scheduler", "cannot send the %s for pod %s/%s: %s", op_names[op->type],
               op->ns, op->name, berth_strerror(rc));
    op_done(op);
}

static void bind_pod(berth_scheduler *s, const berth_sched_decision *d)
{
    sched_op *op = op_new(s, OP_BIND, d->ns, d->name, d->uid);
    cJSON *b = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(b, "metadata");
    cJSON *t = cJSON_AddObjectToObject(b, "target");
    if (!op || !md || !t) {
        cJSON_Delete(b);
        if (op)
            op_done(op);
        s->bind_failures++;
        berth_sched_forget(s->core, d->ns, d->name, sched_mono_ms());
        return;
    }
    cJSON_AddStringToObject(b, "apiVersion", "v1");
    cJSON_AddStringToObject(b, "kind", "Binding");
    cJSON_AddStringToObject(md, "name", d->name);
    cJSON_AddStringToObject(md, "namespace", d->ns);
    /* The uid precondition: a pod deleted and recreated under the same name
     * is a new pod, not the one decided. */
    if (d->uid && *d->uid)
        cJSON_AddStringToObject(md, "uid", d->uid);
    cJSON_AddStringToObject(t, "apiVersion", "v1");
    cJSON_AddStringToObject(t, "kind", "Node");
    cJSON_AddStringToObject(t, "name", d->node);
    berth_request req = {.kind = kind_of("Pod"), .ns = op->ns, .name = op->name,
                         .subresource = "binding", .body = b};
    op_send(op, BERTH_VERB_CREATE, &req);
    cJSON_Delete(b);
}

static void now_rfc3339(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void act_event(berth_scheduler *s, const cJSON *pod, const char *type, const char *reason,
               const char *message)
{
    const char *ns = berth_obj_namespace(pod), *name = berth_obj_name(pod);
    if (!ns)
        ns = "default";
    if (!name)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char ename[400], now[32];
    /* Unique names, like Kubernetes' "<pod>.<hex nanoseconds>". */
    snprintf(ename, sizeof ename, "%.240s.%llx", name,
             (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec +
                 s->seq++);
    now_rfc3339(now, sizeof now);
    cJSON *e = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(e, "metadata");
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    cJSON *src = cJSON_AddObjectToObject(e, "source");
    sched_op *op = md && io && src ? op_new(s, OP_EVENT, ns, name, NULL) : NULL;
    if (!op) {
        cJSON_Delete(e);
        s->write_failures++;
        return;
    }
    cJSON_AddStringToObject(e, "apiVersion", "v1");
    cJSON_AddStringToObject(e, "kind", "Event");
    cJSON_AddStringToObject(md, "name", ename);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON_AddStringToObject(io, "apiVersion", "v1");
    cJSON_AddStringToObject(io, "kind", "Pod");
    cJSON_AddStringToObject(io, "namespace", ns);
    cJSON_AddStringToObject(io, "name", name);
    const char *uid = berth_obj_uid(pod);
    if (uid)
        cJSON_AddStringToObject(io, "uid", uid);
    const char *rv = berth_obj_str(pod, "metadata.resourceVersion");
    if (rv)
        cJSON_AddStringToObject(io, "resourceVersion", rv);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(src, "component", "default-scheduler");
    cJSON_AddStringToObject(e, "reportingComponent", "default-scheduler");
    cJSON_AddStringToObject(e, "reportingInstance", "berthd");
    cJSON_AddStringToObject(e, "firstTimestamp", now);
    cJSON_AddStringToObject(e, "lastTimestamp", now);
    cJSON_AddNumberToObject(e, "count", 1);
    berth_request req = {.kind = kind_of("Event"), .ns = op->ns, .body = e};
    op_send(op, BERTH_VERB_CREATE, &req);
    cJSON_Delete(e);
}

void act_delete_pod(berth_scheduler *s, const char *ns, const char *name, const char *uid,
                    const char *why)
{
    sched_op *op = op_new(s, OP_DELETE, ns, name, uid);
    cJSON *o = cJSON_CreateObject();
    cJSON *pre = cJSON_AddObjectToObject(o, "preconditions");
    if (!op || !pre) {
        cJSON_Delete(o);
        if (op)
            op_done(op);
        s->write_failures++;
        return;
    }
    BERTH_INFO("scheduler", "deleting pod %s/%s: %s", ns, name, why);
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON_AddStringToObject(o, "kind", "DeleteOptions");
    if (uid && *uid)
        cJSON_AddStringToObject(pre, "uid", uid);
    berth_request req = {.kind = kind_of("Pod"), .ns = op->ns, .name = op->name, .body = o};
    op_send(op, BERTH_VERB_DELETE, &req);
    cJSON_Delete(o);
}

static const cJSON *find_condition(const cJSON *pod, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, berth_obj_at(pod, "status.conditions"))
    {
        const char *t = berth_obj_str(c, "type");
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Sets PodScheduled=False (Unschedulable, message) and, for a preemptor,
 * status.nominatedNodeName, unless the pod already says so. The merge patch
 * carries the whole conditions list (a merge patch replaces lists), built
 * from the cached pod with PodScheduled replaced. */
static void unschedulable(berth_scheduler *s, const berth_sched_decision *d,
                          const char *nominated)
{
    const cJSON *pod = berth_informer_get(s->pods, d->ns, d->name);
    if (!pod)
        return;
    const cJSON *cur = find_condition(pod, "PodScheduled");
    bool same = cur && str_eq(berth_obj_str(cur, "status"), "False") &&
                str_eq(berth_obj_str(cur, "reason"), "Unschedulable") &&
                str_eq(berth_obj_str(cur, "message"), d->message);
    bool nom_same = !nominated ||
                    str_eq(berth_obj_str(pod, "status.nominatedNodeName"), nominated);
    if (same && nom_same)
        return;
    cJSON *patch = cJSON_CreateObject();
    cJSON *st = cJSON_AddObjectToObject(patch, "status");
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    const cJSON *c;
    cJSON_ArrayForEach(c, berth_obj_at(pod, "status.conditions"))
        if (c != cur)
            cJSON_AddItemToArray(conds, cJSON_Duplicate(c, 1));
    cJSON *nc = cJSON_CreateObject();
    char now[32];
    now_rfc3339(now, sizeof now);
    cJSON_AddStringToObject(nc, "type", "PodScheduled");
    cJSON_AddStringToObject(nc, "status", "False");
    cJSON_AddNullToObject(nc, "lastProbeTime");
    /* The transition time moves only when the status does. */
    const char *ltt = cur && str_eq(berth_obj_str(cur, "status"), "False")
                          ? berth_obj_str(cur, "lastTransitionTime") : NULL;
    cJSON_AddStringToObject(nc, "lastTransitionTime", ltt ? ltt : now);
    cJSON_AddStringToObject(nc, "reason", "Unschedulable");
    cJSON_AddStringToObject(nc, "message", d->message);
    cJSON_AddItemToArray(conds, nc);
    if (nominated)
        cJSON_AddStringToObject(st, "nominatedNodeName", nominated);
    sched_op *op = op_new(s, OP_STATUS, d->ns, d->name, d->uid);
    if (!op) {
        cJSON_Delete(patch);
        s->write_failures++;
        return;
    }
    s->status_updates++;
    berth_request req = {.kind = kind_of("Pod"), .ns = op->ns, .name = op->name,
                         .subresource = "status",
                         .patch_type = "application/merge-patch+json", .body = patch};
    op_send(op, BERTH_VERB_PATCH, &req);
    cJSON_Delete(patch);
    if (!same)
        act_event(s, pod, "Warning", "FailedScheduling", d->message);
}

static void preempt(berth_scheduler *s, const berth_sched_decision *d)
{
    const cJSON *pod = berth_informer_get(s->pods, d->ns, d->name);
    char msg[600];
    snprintf(msg, sizeof msg, "Preempted by pod %s on node %s", d->uid ? d->uid : "",
             d->node);
    for (size_t i = 0; pod && i < d->nvictims; i++) {
        const berth_sched_victim *v = &d->victims[i];
        const cJSON *vp = berth_informer_get(s->pods, v->ns, v->name);
        /* A victim already terminating is on its way out: this pod waits
         * for it rather than asking again. */
        if (!vp || berth_obj_str(vp, "metadata.deletionTimestamp"))
            continue;
        s->preemptions++;
        act_event(s, vp, "Normal", "Preempted", msg);
        act_delete_pod(s, v->ns, v->name, v->uid, msg);
    }
    unschedulable(s, d, d->node);
}

void act_decision(berth_scheduler *s, const berth_sched_decision *d)
{
    switch (d->outcome) {
    case BERTH_SCHED_BIND:
        bind_pod(s, d);
        break;
    case BERTH_SCHED_UNSCHEDULABLE:
        s->unschedulable++;
        unschedulable(s, d, NULL);
        break;
    case BERTH_SCHED_PREEMPT:
        preempt(s, d);
        break;
    }
}

void act_free(berth_scheduler *s)
{
    for (sched_op *op = s->ops, *next; op; op = next) {
        next = op->next;
        free(op);
    }
    s->ops = NULL;
    s->inflight = 0;
}
