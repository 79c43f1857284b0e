/* The pod address allocator (plugins/common/ipam.c), on disk only: no
 * networking involved. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/errno.h"
#include "common/ipam.h"
#include "net-env.h"
#include "test.h"

static const char *ntoa(struct in_addr a)
{
    static char buf[4][INET_ADDRSTRLEN];
    static int i;
    i = (i + 1) % 4;
    return inet_ntop(AF_INET, &a, buf[i], sizeof buf[i]);
}

static void open_range(berth_ipam *ip, const char *cidr)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ipam", berth_test_tmpdir());
    CHECK_INT(berth_ipam_open(ip, dir), 0);
    CHECK_INT(berth_ipam_set_range(ip, cidr), 0);
}

BERTH_TEST(ipam_parses_cidrs) {
    struct in_addr net;
    int prefix = 0;
    CHECK_INT(berth_cidr_parse("10.244.3.0/24", &net, &prefix), 0);
    CHECK_STR(ntoa(net), "10.244.3.0");
    CHECK_INT(prefix, 24);
    static const char *const bad[] = {"10.244.3.1/24", "10.244.3.0", "10.244.3.0/33",
                                      "10.244.3.0/", "10.244.3.0/2x", "nope/24", "/24", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(berth_cidr_parse(bad[i], &net, &prefix), BERTH_EINVAL);
    berth_ipam ip;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ipam", berth_test_tmpdir());
    CHECK_INT(berth_ipam_open(&ip, dir), 0);
    CHECK_INT(berth_ipam_set_range(&ip, "10.0.0.0/31"), BERTH_EINVAL);
    CHECK_INT(berth_ipam_set_range(&ip, "10.0.0.0/7"), BERTH_EINVAL);
    struct in_addr a;
    CHECK_INT(berth_ipam_alloc(&ip, "pod-a", &a), BERTH_EUNAVAILABLE);
}

BERTH_TEST(ipam_skips_network_gateway_and_broadcast) {
    berth_ipam ip;
    open_range(&ip, "10.244.3.0/29");
    CHECK_STR(ntoa(berth_ipam_gateway(&ip)), "10.244.3.1");
    /* .2 to .6: five addresses, then the range is full. */
    const char *want[] = {"10.244.3.2", "10.244.3.3", "10.244.3.4", "10.244.3.5", "10.244.3.6"};
    char owner[16];
    struct in_addr a;
    for (int i = 0; i < 5; i++) {
        snprintf(owner, sizeof owner, "pod-%d", i);
        CHECK_INT(berth_ipam_alloc(&ip, owner, &a), 0);
        CHECK_STR(ntoa(a), want[i]);
    }
    CHECK_INT(berth_ipam_alloc(&ip, "pod-late", &a), BERTH_ERANGE);
    /* Freeing one makes exactly that one available again. */
    CHECK_INT(berth_ipam_release(&ip, "pod-2"), 0);
    CHECK_INT(berth_ipam_alloc(&ip, "pod-late", &a), 0);
    CHECK_STR(ntoa(a), "10.244.3.4");
    CHECK_INT(berth_ipam_alloc(&ip, "pod-later", &a), BERTH_ERANGE);
    /* A failed allocation leaves no temporary file behind. */
    CHECK_INT(net_entries(ip.dir), 5);
}

BERTH_TEST(ipam_gives_an_owner_its_address_back) {
    berth_ipam ip;
    open_range(&ip, "10.244.0.0/24");
    struct in_addr a, b, c;
    CHECK_INT(berth_ipam_alloc(&ip, "pod-a", &a), 0);
    CHECK_INT(berth_ipam_alloc(&ip, "pod-b", &b), 0);
    CHECK(a.s_addr != b.s_addr);
    CHECK_INT(berth_ipam_alloc(&ip, "pod-a", &c), 0);
    CHECK_INT(c.s_addr, a.s_addr);
    CHECK_INT(berth_ipam_lookup(&ip, "pod-b", &c), 0);
    CHECK_INT(c.s_addr, b.s_addr);
    CHECK_INT(berth_ipam_lookup(&ip, "pod-c", &c), BERTH_ENOTFOUND);
    CHECK_INT(berth_ipam_release(&ip, "pod-c"), 0);
    CHECK_INT(berth_ipam_alloc(&ip, "../x", &c), BERTH_EINVAL);
    CHECK_INT(berth_ipam_alloc(&ip, ".hidden", &c), BERTH_EINVAL);
    CHECK_INT(berth_ipam_release(&ip, "a/b"), BERTH_EINVAL);
}

BERTH_TEST(ipam_survives_reopen) {
    berth_ipam ip;
    open_range(&ip, "10.244.0.0/24");
    struct in_addr a, b, c;
    CHECK_INT(berth_ipam_alloc(&ip, "pod-a", &a), 0);
    CHECK_INT(berth_ipam_alloc(&ip, "pod-b", &b), 0);
    CHECK_INT(berth_ipam_release(&ip, "pod-a"), 0);
    /* A crash while allocating leaves a temporary file; open removes it. */
    char tmp[sizeof ip.dir + 16];
    snprintf(tmp, sizeof tmp, "%s/.tmp-pod-x", ip.dir);
    FILE *f = fopen(tmp, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    berth_ipam again;
    open_range(&again, "10.244.0.0/24");
    CHECK_INT(net_entries(again.dir), 1);
    CHECK_INT(access(tmp, F_OK), -1);
    CHECK_INT(berth_ipam_lookup(&again, "pod-b", &c), 0);
    CHECK_INT(c.s_addr, b.s_addr);
    /* A fresh allocator never hands out what the old one gave. */
    for (int i = 0; i < 100; i++) {
        char owner[16];
        snprintf(owner, sizeof owner, "pod-%d", i);
        CHECK_INT(berth_ipam_alloc(&again, owner, &c), 0);
        CHECK(c.s_addr != b.s_addr);
    }
    CHECK_INT(berth_ipam_alloc(&again, "pod-b", &c), 0);
    CHECK_INT(c.s_addr, b.s_addr);
}

BERTH_TEST(ipam_keeps_old_range_addresses_out) {
    berth_ipam ip;
    open_range(&ip, "10.244.0.0/24");
    struct in_addr old, now;
    CHECK_INT(berth_ipam_alloc(&ip, "pod-a", &old), 0);
    CHECK_STR(ntoa(old), "10.244.0.2");
    CHECK_INT(berth_ipam_set_range(&ip, "10.244.7.0/24"), 0);
    /* The old address is not this range's: pod-a gets a new one, and the
     * old one stays held until pod-a lets go of everything. */
    CHECK_INT(berth_ipam_lookup(&ip, "pod-a", &now), BERTH_ENOTFOUND);
    CHECK_INT(berth_ipam_alloc(&ip, "pod-a", &now), 0);
    CHECK_STR(ntoa(now), "10.244.7.2");
    CHECK_INT(net_entries(ip.dir), 2);
    CHECK_INT(berth_ipam_release(&ip, "pod-a"), 0);
    CHECK_INT(net_entries(ip.dir), 0);
    /* Going back, the old range starts clean. */
    CHECK_INT(berth_ipam_set_range(&ip, "10.244.0.0/24"), 0);
    CHECK_INT(berth_ipam_alloc(&ip, "pod-b", &now), 0);
    CHECK_STR(ntoa(now), "10.244.0.2");
}
