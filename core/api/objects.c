/* Reading objects (GET, LIST) and creating them (POST). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-int.h"

static bool is_yaml(const char *ctype)
{
    return ctype && (!strncmp(ctype, "application/yaml", 16) ||
                     !strncmp(ctype, "application/x-yaml", 18) ||
                     !strncmp(ctype, "text/yaml", 9));
}

int api_decode_body(api_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    const char *ctype =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    if (len == 0) {
        api_reply_error(r, BERTH_EBADREQUEST, "the request body is empty");
        return -1;
    }
    const char *text = (const char *)evbuffer_pullup(in, -1);
    cJSON *obj = NULL;
    if (ctype && !is_yaml(ctype) && strncmp(ctype, "application/json", 16) != 0) {
        /* Protobuf, which kubectl's typed clients send for built-in kinds,
         * is not served: JSON and YAML are. */
        api_reply_error(r, BERTH_ENOTSUP,
                        "the body of the request was in an unknown format - accepted "
                        "media types include: application/json, application/yaml");
        return -1;
    }
    if (is_yaml(ctype)) {
        berth_parse_error pe = {0};
        cJSON *docs = NULL;
        if (berth_manifest_parse(text, len, &docs, &pe) != 0) {
            api_reply_error(r, BERTH_EBADREQUEST, "error parsing YAML at line %d, column %d: %s",
                            pe.line, pe.column, pe.message);
            return -1;
        }
        if (cJSON_GetArraySize(docs) != 1) {
            cJSON_Delete(docs);
            api_reply_error(r, BERTH_EBADREQUEST, "the request body must hold exactly one "
                                                  "object");
            return -1;
        }
        obj = cJSON_DetachItemFromArray(docs, 0);
        cJSON_Delete(docs);
    } else {
        const char *end = NULL;
        obj = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (!obj) {
            size_t off = end && end >= text ? (size_t)(end - text) : 0;
            api_reply_error(r, BERTH_EBADREQUEST,
                            "error decoding the request body: invalid JSON at offset %zu",
                            off);
            return -1;
        }
    }
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        api_reply_error(r, BERTH_EBADREQUEST, "the request body is not a JSON object");
        return -1;
    }
    r->body = obj;
    return 0;
}

static int key_of(api_req *r, const char *ns, const char *name)
{
    int n = berth_obj_key(r->rt.kind, ns, name, r->key, sizeof r->key);
    return n < 0 ? n : 0;
}

/* ---- GET ---- */

static void reply_scale(api_req *r, int code, const berth_val *v, int64_t rv)
{
    cJSON *obj = api_obj_decode(v, rv);
    cJSON *scale = obj ? api_scale_from(r->rt.kind, obj) : NULL;
    char *text = scale ? cJSON_PrintUnformatted(scale) : NULL;
    cJSON_Delete(obj);
    cJSON_Delete(scale);
    if (!text)
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, text, strlen(text));
    cJSON_free(text);
    api_reply(r, code, b, NULL);
}

void api_reply_stored(api_req *r, int code, const berth_val *v, int64_t rv)
{
    if (r->scale_reply)
        return reply_scale(r, code, v, rv);
    struct evbuffer *b = evbuffer_new();
    if (r->table && code == 200 && r->method == EVHTTP_REQ_GET) {
        cJSON *obj = api_obj_decode(v, rv);
        api_table_begin(b, r->rt.kind, rv, NULL, true);
        if (obj)
            api_table_row(b, r->rt.kind, obj, true, (int64_t)time(NULL));
        api_table_end(b);
        cJSON_Delete(obj);
    } else {
        api_obj_write(b, v, rv);
    }
    api_reply(r, code, b, NULL);
}

static void get_done(void *arg, const berth_store_result *res)
{
    api_req *r = arg;
    if (res->err)
        return api_reply_error(r, res->err, NULL);
    api_reply_stored(r, 200, res->kv.val, res->kv.mod_rev);
}

void api_serve_object(api_req *r)
{
    int rc = key_of(r, r->rt.ns, r->rt.name);
    if (rc)
        return api_reply_error(r, BERTH_EBADREQUEST, "the object name is too long");
    api_req_hold(r);
    rc = berth_store_get(r->api->store, r->key, get_done, r);
    if (rc)
        api_reply_error(r, rc, NULL);
}

/* ---- LIST ---- */

typedef struct list_ctx {
    api_req *r;
    api_filter f;
} list_ctx;

static void list_done(void *arg, const berth_store_page *p)
{
    list_ctx *lc = arg;
    api_req *r = lc->r;
    const berth_kind *k = r->rt.kind;
    if (p->err) {
        api_filter_free(&lc->f);
        free(lc);
        if (p->err == BERTH_EEXPIRED)
            return api_reply_error(r, BERTH_EEXPIRED,
                                   "The provided continue parameter is too old to display a "
                                   "consistent list result. You can start a new list without "
                                   "the continue parameter.");
        return api_reply_error(r, p->err, NULL);
    }
    char cont[1024] = "";
    if (p->next_key && api_continue_encode(p->rev, p->next_key, cont, sizeof cont) != 0)
        cont[0] = 0;
    struct evbuffer *b = evbuffer_new();
    int64_t now = (int64_t)time(NULL);
    if (r->table) {
        api_table_begin(b, k, p->rev, cont[0] ? cont : NULL, true);
    } else {
        evbuffer_add_printf(b, "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{"
                               "\"resourceVersion\":\"%" PRId64 "\"",
                            k->kind, k->api_version, p->rev);
        if (cont[0])
            evbuffer_add_printf(b, ",\"continue\":\"%s\"", cont);
        evbuffer_add_printf(b, "},\"items\":[");
    }
    bool first = true;
    for (size_t i = 0; i < p->n; i++) {
        const berth_kv *kv = &p->items[i];
        cJSON *obj = NULL;
        if (lc->f.any || r->table) {
            obj = api_obj_decode(kv->val, kv->mod_rev);
            if (!obj || !api_filter_match(&lc->f, obj)) {
                cJSON_Delete(obj);
                continue;
            }
        }
        if (r->table) {
            api_table_row(b, k, obj, first, now);
        } else {
            if (!first)
                evbuffer_add(b, ",", 1);
            api_obj_write(b, kv->val, kv->mod_rev);
        }
        first = false;
        cJSON_Delete(obj);
    }
    if (r->table)
        api_table_end(b);
    else
        evbuffer_add(b, "]}", 2);
    api_filter_free(&lc->f);
    free(lc);
    api_reply(r, 200, b, NULL);
}

void api_serve_list(api_req *r)
{
    char prefix[300], start[512];
    int64_t rev = 0;
    size_t limit = 0;
    const char *ls = api_query(r, "limit");
    if (ls && *ls) {
        char *end;
        long long v = strtoll(ls, &end, 10);
        if (*end || v < 0)
            return api_reply_error(r, BERTH_EBADREQUEST, "limit must be a non-negative "
                                                         "integer, not \"%s\"", ls);
        limit = (size_t)v;
    }
    if (berth_obj_prefix(r->rt.kind, r->rt.ns, prefix, sizeof prefix) < 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "the namespace is too long");
    const char *cont = api_query(r, "continue");
    bool paged = cont && *cont;
    if (paged) {
        if (api_continue_decode(cont, &rev, start, sizeof start) != 0 ||
            strncmp(start, prefix, strlen(prefix)) != 0)
            return api_reply_error(r, BERTH_EBADREQUEST, "invalid continue token");
        if (rev < r->api->store->ops->oldest_revision(r->api->store))
            return api_reply_error(r, BERTH_EEXPIRED,
                                   "The provided continue parameter is too old to display "
                                   "a consistent list result. You can start a new list "
                                   "without the continue parameter.");
    }
    list_ctx *lc = calloc(1, sizeof *lc);
    if (!lc)
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    lc->r = r;
    if (api_filter_parse(r, &lc->f) != 0) {
        free(lc);
        return;
    }
    api_req_hold(r);
    int rc = berth_store_list(r->api->store, prefix, paged ? start : NULL, rev, limit,
                              list_done, lc);
    if (rc) {
        api_filter_free(&lc->f);
        free(lc);
        api_reply_error(r, rc, NULL);
    }
}

/* ---- POST ---- */

static void set_int(cJSON *obj, const char *name, double v)
{
    cJSON *n = cJSON_CreateNumber(v);
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, n);
    else
        cJSON_AddItemToObject(obj, name, n);
}

/* Checks apiVersion/kind against the route, filling them in when absent. */
int api_check_kind(api_req *r, cJSON *obj, const char *want_av, const char *want_kind)
{
    const char *av = berth_obj_str(obj, "apiVersion");
    const char *kind = berth_obj_str(obj, "kind");
    if ((av && *av && strcmp(av, want_av) != 0) || (kind && *kind && strcmp(kind, want_kind))) {
        snprintf(r->msg, sizeof r->msg,
                 "the API version in the data (%s) and kind (%s) do not match the "
                 "requested %s %s", av ? av : "", kind ? kind : "", want_av, want_kind);
        return BERTH_EBADREQUEST;
    }
    if (!av || !*av)
        berth_obj_set_str(obj, "apiVersion", want_av);
    if (!kind || !*kind)
        berth_obj_set_str(obj, "kind", want_kind);
    return 0;
}

/* Builds "Kind.group \"name\" is invalid: ..." from r->errs. */
void api_reply_invalid(api_req *r, const char *name)
{
    const berth_kind *k = r->rt.kind;
    struct evbuffer *m = evbuffer_new();
    evbuffer_add_printf(m, "%s%s%s \"%s\" is invalid: ", k->kind, k->group[0] ? "." : "",
                        k->group, name ? name : "");
    if (r->errs.n > 1)
        evbuffer_add(m, "[", 1);
    for (size_t i = 0; i < r->errs.n; i++)
        evbuffer_add_printf(m, "%s%s", i ? ", " : "", r->errs.v[i].message);
    if (r->errs.n > 1)
        evbuffer_add(m, "]", 1);
    size_t len = evbuffer_get_length(m);
    if (len >= sizeof r->msg)
        len = sizeof r->msg - 1;
    evbuffer_remove(m, r->msg, len);
    r->msg[len] = 0;
    evbuffer_free(m);
    api_reply_error(r, BERTH_EINVAL, NULL);
}

static void gen_name(api_req *r, cJSON *md)
{
    static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char rnd[5];
    char name[254];
    api_random(rnd, sizeof rnd);
    size_t bl = strlen(r->gen_base);
    if (bl > 253 - 5)
        bl = 253 - 5;
    memcpy(name, r->gen_base, bl);
    for (int i = 0; i < 5; i++)
        name[bl + (size_t)i] = al[rnd[i] % (sizeof al - 1)];
    name[bl + 5] = 0;
    berth_obj_set_str(md, "name", name);
}

static void create_write(api_req *r);

static void create_done(void *arg, const berth_store_result *res)
{
    api_req *r = arg;
    if (res->err == BERTH_EEXISTS && r->gen_base[0] && ++r->attempts < 8) {
        gen_name(r, cJSON_GetObjectItemCaseSensitive(r->body, "metadata"));
        return create_write(r);
    }
    if (res->err)
        return api_reply_error(r, res->err, NULL);
    api_svc_settle(r, true);
    api_reply_stored(r, 201, res->kv.val, res->kv.mod_rev);
}

static void create_write(api_req *r)
{
    const char *name = berth_obj_name(r->body);
    const char *ns = berth_obj_namespace(r->body);
    if (key_of(r, ns, name) != 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "the object name is too long");
    berth_val *v = NULL;
    int rc = api_obj_encode(r->body, &v);
    if (rc)
        return api_reply_error(r, rc, NULL);
    rc = berth_store_create(r->api->store, r->key, v, create_done, r);
    berth_val_unref(v);
    if (rc)
        api_reply_error(r, rc, NULL);
}

/* Kinds whose status the server resets on create, as Kubernetes'
 * strategies do; a Node keeps the status it registers with. */
static void reset_status(const berth_kind *k, cJSON *obj)
{
    if (!(k->subresources & BERTH_SUB_STATUS) || !strcmp(k->kind, "Node"))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    if (!strcmp(k->kind, "Pod"))
        berth_obj_set_str(obj, "status.phase", "Pending");
    else if (!strcmp(k->kind, "Namespace"))
        berth_obj_set_str(obj, "status.phase", "Active");
}

/* A new Namespace is held by the "kubernetes" finalizer until the
 * namespace controller has emptied it, as Kubernetes' strategy sets it. */
static void namespace_finalizer(const berth_kind *k, cJSON *obj)
{
    if (strcmp(k->kind, "Namespace") != 0 || berth_obj_at(obj, "spec.finalizers"))
        return;
    cJSON *spec = berth_obj_ensure(obj, "spec");
    cJSON *fin = cJSON_AddArrayToObject(spec, "finalizers");
    if (fin)
        cJSON_AddItemToArray(fin, cJSON_CreateString("kubernetes"));
}

static void create_checked(api_req *r)
{
    const berth_kind *k = r->rt.kind;
    cJSON *obj = r->body;
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    char uid[37], ts[32];
    api_uuid4(uid);
    api_time_format((int64_t)time(NULL), ts, sizeof ts);
    berth_obj_set_str(md, "uid", uid);
    berth_obj_set_str(md, "creationTimestamp", ts);
    set_int(md, "generation", 1);
    cJSON_DeleteItemFromObjectCaseSensitive(md, "deletionTimestamp");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "deletionGracePeriodSeconds");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "selfLink");
    reset_status(k, obj);
    namespace_finalizer(k, obj);
    if (berth_default(k, obj) != 0)
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    if (berth_validate(k, obj, NULL, &r->errs) != 0)
        return api_reply_invalid(r, berth_obj_name(obj));
    int rc = api_svc_hold(r, obj, NULL);
    if (rc == BERTH_EINVAL)
        return api_reply_invalid(r, berth_obj_name(obj));
    if (rc)
        return api_reply_error(r, rc, NULL);
    create_write(r);
}

static void ns_checked(void *arg, const berth_store_result *res)
{
    api_req *r = arg;
    if (res->err == BERTH_ENOTFOUND) {
        r->errs.n = 0;
        struct evbuffer *b = evbuffer_new();
        char msg[160];
        snprintf(msg, sizeof msg, "namespaces \"%s\" not found", r->rt.ns);
        api_status_write(b, BERTH_ENOTFOUND, msg, r->rt.ns, "", "namespaces", NULL);
        return api_reply(r, 404, b, NULL);
    }
    if (res->err)
        return api_reply_error(r, res->err, NULL);
    cJSON *ns = api_obj_decode(res->kv.val, 0);
    const char *phase = berth_obj_str(ns, "status.phase");
    bool ending = berth_obj_str(ns, "metadata.deletionTimestamp") ||
                  (phase && !strcmp(phase, "Terminating"));
    cJSON_Delete(ns);
    if (ending)
        return api_reply_error(r, BERTH_EFORBIDDEN,
                               "%s \"%s\" is forbidden: unable to create new content in "
                               "namespace %s because it is being terminated",
                               r->rt.kind->resource, berth_obj_name(r->body), r->rt.ns);
    create_checked(r);
}

void api_serve_create(api_req *r)
{
    const berth_kind *k = r->rt.kind;
    if (api_decode_body(r))
        return;
    cJSON *obj = r->body;
    int rc = api_check_kind(r, obj, k->api_version, k->kind);
    if (rc)
        return api_reply_error(r, rc, NULL);
    cJSON *md = berth_obj_ensure(obj, "metadata");
    if (!md)
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    const char *rv = berth_obj_str(obj, "metadata.resourceVersion");
    if (rv && *rv)
        return api_reply_error(r, BERTH_EBADREQUEST,
                               "resourceVersion should not be set on objects to be created");
    const char *ns = berth_obj_namespace(obj);
    if (k->namespaced) {
        if (ns && *ns && strcmp(ns, r->rt.ns) != 0)
            return api_reply_error(r, BERTH_EBADREQUEST,
                                   "the namespace of the provided object does not match "
                                   "the namespace sent on the request");
        berth_obj_set_str(md, "namespace", r->rt.ns);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
    }
    const char *name = berth_obj_name(obj);
    const char *gen = berth_obj_str(obj, "metadata.generateName");
    if ((!name || !*name) && gen && *gen) {
        snprintf(r->gen_base, sizeof r->gen_base, "%s", gen);
        gen_name(r, md);
    } else if (!name || !*name) {
        berth_errlist_add(&r->errs, BERTH_FIELD_REQUIRED, "metadata.name", NULL,
                          "name or generateName is required");
        return api_reply_invalid(r, "");
    }
    api_req_hold(r);
    if (!k->namespaced)
        return create_checked(r);
    char nskey[128];
    const berth_kind *nsk = berth_kind_find("v1", "Namespace");
    if (berth_obj_key(nsk, NULL, r->rt.ns, nskey, sizeof nskey) < 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "the namespace is too long");
    rc = berth_store_get(r->api->store, nskey, ns_checked, r);
    if (rc)
        api_reply_error(r, rc, NULL);
}
