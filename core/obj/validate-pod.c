/* PodSpec and PodTemplateSpec: containers, ports, environment, probes,
 * mounts and the pod-level policies, as Kubernetes' ValidatePodSpec checks
 * them. Used at spec for Pods and under every workload's template. */
#include <string.h>

#include "validate-int.h"

static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};

static void container_ports(vctx *c, const cJSON *ports)
{
    size_t i = 0;
    for (const cJSON *p = ports ? ports->child : NULL; p; p = p->next, i++) {
        size_t m = vp_index(c, i);
        const char *name = v_str(c, p, "name");
        if (name && *name) {
            const char *msgs[BERTH_NAME_MSGS];
            int n = berth_names_port_name(name, msgs);
            for (int k = 0; k < n; k++)
                v_invalid_str(c, "name", name, "%s", msgs[k]);
            if (!n) {
                for (const cJSON *q = ports->child; q != p; q = q->next) {
                    const char *other = cJSON_GetStringValue(
                        cJSON_GetObjectItemCaseSensitive(q, "name"));
                    if (other && strcmp(other, name) == 0) {
                        v_duplicate_str(c, "name", name);
                        break;
                    }
                }
            }
        }
        long long port = 0;
        const cJSON *cp = cJSON_GetObjectItemCaseSensitive(p, "containerPort");
        bool has = v_int(c, p, "containerPort", &port);
        if ((has && port == 0) || !cp || cJSON_IsNull(cp))
            v_required(c, "containerPort", NULL);
        else if (has)
            v_port_num(c, "containerPort", port);
        if (v_int(c, p, "hostPort", &port) && port != 0)
            v_port_num(c, "hostPort", port);
        const char *proto = v_str(c, p, "protocol");
        if (proto && !v_oneof(proto, protocols))
            v_unsupported(c, "protocol", proto, protocols);
        vp_pop(c, m);
    }
}

static const char *const env_field_paths[] = {
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
    "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
    "status.hostIPs", "status.podIP", "status.podIPs", NULL};
static const char *const env_resource_paths[] = {
    "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
    "requests.ephemeral-storage", "requests.memory", NULL};

static void key_selector(vctx *c, const cJSON *sel)
{
    const char *msgs[BERTH_NAME_MSGS];
    const char *name = v_str(c, sel, "name");
    if (name && *name) {
        int n = berth_names_dns1123_subdomain(name, msgs);
        for (int k = 0; k < n; k++)
            v_invalid_str(c, "name", name, "%s", msgs[k]);
    }
    const char *key = v_str(c, sel, "key");
    if (!key || !*key) {
        v_required(c, "key", NULL);
    } else {
        int n = berth_names_config_key(key, msgs);
        for (int k = 0; k < n; k++)
            v_invalid_str(c, "key", key, "%s", msgs[k]);
    }
}

static void env_value_from(vctx *c, const cJSON *ev, const cJSON *from)
{
    int sources = 0;
    const cJSON *f;
    if ((f = v_obj(c, from, "fieldRef"))) {
        sources++;
        size_t m = vp_child(c, "fieldRef");
        const char *path = v_str(c, f, "fieldPath");
        if (!path || !*path) {
            v_required(c, "fieldPath", NULL);
        } else {
            /* metadata.labels['key'] and metadata.annotations['key'] name
             * one entry of a map. */
            char base[64];
            const char *br = strchr(path, '[');
            size_t blen = br ? (size_t)(br - path) : strlen(path);
            if (blen >= sizeof base)
                blen = sizeof base - 1;
            memcpy(base, path, blen);
            base[blen] = 0;
            if (br && strcmp(base, "metadata.labels") != 0 &&
                strcmp(base, "metadata.annotations") != 0)
                v_invalid_str(c, "fieldPath", path, "error converting fieldPath: field label not supported: %s", path);
            else if (!v_oneof(base, env_field_paths) ||
                     (!br && (strcmp(base, "metadata.labels") == 0 ||
                              strcmp(base, "metadata.annotations") == 0)))
                v_unsupported(c, "fieldPath", path, env_field_paths);
        }
        vp_pop(c, m);
    }
    if ((f = v_obj(c, from, "resourceFieldRef"))) {
        sources++;
        size_t m = vp_child(c, "resourceFieldRef");
        const char *res = v_str(c, f, "resource");
        if (!res || !*res)
            v_required(c, "resource", NULL);
        else if (!v_oneof(res, env_resource_paths))
            v_unsupported(c, "resource", res, env_resource_paths);
        vp_pop(c, m);
    }
    if ((f = v_obj(c, from, "configMapKeyRef"))) {
        sources++;
        size_t m = vp_child(c, "configMapKeyRef");
        key_selector(c, f);
        vp_pop(c, m);
    }
    if ((f = v_obj(c, from, "secretKeyRef"))) {
        sources++;
        size_t m = vp_child(c, "secretKeyRef");
        key_selector(c, f);
        vp_pop(c, m);
    }
    const char *value = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "value"));
    if (sources == 0)
        v_invalid_str(c, NULL, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                   "`configMapKeyRef` or `secretKeyRef`");
    else if (value && *value)
        v_invalid_str(c, NULL, "", "may not be specified when `value` is not empty");
    else if (sources > 1)
        v_invalid_str(c, NULL, "", "may not have more than one field specified at a time");
}

static void env(vctx *c, const cJSON *vars)
{
    size_t i = 0;
    for (const cJSON *ev = vars ? vars->child : NULL; ev; ev = ev->next, i++) {
        size_t m = vp_index(c, i);
        const char *name = v_str(c, ev, "name");
        if (!name || !*name) {
            v_required(c, "name", NULL);
        } else {
            const char *msgs[BERTH_NAME_MSGS];
            int n = berth_names_env_var(name, msgs);
            for (int k = 0; k < n; k++)
                v_invalid_str(c, "name", name, "%s", msgs[k]);
        }
        v_str(c, ev, "value");
        const cJSON *from = v_obj(c, ev, "valueFrom");
        if (from) {
            size_t m1 = vp_child(c, "valueFrom");
            env_value_from(c, ev, from);
            vp_pop(c, m1);
        }
        vp_pop(c, m);
    }
}

static void env_from(vctx *c, const cJSON *list)
{
    size_t i = 0;
    for (const cJSON *e = list ? list->child : NULL; e; e = e->next, i++) {
        size_t m = vp_index(c, i);
        const char *prefix = v_str(c, e, "prefix");
        if (prefix && *prefix) {
            const char *msgs[BERTH_NAME_MSGS];
            int n = berth_names_env_var(prefix, msgs);
            for (int k = 0; k < n; k++)
                v_invalid_str(c, "prefix", prefix, "%s", msgs[k]);
        }
        const cJSON *cm = v_obj(c, e, "configMapRef"), *sec = v_obj(c, e, "secretRef");
        if (!cm && !sec)
            v_invalid_str(c, NULL, "", "must specify one of: `configMapRef` or `secretRef`");
        else if (cm && sec)
            v_invalid_str(c, NULL, "", "may not have more than one field specified at a time");
        const cJSON *ref = cm ? cm : sec;
        const char *name = v_str(c, ref, "name");
        if (name && *name) {
            size_t m1 = vp_child(c, cm ? "configMapRef" : "secretRef");
            v_dns1123_subdomain(c, "name", name);
            vp_pop(c, m1);
        }
        vp_pop(c, m);
    }
}

/* One handler of a probe or lifecycle hook: exactly one action. */
static void handler(vctx *c, const cJSON *h, bool allow_sleep)
{
    static const char *const kinds[] = {"exec", "httpGet", "tcpSocket", "grpc", "sleep"};
    int found = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (k == 4 && !allow_sleep)
            continue;
        const cJSON *a = v_obj(c, h, kinds[k]);
        if (!a)
            continue;
        if (found++) {
            v_forbidden(c, kinds[k], "may not specify more than 1 handler type");
            continue;
        }
        size_t m = vp_child(c, kinds[k]);
        long long n;
        switch (k) {
        case 0: {
            const cJSON *cmd = v_arr(c, a, "command");
            if (!cmd || cJSON_GetArraySize(cmd) == 0)
                v_required(c, "command", NULL);
            break;
        }
        case 1: {
            static const char *const schemes[] = {"HTTP", "HTTPS", NULL};
            const char *scheme = v_str(c, a, "scheme");
            const char *path = v_str(c, a, "path");
            (void)path;
            v_port_num_or_name(c, "port", cJSON_GetObjectItemCaseSensitive(a, "port"));
            if (scheme && *scheme && !v_oneof(scheme, schemes))
                v_unsupported(c, "scheme", scheme, schemes);
            break;
        }
        case 2:
            v_port_num_or_name(c, "port", cJSON_GetObjectItemCaseSensitive(a, "port"));
            break;
        case 3:
            if (!v_int(c, a, "port", &n))
                n = 0;
            v_port_num(c, "port", n);
            break;
        case 4:
            if (v_int(c, a, "seconds", &n) && n < 0)
                v_invalid_int(c, "seconds", n, NONNEG_MSG);
            break;
        }
        vp_pop(c, m);
    }
    if (!found)
        v_required(c, NULL, "must specify a handler type");
}

/* A probe; success_one holds liveness and startup probes to a success
 * threshold of 1. Zero means "unset" (the defaults fill it in). */
static void probe(vctx *c, const cJSON *ctr, const char *key, bool success_one)
{
    const cJSON *p = v_obj(c, ctr, key);
    if (!p)
        return;
    size_t m = vp_child(c, key);
    handler(c, p, false);
    static const char *const fields[] = {"initialDelaySeconds", "timeoutSeconds",
                                         "periodSeconds", "successThreshold",
                                         "failureThreshold"};
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        v_nonneg(c, p, fields[k]);
    long long v;
    if (success_one && v_int(c, p, "successThreshold", &v) && v != 1 && v > 0)
        v_invalid_int(c, "successThreshold", v, "must be 1");
    if (v_int(c, p, "terminationGracePeriodSeconds", &v) && v <= 0)
        v_invalid_int(c, "terminationGracePeriodSeconds", v, "must be greater than 0");
    vp_pop(c, m);
}

static bool volume_named(vctx *c, const cJSON *vols, const char *name)
{
    for (const cJSON *v = vols ? vols->child : NULL; v; v = v->next) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    const cJSON *t = cJSON_IsArray(c->claim_templates) ? c->claim_templates->child : NULL;
    for (; t; t = t->next) {
        const char *n = berth_obj_str(t, "metadata.name");
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

static void volume_mounts(vctx *c, const cJSON *mounts)
{
    const cJSON *vols = c->volumes;
    size_t i = 0;
    for (const cJSON *mt = mounts ? mounts->child : NULL; mt; mt = mt->next, i++) {
        size_t m = vp_index(c, i);
        const char *name = v_str(c, mt, "name");
        if (!name || !*name)
            v_required(c, "name", NULL);
        if (!volume_named(c, vols, name ? name : ""))
            v_notfound_str(c, "name", name ? name : "");
        const char *path = v_str(c, mt, "mountPath");
        if (!path || !*path) {
            v_required(c, "mountPath", NULL);
        } else {
            if (path[0] != '/')
                v_invalid_str(c, "mountPath", path, "must be an absolute path");
            for (const cJSON *q = mounts->child; q != mt; q = q->next) {
                const char *other =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "mountPath"));
                if (other && strcmp(other, path) == 0) {
                    v_invalid_str(c, "mountPath", path, "must be unique");
                    break;
                }
            }
        }
        const char *sub = v_str(c, mt, "subPath");
        if (sub && *sub) {
            if (sub[0] == '/')
                v_invalid_str(c, "subPath", sub, "must be a relative path");
            for (const char *p = sub; (p = strstr(p, "..")); p += 2)
                if ((p == sub || p[-1] == '/') && (p[2] == 0 || p[2] == '/')) {
                    v_invalid_str(c, "subPath", sub, "must not contain '..'");
                    break;
                }
        }
        vp_pop(c, m);
    }
}

static void hook(vctx *c, const cJSON *h)
{
    handler(c, h, true);
}

static void lifecycle(vctx *c, const cJSON *lc)
{
    v_member(c, lc, "postStart", V_OBJ, false, hook);
    v_member(c, lc, "preStop", V_OBJ, false, hook);
}

static void container(vctx *c, const cJSON *ctr, bool init)
{
    const char *name = v_str(c, ctr, "name");
    if (!name || !*name)
        v_required(c, "name", NULL);
    else
        v_dns1123_label(c, "name", name);
    const char *image = v_str(c, ctr, "image");
    if (!image || !*image)
        v_required(c, "image", NULL);
    static const char *const tmp[] = {"File", "FallbackToLogsOnError", NULL};
    const char *policy = v_str(c, ctr, "terminationMessagePolicy");
    if (policy && *policy && !v_oneof(policy, tmp))
        v_unsupported(c, "terminationMessagePolicy", policy, tmp);
    v_member(c, ctr, "ports", V_ARR, true, container_ports);
    v_member(c, ctr, "env", V_ARR, true, env);
    v_member(c, ctr, "envFrom", V_ARR, true, env_from);
    v_member(c, ctr, "volumeMounts", V_ARR, true, volume_mounts);
    static const char *const pulls[] = {"Always", "IfNotPresent", "Never", NULL};
    const char *pull = v_str(c, ctr, "imagePullPolicy");
    if (pull && *pull && !v_oneof(pull, pulls))
        v_unsupported(c, "imagePullPolicy", pull, pulls);
    v_member(c, ctr, "resources", V_OBJ, true, berth_validate_resources);
    v_member(c, ctr, "lifecycle", V_OBJ, false, lifecycle);
    if (init) {
        /* Probes belong to containers that keep running. */
        static const char *const probes[] = {"livenessProbe", "readinessProbe", "startupProbe"};
        const char *rp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctr, "restartPolicy"));
        bool sidecar = rp && strcmp(rp, "Always") == 0;
        for (size_t k = 0; k < 3; k++) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(ctr, probes[k]);
            if (p && !cJSON_IsNull(p) && (!sidecar || k == 1))
                v_forbidden(c, probes[k], "may not be set for init containers without restartPolicy=Always");
        }
        if (rp && !sidecar)
            v_unsupported(c, "restartPolicy", rp, (const char *const[]){"Always", NULL});
        if (sidecar) {
            probe(c, ctr, "livenessProbe", true);
            probe(c, ctr, "startupProbe", true);
        }
    } else {
        probe(c, ctr, "livenessProbe", true);
        probe(c, ctr, "readinessProbe", false);
        probe(c, ctr, "startupProbe", true);
        if (cJSON_GetObjectItemCaseSensitive(ctr, "restartPolicy"))
            v_forbidden(c, "restartPolicy", "may not be set for non-init containers");
    }
}

static bool name_in(const cJSON *list, const cJSON *stop, const char *name)
{
    for (const cJSON *q = list ? list->child : NULL; q && q != stop; q = q->next) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

void berth_validate_containers(vctx *c, const cJSON *spec, const cJSON *vols)
{
    c->volumes = vols;
    const cJSON *ctrs = v_arr(c, spec, "containers");
    const cJSON *inits = v_arr(c, spec, "initContainers");
    size_t m = vp_child(c, "containers");
    if (!ctrs || !ctrs->child)
        v_required(c, NULL, NULL);
    size_t i = 0;
    for (const cJSON *ct = ctrs ? ctrs->child : NULL; ct; ct = ct->next, i++) {
        size_t m1 = vp_index(c, i);
        if (!cJSON_IsObject(ct)) {
            v_invalid_json(c, NULL, ct, "must be an object");
        } else {
            container(c, ct, false);
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "name"));
            if (name && *name && name_in(ctrs, ct, name))
                v_duplicate_str(c, "name", name);
        }
        vp_pop(c, m1);
    }
    vp_pop(c, m);
    m = vp_child(c, "initContainers");
    i = 0;
    for (const cJSON *ct = inits ? inits->child : NULL; ct; ct = ct->next, i++) {
        size_t m1 = vp_index(c, i);
        if (!cJSON_IsObject(ct)) {
            v_invalid_json(c, NULL, ct, "must be an object");
        } else {
            container(c, ct, true);
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "name"));
            if (name && *name && (name_in(ctrs, NULL, name) || name_in(inits, ct, name)))
                v_duplicate_str(c, "name", name);
        }
        vp_pop(c, m1);
    }
    vp_pop(c, m);
}

static const char *const restart_policies[] = {"Always", "OnFailure", "Never", NULL};
static const char *const dns_policies[] = {"ClusterFirstWithHostNet", "ClusterFirst",
                                           "Default", "None", NULL};

void berth_validate_pod_spec(vctx *c, const cJSON *spec)
{
    if (!spec)
        spec = &berth_v_empty;
    v_member(c, spec, "volumes", V_ARR, true, berth_validate_volumes);
    berth_validate_containers(c, spec, cJSON_GetObjectItemCaseSensitive(spec, "volumes"));
    const char *rp = v_str(c, spec, "restartPolicy");
    if (rp && *rp && !v_oneof(rp, restart_policies))
        v_unsupported(c, "restartPolicy", rp, restart_policies);
    const char *dns = v_str(c, spec, "dnsPolicy");
    if (dns && *dns && !v_oneof(dns, dns_policies))
        v_unsupported(c, "dnsPolicy", dns, dns_policies);
    if (dns && strcmp(dns, "None") == 0 && !v_obj(c, spec, "dnsConfig"))
        v_required(c, "dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None");
    v_member(c, spec, "nodeSelector", V_MAP, true, v_labels);
    v_member(c, spec, "affinity", V_OBJ, false, berth_validate_affinity);
    const char *sa = v_str(c, spec, "serviceAccountName");
    if (sa && *sa)
        v_dns1123_subdomain(c, "serviceAccountName", sa);
    const char *node = v_str(c, spec, "nodeName");
    if (node && *node)
        v_dns1123_subdomain(c, "nodeName", node);
    long long v;
    if (v_int(c, spec, "activeDeadlineSeconds", &v) && (v < 1 || v > 2147483647))
        v_invalid_int(c, "activeDeadlineSeconds", v, "must be between 1 and 2147483647, inclusive");
    const char *host = v_str(c, spec, "hostname");
    if (host && *host)
        v_dns1123_label(c, "hostname", host);
    const char *subd = v_str(c, spec, "subdomain");
    if (subd && *subd)
        v_dns1123_label(c, "subdomain", subd);
    v_member(c, spec, "tolerations", V_ARR, true, berth_validate_tolerations);
    v_nonneg(c, spec, "terminationGracePeriodSeconds");
}

static void template_meta(vctx *c, const cJSON *meta)
{
    v_member(c, meta, "labels", V_MAP, true, v_labels);
    v_member(c, meta, "annotations", V_MAP, true, v_annotations);
}

void berth_validate_pod_template(vctx *c, const cJSON *tmpl)
{
    if (!tmpl) {
        v_required(c, NULL, NULL);
        return;
    }
    v_member(c, tmpl, "metadata", V_OBJ, false, template_meta);
    v_member(c, tmpl, "spec", V_OBJ, true, berth_validate_pod_spec);
}

const cJSON *berth_validate_template_of(vctx *c, const cJSON *spec)
{
    const cJSON *tmpl = v_obj(c, spec, "template");
    size_t m = vp_child(c, "template");
    berth_validate_pod_template(c, tmpl);
    vp_pop(c, m);
    return cJSON_GetObjectItemCaseSensitive(tmpl, "spec");
}
