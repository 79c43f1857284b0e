/* The store conformance suite: every test runs against the embedded store
 * and against a real etcd (skipped when etcd is not installed). Revisions
 * are relative to the store's revision when the test starts (r0). */
#include <stdio.h>

#include "test-store.h"

static void run(ts_kind kind, size_t history, void (*body)(ts_env *))
{
    ts_env e;
    if (!ts_env_open(&e, kind, history))
        return;
    body(&e);
    ts_env_close(&e);
}

#define R(n) (e->r0 + (n))

static void crud(ts_env *e);
BERTH_TEST(store_conf_crud_mem) { run(TS_MEM, 0, crud); }
BERTH_TEST(store_conf_crud_etcd) { run(TS_ETCD, 0, crud); }
static void crud(ts_env *e)
{
    struct event_base *b = e->b;
    berth_store *s = e->s;
    ts_result r = ts_do(b, s, TS_CREATE, "/a", "one", 0);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, R(1));
    CHECK_INT(r.create_rev, R(1));
    CHECK_INT(r.mod_rev, R(1));
    CHECK_STR(r.val, "one");
    CHECK_INT(berth_store_revision(s), R(1));

    r = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_INT(r.err, 0);
    CHECK_STR(r.val, "one");
    CHECK_INT(r.mod_rev, R(1));
    CHECK_INT(r.rev, R(1));

    r = ts_do(b, s, TS_UPDATE, "/a", "two", R(1));
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, R(2));
    CHECK_INT(r.create_rev, R(1));
    CHECK_INT(r.mod_rev, R(2));
    CHECK_STR(r.val, "two");

    r = ts_do(b, s, TS_UPDATE, "/a", "three", 0);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.mod_rev, R(3));

    r = ts_do(b, s, TS_DELETE, "/a", NULL, R(3));
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, R(4));
    CHECK_STR(r.val, "three");
    CHECK_INT(r.mod_rev, R(3));

    r = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);
    CHECK(!r.has_val);
    CHECK_INT(ts_count(e, "", 0), 0);

    /* A key's new life gets a new create revision. */
    r = ts_do(b, s, TS_CREATE, "/a", "again", 0);
    CHECK_INT(r.create_rev, R(5));

    /* Values are bytes: empty and large ones come back whole. */
    r = ts_do(b, s, TS_CREATE, "/empty", "", 0);
    CHECK_INT(r.err, 0);
    r = ts_do(b, s, TS_GET, "/empty", NULL, 0);
    CHECK_INT(r.err, 0);
    CHECK(r.has_val);
    CHECK_STR(r.val, "");
    size_t big = 300000;
    berth_val *v = berth_val_alloc(big);
    for (size_t i = 0; i < big; i++)
        v->data[i] = (char)('a' + i % 26);
    ts_result w = {0};
    CHECK_INT(berth_store_create(s, "/big", v, ts_store_cb, &w), 0);
    ts_run_until(b, &w.done);
    CHECK_INT(w.err, 0);
    berth_val_unref(v);
    r = ts_do(b, s, TS_GET, "/big", NULL, 0);
    CHECK_INT(r.err, 0);
    CHECK(!strncmp(r.val, "abcdefghijklmnopqrstuvwxyzab", 28));
}

static void conflicts(ts_env *e);
BERTH_TEST(store_conf_conflicts_mem) { run(TS_MEM, 0, conflicts); }
BERTH_TEST(store_conf_conflicts_etcd) { run(TS_ETCD, 0, conflicts); }
static void conflicts(ts_env *e)
{
    struct event_base *b = e->b;
    berth_store *s = e->s;
    TS_CREATE_OK(b, s, "/k", "v1");

    ts_result r = ts_do(b, s, TS_CREATE, "/k", "other", 0);
    CHECK_INT(r.err, BERTH_EEXISTS);
    CHECK_STR(r.val, "v1");
    CHECK_INT(r.mod_rev, R(1));

    r = ts_do(b, s, TS_UPDATE, "/k", "v2", R(7));
    CHECK_INT(r.err, BERTH_ECONFLICT);
    CHECK_STR(r.val, "v1");
    CHECK_INT(r.mod_rev, R(1));

    r = ts_do(b, s, TS_DELETE, "/k", NULL, R(9));
    CHECK_INT(r.err, BERTH_ECONFLICT);
    CHECK_STR(r.val, "v1");

    r = ts_do(b, s, TS_UPDATE, "/missing", "x", 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);
    CHECK(!r.has_val);
    r = ts_do(b, s, TS_UPDATE, "/missing", "x", R(1));
    CHECK_INT(r.err, BERTH_ENOTFOUND);
    r = ts_do(b, s, TS_DELETE, "/missing", NULL, 0);
    CHECK_INT(r.err, BERTH_ENOTFOUND);

    /* Failures take no revision. */
    CHECK_INT(berth_store_revision(s), R(1));
    r = ts_do(b, s, TS_UPDATE, "/k", "v2", R(1));
    CHECK_INT(r.err, 0);
    CHECK_INT(r.rev, R(2));

    /* Bad arguments fail at once, without a callback. */
    ts_result never = {0};
    CHECK_INT(berth_store_create(s, "", NULL, ts_store_cb, &never), BERTH_EINVAL);
    CHECK_INT(berth_store_update(s, NULL, NULL, 0, ts_store_cb, &never), BERTH_EINVAL);
    CHECK_INT(berth_store_get(s, NULL, ts_store_cb, &never), BERTH_EINVAL);
    CHECK(!never.done);
}

typedef struct many {
    int done, failed;
    int64_t revs[512];
} many;

static void many_cb(void *arg, const berth_store_result *r)
{
    many *m = arg;
    if (r->err)
        m->failed++;
    else if (m->done < 512)
        m->revs[m->done] = r->rev;
    m->done++;
}

static int cmp_rev(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void in_flight(ts_env *e);
BERTH_TEST(store_conf_writes_in_flight_mem) { run(TS_MEM, 0, in_flight); }
BERTH_TEST(store_conf_writes_in_flight_etcd) { run(TS_ETCD, 0, in_flight); }
/* Many writes at once each get their own revision, and together every
 * revision from r0 + 1 on. */
static void in_flight(ts_env *e)
{
    many m = {0};
    char key[32];
    berth_val *v = berth_val_new("x", 1);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "/p/%04d", i);
        CHECK_INT(berth_store_create(e->s, key, v, many_cb, &m), 0);
    }
    berth_val_unref(v);
    TS_WAIT(e->b, m.done == 300);
    CHECK_INT(m.failed, 0);
    qsort(m.revs, 300, sizeof m.revs[0], cmp_rev);
    for (int i = 0; i < 300; i++)
        CHECK_INT(m.revs[i], R(1 + i));
    CHECK_INT(berth_store_revision(e->s), R(300));
    CHECK_INT(ts_count(e, "/p/", 300), 300);
    CHECK_INT(ts_count(e, "/p/01", 100), 100);
}

static ts_page_rec list(ts_env *e, const char *prefix, const char *start, int64_t rev,
                     size_t limit)
{
    ts_page_rec r = {0};
    CHECK_INT(berth_store_list(e->s, prefix, start, rev, limit, ts_page_cb, &r), 0);
    ts_run_until(e->b, &r.done);
    return r;
}

static void paging(ts_env *e);
BERTH_TEST(store_conf_list_paging_mem) { run(TS_MEM, 0, paging); }
BERTH_TEST(store_conf_list_paging_etcd) { run(TS_ETCD, 0, paging); }
static void paging(ts_env *e)
{
    struct event_base *b = e->b;
    berth_store *s = e->s;
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/pods/%d", i);
        TS_CREATE_OK(b, s, key, "v0");
    }
    TS_CREATE_OK(b, s, "/pods", "not under the prefix");
    TS_CREATE_OK(b, s, "/podsx/1", "neither");
    TS_CREATE_OK(b, s, "/nodes/1", "neither");

    ts_page_rec p = list(e, "/pods/", NULL, 0, 4);
    CHECK_INT(p.err, 0);
    CHECK_INT(p.n, 4);
    CHECK_STR(p.keys[0], "/pods/0");
    CHECK_STR(p.keys[3], "/pods/3");
    CHECK_STR(p.next, "/pods/4");
    int64_t rev = p.rev;
    CHECK_INT(rev, R(13));

    /* Writes go on between pages: the later pages still show rev. */
    ts_do(b, s, TS_UPDATE, "/pods/5", "v1", 0);
    ts_do(b, s, TS_DELETE, "/pods/6", NULL, 0);
    TS_CREATE_OK(b, s, "/pods/55", "new");
    ts_do(b, s, TS_DELETE, "/pods/2", NULL, 0);

    p = list(e, "/pods/", "/pods/4", rev, 4);
    CHECK_INT(p.rev, rev);
    CHECK_INT(p.n, 4);
    CHECK_STR(p.keys[0], "/pods/4");
    CHECK_STR(p.keys[1], "/pods/5");
    CHECK_STR(p.vals[1], "v0");
    CHECK_STR(p.keys[2], "/pods/6");
    CHECK_STR(p.keys[3], "/pods/7");
    CHECK_STR(p.next, "/pods/8");
    p = list(e, "/pods/", p.next, rev, 4);
    CHECK_INT(p.n, 2);
    CHECK_STR(p.keys[1], "/pods/9");
    CHECK_STR(p.next, "");

    /* The current revision sees the writes. */
    p = list(e, "/pods/", NULL, 0, 0);
    CHECK_INT(p.rev, R(17));
    CHECK_INT(p.n, 9);
    CHECK_STR(p.keys[2], "/pods/3");
    CHECK_STR(p.keys[4], "/pods/5");
    CHECK_STR(p.vals[4], "v1");
    CHECK_STR(p.keys[5], "/pods/55");
    CHECK_STR(p.keys[6], "/pods/7");

    p = list(e, "", NULL, 0, 0);
    CHECK_INT(p.n, 12);
    p = list(e, "/zzz", NULL, 0, 0);
    CHECK_INT(p.n, 0);
    p = list(e, "/pods/", "/pods/9", 0, 0);
    CHECK_INT(p.n, 1);
    /* A limit the list fits in exactly sets no next key. */
    p = list(e, "/pods/", NULL, 0, 9);
    CHECK_INT(p.n, 9);
    CHECK_STR(p.next, "");
    p = list(e, "/pods/", NULL, R(99), 0);
    CHECK_INT(p.err, BERTH_ERANGE);
}

static void list_expired(ts_env *e);
BERTH_TEST(store_conf_list_expired_mem) { run(TS_MEM, 4, list_expired); }
BERTH_TEST(store_conf_list_expired_etcd) { run(TS_ETCD, 4, list_expired); }
static void list_expired(ts_env *e)
{
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/k/%d", i);
        TS_CREATE_OK(e->b, e->s, key, "v");
    }
    ts_env_forget(e, R(6));
    if (e->kind == TS_MEM)
        CHECK_INT(e->s->ops->oldest_revision(e->s), R(6));
    ts_page_rec p = list(e, "/k/", NULL, R(5), 0);
    CHECK_INT(p.err, BERTH_EEXPIRED);
    p = list(e, "/k/", NULL, R(6), 0);
    CHECK_INT(p.err, 0);
    CHECK_INT(p.n, 6);
    /* A later page of an expired list is expired too. */
    p = list(e, "/k/", "/k/3", R(2), 2);
    CHECK_INT(p.err, BERTH_EEXPIRED);
}

static void reopen(ts_env *e);
BERTH_TEST(store_conf_close_finishes_writes_mem) { run(TS_MEM, 0, reopen); }
BERTH_TEST(store_conf_close_finishes_writes_etcd) { run(TS_ETCD, 0, reopen); }
/* close runs the callbacks of writes in flight, and they are all there
 * when the store is opened again. */
static void reopen(ts_env *e)
{
    many m = {0};
    berth_val *v = berth_val_new("x", 1);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "/c/%d", i);
        CHECK_INT(berth_store_create(e->s, key, v, many_cb, &m), 0);
    }
    berth_val_unref(v);
    CHECK_INT(ts_env_reopen(e), 0);
    CHECK_INT(m.done, 100);
    CHECK_INT(m.failed, 0);
    CHECK_INT(berth_store_revision(e->s), R(100));
    CHECK_INT(ts_count(e, "/c/", 100), 100);
}

/* ---- watches ---- */

static void watch_live(ts_env *e);
BERTH_TEST(store_conf_watch_replays_then_live_mem) { run(TS_MEM, 0, watch_live); }
BERTH_TEST(store_conf_watch_replays_then_live_etcd) { run(TS_ETCD, 0, watch_live); }
static void watch_live(ts_env *e)
{
    struct event_base *b = e->b;
    berth_store *s = e->s;
    TS_CREATE_OK(b, s, "/pods/a", "a1");                 /* 1 */
    TS_CREATE_OK(b, s, "/nodes/n", "n1");                /* 2 */
    ts_do(b, s, TS_UPDATE, "/pods/a", "a2", R(1));       /* 3 */
    TS_CREATE_OK(b, s, "/pods/b", "b1");                 /* 4 */

    ts_watch_rec r = {0};
    CHECK_INT(berth_store_watch(s, "/pods/", R(1), ts_watch_cb, &r, &r.w), 0);
    /* Replay waits for the loop, never inside the call. */
    CHECK_INT(r.n, 0);
    TS_WAIT(b, r.n >= 2);
    CHECK_INT(r.n, 2);
    CHECK_INT(r.revs[0], R(3));
    CHECK_STR(r.vals[0], "a2");
    CHECK_STR(r.prevs[0], "a1");
    CHECK_INT(r.revs[1], R(4));
    CHECK_STR(r.prevs[1], "");

    /* A watch from now sees only what follows. */
    ts_watch_rec now = {0}, all = {0};
    CHECK_INT(berth_store_watch(s, "", 0, ts_watch_cb, &now, &now.w), 0);
    CHECK_INT(berth_store_watch(s, NULL, 0, ts_watch_cb, &all, &all.w), 0);
    ts_settle(b, 100);
    CHECK_INT(now.n, 0);

    ts_do(b, s, TS_DELETE, "/pods/a", NULL, 0);          /* 5 */
    TS_CREATE_OK(b, s, "/nodes/m", "m1");                /* 6 */
    TS_CREATE_OK(b, s, "/pods/c", "c1");                 /* 7 */
    TS_WAIT(b, r.n >= 4);
    CHECK_INT(r.n, 4);
    /* A DELETE carries the last value. */
    CHECK_INT(r.types[2], BERTH_EVENT_DELETE);
    CHECK_INT(r.revs[2], R(5));
    CHECK_STR(r.keys[2], "/pods/a");
    CHECK_STR(r.vals[2], "a2");
    CHECK_INT(r.types[3], BERTH_EVENT_PUT);
    CHECK_INT(r.revs[3], R(7));
    TS_WAIT(b, now.n >= 3 && all.n >= 3);
    CHECK_INT(now.revs[0], R(5));
    CHECK_INT(now.revs[2], R(7));
    CHECK_STR(now.keys[1], "/nodes/m");
    ts_settle(b, 50);
    CHECK_INT(all.n, 3);

    ts_env_close(e);
    CHECK(r.ended && r.err == BERTH_ECANCELED);
    CHECK(now.ended && now.err == BERTH_ECANCELED);
}

static void watch_expired(ts_env *e);
BERTH_TEST(store_conf_watch_expired_mem) { run(TS_MEM, 3, watch_expired); }
BERTH_TEST(store_conf_watch_expired_etcd) { run(TS_ETCD, 3, watch_expired); }
static void watch_expired(ts_env *e)
{
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "/k%d", i);
        TS_CREATE_OK(e->b, e->s, key, "v");
    }
    /* Events 6, 7, 8 are kept: a watch may start after 5 but not 3 (etcd,
     * compacted at 5, still has the events of revision 5 itself, so a
     * watch after 4 is a backend's choice). */
    ts_env_forget(e, R(5));
    ts_watch_rec r = {0}, old = {0};
    berth_watch *w = NULL;
    /* The answer is at once (the store knows) or the watch's only call. */
    int rc = berth_store_watch(e->s, "", R(3), ts_watch_cb, &old, &w);
    if (rc == 0)
        TS_WAIT(e->b, old.ended);
    CHECK(rc == BERTH_EEXPIRED || (old.ended && old.err == BERTH_EEXPIRED && old.n == 0));
    CHECK_INT(berth_store_watch(e->s, "", R(5), ts_watch_cb, &r, &r.w), 0);
    TS_WAIT(e->b, r.n >= 3);
    CHECK_INT(r.n, 3);
    CHECK_INT(r.revs[0], R(6));
    CHECK(!r.ended);
    /* Close while r is alive: the watch's last call must find it. */
    ts_env_close(e);
    CHECK(r.ended && r.err == BERTH_ECANCELED);
}

static void watch_cancel(ts_env *e);
BERTH_TEST(store_conf_watch_cancel_in_callback_mem) { run(TS_MEM, 0, watch_cancel); }
BERTH_TEST(store_conf_watch_cancel_in_callback_etcd) { run(TS_ETCD, 0, watch_cancel); }
static void watch_cancel(ts_env *e)
{
    struct event_base *b = e->b;
    berth_store *s = e->s;
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "/k%d", i);
        TS_CREATE_OK(b, s, key, "v");
    }
    /* During replay. */
    ts_watch_rec r = {.s = s, .cancel_at = 2};
    CHECK_INT(berth_store_watch(s, "", R(1), ts_watch_cb, &r, &r.w), 0);
    /* During live delivery, with another watch beside it. */
    ts_watch_rec live = {.s = s, .cancel_at = 1}, other = {0};
    CHECK_INT(berth_store_watch(s, "", 0, ts_watch_cb, &live, &live.w), 0);
    CHECK_INT(berth_store_watch(s, "", 0, ts_watch_cb, &other, &other.w), 0);
    TS_WAIT(b, r.n >= 2);
    ts_settle(b, 50);
    CHECK_INT(r.n, 2);
    TS_CREATE_OK(b, s, "/m1", "v");
    TS_CREATE_OK(b, s, "/m2", "v");
    TS_WAIT(b, other.n >= 2);
    ts_settle(b, 50);
    CHECK_INT(r.n, 2);
    CHECK_INT(live.n, 1);
    CHECK_INT(other.n, 2);
    /* An ordinary cancel outside any callback. */
    berth_store_watch_cancel(s, other.w);
    TS_CREATE_OK(b, s, "/m3", "v");
    ts_settle(b, 100);
    CHECK_INT(other.n, 2);
    ts_env_close(e);
    CHECK(!r.ended && !live.ended && !other.ended);
}

typedef struct chain {
    berth_store *s;
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

static void watch_writes(ts_env *e);
BERTH_TEST(store_conf_watch_callback_may_write_mem) { run(TS_MEM, 0, watch_writes); }
BERTH_TEST(store_conf_watch_callback_may_write_etcd) { run(TS_ETCD, 0, watch_writes); }
static void watch_writes(ts_env *e)
{
    chain c = {e->s, 0};
    berth_watch *w;
    CHECK_INT(berth_store_watch(e->s, "/chain/", 0, chain_cb, &c, &w), 0);
    TS_CREATE_OK(e->b, e->s, "/chain/0", "v");
    TS_WAIT(e->b, berth_store_revision(e->s) >= R(4));
    CHECK_INT(berth_store_revision(e->s), R(4));
    CHECK_INT(ts_count(e, "/chain/", 4), 4);
}
