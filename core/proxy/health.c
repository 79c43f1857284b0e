/* Health check node ports, served on every node as kube-proxy serves them:
 * a LoadBalancer Service with externalTrafficPolicy Local gets a
 * healthCheckNodePort (core/api/svcip.c), and a GET of any path on it
 * answers 200 while this node has a ready endpoint of the Service, 503
 * otherwise, so that a load balancer outside sends traffic only to nodes
 * that can take it. The body is kube-proxy's:
 *   {"service":{"namespace":"NS","name":"NAME"},"localEndpoints":N,
 *    "serviceProxyHealthy":true} */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "proxy/proxy.h"
#include "util/hmap.h"

typedef struct listener {
    struct evhttp *http;
    char ns[64], name[254];
    uint32_t local;
    bool seen; /* named by the sync in progress */
} listener;

struct berth_svchealth {
    struct event_base *base;
    const char *addr;
    berth_hmap by_port; /* "PORT" -> listener* */
    berth_hmap failed;  /* "PORT" -> (void *)1: could not bind, said once */
};

static void answer(struct evhttp_request *req, void *arg)
{
    const listener *l = arg;
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    /* Names are DNS labels and subdomains: nothing to escape. */
    evbuffer_add_printf(b, "{\"service\":{\"namespace\":\"%s\",\"name\":\"%s\"},"
                           "\"localEndpoints\":%u,\"serviceProxyHealthy\":true}\n",
                        l->ns, l->name, l->local);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Content-Type-Options",
                      "nosniff");
    evhttp_send_reply(req, l->local ? 200 : 503, l->local ? "OK" : "Service Unavailable", b);
    evbuffer_free(b);
}

int berth_svchealth_new(struct event_base *base, const char *addr, berth_svchealth **out)
{
    berth_svchealth *h = calloc(1, sizeof *h);
    if (!h)
        return BERTH_ENOMEM;
    h->base = base;
    h->addr = addr ? addr : "0.0.0.0";
    *out = h;
    return 0;
}

static void close_listener(listener *l)
{
    evhttp_free(l->http);
    free(l);
}

static listener *open_listener(berth_svchealth *h, uint16_t port, const char *key)
{
    listener *l = calloc(1, sizeof *l);
    if (!l || !(l->http = evhttp_new(h->base))) {
        free(l);
        return NULL;
    }
    if (!evhttp_bind_socket_with_handle(l->http, h->addr, port)) {
        if (!berth_hmap_get(&h->failed, key)) {
            BERTH_WARN("proxy", "cannot serve the health check node port %u: it is in use",
                       port);
            berth_hmap_put(&h->failed, key, (void *)1, NULL);
        }
        close_listener(l);
        return NULL;
    }
    berth_hmap_del(&h->failed, key);
    evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(l->http, answer, l);
    return l;
}

void berth_svchealth_sync(berth_svchealth *h, const berth_svchealth_entry *e, size_t n)
{
    const berth_hmap_slot *slot;
    for (size_t i = 0; (i = berth_hmap_next(&h->by_port, i, &slot)) != 0;)
        ((listener *)slot->value)->seen = false;
    for (size_t i = 0; i < n; i++) {
        char key[8];
        snprintf(key, sizeof key, "%u", e[i].port);
        listener *l = berth_hmap_get(&h->by_port, key);
        if (!l && (l = open_listener(h, e[i].port, key)) != NULL &&
            berth_hmap_put(&h->by_port, key, l, NULL) != 0) {
            close_listener(l);
            l = NULL;
        }
        if (!l)
            continue;
        snprintf(l->ns, sizeof l->ns, "%s", e[i].ns);
        snprintf(l->name, sizeof l->name, "%s", e[i].name);
        l->local = e[i].local;
        l->seen = true;
    }
    /* Ports no Service has any more close; deleting while iterating is not
     * allowed, so the keys go through a short list. */
    char gone[64][8];
    size_t ngone;
    do {
        ngone = 0;
        for (size_t i = 0; ngone < 64 && (i = berth_hmap_next(&h->by_port, i, &slot)) != 0;)
            if (!((listener *)slot->value)->seen)
                snprintf(gone[ngone++], sizeof gone[0], "%s", slot->key);
        for (size_t i = 0; i < ngone; i++)
            close_listener(berth_hmap_del(&h->by_port, gone[i]));
    } while (ngone == 64);
}

void berth_svchealth_free(berth_svchealth *h)
{
    if (!h)
        return;
    berth_svchealth_sync(h, NULL, 0);
    berth_hmap_free(&h->by_port);
    berth_hmap_free(&h->failed);
    free(h);
}
