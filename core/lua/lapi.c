/* berth.create / update / update_status / patch / delete / event: writes
 * through the API. A write suspends the reconcile's coroutine until the
 * answer arrives (or returns at once when the client answered at once), so
 * the loop never blocks on it. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/errno.h"
#include "berth/status.h"
#include "lua/ctrl.h"
#include "lua/ljson.h"

/* Writes in flight for one reconcile: a single call, or a batch
 * (create_all, delete_all) whose requests all go out at once so they share
 * the store's group commit. The coroutine resumes when the last answers. */
typedef struct api_batch api_batch;

typedef struct api_result {
    api_batch *batch;
    int err;
    char *message;
    cJSON *obj;
} api_result;

struct api_batch {
    berth_reconcile *rc;
    bool yielded;   /* the coroutine waits for this batch */
    bool is_delete;
    bool many;      /* results go back as a table of tables */
    size_t n, pending;
    api_result r[];
};

static api_batch *batch_new(berth_reconcile *rc, size_t n, bool is_delete, bool many)
{
    api_batch *b = calloc(1, sizeof *b + n * sizeof b->r[0]);
    if (!b)
        return NULL;
    b->rc = rc;
    b->n = n;
    b->is_delete = is_delete;
    b->many = many;
    for (size_t i = 0; i < n; i++)
        b->r[i].batch = b;
    return b;
}

static void batch_free(api_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->r[i].message);
        cJSON_Delete(b->r[i].obj);
    }
    free(b);
}

/* Pushes one outcome: the object (true for a delete), or nil, message,
 * reason. Returns the number of values pushed. */
static int push_one(lua_State *L, api_result *r, bool is_delete)
{
    if (!r->err) {
        if (is_delete)
            lua_pushboolean(L, 1);
        else
            berth_lua_push_json(L, r->obj);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, r->message ? r->message : berth_strerror(r->err));
    lua_pushstring(L, berth_status_reason(r->err, NULL));
    return 3;
}

/* Pushes a batch's outcome and frees it. A batch of many answers with an
 * array of {object=|ok=, message=, reason=} tables. */
static int push_outcome(lua_State *L, api_batch *b)
{
    if (!b->many) {
        /* Free before pushing could raise: copy what push_one needs. */
        api_result r = b->r[0];
        bool is_delete = b->is_delete;
        b->r[0].message = NULL;
        b->r[0].obj = NULL;
        batch_free(b);
        int n = push_one(L, &r, is_delete);
        free(r.message);
        cJSON_Delete(r.obj);
        return n;
    }
    lua_createtable(L, (int)b->n, 0);
    for (size_t i = 0; i < b->n; i++) {
        lua_createtable(L, 0, 3);
        int n = push_one(L, &b->r[i], b->is_delete);
        if (n == 1) {
            lua_setfield(L, -2, b->is_delete ? "ok" : "object");
        } else {
            lua_setfield(L, -4, "reason");
            lua_setfield(L, -3, "message");
            lua_pop(L, 1);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    luaL_setmetatable(L, BERTH_LUA_ARRAY_MT);
    batch_free(b);
    return 1;
}

static void on_reply(void *arg, const berth_reply *reply)
{
    api_result *r = arg;
    api_batch *b = r->batch;
    r->err = reply->err;
    if (reply->err == BERTH_ECONFLICT)
        b->rc->conflict = true;
    if (reply->message)
        r->message = strdup(reply->message);
    if (reply->obj && !b->is_delete)
        r->obj = cJSON_Duplicate(reply->obj, 1);
    if (--b->pending == 0 && b->yielded)
        berth_reconcile_resume(b->rc);
}

static int finish_call(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    return push_outcome(L, (api_batch *)ctx);
}

static berth_reconcile *check_in_reconcile(lua_State *L)
{
    berth_reconcile *rc = berth_lua_current(L);
    if (!rc->co)
        luaL_error(L, "writes are allowed only inside reconcile");
    return rc;
}

/* Sends request i of batch b; an immediate failure is recorded as its
 * answer. Takes ownership of body. */
static void send_one(api_batch *b, size_t i, berth_verb verb, berth_request *req, cJSON *body)
{
    req->body = body;
    b->pending++;
    int err = berth_client_request(b->rc->ctrl->host->o.client, verb, req, on_reply, &b->r[i]);
    cJSON_Delete(body);
    if (err) {
        b->r[i].err = err;
        b->pending--;
    }
}

/* Suspends until every request of b is answered (unless all already are). */
static int wait_batch(lua_State *L, api_batch *b)
{
    if (b->pending == 0)
        return push_outcome(L, b);
    b->yielded = true;
    b->rc->waiting = true;
    return lua_yieldk(L, 0, (lua_KContext)b, finish_call);
}

/* Sends req and suspends until the answer, or raises on misuse. Takes
 * ownership of body. */
static int do_call(lua_State *L, berth_verb verb, berth_request *req, cJSON *body)
{
    berth_reconcile *rc = berth_lua_current(L);
    if (!rc->co) {
        cJSON_Delete(body);
        return luaL_error(L, "writes are allowed only inside reconcile");
    }
    api_batch *b = batch_new(rc, 1, verb == BERTH_VERB_DELETE, false);
    if (!b) {
        cJSON_Delete(body);
        return luaL_error(L, "out of memory");
    }
    send_one(b, 0, verb, req, body);
    return wait_batch(L, b);
}

/* The object at arg as JSON with its kind, namespace and name, or raises. */
static cJSON *check_object(lua_State *L, int arg, berth_request *req)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    char err[256];
    cJSON *obj = berth_lua_to_json(L, arg, err, sizeof err);
    if (!obj)
        luaL_argerror(L, arg, err);
    const berth_kind *k = berth_kind_of(obj);
    if (!k) {
        cJSON_Delete(obj);
        luaL_argerror(L, arg, "object has no known apiVersion and kind");
    }
    req->kind = k;
    req->ns = berth_obj_namespace(obj);
    req->name = berth_obj_name(obj);
    return obj;
}

static int l_create(lua_State *L)
{
    berth_request req = {0};
    cJSON *obj = check_object(L, 1, &req);
    /* The request borrows names from obj, which do_call keeps alive until
     * the request is sent. */
    return do_call(L, BERTH_VERB_CREATE, &req, obj);
}

static int update(lua_State *L, const char *sub)
{
    berth_request req = {.subresource = sub};
    cJSON *obj = check_object(L, 1, &req);
    if (!req.name) {
        cJSON_Delete(obj);
        return luaL_argerror(L, 1, "object has no metadata.name");
    }
    return do_call(L, BERTH_VERB_UPDATE, &req, obj);
}

static int l_update(lua_State *L)
{
    const char *sub = NULL;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "subresource");
        sub = luaL_optstring(L, -1, NULL);
        if (sub && strcmp(sub, "status") != 0 && strcmp(sub, "finalize") != 0)
            return luaL_argerror(L, 2, "subresource must be status or finalize");
    }
    return update(L, sub);
}

static int l_update_status(lua_State *L)
{
    return update(L, "status");
}

static int l_patch(lua_State *L)
{
    const berth_kind *k = berth_lua_checkkind(L, 1);
    berth_request req = {.kind = k,
                         .ns = luaL_optstring(L, 2, NULL),
                         .name = luaL_checkstring(L, 3),
                         .patch_type = "application/merge-patch+json"};
    luaL_checkany(L, 4);
    if (lua_istable(L, 5)) {
        lua_getfield(L, 5, "type");
        const char *t = luaL_optstring(L, -1, "merge");
        if (strcmp(t, "strategic") == 0)
            req.patch_type = "application/strategic-merge-patch+json";
        else if (strcmp(t, "json") == 0)
            req.patch_type = "application/json-patch+json";
        else if (strcmp(t, "merge") != 0)
            return luaL_argerror(L, 5, "type must be merge, strategic or json");
        lua_getfield(L, 5, "subresource");
        req.subresource = luaL_optstring(L, -1, NULL);
    }
    char err[256];
    cJSON *patch = berth_lua_to_json(L, 4, err, sizeof err);
    if (!patch)
        return luaL_argerror(L, 4, err);
    return do_call(L, BERTH_VERB_PATCH, &req, patch);
}

static int l_delete(lua_State *L)
{
    const berth_kind *k = berth_lua_checkkind(L, 1);
    berth_request req = {.kind = k, .ns = luaL_optstring(L, 2, NULL),
                         .name = luaL_checkstring(L, 3)};
    cJSON *opts = NULL;
    if (lua_istable(L, 4)) {
        char err[256];
        opts = berth_lua_to_json(L, 4, err, sizeof err);
        if (!opts)
            return luaL_argerror(L, 4, err);
        cJSON_AddStringToObject(opts, "kind", "DeleteOptions");
        cJSON_AddStringToObject(opts, "apiVersion", "v1");
    }
    return do_call(L, BERTH_VERB_DELETE, &req, opts);
}

/* berth.create_all(objs): every create at once; an array of results. */
static int l_create_all(lua_State *L)
{
    berth_reconcile *rc = check_in_reconcile(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 1);
    /* Encode everything first: a bad object raises before anything is sent. */
    cJSON **bodies = calloc(n ? n : 1, sizeof *bodies);
    berth_request *reqs = calloc(n ? n : 1, sizeof *reqs);
    api_batch *b = batch_new(rc, n, false, true);
    if (!bodies || !reqs || !b) {
        free(bodies);
        free(reqs);
        if (b)
            batch_free(b);
        return luaL_error(L, "out of memory");
    }
    char err[256] = "";
    for (size_t i = 0; i < n && !err[0]; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        bodies[i] = lua_istable(L, -1) ? berth_lua_to_json(L, -1, err, sizeof err) : NULL;
        lua_pop(L, 1);
        reqs[i].kind = berth_kind_of(bodies[i]);
        if (!err[0] && !reqs[i].kind)
            snprintf(err, sizeof err, "object %zu has no known apiVersion and kind", i + 1);
        reqs[i].ns = berth_obj_namespace(bodies[i]);
    }
    if (err[0]) {
        for (size_t i = 0; i < n; i++)
            cJSON_Delete(bodies[i]);
        free(bodies);
        free(reqs);
        batch_free(b);
        return luaL_argerror(L, 1, err);
    }
    for (size_t i = 0; i < n; i++)
        send_one(b, i, BERTH_VERB_CREATE, &reqs[i], bodies[i]);
    free(bodies);
    free(reqs);
    return wait_batch(L, b);
}

/* berth.delete_all({{kind=, namespace=, name=, opts=}, ...}). */
static int l_delete_all(lua_State *L)
{
    berth_reconcile *rc = check_in_reconcile(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 1);
    api_batch *b = batch_new(rc, n, true, true);
    if (!b)
        return luaL_error(L, "out of memory");
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        int item = lua_gettop(L);
        if (!lua_istable(L, item)) {
            b->r[i].err = BERTH_EINVAL;
            lua_pop(L, 1);
            continue;
        }
        lua_getfield(L, item, "kind");
        lua_getfield(L, item, "namespace");
        lua_getfield(L, item, "name");
        lua_getfield(L, item, "opts");
        const berth_kind *k = lua_isstring(L, item + 1) ? berth_kind_find(NULL, lua_tostring(L, item + 1)) : NULL;
        berth_request req = {.kind = k, .ns = lua_tostring(L, item + 2),
                             .name = lua_tostring(L, item + 3)};
        cJSON *opts = NULL;
        char err[128];
        if (lua_istable(L, item + 4) && (opts = berth_lua_to_json(L, item + 4, err, sizeof err))) {
            cJSON_AddStringToObject(opts, "kind", "DeleteOptions");
            cJSON_AddStringToObject(opts, "apiVersion", "v1");
        }
        if (!k || !req.name) {
            cJSON_Delete(opts);
            b->r[i].err = BERTH_EINVAL;
        } else {
            send_one(b, i, BERTH_VERB_DELETE, &req, opts);
        }
        lua_settop(L, item - 1);
    }
    return wait_batch(L, b);
}

static void ignore_reply(void *arg, const berth_reply *r)
{
    (void)arg, (void)r;
}

static int l_event(lua_State *L)
{
    berth_reconcile *rc = berth_lua_current(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *type = luaL_checkstring(L, 2);
    const char *reason = luaL_checkstring(L, 3);
    const char *message = luaL_checkstring(L, 4);
    char err[256];
    cJSON *about = berth_lua_to_json(L, 1, err, sizeof err);
    if (!about)
        return luaL_argerror(L, 1, err);
    const char *ns = berth_obj_namespace(about);
    const char *name = berth_obj_name(about);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "apiVersion", "v1");
    cJSON_AddStringToObject(ev, "kind", "Event");
    /* Named as Kubernetes' recorder names them, "<object>.<hex ns>": a
     * generateName cannot end in '.', and the API refuses one that does. */
    static uint64_t seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char ename[300];
    snprintf(ename, sizeof ename, "%.240s.%llx", name ? name : "object",
             (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec +
                 seq++);
    berth_obj_set_str(ev, "metadata.name", ename);
    berth_obj_set_str(ev, "metadata.namespace", ns && *ns ? ns : "default");
    cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
    static const char *const copy[][2] = {{"apiVersion", "apiVersion"}, {"kind", "kind"},
                                          {"metadata.name", "name"},
                                          {"metadata.namespace", "namespace"},
                                          {"metadata.uid", "uid"},
                                          {"metadata.resourceVersion", "resourceVersion"}};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        const char *v = berth_obj_str(about, copy[i][0]);
        if (v)
            cJSON_AddStringToObject(io, copy[i][1], v);
    }
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "message", message);
    char comp[300];
    snprintf(comp, sizeof comp, "%s-controller", rc->ctrl->name);
    berth_obj_set_str(ev, "source.component", comp);
    char now[32];
    berth_lua_format_time(berth_lua_now(), now, sizeof now);
    cJSON_AddStringToObject(ev, "firstTimestamp", now);
    cJSON_AddStringToObject(ev, "lastTimestamp", now);
    cJSON_AddNumberToObject(ev, "count", 1);
    berth_request req = {.kind = berth_kind_find("v1", "Event"),
                         .ns = berth_obj_namespace(ev), .body = ev};
    /* Fire and forget: an event lost is not worth failing a reconcile. */
    berth_client_request(rc->ctrl->host->o.client, BERTH_VERB_CREATE, &req, ignore_reply, NULL);
    cJSON_Delete(ev);
    cJSON_Delete(about);
    return 0;
}

void berth_lua_open_api(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"create", l_create},
        {"create_all", l_create_all},
        {"delete", l_delete},
        {"delete_all", l_delete_all},
        {"event", l_event},
        {"patch", l_patch},
        {"update", l_update},
        {"update_status", l_update_status},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
