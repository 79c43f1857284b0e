/* Watch streams: chunked HTTP, one {"type","object"} line per event, flushed
 * per event. Selectors apply to the old and the new object, as the
 * Kubernetes cacher does: an object leaving the selection is sent as
 * DELETED, one entering it as ADDED. A watcher that stops reading is cut
 * off once it owes more than the output limit, with an ERROR event telling
 * it to resume, so it never holds up the loop or other watchers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api/api-int.h"

struct api_watch {
    api_watch *next, *prev;
    berth_api *a;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    berth_watch *sw;
    const berth_kind *kind;
    api_filter f;
    char prefix[300];
    bool table, cols_sent, bookmarks;
    int64_t last_rev;
    struct event *timeout, *bookmark;
};

static void unlink_watch(api_watch *w)
{
    berth_api *a = w->a;
    if (w->prev)
        w->prev->next = w->next;
    else
        a->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    a->nwatches--;
}

/* Ends the stream. With conn_gone the connection is being freed by
 * libevent: the request is ours to free only when it was detached. */
static void watch_end(api_watch *w, bool conn_gone)
{
    berth_api *a = w->a;
    unlink_watch(w);
    if (w->sw)
        berth_store_watch_cancel(a->store, w->sw);
    if (w->timeout)
        event_free(w->timeout);
    if (w->bookmark)
        event_free(w->bookmark);
    api_filter_free(&w->f);
    if (!conn_gone) {
        api_conn_set_watch(a, w->evcon, NULL);
        evhttp_send_reply_end(w->req);
    } else if (!evhttp_request_get_connection(w->req)) {
        evhttp_request_free(w->req);
    }
    free(w);
}

void api_watch_conn_gone(api_watch *w)
{
    watch_end(w, true);
}

void api_watch_close_all(berth_api *a)
{
    while (a->watches)
        watch_end(a->watches, false);
}

static size_t pending_output(api_watch *w)
{
    struct evhttp_connection *c = evhttp_request_get_connection(w->req);
    struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void send_error(api_watch *w, int err, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"type\":\"ERROR\",\"object\":");
    api_status_write(b, err, msg, NULL, NULL, NULL, NULL);
    evbuffer_add(b, "}\n", 2);
    evhttp_send_reply_chunk(w->req, b);
    evbuffer_free(b);
}

/* Sends one event; returns false when the watch was ended (too slow). */
static bool send_event(api_watch *w, const char *type, const berth_val *v, int64_t rv,
                       const cJSON *obj)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"type\":\"%s\",\"object\":", type);
    if (w->table) {
        cJSON *own = NULL;
        if (!obj)
            obj = own = api_obj_decode(v, rv);
        else
            berth_obj_set_rv((cJSON *)obj, rv);
        api_table_begin(b, w->kind, rv, NULL, !w->cols_sent);
        if (obj)
            api_table_row(b, w->kind, obj, true, (int64_t)time(NULL));
        api_table_end(b);
        w->cols_sent = true;
        cJSON_Delete(own);
    } else {
        api_obj_write(b, v, rv);
    }
    evbuffer_add(b, "}\n", 2);
    evhttp_send_reply_chunk(w->req, b);
    evbuffer_free(b);
    if (pending_output(w) > w->a->o.watch_buffer) {
        char msg[160];
        snprintf(msg, sizeof msg, "the watcher is too slow; resume from resourceVersion %"
                 PRId64, w->last_rev);
        /* 429, not 410: the revision is still in the history, so the client
         * resumes its watch from where it was instead of relisting. */
        send_error(w, BERTH_ETOOMANY, msg);
        watch_end(w, false);
        return false;
    }
    return true;
}

static bool matches(api_watch *w, const berth_val *v, int64_t rv, cJSON **out)
{
    cJSON *o = api_obj_decode(v, rv);
    if (!o || !api_filter_match(&w->f, o)) {
        cJSON_Delete(o);
        return false;
    }
    *out = o;
    return true;
}

static void on_event(void *arg, int err, const berth_event *ev)
{
    api_watch *w = arg;
    if (err) {
        w->sw = NULL;
        if (err == BERTH_EEXPIRED)
            send_error(w, BERTH_EEXPIRED, "the watch fell behind the event history; "
                                          "list again and resume");
        watch_end(w, false);
        return;
    }
    int64_t rv = ev->kv.mod_rev;
    w->last_rev = rv;
    bool del = ev->type == BERTH_EVENT_DELETE;
    if (!w->f.any) {
        send_event(w, del ? "DELETED" : ev->prev.val ? "MODIFIED" : "ADDED", ev->kv.val,
                   rv, NULL);
        return;
    }
    cJSON *now = NULL, *old = NULL;
    bool nm = matches(w, ev->kv.val, rv, &now);
    if (del) {
        if (nm)
            send_event(w, "DELETED", ev->kv.val, rv, now);
    } else {
        bool om = ev->prev.val && matches(w, ev->prev.val, rv, &old);
        if (nm || om)
            send_event(w, nm && om ? "MODIFIED" : nm ? "ADDED" : "DELETED", ev->kv.val, rv,
                       now);
    }
    cJSON_Delete(now);
    cJSON_Delete(old);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    watch_end(arg, false);
}

static void on_bookmark(evutil_socket_t fd, short what, void *arg)
{
    api_watch *w = arg;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\","
                           "\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%"
                           PRId64 "\"}}}\n",
                        w->table ? "Table" : w->kind->kind,
                        w->table ? "meta.k8s.io/v1" : w->kind->api_version, w->last_rev);
    evhttp_send_reply_chunk(w->req, b);
    evbuffer_free(b);
}

/* Discards anything the client sends on a watch connection; reading keeps
 * the connection's EOF visible so a gone client is noticed at once. */
static void drain_input(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void watch_from(api_watch *w, int64_t after)
{
    w->last_rev = after;
    int rc = berth_store_watch(w->a->store, w->prefix, after, on_event, w, &w->sw);
    if (rc) {
        w->sw = NULL;
        if (rc == BERTH_EEXPIRED) {
            char msg[160];
            snprintf(msg, sizeof msg, "too old resource version: %" PRId64 " (%" PRId64 ")",
                     after, w->a->store->ops->oldest_revision(w->a->store));
            send_error(w, BERTH_EEXPIRED, msg);
        } else {
            send_error(w, rc, berth_strerror(rc));
        }
        watch_end(w, false);
    }
}

static void initial_done(void *arg, const berth_store_page *p)
{
    api_watch *w = arg;
    if (p->err) {
        send_error(w, p->err, berth_strerror(p->err));
        watch_end(w, false);
        return;
    }
    w->last_rev = p->rev;
    for (size_t i = 0; i < p->n; i++) {
        const berth_kv *kv = &p->items[i];
        cJSON *o = NULL;
        if (w->f.any && !matches(w, kv->val, kv->mod_rev, &o))
            continue;
        bool alive = send_event(w, "ADDED", kv->val, kv->mod_rev, o);
        cJSON_Delete(o);
        if (!alive)
            return;
    }
    watch_from(w, p->rev);
}

void api_serve_watch(api_req *r)
{
    berth_api *a = r->api;
    const char *rvs = api_query(r, "resourceVersion");
    int64_t rv = 0;
    if (rvs && *rvs) {
        char *end;
        long long v = strtoll(rvs, &end, 10);
        if (*end || v < 0)
            return api_reply_error(r, BERTH_EBADREQUEST, "invalid resourceVersion \"%s\"",
                                   rvs);
        rv = v;
    }
    const char *ts = api_query(r, "timeoutSeconds");
    long timeout = ts ? strtol(ts, NULL, 10) : 0;
    const char *bm = api_query(r, "allowWatchBookmarks");
    api_watch *w = calloc(1, sizeof *w);
    if (!w)
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    if (api_filter_parse(r, &w->f) != 0) {
        free(w);
        return;
    }
    if (berth_obj_prefix(r->rt.kind, r->rt.ns, w->prefix, sizeof w->prefix) < 0) {
        api_filter_free(&w->f);
        free(w);
        return api_reply_error(r, BERTH_EBADREQUEST, "the namespace is too long");
    }
    w->a = a;
    w->req = r->req;
    w->evcon = evhttp_request_get_connection(r->req);
    w->kind = r->rt.kind;
    w->table = r->table;
    w->bookmarks = bm && (!strcmp(bm, "true") || !strcmp(bm, "1"));
    w->next = a->watches;
    if (a->watches)
        a->watches->prev = w;
    a->watches = w;
    a->nwatches++;
    api_conn_set_watch(a, w->evcon, w);
    api_req_detach(r);

    struct evkeyvalq *h = evhttp_request_get_output_headers(w->req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-cache, private");
    evhttp_send_reply_start(w->req, 200, "OK");
    if (w->evcon) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(w->evcon);
        bufferevent_data_cb wcb;
        bufferevent_event_cb ecb;
        void *cbarg;
        bufferevent_getcb(bev, NULL, &wcb, &ecb, &cbarg);
        bufferevent_setcb(bev, drain_input, wcb, ecb, cbarg);
        struct timeval wt = {a->o.read_timeout, 0};
        bufferevent_set_timeouts(bev, NULL, &wt);
        bufferevent_enable(bev, EV_READ);
    }
    if (timeout > 0) {
        w->timeout = evtimer_new(a->base, on_timeout, w);
        struct timeval tv = {timeout, 0};
        evtimer_add(w->timeout, &tv);
    }
    if (w->bookmarks) {
        w->bookmark = event_new(a->base, -1, EV_PERSIST, on_bookmark, w);
        struct timeval tv = {a->o.bookmark_interval, 0};
        event_add(w->bookmark, &tv);
    }
    if (rv == 0) {
        int rc = berth_store_list(a->store, w->prefix, NULL, 0, 0, initial_done, w);
        if (rc) {
            send_error(w, rc, berth_strerror(rc));
            watch_end(w, false);
        }
        return;
    }
    watch_from(w, rv);
}
