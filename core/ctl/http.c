/* berthctl's HTTP client: libcurl's easy interface, one request at a time,
 * with a bearer token and JSON by default. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl.h"

typedef struct {
    char *buf;
    size_t len, cap;
} growbuf;

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
    growbuf *g = arg;
    size_t n = size * nmemb;
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4096;
        while (cap < g->len + n + 1)
            cap *= 2;
        char *p = realloc(g->buf, cap);
        if (!p)
            return 0; /* makes curl fail with a write error */
        g->buf = p;
        g->cap = cap;
    }
    memcpy(g->buf + g->len, data, n);
    g->len += n;
    g->buf[g->len] = 0;
    return n;
}

/* Picks the exit code out of an exec reply's headers. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    berth_ctl_resp *resp = arg;
    size_t n = size * nmemb;
    static const char name[] = "X-Berth-Exit-Code:";
    if (n > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0)
        resp->exit_code = atoi(data + sizeof name - 1);
    return n;
}

static struct curl_slist *headers_for(const berth_ctl *c, const char *content_type,
                                      const char *accept)
{
    struct curl_slist *h = NULL;
    char line[1024];
    snprintf(line, sizeof line, "Accept: %s", accept ? accept : "application/json");
    h = curl_slist_append(h, line);
    if (content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
    }
    if (c->kc.token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->kc.token);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "User-Agent: berthctl");
    return h;
}

static CURL *easy_for(const berth_ctl *c, const char *method, const char *path)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    size_t n = strlen(c->kc.server) + strlen(path) + 1;
    char *url = malloc(n);
    if (!url) {
        curl_easy_cleanup(e);
        return NULL;
    }
    snprintf(url, n, "%s%s", c->kc.server, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* curl copies it */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    berth_kubeconfig_apply(&c->kc, e);
    return e;
}

int berth_ctl_do(const berth_ctl *c, const char *method, const char *path,
                 const char *content_type, const char *body, size_t body_len,
                 const char *accept, berth_ctl_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    CURL *e = easy_for(c, method, path);
    if (!e) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        return -1;
    }
    if (body && !content_type)
        content_type = "application/json";
    struct curl_slist *h = headers_for(c, content_type, accept);
    growbuf g = {0};
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body = g.buf ? g.buf : calloc(1, 1);
        resp->len = g.len;
    } else {
        snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(rc));
        free(g.buf);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? 0 : -1;
}

void berth_ctl_resp_free(berth_ctl_resp *r)
{
    free(r->body);
    r->body = NULL;
}

typedef struct {
    growbuf line;
    berth_ctl_line_fn fn;
    void *arg;
    int stopped;
} streamer;

static size_t stream_chunk(char *data, size_t size, size_t nmemb, void *arg)
{
    streamer *s = arg;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n; i++) {
        if (data[i] != '\n') {
            if (collect(&data[i], 1, 1, &s->line) != 1)
                return 0;
            continue;
        }
        if (s->fn(s->arg, s->line.buf ? s->line.buf : "", s->line.len)) {
            s->stopped = 1;
            return 0; /* aborts the transfer */
        }
        s->line.len = 0;
        if (s->line.buf)
            s->line.buf[0] = 0;
    }
    return n;
}

long berth_ctl_stream(const berth_ctl *c, const char *path, const char *accept,
                      berth_ctl_line_fn on_line, void *arg)
{
    CURL *e = easy_for(c, "GET", path);
    if (!e)
        return -1;
    struct curl_slist *h = headers_for(c, NULL, accept);
    streamer s = {.fn = on_line, .arg = arg};
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, stream_chunk);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(e);
    long status = -1;
    if (rc == CURLE_OK || s.stopped) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (s.line.len && !s.stopped)
            on_line(arg, s.line.buf, s.line.len);
    } else {
        fprintf(stderr, "error: %s\n", curl_easy_strerror(rc));
    }
    free(s.line.buf);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

int berth_ctl_report(const berth_ctl_resp *r)
{
    if (r->status == 0) {
        fprintf(stderr, "error: cannot reach the berth API server: %s "
                        "(is `berthd server` running, and is the kubeconfig right?)\n",
                r->error);
        return 1;
    }
    cJSON *st = cJSON_Parse(r->body ? r->body : "");
    const char *reason = berth_obj_str(st, "reason");
    const char *msg = berth_obj_str(st, "message");
    if (msg)
        fprintf(stderr, "Error from server (%s): %s\n", reason ? reason : "Unknown", msg);
    else
        fprintf(stderr, "Error from server: HTTP %ld\n", r->status);
    cJSON_Delete(st);
    return 1;
}
