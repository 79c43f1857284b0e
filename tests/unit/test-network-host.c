/* network-host: pods share the node's network, so setup makes nothing and
 * answers with the node's address. Isolated anyway: its service proxy may
 * touch nftables. */
#include <string.h>

#include "net-env.h"
#include "test.h"

static int count_listed(void *arg, const char *uid, const char *ip)
{
    ++*(int *)arg;
    return 0;
}

static void shares_the_node_network(void *arg)
{
    net_env e;
    CHECK_INT(net_env_open(&e, "host", "unused"), 0);
    if (!e.ops)
        return;
    CHECK_INT(e.ops->size, sizeof(berth_network_ops));
    berth_net_status st = {.size = sizeof st};
    CHECK_INT(e.ops->status(e.state, &st), 0);
    CHECK_INT(st.ready, 1);
    berth_net_pod pod = {.size = sizeof pod, .pod_uid = "pod-a"};
    berth_net_attachment att = {.size = sizeof att};
    CHECK_INT(e.ops->setup(e.state, &pod, &att), 0);
    CHECK_STR(att.netns_path, "");
    CHECK_STR(att.ip, "127.0.0.1");
    berth_net_node node = {.size = sizeof node, .node_name = "node-a", .node_ip = "192.168.5.5"};
    CHECK_INT(e.ops->configure(e.state, &node), 0);
    att = (berth_net_attachment){.size = sizeof att};
    CHECK_INT(e.ops->setup(e.state, &pod, &att), 0);
    CHECK_STR(att.ip, "192.168.5.5");
    CHECK_STR(att.gateway, "");
    int listed = 0;
    CHECK_INT(e.ops->list(e.state, count_listed, &listed), 0);
    CHECK_INT(listed, 0);
    berth_net_peer peer = {sizeof peer, "node-b", "192.168.5.6", "10.244.1.0/24"};
    CHECK_INT(e.ops->set_peers(e.state, &peer, 1), 0);
    berth_proxy_table t = BERTH_PROXY_TABLE(0, NULL, 1);
    CHECK_INT(e.ops->proxy_sync(e.state, &t), 0);
    CHECK_INT(e.ops->teardown(e.state, "pod-a"), 0);
    net_env_close(&e);
}

BERTH_TEST(network_host_shares_the_node_network) {
    net_isolated(shares_the_node_network, NULL);
}
