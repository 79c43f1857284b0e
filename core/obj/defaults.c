/* Defaulting, per kind, of what Kubernetes' defaulters set: pod policies and
 * container settings (also inside every workload template), rollout
 * strategies, replica counts, history limits, Service ports and types. An
 * empty string counts as unset, as it does for Kubernetes' Go structs. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/validate.h"

typedef struct dctx {
    bool oom;
} dctx;

static bool unset(const cJSON *v)
{
    return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring);
}

static void put(dctx *d, cJSON *obj, const char *key, cJSON *v)
{
    if (!v) {
        d->oom = true;
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v)) {
            cJSON_Delete(v);
            d->oom = true;
        }
    } else if (!cJSON_AddItemToObject(obj, key, v)) {
        cJSON_Delete(v);
        d->oom = true;
    }
}

static void def_str(dctx *d, cJSON *obj, const char *key, const char *value)
{
    if (cJSON_IsObject(obj) && unset(cJSON_GetObjectItemCaseSensitive(obj, key)))
        put(d, obj, key, cJSON_CreateString(value));
}

static void def_num(dctx *d, cJSON *obj, const char *key, double value)
{
    if (cJSON_IsObject(obj) && unset(cJSON_GetObjectItemCaseSensitive(obj, key)))
        put(d, obj, key, cJSON_CreateNumber(value));
}

/* Numbers whose zero means "unset" (probe periods and thresholds). */
static void def_pos(dctx *d, cJSON *obj, const char *key, double value)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(v) && v->valuedouble == 0)
        put(d, obj, key, cJSON_CreateNumber(value));
    else
        def_num(d, obj, key, value);
}

static void def_bool(dctx *d, cJSON *obj, const char *key, bool value)
{
    if (cJSON_IsObject(obj) && unset(cJSON_GetObjectItemCaseSensitive(obj, key)))
        put(d, obj, key, cJSON_CreateBool(value));
}

/* The member object at key, created when absent; NULL when the member has
 * another type (validation reports it). */
static cJSON *child(dctx *d, cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(v))
        return v;
    if (v && !cJSON_IsNull(v))
        return NULL;
    put(d, obj, key, cJSON_CreateObject());
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static cJSON *get(cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

#define EACH(it, arr) for (cJSON *it = cJSON_IsArray(arr) ? (arr)->child : NULL; it; it = it->next)

/* Always for an untagged image or ":latest", IfNotPresent otherwise (a
 * digest pins the image). */
static const char *pull_policy(const char *image)
{
    const char *slash = strrchr(image, '/');
    const char *last = slash ? slash + 1 : image;
    if (strchr(last, '@'))
        return "IfNotPresent";
    const char *colon = strchr(last, ':');
    if (!colon || strcmp(colon + 1, "latest") == 0)
        return "Always";
    return "IfNotPresent";
}

static void handler(dctx *d, cJSON *h)
{
    cJSON *http = get(h, "httpGet");
    if (cJSON_IsObject(http)) {
        def_str(d, http, "path", "/");
        def_str(d, http, "scheme", "HTTP");
    }
}

static void probe(dctx *d, cJSON *p)
{
    if (!cJSON_IsObject(p))
        return;
    def_pos(d, p, "timeoutSeconds", 1);
    def_pos(d, p, "periodSeconds", 10);
    def_pos(d, p, "successThreshold", 1);
    def_pos(d, p, "failureThreshold", 3);
    handler(d, p);
}

static void container(dctx *d, cJSON *ctr, bool host_network)
{
    if (!cJSON_IsObject(ctr))
        return;
    const char *image = cJSON_GetStringValue(get(ctr, "image"));
    if (image && *image)
        def_str(d, ctr, "imagePullPolicy", pull_policy(image));
    def_str(d, ctr, "terminationMessagePath", "/dev/termination-log");
    def_str(d, ctr, "terminationMessagePolicy", "File");
    EACH(p, get(ctr, "ports")) {
        def_str(d, p, "protocol", "TCP");
        /* On the host network a container port is a host port. */
        cJSON *cp = get(p, "containerPort");
        if (host_network && cJSON_IsNumber(cp))
            def_num(d, p, "hostPort", cp->valuedouble);
    }
    probe(d, get(ctr, "livenessProbe"));
    probe(d, get(ctr, "readinessProbe"));
    probe(d, get(ctr, "startupProbe"));
    cJSON *lc = get(ctr, "lifecycle");
    handler(d, get(lc, "postStart"));
    handler(d, get(lc, "preStop"));
    EACH(ev, get(ctr, "env")) {
        cJSON *fr = get(get(ev, "valueFrom"), "fieldRef");
        if (cJSON_IsObject(fr))
            def_str(d, fr, "apiVersion", "v1");
    }
}

static void pod_spec(dctx *d, cJSON *spec)
{
    if (!cJSON_IsObject(spec))
        return;
    def_str(d, spec, "restartPolicy", "Always");
    def_str(d, spec, "dnsPolicy", "ClusterFirst");
    def_str(d, spec, "schedulerName", "default-scheduler");
    def_num(d, spec, "terminationGracePeriodSeconds", 30);
    def_bool(d, spec, "enableServiceLinks", true);
    child(d, spec, "securityContext");
    bool host = cJSON_IsTrue(get(spec, "hostNetwork"));
    EACH(ct, get(spec, "containers"))
        container(d, ct, host);
    EACH(ct, get(spec, "initContainers"))
        container(d, ct, host);
    EACH(v, get(spec, "volumes")) {
        static const char *const moded[] = {"secret", "configMap", "downwardAPI", "projected"};
        for (size_t i = 0; i < sizeof moded / sizeof moded[0]; i++) {
            cJSON *src = get(v, moded[i]);
            if (cJSON_IsObject(src))
                def_num(d, src, "defaultMode", 0644);
        }
    }
}

/* A Pod's containers request what they limit unless told otherwise. */
static void requests_from_limits(dctx *d, cJSON *spec)
{
    static const char *const lists[] = {"containers", "initContainers"};
    for (int k = 0; k < 2; k++) {
        EACH(ct, get(spec, lists[k])) {
            cJSON *res = get(ct, "resources");
            cJSON *lim = get(res, "limits");
            if (!cJSON_IsObject(lim) || !lim->child)
                continue;
            cJSON *req = child(d, res, "requests");
            for (cJSON *l = req ? lim->child : NULL; l; l = l->next)
                if (!get(req, l->string))
                    put(d, req, l->string, cJSON_Duplicate(l, true));
        }
    }
}

static void template(dctx *d, cJSON *spec)
{
    pod_spec(d, get(get(spec, "template"), "spec"));
}

static void deployment(dctx *d, cJSON *spec)
{
    def_num(d, spec, "replicas", 1);
    cJSON *st = child(d, spec, "strategy");
    def_str(d, st, "type", "RollingUpdate");
    const char *type = cJSON_GetStringValue(get(st, "type"));
    if (type && strcmp(type, "RollingUpdate") == 0) {
        cJSON *ru = child(d, st, "rollingUpdate");
        def_str(d, ru, "maxUnavailable", "25%");
        def_str(d, ru, "maxSurge", "25%");
    }
    def_num(d, spec, "revisionHistoryLimit", 10);
    def_num(d, spec, "progressDeadlineSeconds", 600);
    template(d, spec);
}

static void statefulset(dctx *d, cJSON *spec)
{
    def_num(d, spec, "replicas", 1);
    def_str(d, spec, "podManagementPolicy", "OrderedReady");
    cJSON *us = child(d, spec, "updateStrategy");
    def_str(d, us, "type", "RollingUpdate");
    const char *type = cJSON_GetStringValue(get(us, "type"));
    if (type && strcmp(type, "RollingUpdate") == 0)
        def_num(d, child(d, us, "rollingUpdate"), "partition", 0);
    def_num(d, spec, "revisionHistoryLimit", 10);
    cJSON *pol = child(d, spec, "persistentVolumeClaimRetentionPolicy");
    def_str(d, pol, "whenDeleted", "Retain");
    def_str(d, pol, "whenScaled", "Retain");
    EACH(t, get(spec, "volumeClaimTemplates"))
        def_str(d, get(t, "spec"), "volumeMode", "Filesystem");
    template(d, spec);
}

static void daemonset(dctx *d, cJSON *spec)
{
    cJSON *us = child(d, spec, "updateStrategy");
    def_str(d, us, "type", "RollingUpdate");
    const char *type = cJSON_GetStringValue(get(us, "type"));
    if (type && strcmp(type, "RollingUpdate") == 0) {
        cJSON *ru = child(d, us, "rollingUpdate");
        def_num(d, ru, "maxUnavailable", 1);
        def_num(d, ru, "maxSurge", 0);
    }
    def_num(d, spec, "revisionHistoryLimit", 10);
    template(d, spec);
}

static void job(dctx *d, cJSON *spec)
{
    /* Both unset: one pod to completion. Parallelism alone: a work queue,
     * completions stay unset. */
    if (cJSON_IsObject(spec) && unset(get(spec, "completions")) &&
        unset(get(spec, "parallelism")))
        def_num(d, spec, "completions", 1);
    def_num(d, spec, "parallelism", 1);
    def_num(d, spec, "backoffLimit", 6);
    def_str(d, spec, "completionMode", "NonIndexed");
    def_bool(d, spec, "suspend", false);
    template(d, spec);
}

static void cronjob(dctx *d, cJSON *spec)
{
    def_str(d, spec, "concurrencyPolicy", "Allow");
    def_bool(d, spec, "suspend", false);
    def_num(d, spec, "successfulJobsHistoryLimit", 3);
    def_num(d, spec, "failedJobsHistoryLimit", 1);
    template(d, get(get(spec, "jobTemplate"), "spec"));
}

static void service(dctx *d, cJSON *spec)
{
    def_str(d, spec, "type", "ClusterIP");
    def_str(d, spec, "sessionAffinity", "None");
    const char *type = cJSON_GetStringValue(get(spec, "type"));
    if (type && strcmp(type, "ExternalName") != 0)
        def_str(d, spec, "internalTrafficPolicy", "Cluster");
    if (type && (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0))
        def_str(d, spec, "externalTrafficPolicy", "Cluster");
    EACH(p, get(spec, "ports")) {
        def_str(d, p, "protocol", "TCP");
        cJSON *tp = get(p, "targetPort"), *port = get(p, "port");
        if ((unset(tp) || (cJSON_IsNumber(tp) && tp->valuedouble == 0)) && cJSON_IsNumber(port))
            put(d, p, "targetPort", cJSON_CreateNumber(port->valuedouble));
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* stringData is write-only: its entries are merged into data, encoded, and
 * win over data's, as the Kubernetes API server does. */
static void secret(dctx *d, cJSON *obj)
{
    def_str(d, obj, "type", "Opaque");
    cJSON *sd = get(obj, "stringData");
    if (!cJSON_IsObject(sd))
        return;
    cJSON *data = child(d, obj, "data");
    if (!data)
        return;
    for (cJSON *it = sd->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return; /* left for validation to report */
    }
    for (cJSON *it = sd->child; it; it = it->next) {
        char *enc = base64(it->valuestring);
        if (!enc) {
            d->oom = true;
            return;
        }
        put(d, data, it->string, cJSON_CreateString(enc));
        free(enc);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "stringData");
}

int berth_default(const berth_kind *k, cJSON *obj)
{
    if (!k || !cJSON_IsObject(obj))
        return 0;
    dctx d = {0};
    const char *kind = k->kind;
    cJSON *spec = get(obj, "spec");
    if (strcmp(kind, "Pod") == 0) {
        pod_spec(&d, spec);
        requests_from_limits(&d, spec);
    } else if (strcmp(kind, "Deployment") == 0) {
        deployment(&d, spec);
    } else if (strcmp(kind, "ReplicaSet") == 0) {
        def_num(&d, spec, "replicas", 1);
        template(&d, spec);
    } else if (strcmp(kind, "StatefulSet") == 0) {
        statefulset(&d, spec);
    } else if (strcmp(kind, "DaemonSet") == 0) {
        daemonset(&d, spec);
    } else if (strcmp(kind, "Job") == 0) {
        job(&d, spec);
    } else if (strcmp(kind, "CronJob") == 0) {
        cronjob(&d, spec);
    } else if (strcmp(kind, "Service") == 0) {
        service(&d, spec);
    } else if (strcmp(kind, "Secret") == 0) {
        secret(&d, obj);
    } else if (strcmp(kind, "PersistentVolume") == 0) {
        def_str(&d, spec, "persistentVolumeReclaimPolicy", "Retain");
        def_str(&d, spec, "volumeMode", "Filesystem");
    } else if (strcmp(kind, "PersistentVolumeClaim") == 0) {
        def_str(&d, spec, "volumeMode", "Filesystem");
    } else if (strcmp(kind, "Endpoints") == 0) {
        EACH(ss, get(obj, "subsets"))
            EACH(p, get(ss, "ports"))
                def_str(&d, p, "protocol", "TCP");
    }
    return d.oom ? BERTH_ENOMEM : 0;
}
