/* The berth API server: the Kubernetes REST API on libevent's evhttp, over a
 * berth_store. One event loop; every handler is non-blocking. */
#ifndef BERTH_API_H
#define BERTH_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "berth/store.h"

struct event_base;
struct ssl_ctx_st;

typedef struct berth_api berth_api;

typedef struct berth_api_options {
    struct event_base *base; /* the loop the store also runs on */
    berth_store *store;      /* borrowed; must outlive the server */
    const char *addr;        /* listen address, "127.0.0.1" */
    uint16_t port;           /* 0 picks a free port (see berth_api_port) */
    const char *token;       /* the admin bearer token; copied */
    size_t max_body;         /* request body limit (0: 3 MiB) */
    size_t max_headers;      /* request line and headers limit (0: 64 KiB) */
    unsigned max_conns;      /* open connections served (0: 4096) */
    int read_timeout;        /* seconds a connection may stay silent (0: 60) */
    size_t watch_buffer;     /* output bytes a watcher may owe (0: 8 MiB) */
    int bookmark_interval;   /* seconds between watch bookmarks (0: 60) */
    unsigned max_inflight;   /* requests waiting for the store before new
                              * ones get 429 TooManyRequests (0: 10000) */
    struct ssl_ctx_st *tls;  /* serve https with this SSL_CTX (borrowed, must
                              * outlive the server); NULL serves plain http */
    const char *local_socket; /* also serve plain http on this Unix socket
                               * (mode 0600), for in-process clients: no TLS
                               * on the loop's own calls; NULL for none */
    const char *service_cidr; /* ClusterIPs come from here (NULL: 10.96.0.0/12) */
} berth_api_options;

/* Binds the listener and starts serving on o->base. On success *out is
 * owned by the caller and released with berth_api_free, after the loop no
 * longer runs the server's callbacks. Returns BERTH_EIO when the address
 * cannot be bound. */
int berth_api_start(const berth_api_options *o, berth_api **out);
/* Serves GET /debug/{name} (authenticated) with the JSON fn returns (the
 * server frees it); fn NULL removes it. Up to four names. */
void berth_api_set_debug(berth_api *a, const char *name, cJSON *(*fn)(void *arg),
                         void *arg);
/* What the server asks of a node agent to serve pods/log and pods/exec
 * (the agent in the same process). Both return 0 or a BERTH_E* code with
 * msg set; exec calls done later, and never when it returned an error. */
typedef struct berth_api_pod_backend {
    /* The CRI log file of a container's current (or previous) instance,
     * and whether that instance still runs. */
    int (*log_file)(void *arg, const char *ns, const char *pod, const char *container,
                    bool previous, char *path, size_t len, bool *running, char *msg,
                    size_t msglen);
    int (*exec)(void *arg, const char *ns, const char *pod, const char *container,
                const char *const *argv, uint32_t timeout_ms,
                void (*done)(void *darg, int err, int exit_code, const char *out, size_t len),
                void *darg, char *msg, size_t msglen);
} berth_api_pod_backend;
/* Serves pods/log and pods/exec through b (static, borrowed) and arg, which
 * must outlive the server or be unset (b NULL) first. */
void berth_api_set_pod_backend(berth_api *a, const berth_api_pod_backend *b, void *arg);
/* The port actually bound (useful with port 0). */
uint16_t berth_api_port(const berth_api *a);
/* Stops accepting connections and ends every watch stream. Requests in
 * flight keep going; done (may be NULL) runs once none is left, on the loop. */
void berth_api_shutdown(berth_api *a, void (*done)(void *arg), void *arg);
/* Requests still waiting for the store. */
size_t berth_api_inflight(const berth_api *a);
/* Frees the server and every connection it still has. */
void berth_api_free(berth_api *a);

/* Reads DIR/admin.token, or creates it (mode 0600) with 32 random bytes in
 * hex. Writes the NUL-terminated token into tok (size >= 65). */
int berth_api_admin_token(const char *dir, char *tok, size_t size);
/* Loads, or on first use makes, DIR/pki: a private CA (ca.crt, ca.key) and
 * a server certificate (server.crt, server.key) valid for 127.0.0.1, ::1,
 * localhost and addr. On success *ctx is an SSL_CTX the caller frees with
 * SSL_CTX_free, and *ca_pem the CA certificate in PEM, freed with free(). */
int berth_api_tls_setup(const char *dir, const char *addr, struct ssl_ctx_st **ctx,
                        char **ca_pem);
/* Writes DIR/admin.kubeconfig (mode 0600): cluster "berth" at server (with
 * ca_pem as certificate-authority-data when not NULL), user "admin" with
 * token, context "berth" as current-context. */
int berth_api_write_kubeconfig(const char *dir, const char *server, const char *ca_pem,
                               const char *token);

#endif
