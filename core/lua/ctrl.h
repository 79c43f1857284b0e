/* Internals shared by the controller host's files (core/lua/). */
#ifndef BERTH_LUA_CTRL_H
#define BERTH_LUA_CTRL_H

#include <lua.h>
#include <stdbool.h>
#include <stdint.h>

#include "berth/client.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "lua/host.h"

#define BERTH_CTRL_MAX_KINDS 24

struct event;

typedef struct berth_ctrl berth_ctrl;

/* One reconcile in progress: a coroutine of its controller's state. The
 * thread's extra space points here; the controller's main thread points at
 * the controller's idle reconcile (co NULL), so bindings always find their
 * controller. */
typedef struct berth_reconcile {
    berth_ctrl *ctrl;
    lua_State *co;
    int co_ref;           /* registry reference keeping the thread alive */
    char *key;            /* owned; also the queue's key */
    long long instructions;
    double requeue_after; /* seconds, < 0 when unset */
    bool conflict;        /* a write answered Conflict: requeue at once */
    bool waiting;         /* yielded on an API call */
    bool bad_yield;       /* yielded at top level outside an API call */
    struct berth_reconcile *prev, *next; /* the controller's running list */
} berth_reconcile;

struct berth_ctrl {
    berth_ctrl_host *host;
    char *name;
    char *file;
    lua_State *L;
    size_t mem_used, mem_cap;
    int reconcile_ref; /* registry: the reconcile function */
    int maps_ref;      /* registry: the maps table, or LUA_NOREF */
    const berth_kind *kind; /* the primary kind, or the first of kinds */
    /* A controller of several kinds ("kinds = {...}") queues keys that
     * carry the kind: "Kind/ns/name" or "Kind/name". */
    const berth_kind *kinds[BERTH_CTRL_MAX_KINDS];
    int nkinds;
    bool multi;
    const berth_kind *owns[BERTH_CTRL_MAX_KINDS];
    int nowns;
    const berth_kind *maps[BERTH_CTRL_MAX_KINDS];
    int nmaps;
    const berth_kind *reads[BERTH_CTRL_MAX_KINDS]; /* every kind it may read */
    int nreads;
    berth_workqueue *queue;
    bool synced; /* every informer it reads has listed: reconciles may run */
    berth_reconcile idle;
    berth_reconcile *running; /* reconciles started and not finished */
    void *routes;             /* host.c's event routes for this controller */
    uint64_t reconciles, errors;
    char last_error[512];
    struct event *resync;
    double resync_seconds;
    struct berth_ctrl *next;
};

struct berth_ctrl_host {
    berth_ctrl_host_opts o;
    berth_ctrl *ctrls;
    size_t nctrls;
    berth_informer *informers[BERTH_CTRL_MAX_KINDS * 2];
    int ninformers;
    struct event *sync_timer;
};

/* The reconcile (or the controller's idle one) running on L. */
static inline berth_reconcile *berth_lua_current(lua_State *L)
{
    return *(berth_reconcile **)lua_getextraspace(L);
}

/* The host's informer for kind, when this controller declared the kind;
 * otherwise raises a Lua error naming the kind. */
berth_informer *berth_ctrl_informer(lua_State *L, berth_ctrl *c, const berth_kind *k);
/* Resolves a kind argument ("Pod", "apps/v1/Deployment") or raises. */
const berth_kind *berth_lua_checkkind(lua_State *L, int arg);

/* The instruction budget: a count hook every BERTH_LUA_HOOK_EVERY
 * instructions charges the running reconcile (or the controller's idle one,
 * for loading and map functions) and raises past the host's budget. */
#define BERTH_LUA_HOOK_EVERY 1000
void berth_lua_budget_hook(lua_State *L, lua_Debug *ar);

/* Creates the sandboxed Lua state of c (allocator with c->mem_cap, safe
 * libraries, the berth module, require limited to the lib/ folders). */
lua_State *berth_lua_sandbox_new(berth_ctrl *c, const char *const *lib_dirs);
/* Starts a reconcile of key on c (called by the work queue). */
void berth_ctrl_run(void *arg, const char *key);

/* Seconds since the epoch, and RFC 3339 UTC text for them. */
double berth_lua_now(void);
void berth_lua_format_time(double t, char *buf, size_t size);
/* Resumes a reconcile whose API call was answered (core/lua/reconcile.c). */
void berth_reconcile_resume(berth_reconcile *rc);
/* Takes a reconcile off its controller's running list. */
void berth_reconcile_unlink(berth_reconcile *rc);

int luaopen_berth(lua_State *L);
/* The bindings, by area; each adds its functions to the table on top. */
void berth_lua_open_cache(lua_State *L);
void berth_lua_open_api(lua_State *L);
void berth_lua_open_util(lua_State *L);

#endif
