/* Taints and tolerations: parsing into interned form, Kubernetes' matching
 * rules, and the NoExecute eviction plan for pods already running. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "berth/errno.h"
#include "sched/sched.h"

int effect_parse(const char *s)
{
    if (!s || !*s)
        return EFF_NONE;
    if (!strcmp(s, "NoSchedule"))
        return EFF_NOSCHEDULE;
    if (!strcmp(s, "PreferNoSchedule"))
        return EFF_PREFER;
    if (!strcmp(s, "NoExecute"))
        return EFF_NOEXECUTE;
    return -1;
}

/* As Kubernetes' Toleration.ToleratesTaint: the effect must match unless the
 * toleration names none; an empty key (only valid with Exists) matches every
 * key; Exists ignores the value, Equal compares it. */
bool toleration_matches(const toleration *t, const taint *x)
{
    if (t->effect != EFF_NONE && t->effect != x->effect)
        return false;
    if (t->key && t->key != x->key)
        return false;
    if (t->op == TOL_EXISTS)
        return true;
    return t->value == x->value;
}

int taint_parse(intern *in, const cJSON *j, taint *out)
{
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "key"));
    const char *val = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "value"));
    int eff = effect_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "effect")));
    if (!key || !*key || eff <= 0)
        return BERTH_EINVAL;
    memset(out, 0, sizeof *out);
    out->effect = (uint8_t)eff;
    int rc = intern_add(in, key, &out->key);
    if (rc == 0 && val && *val)
        rc = intern_add(in, val, &out->value);
    return rc;
}

int toleration_parse(intern *in, const cJSON *j, toleration *out)
{
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "key"));
    const char *val = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "value"));
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "operator"));
    int eff = effect_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "effect")));
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "tolerationSeconds");
    memset(out, 0, sizeof *out);
    if (eff < 0 || !cJSON_IsObject(j))
        return BERTH_EINVAL;
    if (!op || !*op || !strcmp(op, "Equal"))
        out->op = TOL_EQUAL;
    else if (!strcmp(op, "Exists"))
        out->op = TOL_EXISTS;
    else
        return BERTH_EINVAL;
    out->effect = (uint8_t)eff;
    if (cJSON_IsNumber(secs)) {
        out->has_seconds = true;
        out->seconds = (int64_t)secs->valuedouble;
    }
    int rc = 0;
    if (key && *key)
        rc = intern_add(in, key, &out->key);
    if (rc == 0 && val && *val)
        rc = intern_add(in, val, &out->value);
    return rc;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t sched_parse_time(const char *s)
{
    int y, mo, d, h, mi, se;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

int berth_sched_taint_evictions(const cJSON *node, const cJSON *pods, int64_t now_ms,
                                berth_sched_eviction *out, size_t cap, size_t *n)
{
    *n = 0;
    if (!cJSON_IsObject(node) || !cJSON_IsArray(pods) || (cap && !out))
        return BERTH_EINVAL;
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "spec"), "taints");
    intern in = {0};
    taint ts[64];
    int64_t added[64];
    size_t nt = 0;
    int rc = 0;
    for (const cJSON *e = cJSON_IsArray(jt) ? jt->child : NULL; e && nt < 64; e = e->next) {
        taint t;
        if (taint_parse(&in, e, &t) < 0 || t.effect != EFF_NOEXECUTE)
            continue;
        int64_t at = sched_parse_time(
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "timeAdded")));
        added[nt] = at < 0 ? now_ms : at * 1000;
        ts[nt++] = t;
    }
    size_t i = 0;
    for (const cJSON *p = pods->child; p && nt; p = p->next, i++) {
        const cJSON *jtol = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(p, "spec"), "tolerations");
        int64_t when = INT64_MAX;
        for (size_t k = 0; k < nt; k++) {
            bool tolerated = false;
            int64_t until = INT64_MAX;
            for (const cJSON *e = cJSON_IsArray(jtol) ? jtol->child : NULL; e; e = e->next) {
                toleration t;
                if ((rc = toleration_parse(&in, e, &t)) == BERTH_ENOMEM)
                    goto done;
                if (rc < 0 || !toleration_matches(&t, &ts[k]))
                    continue;
                tolerated = true;
                /* The smallest tolerationSeconds wins; a matching toleration
                 * without seconds tolerates forever only when no other
                 * matching one limits it, as Kubernetes' getMinTolerationTime. */
                if (t.has_seconds) {
                    int64_t secs = t.seconds < 0 ? 0 : t.seconds;
                    if (added[k] + secs * 1000 < until)
                        until = added[k] + secs * 1000;
                }
            }
            rc = 0;
            if (!tolerated)
                until = now_ms;
            if (until < when)
                when = until;
        }
        if (when == INT64_MAX)
            continue;
        if (*n < cap) {
            out[*n].pod = i;
            out[*n].at_ms = when < now_ms ? now_ms : when;
        }
        (*n)++;
    }
done:
    intern_free(&in);
    if (rc < 0)
        *n = 0;
    return rc;
}
