/* The service proxy's input checks and its text buffer. Every address,
 * port and protocol is validated here before a renderer prints it, and
 * duplicate keys (the same VIP, protocol and port twice; the same NodePort
 * twice) keep their first entry: nft would refuse the whole batch over one
 * duplicate map key. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proxy-render.h"

/* ---- The buffer ---- */

static int buf_reserve(proxy_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void buf_put(proxy_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void buf_puts(proxy_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

void buf_putu(proxy_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_put(b, tmp + i, sizeof tmp - i);
}

/* Formats straight into the free space; only a line that does not fit
 * is formatted twice. */
void buf_printf(proxy_buf *b, const char *fmt, ...)
{
    if (!buf_reserve(b, 256))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        if (!buf_reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void buf_put_label(proxy_buf *b, const char *s, size_t max)
{
    if (!s || !buf_reserve(b, max))
        return;
    for (size_t i = 0; s[i] && i < max; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
        b->p[b->len++] = ok ? c : '_';
    }
    b->p[b->len] = 0;
}

/* ---- Validation ---- */

int proxy_parse_ipv4(const char *s, uint32_t *out)
{
    if (!s)
        return 0;
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.')
            return 0;
        if (*s < '0' || *s > '9')
            return 0;
        if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
            return 0; /* leading zero: octal to some parsers */
        unsigned octet = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            octet = octet * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (octet > 255)
            return 0;
        v = v << 8 | octet;
    }
    if (*s)
        return 0;
    if (out)
        *out = v;
    return 1;
}

int proxy_valid_cidr(const char *s)
{
    if (!s || !*s)
        return 1;
    char ip[20];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof ip)
        return 0;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    uint32_t addr;
    if (!proxy_parse_ipv4(ip, &addr))
        return 0;
    const char *l = slash + 1;
    if (*l < '0' || *l > '9' || (l[0] == '0' && l[1]) || strlen(l) > 2)
        return 0;
    int len = atoi(l);
    if (len > 32)
        return 0;
    uint32_t host_bits = len == 32 ? 0 : (len == 0 ? ~0u : (~0u >> len));
    return (addr & host_bits) == 0;
}

const char *proxy_proto_name(uint8_t proto)
{
    switch (proto) {
    case BERTH_PROTO_TCP: return "tcp";
    case BERTH_PROTO_UDP: return "udp";
    case BERTH_PROTO_SCTP: return "sctp";
    default: return NULL;
    }
}

uint64_t proxy_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- The plan ---- */

/* An open-addressing set of non-zero keys, sized once for the whole table. */
typedef struct keyset {
    uint64_t *slots;
    size_t mask;
} keyset;

static int keyset_init(keyset *k, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    k->slots = calloc(cap, sizeof *k->slots);
    k->mask = cap - 1;
    return k->slots != NULL;
}

/* 1 when key was new (and is now in), 0 when it was there. */
static int keyset_add(keyset *k, uint64_t key)
{
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & k->mask;
    while (k->slots[i]) {
        if (k->slots[i] == key)
            return 0;
        i = (i + 1) & k->mask;
    }
    k->slots[i] = key;
    return 1;
}

enum { WARN_LIMIT = 5 };

__attribute__((format(printf, 3, 4))) static void skip(const berth_nproxy *p, proxy_plan *plan,
                                                      const char *fmt, ...)
{
    if (plan->skipped++ >= WARN_LIMIT)
        return;
    va_list ap;
    va_start(ap, fmt);
    proxy_vlog(p, BERTH_PLOG_WARN, fmt, ap);
    va_end(ap);
}

static const char *str(const char *s)
{
    return s ? s : "";
}

/* "ns/name:port" for messages. */
#define SVC_FMT "service %s/%s:%s"
#define SVC_ARGS(s) str((s)->svc_namespace), str((s)->svc_name), str((s)->port_name)

static int valid_backend(const berth_proxy_backend *bk)
{
    return proxy_parse_ipv4(bk->ip, NULL) && bk->port != 0;
}

static const berth_proxy_service *service_at(const berth_proxy_table *t, uint32_t i)
{
    return BERTH_AT(berth_proxy_service, t->services, t->service_size, i);
}

static const berth_proxy_backend *backend_at(const berth_proxy_table *t,
                                             const berth_proxy_service *s, uint32_t j)
{
    return BERTH_AT(berth_proxy_backend, s->backends, t->backend_size, j);
}

/* Adds a door with the valid backends of s (only local ones when
 * local_only); invalid ones are reported once, at the first door. */
static proxy_entry *add_door(const berth_nproxy *p, const berth_proxy_table *t,
                             const berth_proxy_service *s, proxy_plan *plan, uint32_t *used,
                             const char *vip, uint16_t port, int local_only, int masquerade)
{
    int first = plan->nentries == 0 || plan->entries[plan->nentries - 1].svc != s;
    proxy_entry *e = &plan->entries[plan->nentries++];
    *e = (proxy_entry){.svc = s, .vip = vip, .port = port, .masquerade = (uint8_t)masquerade,
                       .backends = plan->backends + *used};
    for (uint32_t j = 0; s->backends && j < s->nbackends; j++) {
        const berth_proxy_backend *bk = backend_at(t, s, j);
        if (!valid_backend(bk)) {
            if (first)
                skip(p, plan,
                     SVC_FMT ": backend \"%.64s\":%u skipped: not an IPv4 address and port",
                     SVC_ARGS(s), str(bk->ip), bk->port);
            continue;
        }
        if (local_only && !bk->local)
            continue;
        e->backends[e->nbackends++] = bk;
        (*used)++;
    }
    return e;
}

static uint64_t vip_key(uint32_t vip, const berth_proxy_service *s)
{
    return (uint64_t)vip << 24 | (uint64_t)s->protocol << 16 | s->port;
}

/* How many doors and backend slots t can need at most. */
static void count(const berth_proxy_table *t, uint32_t n, size_t *doors, size_t *slots)
{
    *doors = *slots = 0;
    for (uint32_t i = 0; i < n; i++) {
        const berth_proxy_service *s = service_at(t, i);
        size_t d = 2 + (s->external_ips ? s->nexternal_ips : 0);
        *doors += d;
        *slots += d * (s->backends ? s->nbackends : 0);
    }
}

static int table_ok(const berth_nproxy *p, const berth_proxy_table *t)
{
    if (!t || !t->nservices)
        return 1;
    if (t->size >= BERTH_PROXY_TABLE_V1_SIZE && t->services &&
        t->service_size >= BERTH_PROXY_SERVICE_V1_SIZE &&
        t->backend_size >= BERTH_PROXY_BACKEND_V1_SIZE)
        return 1;
    proxy_log(p, BERTH_PLOG_ERROR, "refusing a proxy table of size %u (services %u, backends %u "
              "bytes): older than this plugin's first version", t->size,
              t->size >= BERTH_PROXY_TABLE_V1_SIZE ? t->service_size : 0,
              t->size >= BERTH_PROXY_TABLE_V1_SIZE ? t->backend_size : 0);
    return 0;
}

int proxy_plan_build(const berth_nproxy *p, const berth_proxy_table *t, proxy_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (!table_ok(p, t))
        return BERTH_EINVAL;
    uint32_t n = t && t->services ? t->nservices : 0;
    if (n > PROXY_MAX_ENTRIES) {
        skip(p, plan, "%u services; only the first %u are proxied", n, PROXY_MAX_ENTRIES);
        n = PROXY_MAX_ENTRIES;
    }
    size_t ndoors, nslots;
    count(t, n, &ndoors, &nslots);
    keyset vips = {0}, nodeports = {0};
    plan->entries = calloc(ndoors ? ndoors : 1, sizeof *plan->entries);
    plan->backends = calloc(nslots ? nslots : 1, sizeof *plan->backends);
    if (!plan->entries || !plan->backends || !keyset_init(&vips, ndoors) ||
        !keyset_init(&nodeports, n)) {
        free(vips.slots);
        free(nodeports.slots);
        proxy_plan_free(plan);
        return BERTH_ENOMEM;
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
        const berth_proxy_service *s = service_at(t, i);
        if (plan->nentries + 2 + (s->external_ips ? (size_t)s->nexternal_ips : 0) >
            PROXY_MAX_ENTRIES) {
            skip(p, plan, "more than %u addresses and node ports; the rest are not proxied",
                 PROXY_MAX_ENTRIES);
            break;
        }
        uint32_t vip;
        if (!proxy_parse_ipv4(s->cluster_ip, &vip)) {
            skip(p, plan, SVC_FMT ": cluster IP \"%.64s\" is not an IPv4 address; skipped",
                 SVC_ARGS(s), str(s->cluster_ip));
            continue;
        }
        if (!proxy_proto_name(s->protocol) || s->port == 0) {
            skip(p, plan, SVC_FMT ": protocol %u port %u not proxied; skipped", SVC_ARGS(s),
                 s->protocol, s->port);
            continue;
        }
        if (!keyset_add(&vips, vip_key(vip, s))) {
            skip(p, plan, SVC_FMT ": %s:%u/%s is already taken; skipped", SVC_ARGS(s),
                 s->cluster_ip, s->port, proxy_proto_name(s->protocol));
            continue;
        }
        add_door(p, t, s, plan, &used, s->cluster_ip, s->port, s->internal_local, 0);
        /* From outside, traffic is masqueraded so that a backend on another
         * node answers through this one, unless the policy keeps it local
         * (and so keeps the client's address). */
        int masq = !s->external_local;
        for (uint32_t x = 0; s->external_ips && x < s->nexternal_ips; x++) {
            const char *ip = s->external_ips[x];
            if (!proxy_parse_ipv4(ip, &vip) || !keyset_add(&vips, vip_key(vip, s))) {
                skip(p, plan, SVC_FMT ": external IP \"%.64s\" is invalid or taken; left out",
                     SVC_ARGS(s), str(ip));
                continue;
            }
            add_door(p, t, s, plan, &used, ip, s->port, s->external_local, masq);
        }
        if (s->node_port) {
            if (keyset_add(&nodeports, (uint64_t)s->protocol << 16 | s->node_port))
                add_door(p, t, s, plan, &used, NULL, s->node_port, s->external_local, masq);
            else
                skip(p, plan, SVC_FMT ": node port %u/%s is already taken; left out",
                     SVC_ARGS(s), s->node_port, proxy_proto_name(s->protocol));
        }
    }
    free(vips.slots);
    free(nodeports.slots);
    if (plan->skipped > WARN_LIMIT)
        proxy_log(p, BERTH_PLOG_WARN, "%u invalid or duplicate entries in all", plan->skipped);
    return 0;
}

void proxy_plan_free(proxy_plan *plan)
{
    free(plan->entries);
    free(plan->backends);
    memset(plan, 0, sizeof *plan);
}
