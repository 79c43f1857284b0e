#include <event2/event.h>
#include <string.h>

#include "client/workqueue.h"
#include "test.h"

typedef struct {
    berth_workqueue *q;
    char seen[64][32];
    int n;
    int fail_first; /* fail this many times before succeeding */
    int hold;       /* do not call done: keep the key active */
} recorder;

static void record(void *arg, const char *key)
{
    recorder *r = arg;
    if (r->n < 64)
        strncpy(r->seen[r->n++], key, 31);
    if (r->hold)
        return;
    if (r->fail_first > 0) {
        r->fail_first--;
        berth_workqueue_done(r->q, key, -1);
    } else {
        berth_workqueue_done(r->q, key, 0);
    }
}

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = {0, ms * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

BERTH_TEST(workqueue_dedupes_waiting_keys)
{
    struct event_base *base = event_base_new();
    recorder r = {0};
    berth_workqueue_opts o = {.base = base, .fn = record, .arg = &r};
    CHECK_INT(berth_workqueue_new(&o, &r.q), 0);
    berth_workqueue_add(r.q, "ns/a");
    berth_workqueue_add(r.q, "ns/b");
    berth_workqueue_add(r.q, "ns/a");
    run_for(base, 20);
    CHECK_INT(r.n, 2);
    CHECK_STR(r.seen[0], "ns/a");
    CHECK_STR(r.seen[1], "ns/b");
    berth_workqueue_stats st;
    berth_workqueue_get_stats(r.q, &st);
    CHECK_INT(st.depth, 0);
    CHECK_INT(st.processed, 2);
    berth_workqueue_free(r.q);
    event_base_free(base);
}

BERTH_TEST(workqueue_never_runs_a_key_twice_at_once)
{
    struct event_base *base = event_base_new();
    recorder r = {.hold = 1};
    berth_workqueue_opts o = {.base = base, .fn = record, .arg = &r, .max_active = 4};
    CHECK_INT(berth_workqueue_new(&o, &r.q), 0);
    berth_workqueue_add(r.q, "ns/a");
    run_for(base, 10);
    CHECK_INT(r.n, 1);
    /* Added while active: not handed out again until done. */
    berth_workqueue_add(r.q, "ns/a");
    berth_workqueue_add(r.q, "ns/a");
    run_for(base, 10);
    CHECK_INT(r.n, 1);
    r.hold = 0;
    berth_workqueue_done(r.q, "ns/a", 0);
    run_for(base, 10);
    CHECK_INT(r.n, 2); /* exactly one more run for the adds meanwhile */
    berth_workqueue_free(r.q);
    event_base_free(base);
}

BERTH_TEST(workqueue_retries_failures_with_growing_backoff)
{
    struct event_base *base = event_base_new();
    recorder r = {.fail_first = 3};
    berth_workqueue_opts o = {.base = base, .fn = record, .arg = &r, .base_delay_ms = 2,
                              .max_delay_ms = 8};
    CHECK_INT(berth_workqueue_new(&o, &r.q), 0);
    CHECK_INT(berth_workqueue_backoff(r.q, "ns/x"), 2);
    berth_workqueue_add(r.q, "ns/x");
    run_for(base, 200);
    CHECK_INT(r.n, 4); /* three failures, then success */
    CHECK_INT(berth_workqueue_backoff(r.q, "ns/x"), 2); /* forgotten on success */
    berth_workqueue_stats st;
    berth_workqueue_get_stats(r.q, &st);
    CHECK_INT(st.retries, 3);
    berth_workqueue_free(r.q);
    event_base_free(base);
}

BERTH_TEST(workqueue_backoff_is_capped)
{
    struct event_base *base = event_base_new();
    recorder r = {.hold = 1};
    berth_workqueue_opts o = {.base = base, .fn = record, .arg = &r, .base_delay_ms = 10,
                              .max_delay_ms = 40};
    CHECK_INT(berth_workqueue_new(&o, &r.q), 0);
    berth_workqueue_add(r.q, "k");
    uint32_t want[] = {10, 20, 40, 40};
    for (int i = 0; i < 4; i++) {
        run_for(base, 60);
        CHECK_INT(r.n, i + 1);
        CHECK_INT(berth_workqueue_backoff(r.q, "k"), want[i]);
        berth_workqueue_done(r.q, "k", -1);
    }
    berth_workqueue_free(r.q); /* frees a pending delayed key too */
    event_base_free(base);
}

BERTH_TEST(workqueue_starts_paused_until_resumed)
{
    struct event_base *base = event_base_new();
    recorder r = {0};
    berth_workqueue_opts o = {.base = base, .fn = record, .arg = &r, .start_paused = true};
    CHECK_INT(berth_workqueue_new(&o, &r.q), 0);
    berth_workqueue_add(r.q, "ns/a");
    run_for(base, 10);
    CHECK_INT(r.n, 0);
    berth_workqueue_resume(r.q);
    run_for(base, 10);
    CHECK_INT(r.n, 1);
    berth_workqueue_free(r.q);
    event_base_free(base);
}
