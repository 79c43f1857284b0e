/* berth's helpers that need no API call: logging, requeueing, owner
 * references, selectors, time, quantities, hashing and table utilities. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/log.h"
#include "berth/quantity.h"
#include "berth/selector.h"
#include "lua/ctrl.h"
#include "lua/ljson.h"

double berth_lua_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void berth_lua_format_time(double t, char *buf, size_t size)
{
    time_t secs = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int log_at(lua_State *L, berth_log_level level)
{
    /* berth.log.info(fmt, ...) formats with string.format. */
    int n = lua_gettop(L);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    for (int i = 1; i <= n; i++)
        lua_pushvalue(L, i);
    lua_call(L, n, 1);
    berth_reconcile *rc = berth_lua_current(L);
    berth_log(level, rc->ctrl->name, "%s", lua_tostring(L, -1));
    return 0;
}

static int l_debug(lua_State *L) { return log_at(L, BERTH_LOG_DEBUG); }
static int l_info(lua_State *L) { return log_at(L, BERTH_LOG_INFO); }
static int l_warn(lua_State *L) { return log_at(L, BERTH_LOG_WARN); }
static int l_error(lua_State *L) { return log_at(L, BERTH_LOG_ERROR); }

static int l_requeue_after(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s < 1e9, 1, "seconds must be between 0 and 1e9");
    berth_reconcile *rc = berth_lua_current(L);
    if (rc->requeue_after < 0 || s < rc->requeue_after)
        rc->requeue_after = s;
    return 0;
}

static int l_owner_ref(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_createtable(L, 0, 6);
    lua_getfield(L, 1, "apiVersion");
    lua_setfield(L, -2, "apiVersion");
    lua_getfield(L, 1, "kind");
    lua_setfield(L, -2, "kind");
    if (lua_getfield(L, 1, "metadata") != LUA_TTABLE)
        return luaL_argerror(L, 1, "owner has no metadata");
    lua_getfield(L, -1, "name");
    lua_setfield(L, -3, "name");
    lua_getfield(L, -1, "uid");
    lua_setfield(L, -3, "uid");
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "controller");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "blockOwnerDeletion");
    return 1;
}

static int l_controller_of(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "metadata") != LUA_TTABLE ||
        lua_getfield(L, -1, "ownerReferences") != LUA_TTABLE)
        return 0;
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
        lua_getfield(L, -1, "controller");
        int is = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (is)
            return 1;
        lua_pop(L, 1);
    }
    return 0;
}

static int l_matches(lua_State *L)
{
    berth_selector *sel = NULL;
    char err[256];
    int rc;
    if (lua_type(L, 1) == LUA_TSTRING) {
        rc = berth_selector_parse(lua_tostring(L, 1), &sel, err, sizeof err);
    } else {
        cJSON *j = lua_isnoneornil(L, 1) ? NULL : berth_lua_to_json(L, 1, err, sizeof err);
        if (!lua_isnoneornil(L, 1) && !j)
            return luaL_argerror(L, 1, err);
        rc = berth_selector_from_json(j, "selector", &sel, err, sizeof err);
        cJSON_Delete(j);
    }
    if (rc != 0)
        return luaL_argerror(L, 1, err);
    cJSON *labels = lua_isnoneornil(L, 2) ? NULL : berth_lua_to_json(L, 2, err, sizeof err);
    lua_pushboolean(L, berth_selector_matches(sel, labels));
    cJSON_Delete(labels);
    berth_selector_free(sel);
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, berth_lua_now());
    return 1;
}

static int l_time(lua_State *L)
{
    char buf[32];
    berth_lua_format_time(luaL_optnumber(L, 1, berth_lua_now()), buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
 * parsing never depends on the local time zone. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int l_parse_time(lua_State *L)
{
    const char *s = lua_tostring(L, 1);
    int y, mo, d, h, mi, se, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
        mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    double t = (double)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
                        mi * 60 + se);
    const char *rest = s + n;
    if (*rest == '.') { /* fractional seconds */
        t += strtod(rest, (char **)&rest);
    }
    int oh, om;
    if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &oh, &om) == 2)
        t -= (*rest == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    lua_pushnumber(L, t);
    return 1;
}

static int l_quantity(lua_State *L)
{
    int64_t milli;
    int rc;
    if (lua_isinteger(L, 1)) {
        milli = lua_tointeger(L, 1) * 1000;
        rc = 0;
    } else {
        rc = berth_quantity_parse_milli(luaL_checkstring(L, 1), &milli);
    }
    if (rc != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "invalid quantity '%s'", lua_tostring(L, 1));
        return 2;
    }
    lua_pushinteger(L, milli);
    return 1;
}

/* Kubernetes' pod-template hash: FNV-32a over the template (here its
 * canonical JSON) and the collision count, rendered with SafeEncodeString's
 * alphabet so the name has no vowels. */
static int l_template_hash(lua_State *L)
{
    char *json = berth_lua_canonical_json(L, 1);
    if (!json)
        return luaL_argerror(L, 1, "cannot be encoded as JSON");
    uint32_t h = 0x811c9dc5u;
    for (const unsigned char *p = (const unsigned char *)json; *p; p++) {
        h ^= *p;
        h *= 0x01000193u;
    }
    free(json);
    if (!lua_isnoneornil(L, 2)) {
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)luaL_checkinteger(L, 2));
        for (const unsigned char *p = (const unsigned char *)n; *p; p++) {
            h ^= *p;
            h *= 0x01000193u;
        }
    }
    static const char safe[] = "bcdfghjklmnpqrstvwxz2456789";
    char dec[16], out[16];
    int len = snprintf(dec, sizeof dec, "%u", h);
    for (int i = 0; i < len; i++)
        out[i] = safe[(unsigned char)dec[i] % (sizeof safe - 1)];
    lua_pushlstring(L, out, (size_t)len);
    return 1;
}

static int l_copy(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        return 0;
    char err[256];
    cJSON *j = berth_lua_to_json(L, 1, err, sizeof err);
    if (!j)
        return luaL_argerror(L, 1, err);
    berth_lua_push_json(L, j);
    cJSON_Delete(j);
    return 1;
}

static int l_equal(lua_State *L)
{
    char err[256];
    cJSON *a = berth_lua_to_json(L, 1, err, sizeof err);
    cJSON *b = berth_lua_to_json(L, 2, err, sizeof err);
    lua_pushboolean(L, a && b && cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    return 1;
}

static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_setmetatable(L, BERTH_LUA_ARRAY_MT);
    return 1;
}

void berth_lua_open_util(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"array", l_array},
        {"controller_of", l_controller_of},
        {"copy", l_copy},
        {"equal", l_equal},
        {"matches", l_matches},
        {"now", l_now},
        {"owner_ref", l_owner_ref},
        {"parse_time", l_parse_time},
        {"quantity", l_quantity},
        {"requeue_after", l_requeue_after},
        {"template_hash", l_template_hash},
        {"time", l_time},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
    static const luaL_Reg log_funcs[] = {
        {"debug", l_debug}, {"error", l_error}, {"info", l_info}, {"warn", l_warn}, {NULL, NULL},
    };
    luaL_newlib(L, log_funcs);
    lua_setfield(L, -2, "log");
    lua_getfield(L, LUA_REGISTRYINDEX, BERTH_LUA_NULL_KEY);
    lua_setfield(L, -2, "null");
}
