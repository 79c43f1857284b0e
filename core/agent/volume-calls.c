/* Calls into a volume plugin, checked like the runtime's and the network's:
 * the instance must be a volume plugin, the op present in its table, and
 * whatever it returns becomes 0 or a negative BERTH_E* code. */
#include <stddef.h>

#include "agent/plugin-loader.h"
#include "berth/errno.h"

static int call(berth_plugin_inst *vol, const berth_volume_req *req, int unmount)
{
    if (!vol || !req || req->size < BERTH_VOLUME_REQ_V1_SIZE || !req->target_path ||
        berth_plugin_inst_descriptor(vol)->kind != BERTH_PLUGIN_VOLUME)
        return BERTH_EINVAL;
    const berth_volume_ops *ops = berth_plugin_inst_ops(vol);
    void *state = berth_plugin_inst_state(vol);
    if (unmount)
        return BERTH_HAS_OP(berth_volume_ops, ops, unmount)
                   ? berth_plugin_result(vol, "unmount", ops->unmount(state, req))
                   : BERTH_ENOTSUP;
    return BERTH_HAS_OP(berth_volume_ops, ops, mount)
               ? berth_plugin_result(vol, "mount", ops->mount(state, req))
               : BERTH_ENOTSUP;
}

int berth_volume_mount(berth_plugin_inst *vol, const berth_volume_req *req)
{
    return call(vol, req, 0);
}

int berth_volume_unmount(berth_plugin_inst *vol, const berth_volume_req *req)
{
    return call(vol, req, 1);
}
