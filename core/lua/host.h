/* The controller host: loads Lua controllers from directories, feeds them
 * from shared informers through per-controller work queues, and runs each
 * reconcile as a sandboxed coroutine with an instruction budget and a memory
 * cap. Runs on one event loop against any berth_client (local or remote). */
#ifndef BERTH_LUA_HOST_H
#define BERTH_LUA_HOST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "berth/client.h"

struct event_base;
typedef struct berth_ctrl_host berth_ctrl_host;

typedef struct berth_ctrl_host_opts {
    struct event_base *base;
    berth_client *client;       /* borrowed; must outlive the host's use */
    const char *const *dirs;    /* controller directories, NULL-terminated */
    size_t mem_cap;             /* bytes per Lua state (0: 64 MiB) */
    long long budget;           /* instructions per reconcile (0: 10 million) */
} berth_ctrl_host_opts;

/* Loads every *.lua file in the directories (a file that fails to load is
 * logged and skipped) and starts their informers and queues. *out is freed
 * with berth_ctrl_host_free; free the client first. Returns BERTH_ENOMEM or
 * 0, even when no controller loaded. */
int berth_ctrl_host_start(const berth_ctrl_host_opts *o, berth_ctrl_host **out);
void berth_ctrl_host_free(berth_ctrl_host *h);
/* A List of the loaded controllers: name, file, kind, queue depth, active,
 * reconciles, errors, lastError. The caller owns the result. */
cJSON *berth_ctrl_host_stats(const berth_ctrl_host *h);
/* The number of controllers that loaded. */
size_t berth_ctrl_host_count(const berth_ctrl_host *h);

#endif
