/* The core/v1 kinds other than Service: Pod (with its update rules),
 * ConfigMap, Secret, Namespace, Node, PersistentVolume(Claim), Event,
 * ServiceAccount, Endpoints, and coordination's Lease. */
#include <stdio.h>
#include <string.h>

#include "validate-int.h"

#define MAX_SECRET_SIZE (1024 * 1024)

/* ---- Pod ---- */

/* Drops from a copy of a pod spec the members an update may change. */
static void strip_mutable(cJSON *spec, const cJSON *old_spec)
{
    static const char *const lists[] = {"containers", "initContainers"};
    for (int k = 0; k < 2; k++) {
        cJSON *list = cJSON_GetObjectItemCaseSensitive(spec, lists[k]);
        for (cJSON *ct = cJSON_IsArray(list) ? list->child : NULL; ct; ct = ct->next)
            if (cJSON_IsObject(ct))
                cJSON_DeleteItemFromObjectCaseSensitive(ct, "image");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "activeDeadlineSeconds");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "terminationGracePeriodSeconds");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "tolerations");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "schedulingGates");
    /* Binding sets nodeName once, through the binding subresource. */
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(old_spec, "nodeName"));
    if (!node || !*node)
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeName");
}

static void pod_update(vctx *c, const cJSON *spec, const cJSON *ospec)
{
    cJSON *a = cJSON_Duplicate(spec, true), *b = cJSON_Duplicate(ospec, true);
    if (a && b) {
        strip_mutable(a, ospec);
        strip_mutable(b, ospec);
        bool same = cJSON_Compare(a, b, true);
        /* Tolerations may only be added to. */
        const cJSON *ot = cJSON_GetObjectItemCaseSensitive(ospec, "tolerations");
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(spec, "tolerations");
        for (const cJSON *t = cJSON_IsArray(ot) ? ot->child : NULL; same && t; t = t->next) {
            bool found = false;
            for (const cJSON *u = cJSON_IsArray(nt) ? nt->child : NULL; !found && u; u = u->next)
                found = cJSON_Compare(t, u, true);
            same = found;
        }
        if (!same)
            v_forbidden(c, NULL,
                        "pod updates may not change fields other than "
                        "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
                        "to be set to 1 if it was previously negative)");
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

void berth_validate_pod(vctx *c, const cJSON *obj, const cJSON *old)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    size_t m = vp_child(c, "spec");
    berth_validate_pod_spec(c, spec);
    const cJSON *ospec = old ? cJSON_GetObjectItemCaseSensitive(old, "spec") : NULL;
    if (cJSON_IsObject(spec) && cJSON_IsObject(ospec))
        pod_update(c, spec, ospec);
    vp_pop(c, m);
}

/* ---- ConfigMap and Secret ---- */

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Checks standard padded base64 as Go's decoder does (it skips CR and LF).
 * Returns -1 when valid with the decoded size in *size, else the offset of
 * the first bad byte. */
static long b64_check(const char *s, size_t *size)
{
    size_t n = 0, quantum_start = 0;
    int j = 0, pad = 0;
    size_t i;
    for (i = 0; s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\r' || ch == '\n')
            continue;
        if (pad) {
            if (ch == '=' && j == 3 && pad == 1) {
                pad = 2;
                j = 0;
                continue;
            }
            return (long)i;
        }
        if (j == 0)
            quantum_start = i;
        if (ch == '=') {
            if (j < 2)
                return (long)i;
            n += (size_t)(j - 1);
            if (j == 3) {
                pad = 2;
                j = 0;
            } else {
                pad = 1;
                j = 3;
            }
            continue;
        }
        if (b64_value(ch) < 0)
            return (long)i;
        if (++j == 4) {
            n += 3;
            j = 0;
        }
    }
    if (pad == 1 || j != 0)
        return (long)(pad == 1 ? i : quantum_start);
    *size = n;
    return -1;
}

static size_t data_map(vctx *c, const cJSON *obj, const char *key, bool base64,
                       const cJSON *other, const char *other_name)
{
    const cJSON *map = v_obj(c, obj, key);
    size_t total = 0;
    for (const cJSON *it = map ? map->child : NULL; it; it = it->next) {
        size_t m = vp_child(c, key);
        vp_key(c, it->string);
        const char *msgs[BERTH_NAME_MSGS];
        int n = berth_names_config_key(it->string, msgs);
        for (int k = 0; k < n; k++)
            v_invalid_str(c, NULL, it->string, "%s", msgs[k]);
        if (other && cJSON_GetObjectItemCaseSensitive(other, it->string))
            v_invalid_str(c, NULL, it->string, "duplicate of key present in %s", other_name);
        if (!cJSON_IsString(it)) {
            v_invalid_json(c, NULL, it, "must be a string");
        } else if (base64) {
            size_t size = 0;
            long bad = b64_check(it->valuestring, &size);
            if (bad >= 0)
                v_invalid_str(c, NULL, "<secret contents redacted>",
                              "illegal base64 data at input byte %ld", bad);
            else
                total += size;
        } else {
            total += strlen(it->valuestring);
        }
        vp_pop(c, m);
    }
    return total;
}

static void immutable_data(vctx *c, const cJSON *obj, const cJSON *old, bool secret)
{
    if (!old || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(old, "immutable")))
        return;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "immutable")))
        v_forbidden(c, "immutable", "field is immutable when `immutable` is set");
    static const char *const keys[] = {"data", "binaryData"};
    for (int k = 0; k < (secret ? 1 : 2); k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, keys[k]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(old, keys[k]);
        if ((a || b) && (!a || !b || !cJSON_Compare(a, b, true)))
            v_forbidden(c, keys[k], "field is immutable when `immutable` is set");
    }
}

static void configmap(vctx *c, const cJSON *obj, const cJSON *old)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
    const cJSON *bin = cJSON_GetObjectItemCaseSensitive(obj, "binaryData");
    size_t total = data_map(c, obj, "data", false, cJSON_IsObject(bin) ? bin : NULL, "binaryData");
    total += data_map(c, obj, "binaryData", true, NULL, NULL);
    (void)data;
    if (total > MAX_SECRET_SIZE)
        v_toolong(c, "", MAX_SECRET_SIZE);
    bool b;
    v_bool(c, obj, "immutable", &b);
    immutable_data(c, obj, old, false);
}

static void secret(vctx *c, const cJSON *obj, const cJSON *old)
{
    size_t total = data_map(c, obj, "data", true, NULL, NULL);
    if (total > MAX_SECRET_SIZE)
        v_toolong(c, "data", MAX_SECRET_SIZE);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
    const char *type = v_str(c, obj, "type");
#define HAS(k) (cJSON_GetObjectItemCaseSensitive(data, k) != NULL)
    if (!type) {
        /* Opaque, once defaulted. */
    } else if (strcmp(type, "kubernetes.io/service-account-token") == 0) {
        const cJSON *ann = berth_obj_at(obj, "metadata.annotations");
        const char *sa = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, "kubernetes.io/service-account.name"));
        if (!sa || !*sa)
            v_required(c, "metadata.annotations[kubernetes.io/service-account.name]", NULL);
    } else if (strcmp(type, "kubernetes.io/dockercfg") == 0) {
        if (!HAS(".dockercfg"))
            v_required(c, "data[.dockercfg]", NULL);
    } else if (strcmp(type, "kubernetes.io/dockerconfigjson") == 0) {
        if (!HAS(".dockerconfigjson"))
            v_required(c, "data[.dockerconfigjson]", NULL);
    } else if (strcmp(type, "kubernetes.io/basic-auth") == 0) {
        if (!HAS("username") && !HAS("password")) {
            v_required(c, "data[username]", NULL);
            v_required(c, "data[password]", NULL);
        }
    } else if (strcmp(type, "kubernetes.io/ssh-auth") == 0) {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "ssh-privatekey"));
        if (!k || !*k)
            v_required(c, "data[ssh-privatekey]", NULL);
    } else if (strcmp(type, "kubernetes.io/tls") == 0) {
        if (!HAS("tls.crt"))
            v_required(c, "data[tls.crt]", NULL);
        if (!HAS("tls.key"))
            v_required(c, "data[tls.key]", NULL);
    }
#undef HAS
    bool b;
    v_bool(c, obj, "immutable", &b);
    immutable_data(c, obj, old, true);
    if (old) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
        const cJSON *ot = cJSON_GetObjectItemCaseSensitive(old, "type");
        if (t && ot)
            v_immutable(c, "type", t, ot);
    }
}

/* ---- Namespace, Node ---- */

static void namespace_spec(vctx *c, const cJSON *obj)
{
    static const char *const standard[] = {"kubernetes", "orphan", "foregroundDeletion", NULL};
    const cJSON *fins = v_arr(c, v_obj(c, obj, "spec"), "finalizers");
    for (const cJSON *f = fins ? fins->child : NULL; f; f = f->next) {
        const char *s = cJSON_GetStringValue(f);
        if (!s)
            continue;
        size_t before = c->nerr;
        v_label_name(c, "spec.finalizers", s);
        if (c->nerr == before && !strchr(s, '/') && !v_oneof(s, standard))
            v_invalid_str(c, "spec.finalizers", s,
                          "name is neither a standard finalizer name nor is it fully qualified");
    }
}

static void node(vctx *c, const cJSON *obj, const cJSON *old)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    size_t m = vp_child(c, "spec");
    const char *cidr = v_str(c, spec, "podCIDR");
    if (cidr && *cidr && !berth_names_is_cidr(cidr))
        v_invalid_str(c, "podCIDR", cidr, "must be valid CIDR");
    const cJSON *cidrs = v_arr(c, spec, "podCIDRs");
    size_t i = 0;
    for (const cJSON *x = cidrs ? cidrs->child : NULL; x; x = x->next, i++) {
        const char *s = cJSON_GetStringValue(x);
        if (!berth_names_is_cidr(s)) {
            size_t m1 = vp_child(c, "podCIDRs");
            vp_index(c, i);
            v_invalid_str(c, NULL, s ? s : "", "must be valid CIDR");
            vp_pop(c, m1);
        }
    }
    const cJSON *taints = v_arr(c, spec, "taints");
    i = 0;
    for (const cJSON *t = taints ? taints->child : NULL; t; t = t->next, i++) {
        size_t m1 = vp_child(c, "taints");
        vp_index(c, i);
        const char *key = v_str(c, t, "key"), *value = v_str(c, t, "value");
        const char *effect = v_str(c, t, "effect");
        v_label_name(c, "key", key ? key : "");
        const char *msgs[BERTH_NAME_MSGS];
        int n = berth_names_label_value(value ? value : "", msgs);
        if (n)
            v_invalid_str(c, "value", value, "%s%s%s", msgs[0], n > 1 ? ";" : "", n > 1 ? msgs[1] : "");
        if (!effect || !*effect)
            v_required(c, "effect", NULL);
        else
            berth_validate_taint_effect(c, "effect", effect);
        for (const cJSON *u = taints->child; u != t; u = u->next) {
            const char *ukey = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "key"));
            const char *ueff = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "effect"));
            if (ukey && key && ueff && effect && strcmp(ukey, key) == 0 && strcmp(ueff, effect) == 0) {
                v_duplicate_json(c, NULL, t, "taints must be unique by key and effect pair");
                break;
            }
        }
        vp_pop(c, m1);
    }
    if (old) {
        const char *ocidr = berth_obj_str(old, "spec.podCIDR");
        if (ocidr && *ocidr && (!cidr || strcmp(cidr, ocidr) != 0))
            v_forbidden(c, "podCIDR", "node updates may not change podCIDR except from \"\" to valid");
    }
    vp_pop(c, m);
}

/* ---- Volumes and claims ---- */

static void persistent_volume(vctx *c, const cJSON *obj)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    size_t m = vp_child(c, "spec");
    const cJSON *modes = v_arr(c, spec, "accessModes");
    if (!modes || !modes->child)
        v_required(c, "accessModes", NULL);
    berth_validate_access_modes(c, modes);
    const cJSON *cap = v_obj(c, spec, "capacity");
    if (!cap || !cap->child)
        v_required(c, "capacity", NULL);
    const cJSON *storage = cap ? cJSON_GetObjectItemCaseSensitive(cap, "storage") : NULL;
    if (!storage || cJSON_GetArraySize(cap) > 1)
        v_unsupported(c, "capacity", "", (const char *const[]){"storage", NULL});
    for (const cJSON *q = cap ? cap->child : NULL; q; q = q->next) {
        char sub[300];
        snprintf(sub, sizeof sub, "capacity[%s]", q->string);
        berth_validate_positive_quantity(c, sub, q);
    }
    static const char *const reclaim[] = {"Delete", "Recycle", "Retain", NULL};
    const char *rp = v_str(c, spec, "persistentVolumeReclaimPolicy");
    if (rp && *rp && !v_oneof(rp, reclaim))
        v_unsupported(c, "persistentVolumeReclaimPolicy", rp, reclaim);
    static const char *const sources[] = {
        "gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd",
        "quobyte", "cephfs", "iscsi", "cinder", "fc", "flocker", "flexVolume", "azureFile",
        "vsphereVolume", "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO",
        "local", "storageos", "csi", NULL};
    int found = 0;
    for (const char *const *s = sources; *s; s++) {
        if (!v_obj(c, spec, *s))
            continue;
        if (found++)
            v_forbidden(c, *s, "may not specify more than 1 volume type");
    }
    if (!found)
        v_required(c, NULL, "must specify a volume type");
    const cJSON *csi = v_obj(c, spec, "csi");
    if (csi) {
        size_t mc = vp_child(c, "csi");
        static const char *const need[] = {"driver", "volumeHandle"};
        for (size_t i = 0; i < 2; i++) {
            const char *v = v_str(c, csi, need[i]);
            if (!v || !*v)
                v_required(c, need[i], NULL);
        }
        vp_pop(c, mc);
    }
    vp_pop(c, m);
}

static void pvc(vctx *c, const cJSON *obj, const cJSON *old)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    size_t m = vp_child(c, "spec");
    berth_validate_pvc_spec(c, spec);
    const cJSON *ospec = old ? cJSON_GetObjectItemCaseSensitive(old, "spec") : NULL;
    if (cJSON_IsObject(ospec) && spec) {
        /* After creation only the requested size may grow; the binder sets
         * volumeName once. */
        cJSON *a = cJSON_Duplicate(spec, true), *b = cJSON_Duplicate(ospec, true);
        if (a && b) {
            cJSON_DeleteItemFromObjectCaseSensitive(a, "resources");
            cJSON_DeleteItemFromObjectCaseSensitive(b, "resources");
            const char *ovn = berth_obj_str(ospec, "volumeName");
            if (!ovn || !*ovn) {
                cJSON_DeleteItemFromObjectCaseSensitive(a, "volumeName");
                cJSON_DeleteItemFromObjectCaseSensitive(b, "volumeName");
            }
            if (!cJSON_Compare(a, b, true))
                v_forbidden(c, NULL, "spec is immutable after creation except resources.requests "
                                     "and volumeAttributesClassName for bound claims");
        }
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    vp_pop(c, m);
}

/* ---- Event, Lease ---- */

static void event(vctx *c, const cJSON *obj)
{
    const cJSON *io = v_obj(c, obj, "involvedObject");
    if (!io || !io->child) {
        v_required(c, "involvedObject", NULL);
        return;
    }
    const char *ns = berth_obj_namespace(obj);
    const char *ions = v_str(c, io, "namespace");
    if (!ions || !*ions) {
        if (ns && *ns && strcmp(ns, "default") != 0)
            v_invalid_str(c, "involvedObject.namespace", ions ? ions : "",
                          "does not match event.namespace");
    } else if (!ns || strcmp(ns, ions) != 0) {
        v_invalid_str(c, "involvedObject.namespace", ions, "does not match event.namespace");
    }
    static const char *const types[] = {"Normal", "Warning", NULL};
    const char *type = v_str(c, obj, "type");
    if (type && *type && !v_oneof(type, types))
        v_unsupported(c, "type", type, types);
}

static void lease(vctx *c, const cJSON *obj)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    size_t m = vp_child(c, "spec");
    long long v;
    if (v_int(c, spec, "leaseDurationSeconds", &v) && v <= 0)
        v_invalid_int(c, "leaseDurationSeconds", v, "must be greater than 0");
    v_nonneg(c, spec, "leaseTransitions");
    v_str(c, spec, "holderIdentity");
    vp_pop(c, m);
}

void berth_validate_core(vctx *c, const cJSON *obj, const cJSON *old)
{
    const char *kind = c->kind->kind;
    if (strcmp(kind, "ConfigMap") == 0)
        configmap(c, obj, old);
    else if (strcmp(kind, "Secret") == 0)
        secret(c, obj, old);
    else if (strcmp(kind, "Namespace") == 0)
        namespace_spec(c, obj);
    else if (strcmp(kind, "Node") == 0)
        node(c, obj, old);
    else if (strcmp(kind, "PersistentVolume") == 0)
        persistent_volume(c, obj);
    else if (strcmp(kind, "PersistentVolumeClaim") == 0)
        pvc(c, obj, old);
    else if (strcmp(kind, "Event") == 0)
        event(c, obj);
    else if (strcmp(kind, "Lease") == 0)
        lease(c, obj);
    else if (strcmp(kind, "Endpoints") == 0)
        berth_validate_endpoints(c, obj);
    /* ServiceAccount: its metadata is all there is to check. */
}
