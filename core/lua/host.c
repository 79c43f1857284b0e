/* The controller host: loading controller files, sharing informers between
 * controllers, routing changes to work queues, periodic resync, and the
 * statistics `berthctl get controllers` shows. */
#include <dirent.h>
#include <event2/event.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "lua/ctrl.h"
#include "lua/ljson.h"

/* How a change to an object of some kind reaches a controller's queue. */
typedef enum { ROUTE_PRIMARY, ROUTE_OWNED, ROUTE_MAPPED } route_type;

typedef struct route {
    berth_ctrl *ctrl;
    route_type type;
    const berth_kind *kind;
    struct route *next;
} route;

/* The queue key of an object: "ns/name" or "name", prefixed "Kind/" for
 * controllers of several kinds. */
static void key_for(const berth_ctrl *c, const berth_kind *k, const char *ns,
                    const char *name, char *buf, size_t size)
{
    int n = c->multi ? snprintf(buf, size, "%s/", k->kind) : 0;
    if (n < 0 || (size_t)n >= size)
        return;
    if (k->namespaced && ns && *ns)
        snprintf(buf + n, size - (size_t)n, "%s/%s", ns, name ? name : "");
    else
        snprintf(buf + n, size - (size_t)n, "%s", name ? name : "");
}

static void obj_key(const berth_ctrl *c, const berth_kind *k, const cJSON *obj, char *buf,
                    size_t size)
{
    key_for(c, k, berth_obj_namespace(obj), berth_obj_name(obj), buf, size);
}

static const berth_kind *handled_kind(const berth_ctrl *c, const char *kind, const char *av)
{
    for (int i = 0; i < c->nkinds; i++)
        if (strcmp(c->kinds[i]->kind, kind) == 0 &&
            (!av || strcmp(c->kinds[i]->api_version, av) == 0))
            return c->kinds[i];
    return NULL;
}

/* The controller owner of obj, when it is of the controller's kind. */
static void enqueue_owner(berth_ctrl *c, const cJSON *obj)
{
    const cJSON *ref;
    cJSON_ArrayForEach(ref, berth_obj_at(obj, "metadata.ownerReferences"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "controller")))
            continue;
        const char *kind = berth_obj_str(ref, "kind");
        const char *name = berth_obj_str(ref, "name");
        const berth_kind *k = kind ? handled_kind(c, kind, berth_obj_str(ref, "apiVersion")) : NULL;
        if (!k || !name)
            return;
        char key[512];
        key_for(c, k, berth_obj_namespace(obj), name, key, sizeof key);
        berth_workqueue_add(c->queue, key);
        return;
    }
}

/* Calls the controller's maps[kind](obj) and queues the keys it returns. A
 * failing map function is logged; it cannot stop the informer. */
static int call_map(lua_State *L)
{
    berth_ctrl *c = lua_touserdata(L, 1);
    const berth_kind *k = lua_touserdata(L, 2);
    const cJSON *obj = lua_touserdata(L, 3);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->maps_ref);
    lua_getfield(L, -1, k->kind);
    berth_lua_push_json(L, obj);
    lua_call(L, 1, 1);
    /* Queue the keys here, still protected: reading them may allocate. */
    if (lua_istable(L, -1)) {
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            berth_workqueue_add(c->queue, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    return 0;
}

/* Calls the controller's maps[kind](obj) and queues the keys it returns. A
 * failing map function is logged; it cannot stop the informer. Everything
 * that may allocate runs inside the protected call. */
static void enqueue_mapped(berth_ctrl *c, const berth_kind *k, const cJSON *obj)
{
    lua_State *L = c->L;
    if (!lua_checkstack(L, 4))
        return;
    lua_pushcfunction(L, call_map);
    lua_pushlightuserdata(L, c);
    lua_pushlightuserdata(L, (void *)k);
    lua_pushlightuserdata(L, (void *)obj);
    c->idle.instructions = 0;
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
        snprintf(c->last_error, sizeof c->last_error, "maps.%s: %s", k->kind, msg);
        BERTH_WARN(c->name, "maps.%s failed: %s", k->kind, msg);
        c->errors++;
        lua_pop(L, 1);
    }
}

static void route_change(route *r, const cJSON *obj)
{
    char key[512];
    switch (r->type) {
    case ROUTE_PRIMARY:
        obj_key(r->ctrl, r->kind, obj, key, sizeof key);
        berth_workqueue_add(r->ctrl->queue, key);
        break;
    case ROUTE_OWNED:
        enqueue_owner(r->ctrl, obj);
        break;
    case ROUTE_MAPPED:
        enqueue_mapped(r->ctrl, r->kind, obj);
        break;
    }
}

static void on_add(void *arg, const cJSON *obj)
{
    route_change(arg, obj);
}

static void on_update(void *arg, const cJSON *old, const cJSON *obj)
{
    route *r = arg;
    /* An owner or a label may have changed: both versions may matter. */
    if (old != obj && r->type != ROUTE_PRIMARY)
        route_change(r, old);
    route_change(r, obj);
}

static void on_delete(void *arg, const cJSON *obj)
{
    route_change(arg, obj);
}

static berth_informer *informer_for(berth_ctrl_host *h, const berth_kind *k, bool create)
{
    for (int i = 0; i < h->ninformers; i++)
        if (berth_informer_kind(h->informers[i]) == k)
            return h->informers[i];
    if (!create || h->ninformers == (int)(sizeof h->informers / sizeof h->informers[0]))
        return NULL;
    berth_informer *inf;
    if (berth_informer_new(h->o.client, h->o.base, k, NULL, &inf) != 0)
        return NULL;
    h->informers[h->ninformers++] = inf;
    return inf;
}

berth_informer *berth_ctrl_informer(lua_State *L, berth_ctrl *c, const berth_kind *k)
{
    for (int i = 0; i < c->nreads; i++)
        if (c->reads[i] == k) {
            berth_informer *inf = informer_for(c->host, k, false);
            if (inf)
                return inf;
        }
    luaL_error(L, "%s is not watched by controller %s: name it in kind, owns, maps or reads",
               k->kind, c->name);
    return NULL;
}

static int add_read(berth_ctrl *c, const berth_kind *k)
{
    for (int i = 0; i < c->nreads; i++)
        if (c->reads[i] == k)
            return 0;
    if (c->nreads == BERTH_CTRL_MAX_KINDS)
        return -1;
    c->reads[c->nreads++] = k;
    return 0;
}

/* Reads a list of kind names from field of the table at -1. */
static int read_kinds(lua_State *L, berth_ctrl *c, const char *field, const berth_kind **out,
                      int *n, char *err, size_t errlen)
{
    lua_getfield(L, -1, field);
    int ok = 0;
    if (lua_istable(L, -1)) {
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            const berth_kind *k = berth_kind_find(NULL, lua_tostring(L, -1));
            if (!k) {
                snprintf(err, errlen, "%s: unknown kind '%s'", field, lua_tostring(L, -1));
                ok = -1;
            } else if (out && *n < BERTH_CTRL_MAX_KINDS) {
                out[(*n)++] = k;
            }
            if (k)
                add_read(c, k);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return ok;
}

/* Reads the table a controller file returned (at -1) into c. */
static int configure(berth_ctrl *c, char *err, size_t errlen)
{
    lua_State *L = c->L;
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "the file must return a table");
        return -1;
    }
    if (lua_getfield(L, -1, "name") == LUA_TSTRING) {
        free(c->name);
        c->name = strdup(lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "reconcile") != LUA_TFUNCTION) {
        snprintf(err, errlen, "the returned table has no reconcile function");
        return -1;
    }
    c->reconcile_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (lua_getfield(L, -1, "kinds") == LUA_TTABLE) {
        lua_pop(L, 1);
        c->multi = true;
        if (read_kinds(L, c, "kinds", c->kinds, &c->nkinds, err, errlen))
            return -1;
    } else {
        lua_pop(L, 1);
        lua_getfield(L, -1, "kind");
        c->kinds[0] = lua_isstring(L, -1) ? berth_kind_find(NULL, lua_tostring(L, -1)) : NULL;
        lua_pop(L, 1);
        c->nkinds = c->kinds[0] ? 1 : 0;
    }
    if (c->nkinds == 0) {
        snprintf(err, errlen, "kind must name a served kind, e.g. kind = \"ConfigMap\" "
                              "(or kinds = {...})");
        return -1;
    }
    c->kind = c->kinds[0];
    for (int i = 0; i < c->nkinds; i++)
        add_read(c, c->kinds[i]);
    if (read_kinds(L, c, "owns", c->owns, &c->nowns, err, errlen) ||
        read_kinds(L, c, "reads", NULL, NULL, err, errlen))
        return -1;
    c->maps_ref = LUA_NOREF;
    if (lua_getfield(L, -1, "maps") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const berth_kind *k =
                lua_type(L, -2) == LUA_TSTRING ? berth_kind_find(NULL, lua_tostring(L, -2)) : NULL;
            if (!k || !lua_isfunction(L, -1)) {
                snprintf(err, errlen, "maps: each entry must map a kind name to a function");
                lua_pop(L, 3);
                return -1;
            }
            if (c->nmaps < BERTH_CTRL_MAX_KINDS)
                c->maps[c->nmaps++] = k;
            add_read(c, k);
            lua_pop(L, 1);
        }
        c->maps_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "resync");
    c->resync_seconds = luaL_optnumber(L, -1, 600);
    lua_pop(L, 1);
    lua_getfield(L, -1, "workers");
    lua_Integer workers = luaL_optinteger(L, -1, 4);
    lua_pop(L, 1);
    /* Keys queue from the first event, but no reconcile starts before every
     * cache the controller reads has synced: it must not act on a partial
     * view (a Deployment whose ReplicaSets are not listed yet). */
    berth_workqueue_opts qo = {.base = c->host->o.base, .fn = berth_ctrl_run, .arg = c,
                               .start_paused = true,
                               .max_active = workers > 0 && workers < 1024 ? (unsigned)workers : 4};
    if (berth_workqueue_new(&qo, &c->queue) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void ctrl_free(berth_ctrl *c)
{
    if (!c)
        return;
    while (c->running) {
        berth_reconcile *rc = c->running;
        berth_reconcile_unlink(rc);
        free(rc->key);
        free(rc);
    }
    for (route *r = c->routes, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    if (c->resync)
        event_free(c->resync);
    berth_workqueue_free(c->queue);
    if (c->L)
        lua_close(c->L);
    free(c->name);
    free(c->file);
    free(c);
}

static berth_ctrl *load_file(berth_ctrl_host *h, const char *path, const char *const *libs)
{
    berth_ctrl *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->host = h;
    c->mem_cap = h->o.mem_cap;
    c->file = strdup(path);
    const char *base = strrchr(path, '/');
    c->name = strndup(base ? base + 1 : path, strlen(base ? base + 1 : path) - 4);
    c->idle.ctrl = c;
    c->idle.requeue_after = -1;
    c->L = berth_lua_sandbox_new(c, libs);
    char err[512] = "";
    c->idle.instructions = 0;
    if (!c->L) {
        snprintf(err, sizeof err, "cannot create a Lua state");
    } else if (luaL_loadfilex(c->L, path, "t") != LUA_OK ||
               lua_pcall(c->L, 0, 1, 0) != LUA_OK) {
        snprintf(err, sizeof err, "%s", lua_tostring(c->L, -1));
    } else {
        configure(c, err, sizeof err);
    }
    if (err[0]) {
        BERTH_ERROR("controllers", "skipping %s: %s", path, err);
        ctrl_free(c);
        return NULL;
    }
    lua_settop(c->L, 0);
    return c;
}

static int has_lua_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".lua") == 0 && name[0] != '.';
}

static int add_route(berth_ctrl *c, route_type type, const berth_kind *k)
{
    berth_informer *inf = informer_for(c->host, k, true);
    route *r = calloc(1, sizeof *r);
    if (!inf || !r) {
        free(r);
        return BERTH_ENOMEM;
    }
    *r = (route){c, type, k, c->routes};
    c->routes = r;
    berth_informer_handler hd = {on_add, on_update, on_delete, r};
    return berth_informer_add_handler(inf, &hd);
}

static void on_resync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_ctrl *c = arg;
    for (int k = 0; k < c->nkinds; k++) {
        berth_informer *inf = informer_for(c->host, c->kinds[k], false);
        const cJSON **objs;
        size_t n = inf ? berth_informer_list(inf, NULL, &objs) : 0;
        for (size_t i = 0; i < n; i++) {
            char key[512];
            obj_key(c, c->kinds[k], objs[i], key, sizeof key);
            berth_workqueue_add(c->queue, key);
        }
        if (n)
            free(objs);
    }
}

static int wire(berth_ctrl *c)
{
    int rc = 0;
    for (int i = 0; !rc && i < c->nkinds; i++)
        rc = add_route(c, ROUTE_PRIMARY, c->kinds[i]);
    for (int i = 0; !rc && i < c->nowns; i++)
        rc = add_route(c, ROUTE_OWNED, c->owns[i]);
    for (int i = 0; !rc && i < c->nmaps; i++)
        rc = add_route(c, ROUTE_MAPPED, c->maps[i]);
    for (int i = 0; !rc && i < c->nreads; i++)
        if (!informer_for(c->host, c->reads[i], true))
            rc = BERTH_ENOMEM;
    if (!rc && c->resync_seconds > 0) {
        c->resync = event_new(c->host->o.base, -1, EV_PERSIST, on_resync, c);
        struct timeval tv = {(time_t)c->resync_seconds,
                             (suseconds_t)((c->resync_seconds - (time_t)c->resync_seconds) * 1e6)};
        if (!c->resync || event_add(c->resync, &tv) != 0)
            rc = BERTH_ENOMEM;
    }
    return rc;
}

/* Resumes each controller's queue once all its informers have synced. */
static void check_synced(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_ctrl_host *h = arg;
    bool waiting = false;
    for (berth_ctrl *c = h->ctrls; c; c = c->next) {
        if (c->synced)
            continue;
        bool all = true;
        for (int i = 0; all && i < c->nreads; i++) {
            berth_informer *inf = informer_for(h, c->reads[i], false);
            all = inf && berth_informer_synced(inf);
        }
        if (all) {
            c->synced = true;
            berth_workqueue_resume(c->queue);
        } else {
            waiting = true;
        }
    }
    if (waiting) {
        struct timeval tv = {0, 10000};
        event_add(h->sync_timer, &tv);
    }
}

int berth_ctrl_host_start(const berth_ctrl_host_opts *o, berth_ctrl_host **out)
{
    berth_ctrl_host *h = calloc(1, sizeof *h);
    if (!h)
        return BERTH_ENOMEM;
    h->o = *o;
    if (!h->o.mem_cap)
        h->o.mem_cap = 64u << 20;
    if (!h->o.budget)
        h->o.budget = 10000000;
    /* Every directory's lib/ folder serves require. */
    char *libs[17] = {0};
    int nlibs = 0;
    for (int d = 0; o->dirs && o->dirs[d] && nlibs < 16; d++) {
        size_t n = strlen(o->dirs[d]) + 5;
        libs[nlibs] = malloc(n);
        if (libs[nlibs])
            snprintf(libs[nlibs++], n, "%s/lib", o->dirs[d]);
    }
    for (int d = 0; o->dirs && o->dirs[d]; d++) {
        struct dirent **ents;
        int n = scandir(o->dirs[d], &ents, NULL, alphasort);
        if (n < 0) {
            BERTH_ERROR("controllers", "cannot read controller directory %s: %m", o->dirs[d]);
            continue;
        }
        for (int i = 0; i < n; i++) {
            char path[4096];
            if (has_lua_suffix(ents[i]->d_name) &&
                snprintf(path, sizeof path, "%s/%s", o->dirs[d], ents[i]->d_name) <
                    (int)sizeof path) {
                berth_ctrl *c = load_file(h, path, (const char *const *)libs);
                if (c) {
                    c->next = h->ctrls;
                    h->ctrls = c;
                    h->nctrls++;
                }
            }
            free(ents[i]);
        }
        free(ents);
    }
    for (int i = 0; i < nlibs; i++)
        free(libs[i]);
    for (berth_ctrl *c = h->ctrls; c; c = c->next) {
        if (wire(c) != 0) {
            berth_ctrl_host_free(h);
            return BERTH_ENOMEM;
        }
        BERTH_INFO("controllers", "loaded %s (%s) from %s", c->name, c->kind->kind, c->file);
    }
    for (int i = 0; i < h->ninformers; i++)
        berth_informer_start(h->informers[i]);
    h->sync_timer = evtimer_new(h->o.base, check_synced, h);
    if (!h->sync_timer) {
        berth_ctrl_host_free(h);
        return BERTH_ENOMEM;
    }
    check_synced(-1, 0, h);
    *out = h;
    return 0;
}

void berth_ctrl_host_free(berth_ctrl_host *h)
{
    if (!h)
        return;
    if (h->sync_timer)
        event_free(h->sync_timer);
    for (int i = 0; i < h->ninformers; i++)
        berth_informer_free(h->informers[i]);
    for (berth_ctrl *c = h->ctrls, *next; c; c = next) {
        next = c->next;
        ctrl_free(c);
    }
    free(h);
}

size_t berth_ctrl_host_count(const berth_ctrl_host *h)
{
    return h->nctrls;
}

cJSON *berth_ctrl_host_stats(const berth_ctrl_host *h)
{
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "kind", "ControllerList");
    cJSON *items = cJSON_AddArrayToObject(list, "items");
    for (const berth_ctrl *c = h->ctrls; c; c = c->next) {
        berth_workqueue_stats st;
        berth_workqueue_get_stats(c->queue, &st);
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "name", c->name);
        cJSON_AddStringToObject(it, "file", c->file);
        cJSON_AddStringToObject(it, "kind", c->kind->kind);
        cJSON_AddNumberToObject(it, "queueDepth", (double)st.depth);
        cJSON_AddNumberToObject(it, "active", (double)st.active);
        cJSON_AddNumberToObject(it, "reconciles", (double)c->reconciles);
        cJSON_AddNumberToObject(it, "errors", (double)c->errors);
        cJSON_AddNumberToObject(it, "memoryBytes", (double)c->mem_used);
        cJSON_AddStringToObject(it, "lastError", c->last_error);
        cJSON_AddItemToArray(items, it);
    }
    return list;
}
