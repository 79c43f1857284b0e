/* One worker per pod bound to the node: a level-triggered sync that looks
 * at the pod's spec and its containers' runtime state and moves one step
 * towards what the spec asks (start the next init container, restart an
 * exited one after its backoff, stop everything once the pod is being
 * deleted), then PATCHes the pod status when it changed. Any event (pod
 * update, container exit, probe result, timer) just schedules a sync. */
/* Paths are built in PATH_MAX buffers; one that would not fit is one the
 * kernel refuses anyway, so truncation is not worth a diagnostic here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "berth/quantity.h"
#include "util/fs.h"

static void sync_pod(pod_worker *pw);

const cJSON *agent_pod_ctr_spec(const pod_worker *pw, const agent_ctr *c)
{
    const cJSON *list = berth_obj_at(pw->pod, c->init ? "spec.initContainers" : "spec.containers");
    const cJSON *cs;
    cJSON_ArrayForEach(cs, list) {
        const char *n = berth_obj_str(cs, "name");
        if (n && !strcmp(n, c->name))
            return cs;
    }
    return NULL;
}

agent_ctr *agent_pod_ctr(pod_worker *pw, const char *name)
{
    for (size_t i = 0; i < pw->nctrs; i++)
        if (!name || !*name ? !pw->ctrs[i].init : !strcmp(pw->ctrs[i].name, name))
            return &pw->ctrs[i];
    return NULL;
}

pod_worker *agent_pod_find(agent_node *n, const char *ns, const char *name)
{
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(&n->by_uid, i, &s)) != 0;) {
        pod_worker *pw = s->value;
        if (!strcmp(pw->ns, ns) && !strcmp(pw->name, name) && !pw->freed)
            return pw;
    }
    return NULL;
}

void agent_pod_log_path(const pod_worker *pw, const char *ctr, uint32_t attempt, char *out,
                        size_t len)
{
    snprintf(out, len, "%s/logs/%s_%s_%s/%s/%u.log", pw->node->g->data_dir, pw->ns, pw->name,
             pw->uid, ctr, attempt);
}

uint32_t agent_pod_annotations(const pod_worker *pw, berth_kv *out, uint32_t max)
{
    uint32_t n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, berth_obj_at(pw->pod, "metadata.annotations"))
        if (cJSON_IsString(a) && n < max)
            out[n++] = (berth_kv){a->string, a->valuestring};
    return n;
}

static void container_id(const pod_worker *pw, const agent_ctr *c, uint32_t attempt, char *out)
{
    snprintf(out, BERTH_CONTAINER_ID_MAX, "%.40s_%.63s_%u", pw->uid, c->name, attempt);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    pod_worker *pw = arg;
    pw->next_sync_ns = 0;
    sync_pod(pw);
}

void agent_pod_kick(pod_worker *pw, int64_t delay_ms)
{
    if (pw->freed)
        return;
    int64_t at = agent_now_ns() + delay_ms * 1000000;
    if (pw->next_sync_ns && pw->next_sync_ns <= at)
        return; /* an earlier sync is already due */
    pw->next_sync_ns = at;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(pw->timer, &tv);
}

/* ---- Lifetime ---- */

static void worker_destroy(pod_worker *pw)
{
    for (size_t i = 0; i < pw->nctrs; i++)
        agent_probes_stop(&pw->ctrs[i]);
    if (pw->timer)
        event_free(pw->timer);
    cJSON_Delete(pw->pod);
    free(pw->ctrs);
    free(pw->status_sent);
    free(pw);
}

void agent_pod_unref(pod_worker *pw)
{
    if (--pw->refs == 0 && pw->freed)
        worker_destroy(pw);
}

/* Forgets the worker: out of the node's map now, freed once no callback
 * names it any more. */
static void release(pod_worker *pw)
{
    if (pw->freed)
        return;
    berth_hmap_del(&pw->node->by_uid, pw->uid);
    pw->freed = true;
    for (size_t i = 0; i < pw->nctrs; i++)
        agent_probes_stop(&pw->ctrs[i]);
    evtimer_del(pw->timer);
    if (pw->refs == 0)
        worker_destroy(pw);
}

void agent_pod_free_all(agent_node *n)
{
    const berth_hmap_slot *s;
    /* Collect first: release edits the map. */
    size_t cnt = n->by_uid.len, k = 0;
    pod_worker **all = calloc(cnt + 1, sizeof *all);
    for (size_t i = 0; all && (i = berth_hmap_next(&n->by_uid, i, &s)) != 0;)
        all[k++] = s->value;
    for (size_t i = 0; i < k; i++) {
        all[i]->refs = 0; /* the client is gone: no callback will come */
        release(all[i]);
    }
    free(all);
    berth_hmap_free(&n->by_uid);
}

/* ---- Re-adoption: containers the runtime already has for this pod. ---- */

typedef struct adopt {
    pod_worker *pw;
} adopt;

static int adopt_one(void *arg, const berth_container_status *st)
{
    pod_worker *pw = ((adopt *)arg)->pw;
    if (strcmp(st->pod_uid, pw->uid) != 0)
        return 0;
    agent_ctr *c = NULL;
    for (size_t i = 0; i < pw->nctrs; i++)
        if (!strcmp(pw->ctrs[i].name, st->name))
            c = &pw->ctrs[i];
    if (!c)
        return 0;
    if (!c->id[0] || st->attempt > c->restarts) {
        if (c->id[0])
            snprintf(c->prev_id, sizeof c->prev_id, "%s", c->id);
        snprintf(c->id, sizeof c->id, "%s", st->id);
        c->restarts = st->attempt;
    } else if (!c->prev_id[0] || st->attempt > 0) {
        snprintf(c->prev_id, sizeof c->prev_id, "%s", st->id);
    }
    return 0;
}

static void adopt_containers(pod_worker *pw)
{
    adopt a = {pw};
    berth_runtime_list(pw->node->rt, adopt_one, &a);
    for (size_t i = 0; i < pw->nctrs; i++) {
        agent_ctr *c = &pw->ctrs[i];
        berth_container_status st;
        if (c->prev_id[0] && berth_runtime_status(pw->node->rt, c->prev_id, &st) == 0) {
            c->last = st;
            c->has_last = true;
        }
        if (c->id[0] && berth_runtime_status(pw->node->rt, c->id, &st) == 0 &&
            st.state == BERTH_CONTAINER_RUNNING) {
            BERTH_INFO("agent", "pod %s: re-adopted container %s (%s)", pw->key, c->name, c->id);
            agent_probes_start(pw, c, agent_pod_ctr_spec(pw, c));
            if (!pw->start_ns || st.created_ns < pw->start_ns)
                pw->start_ns = st.created_ns;
        }
    }
}

static int build_ctrs(pod_worker *pw)
{
    const cJSON *init = berth_obj_at(pw->pod, "spec.initContainers");
    const cJSON *main = berth_obj_at(pw->pod, "spec.containers");
    size_t n = (size_t)cJSON_GetArraySize(init) + (size_t)cJSON_GetArraySize(main);
    pw->ctrs = calloc(n ? n : 1, sizeof *pw->ctrs);
    if (!pw->ctrs)
        return BERTH_ENOMEM;
    const cJSON *lists[2] = {init, main}, *cs;
    for (int l = 0; l < 2; l++)
        cJSON_ArrayForEach(cs, lists[l]) {
            agent_ctr *c = &pw->ctrs[pw->nctrs++];
            const char *name = berth_obj_str(cs, "name");
            snprintf(c->name, sizeof c->name, "%s", name ? name : "");
            c->init = l == 0;
            c->pw = pw;
            if (l == 0)
                pw->ninit++;
        }
    return 0;
}

int agent_pod_upsert(agent_node *n, const cJSON *pod)
{
    const char *uid = berth_obj_uid(pod);
    if (!uid)
        return BERTH_EINVAL;
    pod_worker *pw = berth_hmap_get(&n->by_uid, uid);
    cJSON *copy = cJSON_Duplicate(pod, 1);
    if (!copy)
        return BERTH_ENOMEM;
    if (pw) {
        cJSON_Delete(pw->pod);
        pw->pod = copy;
    } else {
        pw = calloc(1, sizeof *pw);
        if (!pw) {
            cJSON_Delete(copy);
            return BERTH_ENOMEM;
        }
        pw->node = n;
        pw->pod = copy;
        snprintf(pw->uid, sizeof pw->uid, "%s", uid);
        snprintf(pw->ns, sizeof pw->ns, "%s", berth_obj_namespace(pod) ? berth_obj_namespace(pod) : "");
        snprintf(pw->name, sizeof pw->name, "%s", berth_obj_name(pod) ? berth_obj_name(pod) : "");
        snprintf(pw->key, sizeof pw->key, "%s/%s", pw->ns, pw->name);
        pw->timer = evtimer_new(n->g->base, on_timer, pw);
        if (!pw->timer || build_ctrs(pw) != 0 || berth_hmap_put(&n->by_uid, uid, pw, NULL) != 0) {
            pw->freed = true;
            worker_destroy(pw);
            return BERTH_ENOMEM;
        }
        /* A phase the API already has as final stays final. */
        const char *phase = berth_obj_str(pod, "status.phase");
        if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
            pw->finished = true;
        adopt_containers(pw);
    }
    if (berth_obj_str(pod, "metadata.deletionTimestamp"))
        pw->deleting = true;
    agent_pod_kick(pw, 0);
    return 0;
}

void agent_pod_removed(agent_node *n, const cJSON *pod)
{
    const char *uid = berth_obj_uid(pod);
    pod_worker *pw = uid ? berth_hmap_get(&n->by_uid, uid) : NULL;
    if (!pw)
        return;
    pw->gone = pw->deleting = true;
    agent_pod_kick(pw, 0);
}

void agent_pod_runtime_event(agent_node *n, const berth_container_status *st)
{
    pod_worker *pw = berth_hmap_get(&n->by_uid, st->pod_uid);
    if (pw)
        agent_pod_kick(pw, 0);
}

/* ---- Starting containers ---- */

static void set_waiting(agent_ctr *c, const char *reason, const char *msg)
{
    snprintf(c->waiting, sizeof c->waiting, "%s", reason);
    snprintf(c->waiting_msg, sizeof c->waiting_msg, "%s", msg ? msg : "");
}

static int64_t quantity_milli(const cJSON *cs, const char *path)
{
    const char *q = berth_obj_str(cs, path);
    int64_t v = 0;
    if (q && berth_quantity_parse_milli(q, &v) != 0)
        v = 0;
    return v;
}

/* Creates and starts the container's next instance. Returns 0 when it
 * runs (or the runtime reports its start failure as an exit), or an error
 * with c->waiting set (the sync retries later). */
static int start_container(pod_worker *pw, agent_ctr *c)
{
    agent_group *g = pw->node->g;
    const cJSON *cs = agent_pod_ctr_spec(pw, c);
    char rootfs[4096] = "/", msg[512] = "";
    const char *image = berth_obj_str(cs, "image");
    if (!g->sim) {
        if (!image || berth_image_resolve(g->images, image, rootfs, sizeof rootfs) != 0) {
            set_waiting(c, "ErrImageNeverPull", berth_images_last_error(g->images));
            return BERTH_ENOTFOUND;
        }
    }
    char **env = NULL, **argv = NULL;
    berth_mount *mounts = NULL;
    uint32_t nmounts = 0;
    int err = agent_container_env(pw, cs, &env, msg, sizeof msg);
    if (!err && g->sim && !cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cs, "command")) &&
        !cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cs, "args"))) {
        argv = calloc(2, sizeof *argv);
        if (!argv || !(argv[0] = strdup("sim")))
            err = BERTH_ENOMEM;
    } else if (!err) {
        err = agent_container_argv(cs, env, &argv, msg, sizeof msg);
    }
    if (!err)
        err = agent_volume_mounts(pw, cs, &mounts, &nmounts, msg, sizeof msg);
    if (err) {
        set_waiting(c, "CreateContainerConfigError", msg);
        agent_strv_free(env);
        agent_strv_free(argv);
        free(mounts);
        return err;
    }
    /* restarts counts the instances that ran before the current one. */
    uint32_t attempt = c->has_last ? c->restarts + 1 : 0;
    char id[BERTH_CONTAINER_ID_MAX], logp[4096];
    container_id(pw, c, attempt, id);
    agent_pod_log_path(pw, c->name, attempt, logp, sizeof logp);
    berth_mkdir_parents(logp);
    berth_kv ann[32];
    uint32_t nann = agent_pod_annotations(pw, ann, 32);
    const char *hostname = berth_obj_str(pw->pod, "spec.hostname");
    berth_container_spec spec = {
        .size = sizeof spec, .id = id, .pod_uid = pw->uid, .pod_namespace = pw->ns,
        .pod_name = pw->name, .name = c->name, .attempt = attempt,
        .flags = pw->netns[0] ? 0 : BERTH_CONTAINER_HOST_NETWORK, .rootfs = rootfs,
        .netns_path = pw->netns[0] ? pw->netns : NULL,
        .argv = (const char *const *)argv, .env = (const char *const *)env,
        .working_dir = berth_obj_str(cs, "workingDir"), .mounts = mounts, .nmounts = nmounts,
        .memory_bytes = quantity_milli(cs, "resources.limits.memory") / 1000,
        .cpu_milli = quantity_milli(cs, "resources.limits.cpu"),
        .hostname = hostname ? hostname : pw->name, .log_path = logp,
        .annotations = ann, .nannotations = nann,
    };
    err = berth_runtime_create(pw->node->rt, &spec);
    if (err == BERTH_EEXISTS) { /* a leftover of an earlier agent: start over */
        berth_runtime_remove(pw->node->rt, id);
        err = berth_runtime_create(pw->node->rt, &spec);
    }
    if (!err && (err = berth_runtime_start(pw->node->rt, id)) != 0)
        berth_runtime_remove(pw->node->rt, id);
    agent_strv_free(env);
    agent_strv_free(argv);
    free(mounts);
    if (err) {
        snprintf(msg, sizeof msg, "the runtime could not run the container: %s",
                 berth_strerror(err));
        set_waiting(c, "RunContainerError", msg);
        return err;
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    c->restarts = attempt;
    c->waiting[0] = 0;
    c->restart_at_ns = 0;
    c->killing = c->stop_sent = false;
    if (!pw->start_ns)
        pw->start_ns = agent_now_ns();
    if (!c->init)
        agent_probes_start(pw, c, cs);
    return 0;
}

/* ---- Exits ---- */

static const char *restart_policy(const pod_worker *pw)
{
    const char *p = berth_obj_str(pw->pod, "spec.restartPolicy");
    return p ? p : "Always";
}

/* Handles a container instance that exited: either it is done for good, or
 * it moves to lastState and its next instance waits for the backoff. */
static void handle_exit(pod_worker *pw, agent_ctr *c, const berth_container_status *st)
{
    const char *policy = restart_policy(pw);
    bool restart = c->init ? st->exit_code != 0 && strcmp(policy, "Never") != 0
                           : !strcmp(policy, "Always") ||
                                 (!strcmp(policy, "OnFailure") && st->exit_code != 0);
    agent_probes_stop(c);
    c->ready = false;
    c->killing = c->stop_sent = false;
    if (!restart) {
        c->done = true;
        return;
    }
    if (c->prev_id[0])
        berth_runtime_remove(pw->node->rt, c->prev_id);
    snprintf(c->prev_id, sizeof c->prev_id, "%s", c->id);
    c->last = *st;
    c->has_last = true;
    c->id[0] = 0;
    int64_t ran_ms = st->started_ns && st->finished_ns > st->started_ns
                         ? (st->finished_ns - st->started_ns) / 1000000 : 0;
    int64_t wait = berth_backoff_exit(&c->backoff, ran_ms, pw->node->g->backoff_base_ms,
                                      BERTH_BACKOFF_MAX_MS);
    c->restart_at_ns = wait ? (st->finished_ns ? st->finished_ns : agent_now_ns()) +
                                  wait * 1000000 : 0;
    if (wait) {
        char m[300];
        snprintf(m, sizeof m, "back-off %" PRId64 "s restarting failed container=%s pod=%s_%s(%s)",
                 wait / 1000, c->name, pw->name, pw->ns, pw->uid);
        set_waiting(c, "CrashLoopBackOff", m);
    }
}

static void on_stopped(void *arg, int err)
{
    agent_ctr *c = arg;
    pod_worker *pw = c->pw;
    if (pw->stopping)
        pw->stopping--;
    agent_pod_kick(pw, 0);
    agent_pod_unref(pw);
}

static int64_t grace_seconds(const pod_worker *pw)
{
    const cJSON *g = berth_obj_at(pw->pod, "metadata.deletionGracePeriodSeconds");
    if (!cJSON_IsNumber(g))
        g = berth_obj_at(pw->pod, "spec.terminationGracePeriodSeconds");
    return cJSON_IsNumber(g) && g->valuedouble >= 0 ? (int64_t)g->valuedouble : 30;
}

static void stop_container(pod_worker *pw, agent_ctr *c, int64_t grace_ms)
{
    if (c->stop_sent)
        return;
    c->stop_sent = true;
    pw->stopping++;
    pw->refs++;
    if (berth_runtime_stop(pw->node->rt, c->id, (uint32_t)(grace_ms < 0 ? 0 : grace_ms),
                           on_stopped, c) != 0) {
        pw->stopping--;
        pw->refs--;
        c->stop_sent = false;
    }
}

/* ---- Status ---- */

static void on_patched(void *arg, const berth_reply *r)
{
    pod_worker *pw = arg;
    pw->patching = false;
    if (!pw->freed) {
        if (r->err && r->err != BERTH_ENOTFOUND) {
            BERTH_WARN("agent", "pod %s: status update failed: %s", pw->key,
                       r->message ? r->message : berth_strerror(r->err));
            free(pw->status_sent);
            pw->status_sent = NULL;
            agent_pod_kick(pw, 1000);
        } else if (pw->patch_again) {
            agent_pod_kick(pw, 0);
        }
        pw->patch_again = false;
    }
    agent_pod_unref(pw);
}

static void patch_status(pod_worker *pw)
{
    if (pw->gone)
        return;
    cJSON *st = agent_pod_status(pw);
    char *text = st ? cJSON_PrintUnformatted(st) : NULL;
    if (!text || (pw->status_sent && !strcmp(text, pw->status_sent)) || pw->patching) {
        if (text && pw->patching && (!pw->status_sent || strcmp(text, pw->status_sent)))
            pw->patch_again = true;
        free(text);
        cJSON_Delete(st);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "status", st);
    berth_request req = {.kind = berth_kind_lookup("pods"), .ns = pw->ns, .name = pw->name,
                         .subresource = "status",
                         .patch_type = "application/merge-patch+json", .body = body};
    pw->refs++;
    if (berth_client_request(pw->node->g->client, BERTH_VERB_PATCH, &req, on_patched, pw) == 0) {
        pw->patching = true;
        free(pw->status_sent);
        pw->status_sent = text;
    } else {
        pw->refs--;
        free(text);
        agent_pod_kick(pw, 1000);
    }
    cJSON_Delete(body);
}

/* ---- Termination ---- */

static void on_deleted(void *arg, const berth_reply *r)
{
    pod_worker *pw = arg;
    if (r->err && r->err != BERTH_ENOTFOUND && r->err != BERTH_ECONFLICT && !pw->freed) {
        BERTH_WARN("agent", "pod %s: final delete failed: %s", pw->key,
                   r->message ? r->message : berth_strerror(r->err));
        pw->deleted_sent = false;
        agent_pod_kick(pw, 1000);
    } else if (!pw->freed) {
        BERTH_INFO("agent", "pod %s: removed", pw->key);
        release(pw);
    }
    agent_pod_unref(pw);
}

static void on_prestop(void *arg, int err, int exit_code, const char *out, size_t len)
{
    agent_ctr *c = arg;
    c->prestop_done = true;
    agent_pod_kick(c->pw, 0);
    agent_pod_unref(c->pw);
}

static void terminate(pod_worker *pw)
{
    int64_t now = agent_now_ns();
    if (!pw->term_start_ns)
        pw->term_start_ns = now;
    int64_t left_ms = grace_seconds(pw) * 1000 - (now - pw->term_start_ns) / 1000000;
    bool busy = false;
    for (size_t i = 0; i < pw->nctrs; i++) {
        agent_ctr *c = &pw->ctrs[i];
        berth_container_status st;
        agent_probes_stop(c);
        if (!c->id[0] || berth_runtime_status(pw->node->rt, c->id, &st) != 0 ||
            st.state == BERTH_CONTAINER_EXITED)
            continue;
        busy = true;
        const cJSON *pre = berth_obj_at(agent_pod_ctr_spec(pw, c), "lifecycle.preStop.exec.command");
        if (pre && !c->prestop_done && st.state == BERTH_CONTAINER_RUNNING && left_ms > 0 &&
            !c->stop_sent) {
            if (!c->prestop_started) {
                const char *argv[64];
                int n = 0;
                const cJSON *s;
                cJSON_ArrayForEach(s, pre) if (cJSON_IsString(s) && n < 63) argv[n++] = s->valuestring;
                argv[n] = NULL;
                c->prestop_started = true;
                pw->refs++;
                if (!n || berth_runtime_exec(pw->node->rt, c->id, argv, (uint32_t)left_ms, 4096,
                                             on_prestop, c) != 0) {
                    pw->refs--;
                    c->prestop_done = true;
                }
            }
            if (!c->prestop_done)
                continue;
        }
        stop_container(pw, c, left_ms);
    }
    if (busy || pw->stopping) {
        agent_pod_kick(pw, left_ms > 0 ? left_ms + 1000 : 2000);
        return;
    }
    for (size_t i = 0; i < pw->nctrs; i++) {
        agent_ctr *c = &pw->ctrs[i];
        if (c->id[0])
            berth_runtime_remove(pw->node->rt, c->id);
        if (c->prev_id[0])
            berth_runtime_remove(pw->node->rt, c->prev_id);
        c->id[0] = c->prev_id[0] = 0;
    }
    agent_net_pod_teardown(pw);
    agent_volumes_teardown(pw);
    if (pw->gone) {
        BERTH_INFO("agent", "pod %s: containers stopped and removed", pw->key);
        release(pw);
        return;
    }
    if (pw->deleted_sent)
        return;
    cJSON *opts = cJSON_CreateObject();
    cJSON_AddStringToObject(opts, "kind", "DeleteOptions");
    cJSON_AddStringToObject(opts, "apiVersion", "v1");
    cJSON_AddNumberToObject(opts, "gracePeriodSeconds", 0);
    cJSON *pre = cJSON_AddObjectToObject(opts, "preconditions");
    cJSON_AddStringToObject(pre, "uid", pw->uid);
    berth_request req = {.kind = berth_kind_lookup("pods"), .ns = pw->ns, .name = pw->name,
                         .body = opts};
    pw->refs++;
    if (berth_client_request(pw->node->g->client, BERTH_VERB_DELETE, &req, on_deleted, pw) == 0)
        pw->deleted_sent = true;
    else {
        pw->refs--;
        agent_pod_kick(pw, 1000);
    }
    cJSON_Delete(opts);
}

/* ---- The sync ---- */

/* Brings one container forward; returns true when it blocks the ones after
 * it (an init container that has not completed). */
static bool step(pod_worker *pw, agent_ctr *c, int64_t now)
{
    berth_container_status st;
    if (c->done)
        return false;
    if (c->id[0]) {
        if (berth_runtime_status(pw->node->rt, c->id, &st) != 0) {
            c->id[0] = 0; /* vanished under us: start afresh */
        } else if (st.state == BERTH_CONTAINER_EXITED) {
            handle_exit(pw, c, &st);
            if (c->done)
                return c->init && st.exit_code != 0;
        } else {
            if (c->killing && !c->stop_sent) {
                BERTH_INFO("agent", "pod %s: container %s failed its liveness probe, restarting",
                           pw->key, c->name);
                stop_container(pw, c, grace_seconds(pw) * 1000);
            }
            return c->init;
        }
    }
    if (c->restart_at_ns > now) {
        agent_pod_kick(pw, (c->restart_at_ns - now) / 1000000 + 1);
        return c->init;
    }
    if (start_container(pw, c) != 0)
        agent_pod_kick(pw, 5000);
    return c->init;
}

static void sync_pod(pod_worker *pw)
{
    if (pw->freed)
        return;
    if (pw->deleting)
        return terminate(pw);
    int64_t now = agent_now_ns();
    if (!pw->finished) {
        const cJSON *ads = berth_obj_at(pw->pod, "spec.activeDeadlineSeconds");
        if (cJSON_IsNumber(ads) && pw->start_ns &&
            now - pw->start_ns >= (int64_t)ads->valuedouble * 1000000000) {
            snprintf(pw->fail_reason, sizeof pw->fail_reason, "DeadlineExceeded");
            snprintf(pw->fail_msg, sizeof pw->fail_msg,
                     "Pod was active on the node longer than the specified deadline");
            pw->finished = true;
            for (size_t i = 0; i < pw->nctrs; i++)
                if (pw->ctrs[i].id[0]) {
                    agent_probes_stop(&pw->ctrs[i]);
                    stop_container(pw, &pw->ctrs[i], grace_seconds(pw) * 1000);
                }
        } else if (cJSON_IsNumber(ads)) {
            if (!pw->start_ns)
                pw->start_ns = now;
            agent_pod_kick(pw, (pw->start_ns + (int64_t)ads->valuedouble * 1000000000 - now) / 1000000 + 1);
        }
    }
    if (!pw->finished) {
        char msg[512] = "";
        if (!pw->start_ns)
            pw->start_ns = now;
        if (agent_volumes_sync(pw, msg, sizeof msg) != 0 ||
            agent_net_pod_setup(pw, msg, sizeof msg) != 0) {
            for (size_t i = 0; i < pw->nctrs; i++)
                if (!pw->ctrs[i].id[0])
                    set_waiting(&pw->ctrs[i], "ContainerCreating", msg);
            agent_pod_kick(pw, 2000);
        } else {
            bool blocked = false;
            for (size_t i = 0; i < pw->ninit && !blocked; i++)
                blocked = step(pw, &pw->ctrs[i], now);
            for (size_t i = pw->ninit; i < pw->nctrs && !blocked; i++)
                step(pw, &pw->ctrs[i], now);
            /* ConfigMap and Secret volumes are refreshed now and then. */
            if (berth_obj_at(pw->pod, "spec.volumes"))
                agent_pod_kick(pw, 10000);
        }
    }
    patch_status(pw);
}
