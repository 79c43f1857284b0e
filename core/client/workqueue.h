/* A work queue of object keys ("ns/name"), as client-go's: a key waiting is
 * queued once however often it is added; a key being processed is never
 * handed out again until it is done (added meanwhile, it runs once more
 * after); failures retry with per-key exponential backoff. Processing may be
 * asynchronous: the handler gets a key and calls berth_workqueue_done later.
 * Single-threaded, on the loop given. */
#ifndef BERTH_CLIENT_WORKQUEUE_H
#define BERTH_CLIENT_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct berth_workqueue berth_workqueue;

/* Called for each key to process; key is borrowed until done. */
typedef void (*berth_workqueue_fn)(void *arg, const char *key);

typedef struct berth_workqueue_opts {
    struct event_base *base;
    berth_workqueue_fn fn;
    void *arg;
    unsigned max_active;       /* keys processed at once (0: 1) */
    unsigned batch;            /* keys started per loop turn (0: 64) */
    uint32_t base_delay_ms;    /* first retry delay (0: 5 ms) */
    uint32_t max_delay_ms;     /* backoff cap (0: 5 minutes) */
    bool start_paused;         /* queue keys but start none until resumed */
} berth_workqueue_opts;

typedef struct berth_workqueue_stats {
    size_t depth;   /* keys waiting, ready or delayed */
    size_t active;  /* keys being processed */
    uint64_t processed;
    uint64_t retries;
} berth_workqueue_stats;

/* *out is freed with berth_workqueue_free (keys in flight are dropped). */
int berth_workqueue_new(const berth_workqueue_opts *o, berth_workqueue **out);
void berth_workqueue_free(berth_workqueue *q);
int berth_workqueue_add(berth_workqueue *q, const char *key);
/* Adds key after delay_ms (an earlier pending delay for it wins). */
int berth_workqueue_add_after(berth_workqueue *q, const char *key, uint32_t delay_ms);
/* Starts handing out keys (after start_paused). */
void berth_workqueue_resume(berth_workqueue *q);
/* Ends processing of key. retry_ms < 0: it failed, retry with backoff;
 * 0: it succeeded, forget its failures; > 0: run it again after retry_ms. */
void berth_workqueue_done(berth_workqueue *q, const char *key, int64_t retry_ms);
/* The delay the next failure of key would get (for logs and tests). */
uint32_t berth_workqueue_backoff(const berth_workqueue *q, const char *key);
void berth_workqueue_get_stats(const berth_workqueue *q, berth_workqueue_stats *s);

#endif
