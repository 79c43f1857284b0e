/* network-host: pods share the node's network. setup makes nothing and
 * answers with the node's address (127.0.0.1 until configure names it) and
 * no namespace; Services still work through the shared service proxy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proxy.h"

typedef struct nh {
    const berth_host *host;
    char node_ip[64];
    berth_nproxy *proxy;
} nh;

static int nh_configure(void *state, const berth_net_node *node)
{
    nh *n = state;
    if (!node || node->size < offsetof(berth_net_node, node_ip) + sizeof(char *))
        return BERTH_EINVAL;
    if (node->node_ip && *node->node_ip)
        snprintf(n->node_ip, sizeof n->node_ip, "%s", node->node_ip);
    return 0;
}

static int nh_status(void *state, berth_net_status *out)
{
    if (!out || out->size < offsetof(berth_net_status, ready) + sizeof out->ready)
        return BERTH_EINVAL;
    out->ready = 1;
    return 0;
}

static int nh_setup(void *state, const berth_net_pod *pod, berth_net_attachment *out)
{
    nh *n = state;
    if (!pod || !out || out->size < offsetof(berth_net_attachment, gateway) + sizeof out->gateway)
        return BERTH_EINVAL;
    out->netns_path[0] = 0;
    snprintf(out->ip, sizeof out->ip, "%s", n->node_ip);
    out->gateway[0] = 0;
    return 0;
}

static int nh_teardown(void *state, const char *pod_uid)
{
    return 0;
}

/* Nothing is set up per pod, so there is nothing to report. */
static int nh_list(void *state, berth_net_list_fn fn, void *arg)
{
    return fn ? 0 : BERTH_EINVAL;
}

/* The node's own routes reach the other nodes. */
static int nh_set_peers(void *state, const berth_net_peer *peers, uint32_t n)
{
    return 0;
}

static int nh_proxy_sync(void *state, const berth_proxy_table *t)
{
    nh *n = state;
    return t ? berth_nproxy_sync(n->proxy, t) : BERTH_EINVAL;
}

static const berth_network_ops ops = {
    .size = sizeof(berth_network_ops),
    .configure = nh_configure,
    .status = nh_status,
    .setup = nh_setup,
    .teardown = nh_teardown,
    .list = nh_list,
    .set_peers = nh_set_peers,
    .proxy_sync = nh_proxy_sync,
};

static int nh_init(const berth_host *h, void **state, const void **out)
{
    if (h->size < BERTH_HOST_V1_SIZE)
        return BERTH_EABI;
    nh *n = calloc(1, sizeof *n);
    if (!n)
        return BERTH_ENOMEM;
    n->host = h;
    snprintf(n->node_ip, sizeof n->node_ip, "127.0.0.1");
    berth_nproxy_opts po = {.host = h, .name = "berth-proxy"};
    int err = berth_nproxy_new(&po, &n->proxy);
    if (err < 0) {
        h->log(h, BERTH_PLOG_ERROR, "cannot start the service proxy (error %d)", err);
        free(n);
        return err;
    }
    *state = n;
    *out = &ops;
    return 0;
}

static void nh_fini(void *state)
{
    nh *n = state;
    berth_nproxy_free(n->proxy);
    free(n);
}

BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
    BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin), "network-host",
    BERTH_PLUGIN_NETWORK,   nh_init,                nh_fini,
};
