/* The DNS server's sockets (dns.h): one UDP socket and one TCP listener on
 * the loop. Cluster names are answered at once from the informer caches;
 * other names go to an upstream resolver over UDP with their own id, and
 * the reply is relayed under the client's id when it comes, or SERVFAIL
 * after the timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "berth/object.h"
#include "dns/dns.h"

#define MAX_UPSTREAMS 3
#define MAX_PENDING 1024
#define TCP_IDLE_SEC 10

typedef struct tcp_conn tcp_conn;

/* A query forwarded upstream, waiting for its reply. */
typedef struct pending {
    berth_dns *d;
    int fd;
    struct event *ev;
    uint16_t client_id, our_id;
    int upstream, tries;
    struct sockaddr_storage client; /* UDP clients */
    socklen_t client_len;
    int client_fd;                  /* the UDP socket the query came in on */
    tcp_conn *conn;                 /* TCP clients, NULL once gone */
    struct pending *prev, *next;
    size_t len;
    uint8_t msg[];
} pending;

struct tcp_conn {
    berth_dns *d;
    struct bufferevent *bev;
    tcp_conn *prev, *next; /* every open connection, for berth_dns_free */
};

#define MAX_LISTENERS 4

/* One address served, over UDP and TCP on the same port. */
typedef struct dns_listener {
    int udp;
    struct event *udp_ev;
    struct evconnlistener *tcp;
} dns_listener;

struct berth_dns {
    struct event_base *base;
    dns_zone zone;
    char domain[DNS_MAX_NAME + 1];
    dns_listener ls[MAX_LISTENERS];
    int nls;
    uint16_t port;
    struct sockaddr_storage up[MAX_UPSTREAMS];
    socklen_t up_len[MAX_UPSTREAMS];
    int nup;
    int timeout_ms;
    pending *pend;
    size_t npend;
    tcp_conn *conns;
};

static int parse_addr(const char *s, uint16_t def_port, struct sockaddr_storage *ss,
                      socklen_t *len)
{
    char host[128];
    uint16_t port = def_port;
    const char *colon = strrchr(s, ':');
    if (colon && strchr(s, ':') == colon) { /* IPv4 with a port */
        snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p <= 0 || p > 65535)
            return BERTH_EINVAL;
        port = (uint16_t)p;
    } else {
        snprintf(host, sizeof host, "%s", s);
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        *len = sizeof *in;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        return 0;
    }
    return BERTH_EINVAL;
}

static int load_upstreams(berth_dns *d, const char *list)
{
    if (list) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", list);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && d->nup < MAX_UPSTREAMS;
             t = strtok_r(NULL, ",", &save))
            if (parse_addr(t, 53, &d->up[d->nup], &d->up_len[d->nup]) == 0)
                d->nup++;
            else
                return BERTH_EINVAL;
        return 0;
    }
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f)
        return 0;
    char line[256];
    while (fgets(line, sizeof line, f) && d->nup < MAX_UPSTREAMS) {
        char ns[128];
        if (sscanf(line, " nameserver %127s", ns) == 1 &&
            parse_addr(ns, 53, &d->up[d->nup], &d->up_len[d->nup]) == 0)
            d->nup++;
    }
    fclose(f);
    return 0;
}

/* ---- Replies. ---- */

static void tcp_send(tcp_conn *c, const uint8_t *msg, size_t len)
{
    uint8_t l[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    bufferevent_write(c->bev, l, 2);
    bufferevent_write(c->bev, msg, len);
}

static void pending_free(pending *p)
{
    berth_dns *d = p->d;
    if (p->prev)
        p->prev->next = p->next;
    else
        d->pend = p->next;
    if (p->next)
        p->next->prev = p->prev;
    d->npend--;
    if (p->ev)
        event_free(p->ev);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static void reply_to(berth_dns *d, pending *p, uint8_t *msg, size_t len)
{
    msg[0] = (uint8_t)(p->client_id >> 8);
    msg[1] = (uint8_t)p->client_id;
    if (p->conn)
        tcp_send(p->conn, msg, len);
    else if (!p->conn && p->client_len)
        sendto(p->client_fd, msg, len, 0, (struct sockaddr *)&p->client, p->client_len);
}

static void fail_pending(pending *p)
{
    uint8_t out[DNS_UDP_MAX];
    dns_writer w;
    dns_writer_init(&w, out, sizeof out);
    dns_answer_error(p->msg, p->len, DNS_R_SERVFAIL, &w);
    reply_to(p->d, p, out, w.len);
    pending_free(p);
}

static int send_upstream(pending *p);

static void on_upstream(evutil_socket_t fd, short what, void *arg)
{
    pending *p = arg;
    if (what & EV_TIMEOUT) {
        if (++p->tries >= p->d->nup * 2)
            return fail_pending(p);
        p->upstream = (p->upstream + 1) % p->d->nup;
        if (send_upstream(p) != 0)
            fail_pending(p);
        return;
    }
    uint8_t buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    dns_header h;
    if (n < 0 || dns_read_header(buf, (size_t)n, &h) != 0 || h.id != p->our_id)
        return; /* a stray datagram: keep waiting for ours */
    reply_to(p->d, p, buf, (size_t)n);
    pending_free(p);
}

static int send_upstream(pending *p)
{
    berth_dns *d = p->d;
    if (p->ev) {
        event_free(p->ev);
        p->ev = NULL;
    }
    if (p->fd >= 0)
        close(p->fd);
    const struct sockaddr_storage *up = &d->up[p->upstream];
    p->fd = socket(up->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0 || connect(p->fd, (const struct sockaddr *)up, d->up_len[p->upstream]) != 0)
        return BERTH_EIO;
    uint16_t id;
    evutil_secure_rng_get_bytes(&id, sizeof id);
    p->our_id = id;
    p->msg[0] = (uint8_t)(id >> 8);
    p->msg[1] = (uint8_t)id;
    if (send(p->fd, p->msg, p->len, 0) < 0)
        return BERTH_EIO;
    p->ev = event_new(d->base, p->fd, EV_READ | EV_PERSIST, on_upstream, p);
    int per = d->timeout_ms / (d->nup * 2 > 0 ? d->nup * 2 : 1);
    struct timeval tv = {per / 1000, (per % 1000) * 1000};
    return p->ev && event_add(p->ev, &tv) == 0 ? 0 : BERTH_ENOMEM;
}

/* Answers one query: at once from the zone, or by forwarding. out (of
 * cap bytes) receives an immediate answer; returns its length, or 0 when
 * the answer comes later (forwarded). */
static size_t handle(berth_dns *d, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                     const struct sockaddr_storage *from, socklen_t fromlen, int udp_fd,
                     tcp_conn *conn)
{
    dns_header h;
    dns_question q;
    size_t end;
    dns_writer w;
    dns_writer_init(&w, out, cap);
    if (len >= 3 && (msg[2] & DNS_F_QR >> 8))
        return 0; /* a reply sent to us: never answer those (no loops) */
    if (dns_read_query(msg, len, &h, &q, &end) != 0) {
        dns_answer_error(msg, len, DNS_R_FORMERR, &w);
        return w.len;
    }
    if (DNS_OPCODE(h.flags) != 0) {
        dns_answer_error(msg, len, DNS_R_NOTIMP, &w);
        return w.len;
    }
    bool synced = berth_informer_synced(d->zone.svc) && berth_informer_synced(d->zone.eps) &&
                  berth_informer_synced(d->zone.pods);
    size_t dl = strlen(d->domain), nl = strlen(q.name);
    bool in_zone = nl >= dl && !strcasecmp(q.name + nl - dl, d->domain) &&
                   (nl == dl || q.name[nl - dl - 1] == '.');
    if (in_zone && !synced) {
        dns_answer_error(msg, len, DNS_R_SERVFAIL, &w);
        return w.len;
    }
    if (dns_answer(&d->zone, &h, &q, &w))
        return w.len;
    if (d->nup == 0 || d->npend >= MAX_PENDING) {
        dns_answer_error(msg, len, d->nup ? DNS_R_REFUSED : DNS_R_SERVFAIL, &w);
        return w.len;
    }
    pending *p = calloc(1, sizeof *p + len);
    if (!p) {
        dns_answer_error(msg, len, DNS_R_SERVFAIL, &w);
        return w.len;
    }
    p->d = d;
    p->fd = -1;
    p->client_id = h.id;
    p->conn = conn;
    p->client_fd = udp_fd;
    if (from) {
        memcpy(&p->client, from, fromlen);
        p->client_len = fromlen;
    }
    p->len = len;
    memcpy(p->msg, msg, len);
    p->next = d->pend;
    if (d->pend)
        d->pend->prev = p;
    d->pend = p;
    d->npend++;
    if (send_upstream(p) != 0) {
        pending_free(p);
        dns_answer_error(msg, len, DNS_R_SERVFAIL, &w);
        return w.len;
    }
    return 0;
}

/* ---- UDP. ---- */

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    berth_dns *d = arg;
    (void)what;
    /* A bounded batch a turn, so one flood cannot starve the loop. */
    for (int i = 0; i < 64; i++) {
        uint8_t in[4096], out[DNS_UDP_MAX];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        size_t len = handle(d, in, (size_t)n, out, sizeof out, &from, fl, fd, NULL);
        if (len)
            sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
    }
}

/* ---- TCP: two-byte length, then the message (RFC 1035 4.2.2). ---- */

static void tcp_close(tcp_conn *c)
{
    for (pending *p = c->d->pend; p; p = p->next)
        if (p->conn == c) {
            p->conn = NULL;
            p->client_len = 0; /* nobody to answer any more */
        }
    if (c->prev)
        c->prev->next = c->next;
    else
        c->d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    free(c);
}

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
    tcp_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        uint8_t l[2];
        if (evbuffer_copyout(in, l, 2) < 2)
            return;
        size_t len = (size_t)l[0] << 8 | l[1];
        if (evbuffer_get_length(in) < 2 + len)
            return;
        uint8_t msg[65536], out[65535];
        evbuffer_drain(in, 2);
        evbuffer_remove(in, msg, len);
        size_t n = handle(c->d, msg, len, out, sizeof out, NULL, 0, -1, c);
        if (n)
            tcp_send(c, out, n);
    }
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what; /* EOF, error or idle timeout: all end the connection */
    tcp_close(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l;
    (void)sa;
    (void)salen;
    berth_dns *d = arg;
    tcp_conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev =
        c ? bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!bev) {
        free(c);
        close(fd);
        return;
    }
    c->d = d;
    c->bev = bev;
    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    struct timeval idle = {TCP_IDLE_SEC, 0};
    bufferevent_set_timeouts(bev, &idle, NULL);
    bufferevent_setcb(bev, on_tcp_read, NULL, on_tcp_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---- Life. ---- */

static int informer(berth_dns *d, berth_client *c, const char *kind, berth_informer **out)
{
    int rc = berth_informer_new(c, d->base, berth_kind_find("v1", kind), NULL, out);
    return rc ? rc : berth_informer_start(*out);
}

/* Serves where ("ADDR:PORT"; port 0 the first time picks a free one, later
 * listeners share the first one's port). IP_FREEBIND lets an address that
 * comes up a moment later (a bridge's) be bound already. */
static int listen_on(berth_dns *d, const char *where, char *err, size_t errsize)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (d->nls == MAX_LISTENERS) {
        snprintf(err, errsize, "the DNS server already listens on %d addresses", d->nls);
        return BERTH_ETOOLARGE;
    }
    if (parse_addr(where, 53, &ss, &sl) != 0) {
        snprintf(err, errsize, "the DNS listen address '%s' is not an IP address", where);
        return BERTH_EINVAL;
    }
    dns_listener *l = &d->ls[d->nls];
    int one = 1;
    l->udp = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->udp >= 0)
        setsockopt(l->udp, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    if (l->udp < 0 || bind(l->udp, (struct sockaddr *)&ss, sl) != 0) {
        snprintf(err, errsize, "cannot bind the DNS server to udp %s: %s", where,
                 strerror(errno));
        if (l->udp >= 0)
            close(l->udp);
        return BERTH_EIO;
    }
    d->nls++; /* from here on berth_dns_free closes what it holds */
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    getsockname(l->udp, (struct sockaddr *)&bound, &bl);
    uint16_t port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                     : ((struct sockaddr_in6 *)&bound)->sin6_port);
    if (!d->port)
        d->port = port;
    /* TCP on the same port as UDP, as resolvers expect. */
    int tfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    if (tfd >= 0) {
        setsockopt(tfd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
        setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (tfd < 0 || bind(tfd, (struct sockaddr *)&ss, sl) != 0 ||
        !(l->tcp = evconnlistener_new(d->base, on_accept, d,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64, tfd))) {
        snprintf(err, errsize, "cannot bind the DNS server to tcp %s: %s", where,
                 strerror(errno));
        if (tfd >= 0)
            close(tfd);
        return BERTH_EIO;
    }
    l->udp_ev = event_new(d->base, l->udp, EV_READ | EV_PERSIST, on_udp, d);
    if (!l->udp_ev || event_add(l->udp_ev, NULL) != 0) {
        snprintf(err, errsize, "cannot watch the DNS socket on %s", where);
        return BERTH_ENOMEM;
    }
    return 0;
}

int berth_dns_listen(berth_dns *d, const char *addr, char *err, size_t errsize)
{
    char where[160];
    snprintf(where, sizeof where, "%s:%u", addr, d->port);
    for (int i = 0; i < d->nls; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char have[INET6_ADDRSTRLEN] = "";
        if (getsockname(d->ls[i].udp, (struct sockaddr *)&ss, &sl) == 0 &&
            ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, have, sizeof have);
        if (!strcmp(have, addr))
            return 0; /* already served */
    }
    return listen_on(d, where, err, errsize);
}

int berth_dns_start(const berth_dns_options *o, berth_dns **out, char *err, size_t errsize)
{
    berth_dns *d = calloc(1, sizeof *d);
    if (!d)
        return BERTH_ENOMEM;
    d->base = o->base;
    d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 2000;
    snprintf(d->domain, sizeof d->domain, "%s", o->domain ? o->domain : "cluster.local");
    d->zone.domain = d->domain;
    int rc = load_upstreams(d, o->upstream);
    if (rc) {
        snprintf(err, errsize, "--dns-upstream wants ADDR[:PORT][,...], not '%s'",
                 o->upstream);
        berth_dns_free(d);
        return rc;
    }
    char where[160];
    snprintf(where, sizeof where, "%s:%u", o->addr ? o->addr : "127.0.0.1", o->port);
    if ((rc = listen_on(d, where, err, errsize)) != 0) {
        berth_dns_free(d);
        return rc;
    }
    if ((rc = informer(d, o->client, "Service", &d->zone.svc)) != 0 ||
        (rc = informer(d, o->client, "Endpoints", &d->zone.eps)) != 0 ||
        (rc = informer(d, o->client, "Pod", &d->zone.pods)) != 0) {
        snprintf(err, errsize, "cannot start the DNS server's informers: %s",
                 berth_strerror(rc ? rc : BERTH_ENOMEM));
        berth_dns_free(d);
        return rc ? rc : BERTH_ENOMEM;
    }
    *out = d;
    return 0;
}

uint16_t berth_dns_port(const berth_dns *d)
{
    return d->port;
}

void berth_dns_free(berth_dns *d)
{
    if (!d)
        return;
    while (d->pend)
        pending_free(d->pend);
    while (d->conns)
        tcp_close(d->conns);
    for (int i = 0; i < d->nls; i++) {
        dns_listener *l = &d->ls[i];
        if (l->tcp)
            evconnlistener_free(l->tcp);
        if (l->udp_ev)
            event_free(l->udp_ev);
        if (l->udp >= 0)
            close(l->udp);
    }
    berth_informer_free(d->zone.svc);
    berth_informer_free(d->zone.eps);
    berth_informer_free(d->zone.pods);
    free(d);
}
