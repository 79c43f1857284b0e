/* The node agent (the kubelet's role): registers its Node, renews a Lease
 * every 10 s, and runs the pods bound to it through a runtime plugin, as
 * `berthd agent` or inside `berthd server`. docs/agent.md tells the story. */
#ifndef BERTH_AGENT_AGENT_H
#define BERTH_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/client.h"

struct event_base;
typedef struct berth_agent berth_agent;

typedef struct berth_agent_opts {
    struct event_base *base;
    berth_client *client;      /* handed over: the agent frees it first */
    const char *data_dir;      /* pods/, images/, plugins/ live under it */
    const char *node_name;     /* NULL: the host name */
    const char *runtime;       /* plugin name, NULL: "process" */
    const char *plugin_dir;    /* searched before the build's plugins; may be NULL */
    unsigned nodes;            /* simulated nodes (0 or 1: one node named node_name;
                                * more: node_name-0 .. node_name-(N-1)) */
    int64_t reserved_cpu_milli;   /* kept back from allocatable */
    int64_t reserved_memory_bytes;
    uint32_t backoff_base_ms;  /* CrashLoopBackOff's first delay (0: 10 s) */
    /* Where this agent serves its pods' logs and exec ("https://IP:PORT"),
     * published on its Node with the CA (PEM) that signs it, so the API
     * server can pass those requests on; NULL when it serves none. */
    const char *endpoint;
    const char *endpoint_ca_pem;
    /* The network plugin: NULL picks "bridge" for a real runtime and none
     * for simulated nodes; "" asks for none (pods share the node's address). */
    const char *network;
    const char *node_ip;       /* the Node's InternalIP; NULL: the first non-loopback address */
    /* Called when the pod network becomes ready, with the node's name and
     * its address on it (the bridge's gateway, or the node's IP when pods
     * share it): where a server on this node is reachable from its pods. */
    void (*network_ready)(void *arg, const char *node_name, const char *node_addr);
    void *network_ready_arg;
} berth_agent_opts;

/* Loads the runtime, registers the node(s) and starts watching pods. The
 * strings in o are copied. *out is freed with berth_agent_free, before the
 * client; running containers are left running for the next agent. On
 * failure *msg (may be NULL) gets a static or agent-owned line. */
int berth_agent_start(const berth_agent_opts *o, berth_agent **out);
void berth_agent_free(berth_agent *a);

/* Where the log of a pod's container is: path gets the CRI log file of its
 * current (or with previous, its last exited) instance; *running says
 * whether that instance still runs. BERTH_ENOTFOUND names no such pod or
 * container on this agent, with msg saying which. */
int berth_agent_log_file(berth_agent *a, const char *ns, const char *pod,
                         const char *container, bool previous, char *path, size_t len,
                         bool *running, char *msg, size_t msglen);

/* Runs argv in a pod's container and calls done with its exit code and
 * output (stdout and stderr interleaved, borrowed). Returns an error and
 * never calls done when there is no such running container. */
typedef void (*berth_agent_exec_fn)(void *arg, int err, int exit_code, const char *out,
                                    size_t len);
int berth_agent_exec(berth_agent *a, const char *ns, const char *pod, const char *container,
                     const char *const *argv, uint32_t timeout_ms, berth_agent_exec_fn done,
                     void *arg, char *msg, size_t msglen);

/* The two functions above as the API server's pod backend. */
struct berth_api_pod_backend;
const struct berth_api_pod_backend *berth_agent_pod_backend(void);

/* `berthd agent --kubeconfig F [--runtime NAME] [--nodes N] ...`: argv
 * starts after the subcommand. Returns the process exit code. */
int berth_agent_main(int argc, char **argv);

#endif
