/* The embedded store's own watch behaviour: only durable writes, a replay
 * that falls behind the history ring. What every backend does is in
 * test-store-conformance.c. */
#include <stdio.h>

#include "test-store.h"

static void spin(struct event_base *b, int turns)
{
    for (int i = 0; i < turns; i++)
        event_base_loop(b, EVLOOP_NONBLOCK);
}

BERTH_TEST(store_watch_sees_only_durable_writes)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    ts_watch_rec r = {0};
    CHECK_INT(berth_store_watch(s, "", 0, ts_watch_cb, &r, &r.w), 0);
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
    ts_watch_rec r = {0};
    berth_watch *w = NULL;
    CHECK_INT(berth_store_watch(s, "", 4, ts_watch_cb, &r, &w), BERTH_EEXPIRED);
    CHECK(w == NULL);
    CHECK_INT(berth_store_watch(s, "", 5, ts_watch_cb, &r, &r.w), 0);
    spin(b, 3);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.revs[0], 6);

    /* A watch whose replay falls behind the window ends with EEXPIRED. */
    ts_watch_rec late = {0};
    CHECK_INT(berth_store_watch(s, "", 5, ts_watch_cb, &late, &late.w), 0);
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
