/* Scheduling constraints of a pod: node and pod affinity, tolerations and
 * taint effects, as Kubernetes' validateAffinity and ValidateTolerations. */
#include <string.h>

#include "validate-int.h"

static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};

void berth_validate_taint_effect(vctx *c, const char *sub, const char *effect)
{
    if (!v_oneof(effect, effects))
        v_unsupported(c, sub, effect ? effect : "", effects);
}

static void node_requirement(vctx *c, const cJSON *rq, bool fields)
{
    const char *op = v_str(c, rq, "operator");
    const cJSON *values = v_arr(c, rq, "values");
    int n = values ? cJSON_GetArraySize(values) : 0;
    if (op && (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0)) {
        if (n == 0)
            v_required(c, "values", "must be specified when `operator` is 'In' or 'NotIn'");
        else if (fields && n != 1)
            v_required(c, "values", "must be only one value when `operator` is 'In' or 'NotIn' for node field selector");
    } else if (!fields && op &&
               (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0)) {
        if (n > 0)
            v_forbidden(c, "values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else if (!fields && op && (strcmp(op, "Gt") == 0 || strcmp(op, "Lt") == 0)) {
        if (n != 1)
            v_required(c, "values", "must be specified single value when `operator` is 'Lt' or 'Gt'");
    } else if (fields) {
        v_unsupported(c, "operator", op ? op : "", (const char *const[]){"In", "NotIn", NULL});
    } else {
        v_invalid_str(c, "operator", op, "not a valid selector operator");
    }
    const char *key = v_str(c, rq, "key");
    if (fields) {
        if (!key || strcmp(key, "metadata.name") != 0)
            v_unsupported(c, "key", key ? key : "", (const char *const[]){"metadata.name", NULL});
    } else {
        v_label_name(c, "key", key ? key : "");
    }
}

static void label_requirement(vctx *c, const cJSON *rq)
{
    node_requirement(c, rq, false);
}

static void field_requirement(vctx *c, const cJSON *rq)
{
    node_requirement(c, rq, true);
}

static void node_term(vctx *c, const cJSON *term)
{
    v_each(c, term, "matchExpressions", label_requirement);
    v_each(c, term, "matchFields", field_requirement);
}

static void weight(vctx *c, const cJSON *term)
{
    long long w = 0;
    v_int(c, term, "weight", &w);
    if (w < 1 || w > 100)
        v_invalid_int(c, "weight", w, "must be in the range 1-100");
}

static void required_node_terms(vctx *c, const cJSON *req)
{
    const cJSON *terms = cJSON_GetObjectItemCaseSensitive(req, "nodeSelectorTerms");
    if (!cJSON_IsArray(terms) || !terms->child)
        v_required(c, "nodeSelectorTerms", "must have at least one node selector term");
    v_each(c, req, "nodeSelectorTerms", node_term);
}

static void preferred_node_term(vctx *c, const cJSON *t)
{
    weight(c, t);
    v_member(c, t, "preference", V_OBJ, true, node_term);
}

static void node_affinity(vctx *c, const cJSON *na)
{
    v_member(c, na, "requiredDuringSchedulingIgnoredDuringExecution", V_OBJ, false,
             required_node_terms);
    v_each(c, na, "preferredDuringSchedulingIgnoredDuringExecution", preferred_node_term);
}

static void pod_term(vctx *c, const cJSON *term)
{
    v_member(c, term, "labelSelector", V_OBJ, true, v_label_selector);
    const cJSON *nss = v_arr(c, term, "namespaces");
    for (const cJSON *ns = nss ? nss->child : NULL; ns; ns = ns->next) {
        const char *s = cJSON_GetStringValue(ns);
        if (s)
            v_dns1123_label(c, "namespace", s);
    }
    v_member(c, term, "namespaceSelector", V_OBJ, false, v_label_selector);
    const char *key = v_str(c, term, "topologyKey");
    if (!key || !*key)
        v_required(c, "topologyKey", "can not be empty");
    v_label_name(c, "topologyKey", key ? key : "");
}

static void preferred_pod_term(vctx *c, const cJSON *t)
{
    weight(c, t);
    v_member(c, t, "podAffinityTerm", V_OBJ, true, pod_term);
}

static void pod_affinity(vctx *c, const cJSON *pa)
{
    v_each(c, pa, "requiredDuringSchedulingIgnoredDuringExecution", pod_term);
    v_each(c, pa, "preferredDuringSchedulingIgnoredDuringExecution", preferred_pod_term);
}

void berth_validate_affinity(vctx *c, const cJSON *aff)
{
    v_member(c, aff, "nodeAffinity", V_OBJ, false, node_affinity);
    v_member(c, aff, "podAffinity", V_OBJ, false, pod_affinity);
    v_member(c, aff, "podAntiAffinity", V_OBJ, false, pod_affinity);
}

void berth_validate_tolerations(vctx *c, const cJSON *tols)
{
    size_t i = 0;
    for (const cJSON *t = tols ? tols->child : NULL; t; t = t->next, i++) {
        size_t m = vp_index(c, i);
        const char *key = v_str(c, t, "key");
        const char *op = v_str(c, t, "operator");
        const char *value = v_str(c, t, "value");
        const char *effect = v_str(c, t, "effect");
        long long secs;
        if (key && *key)
            v_label_name(c, "key", key);
        if ((!key || !*key) && !(op && strcmp(op, "Exists") == 0))
            v_invalid_str(c, "operator", op, "operator must be Exists when `key` is empty, "
                                             "which means \"match all values and all keys\"");
        if (v_int(c, t, "tolerationSeconds", &secs) && !(effect && strcmp(effect, "NoExecute") == 0))
            v_invalid_str(c, "effect", effect,
                          "effect must be 'NoExecute' when `tolerationSeconds` is set");
        if (!op || !*op || strcmp(op, "Equal") == 0) {
            const char *msgs[BERTH_NAME_MSGS];
            int n = berth_names_label_value(value ? value : "", msgs);
            if (n) {
                /* Kubernetes joins the value's problems with ';'. */
                char joined[1024] = "";
                for (int k = 0; k < n; k++) {
                    if (k)
                        strncat(joined, ";", sizeof joined - strlen(joined) - 1);
                    strncat(joined, msgs[k], sizeof joined - strlen(joined) - 1);
                }
                v_invalid_str(c, "operator", value, "%s", joined);
            }
        } else if (strcmp(op, "Exists") == 0) {
            if (value && *value)
                v_invalid_json(c, "operator", t, "value must be empty when `operator` is 'Exists'");
        } else {
            v_unsupported(c, "operator", op, (const char *const[]){"Equal", "Exists", NULL});
        }
        if (effect && *effect)
            berth_validate_taint_effect(c, "effect", effect);
        vp_pop(c, m);
    }
}
