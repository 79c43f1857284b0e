/* The etcd backend's watches: one long-lived /v3/watch stream a watch, one
 * JSON object a line. The stream's bytes are collected in libcurl's write
 * callback and delivered from a loop event, never from inside libcurl, so
 * a watch callback may cancel any watch or start requests. A broken stream
 * is resumed from the revision after the last event delivered; a compacted
 * revision ends the watch with BERTH_EEXPIRED. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "store/etcd.h"

struct berth_watch {
    etcd_store *s;
    char *key64, *end64; /* the prefix's range */
    berth_watch_cb cb;
    void *arg;
    int64_t cursor; /* events up to here are delivered */
    CURL *easy;     /* the stream, while connected */
    etcd_buf in;
    size_t in_off;  /* bytes of in already handled */
    struct event *deliver;
    struct event *retry;
    long backoff_ms;
    bool dead;      /* cancelled while delivering */
    bool in_cb;
    berth_watch *prev, *next;
};

static void unlink_watch(etcd_store *s, berth_watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else if (s->watches == w)
        s->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

static void free_watch(berth_watch *w)
{
    etcd_store *s = w->s;
    unlink_watch(s, w);
    if (w->easy) {
        berth_curlev_remove(s->cv, w->easy);
        curl_easy_cleanup(w->easy);
    }
    if (w->deliver)
        event_free(w->deliver);
    if (w->retry)
        event_free(w->retry);
    free(w->key64);
    free(w->end64);
    free(w->in.p);
    free(w);
}

static size_t on_bytes(char *data, size_t size, size_t n, void *arg)
{
    berth_watch *w = arg;
    if (etcd_buf_add(&w->in, data, size * n) != 0)
        return 0;
    event_active(w->deliver, EV_READ, 0);
    return size * n;
}

static void on_stream_done(void *arg, CURL *easy, CURLcode rc);

static int connect_stream(berth_watch *w)
{
    etcd_store *s = w->s;
    char url[1024], *body;
    snprintf(url, sizeof url, "%s/v3/watch", s->eps[s->cur]);
    if (asprintf(&body,
                 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
                 "\"start_revision\":\"%lld\",\"prev_kv\":true,\"progress_notify\":true}}",
                 w->key64, w->end64, (long long)w->cursor + 1) < 0)
        return BERTH_ENOMEM;
    CURL *e = curl_easy_init();
    if (!e) {
        free(body);
        return BERTH_ENOMEM;
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_bytes);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
    /* A stream lives long; a dead peer shows up through keepalives. */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 10L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
    free(body);
    int err = berth_curlev_add(s->cv, e, on_stream_done, w);
    if (err) {
        curl_easy_cleanup(e);
        return err;
    }
    w->easy = e;
    w->in.len = w->in_off = 0;
    return 0;
}

static void schedule_retry(berth_watch *w)
{
    struct timeval tv = {w->backoff_ms / 1000, (w->backoff_ms % 1000) * 1000};
    evtimer_add(w->retry, &tv);
    w->backoff_ms = w->backoff_ms < 1000 ? w->backoff_ms * 2 : 2000;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    berth_watch *w = arg;
    if (connect_stream(w) != 0)
        schedule_retry(w);
}

/* Ends the watch with err: one callback, then it is gone. */
static void end_watch(berth_watch *w, int err)
{
    berth_watch_cb cb = w->cb;
    void *arg = w->arg;
    free_watch(w);
    cb(arg, err, NULL);
}

/* Delivers the events of one response in order. Returns false when the
 * watch was cancelled from a callback. */
static bool deliver_events(berth_watch *w, const cJSON *events)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, events) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
        bool del = cJSON_IsString(type) && !strcmp(type->valuestring, "DELETE");
        const cJSON *kvj = cJSON_GetObjectItemCaseSensitive(e, "kv");
        const cJSON *pvj = cJSON_GetObjectItemCaseSensitive(e, "prev_kv");
        berth_event ev = {.type = del ? BERTH_EVENT_DELETE : BERTH_EVENT_PUT};
        char *key = NULL, *pkey = NULL;
        int err = etcd_kv_decode(w->s, kvj, &key, del ? NULL : &ev.kv.val,
                                 &ev.kv.create_rev, &ev.kv.mod_rev);
        if (!err && pvj)
            err = etcd_kv_decode(w->s, pvj, &pkey, &ev.prev.val, &ev.prev.create_rev,
                                 &ev.prev.mod_rev);
        if (ev.kv.mod_rev > w->cursor)
            w->cursor = ev.kv.mod_rev;
        if (!err && del && !ev.prev.val) {
            /* The previous value is gone (compacted before etcd read it):
             * a DELETE without its last value would lie to selectors. */
            BERTH_WARN("etcd", "dropping a DELETE of %s at revision %lld without its "
                       "last value", key, (long long)ev.kv.mod_rev);
            err = BERTH_ENOTFOUND;
        }
        if (!err) {
            if (del) {
                ev.kv.val = ev.prev.val;
                ev.kv.create_rev = ev.prev.create_rev;
            }
            ev.kv.key = key;
            ev.prev.key = pkey;
            w->in_cb = true;
            w->cb(w->arg, 0, &ev);
            w->in_cb = false;
        } else if (err != BERTH_ENOTFOUND) {
            BERTH_WARN("etcd", "a watch event at revision %lld is malformed; skipped",
                       (long long)ev.kv.mod_rev);
        }
        if (!del)
            berth_val_unref(ev.kv.val);
        berth_val_unref(ev.prev.val);
        free(key);
        free(pkey);
        if (w->dead)
            return false;
    }
    return true;
}

/* Handles one line of the stream. Returns false when the watch is gone. */
static bool handle_line(berth_watch *w, const char *line, size_t len)
{
    cJSON *msg = cJSON_ParseWithLength(line, len);
    if (!msg) {
        BERTH_WARN("etcd", "a watch stream line is not JSON; reconnecting");
        return true;
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(msg, "result");
    bool alive = true;
    if (!res) {
        /* {"error": {...}}: the stream is over; it is resumed. */
        cJSON_Delete(msg);
        return true;
    }
    etcd_note_header(w->s, res);
    int64_t compact = etcd_int(res, "compact_revision");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(res, "events");
    if (compact > 0) {
        if (compact > w->s->compacted)
            w->s->compacted = compact;
        cJSON_Delete(msg);
        end_watch(w, BERTH_EEXPIRED);
        return false;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "created"))) {
        w->backoff_ms = 100;
    } else if (cJSON_GetArraySize(events) > 0) {
        alive = deliver_events(w, events);
    } else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
        /* A progress notification: etcd sends them only to watches that
         * have every event up to the header's revision. */
        int64_t rev = etcd_int(cJSON_GetObjectItemCaseSensitive(res, "header"), "revision");
        if (rev > w->cursor)
            w->cursor = rev;
    }
    cJSON_Delete(msg);
    if (!alive)
        free_watch(w);
    return alive;
}

/* Handles every complete line received. Returns false when the watch is
 * gone. */
static bool drain(berth_watch *w)
{
    while (w->in_off < w->in.len) {
        char *start = w->in.p + w->in_off;
        char *nl = memchr(start, '\n', w->in.len - w->in_off);
        if (!nl)
            break;
        w->in_off = (size_t)(nl + 1 - w->in.p);
        if (nl > start && !handle_line(w, start, (size_t)(nl - start)))
            return false;
    }
    /* Keep only the partial line. */
    if (w->in_off > 0) {
        memmove(w->in.p, w->in.p + w->in_off, w->in.len - w->in_off);
        w->in.len -= w->in_off;
        w->in_off = 0;
    }
    return true;
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
    drain(arg);
}

static void on_stream_done(void *arg, CURL *easy, CURLcode rc)
{
    berth_watch *w = arg;
    curl_easy_cleanup(easy);
    w->easy = NULL;
    /* The last bytes may still wait for delivery. */
    if (!drain(w))
        return;
    if (w->in.len > 0) {
        if (!handle_line(w, w->in.p, w->in.len))
            return;
        w->in.len = 0;
    }
    if (rc != CURLE_OK && w->s->neps > 1)
        w->s->cur = (w->s->cur + 1) % w->s->neps;
    schedule_retry(w);
}

int etcd_watch(berth_store *bs, const char *prefix, int64_t after_rev, berth_watch_cb cb,
               void *arg, berth_watch **out)
{
    etcd_store *s = (etcd_store *)bs;
    if (!cb || !out)
        return BERTH_EINVAL;
    if (s->closing)
        return BERTH_ECANCELED;
    if (!s->up)
        return BERTH_EUNAVAILABLE;
    if (after_rev && after_rev < s->compacted)
        return BERTH_EEXPIRED;
    if (!prefix)
        prefix = "";
    berth_watch *w = calloc(1, sizeof *w);
    if (!w)
        return BERTH_ENOMEM;
    w->s = s;
    w->cb = cb;
    w->arg = arg;
    /* "From now on": after every revision this store has seen, so a write
     * whose callback ran before this call is never delivered. */
    w->cursor = after_rev ? after_rev : s->rev;
    w->backoff_ms = 100;
    w->key64 = etcd_key64(s, prefix, strlen(prefix));
    w->end64 = etcd_range_end64(s, prefix);
    w->deliver = event_new(s->ev, -1, 0, on_deliver, w);
    w->retry = evtimer_new(s->ev, on_retry, w);
    w->next = s->watches;
    if (s->watches)
        s->watches->prev = w;
    s->watches = w;
    int err = !w->key64 || !w->end64 || !w->deliver || !w->retry ? BERTH_ENOMEM : 0;
    if (!err)
        err = connect_stream(w);
    if (err) {
        free_watch(w);
        return err;
    }
    *out = w;
    return 0;
}

void etcd_watch_cancel(berth_store *bs, berth_watch *w)
{
    if (!w || w->dead)
        return;
    if (w->in_cb) {
        w->dead = true;
        return;
    }
    free_watch(w);
}

void etcd_watch_end_all(etcd_store *s, int err)
{
    while (s->watches)
        end_watch(s->watches, err);
}
