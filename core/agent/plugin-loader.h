/* The plugin loader: finds plugin shared objects, checks their descriptor,
 * runs their init with a host table bound to a libevent loop, and wraps the
 * runtime operations so the agent calls plugins through one checked door. */
#ifndef BERTH_AGENT_PLUGIN_LOADER_H
#define BERTH_AGENT_PLUGIN_LOADER_H

#include <stddef.h>

#include "berth/plugin.h"

struct event_base;

/* Looks up a configuration value for one plugin; returns NULL when unset.
 * The string must stay valid while the plugin instance lives. */
typedef const char *(*berth_plugin_config_fn)(void *arg, const char *plugin, const char *key);

typedef struct berth_plugins_opts {
    struct event_base *base;   /* the loop plugins' timers and watches run on */
    const char *data_dir;      /* plugins get DATA_DIR/plugins/NAME[/INSTANCE] */
    const char *plugin_dir;    /* --plugin-dir, searched first; may be NULL */
    const char *build_dir;     /* NULL: the running program's dir + "/plugins" */
    berth_plugin_config_fn config;
    void *config_arg;
} berth_plugins_opts;

typedef struct berth_plugins berth_plugins;
typedef struct berth_plugin_inst berth_plugin_inst;

/* A registry of loaded plugins. The strings in opts are copied; base is
 * borrowed and must outlive the registry. Free with berth_plugins_free,
 * which closes every instance still open and unloads every plugin. */
int berth_plugins_new(const berth_plugins_opts *opts, berth_plugins **out);
void berth_plugins_free(berth_plugins *ps);

/* Opens an instance of the plugin of this kind called name: a loaded plugin
 * of that name, or else the first of DIR/NAME.so and DIR/KIND-NAME.so in the
 * plugin dir, then the build dir. instance (NULL for the only one) names the
 * instance's private data dir. The instance belongs to the registry; close
 * it early with berth_plugin_inst_close. */
int berth_plugins_open(berth_plugins *ps, berth_plugin_kind kind, const char *name,
                       const char *instance, berth_plugin_inst **out);
/* The same for an explicit file; kind 0 accepts any kind. */
int berth_plugins_open_file(berth_plugins *ps, berth_plugin_kind kind, const char *path,
                            const char *instance, berth_plugin_inst **out);
/* Runs the plugin's fini, drops any timer or watch it left behind, and
 * unloads the plugin when it was its last instance. */
void berth_plugin_inst_close(berth_plugin_inst *inst);

/* The last refusal or failure message (one line), or "". Owned by ps. */
const char *berth_plugins_last_error(const berth_plugins *ps);

const berth_plugin *berth_plugin_inst_descriptor(const berth_plugin_inst *inst);
const void *berth_plugin_inst_ops(const berth_plugin_inst *inst);
void *berth_plugin_inst_state(const berth_plugin_inst *inst);
const berth_host *berth_plugin_inst_host(const berth_plugin_inst *inst);

/* The runtime operations of a runtime instance, checked: a missing
 * operation gives BERTH_ENOTSUP, a positive return from the plugin becomes
 * BERTH_EIO, and status structs are sized and zeroed before the call. */
/* Whether an ops table of type T, as sized by its plugin, has member set:
 * tables only grow, so an older plugin may lack later ops. */
#define BERTH_HAS_OP(T, ops, member)                                                \
    ((ops)->size >= offsetof(T, member) + sizeof((ops)->member) && (ops)->member)
/* What a plugin op returned, as the agent takes it: 0 or a negative code (a
 * positive value is logged and becomes BERTH_EIO). */
int berth_plugin_result(berth_plugin_inst *inst, const char *op, int rc);

int berth_runtime_create(berth_plugin_inst *rt, const berth_container_spec *spec);
int berth_runtime_start(berth_plugin_inst *rt, const char *id);
int berth_runtime_stop(berth_plugin_inst *rt, const char *id, uint32_t grace_ms,
                       berth_runtime_done_fn done, void *arg);
int berth_runtime_remove(berth_plugin_inst *rt, const char *id);
int berth_runtime_status(berth_plugin_inst *rt, const char *id, berth_container_status *out);
int berth_runtime_list(berth_plugin_inst *rt, berth_runtime_list_fn fn, void *arg);
int berth_runtime_exec(berth_plugin_inst *rt, const char *id, const char *const *argv,
                       uint32_t timeout_ms, size_t max_output, berth_runtime_exec_fn done,
                       void *arg);
int berth_runtime_set_event_handler(berth_plugin_inst *rt, berth_runtime_event_fn fn,
                                    void *arg);

/* The network operations, checked the same way (a missing op gives
 * BERTH_ENOTSUP); out structs are sized and zeroed before the call. */
int berth_network_configure(berth_plugin_inst *net, const berth_net_node *node);
int berth_network_status(berth_plugin_inst *net, berth_net_status *out);
int berth_network_setup(berth_plugin_inst *net, const berth_net_pod *pod,
                        berth_net_attachment *out);
int berth_network_teardown(berth_plugin_inst *net, const char *pod_uid);
int berth_network_list(berth_plugin_inst *net, berth_net_list_fn fn, void *arg);
int berth_network_set_peers(berth_plugin_inst *net, const berth_net_peer *peers, uint32_t n);
int berth_network_proxy_sync(berth_plugin_inst *net, const berth_proxy_table *t);

/* The volume operations, checked the same way. */
int berth_volume_mount(berth_plugin_inst *vol, const berth_volume_req *req);
int berth_volume_unmount(berth_plugin_inst *vol, const berth_volume_req *req);

#endif
