/* The berth plugin ABI: what a runtime, network or volume plugin (.so) and
 * the node agent that loads it agree on.
 *
 * A plugin exports exactly one const object named berth_plugin_v1 (a
 * berth_plugin). The host checks its ABI major, its size and its kind, then
 * calls init with a table of host functions (berth_host); init returns the
 * plugin's state and its ops table for that kind. Plugins link no core
 * symbols and need no libevent headers: everything they need from the host
 * comes through berth_host, as plain C function pointers.
 *
 * Compatibility rules, so old plugins keep working with new hosts and the
 * other way round:
 * - Every table starts with its own size (uint32_t) and only ever grows at
 *   its end. A reader uses a member only when the table's size covers it
 *   (BERTH_COVERS). Arrays of structs are walked by the size their writer
 *   gave (each element's own size, or a stride beside the array), never by
 *   the reader's sizeof.
 * - A wrong abi_major is refused; a newer abi_minor is accepted.
 * - Error codes are the negative BERTH_E* values of berth/errno.h; they never
 *   change once released. The host survives any value a plugin returns.
 *
 * docs/plugins.md explains the runtime and network operations in detail. */
#ifndef BERTH_PLUGIN_H
#define BERTH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "berth/errno.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_PLUGIN_ABI_MAJOR 1
#define BERTH_PLUGIN_ABI_MINOR 0
/* The name of the one symbol every plugin exports. */
#define BERTH_PLUGIN_SYMBOL "berth_plugin_v1"
#define BERTH_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Whether a struct of the given size (as its writer built it) holds member. */
#define BERTH_COVERS(size, type, member)                                        \
    ((size_t)(size) >= offsetof(type, member) + sizeof(((type *)0)->member))
/* Element i of an array whose elements are stride bytes apart. */
#define BERTH_AT(type, base, stride, i)                                         \
    ((const type *)(const void *)((const char *)(base) + (size_t)(stride) * (i)))

typedef enum berth_plugin_kind {
    BERTH_PLUGIN_RUNTIME = 1,
    BERTH_PLUGIN_NETWORK = 2,
    BERTH_PLUGIN_VOLUME = 3,
} berth_plugin_kind;

/* Log levels for berth_host.log; the same numbers as berth/log.h. */
enum { BERTH_PLOG_ERROR = 0, BERTH_PLOG_WARN = 1, BERTH_PLOG_INFO = 2, BERTH_PLOG_DEBUG = 3 };

/* Readiness bits for fd watches. */
enum { BERTH_FD_READ = 1, BERTH_FD_WRITE = 2 };

/* Flags for berth_spawn_opts.flags. */
enum { BERTH_SPAWN_SETSID = 1 };

typedef struct berth_host berth_host;
/* Opaque handles owned by the host. A timer handle is gone once its
 * callback has run; a watch stays until unwatched (child watches: until
 * their callback has run). */
typedef struct berth_host_timer berth_host_timer;
typedef struct berth_host_watch berth_host_watch;

typedef void (*berth_host_timer_fn)(void *arg);
typedef void (*berth_host_fd_fn)(int fd, unsigned events, void *arg);
/* wstatus is as from waitpid(2); the child is already reaped. */
typedef void (*berth_host_child_fn)(int pid, int wstatus, void *arg);

typedef struct berth_spawn_opts {
    uint32_t size;            /* sizeof(berth_spawn_opts) */
    const char *const *argv;  /* argv[0] is looked up in PATH */
    const char *const *envp;  /* NULL: the host's environment */
    const char *cwd;          /* NULL: unchanged */
    int stdin_fd;             /* -1: /dev/null */
    int stdout_fd;            /* -1: /dev/null */
    int stderr_fd;            /* -1: /dev/null */
    uint32_t flags;           /* BERTH_SPAWN_* */
} berth_spawn_opts;

/* The host functions a plugin may call, all on the host's event loop thread
 * (the plugin's callbacks run there too, one at a time). Each instance of a
 * plugin gets its own table; pass it back as the first argument. */
struct berth_host {
    uint32_t size;      /* sizeof(berth_host) as the host knows it */
    uint32_t abi_minor; /* the host's BERTH_PLUGIN_ABI_MINOR */
    /* The plugin's name and its private, existing, writable directory
     * (DATA_DIR/plugins/NAME[/INSTANCE]), where it keeps state that must
     * survive a host restart. */
    const char *plugin_name;
    const char *data_dir;

    /* One log line, prefixed with the plugin name; level is BERTH_PLOG_*. */
    void (*log)(const berth_host *h, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* The configured value of key for this plugin, or NULL. The string stays
     * valid while the plugin instance lives. */
    const char *(*config)(const berth_host *h, const char *key);

    /* A one-shot timer on the host loop. */
    int (*timer_start)(const berth_host *h, uint64_t delay_ms, berth_host_timer_fn fn,
                       void *arg, berth_host_timer **out);
    /* Cancels a timer whose callback has not run yet. */
    void (*timer_cancel)(const berth_host *h, berth_host_timer *t);
    /* A persistent watch: fn runs every time fd is ready for events. */
    int (*fd_watch)(const berth_host *h, int fd, unsigned events, berth_host_fd_fn fn,
                    void *arg, berth_host_watch **out);
    /* Ends an fd watch or a child watch; the fd itself stays open. */
    void (*unwatch)(const berth_host *h, berth_host_watch *w);

    /* Starts a program (fork + exec, all other fds closed). */
    int (*spawn)(const berth_host *h, const berth_spawn_opts *opts, int *pid_out);
    /* Calls fn once, from the loop, when child pid exits, and reaps it. The
     * pid must be a child of the host. No SIGCHLD handler is involved: the
     * host watches a pidfd. */
    int (*child_watch)(const berth_host *h, int pid, berth_host_child_fn fn, void *arg,
                       berth_host_watch **out);
    /* The loop's cached wall clock, in nanoseconds since the epoch. */
    int64_t (*now_ns)(const berth_host *h);
};

/* The descriptor every plugin exports as BERTH_PLUGIN_SYMBOL:
 *
 *   BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
 *       BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin),
 *       "runtime-hello", BERTH_PLUGIN_RUNTIME, hello_init, hello_fini,
 *   };
 *
 * init may run several times (one instance per simulated node, say); it
 * returns 0 and sets *state and *ops (the kind's ops table, which must live
 * until fini), or a negative code, in which case fini is not called. */
typedef struct berth_plugin {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size; /* sizeof(berth_plugin) when the plugin was built */
    const char *name;     /* unique among loaded plugins: [a-z0-9-]+ */
    uint32_t kind;        /* berth_plugin_kind */
    int (*init)(const berth_host *host, void **state, const void **ops);
    void (*fini)(void *state);
} berth_plugin;

/* ---- Runtime plugins ------------------------------------------------- */

typedef enum berth_container_state {
    BERTH_CONTAINER_CREATED = 1,
    BERTH_CONTAINER_RUNNING = 2,
    BERTH_CONTAINER_EXITED = 3,
    BERTH_CONTAINER_UNKNOWN = 4,
} berth_container_state;

enum { BERTH_CONTAINER_ID_MAX = 128 };

/* Container flags. */
enum {
    /* Share the host's network namespace (hostNetwork: true). Without it
     * and without netns_path, the container gets a new namespace with only
     * loopback. */
    BERTH_CONTAINER_HOST_NETWORK = 1,
};

typedef struct berth_mount {
    const char *source;  /* a host path */
    const char *target;  /* an absolute path inside the container */
    uint32_t read_only;
} berth_mount;

typedef struct berth_kv {
    const char *key;
    const char *value;
} berth_kv;

/* Everything a runtime needs to create one container. Borrowed for the
 * duration of the create call only: runtimes copy what they keep. */
typedef struct berth_container_spec {
    uint32_t size; /* sizeof(berth_container_spec) */
    /* Chosen by the agent, unique on the node: [A-Za-z0-9_.-], at most
     * BERTH_CONTAINER_ID_MAX - 1 bytes. */
    const char *id;
    const char *pod_uid;
    const char *pod_namespace;
    const char *pod_name;
    const char *name;   /* the container's name in the pod */
    uint32_t attempt;   /* the restart count this container is for */
    uint32_t flags;     /* BERTH_CONTAINER_* */
    const char *rootfs; /* the image's root filesystem; never written to */
    const char *const *argv; /* NULL-terminated; argv[0] required */
    const char *const *env;  /* "KEY=VALUE", NULL-terminated; may be NULL */
    const char *working_dir; /* NULL or "": "/" */
    const berth_mount *mounts;
    uint32_t nmounts;
    int64_t memory_bytes; /* limits; 0 means none */
    int64_t cpu_milli;
    int64_t pids_max;
    const char *netns_path; /* a namespace to join (/proc/PID/ns/net, /run/netns/X) */
    const char *hostname;   /* NULL: the pod name */
    const char *log_path;   /* CRI-format log file, rotated by size */
    const berth_kv *annotations;
    uint32_t nannotations;
} berth_container_spec;

/* A container's observed state. The caller sets size; the runtime fills the
 * members that size covers (the host always passes a full struct). */
typedef struct berth_container_status {
    uint32_t size;
    uint32_t state;       /* berth_container_state */
    int32_t exit_code;    /* 128 + signal when killed by a signal */
    int32_t signal;       /* the terminating signal, or 0 */
    int32_t pid;          /* the container's first process in the host's pid
                             namespace; 0 when not running */
    uint32_t attempt;
    int64_t created_ns;   /* wall clock, ns since the epoch; 0 if unknown */
    int64_t started_ns;
    int64_t finished_ns;
    char id[BERTH_CONTAINER_ID_MAX];
    char pod_uid[64];
    char name[64];
    char reason[32];      /* Completed, Error, OOMKilled, StartError */
    char message[256];
} berth_container_status;

/* Called from the loop whenever a container changes state (it started, it
 * exited), including containers re-adopted at init. st is borrowed. */
typedef void (*berth_runtime_event_fn)(void *arg, const berth_container_status *st);
/* err is 0 when the operation completed, or a negative code. */
typedef void (*berth_runtime_done_fn)(void *arg, int err);
/* Returns 0 to go on, anything else to stop the listing. */
typedef int (*berth_runtime_list_fn)(void *arg, const berth_container_status *st);
/* err is 0 when the command ran (whatever its exit code); output is
 * stdout and stderr interleaved, borrowed, at most max_output bytes. */
typedef void (*berth_runtime_exec_fn)(void *arg, int err, int exit_code, const char *output,
                                      size_t len);

/* A runtime's operations. state is what init returned. None blocks the loop
 * for long: stop and exec complete through callbacks. A function that
 * returns an error never calls its callback. */
typedef struct berth_runtime_ops {
    uint32_t size; /* sizeof(berth_runtime_ops) when the plugin was built */
    /* Prepares a container (root filesystem, cgroup, state on disk); it
     * does not run yet. BERTH_EEXISTS for a known id. */
    int (*create)(void *state, const berth_container_spec *spec);
    /* Runs a created container. When it returns 0 the container is running
     * (or has already failed to start: its status then says EXITED with
     * reason StartError). */
    int (*start)(void *state, const char *id);
    /* SIGTERM now, SIGKILL after grace_ms; done(arg, 0) once it has exited
     * (at once if it was not running). */
    int (*stop)(void *state, const char *id, uint32_t grace_ms, berth_runtime_done_fn done,
                void *arg);
    /* Forgets an exited or never-started container and frees everything it
     * held: cgroups, mounts, its writable layer. BERTH_ECONFLICT while it
     * runs. */
    int (*remove)(void *state, const char *id);
    int (*status)(void *state, const char *id, berth_container_status *out);
    /* Every known container, including ones re-adopted from the state dir. */
    int (*list)(void *state, berth_runtime_list_fn fn, void *arg);
    /* Runs argv inside a running container's namespaces and cgroups and
     * reports its exit code and output. timeout_ms 0 means none. */
    int (*exec)(void *state, const char *id, const char *const *argv, uint32_t timeout_ms,
                size_t max_output, berth_runtime_exec_fn done, void *arg);
    /* Sets (or with fn NULL, clears) the one state-change callback. */
    int (*set_event_handler)(void *state, berth_runtime_event_fn fn, void *arg);
} berth_runtime_ops;

/* ---- Network plugins ------------------------------------------------- */

/* The node a network plugin serves, given to configure at start and again
 * whenever any of it changes (the Node gets its pod CIDR, say). Borrowed
 * for the call: plugins copy what they keep. */
typedef struct berth_net_node {
    uint32_t size;            /* sizeof(berth_net_node) */
    const char *node_name;
    const char *node_ip;      /* the Node's InternalIP */
    const char *pod_cidr;     /* this node's slice ("10.244.3.0/24"); NULL until assigned */
    const char *cluster_cidr; /* the whole pod network ("10.244.0.0/16"); may be NULL */
    const char *service_cidr; /* the Service IP range ("10.96.0.0/12"); may be NULL */
} berth_net_node;

/* Another node's slice of the pod network: pod_cidr is reached via node_ip.
 * set_peers gets an array of them, walked by the first one's size. */
typedef struct berth_net_peer {
    uint32_t size; /* sizeof(berth_net_peer), the same in every element */
    const char *node_name;
    const char *node_ip;
    const char *pod_cidr;
} berth_net_peer;

/* The pod whose network setup or teardown is asked for. Borrowed. */
typedef struct berth_net_pod {
    uint32_t size; /* sizeof(berth_net_pod) */
    const char *pod_uid;
    const char *pod_namespace;
    const char *pod_name;
    const berth_kv *annotations;
    uint32_t nannotations;
} berth_net_pod;

/* What setup made for a pod. The host sets size and zeroes the rest. */
typedef struct berth_net_attachment {
    uint32_t size;
    /* The network namespace the pod's containers join; "" when the pod
     * shares the node's network. */
    char netns_path[256];
    char ip[64];      /* the pod's IPv4 address, no prefix length */
    char gateway[64]; /* its default gateway, or "" */
} berth_net_attachment;

/* The node's network condition. The host sets size and zeroes the rest. */
typedef struct berth_net_status {
    uint32_t size;
    uint32_t ready;     /* 1: pods can be set up */
    char reason[64];    /* why not, as a CamelCase word */
    char message[256];
    /* The node's own address as its pods reach it (a bridge's address);
     * "": the node's IP. Servers on the node (the cluster DNS) listen there. */
    char node_addr[64];
} berth_net_status;

/* Called by list for each pod that has a network; borrowed strings. Returns
 * 0 to go on, anything else to stop. */
typedef int (*berth_net_list_fn)(void *arg, const char *pod_uid, const char *ip);

/* ---- The service proxy table ---- */

enum { BERTH_PROTO_TCP = 6, BERTH_PROTO_UDP = 17, BERTH_PROTO_SCTP = 132 };

/* One ready endpoint. Not-ready endpoints are never in the table: they get
 * no new connections. */
typedef struct berth_proxy_backend {
    const char *ip;
    uint16_t port;
    uint8_t local; /* 1: the endpoint runs on this node (its nodeName) */
} berth_proxy_backend;

/* One port of one Service with its ready backends (sorted by ip, then port,
 * so equal tables render equal rules). Its front doors: cluster_ip:port,
 * every external IP at the same port, and node_port on the node's own
 * addresses. */
typedef struct berth_proxy_service {
    const char *svc_namespace;
    const char *svc_name;
    const char *port_name;       /* "" for an unnamed port */
    const char *cluster_ip;      /* the virtual IP */
    uint16_t port;               /* the Service port on cluster_ip */
    uint16_t node_port;          /* 0: none; else it answers on every local address */
    uint8_t protocol;            /* BERTH_PROTO_* */
    uint32_t affinity_timeout_s; /* sessionAffinity ClientIP; 0: none */
    const berth_proxy_backend *backends; /* walked by the table's backend_size */
    uint32_t nbackends;          /* 0: connections are refused (reject) */
    /* spec.externalIPs and status.loadBalancer.ingress IPs: more virtual
     * IPs for the same port, reached from outside the cluster. */
    const char *const *external_ips;
    uint32_t nexternal_ips;
    /* externalTrafficPolicy Local: node-port and external-IP connections go
     * to local backends only and keep the client's address (Cluster: any
     * backend, masqueraded). No local backend: they are refused. */
    uint8_t external_local;
    /* internalTrafficPolicy Local: cluster-IP connections go to local
     * backends only. */
    uint8_t internal_local;
} berth_proxy_service;

/* The whole desired proxy state. Each sync replaces the previous one. */
typedef struct berth_proxy_table {
    uint32_t size; /* sizeof(berth_proxy_table) */
    uint32_t nservices;
    const berth_proxy_service *services; /* walked by service_size */
    uint64_t generation; /* grows with every sync; for logs and repair checks */
    /* sizeof each array element as the writer built it: a reader walks the
     * arrays by these and uses a member only when they cover it. */
    uint32_t service_size;
    uint32_t backend_size;
} berth_proxy_table;

/* A table over n services built against this header. */
#define BERTH_PROXY_TABLE(n, svcs, gen)                                         \
    ((berth_proxy_table){.size = sizeof(berth_proxy_table), .nservices = (n),   \
                         .services = (svcs), .generation = (gen),              \
                         .service_size = sizeof(berth_proxy_service),          \
                         .backend_size = sizeof(berth_proxy_backend)})

/* A network plugin's operations. All run on the host loop and return
 * promptly; none calls back into the host except through berth_host. */
typedef struct berth_network_ops {
    uint32_t size; /* sizeof(berth_network_ops) when the plugin was built */
    /* The node changed (see berth_net_node). Idempotent. */
    int (*configure)(void *state, const berth_net_node *node);
    /* Whether pods can be set up now (the Node's NetworkReady condition). */
    int (*status)(void *state, berth_net_status *out);
    /* Gives a pod its network. Idempotent per pod_uid: a second call (after
     * an agent restart, say) returns the same attachment. BERTH_EUNAVAILABLE
     * while the node has no pod CIDR yet. */
    int (*setup)(void *state, const berth_net_pod *pod, berth_net_attachment *out);
    /* Frees a pod's network: its namespace, links and address. 0 for a pod
     * the plugin does not know. */
    int (*teardown)(void *state, const char *pod_uid);
    /* Every pod that has a network, including ones set up before a restart. */
    int (*list)(void *state, berth_net_list_fn fn, void *arg);
    /* The other nodes' pod slices; replaces the previous set. */
    int (*set_peers)(void *state, const berth_net_peer *peers, uint32_t n);
    /* Programs the service proxy to match t (borrowed for the call), as one
     * atomic change, soon after returning. NULL: the plugin has no proxy. */
    int (*proxy_sync)(void *state, const berth_proxy_table *t);
} berth_network_ops;

/* ---- Volume plugins -------------------------------------------------- */

/* One volume of one pod for a volume plugin to provide, as CSI's node
 * publish does: a pod volume `csi: {driver: NAME}` (inline: it lives and
 * dies with the pod), or a PersistentVolume with `csi: {driver: NAME,
 * volumeHandle: ID}` that the pod reaches through its claim. NAME is the
 * plugin's name, with or without its "volume-" prefix. Borrowed for the
 * call. */
typedef struct berth_volume_req {
    uint32_t size;             /* sizeof(berth_volume_req) */
    uint32_t flags;            /* BERTH_VOLUME_* */
    const char *volume_handle; /* the PV's volumeHandle; inline: "POD_UID-VOLUME" */
    const char *volume_name;   /* the pod's name for the volume */
    const char *pod_uid;
    const char *pod_namespace;
    const char *pod_name;
    /* An existing empty directory on the host where the volume must
     * appear; the host bind-mounts it into the containers that mount it. */
    const char *target_path;
    const berth_kv *attributes; /* volumeAttributes */
    uint32_t nattributes;
} berth_volume_req;

enum {
    BERTH_VOLUME_READ_ONLY = 1, /* csi.readOnly: provide it read-only */
    BERTH_VOLUME_EPHEMERAL = 2, /* inline in the pod: its data goes at unmount */
};

/* A volume plugin's operations. Both run on the host loop and return
 * promptly; the host calls them again later when they fail. */
typedef struct berth_volume_ops {
    uint32_t size; /* sizeof(berth_volume_ops) when the plugin was built */
    /* Makes the volume appear at req->target_path (a mount, a bind mount,
     * files). Idempotent: after an agent restart it is asked again for
     * volumes it already provided. BERTH_EINVAL (with a log line) for
     * attributes it cannot use; BERTH_EUNAVAILABLE for "not yet". */
    int (*mount)(void *state, const berth_volume_req *req);
    /* Undoes mount, leaving target_path an empty directory or a mount
     * point the host detaches; an ephemeral volume's data goes too.
     * Idempotent: 0 for a volume it does not know. */
    int (*unmount)(void *state, const berth_volume_req *req);
} berth_volume_ops;

/* The size of the first published version of each table: a plugin or host
 * table shorter than this is refused. */
#define BERTH_PLUGIN_V1_SIZE (offsetof(berth_plugin, fini) + sizeof(void (*)(void *)))
#define BERTH_RUNTIME_OPS_V1_SIZE                                                      \
    (offsetof(berth_runtime_ops, set_event_handler) + sizeof(void *))
#define BERTH_NETWORK_OPS_V1_SIZE                                                      \
    (offsetof(berth_network_ops, proxy_sync) + sizeof(void *))
#define BERTH_HOST_V1_SIZE (offsetof(berth_host, now_ns) + sizeof(void *))
#define BERTH_VOLUME_OPS_V1_SIZE (offsetof(berth_volume_ops, unmount) + sizeof(void *))
#define BERTH_VOLUME_REQ_V1_SIZE (offsetof(berth_volume_req, nattributes) + sizeof(uint32_t))
#define BERTH_NET_PEER_V1_SIZE (offsetof(berth_net_peer, pod_cidr) + sizeof(void *))
#define BERTH_PROXY_TABLE_V1_SIZE (offsetof(berth_proxy_table, backend_size) + sizeof(uint32_t))
#define BERTH_PROXY_SERVICE_V1_SIZE                                                    \
    (offsetof(berth_proxy_service, internal_local) + sizeof(uint8_t))
#define BERTH_PROXY_BACKEND_V1_SIZE (offsetof(berth_proxy_backend, local) + sizeof(uint8_t))

/* Annotations the sim runtime reads from berth_container_spec.annotations. */
#define BERTH_SIM_START_DELAY "berth.dev/sim-start-delay"
#define BERTH_SIM_EXIT_AFTER "berth.dev/sim-exit-after"
#define BERTH_SIM_EXIT_CODE "berth.dev/sim-exit-code"
#define BERTH_SIM_EXIT_REASON "berth.dev/sim-exit-reason"

#ifdef __cplusplus
}
#endif
#endif
