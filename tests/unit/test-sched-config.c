/* The scheduler configuration file, scoring strategies, plugins in shared
 * objects, and the NodeName filter. */
#include "test-sched.h"
#include "sched/sched.h"

BERTH_TEST(sched_config_errors_name_the_field) {
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"scoringStrategy: Random\n", "scoringStrategy: Unsupported value"},
        {"weights: {NodeAffinity: -1}\n", "weights.NodeAffinity: Invalid value"},
        {"weights: {Nope: 1}\n", "weights.Nope: Unsupported value"},
        {"percentageOfNodesToScore: 101\n", "percentageOfNodesToScore: Invalid value"},
        {"priorityClasses: [{value: 3}]\n", "priorityClasses[0].name: Required value"},
        {"plugins: [{weight: 3}]\n", "plugins[0].path: Required value"},
        {"colour: blue\n", "colour: Unsupported value"},
        {"backoffInitialSeconds: 20\n", "backoffMaxSeconds: Invalid value"},
        {"- a\n", "the scheduler configuration must be a mapping"},
        {"a: [\n", "line "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        berth_sched_config *c = (berth_sched_config *)1;
        char err[256] = "";
        CHECK(berth_sched_config_parse(bad[i].text, strlen(bad[i].text), &c, err, sizeof err) < 0);
        CHECK(c == NULL);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            berth_test_fail(__FILE__, __LINE__, "%s: got \"%s\"", bad[i].text, err);
    }
    berth_sched_config *c;
    const char *good = "schedulerName: bin-packer\nscoringStrategy: MostAllocated\n"
                       "weights: {TaintToleration: 1}\npreemption: false\n";
    CHECK_INT(berth_sched_config_parse(good, strlen(good), &c, NULL, 0), 0);
    berth_sched_config_free(c);
    CHECK_INT(berth_sched_config_parse("", 0, &c, NULL, 0), 0);
    berth_sched_config_free(c);
}

static const char *place_third(const char *cfg, char *buf, size_t size)
{
    berth_sched *s = ts_new(cfg);
    ts_node(s, "a", "", "", NULL);
    ts_node(s, "b", "", "", NULL);
    CHECK_INT(ts_pod(s, "x", "2", "", "'nodeName':'a'"), 0);
    CHECK_INT(ts_pod(s, "p", "1", "", ""), 0);
    ts_next(s, 0, buf, size);
    berth_sched_free(s);
    return buf;
}

BERTH_TEST(sched_scoring_strategies) {
    char buf[256];
    CHECK_STR(place_third("", buf, sizeof buf), "b");
    CHECK_STR(place_third("scoringStrategy: LeastAllocated\n", buf, sizeof buf), "b");
    CHECK_STR(place_third("scoringStrategy: MostAllocated\n", buf, sizeof buf), "a");
    /* A scheduler with another name leaves default-scheduler pods (and pods
     * naming none, which the API defaults to default-scheduler) alone. */
    berth_sched *s = ts_new("schedulerName: other\n");
    ts_node(s, "a", "", "", NULL);
    CHECK_INT(ts_pod(s, "p", "1", "", ""), 0);
    CHECK_INT(ts_pod(s, "q", "1", "", "'schedulerName':'other'"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "a");
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "");
    berth_sched_free(s);
}

BERTH_TEST(sched_plugin_so_filters_and_scores) {
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "plugins:\n  - path: %s/plugins/sched-example.so\n    weight: 10\n"
             "    args: {preferLabel: fast}\n", BERTH_BINARY_DIR);
    berth_sched *s = ts_new(cfg);
    ts_node(s, "a", "'example.berth.dev/reject':'true'", "", NULL);
    ts_node(s, "b", "", "", NULL);
    ts_node(s, "c", "'fast':'yes'", "", NULL);
    char buf[512];
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        CHECK_INT(ts_pod(s, name, "100m", "", ""), 0);
        CHECK_STR(ts_next(s, 0, buf, sizeof buf), "c");
    }
    CHECK_INT(ts_pod(s, "x", "1", "", "'nodeName':'b'"), 0);
    CHECK_INT(ts_pod(s, "big", "4", "", ""), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 1 node(s) were rejected by the example plugin, "
              "2 Insufficient cpu.");
    berth_sched_free(s);
}

BERTH_TEST(sched_plugin_load_failures) {
    static const char *paths[] = {"/nonexistent/x.so", BERTH_BINARY_DIR "/berth-unit"};
    for (size_t i = 0; i < 2; i++) {
        char cfg[512], err[512] = "";
        snprintf(cfg, sizeof cfg, "plugins: [{path: %s}]\n", paths[i]);
        berth_sched_config *c;
        CHECK_INT(berth_sched_config_parse(cfg, strlen(cfg), &c, NULL, 0), 0);
        berth_sched *s = NULL;
        CHECK(berth_sched_new(c, &s, err, sizeof err) < 0);
        CHECK(s == NULL);
        CHECK(strstr(err, paths[i]) != NULL);
        berth_sched_config_free(c);
    }
    /* The same plugin twice is refused by name. */
    char cfg[512], err[512] = "";
    snprintf(cfg, sizeof cfg, "plugins: [{path: %s/plugins/sched-example.so}, "
             "{path: %s/plugins/sched-example.so}]\n", BERTH_BINARY_DIR, BERTH_BINARY_DIR);
    berth_sched_config *c;
    CHECK_INT(berth_sched_config_parse(cfg, strlen(cfg), &c, NULL, 0), 0);
    berth_sched *s = NULL;
    CHECK_INT(berth_sched_new(c, &s, err, sizeof err), BERTH_EABI);
    CHECK(strstr(err, "duplicates") != NULL);
    berth_sched_config_free(c);
}

BERTH_TEST(sched_node_name_filter) {
    berth_sched *s = ts_new("");
    ts_node(s, "a", "", "", NULL);
    ts_node(s, "b", "", "", NULL);
    cJSON *obj = ts_json("{'metadata':{'name':'p','namespace':'default'},"
                         "'spec':{'nodeName':'b','containers':[{'name':'c'}]}}");
    shape *sh;
    CHECK_INT(shape_get(s, obj, true, &sh), 0);
    CHECK_INT(shape_cache_refresh(s, sh), 0);
    CHECK_INT(sh->static_reason[0], REASON_NODENAME);
    CHECK_INT(sh->static_reason[1], REASON_NONE);
    char rb[64];
    CHECK_STR(reason_text(s, REASON_NODENAME, rb, sizeof rb),
              "node(s) didn't match the requested node name");
    shape_put(s, sh);
    cJSON_Delete(obj);
    berth_sched_free(s);
}

BERTH_TEST(sched_plugin_lua_filters_and_scores) {
    char cfg[512];
    snprintf(cfg, sizeof cfg, "plugins:\n  - path: %s/tests/unit/data/sched/gpu.lua\n"
             "    weight: 10\n", BERTH_SOURCE_DIR);
    berth_sched *s = ts_new(cfg);
    ts_node(s, "plain", "", "", NULL);
    ts_node(s, "gpu1", "'gpu':'yes'", "", NULL);
    char buf[512];
    /* The score prefers the node with fewer pods. */
    CHECK_INT(ts_pod(s, "a", "100m", "", "'nodeName':'gpu1'"), 0);
    CHECK_INT(ts_pod(s, "b", "100m", "", ""), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "plain");
    /* A GPU pod only fits the GPU node; with that node full, the Lua
     * filter's own reason is in the message. */
    cJSON *obj = ts_json("{'metadata':{'name':'g','namespace':'default',"
                         "'annotations':{'example.com/gpu':'yes'}},"
                         "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'100m'}}}]}}");
    CHECK_INT(berth_sched_pod_upsert(s, obj), 0);
    cJSON_Delete(obj);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "gpu1");
    obj = ts_json("{'metadata':{'name':'h','namespace':'default',"
                  "'annotations':{'example.com/gpu':'yes'}},"
                  "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'3900m'}}}]}}");
    CHECK_INT(berth_sched_pod_upsert(s, obj), 0);
    cJSON_Delete(obj);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/2 nodes are available: 1 Insufficient cpu, 1 node(s) lack a GPU.");
    berth_sched_free(s);
}

BERTH_TEST(sched_plugin_lua_runaway_and_bad_files) {
    char cfg[512];
    snprintf(cfg, sizeof cfg, "plugins: [{path: %s/tests/unit/data/sched/runaway.lua}]\n",
             BERTH_SOURCE_DIR);
    berth_sched *s = ts_new(cfg);
    ts_node(s, "a", "", "", NULL);
    char buf[512];
    CHECK_INT(ts_pod(s, "p", "100m", "", ""), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/1 nodes are available: 1 node(s) were rejected by plugin runaway.");
    berth_sched_free(s);

    const char *bad[] = {"/nonexistent/x.lua", BERTH_SOURCE_DIR "/tests/unit/data/controllers/syntax-error.lua"};
    for (size_t i = 0; i < 2; i++) {
        char c2[512], err[512] = "";
        snprintf(c2, sizeof c2, "plugins: [{path: %s}]\n", bad[i]);
        berth_sched_config *c;
        CHECK_INT(berth_sched_config_parse(c2, strlen(c2), &c, NULL, 0), 0);
        berth_sched *s2 = NULL;
        CHECK(berth_sched_new(c, &s2, err, sizeof err) < 0);
        CHECK(strstr(err, bad[i]) != NULL);
        berth_sched_config_free(c);
    }
}
