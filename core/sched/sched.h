/* The scheduler core's internal state, shared by the files of core/sched/.
 *
 * Nodes live in a structure of arrays indexed by a slot number, so the
 * filter scan reads each column in order. Label keys and values, node names
 * and taints are interned into small integers; a label key used by any node
 * or any constraint has a column holding, per node, the value id (0 when the
 * node lacks the label). Pods with the same scheduling-relevant spec share a
 * "shape" that holds everything parsed once: requests, node selector terms
 * as integers, tolerations, affinity terms and a per-node cache of the
 * filters that depend on node metadata only. */
#ifndef BERTH_SCHED_INTERNAL_H
#define BERTH_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "berth/sched.h"
#include "berth/selector.h"
#include "util/hmap.h"

enum { R_CPU, R_MEM, R_EPH, R_PODS, NRES };

/* --- Interned strings: id 0 means "absent". --- */
typedef struct intern {
    berth_hmap map;   /* string -> (void *)(uintptr_t)id */
    char **str;       /* id -> string (the map's key copy) */
    int64_t *num;     /* id -> integer value for Gt/Lt, when numeric */
    uint8_t *isnum;   /* 0 unknown, 1 numeric, 2 not numeric */
    uint32_t len, cap;
} intern;

uint32_t intern_find(const intern *t, const char *s);
int intern_add(intern *t, const char *s, uint32_t *id);
/* The id's integer value; false when the string is not a decimal integer. */
bool intern_num(intern *t, uint32_t id, int64_t *v);
void intern_free(intern *t);

/* --- Taints. --- */
enum { EFF_NONE, EFF_NOSCHEDULE, EFF_PREFER, EFF_NOEXECUTE };
typedef struct taint {
    uint32_t key, value; /* intern ids; value 0 when empty */
    uint8_t effect;
} taint;

enum { TOL_EQUAL, TOL_EXISTS };
typedef struct toleration {
    uint32_t key, value; /* key 0: empty key (matches every key with Exists) */
    uint8_t op, effect;  /* effect EFF_NONE: every effect */
    bool has_seconds;
    int64_t seconds;
} toleration;

int effect_parse(const char *s);
int taint_parse(intern *in, const cJSON *j, taint *out);
int toleration_parse(intern *in, const cJSON *j, toleration *out);
bool toleration_matches(const toleration *t, const taint *x);

/* --- Node selector requirements over interned labels. --- */
enum { NS_IN, NS_NOTIN, NS_EXISTS, NS_DOESNOTEXIST, NS_GT, NS_LT };
#define FIELD_NAME UINT32_MAX /* matchFields metadata.name */
typedef struct nsel_req {
    uint32_t key; /* label key id, or FIELD_NAME */
    uint8_t op;
    uint32_t nvals;
    uint32_t *vals; /* value ids (node name ids for FIELD_NAME) */
    int64_t num;    /* Gt/Lt bound */
} nsel_req;
typedef struct nsel_term {
    nsel_req *reqs;
    uint32_t nreqs;
} nsel_term;
typedef struct pref_term {
    int32_t weight;
    nsel_term term;
} pref_term;

/* --- Pod affinity terms and spread constraints, shared by shapes. Each
 * keeps, per topology value id, how many placed pods it matches and how many
 * placed pods own it as a required anti-affinity term. --- */
typedef struct pterm {
    char *key;            /* canonical text; the registry's key */
    uint32_t refs;
    berth_selector *sel;
    char **nss;           /* explicit namespaces */
    uint32_t nns;
    berth_selector *nssel; /* namespaceSelector, NULL when absent */
    uint32_t topo;        /* topology key id */
    bool nothing;         /* a null labelSelector selects no pod */
    bool all_ns;          /* namespaceSelector {} selects every namespace */
    int32_t *match, *owner;
    uint32_t cnt_cap;
    int64_t match_total, owner_total;
} pterm;

typedef struct pod_term {
    pterm *t;
    int32_t weight;  /* preferred terms */
    bool anti;
    bool self;       /* the pod itself matches the term */
} pod_term;

typedef struct spread {
    pterm *t;
    int32_t max_skew;
    bool hard;       /* DoNotSchedule */
    bool self;
    uint32_t *domains; /* value ids among statically eligible nodes */
    uint32_t ndomains;
    int32_t min;       /* per decision: the smallest count over domains */
} spread;

/* Reason codes for filter failures; taint reasons are REASON_TAINT + taint id. */
enum {
    REASON_NONE,
    REASON_UNSCHEDULABLE,
    REASON_NODENAME,
    REASON_AFFINITY,
    REASON_CPU,
    REASON_MEM,
    REASON_EPH,
    REASON_PODS,
    REASON_SPREAD,
    REASON_SPREAD_LABEL,
    REASON_POD_AFFINITY,
    REASON_POD_ANTI,
    REASON_EXISTING_ANTI,
    REASON_VOLUME_AFFINITY,
    REASON_PLUGIN,   /* + plugin index */
    REASON_TAINT = 64,
};

typedef struct shape {
    char *key;
    uint32_t refs;
    char *ns;
    cJSON *labels;           /* owned copy of metadata.labels, may be NULL */
    int64_t req[NRES];
    int64_t nz_cpu, nz_mem;  /* requests with Kubernetes' scoring defaults */
    int32_t priority;
    bool preempt_never;
    uint32_t node_name;      /* spec.nodeName id, 0 when unset */
    nsel_req *nsel;          /* spec.nodeSelector, ANDed */
    uint32_t nnsel;
    nsel_term *aff;          /* required node affinity, ORed */
    uint32_t naff;
    pref_term *pref;
    uint32_t npref;
    toleration *tols;
    uint32_t ntols;
    pod_term *terms;         /* pod (anti-)affinity, required then preferred */
    uint32_t nreq_terms, nterms;
    spread *spreads;
    uint32_t nspreads;
    /* The bound volumes' node affinity: per volume a run of ORed terms
     * (vol_groups[i] long), the volumes ANDed. */
    nsel_term *vol_terms;
    uint32_t nvol_terms;
    uint32_t *vol_groups;
    uint32_t nvol_groups;
    /* The metadata-only filter cache: per node slot, the reason code of the
     * first failing static filter (0 passes), valid while cache_gen equals
     * the scheduler's meta_gen. */
    uint64_t cache_gen;
    uint16_t *static_reason;
    uint32_t static_cap;
    uint32_t static_pass;    /* how many nodes pass the static filters */
} shape;

enum { Q_NONE, Q_ACTIVE, Q_BACKOFF, Q_UNSCHED };
enum { P_PENDING, P_ASSUMED, P_BOUND };

typedef struct pod {
    char *ns, *name, *uid; /* one allocation, ns first */
    shape *shape;
    cJSON *obj;            /* pending pods, only when plugins are loaded */
    int32_t node;          /* node slot, -1 when not placed */
    uint8_t state, q;
    int32_t hidx;          /* index in the active or backoff heap */
    uint32_t bound_name;   /* spec.nodeName id of a bound pod */
    int attempts;
    int64_t created;       /* creationTimestamp in seconds, for queue order */
    uint64_t seq;
    int64_t backoff_until, unsched_since;
    struct pod *nnext, *nprev; /* pods placed on the same node */
    struct pod *unext, *uprev; /* the unschedulable list */
} pod;

typedef struct pheap {
    pod **a;
    uint32_t len, cap;
    bool by_time; /* backoff heap: by backoff_until; active: by priority */
} pheap;

/* Opens a Lua filter/score plugin (core/sched/plugin-lua.c): *desc lives
 * in *state and goes with desc->fini(state). */
int plugin_lua_open(const char *path, const berth_sched_plugin_v1 **desc, void **state,
                    char *err, size_t errlen);

typedef struct plugin {
    void *handle;
    const berth_sched_plugin_v1 *desc;
    void *state;
    int64_t weight;
    const char *reason; /* the latest reason its filter gave */
} plugin;

struct berth_sched_config {
    char *scheduler_name;
    bool most_allocated;
    int32_t pct_nodes;        /* percentageOfNodesToScore; 0 adaptive */
    int64_t w_fit, w_balanced, w_affinity, w_taint, w_interpod, w_spread;
    bool preemption;
    int64_t backoff_initial_ms, backoff_max_ms, unsched_timeout_ms;
    uint64_t seed;
    struct { char *name; int32_t value; } *classes;
    uint32_t nclasses;
    int32_t default_priority;
    struct { char *path; int64_t weight; cJSON *args; } *plugins;
    uint32_t nplugins;
};

struct berth_sched {
    berth_sched_config cfg; /* owned deep copy */
    berth_sched_volume_fn volume_fn; /* NULL: volumes are not looked at */
    void *volume_arg;
    intern strs;
    /* Taints. */
    berth_hmap taint_ids;   /* "key\x1fvalue\x1feffect" -> id */
    taint *taints;          /* id -> taint; id 0 unused */
    uint32_t ntaints, taints_cap;
    /* Nodes as a structure of arrays. */
    uint32_t ncap, nhw, nlive;
    int64_t *alloc[NRES], *req[NRES];
    int64_t *nz_cpu, *nz_mem;
    uint8_t *live, *unsched;
    uint32_t *name_id;
    uint32_t **ntaint;      /* per node: taint ids */
    uint8_t *nntaint;
    uint32_t **nlabels;     /* per node: key,value id pairs */
    uint16_t *nnlabels;
    cJSON **nobj;
    pod **npods;            /* list head of placed pods */
    uint32_t *free_slots, nfree;
    berth_hmap node_by_name; /* name -> slot + 1 */
    uint32_t **col;          /* per label key id: value id per node */
    uint32_t ncol;
    uint64_t meta_gen;       /* bumped when labels/taints/unschedulable change */
    uint32_t next_start;
    /* Pods, shapes, terms. */
    berth_hmap pods;        /* "ns/name" -> pod */
    berth_hmap shapes;      /* canonical text -> shape */
    berth_hmap terms;       /* canonical text -> pterm */
    pterm **term_list;      /* the same terms, for iteration */
    uint32_t nterm_list, term_list_cap;
    pterm **exist_anti;     /* per decision: owned anti terms selecting the pod */
    uint32_t nexist_anti;
    bool affinity_waived;   /* per decision: the first pod of a self-affine group */
    bool constrained;       /* per decision: run constraint_filter */
    uint32_t unsched_key;   /* node.kubernetes.io/unschedulable */
    berth_hmap ns_labels;   /* namespace -> cJSON labels */
    uint64_t seq;
    size_t nbound, nassumed;
    /* Queue. */
    pheap active, backoff;
    pod *uhead, *utail;
    size_t nunsched;
    /* Plugins. */
    plugin *plugins;
    uint32_t nplugins;
    /* Scratch reused by every decision, sized with the node arrays. */
    uint32_t *feasible;
    uint8_t *fail_kind;     /* 0 feasible, 1 resources only, 2 other */
    int64_t *sc_total, *sc_a, *sc_b, *sc_c, *sc_d;
    uint32_t *reason_count; /* by reason code */
    uint32_t reason_cap;
    uint32_t *touched;
    uint32_t ntouched;
    char *scratch;          /* canonical-text buffer */
    size_t scratch_cap;
    char msg[4096];
    berth_sched_victim *victims;
    pod **cand, **best;
    uint32_t victims_cap;
    uint64_t rng;
    int64_t now;            /* the latest time a caller gave */
};

/* nodes.c */
uint32_t *sched_column(berth_sched *s, uint32_t key); /* NULL on ENOMEM */
static inline uint32_t node_label(const berth_sched *s, uint32_t key, uint32_t i)
{
    return key < s->ncol && s->col[key] ? s->col[key][i] : 0;
}

/* shape.c */
/* with_node_name keeps spec.nodeName for the NodeName filter; pods the cache
 * counts as bound are shaped without it so replicas share a shape. */
int shape_get(berth_sched *s, const cJSON *obj, bool with_node_name, shape **out);
void shape_put(berth_sched *s, shape *sh);
int shape_priority(const berth_sched *s, const cJSON *spec);

/* terms.c */
int pterm_get(berth_sched *s, const cJSON *term, const char *ns, uint32_t topo,
              const cJSON *selector, pterm **out);
void pterm_put(berth_sched *s, pterm *t);
bool pterm_matches(const berth_sched *s, const pterm *t, const char *ns,
                   const cJSON *labels);
/* Adds (delta 1) or removes (-1) a placed pod from every term's counts. */
void terms_account(berth_sched *s, const pod *p, int delta);
void terms_rebuild(berth_sched *s);
static inline int32_t pterm_count(const int32_t *c, uint32_t cap, uint32_t v)
{
    return v && v < cap ? c[v] : 0;
}

/* filter.c */
bool nsel_term_matches(berth_sched *s, const nsel_term *t, uint32_t node);
uint16_t static_filter(berth_sched *s, const shape *sh, uint32_t node);
int shape_cache_refresh(berth_sched *s, shape *sh);
/* NodeResourcesFit: writes up to 4 reason codes, returns how many (0 fits). */
static inline int fit_filter(const berth_sched *s, const int64_t *req, uint32_t i,
                             uint16_t reasons[4])
{
    int n = 0;
    if (s->req[R_PODS][i] + 1 > s->alloc[R_PODS][i])
        reasons[n++] = REASON_PODS;
    if (req[R_CPU] > 0 && req[R_CPU] > s->alloc[R_CPU][i] - s->req[R_CPU][i])
        reasons[n++] = REASON_CPU;
    if (req[R_MEM] > 0 && req[R_MEM] > s->alloc[R_MEM][i] - s->req[R_MEM][i])
        reasons[n++] = REASON_MEM;
    if (req[R_EPH] > 0 && req[R_EPH] > s->alloc[R_EPH][i] - s->req[R_EPH][i])
        reasons[n++] = REASON_EPH;
    return n;
}
/* Prepares the per-decision state of the constraint filters for p. */
void constraint_prepare(berth_sched *s, const pod *p);
/* PodTopologySpread, InterPodAffinity and plugin filters: 0 passes, or the
 * reason code of the first failure. */
uint32_t constraint_filter(berth_sched *s, const pod *p, uint32_t node);
#define MAX_PLUGINS 32

/* score.c */
uint32_t score_select(berth_sched *s, const pod *p, uint32_t nfeasible);

/* nodes.c, pods.c */
void nodes_free(berth_sched *s);
void pods_free(berth_sched *s);
/* Places the bound pods that name a node which has just appeared. */
void pods_adopt(berth_sched *s, uint32_t slot);

/* cycle.c */
void sched_place(berth_sched *s, pod *p, uint32_t node);
void sched_unplace(berth_sched *s, pod *p);
int sched_grow_scratch(berth_sched *s);

/* queue.c */
void queue_push_active(berth_sched *s, pod *p);
void queue_remove(berth_sched *s, pod *p);
void queue_failed(berth_sched *s, pod *p, int64_t now);
void queue_backoff(berth_sched *s, pod *p, int64_t now);
void queue_move_all(berth_sched *s, int64_t now);
void queue_flush(berth_sched *s, int64_t now);
pod *queue_pop(berth_sched *s);
void queue_free(berth_sched *s);

/* preempt.c */
int preempt_find(berth_sched *s, const pod *p, uint32_t *node, size_t *nvictims);

/* message.c */
const char *reason_text(const berth_sched *s, uint32_t code, char *buf, size_t size);
void message_build(berth_sched *s, uint32_t nnodes);

/* plugin.c */
int plugins_load(berth_sched *s, char *err, size_t errlen);
void plugins_unload(berth_sched *s);
void plugin_views(const berth_sched *s, const pod *p, uint32_t node,
                  berth_sched_pod_view *pv, berth_sched_node_view *nv);

/* config.c */
int config_copy(berth_sched_config *dst, const berth_sched_config *src);
void config_clear(berth_sched_config *c);

/* time */
int64_t sched_parse_time(const char *rfc3339); /* seconds since epoch, or -1 */

#endif
