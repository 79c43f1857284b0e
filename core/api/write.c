/* Changing objects: PUT, PATCH and DELETE, all as one read-modify-write
 * cycle over the store's compare-and-swap, retried on a conflict. Each retry
 * runs the mutation again on the state that won, so a client's
 * preconditions (a resourceVersion, a UID) are checked against it afresh:
 * a pinned resourceVersion then fails with 409, and a patch that pinned
 * nothing applies on top, as Kubernetes' GuaranteedUpdate does. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-int.h"

/* Each retry reads the state that beat it, which the store answers only
 * once durable, so retries cannot spin. */
#define MAX_ATTEMPTS 64

void api_set_item(cJSON *obj, const char *name, cJSON *item)
{
    if (!item) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item);
    else
        cJSON_AddItemToObject(obj, name, item);
}

static cJSON *dup_at(const cJSON *obj, const char *path)
{
    const cJSON *it = berth_obj_at(obj, path);
    return it ? cJSON_Duplicate(it, 1) : NULL;
}

/* Whether a finalizer still holds obj: metadata.finalizers, or a
 * Namespace's spec.finalizers. */
static bool held(const cJSON *obj)
{
    return cJSON_GetArraySize(berth_obj_at(obj, "metadata.finalizers")) > 0 ||
           cJSON_GetArraySize(berth_obj_at(obj, "spec.finalizers")) > 0;
}

int api_prepare_update(api_req *r, cJSON *cur, cJSON **objp, bool status_only,
                       bool *del)
{
    const berth_kind *k = r->rt.kind;
    cJSON *obj = *objp;
    if (!strcmp(r->rt.sub, "finalize")) {
        /* /finalize takes nothing but spec.finalizers from the client. */
        cJSON *spec_in = cJSON_GetObjectItemCaseSensitive(obj, "spec");
        cJSON *fin = spec_in ? cJSON_DetachItemFromObjectCaseSensitive(spec_in, "finalizers")
                             : NULL;
        cJSON_Delete(obj);
        obj = *objp = cJSON_Duplicate(cur, 1);
        if (!obj) {
            cJSON_Delete(fin);
            return BERTH_ENOMEM;
        }
        cJSON *spec = berth_obj_ensure(obj, "spec");
        if (cJSON_IsArray(fin)) {
            api_set_item(spec, "finalizers", fin);
        } else {
            cJSON_Delete(fin);
            cJSON_DeleteItemFromObjectCaseSensitive(spec, "finalizers");
        }
    } else if (status_only) {
        /* /status takes nothing but status from the client. */
        cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
        cJSON_Delete(obj);
        obj = *objp = cJSON_Duplicate(cur, 1);
        if (!obj) {
            cJSON_Delete(st);
            return BERTH_ENOMEM;
        }
        api_set_item(obj, "status", st);
    } else if (k->subresources & BERTH_SUB_STATUS) {
        api_set_item(obj, "status", dup_at(cur, "status"));
    }
    cJSON *md = berth_obj_ensure(obj, "metadata");
    const char *uid = berth_obj_str(obj, "metadata.uid");
    const char *cuid = berth_obj_uid(cur);
    if (uid && *uid && cuid && strcmp(uid, cuid) != 0) {
        snprintf(r->msg, sizeof r->msg,
                 "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                 uid, cuid);
        return BERTH_ECONFLICT;
    }
    static const char *const owned[] = {"name", "namespace", "uid", "creationTimestamp",
                                        "deletionTimestamp", "deletionGracePeriodSeconds",
                                        "resourceVersion"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "metadata.%s", owned[i]);
        api_set_item(md, owned[i], dup_at(cur, path));
    }
    if (berth_default(k, obj) != 0)
        return BERTH_ENOMEM;
    const cJSON *g = berth_obj_at(cur, "metadata.generation");
    double gen = cJSON_IsNumber(g) ? g->valuedouble : 1;
    if (!status_only && berth_spec_changed(cur, obj))
        gen += 1;
    api_set_item(md, "generation", cJSON_CreateNumber(gen));
    if (berth_validate(k, obj, cur, &r->errs) != 0)
        return BERTH_EINVAL;
    int rc = api_svc_hold(r, obj, cur);
    if (rc)
        return rc;
    if (berth_obj_str(obj, "metadata.deletionTimestamp") && !held(obj)) {
        *del = true;
        return 0;
    }
    if (cJSON_Compare(obj, cur, true)) {
        cJSON_Delete(obj);
        *objp = NULL;
    }
    return 0;
}

/* ---- The cycle. ---- */

static void rmw_fetch(api_req *r);

static void reply_binding(api_req *r)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                           "\"status\":\"Success\",\"code\":201}");
    api_reply(r, 201, b, NULL);
}

static void rmw_written(void *arg, const berth_store_result *res)
{
    api_req *r = arg;
    if (res->err == BERTH_ECONFLICT && ++r->attempts < MAX_ATTEMPTS)
        return rmw_fetch(r);
    if (res->err)
        return api_reply_error(r, res->err, NULL);
    api_svc_settle(r, true);
    if (r->binding)
        return reply_binding(r);
    api_reply_stored(r, 200, res->kv.val, res->kv.mod_rev ? res->kv.mod_rev : res->rev);
}

static void rmw_got(void *arg, const berth_store_result *res)
{
    api_req *r = arg;
    if (res->err)
        return api_reply_error(r, res->err, NULL);
    int64_t rev = res->kv.mod_rev;
    cJSON *cur = api_obj_decode(res->kv.val, rev);
    if (!cur)
        return api_reply_error(r, BERTH_ECORRUPT, "the stored object is corrupt");
    cJSON *out = NULL;
    bool del = false;
    berth_errlist_free(&r->errs);
    int rc = r->mutate(r, cur, &out, &del);
    if (!rc && del) /* a deleted Service frees its addresses once gone */
        rc = api_svc_hold(r, NULL, cur);
    cJSON_Delete(cur);
    if (rc) {
        cJSON_Delete(out);
        if (rc == BERTH_EINVAL && r->errs.n)
            return api_reply_invalid(r, r->rt.name);
        return api_reply_error(r, rc, NULL);
    }
    if (del) {
        cJSON_Delete(out);
        rc = berth_store_delete(r->api->store, r->key, rev, rmw_written, r);
        if (rc)
            api_reply_error(r, rc, NULL);
        return;
    }
    if (!out) {
        if (r->binding)
            return reply_binding(r);
        return api_reply_stored(r, 200, res->kv.val, rev);
    }
    berth_val *v = NULL;
    rc = api_obj_encode(out, &v);
    cJSON_Delete(out);
    if (rc)
        return api_reply_error(r, rc, NULL);
    rc = berth_store_update(r->api->store, r->key, v, rev, rmw_written, r);
    berth_val_unref(v);
    if (rc)
        api_reply_error(r, rc, NULL);
}

static void rmw_fetch(api_req *r)
{
    api_svc_settle(r, false); /* a retry assigns afresh */
    int rc = berth_store_get(r->api->store, r->key, rmw_got, r);
    if (rc)
        api_reply_error(r, rc, NULL);
}

void api_rmw_start(api_req *r)
{
    if (berth_obj_key(r->rt.kind, r->rt.ns, r->rt.name, r->key, sizeof r->key) < 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "the object name is too long");
    api_req_hold(r);
    rmw_fetch(r);
}

/* ---- PUT ---- */

/* A resourceVersion in obj pins it to cur's. A patch inherits cur's own,
 * which pins nothing: the retry re-applies it to the state that won. */
static int check_rv(api_req *r, const cJSON *obj, const cJSON *cur)
{
    const char *rv = berth_obj_str(obj, "metadata.resourceVersion");
    if (!rv || !*rv)
        return 0;
    int64_t want = berth_obj_rv(obj);
    if (want <= 0) {
        snprintf(r->msg, sizeof r->msg, "invalid resourceVersion \"%s\"", rv);
        return BERTH_EBADREQUEST;
    }
    return want == berth_obj_rv(cur) ? 0 : BERTH_ECONFLICT;
}

static int check_name(api_req *r, cJSON *obj)
{
    const char *name = berth_obj_name(obj);
    if (name && *name && strcmp(name, r->rt.name) != 0) {
        snprintf(r->msg, sizeof r->msg,
                 "the name of the object (%s) does not match the name on the URL (%s)", name,
                 r->rt.name);
        return BERTH_EBADREQUEST;
    }
    const char *ns = berth_obj_namespace(obj);
    if (r->rt.kind->namespaced && ns && *ns && strcmp(ns, r->rt.ns) != 0) {
        snprintf(r->msg, sizeof r->msg,
                 "the namespace of the provided object does not match the namespace sent "
                 "on the request");
        return BERTH_EBADREQUEST;
    }
    return 0;
}

static int update_mutate(api_req *r, cJSON *cur, cJSON **out, bool *del)
{
    const berth_kind *k = r->rt.kind;
    cJSON *obj = cJSON_Duplicate(r->body, 1);
    if (!obj)
        return BERTH_ENOMEM;
    *out = obj;
    int rc = api_check_kind(r, obj, k->api_version, k->kind);
    if (!rc)
        rc = check_name(r, obj);
    if (!rc)
        rc = check_rv(r, obj, cur);
    if (rc)
        return rc;
    return api_prepare_update(r, cur, out, !strcmp(r->rt.sub, "status"), del);
}

void api_serve_update(api_req *r)
{
    if (api_decode_body(r))
        return;
    r->mutate = r->scale_reply ? api_scale_mutate : update_mutate;
    api_rmw_start(r);
}

/* ---- PATCH ---- */

static int patch_mutate(api_req *r, cJSON *cur, cJSON **out, bool *del)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    const char *text = (const char *)evbuffer_pullup(in, -1);
    const char *ctype =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    int rc = api_patch_apply(r, ctype, text, len, cur, out);
    if (rc)
        return rc;
    rc = check_name(r, *out);
    if (!rc)
        rc = check_rv(r, *out, cur);
    if (rc)
        return rc;
    return api_prepare_update(r, cur, out, !strcmp(r->rt.sub, "status"), del);
}

void api_serve_patch(api_req *r)
{
    if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) == 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "the patch is empty");
    r->mutate = r->scale_reply ? api_scale_mutate : patch_mutate;
    api_rmw_start(r);
}

/* ---- DELETE ---- */

static bool has_str(const cJSON *arr, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
            return true;
    }
    return false;
}

/* A pod deleted without a grace period gets its own: its
 * terminationGracePeriodSeconds (30 by default), at least 1 so that its
 * node still stops it, as Kubernetes does. */
static int64_t pod_grace(const cJSON *pod)
{
    const cJSON *g = berth_obj_at(pod, "spec.terminationGracePeriodSeconds");
    if (!cJSON_IsNumber(g) || g->valuedouble < 0)
        return 30;
    return g->valuedouble < 1 ? 1 : (int64_t)g->valuedouble;
}

static int delete_mutate(api_req *r, cJSON *cur, cJSON **out, bool *del)
{
    const char *uid = berth_obj_uid(cur);
    if (r->pre_uid[0] && (!uid || strcmp(uid, r->pre_uid) != 0)) {
        snprintf(r->msg, sizeof r->msg,
                 "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                 r->pre_uid, uid ? uid : "");
        return BERTH_ECONFLICT;
    }
    if (r->pre_rv && r->pre_rv != berth_obj_rv(cur)) {
        snprintf(r->msg, sizeof r->msg,
                 "Precondition failed: ResourceVersion in precondition: %" PRId64
                 ", ResourceVersion in object meta: %" PRId64,
                 r->pre_rv, berth_obj_rv(cur));
        return BERTH_ECONFLICT;
    }
    const cJSON *fin = berth_obj_at(cur, "metadata.finalizers");
    if (berth_obj_str(cur, "metadata.deletionTimestamp")) {
        /* Already being deleted: answer with the object, unless this is
         * the node's final delete with grace 0 once the containers are
         * gone, which removes it when no finalizer holds it. */
        if (r->grace == 0 && !held(cur))
            *del = true;
        return 0;
    }
    const char *extra = NULL;
    if (!strcmp(r->propagation, "Foreground"))
        extra = "foregroundDeletion";
    else if (!strcmp(r->propagation, "Orphan"))
        extra = "orphan";
    /* A Pod on a node is removed by that node once its containers stop. */
    bool graceful = !strcmp(r->rt.kind->kind, "Pod") &&
                    berth_obj_str(cur, "spec.nodeName") &&
                    *berth_obj_str(cur, "spec.nodeName") && r->grace != 0;
    if (!held(cur) && !extra && !graceful) {
        *del = true;
        return 0;
    }
    cJSON *obj = cJSON_Duplicate(cur, 1);
    if (!obj)
        return BERTH_ENOMEM;
    *out = obj;
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (extra && !has_str(fin, extra)) {
        cJSON *f = cJSON_GetObjectItemCaseSensitive(md, "finalizers");
        if (!cJSON_IsArray(f)) {
            f = cJSON_CreateArray();
            api_set_item(md, "finalizers", f);
        }
        cJSON_AddItemToArray(f, cJSON_CreateString(extra));
    }
    int64_t grace = r->grace < 0 ? (graceful ? pod_grace(cur) : 0) : r->grace;
    char ts[32];
    api_time_format((int64_t)time(NULL) + grace, ts, sizeof ts);
    api_set_item(md, "deletionTimestamp", cJSON_CreateString(ts));
    api_set_item(md, "deletionGracePeriodSeconds", cJSON_CreateNumber((double)grace));
    if (!strcmp(r->rt.kind->kind, "Namespace"))
        berth_obj_set_str(obj, "status.phase", "Terminating");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(md, "generation");
    api_set_item(md, "generation", cJSON_CreateNumber(cJSON_IsNumber(g) ? g->valuedouble + 1 : 1));
    return 0;
}

static int parse_delete_options(api_req *r)
{
    r->grace = -1;
    const char *q = api_query(r, "gracePeriodSeconds");
    if (q && *q)
        r->grace = strtoll(q, NULL, 10);
    q = api_query(r, "propagationPolicy");
    if (q)
        snprintf(r->propagation, sizeof r->propagation, "%s", q);
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    if (evbuffer_get_length(in) == 0)
        return 0;
    if (api_decode_body(r))
        return -1;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(r->body, "gracePeriodSeconds");
    if (cJSON_IsNumber(g))
        r->grace = (int64_t)g->valuedouble;
    const char *p = berth_obj_str(r->body, "propagationPolicy");
    if (p)
        snprintf(r->propagation, sizeof r->propagation, "%s", p);
    const cJSON *orphan = cJSON_GetObjectItemCaseSensitive(r->body, "orphanDependents");
    if (cJSON_IsTrue(orphan) && !p)
        snprintf(r->propagation, sizeof r->propagation, "Orphan");
    const char *uid = berth_obj_str(r->body, "preconditions.uid");
    if (uid)
        snprintf(r->pre_uid, sizeof r->pre_uid, "%s", uid);
    const char *rv = berth_obj_str(r->body, "preconditions.resourceVersion");
    if (rv)
        r->pre_rv = strtoll(rv, NULL, 10);
    if (r->propagation[0] && strcmp(r->propagation, "Background") &&
        strcmp(r->propagation, "Foreground") && strcmp(r->propagation, "Orphan")) {
        api_reply_error(r, BERTH_EBADREQUEST,
                        "propagationPolicy must be Background, Foreground or Orphan, not "
                        "\"%s\"", r->propagation);
        return -1;
    }
    /* The object named in the Status details is the URL's, not the body's. */
    cJSON_Delete(r->body);
    r->body = NULL;
    return 0;
}

void api_serve_delete(api_req *r)
{
    if (parse_delete_options(r))
        return;
    r->mutate = delete_mutate;
    api_rmw_start(r);
}
