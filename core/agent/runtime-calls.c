/* Calls into a runtime plugin, checked: the instance must be a runtime,
 * the op present in the table the plugin returned (tables only grow, so an
 * older plugin may lack later ops), and whatever the plugin returns is
 * turned into 0 or a negative BERTH_E* code. */
#include <stddef.h>
#include <string.h>

#include "agent/plugin-loader.h"
#include "berth/errno.h"
#include "berth/log.h"

#define AREA "plugin"

#define RT_OPS(inst) ((const berth_runtime_ops *)berth_plugin_inst_ops(inst))

/* A plugin may return anything; the agent only ever sees 0 or a negative
 * code. */
int berth_plugin_result(berth_plugin_inst *inst, const char *op, int rc)
{
    if (rc > 0) {
        BERTH_WARN(AREA, "plugin %s: %s returned %d, taken as an I/O error",
                   berth_plugin_inst_host(inst)->plugin_name, op, rc);
        return BERTH_EIO;
    }
    return rc;
}

#define RT_CALL(inst, member, ...)                                                    \
    do {                                                                              \
        if (!(inst) || berth_plugin_inst_descriptor(inst)->kind != BERTH_PLUGIN_RUNTIME) \
            return BERTH_EINVAL;                                                      \
        const berth_runtime_ops *ops_ = RT_OPS(inst);                                 \
        if (!BERTH_HAS_OP(berth_runtime_ops, ops_, member))                                                    \
            return BERTH_ENOTSUP;                                                     \
        return berth_plugin_result(inst, #member,                                               \
                         ops_->member(berth_plugin_inst_state(inst), __VA_ARGS__));   \
    } while (0)

int berth_runtime_create(berth_plugin_inst *rt, const berth_container_spec *spec)
{
    if (!spec || spec->size < sizeof *spec || !spec->id || !spec->argv || !spec->argv[0])
        return BERTH_EINVAL;
    RT_CALL(rt, create, spec);
}

int berth_runtime_start(berth_plugin_inst *rt, const char *id)
{
    if (!id)
        return BERTH_EINVAL;
    RT_CALL(rt, start, id);
}

int berth_runtime_stop(berth_plugin_inst *rt, const char *id, uint32_t grace_ms,
                       berth_runtime_done_fn done, void *arg)
{
    if (!id)
        return BERTH_EINVAL;
    RT_CALL(rt, stop, id, grace_ms, done, arg);
}

int berth_runtime_remove(berth_plugin_inst *rt, const char *id)
{
    if (!id)
        return BERTH_EINVAL;
    RT_CALL(rt, remove, id);
}

int berth_runtime_status(berth_plugin_inst *rt, const char *id, berth_container_status *out)
{
    if (!id || !out)
        return BERTH_EINVAL;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    RT_CALL(rt, status, id, out);
}

int berth_runtime_list(berth_plugin_inst *rt, berth_runtime_list_fn fn, void *arg)
{
    if (!fn)
        return BERTH_EINVAL;
    RT_CALL(rt, list, fn, arg);
}

int berth_runtime_exec(berth_plugin_inst *rt, const char *id, const char *const *argv,
                       uint32_t timeout_ms, size_t max_output, berth_runtime_exec_fn done,
                       void *arg)
{
    if (!id || !argv || !argv[0] || !done)
        return BERTH_EINVAL;
    RT_CALL(rt, exec, id, argv, timeout_ms, max_output, done, arg);
}

int berth_runtime_set_event_handler(berth_plugin_inst *rt, berth_runtime_event_fn fn,
                                    void *arg)
{
    RT_CALL(rt, set_event_handler, fn, arg);
}
