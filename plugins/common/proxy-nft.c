/* The service proxy as one nft transaction, laid out as kube-proxy's
 * nftables mode lays out its table:
 *
 *   nat-prerouting, nat-output (nat hooks, priority dstnat)
 *     -> services: ip daddr . meta l4proto . th dport vmap @service-ips
 *                  local destinations -> nodeports: l4proto . dport vmap @service-nodeports
 *          -> svc-N: mark, then dnat to one backend (numgen or jhash map)
 *   nat-postrouting: masquerade what the marks ask for
 *   filter-input/forward/output (priority filter - 10): new connections to
 *     a Service without backends -> reject-chain (TCP reset, ICMP unreachable)
 *
 * Lookups are one hash per packet whatever the number of Services, and a
 * Service costs one chain with one rule; its backends are an anonymous map
 * inside that rule, so 1,000 Services x 10 endpoints is 1,000 rules, not
 * 11,000 chains. The file replaces the whole table in one batch: the empty
 * `table` line makes the `delete` valid when the table does not exist yet. */
#include <stdlib.h>
#include <string.h>

#include "common/proxy-render.h"

/* Buckets for ClientIP affinity: enough that one backend more or less
 * moves few clients (see affinity_map). */
#define AFFINITY_MIN_BUCKETS 64u
#define AFFINITY_MAX_BUCKETS 8192u
#define AFFINITY_SEED "0x62657274"

static void put_backend(proxy_buf *b, const berth_proxy_backend *bk)
{
    buf_puts(b, bk->ip);
    buf_puts(b, " . ");
    buf_putu(b, bk->port);
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
 * map of remembered clients would be emptied by each atomic replace), and
 * when a backend comes or goes only the clients of the buckets it wins or
 * loses move. The cost: stickiness does not expire after
 * affinity_timeout_s; it lasts while the backend set allows it. */
static void affinity_map(proxy_buf *b, const proxy_entry *e)
{
    uint64_t hashes[64];
    uint32_t n = e->nbackends;
    uint32_t nb = n * 8 > AFFINITY_MIN_BUCKETS ? n * 8 : AFFINITY_MIN_BUCKETS;
    if (nb > AFFINITY_MAX_BUCKETS)
        nb = AFFINITY_MAX_BUCKETS;
    for (uint32_t j = 0; j < n && j < 64; j++)
        hashes[j] = backend_hash(e->backends[j]);
    buf_puts(b, "jhash ip saddr mod ");
    buf_putu(b, nb);
    buf_puts(b, " seed " AFFINITY_SEED " map { ");
    for (uint32_t k = 0; k < nb; k++) {
        uint32_t best = 0;
        uint64_t best_score = 0;
        for (uint32_t j = 0; j < n; j++) {
            uint64_t h = j < 64 ? hashes[j] : backend_hash(e->backends[j]);
            uint64_t score = mix64(h ^ (k * 0x9e3779b97f4a7c15ull));
            if (j == 0 || score > best_score) {
                best = j;
                best_score = score;
            }
        }
        if (k)
            buf_puts(b, ", ");
        buf_putu(b, k);
        buf_puts(b, " : ");
        put_backend(b, e->backends[best]);
    }
    buf_puts(b, " }");
}

static void service_chain(proxy_buf *b, const proxy_entry *e, uint32_t idx)
{
    const berth_proxy_service *s = e->svc;
    buf_puts(b, "\tchain svc-");
    buf_putu(b, idx);
    buf_puts(b, " {\n\t\tmeta mark set meta mark | 0x8000 meta l4proto ");
    buf_puts(b, proxy_proto_name(s->protocol));
    buf_puts(b, " dnat to ");
    if (e->nbackends == 1) {
        buf_puts(b, e->backends[0]->ip);
        buf_puts(b, ":");
        buf_putu(b, e->backends[0]->port);
    } else if (s->affinity_timeout_s) {
        affinity_map(b, e);
    } else {
        buf_puts(b, "numgen random mod ");
        buf_putu(b, e->nbackends);
        buf_puts(b, " map { ");
        for (uint32_t j = 0; j < e->nbackends; j++) {
            if (j)
                buf_puts(b, ", ");
            buf_putu(b, j);
            buf_puts(b, " : ");
            put_backend(b, e->backends[j]);
        }
        buf_puts(b, " }");
    }
    buf_puts(b, " comment \"");
    buf_put_label(b, s->svc_namespace, 40);
    buf_puts(b, "/");
    buf_put_label(b, s->svc_name, 63);
    if (s->port_name && *s->port_name) {
        buf_puts(b, ":");
        buf_put_label(b, s->port_name, 15);
    }
    buf_puts(b, "\"\n\t}\n");
}

enum { BY_VIP, BY_NODEPORT };

/* One verdict map: with_backends picks the Services that have backends
 * (goto their chain) or the ones that have none (goto reject-chain). */
static void verdict_map(proxy_buf *b, const proxy_plan *plan, const char *name, int key,
                        int with_backends)
{
    buf_puts(b, "\tmap ");
    buf_puts(b, name);
    buf_puts(b, key == BY_VIP ? " {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
                              : " {\n\t\ttype inet_proto . inet_service : verdict\n");
    int first = 1;
    for (uint32_t i = 0; i < plan->nentries; i++) {
        const proxy_entry *e = &plan->entries[i];
        if ((e->nbackends > 0) != with_backends || (key == BY_NODEPORT && !e->node_port))
            continue;
        buf_puts(b, first ? "\t\telements = { " : ",\n\t\t\t");
        first = 0;
        if (key == BY_VIP) {
            buf_puts(b, e->svc->cluster_ip);
            buf_puts(b, " . ");
        }
        buf_puts(b, proxy_proto_name(e->svc->protocol));
        buf_puts(b, " . ");
        buf_putu(b, key == BY_VIP ? e->svc->port : e->node_port);
        if (with_backends) {
            buf_puts(b, " : goto svc-");
            buf_putu(b, i);
        } else {
            buf_puts(b, " : goto reject-chain");
        }
    }
    buf_puts(b, first ? "\t}\n" : " }\n\t}\n");
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

void proxy_render_nft(const berth_nproxy *p, const proxy_plan *plan, uint64_t gen,
                      proxy_buf *b)
{
    buf_printf(b, "table ip %s {}\ndelete table ip %s\ntable ip %s {\n", p->name, p->name,
               p->name);
    verdict_map(b, plan, "service-ips", BY_VIP, 1);
    verdict_map(b, plan, "service-nodeports", BY_NODEPORT, 1);
    verdict_map(b, plan, "no-endpoint-services", BY_VIP, 0);
    verdict_map(b, plan, "no-endpoint-nodeports", BY_NODEPORT, 0);

    /* The generation sits on the dispatch rule itself, so the repair check
     * (`nft list chain ip NAME services`) sees the one rule that matters. */
    buf_puts(b, "\tchain services {\n"
                "\t\tip daddr . meta l4proto . th dport vmap @service-ips comment \"berth-gen-");
    buf_putu(b, gen);
    buf_puts(b, "\"\n\t\t" LOCAL_NOT_LOOPBACK " jump nodeports\n\t}\n");
    /* NodePort traffic is always masqueraded (a backend on another node
     * must answer through this one); the mark is taken back when no
     * NodePort matched. */
    buf_puts(b, "\tchain nodeports {\n"
                "\t\tmeta mark set meta mark | 0x4000\n"
                "\t\tmeta l4proto . th dport vmap @service-nodeports\n"
                "\t\tmeta mark set meta mark & 0xffffbfff\n\t}\n");
    base_chain(b, "nat-prerouting", "nat", "prerouting", "dstnat", "\t\tjump services\n");
    base_chain(b, "nat-output", "nat", "output", "-100", "\t\tjump services\n");

    /* Masquerade, and clear both marks so a packet that is encapsulated
     * afterwards is not masqueraded twice. Pod traffic to a Service is
     * masqueraded so that a backend on the same bridge answers through the
     * node, where the DNAT is undone. */
    proxy_buf post = {0};
    buf_puts(&post, "\t\tmeta mark & 0x4000 == 0x4000 meta mark set meta mark & 0xffff3fff "
                    "masquerade\n");
    if (p->cidr[0])
        buf_printf(&post, "\t\tmeta mark & 0x8000 == 0x8000 ip saddr %s meta mark set meta "
                          "mark & 0xffff3fff masquerade\n", p->cidr);
    base_chain(b, "nat-postrouting", "nat", "postrouting", "srcnat", post.p ? post.p : "");
    free(post.p);
    b->oom |= post.oom;

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

    for (uint32_t i = 0; i < plan->nentries; i++)
        if (plan->entries[i].nbackends > 0)
            service_chain(b, &plan->entries[i], i);
    buf_puts(b, "}\n");
}
