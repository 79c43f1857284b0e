/* Shared by the store's unit tests: open a store (either backend) on a
 * fresh event base and run single writes and reads to completion. */
#ifndef BERTH_TEST_STORE_H
#define BERTH_TEST_STORE_H

#include <event2/event.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/store.h"
#include "etcd-test.h"
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

/* A page of a list, copied for checks. */
typedef struct ts_page_rec {
    bool done;
    int err;
    int64_t rev;
    size_t n;
    char keys[64][32];
    char vals[64][32];
    char next[32];
} ts_page_rec;

static inline void ts_page_cb(void *arg, const berth_store_page *p)
{
    ts_page_rec *r = arg;
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

/* A watch's events, copied for checks. */
typedef struct ts_watch_rec {
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
} ts_watch_rec;

static inline void ts_watch_cb(void *arg, int err, const berth_event *ev)
{
    ts_watch_rec *r = arg;
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

/* Runs the loop for up to ms milliseconds (less when an event arrives). */
static inline void ts_turn(struct event_base *b, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(b, &tv);
    event_base_loop(b, EVLOOP_ONCE);
}

/* Runs the loop until cond holds, for at most 10 s, then checks it. */
#define TS_WAIT(b, cond)                                                 \
    do {                                                                 \
        struct timespec t0_, t1_;                                        \
        clock_gettime(CLOCK_MONOTONIC, &t0_);                            \
        while (!(cond)) {                                                \
            ts_turn(b, 10);                                              \
            clock_gettime(CLOCK_MONOTONIC, &t1_);                        \
            if (t1_.tv_sec - t0_.tv_sec > 10)                            \
                break;                                                   \
        }                                                                \
        CHECK(cond);                                                     \
    } while (0)

/* Runs the loop for ms milliseconds: for checks that nothing arrives. */
static inline void ts_settle(struct event_base *b, int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ts_turn(b, 5);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

/* ---- one suite, two backends ---- */

typedef enum { TS_MEM, TS_ETCD } ts_kind;

typedef struct ts_env {
    ts_kind kind;
    struct event_base *b;
    berth_store *s;
    ts_etcd etcd;
    char dir[512];
    size_t history; /* mem: events kept */
    int64_t r0;     /* the revision before the test's first write */
} ts_env;

/* Opens a store of kind on a fresh loop (etcd: a fresh etcd). Returns
 * false when the test cannot run (etcd not installed: skipped). */
bool ts_env_open(ts_env *e, ts_kind kind, size_t history);
/* Closes the store and opens it again on the same data. */
int ts_env_reopen(ts_env *e);
void ts_env_close(ts_env *e);
/* Makes revisions up to rev unavailable for lists and watches: the mem
 * store was opened with a small history; etcd is compacted. */
void ts_env_forget(ts_env *e, int64_t rev);
/* The number of keys under prefix, once the backend's count settles. */
size_t ts_count(ts_env *e, const char *prefix, size_t want);

#endif
