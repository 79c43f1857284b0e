/* Running reconciles: each is a coroutine of its controller's Lua state,
 * started by the work queue, suspended while an API call is in flight,
 * stopped by an instruction budget, and finished with the queue told how it
 * went. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/log.h"
#include "lua/ctrl.h"

void berth_lua_budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    berth_reconcile *rc = berth_lua_current(L);
    rc->instructions += BERTH_LUA_HOOK_EVERY;
    if (rc->instructions > rc->ctrl->host->o.budget)
        luaL_error(L, "instruction budget of %I exceeded", (lua_Integer)rc->ctrl->host->o.budget);
}

void berth_reconcile_unlink(berth_reconcile *rc)
{
    berth_ctrl *c = rc->ctrl;
    if (rc->prev)
        rc->prev->next = rc->next;
    else
        c->running = rc->next;
    if (rc->next)
        rc->next->prev = rc->prev;
    rc->prev = rc->next = NULL;
}

static int push_traceback(lua_State *L)
{
    luaL_traceback(L, lua_touserdata(L, 1), lua_touserdata(L, 2), 0);
    return 1;
}

/* The traceback of the failed coroutine co, pushed on L, or NULL (nothing
 * pushed) when L has no memory left for it: a memory bomb must not turn
 * into a Lua panic outside a protected call. */
static const char *traceback(lua_State *L, lua_State *co, const char *msg)
{
    if (!lua_checkstack(L, 3))
        return NULL;
    lua_pushcfunction(L, push_traceback);
    lua_pushlightuserdata(L, co);
    lua_pushlightuserdata(L, (void *)msg);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return NULL;
    }
    return lua_tostring(L, -1);
}

static void finish(berth_reconcile *rc, int status)
{
    berth_ctrl *c = rc->ctrl;
    int64_t retry = 0;
    c->reconciles++;
    if (status != LUA_OK) {
        c->errors++;
        /* Only a string error object is read: lua_tostring on anything else
         * would allocate, and the state may be out of memory. */
        const char *msg = rc->bad_yield ? "reconcile yielded outside an API call"
                          : lua_type(rc->co, -1) == LUA_TSTRING ? lua_tostring(rc->co, -1)
                                                                : "(error object is not a string)";
        snprintf(c->last_error, sizeof c->last_error, "%s: %s", rc->key, msg);
        const char *trace = traceback(c->L, rc->co, msg);
        BERTH_WARN(c->name, "reconcile %s failed: %s", rc->key, trace ? trace : msg);
        if (trace)
            lua_pop(c->L, 1);
        retry = -1;    } else if (rc->conflict) {
        retry = 1; /* stale cache: run again on fresher data, no backoff */
    } else if (rc->requeue_after >= 0) {
        retry = (int64_t)(rc->requeue_after * 1000);
        if (retry == 0)
            retry = 1;
    }
    berth_reconcile_unlink(rc);
    luaL_unref(c->L, LUA_REGISTRYINDEX, rc->co_ref);
    /* After a memory error, give the next reconcile its memory back now
     * rather than when the collector gets round to it. */
    if (status == LUA_ERRMEM)
        lua_gc(c->L, LUA_GCCOLLECT);
    char *key = rc->key;
    free(rc);
    berth_workqueue_done(c->queue, key, retry);
    free(key);
}

/* Creates rc's coroutine with reconcile and its request table on its stack.
 * Runs under lua_pcall: the state may be at its memory cap, and an
 * allocation failure must be an error, never a panic. */
static int prepare(lua_State *L)
{
    berth_reconcile *rc = lua_touserdata(L, 1);
    berth_ctrl *c = rc->ctrl;
    const char *key = rc->key;
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, -1);
    rc->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    rc->co = co;
    *(berth_reconcile **)lua_getextraspace(co) = rc;
    lua_sethook(co, berth_lua_budget_hook, LUA_MASKCOUNT, BERTH_LUA_HOOK_EVERY);

    /* reconcile({kind=, namespace=, name=, key=}) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->reconcile_ref);
    lua_createtable(L, 0, 4);
    const char *rest = key;
    if (c->multi) {
        const char *slash = strchr(key, '/');
        lua_pushlstring(L, key, slash ? (size_t)(slash - key) : strlen(key));
        rest = slash ? slash + 1 : "";
    } else {
        lua_pushstring(L, c->kind->kind);
    }
    lua_setfield(L, -2, "kind");
    const char *slash = strchr(rest, '/');
    if (slash) {
        lua_pushlstring(L, rest, (size_t)(slash - rest));
        lua_setfield(L, -2, "namespace");
        lua_pushstring(L, slash + 1);
    } else {
        lua_pushstring(L, rest);
    }
    lua_setfield(L, -2, "name");
    lua_pushstring(L, key);
    lua_setfield(L, -2, "key");
    lua_xmove(L, co, 2);
    return 0;
}

/* Runs or resumes rc until it waits for the API or ends. */
static void step(berth_reconcile *rc, int nargs)
{
    int nres = 0;
    rc->waiting = false;
    int status = lua_resume(rc->co, rc->ctrl->L, nargs, &nres);
    if (status == LUA_YIELD && rc->waiting)
        return; /* an API call is in flight */
    if (status == LUA_YIELD) {
        /* A script's own coroutine.yield at top level is not a wait. */
        rc->bad_yield = true;
        status = LUA_ERRRUN;
    }
    finish(rc, status);
}

void berth_reconcile_resume(berth_reconcile *rc)
{
    step(rc, 0);
}

void berth_ctrl_run(void *arg, const char *key)
{
    berth_ctrl *c = arg;
    berth_reconcile *rc = calloc(1, sizeof *rc);
    if (!rc || !(rc->key = strdup(key))) {
        free(rc);
        berth_workqueue_done(c->queue, key, -1);
        return;
    }
    rc->ctrl = c;
    rc->requeue_after = -1;
    rc->co_ref = LUA_NOREF;
    lua_State *L = c->L;
    int ok = lua_checkstack(L, 3);
    if (ok) {
        lua_pushcfunction(L, prepare);
        lua_pushlightuserdata(L, rc);
        ok = lua_pcall(L, 1, 0, 0) == LUA_OK;
        if (!ok)
            lua_pop(L, 1);
    }
    if (!ok) {
        c->errors++;
        snprintf(c->last_error, sizeof c->last_error, "%s: cannot start: out of memory", key);
        luaL_unref(L, LUA_REGISTRYINDEX, rc->co_ref);
        free(rc->key);
        free(rc);
        lua_gc(L, LUA_GCCOLLECT);
        berth_workqueue_done(c->queue, key, -1);
        return;
    }
    rc->next = c->running;
    if (c->running)
        c->running->prev = rc;
    c->running = rc;
    step(rc, 1);
}
