/* Storage and compute: container resource requirements (quantities that
 * parse, are not negative, requests within limits), pod volumes and
 * PersistentVolumeClaim specs. */
#include <stdio.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/quantity.h"
#include "validate-int.h"

#define QUANTITY_MSG \
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

/* Reads a quantity written as a string or a bare number ("500m", 2).
 * Reports a malformed one at the current path plus sub and returns false. */
static bool quantity(vctx *c, const char *sub, const cJSON *v, int64_t *milli, char *text,
                     size_t size)
{
    if (cJSON_IsString(v)) {
        snprintf(text, size, "%s", v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        snprintf(text, size, "%.17g", v->valuedouble);
    } else {
        v_invalid_json(c, sub, v, QUANTITY_MSG);
        return false;
    }
    int rc = berth_quantity_parse_milli(text, milli);
    if (rc == BERTH_EINVAL) {
        v_invalid_str(c, sub, text, QUANTITY_MSG);
        return false;
    }
    if (rc != 0) {
        v_invalid_str(c, sub, text, "quantity is out of range or finer than 1m");
        return false;
    }
    return true;
}

/* Kubernetes' canonical text of a quantity, keeping binary suffixes. */
static void canonical(int64_t milli, const char *orig, char *buf, size_t size)
{
    berth_quantity_format_milli(milli, strchr(orig, 'i') != NULL, buf, size);
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Native resources live in kubernetes.io; extended ones anywhere else. */
static bool is_native(const char *name)
{
    return !strchr(name, '/') || strstr(name, "kubernetes.io/") != NULL;
}

static bool is_extended(const char *name)
{
    return !is_native(name) && !has_prefix(name, "requests.");
}

static bool overcommit_allowed(const char *name)
{
    return is_native(name) && !has_prefix(name, "hugepages-");
}

static void resource_name(vctx *c, const char *sub, const char *name)
{
    const char *msgs[BERTH_NAME_MSGS];
    int n = berth_names_qualified(name, msgs);
    for (int i = 0; i < n; i++)
        v_invalid_str(c, sub, name, "%s", msgs[i]);
    if (n)
        return;
    static const char *const standard[] = {
        "cpu", "memory", "ephemeral-storage", "storage", "pods", "services",
        "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
        "persistentvolumeclaims", "services.nodeports", "services.loadbalancers", NULL};
    static const char *const container[] = {"cpu", "memory", "ephemeral-storage", NULL};
    if (!strchr(name, '/')) {
        bool huge = has_prefix(name, "hugepages-");
        if (!huge && !v_oneof(name, standard) && !has_prefix(name, "requests.") &&
            !has_prefix(name, "limits."))
            v_invalid_str(c, sub, name, "must be a standard resource type or fully qualified");
        else if (!huge && !v_oneof(name, container))
            v_invalid_str(c, sub, name, "must be a standard resource for containers");
    } else if (!is_native(name) && !is_extended(name)) {
        v_invalid_str(c, sub, name, "doesn't follow extended resource name standard");
    }
}

/* Checks one quantity of a resource list; returns true with its value. */
static bool resource_quantity(vctx *c, const char *name, const cJSON *v, int64_t *milli,
                              char *text, size_t size)
{
    char sub[300];
    snprintf(sub, sizeof sub, "[%s]", name);
    resource_name(c, sub, name);
    if (!quantity(c, sub, v, milli, text, size))
        return false;
    char canon[64];
    canonical(*milli, text, canon, sizeof canon);
    if (*milli < 0)
        v_invalid_str(c, sub, canon, NONNEG_MSG);
    else if (is_extended(name) && *milli % 1000 != 0)
        v_invalid_str(c, sub, canon, "must be an integer");
    return *milli >= 0;
}

void berth_validate_resources(vctx *c, const cJSON *res)
{
    const cJSON *limits = v_obj(c, res, "limits");
    const cJSON *requests = v_obj(c, res, "requests");
    int64_t milli, lmilli;
    char text[128], ltext[128];
    size_t m = vp_child(c, "limits");
    for (const cJSON *l = limits ? limits->child : NULL; l; l = l->next)
        resource_quantity(c, l->string, l, &milli, text, sizeof text);
    vp_pop(c, m);
    for (const cJSON *r = requests ? requests->child : NULL; r; r = r->next) {
        m = vp_child(c, "requests");
        bool ok = resource_quantity(c, r->string, r, &milli, text, sizeof text);
        vp_pop(c, m);
        if (!ok)
            continue;
        const cJSON *l = limits ? cJSON_GetObjectItemCaseSensitive(limits, r->string) : NULL;
        if (!l) {
            if (!overcommit_allowed(r->string))
                v_required(c, "limits", "Limit must be set for non overcommitable resources");
            continue;
        }
        /* The limit was reported already if it is malformed. */
        vctx quiet = *c;
        berth_errlist none = {0};
        quiet.errs = &none;
        bool lok = quantity(&quiet, NULL, l, &lmilli, ltext, sizeof ltext);
        berth_errlist_free(&none);
        if (!lok)
            continue;
        char rq[64], lq[64];
        canonical(milli, text, rq, sizeof rq);
        canonical(lmilli, ltext, lq, sizeof lq);
        if (milli != lmilli && !overcommit_allowed(r->string))
            v_invalid_str(c, "requests", rq, "must be equal to %s limit of %s", r->string, lq);
        else if (milli > lmilli)
            v_invalid_str(c, "requests", rq, "must be less than or equal to %s limit of %s",
                          r->string, lq);
    }
}

/* ---- Volumes ---- */

static const char *const volume_sources[] = {
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore",
    "secret", "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd",
    "cinder", "cephfs", "quobyte", "downwardAPI", "fc", "flexVolume", "configMap",
    "azureFile", "vsphereVolume", "photonPersistentDisk", "portworxVolume", "azureDisk",
    "storageos", "projected", "scaleIO", "csi", "ephemeral", "image", NULL};

static void volume_source(vctx *c, const char *kind, const cJSON *src)
{
    size_t m = vp_child(c, kind);
    const char *s;
    if (strcmp(kind, "hostPath") == 0 || strcmp(kind, "nfs") == 0) {
        s = v_str(c, src, "path");
        if (!s || !*s)
            v_required(c, "path", NULL);
        else if (strcmp(kind, "nfs") == 0 && s[0] != '/')
            v_invalid_str(c, "path", s, "must be an absolute path");
        if (strcmp(kind, "nfs") == 0 && (!(s = v_str(c, src, "server")) || !*s))
            v_required(c, "server", NULL);
    } else if (strcmp(kind, "secret") == 0) {
        if (!(s = v_str(c, src, "secretName")) || !*s)
            v_required(c, "secretName", NULL);
    } else if (strcmp(kind, "configMap") == 0) {
        if (!(s = v_str(c, src, "name")) || !*s)
            v_required(c, "name", NULL);
    } else if (strcmp(kind, "persistentVolumeClaim") == 0) {
        if (!(s = v_str(c, src, "claimName")) || !*s)
            v_required(c, "claimName", NULL);
    } else if (strcmp(kind, "csi") == 0) {
        if (!(s = v_str(c, src, "driver")) || !*s)
            v_required(c, "driver", NULL);
    } else if (strcmp(kind, "emptyDir") == 0) {
        const cJSON *lim = cJSON_GetObjectItemCaseSensitive(src, "sizeLimit");
        int64_t milli;
        char text[128];
        if (lim && !cJSON_IsNull(lim) && quantity(c, "sizeLimit", lim, &milli, text, sizeof text) &&
            milli < 0)
            v_invalid_str(c, "sizeLimit", text, NONNEG_MSG);
    }
    vp_pop(c, m);
}

void berth_validate_volumes(vctx *c, const cJSON *vols)
{
    size_t i = 0;
    for (const cJSON *v = vols ? vols->child : NULL; v; v = v->next, i++) {
        size_t m = vp_index(c, i);
        int found = 0;
        for (const char *const *k = volume_sources; *k; k++) {
            const cJSON *src = v_obj(c, v, *k);
            if (!src)
                continue;
            if (found++)
                v_forbidden(c, *k, "may not specify more than 1 volume type");
            else
                volume_source(c, *k, src);
        }
        if (!found)
            v_required(c, NULL, "must specify a volume type");
        const char *name = v_str(c, v, "name");
        if (!name || !*name) {
            v_required(c, "name", NULL);
        } else {
            v_dns1123_label(c, "name", name);
            for (const cJSON *q = vols->child; q != v; q = q->next) {
                const char *other = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "name"));
                if (other && strcmp(other, name) == 0) {
                    v_duplicate_str(c, "name", name);
                    break;
                }
            }
        }
        vp_pop(c, m);
    }
}

/* ---- PersistentVolumeClaim specs (claims and claim templates) ---- */

static const char *const access_modes[] = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                           "ReadWriteOncePod", NULL};

void berth_validate_access_modes(vctx *c, const cJSON *modes)
{
    for (const cJSON *a = modes ? modes->child : NULL; a; a = a->next) {
        const char *s = cJSON_GetStringValue(a);
        if (!s)
            v_invalid_json(c, "accessModes", a, "must be a string");
        else if (!v_oneof(s, access_modes))
            v_unsupported(c, "accessModes", s, access_modes);
    }
}

/* Checks a storage quantity that must be above zero. */
void berth_validate_positive_quantity(vctx *c, const char *sub, const cJSON *v)
{
    int64_t milli;
    char text[128], canon[64];
    if (!quantity(c, sub, v, &milli, text, sizeof text))
        return;
    canonical(milli, text, canon, sizeof canon);
    if (milli <= 0)
        v_invalid_str(c, sub, canon, "must be greater than zero");
}

void berth_validate_pvc_spec(vctx *c, const cJSON *spec)
{
    const cJSON *modes = v_arr(c, spec, "accessModes");
    if (!modes || !modes->child)
        v_required(c, "accessModes", "at least 1 access mode is required");
    const cJSON *sel = v_obj(c, spec, "selector");
    if (sel) {
        size_t m = vp_child(c, "selector");
        v_label_selector(c, sel);
        vp_pop(c, m);
    }
    berth_validate_access_modes(c, modes);
    const cJSON *res = v_obj(c, spec, "resources");
    const cJSON *req = v_obj(c, res, "requests");
    const cJSON *storage = req ? cJSON_GetObjectItemCaseSensitive(req, "storage") : NULL;
    if (!storage || cJSON_IsNull(storage))
        v_required(c, "resources[storage]", NULL);
    else
        berth_validate_positive_quantity(c, "resources[storage]", storage);
    const char *cls = v_str(c, spec, "storageClassName");
    if (cls && *cls)
        v_dns1123_subdomain(c, "storageClassName", cls);
    static const char *const modes_v[] = {"Block", "Filesystem", NULL};
    const char *vm = v_str(c, spec, "volumeMode");
    if (vm && *vm && !v_oneof(vm, modes_v))
        v_unsupported(c, "volumeMode", vm, modes_v);
}
