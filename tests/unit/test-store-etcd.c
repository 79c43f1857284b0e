/* What only the etcd backend does: endpoint failover, failing fast while
 * etcd is down and recovering without a restart, watches that resume over
 * a restart of etcd, key prefixes and periodic compaction. */
#include <stdio.h>

#include "test-store.h"

static berth_store *open_etcd(struct event_base *b, const char *endpoints, const char *prefix)
{
    berth_etcd_options o = {.endpoints = endpoints, .base = b, .prefix = prefix,
                            .timeout_ms = 2000, .connect_timeout_ms = 300};
    berth_store *s = NULL;
    CHECK_INT(berth_store_etcd_open(&o, &s), 0);
    return s;
}

BERTH_TEST(store_etcd_open_refuses_bad_and_dead_endpoints)
{
    struct event_base *b = event_base_new();
    berth_store *s = NULL;
    berth_etcd_options o = {.endpoints = "127.0.0.1:2379", .base = b};
    CHECK_INT(berth_store_etcd_open(&o, &s), BERTH_EINVAL);
    o.endpoints = " , ";
    CHECK_INT(berth_store_etcd_open(&o, &s), BERTH_EINVAL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_free_port());
    o.endpoints = url;
    o.connect_timeout_ms = 200;
    CHECK_INT(berth_store_etcd_open(&o, &s), BERTH_EUNAVAILABLE);
    CHECK(s == NULL);
    event_base_free(b);
}

BERTH_TEST(store_etcd_fails_over_to_the_next_endpoint)
{
    ts_etcd e;
    if (!ts_etcd_start(&e))
        return;
    struct event_base *b = event_base_new();
    char eps[256];
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d/, %s", ts_free_port(), e.url);
    berth_store *s = open_etcd(b, eps, NULL);
    TS_CREATE_OK(b, s, "/a", "1");
    ts_result r = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_STR(r.val, "1");
    berth_store_close(s);
    event_base_free(b);
    ts_etcd_stop(&e);
}

BERTH_TEST(store_etcd_prefix_separates_stores)
{
    ts_etcd e;
    if (!ts_etcd_start(&e))
        return;
    struct event_base *b = event_base_new();
    berth_store *one = open_etcd(b, e.url, "/one"), *two = open_etcd(b, e.url, "/two");
    TS_CREATE_OK(b, one, "/k", "1");
    ts_result r = ts_do(b, two, TS_GET, "/k", NULL, 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);
    TS_CREATE_OK(b, two, "/k", "2");
    ts_page_rec p = {0};
    CHECK_INT(berth_store_list(one, "", NULL, 0, 0, ts_page_cb, &p), 0);
    ts_run_until(b, &p.done);
    CHECK_INT(p.n, 1);
    CHECK_STR(p.keys[0], "/k");
    CHECK_STR(p.vals[0], "1");
    berth_store_close(one);
    berth_store_close(two);
    event_base_free(b);
    ts_etcd_stop(&e);
}

/* While etcd is down every call fails at once with EUNAVAILABLE (the API
 * answers 503), a watch waits, and all comes back by itself with etcd:
 * acknowledged writes are there, the watch resumes without a gap or a
 * repeat. */
BERTH_TEST(store_etcd_down_fails_fast_and_recovers)
{
    ts_etcd e;
    if (!ts_etcd_start(&e))
        return;
    struct event_base *b = event_base_new();
    berth_store *s = open_etcd(b, e.url, "/t");
    int64_t r0 = berth_store_revision(s);
    ts_watch_rec w = {0};
    CHECK_INT(berth_store_watch(s, "/w/", 0, ts_watch_cb, &w, &w.w), 0);
    ts_settle(b, 100);
    TS_CREATE_OK(b, s, "/w/1", "before");
    TS_WAIT(b, w.n >= 1);

    ts_etcd_kill(&e);
    /* The first call finds out (in its callback or at once); the next ones
     * fail at once. */
    ts_result r = ts_do(b, s, TS_CREATE, "/w/2", "lost", 0);
    CHECK_INT(r.err, BERTH_EUNAVAILABLE);
    ts_result never = {0};
    berth_val *v = berth_val_new("x", 1);
    CHECK_INT(berth_store_create(s, "/w/3", v, ts_store_cb, &never), BERTH_EUNAVAILABLE);
    CHECK_INT(berth_store_get(s, "/w/1", ts_store_cb, &never), BERTH_EUNAVAILABLE);
    berth_val_unref(v);
    CHECK(!never.done);
    ts_settle(b, 300);

    CHECK(ts_etcd_restart(&e));
    /* Recovery: within a few probe periods calls work again. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ts_settle(b, 100);
        r = ts_do(b, s, TS_CREATE, "/w/4", "after", 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.err == BERTH_EUNAVAILABLE && t1.tv_sec - t0.tv_sec < 10);
    CHECK_INT(r.err, 0);
    r = ts_do(b, s, TS_GET, "/w/1", NULL, 0);
    CHECK_STR(r.val, "before");
    TS_WAIT(b, w.n >= 2);
    ts_settle(b, 100);
    CHECK_INT(w.n, 2);
    CHECK_INT(w.revs[0], r0 + 1);
    CHECK_STR(w.keys[1], "/w/4");
    CHECK(!w.ended);
    berth_store_close(s);
    CHECK(w.ended && w.err == BERTH_ECANCELED);
    event_base_free(b);
    ts_etcd_stop(&e);
}

/* Writes made while a watch's stream is broken (by another client) are
 * delivered when it resumes, in order, once each. */
BERTH_TEST(store_etcd_watch_resumes_from_its_last_revision)
{
    ts_etcd e;
    if (!ts_etcd_start(&e))
        return;
    struct event_base *b = event_base_new();
    berth_store *s = open_etcd(b, e.url, "/t");
    ts_watch_rec w = {0};
    CHECK_INT(berth_store_watch(s, "/r/", 0, ts_watch_cb, &w, &w.w), 0);
    ts_settle(b, 100);
    TS_CREATE_OK(b, s, "/r/1", "1");
    TS_WAIT(b, w.n >= 1);
    ts_etcd_kill(&e);
    ts_settle(b, 200);
    CHECK(ts_etcd_restart(&e));
    /* A second store writes at once, before the first one's watch is back. */
    struct event_base *b2 = event_base_new();
    berth_store *s2 = open_etcd(b2, e.url, "/t");
    for (int i = 2; i <= 6; i++) {
        char key[16];
        snprintf(key, sizeof key, "/r/%d", i);
        TS_CREATE_OK(b2, s2, key, "x");
    }
    ts_do(b2, s2, TS_DELETE, "/r/2", NULL, 0);
    TS_WAIT(b, w.n >= 7);
    ts_settle(b, 100);
    CHECK_INT(w.n, 7);
    for (int i = 1; i < 7; i++)
        CHECK_INT(w.revs[i], w.revs[i - 1] + 1);
    CHECK_STR(w.keys[5], "/r/6");
    CHECK_INT(w.types[6], BERTH_EVENT_DELETE);
    CHECK_STR(w.keys[6], "/r/2");
    CHECK_STR(w.vals[6], "x");
    berth_store_close(s2);
    event_base_free(b2);
    berth_store_close(s);
    event_base_free(b);
    ts_etcd_stop(&e);
}

/* Compaction keeps compact_keep revisions and one interval of history;
 * afterwards old revisions answer EEXPIRED. */
BERTH_TEST(store_etcd_compacts_old_revisions)
{
    ts_etcd e;
    if (!ts_etcd_start(&e))
        return;
    struct event_base *b = event_base_new();
    berth_etcd_options o = {.endpoints = e.url, .base = b, .compact_keep = 5,
                            .compact_interval = 1};
    berth_store *s = NULL;
    CHECK_INT(berth_store_etcd_open(&o, &s), 0);
    int64_t r0 = berth_store_revision(s);
    for (int i = 0; i < 20; i++) {
        TS_CREATE_OK(b, s, "/c", "x");
        ts_do(b, s, TS_DELETE, "/c", NULL, 0);
    }
    /* Tick one marks the revision; tick two compacts up to it. */
    TS_WAIT(b, s->ops->oldest_revision(s) > r0);
    int64_t oldest = s->ops->oldest_revision(s);
    CHECK(oldest <= berth_store_revision(s) - 5);
    ts_watch_rec w = {0};
    berth_watch *bw = NULL;
    CHECK_INT(berth_store_watch(s, "", r0, ts_watch_cb, &w, &bw), BERTH_EEXPIRED);
    ts_page_rec p = {0};
    CHECK_INT(berth_store_list(s, "", NULL, r0, 0, ts_page_cb, &p), 0);
    ts_run_until(b, &p.done);
    CHECK_INT(p.err, BERTH_EEXPIRED);
    berth_store_close(s);
    event_base_free(b);
    ts_etcd_stop(&e);
}
