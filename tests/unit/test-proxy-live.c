/* The service proxy against the kernel, each test in a network namespace
 * of its own: a veth link 10.200.0.1/24 carries three listeners, the
 * backends of Services whose VIPs are routed onto that link. Connections
 * from the namespace itself go through the nat output hook, so they show
 * the DNAT, the spreading, the rejects, NodePorts, affinity, external IPs
 * and the traffic policies; then the
 * rules are flushed behind the proxy's back and must come back, and
 * freeing the proxy must leave nothing behind. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/plugin-loader.h"
#include "common/proxy.h"
#include "proxy-fixture.h"
#include "test.h"

#define EXAMPLE BERTH_BINARY_DIR "/examples/plugin/runtime-hello.so"
#define LINK_SETUP                                                                  \
    "ip link add berth0 type veth peer name berth1 && ip link set berth1 up && "      \
    "ip addr add 10.200.0.1/24 dev berth0 && ip link set berth0 up && "              \
    "ip route add 10.96.0.0/12 dev berth0"

/* CHECK, counted, so the forked child can report its failures. */
static int child_failures;
#define EXPECT(cond)                                                                \
    do {                                                                            \
        if (!(cond)) {                                                              \
            child_failures++;                                                       \
            berth_test_fail(__FILE__, __LINE__, "EXPECT(%s)", #cond);              \
        }                                                                           \
    } while (0)

typedef struct live {
    struct event_base *base;
    berth_plugins *ps;
    const berth_host *host; /* borrowed from an instance of the example plugin */
    berth_nproxy *proxy;
    int listeners[3];
    berth_proxy_backend backends[3];
} live;

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    *(int *)arg = 1;
}

/* Runs the loop until done(l) or ms pass; returns done(l). */
static int run_until(live *l, int (*done)(live *l, uint64_t want), uint64_t want, int ms)
{
    int timed_out = 0;
    struct event *t = evtimer_new(l->base, on_timeout, &timed_out);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t, &tv);
    while (!done(l, want) && !timed_out)
        event_base_loop(l->base, EVLOOP_ONCE);
    event_free(t);
    return done(l, want);
}

static int applied(live *l, uint64_t gen)
{
    berth_nproxy_stats st;
    berth_nproxy_get_stats(l->proxy, &st);
    return st.applied_generation == gen && st.applies > 0;
}

static int applies_reached(live *l, uint64_t n)
{
    berth_nproxy_stats st;
    berth_nproxy_get_stats(l->proxy, &st);
    return st.applies >= n;
}

static int failures_reached(live *l, uint64_t n)
{
    berth_nproxy_stats st;
    berth_nproxy_get_stats(l->proxy, &st);
    return st.failures >= n;
}

/* A connected socket, or -errno. */
static int connect_to(const char *ip, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int err = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        err = errno;
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (err == EINPROGRESS) {
            socklen_t len = sizeof err;
            err = poll(&pfd, 1, 2000) == 1 ? 0 : ETIMEDOUT;
            if (!err)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
    }
    if (err) {
        close(fd);
        return -err;
    }
    return fd;
}

/* Connects and returns which listener accepted (0..2), or -1. */
static int hit(live *l, const char *ip, uint16_t port)
{
    int fd = connect_to(ip, port);
    if (fd < 0)
        return -1;
    struct pollfd pfd[3];
    for (int i = 0; i < 3; i++)
        pfd[i] = (struct pollfd){l->listeners[i], POLLIN, 0};
    int which = -1;
    if (poll(pfd, 3, 1000) > 0)
        for (int i = 0; i < 3 && which < 0; i++)
            if (pfd[i].revents & POLLIN) {
                int c = accept(l->listeners[i], NULL, NULL);
                if (c >= 0)
                    close(c);
                which = i;
            }
    close(fd);
    return which;
}

static void spread(live *l, const char *ip, uint16_t port, int n, int counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    for (int i = 0; i < n; i++) {
        int w = hit(l, ip, port);
        EXPECT(w >= 0);
        if (w >= 0)
            counts[w]++;
    }
}

static int live_open(live *l, berth_nproxy_backend backend)
{
    memset(l, 0, sizeof *l);
    static char ip[] = "10.200.0.1";
    if (system(LINK_SETUP) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        l->listeners[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        inet_pton(AF_INET, ip, &sa.sin_addr);
        socklen_t len = sizeof sa;
        if (bind(l->listeners[i], (struct sockaddr *)&sa, sizeof sa) < 0 ||
            listen(l->listeners[i], 128) < 0 ||
            getsockname(l->listeners[i], (struct sockaddr *)&sa, &len) < 0)
            return -1;
        l->backends[i] = (berth_proxy_backend){.ip = ip, .port = ntohs(sa.sin_port)};
    }
    l->base = event_base_new();
    berth_plugins_opts po = {.base = l->base, .data_dir = berth_test_tmpdir()};
    berth_plugin_inst *inst = NULL;
    if (berth_plugins_new(&po, &l->ps) < 0 ||
        berth_plugins_open_file(l->ps, BERTH_PLUGIN_RUNTIME, EXAMPLE, NULL, &inst) < 0)
        return -1;
    l->host = berth_plugin_inst_host(inst);
    berth_nproxy_opts o = {.host = l->host, .backend = backend, .repair_ms = 200,
                           .cluster_cidr = "10.244.0.0/16"};
    return berth_nproxy_new(&o, &l->proxy) == 0 ? 0 : -1;
}

static void live_close(live *l)
{
    berth_nproxy_free(l->proxy); /* before the instance that lends its host */
    berth_plugins_free(l->ps);
    if (l->base)
        event_base_free(l->base);
    for (int i = 0; i < 3; i++)
        if (l->listeners[i] > 0)
            close(l->listeners[i]);
}

/* 1 when the command's output holds needle. */
static int output_has(const char *cmd, const char *needle)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f))
        found |= strstr(line, needle) != NULL;
    pclose(f);
    return found;
}

static int sync_and_wait(live *l, const berth_proxy_service *svcs, uint32_t n, uint64_t gen)
{
    berth_proxy_table t = BERTH_PROXY_TABLE(n, svcs, gen);
    EXPECT(berth_nproxy_sync(l->proxy, &t) == 0);
    int ok = run_until(l, applied, gen, 15000);
    EXPECT(ok);
    return ok;
}

/* External IPs answer like the cluster IP; the traffic policies narrow
 * each door to the local backend (listener 1 here). */
static void traffic_policies(live *l, uint64_t gen)
{
    berth_proxy_backend mixed[3] = {l->backends[0], l->backends[1], l->backends[2]};
    mixed[1].local = 1;
    static const char *const ext_local_ips[] = {"10.96.200.1"};
    static const char *const ext_cluster_ips[] = {"10.96.200.2"};
    berth_proxy_service svcs[] = {
        PROXY_SVC("default", "ext-local", "", "10.96.0.53", 80, 30090, BERTH_PROTO_TCP, 0,
                  mixed, 3),
        PROXY_SVC("default", "int-local", "", "10.96.0.54", 80, 30091, BERTH_PROTO_TCP, 0,
                  mixed, 3),
    };
    svcs[0].external_ips = ext_local_ips;
    svcs[0].nexternal_ips = 1;
    svcs[0].external_local = 1;
    svcs[1].external_ips = ext_cluster_ips;
    svcs[1].nexternal_ips = 1;
    svcs[1].internal_local = 1;
    if (!sync_and_wait(l, svcs, 2, gen))
        return;
    int counts[3];
    /* externalTrafficPolicy Local: the external IP and the node port reach
     * the local backend only; the cluster IP reaches all. */
    spread(l, "10.96.200.1", 80, 15, counts);
    EXPECT(counts[1] == 15);
    spread(l, "10.200.0.1", 30090, 15, counts);
    EXPECT(counts[1] == 15);
    spread(l, "10.96.0.53", 80, 45, counts);
    EXPECT(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
    /* internalTrafficPolicy Local: the other way round. */
    spread(l, "10.96.0.54", 80, 15, counts);
    EXPECT(counts[1] == 15);
    spread(l, "10.96.200.2", 80, 45, counts);
    EXPECT(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
    spread(l, "10.200.0.1", 30091, 45, counts);
    EXPECT(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
    /* No local backend left: the Local doors refuse, the others go on. */
    mixed[1].local = 0;
    if (sync_and_wait(l, svcs, 2, gen + 1)) {
        EXPECT(connect_to("10.96.200.1", 80) == -ECONNREFUSED);
        EXPECT(connect_to("10.200.0.1", 30090) == -ECONNREFUSED);
        EXPECT(connect_to("10.96.0.54", 80) == -ECONNREFUSED);
        EXPECT(hit(l, "10.96.0.53", 80) >= 0);
        EXPECT(hit(l, "10.96.200.2", 80) >= 0);
    }
}

static int exercise(void *arg)
{
    berth_nproxy_backend backend = (berth_nproxy_backend)(intptr_t)arg;
    int ipt = backend == BERTH_NPROXY_IPTABLES;
    live l;
    if (live_open(&l, backend) < 0) {
        fprintf(stderr, "could not set up the namespace, listeners or proxy\n");
        live_close(&l);
        return 1;
    }
    berth_proxy_service svcs[] = {
        PROXY_SVC("default", "web", "http", "10.96.0.50", 80, 30080, BERTH_PROTO_TCP, 0, l.backends, 3),
        PROXY_SVC("default", "empty", "", "10.96.0.51", 80, 30081, BERTH_PROTO_TCP, 0, NULL, 0),
        PROXY_SVC("default", "sticky", "", "10.96.0.52", 80, 0, BERTH_PROTO_TCP, 600, l.backends, 3),
    };
    int counts[3];
    if (sync_and_wait(&l, svcs, 3, 1)) {
        spread(&l, "10.96.0.50", 80, 60, counts);
        printf("%s: 60 connections spread %d/%d/%d\n", ipt ? "iptables" : "nft", counts[0],
               counts[1], counts[2]);
        EXPECT(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
        EXPECT(connect_to("10.96.0.51", 80) == -ECONNREFUSED); /* rejected, not dropped */
        EXPECT(hit(&l, "10.200.0.1", 30080) >= 0);              /* NodePort */
        EXPECT(connect_to("127.0.0.1", 30080) == -ECONNREFUSED); /* not on loopback */
        EXPECT(connect_to("10.200.0.1", 30081) == -ECONNREFUSED);
        spread(&l, "10.96.0.52", 80, 20, counts); /* ClientIP affinity */
        EXPECT(counts[0] == 20 || counts[1] == 20 || counts[2] == 20);
    }

    /* One backend gone: it gets nothing more. */
    svcs[0].nbackends = 2;
    if (sync_and_wait(&l, svcs, 3, 2)) {
        spread(&l, "10.96.0.50", 80, 30, counts);
        EXPECT(counts[2] == 0 && counts[0] + counts[1] == 30);
    }

    /* Another backend of the same count: with nft only the map elements
     * change (no new chain is needed), and the rules follow. */
    berth_nproxy_stats mid;
    berth_nproxy_get_stats(l.proxy, &mid);
    berth_proxy_backend swapped[] = {l.backends[0], l.backends[2]};
    svcs[0].backends = swapped;
    if (sync_and_wait(&l, svcs, 3, 3)) {
        spread(&l, "10.96.0.50", 80, 30, counts);
        EXPECT(counts[1] == 0 && counts[0] > 0 && counts[2] > 0);
        berth_nproxy_stats now;
        berth_nproxy_get_stats(l.proxy, &now);
        EXPECT(ipt || now.element_applies == mid.element_applies + 1);
    }

    /* A burst of syncs coalesces: at most the one in flight and one more. */
    berth_nproxy_stats before, after;
    berth_nproxy_get_stats(l.proxy, &before);
    for (uint64_t gen = 4; gen <= 7; gen++) {
        berth_proxy_table t = BERTH_PROXY_TABLE(3, svcs, gen);
        EXPECT(berth_nproxy_sync(l.proxy, &t) == 0);
    }
    EXPECT(run_until(&l, applied, 7, 15000));
    berth_nproxy_get_stats(l.proxy, &after);
    EXPECT(after.applies - before.applies <= 2);

    /* Flushed behind the proxy's back: the repair check puts it back. */
    EXPECT(system("nft flush ruleset") == 0);
    EXPECT(hit(&l, "10.96.0.50", 80) < 0);
    EXPECT(run_until(&l, applies_reached, after.applies + 1, 15000));
    berth_nproxy_get_stats(l.proxy, &after);
    EXPECT(after.repairs >= 1);
    EXPECT(hit(&l, "10.96.0.50", 80) >= 0);

    traffic_policies(&l, 8);

    /* An apply that fails (its rules file cannot be written) is retried. */
    char blocker[600];
    snprintf(blocker, sizeof blocker, "%s/proxy-berth-proxy.rules", l.host->data_dir);
    unlink(blocker);
    EXPECT(mkdir(blocker, 0700) == 0);
    berth_proxy_table t10 = BERTH_PROXY_TABLE(3, svcs, 10);
    EXPECT(berth_nproxy_sync(l.proxy, &t10) == 0);
    EXPECT(run_until(&l, failures_reached, 1, 5000));
    EXPECT(!applied(&l, 10));
    rmdir(blocker);
    EXPECT(run_until(&l, applied, 10, 15000));

    berth_nproxy_free(l.proxy);
    l.proxy = NULL;
    EXPECT(ipt ? !output_has("iptables-save 2>/dev/null", "BERTH-PROXY")
               : !output_has("nft list tables", "berth-proxy"));
    live_close(&l);
    return child_failures ? 1 : 0;
}

/* 1 (with a word on stderr) when this machine cannot run the test. */
static int cannot_run(int iptables)
{
    if (geteuid() == 0 && proxy_have_tool("nft") &&
        (!iptables || proxy_have_tool("iptables-restore")))
        return 0;
    fprintf(stderr, "skipped: needs root, nft%s\n", iptables ? " and iptables-restore" : "");
    return 1;
}

BERTH_TEST(proxy_nft_spreads_rejects_repairs_and_removes) {
    if (!cannot_run(0))
        CHECK_INT(proxy_in_netns(exercise, (void *)(intptr_t)BERTH_NPROXY_NFT), 0);
}

BERTH_TEST(proxy_iptables_spreads_rejects_repairs_and_removes) {
    if (!cannot_run(1))
        CHECK_INT(proxy_in_netns(exercise, (void *)(intptr_t)BERTH_NPROXY_IPTABLES), 0);
}

/* The figures docs/proxy.md quotes: apply 1,000 Services x 10 endpoints,
 * then the time from a one-endpoint sync to its rules being live. */
static int large(void *arg)
{
    berth_nproxy_backend backend = (berth_nproxy_backend)(intptr_t)arg;
    const char *name = backend == BERTH_NPROXY_IPTABLES ? "iptables" : "nft";
    live l;
    proxy_large big;
    if (live_open(&l, backend) < 0 || proxy_large_make(&big, 1000, 10) < 0) {
        live_close(&l);
        return 1;
    }
    berth_nproxy_stats st;
    if (sync_and_wait(&l, big.services, 1000, 1)) {
        berth_nproxy_get_stats(l.proxy, &st);
        printf("%s: 1000 services x 10 endpoints applied in %.1f ms (sync to live %.1f ms)\n",
               name, st.last_apply_ns / 1e6, st.last_sync_to_live_ns / 1e6);
    }
    big.backends[4321].port = 9090;
    if (sync_and_wait(&l, big.services, 1000, 2)) {
        berth_nproxy_get_stats(l.proxy, &st);
        printf("%s: one endpoint changed: sync to live %.1f ms\n", name,
               st.last_sync_to_live_ns / 1e6);
    }
    proxy_large_free(&big);
    live_close(&l);
    return child_failures ? 1 : 0;
}

BERTH_TEST(proxy_applies_a_large_table) {
    if (!cannot_run(0))
        CHECK_INT(proxy_in_netns(large, (void *)(intptr_t)BERTH_NPROXY_NFT), 0);
    if (!cannot_run(1))
        CHECK_INT(proxy_in_netns(large, (void *)(intptr_t)BERTH_NPROXY_IPTABLES), 0);
}
