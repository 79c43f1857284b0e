/* Where strategic merge patch merges lists instead of replacing them: the
 * patchStrategy:"merge" / patchMergeKey tags of the Kubernetes types
 * (k8s.io/api core/v1, apps/v1, batch/v1 and metav1.ObjectMeta), as a small
 * static tree. Only tagged lists and the objects leading to them appear;
 * every other list is atomic and is replaced. Lists Kubernetes leaves
 * untagged stay out on purpose: tolerations, envFrom, node taints, container
 * statuses, volumeClaimTemplates. */
#include <string.h>

#include "berth/object.h"
#include "obj/patch-util.h"

#define END {NULL, NULL, NULL}

/* metav1.ObjectMeta. */
static const patch_field object_meta[] = {
    {"finalizers", "", NULL},
    {"ownerReferences", "uid", NULL},
    END,
};

/* core/v1 Container and EphemeralContainerCommon carry the same tags. */
static const patch_field container[] = {
    {"ports", "containerPort", NULL},
    {"env", "name", NULL},
    {"volumeMounts", "mountPath", NULL},
    {"volumeDevices", "devicePath", NULL},
    END,
};

static const patch_field pod_spec[] = {
    {"containers", "name", container},
    {"initContainers", "name", container},
    {"ephemeralContainers", "name", container},
    {"volumes", "name", NULL}, /* merge,retainKeys */
    {"imagePullSecrets", "name", NULL},
    {"hostAliases", "ip", NULL},
    {"topologySpreadConstraints", "topologyKey", NULL},
    {"schedulingGates", "name", NULL},
    {"resourceClaims", "name", NULL}, /* merge,retainKeys */
    END,
};

static const patch_field pod_status[] = {
    {"conditions", "type", NULL},
    {"podIPs", "ip", NULL},
    {"hostIPs", "ip", NULL},
    END,
};

static const patch_field pod[] = {
    {"metadata", NULL, object_meta},
    {"spec", NULL, pod_spec},
    {"status", NULL, pod_status},
    END,
};

static const patch_field pod_template[] = {
    {"metadata", NULL, object_meta},
    {"spec", NULL, pod_spec},
    END,
};

/* Deployment, ReplicaSet, StatefulSet, DaemonSet and Job specs hold a pod
 * template; their statuses (and Namespace's, PVC's, Service's) hold
 * conditions merged by type. */
static const patch_field template_spec[] = {
    {"template", NULL, pod_template},
    END,
};

static const patch_field conditions_status[] = {
    {"conditions", "type", NULL},
    END,
};

static const patch_field workload[] = {
    {"metadata", NULL, object_meta},
    {"spec", NULL, template_spec},
    {"status", NULL, conditions_status},
    END,
};

static const patch_field job_template[] = {
    {"metadata", NULL, object_meta},
    {"spec", NULL, template_spec},
    END,
};

static const patch_field cronjob_spec[] = {
    {"jobTemplate", NULL, job_template},
    END,
};

static const patch_field cronjob[] = {
    {"metadata", NULL, object_meta},
    {"spec", NULL, cronjob_spec},
    END,
};

static const patch_field service_spec[] = {
    {"ports", "port", NULL},
    END,
};

static const patch_field service[] = {
    {"metadata", NULL, object_meta},
    {"spec", NULL, service_spec},
    {"status", NULL, conditions_status},
    END,
};

static const patch_field node_status[] = {
    {"conditions", "type", NULL},
    {"addresses", "type", NULL},
    END,
};

static const patch_field node[] = {
    {"metadata", NULL, object_meta},
    {"status", NULL, node_status},
    END,
};

static const patch_field service_account[] = {
    {"metadata", NULL, object_meta},
    {"secrets", "name", NULL},
    END,
};

static const patch_field with_conditions[] = {
    {"metadata", NULL, object_meta},
    {"status", NULL, conditions_status},
    END,
};

/* ConfigMap, Secret, Endpoints, Event, Lease, PersistentVolume. */
static const patch_field meta_only[] = {
    {"metadata", NULL, object_meta},
    END,
};

static const struct {
    const char *kind;
    const patch_field *fields;
} kinds[] = {
    {"Pod", pod},
    {"Deployment", workload},
    {"ReplicaSet", workload},
    {"StatefulSet", workload},
    {"DaemonSet", workload},
    {"Job", workload},
    {"CronJob", cronjob},
    {"Service", service},
    {"Node", node},
    {"ServiceAccount", service_account},
    {"Namespace", with_conditions},
    {"PersistentVolumeClaim", with_conditions},
};

const patch_field *patch_schema_for(const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].fields;
    return berth_kind_find(NULL, kind) ? meta_only : NULL;
}

const patch_field *patch_schema_field(const patch_field *fields, const char *name)
{
    for (const patch_field *f = fields; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}
