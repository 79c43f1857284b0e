/* The scheduler core: an in-memory cache of nodes and pods that decides,
 * for each pending pod, a node (or why none fits, or which pods to preempt).
 *
 * The core performs no I/O. Its caller feeds it Node, Pod and Namespace
 * objects (cJSON, Kubernetes shape) as informers see them, asks it for
 * decisions, and carries them out: POST a Binding, patch the
 * PodScheduled condition, delete preemption victims. A decided pod is
 * "assumed": it counts against its node at once, before its binding is
 * confirmed, so a burst of pods is decided without waiting for round trips.
 * When the binding fails the caller calls berth_sched_forget.
 *
 * Times are milliseconds on a clock the caller chooses (monotonic in
 * production, synthetic in tests); the core never reads a clock itself.
 * The core is single-threaded: call it from one thread (the server's loop). */
#ifndef BERTH_SCHED_H
#define BERTH_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef struct berth_sched berth_sched;
typedef struct berth_sched_config berth_sched_config;

/* --- Configuration (docs/scheduler.md describes the YAML file). --- */

/* Parses a scheduler configuration (YAML or JSON text). On success the
 * caller frees *out with berth_sched_config_free. On failure returns
 * BERTH_EINVAL or BERTH_EPARSE, leaves *out NULL and writes the fault,
 * naming the field or line, into err (may be NULL). */
int berth_sched_config_parse(const char *text, size_t len, berth_sched_config **out,
                             char *err, size_t errlen);
/* The defaults, as if the file were empty; the caller frees it. */
int berth_sched_config_default(berth_sched_config **out);
void berth_sched_config_free(berth_sched_config *c);

/* --- Lifecycle. --- */

/* Creates a scheduler. cfg may be NULL for the defaults; the scheduler
 * copies what it needs, so the caller may free cfg afterwards. Plugins named
 * in the configuration are loaded here; a plugin that fails to load fails
 * the call with its error in err. The caller frees *out with
 * berth_sched_free. */
int berth_sched_new(const berth_sched_config *cfg, berth_sched **out, char *err,
                    size_t errlen);
void berth_sched_free(berth_sched *s);

/* The node affinity of the PersistentVolume a claim of namespace ns is
 * bound to: its spec.nodeAffinity.required.nodeSelectorTerms (an array,
 * borrowed until the next call), or NULL when the claim is unbound or its
 * volume may be used anywhere. */
typedef const cJSON *(*berth_sched_volume_fn)(void *arg, const char *ns, const char *claim);
/* Pods with persistentVolumeClaim volumes then only go to nodes every
 * bound volume's node affinity allows (Kubernetes' VolumeBinding filter for
 * bound claims), read when the pod is added or updated. */
void berth_sched_set_volume_lookup(berth_sched *s, berth_sched_volume_fn fn, void *arg);

/* --- Feeding the cache. Objects are borrowed for the call only. --- */

/* Adds or replaces a Node. Returns 0, BERTH_EINVAL (no metadata.name, or
 * a malformed allocatable quantity) or BERTH_ENOMEM. */
int berth_sched_node_upsert(berth_sched *s, const cJSON *node);
/* Removes a node; pods bound to it stop counting anywhere. */
int berth_sched_node_delete(berth_sched *s, const char *name);
/* Adds or replaces a Pod. A pod with spec.nodeName counts against that
 * node (this also confirms an assumption). A pod without it, whose
 * spec.schedulerName is unset or this scheduler's name, is queued. Pods in
 * phase Succeeded or Failed are treated as deleted. Returns 0, BERTH_EINVAL
 * (missing name, malformed quantity or selector) or BERTH_ENOMEM. */
int berth_sched_pod_upsert(berth_sched *s, const cJSON *pod);
int berth_sched_pod_delete(berth_sched *s, const char *ns, const char *name);
/* Namespaces matter only for namespaceSelector in pod affinity terms. */
int berth_sched_namespace_upsert(berth_sched *s, const cJSON *ns);
int berth_sched_namespace_delete(berth_sched *s, const char *name);

/* --- Deciding. --- */

enum berth_sched_outcome {
    BERTH_SCHED_BIND = 1,          /* node is set; the pod is assumed there */
    BERTH_SCHED_UNSCHEDULABLE = 2, /* message is set */
    BERTH_SCHED_PREEMPT = 3,       /* node (nominated) and victims are set */
};

typedef struct berth_sched_victim {
    const char *ns;
    const char *name;
    const char *uid;
    int32_t priority;
} berth_sched_victim;

/* Every pointer is borrowed: valid until the next call into the scheduler. */
typedef struct berth_sched_decision {
    int outcome;
    const char *ns;
    const char *name;
    const char *uid;
    const char *node;    /* BIND: the node; PREEMPT: the nominated node */
    /* UNSCHEDULABLE and PREEMPT: the PodScheduled=False message, e.g.
     * "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) were
     * unschedulable." */
    const char *message;
    const berth_sched_victim *victims;
    size_t nvictims;
    int attempts;        /* scheduling attempts of this pod so far */
} berth_sched_decision;

/* Decides the next pod ready at now_ms. Returns 1 with *out filled, 0 when
 * no pod is ready, or a negative code. */
int berth_sched_next(berth_sched *s, int64_t now_ms, berth_sched_decision *out);

typedef void (*berth_sched_decide_fn)(void *arg, const berth_sched_decision *d);
/* Decides up to max pods in one turn, calling fn for each (max 0 means all
 * ready). Returns the number decided, or a negative code for invalid
 * arguments, in which case fn is never called. */
int berth_sched_run(berth_sched *s, int64_t now_ms, size_t max, berth_sched_decide_fn fn,
                    void *arg);

/* Rolls back the assumption of a pod whose binding failed: the pod stops
 * counting against its node and returns to the queue with backoff.
 * BERTH_ENOTFOUND when the pod is unknown or not assumed. */
int berth_sched_forget(berth_sched *s, const char *ns, const char *name, int64_t now_ms);
/* When the queue next has a pod to decide: now_ms when one is ready, the
 * earliest backoff or unschedulable expiry otherwise, INT64_MAX when none. */
int64_t berth_sched_next_wakeup(const berth_sched *s, int64_t now_ms);

typedef struct berth_sched_stats {
    size_t nodes, pods_bound, pods_assumed;
    size_t active, backoff, unschedulable;
} berth_sched_stats;
void berth_sched_stats_get(const berth_sched *s, berth_sched_stats *out);

/* --- NoExecute taint eviction. --- */

typedef struct berth_sched_eviction {
    size_t pod;      /* index into the pods array */
    int64_t at_ms;   /* when to evict: now_ms for "at once" */
} berth_sched_eviction;

/* Given a Node and a JSON array of Pods running on it, writes the pods that
 * a NoExecute taint evicts: at once when some NoExecute taint is not
 * tolerated, otherwise at the taint's timeAdded (now_ms when absent) plus
 * the smallest tolerationSeconds among the tolerations that match NoExecute
 * taints; pods tolerating every NoExecute taint forever are not listed.
 * now_ms and taint times are both on the epoch clock here. Writes at most
 * cap entries, sets *n to the number found, returns 0 or BERTH_EINVAL. */
int berth_sched_taint_evictions(const cJSON *node, const cJSON *pods, int64_t now_ms,
                                berth_sched_eviction *out, size_t cap, size_t *n);

/* --- Plugins in shared objects. ---
 *
 * A plugin .so exports one object, `const berth_sched_plugin_v1
 * berth_sched_plugin`, whose struct_size is sizeof(berth_sched_plugin_v1)
 * and abi_major BERTH_SCHED_PLUGIN_ABI_MAJOR. Fields only ever grow at the
 * end; the loader refuses a different major ABI or a short struct. */
#define BERTH_SCHED_PLUGIN_ABI_MAJOR 1
#define BERTH_SCHED_PLUGIN_ABI_MINOR 0
#define BERTH_SCHED_PLUGIN_SYMBOL "berth_sched_plugin"

/* What a plugin sees of a node: the Node object and what the cache counts
 * against it (including assumed pods). All borrowed for one call. */
typedef struct berth_sched_node_view {
    const cJSON *node;
    const char *name;
    int64_t alloc_milli_cpu, alloc_memory, alloc_ephemeral, alloc_pods;
    int64_t req_milli_cpu, req_memory, req_ephemeral, pods;
} berth_sched_node_view;

typedef struct berth_sched_pod_view {
    const cJSON *pod;
    int64_t req_milli_cpu, req_memory, req_ephemeral;
    int32_t priority;
} berth_sched_pod_view;

typedef struct berth_sched_plugin_v1 {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    const char *name;
    /* Optional. args is the plugin's "args" object from the configuration
     * (may be NULL). *state is passed to every other call. Returns 0 or a
     * negative code, which fails loading. */
    int (*init)(const cJSON *args, void **state);
    /* Optional. Returns true when the pod may run on the node; otherwise
     * sets *reason to a static string, the Unschedulable message's reason
     * ("node(s) lack a GPU"). */
    bool (*filter)(void *state, const berth_sched_pod_view *pod,
                   const berth_sched_node_view *node, const char **reason);
    /* Optional. A score from 0 to 100; higher is better. */
    int (*score)(void *state, const berth_sched_pod_view *pod,
                 const berth_sched_node_view *node);
    void (*fini)(void *state); /* optional */
} berth_sched_plugin_v1;

#endif
