/* The sandbox a controller runs in: a Lua state whose allocator enforces a
 * memory cap, with only the libraries that cannot reach outside the process,
 * and a require that finds nothing but the controllers' lib/ folders. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ctrl.h"
#include "lua/ljson.h"

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    berth_ctrl *c = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        c->mem_used -= old;
        return NULL;
    }
    /* Growing past the cap fails; Lua turns that into a "not enough memory"
     * error in the script. Shrinking never fails, as Lua requires. */
    if (nsize > old && c->mem_used - old + nsize > c->mem_cap)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        c->mem_used = c->mem_used - old + nsize;
    return p;
}

/* load() that accepts only text chunks: bytecode can break the VM. */
static int safe_load(lua_State *L)
{
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (!s)
        return luaL_argerror(L, 1, "only strings can be loaded here");
    const char *name = luaL_optstring(L, 2, "=(load)");
    int env = !lua_isnone(L, 4) ? 4 : 0;
    if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

/* package.searchers entry: modules from the lib/ folders, text only. */
static int search_libs(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (strchr(name, '/') || strstr(name, ".."))
        return lua_pushfstring(L, "\n\tmodule names may not contain '/' or '..'"), 1;
    lua_getfield(L, LUA_REGISTRYINDEX, "berth.lib_dirs");
    int dirs = lua_gettop(L);
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    for (lua_Integer i = 1;; i++) {
        if (lua_rawgeti(L, dirs, i) != LUA_TSTRING) {
            lua_pop(L, 1);
            break;
        }
        const char *dir = lua_tostring(L, -1);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.lua", dir, name);
        for (char *p = path + strlen(dir) + 1; *p; p++)
            if (*p == '.' && strcmp(p, ".lua") != 0)
                *p = '/'; /* "a.b" -> a/b.lua */
        lua_pop(L, 1);
        if (luaL_loadfilex(L, path, "t") == LUA_OK) {
            lua_pushstring(L, path);
            return 2;
        }
        lua_pop(L, 1);
        luaL_addstring(&tried, "\n\tno file '");
        luaL_addstring(&tried, path);
        luaL_addstring(&tried, "'");
    }
    luaL_pushresult(&tried);
    return 1;
}

static void remove_field(lua_State *L, const char *table, const char *field)
{
    if (lua_getglobal(L, table) == LUA_TTABLE) {
        lua_pushnil(L);
        lua_setfield(L, -2, field);
    }
    lua_pop(L, 1);
}

lua_State *berth_lua_sandbox_new(berth_ctrl *c, const char *const *lib_dirs)
{
    lua_State *L = lua_newstate(capped_alloc, c);
    if (!L)
        return NULL;
    *(berth_reconcile **)lua_getextraspace(L) = &c->idle;
    lua_sethook(L, berth_lua_budget_hook, LUA_MASKCOUNT, BERTH_LUA_HOOK_EVERY);
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},          {LUA_LOADLIBNAME, luaopen_package},
        {LUA_COLIBNAME, luaopen_coroutine}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, luaopen_string},   {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},    {LUA_OSLIBNAME, luaopen_os},
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    /* What could touch the host: files, processes, the environment, native
     * code and the debug interface. */
    static const char *const gone[] = {"dofile", "loadfile", NULL};
    for (int i = 0; gone[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, gone[i]);
    }
    lua_pushcfunction(L, safe_load);
    lua_setglobal(L, "load");
    static const char *const os_gone[] = {"execute", "exit", "remove", "rename", "tmpname",
                                          "getenv", "setlocale", NULL};
    for (int i = 0; os_gone[i]; i++)
        remove_field(L, "os", os_gone[i]);
    remove_field(L, "package", "loadlib");
    remove_field(L, "package", "cpath");
    remove_field(L, "package", "path");
    remove_field(L, "string", "dump");

    /* require: preloaded modules (berth), then the lib/ folders; nothing
     * else. */
    lua_newtable(L);
    for (lua_Integer i = 0; lib_dirs && lib_dirs[i]; i++) {
        lua_pushstring(L, lib_dirs[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "berth.lib_dirs");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_rawgeti(L, -1, 1); /* the preload searcher */
    lua_newtable(L);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pushcfunction(L, search_libs);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -3, "searchers");
    lua_pop(L, 2);

    berth_lua_json_init(L);
    luaL_requiref(L, "berth", luaopen_berth, 1);
    lua_pop(L, 1);
    return L;
}

int luaopen_berth(lua_State *L)
{
    lua_newtable(L);
    berth_lua_open_cache(L);
    berth_lua_open_api(L);
    berth_lua_open_util(L);
    return 1;
}
