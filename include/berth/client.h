/* The client interface: how controllers, the scheduler and the node agent
 * talk to the API. Two implementations share it: local (direct calls into the
 * API layer of the same process, no HTTP) and remote (HTTP to an API server,
 * driven by libcurl on the event loop). Code written against it runs inside
 * `berthd server` or as its own process unchanged.
 *
 * Threading: all calls and callbacks on the loop thread. A call that returns
 * an error never invokes its callback. */
#ifndef BERTH_CLIENT_H
#define BERTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "berth/object.h"

struct event_base;

typedef enum berth_verb {
    BERTH_VERB_GET,
    BERTH_VERB_LIST,
    BERTH_VERB_CREATE,
    BERTH_VERB_UPDATE,
    BERTH_VERB_PATCH,
    BERTH_VERB_DELETE,
} berth_verb;

/* What to act on. Unused fields stay zero. */
typedef struct berth_request {
    const berth_kind *kind;
    const char *ns;          /* NULL for cluster-scoped kinds or all namespaces */
    const char *name;        /* get, update, patch, delete, named subresources */
    const char *subresource; /* "status", "scale", "binding", or NULL */
    const char *label_selector;
    const char *field_selector;
    int64_t resource_version; /* list/watch start; 0 for the newest */
    size_t limit;             /* list page size; 0 for all */
    const char *continue_token;
    const char *patch_type;   /* patch: "application/merge-patch+json",
                               * "application/json-patch+json" or
                               * "application/strategic-merge-patch+json" */
    const cJSON *body;        /* create/update/patch object, delete options */
} berth_request;

typedef struct berth_reply {
    int err;             /* 0 or BERTH_E* (NOTFOUND, CONFLICT, EXISTS, INVAL,
                          * UNAVAILABLE, ...) mapped from the Status reason */
    int code;            /* the HTTP status code the API answered with */
    const char *message; /* the Status message when err != 0 */
    /* The object written or read; for LIST a List object with items and
     * metadata.resourceVersion. Borrowed for the callback: detach or
     * duplicate what you keep. NULL on error. */
    cJSON *obj;
} berth_reply;

typedef void (*berth_reply_cb)(void *arg, const berth_reply *r);

/* A watch event: type is "ADDED", "MODIFIED", "DELETED" or "BOOKMARK"; obj
 * is handed over: the callee owns it and frees it (cJSON_Delete), so a cache
 * can keep it without a copy. When the watch ends err != 0 (BERTH_EEXPIRED: relist;
 * BERTH_EUNAVAILABLE: connection lost; BERTH_ECANCELED: client closing),
 * type and obj are NULL, and no call follows. */
typedef void (*berth_watch_event_cb)(void *arg, int err, const char *type, cJSON *obj);

typedef struct berth_client berth_client;
typedef struct berth_client_watcher berth_client_watcher;

typedef struct berth_client_ops {
    size_t size;
    int (*request)(berth_client *c, berth_verb verb, const berth_request *req,
                   berth_reply_cb cb, void *arg);
    int (*watch)(berth_client *c, const berth_request *req, berth_watch_event_cb cb,
                 void *arg, berth_client_watcher **out);
    /* No callback follows, even when called from inside the watch's own. */
    void (*watch_cancel)(berth_client *c, berth_client_watcher *w);
    /* Ends every watch (BERTH_ECANCELED), drops requests in flight without
     * calling them back, and frees the client. */
    void (*free)(berth_client *c);
} berth_client_ops;

struct berth_client {
    const berth_client_ops *ops;
};

static inline int berth_client_request(berth_client *c, berth_verb verb,
                                       const berth_request *req, berth_reply_cb cb,
                                       void *arg)
{
    return c->ops->request(c, verb, req, cb, arg);
}
static inline int berth_client_watch(berth_client *c, const berth_request *req,
                                     berth_watch_event_cb cb, void *arg,
                                     berth_client_watcher **out)
{
    return c->ops->watch(c, req, cb, arg, out);
}
static inline void berth_client_watch_cancel(berth_client *c, berth_client_watcher *w)
{
    c->ops->watch_cancel(c, w);
}
static inline void berth_client_free(berth_client *c)
{
    if (c)
        c->ops->free(c);
}

/* The parts of a kubeconfig berth uses: the current (or named) context's
 * server, bearer token, namespace and how to trust the server's
 * certificate. Strings are malloc'd; free with berth_kubeconfig_free. */
typedef struct berth_kubeconfig {
    char *server;           /* "https://127.0.0.1:6443", no trailing slash */
    char *token;            /* or NULL */
    char *ns;               /* the context's namespace, else "default" */
    unsigned char *ca_pem;  /* certificate-authority-data, decoded, or NULL */
    size_t ca_pem_len;
    char *ca_file;          /* certificate-authority, or NULL */
    bool insecure;          /* insecure-skip-tls-verify */
    char *unix_socket;      /* connect through this Unix socket (berth's
                             * in-process clients), or NULL */
} berth_kubeconfig;

/* Reads path (NULL: $KUBECONFIG's first existing file, else ~/.kube/config,
 * else /var/lib/berth/admin.kubeconfig). On failure returns BERTH_EIO,
 * BERTH_EPARSE or BERTH_EINVAL and writes one line saying what is wrong, with
 * the file's name, into err. */
int berth_kubeconfig_load(const char *path, const char *context, berth_kubeconfig *out,
                          char *err, size_t errlen);
/* Sets a libcurl easy handle (a CURL *, passed as void * so this header
 * needs no curl.h) to reach and trust the server as kc says. */
void berth_kubeconfig_apply(const berth_kubeconfig *kc, void *curl_easy);
void berth_kubeconfig_free(berth_kubeconfig *kc);

/* A remote client for the API server kc names, authenticating with its
 * token and trusting the server as it says. kc is copied. *out is freed with
 * berth_client_free. */
int berth_client_remote_new(struct event_base *base, const berth_kubeconfig *kc,
                            berth_client **out);
/* The same, from a kubeconfig file's current context. */
int berth_client_remote_from_kubeconfig(struct event_base *base, const char *path,
                                        berth_client **out);

/* The REST path for a request ("/apis/apps/v1/namespaces/ns/deployments/web"),
 * with the query for list/watch. Returns a malloc'd string or NULL. */
char *berth_request_path(const berth_request *req, berth_verb verb, bool watch);

#endif
