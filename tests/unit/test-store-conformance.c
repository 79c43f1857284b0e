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

static page_rec list(ts_env *e, const char *prefix, const char *start, int64_t rev,
                     size_t limit)
{
    page_rec r = {0};
    CHECK_INT(berth_store_list(e->s, prefix, start, rev, limit, page_cb, &r), 0);
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

    page_rec p = list(e, "/pods/", NULL, 0, 4);
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
    page_rec p = list(e, "/k/", NULL, R(5), 0);
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
