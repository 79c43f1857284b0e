/* The service proxy for nodes without nft: one iptables-restore --noflush
 * input, as kube-proxy's iptables mode writes it. Its chains (PREFIX-*):
 *
 *   nat    PREFIX-SERVICES   from PREROUTING and OUTPUT: one rule a cluster
 *                            or external IP (VIP, protocol, port) ->
 *                            PREFIX-S<index>; external ones marked for
 *                            masquerade first
 *          PREFIX-NODEPORTS  local destinations: mark for masquerade, then
 *                            the node port's chain
 *          PREFIX-S<index>   mark, then DNAT to one backend chosen by
 *                            `statistic` (1/n, 1/(n-1), ... 1)
 *          PREFIX-POST       from POSTROUTING: masquerade what the marks ask
 *   filter PREFIX-FILTER     from INPUT, FORWARD, OUTPUT: new connections to
 *                            a Service without backends are rejected
 *
 * Declaring a chain in the input flushes it, so the input rewrites all of
 * them at once; per-Service chains left from a larger table are declared
 * and deleted in the same input. The jumps from the built-in chains cannot
 * be made idempotent inside iptables-restore, so a small sh script checks
 * each one (-C) and inserts it if missing, after the restore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proxy-render.h"

static void rule_start(proxy_buf *b, const berth_nproxy *p, const char *chain)
{
    buf_puts(b, "-A ");
    buf_puts(b, p->prefix);
    buf_puts(b, chain);
}

static void svc_chain_name(proxy_buf *b, const berth_nproxy *p, uint32_t idx)
{
    char hex[12];
    size_t i = sizeof hex;
    do {
        hex[--i] = "0123456789abcdef"[idx & 15];
        idx >>= 4;
    } while (idx);
    buf_puts(b, p->prefix);
    buf_puts(b, "-S");
    buf_put(b, hex + i, sizeof hex - i);
}

/* 1/n with ten decimals, as kube-proxy writes it ("0.3333333333"). */
static void put_probability(proxy_buf *b, uint32_t n)
{
    uint64_t v = (10000000000ull + n / 2) / n; /* rounded; n >= 2 */
    char digits[11];
    for (int i = 9; i >= 0; i--, v /= 10)
        digits[i] = (char)('0' + v % 10);
    buf_puts(b, "0.");
    buf_put(b, digits, 10);
}

/* " -p tcp -m tcp --dport N" */
static void match_port(proxy_buf *b, uint8_t proto, uint16_t port)
{
    const char *name = proxy_proto_name(proto);
    buf_printf(b, " -p %s -m %s --dport %u", name, name, port);
}

#define LOCAL_NOT_LOOPBACK " ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL"

/* The door: " -d VIP/32 -p ..." or, for a node port, the local
 * destinations and the port. */
static void match_door(proxy_buf *b, const proxy_entry *e)
{
    if (e->vip) {
        buf_puts(b, " -d ");
        buf_puts(b, e->vip);
        buf_puts(b, "/32");
    } else {
        buf_puts(b, LOCAL_NOT_LOOPBACK);
    }
    match_port(b, e->svc->protocol, e->port);
}

/* The xt_recent list remembering the clients of one backend of one
 * Service, named by content so it survives re-renders (and keeps its
 * clients) while the Service keeps that backend. */
static void recent_name(proxy_buf *b, const berth_nproxy *p, const proxy_entry *e,
                        const berth_proxy_backend *bk)
{
    const berth_proxy_service *s = e->svc;
    const char *parts[] = {s->svc_namespace, s->svc_name, s->port_name, bk->ip};
    uint64_t h = PROXY_HASH_INIT;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        h = proxy_hash(h, parts[i] ? parts[i] : "", parts[i] ? strlen(parts[i]) + 1 : 1);
    h = proxy_hash(h, &bk->port, sizeof bk->port);
    h = proxy_hash(h, &s->protocol, sizeof s->protocol);
    buf_printf(b, "%s-%016llx", p->prefix, (unsigned long long)h);
}

static void dnat_to(proxy_buf *b, const berth_proxy_backend *bk)
{
    buf_puts(b, " -j DNAT --to-destination ");
    buf_puts(b, bk->ip);
    buf_puts(b, ":");
    buf_putu(b, bk->port);
    buf_puts(b, "\n");
}

/* ClientIP affinity as kube-proxy does it: a client seen within the
 * timeout goes back to its backend (--update refreshes the time); a new
 * one is spread and remembered (--set). Note xt_recent keeps at most
 * ip_list_tot (module parameter, 100 by default) clients per list. */
static void service_rules(proxy_buf *b, const berth_nproxy *p, const proxy_entry *e,
                          uint32_t idx)
{
    const berth_proxy_service *s = e->svc;
    const char *proto = proxy_proto_name(s->protocol);
    buf_puts(b, "-A ");
    svc_chain_name(b, p, idx);
    buf_puts(b, " -m comment --comment ");
    buf_put_label(b, s->svc_namespace, 40);
    buf_puts(b, "/");
    buf_put_label(b, s->svc_name, 63);
    buf_puts(b, " -j MARK --or-mark 0x8000\n");
    uint32_t n = e->nbackends;
    if (s->affinity_timeout_s)
        for (uint32_t j = 0; j < n; j++) {
            buf_puts(b, "-A ");
            svc_chain_name(b, p, idx);
            buf_printf(b, " -p %s -m recent --name ", proto);
            recent_name(b, p, e, e->backends[j]);
            buf_printf(b, " --update --seconds %u --reap", s->affinity_timeout_s);
            dnat_to(b, e->backends[j]);
        }
    for (uint32_t j = 0; j < n; j++) {
        buf_puts(b, "-A ");
        svc_chain_name(b, p, idx);
        buf_puts(b, " -p ");
        buf_puts(b, proto);
        if (j + 1 < n) {
            buf_puts(b, " -m statistic --mode random --probability ");
            put_probability(b, n - j);
        }
        if (s->affinity_timeout_s) {
            buf_puts(b, " -m recent --name ");
            recent_name(b, p, e, e->backends[j]);
            buf_puts(b, " --set");
        }
        dnat_to(b, e->backends[j]);
    }
}

/* The entry whose chain entry i jumps to: the first door of the same
 * Service port with the same backends (a node port under the Cluster
 * policy shares its cluster IP's chain), so the common case renders one
 * chain per Service port. */
static uint32_t chain_of(const proxy_plan *plan, uint32_t i)
{
    const proxy_entry *e = &plan->entries[i];
    for (uint32_t j = i; j-- > 0 && plan->entries[j].svc == e->svc;) {
        const proxy_entry *o = &plan->entries[j];
        if (o->nbackends == e->nbackends &&
            !memcmp(o->backends, e->backends, e->nbackends * sizeof *e->backends) &&
            chain_of(plan, j) == j)
            return j;
    }
    return i;
}

/* "-A PREFIX-SERVICES -d VIP/32 -p ..." or "-A PREFIX-NODEPORTS -p ...":
 * PREFIX-NODEPORTS sees local destinations only, so the port will do. */
static void door_rule_start(proxy_buf *b, const berth_nproxy *p, const proxy_entry *e)
{
    if (e->vip) {
        rule_start(b, p, "-SERVICES");
        match_door(b, e);
    } else {
        rule_start(b, p, "-NODEPORTS");
        match_port(b, e->svc->protocol, e->port);
    }
}

/* The rules that send a door's traffic to its chain, marked first for
 * masquerade when it comes from outside. vips: the doors of
 * PREFIX-SERVICES, else those of PREFIX-NODEPORTS. */
static void door_rules(proxy_buf *b, const berth_nproxy *p, const proxy_plan *plan, uint32_t idx,
                       int vips)
{
    const proxy_entry *e = &plan->entries[idx];
    if (!e->nbackends || (e->vip != NULL) != vips)
        return;
    if (e->masquerade) {
        door_rule_start(b, p, e);
        buf_puts(b, " -j MARK --or-mark 0x4000\n");
    }
    door_rule_start(b, p, e);
    buf_puts(b, " -j ");
    svc_chain_name(b, p, chain_of(plan, idx));
    buf_puts(b, "\n");
}

static void nat_table(const berth_nproxy *p, const proxy_plan *plan, uint64_t gen,
                      proxy_buf *b)
{
    uint32_t nchains = plan->nentries > p->ipt_hwm ? plan->nentries : p->ipt_hwm;
    buf_printf(b, "*nat\n:%s-SERVICES - [0:0]\n:%s-NODEPORTS - [0:0]\n:%s-POST - [0:0]\n",
               p->prefix, p->prefix, p->prefix);
    for (uint32_t i = 0; i < nchains; i++) {
        buf_puts(b, ":");
        svc_chain_name(b, p, i);
        buf_puts(b, " - [0:0]\n");
    }
    /* A rule with no target: it only carries the generation for the
     * repair check (`iptables -t nat -S PREFIX-SERVICES 1`). */
    rule_start(b, p, "-SERVICES");
    buf_printf(b, " -m comment --comment berth-gen-%llu\n", (unsigned long long)gen);
    /* Node ports are matched in their own chain, after every VIP. */
    for (uint32_t i = 0; i < plan->nentries; i++)
        door_rules(b, p, plan, i, 1);
    rule_start(b, p, "-SERVICES");
    buf_printf(b, LOCAL_NOT_LOOPBACK " -j %s-NODEPORTS\n", p->prefix);
    for (uint32_t i = 0; i < plan->nentries; i++)
        door_rules(b, p, plan, i, 0);
    for (uint32_t i = 0; i < plan->nentries; i++)
        if (plan->entries[i].nbackends && chain_of(plan, i) == i)
            service_rules(b, p, &plan->entries[i], i);
    if (p->cidr[0]) {
        rule_start(b, p, "-POST");
        buf_printf(b, " -s %s -m mark --mark 0x8000/0x8000 -j MARK --or-mark 0x4000\n", p->cidr);
    }
    rule_start(b, p, "-POST");
    buf_puts(b, " -m mark ! --mark 0x4000/0x4000 -j RETURN\n");
    rule_start(b, p, "-POST");
    buf_puts(b, " -j MARK --and-mark 0xffff3fff\n");
    rule_start(b, p, "-POST");
    buf_puts(b, " -j MASQUERADE\n");
    /* Chains no Service with backends uses any more (the ones just
     * declared, so deleting them cannot fail). */
    for (uint32_t i = 0; i < nchains; i++)
        if (i >= plan->nentries || !plan->entries[i].nbackends || chain_of(plan, i) != i) {
            buf_puts(b, "-X ");
            svc_chain_name(b, p, i);
            buf_puts(b, "\n");
        }
    buf_puts(b, "COMMIT\n");
}

static void reject_rule(proxy_buf *b, uint8_t proto)
{
    buf_puts(b, proto == BERTH_PROTO_TCP ? " -j REJECT --reject-with tcp-reset\n"
                                         : " -j REJECT --reject-with icmp-port-unreachable\n");
}

static void filter_table(const berth_nproxy *p, const proxy_plan *plan, proxy_buf *b)
{
    buf_printf(b, "*filter\n:%s-FILTER - [0:0]\n", p->prefix);
    rule_start(b, p, "-FILTER");
    buf_puts(b, " -m conntrack ! --ctstate NEW -j RETURN\n");
    for (uint32_t i = 0; i < plan->nentries; i++) {
        const proxy_entry *e = &plan->entries[i];
        if (e->nbackends)
            continue;
        rule_start(b, p, "-FILTER");
        match_door(b, e);
        reject_rule(b, e->svc->protocol);
    }
    buf_puts(b, "COMMIT\n");
}

void proxy_render_iptables(const berth_nproxy *p, const proxy_plan *plan, uint64_t gen,
                           proxy_buf *b)
{
    nat_table(p, plan, gen, b);
    filter_table(p, plan, b);
}

/* ---- The scripts around iptables-restore ---- */

#define SCRIPT_PATH "PATH=\"$PATH:/usr/sbin:/sbin\"\n"

/* table, built-in chain, our chain (suffix) */
static const char *const jumps[][3] = {
    {"nat", "PREROUTING", "-SERVICES"}, {"nat", "OUTPUT", "-SERVICES"},
    {"nat", "POSTROUTING", "-POST"},    {"filter", "INPUT", "-FILTER"},
    {"filter", "FORWARD", "-FILTER"},   {"filter", "OUTPUT", "-FILTER"},
};
#define NJUMPS (sizeof jumps / sizeof jumps[0])

int proxy_iptables_scripts(berth_nproxy *p)
{
    proxy_buf apply = {0}, del = {0};
    /* apply: sh -c SCRIPT sh RULES_FILE */
    buf_puts(&apply, SCRIPT_PATH "iptables-restore -w --noflush \"$1\" || exit 1\n"
                     "ensure() { iptables -w -t $1 -C $2 -j $3 2>/dev/null ||"
                     " iptables -w -t $1 -I $2 1 -j $3; }\n");
    buf_puts(&del, SCRIPT_PATH);
    for (size_t i = 0; i < NJUMPS; i++) {
        buf_printf(&apply, "ensure %s %s %s%s || exit 1\n", jumps[i][0], jumps[i][1],
                   p->prefix, jumps[i][2]);
        buf_printf(&del, "while iptables -w -t %s -D %s -j %s%s 2>/dev/null; do :; done\n",
                   jumps[i][0], jumps[i][1], p->prefix, jumps[i][2]);
    }
    /* delete: every chain of ours still there, found by name. */
    buf_printf(&del,
               "for t in nat filter; do\n"
               "  chains=$(iptables-save -t $t | sed -En "
               "'s/^:(%s-(SERVICES|NODEPORTS|POST|FILTER|S[0-9a-f]+)) .*/\\1/p')\n"
               "  [ -n \"$chains\" ] || continue\n"
               "  { echo \"*$t\"; for c in $chains; do echo \":$c - [0:0]\"; done\n"
               "    for c in $chains; do echo \"-X $c\"; done; echo COMMIT; }"
               " | iptables-restore -w --noflush\n"
               "done\n",
               p->prefix);
    if (apply.oom || del.oom ||
        asprintf(&p->ipt_check,
                 SCRIPT_PATH "iptables -w -t nat -C PREROUTING -j %s-SERVICES &&"
                             " iptables -w -t nat -S %s-SERVICES 1\n",
                 p->prefix, p->prefix) < 0) {
        p->ipt_check = NULL;
        free(apply.p);
        free(del.p);
        return BERTH_ENOMEM;
    }
    p->ipt_apply = apply.p;
    p->ipt_delete = del.p;
    return 0;
}
