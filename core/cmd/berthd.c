/* berthd: the berth daemon. `berthd server` runs the API server on the
 * embedded store, in one event loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "berth/api.h"
#include "berth/berth.h"
#include "berth/client.h"
#include "agent/agent.h"
#include "client/cluster-config.h"
#include "client/leader.h"
#include "dns/dns.h"
#include "lua/host.h"
#include "lua/standalone.h"
#include "sched/run.h"
#include "store/migrate.h"
#include "util/fs.h"

/* The stock controllers, unless built with another location. */
#ifndef BERTH_STOCK_CONTROLLERS
#define BERTH_STOCK_CONTROLLERS "/usr/share/berth/controllers"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: berthd server [--data-dir DIR] [--listen ADDR:PORT] [--controllers DIR]\n"
               "                    [--store embedded|etcd --etcd-endpoints URL[,URL...]]\n"
               "       berthd controllers --kubeconfig FILE [--controllers DIR]\n"
               "       berthd scheduler --kubeconfig FILE [--config FILE]\n"
               "       berthd agent --kubeconfig FILE [--runtime NAME] [--nodes N] (see berthd agent -h)\n"
               "       berthd store export|import ...  (berthd store --help)\n"
               "       berthd version\n"
               "\n"
               "  --controllers DIR   also load the Lua controllers in DIR (repeatable)\n"
               "  --no-controllers    run no controllers in this server\n"
               "  --no-scheduler      run no scheduler in this server\n"
               "  --no-agent          run no node agent in this server (a control plane alone)\n"
               "  --runtime NAME      the agent's container runtime (default process)\n"
               "  --plugin-dir DIR    where runtime plugins are looked for first\n"
               "  --node-name NAME    the agent's node name (default: the host name)\n"
               "  --node-ip IP        the node's InternalIP (default: its first non-loopback\n"
               "                      address)\n"
               "  --network NAME      the agent's pod network plugin: bridge (default) or host\n"
               "  --pod-network-cidr CIDR  each node gets a /24 of it for its pods (default\n"
               "                      10.244.0.0/16)\n"
               "  --leader-elect      run controllers and scheduler only while holding the\n"
               "                      Lease kube-system/berth-controllers (default with etcd;\n"
               "                      --no-leader-elect turns it off)\n"
               "  --scheduler-config FILE  the scheduler's configuration "
               "(docs/scheduler.md)\n"
               "  --data-dir DIR      state, admin token and kubeconfig (default "
               "/var/lib/berth)\n"
               "  --listen ADDR:PORT  where the API is served (default 127.0.0.1:6443)\n"
               "  --watch-history N   events kept for watches to resume from (default "
               "100000)\n"
               "  --max-requests-inflight N  writes in flight before 429 (default 10000)\n"
               "  --bookmark-interval SEC    between watch bookmarks (default 60)\n"
               "  --service-cidr CIDR Service ClusterIPs come from here (default "
               "10.96.0.0/12)\n"
               "  --dns-listen ADDR:PORT  the cluster DNS server (default 127.0.0.1:10053;\n"
               "                      a node serves it on its own address)\n"
               "  --dns-upstream ADDR[:PORT][,...]  where other names go (default: the\n"
               "                      nameservers of /etc/resolv.conf)\n"
               "  --no-dns            run no DNS server\n"
               "  --store KIND        embedded (default: DIR/store) or etcd\n"
               "  --etcd-endpoints URLS  etcd client URLs, comma-separated\n");
}

typedef struct daemon_state {
    struct event_base *base;
    berth_api *api;
    berth_client *client;  /* the controllers' connection to this server */
    berth_ctrl_host *host; /* the Lua controllers */
    berth_client *sched_client; /* the scheduler's connection to this server */
    berth_scheduler *sched;
    /* What the controllers and the scheduler need to (re)start when this
     * server becomes the leader: */
    berth_kubeconfig self;     /* this server over loopback, admin token */
    const char *const *ctrl_dirs; /* NULL: no controllers */
    bool scheduler;
    const char *sched_config;
    berth_client *dns_client; /* the DNS server's connection to this server */
    berth_client *boot_client; /* writes the cluster ConfigMap and kube-dns */
    berth_dns *dns;
    berth_dns_endpoints *dns_endpoints; /* this server's address in kube-dns */
    berth_agent *agent;        /* the local node agent; owns its client */
    berth_client *leader_client;
    berth_leader *leader;      /* NULL without leader election */
    char identity[300];
    struct event *deadline;
    int stopping;
} daemon_state;

static void drained(void *arg)
{
    daemon_state *d = arg;
    /* Give the last replies a moment to leave the socket buffers. */
    struct timeval tv = {0, 100000};
    event_base_loopexit(d->base, &tv);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    daemon_state *d = arg;
    BERTH_WARN("berthd", "requests still in flight after 10s; stopping anyway");
    event_base_loopbreak(d->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_state *d = arg;
    if (d->stopping++) {
        event_base_loopbreak(d->base);
        return;
    }
    BERTH_INFO("berthd", "%s: finishing writes in flight and closing watches",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
    struct timeval tv = {10, 0};
    d->deadline = evtimer_new(d->base, on_deadline, d);
    evtimer_add(d->deadline, &tv);
    berth_api_shutdown(d->api, drained, d);
}

/* One server per data dir: an flock on DIR/berthd.lock, held for the life
 * of the process, with our pid inside for the message of the next one. */
static int lock_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/berthd.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "berthd: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        if (n > 0)
            pid[n] = 0;
        pid[strcspn(pid, "\n")] = 0;
        fprintf(stderr,
                "berthd: another berthd server (pid %s) is already using the data dir %s; "
                "stop it first or pass a different --data-dir\n",
                pid[0] ? pid : "unknown", dir);
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        BERTH_WARN("berthd", "cannot record the pid in %s", path);
    return fd;
}

static cJSON *controller_stats(void *arg)
{
    daemon_state *d = arg;
    return berth_ctrl_host_stats(d->host);
}

/* The controllers talk to this server as any client would, over its own
 * loopback listener with the admin credentials: one code path for
 * in-process and standalone (`berthd controllers`) controllers. */
/* The controllers and the scheduler are clients of this server over its
 * own loopback listener with the admin credentials: one code path for
 * in-process and standalone components. */
static int self_kubeconfig(daemon_state *d, const char *addr, const char *token,
                           const char *ca_pem, const char *local_socket)
{
    char url[320];
    if (local_socket) {
        /* Plain http over the data dir's socket: no TLS on our own calls. */
        d->self.unix_socket = strdup(local_socket);
        d->self.server = strdup("http://127.0.0.1");
        d->self.token = strdup(token);
        d->self.ns = strdup("default");
        return d->self.unix_socket && d->self.server && d->self.token && d->self.ns
                   ? 0
                   : BERTH_ENOMEM;
    }
    bool any = !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::") || !addr[0];
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(url, sizeof url, "https://%s%s%s:%u", v6 && !any ? "[" : "",
             any ? "127.0.0.1" : addr, v6 && !any ? "]" : "", berth_api_port(d->api));
    d->self.server = strdup(url);
    d->self.token = strdup(token);
    d->self.ns = strdup("default");
    d->self.ca_pem = ca_pem ? (unsigned char *)strdup(ca_pem) : NULL;
    d->self.ca_pem_len = ca_pem ? strlen(ca_pem) : 0;
    return d->self.server && d->self.token && d->self.ns && (!ca_pem || d->self.ca_pem)
               ? 0
               : BERTH_ENOMEM;
}

static int start_controllers(daemon_state *d)
{
    int err = berth_client_remote_new(d->base, &d->self, &d->client);
    if (err)
        return err;
    berth_ctrl_host_opts o = {.base = d->base, .client = d->client, .dirs = d->ctrl_dirs};
    if ((err = berth_ctrl_host_start(&o, &d->host)) != 0)
        return err;
    berth_api_set_debug(d->api, "controllers", controller_stats, d);
    return 0;
}

static cJSON *scheduler_stats(void *arg)
{
    daemon_state *d = arg;
    return berth_scheduler_stats(d->sched);
}

static int start_scheduler(daemon_state *d)
{
    char err[512] = "";
    berth_sched_config *cfg = NULL;
    int rc = d->sched_config ? berth_scheduler_config_load(d->sched_config, &cfg, err,
                                                           sizeof err)
                             : 0;
    if (rc == 0)
        rc = berth_client_remote_new(d->base, &d->self, &d->sched_client);
    if (rc == 0) {
        berth_scheduler_opts o = {.base = d->base, .client = d->sched_client, .cfg = cfg};
        rc = berth_scheduler_start(&o, &d->sched, err, sizeof err);
    }
    berth_sched_config_free(cfg);
    if (rc != 0 && err[0])
        fprintf(stderr, "berthd: %s\n", err);
    if (rc == 0)
        berth_api_set_debug(d->api, "scheduler", scheduler_stats, d);
    return rc;
}

/* Stops the controllers and the scheduler: each client first (it drops the
 * calls in flight), then what used it. */
static void stop_components(daemon_state *d)
{
    if (d->api) {
        berth_api_set_debug(d->api, "controllers", NULL, NULL);
        berth_api_set_debug(d->api, "scheduler", NULL, NULL);
    }
    berth_client_free(d->client);
    berth_ctrl_host_free(d->host);
    berth_client_free(d->sched_client);
    berth_scheduler_free(d->sched);
    d->client = d->sched_client = NULL;
    d->host = NULL;
    d->sched = NULL;
}

static int start_components(daemon_state *d)
{
    int err;
    if (d->ctrl_dirs && (err = start_controllers(d)) != 0) {
        fprintf(stderr, "berthd: cannot start the controllers: %s\n", berth_strerror(err));
        return err;
    }
    if (d->scheduler && (err = start_scheduler(d)) != 0) {
        fprintf(stderr, "berthd: cannot start the scheduler: %s\n", berth_strerror(err));
        return err;
    }
    return 0;
}

/* The local node agent, on its own client like the controllers. A runtime
 * that cannot start (the process runtime needs root) leaves a control plane
 * without a node rather than no server at all. Every server runs its agent:
 * it is not subject to leader election. */
/* The local pod network is up: serve DNS where pods reach this node and
 * keep that address in the kube-dns Endpoints. */
static void on_network_ready(void *arg, const char *node_name, const char *node_addr)
{
    daemon_state *d = arg;
    char err[300] = "";
    if (!d->dns)
        return;
    if (berth_dns_listen(d->dns, node_addr, err, sizeof err) != 0) {
        BERTH_WARN("berthd", "pods get no cluster DNS: %s", err);
        return;
    }
    BERTH_INFO("berthd", "serving cluster DNS to pods on %s:%u", node_addr,
               berth_dns_port(d->dns));
    berth_dns_endpoints_free(d->dns_endpoints);
    d->dns_endpoints = NULL;
    int rc = berth_dns_endpoints_start(d->base, d->boot_client, node_name, node_addr,
                                       berth_dns_port(d->dns), &d->dns_endpoints);
    if (rc)
        BERTH_WARN("berthd", "cannot publish the cluster DNS address: %s", berth_strerror(rc));
}

typedef struct agent_args {
    const char *runtime, *plugin_dir, *node_name, *node_ip, *network;
} agent_args;

static void start_agent(daemon_state *d, const char *dir, const agent_args *aa)
{
    berth_client *c = NULL;
    int err = berth_client_remote_new(d->base, &d->self, &c);
    berth_agent_opts o = {.base = d->base, .client = c, .data_dir = dir, .runtime = aa->runtime,
                          .plugin_dir = aa->plugin_dir, .node_name = aa->node_name,
                          .node_ip = aa->node_ip, .network = aa->network,
                          .network_ready = on_network_ready, .network_ready_arg = d};
    if (!err && (err = berth_agent_start(&o, &d->agent)) != 0)
        c = NULL; /* the agent freed it */
    if (err) {
        berth_client_free(c);
        BERTH_WARN("berthd", "no node agent in this server: %s (the process runtime needs "
                             "root; --no-agent silences this)", berth_strerror(err));
        return;
    }
    berth_api_set_pod_backend(d->api, berth_agent_pod_backend(), d->agent);
}

static void on_elected(void *arg)
{
    daemon_state *d = arg;
    if (start_components(d) != 0)
        stop_components(d); /* the lease lapses; another server may do better */
}

static void on_deposed(void *arg)
{
    stop_components(arg);
}

static cJSON *leader_stats(void *arg)
{
    daemon_state *d = arg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "identity", d->identity);
    cJSON_AddBoolToObject(o, "leading", d->leader ? berth_leader_is_leader(d->leader) : true);
    cJSON_AddBoolToObject(o, "elected", d->leader != NULL);
    return o;
}

typedef struct election_opts {
    bool enabled;
    int lease_seconds, renew_ms, retry_ms;
} election_opts;

/* Without election this server runs its components at once; with it, only
 * while it holds the Lease kube-system/berth-controllers. */
static int start_or_campaign(daemon_state *d, const election_opts *e)
{
    berth_api_set_debug(d->api, "leader", leader_stats, d);
    if (!e->enabled)
        return start_components(d);
    int err = berth_client_remote_new(d->base, &d->self, &d->leader_client);
    if (err)
        return err;
    berth_leader_opts lo = {.base = d->base, .client = d->leader_client,
                            .ns = "kube-system", .name = "berth-controllers",
                            .identity = d->identity, .lease_seconds = e->lease_seconds,
                            .renew_deadline_ms = e->renew_ms, .retry_ms = e->retry_ms,
                            .started = on_elected, .stopped = on_deposed, .arg = d};
    return berth_leader_start(&lo, &d->leader);
}

static int parse_listen(const char *s, char *addr, size_t size, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= size)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return -1;
    size_t n = (size_t)(colon - s);
    if (s[0] == '[' && colon[-1] == ']') { /* [::1]:6443 */
        s++;
        n -= 2;
    }
    memcpy(addr, s, n);
    addr[n] = 0;
    *port = (uint16_t)p;
    return 0;
}

/* The cluster DNS server runs in every server, leader or not: it only
 * reads. A node would point it at its own address (docs/network.md). */
/* listen NULL: the default address, where failing is only a warning. */
static int start_dns(daemon_state *d, const char *listen, const char *upstream)
{
    char addr[256], err[300] = "";
    uint16_t port;
    bool chosen = listen != NULL;
    if (!listen)
        listen = "127.0.0.1:10053";
    if (parse_listen(listen, addr, sizeof addr, &port) != 0) {
        fprintf(stderr, "berthd: --dns-listen wants ADDR:PORT, not '%s'\n", listen);
        return BERTH_EINVAL;
    }
    int rc = berth_client_remote_new(d->base, &d->self, &d->dns_client);
    if (rc == 0) {
        berth_dns_options o = {.base = d->base, .client = d->dns_client, .addr = addr,
                               .port = port, .upstream = upstream};
        rc = berth_dns_start(&o, &d->dns, err, sizeof err);
    }
    if (rc && chosen) {
        fprintf(stderr, "berthd: cannot start the DNS server: %s\n",
                err[0] ? err : berth_strerror(rc));
    } else if (rc) {
        /* The default port may be another server's on the same host: that
         * is no reason to refuse to serve the API. */
        BERTH_WARN("berthd", "no cluster DNS: %s", err[0] ? err : berth_strerror(rc));
        berth_client_free(d->dns_client);
        d->dns_client = NULL;
    } else
        BERTH_INFO("berthd", "serving cluster DNS on %s:%u (udp and tcp)", addr,
                   berth_dns_port(d->dns));
    return rc;
}

/* The store behind the API: the embedded one in DIR/store, or etcd. */
static int open_store(const char *kind, const char *endpoints, const char *dir,
                      struct event_base *base, long history, berth_store **out)
{
    if (!strcmp(kind, "etcd")) {
        if (!endpoints) {
            fprintf(stderr, "berthd: --store etcd needs --etcd-endpoints URL[,URL...]\n");
            return BERTH_EINVAL;
        }
        berth_etcd_options eo = {.endpoints = endpoints, .base = base};
        int err = berth_store_etcd_open(&eo, out);
        if (err)
            fprintf(stderr, "berthd: cannot open the etcd store at %s: %s\n", endpoints,
                    berth_strerror(err));
        return err;
    }
    if (strcmp(kind, "embedded") != 0) {
        fprintf(stderr, "berthd: --store wants embedded or etcd, not '%s'\n", kind);
        return BERTH_EINVAL;
    }
    char storedir[4096];
    snprintf(storedir, sizeof storedir, "%s/store", dir);
    berth_mem_options mo = {.dir = storedir, .base = base,
                            .history = history > 0 ? (size_t)history : 0};
    int err = berth_store_mem_open(&mo, out);
    if (err)
        fprintf(stderr, "berthd: cannot open the store in %s: %s\n", storedir,
                berth_strerror(err));
    return err;
}

/* What every node needs to know of the cluster, in the ConfigMap
 * kube-system/berth-cluster (read by the node-ipam controller and the
 * agents), and the kube-dns Service pods resolve names through. */
static int publish_cluster(daemon_state *d, const char *pod_cidr, const char *service_cidr)
{
    char dns_ip[64] = "";
    int err = berth_client_remote_new(d->base, &d->self, &d->boot_client);
    if (err)
        return err;
    if (d->dns && berth_dns_default_ip(service_cidr, dns_ip, sizeof dns_ip) != 0)
        dns_ip[0] = 0;
    berth_cluster_config cfg = {.pod_network_cidr = pod_cidr, .service_cidr = service_cidr,
                                .cluster_dns = dns_ip};
    err = berth_cluster_config_publish(d->boot_client, &cfg);
    if (!err && dns_ip[0])
        err = berth_dns_publish(d->boot_client, dns_ip, berth_dns_port(d->dns));
    return err;
}

static int run_server(int argc, char **argv)
{
    const char *dir = "/var/lib/berth";
    const char *listen = "127.0.0.1:6443";
    const char *store_kind = "embedded", *etcd_endpoints = NULL;
    const char *service_cidr = "10.96.0.0/12";
    const char *dns_listen = NULL, *dns_upstream = NULL;
    bool dns = true;
    long history = 0, inflight = 0, bookmarks = 0;
    const char *ctrl_dirs[18] = {BERTH_STOCK_CONTROLLERS};
    int nctrl_dirs = 1;
    bool controllers = true, scheduler = true, elect_set = false, agent = true;
    agent_args aa = {.runtime = "process"};
    const char *pod_cidr = "10.244.0.0/16";
    const char *sched_config = NULL;
    election_opts election = {0};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--controllers") && i + 1 < argc && nctrl_dirs < 17)
            ctrl_dirs[nctrl_dirs++] = argv[++i];
        else if (!strcmp(argv[i], "--no-controllers"))
            controllers = false;
        else if (!strcmp(argv[i], "--no-scheduler"))
            scheduler = false;
        else if (!strcmp(argv[i], "--no-agent"))
            agent = false;
        else if (!strcmp(argv[i], "--runtime") && i + 1 < argc)
            aa.runtime = argv[++i];
        else if (!strcmp(argv[i], "--plugin-dir") && i + 1 < argc)
            aa.plugin_dir = argv[++i];
        else if (!strcmp(argv[i], "--node-name") && i + 1 < argc)
            aa.node_name = argv[++i];
        else if (!strcmp(argv[i], "--node-ip") && i + 1 < argc)
            aa.node_ip = argv[++i];
        else if (!strcmp(argv[i], "--network") && i + 1 < argc)
            aa.network = strcmp(argv[++i], "none") ? argv[i] : "";
        else if (!strcmp(argv[i], "--pod-network-cidr") && i + 1 < argc)
            pod_cidr = argv[++i];
        else if (!strcmp(argv[i], "--scheduler-config") && i + 1 < argc)
            sched_config = argv[++i];
        else if (!strcmp(argv[i], "--leader-elect") || !strcmp(argv[i], "--no-leader-elect")) {
            election.enabled = !strcmp(argv[i], "--leader-elect");
            elect_set = true;
        } else if (!strcmp(argv[i], "--leader-lease-seconds") && i + 1 < argc)
            election.lease_seconds = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--leader-renew-ms") && i + 1 < argc)
            election.renew_ms = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--leader-retry-ms") && i + 1 < argc)
            election.retry_ms = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--data-dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strncmp(argv[i], "--data-dir=", 11))
            dir = argv[i] + 11;
        else if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen = argv[++i];
        else if (!strncmp(argv[i], "--listen=", 9))
            listen = argv[i] + 9;
        else if (!strcmp(argv[i], "--dns-listen") && i + 1 < argc)
            dns_listen = argv[++i];
        else if (!strcmp(argv[i], "--dns-upstream") && i + 1 < argc)
            dns_upstream = argv[++i];
        else if (!strcmp(argv[i], "--no-dns"))
            dns = false;
        else if (!strcmp(argv[i], "--service-cidr") && i + 1 < argc)
            service_cidr = argv[++i];
        else if (!strcmp(argv[i], "--store") && i + 1 < argc)
            store_kind = argv[++i];
        else if (!strcmp(argv[i], "--etcd-endpoints") && i + 1 < argc)
            etcd_endpoints = argv[++i];
        else if (!strcmp(argv[i], "--watch-history") && i + 1 < argc)
            history = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--bookmark-interval") && i + 1 < argc)
            bookmarks = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--max-requests-inflight") && i + 1 < argc)
            inflight = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "berthd server: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    char addr[256];
    uint16_t port;
    if (parse_listen(listen, addr, sizeof addr, &port) != 0) {
        fprintf(stderr, "berthd server: --listen wants ADDR:PORT (like 127.0.0.1:6443), "
                        "not '%s'\n", listen);
        return 2;
    }
    if (berth_mkdirs(dir, 0700) != 0) {
        fprintf(stderr, "berthd: cannot create the data dir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int lockfd = lock_dir(dir);
    if (lockfd < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    daemon_state d = {0};
    berth_store *store = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    struct ssl_ctx_st *tls = NULL;
    char *ca_pem = NULL;
    char token[160], server[320];
    d.base = event_base_new();
    int err = d.base ? open_store(store_kind, etcd_endpoints, dir, d.base, history, &store)
                     : BERTH_ENOMEM;
    if (err)
        goto out;
    if ((err = berth_api_admin_token(dir, token, sizeof token)) != 0) {
        fprintf(stderr, "berthd: cannot set up the admin token in %s: %s\n", dir,
                berth_strerror(err));
        goto out;
    }
    if ((err = berth_api_tls_setup(dir, addr, &tls, &ca_pem)) != 0) {
        fprintf(stderr, "berthd: cannot set up TLS in %s/pki: %s\n", dir,
                berth_strerror(err));
        goto out;
    }
    /* The in-process components' own socket; a data dir too deep for a
     * socket path keeps them on the TLS listener. */
    char local_socket[108] = "";
    if (snprintf(local_socket, sizeof local_socket, "%s/api.sock", dir) >=
        (int)sizeof local_socket)
        local_socket[0] = 0;
    berth_api_options ao = {.base = d.base, .store = store, .addr = addr, .port = port,
                            .token = token, .tls = tls, .service_cidr = service_cidr,
                            .local_socket = local_socket[0] ? local_socket : NULL,
                            .max_inflight = inflight > 0 ? (unsigned)inflight : 0,
                            .bookmark_interval = bookmarks > 0 ? (int)bookmarks : 0};
    if ((err = berth_api_start(&ao, &d.api)) != 0) {
        fprintf(stderr, "berthd: cannot serve on %s: %s\n", listen, berth_strerror(err));
        goto out;
    }
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(server, sizeof server, "https://%s%s%s:%u", v6 ? "[" : "", addr, v6 ? "]" : "",
             berth_api_port(d.api));
    if ((err = berth_api_write_kubeconfig(dir, server, ca_pem, token)) != 0) {
        fprintf(stderr, "berthd: cannot write %s/admin.kubeconfig: %s\n", dir,
                berth_strerror(err));
        goto out;
    }
    /* Several servers share one etcd: elect who runs the controllers. */
    if (!elect_set)
        election.enabled = !strcmp(store_kind, "etcd");
    d.ctrl_dirs = controllers ? ctrl_dirs : NULL;
    d.scheduler = scheduler;
    d.sched_config = sched_config;
    char host[256] = "berthd";
    gethostname(host, sizeof host - 1);
    snprintf(d.identity, sizeof d.identity, "%s_%ld_%u", host, (long)getpid(),
             berth_api_port(d.api));
    if ((err = self_kubeconfig(&d, addr, token, ca_pem, local_socket[0] ? local_socket : NULL)) != 0 ||
        (dns && (err = start_dns(&d, dns_listen, dns_upstream)) != 0 && dns_listen) ||
        (err = publish_cluster(&d, pod_cidr, service_cidr)) != 0 ||
        (err = start_or_campaign(&d, &election)) != 0) {
        fprintf(stderr, "berthd: cannot start the controllers and scheduler: %s\n",
                berth_strerror(err));
        goto out;
    }
    if (agent)
        start_agent(&d, dir, &aa);
    explicit_bzero(token, sizeof token);
    sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
    sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    BERTH_INFO("berthd", "ready: serving the Kubernetes API on %s (data dir %s, "
                         "kubeconfig %s/admin.kubeconfig)", server, dir, dir);
    event_base_dispatch(d.base);
    rc = 0;
out:
    /* Every client first: each drops its calls in flight; then the store,
     * whose last write callbacks still answer clients. */
    berth_client_free(d.dns_client);
    berth_dns_endpoints_free(d.dns_endpoints); /* before its client */
    berth_client_free(d.boot_client);
    berth_dns_free(d.dns);
    berth_agent_free(d.agent);
    berth_client_free(d.leader_client);
    berth_leader_free(d.leader); /* stops the components when leading */
    stop_components(&d);
    if (d.self.token)
        explicit_bzero(d.self.token, strlen(d.self.token));
    berth_kubeconfig_free(&d.self);
    berth_store_close(store);
    berth_api_free(d.api);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (d.deadline)
        event_free(d.deadline);
    if (d.base)
        event_base_free(d.base);
    SSL_CTX_free(tls);
    free(ca_pem);
    close(lockfd);
    if (rc == 0)
        BERTH_INFO("berthd", "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("berthd %s (Kubernetes API %s)\n", BERTH_VERSION, BERTH_KUBE_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "server") == 0)
        return run_server(argc, argv);
    if (argc > 1 && strcmp(argv[1], "scheduler") == 0)
        return berth_scheduler_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "store") == 0)
        return berth_store_migrate_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "agent") == 0)
        return berth_agent_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "controllers") == 0)
        return berth_controllers_main(argc - 2, argv + 2, BERTH_STOCK_CONTROLLERS);
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
