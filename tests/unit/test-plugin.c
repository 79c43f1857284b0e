/* The plugin loader: every refusal has its one precise message and leaves
 * nothing loaded; the example plugin loads, runs a container through the
 * checked runtime calls, and unloads. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "agent/plugin-loader.h"
#include "test.h"

#define FIXTURES BERTH_BINARY_DIR "/tests/fixtures/plugins/"
#define EXAMPLE BERTH_BINARY_DIR "/examples/plugin/runtime-hello.so"

typedef struct {
    struct event_base *base;
    berth_plugins *ps;
    const char *code; /* the init-fails fixture's configured return value */
} env;

static const char *config(void *arg, const char *plugin, const char *key)
{
    env *e = arg;
    if (strcmp(plugin, "fixture-init-fails") == 0 && strcmp(key, "code") == 0)
        return e->code;
    return NULL;
}

static void env_open(env *e)
{
    memset(e, 0, sizeof *e);
    e->base = event_base_new();
    berth_plugins_opts o = {.base = e->base, .data_dir = berth_test_tmpdir(),
                            .config = config, .config_arg = e};
    CHECK_INT(berth_plugins_new(&o, &e->ps), 0);
}

static void env_close(env *e)
{
    berth_plugins_free(e->ps);
    event_base_free(e->base);
}

static void refused(const char *file, int want_err, const char *want_msg)
{
    env e;
    env_open(&e);
    berth_plugin_inst *inst = NULL;
    CHECK_INT(berth_plugins_open_file(e.ps, 0, file, NULL, &inst), want_err);
    CHECK(inst == NULL);
    const char *msg = berth_plugins_last_error(e.ps);
    if (!strstr(msg, want_msg))
        fprintf(stderr, "message: %s\nwanted: %s\n", msg, want_msg);
    CHECK(strstr(msg, want_msg) != NULL);
    CHECK(strchr(msg, '\n') == NULL);
    env_close(&e);
}

BERTH_TEST(plugin_refuses_wrong_abi_major) {
    refused(FIXTURES "bad-major.so", BERTH_EABI, "bad-major.so: ABI major 99, this host speaks 1");
}

BERTH_TEST(plugin_refuses_short_descriptor) {
    refused(FIXTURES "short-struct.so", BERTH_EABI,
            "short-struct.so: descriptor berth_plugin_v1 is 12 bytes, at least 48 needed");
}

BERTH_TEST(plugin_refuses_missing_symbol) {
    refused(FIXTURES "no-symbol.so", BERTH_EABI,
            "no-symbol.so: no symbol berth_plugin_v1 (not a berth plugin)");
}

BERTH_TEST(plugin_refuses_unknown_kind) {
    refused(FIXTURES "unknown-kind.so", BERTH_EABI,
            "plugin fixture-unknown-kind (" FIXTURES "unknown-kind.so): unknown kind 9");
}

BERTH_TEST(plugin_refuses_short_ops_table) {
    refused(FIXTURES "short-ops.so", BERTH_EABI, "runtime ops table is 16 bytes, at least");
}

BERTH_TEST(plugin_refuses_volume_ops_without_unmount) {
    refused(FIXTURES "volume-no-unmount.so", BERTH_EABI,
            "volume ops table lacks mount or unmount");
}

BERTH_TEST(plugin_refuses_missing_file) {
    refused(FIXTURES "absent.so", BERTH_ENOTFOUND, "absent.so: cannot load:");
}

BERTH_TEST(plugin_refuses_duplicate_name) {
    env e;
    env_open(&e);
    berth_plugin_inst *a = NULL, *b = NULL, *c = NULL;
    CHECK_INT(berth_plugins_open_file(e.ps, BERTH_PLUGIN_RUNTIME, EXAMPLE, NULL, &a), 0);
    CHECK_INT(berth_plugins_open_file(e.ps, 0, FIXTURES "dup-name.so", NULL, &b), BERTH_EEXISTS);
    CHECK(strstr(berth_plugins_last_error(e.ps),
                 "plugin runtime-hello (" FIXTURES "dup-name.so): duplicate name, already "
                 "loaded from " EXAMPLE) != NULL);
    /* The same file again is a second instance, not a duplicate. */
    CHECK_INT(berth_plugins_open_file(e.ps, 0, EXAMPLE, "second", &c), 0);
    CHECK(a && c && a != c);
    env_close(&e);
}

BERTH_TEST(plugin_refuses_wrong_kind) {
    env e;
    env_open(&e);
    berth_plugin_inst *a = NULL;
    CHECK_INT(berth_plugins_open_file(e.ps, BERTH_PLUGIN_NETWORK, EXAMPLE, NULL, &a),
              BERTH_EINVAL);
    CHECK(strstr(berth_plugins_last_error(e.ps),
                 "is a runtime plugin, not a network plugin") != NULL);
    env_close(&e);
}

BERTH_TEST(plugin_survives_any_init_code) {
    static const char *const codes[] = {"-5", "42", "-100000", "-2147483648"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        env e;
        env_open(&e);
        e.code = codes[i];
        berth_plugin_inst *a = NULL;
        int err = berth_plugins_open_file(e.ps, 0, FIXTURES "init-fails.so", NULL, &a);
        CHECK(err < 0);
        CHECK(a == NULL);
        CHECK(strstr(berth_plugins_last_error(e.ps), "init failed:") != NULL);
        /* The timer it started before failing was dropped with it. */
        CHECK_INT(event_base_get_num_events(e.base, EVENT_BASE_COUNT_ADDED), 0);
        env_close(&e);
    }
}

BERTH_TEST(plugin_finds_by_name_in_plugin_dir) {
    env e;
    memset(&e, 0, sizeof e);
    e.base = event_base_new();
    berth_plugins_opts o = {.base = e.base, .data_dir = berth_test_tmpdir(),
                            .plugin_dir = BERTH_BINARY_DIR "/examples/plugin",
                            .build_dir = BERTH_BINARY_DIR "/plugins"};
    CHECK_INT(berth_plugins_new(&o, &e.ps), 0);
    berth_plugin_inst *a = NULL, *b = NULL;
    /* --runtime hello finds DIR/runtime-hello.so. */
    CHECK_INT(berth_plugins_open(e.ps, BERTH_PLUGIN_RUNTIME, "hello", NULL, &a), 0);
    CHECK_STR(berth_plugin_inst_descriptor(a)->name, "runtime-hello");
    /* Once loaded, either name finds the loaded plugin. */
    CHECK_INT(berth_plugins_open(e.ps, BERTH_PLUGIN_RUNTIME, "runtime-hello", "two", &b), 0);
    CHECK(b != NULL && berth_plugin_inst_descriptor(b) == berth_plugin_inst_descriptor(a));
    CHECK_INT(berth_plugins_open(e.ps, BERTH_PLUGIN_RUNTIME, "nosuch", NULL, &b),
              BERTH_ENOTFOUND);
    CHECK(strstr(berth_plugins_last_error(e.ps), "runtime plugin nosuch not found") != NULL);
    CHECK_INT(berth_plugins_open(e.ps, BERTH_PLUGIN_RUNTIME, "../x", NULL, &b), BERTH_EINVAL);
    env_close(&e);
}

typedef struct {
    int events, exited, done;
    berth_container_status last;
    struct event_base *base;
} seen;

static void on_event(void *arg, const berth_container_status *st)
{
    seen *s = arg;
    s->events++;
    s->last = *st;
    if (st->state == BERTH_CONTAINER_EXITED) {
        s->exited++;
        event_base_loopbreak(s->base);
    }
}

BERTH_TEST(plugin_example_runs_a_container) {
    env e;
    env_open(&e);
    berth_plugin_inst *rt = NULL;
    CHECK_INT(berth_plugins_open_file(e.ps, BERTH_PLUGIN_RUNTIME, EXAMPLE, NULL, &rt), 0);
    if (!rt) {
        env_close(&e);
        return;
    }
    seen s = {.base = e.base};
    CHECK_INT(berth_runtime_set_event_handler(rt, on_event, &s), 0);
    const char *argv[] = {"echo", "hello", NULL};
    berth_container_spec spec = {.size = sizeof spec, .id = "pod1_c1_0", .name = "c1",
                                 .argv = argv};
    CHECK_INT(berth_runtime_create(rt, &spec), 0);
    CHECK_INT(berth_runtime_create(rt, &spec), BERTH_EEXISTS);
    CHECK_INT(berth_runtime_start(rt, "pod1_c1_0"), 0);
    CHECK_INT(s.events, 1);
    event_base_dispatch(e.base);
    CHECK_INT(s.exited, 1);
    berth_container_status st;
    CHECK_INT(berth_runtime_status(rt, "pod1_c1_0", &st), 0);
    CHECK_INT(st.state, BERTH_CONTAINER_EXITED);
    CHECK_STR(st.reason, "Completed");
    CHECK_INT(berth_runtime_exec(rt, "pod1_c1_0", argv, 0, 0, (berth_runtime_exec_fn)abort,
                                 NULL),
              BERTH_ENOTSUP);
    CHECK_INT(berth_runtime_remove(rt, "pod1_c1_0"), 0);
    CHECK_INT(berth_runtime_status(rt, "pod1_c1_0", &st), BERTH_ENOTFOUND);
    /* A container left running at close has its timer cancelled by fini. */
    CHECK_INT(berth_runtime_create(rt, &spec), 0);
    CHECK_INT(berth_runtime_start(rt, "pod1_c1_0"), 0);
    berth_plugin_inst_close(rt);
    CHECK_INT(event_base_get_num_events(e.base, EVENT_BASE_COUNT_ADDED), 0);
    env_close(&e);
}
