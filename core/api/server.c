/* The HTTP front: evhttp setup, authentication, the request limits,
 * dispatch by route and verb, and replies (connections: conn.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/api-int.h"
#include "api/svcip.h"
#include "berth/berth.h"
#include "berth/log.h"
#include "util/clock.h"

#define MAX_URI 8192
#define MAX_DEPTH 100

void berth_api_set_pod_backend(berth_api *a, const berth_api_pod_backend *b, void *arg)
{
    a->pods = b;
    a->pods_arg = arg;
}

/* ---- Requests. ---- */

static void req_free(api_req *r)
{
    berth_api *a = r->api;
    api_svc_settle(r, false); /* a write that never finished holds nothing */
    evhttp_clear_headers(&r->q);
    cJSON_Delete(r->body);
    berth_errlist_free(&r->errs);
    bool counted = r->inflight_counted;
    free(r);
    if (counted && --a->inflight == 0 && a->draining && a->drained) {
        void (*cb)(void *) = a->drained;
        a->drained = NULL;
        cb(a->drained_arg);
    }
}

void api_req_detach(api_req *r)
{
    api_metrics_count(r->api, r->verb, r->rt.kind ? r->rt.kind->resource : "", 200,
                      berth_mono_ns() - r->t0_ns);
    req_free(r);
}

void api_req_hold(api_req *r)
{
    if (!r->inflight_counted) {
        r->inflight_counted = true;
        r->api->inflight++;
    }
}

size_t berth_api_inflight(const berth_api *a)
{
    return a->inflight;
}

const char *api_query(api_req *r, const char *name)
{
    return evhttp_find_header(&r->q, name);
}

void api_reply(api_req *r, int code, struct evbuffer *b, const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", ctype ? ctype : "application/json");
    evhttp_add_header(h, "Cache-Control", "no-cache, private");
    evhttp_send_reply(r->req, code, NULL, b);
    api_metrics_count(r->api, r->verb,
                      r->rt.kind ? r->rt.kind->resource : "", code,
                      berth_mono_ns() - r->t0_ns);
    if (b)
        evbuffer_free(b);
    req_free(r);
}

static const char *default_message(api_req *r, int err, char *buf, size_t size)
{
    const berth_kind *k = r->rt.kind;
    char q[96];
    if (!k)
        return NULL;
    api_qualified(k, q, sizeof q);
    const char *name = r->rt.name[0] ? r->rt.name : berth_obj_name(r->body);
    if (!name)
        name = "";
    switch (err) {
    case BERTH_ENOTFOUND:
        snprintf(buf, size, "%s \"%s\" not found", q, name);
        return buf;
    case BERTH_EEXISTS:
        snprintf(buf, size, "%s \"%s\" already exists", q, name);
        return buf;
    case BERTH_ECONFLICT:
        snprintf(buf, size,
                 "Operation cannot be fulfilled on %s \"%s\": the object has been "
                 "modified; please apply your changes to the latest version and "
                 "try again", q, name);
        return buf;
    default:
        return NULL;
    }
}

void api_reply_error(api_req *r, int err, const char *fmt, ...)
{
    char msg[1024];
    const char *m = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        m = msg;
    } else if (r->msg[0]) {
        m = r->msg;
    } else {
        m = default_message(r, err, msg, sizeof msg);
        if (!m)
            m = berth_strerror(err);
    }
    const berth_kind *k = r->rt.kind;
    const char *name = r->rt.name[0] ? r->rt.name : berth_obj_name(r->body);
    /* Invalid names the Kind ("Deployment"); the rest the resource. */
    const char *kind = k ? (err == BERTH_EINVAL ? k->kind : k->resource) : NULL;
    struct evbuffer *b = evbuffer_new();
    api_status_write(b, err, m, name, k ? k->group : NULL, kind,
                     r->errs.n ? &r->errs : NULL);
    api_reply(r, api_status_of(err).code, b, NULL);
}

/* ---- Authentication. ---- */

static bool authorized(berth_api *a, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *t = h + 7;
    size_t n = strlen(t);
    /* Constant time in the token's length: every byte is compared. */
    unsigned char diff = n != a->token_len;
    for (size_t i = 0; i < a->token_len; i++)
        diff |= (unsigned char)(a->token[i] ^ (i < n ? t[i] : 0));
    return diff == 0;
}

/* ---- Plain documents. ---- */

static void reply_text(api_req *r, int code, const char *text, const char *ctype)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, text, strlen(text));
    api_reply(r, code, b, ctype);
}

static void serve_version(api_req *r)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b,
                        "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"%s-berth\","
                        "\"gitCommit\":\"berth-%s\",\"gitTreeState\":\"clean\","
                        "\"buildDate\":\"1970-01-01T00:00:00Z\",\"goVersion\":\"none\","
                        "\"compiler\":\"cc\",\"platform\":\"linux/%s\"}",
                        BERTH_KUBE_VERSION, BERTH_VERSION,
#if defined(__x86_64__)
                        "amd64"
#elif defined(__aarch64__)
                        "arm64"
#else
                        "unknown"
#endif
    );
    api_reply(r, 200, b, NULL);
}

static bool method_is(api_req *r, enum evhttp_cmd_type m)
{
    return r->method == m;
}

static const char *verb_of(api_req *r)
{
    switch (r->method) {
    case EVHTTP_REQ_GET:
        if (r->rt.type == API_R_COLLECTION) {
            const char *w = api_query(r, "watch");
            return w && (!strcmp(w, "true") || !strcmp(w, "1")) ? "watch" : "list";
        }
        return "get";
    case EVHTTP_REQ_POST: return "create";
    case EVHTTP_REQ_PUT: return "update";
    case EVHTTP_REQ_PATCH: return "patch";
    case EVHTTP_REQ_DELETE: return "delete";
    default: return "other";
    }
}

static void dispatch_object(api_req *r)
{
    const berth_kind *k = r->rt.kind;
    const char *sub = r->rt.sub;
    bool get = method_is(r, EVHTTP_REQ_GET), put = method_is(r, EVHTTP_REQ_PUT),
         patch = method_is(r, EVHTTP_REQ_PATCH);
    if (!sub[0]) {
        if (get)
            return api_serve_object(r);
        if (put)
            return api_serve_update(r);
        if (patch)
            return api_serve_patch(r);
        if (method_is(r, EVHTTP_REQ_DELETE))
            return api_serve_delete(r);
    } else if ((!strcmp(sub, "status") && (k->subresources & BERTH_SUB_STATUS)) ||
               (!strcmp(sub, "scale") && (k->subresources & BERTH_SUB_SCALE))) {
        r->scale_reply = !strcmp(sub, "scale");
        if (get)
            return api_serve_object(r);
        if (put)
            return api_serve_update(r);
        if (patch)
            return api_serve_patch(r);
    } else if (!strcmp(sub, "finalize") && (k->subresources & BERTH_SUB_FINALIZE)) {
        if (put)
            return api_serve_update(r);
    } else if (!strcmp(sub, "binding") && (k->subresources & BERTH_SUB_BINDING)) {
        if (method_is(r, EVHTTP_REQ_POST))
            return api_serve_binding(r);
    } else if (!strcmp(sub, "log") && (k->subresources & BERTH_SUB_LOG)) {
        if (get)
            return api_serve_pod_log(r);
    } else if (!strcmp(sub, "exec") && (k->subresources & BERTH_SUB_EXEC)) {
        if (get || method_is(r, EVHTTP_REQ_POST))
            return api_serve_pod_exec(r);
    } else {
        return api_reply_error(r, BERTH_ENOTFOUND, "the server could not find the "
                                                   "requested resource");
    }
    api_reply_error(r, BERTH_EMETHOD, "the server does not allow this method on the "
                                      "requested resource");
}

/* /debug/{name}: JSON from a provider the embedder registered (the
 * controller host's counters). */
static void serve_debug(api_req *r)
{
    berth_api *a = r->api;
    for (size_t i = 0; i < sizeof a->debug / sizeof a->debug[0]; i++) {
        if (!a->debug[i].fn || strcmp(a->debug[i].name, r->rt.name) != 0)
            continue;
        cJSON *doc = a->debug[i].fn(a->debug[i].arg);
        char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
        cJSON_Delete(doc);
        if (!text)
            return api_reply_error(r, BERTH_ENOMEM, NULL);
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, text, strlen(text));
        free(text);
        return api_reply(r, 200, b, "application/json");
    }
    r->rt.name[0] = 0;
    api_reply_error(r, BERTH_ENOTFOUND, "the server could not find the requested resource");
}

void berth_api_set_debug(berth_api *a, const char *name, cJSON *(*fn)(void *arg), void *arg)
{
    for (size_t i = 0; i < sizeof a->debug / sizeof a->debug[0]; i++) {
        if (!a->debug[i].fn || strcmp(a->debug[i].name, name) == 0) {
            snprintf(a->debug[i].name, sizeof a->debug[i].name, "%s", name);
            a->debug[i].fn = fn;
            a->debug[i].arg = arg;
            return;
        }
    }
}

static void dispatch(api_req *r)
{
    bool pod_io = r->rt.type == API_R_OBJECT &&
                  (!strcmp(r->rt.sub, "log") || !strcmp(r->rt.sub, "exec"));
    if (!r->api->store && !pod_io && r->rt.type != API_R_HEALTH && r->rt.type != API_R_VERSION)
        return api_reply_error(r, BERTH_ENOTFOUND, "this endpoint serves only pods/log and "
                                                   "pods/exec of its node");
    switch (r->rt.type) {
    case API_R_COLLECTION:
        if (method_is(r, EVHTTP_REQ_GET)) {
            if (!strcmp(r->verb, "watch"))
                return api_serve_watch(r);
            return api_serve_list(r);
        }
        if (method_is(r, EVHTTP_REQ_POST) && (r->rt.ns[0] || !r->rt.kind->namespaced))
            return api_serve_create(r);
        return api_reply_error(r, BERTH_EMETHOD, "the server does not allow this method "
                                                 "on the requested resource");
    case API_R_OBJECT:
        return dispatch_object(r);
    default:
        break;
    }
    if (!method_is(r, EVHTTP_REQ_GET) && !method_is(r, EVHTTP_REQ_HEAD))
        return api_reply_error(r, BERTH_EMETHOD, "the server does not allow this method "
                                                 "on the requested resource");
    switch (r->rt.type) {
    case API_R_VERSION:
        return serve_version(r);
    case API_R_HEALTH:
        return reply_text(r, r->api->draining ? 503 : 200,
                          r->api->draining ? "shutting down" : "ok", "text/plain");
    case API_R_METRICS:
        return api_serve_metrics(r);
    case API_R_DEBUG:
        return serve_debug(r);
    default:
        return api_serve_discovery(r);
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    berth_api *a = arg;
    api_req *r = calloc(1, sizeof *r);
    if (!r) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    r->api = a;
    r->req = req;
    r->t0_ns = berth_mono_ns();
    r->method = evhttp_request_get_command(req);
    TAILQ_INIT(&r->q);
    r->verb = "other";
    if (!api_conn_track(a, evhttp_request_get_connection(req))) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        return api_reply_error(r, BERTH_EUNAVAILABLE, "too many open connections");
    }
    if (a->draining)
        return api_reply_error(r, BERTH_EUNAVAILABLE, "the server is shutting down");
    const char *uri = evhttp_request_get_uri(req);
    if (!uri || strlen(uri) > MAX_URI)
        return api_reply_error(r, BERTH_EBADREQUEST, "request URI too long");
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    const char *query = u ? evhttp_uri_get_query(u) : NULL;
    if (!path)
        return api_reply_error(r, BERTH_EBADREQUEST, "malformed request URI");
    if (query && evhttp_parse_query_str(query, &r->q) != 0)
        return api_reply_error(r, BERTH_EBADREQUEST, "malformed query string");
    size_t plen = 0;
    char *dpath = evhttp_uridecode(path, 0, &plen);
    if (!dpath || strlen(dpath) != plen) {
        free(dpath);
        return api_reply_error(r, BERTH_EBADREQUEST, "malformed request path");
    }
    int rc = api_route_parse(dpath, &r->rt);
    free(dpath);
    r->verb = verb_of(r);
    r->table = api_wants_table(
        evhttp_find_header(evhttp_request_get_input_headers(req), "Accept"));
    bool open = r->rt.type == API_R_HEALTH || r->rt.type == API_R_VERSION;
    if (!open && !authorized(a, req)) {
        r->rt.kind = NULL;
        r->rt.name[0] = 0;
        return api_reply_error(r, BERTH_EUNAUTHORIZED, "Unauthorized");
    }
    if (rc != 0) {
        r->rt.name[0] = 0;
        return api_reply_error(r, BERTH_ENOTFOUND,
                               "the server could not find the requested resource");
    }
    if ((r->rt.type == API_R_OBJECT || r->rt.type == API_R_COLLECTION) &&
        a->inflight >= a->o.max_inflight) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        return api_reply_error(r, BERTH_ETOOMANY, "Too many requests, please try again "
                                                  "later.");
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    if (blen > a->o.max_body)
        return api_reply_error(r, BERTH_ETOOLARGE,
                               "the request body of %zu bytes is larger than the "
                               "limit of %zu bytes", blen, a->o.max_body);
    if (blen && api_json_too_deep((const char *)evbuffer_pullup(in, -1), blen, MAX_DEPTH))
        return api_reply_error(r, BERTH_EBADREQUEST,
                               "the request body nests deeper than %d levels", MAX_DEPTH);
    dispatch(r);
}

/* ---- Lifecycle. ---- */

/* Every accepted connection speaks TLS when the server has a context. */
static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    berth_api *a = arg;
    SSL *ssl = SSL_new(a->o.tls);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void bootstrap_done(void *arg, const berth_store_result *res)
{
    if (res->err && res->err != BERTH_EEXISTS)
        BERTH_WARN("api", "cannot create namespace %s: %s", (const char *)arg,
                   berth_strerror(res->err));
}

static void svcip_loaded(void *arg, int rc)
{
    berth_api *a = arg;
    uint32_t ports;
    uint32_t ips = api_svcip_used(a->svcip, &ports);
    if (rc)
        BERTH_ERROR("api", "cannot read the stored Services to rebuild the service IP "
                    "allocations: %s", berth_strerror(rc));
    else
        BERTH_INFO("api", "service addresses: %u cluster IPs and %u node ports in use", ips,
                   ports);
}

/* The namespaces every Kubernetes cluster has, created when missing. */
static void bootstrap(berth_api *a)
{
    static const char *const names[] = {"default", "kube-system", "kube-public",
                                        "kube-node-lease"};
    const berth_kind *k = berth_kind_find("v1", "Namespace");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char key[128], uid[37], ts[32];
        berth_obj_key(k, NULL, names[i], key, sizeof key);
        api_uuid4(uid);
        api_time_format((int64_t)time(NULL), ts, sizeof ts);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "apiVersion", "v1");
        cJSON_AddStringToObject(o, "kind", "Namespace");
        cJSON *md = cJSON_AddObjectToObject(o, "metadata");
        cJSON_AddStringToObject(md, "name", names[i]);
        cJSON_AddStringToObject(md, "uid", uid);
        cJSON_AddStringToObject(md, "creationTimestamp", ts);
        cJSON_AddNumberToObject(md, "generation", 1);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "phase", "Active");
        berth_val *v = NULL;
        if (api_obj_encode(o, &v) == 0) {
            /* An existing namespace answers EEXISTS; nothing else to do. */
            berth_store_create(a->store, key, v, bootstrap_done, (void *)names[i]);
            berth_val_unref(v);
        }
        cJSON_Delete(o);
    }
}

static void configure_http(berth_api *a, struct evhttp *http)
{
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    /* Bodies a little past the limit still reach the handler, which answers
     * with a Status; far past it evhttp refuses them without reading. */
    evhttp_set_max_body_size(http, (ev_ssize_t)(a->o.max_body * 2));
    evhttp_set_max_headers_size(http, (ev_ssize_t)a->o.max_headers);
    evhttp_set_timeout(http, a->o.read_timeout);
    evhttp_set_default_content_type(http, "application/json");
    evhttp_set_gencb(http, on_request, a);
}

/* The local socket: plain http for the server's own components (the
 * controllers, the scheduler, the agent), so their calls skip TLS. Only the
 * owner may connect (0600 in a 0700 data dir), and requests still need the
 * token. */
static int listen_local(berth_api *a, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return BERTH_ETOOLARGE;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    snprintf(a->local_path, sizeof a->local_path, "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return BERTH_EIO;
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    /* A deep backlog: a burst of local connections must queue, not fail. */
    if (rc != 0 || listen(fd, SOMAXCONN) != 0 || !(a->local_http = evhttp_new(a->base))) {
        close(fd);
        return BERTH_EIO;
    }
    configure_http(a, a->local_http);
    a->local_sock = evhttp_accept_socket_with_handle(a->local_http, fd);
    if (!a->local_sock) {
        close(fd);
        return BERTH_EIO;
    }
    return 0;
}

int berth_api_start(const berth_api_options *o, berth_api **out)
{
    berth_api *a = calloc(1, sizeof *a);
    if (!a)
        return BERTH_ENOMEM;
    a->o = *o;
    a->base = o->base;
    a->store = o->store;
    if (!a->o.max_body)
        a->o.max_body = 3u << 20;
    if (!a->o.max_headers)
        a->o.max_headers = 64u << 10;
    if (!a->o.max_conns)
        a->o.max_conns = 4096;
    if (!a->o.read_timeout)
        a->o.read_timeout = 60;
    if (!a->o.watch_buffer)
        a->o.watch_buffer = 8u << 20;
    if (!a->o.bookmark_interval)
        a->o.bookmark_interval = 60;
    if (!a->o.max_inflight)
        a->o.max_inflight = 10000;
    /* Keep fds for the store, logs and the listener out of the cap. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < a->o.max_conns + 64u)
            a->o.max_conns = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
    }
    a->o.token = NULL;
    snprintf(a->token, sizeof a->token, "%s", o->token ? o->token : "");
    a->token_len = strlen(a->token);
    a->o.addr = NULL;
    a->started = (int64_t)time(NULL);
    a->http = evhttp_new(a->base);
    a->relisten = event_new(a->base, -1, 0, api_relisten, a);
    if (!a->http || !a->relisten || a->token_len < 16) {
        int rc = a->token_len < 16 ? BERTH_EINVAL : BERTH_ENOMEM;
        berth_api_free(a);
        return rc;
    }
    api_metrics_new(a);
    char why[160];
    int src = api_svcip_new(o->service_cidr ? o->service_cidr : "10.96.0.0/12", &a->svcip, why,
                            sizeof why);
    if (src) {
        if (src == BERTH_EINVAL)
            BERTH_ERROR("api", "%s", why);
        berth_api_free(a);
        return src;
    }
    configure_http(a, a->http);
    if (a->o.tls)
        evhttp_set_bevcb(a->http, tls_bev, a);
    a->sock = evhttp_bind_socket_with_handle(a->http, o->addr ? o->addr : "127.0.0.1",
                                             o->port);
    if (!a->sock) {
        BERTH_ERROR("api", "cannot listen on %s:%u: %s", o->addr ? o->addr : "127.0.0.1",
                    o->port, strerror(errno));
        berth_api_free(a);
        return BERTH_EIO;
    }
    struct evconnlistener *l = evhttp_bound_socket_get_listener(a->sock);
    evconnlistener_set_error_cb(l, api_accept_error);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(a->sock);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            a->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    if (o->local_socket && listen_local(a, o->local_socket) != 0) {
        BERTH_ERROR("api", "cannot listen on %s: %s", o->local_socket, strerror(errno));
        berth_api_free(a);
        return BERTH_EIO;
    }
    a->o.local_socket = NULL;
    /* Without a store this serves only pods/log and pods/exec: a node
     * agent's endpoint for the API server's proxy. */
    if (a->store) {
        bootstrap(a);
        if ((src = api_svcip_load(a->svcip, a->store, svcip_loaded, a)) != 0) {
            berth_api_free(a);
            return src;
        }
    }
    *out = a;
    return 0;
}

uint16_t berth_api_port(const berth_api *a)
{
    return a->port;
}

void berth_api_shutdown(berth_api *a, void (*done)(void *arg), void *arg)
{
    a->draining = true;
    if (a->sock) {
        evhttp_del_accept_socket(a->http, a->sock);
        a->sock = NULL;
    }
    if (a->local_sock) {
        evhttp_del_accept_socket(a->local_http, a->local_sock);
        a->local_sock = NULL;
    }
    api_watch_close_all(a);
    api_podlog_close_all(a);
    if (a->inflight == 0) {
        if (done)
            done(arg);
        return;
    }
    a->drained = done;
    a->drained_arg = arg;
}

void berth_api_free(berth_api *a)
{
    if (!a)
        return;
    a->draining = true;
    api_watch_close_all(a);
    api_podlog_close_all(a);
    if (a->http)
        evhttp_free(a->http);
    if (a->local_http)
        evhttp_free(a->local_http);
    if (a->local_path[0])
        unlink(a->local_path);
    if (a->relisten)
        event_free(a->relisten);
    api_metrics_free(a);
    api_svcip_free(a->svcip);
    api_podproxy_free(a);
    free(a->conns);
    explicit_bzero(a->token, sizeof a->token);
    free(a);
}
