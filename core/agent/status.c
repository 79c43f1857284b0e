/* The pod status a worker reports: phase, conditions, container statuses
 * (state, lastState, restartCount, ready, started), IPs, startTime and QoS
 * class, in the shapes Kubernetes uses. Fields a merge patch must clear are
 * written as null. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/agent-int.h"
#include "berth/quantity.h"

int64_t agent_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void agent_time_format(int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *o, const char *key, int64_t ns)
{
    char buf[32];
    if (ns <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    agent_time_format(ns, buf, sizeof buf);
    cJSON_AddStringToObject(o, key, buf);
}

static cJSON *terminated(const berth_container_status *st)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "exitCode", st->exit_code);
    if (st->signal)
        cJSON_AddNumberToObject(t, "signal", st->signal);
    cJSON_AddStringToObject(t, "reason", st->reason[0] ? st->reason
                                         : st->exit_code ? "Error" : "Completed");
    if (st->message[0])
        cJSON_AddStringToObject(t, "message", st->message);
    add_time(t, "startedAt", st->started_ns);
    add_time(t, "finishedAt", st->finished_ns);
    char id[BERTH_CONTAINER_ID_MAX + 16];
    snprintf(id, sizeof id, "berth://%s", st->id);
    cJSON_AddStringToObject(t, "containerID", id);
    return t;
}

/* One containerStatuses entry; *running and *exited report its state. */
static cJSON *ctr_status(pod_worker *pw, agent_ctr *c, bool init_pending, bool *running,
                         bool *exited_ok, bool *exited_bad)
{
    const cJSON *cs = agent_pod_ctr_spec(pw, c);
    const char *image = berth_obj_str(cs, "image");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "image", image ? image : "");
    cJSON_AddStringToObject(o, "imageID", "");
    cJSON *state = cJSON_CreateObject();
    berth_container_status st;
    bool have = c->id[0] && berth_runtime_status(pw->node->rt, c->id, &st) == 0;
    *running = *exited_ok = *exited_bad = false;
    if (have) {
        char id[BERTH_CONTAINER_ID_MAX + 16];
        snprintf(id, sizeof id, "berth://%s", c->id);
        cJSON_AddStringToObject(o, "containerID", id);
    }
    if (have && st.state == BERTH_CONTAINER_RUNNING) {
        cJSON *r = cJSON_AddObjectToObject(state, "running");
        add_time(r, "startedAt", st.started_ns);
        *running = true;
    } else if (have && st.state == BERTH_CONTAINER_EXITED) {
        cJSON_AddItemToObject(state, "terminated", terminated(&st));
        *exited_ok = st.exit_code == 0;
        *exited_bad = !*exited_ok;
    } else {
        cJSON *w = cJSON_AddObjectToObject(state, "waiting");
        const char *reason = c->waiting[0] ? c->waiting
                             : init_pending && !c->init ? "PodInitializing"
                                                        : "ContainerCreating";
        cJSON_AddStringToObject(w, "reason", reason);
        if (c->waiting[0] && c->waiting_msg[0])
            cJSON_AddStringToObject(w, "message", c->waiting_msg);
    }
    cJSON_AddItemToObject(o, "state", state);
    cJSON *last = cJSON_AddObjectToObject(o, "lastState");
    if (c->has_last)
        cJSON_AddItemToObject(last, "terminated", terminated(&c->last));
    cJSON_AddBoolToObject(o, "ready", *running && c->ready);
    cJSON_AddNumberToObject(o, "restartCount", c->restarts);
    cJSON_AddBoolToObject(o, "started", *running && c->started);
    return o;
}

static const char *qos_class(const cJSON *pod)
{
    bool any = false, guaranteed = true;
    const char *lists[2] = {"spec.initContainers", "spec.containers"};
    for (int l = 0; l < 2; l++) {
        const cJSON *cs;
        cJSON_ArrayForEach(cs, berth_obj_at(pod, lists[l])) {
            static const char *const res[2] = {"cpu", "memory"};
            for (int r = 0; r < 2; r++) {
                char p[64];
                snprintf(p, sizeof p, "resources.requests.%s", res[r]);
                const char *req = berth_obj_str(cs, p);
                snprintf(p, sizeof p, "resources.limits.%s", res[r]);
                const char *lim = berth_obj_str(cs, p);
                int64_t a = 0, b = 0;
                if (req || lim)
                    any = true;
                if (!lim || (req && (berth_quantity_parse_milli(req, &a) != 0 ||
                                     berth_quantity_parse_milli(lim, &b) != 0 || a != b)))
                    guaranteed = false;
            }
        }
    }
    return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

static void condition(pod_worker *pw, cJSON *conds, int i, const char *type, bool ok,
                      const char *reason)
{
    int64_t now = agent_now_ns();
    if (!pw->cond_ns[i] || pw->cond_true[i] != ok) {
        pw->cond_true[i] = ok;
        pw->cond_ns[i] = now;
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", ok ? "True" : "False");
    if (!ok && reason)
        cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddNullToObject(c, "lastProbeTime");
    add_time(c, "lastTransitionTime", pw->cond_ns[i]);
    cJSON_AddItemToArray(conds, c);
}

cJSON *agent_pod_status(pod_worker *pw)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *init = cJSON_CreateArray(), *main = cJSON_CreateArray();
    bool init_done = true, all_ready = true, any_running = false, all_done = true,
         any_failed = false, any_never_started = false;
    for (size_t i = 0; i < pw->nctrs; i++) {
        agent_ctr *c = &pw->ctrs[i];
        bool running, ok, bad;
        cJSON *cs = ctr_status(pw, c, !init_done, &running, &ok, &bad);
        cJSON_AddItemToArray(c->init ? init : main, cs);
        if (c->init) {
            if (!(c->done && ok))
                init_done = false;
            if (c->done && bad)
                any_failed = true;
            continue;
        }
        if (!(running && c->ready))
            all_ready = false;
        any_running |= running;
        if (!c->done)
            all_done = false;
        if (c->done && bad)
            any_failed = true;
        if (!running && !c->done && !c->has_last)
            any_never_started = true;
    }
    const char *phase = "Pending";
    if (pw->fail_reason[0] || (any_failed && (all_done || !init_done)))
        phase = "Failed";
    else if (init_done && all_done && pw->nctrs > pw->ninit)
        phase = "Succeeded";
    else if (init_done && (any_running || !any_never_started))
        phase = "Running";
    snprintf(pw->phase, sizeof pw->phase, "%s", phase);
    if (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded")) {
        pw->finished = true;
        for (size_t i = 0; i < pw->nctrs; i++)
            agent_probes_stop(&pw->ctrs[i]);
    }
    cJSON_AddStringToObject(s, "phase", phase);
    if (pw->fail_reason[0]) {
        cJSON_AddStringToObject(s, "reason", pw->fail_reason);
        cJSON_AddStringToObject(s, "message", pw->fail_msg);
    } else {
        cJSON_AddNullToObject(s, "reason");
        cJSON_AddNullToObject(s, "message");
    }
    cJSON *conds = cJSON_AddArrayToObject(s, "conditions");
    bool ready = all_ready && init_done && !pw->finished;
    condition(pw, conds, 0, "PodScheduled", true, NULL);
    condition(pw, conds, 1, "Initialized", init_done, "ContainersNotInitialized");
    condition(pw, conds, 2, "ContainersReady", ready, "ContainersNotReady");
    condition(pw, conds, 3, "Ready", ready, "ContainersNotReady");
    cJSON_AddStringToObject(s, "hostIP", pw->node->ip);
    cJSON *ips = cJSON_AddArrayToObject(s, "hostIPs");
    cJSON *ip = cJSON_CreateObject();
    cJSON_AddStringToObject(ip, "ip", pw->node->ip);
    cJSON_AddItemToArray(ips, ip);
    /* No podIP until the pod's network is set up, as in Kubernetes. */
    if (pw->ip[0]) {
        cJSON_AddStringToObject(s, "podIP", pw->ip);
        ips = cJSON_AddArrayToObject(s, "podIPs");
        ip = cJSON_CreateObject();
        cJSON_AddStringToObject(ip, "ip", pw->ip);
        cJSON_AddItemToArray(ips, ip);
    }
    add_time(s, "startTime", pw->start_ns);
    if (pw->ninit)
        cJSON_AddItemToObject(s, "initContainerStatuses", init);
    else
        cJSON_Delete(init);
    cJSON_AddItemToObject(s, "containerStatuses", main);
    cJSON_AddStringToObject(s, "qosClass", qos_class(pw->pod));
    return s;
}
