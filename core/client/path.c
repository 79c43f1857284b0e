/* REST paths for client requests, shared by the remote client and berthctl. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/client.h"

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} pathbuf;

static void put(pathbuf *p, const char *s)
{
    size_t n = strlen(s);
    if (p->failed)
        return;
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            p->failed = 1;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n + 1);
    p->len += n;
}

static void put_param(pathbuf *p, const char *key, const char *value)
{
    put(p, p->len && strchr(p->buf, '?') ? "&" : "?");
    put(p, key);
    put(p, "=");
    char *e = curl_easy_escape(NULL, value, 0);
    if (!e) {
        p->failed = 1;
        return;
    }
    put(p, e);
    curl_free(e);
}

char *berth_request_path(const berth_request *req, berth_verb verb, bool watch)
{
    const berth_kind *k = req->kind;
    pathbuf p = {0};
    char num[32];
    if (k->group[0]) {
        put(&p, "/apis/");
        put(&p, k->group);
        put(&p, "/");
    } else {
        put(&p, "/api/");
    }
    put(&p, k->version);
    if (k->namespaced && req->ns && *req->ns) {
        put(&p, "/namespaces/");
        put(&p, req->ns);
    }
    put(&p, "/");
    put(&p, k->resource);
    int collection = verb == BERTH_VERB_LIST || verb == BERTH_VERB_CREATE || watch;
    if (req->name && (!collection || req->subresource)) {
        put(&p, "/");
        put(&p, req->name);
        if (req->subresource) {
            put(&p, "/");
            put(&p, req->subresource);
        }
    }
    if (verb == BERTH_VERB_LIST || watch) {
        if (req->label_selector && *req->label_selector)
            put_param(&p, "labelSelector", req->label_selector);
        if (req->field_selector && *req->field_selector)
            put_param(&p, "fieldSelector", req->field_selector);
        if (req->limit && !watch) {
            snprintf(num, sizeof num, "%zu", req->limit);
            put_param(&p, "limit", num);
        }
        if (req->continue_token && !watch)
            put_param(&p, "continue", req->continue_token);
        if (watch) {
            put_param(&p, "watch", "true");
            put_param(&p, "allowWatchBookmarks", "true");
        }
        if (req->resource_version || watch) {
            snprintf(num, sizeof num, "%lld", (long long)req->resource_version);
            put_param(&p, "resourceVersion", num);
        }
    }
    if (p.failed) {
        free(p.buf);
        return NULL;
    }
    return p.buf;
}
