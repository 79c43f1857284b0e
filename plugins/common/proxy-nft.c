/* The service proxy as one nft transaction:
 *
 *   nat-prerouting, nat-output (nat hooks, priority dstnat)
 *     -> services:  mark for masquerade if in @masq-services
 *                   ip daddr . meta l4proto . th dport vmap @service-ips
 *                     (cluster IPs and external IPs alike)
 *                   local destinations -> nodeports:
 *                       mark for masquerade if in @masq-nodeports
 *                       meta l4proto . th dport vmap @service-nodeports
 *     -> lb-N:        dnat to (vip . proto . port . numgen random mod N) in @backends
 *        sticky-B:    dnat to (vip . proto . port . jhash ip saddr mod B) in @backends
 *        np-lb-N, np-sticky-B: the same keyed by (proto . node port) in @nodeport-backends
 *   nat-postrouting: masquerade what the marks ask for
 *   filter-input/forward/output (priority filter - 10): new connections to
 *     a Service without backends -> reject-chain (TCP reset, ICMP unreachable)
 *
 * Every Service lives in map and set elements only: one chain serves all
 * the Services with the same number of backends, so the table holds a
 * handful of chains, six maps and two sets whatever its size. A packet costs two hash
 * lookups; applying 1,000 Services x 10 endpoints takes about 40% less
 * than with a chain and an anonymous map per Service (docs/proxy.md). The
 * file replaces the whole table in one batch: the empty `table` line makes
 * the `delete` valid when the table does not exist yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proxy-render.h"

/* Buckets for ClientIP affinity: a power of two, at least 8 a backend, so
 * that the count (and so every client's bucket) stays the same while the
 * number of backends moves within a band; up to 32 backends it is always
 * 256. See sticky_backend. */
#define AFFINITY_MIN_BUCKETS 256u
#define AFFINITY_MAX_BUCKETS 8192u
#define AFFINITY_SEED "0x62657274"

/* The kinds of load-balancing chain; each exists once per modulus used. */
enum { LB, STICKY, NP_LB, NP_STICKY };
static const char *const chain_prefix[] = {"lb-", "sticky-", "np-lb-", "np-sticky-"};

static uint32_t buckets(const proxy_entry *e)
{
    uint32_t n = AFFINITY_MIN_BUCKETS;
    while (n < AFFINITY_MAX_BUCKETS && n < e->nbackends * 8)
        n *= 2;
    return n < e->nbackends ? e->nbackends : n; /* every backend has a chance */
}

static int sticky(const proxy_entry *e)
{
    return e->svc->affinity_timeout_s && e->nbackends > 1;
}

/* How many map slots (and the chain's modulus) an entry takes. */
static uint32_t slots(const proxy_entry *e)
{
    return sticky(e) ? buckets(e) : e->nbackends;
}

static int chain_kind(const proxy_entry *e)
{
    return (e->vip ? LB : NP_LB) + sticky(e);
}

static void put_chain_name(proxy_buf *b, const proxy_entry *e)
{
    buf_puts(b, chain_prefix[chain_kind(e)]);
    buf_putu(b, slots(e));
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t backend_hash(const berth_proxy_backend *bk)
{
    uint64_t h = proxy_hash(PROXY_HASH_INIT, bk->ip, strlen(bk->ip));
    return proxy_hash(h, &bk->port, sizeof bk->port);
}

/* ClientIP affinity without state: `jhash ip saddr mod B` picks one of B
 * buckets, and each bucket belongs to the backend that scores highest for
 * it (rendezvous hashing). A client therefore keeps its backend for as
 * long as that backend is ready, across every re-render of the table (a
 * set of remembered clients would be emptied by each atomic replace), and
 * when a backend comes or goes only the clients of the buckets it wins or
 * loses move (all move when the bucket count changes band, see buckets).
 * The cost: stickiness does not expire after affinity_timeout_s; it lasts
 * while the backend set allows it. */
static uint32_t sticky_backend(const uint64_t *hashes, uint32_t n, uint32_t bucket)
{
    uint32_t best = 0;
    uint64_t best_score = 0;
    for (uint32_t j = 0; j < n; j++) {
        uint64_t score = mix64(hashes[j] ^ (bucket * 0x9e3779b97f4a7c15ull));
        if (j == 0 || score > best_score) {
            best = j;
            best_score = score;
        }
    }
    return best;
}

/* "VIP . proto . port" or "proto . nodeport": an entry's key. */
static void put_key(proxy_buf *b, const proxy_entry *e)
{
    if (e->vip) {
        buf_puts(b, e->vip);
        buf_puts(b, " . ");
    }
    buf_puts(b, proxy_proto_name(e->svc->protocol));
    buf_puts(b, " . ");
    buf_putu(b, e->port);
}

static void put_label(proxy_buf *b, const berth_proxy_service *s)
{
    buf_puts(b, " comment \"");
    buf_put_label(b, s->svc_namespace, 40);
    buf_puts(b, "/");
    buf_put_label(b, s->svc_name, 63);
    if (s->port_name && *s->port_name) {
        buf_puts(b, ":");
        buf_put_label(b, s->port_name, 15);
    }
    buf_puts(b, "\"");
}

/* ---- Map elements, one line each ----
 *
 * Every element of the four verdict maps, the two backend maps and the two
 * masquerade sets is one line "MAP\tKEY\tREST", REST being what follows the
 * key (its comment, the colon, the value). Sorted, the lines group by map
 * for the whole table, and two tables' lines merge into the elements to
 * delete and to add when only some Services changed
 * (proxy_render_nft_delta). */

static void line_start(proxy_buf *b, const char *map, const proxy_entry *e)
{
    buf_puts(b, map);
    buf_puts(b, "\t");
    put_key(b, e);
}

/* Whether e belongs in a map of virtual IPs (or one of node ports). */
static int wanted(const proxy_entry *e, int nodeport)
{
    return (e->vip == NULL) == nodeport;
}

/* Doors with backends go to their load-balancing chain, the others to
 * reject-chain, in separate maps. */
static void verdict_lines(proxy_buf *b, const proxy_plan *plan, const char *map, int nodeport,
                          int with_backends)
{
    for (uint32_t i = 0; i < plan->nentries; i++) {
        const proxy_entry *e = &plan->entries[i];
        if ((e->nbackends > 0) != with_backends || !wanted(e, nodeport))
            continue;
        line_start(b, map, e);
        buf_puts(b, "\t");
        put_label(b, e->svc);
        buf_puts(b, " : goto ");
        if (with_backends)
            put_chain_name(b, e);
        else
            buf_puts(b, "reject-chain");
        buf_puts(b, "\n");
    }
}

/* The doors whose traffic is marked for masquerade. */
static void masquerade_lines(proxy_buf *b, const proxy_plan *plan, int nodeport)
{
    for (uint32_t i = 0; i < plan->nentries; i++) {
        const proxy_entry *e = &plan->entries[i];
        if (!e->masquerade || !wanted(e, nodeport))
            continue;
        line_start(b, nodeport ? "masq-nodeports" : "masq-services", e);
        buf_puts(b, "\t");
        put_label(b, e->svc);
        buf_puts(b, "\n");
    }
}

/* The slots of every door: key . index -> backend address . port. */
static void backend_lines(proxy_buf *b, const proxy_plan *plan, int nodeport)
{
    const char *map = nodeport ? "nodeport-backends" : "backends";
    for (uint32_t i = 0; i < plan->nentries; i++) {
        const proxy_entry *e = &plan->entries[i];
        if (!e->nbackends || !wanted(e, nodeport))
            continue;
        uint64_t *hashes = NULL;
        if (sticky(e)) {
            hashes = malloc(e->nbackends * sizeof *hashes);
            if (!hashes) {
                b->oom = 1;
                return;
            }
            for (uint32_t j = 0; j < e->nbackends; j++)
                hashes[j] = backend_hash(e->backends[j]);
        }
        for (uint32_t k = 0, n = slots(e); k < n; k++) {
            const berth_proxy_backend *bk =
                e->backends[hashes ? sticky_backend(hashes, e->nbackends, k) : k];
            line_start(b, map, e);
            buf_puts(b, " . ");
            buf_putu(b, k);
            buf_puts(b, "\t : ");
            buf_puts(b, bk->ip);
            buf_puts(b, " . ");
            buf_putu(b, bk->port);
            buf_puts(b, "\n");
        }
        free(hashes);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The (kind, modulus) of every load-balancing chain the plan uses, sorted
 * and unique. */
static int chain_set(const proxy_plan *plan, proxy_nft_set *s)
{
    s->chains = malloc(((size_t)plan->nentries + 1) * sizeof *s->chains);
    if (!s->chains)
        return BERTH_ENOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < plan->nentries; i++) {
        const proxy_entry *e = &plan->entries[i];
        if (e->nbackends)
            s->chains[n++] = (uint64_t)chain_kind(e) << 32 | slots(e);
    }
    qsort(s->chains, n, sizeof *s->chains, cmp_u64);
    s->nchains = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || s->chains[i] != s->chains[i - 1])
            s->chains[s->nchains++] = s->chains[i];
    return 0;
}

int proxy_nft_set_build(const berth_nproxy *p, const proxy_plan *plan, proxy_nft_set *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->cidr, sizeof s->cidr, "%s", p->cidr);
    proxy_buf b = {0};
    verdict_lines(&b, plan, "service-ips", 0, 1);
    verdict_lines(&b, plan, "service-nodeports", 1, 1);
    verdict_lines(&b, plan, "no-endpoint-services", 0, 0);
    verdict_lines(&b, plan, "no-endpoint-nodeports", 1, 0);
    masquerade_lines(&b, plan, 0);
    masquerade_lines(&b, plan, 1);
    backend_lines(&b, plan, 0);
    backend_lines(&b, plan, 1);
    buf_put(&b, "", 1); /* the terminator, even for no lines */
    if (b.oom || chain_set(plan, s) < 0) {
        free(b.p);
        proxy_nft_set_free(s);
        return BERTH_ENOMEM;
    }
    s->buf = b.p;
    for (char *c = b.p; *c; c++)
        s->n += *c == '\n';
    s->lines = malloc((s->n + 1) * sizeof *s->lines);
    if (!s->lines) {
        proxy_nft_set_free(s);
        return BERTH_ENOMEM;
    }
    size_t k = 0;
    for (char *c = b.p, *nl; (nl = strchr(c, '\n')); c = nl + 1) {
        *nl = 0;
        s->lines[k++] = c;
    }
    qsort(s->lines, s->n, sizeof *s->lines, cmp_line);
    return 0;
}

void proxy_nft_set_free(proxy_nft_set *s)
{
    free(s->buf);
    free(s->lines);
    free(s->chains);
    memset(s, 0, sizeof *s);
}

/* The parts of a line: its map (up to the first tab), its key (to the
 * second) and the rest. */
static size_t map_len(const char *line)
{
    return strcspn(line, "\t");
}

static const char *key_of(const char *line, size_t *len)
{
    const char *k = line + map_len(line) + 1;
    *len = strcspn(k, "\t");
    return k;
}

static void put_element(proxy_buf *b, const char *line)
{
    size_t kl;
    const char *k = key_of(line, &kl);
    buf_put(b, k, kl);
    buf_puts(b, k + kl + 1);
}

/* Every map and set: what it is, its name and its type; in the order of
 * their names, as the sorted lines are. */
static const char *const map_decl[][3] = {
    {"map", "backends", "typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : "
                        "ip daddr . th dport"},
    {"set", "masq-nodeports", "type inet_proto . inet_service"},
    {"set", "masq-services", "type ipv4_addr . inet_proto . inet_service"},
    {"map", "no-endpoint-nodeports", "type inet_proto . inet_service : verdict"},
    {"map", "no-endpoint-services", "type ipv4_addr . inet_proto . inet_service : verdict"},
    {"map", "nodeport-backends", "typeof meta l4proto . th dport . numgen random mod 1 : "
                                 "ip daddr . th dport"},
    {"map", "service-ips", "type ipv4_addr . inet_proto . inet_service : verdict"},
    {"map", "service-nodeports", "type inet_proto . inet_service : verdict"},
};

/* Every map with its elements (the sorted lines group by map). */
static void maps(proxy_buf *b, const proxy_nft_set *s)
{
    size_t i = 0;
    for (size_t m = 0; m < sizeof map_decl / sizeof map_decl[0]; m++) {
        const char *name = map_decl[m][1];
        size_t nl = strlen(name);
        buf_printf(b, "\t%s %s {\n\t\t%s\n", map_decl[m][0], name, map_decl[m][2]);
        int first = 1;
        for (; i < s->n && map_len(s->lines[i]) == nl && !strncmp(s->lines[i], name, nl); i++) {
            buf_puts(b, first ? "\t\telements = { " : ",\n\t\t\t");
            first = 0;
            put_element(b, s->lines[i]);
        }
        buf_puts(b, first ? "\t}\n" : " }\n\t}\n");
    }
}

static void lb_chain(proxy_buf *b, uint64_t chain)
{
    int kind = (int)(chain >> 32);
    uint32_t mod = (uint32_t)chain;
    int np = kind >= NP_LB;
    buf_printf(b, "\tchain %s%u {\n\t\tmeta mark set meta mark | 0x8000 dnat ip to %s . %s "
                  "mod %u%s map @%s\n\t}\n",
               chain_prefix[kind], mod, np ? "meta l4proto . th dport"
                                           : "ip daddr . meta l4proto . th dport",
               kind == LB || kind == NP_LB ? "numgen random" : "jhash ip saddr", mod,
               kind == LB || kind == NP_LB ? "" : " seed " AFFINITY_SEED,
               np ? "nodeport-backends" : "backends");
}

static void base_chain(proxy_buf *b, const char *name, const char *type, const char *hook,
                       const char *prio, const char *body)
{
    buf_printf(b, "\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n%s\t}\n",
               name, type, hook, prio, body);
}

/* NodePorts answer on every local address but loopback: reaching
 * 127.0.0.1:NODEPORT would need route_localnet=1, which exposes the
 * node's loopback-only services to its neighbours (CVE-2020-8558). */
#define LOCAL_NOT_LOOPBACK "fib daddr type local ip daddr != 127.0.0.0/8"
#define UNMARK_MASQUERADE "meta mark set meta mark & 0xffff3fff masquerade\n"

static void fixed_chains(const berth_nproxy *p, proxy_buf *b, uint64_t gen)
{
    /* The generation is the dispatch chain's comment: the repair check
     * reads it with `nft list chains ip`, which costs a few milliseconds,
     * where listing any rule of this table makes nft fetch every map
     * element (over 100 ms for 10,000 backends). */
    buf_puts(b, "\tchain services {\n\t\tcomment \"berth-gen-");
    buf_putu(b, gen);
    /* Traffic from outside to an external IP or a node port is
     * masqueraded, so that a backend on another node answers through this
     * one; doors kept local (externalTrafficPolicy Local) are not in the
     * masquerade sets and keep the client's address. */
    buf_puts(b, "\"\n\t\tip daddr . meta l4proto . th dport @masq-services "
                "meta mark set meta mark | 0x4000\n"
                "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
                "\t\t" LOCAL_NOT_LOOPBACK " jump nodeports\n\t}\n");
    buf_puts(b, "\tchain nodeports {\n"
                "\t\tmeta l4proto . th dport @masq-nodeports meta mark set meta mark | 0x4000\n"
                "\t\tmeta l4proto . th dport vmap @service-nodeports\n\t}\n");
    base_chain(b, "nat-prerouting", "nat", "prerouting", "dstnat", "\t\tjump services\n");
    base_chain(b, "nat-output", "nat", "output", "-100", "\t\tjump services\n");
    /* Masquerade, and clear both marks so a packet encapsulated afterwards
     * is not masqueraded twice. Pod traffic to a Service is masqueraded so
     * that a backend on the same bridge answers through the node, where
     * the DNAT is undone. */
    char pods[128] = "";
    if (p->cidr[0])
        snprintf(pods, sizeof pods, "\t\tmeta mark & 0x8000 == 0x8000 ip saddr %s ", p->cidr);
    buf_printf(b, "\tchain nat-postrouting {\n\t\ttype nat hook postrouting priority srcnat; "
                  "policy accept;\n\t\tmeta mark & 0x4000 == 0x4000 " UNMARK_MASQUERADE
                  "%s%s\t}\n",
               pods, pods[0] ? UNMARK_MASQUERADE : "");
    buf_puts(b, "\tchain reject-chain {\n\t\tmeta l4proto tcp reject with tcp reset\n"
                "\t\treject\n\t}\n"
                "\tchain service-endpoints-check {\n"
                "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n\t}\n"
                "\tchain nodeport-endpoints-check {\n"
                "\t\t" LOCAL_NOT_LOOPBACK " meta l4proto . th dport vmap @no-endpoint-nodeports\n"
                "\t}\n");
    const char *both = "\t\tct state new jump service-endpoints-check\n"
                       "\t\tct state new jump nodeport-endpoints-check\n";
    base_chain(b, "filter-input", "filter", "input", "filter - 10", both);
    base_chain(b, "filter-forward", "filter", "forward", "filter - 10",
               "\t\tct state new jump service-endpoints-check\n");
    base_chain(b, "filter-output", "filter", "output", "filter - 10", both);
}

void proxy_render_nft(const berth_nproxy *p, const proxy_nft_set *s, uint64_t gen,
                      proxy_buf *b)
{
    buf_printf(b, "table ip %s {}\ndelete table ip %s\ntable ip %s {\n", p->name, p->name,
               p->name);
    maps(b, s);
    fixed_chains(p, b, gen);
    for (size_t i = 0; i < s->nchains; i++)
        lb_chain(b, s->chains[i]);
    buf_puts(b, "}\n");
}

/* Whether every chain of want is in have (both sorted). */
static int chains_cover(const proxy_nft_set *have, const proxy_nft_set *want)
{
    size_t i = 0;
    for (size_t j = 0; j < want->nchains; j++) {
        while (i < have->nchains && have->chains[i] < want->chains[j])
            i++;
        if (i == have->nchains || have->chains[i] != want->chains[j])
            return 0;
    }
    return 1;
}

static void element_statement(proxy_buf *b, const berth_nproxy *p, const char *verb,
                              const char *line, int whole)
{
    size_t kl;
    const char *k = key_of(line, &kl);
    buf_printf(b, "%s element ip %s %.*s { ", verb, p->name, (int)map_len(line), line);
    if (whole)
        put_element(b, line);
    else
        buf_put(b, k, kl);
    buf_puts(b, " }\n");
}

int proxy_render_nft_delta(const berth_nproxy *p, const proxy_nft_set *from,
                           const proxy_nft_set *to, proxy_buf *b)
{
    if (strcmp(from->cidr, to->cidr) != 0 || !chains_cover(from, to))
        return 1;
    /* Two passes over the merge of the sorted lines: deletions first, so a
     * key whose value changed is free again when it is added. */
    size_t changes = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t i = 0, j = 0;
        while (i < from->n || j < to->n) {
            int c = i == from->n ? 1 : j == to->n ? -1 : strcmp(from->lines[i], to->lines[j]);
            if (c == 0) {
                i++, j++;
                continue;
            }
            if (c < 0 && pass == 0)
                element_statement(b, p, "delete", from->lines[i], 0);
            else if (c > 0 && pass == 1)
                element_statement(b, p, "add", to->lines[j], 1);
            changes++;
            if (c < 0)
                i++;
            else
                j++;
        }
    }
    /* Past half the table, one replace parses less than the statements. */
    return changes / 2 > to->n / 2 + 16;
}
