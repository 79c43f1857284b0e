/* Answers for names in the cluster domain, from the informer caches:
 *   <svc>.<ns>.svc.D                 A: the ClusterIP, or the ready endpoint
 *                                    IPs of a headless Service; CNAME for
 *                                    an ExternalName Service
 *   _<port>._<proto>.<svc>.<ns>.svc.D  SRV for a named port
 *   <host>.<svc>.<ns>.svc.D          A: one endpoint of a headless Service
 *   <a-b-c-d>.<ns>.pod.D             A: a Pod of that namespace with that IP
 * Anything else under D is NXDOMAIN with the zone's SOA. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/errno.h"
#include "berth/object.h"
#include "dns/dns.h"
#include "obj/endpoints.h"

#define TTL 5
#define MAX_LABELS 8
#define MAX_ADDRS 64

typedef struct reply {
    dns_writer *w;
    const dns_zone *z;
    const dns_question *q;
    uint16_t an, ns, ar;
    bool full;
} reply;

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(get(o, k));
}

static void add_a(reply *r, const char *name, const char *ip, bool additional)
{
    uint8_t a[4];
    if (r->full || !ip || inet_pton(AF_INET, ip, a) != 1)
        return;
    if (dns_write_a(r->w, name, TTL, a) != 0) {
        r->full = true;
        return;
    }
    if (additional)
        r->ar++;
    else
        r->an++;
}

/* "10-244-1-5" -> "10.244.1.5"; false when it is not a dashed IPv4. */
static bool undash(const char *label, char *ip, size_t size)
{
    snprintf(ip, size, "%s", label);
    for (char *p = ip; *p; p++)
        if (*p == '-')
            *p = '.';
    uint8_t a[4];
    return inet_pton(AF_INET, ip, a) == 1;
}

static void dash(const char *ip, char *out, size_t size)
{
    snprintf(out, size, "%s", ip);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '-';
}

/* Calls fn for every ready address of the Endpoints ns/name. */
static void each_ready(reply *r, const char *ns, const char *name,
                       void (*fn)(reply *r, const cJSON *addr, void *arg), void *arg)
{
    const cJSON *ep = berth_informer_get(r->z->eps, ns, name);
    const cJSON *sub;
    cJSON_ArrayForEach(sub, get(ep, "subsets"))
    {
        const cJSON *a;
        cJSON_ArrayForEach(a, get(sub, "addresses"))
            fn(r, a, arg);
    }
}

static void endpoint_a(reply *r, const cJSON *addr, void *arg)
{
    add_a(r, arg, str(addr, "ip"), false);
}

typedef struct host_match {
    const char *host, *fqdn;
} host_match;

static void endpoint_host(reply *r, const cJSON *addr, void *arg)
{
    host_match *m = arg;
    const char *ip = str(addr, "ip"), *hn = str(addr, "hostname");
    char d[64];
    dash(ip ? ip : "", d, sizeof d);
    if ((hn && !strcasecmp(hn, m->host)) || !strcmp(d, m->host))
        add_a(r, m->fqdn, ip, false);
}

typedef struct srv_match {
    reply *r;
    const char *svc_fqdn, *qname;
    bool additional;
} srv_match;

static void endpoint_srv(void *arg, const cJSON *addr, uint16_t port)
{
    srv_match *m = arg;
    reply *r = m->r;
    const char *ip = str(addr, "ip"), *hn = str(addr, "hostname");
    char host[64], target[DNS_MAX_NAME + 1];
    if (hn && *hn)
        snprintf(host, sizeof host, "%s", hn);
    else
        dash(ip ? ip : "", host, sizeof host);
    snprintf(target, sizeof target, "%s.%s", host, m->svc_fqdn);
    if (m->additional)
        add_a(r, target, ip, true);
    else if (!r->full && dns_write_srv(r->w, m->qname, TTL, 0, 100, port, target) == 0)
        r->an++;
    else
        r->full = true;
}

/* Answers for a name that names a Service; returns the rcode. */
static int answer_service(reply *r, char **lab, int n, const char *qname)
{
    /* lab: [..., svc, ns] with "svc" already cut off. */
    const char *svc = lab[n - 2], *ns = lab[n - 1];
    const cJSON *s = berth_informer_get(r->z->svc, ns, svc);
    if (!s)
        return DNS_R_NXDOMAIN;
    const cJSON *spec = get(s, "spec");
    const char *type = str(spec, "type"), *cip = str(spec, "clusterIP");
    bool headless = cip && !strcmp(cip, "None");
    char fqdn[DNS_MAX_NAME + 1];
    snprintf(fqdn, sizeof fqdn, "%s.%s.svc.%s", svc, ns, r->z->domain);
    uint16_t qt = r->q->type;
    if (n == 2) {
        if (type && !strcmp(type, "ExternalName")) {
            const char *ext = str(spec, "externalName");
            if (ext && (qt == DNS_T_A || qt == DNS_T_CNAME || qt == DNS_T_ANY)) {
                if (dns_write_cname(r->w, qname, TTL, ext) == 0)
                    r->an++;
                else
                    r->full = true;
            }
            return DNS_R_NOERROR;
        }
        if (qt != DNS_T_A && qt != DNS_T_ANY)
            return DNS_R_NOERROR;
        if (headless)
            each_ready(r, ns, svc, endpoint_a, (void *)qname);
        else
            add_a(r, qname, cip, false);
        return DNS_R_NOERROR;
    }
    if (n == 3) { /* <host>.<svc>.<ns>: one endpoint of a headless Service */
        if (!headless)
            return DNS_R_NXDOMAIN;
        host_match m = {lab[0], qname};
        uint16_t before = r->an;
        if (qt == DNS_T_A || qt == DNS_T_ANY)
            each_ready(r, ns, svc, endpoint_host, &m);
        return r->an > before || (qt != DNS_T_A && qt != DNS_T_ANY) ? DNS_R_NOERROR
                                                                      : DNS_R_NXDOMAIN;
    }
    /* SRV names a named port: "_<port>._<proto>", neither part empty. */
    if (n != 4 || lab[0][0] != '_' || !lab[0][1] || lab[1][0] != '_')
        return DNS_R_NXDOMAIN;
    const char *port = lab[0] + 1, *proto = lab[1] + 1;
    if (headless) {
        srv_match m = {r, fqdn, qname, false};
        if (qt == DNS_T_SRV || qt == DNS_T_ANY) {
            const cJSON *ep = berth_informer_get(r->z->eps, ns, svc);
            berth_endpoints_each_ready(ep, port, proto, true, endpoint_srv, &m);
            m.additional = true;
            berth_endpoints_each_ready(ep, port, proto, true, endpoint_srv, &m);
        }
        return r->an ? DNS_R_NOERROR : DNS_R_NXDOMAIN;
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, get(spec, "ports"))
    {
        if (!berth_port_matches(p, port, proto, true))
            continue;
        if (qt == DNS_T_SRV || qt == DNS_T_ANY) {
            if (dns_write_srv(r->w, qname, TTL, 0, 100, berth_port_number(p, "port"), fqdn) == 0)
                r->an++;
            else
                r->full = true;
            add_a(r, fqdn, cip, true);
        }
        return DNS_R_NOERROR;
    }
    return DNS_R_NXDOMAIN;
}

static int answer_pod(reply *r, char **lab, const char *qname)
{
    char ip[64];
    if (!undash(lab[0], ip, sizeof ip))
        return DNS_R_NXDOMAIN;
    const cJSON **pods = NULL;
    size_t n = berth_informer_list(r->z->pods, lab[1], &pods);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        const char *pip = str(get(pods[i], "status"), "podIP");
        found = pip && !strcmp(pip, ip);
    }
    free(pods);
    if (!found)
        return DNS_R_NXDOMAIN;
    if (r->q->type == DNS_T_A || r->q->type == DNS_T_ANY)
        add_a(r, qname, ip, false);
    return DNS_R_NOERROR;
}

/* Splits name (a copy) into labels; returns their count or -1. */
static int split(char *name, char **lab)
{
    int n = 0;
    for (char *p = name; *p;) {
        if (n == MAX_LABELS)
            return -1;
        lab[n++] = p;
        char *dot = strchr(p, '.');
        if (!dot)
            break;
        *dot = 0;
        p = dot + 1;
    }
    return n;
}

int dns_answer(const dns_zone *z, const dns_header *h, const dns_question *q, dns_writer *w)
{
    size_t dl = strlen(z->domain), nl = strlen(q->name);
    bool in_zone = nl == dl ? !strcasecmp(q->name, z->domain)
                            : nl > dl && q->name[nl - dl - 1] == '.' &&
                                  !strcasecmp(q->name + nl - dl, z->domain);
    if (!in_zone)
        return 0;
    dns_header rh = {.id = h->id, .flags = DNS_F_QR | DNS_F_AA | DNS_F_RA | (h->flags & DNS_F_RD),
                     .qd = 1};
    dns_write_header(w, &rh);
    if (dns_write_question(w, q->name, q->type, q->klass) != 0) {
        dns_set_counts(w, 0, 0, 0);
        return 1;
    }
    reply r = {.w = w, .z = z, .q = q};
    int rcode = DNS_R_NXDOMAIN;
    char name[DNS_MAX_NAME + 1], *lab[MAX_LABELS];
    snprintf(name, sizeof name, "%.*s", (int)(nl > dl ? nl - dl - 1 : 0), q->name);
    int n = nl > dl ? split(name, lab) : 0;
    if (q->klass != DNS_C_IN && q->klass != 255)
        rcode = DNS_R_NXDOMAIN;
    else if (n == 0)
        rcode = DNS_R_NOERROR; /* the zone itself */
    else if (n >= 3 && n <= 5 && !strcmp(lab[n - 1], "svc"))
        rcode = answer_service(&r, lab, n - 1, q->name);
    else if (n == 3 && !strcmp(lab[2], "pod"))
        rcode = answer_pod(&r, lab, q->name);
    else if ((n == 1 || n == 2) && (!strcmp(lab[n - 1], "svc") || !strcmp(lab[n - 1], "pod")))
        rcode = DNS_R_NOERROR; /* the branches exist, with nothing of their own */
    /* Negative answers carry the SOA for caching (RFC 2308). */
    if (!r.full && r.an == 0 && dns_write_soa(w, z->domain, TTL) == 0)
        r.ns++;
    uint16_t flags = (uint16_t)(rh.flags | (uint16_t)rcode | (r.full ? DNS_F_TC : 0));
    w->buf[2] = (uint8_t)(flags >> 8);
    w->buf[3] = (uint8_t)flags;
    dns_set_counts(w, r.an, r.ns, r.ar);
    return 1;
}

void dns_answer_error(const uint8_t *msg, size_t len, int rcode, dns_writer *w)
{
    dns_header h = {0};
    dns_read_header(msg, len, &h);
    dns_question q;
    size_t end;
    bool have_q = dns_read_query(msg, len, &h, &q, &end) == 0;
    dns_header rh = {.id = h.id,
                     .flags = (uint16_t)(DNS_F_QR | DNS_F_RA | (h.flags & DNS_F_RD) |
                                         (h.flags & 0x7800) | rcode),
                     .qd = have_q ? 1 : 0};
    dns_write_header(w, &rh);
    if (have_q && dns_write_question(w, q.name, q.type, q.klass) != 0)
        dns_set_counts(w, 0, 0, 0);
}
