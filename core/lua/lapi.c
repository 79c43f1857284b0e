/* berth.create / update / update_status / patch / delete / event: writes
 * through the API. A write suspends the reconcile's coroutine until the
 * answer arrives (or returns at once when the client answered at once), so
 * the loop never blocks on it. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/status.h"
#include "lua/ctrl.h"
#include "lua/ljson.h"

typedef struct api_call {
    berth_reconcile *rc;
    bool yielded; /* the coroutine waits for this call */
    bool done;    /* the answer is in */
    bool is_delete;
    int err;
    char *message;
    cJSON *obj;
} api_call;

static void call_free(api_call *c)
{
    free(c->message);
    cJSON_Delete(c->obj);
    free(c);
}

/* Pushes the call's outcome: the object, or nil, message, reason. */
static int push_outcome(lua_State *L, api_call *c)
{
    int err = c->err;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", c->message ? c->message : berth_strerror(err));
    cJSON *obj = c->obj;
    bool is_delete = c->is_delete;
    c->obj = NULL;
    call_free(c);
    if (!err) {
        if (is_delete)
            lua_pushboolean(L, 1);
        else
            berth_lua_push_json(L, obj);
        cJSON_Delete(obj);
        return 1;
    }
    cJSON_Delete(obj);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushstring(L, berth_status_reason(err, NULL));
    return 3;
}

static void on_reply(void *arg, const berth_reply *r)
{
    api_call *c = arg;
    c->done = true;
    c->err = r->err;
    if (r->err == BERTH_ECONFLICT)
        c->rc->conflict = true;
    if (r->message)
        c->message = strdup(r->message);
    if (r->obj)
        c->obj = cJSON_Duplicate(r->obj, 1);
    if (c->yielded)
        berth_reconcile_resume(c->rc);
}

static int finish_call(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    return push_outcome(L, (api_call *)ctx);
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
    api_call *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(body);
        return luaL_error(L, "out of memory");
    }
    c->rc = rc;
    c->is_delete = verb == BERTH_VERB_DELETE;
    req->body = body;
    int err = berth_client_request(rc->ctrl->host->o.client, verb, req, on_reply, c);
    cJSON_Delete(body);
    if (err) {
        c->err = err;
        c->done = true;
    }
    if (c->done)
        return push_outcome(L, c);
    c->yielded = true;
    rc->waiting = true;
    return lua_yieldk(L, 0, (lua_KContext)c, finish_call);
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
    char gen[300];
    snprintf(gen, sizeof gen, "%s.", name ? name : "object");
    berth_obj_set_str(ev, "metadata.generateName", gen);
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
        {"delete", l_delete},
        {"event", l_event},
        {"patch", l_patch},
        {"update", l_update},
        {"update_status", l_update_status},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
