/* The scheduler at work: the core (include/berth/sched.h) fed by informers
 * on Nodes, Pods and Namespaces through a berth_client, its decisions
 * carried out through the API (Bindings, PodScheduled conditions, Events,
 * preemption and NoExecute evictions). Runs on one event loop; the same code
 * serves `berthd server` (a client to its own loopback listener) and
 * `berthd scheduler` (a client to a remote server). */
#ifndef BERTH_SCHED_RUN_H
#define BERTH_SCHED_RUN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "berth/client.h"
#include "berth/sched.h"

struct event_base;
typedef struct berth_scheduler berth_scheduler;

typedef struct berth_scheduler_opts {
    struct event_base *base;
    berth_client *client;          /* borrowed; freed by the caller, first */
    const berth_sched_config *cfg; /* NULL: the defaults; copied */
    size_t batch;                  /* decisions per loop turn (0: 256) */
    size_t max_inflight;           /* API writes in flight at once (0: 256) */
} berth_scheduler_opts;

/* Creates the core, starts the informers and waits, on the loop, for their
 * first lists before deciding anything. *out is freed with
 * berth_scheduler_free, after the client (which drops calls in flight
 * without calling them back). Returns 0, BERTH_ENOMEM, or the core's error
 * (a plugin that fails to load) with the message in err. */
int berth_scheduler_start(const berth_scheduler_opts *o, berth_scheduler **out, char *err,
                          size_t errlen);
void berth_scheduler_free(berth_scheduler *s);

/* Counters for /debug/scheduler: nodes, pods bound/assumed/queued (from the
 * core), decisions, bindings sent/failed, unschedulable updates,
 * preemptions, evictions, writes in flight. The caller owns the result. */
cJSON *berth_scheduler_stats(const berth_scheduler *s);

/* Reads and parses a scheduler configuration file. On success the caller
 * frees *out with berth_sched_config_free; on failure err names the file
 * and the fault. */
int berth_scheduler_config_load(const char *path, berth_sched_config **out, char *err,
                                size_t errlen);

/* `berthd scheduler --kubeconfig FILE [--config FILE]` (standalone.c):
 * runs the scheduler against the API server of a kubeconfig until
 * SIGINT/SIGTERM. argv holds the subcommand's flags. Returns the process
 * exit code. */
int berth_scheduler_main(int argc, char **argv);

#endif
