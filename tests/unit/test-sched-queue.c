/* The scheduling queue (priority order, backoff, the unschedulable list and
 * its triggers) and assume/forget. */
#include "test-sched.h"

BERTH_TEST(sched_queue_priority_then_age) {
    berth_sched *s = ts_new("priorityClasses:\n"
                            "  - {name: high, value: 1000}\n"
                            "  - {name: low, value: -5, globalDefault: true}\n");
    ts_node(s, "a", "", "", NULL);
    CHECK_INT(ts_pod(s, "old-default", "10m", "'creationTimestamp':'2024-01-01T00:00:00Z'", ""), 0);
    CHECK_INT(ts_pod(s, "new-default", "10m", "'creationTimestamp':'2024-01-01T00:00:05Z'", ""), 0);
    CHECK_INT(ts_pod(s, "older-default", "10m", "'creationTimestamp':'2023-12-31T23:59:59Z'", ""), 0);
    CHECK_INT(ts_pod(s, "high", "10m", "'creationTimestamp':'2024-01-02T00:00:00Z'",
                     "'priorityClassName':'high'"), 0);
    CHECK_INT(ts_pod(s, "explicit", "10m", "", "'priority':7"), 0);
    const char *want[] = {"high", "explicit", "older-default", "old-default", "new-default"};
    for (int i = 0; i < 5; i++) {
        berth_sched_decision d;
        CHECK_INT(berth_sched_next(s, 0, &d), 1);
        CHECK_STR(d.name, want[i]);
        CHECK_INT(d.outcome, BERTH_SCHED_BIND);
    }
    berth_sched_decision d;
    CHECK_INT(berth_sched_next(s, 0, &d), 0);
    berth_sched_free(s);
}

BERTH_TEST(sched_queue_backoff_doubles_to_ten_seconds) {
    berth_sched *s = ts_new("preemption: false\n");
    ts_node(s, "a", "", "", NULL);
    CHECK_INT(ts_pod(s, "big", "8", "", ""), 0);
    char buf[512];
    int64_t now = 0;
    int64_t want[] = {1000, 2000, 4000, 8000, 10000, 10000};
    for (int i = 0; i < 6; i++) {
        CHECK(ts_next(s, now, buf, sizeof buf)[0] == '!');
        /* A node change moves it out of the unschedulable list, but it
         * waits out its backoff first. */
        ts_node(s, "a", "'touch':'" "x" "'", "", i % 2 ? "'cpu':'4','pods':'110'" : NULL);
        CHECK_INT(berth_sched_next_wakeup(s, now), now + want[i]);
        CHECK_STR(ts_next(s, now + want[i] - 1, buf, sizeof buf), "");
        now += want[i];
    }
    berth_sched_free(s);
}

BERTH_TEST(sched_queue_unschedulable_waits_for_change_or_timeout) {
    berth_sched *s = ts_new("preemption: false\n");
    ts_node(s, "a", "", "", NULL);
    CHECK_INT(ts_pod(s, "big", "8", "", ""), 0);
    char buf[512];
    CHECK(ts_next(s, 0, buf, sizeof buf)[0] == '!');
    berth_sched_stats st;
    berth_sched_stats_get(s, &st);
    CHECK_INT(st.unschedulable, 1);
    /* Nothing changed: no retry before five minutes. */
    CHECK_STR(ts_next(s, 100000, buf, sizeof buf), "");
    CHECK_INT(berth_sched_next_wakeup(s, 100000), 300000);
    /* A node update that changes nothing relevant does not retry it. */
    ts_node(s, "a", "", "", NULL);
    CHECK_STR(ts_next(s, 200000, buf, sizeof buf), "");
    CHECK(ts_next(s, 300000, buf, sizeof buf)[0] == '!');
    /* A new node retries it at once (its backoff has passed). */
    ts_node(s, "b", "", "", "'cpu':'16','pods':'10'");
    CHECK_STR(ts_next(s, 400000, buf, sizeof buf), "b");
    berth_sched_free(s);
}

BERTH_TEST(sched_assume_forget_confirm) {
    berth_sched *s = ts_new("preemption: false\n");
    ts_node(s, "a", "", "", "'cpu':'2','pods':'10'");
    CHECK_INT(ts_pod(s, "p1", "1", "", ""), 0);
    CHECK_INT(ts_pod(s, "p2", "1", "", ""), 0);
    CHECK_INT(ts_pod(s, "p3", "1", "", ""), 0);
    char buf[512];
    /* Assumed pods count at once: the third does not fit. */
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "a");
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "a");
    CHECK_STR(ts_next(s, 0, buf, sizeof buf), "!0/1 nodes are available: 1 Insufficient cpu.");
    berth_sched_stats st;
    berth_sched_stats_get(s, &st);
    CHECK_INT(st.pods_assumed, 2);
    /* An update of an assumed pod without nodeName (binding in flight)
     * keeps the assumption; the confirmed binding makes it bound. */
    CHECK_INT(ts_pod(s, "p1", "1", "", ""), 0);
    CHECK_INT(ts_pod(s, "p1", "1", "", "'nodeName':'a'"), 0);
    berth_sched_stats_get(s, &st);
    CHECK_INT(st.pods_assumed, 1);
    CHECK_INT(st.pods_bound, 1);
    CHECK_INT(berth_sched_forget(s, "default", "p1", 0), BERTH_ENOTFOUND);
    /* p2's binding failed: its room goes to p3, p2 backs off. */
    CHECK_INT(berth_sched_forget(s, "default", "p2", 500), 0);
    CHECK_STR(ts_next(s, 1000, buf, sizeof buf), "a");
    berth_sched_decision d;
    CHECK_INT(berth_sched_next(s, 1499, &d), 0);
    CHECK_INT(berth_sched_next(s, 1500, &d), 1);
    CHECK_STR(d.name, "p2");
    CHECK_INT(d.outcome, BERTH_SCHED_UNSCHEDULABLE);
    berth_sched_free(s);
}

static void collect(void *arg, const berth_sched_decision *d)
{
    int *n = arg;
    if (d->outcome == BERTH_SCHED_BIND)
        (*n)++;
}

BERTH_TEST(sched_run_batches) {
    berth_sched *s = ts_new("");
    ts_node(s, "a", "", "", NULL);
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "p%d", i);
        CHECK_INT(ts_pod(s, name, "10m", "", ""), 0);
    }
    int bound = 0;
    CHECK_INT(berth_sched_run(s, 0, 4, collect, &bound), 4);
    CHECK_INT(bound, 4);
    CHECK_INT(berth_sched_run(s, 0, 0, collect, &bound), 6);
    CHECK_INT(bound, 10);
    CHECK_INT(berth_sched_run(s, 0, 0, NULL, NULL), BERTH_EINVAL);
    berth_sched_free(s);
}
