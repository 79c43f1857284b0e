/* The embedded store's own behaviour: pending writes, durability of
 * reads, the directory lock, stats. What every backend does is in
 * test-store-conformance.c. */
#include <stdio.h>

#include "test-store.h"

typedef struct pipeline {
    int done;
    int64_t last_rev;
    bool ordered;
} pipeline;

static void pipeline_cb(void *arg, const berth_store_result *r)
{
    pipeline *p = arg;
    if (r->err || r->rev <= p->last_rev)
        p->ordered = false;
    p->last_rev = r->rev;
    p->done++;
}

BERTH_TEST(store_revisions_increase_and_a_cas_sees_pending_writes)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    pipeline p = {.ordered = true};
    char key[32];
    berth_val *v = berth_val_new("x", 1);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "/p/%04d", i);
        CHECK_INT(berth_store_create(s, key, v, pipeline_cb, &p), 0);
    }
    /* Written but not yet durable: a second create and a CAS at the
     * revision the first will get both see it. */
    ts_result dup = {0}, upd = {0};
    CHECK_INT(berth_store_create(s, "/p/0000", v, ts_store_cb, &dup), 0);
    CHECK_INT(berth_store_update(s, "/p/0001", v, 2, ts_store_cb, &upd), 0);
    berth_val_unref(v);
    ts_run_until(b, &upd.done);
    CHECK(dup.done);
    CHECK_INT(p.done, 500);
    CHECK(p.ordered);
    CHECK_INT(dup.err, BERTH_EEXISTS);
    CHECK_INT(upd.err, 0);
    CHECK_INT(upd.rev, 501);
    CHECK_INT(berth_store_revision(s), 501);
    CHECK_INT(s->ops->count(s, "/p/"), 500);
    CHECK_INT(s->ops->count(s, "/p/01"), 100);
    berth_store_close(s);
    event_base_free(b);
}

static ts_page_rec list(berth_store *s, const char *prefix, const char *start, int64_t rev,
                     size_t limit)
{
    ts_page_rec r = {0};
    CHECK_INT(berth_store_list(s, prefix, start, rev, limit, ts_page_cb, &r), 0);
    CHECK(r.done);
    return r;
}

BERTH_TEST(store_reads_show_only_durable_writes)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    TS_CREATE_OK(b, s, "/a", "old");
    TS_CREATE_OK(b, s, "/gone", "here");
    ts_result w1 = {0}, w2 = {0}, w3 = {0};
    berth_val *v = berth_val_new("new", 3);
    CHECK_INT(berth_store_update(s, "/a", v, 0, ts_store_cb, &w1), 0);
    CHECK_INT(berth_store_create(s, "/b", v, ts_store_cb, &w2), 0);
    CHECK_INT(berth_store_delete(s, "/gone", 0, ts_store_cb, &w3), 0);
    berth_val_unref(v);
    /* Before the loop runs, nothing is durable. */
    ts_result g = {0};
    CHECK_INT(berth_store_get(s, "/a", ts_store_cb, &g), 0);
    CHECK_STR(g.val, "old");
    CHECK_INT(g.rev, 2);
    g = (ts_result){0};
    CHECK_INT(berth_store_get(s, "/b", ts_store_cb, &g), 0);
    CHECK_INT(g.err, BERTH_ENOTFOUND);
    g = (ts_result){0};
    CHECK_INT(berth_store_get(s, "/gone", ts_store_cb, &g), 0);
    CHECK_STR(g.val, "here");
    ts_page_rec p = list(s, "", NULL, 0, 0);
    CHECK_INT(p.n, 2);
    CHECK_STR(p.vals[0], "old");
    CHECK_STR(p.keys[1], "/gone");
    ts_run_until(b, &w3.done);
    g = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_STR(g.val, "new");
    p = list(s, "", NULL, 0, 0);
    CHECK_INT(p.n, 2);
    CHECK_STR(p.keys[1], "/b");
    berth_store_close(s);
    event_base_free(b);
}

BERTH_TEST(store_second_opener_is_refused)
{
    struct event_base *b = event_base_new();
    berth_store *s, *s2 = NULL;
    const char *dir = berth_test_tmpdir();
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    CHECK_INT(ts_open(b, dir, 0, 0, &s2), BERTH_ELOCKED);
    CHECK(s2 == NULL);
    berth_store_close(s);
    CHECK_INT(ts_open(b, dir, 0, 0, &s2), 0);
    berth_store_close(s2);
    event_base_free(b);
}

BERTH_TEST(store_stats_count_keys_and_group_commits)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    const char *dir = berth_test_tmpdir();
    berth_mem_options o = {.dir = dir, .base = b, .snapshot_log_bytes = 1000};
    CHECK_INT(berth_store_mem_open(&o, &s), 0);
    pipeline p = {.ordered = true};
    berth_val *v = berth_val_new("value", 5);
    char key[32];
    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof key, "/s/%d", i);
        CHECK_INT(berth_store_create(s, key, v, pipeline_cb, &p), 0);
    }
    berth_val_unref(v);
    berth_mem_stats st;
    CHECK_INT(berth_store_mem_stats(s, &st), 0);
    CHECK_INT(st.pending_writes, 64);
    CHECK_INT(st.keys, 64);
    while (p.done < 64)
        event_base_loop(b, EVLOOP_ONCE);
    CHECK_INT(berth_store_mem_stats(s, &st), 0);
    CHECK_INT(st.revision, 64);
    CHECK_INT(st.pending_writes, 0);
    /* 64 writes submitted in one turn share a few fsyncs, not 64. */
    CHECK(st.fsyncs >= 1 && st.fsyncs <= 8);
    CHECK(st.snapshots <= 1);
    berth_store_close(s);
    event_base_free(b);
}
