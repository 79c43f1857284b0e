/* ObjectMeta, labels, annotations and LabelSelectors, as apimachinery's
 * ValidateObjectMeta, ValidateLabels and ValidateLabelSelector check them. */
#include <ctype.h>
#include <string.h>

#include "validate-int.h"

#define ANNOTATIONS_MAX (256 * 1024)

void v_label_name(vctx *c, const char *sub, const char *key)
{
    const char *m[BERTH_NAME_MSGS];
    int n = berth_names_qualified(key, m);
    for (int i = 0; i < n; i++)
        v_invalid_str(c, sub, key, "%s", m[i]);
}

void v_labels(vctx *c, const cJSON *labels)
{
    const char *m[BERTH_NAME_MSGS];
    for (const cJSON *it = labels ? labels->child : NULL; it; it = it->next) {
        v_label_name(c, NULL, it->string);
        if (!cJSON_IsString(it))
            continue;
        int n = berth_names_label_value(it->valuestring, m);
        for (int i = 0; i < n; i++)
            v_invalid_str(c, NULL, it->valuestring, "%s", m[i]);
    }
}

void v_annotations(vctx *c, const cJSON *annotations)
{
    const char *m[BERTH_NAME_MSGS];
    size_t total = 0;
    for (const cJSON *it = annotations ? annotations->child : NULL; it; it = it->next) {
        /* Annotation keys are qualified names compared without case. */
        char lower[320];
        size_t len = strlen(it->string);
        if (len < sizeof lower) {
            for (size_t i = 0; i <= len; i++)
                lower[i] = (char)tolower((unsigned char)it->string[i]);
            int n = berth_names_qualified(lower, m);
            for (int i = 0; i < n; i++)
                v_invalid_str(c, NULL, it->string, "%s", m[i]);
        } else {
            v_invalid_str(c, NULL, it->string, "name part must be no more than 63 characters");
        }
        total += len + (cJSON_IsString(it) ? strlen(it->valuestring) : 0);
    }
    if (total > ANNOTATIONS_MAX)
        v_toolong(c, NULL, ANNOTATIONS_MAX);
}

static const char *const selector_ops[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};

static void selector_requirement(vctx *c, const cJSON *e);

void v_label_selector(vctx *c, const cJSON *sel)
{
    if (!cJSON_IsObject(sel)) {
        if (sel && !cJSON_IsNull(sel))
            v_invalid_json(c, NULL, sel, "must be an object");
        return;
    }
    v_member(c, sel, "matchLabels", V_MAP, true, v_labels);
    v_each(c, sel, "matchExpressions", selector_requirement);
}

static void label_value_item(vctx *c, const cJSON *v)
{
    if (!cJSON_IsString(v)) {
        v_invalid_json(c, NULL, v, "must be a string");
        return;
    }
    const char *msgs[BERTH_NAME_MSGS];
    int n = berth_names_label_value(v->valuestring, msgs);
    for (int k = 0; k < n; k++)
        v_invalid_str(c, NULL, v->valuestring, "%s", msgs[k]);
}

static void selector_requirement(vctx *c, const cJSON *e)
{
    const char *op = v_str(c, e, "operator");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(e, "values");
    int nvalues = cJSON_IsArray(values) ? cJSON_GetArraySize(values) : 0;
    if (op && (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0)) {
        if (nvalues == 0)
            v_required(c, "values", "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (op && (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0)) {
        if (nvalues > 0)
            v_forbidden(c, "values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else if (!v_oneof(op, selector_ops)) {
        v_invalid_str(c, "operator", op, "not a valid selector operator");
    }
    const char *key = v_str(c, e, "key");
    v_label_name(c, "key", key ? key : "");
    v_each(c, e, "values", label_value_item);
}

static void owner_refs(vctx *c, const cJSON *refs)
{
    const char *first_controller = NULL, *first_kind = NULL;
    for (const cJSON *r = refs ? refs->child : NULL; r; r = r->next) {
        const char *api = v_str(c, r, "apiVersion"), *kind = v_str(c, r, "kind");
        const char *name = v_str(c, r, "name"), *uid = v_str(c, r, "uid");
        /* The version is what follows the last '/' of apiVersion. */
        const char *slash = api ? strrchr(api, '/') : NULL;
        const char *version = slash ? slash + 1 : api;
        if (!version || !*version)
            v_invalid_str(c, "apiVersion", api, "version must not be empty");
        if (!kind || !*kind)
            v_invalid_str(c, "kind", kind, "kind must not be empty");
        if (!name || !*name)
            v_invalid_str(c, "name", name, "name must not be empty");
        if (!uid || !*uid)
            v_invalid_str(c, "uid", uid, "uid must not be empty");
        bool ctl = false;
        if (v_bool(c, r, "controller", &ctl) && ctl) {
            if (first_controller)
                v_invalid_json(c, NULL, refs,
                               "Only one reference can have Controller set to true. Found "
                               "\"true\" in references for %s/%s and %s/%s",
                               first_kind, first_controller, kind ? kind : "",
                               name ? name : "");
            else
                first_controller = name ? name : "", first_kind = kind ? kind : "";
        }
    }
}

static void finalizers(vctx *c, const cJSON *fins)
{
    bool orphan = false, foreground = false;
    for (const cJSON *f = fins ? fins->child : NULL; f; f = f->next) {
        if (!cJSON_IsString(f)) {
            v_invalid_json(c, NULL, f, "must be a string");
            continue;
        }
        v_label_name(c, NULL, f->valuestring);
        orphan |= strcmp(f->valuestring, "orphan") == 0;
        foreground |= strcmp(f->valuestring, "foregroundDeletion") == 0;
    }
    if (orphan && foreground)
        v_invalid_json(c, NULL, fins,
                       "finalizer orphan and foregroundDeletion cannot be both set");
}

/* The name rule of a kind: Namespaces are DNS-1123 labels, Services DNS-1035
 * labels, everything else a DNS-1123 subdomain. */
static char name_rule(const berth_kind *k)
{
    if (strcmp(k->kind, "Namespace") == 0)
        return 'l';
    if (strcmp(k->kind, "Service") == 0)
        return '5';
    return 's';
}

static void meta_update(vctx *c, const cJSON *meta, const cJSON *old)
{
    const cJSON *ometa = cJSON_GetObjectItemCaseSensitive(old, "metadata");
    static const char *const fixed[] = {"name", "namespace", "uid", "creationTimestamp"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(meta, fixed[i]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(ometa, fixed[i]);
        /* An empty value on update means "as stored"; the API layer fills
         * it in. */
        if (!cJSON_IsString(a) || !*a->valuestring || !cJSON_IsString(b))
            continue;
        v_immutable(c, fixed[i], a, b);
    }
}

void berth_validate_meta(vctx *c, const cJSON *obj, const cJSON *old)
{
    const char *m[BERTH_NAME_MSGS];
    const cJSON *meta = v_obj(c, obj, "metadata");
    size_t mark = vp_child(c, "metadata");
    char rule = name_rule(c->kind);
    const char *gen = v_str(c, meta, "generateName");
    if (gen && *gen) {
        int n = berth_names_object(rule, gen, true, m);
        for (int i = 0; i < n; i++)
            v_invalid_str(c, "generateName", gen, "%s", m[i]);
    }
    const char *name = v_str(c, meta, "name");
    if (!name || !*name) {
        /* A generateName alone is enough: the name is made from it. */
        if (!gen || !*gen)
            v_required(c, "name", "name or generateName is required");
    } else {
        int n = berth_names_object(rule, name, false, m);
        for (int i = 0; i < n; i++)
            v_invalid_str(c, "name", name, "%s", m[i]);
        if (strcmp(c->kind->kind, "CronJob") == 0 && strlen(name) > 52)
            v_invalid_str(c, "name", name, "must be no more than 52 characters");
    }
    const char *ns = v_str(c, meta, "namespace");
    if (c->kind->namespaced) {
        if (!ns || !*ns) {
            v_required(c, "namespace", NULL);
        } else {
            int n = berth_names_dns1123_label(ns, m);
            for (int i = 0; i < n; i++)
                v_invalid_str(c, "namespace", ns, "%s", m[i]);
        }
    } else if (ns && *ns) {
        v_forbidden(c, "namespace", "not allowed on this type");
    }
    v_nonneg(c, meta, "generation");
    v_member(c, meta, "labels", V_MAP, true, v_labels);
    v_member(c, meta, "annotations", V_MAP, true, v_annotations);
    v_member(c, meta, "ownerReferences", V_ARR, true, owner_refs);
    v_member(c, meta, "finalizers", V_ARR, true, finalizers);
    if (old)
        meta_update(c, meta, old);
    vp_pop(c, mark);
}
