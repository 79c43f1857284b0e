/* The backends behind the store conformance suite (test-store.h). */
#include "test-store.h"

static int open_store(ts_env *e)
{
    if (e->kind == TS_MEM) {
        berth_mem_options o = {.dir = e->dir, .base = e->b, .history = e->history,
                               .no_fsync = true};
        return berth_store_mem_open(&o, &e->s);
    }
    berth_etcd_options o = {.endpoints = e->etcd.url, .base = e->b, .prefix = "/t"};
    return berth_store_etcd_open(&o, &e->s);
}

bool ts_env_open(ts_env *e, ts_kind kind, size_t history)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->history = history;
    snprintf(e->dir, sizeof e->dir, "%s/store", berth_test_tmpdir());
    if (kind == TS_ETCD && !ts_etcd_start(&e->etcd))
        return false;
    e->b = event_base_new();
    int err = open_store(e);
    CHECK_INT(err, 0);
    if (err) {
        ts_env_close(e);
        return false;
    }
    e->r0 = berth_store_revision(e->s);
    return true;
}

int ts_env_reopen(ts_env *e)
{
    berth_store_close(e->s);
    e->s = NULL;
    return open_store(e);
}

void ts_env_close(ts_env *e)
{
    berth_store_close(e->s);
    e->s = NULL;
    if (e->b)
        event_base_free(e->b);
    e->b = NULL;
    if (e->kind == TS_ETCD)
        ts_etcd_stop(&e->etcd);
}

void ts_env_forget(ts_env *e, int64_t rev)
{
    if (e->kind == TS_ETCD)
        CHECK(ts_etcd_compact(&e->etcd, (long long)rev));
}

size_t ts_count(ts_env *e, const char *prefix, size_t want)
{
    size_t n = e->s->ops->count(e->s, prefix);
    for (int i = 0; i < 500 && n != want; i++) {
        ts_turn(e->b, 10);
        n = e->s->ops->count(e->s, prefix);
    }
    return n;
}
