/* The pod cache: every pod the scheduler knows, bound, assumed or pending,
 * keyed by "namespace/name". Bound and assumed pods count against their
 * node; pending pods wait in the queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

static const cJSON *at(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int pod_key(const char *ns, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", ns, name);
    return n < 0 || (size_t)n >= size ? BERTH_EINVAL : 0;
}

static void pod_free(berth_sched *s, pod *p)
{
    shape_put(s, p->shape);
    cJSON_Delete(p->obj);
    free(p->ns);
    free(p);
}

/* Removes p from its node, queue and the counters, and frees it. */
static void pod_drop(berth_sched *s, pod *p)
{
    bool placed = p->node >= 0;
    if (placed)
        sched_unplace(s, p);
    queue_remove(s, p);
    if (p->state == P_ASSUMED)
        s->nassumed--;
    else if (p->state == P_BOUND)
        s->nbound--;
    pod_free(s, p);
    /* Freed room may let an unschedulable pod fit. */
    if (placed)
        queue_move_all(s, s->now);
}

int berth_sched_pod_delete(berth_sched *s, const char *ns, const char *name)
{
    char key[512];
    if (!ns || !name || pod_key(ns, name, key, sizeof key) < 0)
        return BERTH_EINVAL;
    pod *p = berth_hmap_del(&s->pods, key);
    if (!p)
        return BERTH_ENOTFOUND;
    pod_drop(s, p);
    return 0;
}

static void set_state(berth_sched *s, pod *p, uint8_t state)
{
    if (p->state == P_ASSUMED)
        s->nassumed--;
    else if (p->state == P_BOUND)
        s->nbound--;
    p->state = state;
    if (state == P_ASSUMED)
        s->nassumed++;
    else if (state == P_BOUND)
        s->nbound++;
}

static int pod_new(berth_sched *s, const cJSON *obj, const char *key, pod **out)
{
    const cJSON *meta = at(obj, "metadata");
    const char *ns = cJSON_GetStringValue(at(meta, "namespace"));
    const char *name = cJSON_GetStringValue(at(meta, "name"));
    const char *uid = cJSON_GetStringValue(at(meta, "uid"));
    if (!ns)
        ns = "default";
    if (!uid)
        uid = "";
    size_t ln = strlen(ns) + 1, lm = strlen(name) + 1, lu = strlen(uid) + 1;
    pod *p = calloc(1, sizeof *p);
    char *buf = malloc(ln + lm + lu);
    if (!p || !buf) {
        free(p);
        free(buf);
        return BERTH_ENOMEM;
    }
    memcpy(buf, ns, ln);
    memcpy(buf + ln, name, lm);
    memcpy(buf + ln + lm, uid, lu);
    p->ns = buf;
    p->name = buf + ln;
    p->uid = buf + ln + lm;
    p->node = -1;
    p->hidx = -1;
    p->seq = ++s->seq;
    int64_t created = sched_parse_time(cJSON_GetStringValue(at(meta, "creationTimestamp")));
    p->created = created < 0 ? 0 : created;
    if (berth_hmap_put(&s->pods, key, p, NULL) < 0) {
        free(buf);
        free(p);
        return BERTH_ENOMEM;
    }
    *out = p;
    return 0;
}

static int bound_upsert(berth_sched *s, pod *p, shape *sh, const char *node_name)
{
    uintptr_t found = (uintptr_t)berth_hmap_get(&s->node_by_name, node_name);
    int32_t slot = found ? (int32_t)(found - 1) : -1;
    uint32_t id;
    if (intern_add(&s->strs, node_name, &id) < 0)
        return BERTH_ENOMEM;
    queue_remove(s, p);
    cJSON_Delete(p->obj);
    p->obj = NULL;
    if (p->node != slot || p->shape != sh) {
        if (p->node >= 0)
            sched_unplace(s, p);
        shape_put(s, p->shape);
        p->shape = sh;
        if (slot >= 0)
            sched_place(s, p, (uint32_t)slot);
    } else {
        shape_put(s, sh);
    }
    p->bound_name = id;
    set_state(s, p, P_BOUND);
    return 0;
}

int berth_sched_pod_upsert(berth_sched *s, const cJSON *obj)
{
    const cJSON *meta = at(obj, "metadata"), *spec = at(obj, "spec");
    const char *name = cJSON_GetStringValue(at(meta, "name"));
    const char *ns = cJSON_GetStringValue(at(meta, "namespace"));
    char key[512];
    if (!name || !*name || pod_key(ns ? ns : "default", name, key, sizeof key) < 0)
        return BERTH_EINVAL;
    pod *p = berth_hmap_get(&s->pods, key);
    const char *phase = cJSON_GetStringValue(at(at(obj, "status"), "phase"));
    const char *node_name = cJSON_GetStringValue(at(spec, "nodeName"));
    const char *sched_name = cJSON_GetStringValue(at(spec, "schedulerName"));
    bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
    /* The API server defaults an unset schedulerName to default-scheduler. */
    if (!sched_name || !*sched_name)
        sched_name = "default-scheduler";
    bool ours = !strcmp(sched_name, s->cfg.scheduler_name);
    if (terminal || (!(node_name && *node_name) && !ours)) {
        if (p)
            pod_drop(s, berth_hmap_del(&s->pods, key));
        return 0;
    }
    if (p && p->state == P_ASSUMED && !(node_name && *node_name))
        return 0; /* the binding is in flight; the assumption stands */
    shape *sh;
    int rc = shape_get(s, obj, false, &sh);
    if (rc < 0)
        return rc;
    bool created = false;
    if (!p) {
        if ((rc = pod_new(s, obj, key, &p)) < 0) {
            shape_put(s, sh);
            return rc;
        }
        created = true;
    }
    if (node_name && *node_name)
        return bound_upsert(s, p, sh, node_name);
    cJSON *dup = NULL;
    if (s->nplugins && !(dup = cJSON_Duplicate(obj, 1))) {
        shape_put(s, sh);
        if (created)
            pod_drop(s, berth_hmap_del(&s->pods, key));
        return BERTH_ENOMEM;
    }
    cJSON_Delete(p->obj);
    p->obj = dup;
    if (p->node >= 0)
        sched_unplace(s, p);
    bool changed = p->shape != sh;
    shape_put(s, p->shape);
    p->shape = sh;
    set_state(s, p, P_PENDING);
    if (created || p->q == Q_NONE || (changed && p->q == Q_UNSCHED))
        queue_push_active(s, p);
    return 0;
}

void pods_adopt(berth_sched *s, uint32_t slot)
{
    const berth_hmap_slot *e;
    for (size_t it = 0; (it = berth_hmap_next(&s->pods, it, &e)) != 0;) {
        pod *p = e->value;
        if (p->state == P_BOUND && p->node < 0 && p->bound_name == s->name_id[slot])
            sched_place(s, p, slot);
    }
}

void pods_free(berth_sched *s)
{
    const berth_hmap_slot *e;
    for (size_t it = 0; (it = berth_hmap_next(&s->pods, it, &e)) != 0;)
        pod_free(s, e->value);
    berth_hmap_free(&s->pods);
    for (size_t it = 0; (it = berth_hmap_next(&s->ns_labels, it, &e)) != 0;)
        cJSON_Delete(e->value);
    berth_hmap_free(&s->ns_labels);
}

int berth_sched_namespace_upsert(berth_sched *s, const cJSON *nsobj)
{
    const cJSON *meta = at(nsobj, "metadata");
    const char *name = cJSON_GetStringValue(at(meta, "name"));
    if (!name || !*name)
        return BERTH_EINVAL;
    const cJSON *labels = at(meta, "labels");
    cJSON *copy = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
    void *old = NULL;
    if (!copy || berth_hmap_put(&s->ns_labels, name, copy, &old) < 0) {
        cJSON_Delete(copy);
        return BERTH_ENOMEM;
    }
    cJSON_Delete(old);
    /* Namespace labels decide which pods namespaceSelector terms count. */
    terms_rebuild(s);
    return 0;
}

int berth_sched_namespace_delete(berth_sched *s, const char *name)
{
    cJSON *old = name ? berth_hmap_del(&s->ns_labels, name) : NULL;
    if (!old)
        return BERTH_ENOTFOUND;
    cJSON_Delete(old);
    terms_rebuild(s);
    return 0;
}
