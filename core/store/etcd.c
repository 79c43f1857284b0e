/* The etcd backend: open and close, the request machinery (one libcurl
 * transfer a request, on the loop through curlev), failover across the
 * endpoints, the health probe that decides when calls fail fast, and
 * periodic compaction. The operations are in etcd-kv.c and etcd-watch.c. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "store/etcd.h"

/* A probe reads one absent key: linearizable, so it needs a quorum. */
static const char probe_body[] = "{\"key\":\"AA==\",\"count_only\":true}";

int etcd_buf_add(etcd_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return BERTH_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

size_t etcd_write_body(char *data, size_t size, size_t n, void *arg)
{
    etcd_buf *b = arg;
    return etcd_buf_add(b, data, size * n) ? 0 : size * n;
}

CURL *etcd_easy_get(etcd_store *s)
{
    CURL *e = s->npool ? s->pool[--s->npool] : curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    return e;
}

void etcd_easy_put(etcd_store *s, CURL *easy)
{
    if (!easy)
        return;
    if (s->npool < sizeof s->pool / sizeof s->pool[0]) {
        curl_easy_reset(easy);
        s->pool[s->npool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

void etcd_note_header(etcd_store *s, const cJSON *resp)
{
    int64_t rev = etcd_int(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision");
    if (rev > s->rev)
        s->rev = rev;
}

etcd_req *etcd_req_new(etcd_store *s, const char *path, etcd_done_fn done)
{
    etcd_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->path = path;
    r->done = done;
    return r;
}

void etcd_req_free(etcd_req *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->out.p);
    free(r->key);
    berth_val_unref(r->val);
    free(r);
}

static void unlink_req(etcd_store *s, etcd_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (s->reqs == r)
        s->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    if (r->write)
        s->nwrites--;
}

static void on_req_done(void *arg, CURL *easy, CURLcode rc);

/* Sends r to endpoint r->ep. */
static int start_attempt(etcd_req *r)
{
    etcd_store *s = r->s;
    char url[1024];
    if (snprintf(url, sizeof url, "%s%s", s->eps[r->ep], r->path) >= (int)sizeof url)
        return BERTH_EINVAL;
    CURL *e = etcd_easy_get(s);
    if (!e)
        return BERTH_ENOMEM;
    r->out.len = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, etcd_write_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->out);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    int err = berth_curlev_add(s->cv, e, on_req_done, r);
    if (err) {
        etcd_easy_put(s, e);
        return err;
    }
    r->easy = e;
    return 0;
}

int etcd_req_send(etcd_req *r)
{
    etcd_store *s = r->s;
    int err = 0;
    if (s->closing)
        err = BERTH_ECANCELED;
    else if (!s->up && !r->probe)
        err = BERTH_EUNAVAILABLE;
    else if (!r->body)
        err = BERTH_ENOMEM;
    if (!err) {
        r->ep = s->cur;
        err = start_attempt(r);
    }
    if (err) {
        etcd_req_free(r);
        return err;
    }
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prev = r;
    s->reqs = r;
    if (r->write)
        s->nwrites++;
    return 0;
}

/* Maps an error answer of the gateway ({"error", "message", "code"}: a
 * gRPC status) to a berth code. */
static int grpc_error(etcd_store *s, const cJSON *resp, long http)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(resp, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(resp, "message");
    const char *m = cJSON_IsString(msg) ? msg->valuestring : "";
    if (!code && http < 300)
        return 0;
    int c = cJSON_IsNumber(code) ? code->valueint : -1;
    switch (c) {
    case 3: return strstr(m, "too large") ? BERTH_ETOOLARGE : BERTH_EINVAL;
    case 11: return strstr(m, "future") ? BERTH_ERANGE : BERTH_EEXPIRED;
    case 8: return BERTH_ETOOMANY;
    case 4:
    case 14:
        etcd_mark_down(s, m);
        return BERTH_EUNAVAILABLE;
    default:
        BERTH_WARN("etcd", "unexpected answer (HTTP %ld, code %d): %s", http, c, m);
        return BERTH_EIO;
    }
}

static void finish(etcd_req *r, int err, const cJSON *resp)
{
    etcd_store *s = r->s;
    unlink_req(s, r);
    r->done(r, err, resp);
    etcd_req_free(r);
}

static void on_req_done(void *arg, CURL *easy, CURLcode rc)
{
    etcd_req *r = arg;
    etcd_store *s = r->s;
    long http = 0, sent = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
    etcd_easy_put(s, easy);
    r->easy = NULL;
    if (rc != CURLE_OK) {
        /* Nothing reached etcd (or a read did): the next endpoint may
         * answer. A write that may have reached etcd is never sent twice;
         * its caller gets 503 and decides. */
        if ((sent == 0 || r->retry_sent) && ++r->tries < s->neps) {
            if (s->cur == r->ep)
                s->cur = (s->cur + 1) % s->neps;
            r->ep = (r->ep + 1) % s->neps;
            if (start_attempt(r) == 0)
                return;
        }
        if (!r->probe) {
            char why[256];
            snprintf(why, sizeof why, "%s: %s", s->eps[r->ep], curl_easy_strerror(rc));
            etcd_mark_down(s, why);
        }
        finish(r, BERTH_EUNAVAILABLE, NULL);
        return;
    }
    cJSON *resp = cJSON_ParseWithLength(r->out.p ? r->out.p : "", r->out.len);
    int err;
    if (!resp) {
        BERTH_WARN("etcd", "%s%s answered HTTP %ld with a body that is not JSON",
                   s->eps[r->ep], r->path, http);
        err = BERTH_EIO;
    } else {
        err = grpc_error(s, resp, http);
        etcd_note_header(s, resp);
    }
    finish(r, err, err ? NULL : resp);
    cJSON_Delete(resp);
}

void etcd_mark_down(etcd_store *s, const char *why)
{
    if (!s->up || s->closing)
        return;
    s->up = false;
    BERTH_WARN("etcd", "etcd is unreachable (%s); calls fail with 503 until it answers",
               why);
    struct timeval tv = {0, 250000};
    evtimer_add(s->probe, &tv);
}

static void probe_done(etcd_req *r, int err, const cJSON *resp)
{
    etcd_store *s = r->s;
    if (err == 0) {
        s->up = true;
        BERTH_INFO("etcd", "etcd answers again at %s", s->eps[r->ep]);
        return;
    }
    if (!s->closing) {
        struct timeval tv = {0, 500000};
        evtimer_add(s->probe, &tv);
    }
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
    etcd_store *s = arg;
    etcd_req *r = etcd_req_new(s, "/v3/kv/range", probe_done);
    if (r) {
        r->probe = true;
        r->retry_sent = true;
        r->body = strdup(probe_body);
        r->body_len = sizeof probe_body - 1;
    }
    if (!r || etcd_req_send(r) != 0) {
        struct timeval tv = {0, 500000};
        evtimer_add(s->probe, &tv);
    }
}

static void compact_done(etcd_req *r, int err, const cJSON *resp)
{
    etcd_store *s = r->s;
    /* Compaction by another server to a newer revision answers
     * "compacted", which is as good. */
    int64_t rev = r->rev;
    if ((err == 0 || err == BERTH_EEXPIRED) && rev > s->compacted)
        s->compacted = rev;
    else if (err)
        BERTH_WARN("etcd", "compaction to revision %lld failed: %s", (long long)rev,
                   berth_strerror(err));
}

/* Keeps at least compact_keep revisions and at least one interval of
 * history: the target is the older of "compact_keep behind now" and the
 * revision seen at the previous tick. */
static void on_compact(evutil_socket_t fd, short what, void *arg)
{
    etcd_store *s = arg;
    int64_t target = s->rev - s->compact_keep;
    if (s->compact_mark < target)
        target = s->compact_mark;
    s->compact_mark = s->rev;
    if (!s->up || target <= s->compacted)
        return;
    etcd_req *r = etcd_req_new(s, "/v3/kv/compaction", compact_done);
    if (!r)
        return;
    char body[64];
    r->body_len = (size_t)snprintf(body, sizeof body, "{\"revision\": \"%lld\"}",
                                   (long long)target);
    r->body = strdup(body);
    r->rev = target;
    etcd_req_send(r);
}

static int64_t etcd_revision(berth_store *bs)
{
    return ((etcd_store *)bs)->rev;
}

static int64_t etcd_oldest_revision(berth_store *bs)
{
    return ((etcd_store *)bs)->compacted;
}

static void free_store(etcd_store *s)
{
    if (s->cv)
        berth_curlev_free(s->cv);
    for (size_t i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    for (size_t i = 0; i < s->neps; i++)
        free(s->eps[i]);
    free(s->eps);
    free(s->prefix);
    curl_slist_free_all(s->headers);
    if (s->probe)
        event_free(s->probe);
    if (s->compact)
        event_free(s->compact);
    const berth_hmap_slot *slot;
    for (size_t i = 0; (i = berth_hmap_next(&s->counts, i, &slot)) != 0;)
        free(slot->value);
    berth_hmap_free(&s->counts);
    free(s);
}

/* Writes in flight get up to their timeout to finish, so their callbacks
 * report what etcd decided; reads still in flight are cancelled. */
static void etcd_close(berth_store *bs)
{
    etcd_store *s = (etcd_store *)bs;
    s->closing = true;
    for (int i = 0; s->nwrites > 0 && i < 100000; i++)
        event_base_loop(s->ev, EVLOOP_ONCE);
    while (s->reqs) {
        etcd_req *r = s->reqs;
        if (r->easy) {
            berth_curlev_remove(s->cv, r->easy);
            curl_easy_cleanup(r->easy);
            r->easy = NULL;
        }
        finish(r, BERTH_ECANCELED, NULL);
    }
    etcd_watch_end_all(s, BERTH_ECANCELED);
    free_store(s);
}

static const berth_store_ops etcd_ops = {
    .size = sizeof(berth_store_ops),
    .name = "etcd",
    .get = etcd_get,
    .list = etcd_list,
    .create = etcd_create,
    .update = etcd_update,
    .del = etcd_del,
    .watch = etcd_watch,
    .watch_cancel = etcd_watch_cancel,
    .revision = etcd_revision,
    .oldest_revision = etcd_oldest_revision,
    .count = etcd_count_keys,
    .close = etcd_close,
};

static int parse_endpoints(etcd_store *s, const char *list)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *a = p, *b = p + n;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '/'))
            b--;
        if (b > a) {
            if (strncmp(a, "http://", 7) != 0 && strncmp(a, "https://", 8) != 0) {
                BERTH_ERROR("etcd", "endpoint %.*s: want a URL like http://127.0.0.1:2379",
                            (int)(b - a), a);
                return BERTH_EINVAL;
            }
            char **eps = realloc(s->eps, (s->neps + 1) * sizeof *eps);
            if (!eps)
                return BERTH_ENOMEM;
            s->eps = eps;
            if (!(s->eps[s->neps] = strndup(a, (size_t)(b - a))))
                return BERTH_ENOMEM;
            s->neps++;
        }
        p += n + (p[n] == ',');
    }
    if (s->neps == 0) {
        BERTH_ERROR("etcd", "no endpoint given (want http://HOST:PORT[,...])");
        return BERTH_EINVAL;
    }
    return 0;
}

/* One blocking range request per endpoint until one answers: start-up
 * learns the revision and refuses to run on an etcd it cannot reach. */
static int probe_blocking(etcd_store *s)
{
    for (size_t i = 0; i < s->neps; i++) {
        size_t ep = (s->cur + i) % s->neps;
        char url[1024];
        snprintf(url, sizeof url, "%s/v3/kv/range", s->eps[ep]);
        CURL *e = etcd_easy_get(s);
        if (!e)
            return BERTH_ENOMEM;
        etcd_buf out = {0};
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, probe_body);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, etcd_write_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
        CURLcode rc = curl_easy_perform(e);
        etcd_easy_put(s, e);
        cJSON *resp = rc == CURLE_OK && out.p ? cJSON_ParseWithLength(out.p, out.len) : NULL;
        free(out.p);
        int64_t rev = etcd_int(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision");
        cJSON_Delete(resp);
        if (rev > 0) {
            s->cur = ep;
            s->rev = rev;
            return 0;
        }
        BERTH_WARN("etcd", "%s does not answer: %s", s->eps[ep],
                   rc ? curl_easy_strerror(rc) : "no revision in its answer");
    }
    return BERTH_EUNAVAILABLE;
}

int berth_store_etcd_open(const berth_etcd_options *o, berth_store **out)
{
    if (!o || !o->base || !o->endpoints || !out)
        return BERTH_EINVAL;
    etcd_store *s = calloc(1, sizeof *s);
    if (!s)
        return BERTH_ENOMEM;
    s->base.ops = &etcd_ops;
    s->ev = o->base;
    s->timeout_ms = o->timeout_ms ? (long)o->timeout_ms : 5000;
    s->connect_ms = o->connect_timeout_ms ? (long)o->connect_timeout_ms : 1000;
    s->compact_keep = o->compact_keep ? o->compact_keep : 10000;
    s->up = true;
    s->prefix = strdup(o->prefix ? o->prefix : "");
    s->prefix_len = s->prefix ? strlen(s->prefix) : 0;
    /* No "Expect: 100-continue" round trip on larger bodies. */
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (s->headers)
        s->headers = curl_slist_append(s->headers, "Expect:");
    s->probe = evtimer_new(o->base, on_probe, s);
    s->compact = event_new(o->base, -1, EV_PERSIST, on_compact, s);
    int err = !s->prefix || !s->headers || !s->probe || !s->compact ? BERTH_ENOMEM : 0;
    if (!err)
        err = parse_endpoints(s, o->endpoints);
    if (!err)
        err = berth_curlev_new(o->base, &s->cv);
    if (!err && (err = probe_blocking(s)) != 0)
        BERTH_ERROR("etcd", "no etcd endpoint answers (%s)", o->endpoints);
    if (err) {
        free_store(s);
        return err;
    }
    s->compact_mark = s->rev;
    if (s->compact_keep > 0) {
        struct timeval tv = {o->compact_interval ? o->compact_interval : 300, 0};
        event_add(s->compact, &tv);
    }
    *out = &s->base;
    return 0;
}
