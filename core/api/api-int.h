/* Internal interfaces of the API server (core/api). Nothing here is public:
 * include/berth/api.h is what embedders see. */
#ifndef BERTH_API_INT_H
#define BERTH_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "berth/api.h"
#include "berth/errno.h"
#include "berth/object.h"
#include "berth/selector.h"
#include "berth/store.h"
#include "berth/validate.h"

/* ---- Routing (route.c): a request path into what it names. ---- */

typedef enum api_route_type {
    API_R_NONE = 0,
    API_R_VERSION,   /* /version */
    API_R_HEALTH,    /* /healthz /livez /readyz (and their /... checks) */
    API_R_METRICS,   /* /metrics */
    API_R_API,       /* /api */
    API_R_APIS,      /* /apis */
    API_R_GROUP,     /* /apis/{group} */
    API_R_GROUPVER,  /* /api/v1, /apis/{group}/{version} */
    API_R_OPENAPI_V2,
    API_R_OPENAPI_V3,      /* /openapi/v3: the index */
    API_R_OPENAPI_V3_GV,   /* /openapi/v3/api/v1, /openapi/v3/apis/{g}/{v} */
    API_R_COLLECTION,      /* a list of one kind (ns empty: all namespaces) */
    API_R_OBJECT,          /* one object, sub set for a subresource */
    API_R_DEBUG,           /* /debug/{name}: a provider's JSON (name) */
} api_route_type;

typedef struct api_route {
    api_route_type type;
    const berth_kind *kind; /* COLLECTION, OBJECT */
    char group[64];         /* GROUP, GROUPVER, OPENAPI_V3_GV */
    char version[16];
    char ns[64];            /* "" for cluster-scoped or all namespaces */
    char name[254];
    char sub[16];           /* "status", "scale", "binding", "log", ... */
} api_route;

/* Parses an already percent-decoded path. Returns 0, or BERTH_ENOTFOUND
 * when nothing is served there (the route then still names the kind when
 * one was recognised, for the Status details). */
int api_route_parse(const char *path, api_route *rt);

/* ---- Continue tokens (token.c): opaque base64url of {"rv":N,"start":K}. */

int api_continue_encode(int64_t rev, const char *next_key, char *out, size_t size);
/* Returns BERTH_EBADREQUEST for anything not made by api_continue_encode. */
int api_continue_decode(const char *tok, int64_t *rev, char *key, size_t size);

/* ---- Status (status.c): the one table from BERTH_E* to reasons. ---- */

typedef struct api_status_map {
    int code;           /* HTTP status */
    const char *reason; /* metav1.StatusReason */
} api_status_map;

api_status_map api_status_of(int err);
/* Appends a metav1.Status. name/group/kind may be NULL (left out of
 * details); causes may be NULL. */
void api_status_write(struct evbuffer *b, int err, const char *message,
                      const char *name, const char *group, const char *kind,
                      const berth_errlist *causes);
/* Kubernetes' qualified resource: "deployments.apps", "pods". */
void api_qualified(const berth_kind *k, char *buf, size_t size);

/* ---- JSON text helpers (json.c). ---- */

/* Appends s as a JSON string literal with quotes. */
void api_json_str(struct evbuffer *b, const char *s);
/* True when text nests objects/arrays deeper than max_depth. */
bool api_json_too_deep(const char *text, size_t len, int max_depth);
/* RFC 3339 UTC with seconds: "2024-05-01T10:00:00Z" (buf >= 21). */
void api_time_format(int64_t unix_sec, char *buf, size_t size);
/* Parses the format above; -1 when malformed. */
int64_t api_time_parse(const char *s);
/* kubectl's age: "5s", "3m", "2h", "4d", "2y" style. */
void api_age_format(int64_t seconds, char *buf, size_t size);

/* ---- Stored object text (objtext.c). ---- */

/* Objects are stored as compact JSON beginning {"apiVersion":..,"kind":..,
 * "metadata":{ and without metadata.resourceVersion; the revision is
 * spliced in on the way out, so reads never re-parse. */
int api_obj_encode(cJSON *obj, berth_val **out);
/* Appends the stored text with "resourceVersion":"rv" in its metadata. */
void api_obj_write(struct evbuffer *b, const berth_val *v, int64_t rv);
/* Parses a stored value; metadata.resourceVersion set to rv when rv > 0.
 * The caller frees the tree; NULL on a corrupt value. */
cJSON *api_obj_decode(const berth_val *v, int64_t rv);

/* ---- The server and its requests. ---- */

typedef struct api_watch api_watch;
typedef struct api_metrics api_metrics;
typedef struct api_svcip api_svcip;
struct api_conn {
    struct evhttp_connection *evcon;
    api_watch *watch;
    void (*gone)(void *arg); /* another stream on it (a log follow) */
    void *gone_arg;
};

struct berth_api {
    struct event_base *base;
    berth_store *store;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct evhttp *local_http; /* plain http on the local Unix socket */
    struct berth_curlev *proxy_cv; /* pods/log and exec of remote agents */
    struct api_proxy *proxies;     /* streams in flight */
    struct evhttp_bound_socket *local_sock;
    char local_path[108];
    struct event *relisten; /* re-enables accepting after EMFILE */
    char token[160];
    size_t token_len;
    berth_api_options o;
    uint16_t port;
    size_t inflight;
    bool draining;
    void (*drained)(void *arg);
    void *drained_arg;
    api_watch *watches; /* every open watch stream, doubly linked */
    size_t nwatches;
    /* Open connections, tracked by their evhttp_connection pointer, with
     * the watch stream each one carries (or NULL). */
    struct api_conn *conns;
    size_t nconns, conns_cap;
    api_metrics *metrics;
    api_svcip *svcip; /* Service ClusterIPs and NodePorts (svcip.c) */
    int64_t started;
    struct {
        char name[32];
        cJSON *(*fn)(void *arg);
        void *arg;
    } debug[4]; /* /debug/{name} providers (berth_api_set_debug) */
    const struct berth_api_pod_backend *pods; /* pods/log, pods/exec */
    void *pods_arg;
    struct api_logstream *logs; /* followed logs, linked */
};

typedef struct api_req api_req;
/* A read-modify-write step: given the current object (decoded, with its
 * resourceVersion), produce the object to store in *out, or set *del to
 * delete instead. Returns 0 or a BERTH_E* code (with r->msg set). */
typedef int (*api_mutate_fn)(api_req *r, cJSON *cur, cJSON **out, bool *del);

struct api_req {
    berth_api *api;
    struct evhttp_request *req;
    api_route rt;
    enum evhttp_cmd_type method;
    const char *verb; /* for metrics: get, list, create, ... */
    struct evkeyvalq q;
    bool table, wide;
    int64_t t0_ns;
    char key[512];
    cJSON *body;      /* the decoded request body, owned */
    api_mutate_fn mutate;
    int attempts;
    char msg[1024];   /* message for the error being returned */
    berth_errlist errs;
    /* create */
    char gen_base[254];
    /* delete */
    char pre_uid[64];
    int64_t pre_rv;
    char propagation[16];
    int64_t grace;
    /* replies with a different kind than the route's (Scale) */
    bool scale_reply;
    bool binding;  /* replies with a Status Success */
    bool inflight_counted;
    /* A Service write: the stored version and the one being written, whose
     * addresses are settled by api_svc_settle once the write is decided. */
    cJSON *svc_old, *svc_new;
};

/* Finishes a request with a body already in b (taken), then frees r. */
void api_reply(api_req *r, int code, struct evbuffer *b, const char *ctype);
/* Finishes a request with a Status for err; message printf-style, or NULL
 * for the default one of the error's reason. */
void api_reply_error(api_req *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Query parameter or NULL. */
const char *api_query(api_req *r, const char *name);
/* Frees r without replying: the watch stream has taken r->req over. */
void api_req_detach(api_req *r);
/* Records that evcon carries watch w (NULL: no longer). */
void api_conn_set_watch(berth_api *a, struct evhttp_connection *evcon, api_watch *w);
/* Counts r as waiting for the store (shutdown waits for these). */
void api_req_hold(api_req *r);

/* conn.c: calls fn(arg) when evcon closes (fn NULL: no longer). */
void api_conn_set_gone(berth_api *a, struct evhttp_connection *evcon, void (*fn)(void *),
                       void *arg);
/* Tracks a request's connection (TCP_NODELAY, close callback); false when
 * it is new and the server is at its connection cap. */
bool api_conn_track(berth_api *a, struct evhttp_connection *evcon);
/* The listener's error callback, and the timer that re-enables it. */
void api_accept_error(struct evconnlistener *l, void *arg);
void api_relisten(evutil_socket_t fd, short what, void *arg);
/* pods/log and pods/exec through the node agent (podlog.c). */
void api_serve_pod_log(api_req *r);
void api_serve_pod_exec(api_req *r);
/* Ends every followed log stream (shutdown, free). */
void api_podlog_close_all(berth_api *a);

/* pods/log and pods/exec of a pod whose node runs a remote agent: the
 * request goes on to the agent's endpoint (podproxy.c). Replies with an
 * error when the pod's node publishes no endpoint; local_err/local_msg say
 * what the local agent answered, for that case. */
void api_podproxy_start(api_req *r, int local_err, const char *local_msg);
void api_podproxy_free(berth_api *a);

/* Discovery and OpenAPI (discovery.c). */
void api_serve_discovery(api_req *r);
/* Health, version, metrics (server.c, metrics.c). */
void api_metrics_new(berth_api *a);
void api_metrics_free(berth_api *a);
void api_metrics_count(berth_api *a, const char *verb, const char *resource,
                       int code, int64_t ns);
void api_serve_metrics(api_req *r);

/* Objects (objects.c, write.c, subres.c). */
void api_serve_object(api_req *r);
void api_serve_list(api_req *r);
void api_serve_create(api_req *r);
void api_serve_update(api_req *r);
void api_serve_patch(api_req *r);
void api_serve_delete(api_req *r);
void api_serve_binding(api_req *r);
/* Replies with a stored value: the object with its resourceVersion, a
 * Scale for scale subresources, or a one-row Table when asked. */
void api_reply_stored(api_req *r, int code, const berth_val *v, int64_t rv);
/* Checks apiVersion/kind of obj against want_*, filling them in when
 * absent; BERTH_EBADREQUEST (r->msg set) on a mismatch. */
int api_check_kind(api_req *r, cJSON *obj, const char *want_av, const char *want_kind);
/* Replies Invalid 422 with r->errs as details.causes. */
void api_reply_invalid(api_req *r, const char *name);
/* Starts the read-modify-write cycle with r->mutate. */
void api_rmw_start(api_req *r);
/* Decodes the request body (JSON or YAML) into r->body; replies on error
 * and returns non-zero then. */
int api_decode_body(api_req *r);
/* The shared write path of updates: keeps the metadata the server owns,
 * applies status-subresource rules, defaults, bumps generation, validates.
 * *objp may be replaced; it is set NULL (and freed) when nothing changed.
 * *del is set when the last finalizer of a deleted object went away. */
int api_prepare_update(api_req *r, cJSON *cur, cJSON **objp, bool status_only,
                       bool *del);
/* Replaces (or adds) member name of obj with item, which it takes. */
void api_set_item(cJSON *obj, const char *name, cJSON *item);
/* Scale conversion (scale.c). */
cJSON *api_scale_from(const berth_kind *k, const cJSON *obj);
int api_scale_mutate(api_req *r, cJSON *cur, cJSON **out, bool *del);
/* Patches (patchdoc.c): applies r's body (raw text) of content type ctype. */
int api_patch_apply(api_req *r, const char *ctype, const char *text, size_t len,
                    const cJSON *cur, cJSON **out);

/* Watch streams (watch.c). */
void api_serve_watch(api_req *r);
void api_watch_close_all(berth_api *a);
/* The connection of w closed under it (called from the close callback). */
void api_watch_conn_gone(api_watch *w);

/* Tables (table.c). */
typedef struct api_table api_table;
/* Begins a Table body: writes kind/apiVersion/metadata and the column
 * definitions (unless columns is false) and opens rows. */
void api_table_begin(struct evbuffer *b, const berth_kind *k, int64_t rv,
                     const char *cont, bool columns);
/* Appends one row for obj (comma handling by the caller: first). */
void api_table_row(struct evbuffer *b, const berth_kind *k, const cJSON *obj,
                   bool first, int64_t now);
void api_table_end(struct evbuffer *b);
/* True when the Accept header asks for a meta.k8s.io Table. */
bool api_wants_table(const char *accept);

/* Selectors on a request (select.c). */
typedef struct api_filter {
    berth_selector *labels;
    berth_fieldsel *fields;
    bool any; /* any selector present: objects must be parsed to match */
} api_filter;
/* Parses labelSelector and fieldSelector; replies BadRequest and returns
 * non-zero when malformed. */
int api_filter_parse(api_req *r, api_filter *f);
bool api_filter_match(const api_filter *f, const cJSON *obj);
void api_filter_free(api_filter *f);

/* Service addresses around a write (svcip.c): api_svc_hold assigns obj's
 * addresses (old: the stored version or NULL) and remembers both; BERTH_EINVAL
 * with r->errs set when it cannot. api_svc_settle(r, ok) frees what the
 * losing version holds that the winning one does not. */
int api_svc_hold(api_req *r, cJSON *obj, const cJSON *old);
void api_svc_settle(api_req *r, bool ok);

/* Randomness for uids and generated names. */
void api_random(void *buf, size_t n);
void api_uuid4(char out[37]);

#endif
