/* network-bridge through the real loader, in namespaces of the test's own
 * (net-env.h): pods get namespaces, distinct addresses and a working
 * bridge; state survives a plugin restart; peer routes follow set_peers;
 * teardown and fini leave nothing behind. Needs root. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/netlink.h"
#include "net-env.h"
#include "test.h"

#define POD_CIDR "10.244.0.0/24"

static const char *plugin_dir(const char *sub, char *buf, size_t len)
{
    snprintf(buf, len, "%s/plugins/network-bridge/%s", berth_test_tmpdir(), sub);
    return buf;
}

static int bridge_ports(const char *bridge)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/class/net/%s/brif", bridge);
    return net_entries(path);
}

/* The ports left once the kernel has freed torn-down pods' namespaces,
 * which takes their veth pairs along asynchronously (up to 5 s). */
static int bridge_ports_settled(const char *bridge)
{
    int n = bridge_ports(bridge);
    for (int i = 0; n > 0 && i < 500; i++) {
        usleep(10000);
        n = bridge_ports(bridge);
    }
    return n;
}

/* How many of the bridge's ports send frames back where they came from, so
 * a pod reaches itself through a Service. */
static int hairpin_ports(const char *bridge)
{
    char dir[128], path[128 + 256 + 16], mode[4];
    snprintf(dir, sizeof dir, "/sys/class/net/%s/brif", bridge);
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s/hairpin_mode", dir, e->d_name);
        FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        n += f && fgets(mode, sizeof mode, f) && mode[0] == '1';
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* Opens the plugin with a bridge name of this test's own; 0 when it
 * cannot (the failure is counted). */
static int open_bridge(net_env *e)
{
    char name[16];
    snprintf(name, sizeof name, "bt%d", (int)getpid() % 100000);
    CHECK_INT(net_env_open(e, "bridge", name), 0);
    if (e->ops)
        CHECK_INT(e->ops->size, sizeof(berth_network_ops));
    return e->ops != NULL;
}

static int configure_range(net_env *e, const char *pod_cidr)
{
    berth_net_node node = {.size = sizeof node, .node_name = "node-a",
                           .node_ip = "192.168.77.1", .pod_cidr = pod_cidr,
                           .cluster_cidr = "10.244.0.0/16", .service_cidr = "10.96.0.0/12"};
    return e->ops->configure(e->state, &node);
}

static int configure(net_env *e)
{
    return configure_range(e, POD_CIDR);
}

/* Whether `ip -4 addr show dev` lists addr/prefix ("10.244.0.1/24"). */
static int has_addr(const char *dev, const char *addr)
{
    char cmd[128], line[512];
    snprintf(cmd, sizeof cmd, "ip -4 -o addr show dev %s", dev);
    FILE *f = popen(cmd, "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, addr) != NULL;
    if (f)
        pclose(f);
    return found;
}

static int setup(net_env *e, const char *uid, berth_net_attachment *att)
{
    memset(att, 0, sizeof *att);
    att->size = sizeof *att;
    berth_net_pod pod = {.size = sizeof pod, .pod_uid = uid, .pod_namespace = "default",
                         .pod_name = uid};
    return e->ops->setup(e->state, &pod, att);
}

static int in_pod_cidr(const char *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return 0;
    uint32_t h = ntohl(a.s_addr), net = 0x0af40000; /* 10.244.0.0 */
    return (h & 0xffffff00) == net && (h & 0xff) >= 2 && (h & 0xff) <= 254;
}

static int nft_has_table(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "nft list table ip %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static int nft_missing(void)
{
    return system("command -v nft >/dev/null 2>&1") != 0;
}

static int count_listed(void *arg, const char *uid, const char *ip)
{
    ++*(int *)arg;
    return 0;
}

/* ---- Reachability: a TCP round trip from one pod to another ---------- */

typedef struct tcp_check {
    const char *ip;
    int ready[2];
} tcp_check;

static int serve_once(void *arg)
{
    tcp_check *t = arg;
    close(t->ready[0]);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(7777)};
    inet_pton(AF_INET, t->ip, &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0), c = -1;
    char b = 0;
    alarm(10);
    int ok = s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(s, 1) == 0;
    (void)!write(t->ready[1], ok ? "y" : "n", 1);
    ok = ok && (c = accept(s, NULL, NULL)) >= 0 && read(c, &b, 1) == 1 && write(c, &b, 1) == 1;
    return ok ? 0 : 1;
}

static int connect_once(void *arg)
{
    tcp_check *t = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(7777)};
    inet_pton(AF_INET, t->ip, &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b = 'x';
    int ok = s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
             write(s, &b, 1) == 1 && read(s, &b, 1) == 1 && b == 'x';
    if (!ok)
        fprintf(stderr, "connect to %s:7777: %s\n", t->ip, strerror(errno));
    return ok ? 0 : 1;
}

/* Listens in pod a's namespace on its address; connects from pod b's. */
static int reaches(const berth_net_attachment *a, const berth_net_attachment *b)
{
    tcp_check t = {.ip = a->ip};
    if (pipe(t.ready) < 0)
        return 0;
    int server = net_fork_in(a->netns_path, serve_once, &t);
    close(t.ready[1]);
    char ready = 0;
    int ok = read(t.ready[0], &ready, 1) == 1 && ready == 'y';
    close(t.ready[0]);
    ok = ok && net_wait(net_fork_in(b->netns_path, connect_once, &t)) == 0;
    if (!ok)
        kill(server, SIGKILL);
    return net_wait(server) == 0 && ok;
}

/* ---- Tests --------------------------------------------------------------- */

static void pods_reach_each_other(void *arg)
{
    net_env e;
    if (!open_bridge(&e))
        return;
    berth_net_status st = {.size = sizeof st};
    CHECK_INT(e.ops->status(e.state, &st), 0);
    CHECK_INT(st.ready, 0);
    CHECK_STR(st.reason, "NoPodCIDR");
    berth_net_attachment a, b, again;
    CHECK_INT(setup(&e, "pod-a", &a), BERTH_EUNAVAILABLE);
    int fds = net_entries("/proc/self/fd");

    CHECK_INT(configure(&e), 0);
    CHECK_INT(configure(&e), 0); /* idempotent, nft table included */
    st = (berth_net_status){.size = sizeof st};
    CHECK_INT(e.ops->status(e.state, &st), 0);
    CHECK_INT(st.ready, 1);
    CHECK(if_nametoindex(e.bridge) != 0);
    FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "r");
    CHECK(f && fgetc(f) == '1');
    if (f)
        fclose(f);
    CHECK(nft_missing() || nft_has_table("berth-net"));

    CHECK_INT(setup(&e, "pod-a", &a), 0);
    CHECK_INT(setup(&e, "pod-b", &b), 0);
    CHECK(access(a.netns_path, F_OK) == 0 && access(b.netns_path, F_OK) == 0);
    CHECK(strcmp(a.netns_path, b.netns_path) != 0);
    CHECK(in_pod_cidr(a.ip) && in_pod_cidr(b.ip));
    CHECK(strcmp(a.ip, b.ip) != 0);
    CHECK_STR(a.gateway, "10.244.0.1");
    CHECK_INT(setup(&e, "pod-a", &again), 0);
    CHECK_STR(again.ip, a.ip);
    CHECK_STR(again.netns_path, a.netns_path);
    CHECK_INT(bridge_ports(e.bridge), 2);
    CHECK_INT(hairpin_ports(e.bridge), 2);

    CHECK(reaches(&a, &b));
    CHECK(reaches(&b, &a));
    int listed = 0;
    CHECK_INT(e.ops->list(e.state, count_listed, &listed), 0);
    CHECK_INT(listed, 2);

    CHECK_INT(e.ops->teardown(e.state, "pod-a"), 0);
    CHECK_INT(e.ops->teardown(e.state, "pod-b"), 0);
    CHECK_INT(e.ops->teardown(e.state, "pod-b"), 0);
    CHECK_INT(e.ops->teardown(e.state, "never-seen"), 0);
    CHECK_INT(e.ops->teardown(e.state, "../etc"), BERTH_EINVAL);
    CHECK_INT(bridge_ports_settled(e.bridge), 0);
    CHECK(access(a.netns_path, F_OK) < 0 && access(b.netns_path, F_OK) < 0);
    char path[512];
    CHECK_INT(net_entries(plugin_dir("ipam", path, sizeof path)), 0);
    CHECK_INT(net_entries(plugin_dir("pods", path, sizeof path)), 0);
    CHECK_INT(net_entries(plugin_dir("netns", path, sizeof path)), 0);
    listed = 0;
    CHECK_INT(e.ops->list(e.state, count_listed, &listed), 0);
    CHECK_INT(listed, 0);
    CHECK_INT(net_entries("/proc/self/fd"), fds);
    /* The proxy may keep a pipe to its nft open: after the fd count. */
    berth_proxy_table t = BERTH_PROXY_TABLE(0, NULL, 1);
    CHECK_INT(e.ops->proxy_sync(e.state, &t), 0);

    /* No pods left: fini takes the bridge and the nft tables with it. */
    char bridge[16];
    snprintf(bridge, sizeof bridge, "%s", e.bridge);
    net_env_close(&e);
    CHECK_INT(if_nametoindex(bridge), 0);
    CHECK(!nft_has_table("berth-net"));
    CHECK(!nft_has_table("berth-proxy"));
}

BERTH_TEST(network_bridge_pods_reach_each_other) {
    net_isolated(pods_reach_each_other, NULL);
}

static void survives_restart(void *arg)
{
    net_env e;
    if (!open_bridge(&e))
        return;
    CHECK_INT(configure(&e), 0);
    berth_net_attachment a, b, again;
    CHECK_INT(setup(&e, "pod-a", &a), 0);
    CHECK_INT(setup(&e, "pod-b", &b), 0);
    char bridge[16];
    snprintf(bridge, sizeof bridge, "%s", e.bridge);
    /* Pods remain: fini leaves the bridge, their links and namespaces. */
    net_env_close(&e);
    CHECK(if_nametoindex(bridge) != 0);
    CHECK_INT(bridge_ports(bridge), 2);
    CHECK(access(a.netns_path, F_OK) == 0);

    if (!open_bridge(&e))
        return;
    int listed = 0;
    CHECK_INT(e.ops->list(e.state, count_listed, &listed), 0);
    CHECK_INT(listed, 2);
    CHECK_INT(configure(&e), 0);
    CHECK_INT(setup(&e, "pod-a", &again), 0);
    CHECK_STR(again.ip, a.ip);
    CHECK(reaches(&a, &b));
    /* A new pod gets neither address. */
    CHECK_INT(setup(&e, "pod-c", &again), 0);
    CHECK(strcmp(again.ip, a.ip) != 0 && strcmp(again.ip, b.ip) != 0);
    for (const char *const *u = (const char *const[]){"pod-a", "pod-b", "pod-c", NULL}; *u; u++)
        CHECK_INT(e.ops->teardown(e.state, *u), 0);
    /* Another range after a restart: the bridge loses the old gateway. */
    CHECK_INT(setup(&e, "pod-d", &again), 0);
    net_env_close(&e);
    CHECK(has_addr(bridge, "10.244.0.1/24"));
    if (!open_bridge(&e))
        return;
    CHECK_INT(configure_range(&e, "10.244.9.0/24"), 0);
    CHECK(has_addr(bridge, "10.244.9.1/24"));
    CHECK(!has_addr(bridge, "10.244.0.1/24"));
    CHECK_INT(e.ops->teardown(e.state, "pod-d"), 0);
    net_env_close(&e);
    CHECK_INT(if_nametoindex(bridge), 0);
}

BERTH_TEST(network_bridge_survives_restart) {
    net_isolated(survives_restart, NULL);
}

static void teardown_after_crash(void *arg)
{
    net_env e;
    if (!open_bridge(&e))
        return;
    CHECK_INT(configure(&e), 0);
    berth_net_attachment a;
    CHECK_INT(setup(&e, "pod-a", &a), 0);
    /* A crash before the record was written: setup again repairs it... */
    char path[512];
    snprintf(path, sizeof path, "%s/plugins/network-bridge/pods/pod-a", berth_test_tmpdir());
    CHECK_INT(unlink(path), 0);
    berth_net_attachment again;
    CHECK_INT(setup(&e, "pod-a", &again), 0);
    CHECK_STR(again.ip, a.ip);
    CHECK_INT(bridge_ports(e.bridge), 1);
    /* ...and teardown without the record still removes everything. */
    CHECK_INT(unlink(path), 0);
    CHECK_INT(e.ops->teardown(e.state, "pod-a"), 0);
    CHECK_INT(bridge_ports_settled(e.bridge), 0);
    CHECK(access(a.netns_path, F_OK) < 0);
    CHECK_INT(net_entries(plugin_dir("ipam", path, sizeof path)), 0);
    berth_net_attachment bad;
    CHECK_INT(setup(&e, "a/b", &bad), BERTH_EINVAL);
    net_env_close(&e);
}

BERTH_TEST(network_bridge_teardown_after_crash) {
    net_isolated(teardown_after_crash, NULL);
}

/* The link's first IPv4 address, or "". */
static const char *first_addr(const char *link, char *buf, size_t len)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", link);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    buf[0] = 0;
    if (fd >= 0 && ioctl(fd, SIOCGIFADDR, &ifr) == 0)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, buf, len);
    if (fd >= 0)
        close(fd);
    return buf;
}

static void bridge_goes_missing(void *arg)
{
    net_env e;
    if (!open_bridge(&e))
        return;
    CHECK_INT(configure(&e), 0);
    char buf[INET_ADDRSTRLEN], path[512];
    CHECK_STR(first_addr(e.bridge, buf, sizeof buf), "10.244.0.1");
    berth_nl nl;
    CHECK_INT(berth_nl_open(&nl), 0);
    CHECK_INT(berth_nl_link_del(&nl, (int)if_nametoindex(e.bridge)), 0);
    berth_nl_close(&nl);
    berth_net_status st = {.size = sizeof st};
    CHECK_INT(e.ops->status(e.state, &st), 0);
    CHECK_INT(st.ready, 0);
    CHECK_STR(st.reason, "BridgeDown");
    berth_net_attachment a;
    CHECK_INT(setup(&e, "pod-a", &a), BERTH_EUNAVAILABLE);
    /* configure brings it back; a new range moves the gateway. */
    berth_net_node node = {.size = sizeof node, .node_name = "node-a",
                           .node_ip = "192.168.77.1", .pod_cidr = "10.244.5.0/24"};
    CHECK_INT(e.ops->configure(e.state, &node), 0);
    CHECK_INT(configure(&e), 0);
    CHECK_INT(e.ops->configure(e.state, &node), 0);
    CHECK_STR(first_addr(e.bridge, buf, sizeof buf), "10.244.5.1");
    CHECK_INT(setup(&e, "pod-a", &a), 0);
    CHECK_STR(a.gateway, "10.244.5.1");
    CHECK_INT(e.ops->teardown(e.state, "pod-a"), 0);
    /* A setup that fails half-way (its namespace file cannot be made)
     * leaves no address or record behind. */
    char blocker[600];
    snprintf(blocker, sizeof blocker, "%s/pod-b", plugin_dir("netns", path, sizeof path));
    CHECK_INT(mkdir(blocker, 0700), 0);
    CHECK_INT(setup(&e, "pod-b", &a), BERTH_EIO);
    CHECK_INT(rmdir(blocker), 0);
    CHECK_INT(net_entries(plugin_dir("ipam", path, sizeof path)), 0);
    CHECK_INT(net_entries(plugin_dir("pods", path, sizeof path)), 0);
    CHECK_INT(bridge_ports_settled(e.bridge), 0);
    node.pod_cidr = "10.244.5.0/31";
    CHECK_INT(e.ops->configure(e.state, &node), BERTH_EINVAL);
    node.pod_cidr = "10.244.5.7/24";
    CHECK_INT(e.ops->configure(e.state, &node), BERTH_EINVAL);
    net_env_close(&e);
}

BERTH_TEST(network_bridge_recovers_from_a_missing_bridge) {
    net_isolated(bridge_goes_missing, NULL);
}

/* The gateway of the main-table route to dst/24, or 0 when none. */
static uint32_t route_via(const char *dst)
{
    struct in_addr want;
    inet_pton(AF_INET, dst, &want);
    FILE *f = fopen("/proc/net/route", "r");
    char line[256], ifname[32];
    unsigned d, gw, flags, refcnt, use, metric, mask;
    uint32_t via = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%31s %x %x %x %u %u %u %x", ifname, &d, &gw, &flags, &refcnt, &use,
                   &metric, &mask) == 8 &&
            d == want.s_addr && mask == htonl(0xffffff00))
            via = gw;
    if (f)
        fclose(f);
    return via;
}

static uint32_t addr(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

static void routes_to_peers(void *arg)
{
    /* The other nodes sit on a link of their own (a veth: not every
     * kernel has dummy links). */
    berth_nl nl;
    CHECK_INT(berth_nl_open(&nl), 0);
    CHECK_INT(berth_nl_veth_add(&nl, "nodes0", "nodes1", -1), 0);
    int idx = (int)if_nametoindex("nodes0");
    CHECK_INT(berth_nl_addr_add(&nl, idx, (struct in_addr){addr("192.168.77.1")}, 24), 0);
    CHECK_INT(berth_nl_link_up(&nl, idx), 0);
    berth_nl_close(&nl);

    net_env e;
    if (!open_bridge(&e))
        return;
    CHECK_INT(configure(&e), 0);
    berth_net_peer peers[] = {
        {sizeof(berth_net_peer), "node-a", "192.168.77.1", POD_CIDR}, /* ourselves: no route */
        {sizeof(berth_net_peer), "node-b", "192.168.77.2", "10.244.1.0/24"},
        {sizeof(berth_net_peer), "node-c", "192.168.77.3", "10.244.2.0/24"},
        {sizeof(berth_net_peer), "node-d", "not-an-ip", "10.244.3.0/24"},
    };
    /* Peers from a writer older than the first version are refused. */
    berth_net_peer short_peer = peers[1];
    short_peer.size = 4;
    CHECK_INT(e.ops->set_peers(e.state, &short_peer, 1), BERTH_EINVAL);
    CHECK_INT(e.ops->set_peers(e.state, peers, 4), 0);
    CHECK_INT(route_via("10.244.1.0"), addr("192.168.77.2"));
    CHECK_INT(route_via("10.244.2.0"), addr("192.168.77.3"));
    CHECK_INT(route_via("10.244.3.0"), 0);
    /* node-b left, node-c's range moved to node-e: the set is replaced. */
    berth_net_peer next[] = {{sizeof(berth_net_peer), "node-e", "192.168.77.5", "10.244.2.0/24"}};
    CHECK_INT(e.ops->set_peers(e.state, next, 1), 0);
    CHECK_INT(route_via("10.244.1.0"), 0);
    CHECK_INT(route_via("10.244.2.0"), addr("192.168.77.5"));
    /* With a pod left, a restart keeps the routes, and the restarted
     * plugin knows what it installed: fini with no pods removes it. */
    berth_net_attachment a;
    CHECK_INT(setup(&e, "pod-a", &a), 0);
    net_env_close(&e);
    CHECK_INT(route_via("10.244.2.0"), addr("192.168.77.5"));
    if (!open_bridge(&e))
        return;
    CHECK_INT(e.ops->teardown(e.state, "pod-a"), 0);
    net_env_close(&e);
    CHECK_INT(route_via("10.244.2.0"), 0);
}

BERTH_TEST(network_bridge_routes_to_peers) {
    net_isolated(routes_to_peers, NULL);
}
