/* Table-driven tests of the node filters: NodeResourcesFit, NodeName,
 * NodeUnschedulable, NodeSelector and node affinity, TaintToleration, and
 * the exact Unschedulable messages. */
#include "test-sched.h"

typedef struct tnode {
    const char *name, *labels, *spec, *alloc;
} tnode;

typedef struct fcase {
    const char *what;
    tnode nodes[6];
    const char *cpu, *meta, *spec;
    const char *want;
} fcase;

#define TAINT(k, v, e) "'taints':[{'key':'" k "','value':'" v "','effect':'" e "'}]"

static const fcase cases[] = {
    {"fit cpu", {{"a", "", "", "'cpu':'1','memory':'1Gi','pods':'10'"}, {"b", "", "", NULL}},
     "2", "", "", "b"},
    {"insufficient cpu", {{"a", "", "", NULL}}, "5", "", "",
     "!0/1 nodes are available: 1 Insufficient cpu."},
    {"insufficient memory and cpu on one node",
     {{"a", "", "", "'cpu':'1','memory':'1Gi','pods':'10'"}},
     "2", "", "'overhead':{'memory':'2Gi'}",
     "!0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
    {"too many pods", {{"a", "", "", "'cpu':'4','memory':'1Gi','pods':'0'"}}, "1", "", "",
     "!0/1 nodes are available: 1 Too many pods."},
    {"ephemeral storage", {{"a", "", "", "'cpu':'4','ephemeral-storage':'1Gi','pods':'5'"}}, "1",
     "", "'overhead':{'ephemeral-storage':'2Gi'}",
     "!0/1 nodes are available: 1 Insufficient ephemeral-storage."},
    {"init container larger than the sum", {{"a", "", "", NULL}}, "1", "",
     "'initContainers':[{'name':'i','resources':{'requests':{'cpu':'5'}}}]",
     "!0/1 nodes are available: 1 Insufficient cpu."},
    {"sidecar adds to the sum", {{"a", "", "", NULL}}, "3", "",
     "'initContainers':[{'name':'i','restartPolicy':'Always','resources':{'requests':{'cpu':'2'}}}]",
     "!0/1 nodes are available: 1 Insufficient cpu."},
    {"the message of the issue",
     {{"a", "", "", "'cpu':'1','pods':'9'"}, {"b", "", "", "'cpu':'1','pods':'9'"},
      {"c", "", "", "'cpu':'1','pods':'9'"}, {"d", "", TAINT("dedicated", "gpu", "NoSchedule"), NULL},
      {"e", "", TAINT("dedicated", "gpu", "NoSchedule"), NULL}},
     "2", "", "",
     "!0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu."},
    {"unschedulable", {{"a", "", "'unschedulable':true", NULL}}, "1", "", "",
     "!0/1 nodes are available: 1 node(s) were unschedulable."},
    {"unschedulable tolerated", {{"a", "", "'unschedulable':true", NULL}}, "1", "",
     "'tolerations':[{'key':'node.kubernetes.io/unschedulable','operator':'Exists','effect':'NoSchedule'}]",
     "a"},
    {"node selector", {{"a", "'disk':'hdd'", "", NULL}, {"b", "'disk':'ssd'", "", NULL}}, "1", "",
     "'nodeSelector':{'disk':'ssd'}", "b"},
    {"node selector fails", {{"a", "'disk':'hdd'", "", NULL}}, "1", "", "'nodeSelector':{'disk':'ssd'}",
     "!0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
#define REQUIRED(expr)                                                                        \
    "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"          \
    "{'nodeSelectorTerms':[" expr "]}}}"
    {"affinity In", {{"a", "'zone':'x'", "", NULL}, {"b", "'zone':'y'", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'zone','operator':'In','values':['y','z']}]}"), "b"},
    {"affinity NotIn", {{"a", "'zone':'x'", "", NULL}, {"b", "'zone':'y'", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'zone','operator':'NotIn','values':['x']}]}"), "b"},
    {"affinity Exists", {{"a", "", "", NULL}, {"b", "'gpu':''", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'gpu','operator':'Exists'}]}"), "b"},
    {"affinity DoesNotExist", {{"a", "'gpu':'1'", "", NULL}, {"b", "", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'gpu','operator':'DoesNotExist'}]}"), "b"},
    {"affinity Gt", {{"a", "'cores':'8'", "", NULL}, {"b", "'cores':'64'", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'cores','operator':'Gt','values':['16']}]}"), "b"},
    {"affinity Lt", {{"a", "'cores':'8'", "", NULL}, {"b", "'cores':'64'", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'cores','operator':'Lt','values':['16']}]}"), "a"},
    {"affinity Gt not a number", {{"a", "'cores':'many'", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'cores','operator':'Gt','values':['1']}]}"),
     "!0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
    {"affinity terms are ORed", {{"a", "'zone':'x'", "", NULL}, {"b", "'zone':'y'", "", NULL}}, "1", "",
     REQUIRED("{'matchExpressions':[{'key':'zone','operator':'In','values':['q']}]},"
              "{'matchFields':[{'key':'metadata.name','operator':'In','values':['b']}]}"),
     "b"},
    {"affinity empty term matches nothing", {{"a", "", "", NULL}}, "1", "", REQUIRED("{}"),
     "!0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
    {"taint NoExecute untolerated", {{"a", "", TAINT("k", "v", "NoExecute"), NULL}}, "1", "", "",
     "!0/1 nodes are available: 1 node(s) had untolerated taint {k: v}."},
    {"taint tolerated Equal", {{"a", "", TAINT("k", "v", "NoSchedule"), NULL}}, "1", "",
     "'tolerations':[{'key':'k','operator':'Equal','value':'v','effect':'NoSchedule'}]", "a"},
    {"taint wrong value", {{"a", "", TAINT("k", "v", "NoSchedule"), NULL}}, "1", "",
     "'tolerations':[{'key':'k','value':'w'}]",
     "!0/1 nodes are available: 1 node(s) had untolerated taint {k: v}."},
    {"taint wrong effect", {{"a", "", TAINT("k", "v", "NoExecute"), NULL}}, "1", "",
     "'tolerations':[{'key':'k','value':'v','effect':'NoSchedule'}]",
     "!0/1 nodes are available: 1 node(s) had untolerated taint {k: v}."},
    {"toleration Exists with empty key", {{"a", "", TAINT("k", "v", "NoExecute"), NULL}}, "1", "",
     "'tolerations':[{'operator':'Exists'}]", "a"},
    {"PreferNoSchedule does not filter", {{"a", "", TAINT("k", "v", "PreferNoSchedule"), NULL}},
     "1", "", "", "a"},
    {"no nodes", {{NULL, NULL, NULL, NULL}}, "1", "", "", "!no nodes available to schedule pods"},
};

BERTH_TEST(sched_filter_table) {
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const fcase *fc = &cases[c];
        berth_sched *s = ts_new("preemption: false\n");
        for (int i = 0; i < 6 && fc->nodes[i].name; i++)
            ts_node(s, fc->nodes[i].name, fc->nodes[i].labels, fc->nodes[i].spec,
                    fc->nodes[i].alloc);
        CHECK_INT(ts_pod(s, "p", fc->cpu, fc->meta, fc->spec), 0);
        char buf[512];
        const char *got = ts_next(s, 0, buf, sizeof buf);
        if (strcmp(got, fc->want) != 0)
            berth_test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", fc->what, got,
                            fc->want);
        berth_sched_free(s);
    }
}

BERTH_TEST(sched_filter_taints_sorted_by_count_text) {
    /* Kubernetes sorts the formatted "count reason" strings, so "10 ..."
     * sorts before "2 ...". */
    berth_sched *s = ts_new("");
    char name[16];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "n%d", i);
        ts_node(s, name, "", i < 10 ? TAINT("a", "1", "NoSchedule") : TAINT("b", "2", "NoExecute"),
                NULL);
    }
    CHECK_INT(ts_pod(s, "p", "1", "", ""), 0);
    char buf[512];
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/12 nodes are available: 10 node(s) had untolerated taint {a: 1}, "
              "2 node(s) had untolerated taint {b: 2}.");
    berth_sched_free(s);
}

BERTH_TEST(sched_filter_bad_input_refused) {
    berth_sched *s = ts_new("");
    cJSON *j = ts_json("{'metadata':{},'status':{}}");
    CHECK_INT(berth_sched_node_upsert(s, j), BERTH_EINVAL);
    cJSON_Delete(j);
    j = ts_json("{'metadata':{'name':'a'},'status':{'allocatable':{'cpu':'lots'}}}");
    CHECK_INT(berth_sched_node_upsert(s, j), BERTH_EINVAL);
    cJSON_Delete(j);
    CHECK_INT(ts_pod(s, "p", "1x", "", ""), BERTH_EINVAL);
    CHECK_INT(ts_pod(s, "q", "1", "", REQUIRED("{'matchExpressions':[{'key':'z','operator':'Gt','values':['x']}]}")),
              BERTH_EINVAL);
    CHECK_INT(ts_pod(s, "r", "1", "", REQUIRED("{'matchExpressions':[{'key':'z','operator':'In'}]}")),
              BERTH_EINVAL);
    CHECK_INT(berth_sched_pod_delete(s, "default", "p"), BERTH_ENOTFOUND);
    berth_sched_stats st;
    berth_sched_stats_get(s, &st);
    CHECK_INT(st.active, 0);
    berth_sched_free(s);
}

BERTH_TEST(sched_filter_bound_pods_count) {
    berth_sched *s = ts_new("");
    ts_node(s, "a", "", "", "'cpu':'2','pods':'10'");
    CHECK_INT(ts_pod(s, "x", "1500m", "", "'nodeName':'a'"), 0);
    CHECK_INT(ts_pod(s, "p", "1", "", ""), 0);
    char buf[512];
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "!0/1 nodes are available: 1 Insufficient cpu.");
    /* Deleting the bound pod frees the room and retries the pending pod. */
    CHECK_INT(berth_sched_pod_delete(s, "default", "x"), 0);
    CHECK_STR(ts_next(s, 1000, buf, sizeof buf), "a");
    /* A pod of another scheduler is not queued; a finished pod stops counting. */
    CHECK_INT(ts_pod(s, "other", "1", "", "'schedulerName':'other'"), 0);
    CHECK_STR(ts_next(s, 2000, buf, sizeof buf), "");
    cJSON *j = ts_json("{'metadata':{'name':'p','namespace':'default'},'spec':{'nodeName':'a'},"
                       "'status':{'phase':'Succeeded'}}");
    CHECK_INT(berth_sched_pod_upsert(s, j), 0);
    cJSON_Delete(j);
    berth_sched_stats st;
    berth_sched_stats_get(s, &st);
    CHECK_INT(st.pods_assumed + st.pods_bound, 0);
    berth_sched_free(s);
}

BERTH_TEST(sched_filter_bound_before_node) {
    /* A bound pod seen before its node counts once the node arrives. */
    berth_sched *s = ts_new("");
    CHECK_INT(ts_pod(s, "x", "3", "", "'nodeName':'a'"), 0);
    ts_node(s, "a", "", "", NULL);
    CHECK_INT(ts_pod(s, "p", "2", "", ""), 0);
    char buf[512];
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "!0/1 nodes are available: 1 Insufficient cpu.");
    berth_sched_free(s);
}

/* Claims "data-N" of namespace default are bound to volumes that live on
 * node "n<N>" (N = 1, 2); "loose" to one without affinity; others unbound. */
static const cJSON *claim_volume(void *arg, const char *ns, const char *claim)
{
    cJSON *const *terms = arg;
    if (strcmp(ns, "default") != 0 || strncmp(claim, "data-", 5) != 0)
        return NULL;
    int n = atoi(claim + 5);
    return n >= 1 && n <= 2 ? terms[n - 1] : NULL;
}

#define CLAIM(name) "{'name':'" name "','persistentVolumeClaim':{'claimName':'" name "'}}"

BERTH_TEST(sched_filter_bound_volumes_node_affinity) {
    cJSON *terms[2] = {
        ts_json("[{'matchExpressions':[{'key':'kubernetes.io/hostname','operator':'In',"
                "'values':['n1']}]}]"),
        ts_json("[{'matchExpressions':[{'key':'kubernetes.io/hostname','operator':'In',"
                "'values':['n2']}]}]")};
    berth_sched *s = ts_new("");
    berth_sched_set_volume_lookup(s, claim_volume, terms);
    ts_node(s, "n1", "", "", NULL);
    ts_node(s, "n2", "", "", NULL);
    ts_node(s, "n3", "", "", NULL);
    char buf[512];
    /* Each pod goes where its volume is, whatever else fits. */
    CHECK_INT(ts_pod(s, "a", "1", "", "'volumes':[" CLAIM("data-2") "]"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "n2");
    CHECK_INT(ts_pod(s, "b", "1", "", "'volumes':[" CLAIM("data-1") ",{'name':'e','emptyDir':{}},"
                                      CLAIM("unbound") "]"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "n1");
    /* Two volumes on two nodes: nowhere. */
    CHECK_INT(ts_pod(s, "c", "1", "", "'volumes':[" CLAIM("data-1") "," CLAIM("data-2") "]"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 3 node(s) had volume node affinity conflict.");
    /* The pod's own affinity and its volume's both hold. */
    CHECK_INT(ts_pod(s, "d", "1", "",
                     "'volumes':[" CLAIM("data-2") "],'nodeSelector':{'kubernetes.io/hostname':'n1'}"),
              0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) "
              "didn't match Pod's node affinity/selector.");
    berth_sched_free(s);
    cJSON_Delete(terms[0]);
    cJSON_Delete(terms[1]);
}
