/* The registry of served kinds: one static table, looked up by Kind, by
 * REST resource, or by any name a user types. */
#include <string.h>
#include <strings.h>

#include "berth/object.h"

#define S BERTH_SUB_STATUS
#define SC BERTH_SUB_SCALE

static const berth_kind kinds[] = {
    {"Namespace", "", "v1", "v1", "namespaces", "namespace", {"ns"}, false, false,
     S | BERTH_SUB_FINALIZE},
    {"Node", "", "v1", "v1", "nodes", "node", {"no"}, false, false, S},
    {"Pod", "", "v1", "v1", "pods", "pod", {"po"}, true, true,
     S | BERTH_SUB_BINDING | BERTH_SUB_LOG | BERTH_SUB_EXEC},
    {"Service", "", "v1", "v1", "services", "service", {"svc"}, true, true, S},
    {"Endpoints", "", "v1", "v1", "endpoints", "endpoints", {"ep"}, true, false, 0},
    {"ConfigMap", "", "v1", "v1", "configmaps", "configmap", {"cm"}, true, false, 0},
    {"Secret", "", "v1", "v1", "secrets", "secret", {NULL}, true, false, 0},
    {"ServiceAccount", "", "v1", "v1", "serviceaccounts", "serviceaccount", {"sa"},
     true, false, 0},
    {"PersistentVolume", "", "v1", "v1", "persistentvolumes", "persistentvolume",
     {"pv"}, false, false, S},
    {"PersistentVolumeClaim", "", "v1", "v1", "persistentvolumeclaims",
     "persistentvolumeclaim", {"pvc"}, true, false, S},
    {"Event", "", "v1", "v1", "events", "event", {"ev"}, true, false, 0},
    {"Lease", "coordination.k8s.io", "v1", "coordination.k8s.io/v1", "leases", "lease",
     {NULL}, true, false, 0},
    {"Deployment", "apps", "v1", "apps/v1", "deployments", "deployment", {"deploy"},
     true, true, S | SC},
    {"ReplicaSet", "apps", "v1", "apps/v1", "replicasets", "replicaset", {"rs"}, true,
     true, S | SC},
    {"StatefulSet", "apps", "v1", "apps/v1", "statefulsets", "statefulset", {"sts"},
     true, true, S | SC},
    {"DaemonSet", "apps", "v1", "apps/v1", "daemonsets", "daemonset", {"ds"}, true,
     true, S},
    {"Job", "batch", "v1", "batch/v1", "jobs", "job", {NULL}, true, true, S},
    {"CronJob", "batch", "v1", "batch/v1", "cronjobs", "cronjob", {"cj"}, true, true,
     S},
};

#undef S
#undef SC

size_t berth_kind_count(void)
{
    return sizeof kinds / sizeof kinds[0];
}

const berth_kind *berth_kind_at(size_t i)
{
    return i < berth_kind_count() ? &kinds[i] : NULL;
}

const berth_kind *berth_kind_find(const char *api_version, const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < berth_kind_count(); i++) {
        if (strcmp(kinds[i].kind, kind) != 0)
            continue;
        if (api_version && strcmp(kinds[i].api_version, api_version) != 0)
            return NULL;
        return &kinds[i];
    }
    return NULL;
}

const berth_kind *berth_kind_by_resource(const char *group, const char *resource)
{
    if (!resource)
        return NULL;
    if (!group)
        group = "";
    for (size_t i = 0; i < berth_kind_count(); i++)
        if (strcmp(kinds[i].resource, resource) == 0 &&
            strcmp(kinds[i].group, group) == 0)
            return &kinds[i];
    return NULL;
}

static int names_kind(const berth_kind *k, const char *name, size_t len)
{
    const char *cands[] = {k->resource, k->singular, k->kind, k->short_names[0],
                           k->short_names[1], k->short_names[2]};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (cands[i] && strlen(cands[i]) == len && strncasecmp(cands[i], name, len) == 0)
            return 1;
    return 0;
}

const berth_kind *berth_kind_lookup(const char *name)
{
    if (!name || !*name)
        return NULL;
    /* "deployments.apps" and "deployments.v1.apps" qualify the group. */
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    const char *group = NULL;
    if (dot) {
        group = dot + 1;
        const char *rest = strchr(group, '.');
        if (rest && group[0] == 'v' && group[1] >= '0' && group[1] <= '9')
            group = rest + 1; /* skip the version */
        if (strcmp(group, "core") == 0)
            group = "";
    }
    for (size_t i = 0; i < berth_kind_count(); i++) {
        if (group && strcasecmp(kinds[i].group, group) != 0)
            continue;
        if (names_kind(&kinds[i], name, len))
            return &kinds[i];
    }
    return NULL;
}

const berth_kind *berth_kind_of(const cJSON *obj)
{
    return berth_kind_find(berth_obj_str(obj, "apiVersion"), berth_obj_str(obj, "kind"));
}
