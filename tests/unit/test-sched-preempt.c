/* Preemption choices and NoExecute evictions. */
#include "test-sched.h"

static void bound(berth_sched *s, const char *name, const char *node, const char *cpu, int prio)
{
    char spec[128];
    snprintf(spec, sizeof spec, "'nodeName':'%s','priority':%d", node, prio);
    CHECK_INT(ts_pod(s, name, cpu, "", spec), 0);
}

BERTH_TEST(sched_preempt_lowest_victim_priority) {
    berth_sched *s = ts_new("");
    ts_node(s, "a", "", "", "'cpu':'2','pods':'10'");
    ts_node(s, "b", "", "", "'cpu':'2','pods':'10'");
    bound(s, "a-low1", "a", "1", 1);
    bound(s, "a-low2", "a", "1", 1);
    bound(s, "b-mid", "b", "2", 5);
    CHECK_INT(ts_pod(s, "urgent", "1", "", "'priority':10"), 0);
    char buf[512];
    /* Node a: one victim of priority 1 suffices (the other is reprieved). */
    const char *got = ts_next(s, 0, buf, sizeof buf);
    CHECK(!strcmp(got, "preempt a: a-low1") || !strcmp(got, "preempt a: a-low2"));
    berth_sched_free(s);
}

BERTH_TEST(sched_preempt_fewest_victims_then_message) {
    berth_sched *s = ts_new("");
    ts_node(s, "a", "", "", "'cpu':'2','pods':'10'");
    ts_node(s, "b", "", "", "'cpu':'2','pods':'10'");
    bound(s, "a1", "a", "500m", 3);
    bound(s, "a2", "a", "500m", 3);
    bound(s, "a3", "a", "1", 3);
    bound(s, "b1", "b", "1", 3);
    bound(s, "b2", "b", "1", 3);
    /* Equal priorities: b needs one victim of sum 3, a needs two (sum 6)
     * or a3 alone; a3 alone ties b on every count, so the first node wins. */
    CHECK_INT(ts_pod(s, "p", "1", "", "'priority':9"), 0);
    berth_sched_decision d;
    CHECK_INT(berth_sched_next(s, 0, &d), 1);
    CHECK_INT(d.outcome, BERTH_SCHED_PREEMPT);
    CHECK_INT(d.nvictims, 1);
    CHECK_STR(d.message, "0/2 nodes are available: 2 Insufficient cpu.");
    CHECK_STR(d.node, "a");
    CHECK_STR(d.victims[0].name, "a3");
    CHECK_INT(d.victims[0].priority, 3);
    /* Deleting the victim retries the pod, which now fits. */
    CHECK_INT(berth_sched_pod_delete(s, "default", "a3"), 0);
    char buf[512];
    CHECK_STR(ts_next(s, 1000, buf, sizeof buf), "a");
    berth_sched_free(s);
}

BERTH_TEST(sched_preempt_never_and_equal_priority) {
    berth_sched *s = ts_new("");
    ts_node(s, "a", "", "", "'cpu':'1','pods':'10'");
    bound(s, "same", "a", "1", 5);
    char buf[512];
    CHECK_INT(ts_pod(s, "peer", "1", "", "'priority':5"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "!0/1 nodes are available: 1 Insufficient cpu.");
    CHECK_INT(ts_pod(s, "polite", "1", "", "'priority':50,'preemptionPolicy':'Never'"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "!0/1 nodes are available: 1 Insufficient cpu.");
    /* A node failing for a taint is no candidate. */
    ts_node(s, "t", "", "'taints':[{'key':'k','effect':'NoSchedule'}]", "'cpu':'1','pods':'10'");
    bound(s, "low", "t", "1", 0);
    CHECK_INT(ts_pod(s, "boss", "1", "", "'priority':100"), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "preempt a: same");
    berth_sched_free(s);
}

BERTH_TEST(sched_taint_evictions) {
    cJSON *node = ts_json(
        "{'metadata':{'name':'a'},'spec':{'taints':["
        "{'key':'node.kubernetes.io/unreachable','effect':'NoExecute','timeAdded':'2024-01-01T00:00:00Z'},"
        "{'key':'soft','effect':'PreferNoSchedule'}]}}");
    cJSON *pods = ts_json(
        "[{'metadata':{'name':'plain'},'spec':{}},"
        "{'metadata':{'name':'forever'},'spec':{'tolerations':[{'key':'node.kubernetes.io/unreachable','operator':'Exists'}]}},"
        "{'metadata':{'name':'timed'},'spec':{'tolerations':["
        "{'key':'node.kubernetes.io/unreachable','operator':'Exists','effect':'NoExecute','tolerationSeconds':300},"
        "{'operator':'Exists','effect':'NoExecute','tolerationSeconds':600}]}},"
        "{'metadata':{'name':'wrong-effect'},'spec':{'tolerations':[{'key':'node.kubernetes.io/unreachable','operator':'Exists','effect':'NoSchedule'}]}}]");
    berth_sched_eviction ev[8];
    size_t n = 0;
    int64_t t0 = INT64_C(1704067200) * 1000, now = t0 + 1000;
    CHECK_INT(berth_sched_taint_evictions(node, pods, now, ev, 8, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(ev[0].pod, 0);
    CHECK_INT(ev[0].at_ms, now);
    CHECK_INT(ev[1].pod, 2);
    CHECK_INT(ev[1].at_ms, t0 + 300000);
    CHECK_INT(ev[2].pod, 3);
    CHECK_INT(ev[2].at_ms, now);
    CHECK_INT(berth_sched_taint_evictions(node, node, now, ev, 8, &n), BERTH_EINVAL);
    cJSON_Delete(node);
    cJSON_Delete(pods);
}
