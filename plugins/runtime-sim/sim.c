/* runtime-sim: containers without processes, for scale tests in the manner
 * of kwok. A container goes Running after a start delay and, when told by
 * its annotations, exits after a while with a chosen code and reason:
 *
 *   berth.dev/sim-start-delay: "500ms"   (default: config start_delay_ms, 0)
 *   berth.dev/sim-exit-after:  "5s"      (default: runs until stopped)
 *   berth.dev/sim-exit-code:   "1"       (default 0)
 *   berth.dev/sim-exit-reason: "OOMKilled" (default Completed or Error)
 *
 * One instance per simulated node; a container costs one small struct and
 * at most one pending host timer, so a process holds thousands of nodes.
 * State is in memory only: containers do not survive the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/plugin.h"

typedef struct sim sim;

typedef struct box {
    struct box *next; /* hash chain */
    sim *s;
    berth_host_timer *timer;
    int64_t start_delay_ms;
    int64_t exit_after_ms; /* -1: run until stopped */
    int32_t exit_code;
    char exit_reason[32];
    berth_container_status st;
} box;

typedef struct pending_exec {
    sim *s;
    berth_host_timer *timer;
    berth_runtime_exec_fn done;
    void *arg;
    struct pending_exec *next;
} pending_exec;

struct sim {
    const berth_host *host;
    box **buckets;
    size_t nbuckets, count;
    int64_t start_delay_ms;
    berth_runtime_event_fn on_event;
    void *event_arg;
    pending_exec *execs;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static box **slot(sim *s, const char *id)
{
    box **pp = &s->buckets[hash(id) & (s->nbuckets - 1)];
    while (*pp && strcmp((*pp)->st.id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

static int grow(sim *s)
{
    size_t n = s->nbuckets * 2;
    box **nb = calloc(n, sizeof *nb);
    if (!nb)
        return BERTH_ENOMEM;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (box *b = s->buckets[i], *next; b; b = next) {
            next = b->next;
            size_t k = hash(b->st.id) & (n - 1);
            b->next = nb[k];
            nb[k] = b;
        }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
    return 0;
}

/* "250ms", "5s", "2m", "1h"; a bare number is seconds. -1 when malformed. */
static int64_t parse_duration(const char *v)
{
    if (!v || !*v)
        return -1;
    char *end;
    double n = strtod(v, &end);
    if (end == v || n < 0 || n > 1e9)
        return -1;
    double scale = !*end || !strcmp(end, "s") ? 1000
                   : !strcmp(end, "ms")       ? 1
                   : !strcmp(end, "m")        ? 60000
                   : !strcmp(end, "h")        ? 3600000
                                              : -1;
    return scale < 0 ? -1 : (int64_t)(n * scale);
}

static const char *annotation(const berth_container_spec *spec, const char *key)
{
    for (uint32_t i = 0; i < spec->nannotations && spec->annotations; i++)
        if (spec->annotations[i].key && strcmp(spec->annotations[i].key, key) == 0)
            return spec->annotations[i].value;
    return NULL;
}

static void emit(sim *s, box *b)
{
    if (s->on_event) {
        berth_container_status st = b->st;
        s->on_event(s->event_arg, &st);
    }
}

static void finish(box *b, int32_t code, int32_t sig, const char *reason)
{
    sim *s = b->s;
    b->st.state = BERTH_CONTAINER_EXITED;
    b->st.exit_code = code;
    b->st.signal = sig;
    b->st.pid = 0;
    b->st.finished_ns = s->host->now_ns(s->host);
    snprintf(b->st.reason, sizeof b->st.reason, "%s",
             reason && *reason ? reason : code == 0 ? "Completed" : "Error");
    emit(s, b);
}

static void on_exit_due(void *arg)
{
    box *b = arg;
    b->timer = NULL;
    finish(b, b->exit_code, 0, b->exit_reason);
}

static void on_started(void *arg)
{
    box *b = arg;
    sim *s = b->s;
    b->timer = NULL;
    b->st.state = BERTH_CONTAINER_RUNNING;
    b->st.started_ns = s->host->now_ns(s->host);
    b->st.pid = 1;
    if (b->exit_after_ms >= 0 &&
        s->host->timer_start(s->host, (uint64_t)b->exit_after_ms, on_exit_due, b, &b->timer) < 0)
        finish(b, 128, 0, "StartError");
    else
        emit(s, b);
}

static int sim_create(void *state, const berth_container_spec *spec)
{
    sim *s = state;
    if (!spec->id || !*spec->id || strlen(spec->id) >= BERTH_CONTAINER_ID_MAX)
        return BERTH_EINVAL;
    if (*slot(s, spec->id))
        return BERTH_EEXISTS;
    if (s->count >= s->nbuckets && grow(s) < 0)
        return BERTH_ENOMEM;
    box *b = calloc(1, sizeof *b);
    if (!b)
        return BERTH_ENOMEM;
    b->s = s;
    b->st.size = sizeof b->st;
    b->st.state = BERTH_CONTAINER_CREATED;
    b->st.attempt = spec->attempt;
    b->st.created_ns = s->host->now_ns(s->host);
    snprintf(b->st.id, sizeof b->st.id, "%s", spec->id);
    snprintf(b->st.pod_uid, sizeof b->st.pod_uid, "%s", spec->pod_uid ? spec->pod_uid : "");
    snprintf(b->st.name, sizeof b->st.name, "%s", spec->name ? spec->name : "");
    b->exit_after_ms = parse_duration(annotation(spec, BERTH_SIM_EXIT_AFTER));
    const char *code = annotation(spec, BERTH_SIM_EXIT_CODE);
    b->exit_code = code ? (int32_t)strtol(code, NULL, 10) & 255 : 0;
    const char *reason = annotation(spec, BERTH_SIM_EXIT_REASON);
    snprintf(b->exit_reason, sizeof b->exit_reason, "%s", reason ? reason : "");
    int64_t delay = parse_duration(annotation(spec, BERTH_SIM_START_DELAY));
    b->start_delay_ms = delay >= 0 ? delay : s->start_delay_ms;
    box **pp = slot(s, spec->id);
    *pp = b;
    s->count++;
    return 0;
}

static int sim_start(void *state, const char *id)
{
    sim *s = state;
    box *b = *slot(s, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (b->st.state != BERTH_CONTAINER_CREATED || b->timer)
        return BERTH_ECONFLICT;
    if (b->start_delay_ms == 0) {
        on_started(b);
        return 0;
    }
    return s->host->timer_start(s->host, (uint64_t)b->start_delay_ms, on_started, b, &b->timer);
}

/* Simulated processes honour SIGTERM at once. */
static int sim_stop(void *state, const char *id, uint32_t grace_ms, berth_runtime_done_fn done,
                    void *arg)
{
    sim *s = state;
    box *b = *slot(s, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (b->timer) {
        s->host->timer_cancel(s->host, b->timer);
        b->timer = NULL;
    }
    if (b->st.state != BERTH_CONTAINER_EXITED)
        finish(b, grace_ms ? 143 : 137, grace_ms ? 15 : 9, "Error");
    if (done)
        done(arg, 0);
    return 0;
}

static int sim_remove(void *state, const char *id)
{
    sim *s = state;
    box **pp = slot(s, id), *b = *pp;
    if (!b)
        return BERTH_ENOTFOUND;
    if (b->st.state == BERTH_CONTAINER_RUNNING)
        return BERTH_ECONFLICT;
    if (b->timer)
        s->host->timer_cancel(s->host, b->timer);
    *pp = b->next;
    s->count--;
    free(b);
    return 0;
}

static int sim_status(void *state, const char *id, berth_container_status *out)
{
    box *b = *slot(state, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (out->size < sizeof *out)
        return BERTH_EABI;
    *out = b->st;
    return 0;
}

static int sim_list(void *state, berth_runtime_list_fn fn, void *arg)
{
    sim *s = state;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (box *b = s->buckets[i]; b; b = b->next) {
            if (fn(arg, &b->st) != 0)
                return 0;
        }
    return 0;
}

static void on_exec_due(void *arg)
{
    pending_exec *x = arg;
    for (pending_exec **pp = &x->s->execs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    berth_runtime_exec_fn done = x->done;
    void *darg = x->arg;
    free(x);
    done(darg, 0, 0, "", 0);
}

/* Every command succeeds with no output, on the next loop turn. */
static int sim_exec(void *state, const char *id, const char *const *argv, uint32_t timeout_ms,
                    size_t max_output, berth_runtime_exec_fn done, void *arg)
{
    sim *s = state;
    box *b = *slot(s, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (b->st.state != BERTH_CONTAINER_RUNNING)
        return BERTH_ECONFLICT;
    pending_exec *x = calloc(1, sizeof *x);
    if (!x)
        return BERTH_ENOMEM;
    *x = (pending_exec){s, NULL, done, arg, s->execs};
    int err = s->host->timer_start(s->host, 0, on_exec_due, x, &x->timer);
    if (err < 0) {
        free(x);
        return err;
    }
    s->execs = x;
    return 0;
}

static int sim_events(void *state, berth_runtime_event_fn fn, void *arg)
{
    sim *s = state;
    s->on_event = fn;
    s->event_arg = arg;
    return 0;
}

static const berth_runtime_ops ops = {
    .size = sizeof(berth_runtime_ops),
    .create = sim_create,
    .start = sim_start,
    .stop = sim_stop,
    .remove = sim_remove,
    .status = sim_status,
    .list = sim_list,
    .exec = sim_exec,
    .set_event_handler = sim_events,
};

static int sim_init(const berth_host *h, void **state, const void **out)
{
    if (h->size < BERTH_HOST_V1_SIZE)
        return BERTH_EABI;
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return BERTH_ENOMEM;
    s->host = h;
    s->nbuckets = 64;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    if (!s->buckets) {
        free(s);
        return BERTH_ENOMEM;
    }
    const char *d = h->config(h, "start_delay_ms");
    s->start_delay_ms = d ? strtoll(d, NULL, 10) : 0;
    if (s->start_delay_ms < 0)
        s->start_delay_ms = 0;
    *state = s;
    *out = &ops;
    return 0;
}

static void sim_fini(void *state)
{
    sim *s = state;
    while (s->execs) {
        pending_exec *x = s->execs;
        s->execs = x->next;
        s->host->timer_cancel(s->host, x->timer);
        x->done(x->arg, BERTH_ECANCELED, 0, "", 0);
        free(x);
    }
    for (size_t i = 0; i < s->nbuckets; i++)
        for (box *b = s->buckets[i], *next; b; b = next) {
            next = b->next;
            if (b->timer)
                s->host->timer_cancel(s->host, b->timer);
            free(b);
        }
    free(s->buckets);
    free(s);
}

BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
    BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin), "runtime-sim",
    BERTH_PLUGIN_RUNTIME,   sim_init,               sim_fini,
};
