/* batch/v1: Job and CronJob. A Job's pods restart OnFailure or Never; a
 * CronJob adds a schedule, a concurrency policy and history limits around
 * a Job template whose selector the server generates. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "validate-int.h"

static void job_spec(vctx *c, const cJSON *spec)
{
    static const char *const nonneg[] = {"parallelism", "completions", "backoffLimit",
                                         "ttlSecondsAfterFinished"};
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
        v_nonneg(c, spec, nonneg[i]);
    long long v, completions;
    if (v_int(c, spec, "activeDeadlineSeconds", &v)) {
        if (v < 0)
            v_invalid_int(c, "activeDeadlineSeconds", v, NONNEG_MSG);
        else if (v == 0)
            v_invalid_int(c, "activeDeadlineSeconds", v, "must be greater than 0");
    }
    bool b;
    v_bool(c, spec, "suspend", &b);
    const char *mode = v_str(c, spec, "completionMode");
    static const char *const modes[] = {"NonIndexed", "Indexed", NULL};
    if (mode && !v_oneof(mode, modes))
        v_unsupported(c, "completionMode", mode, modes);
    if (mode && strcmp(mode, "Indexed") == 0) {
        if (!v_int(c, spec, "completions", &completions))
            v_required(c, "completions", "when completion mode is Indexed");
        if (v_int(c, spec, "parallelism", &v) && v > 100000)
            v_invalid_int(c, "parallelism", v,
                          "must be less than or equal to 100000 when completion mode is Indexed");
    }
    const cJSON *pspec = berth_validate_template_of(c, spec);
    const char *rp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pspec, "restartPolicy"));
    static const char *const job_policies[] = {"OnFailure", "Never", NULL};
    if (!rp || !*rp || strcmp(rp, "Always") == 0)
        v_required(c, "template.spec.restartPolicy", "valid values: \"OnFailure\", \"Never\"");
    else if (!v_oneof(rp, job_policies))
        v_unsupported(c, "template.spec.restartPolicy", rp, job_policies);
}

static void job(vctx *c, const cJSON *spec)
{
    job_spec(c, spec);
    bool manual = false;
    v_bool(c, spec, "manualSelector", &manual);
    /* Without manualSelector the server may leave the selector to the Job
     * controller; a given selector must still match the template. */
    berth_validate_selector_match(c, spec, NULL, manual, "invalid label selector");
}

/* time.LoadLocation's checks: a sane name that exists in the zone database
 * (when the system has one). */
static void time_zone(vctx *c, const cJSON *spec)
{
    const cJSON *tz = cJSON_GetObjectItemCaseSensitive(spec, "timeZone");
    if (!tz || cJSON_IsNull(tz))
        return;
    const char *s = v_str(c, spec, "timeZone");
    if (!s)
        return;
    if (!*s) {
        v_invalid_str(c, "timeZone", s, "timeZone must be nil or non-empty string");
        return;
    }
    bool ok = true;
    for (const char *part = s; ok && part;) {
        const char *slash = strchr(part, '/');
        size_t n = slash ? (size_t)(slash - part) : strlen(part);
        ok = n >= 1 && n <= 14 && part[0] != '-' && !(n == 1 && part[0] == '.') &&
             !(n == 2 && part[0] == '.' && part[1] == '.');
        for (size_t i = 0; ok && i < n; i++) {
            char ch = part[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == '+';
        }
        part = slash ? slash + 1 : NULL;
    }
    if (!ok) {
        v_invalid_str(c, "timeZone", s, "unknown time zone %s", s);
        return;
    }
    if (strcasecmp(s, "Local") == 0) {
        v_invalid_str(c, "timeZone", s, "timeZone must be an explicit time zone as defined in "
                                         "https://www.iana.org/time-zones");
        return;
    }
    char path[300];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", s);
    if (strcmp(s, "UTC") != 0 && access("/usr/share/zoneinfo", F_OK) == 0 &&
        access(path, R_OK) != 0)
        v_invalid_str(c, "timeZone", s, "unknown time zone %s", s);
}

static void cronjob(vctx *c, const cJSON *spec, const cJSON *ospec)
{
    const char *sched = v_str(c, spec, "schedule");
    if (!sched || !*sched) {
        v_required(c, "schedule", NULL);
    } else {
        char buf[512];
        const char *err = berth_cron_check(sched, buf, sizeof buf);
        if (err)
            v_invalid_str(c, "schedule", sched, "%s", err);
        const char *osched = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ospec, "schedule"));
        bool allow_tz = osched && strstr(osched, "TZ");
        if (strstr(sched, "TZ")) {
            if (!allow_tz)
                v_invalid_str(c, "schedule", sched,
                              "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
            else if (cJSON_GetObjectItemCaseSensitive(spec, "timeZone"))
                v_invalid_str(c, "schedule", sched,
                              "cannot use both timeZone field and TZ or CRON_TZ in schedule");
        }
    }
    v_nonneg(c, spec, "startingDeadlineSeconds");
    const cJSON *tz = cJSON_GetObjectItemCaseSensitive(spec, "timeZone");
    const cJSON *otz = cJSON_GetObjectItemCaseSensitive(ospec, "timeZone");
    if (!ospec || !tz || !otz || !cJSON_Compare(tz, otz, true))
        time_zone(c, spec);
    static const char *const policies[] = {"Allow", "Forbid", "Replace", NULL};
    const char *cp = v_str(c, spec, "concurrencyPolicy");
    if (cp && *cp && !v_oneof(cp, policies))
        v_unsupported(c, "concurrencyPolicy", cp, policies);
    const cJSON *jt = v_obj(c, spec, "jobTemplate");
    size_t m = vp_child(c, "jobTemplate");
    const cJSON *jspec = v_obj(c, jt, "spec");
    vp_child(c, "spec");
    job_spec(c, jspec);
    if (cJSON_GetObjectItemCaseSensitive(jspec, "selector"))
        v_invalid_json(c, "selector", cJSON_GetObjectItemCaseSensitive(jspec, "selector"),
                       "`selector` will be auto-generated");
    bool manual = false;
    if (v_bool(c, jspec, "manualSelector", &manual) && manual)
        v_unsupported(c, "manualSelector", "true", (const char *const[]){"nil", "false", NULL});
    vp_pop(c, m);
    v_nonneg(c, spec, "successfulJobsHistoryLimit");
    v_nonneg(c, spec, "failedJobsHistoryLimit");
}

static void job_update(vctx *c, const cJSON *spec, const cJSON *ospec)
{
    v_immutable(c, "selector", cJSON_GetObjectItemCaseSensitive(spec, "selector"),
                cJSON_GetObjectItemCaseSensitive(ospec, "selector"));
    v_immutable(c, "completions", cJSON_GetObjectItemCaseSensitive(spec, "completions"),
                cJSON_GetObjectItemCaseSensitive(ospec, "completions"));
    v_immutable(c, "completionMode", cJSON_GetObjectItemCaseSensitive(spec, "completionMode"),
                cJSON_GetObjectItemCaseSensitive(ospec, "completionMode"));
    /* A suspended Job may still have its pod template adjusted. */
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ospec, "suspend")))
        v_immutable(c, "template", cJSON_GetObjectItemCaseSensitive(spec, "template"),
                    cJSON_GetObjectItemCaseSensitive(ospec, "template"));
}

void berth_validate_batch(vctx *c, const cJSON *obj, const cJSON *old)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    if (!spec)
        spec = &berth_v_empty;
    const cJSON *ospec = old ? cJSON_GetObjectItemCaseSensitive(old, "spec") : NULL;
    size_t m = vp_child(c, "spec");
    if (strcmp(c->kind->kind, "Job") == 0) {
        job(c, spec);
        if (cJSON_IsObject(ospec))
            job_update(c, spec, ospec);
    } else {
        cronjob(c, spec, cJSON_IsObject(ospec) ? ospec : NULL);
    }
    vp_pop(c, m);
}
