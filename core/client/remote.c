/* The remote client: the client interface over HTTP to an API server, every
 * request and watch a libcurl transfer on the event loop. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/client.h"
#include "berth/errno.h"
#include "berth/status.h"
#include "util/curlev.h"

typedef struct remote remote;

/* One transfer: a request awaiting its reply, or a watch stream. */
typedef struct call {
    remote *r;
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* request body, kept alive for libcurl */
    char *buf;  /* response bytes, or the partial line of a watch */
    size_t len, cap;
    int is_watch;
    int canceled;  /* watch: no callback may follow */
    int watch_err; /* watch: the ERROR event's code, reported at the end */
    berth_reply_cb reply_cb;
    berth_watch_event_cb watch_cb;
    void *arg;
    struct call *prev, *next;
} call;

struct remote {
    berth_client base;
    struct event_base *loop;
    berth_curlev *cv;
    berth_kubeconfig kc;  /* our own copy: server, token and TLS trust */
    char *server;         /* kc.server */
    char *auth_header;
    call *calls;         /* every transfer in flight */
    struct event *reaper; /* removes canceled watches outside curl callbacks */
};

static void call_unlink(remote *r, call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        r->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void call_free(call *c)
{
    curl_slist_free_all(c->headers);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->body);
    free(c->buf);
    free(c);
}

static int buf_append(call *c, const char *data, size_t n)
{
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *p = realloc(c->buf, cap);
        if (!p)
            return -1;
        c->buf = p;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = 0;
    return 0;
}

static size_t on_reply_bytes(char *data, size_t size, size_t nmemb, void *arg)
{
    call *c = arg;
    return buf_append(c, data, size * nmemb) == 0 ? size * nmemb : 0;
}

static void on_reply_done(void *arg, CURL *easy, CURLcode rc)
{
    call *c = arg;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    call_unlink(c->r, c);
    berth_reply reply = {.code = (int)code};
    cJSON *doc = NULL;
    char msg[CURL_ERROR_SIZE + 64];
    if (rc != CURLE_OK) {
        reply.err = BERTH_EUNAVAILABLE;
        snprintf(msg, sizeof msg, "cannot reach %s: %s", c->r->server, curl_easy_strerror(rc));
        reply.message = msg;
    } else {
        doc = c->buf ? cJSON_ParseWithLength(c->buf, c->len) : NULL;
        reply.err = berth_status_err(berth_obj_str(doc, "reason"), (int)code);
        if (reply.err) {
            reply.message = berth_obj_str(doc, "message");
            if (!reply.message) {
                snprintf(msg, sizeof msg, "HTTP %ld", code);
                reply.message = msg;
            }
        } else {
            reply.obj = doc;
        }
    }
    c->reply_cb(c->arg, &reply);
    cJSON_Delete(doc);
    call_free(c);
}

/* A watch line: one {"type","object"} event. Returns -1 to stop the stream. */
static int watch_line(call *c, const char *line, size_t len)
{
    if (len == 0)
        return 0;
    cJSON *ev = cJSON_ParseWithLength(line, len);
    const char *type = berth_obj_str(ev, "type");
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
    int stop = 0;
    if (!type || !obj) {
        c->watch_err = BERTH_EUNAVAILABLE;
        stop = -1;
    } else if (strcmp(type, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        c->watch_err = berth_status_err(berth_obj_str(obj, "reason"),
                                        cJSON_IsNumber(code) ? code->valueint : 500);
        if (!c->watch_err)
            c->watch_err = BERTH_EUNAVAILABLE;
        stop = -1;
    } else {
        /* The callee owns the object: detach it rather than copy it. */
        cJSON_DetachItemViaPointer(ev, obj);
        c->watch_cb(c->arg, 0, type, obj);
        stop = c->canceled ? -1 : 0;
    }
    cJSON_Delete(ev);
    return stop;
}

static size_t on_watch_bytes(char *data, size_t size, size_t nmemb, void *arg)
{
    call *c = arg;
    size_t n = size * nmemb;
    if (c->canceled)
        return 0;
    long code = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) /* keep the Status body for the end */
        return buf_append(c, data, n) == 0 ? n : 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t chunk = nl ? (size_t)(nl - (data + i)) : n - i;
        if (buf_append(c, data + i, chunk) != 0)
            return 0;
        i += chunk;
        if (!nl)
            break;
        i++; /* the newline */
        int stop = watch_line(c, c->buf, c->len);
        c->len = 0;
        if (stop)
            return 0;
    }
    return n;
}

static void on_watch_done(void *arg, CURL *easy, CURLcode rc)
{
    call *c = arg;
    call_unlink(c->r, c);
    if (!c->canceled) {
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        int err = c->watch_err;
        if (!err && code != 200) {
            cJSON *st = c->buf ? cJSON_ParseWithLength(c->buf, c->len) : NULL;
            err = berth_status_err(berth_obj_str(st, "reason"), (int)code);
            cJSON_Delete(st);
        }
        (void)rc;
        c->watch_cb(c->arg, err ? err : BERTH_EUNAVAILABLE, NULL, NULL);
    }
    call_free(c);
}

static const char *method_of(berth_verb verb)
{
    switch (verb) {
    case BERTH_VERB_CREATE:
        return "POST";
    case BERTH_VERB_UPDATE:
        return "PUT";
    case BERTH_VERB_PATCH:
        return "PATCH";
    case BERTH_VERB_DELETE:
        return "DELETE";
    default:
        return "GET";
    }
}

static call *call_new(remote *r, const berth_request *req, berth_verb verb, int watch)
{
    call *c = calloc(1, sizeof *c);
    char *path = berth_request_path(req, verb, watch);
    if (!c || !path)
        goto fail;
    size_t n = strlen(r->server) + strlen(path) + 1;
    char *url = malloc(n);
    if (!url)
        goto fail;
    snprintf(url, n, "%s%s", r->server, path);
    c->r = r;
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(url);
        goto fail;
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    free(url);
    free(path);
    path = NULL;
    curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method_of(verb));
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT, 10L);
    berth_kubeconfig_apply(&r->kc, c->easy);
    c->headers = curl_slist_append(NULL, "Accept: application/json");
    if (r->auth_header)
        c->headers = curl_slist_append(c->headers, r->auth_header);
    if (req->body) {
        c->body = cJSON_PrintUnformatted(req->body);
        if (!c->body)
            goto fail;
        char ct[160];
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 verb == BERTH_VERB_PATCH && req->patch_type ? req->patch_type
                                                             : "application/json");
        c->headers = curl_slist_append(c->headers, ct);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
    }
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    return c;
fail:
    free(path);
    if (c)
        call_free(c);
    return NULL;
}

static void call_link(remote *r, call *c)
{
    c->next = r->calls;
    if (r->calls)
        r->calls->prev = c;
    r->calls = c;
}

static int remote_request(berth_client *cl, berth_verb verb, const berth_request *req,
                          berth_reply_cb cb, void *arg)
{
    remote *r = (remote *)cl;
    if (!req->kind)
        return BERTH_EINVAL;
    call *c = call_new(r, req, verb, 0);
    if (!c)
        return BERTH_ENOMEM;
    c->reply_cb = cb;
    c->arg = arg;
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_reply_bytes);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 60L);
    int rc = berth_curlev_add(r->cv, c->easy, on_reply_done, c);
    if (rc) {
        call_free(c);
        return rc;
    }
    call_link(r, c);
    return 0;
}

static int remote_watch(berth_client *cl, const berth_request *req, berth_watch_event_cb cb,
                        void *arg, berth_client_watcher **out)
{
    remote *r = (remote *)cl;
    if (!req->kind)
        return BERTH_EINVAL;
    call *c = call_new(r, req, BERTH_VERB_LIST, 1);
    if (!c)
        return BERTH_ENOMEM;
    c->is_watch = 1;
    c->watch_cb = cb;
    c->arg = arg;
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_watch_bytes);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    /* A dead peer on an idle watch is noticed through TCP keepalive. */
    curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPIDLE, 30L);
    int rc = berth_curlev_add(r->cv, c->easy, on_watch_done, c);
    if (rc) {
        call_free(c);
        return rc;
    }
    call_link(r, c);
    *out = (berth_client_watcher *)c;
    return 0;
}

/* libcurl forbids removing a transfer from inside its callbacks, and a
 * cancel may come from one (a watch callback canceling any watch): canceled
 * watches are marked and removed from a zero-delay timer. */
static void reap_canceled(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    remote *r = arg;
    for (call *c = r->calls, *next; c; c = next) {
        next = c->next;
        if (!c->canceled)
            continue;
        berth_curlev_remove(r->cv, c->easy);
        call_unlink(r, c);
        call_free(c);
    }
}

static void remote_watch_cancel(berth_client *cl, berth_client_watcher *w)
{
    remote *r = (remote *)cl;
    call *c = (call *)w;
    c->canceled = 1;
    struct timeval now = {0, 0};
    event_add(r->reaper, &now);
}

static void remote_free(berth_client *cl)
{
    remote *r = (remote *)cl;
    for (call *c = r->calls, *next; c; c = next) {
        next = c->next;
        if (c->is_watch && !c->canceled)
            c->watch_cb(c->arg, BERTH_ECANCELED, NULL, NULL);
        berth_curlev_remove(r->cv, c->easy);
        call_free(c);
    }
    berth_curlev_free(r->cv);
    if (r->reaper)
        event_free(r->reaper);
    berth_kubeconfig_free(&r->kc);
    free(r->auth_header);
    free(r);
}

static const berth_client_ops remote_ops = {
    .size = sizeof(berth_client_ops),
    .request = remote_request,
    .watch = remote_watch,
    .watch_cancel = remote_watch_cancel,
    .free = remote_free,
};

static char *dup_or_null(const char *s, int *failed)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *failed = 1;
    return d;
}

int berth_client_remote_new(struct event_base *base, const berth_kubeconfig *kc,
                            berth_client **out)
{
    remote *r = calloc(1, sizeof *r);
    if (!r)
        return BERTH_ENOMEM;
    r->base.ops = &remote_ops;
    r->loop = base;
    int failed = 0;
    r->kc.server = dup_or_null(kc->server, &failed);
    r->kc.token = dup_or_null(kc->token, &failed);
    r->kc.ns = dup_or_null(kc->ns, &failed);
    r->kc.ca_file = dup_or_null(kc->ca_file, &failed);
    r->kc.unix_socket = dup_or_null(kc->unix_socket, &failed);
    r->kc.insecure = kc->insecure;
    if (kc->ca_pem) {
        r->kc.ca_pem = malloc(kc->ca_pem_len + 1);
        if (r->kc.ca_pem) {
            memcpy(r->kc.ca_pem, kc->ca_pem, kc->ca_pem_len);
            r->kc.ca_pem_len = kc->ca_pem_len;
        } else {
            failed = 1;
        }
    }
    r->server = r->kc.server;
    r->reaper = evtimer_new(base, reap_canceled, r);
    if (kc->token) {
        size_t n = strlen(kc->token) + 32;
        r->auth_header = malloc(n);
        if (r->auth_header)
            snprintf(r->auth_header, n, "Authorization: Bearer %s", kc->token);
        else
            failed = 1;
    }
    int rc = !failed && r->server && r->reaper ? 0 : BERTH_ENOMEM;
    if (!rc)
        rc = berth_curlev_new(base, &r->cv);
    if (rc) {
        remote_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}

int berth_client_remote_from_kubeconfig(struct event_base *base, const char *path,
                                        berth_client **out)
{
    berth_kubeconfig kc;
    char err[512];
    int rc = berth_kubeconfig_load(path, NULL, &kc, err, sizeof err);
    if (rc)
        return rc;
    rc = berth_client_remote_new(base, &kc, out);
    berth_kubeconfig_free(&kc);
    return rc;
}
