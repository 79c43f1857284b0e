/* CrashLoopBackOff delays and the probe state machine. */
#include "agent/agent-int.h"
#include "test.h"

BERTH_TEST(agent_backoff_doubles_to_cap) {
    berth_backoff b = {0};
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 0);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 10000);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 20000);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 40000);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 80000);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 160000);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 300000);
    CHECK_INT(berth_backoff_exit(&b, 100, 10000, 300000), 300000);
}

BERTH_TEST(agent_backoff_resets_after_long_run) {
    berth_backoff b = {0};
    berth_backoff_exit(&b, 0, 10000, 300000);
    berth_backoff_exit(&b, 0, 10000, 300000);
    CHECK_INT(berth_backoff_exit(&b, BERTH_BACKOFF_RESET_MS, 10000, 300000), 0);
    CHECK_INT(berth_backoff_exit(&b, 0, 10000, 300000), 10000);
}

BERTH_TEST(agent_probe_thresholds) {
    cJSON *p = cJSON_Parse("{\"failureThreshold\":2,\"successThreshold\":2}");
    berth_probe_params prm;
    char msg[128];
    CHECK_INT(berth_probe_params_parse(p, &prm, msg, sizeof msg), 0);
    CHECK_INT(prm.period_s, 10);
    CHECK_INT(prm.timeout_s, 1);
    berth_probe_sm sm;
    berth_probe_sm_init(&sm, &prm, BERTH_PROBE_READINESS);
    CHECK_INT(sm.result, BERTH_PROBE_FAILURE);
    CHECK(!berth_probe_sm_record(&sm, true));
    CHECK(berth_probe_sm_record(&sm, true));
    CHECK_INT(sm.result, BERTH_PROBE_SUCCESS);
    CHECK(!berth_probe_sm_record(&sm, false));
    CHECK(!berth_probe_sm_record(&sm, true)); /* a success resets the failures */
    CHECK(!berth_probe_sm_record(&sm, false));
    CHECK(berth_probe_sm_record(&sm, false));
    CHECK_INT(sm.result, BERTH_PROBE_FAILURE);
    berth_probe_sm_init(&sm, &prm, BERTH_PROBE_LIVENESS);
    CHECK_INT(sm.result, BERTH_PROBE_SUCCESS);
    berth_probe_sm_init(&sm, &prm, BERTH_PROBE_STARTUP);
    CHECK_INT(sm.result, BERTH_PROBE_UNKNOWN);
    cJSON_Delete(p);
}

BERTH_TEST(agent_probe_params_refuse_bad) {
    cJSON *p = cJSON_Parse("{\"periodSeconds\":0}");
    berth_probe_params prm;
    char msg[128] = "";
    CHECK_INT(berth_probe_params_parse(p, &prm, msg, sizeof msg), BERTH_EINVAL);
    CHECK(strstr(msg, "periodSeconds") != NULL);
    cJSON_Delete(p);
    p = cJSON_Parse("{\"timeoutSeconds\":\"x\"}");
    CHECK_INT(berth_probe_params_parse(p, &prm, msg, sizeof msg), BERTH_EINVAL);
    cJSON_Delete(p);
}
