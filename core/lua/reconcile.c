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

static void finish(berth_reconcile *rc, int status)
{
    berth_ctrl *c = rc->ctrl;
    int64_t retry = 0;
    c->reconciles++;
    if (status != LUA_OK) {
        c->errors++;
        /* The coroutine's stack still holds the frames of the error. */
        luaL_traceback(c->L, rc->co, lua_tostring(rc->co, -1), 0);
        snprintf(c->last_error, sizeof c->last_error, "%s: %s", rc->key,
                 lua_tostring(rc->co, -1) ? lua_tostring(rc->co, -1) : "error");
        BERTH_WARN(c->name, "reconcile %s failed: %s", rc->key, lua_tostring(c->L, -1));
        lua_pop(c->L, 1);
        retry = -1;
    } else if (rc->conflict) {
        retry = 1; /* stale cache: run again on fresher data, no backoff */
    } else if (rc->requeue_after >= 0) {
        retry = (int64_t)(rc->requeue_after * 1000);
        if (retry == 0)
            retry = 1;
    }
    berth_reconcile_unlink(rc);
    luaL_unref(c->L, LUA_REGISTRYINDEX, rc->co_ref);
    char *key = rc->key;
    free(rc);
    berth_workqueue_done(c->queue, key, retry);
    free(key);
}

void berth_reconcile_resume(berth_reconcile *rc)
{
    int nres = 0;
    rc->waiting = false;
    int status = lua_resume(rc->co, rc->ctrl->L, 0, &nres);
    if (status == LUA_YIELD) {
        if (rc->waiting)
            return; /* an API call is in flight */
        /* A script's own coroutine.yield at top level is not a wait. */
        lua_pushstring(rc->co, "reconcile yielded outside an API call");
        status = LUA_ERRRUN;
    }
    finish(rc, status);
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
    lua_State *L = c->L;
    if (!lua_checkstack(L, 4) || !(rc->co = lua_newthread(L))) {
        free(rc->key);
        free(rc);
        berth_workqueue_done(c->queue, key, -1);
        return;
    }
    rc->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    rc->next = c->running;
    if (c->running)
        c->running->prev = rc;
    c->running = rc;
    *(berth_reconcile **)lua_getextraspace(rc->co) = rc;
    lua_sethook(rc->co, berth_lua_budget_hook, LUA_MASKCOUNT, BERTH_LUA_HOOK_EVERY);

    /* reconcile({kind=, namespace=, name=, key=}) */
    lua_rawgeti(rc->co, LUA_REGISTRYINDEX, c->reconcile_ref);
    lua_createtable(rc->co, 0, 4);
    const char *rest = key;
    if (c->multi) {
        const char *slash = strchr(key, '/');
        size_t klen = slash ? (size_t)(slash - key) : strlen(key);
        lua_pushlstring(rc->co, key, klen);
        lua_setfield(rc->co, -2, "kind");
        rest = slash ? slash + 1 : "";
    } else {
        lua_pushstring(rc->co, c->kind->kind);
        lua_setfield(rc->co, -2, "kind");
    }
    const char *slash = strchr(rest, '/');
    if (slash) {
        lua_pushlstring(rc->co, rest, (size_t)(slash - rest));
        lua_setfield(rc->co, -2, "namespace");
        lua_pushstring(rc->co, slash + 1);
    } else {
        lua_pushstring(rc->co, rest);
    }
    lua_setfield(rc->co, -2, "name");
    lua_pushstring(rc->co, key);
    lua_setfield(rc->co, -2, "key");

    int nres = 0;
    int status = lua_resume(rc->co, L, 1, &nres);
    if (status == LUA_YIELD && rc->waiting)
        return;
    if (status == LUA_YIELD) {
        lua_pushstring(rc->co, "reconcile yielded outside an API call");
        status = LUA_ERRRUN;
    }
    finish(rc, status);
}
