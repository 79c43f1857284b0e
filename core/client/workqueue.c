#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "client/workqueue.h"
#include "util/hmap.h"

/* Per-key state, kept while the key is queued, delayed, active or has
 * failures on record. */
typedef struct keystate {
    berth_workqueue *q;
    char *key;           /* the same bytes as the map's key; owned here */
    unsigned queued : 1; /* waiting in the ready ring */
    unsigned active : 1; /* handed to fn, not yet done */
    unsigned dirty : 1;  /* added while active: run again after done */
    uint32_t failures;
    struct event *timer; /* a pending add_after, or NULL */
} keystate;

struct berth_workqueue {
    berth_workqueue_opts o;
    berth_hmap keys;     /* key -> keystate */
    keystate **ring;     /* ready keys, FIFO */
    size_t head, len, cap;
    size_t active, delayed;
    uint64_t processed, retries;
    struct event *dispatch;
    bool paused;
};

static void schedule_dispatch(berth_workqueue *q)
{
    if (!q->paused && q->len && q->active < q->o.max_active)
        event_active(q->dispatch, EV_TIMEOUT, 0);
}

static int ring_push(berth_workqueue *q, keystate *k)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        keystate **ring = malloc(cap * sizeof *ring);
        if (!ring)
            return BERTH_ENOMEM;
        for (size_t i = 0; i < q->len; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->len) % q->cap] = k;
    q->len++;
    k->queued = 1;
    schedule_dispatch(q);
    return 0;
}

static keystate *state_for(berth_workqueue *q, const char *key)
{
    keystate *k = berth_hmap_get(&q->keys, key);
    if (k)
        return k;
    k = calloc(1, sizeof *k);
    if (!k || !(k->key = strdup(key)) || berth_hmap_put(&q->keys, key, k, NULL) != 0) {
        if (k)
            free(k->key);
        free(k);
        return NULL;
    }
    k->q = q;
    return k;
}

/* Drops the state once nothing refers to it any more. */
static void maybe_release(berth_workqueue *q, keystate *k)
{
    if (k->queued || k->active || k->timer || k->failures)
        return;
    berth_hmap_del(&q->keys, k->key);
    free(k->key);
    free(k);
}

int berth_workqueue_add(berth_workqueue *q, const char *key)
{
    keystate *k = state_for(q, key);
    if (!k)
        return BERTH_ENOMEM;
    if (k->queued)
        return 0;
    if (k->active) {
        k->dirty = 1;
        return 0;
    }
    return ring_push(q, k);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    keystate *k = arg;
    berth_workqueue *q = k->q;
    event_free(k->timer);
    k->timer = NULL;
    q->delayed--;
    if (berth_workqueue_add(q, k->key) != 0)
        maybe_release(q, k);
}

int berth_workqueue_add_after(berth_workqueue *q, const char *key, uint32_t delay_ms)
{
    if (delay_ms == 0)
        return berth_workqueue_add(q, key);
    keystate *k = state_for(q, key);
    if (!k)
        return BERTH_ENOMEM;
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    if (k->timer) {
        /* Keep the earlier of the two deadlines. */
        struct timeval left;
        if (event_pending(k->timer, EV_TIMEOUT, &left)) {
            struct timeval now, want;
            event_base_gettimeofday_cached(q->o.base, &now);
            evutil_timeradd(&now, &tv, &want);
            if (evutil_timercmp(&left, &want, <=))
                return 0;
        }
        event_add(k->timer, &tv);
        return 0;
    }
    k->timer = evtimer_new(q->o.base, on_delay, k);
    if (!k->timer) {
        maybe_release(q, k);
        return BERTH_ENOMEM;
    }
    q->delayed++;
    event_add(k->timer, &tv);
    return 0;
}

void berth_workqueue_resume(berth_workqueue *q)
{
    q->paused = false;
    schedule_dispatch(q);
}

uint32_t berth_workqueue_backoff(const berth_workqueue *q, const char *key)
{
    const keystate *k = berth_hmap_get(&q->keys, key);
    uint32_t failures = k ? k->failures : 0;
    uint64_t d = q->o.base_delay_ms;
    for (uint32_t i = 0; i < failures && d < q->o.max_delay_ms; i++)
        d *= 2;
    return d > q->o.max_delay_ms ? q->o.max_delay_ms : (uint32_t)d;
}

void berth_workqueue_done(berth_workqueue *q, const char *key, int64_t retry_ms)
{
    keystate *k = berth_hmap_get(&q->keys, key);
    if (!k || !k->active)
        return;
    k->active = 0;
    q->active--;
    q->processed++;
    if (retry_ms < 0) {
        uint32_t delay = berth_workqueue_backoff(q, key);
        k->failures++;
        q->retries++;
        berth_workqueue_add_after(q, k->key, delay);
    } else {
        k->failures = 0;
        if (retry_ms > 0)
            berth_workqueue_add_after(q, k->key,
                                      retry_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)retry_ms);
    }
    if (k->dirty) {
        k->dirty = 0;
        berth_workqueue_add(q, k->key);
    }
    maybe_release(q, k);
    schedule_dispatch(q);
}

/* Starts up to `batch` keys per loop turn, so a long queue never starves the
 * loop's other work. */
static void dispatch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_workqueue *q = arg;
    for (unsigned n = 0; !q->paused && n < q->o.batch && q->len && q->active < q->o.max_active;
         n++) {
        keystate *k = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        k->queued = 0;
        k->active = 1;
        q->active++;
        q->o.fn(q->o.arg, k->key);
    }
    schedule_dispatch(q);
}

int berth_workqueue_new(const berth_workqueue_opts *o, berth_workqueue **out)
{
    berth_workqueue *q = calloc(1, sizeof *q);
    if (!q)
        return BERTH_ENOMEM;
    q->o = *o;
    if (!q->o.max_active)
        q->o.max_active = 1;
    if (!q->o.batch)
        q->o.batch = 64;
    if (!q->o.base_delay_ms)
        q->o.base_delay_ms = 5;
    if (!q->o.max_delay_ms)
        q->o.max_delay_ms = 5 * 60 * 1000;
    q->paused = o->start_paused;
    q->dispatch = event_new(o->base, -1, 0, dispatch, q);
    if (!q->dispatch) {
        free(q);
        return BERTH_ENOMEM;
    }
    *out = q;
    return 0;
}

void berth_workqueue_free(berth_workqueue *q)
{
    if (!q)
        return;
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(&q->keys, i, &s)) != 0;) {
        keystate *k = s->value;
        if (k->timer)
            event_free(k->timer);
        free(k->key);
        free(k);
    }
    berth_hmap_free(&q->keys);
    event_free(q->dispatch);
    free(q->ring);
    free(q);
}

void berth_workqueue_get_stats(const berth_workqueue *q, berth_workqueue_stats *s)
{
    s->depth = q->len + q->delayed;
    s->active = q->active;
    s->processed = q->processed;
    s->retries = q->retries;
}
