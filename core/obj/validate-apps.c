/* The apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet.
 * Each has a required, non-empty selector that must match its template's
 * labels, a template whose pods restart Always, and its rollout knobs. */
#include <stdlib.h>
#include <string.h>

#include "berth/selector.h"
#include "validate-int.h"

/* Checks spec.selector and the match against spec.template's labels, at the
 * current path (spec). what names the kind in "empty selector is invalid
 * for <what>"; NULL skips that rule. */
void berth_validate_selector_match(vctx *c, const cJSON *spec, const char *what, bool required,
                                   const char *bad_detail)
{
    const cJSON *sel = v_obj(c, spec, "selector");
    size_t before = c->nerr;
    if (!sel) {
        if (required)
            v_required(c, "selector", NULL);
        return;
    }
    size_t m = vp_child(c, "selector");
    v_label_selector(c, sel);
    vp_pop(c, m);
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
    const cJSON *me = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions");
    if (what && cJSON_GetArraySize(ml) + cJSON_GetArraySize(me) == 0)
        v_invalid_json(c, "selector", sel, "empty selector is invalid for %s", what);
    berth_selector *s = NULL;
    char err[256];
    if (berth_selector_from_json(sel, "spec.selector", &s, err, sizeof err) != 0) {
        if (c->nerr == before)
            v_invalid_json(c, "selector", sel, "%s", bad_detail);
        return;
    }
    const cJSON *tmeta = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(spec, "template"), "metadata");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(tmeta, "labels");
    if (!cJSON_IsObject(labels))
        labels = NULL;
    if (!berth_selector_is_empty(s) && !berth_selector_matches(s, labels)) {
        if (labels)
            v_invalid_json(c, "template.metadata.labels", labels,
                           "`selector` does not match template `labels`");
        else
            v_invalid_raw(c, "template.metadata.labels", "map[string]string(nil)",
                          "`selector` does not match template `labels`");
    }
    berth_selector_free(s);
}

/* The template of a controller whose pods always restart; DaemonSets
 * report a deadline as Invalid, the others as Forbidden. */
static void always_template(vctx *c, const cJSON *spec, const char *kind, bool invalid_ads)
{
    const cJSON *pspec = berth_validate_template_of(c, spec);
    const char *rp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pspec, "restartPolicy"));
    if (rp && *rp && strcmp(rp, "Always") != 0)
        v_unsupported(c, "template.spec.restartPolicy", rp, (const char *const[]){"Always", NULL});
    const cJSON *ads = cJSON_GetObjectItemCaseSensitive(pspec, "activeDeadlineSeconds");
    if (!ads || cJSON_IsNull(ads))
        return;
    if (invalid_ads)
        v_invalid_json(c, "template.spec.activeDeadlineSeconds", ads,
                       "activeDeadlineSeconds in %s is not Supported", kind);
    else if (kind[0] == 'S')
        v_forbidden(c, "template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in StatefulSet is not Supported");
    else
        v_forbidden(c, "template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in ReplicaSet is not Supported");
}

/* Reads an IntOrString that must be a non-negative integer or a percent;
 * returns its number (the percent's number for a percent) or 0 when absent
 * or malformed, as Kubernetes' getIntOrPercentValue. */
static long long int_or_percent(vctx *c, const cJSON *obj, const char *key, bool max100)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        const char *msgs[BERTH_NAME_MSGS];
        if (berth_names_percent(v->valuestring, msgs)) {
            v_invalid_json(c, key, v, "%s", msgs[0]);
            return 0;
        }
        long long pct = strtoll(v->valuestring, NULL, 10);
        if (max100 && pct > 100)
            v_invalid_json(c, key, v, "must not be greater than 100%%");
        return pct;
    }
    long long n;
    if (cJSON_IsNumber(v) && v_int(c, obj, key, &n)) {
        if (n < 0)
            v_invalid_int(c, key, n, NONNEG_MSG);
        return n;
    }
    if (!cJSON_IsNumber(v))
        v_invalid_json(c, key, v, "must be an integer or percentage (e.g '5%%')");
    return 0;
}

static bool has(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v);
}

static void deployment_strategy(vctx *c, const cJSON *st)
{
    static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
    const char *type = v_str(c, st, "type");
    const cJSON *ru = v_obj(c, st, "rollingUpdate");
    if (type && strcmp(type, "Recreate") == 0) {
        if (ru)
            v_forbidden(c, "rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'");
    } else if (!type || !*type || strcmp(type, "RollingUpdate") == 0) {
        if (!ru)
            return;
        size_t m = vp_child(c, "rollingUpdate");
        long long mu = int_or_percent(c, ru, "maxUnavailable", true);
        long long ms = int_or_percent(c, ru, "maxSurge", false);
        /* An absent member is defaulted to 25%, so only explicit zeros
         * conflict. */
        if (has(ru, "maxUnavailable") && has(ru, "maxSurge") && mu == 0 && ms == 0)
            v_invalid_json(c, "maxUnavailable", cJSON_GetObjectItemCaseSensitive(ru, "maxUnavailable"),
                           "may not be 0 when `maxSurge` is 0");
        vp_pop(c, m);
    } else {
        v_unsupported(c, "type", type, types);
    }
}

static void deployment(vctx *c, const cJSON *spec, bool rs)
{
    v_nonneg(c, spec, "replicas");
    if (rs)
        v_nonneg(c, spec, "minReadySeconds");
    berth_validate_selector_match(c, spec, "deployment", true, "invalid label selector");
    always_template(c, spec, "ReplicaSet", false);
    if (rs)
        return;
    const cJSON *st = v_obj(c, spec, "strategy");
    size_t m = vp_child(c, "strategy");
    deployment_strategy(c, st);
    vp_pop(c, m);
    v_nonneg(c, spec, "minReadySeconds");
    v_nonneg(c, spec, "revisionHistoryLimit");
    long long pd, mrs = 0;
    if (v_int(c, spec, "progressDeadlineSeconds", &pd)) {
        v_nonneg(c, spec, "progressDeadlineSeconds");
        v_int(c, spec, "minReadySeconds", &mrs);
        if (pd <= mrs)
            v_invalid_int(c, "progressDeadlineSeconds", pd, "must be greater than minReadySeconds");
    }
}

static void claim_template(vctx *c, const cJSON *t)
{
    const char *name = berth_obj_str(t, "metadata.name");
    if (!name || !*name)
        v_required(c, "metadata.name", "name or generateName is required");
    else
        v_dns1123_label(c, "metadata.name", name);
    v_member(c, t, "spec", V_OBJ, true, berth_validate_pvc_spec);
}

static void statefulset(vctx *c, const cJSON *spec)
{
    const char *pmp = v_str(c, spec, "podManagementPolicy");
    if (pmp && *pmp && strcmp(pmp, "OrderedReady") != 0 && strcmp(pmp, "Parallel") != 0)
        v_invalid_str(c, "podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'");
    const cJSON *us = v_obj(c, spec, "updateStrategy");
    const char *type = v_str(c, us, "type");
    const cJSON *ru = us ? v_obj(c, us, "rollingUpdate") : NULL;
    if (type && strcmp(type, "OnDelete") == 0) {
        if (ru)
            v_invalid_json(c, "updateStrategy.rollingUpdate", ru,
                           "only allowed for updateStrategy 'RollingUpdate'");
    } else if (!type || !*type || strcmp(type, "RollingUpdate") == 0) {
        if (ru) {
            size_t m = vp_child(c, "updateStrategy.rollingUpdate");
            v_nonneg(c, ru, "partition");
            if (has(ru, "maxUnavailable")) {
                long long mu = int_or_percent(c, ru, "maxUnavailable", true);
                if (mu == 0)
                    v_invalid_json(c, "maxUnavailable",
                                   cJSON_GetObjectItemCaseSensitive(ru, "maxUnavailable"),
                                   "must be greater than 0");
            }
            vp_pop(c, m);
        }
    } else {
        /* Kubernetes shows the whole strategy at spec.updateStrategy; the
         * type alone says more. */
        v_invalid_str(c, "updateStrategy.type", type, "must be 'RollingUpdate' or 'OnDelete'");
    }
    const cJSON *pol = v_obj(c, spec, "persistentVolumeClaimRetentionPolicy");
    if (pol) {
        static const char *const kinds[] = {"Retain", "Delete", NULL};
        size_t m = vp_child(c, "persistentVolumeClaimRetentionPolicy");
        static const char *const keys[] = {"whenDeleted", "whenScaled"};
        for (int k = 0; k < 2; k++) {
            const char *s = v_str(c, pol, keys[k]);
            if (s && *s && !v_oneof(s, kinds))
                v_unsupported(c, keys[k], s, kinds);
        }
        vp_pop(c, m);
    }
    v_nonneg(c, spec, "replicas");
    v_nonneg(c, spec, "minReadySeconds");
    berth_validate_selector_match(c, spec, "statefulset", true, "");
    /* Containers mount the claims made from volumeClaimTemplates by name. */
    c->claim_templates = cJSON_GetObjectItemCaseSensitive(spec, "volumeClaimTemplates");
    always_template(c, spec, "StatefulSet", false);
    c->claim_templates = NULL;
    v_nonneg(c, spec, "revisionHistoryLimit");
    const char *svc = v_str(c, spec, "serviceName");
    if (svc && *svc) {
        const char *msgs[BERTH_NAME_MSGS];
        int n = berth_names_dns1035_label(svc, msgs);
        for (int k = 0; k < n; k++)
            v_invalid_str(c, "serviceName", svc, "%s", msgs[k]);
    }
    v_each(c, spec, "volumeClaimTemplates", claim_template);
}

static void daemonset(vctx *c, const cJSON *spec)
{
    berth_validate_selector_match(c, spec, "daemonset", true, "invalid label selector");
    always_template(c, spec, "DaemonSet", true);
    v_nonneg(c, spec, "minReadySeconds");
    v_nonneg(c, spec, "templateGeneration");
    const cJSON *us = v_obj(c, spec, "updateStrategy");
    size_t m = vp_child(c, "updateStrategy");
    const char *type = v_str(c, us, "type");
    const cJSON *ru = v_obj(c, us, "rollingUpdate");
    if (type && strcmp(type, "OnDelete") == 0) {
        /* Nothing more to check. */
    } else if (!type || !*type || strcmp(type, "RollingUpdate") == 0) {
        if (ru) {
            size_t m1 = vp_child(c, "rollingUpdate");
            long long mu = int_or_percent(c, ru, "maxUnavailable", true);
            long long ms = int_or_percent(c, ru, "maxSurge", true);
            /* Absent members default to maxUnavailable 1 and maxSurge 0. */
            bool hu = has(ru, "maxUnavailable") ? mu != 0 : true;
            bool hs = ms != 0;
            if (hu && hs)
                v_invalid_json(c, "maxSurge", cJSON_GetObjectItemCaseSensitive(ru, "maxSurge"),
                               "may not be set when maxUnavailable is non-zero");
            else if (!hu && !hs)
                v_required(c, "maxUnavailable", "cannot be 0 when maxSurge is 0");
            vp_pop(c, m1);
        }
    } else {
        v_unsupported(c, "type", type, (const char *const[]){"RollingUpdate", "OnDelete", NULL});
    }
    vp_pop(c, m);
    v_nonneg(c, spec, "revisionHistoryLimit");
}

/* A StatefulSet may change only some of its spec after creation. */
static void statefulset_update(vctx *c, const cJSON *spec, const cJSON *ospec)
{
    static const char *const mutable[] = {"replicas", "ordinals", "template", "updateStrategy",
                                          "persistentVolumeClaimRetentionPolicy",
                                          "minReadySeconds", "revisionHistoryLimit"};
    cJSON *a = cJSON_Duplicate(spec, true), *b = cJSON_Duplicate(ospec, true);
    if (a && b) {
        for (size_t i = 0; i < sizeof mutable / sizeof mutable[0]; i++) {
            cJSON_DeleteItemFromObjectCaseSensitive(a, mutable[i]);
            cJSON_DeleteItemFromObjectCaseSensitive(b, mutable[i]);
        }
        if (!cJSON_Compare(a, b, true))
            v_forbidden(c, NULL,
                        "updates to statefulset spec for fields other than 'replicas', "
                        "'ordinals', 'template', 'updateStrategy', "
                        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                        "forbidden");
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

void berth_validate_apps(vctx *c, const cJSON *obj, const cJSON *old)
{
    const char *kind = c->kind->kind;
    const cJSON *spec = v_obj(c, obj, "spec");
    if (!spec)
        spec = &berth_v_empty;
    size_t m = vp_child(c, "spec");
    if (strcmp(kind, "Deployment") == 0)
        deployment(c, spec, false);
    else if (strcmp(kind, "ReplicaSet") == 0)
        deployment(c, spec, true);
    else if (strcmp(kind, "StatefulSet") == 0)
        statefulset(c, spec);
    else
        daemonset(c, spec);
    if (old) {
        const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old, "spec");
        if (strcmp(kind, "StatefulSet") == 0 && cJSON_IsObject(ospec)) {
            statefulset_update(c, spec, ospec);
        } else {
            const cJSON *osel = cJSON_GetObjectItemCaseSensitive(ospec, "selector");
            v_immutable(c, "selector", cJSON_GetObjectItemCaseSensitive(spec, "selector"), osel);
        }
    }
    vp_pop(c, m);
}
