/* The running scheduler's configuration loading and its refusal of bad
 * options; the wiring itself is exercised end to end in
 * tests/e2e/test_scheduler.py. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/run.h"
#include "test.h"

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", berth_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

BERTH_TEST(sched_run_config_load) {
    char err[512] = "";
    berth_sched_config *cfg = NULL;
    const char *ok = write_file("ok.yaml", "priorityClasses:\n  - {name: high, value: 1000}\n");
    CHECK_INT(berth_scheduler_config_load(ok, &cfg, err, sizeof err), 0);
    CHECK(cfg != NULL);
    berth_sched_config_free(cfg);
    const char *bad = write_file("bad.yaml", "weights: {NodeAffinity: -1}\n");
    CHECK(berth_scheduler_config_load(bad, &cfg, err, sizeof err) < 0);
    CHECK(cfg == NULL);
    CHECK(strstr(err, "bad.yaml: ") != NULL);
    CHECK(strstr(err, "weights.NodeAffinity") != NULL);
    CHECK_INT(berth_scheduler_config_load("/nonexistent/sched.yaml", &cfg, err, sizeof err),
              BERTH_EIO);
    CHECK(strstr(err, "/nonexistent/sched.yaml") != NULL);
}

BERTH_TEST(sched_run_start_refuses_missing_options) {
    berth_scheduler *s = (berth_scheduler *)1;
    berth_scheduler_opts o = {0};
    char err[128];
    CHECK_INT(berth_scheduler_start(&o, &s, err, sizeof err), BERTH_EINVAL);
    CHECK(s == NULL);
    berth_scheduler_free(NULL);
}
