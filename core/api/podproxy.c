/* pods/log and pods/exec of pods on other nodes: the node's agent publishes
 * an endpoint (annotation berth.dev/agent-endpoint, its CA in
 * berth.dev/agent-ca) where it serves the same two paths for its own pods,
 * and the request goes on to it unchanged, with the client's credentials.
 * The answer streams back as it comes (logs with follow run until either
 * side goes away). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "util/base64.h"
#include "util/curlev.h"

#define ANN_ENDPOINT "berth.dev/agent-endpoint"
#define ANN_CA "berth.dev/agent-ca"

typedef struct api_proxy {
    berth_api *a;
    api_req *r;                  /* until the answer starts */
    struct evhttp_request *req;  /* once it has started */
    struct evhttp_connection *evcon;
    CURL *easy;
    struct curl_slist *headers;
    unsigned char *ca;
    size_t ca_len;
    int local_err;
    char local_msg[256];
    char exit_code[16];
    struct api_proxy *next, **pprev;
} api_proxy;

static void unlink_proxy(api_proxy *p)
{
    if (!p->pprev)
        return;
    *p->pprev = p->next;
    if (p->next)
        p->next->pprev = p->pprev;
    p->pprev = NULL;
}

static void proxy_free(api_proxy *p)
{
    unlink_proxy(p);
    if (p->evcon)
        api_conn_set_gone(p->a, p->evcon, NULL, NULL);
    if (p->easy)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->headers);
    free(p->ca);
    free(p);
}

/* Fails before anything was sent: a Status, as the local agent would. */
static void fail(api_proxy *p, int err, const char *msg)
{
    char copy[300]; /* msg may live in p */
    snprintf(copy, sizeof copy, "%s", msg);
    api_req *r = p->r;
    p->r = NULL;
    proxy_free(p);
    api_reply_error(r, err, "%s", copy);
}

static void client_gone(void *arg)
{
    api_proxy *p = arg;
    p->req = NULL; /* evhttp frees the request with its connection */
    p->evcon = NULL;
    if (p->easy && p->a->proxy_cv)
        berth_curlev_remove(p->a->proxy_cv, p->easy);
    proxy_free(p);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    api_proxy *p = arg;
    size_t n = size * nmemb;
    static const char name[] = "X-Berth-Exit-Code:";
    if (n > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0)
        snprintf(p->exit_code, sizeof p->exit_code, "%d", atoi(data + sizeof name - 1));
    return n;
}

/* The first bytes start our answer with the agent's status and type. */
static void start_answer(api_proxy *p)
{
    long code = 0;
    char *ctype = NULL;
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(p->easy, CURLINFO_CONTENT_TYPE, &ctype);
    api_req *r = p->r;
    p->r = NULL;
    p->req = r->req;
    p->evcon = evhttp_request_get_connection(p->req);
    if (p->evcon)
        api_conn_set_gone(p->a, p->evcon, client_gone, p);
    api_req_detach(r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(p->req);
    evhttp_add_header(h, "Content-Type", ctype ? ctype : "text/plain");
    evhttp_add_header(h, "Cache-Control", "no-cache, private");
    if (p->exit_code[0])
        evhttp_add_header(h, "X-Berth-Exit-Code", p->exit_code);
    evhttp_send_reply_start(p->req, code ? (int)code : 502, "");
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    api_proxy *p = arg;
    size_t n = size * nmemb;
    if (p->r)
        start_answer(p);
    if (!p->req)
        return 0;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, data, n);
    evhttp_send_reply_chunk(p->req, b);
    evbuffer_free(b);
    return n;
}

static void on_done(void *arg, CURL *easy, CURLcode rc)
{
    (void)easy;
    api_proxy *p = arg;
    if (p->r) {
        /* Nothing came: either an empty answer or no answer at all. */
        if (rc == CURLE_OK) {
            start_answer(p);
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, "cannot reach the node's agent: %s",
                     curl_easy_strerror(rc));
            return fail(p, BERTH_EUNAVAILABLE, msg);
        }
    }
    if (p->req)
        evhttp_send_reply_end(p->req);
    proxy_free(p);
}

static void forward(api_proxy *p, const char *endpoint)
{
    berth_api *a = p->a;
    if (!a->proxy_cv && berth_curlev_new(a->base, &a->proxy_cv) != 0)
        return fail(p, BERTH_ENOMEM, "out of memory");
    char url[8192];
    snprintf(url, sizeof url, "%s%s", endpoint, evhttp_request_get_uri(p->r->req));
    if (!(p->easy = curl_easy_init()))
        return fail(p, BERTH_ENOMEM, "out of memory");
    curl_easy_setopt(p->easy, CURLOPT_URL, url);
    curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT, 5L);
    bool post = evhttp_request_get_command(p->r->req) == EVHTTP_REQ_POST;
    curl_easy_setopt(p->easy, CURLOPT_CUSTOMREQUEST, post ? "POST" : "GET");
    const char *auth =
        evhttp_find_header(evhttp_request_get_input_headers(p->r->req), "Authorization");
    char line[512];
    if (auth) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        p->headers = curl_slist_append(p->headers, line);
    }
    p->headers = curl_slist_append(p->headers, "Accept: */*");
    curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
    if (p->ca) {
        struct curl_blob blob = {p->ca, p->ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(p->easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(p->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(p->easy, CURLOPT_HEADERDATA, p);
    if (berth_curlev_add(a->proxy_cv, p->easy, on_done, p) != 0)
        return fail(p, BERTH_ENOMEM, "out of memory");
}

static void got_node(void *arg, const berth_store_result *res)
{
    api_proxy *p = arg;
    cJSON *node = res->err ? NULL : api_obj_decode(res->kv.val, res->kv.mod_rev);
    const cJSON *ann = berth_obj_at(node, "metadata.annotations");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(ann, ANN_ENDPOINT);
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(ann, ANN_CA);
    if (!cJSON_IsString(ep) || strncmp(ep->valuestring, "https://", 8) != 0) {
        cJSON_Delete(node);
        return fail(p, p->local_err, p->local_msg);
    }
    if (cJSON_IsString(ca))
        p->ca = berth_base64_decode(ca->valuestring, strlen(ca->valuestring), &p->ca_len);
    char endpoint[512];
    snprintf(endpoint, sizeof endpoint, "%s", ep->valuestring);
    cJSON_Delete(node);
    forward(p, endpoint);
}

static void got_pod(void *arg, const berth_store_result *res)
{
    api_proxy *p = arg;
    cJSON *pod = res->err ? NULL : api_obj_decode(res->kv.val, res->kv.mod_rev);
    const char *node = berth_obj_str(pod, "spec.nodeName");
    char key[512];
    if (!node || !*node ||
        berth_obj_key(berth_kind_find("v1", "Node"), NULL, node, key, sizeof key) < 0) {
        cJSON_Delete(pod);
        return fail(p, p->local_err, p->local_msg);
    }
    cJSON_Delete(pod);
    if (berth_store_get(p->a->store, key, got_node, p) != 0)
        fail(p, BERTH_EUNAVAILABLE, "cannot read the pod's node");
}

void api_podproxy_start(api_req *r, int local_err, const char *local_msg)
{
    berth_api *a = r->api;
    api_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    p->a = a;
    p->r = r;
    p->local_err = local_err;
    snprintf(p->local_msg, sizeof p->local_msg, "%s", local_msg ? local_msg : "");
    p->next = a->proxies;
    p->pprev = &a->proxies;
    if (a->proxies)
        a->proxies->pprev = &p->next;
    a->proxies = p;
    api_req_hold(r);
    char key[512];
    if (berth_obj_key(berth_kind_find("v1", "Pod"), r->rt.ns, r->rt.name, key, sizeof key) < 0 ||
        berth_store_get(a->store, key, got_pod, p) != 0)
        fail(p, local_err, p->local_msg);
}

void api_podproxy_free(berth_api *a)
{
    while (a->proxies) {
        api_proxy *p = a->proxies;
        if (p->easy && a->proxy_cv)
            berth_curlev_remove(a->proxy_cv, p->easy);
        if (p->req)
            evhttp_send_reply_end(p->req);
        if (p->r) {
            api_req *r = p->r;
            p->r = NULL;
            proxy_free(p);
            api_reply_error(r, BERTH_EUNAVAILABLE, "the server is shutting down");
            continue;
        }
        proxy_free(p);
    }
    berth_curlev_free(a->proxy_cv);
    a->proxy_cv = NULL;
}
