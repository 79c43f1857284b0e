/* network-bridge: configure brings up the node side (a bridge holding the
 * pod range's first address, IPv4 forwarding, masquerade for traffic
 * leaving the pod network); pods.c attaches pods to it. Pods' namespaces
 * and links outlive the agent; fini removes the node side only when no pod
 * is left, so a clean shutdown leaves nothing behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/netlink.h"
#include "nb.h"

int nb_nl_fail(nb *n, int err, const char *what, const char *name)
{
    NB_LOG(n, BERTH_PLOG_ERROR, "%s %s: %s", what, name, strerror(-err));
    snprintf(n->problem, sizeof n->problem, "%s %s: %s", what, name, strerror(-err));
    return err == -EPERM || err == -EACCES ? BERTH_EFORBIDDEN : BERTH_EIO;
}

/* Link names obey the same rule as file names here, only shorter. */
static int valid_ifname(const char *s)
{
    return berth_ipam_owner_valid(s) && strlen(s) < IF_NAMESIZE;
}

/* Whether the link exists and is administratively up. */
static int link_is_up(const char *name)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    int up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    close(fd);
    return up;
}

/* DIR/bridge-cidr: the range the bridge's gateway belongs to. */
static void bridge_cidr_load(nb *n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bridge-cidr", n->dir);
    FILE *f = fopen(path, "re");
    if (f && fgets(n->bridge_cidr, sizeof n->bridge_cidr, f))
        n->bridge_cidr[strcspn(n->bridge_cidr, "\n")] = 0;
    if (f)
        fclose(f);
}

static void bridge_cidr_save(nb *n)
{
    char path[PATH_MAX - 8], tmp[PATH_MAX]; /* n->dir leaves room for both */
    snprintf(path, sizeof path, "%s/bridge-cidr", n->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    int ok = f && fprintf(f, "%s\n", n->pod_cidr) > 0;
    ok = f && fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        snprintf(n->bridge_cidr, sizeof n->bridge_cidr, "%s", n->pod_cidr);
    else
        NB_LOG(n, BERTH_PLOG_WARN, "cannot record the bridge's range in %s", path);
}

/* The bridge with the gateway address, up. An existing link of that name
 * is taken as ours. The gateway of the range it had before (even before a
 * restart) is removed when the range moved. */
static int bridge_up(nb *n)
{
    const char *old_cidr = n->bridge_cidr;
    berth_nl nl;
    int err = berth_nl_open(&nl);
    if (err < 0)
        return nb_nl_fail(n, err, "cannot open a netlink socket for", n->bridge);
    int idx = (int)if_nametoindex(n->bridge);
    if (!idx) {
        err = berth_nl_link_add(&nl, n->bridge, "bridge");
        if (err < 0 && err != -EEXIST) {
            berth_nl_close(&nl);
            return nb_nl_fail(n, err, "cannot create bridge", n->bridge);
        }
        idx = (int)if_nametoindex(n->bridge);
    }
    struct in_addr old_net;
    int old_prefix;
    if (old_cidr[0] && strcmp(old_cidr, n->pod_cidr) != 0 &&
        berth_cidr_parse(old_cidr, &old_net, &old_prefix) == 0) {
        struct in_addr old_gw = {htonl(ntohl(old_net.s_addr) + 1)};
        berth_nl_addr_del(&nl, idx, old_gw, old_prefix);
    }
    const char *what = "cannot add the gateway address to bridge";
    err = berth_nl_addr_add(&nl, idx, berth_ipam_gateway(&n->ipam), n->ipam.prefix);
    if (err == 0 && strcmp(n->bridge_cidr, n->pod_cidr) != 0)
        bridge_cidr_save(n);
    if (err == 0) {
        what = "cannot bring up bridge";
        err = berth_nl_link_up(&nl, idx);
    }
    berth_nl_close(&nl);
    return err < 0 ? nb_nl_fail(n, err, what, n->bridge) : 0;
}

/* ip_forward is per network namespace: /proc/sys/net shows the caller's. */
static int enable_forwarding(nb *n)
{
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, "1\n", 2) == 2;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (ok)
        return 0;
    NB_LOG(n, BERTH_PLOG_ERROR, "cannot enable IPv4 forwarding: %s", strerror(e));
    snprintf(n->problem, sizeof n->problem, "cannot enable IPv4 forwarding: %s", strerror(e));
    return BERTH_EIO;
}

/* Copies an optional CIDR after checking it; "" for NULL. */
static int take_cidr(nb *n, char *dst, size_t len, const char *src, const char *what)
{
    struct in_addr net;
    int prefix;
    if (src && (strlen(src) >= len || berth_cidr_parse(src, &net, &prefix) < 0)) {
        NB_LOG(n, BERTH_PLOG_ERROR, "%s \"%s\" is not an IPv4 CIDR like 10.244.0.0/16", what,
               src);
        return BERTH_EINVAL;
    }
    snprintf(dst, len, "%s", src ? src : "");
    return 0;
}

static int nb_configure(void *state, const berth_net_node *node)
{
    nb *n = state;
    if (!node || node->size < offsetof(berth_net_node, service_cidr) + sizeof(char *))
        return BERTH_EINVAL;
    char cluster[sizeof n->cluster_cidr], service[sizeof n->service_cidr];
    char pod[sizeof n->pod_cidr];
    if (take_cidr(n, cluster, sizeof cluster, node->cluster_cidr, "cluster CIDR") < 0 ||
        take_cidr(n, service, sizeof service, node->service_cidr, "service CIDR") < 0 ||
        take_cidr(n, pod, sizeof pod, node->pod_cidr, "pod CIDR") < 0)
        return BERTH_EINVAL;
    if (pod[0] && berth_ipam_set_range(&n->ipam, pod) < 0) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod CIDR %s: the prefix must be /8 to /30", pod);
        return BERTH_EINVAL;
    }
    snprintf(n->node_name, sizeof n->node_name, "%s", node->node_name ? node->node_name : "");
    snprintf(n->node_ip, sizeof n->node_ip, "%s", node->node_ip ? node->node_ip : "");
    snprintf(n->cluster_cidr, sizeof n->cluster_cidr, "%s", cluster);
    snprintf(n->service_cidr, sizeof n->service_cidr, "%s", service);
    int err = berth_nproxy_set_cluster_cidr(n->proxy, cluster[0] ? cluster : NULL);
    if (err < 0)
        NB_LOG(n, BERTH_PLOG_WARN, "service proxy: cannot set the cluster CIDR (error %d)", err);
    /* A node without a range keeps the one it had: pods may still use it. */
    if (!pod[0])
        return 0;
    snprintf(n->pod_cidr, sizeof n->pod_cidr, "%s", pod);
    n->problem[0] = 0;
    err = bridge_up(n);
    if (err < 0)
        return err;
    int ferr = enable_forwarding(n);
    int nerr = nb_nft_apply(n);
    NB_LOG(n, BERTH_PLOG_INFO, "node %s: pods in %s on bridge %s", n->node_name, n->pod_cidr,
           n->bridge);
    return ferr < 0 ? ferr : nerr;
}

static int nb_status(void *state, berth_net_status *out)
{
    nb *n = state;
    if (!out || out->size < offsetof(berth_net_status, message) + sizeof out->message)
        return BERTH_EINVAL;
    out->ready = 0;
    if (!n->pod_cidr[0]) {
        snprintf(out->reason, sizeof out->reason, "NoPodCIDR");
        snprintf(out->message, sizeof out->message, "node %.200s has no pod CIDR yet",
                 n->node_name[0] ? n->node_name : "(not configured)");
    } else if (!link_is_up(n->bridge)) {
        snprintf(out->reason, sizeof out->reason, "BridgeDown");
        snprintf(out->message, sizeof out->message, "bridge %s is missing or down%s%.200s",
                 n->bridge, n->problem[0] ? ": " : "", n->problem);
    } else {
        out->ready = 1;
        /* Egress problems (masquerade, forwarding) do not stop pods. */
        snprintf(out->message, sizeof out->message, "%s", n->problem);
        /* Pods reach the node at their gateway: the bridge's address. */
        if (out->size >= offsetof(berth_net_status, node_addr) + sizeof out->node_addr) {
            struct in_addr gw = berth_ipam_gateway(&n->ipam);
            inet_ntop(AF_INET, &gw, out->node_addr, sizeof out->node_addr);
        }
    }
    return 0;
}

static int nb_proxy_sync(void *state, const berth_proxy_table *t)
{
    nb *n = state;
    return t ? berth_nproxy_sync(n->proxy, t) : BERTH_EINVAL;
}

static const berth_network_ops ops = {
    .size = sizeof(berth_network_ops),
    .configure = nb_configure,
    .status = nb_status,
    .setup = nb_setup,
    .teardown = nb_teardown,
    .list = nb_list,
    .set_peers = nb_set_peers,
    .proxy_sync = nb_proxy_sync,
};

static int make_dir(nb *n, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", n->dir, name);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot create %s: %s", path, strerror(errno));
        return BERTH_EIO;
    }
    return 0;
}

static void nb_free(nb *n)
{
    berth_nproxy_free(n->proxy);
    free(n->routes);
    free(n);
}

static int nb_init(const berth_host *h, void **state, const void **out)
{
    if (h->size < BERTH_HOST_V1_SIZE)
        return BERTH_EABI;
    if (geteuid() != 0) {
        h->log(h, BERTH_PLOG_ERROR, "network-bridge needs root (links, namespaces, mounts)");
        return BERTH_EFORBIDDEN;
    }
    const char *bridge = h->config(h, "bridge");
    if (bridge && !valid_ifname(bridge)) {
        h->log(h, BERTH_PLOG_ERROR,
               "bridge name \"%s\" is not a link name: 1 to 15 of [A-Za-z0-9_.-], no leading dot",
               bridge);
        return BERTH_EINVAL;
    }
    if (strlen(h->data_dir) >= sizeof ((nb *)0)->dir) {
        h->log(h, BERTH_PLOG_ERROR, "data dir %s is too long", h->data_dir);
        return BERTH_ETOOLARGE;
    }
    nb *n = calloc(1, sizeof *n);
    if (!n)
        return BERTH_ENOMEM;
    n->host = h;
    snprintf(n->dir, sizeof n->dir, "%s", h->data_dir);
    snprintf(n->bridge, sizeof n->bridge, "%s", bridge ? bridge : "berth0");
    char ipam_dir[PATH_MAX];
    snprintf(ipam_dir, sizeof ipam_dir, "%s/ipam", n->dir);
    int err = make_dir(n, "pods");
    if (!err)
        err = make_dir(n, "netns");
    if (!err && (err = berth_ipam_open(&n->ipam, ipam_dir)) < 0)
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot create or read the address store %s", ipam_dir);
    berth_nproxy_opts po = {.host = h, .name = "berth-proxy"};
    if (!err && (err = berth_nproxy_new(&po, &n->proxy)) < 0)
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot start the service proxy (error %d)", err);
    if (!err)
        err = nb_routes_load(n);
    bridge_cidr_load(n);
    if (err < 0) {
        nb_free(n);
        return err;
    }
    *state = n;
    *out = &ops;
    return 0;
}

static void bridge_remove(nb *n)
{
    int idx = (int)if_nametoindex(n->bridge);
    berth_nl nl;
    int err = idx ? berth_nl_open(&nl) : 0;
    if (idx && err == 0) {
        err = berth_nl_link_del(&nl, idx);
        berth_nl_close(&nl);
    }
    if (err < 0 && err != -ENODEV)
        nb_nl_fail(n, err, "cannot remove bridge", n->bridge);
}

/* Pods keep their namespaces and links: the agent may be restarting. */
static void nb_fini(void *state)
{
    nb *n = state;
    if (nb_pod_count(n) == 0) {
        nb_routes_clear(n);
        nb_nft_remove(n);
        bridge_remove(n);
    }
    nb_free(n);
}

BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
    BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin), "network-bridge",
    BERTH_PLUGIN_NETWORK,   nb_init,                nb_fini,
};
