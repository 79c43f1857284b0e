/* The etcd backend's internals, shared by etcd.c (open, close, requests,
 * endpoint failover, health, compaction), etcd-kv.c (reads and writes) and
 * etcd-watch.c (watch streams). */
#ifndef BERTH_STORE_ETCD_H
#define BERTH_STORE_ETCD_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>

#include "berth/store.h"
#include "util/curlev.h"
#include "util/hmap.h"

typedef struct etcd_store etcd_store;
typedef struct etcd_req etcd_req;

/* A growable byte buffer for response bodies and watch streams. */
typedef struct etcd_buf {
    char *p;
    size_t len, cap;
} etcd_buf;

int etcd_buf_add(etcd_buf *b, const void *data, size_t n);

/* Called once per request: err is 0 with the parsed response, or the
 * failure with resp NULL. resp is freed after the call. */
typedef void (*etcd_done_fn)(etcd_req *r, int err, const cJSON *resp);

struct etcd_req {
    etcd_store *s;
    CURL *easy;
    const char *path; /* "/v3/kv/txn" */
    char *body;       /* owned */
    size_t body_len;
    etcd_buf out;
    size_t ep;        /* the endpoint this attempt went to */
    size_t tries;
    bool write;       /* a write: close waits for it */
    bool retry_sent;  /* safe to send again after it reached etcd (reads) */
    bool probe;       /* goes out even while etcd is down */
    etcd_done_fn done;
    /* The caller's side. */
    berth_store_cb cb;
    berth_store_list_cb lcb;
    void *arg;
    char *key;        /* the store key, for results */
    berth_val *val;   /* the value written, one reference */
    size_t limit;     /* list: items wanted (0: all) */
    int64_t rev;      /* list: the revision asked; compaction: the target */
    etcd_req *prev, *next;
};

typedef struct etcd_count {
    size_t n;
    bool inflight;
} etcd_count;

struct etcd_store {
    berth_store base;
    struct event_base *ev;
    berth_curlev *cv;
    char **eps;       /* endpoint URLs without a trailing slash */
    size_t neps, cur;
    char *prefix;     /* prepended to every key */
    size_t prefix_len;
    struct curl_slist *headers;
    long timeout_ms, connect_ms;
    int64_t rev;       /* the newest revision any response showed */
    int64_t compacted; /* the newest compaction known */
    bool up;           /* false: calls fail at once until a probe answers */
    bool closing;
    struct event *probe;
    struct event *compact;
    int64_t compact_keep;
    int64_t compact_mark; /* the revision at the previous compaction tick */
    berth_hmap counts;    /* prefix -> etcd_count */
    etcd_req *reqs;       /* in flight */
    size_t nwrites;
    berth_watch *watches;
    CURL *pool[32];       /* idle easy handles, reused */
    size_t npool;
};

/* Requests (etcd.c). etcd_req_new returns a request for path with no body
 * yet; etcd_req_send takes it over: on success done runs later, exactly
 * once, and frees nothing but the response; on failure (BERTH_EUNAVAILABLE
 * while etcd is down, BERTH_ENOMEM) the request is freed and done never
 * runs. */
etcd_req *etcd_req_new(etcd_store *s, const char *path, etcd_done_fn done);
int etcd_req_send(etcd_req *r);
void etcd_req_free(etcd_req *r);
void etcd_note_header(etcd_store *s, const cJSON *resp);
void etcd_mark_down(etcd_store *s, const char *why);
CURL *etcd_easy_get(etcd_store *s);
void etcd_easy_put(etcd_store *s, CURL *easy);
size_t etcd_write_body(char *data, size_t size, size_t n, void *arg);

/* JSON helpers (etcd-kv.c). */
int64_t etcd_int(const cJSON *o, const char *name);
/* Appends the base64 of the store key (prefixed) to out, NUL-terminated. */
char *etcd_key64(const etcd_store *s, const char *key, size_t len);
/* The base64 range end of every key starting with prefix (prefixed). */
char *etcd_range_end64(const etcd_store *s, const char *prefix);
/* Decodes an etcd kv: key without the store prefix into *key (malloc'd),
 * value into *val (NULL when absent). Returns 0 or BERTH_ECORRUPT. */
int etcd_kv_decode(const etcd_store *s, const cJSON *kv, char **key, berth_val **val,
                   int64_t *create_rev, int64_t *mod_rev);

/* Operations (etcd-kv.c, etcd-watch.c). */
int etcd_get(berth_store *bs, const char *key, berth_store_cb cb, void *arg);
int etcd_list(berth_store *bs, const char *prefix, const char *start, int64_t rev,
              size_t limit, berth_store_list_cb cb, void *arg);
int etcd_create(berth_store *bs, const char *key, berth_val *val, berth_store_cb cb,
                void *arg);
int etcd_update(berth_store *bs, const char *key, berth_val *val, int64_t expect_rev,
                berth_store_cb cb, void *arg);
int etcd_del(berth_store *bs, const char *key, int64_t expect_rev, berth_store_cb cb,
             void *arg);
size_t etcd_count_keys(berth_store *bs, const char *prefix);
int etcd_watch(berth_store *bs, const char *prefix, int64_t after_rev, berth_watch_cb cb,
               void *arg, berth_watch **out);
void etcd_watch_cancel(berth_store *bs, berth_watch *w);
/* Ends every watch with err and frees them (close). */
void etcd_watch_end_all(etcd_store *s, int err);

#endif
