/* InterPodAffinity and PodTopologySpread: per-domain counts seen through
 * decisions, including the symmetric check of existing pods' anti-affinity
 * and namespace selection. */
#include "test-sched.h"

#define ANTI(key, app)                                                                   \
    "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':" \
    "[{'labelSelector':{'matchLabels':{'app':'" app "'}},'topologyKey':'" key "'}]}}"
#define AFF(key, app, extra)                                                         \
    "'affinity':{'podAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':" \
    "[{'labelSelector':{'matchLabels':{'app':'" app "'}},'topologyKey':'" key "'" extra "}]}}"
#define SPREAD(key, skew, when)                                                           \
    "'topologySpreadConstraints':[{'maxSkew':" skew ",'topologyKey':'" key "',"          \
    "'whenUnsatisfiable':'" when "','labelSelector':{'matchLabels':{'app':'web'}}}]"

static void zones(berth_sched *s)
{
    ts_node(s, "a1", "'zone':'a'", "", NULL);
    ts_node(s, "b1", "'zone':'b'", "", NULL);
    ts_node(s, "c1", "'zone':'c'", "", NULL);
}

BERTH_TEST(sched_anti_affinity_spreads_over_zones) {
    berth_sched *s = ts_new("");
    zones(s);
    char name[8], buf[512], seen[4] = "";
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "w%d", i);
        CHECK_INT(ts_pod(s, name, "1", "'labels':{'app':'web'}", ANTI("zone", "web")), 0);
        const char *got = ts_next(s, 0, buf, sizeof buf);
        CHECK(strlen(got) == 2 && !strchr(seen, got[0]));
        seen[i] = got[0];
        seen[i + 1] = '\0';
    }
    /* The pod's own terms are checked before existing pods' terms, as in
     * Kubernetes' InterPodAffinity Filter. */
    CHECK_INT(ts_pod(s, "w3", "1", "'labels':{'app':'web'}", ANTI("zone", "web")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
    CHECK_INT(berth_sched_pod_delete(s, "default", "w3"), 0);
    /* A pod the placed pods do not select still keeps away from them. */
    CHECK_INT(ts_pod(s, "x", "1", "'labels':{'app':'x'}", ANTI("zone", "web")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
    CHECK_INT(berth_sched_pod_delete(s, "default", "x"), 0);
    /* A pod without terms that the placed pods' anti-affinity selects is
     * kept away by their terms (the symmetric check). */
    CHECK_INT(ts_pod(s, "plain", "1", "'labels':{'app':'web'}", ""), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.");
    /* Deleting one placed pod frees its zone. */
    CHECK_INT(berth_sched_pod_delete(s, "default", "w0"), 0);
    CHECK(strlen(ts_next(s, 60000, buf, sizeof buf)) == 2);
    berth_sched_free(s);
}

BERTH_TEST(sched_pod_affinity_follows_its_target) {
    berth_sched *s = ts_new("");
    zones(s);
    char buf[512];
    /* Nothing selects app=db yet and the pod is not app=db: nowhere fits. */
    CHECK_INT(ts_pod(s, "web", "1", "'labels':{'app':'web'}", AFF("zone", "db", "")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 3 node(s) didn't match pod affinity rules.");
    /* A db pod bound in zone b draws it there (and the node event retries it). */
    CHECK_INT(ts_pod(s, "db", "1", "'labels':{'app':'db'}", "'nodeName':'b1'"), 0);
    ts_node(s, "b2", "'zone':'b'", "", "'cpu':'1','pods':'1'");
    CHECK_STR(ts_next(s, 1000, buf, sizeof buf), "b1");
    /* The first pod of a self-affine group may go anywhere. */
    CHECK_INT(ts_pod(s, "c0", "1", "'labels':{'app':'cache'}", AFF("zone", "cache", "")), 0);
    const char *first = ts_next(s, 1000, buf, sizeof buf);
    char zone = first[0];
    CHECK_INT(ts_pod(s, "c1", "1", "'labels':{'app':'cache'}", AFF("zone", "cache", "")), 0);
    CHECK_INT(ts_next(s, 1000, buf, sizeof buf)[0], zone);
    berth_sched_free(s);
}

BERTH_TEST(sched_pod_affinity_namespaces) {
    berth_sched *s = ts_new("");
    zones(s);
    char buf[512];
    cJSON *ns = ts_json("{'metadata':{'name':'data','labels':{'team':'db'}}}");
    CHECK_INT(berth_sched_namespace_upsert(s, ns), 0);
    cJSON_Delete(ns);
    cJSON *db = ts_json("{'metadata':{'name':'db','namespace':'data','labels':{'app':'db'}},"
                        "'spec':{'nodeName':'c1','containers':[{'name':'c'}]}}");
    CHECK_INT(berth_sched_pod_upsert(s, db), 0);
    cJSON_Delete(db);
    /* By default a term selects pods of the pod's own namespace only. */
    CHECK_INT(ts_pod(s, "w0", "1", "", AFF("zone", "db", "")), 0);
    CHECK(ts_next(s, 0, buf, sizeof buf)[0] == '!');
    CHECK_INT(ts_pod(s, "w1", "1", "", AFF("zone", "db", ",'namespaces':['data']")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "c1");
    CHECK_INT(ts_pod(s, "w2", "1", "", AFF("zone", "db", ",'namespaceSelector':{'matchLabels':{'team':'db'}}")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "c1");
    CHECK_INT(ts_pod(s, "w3", "1", "", AFF("zone", "db", ",'namespaceSelector':{}")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "c1");
    CHECK_INT(ts_pod(s, "w4", "1", "", AFF("zone", "db", ",'namespaceSelector':{'matchLabels':{'team':'x'}}")), 0);
    CHECK(ts_next(s, 0, buf, sizeof buf)[0] == '!');
    berth_sched_free(s);
}

BERTH_TEST(sched_topology_spread_balances_zones) {
    berth_sched *s = ts_new("");
    zones(s);
    ts_node(s, "a2", "'zone':'a'", "", NULL);
    char name[8], buf[512];
    int per[3] = {0};
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof name, "w%d", i);
        CHECK_INT(ts_pod(s, name, "100m", "'labels':{'app':'web'}", SPREAD("zone", "1", "DoNotSchedule")), 0);
        const char *got = ts_next(s, 0, buf, sizeof buf);
        CHECK(got[0] >= 'a' && got[0] <= 'c');
        if (got[0] >= 'a' && got[0] <= 'c')
            per[got[0] - 'a']++;
        /* After every placement the zones differ by at most maxSkew. */
        int lo = per[0], hi = per[0];
        for (int z = 1; z < 3; z++) {
            lo = per[z] < lo ? per[z] : lo;
            hi = per[z] > hi ? per[z] : hi;
        }
        CHECK(hi - lo <= 1);
    }
    CHECK_INT(per[0], 3);
    CHECK_INT(per[1], 3);
    berth_sched_free(s);
}

BERTH_TEST(sched_topology_spread_refuses_skew) {
    berth_sched *s = ts_new("");
    ts_node(s, "a1", "'zone':'a'", "", NULL);
    ts_node(s, "b1", "'zone':'b'", "", "'cpu':'1','pods':'10'");
    ts_node(s, "n", "", "", NULL);
    char buf[512];
    CHECK_INT(ts_pod(s, "w0", "1", "'labels':{'app':'web'}", SPREAD("zone", "1", "DoNotSchedule")), 0);
    CHECK_INT(ts_pod(s, "w1", "1", "'labels':{'app':'web'}", SPREAD("zone", "1", "DoNotSchedule")), 0);
    CHECK_INT(ts_pod(s, "w2", "1", "'labels':{'app':'web'}", SPREAD("zone", "1", "DoNotSchedule")), 0);
    char first[8], second[8];
    snprintf(first, sizeof first, "%s", ts_next(s, 0, buf, sizeof buf));
    snprintf(second, sizeof second, "%s", ts_next(s, 0, buf, sizeof buf));
    CHECK(strcmp(first, second) != 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "a1");
    CHECK_INT(ts_pod(s, "w4", "1", "'labels':{'app':'web'}", SPREAD("zone", "1", "DoNotSchedule")), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf),
              "!0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match pod topology "
              "spread constraints, 1 node(s) didn't match pod topology spread constraints "
              "(missing required label).");
    /* ScheduleAnyway never filters. */
    CHECK_INT(ts_pod(s, "w3", "1", "'labels':{'app':'web'}", SPREAD("zone", "1", "ScheduleAnyway")), 0);
    CHECK(ts_next(s, 0, buf, sizeof buf)[0] != '!');
    berth_sched_free(s);
}

BERTH_TEST(sched_preferred_terms_score) {
    berth_sched *s = ts_new("");
    zones(s);
    char buf[512];
    const char *pref =
        "'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':"
        "[{'weight':50,'preference':{'matchExpressions':[{'key':'zone','operator':'In','values':['c']}]}}]}}";
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        CHECK_INT(ts_pod(s, name, "100m", "", pref), 0);
        CHECK_STR(ts_next(s, 0, buf, sizeof buf), "c1");
    }
    /* Preferred pod affinity draws towards the pods it selects. */
    CHECK_INT(ts_pod(s, "db", "100m", "'labels':{'app':'db'}", "'nodeName':'a1'"), 0);
    const char *ppa =
        "'affinity':{'podAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':"
        "[{'weight':100,'podAffinityTerm':{'labelSelector':{'matchLabels':{'app':'db'}},'topologyKey':'zone'}}]}}";
    CHECK_INT(ts_pod(s, "near", "100m", "", ppa), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "a1");
    /* PreferNoSchedule taints push away. */
    berth_sched_free(s);
    s = ts_new("");
    ts_node(s, "t", "", "'taints':[{'key':'k','effect':'PreferNoSchedule'}]", NULL);
    ts_node(s, "u", "", "", NULL);
    CHECK_INT(ts_pod(s, "p", "100m", "", ""), 0);
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "u");
    berth_sched_free(s);
}
