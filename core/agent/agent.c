/* The agent's lifecycle: one group per process (client, image store,
 * plugin registry, informers on pods, ConfigMaps and Secrets) running one
 * node, or many simulated ones; the informers' events go to pod workers,
 * the runtime's events to the pod whose container changed. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent/agent-int.h"
#include "util/base64.h"
#include "berth/errno.h"
#include "berth/log.h"

static agent_node *node_of(agent_group *g, const cJSON *pod)
{
    const char *node = berth_obj_str(pod, "spec.nodeName");
    return node ? berth_hmap_get(&g->node_by_name, node) : NULL;
}

static void pod_add(void *arg, const cJSON *obj)
{
    agent_node *n = node_of(arg, obj);
    if (n)
        agent_pod_upsert(n, obj);
}

static void pod_update(void *arg, const cJSON *old, const cJSON *obj)
{
    agent_node *n = node_of(arg, obj);
    if (n)
        agent_pod_upsert(n, obj);
}

static void pod_delete(void *arg, const cJSON *obj)
{
    agent_node *n = node_of(arg, obj);
    if (n)
        agent_pod_removed(n, obj);
}

/* A ConfigMap or Secret changed: its namespace's pods re-sync, so files
 * projected from it follow the edit within a moment. */
static void source_changed(void *arg, const cJSON *obj)
{
    agent_group *g = arg;
    const char *ns = berth_obj_namespace(obj);
    for (size_t i = 0; i < g->nnodes && ns; i++) {
        const berth_hmap_slot *s;
        for (size_t j = 0; (j = berth_hmap_next(&g->nodes[i]->by_uid, j, &s)) != 0;) {
            pod_worker *pw = s->value;
            if (!strcmp(pw->ns, ns) && berth_obj_at(pw->pod, "spec.volumes"))
                agent_pod_kick(pw, 0);
        }
    }
}

static void source_update(void *arg, const cJSON *old, const cJSON *obj)
{
    source_changed(arg, obj);
}

static void configmap_changed(void *arg, const cJSON *obj)
{
    agent_net_configmap_changed(arg, obj);
    source_changed(arg, obj);
}

static void configmap_update(void *arg, const cJSON *old, const cJSON *obj)
{
    configmap_changed(arg, obj);
}

static void on_runtime_event(void *arg, const berth_container_status *st)
{
    agent_pod_runtime_event(arg, st);
}

typedef struct orphan_scan {
    agent_node *n;
    char (*ids)[BERTH_CONTAINER_ID_MAX];
    size_t len, cap;
} orphan_scan;

static int collect_orphan(void *arg, const berth_container_status *st)
{
    orphan_scan *o = arg;
    if (berth_hmap_get(&o->n->by_uid, st->pod_uid))
        return 0;
    if (o->len == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        void *ids = realloc(o->ids, cap * sizeof *o->ids);
        if (!ids)
            return 1;
        o->ids = ids;
        o->cap = cap;
    }
    snprintf(o->ids[o->len++], BERTH_CONTAINER_ID_MAX, "%s", st->id);
    return 0;
}

static void orphan_stopped(void *arg, int err)
{
    char **ctx = arg; /* {node pointer as text is not needed}: id + rt */
    berth_plugin_inst *rt = (berth_plugin_inst *)ctx[0];
    berth_runtime_remove(rt, ctx[1]);
    free(ctx[1]);
    free(ctx);
}

void agent_pod_sweep_orphans(agent_node *n)
{
    orphan_scan o = {.n = n};
    berth_runtime_list(n->rt, collect_orphan, &o);
    for (size_t i = 0; i < o.len; i++) {
        BERTH_INFO("agent", "node %s: container %s belongs to no pod of this node; removing it",
                   n->name, o.ids[i]);
        char **ctx = calloc(2, sizeof *ctx);
        if (!ctx || !(ctx[1] = strdup(o.ids[i]))) {
            free(ctx);
            continue;
        }
        ctx[0] = (char *)n->rt;
        if (berth_runtime_stop(n->rt, o.ids[i], 2000, orphan_stopped, ctx) != 0) {
            free(ctx[1]);
            free(ctx);
        }
    }
    free(o.ids);
    agent_net_sweep_orphans(n);
    agent_volumes_sweep_orphans(n);
}

/* A local-path volume's data goes with its volume. */
static void volume_deleted(void *arg, const cJSON *pv)
{
    agent_local_volumes_reclaim(arg);
}

static const char *plugin_config(void *arg, const char *plugin, const char *key)
{
    return NULL;
}

static int node_new(agent_group *g, const char *name, const char *ip, agent_node **out)
{
    agent_node *n = calloc(1, sizeof *n);
    if (!n)
        return BERTH_ENOMEM;
    n->g = g;
    snprintf(n->name, sizeof n->name, "%s", name);
    if (g->sim)
        snprintf(n->ip, sizeof n->ip, "10.%u.%u.%u", (unsigned)(g->nnodes >> 16) & 255,
                 (unsigned)(g->nnodes >> 8) & 255, (unsigned)g->nnodes & 255);
    else if (ip && *ip)
        snprintf(n->ip, sizeof n->ip, "%s", ip);
    else
        agent_node_ip(n->ip, sizeof n->ip);
    int err = berth_plugins_open(g->plugins, BERTH_PLUGIN_RUNTIME, g->runtime,
                                 g->sim ? name : NULL, &n->rt);
    if (err) {
        BERTH_ERROR("agent", "cannot load the runtime %s: %s", g->runtime,
                    berth_plugins_last_error(g->plugins));
        free(n);
        return err;
    }
    berth_runtime_set_event_handler(n->rt, on_runtime_event, n);
    *out = n;
    return 0;
}

int berth_agent_start(const berth_agent_opts *o, berth_agent **out)
{
    berth_agent *a = calloc(1, sizeof *a);
    if (!a)
        return BERTH_ENOMEM;
    agent_group *g = &a->g;
    g->base = o->base;
    g->client = o->client;
    snprintf(g->data_dir, sizeof g->data_dir, "%s", o->data_dir);
    snprintf(g->runtime, sizeof g->runtime, "%s", o->runtime ? o->runtime : "process");
    g->sim = !strcmp(g->runtime, "sim");
    g->reserved_cpu_milli = o->reserved_cpu_milli;
    g->reserved_memory_bytes = o->reserved_memory_bytes;
    g->backoff_base_ms = o->backoff_base_ms ? o->backoff_base_ms : BERTH_BACKOFF_BASE_MS;
    g->network_ready = o->network_ready;
    g->network_ready_arg = o->network_ready_arg;
    if (o->endpoint)
        snprintf(g->endpoint, sizeof g->endpoint, "%s", o->endpoint);
    if (o->endpoint_ca_pem) {
        size_t n = strlen(o->endpoint_ca_pem);
        if ((g->endpoint_ca = malloc(berth_base64_encoded_len(n, false) + 1)))
            berth_base64_encode(o->endpoint_ca_pem, n, g->endpoint_ca, false);
    }
    char host[256] = "localhost";
    if (!o->node_name || !*o->node_name)
        gethostname(host, sizeof host - 1);
    const char *base_name = o->node_name && *o->node_name ? o->node_name : host;
    berth_plugins_opts po = {.base = o->base, .data_dir = o->data_dir,
                             .plugin_dir = o->plugin_dir, .config = plugin_config};
    int err = berth_plugins_new(&po, &g->plugins);
    if (!err && !g->sim)
        err = berth_images_open(o->data_dir, &g->images);
    unsigned count = o->nodes > 1 ? o->nodes : 1;
    g->nodes = err ? NULL : calloc(count, sizeof *g->nodes);
    if (!err && !g->nodes)
        err = BERTH_ENOMEM;
    for (unsigned i = 0; !err && i < count; i++) {
        char name[254];
        if (count > 1)
            snprintf(name, sizeof name, "%.240s-%u", base_name, i);
        else
            snprintf(name, sizeof name, "%.253s", base_name);
        agent_node *n;
        if ((err = node_new(g, name, o->node_ip, &n)) != 0)
            break;
        g->nodes[g->nnodes++] = n;
        err = berth_hmap_put(&g->node_by_name, n->name, n, NULL);
    }
    berth_informer_handler ph = {pod_add, pod_update, pod_delete, g};
    berth_informer_handler sh = {source_changed, source_update, NULL, g};
    berth_informer_handler ch = {configmap_changed, configmap_update, NULL, g};
    berth_informer_handler vh = {NULL, NULL, volume_deleted, g};
    if (!err)
        err = berth_informer_new(g->client, g->base, berth_kind_lookup("pods"), NULL, &g->pods);
    if (!err && count == 1) {
        char sel[300];
        snprintf(sel, sizeof sel, "spec.nodeName=%s", g->nodes[0]->name);
        err = berth_informer_set_field_selector(g->pods, sel);
    }
    if (!err)
        err = berth_informer_new(g->client, g->base, berth_kind_lookup("configmaps"), NULL,
                                 &g->configmaps);
    if (!err)
        err = berth_informer_new(g->client, g->base, berth_kind_lookup("secrets"), NULL,
                                 &g->secrets);
    if (!err)
        err = berth_informer_new(g->client, g->base, berth_kind_lookup("persistentvolumeclaims"),
                                 NULL, &g->claims);
    if (!err)
        err = berth_informer_new(g->client, g->base, berth_kind_lookup("persistentvolumes"),
                                 NULL, &g->volumes);
    if (!err)
        err = berth_informer_add_handler(g->volumes, &vh);
    const char *network = o->network ? o->network : g->sim ? "" : "bridge";
    if (!err)
        err = agent_net_start(g, network);
    if (!err && !(err = berth_informer_add_handler(g->configmaps, &ch)) &&
        !(err = berth_informer_add_handler(g->secrets, &sh)) &&
        !(err = berth_informer_add_handler(g->pods, &ph)) &&
        !(err = berth_informer_start(g->configmaps)) && !(err = berth_informer_start(g->secrets)) &&
        !(err = berth_informer_start(g->claims)) && !(err = berth_informer_start(g->volumes)))
        err = berth_informer_start(g->pods);
    for (size_t i = 0; !err && i < g->nnodes; i++)
        err = agent_node_start(g->nodes[i]);
    if (err) {
        berth_agent_free(a);
        return err;
    }
    BERTH_INFO("agent", "running %zu node%s (%s%s) with the %s runtime and %s%s network",
               g->nnodes, g->nnodes == 1 ? "" : "s", g->nodes[0]->name,
               g->nnodes > 1 ? ", ..." : "", g->runtime, g->net.plugin ? "the " : "the node's",
               g->net.plugin ? network : "");
    *out = a;
    return 0;
}

void berth_agent_free(berth_agent *a)
{
    if (!a)
        return;
    agent_group *g = &a->g;
    /* The client first: no callback may reach a node or worker after. */
    berth_client_free(g->client);
    g->client = NULL;
    berth_informer_free(g->pods);
    berth_informer_free(g->configmaps);
    berth_informer_free(g->secrets);
    berth_informer_free(g->claims);
    berth_informer_free(g->volumes);
    agent_net_free(g);
    for (size_t i = 0; i < g->nnodes; i++) {
        agent_node *n = g->nodes[i];
        agent_node_stop(n);
        agent_pod_free_all(n);
        berth_runtime_set_event_handler(n->rt, NULL, NULL);
        berth_plugin_inst_close(n->rt);
        free(n);
    }
    free(g->nodes);
    free(g->endpoint_ca);
    berth_hmap_free(&g->node_by_name);
    agent_csi_free(g);
    berth_plugins_free(g->plugins);
    berth_images_close(g->images);
    free(a);
}

static pod_worker *find_pod(berth_agent *a, const char *ns, const char *pod)
{
    for (size_t i = 0; i < a->g.nnodes; i++) {
        pod_worker *pw = agent_pod_find(a->g.nodes[i], ns, pod);
        if (pw)
            return pw;
    }
    return NULL;
}

static agent_ctr *find_ctr(berth_agent *a, const char *ns, const char *pod, const char *ctr,
                           pod_worker **pwp, char *msg, size_t msglen)
{
    pod_worker *pw = find_pod(a, ns, pod);
    if (!pw) {
        snprintf(msg, msglen, "pod %s/%s is not running on a node of this agent", ns, pod);
        return NULL;
    }
    size_t nmain = pw->nctrs - pw->ninit;
    if ((!ctr || !*ctr) && nmain > 1) {
        size_t l = (size_t)snprintf(msg, msglen, "a container name must be specified for pod "
                                                 "%s, choose one of: [", pod);
        for (size_t i = pw->ninit; i < pw->nctrs && l < msglen; i++)
            l += (size_t)snprintf(msg + l, msglen - l, "%s%s", i > pw->ninit ? " " : "",
                                  pw->ctrs[i].name);
        if (l < msglen)
            snprintf(msg + l, msglen - l, "]");
        return NULL;
    }
    agent_ctr *c = agent_pod_ctr(pw, ctr);
    if (!c)
        snprintf(msg, msglen, "container %s is not valid for pod %s", ctr ? ctr : "", pod);
    *pwp = pw;
    return c;
}

int berth_agent_log_file(berth_agent *a, const char *ns, const char *pod, const char *container,
                         bool previous, char *path, size_t len, bool *running, char *msg,
                         size_t msglen)
{
    pod_worker *pw = NULL;
    agent_ctr *c = find_ctr(a, ns, pod, container, &pw, msg, msglen);
    if (!c)
        return BERTH_ENOTFOUND;
    const char *id = previous ? c->prev_id : c->id;
    berth_container_status st;
    if (!id[0] && !previous && c->prev_id[0]) /* waiting to restart: the last run */
        id = c->prev_id;
    if (!id[0] || berth_runtime_status(pw->node->rt, id, &st) != 0) {
        snprintf(msg, msglen, previous ? "previous terminated container \"%s\" in pod \"%s\" "
                                         "not found"
                                       : "container \"%s\" in pod \"%s\" is waiting to start",
                 c->name, pod);
        return previous ? BERTH_ENOTFOUND : BERTH_EBADREQUEST;
    }
    *running = st.state == BERTH_CONTAINER_RUNNING || st.state == BERTH_CONTAINER_CREATED;
    agent_pod_log_path(pw, c->name, st.attempt, path, len);
    return 0;
}

typedef struct exec_call {
    berth_agent_exec_fn done;
    void *arg;
} exec_call;

static void exec_done(void *arg, int err, int code, const char *out, size_t len)
{
    exec_call *x = arg;
    x->done(x->arg, err, code, out, len);
    free(x);
}

int berth_agent_exec(berth_agent *a, const char *ns, const char *pod, const char *container,
                     const char *const *argv, uint32_t timeout_ms, berth_agent_exec_fn done,
                     void *arg, char *msg, size_t msglen)
{
    pod_worker *pw = NULL;
    agent_ctr *c = find_ctr(a, ns, pod, container, &pw, msg, msglen);
    if (!c)
        return BERTH_ENOTFOUND;
    berth_container_status st;
    if (!c->id[0] || berth_runtime_status(pw->node->rt, c->id, &st) != 0 ||
        st.state != BERTH_CONTAINER_RUNNING) {
        snprintf(msg, msglen, "container %s in pod %s is not running", c->name, pod);
        return BERTH_EBADREQUEST;
    }
    exec_call *x = malloc(sizeof *x);
    if (!x)
        return BERTH_ENOMEM;
    *x = (exec_call){done, arg};
    int err = berth_runtime_exec(pw->node->rt, c->id, argv, timeout_ms, 1 << 20, exec_done, x);
    if (err) {
        snprintf(msg, msglen, "exec in %s/%s: %s", pod, c->name, berth_strerror(err));
        free(x);
    }
    return err;
}
