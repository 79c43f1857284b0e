/* The store: a revisioned key/value map with compare-and-swap writes and
 * watches, behind an operations table (embedded log store, etcd).
 *
 * Values are opaque bytes (the API layer stores object JSON). Every write
 * gets the next global revision, which becomes metadata.resourceVersion.
 *
 * Threading: every call is made on the loop thread the store was opened
 * with, and every callback runs on that thread. Reads may complete before
 * the call returns (the embedded store answers at once); writes always
 * complete later, after they are durable. As everywhere in berth, a call
 * that returns an error never invokes its callback. */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Immutable, reference-counted bytes, shared by the map, the watch history
 * and readers without copying. data is always NUL-terminated (the NUL is not
 * counted in len). */
typedef struct berth_val {
    uint32_t refs;
    uint32_t len;
    char data[];
} berth_val;

/* Returns a value holding a copy of data with one reference, or NULL. */
berth_val *berth_val_new(const void *data, size_t len);
/* Returns a value of len bytes with one reference, or NULL; data is
 * uninitialised but for the terminating NUL. The producer fills data in
 * place before sharing it, which saves the copy berth_val_new makes. */
berth_val *berth_val_alloc(size_t len);
static inline berth_val *berth_val_ref(berth_val *v)
{
    if (v)
        v->refs++;
    return v;
}
void berth_val_unref(berth_val *v);

typedef struct berth_kv {
    const char *key;    /* borrowed for the duration of the callback */
    berth_val *val;     /* borrowed; berth_val_ref() it to keep it */
    int64_t create_rev; /* revision that created this key's current life */
    int64_t mod_rev;    /* revision of the last write: the resourceVersion */
} berth_kv;

/* The outcome of one get or write. */
typedef struct berth_store_result {
    int err;     /* 0 or BERTH_ENOTFOUND, BERTH_EEXISTS, BERTH_ECONFLICT, ... */
    int64_t rev; /* the revision of this write; for reads the store revision */
    /* get/create/update: the value now stored. delete: the value deleted.
     * EEXISTS and ECONFLICT: the current value, so a caller can retry
     * without another read. Otherwise val is NULL. */
    berth_kv kv;
} berth_store_result;

typedef void (*berth_store_cb)(void *arg, const berth_store_result *r);

/* One page of a list. */
typedef struct berth_store_page {
    int err;               /* 0, BERTH_EEXPIRED when rev is too old, or
                            * BERTH_ERANGE when rev is not reached yet */
    int64_t rev;           /* the revision the whole list reflects */
    const berth_kv *items; /* in key order; borrowed for the callback */
    size_t n;
    const char *next_key;  /* NULL when the list is complete; otherwise pass
                            * it as start with the same rev for the next page */
} berth_store_page;

typedef void (*berth_store_list_cb)(void *arg, const berth_store_page *p);

typedef enum berth_event_type {
    BERTH_EVENT_PUT = 1,
    BERTH_EVENT_DELETE = 2,
} berth_event_type;

typedef struct berth_event {
    berth_event_type type;
    berth_kv kv;   /* PUT: the new value. DELETE: key, the last value,
                    * mod_rev = the revision of the delete */
    berth_kv prev; /* the value before this event; prev.val NULL on create */
} berth_event;

/* Called once per event in revision order, or once with err != 0 when the
 * watch ends on its own (BERTH_EEXPIRED: fell behind the history window;
 * BERTH_ECANCELED: the store is closing). ev is NULL then, and no call
 * follows. ev and all it points to are borrowed. */
typedef void (*berth_watch_cb)(void *arg, int err, const berth_event *ev);

typedef struct berth_store berth_store;
typedef struct berth_watch berth_watch;

typedef struct berth_store_ops {
    size_t size; /* sizeof(berth_store_ops) the backend was built with */
    const char *name;

    int (*get)(berth_store *s, const char *key, berth_store_cb cb, void *arg);
    /* Keys starting with prefix, from start (inclusive; NULL for the first),
     * at revision rev (0: the current one), at most limit items (0: all). */
    int (*list)(berth_store *s, const char *prefix, const char *start,
                int64_t rev, size_t limit, berth_store_list_cb cb, void *arg);
    /* Fails with BERTH_EEXISTS when the key is present. Takes its own
     * reference on val. */
    int (*create)(berth_store *s, const char *key, berth_val *val,
                  berth_store_cb cb, void *arg);
    /* expect_rev: the mod_rev the caller last read, or 0 for no condition.
     * BERTH_ECONFLICT when it differs, BERTH_ENOTFOUND when absent. */
    int (*update)(berth_store *s, const char *key, berth_val *val,
                  int64_t expect_rev, berth_store_cb cb, void *arg);
    int (*del)(berth_store *s, const char *key, int64_t expect_rev,
               berth_store_cb cb, void *arg);
    /* Events under prefix with revision > after_rev (0: from now on).
     * Returns BERTH_EEXPIRED at once when after_rev is older than the
     * history the store keeps. *out identifies the watch for cancel. */
    int (*watch)(berth_store *s, const char *prefix, int64_t after_rev,
                 berth_watch_cb cb, void *arg, berth_watch **out);
    /* Stops a watch: no callback follows, even when called from inside that
     * watch's own callback. */
    void (*watch_cancel)(berth_store *s, berth_watch *w);
    /* The newest revision the store has acknowledged. */
    int64_t (*revision)(berth_store *s);
    /* The oldest revision a watch or a paged list may still start from. */
    int64_t (*oldest_revision)(berth_store *s);
    /* Number of keys under prefix (for metrics). */
    size_t (*count)(berth_store *s, const char *prefix);
    /* Finishes writes in flight (their callbacks run), ends every watch with
     * BERTH_ECANCELED, and frees the store. */
    void (*close)(berth_store *s);
} berth_store_ops;

/* Every backend's handle starts with this. */
struct berth_store {
    const berth_store_ops *ops;
};

static inline int berth_store_get(berth_store *s, const char *key,
                                  berth_store_cb cb, void *arg)
{
    return s->ops->get(s, key, cb, arg);
}
static inline int berth_store_list(berth_store *s, const char *prefix,
                                   const char *start, int64_t rev, size_t limit,
                                   berth_store_list_cb cb, void *arg)
{
    return s->ops->list(s, prefix, start, rev, limit, cb, arg);
}
static inline int berth_store_create(berth_store *s, const char *key,
                                     berth_val *val, berth_store_cb cb, void *arg)
{
    return s->ops->create(s, key, val, cb, arg);
}
static inline int berth_store_update(berth_store *s, const char *key,
                                     berth_val *val, int64_t expect_rev,
                                     berth_store_cb cb, void *arg)
{
    return s->ops->update(s, key, val, expect_rev, cb, arg);
}
static inline int berth_store_delete(berth_store *s, const char *key,
                                     int64_t expect_rev, berth_store_cb cb,
                                     void *arg)
{
    return s->ops->del(s, key, expect_rev, cb, arg);
}
static inline int berth_store_watch(berth_store *s, const char *prefix,
                                    int64_t after_rev, berth_watch_cb cb,
                                    void *arg, berth_watch **out)
{
    return s->ops->watch(s, prefix, after_rev, cb, arg, out);
}
static inline void berth_store_watch_cancel(berth_store *s, berth_watch *w)
{
    s->ops->watch_cancel(s, w);
}
static inline int64_t berth_store_revision(berth_store *s)
{
    return s->ops->revision(s);
}
static inline void berth_store_close(berth_store *s)
{
    if (s)
        s->ops->close(s);
}

/* --- The embedded store (core/store/mem*.c): an in-memory ordered map,
 * an append-only checksummed log with group commit, and snapshots. --- */

struct event_base;

typedef struct berth_mem_options {
    const char *dir;           /* data directory; created if missing */
    struct event_base *base;   /* the loop callbacks run on */
    size_t history;            /* events kept for watches (0: 100000) */
    size_t snapshot_log_bytes; /* snapshot when the log passes this (0: 64 MiB) */
    bool no_fsync;             /* tests and benchmarks only: skip fsync */
} berth_mem_options;

/* Opens (recovering from snapshot and log) or creates the store in o->dir.
 * Returns BERTH_ECORRUPT with a log line naming the file and offset when a
 * record before the log's tail is damaged, BERTH_ELOCKED when another
 * process has the directory open. *out is freed by close. Reads answer at
 * the acknowledged revision: they never show a write before it is durable.
 * Do not call close from inside one of the store's callbacks. */
int berth_store_mem_open(const berth_mem_options *o, berth_store **out);

/* Counters of an embedded store, for metrics. */
typedef struct berth_mem_stats {
    size_t keys;
    int64_t revision;        /* acknowledged */
    int64_t oldest_revision; /* the oldest a watch or list may start from */
    size_t pending_writes;   /* submitted, waiting for their fsync */
    size_t watches;
    uint64_t log_bytes;      /* logged since the last snapshot */
    uint64_t fsyncs;         /* log fsyncs since open (each a group commit) */
    uint64_t snapshots;      /* snapshots written since open */
} berth_mem_stats;

/* Fills *st; BERTH_EINVAL when s is not an embedded store. */
int berth_store_mem_stats(berth_store *s, berth_mem_stats *st);

/* --- The etcd backend (core/store/etcd*.c): etcd's v3 JSON gateway over
 * libcurl, driven by the loop. Keys are etcd keys (after prefix), mod_rev
 * is etcd's mod_revision, create_rev its create_revision. --- */

typedef struct berth_etcd_options {
    /* Comma-separated client URLs ("http://127.0.0.1:2379,http://..."):
     * a request that cannot connect to one goes on to the next. */
    const char *endpoints;
    struct event_base *base;   /* the loop callbacks run on */
    const char *prefix;        /* prepended to every key (NULL: none) */
    int64_t compact_keep;      /* revisions kept by compaction (0: 10000;
                                * negative: never compact) */
    unsigned compact_interval; /* seconds between compactions (0: 300) */
    unsigned timeout_ms;       /* per request (0: 5000) */
    unsigned connect_timeout_ms; /* per connection attempt (0: 1000) */
} berth_etcd_options;

/* Connects to the first endpoint that answers (a blocking probe, once, at
 * start-up) and returns the store in *out, freed by close. Returns
 * BERTH_EINVAL for a malformed endpoint list and BERTH_EUNAVAILABLE with a
 * log line when no endpoint answers. Afterwards, while etcd is unreachable
 * every call fails at once with BERTH_EUNAVAILABLE, watches wait and
 * resume, and the store recovers by itself when etcd answers again. Do not
 * call close from inside a callback of the loop. */
int berth_store_etcd_open(const berth_etcd_options *o, berth_store **out);

#endif
