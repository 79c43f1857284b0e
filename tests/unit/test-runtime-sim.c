/* runtime-sim: start delays, exits told by annotations, stop, and many
 * nodes in one process. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/plugin-loader.h"
#include "test.h"

typedef struct env {
    struct event_base *base;
    berth_plugins *ps;
    int running, exited;
    berth_container_status last;
} env;

static const char *config(void *arg, const char *plugin, const char *key)
{
    return strcmp(key, "start_delay_ms") == 0 ? "20" : NULL;
}

static void on_event(void *arg, const berth_container_status *st)
{
    env *e = arg;
    if (st->state == BERTH_CONTAINER_RUNNING)
        e->running++;
    if (st->state == BERTH_CONTAINER_EXITED) {
        e->exited++;
        e->last = *st;
    }
}

static berth_plugin_inst *env_open(env *e, const char *instance)
{
    berth_plugin_inst *rt = NULL;
    if (!e->ps) {
        e->base = event_base_new();
        berth_plugins_opts o = {.base = e->base, .data_dir = berth_test_tmpdir(),
                                .build_dir = BERTH_BINARY_DIR "/plugins", .config = config};
        CHECK_INT(berth_plugins_new(&o, &e->ps), 0);
    }
    CHECK_INT(berth_plugins_open(e->ps, BERTH_PLUGIN_RUNTIME, "sim", instance, &rt), 0);
    if (rt)
        berth_runtime_set_event_handler(rt, on_event, e);
    return rt;
}

static void env_close(env *e)
{
    berth_plugins_free(e->ps);
    event_base_free(e->base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    *(int *)arg = 1;
}

static int wait_for(env *e, int *flag, int want, int ms)
{
    int timed_out = 0;
    struct event *t = evtimer_new(e->base, on_timeout, &timed_out);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t, &tv);
    while (*flag < want && !timed_out)
        event_base_loop(e->base, EVLOOP_ONCE);
    event_free(t);
    return *flag;
}

static void spec_init(berth_container_spec *s, const char *id, const berth_kv *ann, uint32_t n)
{
    static const char *const argv[] = {"app", NULL};
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->id = id;
    s->name = id;
    s->pod_uid = "u1";
    s->argv = argv;
    s->annotations = ann;
    s->nannotations = n;
}

BERTH_TEST(runtime_sim_runs_after_delay_and_exits_when_told) {
    env e = {0};
    berth_plugin_inst *rt = env_open(&e, NULL);
    if (!rt)
        goto out;
    berth_kv ann[] = {{BERTH_SIM_EXIT_AFTER, "50ms"}, {BERTH_SIM_EXIT_CODE, "3"}};
    berth_container_spec s;
    spec_init(&s, "a", ann, 2);
    CHECK_INT(berth_runtime_create(rt, &s), 0);
    CHECK_INT(berth_runtime_create(rt, &s), BERTH_EEXISTS);
    CHECK_INT(berth_runtime_start(rt, "a"), 0);
    berth_container_status st;
    CHECK_INT(berth_runtime_status(rt, "a", &st), 0);
    CHECK_INT(st.state, BERTH_CONTAINER_CREATED); /* the 20 ms start delay */
    CHECK_INT(wait_for(&e, &e.running, 1, 2000), 1);
    CHECK_INT(berth_runtime_remove(rt, "a"), BERTH_ECONFLICT);
    CHECK_INT(wait_for(&e, &e.exited, 1, 2000), 1);
    CHECK_INT(e.last.exit_code, 3);
    CHECK_STR(e.last.reason, "Error");
    CHECK(e.last.finished_ns - e.last.started_ns >= 40 * 1000000LL);
    /* A told reason, and an immediate start. */
    berth_kv oom[] = {{BERTH_SIM_START_DELAY, "0"}, {BERTH_SIM_EXIT_AFTER, "10ms"},
                      {BERTH_SIM_EXIT_CODE, "137"}, {BERTH_SIM_EXIT_REASON, "OOMKilled"}};
    spec_init(&s, "b", oom, 4);
    CHECK_INT(berth_runtime_create(rt, &s), 0);
    CHECK_INT(berth_runtime_start(rt, "b"), 0);
    CHECK_INT(e.running, 2);
    CHECK_INT(wait_for(&e, &e.exited, 2, 2000), 2);
    CHECK_STR(e.last.reason, "OOMKilled");
    CHECK_INT(berth_runtime_remove(rt, "a"), 0);
    CHECK_INT(berth_runtime_remove(rt, "b"), 0);
out:
    env_close(&e);
}

static void count_done(void *arg, int err)
{
    (*(int *)arg)++;
}

static void on_exec(void *arg, int err, int code, const char *out, size_t len)
{
    *(int *)arg = 1 + code;
}

BERTH_TEST(runtime_sim_stop_and_exec) {
    env e = {0};
    berth_plugin_inst *rt = env_open(&e, NULL);
    if (!rt)
        goto out;
    berth_container_spec s;
    spec_init(&s, "svc", NULL, 0);
    CHECK_INT(berth_runtime_create(rt, &s), 0);
    CHECK_INT(berth_runtime_start(rt, "svc"), 0);
    CHECK_INT(wait_for(&e, &e.running, 1, 2000), 1);
    const char *argv[] = {"true", NULL};
    int ran = 0;
    CHECK_INT(berth_runtime_exec(rt, "svc", argv, 0, 0, on_exec, &ran), 0);
    CHECK_INT(wait_for(&e, &ran, 1, 2000), 1);
    int done = 0;
    CHECK_INT(berth_runtime_stop(rt, "svc", 1000, count_done, &done), 0);
    CHECK_INT(done, 1);
    CHECK_INT(e.last.exit_code, 143);
    CHECK_INT(berth_runtime_exec(rt, "svc", argv, 0, 0, on_exec, &ran), BERTH_ECONFLICT);
    /* Left in place: fini frees it. */
out:
    env_close(&e);
}

BERTH_TEST(runtime_sim_many_nodes) {
    env e = {0};
    enum { NODES = 200, PODS = 50 };
    static berth_plugin_inst *nodes[NODES];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char name[32], id[32];
    for (int n = 0; n < NODES; n++) {
        snprintf(name, sizeof name, "node-%d", n);
        nodes[n] = env_open(&e, name);
        if (!nodes[n])
            goto out;
        for (int p = 0; p < PODS; p++) {
            berth_container_spec s;
            snprintf(id, sizeof id, "pod-%d", p);
            spec_init(&s, id, NULL, 0);
            CHECK_INT(berth_runtime_create(nodes[n], &s), 0);
            CHECK_INT(berth_runtime_start(nodes[n], id), 0);
        }
    }
    CHECK_INT(wait_for(&e, &e.running, NODES * PODS, 10000), NODES * PODS);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("metric: sim_%d_containers_running_ms: %.1f\n", NODES * PODS,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
out:
    env_close(&e);
}
