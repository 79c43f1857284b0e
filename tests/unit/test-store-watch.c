/* The embedded store's watches: replay from a revision, live delivery of
 * durable writes, prefix filtering, expiry and cancellation. */
#include <stdio.h>

#include "test-store.h"

typedef struct watch_rec {
    int n;
    int err;
    bool ended;
    int64_t revs[256];
    int types[256];
    char keys[256][24];
    char vals[256][24];
    char prevs[256][24];
    berth_store *s;
    berth_watch *w;
    int cancel_at; /* cancel from inside the callback at this count */
} watch_rec;

static void watch_cb(void *arg, int err, const berth_event *ev)
{
    watch_rec *r = arg;
    if (err) {
        CHECK(!r->ended);
        r->ended = true;
        r->err = err;
        CHECK(ev == NULL);
        return;
    }
    CHECK(!r->ended);
    if (r->n < 256) {
        r->revs[r->n] = ev->kv.mod_rev;
        r->types[r->n] = ev->type;
        snprintf(r->keys[r->n], 24, "%s", ev->kv.key);
        snprintf(r->vals[r->n], 24, "%s", ev->kv.val ? ev->kv.val->data : "");
        snprintf(r->prevs[r->n], 24, "%s", ev->prev.val ? ev->prev.val->data : "");
    }
    r->n++;
    if (r->cancel_at && r->n == r->cancel_at)
        berth_store_watch_cancel(r->s, r->w);
}

static void spin(struct event_base *b, int turns)
{
    for (int i = 0; i < turns; i++)
        event_base_loop(b, EVLOOP_NONBLOCK);
}

BERTH_TEST(store_watch_replays_then_delivers_live)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    TS_CREATE_OK(b, s, "/pods/a", "a1");                 /* 1 */
    TS_CREATE_OK(b, s, "/nodes/n", "n1");                /* 2 */
    ts_do(b, s, TS_UPDATE, "/pods/a", "a2", 1);          /* 3 */
    TS_CREATE_OK(b, s, "/pods/b", "b1");                 /* 4 */

    watch_rec r = {0};
    CHECK_INT(berth_store_watch(s, "/pods/", 1, watch_cb, &r, &r.w), 0);
    /* Replay waits for the loop, never inside the call. */
    CHECK_INT(r.n, 0);
    spin(b, 3);
    CHECK_INT(r.n, 2);
    CHECK_INT(r.revs[0], 3);
    CHECK_STR(r.vals[0], "a2");
    CHECK_STR(r.prevs[0], "a1");
    CHECK_INT(r.revs[1], 4);
    CHECK_STR(r.prevs[1], "");

    ts_do(b, s, TS_DELETE, "/pods/a", NULL, 0);          /* 5 */
    TS_CREATE_OK(b, s, "/nodes/m", "m1");                /* 6 */
    TS_CREATE_OK(b, s, "/pods/c", "c1");                 /* 7 */
    CHECK_INT(r.n, 4);
    CHECK_INT(r.types[2], BERTH_EVENT_DELETE);
    CHECK_INT(r.revs[2], 5);
    CHECK_STR(r.keys[2], "/pods/a");
    CHECK_STR(r.vals[2], "a2");
    CHECK_INT(r.revs[3], 7);

    /* A watch from now sees only what follows. */
    watch_rec now = {0}, all = {0};
    CHECK_INT(berth_store_watch(s, "", 0, watch_cb, &now, &now.w), 0);
    CHECK_INT(berth_store_watch(s, NULL, 0, watch_cb, &all, &all.w), 0);
    spin(b, 3);
    CHECK_INT(now.n, 0);
    TS_CREATE_OK(b, s, "/x", "x");                       /* 8 */
    CHECK_INT(now.n, 1);
    CHECK_INT(now.revs[0], 8);
    CHECK_INT(all.n, 1);

    berth_store_close(s);
    CHECK(r.ended && r.err == BERTH_ECANCELED);
    CHECK(now.ended && now.err == BERTH_ECANCELED);
    event_base_free(b);
}

BERTH_TEST(store_watch_sees_only_durable_writes)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    watch_rec r = {0};
    CHECK_INT(berth_store_watch(s, "", 0, watch_cb, &r, &r.w), 0);
    ts_result w = {0};
    berth_val *v = berth_val_new("v", 1);
    CHECK_INT(berth_store_create(s, "/k", v, ts_store_cb, &w), 0);
    berth_val_unref(v);
    CHECK_INT(r.n, 0);
    ts_run_until(b, &w.done);
    CHECK_INT(r.n, 1);
    berth_store_close(s);
    event_base_free(b);
}

BERTH_TEST(store_watch_expired_revision)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 3, 0, &s), 0);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "/k%d", i);
        TS_CREATE_OK(b, s, key, "v");
    }
    /* Events 6, 7, 8 are kept: a watch may start after 5 but not 4. */
    CHECK_INT(s->ops->oldest_revision(s), 5);
    watch_rec r = {0};
    berth_watch *w = NULL;
    CHECK_INT(berth_store_watch(s, "", 4, watch_cb, &r, &w), BERTH_EEXPIRED);
    CHECK(w == NULL);
    CHECK_INT(berth_store_watch(s, "", 5, watch_cb, &r, &r.w), 0);
    spin(b, 3);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.revs[0], 6);

    /* A watch whose replay falls behind the window ends with EEXPIRED. */
    watch_rec late = {0};
    CHECK_INT(berth_store_watch(s, "", 5, watch_cb, &late, &late.w), 0);
    berth_val *v = berth_val_new("v", 1);
    ts_result done = {0};
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "/j%d", i);
        CHECK_INT(berth_store_create(s, key, v, i == 4 ? ts_store_cb : NULL, &done), 0);
    }
    berth_val_unref(v);
    ts_run_until(b, &done.done);
    spin(b, 3);
    /* Either it replayed before the burst became durable, or it expired. */
    CHECK(late.n == 8 || (late.ended && late.err == BERTH_EEXPIRED));
    CHECK_INT(r.n, 8);
    berth_store_close(s);
    event_base_free(b);
}

BERTH_TEST(store_watch_cancel_inside_callback)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "/k%d", i);
        TS_CREATE_OK(b, s, key, "v");
    }
    /* During replay. */
    watch_rec r = {.s = s, .cancel_at = 2};
    CHECK_INT(berth_store_watch(s, "", 1, watch_cb, &r, &r.w), 0);
    /* During live delivery, with another watch beside it. */
    watch_rec live = {.s = s, .cancel_at = 1}, other = {0};
    CHECK_INT(berth_store_watch(s, "", 0, watch_cb, &live, &live.w), 0);
    CHECK_INT(berth_store_watch(s, "", 0, watch_cb, &other, &other.w), 0);
    spin(b, 3);
    CHECK_INT(r.n, 2);
    TS_CREATE_OK(b, s, "/m1", "v");
    TS_CREATE_OK(b, s, "/m2", "v");
    CHECK_INT(r.n, 2);
    CHECK_INT(live.n, 1);
    CHECK_INT(other.n, 2);
    /* An ordinary cancel outside any callback. */
    berth_store_watch_cancel(s, other.w);
    TS_CREATE_OK(b, s, "/m3", "v");
    CHECK_INT(other.n, 2);
    berth_store_close(s);
    CHECK(!r.ended && !live.ended && !other.ended);
    event_base_free(b);
}

typedef struct chain {
    berth_store *s;
    struct event_base *b;
    int writes;
} chain;

/* A watch callback that writes: the write is queued and shows up later. */
static void chain_cb(void *arg, int err, const berth_event *ev)
{
    chain *c = arg;
    if (err || c->writes >= 3)
        return;
    char key[32];
    snprintf(key, sizeof key, "/chain/%d", ++c->writes);
    berth_val *v = berth_val_new("v", 1);
    CHECK_INT(berth_store_create(c->s, key, v, NULL, NULL), 0);
    berth_val_unref(v);
}

BERTH_TEST(store_watch_callback_may_write)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    chain c = {s, b, 0};
    berth_watch *w;
    CHECK_INT(berth_store_watch(s, "/chain/", 0, chain_cb, &c, &w), 0);
    TS_CREATE_OK(b, s, "/chain/0", "v");
    for (int i = 0; i < 50 && berth_store_revision(s) < 4; i++)
        event_base_loop(b, EVLOOP_ONCE);
    CHECK_INT(berth_store_revision(s), 4);
    CHECK_INT(s->ops->count(s, "/chain/"), 4);
    berth_store_close(s);
    event_base_free(b);
}
