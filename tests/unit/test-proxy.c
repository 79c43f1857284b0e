/* The service proxy's rendering, without applying anything to this
 * machine: the key pieces of the nft and iptables texts, the entries that
 * must be left out, and (in a throwaway network namespace) that the tools
 * accept what is rendered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/proxy.h"
#include "proxy-fixture.h"
#include "test.h"

static const berth_proxy_backend web_bk[] = {
    PROXY_BK("10.244.1.2", 8080), PROXY_BK("10.244.1.3", 8080), PROXY_BK("10.244.2.7", 8081)};
static const berth_proxy_backend sticky_bk[] = {PROXY_BK("10.244.1.4", 443), PROXY_BK("10.244.1.5", 443)};
static const berth_proxy_backend dns_bk[] = {PROXY_BK("10.244.1.9", 53)};

static const berth_proxy_service small_services[] = {
    PROXY_SVC("default", "web", "http", "10.96.0.50", 80, 30080, BERTH_PROTO_TCP, 0, web_bk, 3),
    PROXY_SVC("default", "empty", "", "10.96.0.51", 80, 30081, BERTH_PROTO_TCP, 0, NULL, 0),
    PROXY_SVC("default", "sticky", "", "10.96.0.52", 443, 0, BERTH_PROTO_TCP, 10800, sticky_bk, 2),
    PROXY_SVC("kube-system", "dns", "dns", "10.96.0.10", 53, 0, BERTH_PROTO_UDP, 0, dns_bk, 1),
};
static const berth_proxy_table small = BERTH_PROXY_TABLE(4, small_services, 42);

static berth_nproxy *render_only(berth_nproxy_backend backend, const char *cidr)
{
    berth_nproxy_opts o = {.cluster_cidr = cidr, .backend = backend};
    berth_nproxy *p = NULL;
    CHECK_INT(berth_nproxy_new(&o, &p), 0);
    return p;
}

#define CHECK_HAS(text, piece)                                                        \
    do {                                                                              \
        if (!strstr((text), (piece)))                                                 \
            berth_test_fail(__FILE__, __LINE__, "rendered text lacks \"%s\"", (piece)); \
    } while (0)
#define CHECK_LACKS(text, piece)                                                      \
    do {                                                                              \
        if (strstr((text), (piece)))                                                  \
            berth_test_fail(__FILE__, __LINE__, "rendered text has \"%s\"", (piece));   \
    } while (0)

static size_t count(const char *text, const char *piece)
{
    size_t n = 0;
    for (const char *s = strstr(text, piece); s; s = strstr(s + 1, piece))
        n++;
    return n;
}

BERTH_TEST(proxy_nft_renders_the_key_pieces) {
    berth_nproxy *p = render_only(BERTH_NPROXY_NFT, "10.244.0.0/16");
    size_t len = 0;
    char *text = berth_nproxy_render(p, &small, &len);
    CHECK(text != NULL);
    if (!text)
        return;
    CHECK_INT(strlen(text), len);
    CHECK(strncmp(text, "table ip berth-proxy {}\ndelete table ip berth-proxy\n"
                        "table ip berth-proxy {\n", 74) == 0);
    CHECK_HAS(text, "10.96.0.50 . tcp . 80 comment \"default/web:http\" : goto lb-3");
    CHECK_HAS(text, "10.96.0.50 . tcp . 80 . 0 : 10.244.1.2 . 8080,\n");
    CHECK_HAS(text, "10.96.0.50 . tcp . 80 . 2 : 10.244.2.7 . 8081,\n");
    CHECK_HAS(text, "chain lb-3 {\n\t\tmeta mark set meta mark | 0x8000 dnat ip to ip daddr . "
                    "meta l4proto . th dport . numgen random mod 3 map @backends\n");
    CHECK_HAS(text, "tcp . 30080 comment \"default/web:http\" : goto np-lb-3");
    CHECK_HAS(text, "tcp . 30080 . 1 : 10.244.1.3 . 8080");
    CHECK_HAS(text, "dnat ip to meta l4proto . th dport . numgen random mod 3 map "
                    "@nodeport-backends\n");
    /* The Service without backends is rejected, on its VIP and NodePort. */
    CHECK_HAS(text, "10.96.0.51 . tcp . 80 comment \"default/empty\" : goto reject-chain");
    CHECK_HAS(text, "tcp . 30081 comment \"default/empty\" : goto reject-chain");
    CHECK_HAS(text, "meta l4proto tcp reject with tcp reset");
    CHECK_LACKS(text, "10.96.0.51 . tcp . 80 . 0");
    /* Affinity: 256 buckets hashed on the client address, both backends used. */
    CHECK_HAS(text, "10.96.0.52 . tcp . 443 comment \"default/sticky\" : goto sticky-256");
    CHECK_HAS(text, "dnat ip to ip daddr . meta l4proto . th dport . jhash ip saddr mod 256 seed");
    CHECK_INT(count(text, "10.96.0.52 . tcp . 443 . "), 256);
    CHECK_INT(count(text, " : 10.244.1.4 . 443") + count(text, " : 10.244.1.5 . 443"), 256);
    CHECK(count(text, " : 10.244.1.4 . 443") > 0 && count(text, " : 10.244.1.5 . 443") > 0);
    CHECK_HAS(text, "10.96.0.10 . udp . 53 comment \"kube-system/dns:dns\" : goto lb-1");
    CHECK_HAS(text, "10.96.0.10 . udp . 53 . 0 : 10.244.1.9 . 53");
    CHECK_HAS(text, "chain services {\n\t\tcomment \"berth-gen-42\"\n");
    CHECK_HAS(text, "fib daddr type local ip daddr != 127.0.0.0/8 jump nodeports");
    CHECK_HAS(text, "ip saddr 10.244.0.0/16 meta mark set meta mark & 0xffff3fff masquerade");
    CHECK_HAS(text, "type nat hook output priority -100;");
    CHECK_INT(proxy_try_rules(text, 0), 0);
    free(text);
    berth_nproxy_free(p);
}

/* External IPs are more VIPs; traffic from outside is marked for
 * masquerade unless externalTrafficPolicy keeps it local, and each door
 * gets only the backends its policy allows. */
BERTH_TEST(proxy_renders_external_ips_and_traffic_policies) {
    berth_proxy_backend bks[] = {PROXY_BK("10.244.1.2", 80), PROXY_BK("10.244.2.3", 80)};
    bks[1].local = 1;
    static const char *const ips[] = {"192.0.2.10", "not-an-ip"};
    static const char *const local_ips[] = {"192.0.2.11"};
    berth_proxy_service svcs[] = {
        PROXY_SVC("a", "cluster", "", "10.96.0.80", 80, 30100, BERTH_PROTO_TCP, 0, bks, 2),
        PROXY_SVC("a", "local", "", "10.96.0.81", 80, 30101, BERTH_PROTO_TCP, 0, bks, 2),
    };
    svcs[0].external_ips = ips;
    svcs[0].nexternal_ips = 2;
    svcs[0].internal_local = 1;
    svcs[1].external_ips = local_ips;
    svcs[1].nexternal_ips = 1;
    svcs[1].external_local = 1;
    berth_proxy_table t = BERTH_PROXY_TABLE(2, svcs, 3);
    for (int ipt = 0; ipt <= 1; ipt++) {
        berth_nproxy *p = render_only(ipt ? BERTH_NPROXY_IPTABLES : BERTH_NPROXY_NFT,
                                      "10.244.0.0/16");
        char *text = berth_nproxy_render(p, &t, NULL);
        CHECK(text != NULL);
        if (!text)
            continue;
        CHECK_LACKS(text, "not-an-ip");
        if (!ipt) {
            /* Cluster policy: the external IP and node port are masqueraded. */
            CHECK_HAS(text, "set masq-services {\n\t\ttype ipv4_addr . inet_proto . "
                            "inet_service\n\t\telements = { 192.0.2.10 . tcp . 80 comment "
                            "\"a/cluster\" }");
            CHECK_HAS(text, "set masq-nodeports {\n\t\ttype inet_proto . inet_service\n"
                            "\t\telements = { tcp . 30100 comment \"a/cluster\" }");
            CHECK_HAS(text, "192.0.2.10 . tcp . 80 comment \"a/cluster\" : goto lb-2");
            /* internalTrafficPolicy Local: one backend behind the cluster IP. */
            CHECK_HAS(text, "10.96.0.80 . tcp . 80 comment \"a/cluster\" : goto lb-1");
            CHECK_HAS(text, "10.96.0.80 . tcp . 80 . 0 : 10.244.2.3 . 80");
            /* externalTrafficPolicy Local: local backend, no masquerade. */
            CHECK_HAS(text, "tcp . 30101 comment \"a/local\" : goto np-lb-1");
            CHECK_HAS(text, "tcp . 30101 . 0 : 10.244.2.3 . 80");
            CHECK_HAS(text, "192.0.2.11 . tcp . 80 comment \"a/local\" : goto lb-1");
            CHECK_HAS(text, "192.0.2.11 . tcp . 80 . 0 : 10.244.2.3 . 80");
            CHECK_HAS(text, "10.96.0.81 . tcp . 80 comment \"a/local\" : goto lb-2");
            CHECK_INT(count(text, "comment \"a/local\" }"), 0);
            CHECK_HAS(text, "ip daddr . meta l4proto . th dport @masq-services meta mark set");
            CHECK_HAS(text, "meta l4proto . th dport @masq-nodeports meta mark set");
        } else {
            CHECK_HAS(text, "-A BERTH-PROXY-SERVICES -d 192.0.2.10/32 -p tcp -m tcp --dport 80 "
                            "-j MARK --or-mark 0x4000\n");
            CHECK_HAS(text, "-A BERTH-PROXY-NODEPORTS -p tcp -m tcp --dport 30100 -j MARK");
            CHECK_LACKS(text, "--dport 30101 -j MARK");
            CHECK_LACKS(text, "-d 192.0.2.11/32 -p tcp -m tcp --dport 80 -j MARK");
            /* The two Cluster doors, and the pod range's rule in POST. */
            CHECK_INT(count(text, "-j MARK --or-mark 0x4000\n"), 3);
        }
        if (!ipt || proxy_have_tool("iptables-restore"))
            CHECK_INT(proxy_try_rules(text, ipt), 0);
        free(text);
        berth_nproxy_free(p);
    }
}

/* A table whose strides are older than the first version is refused. */
BERTH_TEST(proxy_refuses_a_table_with_short_strides) {
    berth_nproxy *p = render_only(BERTH_NPROXY_NFT, NULL);
    berth_proxy_table t = small;
    t.service_size = 8;
    CHECK(berth_nproxy_render(p, &t, NULL) == NULL);
    t = small;
    t.size = offsetof(berth_proxy_table, service_size);
    CHECK(berth_nproxy_render(p, &t, NULL) == NULL);
    berth_nproxy_free(p);
}

/* The backend bucket k of the Service 10.96.0.70:80 maps to, into out. */
static void bucket_backend(const char *text, int k, char *out, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "10.96.0.70 . tcp . 80 . %d : ", k);
    const char *at = strstr(text, key);
    out[0] = 0;
    if (!at)
        return;
    at += strlen(key);
    int len = (int)strcspn(at, ",}"); /* the next element, or the end of the list */
    while (len > 0 && at[len - 1] == ' ')
        len--;
    snprintf(out, n, "%.*s", len, at);
}

BERTH_TEST(proxy_affinity_keeps_clients_when_a_backend_leaves) {
    const berth_proxy_backend three[] = {
        PROXY_BK("10.244.1.1", 80), PROXY_BK("10.244.1.2", 80), PROXY_BK("10.244.1.3", 80)};
    berth_proxy_service svc = PROXY_SVC("a", "s", "", "10.96.0.70", 80, 0, BERTH_PROTO_TCP, 60, three, 3);
    berth_proxy_table t = BERTH_PROXY_TABLE(1, &svc, 1);
    berth_nproxy *p = render_only(BERTH_NPROXY_NFT, NULL);
    char *before = berth_nproxy_render(p, &t, NULL);
    svc.backends = three + 1; /* 10.244.1.1 leaves */
    svc.nbackends = 2;
    char *after = berth_nproxy_render(p, &t, NULL);
    CHECK(before && after);
    int moved = 0, kept = 0;
    for (int k = 0; before && after && k < 256; k++) {
        char was[32], now[32];
        bucket_backend(before, k, was, sizeof was);
        bucket_backend(after, k, now, sizeof now);
        CHECK(was[0] && now[0] && strcmp(now, "10.244.1.1 . 80") != 0);
        if (strcmp(was, "10.244.1.1 . 80") == 0)
            moved++;
        else
            kept += strcmp(was, now) == 0;
    }
    CHECK_INT(moved + kept, 256); /* only the leaver's clients move */
    CHECK(moved > 40 && moved < 130);  /* about a third of them */
    free(before);
    free(after);
    berth_nproxy_free(p);
}

BERTH_TEST(proxy_iptables_renders_the_key_pieces) {
    berth_nproxy *p = render_only(BERTH_NPROXY_IPTABLES, "10.244.0.0/16");
    char *text = berth_nproxy_render(p, &small, NULL);
    CHECK(text != NULL);
    if (!text)
        return;
    CHECK_HAS(text, "*nat\n:BERTH-PROXY-SERVICES - [0:0]\n");
    CHECK_HAS(text, "-A BERTH-PROXY-SERVICES -m comment --comment berth-gen-42\n");
    CHECK_HAS(text, "-A BERTH-PROXY-SERVICES -d 10.96.0.50/32 -p tcp -m tcp --dport 80 "
                    "-j BERTH-PROXY-S0\n");
    CHECK_HAS(text, "-A BERTH-PROXY-S0 -p tcp -m statistic --mode random --probability "
                    "0.3333333333 -j DNAT --to-destination 10.244.1.2:8080\n");
    CHECK_HAS(text, "-A BERTH-PROXY-S0 -p tcp -m statistic --mode random --probability "
                    "0.5000000000 -j DNAT --to-destination 10.244.1.3:8080\n");
    CHECK_HAS(text, "-A BERTH-PROXY-S0 -p tcp -j DNAT --to-destination 10.244.2.7:8081\n");
    CHECK_HAS(text, "-A BERTH-PROXY-NODEPORTS -p tcp -m tcp --dport 30080 -j MARK --or-mark "
                    "0x4000\n");
    CHECK_HAS(text, "-A BERTH-PROXY-FILTER -d 10.96.0.51/32 -p tcp -m tcp --dport 80 -j REJECT "
                    "--reject-with tcp-reset\n");
    CHECK_HAS(text, "--dport 30081 -j REJECT --reject-with tcp-reset\n");
    CHECK_HAS(text, "--update --seconds 10800 --reap -j DNAT --to-destination 10.244.1.4:443");
    CHECK_HAS(text, "--set -j DNAT --to-destination 10.244.1.5:443");
    CHECK_HAS(text, "-A BERTH-PROXY-POST -s 10.244.0.0/16 -m mark --mark 0x8000/0x8000");
    /* The node port shares its cluster IP's chain (same backends); the
     * chains nothing jumps to are deleted, not kept. */
    CHECK_HAS(text, "-A BERTH-PROXY-NODEPORTS -p tcp -m tcp --dport 30080 -j BERTH-PROXY-S0\n");
    CHECK_HAS(text, "-X BERTH-PROXY-S1\n");
    CHECK_HAS(text, "-X BERTH-PROXY-S2\n");
    CHECK_HAS(text, "-X BERTH-PROXY-S3\n");
    if (proxy_have_tool("iptables-restore"))
        CHECK_INT(proxy_try_rules(text, 1), 0);
    else
        fprintf(stderr, "iptables-restore not installed: rules not tried\n");
    free(text);
    berth_nproxy_free(p);
}

BERTH_TEST(proxy_skips_invalid_and_duplicate_entries) {
    static const berth_proxy_backend bks[] = {
        PROXY_BK("garbage\"} ; flush ruleset", 80), PROXY_BK("10.244.1.256", 80), PROXY_BK("10.244.1.7", 0),
        PROXY_BK(NULL, 80), PROXY_BK("10.244.1.8", 9000)};
    static const berth_proxy_service svcs[] = {
        PROXY_SVC("a", "bad-vip", "", "10.96.0.300", 80, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "headless", "", "None", 80, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "null-vip", "", NULL, 80, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "octal", "", "010.96.0.1", 80, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "v6", "", "fd00::1", 80, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "icmp", "", "10.96.0.60", 80, 0, 1, 0, bks, 5),
        PROXY_SVC("a", "port0", "", "10.96.0.61", 0, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "good", "", "10.96.0.62", 80, 30062, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "dup-vip", "", "10.96.0.62", 80, 0, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC("a", "dup-np", "", "10.96.0.63", 80, 30062, BERTH_PROTO_TCP, 0, bks, 5),
        PROXY_SVC(NULL, NULL, NULL, "10.96.0.64", 81, 0, BERTH_PROTO_SCTP, 0, NULL, 3),
    };
    berth_proxy_table t = BERTH_PROXY_TABLE(11, svcs, 7);
    for (int ipt = 0; ipt <= 1; ipt++) {
        berth_nproxy *p = render_only(ipt ? BERTH_NPROXY_IPTABLES : BERTH_NPROXY_NFT, NULL);
        char *text = berth_nproxy_render(p, &t, NULL);
        CHECK(text != NULL);
        if (!text)
            continue;
        CHECK_LACKS(text, "garbage");
        CHECK_LACKS(text, "10.96.0.300");
        CHECK_LACKS(text, "None");
        CHECK_LACKS(text, "010.96");
        CHECK_LACKS(text, "fd00");
        CHECK_LACKS(text, "10.96.0.60");
        CHECK_LACKS(text, "10.96.0.61");
        CHECK_LACKS(text, "10.244.1.256");
        CHECK_LACKS(text, "10.244.1.7");
        CHECK_LACKS(text, ipt ? " -s " : "ip saddr"); /* no CIDR: no pod rule */
        CHECK_INT(count(text, "10.96.0.62"), ipt ? 1 : 2); /* nft: its VIP and its slot */
        /* iptables: its mark and its jump; nft: its masquerade, verdict
         * and backend elements. */
        CHECK_INT(count(text, "30062"), ipt ? 2 : 3);
        CHECK_HAS(text, ipt ? "10.244.1.8:9000" : "10.96.0.62 . tcp . 80 . 0 : 10.244.1.8 . 9000");
        CHECK_HAS(text, ipt ? "-d 10.96.0.64/32 -p sctp -m sctp --dport 81 -j REJECT"
                            : "10.96.0.64 . sctp . 81 comment \"/\" : goto reject-chain");
        if (!ipt || proxy_have_tool("iptables-restore"))
            CHECK_INT(proxy_try_rules(text, ipt), 0);
        free(text);
        berth_nproxy_free(p);
    }
}

BERTH_TEST(proxy_renders_a_valid_empty_table) {
    berth_proxy_table t = BERTH_PROXY_TABLE(0, NULL, 1);
    berth_nproxy *p = render_only(BERTH_NPROXY_NFT, NULL);
    char *text = berth_nproxy_render(p, &t, NULL);
    CHECK(text != NULL);
    if (text) {
        CHECK_HAS(text, "comment \"berth-gen-1\"");
        CHECK_LACKS(text, "elements");
        CHECK_INT(proxy_try_rules(text, 0), 0);
    }
    free(text);
    /* A NULL table renders the same empty table with generation 0. */
    text = berth_nproxy_render(p, NULL, NULL);
    CHECK(text && strstr(text, "berth-gen-0\""));
    free(text);
    berth_nproxy_free(p);
}

BERTH_TEST(proxy_refuses_bad_names_and_ranges) {
    const char *bad_names[] = {"", "Berth", "berth proxy", "a-name-far-too-long", "x;y",
                               "1proxy", "-proxy"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        berth_nproxy_opts o = {.name = bad_names[i], .backend = BERTH_NPROXY_NFT};
        berth_nproxy *p = NULL;
        CHECK_INT(berth_nproxy_new(&o, &p), BERTH_EINVAL);
        CHECK(p == NULL);
    }
    const char *bad_cidrs[] = {"10.0.0.0/33", "10.0.0.1/8", "10.0.0.0", "10.0.0.0/", "x/8",
                               "10.0.0.0/08"};
    for (size_t i = 0; i < sizeof bad_cidrs / sizeof bad_cidrs[0]; i++) {
        berth_nproxy_opts o = {.cluster_cidr = bad_cidrs[i], .backend = BERTH_NPROXY_NFT};
        berth_nproxy *p = NULL;
        CHECK_INT(berth_nproxy_new(&o, &p), BERTH_EINVAL);
    }
    berth_nproxy *p = render_only(BERTH_NPROXY_NFT, "0.0.0.0/0");
    CHECK_INT(berth_nproxy_set_cluster_cidr(p, "10.244.0.0/16"), 0);
    CHECK_INT(berth_nproxy_set_cluster_cidr(p, "10.244.0.0/16 masquerade"), BERTH_EINVAL);
    berth_proxy_table t = BERTH_PROXY_TABLE(0, NULL, 1);
    CHECK_INT(berth_nproxy_sync(p, &t), BERTH_EINVAL); /* render-only: no host */
    berth_nproxy_free(p);
    berth_nproxy_opts named = {.name = "berth-bridge", .backend = BERTH_NPROXY_IPTABLES};
    CHECK_INT(berth_nproxy_new(&named, &p), 0);
    char *text = berth_nproxy_render(p, &t, NULL);
    CHECK(text && strstr(text, ":BERTH-BRIDGE-SERVICES - [0:0]"));
    free(text);
    berth_nproxy_free(p);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

BERTH_TEST(proxy_renders_a_large_table_fast) {
    proxy_large l;
    CHECK_INT(proxy_large_make(&l, 1000, 10), 0);
    for (int ipt = 0; ipt <= 1; ipt++) {
        berth_nproxy *p = render_only(ipt ? BERTH_NPROXY_IPTABLES : BERTH_NPROXY_NFT, NULL);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t len = 0;
        char *text = berth_nproxy_render(p, &l.table, &len);
        double ms = ms_since(&t0);
        printf("render %s 1000 services x 10 endpoints: %.2f ms, %zu bytes\n",
               ipt ? "iptables" : "nft", ms, len);
        CHECK(text != NULL);
        if (text && !ipt)
            CHECK_INT(count(text, ": goto lb-10"), 1000);
        free(text);
        berth_nproxy_free(p);
    }
    proxy_large_free(&l);
}
