/* Shared by the store's unit tests: open a store on a fresh event base and
 * run single writes and reads to completion. */
#ifndef BERTH_TEST_STORE_H
#define BERTH_TEST_STORE_H

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/store.h"
#include "test.h"

typedef struct ts_result {
    bool done;
    int err;
    int64_t rev, create_rev, mod_rev;
    char val[256]; /* the value's text, "" when NULL */
    bool has_val;
} ts_result;

static inline void ts_store_cb(void *arg, const berth_store_result *r)
{
    ts_result *t = arg;
    t->done = true;
    t->err = r->err;
    t->rev = r->rev;
    t->create_rev = r->kv.create_rev;
    t->mod_rev = r->kv.mod_rev;
    t->has_val = r->kv.val != NULL;
    snprintf(t->val, sizeof t->val, "%s", r->kv.val ? r->kv.val->data : "");
}

static inline void ts_run_until(struct event_base *b, const bool *flag)
{
    for (int i = 0; i < 100000 && !*flag; i++)
        event_base_loop(b, EVLOOP_ONCE);
    CHECK(*flag);
}

static inline int ts_open(struct event_base *b, const char *dir, size_t history,
                          size_t snap_bytes, berth_store **s)
{
    berth_mem_options o = {.dir = dir, .base = b, .history = history,
                           .snapshot_log_bytes = snap_bytes, .no_fsync = true};
    return berth_store_mem_open(&o, s);
}

enum { TS_CREATE, TS_UPDATE, TS_DELETE, TS_GET };

/* Runs one operation to completion; returns the call's own error, or the
 * result's. */
static inline ts_result ts_do(struct event_base *b, berth_store *s, int op,
                              const char *key, const char *val, int64_t expect)
{
    ts_result r = {0};
    berth_val *v = val ? berth_val_new(val, strlen(val)) : NULL;
    int rc;
    switch (op) {
    case TS_CREATE: rc = berth_store_create(s, key, v, ts_store_cb, &r); break;
    case TS_UPDATE: rc = berth_store_update(s, key, v, expect, ts_store_cb, &r); break;
    case TS_DELETE: rc = berth_store_delete(s, key, expect, ts_store_cb, &r); break;
    default: rc = berth_store_get(s, key, ts_store_cb, &r); break;
    }
    berth_val_unref(v);
    if (rc) {
        r.err = rc;
        return r;
    }
    ts_run_until(b, &r.done);
    return r;
}

#define TS_CREATE_OK(b, s, key, val)                                     \
    do {                                                                 \
        ts_result r_ = ts_do(b, s, TS_CREATE, key, val, 0);              \
        CHECK_INT(r_.err, 0);                                            \
    } while (0)

#endif
