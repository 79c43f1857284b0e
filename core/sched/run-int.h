/* The running scheduler's state, shared by run.c (informers and the
 * decision loop), act.c (carrying decisions out through the API) and
 * evict.c (NoExecute taint evictions). */
#ifndef BERTH_SCHED_RUN_INT_H
#define BERTH_SCHED_RUN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "client/informer.h"
#include "sched/run.h"

/* One API write in flight. The scheduler owns it until its reply: the
 * client drops replies when it is freed, so the scheduler frees what is
 * left in berth_scheduler_free. */
typedef struct sched_op {
    berth_scheduler *s;
    struct sched_op *prev, *next;
    int type;
    char *ns, *name, *uid; /* in buf */
    char buf[];
} sched_op;

/* A pod a NoExecute taint evicts at a time (epoch milliseconds). */
typedef struct sched_eviction {
    char *key;    /* "ns/name" */
    char *uid;
    char *node;
    int64_t at_ms;
} sched_eviction;

struct berth_scheduler {
    struct event_base *base;
    berth_client *client;
    berth_sched *core;
    berth_informer *nodes, *pods, *nss;
    berth_informer *claims, *volumes; /* for bound volumes' node affinity */
    bool pods_started;
    struct event *work;   /* decides a batch; made active when work arrives */
    struct event *wakeup; /* the core's next backoff or unschedulable expiry */
    struct event *sync;   /* polls the informers until their first lists */
    struct event *evict_timer;
    bool synced;
    size_t batch, max_inflight, inflight;
    sched_op *ops;
    sched_eviction *ev;
    size_t nev, evcap;
    uint64_t seq; /* Event names */
    uint64_t decisions, binds, bind_failures, unschedulable, status_updates,
        preemptions, evictions, write_failures;
};

/* run.c */
int64_t sched_mono_ms(void);
/* Work arrived: decide on the next loop turn. */
void sched_kick(berth_scheduler *s);

/* act.c */
void act_decision(berth_scheduler *s, const berth_sched_decision *d);
/* Deletes a pod (a preemption victim or an eviction), with its uid as a
 * precondition so a pod recreated under the same name is spared. */
void act_delete_pod(berth_scheduler *s, const char *ns, const char *name, const char *uid,
                    const char *why);
/* Records a core/v1 Event about a pod. */
void act_event(berth_scheduler *s, const cJSON *pod, const char *type, const char *reason,
               const char *message);
void act_free(berth_scheduler *s);

/* evict.c */
/* old is the previous version (NULL when new); only taint changes count. */
void evict_node_changed(berth_scheduler *s, const cJSON *old, const cJSON *node);
void evict_node_deleted(berth_scheduler *s, const char *name);
void evict_pod_changed(berth_scheduler *s, const cJSON *pod);
void evict_free(berth_scheduler *s);

#endif
