/* Benchmark of the API server over HTTPS on loopback, durability on: starts
 * `berthd server` (from $BERTH_BUILD_DIR) on a temp data dir and measures,
 * with libevent evhttp client connections,
 *   creates/s and gets/s with 1 and 64 concurrent clients,
 *   the latency of listing 10,000 Pods,
 *   watch delivery latency (write sent -> event read) with 1,000 watches,
 *   without and with a label selector,
 *   berthd's resident memory idle after start and after the run.
 * Prints `metric: value` lines.  Usage: scripts/bench api [N_PER_CLIENT] */
#include "benchlib.h"
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

typedef struct bench {
    struct event_base *base;
    SSL_CTX *ctx;
    int port;
    char auth[200];
    int pending; /* clients still running in this phase */
} bench;

enum op { OP_CREATE, OP_GET, OP_POD, OP_LIST };

typedef struct client {
    bench *b;
    struct evhttp_connection *conn;
    enum op op;
    int id, todo, done, errors;
    const char *phase;
} client;

static struct evhttp_connection *dial(bench *b)
{
    SSL *ssl = SSL_new(b->ctx);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    struct evhttp_connection *c =
        evhttp_connection_base_bufferevent_new(b->base, NULL, bev, "127.0.0.1", (unsigned short)b->port);
    evhttp_connection_set_timeout(c, 600);
    return c;
}

/* Set once connected: the client writes a request in several pieces. */
static void nodelay(struct evhttp_connection *c)
{
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c));
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct evhttp_request *new_req(bench *b, void (*cb)(struct evhttp_request *, void *),
                                      void *arg, const char *body)
{
    struct evhttp_request *r = evhttp_request_new(cb, arg);
    struct evkeyvalq *h = evhttp_request_get_output_headers(r);
    evhttp_add_header(h, "Host", "localhost");
    evhttp_add_header(h, "Authorization", b->auth);
    evhttp_add_header(h, "Accept", "application/json");
    if (body) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(r), body, strlen(body));
    }
    return r;
}

static void issue(client *c);

static void done_cb(struct evhttp_request *r, void *arg)
{
    client *c = arg;
    nodelay(c->conn);
    int code = r ? evhttp_request_get_response_code(r) : 0;
    if (code < 200 || code >= 300)
        c->errors++;
    if (++c->done == c->todo) {
        if (--c->b->pending == 0)
            event_base_loopexit(c->b->base, NULL);
        return;
    }
    issue(c);
}

static void issue(client *c)
{
    char path[256], body[512];
    int i = c->done;
    struct evhttp_request *r;
    switch (c->op) {
    case OP_CREATE:
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                 "\"%s-%d-%d\"},\"data\":{\"key\":\"value\"}}", c->phase, c->id, i);
        r = new_req(c->b, done_cb, c, body);
        evhttp_make_request(c->conn, r, EVHTTP_REQ_POST, "/api/v1/namespaces/default/configmaps");
        break;
    case OP_GET:
        snprintf(path, sizeof path, "/api/v1/namespaces/default/configmaps/%s-%d-%d",
                 c->phase, c->id, i);
        r = new_req(c->b, done_cb, c, NULL);
        evhttp_make_request(c->conn, r, EVHTTP_REQ_GET, path);
        break;
    case OP_POD:
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod-%d-%d\","
                 "\"labels\":{\"app\":\"bench\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                 "\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":80}]}]}}", c->id, i);
        r = new_req(c->b, done_cb, c, body);
        evhttp_make_request(c->conn, r, EVHTTP_REQ_POST, "/api/v1/namespaces/pods/pods");
        break;
    case OP_LIST:
        r = new_req(c->b, done_cb, c, NULL);
        evhttp_make_request(c->conn, r, EVHTTP_REQ_GET, "/api/v1/namespaces/pods/pods");
        break;
    }
}

/* Runs nclients clients doing per ops each; returns seconds, or -1. */
static double phase(bench *b, enum op op, const char *name, int nclients, int per)
{
    client *cs = calloc((size_t)nclients, sizeof *cs);
    for (int i = 0; i < nclients; i++) {
        cs[i] = (client){.b = b, .op = op, .id = i, .todo = per, .phase = name};
        cs[i].conn = dial(b);
    }
    b->pending = nclients;
    double t0 = bench_now_s();
    for (int i = 0; i < nclients; i++)
        issue(&cs[i]);
    event_base_dispatch(b->base);
    double dt = bench_now_s() - t0;
    int errors = 0;
    for (int i = 0; i < nclients; i++) {
        errors += cs[i].errors;
        evhttp_connection_free(cs[i].conn);
    }
    free(cs);
    if (errors)
        fprintf(stderr, "bench-api: %s: %d failed requests\n", name, errors);
    return errors ? -1 : dt;
}

/* ---- Watch delivery. ---- */

#define NWATCH 1000
#define NWRITES 20

typedef struct watcher {
    bench *b;
    struct evhttp_connection *conn;
    int got;
} watcher;

static struct {
    double sent;
    int ready, received, acked;
    double *lat;
    size_t nlat;
    client writer;
    const char *prefix; /* names of the objects written */
    int labelled;       /* written with the label the watches select */
} wst;

static void next_write(bench *b);

static void maybe_next(bench *b)
{
    if (wst.received == NWATCH && wst.acked) {
        wst.received = 0;
        wst.acked = 0;
        if (++wst.writer.done == NWRITES)
            event_base_loopexit(b->base, NULL);
        else
            next_write(b);
    }
}

static void write_done(struct evhttp_request *r, void *arg)
{
    bench *b = arg;
    wst.acked = 1;
    maybe_next(b);
}

static void next_write(bench *b)
{
    char body[256];
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s-%d\"%s}}", wst.prefix,
             wst.writer.done, wst.labelled ? ",\"labels\":{\"app\":\"w\"}" : "");
    struct evhttp_request *r = new_req(b, write_done, b, body);
    wst.sent = bench_now_s();
    evhttp_make_request(wst.writer.conn, r, EVHTTP_REQ_POST,
                        "/api/v1/namespaces/watched/configmaps");
}

static void watch_chunk(struct evhttp_request *r, void *arg)
{
    watcher *w = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(r);
    size_t n = evbuffer_get_length(in);
    char *data = malloc(n + 1);
    evbuffer_remove(in, data, n);
    data[n] = 0;
    for (char *p = data; (p = strchr(p, '\n')); p++) {
        wst.lat[wst.nlat++] = bench_now_s() - wst.sent;
        wst.received++;
        w->got++;
    }
    free(data);
    maybe_next(w->b);
}

static int watch_headers(struct evhttp_request *r, void *arg)
{
    watcher *w = arg;
    if (++wst.ready == NWATCH)
        next_write(w->b);
    return 0;
}

static void watch_end(struct evhttp_request *r, void *arg)
{
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 1,000 watches of one namespace, each seeing every write; with a label
 * selector (as node agents watch their pods with a field selector), each
 * watch filters every event itself. */
static void watch_latency(bench *b, int selector)
{
    watcher *ws = calloc(NWATCH, sizeof *ws);
    memset(&wst, 0, sizeof wst);
    wst.prefix = selector ? "s" : "w";
    wst.labelled = selector;
    wst.lat = calloc(NWATCH * (NWRITES + 1), sizeof *wst.lat);
    wst.writer.conn = dial(b);
    /* Start every watch at the current revision: no initial events. */
    for (int i = 0; i < NWATCH; i++) {
        ws[i].b = b;
        ws[i].conn = dial(b);
        struct evhttp_request *r = new_req(b, watch_end, &ws[i], NULL);
        evhttp_request_set_chunked_cb(r, watch_chunk);
        evhttp_request_set_header_cb(r, watch_headers);
        evhttp_make_request(ws[i].conn, r, EVHTTP_REQ_GET,
                            selector ? "/api/v1/namespaces/watched/configmaps?watch=true&"
                                       "resourceVersion=1&labelSelector=app%3Dw"
                                     : "/api/v1/namespaces/watched/configmaps?watch=true&"
                                       "resourceVersion=1");
    }
    event_base_dispatch(b->base);
    qsort(wst.lat, wst.nlat, sizeof *wst.lat, cmp_d);
    const char *sfx = selector ? "_selector" : "";
    if (wst.nlat) {
        printf("watch_delivery%s_p50_ms: %.3f\n", sfx, wst.lat[wst.nlat / 2] * 1e3);
        printf("watch_delivery%s_p99_ms: %.3f\n", sfx, wst.lat[wst.nlat * 99 / 100] * 1e3);
        printf("watch_events_delivered%s: %zu\n", sfx, wst.nlat);
    }
    for (int i = 0; i < NWATCH; i++)
        evhttp_connection_free(ws[i].conn);
    evhttp_connection_free(wst.writer.conn);
    free(ws);
    free(wst.lat);
}

/* ---- The server process. ---- */

static bench_server server;

static int start_server(bench *b)
{
    /* The API alone: no controllers or scheduler reacting to the Pods. */
    static const char *const extra[] = {"--no-controllers", "--no-scheduler", NULL};
    if (bench_server_start(&server, "api", extra) != 0)
        return -1;
    b->port = server.port;
    snprintf(b->auth, sizeof b->auth, "%s", server.auth);
    return 0;
}

static int create_ns(bench *b, const char *name)
{
    client c = {.b = b, .todo = 1};
    c.conn = dial(b);
    char body[128];
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"}}", name);
    struct evhttp_request *r = new_req(b, done_cb, &c, body);
    b->pending = 1;
    evhttp_make_request(c.conn, r, EVHTTP_REQ_POST, "/api/v1/namespaces");
    event_base_dispatch(b->base);
    evhttp_connection_free(c.conn);
    return c.errors ? -1 : 0;
}

int main(int argc, char **argv)
{
    int per = argc > 1 ? atoi(argv[1]) : 200;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    bench b = {0};
    b.base = event_base_new();
    b.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(b.ctx, SSL_VERIFY_NONE, NULL);
    if (start_server(&b) != 0)
        return 1;
    printf("berthd_idle_rss_kb: %ld\n", bench_rss_kb(server.pid));
    if (create_ns(&b, "pods") || create_ns(&b, "watched"))
        return 1;
    static const int conc[] = {1, 64};
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d", conc[i]);
        int n = conc[i] == 1 ? per * 4 : per;
        double t = phase(&b, OP_CREATE, name, conc[i], n);
        if (t > 0)
            printf("creates_per_s_%d_clients: %.0f\n", conc[i], conc[i] * n / t);
        t = phase(&b, OP_GET, name, conc[i], n);
        if (t > 0)
            printf("gets_per_s_%d_clients: %.0f\n", conc[i], conc[i] * n / t);
    }
    double t = phase(&b, OP_POD, "pods", 50, 200); /* 10,000 Pods */
    if (t > 0)
        printf("pod_creates_per_s_50_clients: %.0f\n", 10000 / t);
    double best = 1e9, sum = 0;
    for (int i = 0; i < 5; i++) {
        double l = phase(&b, OP_LIST, "list", 1, 1);
        sum += l;
        if (l < best)
            best = l;
    }
    printf("list_10000_pods_ms: %.1f\n", sum / 5 * 1e3);
    printf("list_10000_pods_best_ms: %.1f\n", best * 1e3);
    watch_latency(&b, 0);
    watch_latency(&b, 1);
    sleep(1);
    printf("berthd_rss_after_kb: %ld\n", bench_rss_kb(server.pid));
    bench_server_stop();
    SSL_CTX_free(b.ctx);
    event_base_free(b.base);
    return 0;
}
