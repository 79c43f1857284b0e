/* Internals of the node agent shared by its files: the group (one process:
 * client, informers, image store, plugin registry), the nodes it runs, and
 * one pod worker per pod. Everything runs on one libevent loop. */
#ifndef BERTH_AGENT_INT_H
#define BERTH_AGENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/agent.h"
#include "agent/images.h"
#include "agent/plugin-loader.h"
#include "berth/client.h"
#include "client/informer.h"
#include "util/hmap.h"

struct event;

/* ---- backoff.c: CrashLoopBackOff delays, as the kubelet's. ---- */

enum {
    BERTH_BACKOFF_BASE_MS = 10000,
    BERTH_BACKOFF_MAX_MS = 300000,
    BERTH_BACKOFF_RESET_MS = 600000, /* ran this long: start over */
};

typedef struct berth_backoff {
    int64_t delay_ms; /* the wait the next exit gets; 0 before the first */
} berth_backoff;

/* A container exited after running ran_ms: returns how long to wait before
 * restarting it (0 the first time, then base, doubling to max) and advances
 * the delay. A run of BERTH_BACKOFF_RESET_MS or more starts over. */
int64_t berth_backoff_exit(berth_backoff *b, int64_t ran_ms, int64_t base_ms, int64_t max_ms);

/* ---- probe.c: the probe state machine and its runners. ---- */

typedef enum berth_probe_kind {
    BERTH_PROBE_LIVENESS = 0,
    BERTH_PROBE_READINESS = 1,
    BERTH_PROBE_STARTUP = 2,
} berth_probe_kind;

typedef enum berth_probe_result {
    BERTH_PROBE_UNKNOWN = 0,
    BERTH_PROBE_SUCCESS = 1,
    BERTH_PROBE_FAILURE = 2,
} berth_probe_result;

typedef struct berth_probe_params {
    int32_t initial_delay_s, period_s, timeout_s, success_threshold, failure_threshold;
} berth_probe_params;

typedef struct berth_probe_sm {
    berth_probe_params p;
    berth_probe_result result;
    int32_t oks, fails; /* consecutive outcomes */
} berth_probe_sm;

/* Reads a Probe's timing fields with Kubernetes' defaults (0, 10, 1, 1, 3);
 * BERTH_EINVAL with msg naming a field that is negative or zero where it
 * must be positive. */
int berth_probe_params_parse(const cJSON *probe, berth_probe_params *out, char *msg,
                             size_t msglen);
/* The result before any probe ran: liveness passes, readiness fails,
 * startup is unknown (and counts as not yet started). */
void berth_probe_sm_init(berth_probe_sm *sm, const berth_probe_params *p,
                         berth_probe_kind kind);
/* One probe outcome; returns true when the result changed. */
bool berth_probe_sm_record(berth_probe_sm *sm, bool ok);

typedef struct agent_node agent_node;
typedef struct pod_worker pod_worker;
typedef struct agent_ctr agent_ctr;
typedef struct agent_probe agent_probe;

/* Starts the probes a container's spec declares (started now); stops them
 * with agent_probes_stop. The callbacks re-sync the pod. */
int agent_probes_start(pod_worker *pw, agent_ctr *c, const cJSON *cspec);
void agent_probes_stop(agent_ctr *c);

/* ---- The group, nodes and pod workers. ---- */

struct berth_svcproxy;

/* network.c: the network plugin and what it was told. */
typedef struct agent_net {
    berth_plugin_inst *plugin;   /* NULL: pods share the node's address */
    berth_informer *nodes;       /* this Node's pod CIDR, the others' as peers */
    struct berth_svcproxy *proxy;
    char pod_cidr[64], cluster_cidr[64], service_cidr[64], cluster_dns[64], domain[128];
    char configured[512];        /* the last configuration given, to skip repeats */
    char peers_key[4096];
    bool ready;
    char reason[64], message[256];
} agent_net;

typedef struct agent_group {
    struct event_base *base;
    berth_client *client;
    char data_dir[2048];
    berth_images *images;
    berth_plugins *plugins;
    berth_informer *pods;       /* pods of every node this group runs */
    berth_informer *configmaps; /* all namespaces, for env and volumes */
    berth_informer *secrets;
    berth_informer *claims;     /* PersistentVolumeClaims, all namespaces */
    berth_informer *volumes;    /* PersistentVolumes */
    berth_hmap volume_plugins;  /* csi driver -> volume plugin instance */
    agent_node **nodes;
    size_t nnodes;
    berth_hmap node_by_name;
    int64_t reserved_cpu_milli, reserved_memory_bytes;
    uint32_t backoff_base_ms;
    bool sim;
    char runtime[64];
    char endpoint[300];  /* published as berth.dev/agent-endpoint, or "" */
    char *endpoint_ca;   /* base64 of the CA PEM, or NULL */
    agent_net net;
    void (*network_ready)(void *arg, const char *node_name, const char *node_addr);
    void *network_ready_arg;
} agent_group;

struct berth_agent {
    agent_group g;
};

struct agent_node {
    agent_group *g;
    char name[254];
    char ip[64];
    berth_plugin_inst *rt;
    berth_hmap pods;   /* "ns/name" -> pod_worker* */
    berth_hmap by_uid; /* pod uid -> pod_worker* */
    struct event *tick; /* lease renewal and node status, every 10 s */
    char *status_text;  /* the node status last written */
    bool registered, lease_exists, registering, orphans_swept;
    bool status_inflight, status_again; /* one status write at a time */
    unsigned inflight;  /* requests whose callbacks name this node */
};

typedef struct agent_ctr {
    char name[64];
    bool init;
    char id[BERTH_CONTAINER_ID_MAX];      /* the current instance, or "" */
    char prev_id[BERTH_CONTAINER_ID_MAX]; /* the last exited one, for logs */
    uint32_t restarts;
    berth_backoff backoff;
    int64_t restart_at_ns;     /* > 0: in CrashLoopBackOff until then */
    char waiting[40];          /* waiting reason when not created */
    char waiting_msg[300];
    bool has_last;             /* lastState.terminated */
    berth_container_status last;
    bool done;                 /* exited and will not run again */
    bool ready, started;
    bool killing;              /* a probe failure is stopping it */
    bool stop_sent;            /* a stop is in flight */
    bool prestop_started, prestop_done;
    bool probes_on;
    agent_probe *probes[3];
    pod_worker *pw;
} agent_ctr;

struct pod_worker {
    agent_node *node;
    char key[320];
    char uid[64];
    char ns[64];
    char name[254];
    cJSON *pod;          /* our copy of the newest object */
    agent_ctr *ctrs;
    size_t nctrs, ninit;
    struct event *timer; /* the next sync */
    int64_t start_ns;    /* status.startTime */
    bool deleting, gone, finished;
    bool volumes_ready;  /* its claim and csi volumes are mounted */
    unsigned stopping;   /* stops in flight */
    bool deleted_sent;
    int64_t next_sync_ns;   /* when the pending timer fires, or 0 */
    int64_t term_start_ns;  /* when termination began */
    bool cond_true[4];      /* PodScheduled, Initialized, ContainersReady, Ready */
    int64_t cond_ns[4];     /* their last transition */
    char phase[16];
    char netns[256];     /* the namespace its containers join; "": the node's */
    char ip[64];         /* status.podIP once the network is set up */
    bool net_done;       /* network, resolv.conf and hosts are in place */
    bool net_attached;   /* the plugin holds a network for it */
    char fail_reason[40], fail_msg[300];
    char *status_sent;   /* the status text last PATCHed */
    bool patching, patch_again;
    unsigned refs;       /* callbacks in flight that name this worker */
    bool freed;          /* released; the last callback frees it */
};

/* podworker.c */
int agent_pod_upsert(agent_node *n, const cJSON *pod);
void agent_pod_removed(agent_node *n, const cJSON *pod);
void agent_pod_kick(pod_worker *pw, int64_t delay_ms);
void agent_pod_free_all(agent_node *n);
/* The runtime told of a container change. */
void agent_pod_runtime_event(agent_node *n, const berth_container_status *st);
pod_worker *agent_pod_find(agent_node *n, const char *ns, const char *name);
agent_ctr *agent_pod_ctr(pod_worker *pw, const char *name);
const cJSON *agent_pod_ctr_spec(const pod_worker *pw, const agent_ctr *c);
void agent_pod_log_path(const pod_worker *pw, const char *ctr, uint32_t attempt, char *out,
                        size_t len);
void agent_pod_unref(pod_worker *pw);
/* The pod's string annotations as plugins take them (borrowed from pw->pod);
 * returns how many of at most max. */
uint32_t agent_pod_annotations(const pod_worker *pw, berth_kv *out, uint32_t max);
/* Removes containers of pods the API no longer has (deleted while the agent
 * was down), once the pod cache has synced. */
void agent_pod_sweep_orphans(agent_node *n);

/* status.c: the pod status object the worker PATCHes (caller frees). */
cJSON *agent_pod_status(pod_worker *pw);

/* env.c: a container's argv and environment. On a missing ConfigMap,
 * Secret or key, BERTH_ENOTFOUND with msg saying which; *argv and *env are
 * NULL-terminated arrays of malloc'd strings the caller frees with
 * agent_strv_free. */
void agent_strv_free(char **v);
int agent_container_env(pod_worker *pw, const cJSON *cspec, char ***env, char *msg,
                        size_t msglen);
int agent_container_argv(const cJSON *cspec, char *const *env, char ***argv, char *msg,
                         size_t msglen);
/* A ConfigMap's or Secret's data as a map key -> decoded value (Secrets are
 * base64); NULL when the object is absent. The caller frees it. */
cJSON *agent_object_data(agent_group *g, bool secret, const char *ns, const char *name);

/* volumes.c: DATA_DIR/pods/UID/volumes/NAME for every volume; refreshed
 * ConfigMap/Secret/downwardAPI contents on every call. */
int agent_volumes_sync(pod_worker *pw, char *msg, size_t msglen);
/* The mounts of one container: sources are under the pod dir or host
 * paths. *mounts and its strings are one malloc the caller frees. */
int agent_volume_mounts(pod_worker *pw, const cJSON *cspec, berth_mount **mounts,
                        uint32_t *n, char *msg, size_t msglen);
void agent_volumes_teardown(pod_worker *pw);
void agent_pod_dir(const pod_worker *pw, char *out, size_t len);
/* Unmounts and removes a pod dir; it stays when something below it cannot
 * be detached. */
void agent_pod_dir_remove(agent_group *g, const char *dir);
void agent_volumes_sweep_orphans(agent_node *n);

/* claims.c: mounts a persistentVolumeClaim volume (src) at target: the
 * bound PersistentVolume's host directory or csi volume. While the claim
 * is missing or unbound: BERTH_EUNAVAILABLE, msg saying so. */
int agent_claim_mount(pod_worker *pw, const char *volume, const cJSON *src, const char *target,
                      char *msg, size_t msglen);

/* local-volumes.c: removes DATA_DIR/volumes/X once no PersistentVolume
 * names it and no pod of this node has it mounted. */
void agent_local_volumes_reclaim(agent_group *g);

/* csi.c: volumes of volume plugins. Mounts the csi source (a pod's inline
 * volume or a PV's spec.csi) at target, recording it under the pod dir. */
int agent_csi_mount(pod_worker *pw, const char *volume, const cJSON *csi, const char *handle,
                    uint32_t flags, const char *target, char *msg, size_t msglen);
/* Unmounts every volume recorded under pod_dir, and forgets it. */
void agent_csi_unmount_all(agent_group *g, const char *pod_dir);
/* Closes the volume plugins. */
void agent_csi_free(agent_group *g);

/* node.c */
int agent_node_start(agent_node *n);
void agent_node_stop(agent_node *n);
void agent_node_ip(char *out, size_t len);
/* Something the node status shows changed: write it now, not at the tick. */
void agent_node_status_changed(agent_node *n);

/* network.c */
int agent_net_start(agent_group *g, const char *plugin);
void agent_net_free(agent_group *g);
void agent_net_configmap_changed(agent_group *g, const cJSON *cm);
/* Whether pods can get a network; if not, why (borrowed strings). */
bool agent_net_ready(const agent_group *g, const char **reason, const char **message);
/* Gives the pod its network (or the node's), resolv.conf and hosts; on
 * failure msg says why and the sync retries. */
int agent_net_pod_setup(pod_worker *pw, char *msg, size_t msglen);
void agent_net_pod_teardown(pod_worker *pw);
void agent_net_sweep_orphans(agent_node *n);
/* The pod's address once its network is set up (the node's before, and
 * for pods on the host's network). */
const char *agent_pod_ip(const pod_worker *pw);
/* DATA_DIR/pods/UID/etc/FILE: the pod's resolv.conf and hosts. */
void agent_net_etc_path(const pod_worker *pw, const char *file, char *out, size_t len);

/* Wall clock in ns. */
int64_t agent_now_ns(void);
void agent_time_format(int64_t ns, char *buf, size_t len);

#endif
