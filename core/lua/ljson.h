/* Converting between cJSON trees and Lua tables, the way every berth Lua
 * binding sees objects: JSON arrays become tables marked with the
 * "berth.array" metatable (so empty lists survive), JSON null becomes the
 * berth.null sentinel inside arrays and is dropped from objects. */
#ifndef BERTH_LUA_LJSON_H
#define BERTH_LUA_LJSON_H

#include <cjson/cJSON.h>
#include <lua.h>

#define BERTH_LUA_ARRAY_MT "berth.array"
#define BERTH_LUA_NULL_KEY "berth.null"

/* Pushes a Lua value for v (nil for NULL). Raises on memory errors. */
void berth_lua_push_json(lua_State *L, const cJSON *v);
/* Converts the Lua value at idx into a new cJSON tree the caller owns, or
 * returns NULL and writes why into err when the value cannot be represented
 * (functions, tables mixing list and map keys, nesting deeper than 100). */
cJSON *berth_lua_to_json(lua_State *L, int idx, char *err, size_t errlen);
/* Registers the array metatable and the null sentinel in L's registry. */
void berth_lua_json_init(lua_State *L);
/* Canonical JSON of the value at idx (sorted keys, no spaces), as
 * berth.template_hash hashes it; malloc'd, or NULL. */
char *berth_lua_canonical_json(lua_State *L, int idx);

#endif
