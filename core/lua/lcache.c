/* berth.get / berth.list / berth.owned: reads from the informer caches. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "berth/selector.h"
#include "lua/ctrl.h"
#include "lua/ljson.h"

const berth_kind *berth_lua_checkkind(lua_State *L, int arg)
{
    const char *name = luaL_checkstring(L, arg);
    /* "apps/v1/Deployment" or "v1/Pod" names the version too. */
    const char *slash = strrchr(name, '/');
    const berth_kind *k;
    if (slash) {
        char av[128];
        size_t n = (size_t)(slash - name);
        if (n >= sizeof av)
            n = sizeof av - 1;
        memcpy(av, name, n);
        av[n] = 0;
        k = berth_kind_find(av, slash + 1);
    } else {
        k = berth_kind_find(NULL, name);
        if (!k)
            k = berth_kind_lookup(name);
    }
    if (!k)
        luaL_argerror(L, arg, lua_pushfstring(L, "unknown kind '%s'", name));
    return k;
}

static int cmp_by_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    const char *xn = berth_obj_namespace(x), *yn = berth_obj_namespace(y);
    int c = strcmp(xn ? xn : "", yn ? yn : "");
    if (c)
        return c;
    const char *xa = berth_obj_name(x), *ya = berth_obj_name(y);
    return strcmp(xa ? xa : "", ya ? ya : "");
}

/* Pushes the objects as an array, sorted by namespace and name so scripts
 * see a stable order. */
static void push_sorted(lua_State *L, const cJSON **objs, size_t n)
{
    if (n > 1)
        qsort(objs, n, sizeof *objs, cmp_by_key);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        berth_lua_push_json(L, objs[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    luaL_setmetatable(L, BERTH_LUA_ARRAY_MT);
}

static int l_get(lua_State *L)
{
    berth_reconcile *rc = berth_lua_current(L);
    const berth_kind *k = berth_lua_checkkind(L, 1);
    const char *ns = luaL_optstring(L, 2, NULL);
    const char *name = luaL_checkstring(L, 3);
    berth_informer *inf = berth_ctrl_informer(L, rc->ctrl, k);
    berth_lua_push_json(L, berth_informer_get(inf, k->namespaced ? ns : NULL, name));
    return 1;
}

/* The selector argument: nil, text, or a LabelSelector table. Returns NULL
 * for "everything"; raises on a malformed selector. */
static berth_selector *check_selector(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return NULL;
    berth_selector *sel = NULL;
    char err[256];
    int rc;
    if (lua_type(L, arg) == LUA_TSTRING) {
        rc = berth_selector_parse(lua_tostring(L, arg), &sel, err, sizeof err);
    } else {
        cJSON *j = berth_lua_to_json(L, arg, err, sizeof err);
        if (!j)
            return luaL_argerror(L, arg, err), NULL;
        rc = berth_selector_from_json(j, "selector", &sel, err, sizeof err);
        cJSON_Delete(j);
    }
    if (rc != 0)
        luaL_argerror(L, arg, err);
    return sel;
}

static int l_list(lua_State *L)
{
    berth_reconcile *rc = berth_lua_current(L);
    const berth_kind *k = berth_lua_checkkind(L, 1);
    const char *ns = luaL_optstring(L, 2, NULL);
    berth_informer *inf = berth_ctrl_informer(L, rc->ctrl, k);
    berth_selector *sel = check_selector(L, 3);
    const cJSON **objs;
    size_t n = berth_informer_list(inf, k->namespaced ? ns : NULL, &objs);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!sel || berth_selector_matches(sel, berth_obj_at(objs[i], "metadata.labels")))
            objs[kept++] = objs[i];
    berth_selector_free(sel);
    push_sorted(L, objs, kept);
    free(objs);
    return 1;
}

static int l_owned(lua_State *L)
{
    berth_reconcile *rc = berth_lua_current(L);
    const berth_kind *k = berth_lua_checkkind(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "metadata");
    const char *uid = lua_istable(L, -1) && lua_getfield(L, -1, "uid") == LUA_TSTRING
                          ? lua_tostring(L, -1)
                          : NULL;
    if (!uid)
        return luaL_argerror(L, 2, "owner has no metadata.uid");
    berth_informer *inf = berth_ctrl_informer(L, rc->ctrl, k);
    const cJSON **objs;
    size_t n = berth_informer_by_owner(inf, uid, &objs);
    push_sorted(L, objs, n);
    free(objs);
    return 1;
}

void berth_lua_open_cache(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"get", l_get},
        {"list", l_list},
        {"owned", l_owned},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
