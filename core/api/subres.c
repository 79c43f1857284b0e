/* Subresources with their own shapes: autoscaling/v1 Scale for the kinds
 * with replicas, and pods/binding, the scheduler's way to place a Pod. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api-int.h"

cJSON *api_scale_from(const berth_kind *k, const cJSON *obj)
{
    cJSON *s = cJSON_CreateObject();
    if (!s)
        return NULL;
    cJSON_AddStringToObject(s, "kind", "Scale");
    cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v1");
    cJSON *md = cJSON_AddObjectToObject(s, "metadata");
    static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "metadata"), keep[i]);
        if (v)
            cJSON_AddItemToObject(md, keep[i], cJSON_Duplicate(v, 1));
    }
    const cJSON *rep = berth_obj_at(obj, "spec.replicas");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(s, "spec"), "replicas",
                            cJSON_IsNumber(rep) ? rep->valuedouble : 1);
    cJSON *st = cJSON_AddObjectToObject(s, "status");
    const cJSON *srep = berth_obj_at(obj, "status.replicas");
    cJSON_AddNumberToObject(st, "replicas", cJSON_IsNumber(srep) ? srep->valuedouble : 0);
    berth_selector *sel = NULL;
    char err[128], text[1024];
    const cJSON *sj = berth_obj_at(obj, "spec.selector");
    if (sj && berth_selector_from_json(sj, "spec.selector", &sel, err, sizeof err) == 0) {
        berth_selector_format(sel, text, sizeof text);
        cJSON_AddStringToObject(st, "selector", text);
    }
    berth_selector_free(sel);
    (void)k;
    return s;
}

/* PUT and PATCH of .../scale: the client's Scale decides spec.replicas and
 * nothing else. */
int api_scale_mutate(api_req *r, cJSON *cur, cJSON **out, bool *del)
{
    cJSON *scale = NULL;
    int rc = 0;
    if (r->method == EVHTTP_REQ_PATCH) {
        cJSON *cs = api_scale_from(r->rt.kind, cur);
        if (!cs)
            return BERTH_ENOMEM;
        struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
        rc = api_patch_apply(r,
                             evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                                "Content-Type"),
                             (const char *)evbuffer_pullup(in, -1),
                             evbuffer_get_length(in), cs, &scale);
        cJSON_Delete(cs);
    } else {
        scale = cJSON_Duplicate(r->body, 1);
        rc = scale ? api_check_kind(r, scale, "autoscaling/v1", "Scale") : BERTH_ENOMEM;
    }
    if (rc) {
        cJSON_Delete(scale);
        return rc;
    }
    const char *rv = berth_obj_str(scale, "metadata.resourceVersion");
    if (rv && *rv) {
        if (berth_obj_rv(scale) != berth_obj_rv(cur)) {
            cJSON_Delete(scale);
            return BERTH_ECONFLICT;
        }
    }
    const cJSON *rep = berth_obj_at(scale, "spec.replicas");
    if (!cJSON_IsNumber(rep) || rep->valuedouble < 0 ||
        rep->valuedouble != (double)(int)rep->valuedouble) {
        berth_errlist_add(&r->errs, BERTH_FIELD_INVALID, "spec.replicas", rep,
                          "must be greater than or equal to 0");
        cJSON_Delete(scale);
        snprintf(r->msg, sizeof r->msg, "Scale.autoscaling \"%s\" is invalid: %s",
                 r->rt.name, r->errs.v[0].message);
        return BERTH_EINVAL;
    }
    double n = rep->valuedouble;
    cJSON_Delete(scale);
    cJSON *obj = cJSON_Duplicate(cur, 1);
    if (!obj)
        return BERTH_ENOMEM;
    cJSON *spec = berth_obj_ensure(obj, "spec");
    api_set_item(spec, "replicas", cJSON_CreateNumber(n));
    *out = obj;
    return api_prepare_update(r, cur, out, false, del);
}

static int binding_mutate(api_req *r, cJSON *cur, cJSON **out, bool *del)
{
    const char *node = berth_obj_str(r->body, "target.name");
    const char *now = berth_obj_str(cur, "spec.nodeName");
    if (now && *now) {
        snprintf(r->msg, sizeof r->msg, "Operation cannot be fulfilled on pods/binding "
                 "\"%s\": pod %s is already assigned to node \"%s\"", r->rt.name,
                 r->rt.name, now);
        return BERTH_ECONFLICT;
    }
    if (berth_obj_str(cur, "metadata.deletionTimestamp")) {
        snprintf(r->msg, sizeof r->msg, "Operation cannot be fulfilled on pods/binding "
                 "\"%s\": pod %s is being deleted, cannot be assigned to a host",
                 r->rt.name, r->rt.name);
        return BERTH_ECONFLICT;
    }
    const char *uid = berth_obj_str(r->body, "metadata.uid");
    if (uid && *uid && berth_obj_uid(cur) && strcmp(uid, berth_obj_uid(cur)) != 0) {
        snprintf(r->msg, sizeof r->msg, "Precondition failed: UID in precondition: %s, "
                 "UID in object meta: %s", uid, berth_obj_uid(cur));
        return BERTH_ECONFLICT;
    }
    cJSON *obj = cJSON_Duplicate(cur, 1);
    if (!obj)
        return BERTH_ENOMEM;
    *out = obj;
    berth_obj_set_str(obj, "spec.nodeName", node);
    /* The PodScheduled condition, as the Kubernetes binding sets it. */
    cJSON *st = berth_obj_ensure(obj, "status");
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
    if (!cJSON_IsArray(conds)) {
        conds = cJSON_CreateArray();
        api_set_item(st, "conditions", conds);
    }
    cJSON *c = NULL, *it;
    cJSON_ArrayForEach(it, conds)
    {
        const char *t = berth_obj_str(it, "type");
        if (t && !strcmp(t, "PodScheduled"))
            c = it;
    }
    if (!c) {
        c = cJSON_CreateObject();
        cJSON_AddItemToArray(conds, c);
        cJSON_AddStringToObject(c, "type", "PodScheduled");
    }
    char ts[32];
    api_time_format((int64_t)time(NULL), ts, sizeof ts);
    berth_obj_set_str(c, "status", "True");
    berth_obj_set_str(c, "lastTransitionTime", ts);
    /* The condition is replaced, not amended: an earlier Unschedulable
     * reason and message no longer apply. */
    cJSON_DeleteItemFromObjectCaseSensitive(c, "reason");
    cJSON_DeleteItemFromObjectCaseSensitive(c, "message");
    (void)del;
    return 0;
}

void api_serve_binding(api_req *r)
{
    if (api_decode_body(r))
        return;
    const char *node = berth_obj_str(r->body, "target.name");
    if (!node || !*node) {
        berth_errlist_add(&r->errs, BERTH_FIELD_REQUIRED, "target.name", NULL, NULL);
        snprintf(r->msg, sizeof r->msg, "Binding \"%s\" is invalid: %s", r->rt.name,
                 r->errs.v[0].message);
        return api_reply_error(r, BERTH_EINVAL, NULL);
    }
    const char *bname = berth_obj_name(r->body);
    if (bname && *bname && strcmp(bname, r->rt.name) != 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "the name of the binding (%s) does not "
                               "match the pod (%s)", bname, r->rt.name);
    r->binding = true;
    r->mutate = binding_mutate;
    api_rmw_start(r);
}
