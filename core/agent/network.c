/* The node's network as the agent sees it: the network plugin, what it is
 * told (this Node's pod CIDR from the Node object, the cluster's ranges and
 * DNS address from the ConfigMap kube-system/berth-cluster, the other
 * Nodes' slices as peers), each pod's attachment, its /etc/resolv.conf and
 * /etc/hosts, and the service proxy that follows Services and Endpoints.
 * Without a plugin (simulated nodes) pods share the node's address. */
/* Paths are built in PATH_MAX buffers; see podworker.c. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "client/cluster-config.h"
#include "proxy/proxy.h"
#include "util/fs.h"

#define AREA "agent"

/* ---- What the plugin is told ---- */

static const char *cm_value(const cJSON *cm, const char *key)
{
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cm, "data"), key));
    return v && *v ? v : NULL;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* Reads the cluster's ranges and DNS address from the informer's cache. */
static void read_cluster_config(agent_group *g)
{
    agent_net *net = &g->net;
    const cJSON *cm = g->configmaps ? berth_informer_get(g->configmaps, BERTH_CLUSTER_CONFIG_NS,
                                                         BERTH_CLUSTER_CONFIG_NAME) : NULL;
    copy(net->cluster_cidr, sizeof net->cluster_cidr, cm_value(cm, "podNetworkCIDR"));
    copy(net->service_cidr, sizeof net->service_cidr, cm_value(cm, "serviceCIDR"));
    copy(net->cluster_dns, sizeof net->cluster_dns, cm_value(cm, "clusterDNS"));
    const char *domain = cm_value(cm, "clusterDomain");
    copy(net->domain, sizeof net->domain, domain ? domain : "cluster.local");
}

static void refresh_status(agent_group *g)
{
    agent_net *net = &g->net;
    berth_net_status st;
    bool was = net->ready;
    char addr[64] = "";
    if (berth_network_status(net->plugin, &st) == 0) {
        net->ready = st.ready != 0;
        copy(net->reason, sizeof net->reason, st.reason[0] ? st.reason : "NetworkPluginNotReady");
        copy(net->message, sizeof net->message, st.message);
        copy(addr, sizeof addr, st.node_addr[0] ? st.node_addr : g->nodes[0]->ip);
    } else {
        net->ready = false;
        copy(net->reason, sizeof net->reason, "NetworkPluginNotReady");
        copy(net->message, sizeof net->message, "the network plugin reports no status");
    }
    if (net->ready != was) {
        BERTH_INFO(AREA, "node %s: pod network %s%s%s", g->nodes[0]->name,
                   net->ready ? "ready" : "not ready: ", net->ready ? "" : net->reason,
                   net->ready ? "" : "");
        agent_node_status_changed(g->nodes[0]);
        if (net->ready && g->network_ready)
            g->network_ready(g->network_ready_arg, g->nodes[0]->name, addr);
        /* Pods waiting for the network go on now. */
        const berth_hmap_slot *s;
        for (size_t j = 0; (j = berth_hmap_next(&g->nodes[0]->by_uid, j, &s)) != 0;)
            agent_pod_kick(s->value, 0);
    }
}

/* Tells the plugin what the node is, when anything of it changed. */
static void configure(agent_group *g)
{
    agent_net *net = &g->net;
    agent_node *n = g->nodes[0];
    char key[sizeof net->configured];
    snprintf(key, sizeof key, "%s|%s|%s|%s|%s", n->name, n->ip, net->pod_cidr,
             net->cluster_cidr, net->service_cidr);
    if (!strcmp(key, net->configured))
        return;
    berth_net_node node = {.size = sizeof node, .node_name = n->name, .node_ip = n->ip,
                           .pod_cidr = net->pod_cidr[0] ? net->pod_cidr : NULL,
                           .cluster_cidr = net->cluster_cidr[0] ? net->cluster_cidr : NULL,
                           .service_cidr = net->service_cidr[0] ? net->service_cidr : NULL};
    int rc = berth_network_configure(net->plugin, &node);
    if (rc)
        BERTH_WARN(AREA, "node %s: the network plugin refused its configuration (pod CIDR "
                   "%s): %s", n->name, net->pod_cidr[0] ? net->pod_cidr : "none",
                   berth_strerror(rc));
    else
        copy(net->configured, sizeof net->configured, key);
    refresh_status(g);
}

static const char *internal_ip(const cJSON *node)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, berth_obj_at(node, "status.addresses")) {
        const char *t = berth_obj_str(a, "type");
        if (t && !strcmp(t, "InternalIP"))
            return berth_obj_str(a, "address");
    }
    return NULL;
}

/* Every other Node with a pod CIDR and an address becomes a peer. */
static void update_peers(agent_group *g)
{
    agent_net *net = &g->net;
    const cJSON **nodes = NULL;
    size_t n = berth_informer_list(net->nodes, NULL, &nodes);
    berth_net_peer *peers = n ? calloc(n, sizeof *peers) : NULL;
    uint32_t k = 0;
    char key[4096] = "";
    size_t kl = 0;
    for (size_t i = 0; i < n && peers; i++) {
        const char *name = berth_obj_name(nodes[i]);
        const char *cidr = berth_obj_str(nodes[i], "spec.podCIDR");
        const char *ip = internal_ip(nodes[i]);
        if (!name || !cidr || !ip || !strcmp(name, g->nodes[0]->name))
            continue;
        peers[k++] = (berth_net_peer){sizeof *peers, name, ip, cidr};
        if (kl < sizeof key)
            kl += (size_t)snprintf(key + kl, sizeof key - kl, "%s=%s@%s;", name, cidr, ip);
    }
    /* The key is a cheap change check; a cluster too big for it always syncs. */
    if (kl >= sizeof key || strcmp(key, net->peers_key) != 0) {
        int rc = berth_network_set_peers(net->plugin, peers, k);
        if (rc && rc != BERTH_ENOTSUP)
            BERTH_WARN(AREA, "the network plugin refused the routes to %u other nodes: %s", k,
                       berth_strerror(rc));
        copy(net->peers_key, sizeof net->peers_key, kl < sizeof key ? key : "");
    }
    free(peers);
    free(nodes);
}

static void node_changed(void *arg, const cJSON *obj)
{
    agent_group *g = arg;
    const char *name = berth_obj_name(obj);
    if (name && !strcmp(name, g->nodes[0]->name)) {
        copy(g->net.pod_cidr, sizeof g->net.pod_cidr, berth_obj_str(obj, "spec.podCIDR"));
        configure(g);
    }
    if (berth_informer_synced(g->net.nodes))
        update_peers(g);
}

static void node_updated(void *arg, const cJSON *old, const cJSON *obj)
{
    node_changed(arg, obj);
}

void agent_net_configmap_changed(agent_group *g, const cJSON *cm)
{
    const char *ns = berth_obj_namespace(cm), *name = berth_obj_name(cm);
    if (!g->net.plugin || !ns || !name || strcmp(ns, BERTH_CLUSTER_CONFIG_NS) != 0 ||
        strcmp(name, BERTH_CLUSTER_CONFIG_NAME) != 0)
        return;
    read_cluster_config(g);
    configure(g);
}

/* ---- The service proxy ---- */

static int apply_proxy(void *arg, const berth_proxy_table *t)
{
    agent_group *g = arg;
    int rc = berth_network_proxy_sync(g->net.plugin, t);
    if (rc)
        BERTH_WARN(AREA, "the network plugin could not program %u service ports: %s",
                   t->nservices, berth_strerror(rc));
    return rc;
}

static bool has_proxy(berth_plugin_inst *p)
{
    const berth_network_ops *ops = berth_plugin_inst_ops(p);
    return BERTH_HAS_OP(berth_network_ops, ops, proxy_sync);
}

/* ---- Lifetime ---- */

int agent_net_start(agent_group *g, const char *plugin)
{
    agent_net *net = &g->net;
    if (!plugin || !*plugin || g->nnodes != 1)
        return 0; /* simulated nodes: pods share the node's address */
    int err = berth_plugins_open(g->plugins, BERTH_PLUGIN_NETWORK, plugin, NULL, &net->plugin);
    if (err) {
        BERTH_ERROR(AREA, "cannot load the network plugin %s: %s", plugin,
                    berth_plugins_last_error(g->plugins));
        return err;
    }
    read_cluster_config(g);
    configure(g);
    berth_informer_handler h = {node_changed, node_updated, NULL, g};
    err = berth_informer_new(g->client, g->base, berth_kind_lookup("nodes"), NULL, &net->nodes);
    if (!err && !(err = berth_informer_add_handler(net->nodes, &h)))
        err = berth_informer_start(net->nodes);
    if (!err && has_proxy(net->plugin)) {
        berth_svcproxy_opts po = {.base = g->base, .client = g->client, .apply = apply_proxy,
                                  .arg = g, .node_name = g->nodes[0]->name,
                                  .health_checks = !g->sim};
        err = berth_svcproxy_start(&po, &net->proxy);
    }
    return err;
}

/* The client is already gone: no informer callback comes any more. */
void agent_net_free(agent_group *g)
{
    agent_net *net = &g->net;
    berth_svcproxy_free(net->proxy);
    berth_informer_free(net->nodes);
    if (net->plugin)
        berth_plugin_inst_close(net->plugin);
    memset(net, 0, sizeof *net);
}

bool agent_net_ready(const agent_group *g, const char **reason, const char **message)
{
    if (!g->net.plugin)
        return true;
    *reason = g->net.reason;
    *message = g->net.message;
    return g->net.ready;
}

/* ---- Pods ---- */

static bool host_network(const pod_worker *pw)
{
    return cJSON_IsTrue(berth_obj_at(pw->pod, "spec.hostNetwork"));
}

/* The node's own resolver configuration, for dnsPolicy Default. */
static void host_resolv(FILE *f)
{
    FILE *in = fopen("/etc/resolv.conf", "r");
    char line[512];
    while (in && fgets(line, sizeof line, in))
        fputs(line, f);
    if (in)
        fclose(in);
}

static void write_list(FILE *f, const char *prefix, const cJSON *items, const char *sep)
{
    const cJSON *i;
    bool first = true;
    cJSON_ArrayForEach(i, items) {
        const char *s = cJSON_GetStringValue(i);
        if (!s || !*s || strpbrk(s, "\n\r"))
            continue;
        fprintf(f, "%s%s", first ? prefix : sep, s);
        first = false;
    }
    if (!first)
        fputc('\n', f);
}

/* /etc/resolv.conf as the kubelet writes it: dnsPolicy ClusterFirst (the
 * default) points at the cluster DNS with the namespace's search path and
 * ndots:5; Default copies the node's; None takes only spec.dnsConfig, whose
 * nameservers, searches and options are added under any policy. */
static int write_resolv(pod_worker *pw, const char *path)
{
    agent_net *net = &pw->node->g->net;
    const char *policy = berth_obj_str(pw->pod, "spec.dnsPolicy");
    if (!policy)
        policy = "ClusterFirst";
    bool cluster = (!strcmp(policy, "ClusterFirst") && !host_network(pw)) ||
                   !strcmp(policy, "ClusterFirstWithHostNet");
    if (cluster && !net->cluster_dns[0])
        cluster = false; /* no cluster DNS known: the node's resolvers */
    FILE *f = fopen(path, "w");
    if (!f)
        return BERTH_EIO;
    const cJSON *cfg = berth_obj_at(pw->pod, "spec.dnsConfig");
    if (cluster) {
        fprintf(f, "search %s.svc.%s svc.%s %s", pw->ns, net->domain, net->domain, net->domain);
        write_list(f, " ", berth_obj_at(cfg, "searches"), " ");
        fprintf(f, "\nnameserver %s\n", net->cluster_dns);
        write_list(f, "nameserver ", berth_obj_at(cfg, "nameservers"), "\nnameserver ");
    } else if (!strcmp(policy, "None")) {
        write_list(f, "search ", berth_obj_at(cfg, "searches"), " ");
        write_list(f, "nameserver ", berth_obj_at(cfg, "nameservers"), "\nnameserver ");
    } else {
        host_resolv(f);
        write_list(f, "search ", berth_obj_at(cfg, "searches"), " ");
        write_list(f, "nameserver ", berth_obj_at(cfg, "nameservers"), "\nnameserver ");
    }
    /* One options line, as Kubernetes writes it: ndots:5 for the cluster
     * DNS, then dnsConfig's, each replacing an option of its name. */
    const char *names[32], *values[32];
    int n = 0;
    if (cluster) {
        names[n] = "ndots";
        values[n++] = "5";
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, berth_obj_at(cfg, "options")) {
        const char *name = berth_obj_str(o, "name"), *value = berth_obj_str(o, "value");
        if (!name || !*name || strpbrk(name, " \n\r") || (value && strpbrk(value, " \n\r")))
            continue;
        int i = 0;
        while (i < n && strcmp(names[i], name) != 0)
            i++;
        if (i == n && n == 32)
            continue;
        names[i] = name;
        values[i] = value;
        n += i == n;
    }
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s%s%s", i ? " " : "options ", names[i], values[i] ? ":" : "",
                values[i] ? values[i] : "");
    if (n)
        fputc('\n', f);
    return fclose(f) == 0 ? 0 : BERTH_EIO;
}

/* /etc/hosts: localhost, the pod's own name(s) on its IP, spec.hostAliases. */
static int write_hosts(pod_worker *pw, const char *path)
{
    agent_net *net = &pw->node->g->net;
    FILE *f = fopen(path, "w");
    if (!f)
        return BERTH_EIO;
    fprintf(f, "# Kubernetes-managed hosts file (berth).\n127.0.0.1\tlocalhost\n"
               "::1\tlocalhost ip6-localhost ip6-loopback\n");
    const char *hn = berth_obj_str(pw->pod, "spec.hostname");
    const char *sub = berth_obj_str(pw->pod, "spec.subdomain");
    if (!hn)
        hn = pw->name;
    if (!host_network(pw) && pw->ip[0]) {
        if (sub && *sub)
            fprintf(f, "%s\t%s.%s.%s.svc.%s\t%s\n", pw->ip, hn, sub, pw->ns, net->domain, hn);
        else
            fprintf(f, "%s\t%s\n", pw->ip, hn);
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, berth_obj_at(pw->pod, "spec.hostAliases")) {
        const char *ip = berth_obj_str(a, "ip");
        if (!ip || strpbrk(ip, " \t\n\r"))
            continue;
        fprintf(f, "%s", ip);
        const cJSON *h;
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(a, "hostnames"))
            if (cJSON_IsString(h) && !strpbrk(h->valuestring, " \t\n\r"))
                fprintf(f, "\t%s", h->valuestring);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : BERTH_EIO;
}

void agent_net_etc_path(const pod_worker *pw, const char *file, char *out, size_t len)
{
    char dir[4096];
    agent_pod_dir(pw, dir, sizeof dir);
    snprintf(out, len, "%s/etc/%s", dir, file);
}

int agent_net_pod_setup(pod_worker *pw, char *msg, size_t msglen)
{
    agent_group *g = pw->node->g;
    if (pw->net_done)
        return 0;
    if (!g->net.plugin || host_network(pw)) {
        pw->netns[0] = 0;
        copy(pw->ip, sizeof pw->ip, pw->node->ip);
    } else {
        berth_kv ann[32];
        uint32_t nann = agent_pod_annotations(pw, ann, 32);
        berth_net_pod pod = {.size = sizeof pod, .pod_uid = pw->uid, .pod_namespace = pw->ns,
                             .pod_name = pw->name, .annotations = ann, .nannotations = nann};
        berth_net_attachment at;
        int rc = g->net.ready ? berth_network_setup(g->net.plugin, &pod, &at)
                              : BERTH_EUNAVAILABLE;
        if (rc == 0 && !at.ip[0])
            rc = BERTH_EIO;
        if (rc) {
            if (!g->net.ready)
                snprintf(msg, msglen, "network is not ready: %s: %s", g->net.reason,
                         g->net.message);
            else
                snprintf(msg, msglen, "failed to set up the pod's network: %s",
                         berth_strerror(rc));
            return rc;
        }
        copy(pw->netns, sizeof pw->netns, at.netns_path);
        copy(pw->ip, sizeof pw->ip, at.ip);
        pw->net_attached = true;
    }
    if (g->sim) { /* nothing runs that would read them */
        pw->net_done = true;
        return 0;
    }
    char path[4096];
    agent_net_etc_path(pw, "resolv.conf", path, sizeof path);
    berth_mkdir_parents(path);
    int rc = write_resolv(pw, path);
    agent_net_etc_path(pw, "hosts", path, sizeof path);
    if (!rc)
        rc = write_hosts(pw, path);
    if (rc) {
        snprintf(msg, msglen, "cannot write the pod's resolv.conf and hosts files: %s",
                 strerror(errno));
        return rc;
    }
    pw->net_done = true;
    return 0;
}

void agent_net_pod_teardown(pod_worker *pw)
{
    if (!pw->net_attached)
        return;
    int rc = berth_network_teardown(pw->node->g->net.plugin, pw->uid);
    if (rc)
        BERTH_WARN(AREA, "pod %s: the network plugin could not free its network: %s", pw->key,
                   berth_strerror(rc));
    pw->net_attached = pw->net_done = false;
}

typedef struct net_orphans {
    agent_node *n;
    char (*uids)[64];
    size_t len, cap;
} net_orphans;

static int collect(void *arg, const char *uid, const char *ip)
{
    net_orphans *o = arg;
    if (!uid || berth_hmap_get(&o->n->by_uid, uid))
        return 0;
    if (o->len == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        void *p = realloc(o->uids, cap * sizeof *o->uids);
        if (!p)
            return 1;
        o->uids = p;
        o->cap = cap;
    }
    snprintf(o->uids[o->len++], 64, "%s", uid);
    return 0;
}

/* Networks of pods the API no longer has (deleted while the agent was
 * down) are freed once the pod cache has synced. */
void agent_net_sweep_orphans(agent_node *n)
{
    agent_net *net = &n->g->net;
    if (!net->plugin)
        return;
    net_orphans o = {.n = n};
    berth_network_list(net->plugin, collect, &o);
    for (size_t i = 0; i < o.len; i++) {
        BERTH_INFO(AREA, "node %s: the network of pod %s belongs to no pod of this node; "
                   "freeing it", n->name, o.uids[i]);
        berth_network_teardown(net->plugin, o.uids[i]);
    }
    free(o.uids);
}

const char *agent_pod_ip(const pod_worker *pw)
{
    return pw->ip[0] ? pw->ip : pw->node->ip;
}
