/* The embedded store: reads, compare-and-swap writes, revisions, lists. */
#include <stdio.h>

#include "test-store.h"

BERTH_TEST(store_create_get_update_delete)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    CHECK_INT(berth_store_revision(s), 0);

    ts_result r = ts_do(b, s, TS_CREATE, "/a", "one", 0);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, 1);
    CHECK_INT(r.create_rev, 1);
    CHECK_INT(r.mod_rev, 1);
    CHECK_STR(r.val, "one");
    CHECK_INT(berth_store_revision(s), 1);

    r = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_INT(r.err, 0);
    CHECK_STR(r.val, "one");
    CHECK_INT(r.mod_rev, 1);
    CHECK_INT(r.rev, 1);

    r = ts_do(b, s, TS_UPDATE, "/a", "two", 1);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, 2);
    CHECK_INT(r.create_rev, 1);
    CHECK_INT(r.mod_rev, 2);
    CHECK_STR(r.val, "two");

    r = ts_do(b, s, TS_UPDATE, "/a", "three", 0);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.mod_rev, 3);

    r = ts_do(b, s, TS_DELETE, "/a", NULL, 3);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, 4);
    CHECK_STR(r.val, "three");
    CHECK_INT(r.mod_rev, 3);

    r = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);
    CHECK(!r.has_val);
    CHECK_INT(s->ops->count(s, ""), 0);

    /* A key's new life gets a new create revision. */
    r = ts_do(b, s, TS_CREATE, "/a", "again", 0);
    CHECK_INT(r.create_rev, 5);
    berth_store_close(s);
    event_base_free(b);
}

BERTH_TEST(store_conflicts_carry_the_current_value)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    TS_CREATE_OK(b, s, "/k", "v1");

    ts_result r = ts_do(b, s, TS_CREATE, "/k", "other", 0);
    CHECK_INT(r.err, BERTH_EEXISTS);
    CHECK_STR(r.val, "v1");
    CHECK_INT(r.mod_rev, 1);

    r = ts_do(b, s, TS_UPDATE, "/k", "v2", 7);
    CHECK_INT(r.err, BERTH_ECONFLICT);
    CHECK_STR(r.val, "v1");
    CHECK_INT(r.mod_rev, 1);

    r = ts_do(b, s, TS_DELETE, "/k", NULL, 9);
    CHECK_INT(r.err, BERTH_ECONFLICT);
    CHECK_STR(r.val, "v1");

    r = ts_do(b, s, TS_UPDATE, "/missing", "x", 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);
    CHECK(!r.has_val);
    r = ts_do(b, s, TS_DELETE, "/missing", NULL, 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);

    /* Failures take no revision. */
    CHECK_INT(berth_store_revision(s), 1);
    r = ts_do(b, s, TS_UPDATE, "/k", "v2", 1);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, 2);

    /* Bad arguments fail at once, without a callback. */
    ts_result never = {0};
    CHECK_INT(berth_store_create(s, "", NULL, ts_store_cb, &never), BERTH_EINVAL);
    CHECK_INT(berth_store_update(s, NULL, NULL, 0, ts_store_cb, &never), BERTH_EINVAL);
    CHECK(!never.done);
    berth_store_close(s);
    event_base_free(b);
}

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

typedef struct page_rec {
    bool done;
    int err;
    int64_t rev;
    size_t n;
    char keys[64][32];
    char vals[64][32];
    char next[32];
} page_rec;

static void page_cb(void *arg, const berth_store_page *p)
{
    page_rec *r = arg;
    r->done = true;
    r->err = p->err;
    r->rev = p->rev;
    r->n = p->n;
    for (size_t i = 0; i < p->n && i < 64; i++) {
        snprintf(r->keys[i], 32, "%s", p->items[i].key);
        snprintf(r->vals[i], 32, "%s", p->items[i].val->data);
    }
    snprintf(r->next, 32, "%s", p->next_key ? p->next_key : "");
}

static page_rec list(berth_store *s, const char *prefix, const char *start, int64_t rev,
                     size_t limit)
{
    page_rec r = {0};
    CHECK_INT(berth_store_list(s, prefix, start, rev, limit, page_cb, &r), 0);
    CHECK(r.done);
    return r;
}

BERTH_TEST(store_list_prefix_and_paging_at_a_fixed_revision)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 0, 0, &s), 0);
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/pods/%d", i);
        TS_CREATE_OK(b, s, key, "v0");
    }
    TS_CREATE_OK(b, s, "/pods", "not under the prefix");
    TS_CREATE_OK(b, s, "/podsx/1", "neither");
    TS_CREATE_OK(b, s, "/nodes/1", "neither");

    page_rec p = list(s, "/pods/", NULL, 0, 4);
    CHECK_INT(p.err, 0);
    CHECK_INT(p.n, 4);
    CHECK_STR(p.keys[0], "/pods/0");
    CHECK_STR(p.keys[3], "/pods/3");
    CHECK_STR(p.next, "/pods/4");
    int64_t rev = p.rev;
    CHECK_INT(rev, 13);

    /* Writes go on between pages: the later pages still show rev. */
    ts_do(b, s, TS_UPDATE, "/pods/5", "v1", 0);
    ts_do(b, s, TS_DELETE, "/pods/6", NULL, 0);
    TS_CREATE_OK(b, s, "/pods/55", "new");
    ts_do(b, s, TS_DELETE, "/pods/2", NULL, 0);

    p = list(s, "/pods/", "/pods/4", rev, 4);
    CHECK_INT(p.rev, rev);
    CHECK_INT(p.n, 4);
    CHECK_STR(p.keys[0], "/pods/4");
    CHECK_STR(p.keys[1], "/pods/5");
    CHECK_STR(p.vals[1], "v0");
    CHECK_STR(p.keys[2], "/pods/6");
    CHECK_STR(p.keys[3], "/pods/7");
    CHECK_STR(p.next, "/pods/8");
    p = list(s, "/pods/", p.next, rev, 4);
    CHECK_INT(p.n, 2);
    CHECK_STR(p.keys[1], "/pods/9");
    CHECK_STR(p.next, "");

    /* The current revision sees the writes. */
    p = list(s, "/pods/", NULL, 0, 0);
    CHECK_INT(p.rev, 17);
    CHECK_INT(p.n, 9);
    CHECK_STR(p.keys[2], "/pods/3");
    CHECK_STR(p.keys[4], "/pods/5");
    CHECK_STR(p.vals[4], "v1");
    CHECK_STR(p.keys[5], "/pods/55");
    CHECK_STR(p.keys[6], "/pods/7");

    p = list(s, "", NULL, 0, 0);
    CHECK_INT(p.n, 12);
    p = list(s, "/zzz", NULL, 0, 0);
    CHECK_INT(p.n, 0);
    p = list(s, "/pods/", "/pods/9", 0, 0);
    CHECK_INT(p.n, 1);
    p = list(s, "/pods/", NULL, 99, 0);
    CHECK_INT(p.err, BERTH_ERANGE);
    berth_store_close(s);
    event_base_free(b);
}

BERTH_TEST(store_list_at_an_expired_revision)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, berth_test_tmpdir(), 4, 0, &s), 0);
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/k/%d", i);
        TS_CREATE_OK(b, s, key, "v");
    }
    CHECK_INT(s->ops->oldest_revision(s), 6);
    page_rec p = list(s, "/k/", NULL, 5, 0);
    CHECK_INT(p.err, BERTH_EEXPIRED);
    p = list(s, "/k/", NULL, 6, 0);
    CHECK_INT(p.err, 0);
    CHECK_INT(p.n, 6);
    berth_store_close(s);
    event_base_free(b);
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
    page_rec p = list(s, "", NULL, 0, 0);
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

BERTH_TEST(store_close_finishes_writes_in_flight)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    const char *dir = berth_test_tmpdir();
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    pipeline p = {.ordered = true};
    berth_val *v = berth_val_new("x", 1);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "/c/%d", i);
        CHECK_INT(berth_store_create(s, key, v, pipeline_cb, &p), 0);
    }
    berth_val_unref(v);
    berth_store_close(s);
    CHECK_INT(p.done, 100);
    CHECK(p.ordered);
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    CHECK_INT(berth_store_revision(s), 100);
    CHECK_INT(s->ops->count(s, "/c/"), 100);
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
