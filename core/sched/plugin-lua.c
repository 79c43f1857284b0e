/* Filter and score plugins written in Lua: a `plugins:` entry whose path
 * ends in ".lua" is a file returning
 *   { name = "...", filter = function(pod, node) ... end,
 *     score = function(pod, node) ... end }
 * run through the same descriptor as a .so plugin. Each state is sandboxed
 * (no io, os, package, debug or loading of files), its memory capped and
 * each call bounded by an instruction budget; an error or a runaway call
 * rejects the node with "node(s) were rejected by plugin NAME". */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "lua/ljson.h"
#include "sched/sched.h"

#define MEM_CAP (32u << 20)
#define BUDGET 1000000
#define HOOK_EVERY 1000
#define MAX_REASONS 32

typedef struct lua_plugin {
    berth_sched_plugin_v1 desc; /* first: the plugin table points here */
    lua_State *L;
    size_t mem;
    long long used;
    char name[64];
    char rejected[128]; /* "node(s) were rejected by plugin NAME" */
    int filter_ref, score_ref;
    const cJSON *pod;   /* the pod whose table is cached in pod_ref */
    int pod_ref;
    char *reasons[MAX_REASONS]; /* interned: reasons must outlive the call */
    int nreasons;
} lua_plugin;

static void *capped(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lua_plugin *lp = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        lp->mem -= old;
        return NULL;
    }
    if (nsize > old && lp->mem - old + nsize > MEM_CAP)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        lp->mem = lp->mem - old + nsize;
    return p;
}

static void budget(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_plugin *lp = *(lua_plugin **)lua_getextraspace(L);
    if ((lp->used += HOOK_EVERY) > BUDGET)
        luaL_error(L, "instruction budget exceeded");
}

static void push_resources(lua_State *L, int64_t cpu, int64_t mem, int64_t eph, int64_t pods)
{
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, cpu);
    lua_setfield(L, -2, "cpu");
    lua_pushinteger(L, mem);
    lua_setfield(L, -2, "memory");
    lua_pushinteger(L, eph);
    lua_setfield(L, -2, "ephemeral");
    if (pods >= 0) {
        lua_pushinteger(L, pods);
        lua_setfield(L, -2, "pods");
    }
}

/* Runs under lua_pcall: pushes fn(pod, node) with the views as tables. The
 * pod's table is built once per pod, not once per node. */
static int call_plugin(lua_State *L)
{
    lua_plugin *lp = lua_touserdata(L, 1);
    int ref = (int)lua_tointeger(L, 2);
    const berth_sched_pod_view *pv = lua_touserdata(L, 3);
    const berth_sched_node_view *nv = lua_touserdata(L, 4);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (lp->pod != pv->pod) {
        luaL_unref(L, LUA_REGISTRYINDEX, lp->pod_ref);
        lp->pod_ref = LUA_NOREF;
        lp->pod = NULL;
        lua_createtable(L, 0, 3);
        berth_lua_push_json(L, pv->pod);
        lua_setfield(L, -2, "object");
        push_resources(L, pv->req_milli_cpu, pv->req_memory, pv->req_ephemeral, -1);
        lua_setfield(L, -2, "requests");
        lua_pushinteger(L, pv->priority);
        lua_setfield(L, -2, "priority");
        lp->pod_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        lp->pod = pv->pod;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->pod_ref);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, nv->name);
    lua_setfield(L, -2, "name");
    berth_lua_push_json(L, nv->node);
    lua_setfield(L, -2, "object");
    push_resources(L, nv->alloc_milli_cpu, nv->alloc_memory, nv->alloc_ephemeral, nv->alloc_pods);
    lua_setfield(L, -2, "allocatable");
    push_resources(L, nv->req_milli_cpu, nv->req_memory, nv->req_ephemeral, nv->pods);
    lua_setfield(L, -2, "requested");
    lua_call(L, 2, 2);
    return 2;
}

/* Calls fn; on success leaves its two results on the stack and returns 0. */
static int call(lua_plugin *lp, int ref, const berth_sched_pod_view *pv,
                const berth_sched_node_view *nv)
{
    lua_State *L = lp->L;
    lp->used = 0;
    if (!lua_checkstack(L, 6))
        return -1;
    lua_pushcfunction(L, call_plugin);
    lua_pushlightuserdata(L, lp);
    lua_pushinteger(L, ref);
    lua_pushlightuserdata(L, (void *)pv);
    lua_pushlightuserdata(L, (void *)nv);
    if (lua_pcall(L, 4, 2, 0) != LUA_OK) {
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

static const char *intern_reason(lua_plugin *lp, const char *s)
{
    for (int i = 0; i < lp->nreasons; i++)
        if (!strcmp(lp->reasons[i], s))
            return lp->reasons[i];
    if (lp->nreasons == MAX_REASONS)
        return lp->rejected;
    char *copy = strdup(s);
    if (!copy)
        return lp->rejected;
    lp->reasons[lp->nreasons++] = copy;
    return copy;
}

static bool lua_filter(void *state, const berth_sched_pod_view *pv,
                       const berth_sched_node_view *node, const char **reason)
{
    lua_plugin *lp = state;
    if (call(lp, lp->filter_ref, pv, node) != 0) {
        *reason = lp->rejected;
        return false;
    }
    bool ok = lua_toboolean(lp->L, -2);
    if (!ok)
        *reason = lua_type(lp->L, -1) == LUA_TSTRING ? intern_reason(lp, lua_tostring(lp->L, -1))
                                                    : lp->rejected;
    lua_pop(lp->L, 2);
    return ok;
}

static int lua_score(void *state, const berth_sched_pod_view *pv,
                     const berth_sched_node_view *node)
{
    lua_plugin *lp = state;
    if (call(lp, lp->score_ref, pv, node) != 0)
        return 0;
    lua_Integer v = lua_isnumber(lp->L, -2) ? (lua_Integer)lua_tonumber(lp->L, -2) : 0;
    lua_pop(lp->L, 2);
    return v < 0 ? 0 : v > 100 ? 100 : (int)v;
}

static void lua_fini(void *state)
{
    lua_plugin *lp = state;
    if (lp->L)
        lua_close(lp->L);
    for (int i = 0; i < lp->nreasons; i++)
        free(lp->reasons[i]);
    free(lp);
}

/* Loads path into a fresh sandbox and reads its table. Runs protected. */
static int load_file(lua_State *L)
{
    lua_plugin *lp = lua_touserdata(L, 1);
    const char *path = lua_touserdata(L, 2);
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    static const char *const gone[] = {"dofile", "loadfile", "load", "require", NULL};
    for (int i = 0; gone[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, gone[i]);
    }
    berth_lua_json_init(L);
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "%s must return a table", path);
    lua_getfield(L, -1, "name");
    const char *name = lua_tostring(L, -1);
    if (!name || !*name)
        return luaL_error(L, "%s: the returned table has no name", path);
    snprintf(lp->name, sizeof lp->name, "%s", name);
    lua_pop(L, 1);
    lua_getfield(L, -1, "filter");
    lp->filter_ref = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
    lua_getfield(L, -1, "score");
    lp->score_ref = lua_isfunction(L, -1) ? luaL_ref(L, LUA_REGISTRYINDEX) : (lua_pop(L, 1), LUA_NOREF);
    if (lp->filter_ref == LUA_NOREF && lp->score_ref == LUA_NOREF)
        return luaL_error(L, "%s: the table has neither filter nor score", path);
    return 0;
}

int plugin_lua_open(const char *path, const berth_sched_plugin_v1 **desc, void **state,
                    char *err, size_t errlen)
{
    lua_plugin *lp = calloc(1, sizeof *lp);
    if (!lp)
        return BERTH_ENOMEM;
    lp->pod_ref = lp->filter_ref = lp->score_ref = LUA_NOREF;
    lp->L = lua_newstate(capped, lp);
    if (!lp->L) {
        free(lp);
        return BERTH_ENOMEM;
    }
    *(lua_plugin **)lua_getextraspace(lp->L) = lp;
    lua_sethook(lp->L, budget, LUA_MASKCOUNT, HOOK_EVERY);
    lua_pushcfunction(lp->L, load_file);
    lua_pushlightuserdata(lp->L, lp);
    lua_pushlightuserdata(lp->L, (void *)path);
    if (lua_pcall(lp->L, 2, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "scheduler plugin %s: %s", path,
                 lua_type(lp->L, -1) == LUA_TSTRING ? lua_tostring(lp->L, -1) : "error");
        lua_fini(lp);
        return BERTH_EINVAL;
    }
    snprintf(lp->rejected, sizeof lp->rejected, "node(s) were rejected by plugin %s", lp->name);
    lp->desc = (berth_sched_plugin_v1){
        .struct_size = sizeof(berth_sched_plugin_v1),
        .abi_major = BERTH_SCHED_PLUGIN_ABI_MAJOR,
        .abi_minor = BERTH_SCHED_PLUGIN_ABI_MINOR,
        .name = lp->name,
        .filter = lp->filter_ref != LUA_NOREF ? lua_filter : NULL,
        .score = lp->score_ref != LUA_NOREF ? lua_score : NULL,
        .fini = lua_fini,
    };
    *desc = &lp->desc;
    *state = lp;
    return 0;
}
