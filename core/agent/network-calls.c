/* Calls into a network plugin, checked like the runtime's (runtime-calls.c):
 * the instance must be a network plugin, the op present in its table, and
 * whatever it returns becomes 0 or a negative BERTH_E* code. Strings the
 * plugin writes into out structs are cut at their last byte, so a plugin
 * that forgets the terminator cannot make the agent read past them. */
#include <stddef.h>
#include <string.h>

#include "agent/plugin-loader.h"
#include "berth/errno.h"

#define NET_CALL(inst, member, ...)                                                    \
    do {                                                                               \
        if (!(inst) || berth_plugin_inst_descriptor(inst)->kind != BERTH_PLUGIN_NETWORK) \
            return BERTH_EINVAL;                                                       \
        const berth_network_ops *ops_ = berth_plugin_inst_ops(inst);                   \
        if (!BERTH_HAS_OP(berth_network_ops, ops_, member))                            \
            return BERTH_ENOTSUP;                                                      \
        rc_ = berth_plugin_result(inst, #member,                                       \
                                  ops_->member(berth_plugin_inst_state(inst), __VA_ARGS__)); \
    } while (0)

#define TERMINATE(s) ((s)[sizeof(s) - 1] = 0)

int berth_network_configure(berth_plugin_inst *net, const berth_net_node *node)
{
    int rc_;
    if (!node || node->size < sizeof *node)
        return BERTH_EINVAL;
    NET_CALL(net, configure, node);
    return rc_;
}

int berth_network_status(berth_plugin_inst *net, berth_net_status *out)
{
    int rc_;
    if (!out)
        return BERTH_EINVAL;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    NET_CALL(net, status, out);
    TERMINATE(out->reason);
    TERMINATE(out->message);
    TERMINATE(out->node_addr);
    return rc_;
}

int berth_network_setup(berth_plugin_inst *net, const berth_net_pod *pod,
                        berth_net_attachment *out)
{
    int rc_;
    if (!pod || !pod->pod_uid || !out)
        return BERTH_EINVAL;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    NET_CALL(net, setup, pod, out);
    TERMINATE(out->netns_path);
    TERMINATE(out->ip);
    TERMINATE(out->gateway);
    return rc_;
}

int berth_network_teardown(berth_plugin_inst *net, const char *pod_uid)
{
    int rc_;
    if (!pod_uid)
        return BERTH_EINVAL;
    NET_CALL(net, teardown, pod_uid);
    return rc_;
}

int berth_network_list(berth_plugin_inst *net, berth_net_list_fn fn, void *arg)
{
    int rc_;
    if (!fn)
        return BERTH_EINVAL;
    NET_CALL(net, list, fn, arg);
    return rc_;
}

int berth_network_set_peers(berth_plugin_inst *net, const berth_net_peer *peers, uint32_t n)
{
    int rc_;
    if (n && !peers)
        return BERTH_EINVAL;
    NET_CALL(net, set_peers, peers, n);
    return rc_;
}

int berth_network_proxy_sync(berth_plugin_inst *net, const berth_proxy_table *t)
{
    int rc_;
    if (!t || t->size < sizeof *t)
        return BERTH_EINVAL;
    NET_CALL(net, proxy_sync, t);
    return rc_;
}
