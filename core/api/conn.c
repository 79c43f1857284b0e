/* Connections of the API server, counted so that idle ones cannot take
 * every fd, with the watch or stream each carries so its end can be told;
 * and a listener that pauses instead of spinning when accept() runs out of
 * fds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/api-int.h"
#include "berth/log.h"

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    berth_api *a = arg;
    for (size_t i = 0; i < a->nconns; i++)
        if (a->conns[i].evcon == evcon) {
            api_watch *w = a->conns[i].watch;
            void (*gone)(void *) = a->conns[i].gone;
            void *gone_arg = a->conns[i].gone_arg;
            a->conns[i] = a->conns[--a->nconns];
            if (w)
                api_watch_conn_gone(w);
            if (gone)
                gone(gone_arg);
            return;
        }
}

void api_conn_set_watch(berth_api *a, struct evhttp_connection *evcon, api_watch *w)
{
    for (size_t i = 0; i < a->nconns; i++)
        if (a->conns[i].evcon == evcon) {
            a->conns[i].watch = w;
            return;
        }
}

void api_conn_set_gone(berth_api *a, struct evhttp_connection *evcon, void (*fn)(void *),
                       void *arg)
{
    for (size_t i = 0; i < a->nconns; i++)
        if (a->conns[i].evcon == evcon) {
            a->conns[i].gone = fn;
            a->conns[i].gone_arg = arg;
            return;
        }
}

/* Returns false when the connection is new and over the cap. */
bool api_conn_track(berth_api *a, struct evhttp_connection *evcon)
{
    if (!evcon)
        return true;
    for (size_t i = 0; i < a->nconns; i++)
        if (a->conns[i].evcon == evcon)
            return true;
    if (a->nconns >= a->o.max_conns)
        return false;
    if (a->nconns == a->conns_cap) {
        size_t cap = a->conns_cap ? a->conns_cap * 2 : 64;
        struct api_conn *n = realloc(a->conns, cap * sizeof *n);
        if (!n)
            return false;
        a->conns = n;
        a->conns_cap = cap;
    }
    a->conns[a->nconns++] = (struct api_conn){evcon, NULL, NULL, NULL};
    /* Replies leave in more than one write (TLS records, chunks); without
     * this, Nagle and delayed ACKs add 40 ms to a round trip. */
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evhttp_connection_set_closecb(evcon, conn_closed, a);
    return true;
}

/* accept() failing with EMFILE would otherwise spin the loop: pause
 * accepting for a second; the read timeout frees idle connections. */
void api_relisten(evutil_socket_t fd, short what, void *arg)
{
    berth_api *a = arg;
    if (a->sock && !a->draining)
        evconnlistener_enable(evhttp_bound_socket_get_listener(a->sock));
}

void api_accept_error(struct evconnlistener *l, void *arg)
{
    berth_api *a = arg;
    int e = EVUTIL_SOCKET_ERROR();
    BERTH_WARN("api", "accept failed: %s; pausing new connections for 1s",
               strerror(e));
    evconnlistener_disable(l);
    struct timeval tv = {1, 0};
    event_add(a->relisten, &tv);
}
