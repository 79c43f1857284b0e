/* A container's environment and command line, as the kubelet builds them:
 * envFrom first, then env in order (value with $(VAR) references to what is
 * already defined, valueFrom configMapKeyRef / secretKeyRef / fieldRef /
 * resourceFieldRef), then command + args with the same references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/quantity.h"
#include "util/base64.h"

void agent_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

cJSON *agent_object_data(agent_group *g, bool secret, const char *ns, const char *name)
{
    const cJSON *obj = berth_informer_get(secret ? g->secrets : g->configmaps, ns, name);
    if (!obj)
        return NULL;
    cJSON *out = cJSON_CreateObject();
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(obj, "data")) {
        if (!cJSON_IsString(e))
            continue;
        if (!secret) {
            cJSON_AddStringToObject(out, e->string, e->valuestring);
            continue;
        }
        size_t len = 0;
        unsigned char *dec = berth_base64_decode(e->valuestring, strlen(e->valuestring), &len);
        char *buf = dec ? malloc(len + 1) : NULL;
        if (buf) {
            memcpy(buf, dec, len);
            buf[len] = 0;
            cJSON_AddStringToObject(out, e->string, buf);
        }
        free(buf);
        free(dec);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(obj, secret ? "stringData" : "binaryData"))
        if (secret && cJSON_IsString(e))
            cJSON_AddStringToObject(out, e->string, e->valuestring);
    return out;
}

/* A growing list of "KEY=VALUE" strings; a later key replaces an earlier. */
typedef struct envlist {
    char **v;
    size_t n, cap;
} envlist;

static int env_set(envlist *l, const char *key, const char *value)
{
    size_t kl = strlen(key);
    char *s = malloc(kl + strlen(value) + 2);
    if (!s)
        return BERTH_ENOMEM;
    sprintf(s, "%s=%s", key, value);
    for (size_t i = 0; i < l->n; i++)
        if (!strncmp(l->v[i], key, kl) && l->v[i][kl] == '=') {
            free(l->v[i]);
            l->v[i] = s;
            return 0;
        }
    if (l->n + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return BERTH_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static const char *env_get(char *const *env, size_t n, const char *key, size_t kl)
{
    for (size_t i = 0; i < n && env[i]; i++)
        if (!strncmp(env[i], key, kl) && env[i][kl] == '=')
            return env[i] + kl + 1;
    return NULL;
}

/* Expands $(VAR) from env; $$ is a literal $; an unknown reference stays. */
static char *expand(const char *s, char *const *env, size_t n)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = s; *p;) {
        const char *val = NULL;
        size_t skip = 1;
        const char *close;
        if (p[0] == '$' && p[1] == '$') {
            val = "$";
            skip = 2;
        } else if (p[0] == '$' && p[1] == '(' && (close = strchr(p + 2, ')'))) {
            val = env_get(env, n, p + 2, (size_t)(close - p - 2));
            if (val)
                skip = (size_t)(close - p + 1);
        }
        size_t add = val ? strlen(val) : 1;
        if (len + add + 1 > cap) {
            cap = (len + add + 1) * 2;
            char *o = realloc(out, cap);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        if (val)
            memcpy(out + len, val, add);
        else
            out[len] = *p;
        len += add;
        p += skip;
    }
    out[len] = 0;
    return out;
}

static int field_ref(pod_worker *pw, const char *path, char *out, size_t len)
{
    const cJSON *pod = pw->pod;
    char key[256];
    if (sscanf(path, "metadata.labels['%255[^']']", key) == 1 ||
        sscanf(path, "metadata.annotations['%255[^']']", key) == 1) {
        const cJSON *m = berth_obj_at(pod, !strncmp(path, "metadata.labels", 15)
                                               ? "metadata.labels" : "metadata.annotations");
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, key));
        snprintf(out, len, "%s", v ? v : "");
        return 0;
    }
    if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs")) {
        snprintf(out, len, "%s", pw->node->ip);
        return 0;
    }
    if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs")) {
        snprintf(out, len, "%s", agent_pod_ip(pw));
        return 0;
    }
    static const char *const ok[] = {"metadata.name", "metadata.namespace", "metadata.uid",
                                     "spec.nodeName", "spec.serviceAccountName"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(path, ok[i])) {
            const char *v = berth_obj_str(pod, path);
            snprintf(out, len, "%s", v ? v : "");
            return 0;
        }
    return BERTH_EINVAL;
}

static int resource_ref(pod_worker *pw, const cJSON *cspec, const cJSON *ref, char *out,
                        size_t len)
{
    const char *res = berth_obj_str(ref, "resource");
    const char *cname = berth_obj_str(ref, "containerName");
    if (cname && *cname) {
        const cJSON *cs = NULL;
        for (size_t i = 0; i < pw->nctrs; i++)
            if (!strcmp(pw->ctrs[i].name, cname))
                cs = agent_pod_ctr_spec(pw, &pw->ctrs[i]);
        cspec = cs ? cs : cspec;
    }
    if (!res)
        return BERTH_EINVAL;
    char path[128];
    snprintf(path, sizeof path, "resources.%s", res);
    const char *q = berth_obj_str(cspec, path);
    bool cpu = strstr(res, "cpu") != NULL;
    int64_t milli = 0;
    if (q)
        berth_quantity_parse_milli(q, &milli);
    else if (!strncmp(res, "limits.", 7)) /* no limit: the node's allocatable */
        milli = cpu ? (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000
                    : (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) * 1000;
    int64_t div = cpu ? 1 : 1000;
    const char *d = berth_obj_str(ref, "divisor");
    if (d && berth_quantity_parse_milli(d, &div) == 0 && div > 0)
        ;
    else
        div = 1000;
    int64_t v = (milli + div - 1) / div; /* rounds up, as the kubelet does */
    snprintf(out, len, "%lld", (long long)v);
    return 0;
}

int agent_container_env(pod_worker *pw, const cJSON *cspec, char ***envp, char *msg,
                        size_t msglen)
{
    envlist l = {0};
    int err = env_set(&l, "PATH", DEFAULT_PATH + 5);
    const char *hostname = pw->name;
    if (!err)
        err = env_set(&l, "HOSTNAME", hostname);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cspec, "envFrom")) {
        if (err)
            break;
        bool secret = cJSON_GetObjectItemCaseSensitive(e, "secretRef") != NULL;
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(e, secret ? "secretRef" : "configMapRef");
        const char *name = berth_obj_str(ref, "name");
        const char *prefix = berth_obj_str(e, "prefix");
        cJSON *data = name ? agent_object_data(pw->node->g, secret, pw->ns, name) : NULL;
        if (!data) {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "optional")))
                continue;
            snprintf(msg, msglen, "%s \"%s\" not found", secret ? "secret" : "configmap",
                     name ? name : "");
            err = BERTH_ENOTFOUND;
            break;
        }
        const cJSON *kv;
        cJSON_ArrayForEach(kv, data) {
            char key[512];
            snprintf(key, sizeof key, "%s%s", prefix ? prefix : "", kv->string);
            if ((err = env_set(&l, key, kv->valuestring)) != 0)
                break;
        }
        cJSON_Delete(data);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cspec, "env")) {
        if (err)
            break;
        const char *name = berth_obj_str(e, "name");
        if (!name)
            continue;
        const cJSON *vf = cJSON_GetObjectItemCaseSensitive(e, "valueFrom");
        if (!vf) {
            const char *v = berth_obj_str(e, "value");
            char *x = expand(v ? v : "", l.v, l.n);
            err = x ? env_set(&l, name, x) : BERTH_ENOMEM;
            free(x);
            continue;
        }
        char buf[512];
        const cJSON *ref;
        if ((ref = cJSON_GetObjectItemCaseSensitive(vf, "fieldRef"))) {
            const char *path = berth_obj_str(ref, "fieldPath");
            if (!path || field_ref(pw, path, buf, sizeof buf) != 0) {
                snprintf(msg, msglen, "env %s: unsupported fieldRef %s", name, path ? path : "");
                err = BERTH_EINVAL;
                break;
            }
            err = env_set(&l, name, buf);
        } else if ((ref = cJSON_GetObjectItemCaseSensitive(vf, "resourceFieldRef"))) {
            if (resource_ref(pw, cspec, ref, buf, sizeof buf) != 0) {
                snprintf(msg, msglen, "env %s: resourceFieldRef names no resource", name);
                err = BERTH_EINVAL;
                break;
            }
            err = env_set(&l, name, buf);
        } else {
            bool secret = cJSON_GetObjectItemCaseSensitive(vf, "secretKeyRef") != NULL;
            ref = cJSON_GetObjectItemCaseSensitive(vf, secret ? "secretKeyRef" : "configMapKeyRef");
            const char *on = berth_obj_str(ref, "name"), *key = berth_obj_str(ref, "key");
            bool optional = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "optional"));
            cJSON *data = on ? agent_object_data(pw->node->g, secret, pw->ns, on) : NULL;
            const char *v = data && key ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, key)) : NULL;
            if (v)
                err = env_set(&l, name, v);
            else if (!optional) {
                if (!data)
                    snprintf(msg, msglen, "%s \"%s\" not found", secret ? "secret" : "configmap",
                             on ? on : "");
                else
                    snprintf(msg, msglen, "couldn't find key %s in %s %s/%s", key ? key : "",
                             secret ? "Secret" : "ConfigMap", pw->ns, on);
                err = BERTH_ENOTFOUND;
            }
            cJSON_Delete(data);
        }
    }
    if (err) {
        if (l.v)
            l.v[l.n] = NULL;
        agent_strv_free(l.v);
        if (err == BERTH_ENOMEM)
            snprintf(msg, msglen, "out of memory");
        return err;
    }
    if (!l.v && !(l.v = calloc(1, sizeof *l.v)))
        return BERTH_ENOMEM;
    l.v[l.n] = NULL;
    *envp = l.v;
    return 0;
}

int agent_container_argv(const cJSON *cspec, char *const *env, char ***argvp, char *msg,
                         size_t msglen)
{
    size_t n = 0, nenv = 0;
    while (env && env[nenv])
        nenv++;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(cspec, "command");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(cspec, "args");
    size_t total = (size_t)cJSON_GetArraySize(cmd) + (size_t)cJSON_GetArraySize(args);
    if (!total) {
        snprintf(msg, msglen, "no command specified: the image has no entrypoint, so the "
                              "container needs command or args");
        return BERTH_EINVAL;
    }
    char **argv = calloc(total + 1, sizeof *argv);
    if (!argv)
        return BERTH_ENOMEM;
    const cJSON *lists[2] = {cmd, args}, *s;
    for (int i = 0; i < 2; i++)
        cJSON_ArrayForEach(s, lists[i]) {
            if (!cJSON_IsString(s))
                continue;
            if (!(argv[n] = expand(s->valuestring, env, nenv))) {
                agent_strv_free(argv);
                return BERTH_ENOMEM;
            }
            n++;
        }
    *argvp = argv;
    return 0;
}
