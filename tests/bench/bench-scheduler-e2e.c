/* The scheduler end to end, through the API, in the shape of Kubernetes'
 * scheduler_perf SchedulingBasic: starts `berthd server --no-controllers`
 * (API + scheduler, as scheduler_perf runs apiserver + scheduler) from
 * $BERTH_BUILD_DIR on a temp data dir, creates 5,000 Node objects (4 CPU,
 * 32Gi, 110 pods) and 1,000 pods already bound, then creates 10,000 pods
 * with many concurrent HTTPS clients and measures until the scheduler's
 * bindings of all of them are committed (its /debug/scheduler counter of
 * answered Bindings), then checks every pod through a List.
 *
 * Usage: scripts/bench scheduler-e2e [basic|anti|spread] [CLIENTS]
 * (anti: half the pods with required anti-affinity on the hostname;
 * spread: every pod with a DoNotSchedule zone spread over 3 zones).
 * Prints `metric: value` lines. */
#include "benchlib.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

enum { NODES = 5000, BOUND = 1000, PODS = 10000 };
enum { SHAPE_BASIC, SHAPE_ANTI, SHAPE_SPREAD };
enum { OP_NODE, OP_BOUND, OP_POD };

typedef struct bench {
    struct event_base *base;
    SSL_CTX *ctx;
    int port, shape;
    char auth[200];
    int next, total, pending, errors, op;
} bench;

typedef struct conn {
    bench *b;
    struct evhttp_connection *c;
} conn;

static struct evhttp_connection *dial(bench *b)
{
    SSL *ssl = SSL_new(b->ctx);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    struct evhttp_connection *c = evhttp_connection_base_bufferevent_new(
        b->base, NULL, bev, "127.0.0.1", (unsigned short)b->port);
    evhttp_connection_set_timeout(c, 600);
    return c;
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

/* The body and path of object i of the current phase. */
static const char *object(bench *b, int i, char *body, size_t size)
{
    char extra[600] = "";
    const char *app = "basic";
    switch (b->op) {
    case OP_NODE:
        snprintf(body, size,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%d\","
                 "\"labels\":{\"kubernetes.io/hostname\":\"node-%d\","
                 "\"topology.kubernetes.io/zone\":\"zone-%d\"}},\"status\":{"
                 "\"capacity\":{\"cpu\":\"4\",\"memory\":\"32Gi\",\"pods\":\"110\"},"
                 "\"allocatable\":{\"cpu\":\"4\",\"memory\":\"32Gi\",\"pods\":\"110\"},"
                 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
                 i, i, i % 3);
        return "/api/v1/nodes";
    case OP_BOUND:
        snprintf(extra, sizeof extra, ",\"nodeName\":\"node-%d\"", i % NODES);
        break;
    case OP_POD:
        if (b->shape == SHAPE_ANTI && i % 2 == 0) {
            app = "anti";
            snprintf(extra, sizeof extra,
                     ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
                     "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":"
                     "{\"app\":\"anti\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}");
        } else if (b->shape == SHAPE_SPREAD) {
            app = "spread";
            snprintf(extra, sizeof extra,
                     ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
                     "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
                     "\"labelSelector\":{\"matchLabels\":{\"app\":\"spread\"}}}]");
        }
        break;
    }
    /* scheduler_perf's pod-default.yaml: a pause container of 100m / 500Mi. */
    snprintf(body, size,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s-%d\","
             "\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"pause\","
             "\"image\":\"registry.k8s.io/pause:3.9\",\"ports\":[{\"containerPort\":80}],"
             "\"resources\":{\"limits\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"},"
             "\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]%s}}",
             b->op == OP_BOUND ? "bound" : "pod", i, app, extra);
    return "/api/v1/namespaces/bench/pods";
}

/* Set once connected (the socket exists only then): the client writes a
 * request in several pieces, which Nagle's algorithm would hold back for
 * the server's delayed acknowledgement. */
static void nodelay(struct evhttp_connection *c)
{
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c));
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void issue(conn *c);

static void done_cb(struct evhttp_request *r, void *arg)
{
    conn *c = arg;
    nodelay(c->c);
    int code = r ? evhttp_request_get_response_code(r) : 0;
    if (code < 200 || code >= 300) {
        if (c->b->errors++ < 5)
            fprintf(stderr, "bench-scheduler-e2e: create failed: HTTP %d\n", code);
    }
    issue(c);
}

static void issue(conn *c)
{
    bench *b = c->b;
    if (b->next == b->total) {
        if (--b->pending == 0)
            event_base_loopexit(b->base, NULL);
        return;
    }
    char body[2048];
    const char *path = object(b, b->next++, body, sizeof body);
    evhttp_make_request(c->c, new_req(b, done_cb, c, body), EVHTTP_REQ_POST, path);
}

/* Creates `total` objects of phase op with nclients connections; returns
 * the seconds it took, or -1 on errors. The loop keeps running `extra`
 * events (the binding poller) meanwhile. */
static double create_all(bench *b, conn *cs, int nclients, int op, int total)
{
    b->op = op;
    b->next = 0;
    b->total = total;
    b->errors = 0;
    b->pending = nclients;
    double t0 = bench_now_s();
    for (int i = 0; i < nclients; i++)
        issue(&cs[i]);
    event_base_dispatch(b->base);
    return b->errors ? -1 : bench_now_s() - t0;
}

/* ---- Polling the scheduler's counters. ---- */

typedef struct poll {
    bench *b;
    struct evhttp_connection *c;
    struct event *timer;
    cJSON *last;
    double t_done;
    int want; /* bindings to wait for */
} poll_state;

static void poll_done(struct evhttp_request *r, void *arg)
{
    poll_state *p = arg;
    if (r && evhttp_request_get_response_code(r) == 200) {
        struct evbuffer *in = evhttp_request_get_input_buffer(r);
        size_t n = evbuffer_get_length(in);
        cJSON_Delete(p->last);
        p->last = cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1), n);
        const cJSON *bi = cJSON_GetObjectItemCaseSensitive(p->last, "bindings");
        if (cJSON_IsNumber(bi) && bi->valuedouble >= p->want && p->t_done == 0) {
            p->t_done = bench_now_s();
            /* The creates' own end stops the loop while they still run. */
            if (p->b->pending == 0)
                event_base_loopexit(p->b->base, NULL);
            return;
        }
    }
    struct timeval tv = {0, 5000};
    event_add(p->timer, &tv);
}

static void poll_tick(evutil_socket_t fd, short what, void *arg)
{
    poll_state *p = arg;
    evhttp_make_request(p->c, new_req(p->b, poll_done, p, NULL), EVHTTP_REQ_GET,
                        "/debug/scheduler");
}

static bench_server server;

static int start_server(bench *b)
{
    static const char *const extra[] = {"--no-controllers", NULL};
    if (bench_server_start(&server, "sched", extra) != 0)
        return -1;
    b->port = server.port;
    snprintf(b->auth, sizeof b->auth, "%s", server.auth);
    return 0;
}

/* One request on its own connection, waited for; returns the body parsed. */
typedef struct one_call {
    bench *b;
    cJSON *out;
} one_call;

static void one_done(struct evhttp_request *r, void *arg)
{
    one_call *oc = arg;
    if (r && evhttp_request_get_response_code(r) / 100 == 2) {
        struct evbuffer *in = evhttp_request_get_input_buffer(r);
        oc->out = cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1),
                                        evbuffer_get_length(in));
    }
    event_base_loopexit(oc->b->base, NULL);
}

static cJSON *one(bench *b, enum evhttp_cmd_type method, const char *path, const char *body)
{
    one_call oc = {b, NULL};
    struct evhttp_connection *c = dial(b);
    evhttp_make_request(c, new_req(b, one_done, &oc, body), method, path);
    event_base_dispatch(b->base);
    evhttp_connection_free(c);
    return oc.out;
}

static double stat_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

int main(int argc, char **argv)
{
    bench b = {0};
    const char *shape = argc > 1 ? argv[1] : "basic";
    int nclients = argc > 2 ? atoi(argv[2]) : 64;
    if (!strcmp(shape, "anti"))
        b.shape = SHAPE_ANTI;
    else if (!strcmp(shape, "spread"))
        b.shape = SHAPE_SPREAD;
    else if (strcmp(shape, "basic") != 0 || nclients < 1 || nclients > 4096) {
        fprintf(stderr, "usage: bench-scheduler-e2e [basic|anti|spread] [CLIENTS]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    b.base = event_base_new();
    b.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(b.ctx, SSL_VERIFY_NONE, NULL);
    if (start_server(&b) != 0)
        return 1;
    cJSON_Delete(one(&b, EVHTTP_REQ_POST, "/api/v1/namespaces",
                     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                     "\"metadata\":{\"name\":\"bench\"}}"));
    conn *cs = calloc((size_t)nclients, sizeof *cs);
    for (int i = 0; i < nclients; i++)
        cs[i] = (conn){.b = &b, .c = dial(&b)};
    printf("shape: %s\n", shape);
    printf("clients: %d\n", nclients);
    double t = create_all(&b, cs, nclients, OP_NODE, NODES);
    if (t < 0)
        return 1;
    printf("node_creates_per_second: %.0f\n", NODES / t);
    if ((t = create_all(&b, cs, nclients, OP_BOUND, BOUND)) < 0)
        return 1;
    /* Let the scheduler's informers take in the nodes and bound pods. */
    poll_state p = {.b = &b, .c = dial(&b), .want = 0};
    p.timer = evtimer_new(b.base, poll_tick, &p);
    for (int i = 0; i < 2000; i++) {
        cJSON *st = one(&b, EVHTTP_REQ_GET, "/debug/scheduler", NULL);
        int ok = stat_of(st, "nodes") == NODES && stat_of(st, "podsBound") == BOUND;
        cJSON_Delete(st);
        if (ok)
            break;
        usleep(10000);
    }
    long rss0 = bench_rss_kb(server.pid);
    /* The measured phase: creates and the binding poller on one loop. */
    p.want = PODS;
    double t0 = bench_now_s();
    poll_tick(-1, 0, &p);
    t = create_all(&b, cs, nclients, OP_POD, PODS);
    double t_created = bench_now_s();
    if (t < 0)
        return 1;
    if (!p.t_done) {
        /* Creates are done; wait for the last bindings (at most 120 s). */
        struct timeval limit = {120, 0};
        event_base_loopexit(b.base, &limit);
        event_base_dispatch(b.base);
    }
    if (!p.t_done) {
        fprintf(stderr, "bench-scheduler-e2e: not all pods were bound within 120 s: %s\n",
                p.last ? cJSON_PrintUnformatted(p.last) : "no stats");
        return 1;
    }
    printf("pod_creates_per_second: %.0f\n", PODS / (t_created - t0));
    printf("e2e_pods_per_second: %.0f\n", PODS / (p.t_done - t0));
    printf("e2e_seconds: %.2f\n", p.t_done - t0);
    printf("bind_lag_after_last_create_ms: %.0f\n",
           p.t_done > t_created ? (p.t_done - t_created) * 1e3 : 0);
    printf("scheduler_decisions: %.0f\n", stat_of(p.last, "decisions"));
    printf("scheduler_binding_failures: %.0f\n", stat_of(p.last, "bindingFailures"));
    /* Check through the API: every measured pod has a node. */
    cJSON *list = one(&b, EVHTTP_REQ_GET, "/api/v1/namespaces/bench/pods", NULL);
    int bound = 0, total = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        const cJSON *nn = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(it, "spec"), "nodeName");
        total++;
        bound += cJSON_IsString(nn) && nn->valuestring[0];
    }
    cJSON_Delete(list);
    printf("pods_listed: %d\n", total);
    printf("pods_bound_listed: %d\n", bound);
    printf("berthd_rss_before_pods_kb: %ld\n", rss0);
    printf("berthd_rss_after_kb: %ld\n", bench_rss_kb(server.pid));
    for (int i = 0; i < nclients; i++)
        evhttp_connection_free(cs[i].c);
    free(cs);
    event_free(p.timer);
    evhttp_connection_free(p.c);
    cJSON_Delete(p.last);
    bench_server_stop();
    SSL_CTX_free(b.ctx);
    event_base_free(b.base);
    return bound == PODS + BOUND ? 0 : 1;
}
