#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ljson.h"

#define MAX_DEPTH 100

void berth_lua_json_init(lua_State *L)
{
    luaL_newmetatable(L, BERTH_LUA_ARRAY_MT);
    lua_pop(L, 1);
    lua_newtable(L); /* a unique table stands for null */
    lua_setfield(L, LUA_REGISTRYINDEX, BERTH_LUA_NULL_KEY);
}

static void push_null(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, BERTH_LUA_NULL_KEY);
}

static void push_rec(lua_State *L, const cJSON *v, int depth)
{
    if (depth > MAX_DEPTH)
        luaL_error(L, "JSON nested deeper than %d levels", MAX_DEPTH);
    luaL_checkstack(L, 3, "JSON too deep");
    if (!v) {
        lua_pushnil(L);
    } else if (cJSON_IsString(v)) {
        lua_pushstring(L, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* Integral values are Lua integers, so 3 prints as 3, not 3.0. */
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(v)) {
        lua_pushboolean(L, cJSON_IsTrue(v));
    } else if (cJSON_IsNull(v)) {
        push_null(L);
    } else if (cJSON_IsArray(v)) {
        lua_createtable(L, cJSON_GetArraySize(v), 0);
        lua_Integer i = 1;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            push_rec(L, e, depth + 1);
            lua_rawseti(L, -2, i++);
        }
        luaL_setmetatable(L, BERTH_LUA_ARRAY_MT);
    } else if (cJSON_IsObject(v)) {
        lua_createtable(L, 0, cJSON_GetArraySize(v));
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            if (cJSON_IsNull(e))
                continue; /* nil in a map is absence */
            push_rec(L, e, depth + 1);
            lua_setfield(L, -2, e->string);
        }
    } else {
        lua_pushnil(L);
    }
}

void berth_lua_push_json(lua_State *L, const cJSON *v)
{
    push_rec(L, v, 0);
}

static int is_null(lua_State *L, int idx)
{
    push_null(L);
    int eq = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return eq;
}

static int marked_array(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, BERTH_LUA_ARRAY_MT);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return eq;
}

/* A table is a list when marked so, or when its keys are exactly 1..n with
 * n > 0; an unmarked empty table is an object. */
static int table_is_list(lua_State *L, int idx, lua_Integer *n)
{
    *n = (lua_Integer)lua_rawlen(L, idx);
    if (marked_array(L, idx))
        return 1;
    if (*n == 0)
        return 0;
    lua_Integer count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == *n;
}

static cJSON *to_rec(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    idx = lua_absindex(L, idx);
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "value nested deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return cJSON_CreateNumber((double)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx))) {
            snprintf(err, errlen, "a number is not finite");
            return NULL;
        }
        return cJSON_CreateNumber(lua_tonumber(L, idx));
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE:
        break;
    default:
        snprintf(err, errlen, "a %s cannot be encoded as JSON", luaL_typename(L, idx));
        return NULL;
    }
    if (is_null(L, idx))
        return cJSON_CreateNull();
    luaL_checkstack(L, 4, "table too deep");
    lua_Integer n;
    cJSON *out;
    if (table_is_list(L, idx, &n)) {
        out = cJSON_CreateArray();
        for (lua_Integer i = 1; out && i <= n; i++) {
            lua_rawgeti(L, idx, i);
            cJSON *e = to_rec(L, -1, depth + 1, err, errlen);
            lua_pop(L, 1);
            if (!e) {
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToArray(out, e);
        }
        return out;
    }
    out = cJSON_CreateObject();
    lua_pushnil(L);
    while (out && lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errlen, "a table mixes list and map keys");
            lua_pop(L, 2);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON *e = to_rec(L, -1, depth + 1, err, errlen);
        if (!e) {
            lua_pop(L, 2);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(out, lua_tostring(L, -2), e);
        lua_pop(L, 1);
    }
    return out;
}

cJSON *berth_lua_to_json(lua_State *L, int idx, char *err, size_t errlen)
{
    return to_rec(L, idx, 0, err, errlen);
}

/* --- canonical JSON: sorted keys, integers without exponent --- */

static void canon(cJSON *v, luaL_Buffer *b);

static int cmp_items(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static void canon_string(const char *s, luaL_Buffer *b)
{
    luaL_addchar(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            luaL_addchar(b, '\\');
            luaL_addchar(b, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            luaL_addstring(b, esc);
        } else {
            luaL_addchar(b, (char)c);
        }
    }
    luaL_addchar(b, '"');
}

static void canon(cJSON *v, luaL_Buffer *b)
{
    char num[32];
    if (cJSON_IsString(v)) {
        canon_string(v->valuestring, b);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%.17g", d);
        luaL_addstring(b, num);
    } else if (cJSON_IsBool(v)) {
        luaL_addstring(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        luaL_addchar(b, '[');
        cJSON *e;
        int first = 1;
        cJSON_ArrayForEach(e, v)
        {
            if (!first)
                luaL_addchar(b, ',');
            first = 0;
            canon(e, b);
        }
        luaL_addchar(b, ']');
    } else if (cJSON_IsObject(v)) {
        int n = cJSON_GetArraySize(v), i = 0;
        cJSON **items = malloc((size_t)(n ? n : 1) * sizeof *items);
        if (!items)
            return;
        cJSON *e;
        cJSON_ArrayForEach(e, v) items[i++] = e;
        qsort(items, (size_t)n, sizeof *items, cmp_items);
        luaL_addchar(b, '{');
        for (i = 0; i < n; i++) {
            if (i)
                luaL_addchar(b, ',');
            canon_string(items[i]->string, b);
            luaL_addchar(b, ':');
            canon(items[i], b);
        }
        luaL_addchar(b, '}');
        free(items);
    } else {
        luaL_addstring(b, "null");
    }
}

char *berth_lua_canonical_json(lua_State *L, int idx)
{
    char err[128];
    cJSON *v = berth_lua_to_json(L, idx, err, sizeof err);
    if (!v)
        return NULL;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    canon(v, &b);
    luaL_pushresult(&b);
    cJSON_Delete(v);
    char *out = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return out;
}
