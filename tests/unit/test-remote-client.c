/* The remote client against a small evhttp server in the same loop: replies,
 * Status errors, a chunked watch stream split mid-line, 410 and cancel. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>

#include "berth/client.h"
#include "berth/errno.h"
#include "test.h"

typedef struct {
    struct event_base *base;
    struct evhttp_request *stream; /* the open watch */
    int requests;
    char last_auth[128];
    char last_method[16];
} server;

static void send_json(struct evhttp_request *req, int code, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    evhttp_send_reply(req, code, "x", b);
    evbuffer_free(b);
}

/* libevent leaves a streaming request to us when its connection closes
 * under it: free it then, as the API server does. */
static void stream_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    server *s = arg;
    if (s->stream && !evhttp_request_get_connection(s->stream))
        evhttp_request_free(s->stream);
    s->stream = NULL;
}

static void handle(struct evhttp_request *req, void *arg)
{
    server *s = arg;
    s->requests++;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    snprintf(s->last_auth, sizeof s->last_auth, "%s", auth ? auth : "");
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    snprintf(s->last_method, sizeof s->last_method, "%s",
             cmd == EVHTTP_REQ_POST ? "POST" : cmd == EVHTTP_REQ_PATCH ? "PATCH" : "GET");
    if (strstr(uri, "watch=true") && strstr(uri, "resourceVersion=1&") == NULL &&
        strstr(uri, "resourceVersion=1") != NULL) {
        /* Too old: an ERROR event with a 410 Status, then the end. */
        evhttp_send_reply_start(req, 200, "OK");
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                               "\"reason\":\"Expired\",\"message\":\"too old\"}}\n");
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
        evhttp_send_reply_end(req);
    } else if (strstr(uri, "watch=true")) {
        evhttp_send_reply_start(req, 200, "OK");
        struct evbuffer *b = evbuffer_new();
        /* Two events, the second split across chunks. */
        evbuffer_add_printf(b, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
                               "{\"type\":\"MODIFIED\",\"obj");
        evhttp_send_reply_chunk(req, b);
        evbuffer_add_printf(b, "ect\":{\"metadata\":{\"name\":\"b\"}}}\n");
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
        s->stream = req;
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), stream_closed, s);
    } else if (strstr(uri, "/missing")) {
        send_json(req, 404, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"pods \\\"missing\\\" not found\",\"code\":404}");
    } else if (cmd == EVHTTP_REQ_POST) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        char body[1024] = "";
        if (n < sizeof body)
            evbuffer_remove(in, body, n);
        send_json(req, 201, body);
    } else {
        send_json(req, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[]}");
    }
}

typedef struct {
    int calls;
    int err;
    char name[64];
    int rv;
    struct event_base *base;
} reply_rec;

static void on_reply(void *arg, const berth_reply *r)
{
    reply_rec *rr = arg;
    rr->calls++;
    rr->err = r->err;
    const char *n = berth_obj_name(r->obj);
    snprintf(rr->name, sizeof rr->name, "%s", n ? n : (r->message ? r->message : ""));
    rr->rv = (int)berth_obj_rv(r->obj);
    event_base_loopbreak(rr->base);
}

typedef struct {
    int events;
    char names[4][16];
    int end_err;
    int ended;
    struct event_base *base;
    berth_client *client;
    berth_client_watcher *w;
    int cancel_after;
} watch_rec;

static void on_event(void *arg, int err, const char *type, cJSON *obj)
{
    watch_rec *w = arg;
    if (err) {
        w->end_err = err;
        w->ended++;
        event_base_loopbreak(w->base);
        return;
    }
    if (w->events < 4)
        snprintf(w->names[w->events], 16, "%s:%s", type, berth_obj_name(obj));
    w->events++;
    cJSON_Delete(obj);
    if (w->cancel_after && w->events == w->cancel_after) {
        berth_client_watch_cancel(w->client, w->w);
        event_base_loopbreak(w->base);
    }
}

static void spin(struct event_base *base)
{
    struct timeval tv = {2, 0};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* The test server on a free loopback port; url gets its address. */
static struct evhttp *serve(server *s, char *url, size_t len)
{
    struct evhttp *http = evhttp_new(s->base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(http, handle, s);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    CHECK(sock != NULL);
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sin, &sl);
    snprintf(url, len, "http://127.0.0.1:%d", ntohs(sin.sin_port));
    return http;
}

static void stop_serving(server *s, struct evhttp *http)
{
    /* Let the server notice closed streams and free their requests. */
    struct timeval tv = {0, 100000};
    event_base_loopexit(s->base, &tv);
    event_base_dispatch(s->base);
    if (s->stream)
        evhttp_send_reply_end(s->stream);
    evhttp_free(http);
    event_base_free(s->base);
}

BERTH_TEST(remote_client_requests_watches_and_errors)
{
    server s = {.base = event_base_new()};
    char url[64];
    struct evhttp *http = serve(&s, url, sizeof url);

    berth_client *c;
    berth_kubeconfig kc = {.server = url, .token = "sekrit"};
    CHECK_INT(berth_client_remote_new(s.base, &kc, &c), 0);
    const berth_kind *pods = berth_kind_lookup("pods");

    reply_rec rr = {.base = s.base};
    berth_request list = {.kind = pods, .ns = "default"};
    CHECK_INT(berth_client_request(c, BERTH_VERB_LIST, &list, on_reply, &rr), 0);
    spin(s.base);
    CHECK_INT(rr.calls, 1);
    CHECK_INT(rr.err, 0);
    CHECK_INT(rr.rv, 9);
    CHECK_STR(s.last_auth, "Bearer sekrit");

    berth_request get = {.kind = pods, .ns = "default", .name = "missing"};
    CHECK_INT(berth_client_request(c, BERTH_VERB_GET, &get, on_reply, &rr), 0);
    spin(s.base);
    CHECK_INT(rr.err, BERTH_ENOTFOUND);
    CHECK_STR(rr.name, "pods \"missing\" not found");

    cJSON *body = cJSON_Parse("{\"metadata\":{\"name\":\"new\"}}");
    berth_request create = {.kind = pods, .ns = "default", .body = body};
    CHECK_INT(berth_client_request(c, BERTH_VERB_CREATE, &create, on_reply, &rr), 0);
    cJSON_Delete(body); /* the client copied what it sends */
    spin(s.base);
    CHECK_INT(rr.err, 0);
    CHECK_STR(rr.name, "new");
    CHECK_STR(s.last_method, "POST");

    watch_rec w = {.base = s.base, .client = c, .cancel_after = 2};
    berth_request watch = {.kind = pods, .resource_version = 5};
    CHECK_INT(berth_client_watch(c, &watch, on_event, &w, &w.w), 0);
    spin(s.base);
    CHECK_INT(w.events, 2);
    CHECK_STR(w.names[0], "ADDED:a");
    CHECK_STR(w.names[1], "MODIFIED:b");
    CHECK_INT(w.ended, 0); /* canceled: no end callback */

    watch_rec old = {.base = s.base, .client = c};
    berth_request expired = {.kind = pods, .resource_version = 1};
    CHECK_INT(berth_client_watch(c, &expired, on_event, &old, &old.w), 0);
    spin(s.base);
    CHECK_INT(old.ended, 1);
    CHECK_INT(old.end_err, BERTH_EEXPIRED);

    /* The server side of the canceled stream may still be open; closing the
     * client ends everything without further callbacks. */
    berth_client_free(c);
    stop_serving(&s, http);
}

/* A watch handler that writes (an informer handler patching a status, say)
 * runs inside libcurl's data callback, where libcurl refuses new transfers:
 * the request must still go out and be answered. */
typedef struct {
    berth_client *client;
    reply_rec *rr;
    int sent;
} writer;

static void write_on_event(void *arg, int err, const char *type, cJSON *obj)
{
    writer *w = arg;
    cJSON_Delete(obj);
    if (err || w->sent++)
        return;
    cJSON *body = cJSON_Parse("{\"metadata\":{\"name\":\"from-a-watch\"}}");
    berth_request create = {.kind = berth_kind_lookup("pods"), .ns = "default", .body = body};
    CHECK_INT(berth_client_request(w->client, BERTH_VERB_CREATE, &create, on_reply, w->rr), 0);
    cJSON_Delete(body);
}

BERTH_TEST(remote_client_request_from_a_watch_callback)
{
    server s = {.base = event_base_new()};
    char url[64];
    struct evhttp *http = serve(&s, url, sizeof url);
    berth_client *c;
    berth_kubeconfig kc = {.server = url};
    CHECK_INT(berth_client_remote_new(s.base, &kc, &c), 0);
    reply_rec rr = {.base = s.base};
    writer w = {.client = c, .rr = &rr};
    berth_client_watcher *watch = NULL;
    berth_request req = {.kind = berth_kind_lookup("pods"), .resource_version = 5};
    CHECK_INT(berth_client_watch(c, &req, write_on_event, &w, &watch), 0);
    spin(s.base);
    CHECK_INT(rr.calls, 1);
    CHECK_INT(rr.err, 0);
    CHECK_STR(rr.name, "from-a-watch");
    berth_client_free(c);
    stop_serving(&s, http);
}

BERTH_TEST(remote_client_reports_unreachable_server)
{
    struct event_base *base = event_base_new();
    berth_client *c;
    berth_kubeconfig kc = {.server = "http://127.0.0.1:1"};
    CHECK_INT(berth_client_remote_new(base, &kc, &c), 0);
    reply_rec rr = {.base = base};
    berth_request get = {.kind = berth_kind_lookup("pods"), .ns = "default", .name = "x"};
    CHECK_INT(berth_client_request(c, BERTH_VERB_GET, &get, on_reply, &rr), 0);
    spin(base);
    CHECK_INT(rr.calls, 1);
    CHECK_INT(rr.err, BERTH_EUNAVAILABLE);
    berth_client_free(c);
    event_base_free(base);
}
