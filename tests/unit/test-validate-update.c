/* Updates: fields that may not change once stored, and the rule that bumps
 * metadata.generation. */
#include <stdlib.h>
#include <string.h>

#include "test-validate.h"
#include "test.h"

typedef struct ucase {
    const char *name, *kind;
    const char *old_patch; /* applied to the base to make the stored object */
    const char *new_patch; /* applied to the stored object to make the update */
    const char *want;
} ucase;

static void run_updates(const ucase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *old = vt_base(cases[i].kind);
        cJSON *p = vt_json(cases[i].old_patch);
        old = vt_merge(old, p);
        cJSON_Delete(p);
        cJSON *obj = cJSON_Duplicate(old, 1);
        p = vt_json(cases[i].new_patch);
        obj = vt_merge(obj, p);
        cJSON_Delete(p);
        vt_expect(cases[i].name, obj, old, cases[i].want);
        cJSON_Delete(obj);
        cJSON_Delete(old);
    }
}

static const ucase update_cases[] = {
    {"deployment-selector", "Deployment", "{}",
     "{'spec':{'selector':{'matchLabels':{'app':'api'}},'template':{'metadata':{'labels':"
     "{'app':'api'}}}}}",
     "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"api\"}}: field is immutable"},
    {"deployment-scale-and-image", "Deployment", "{}",
     "{'spec':{'replicas':5,'template':{'spec':{'containers':[{'name':'c','image':'busybox:2'}]}}}}",
     ""},
    {"replicaset-selector", "ReplicaSet", "{}",
     "{'spec':{'selector':{'matchLabels':{'app':'web','tier':'x'}},'template':{'metadata':"
     "{'labels':{'app':'web','tier':'x'}}}}}",
     "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"x\"}}: field "
     "is immutable"},
    {"daemonset-selector", "DaemonSet", "{}", "{'spec':{'selector':{'matchLabels':{'v':'2'}},"
     "'template':{'metadata':{'labels':{'v':'2'}}}}}",
     "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"agent\",\"v\":\"2\"}}: field is "
     "immutable"},
    {"statefulset-service-name", "StatefulSet", "{}", "{'spec':{'serviceName':'other'}}",
     "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
     "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
     "'minReadySeconds' are forbidden"},
    {"statefulset-scale", "StatefulSet", "{}",
     "{'spec':{'replicas':4,'updateStrategy':{'rollingUpdate':{'partition':2}}}}", ""},
    {"job-template-suspended", "Job", "{'spec':{'suspend':true}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'busybox:2'}]}}}}", ""},
    {"job-completions", "Job", "{}", "{'spec':{'completions':3}}",
     "spec.completions: Invalid value: 3: field is immutable"},
    {"service-cluster-ip", "Service", "{'spec':{'clusterIP':'10.96.0.10'}}",
     "{'spec':{'clusterIP':'10.96.0.11'}}",
     "spec.clusterIP: Invalid value: \"10.96.0.11\": field is immutable"},
    {"service-cluster-ip-kept", "Service", "{'spec':{'clusterIP':'10.96.0.10'}}",
     "{'spec':{'clusterIP':null,'ports':[{'port':8080}]}}", ""},
    {"service-to-external-name", "Service", "{'spec':{'clusterIP':'10.96.0.10'}}",
     "{'spec':{'type':'ExternalName','externalName':'db.example.com','clusterIP':null}}", ""},
    /* The stored pod's pull policy was defaulted from its old image; an
     * update carries it over. */
    {"pod-image", "Pod", "{}",
     "{'spec':{'containers':[{'name':'c','image':'busybox:2','imagePullPolicy':'Always'}]}}", ""},
    {"pod-bind", "Pod", "{}", "{'spec':{'nodeName':'node-1'}}", ""},
    {"pod-rebind", "Pod", "{'spec':{'nodeName':'node-1'}}", "{'spec':{'nodeName':'node-2'}}",
     "spec: Forbidden: pod updates may not change fields other than "
     "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
     "`spec.tolerations` (only additions to existing tolerations),"
     "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
     "negative)"},
    {"pod-add-toleration", "Pod", "{'spec':{'tolerations':[{'key':'a','operator':'Exists'}]}}",
     "{'spec':{'tolerations':[{'key':'a','operator':'Exists'},{'key':'b','operator':'Exists'}]}}",
     ""},
    {"metadata-name", "ConfigMap", "{}", "{'metadata':{'name':'other'}}",
     "metadata.name: Invalid value: \"other\": field is immutable"},
    {"metadata-uid", "ConfigMap", "{'metadata':{'uid':'u1'}}", "{'metadata':{'uid':'u2'}}",
     "metadata.uid: Invalid value: \"u2\": field is immutable"},
    {"immutable-configmap", "ConfigMap", "{'immutable':true}",
     "{'immutable':false,'data':{'a':'2'}}",
     "immutable: Forbidden: field is immutable when `immutable` is set\n"
     "data: Forbidden: field is immutable when `immutable` is set"},
    {"mutable-configmap", "ConfigMap", "{}", "{'data':{'a':'2'},'immutable':true}", ""},
    {"immutable-secret", "Secret", "{'immutable':true}", "{'data':{'b':'Mg=='}}",
     "data: Forbidden: field is immutable when `immutable` is set"},
    {"secret-type", "Secret", "{}", "{'type':'kubernetes.io/basic-auth','data':{'username':'dQ=='}}",
     "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"},
    {"node-pod-cidr", "Node", "{'spec':{'podCIDR':'10.244.0.0/24'}}",
     "{'spec':{'podCIDR':'10.244.1.0/24'}}",
     "spec.podCIDR: Forbidden: node updates may not change podCIDR except from \"\" to valid"},
    {"pvc-grow", "PersistentVolumeClaim", "{}",
     "{'spec':{'resources':{'requests':{'storage':'2Gi'}},'volumeName':'pv1'}}", ""},
    {"pvc-access-modes", "PersistentVolumeClaim", "{}", "{'spec':{'accessModes':['ReadWriteMany']}}",
     "spec: Forbidden: spec is immutable after creation except resources.requests and "
     "volumeAttributesClassName for bound claims"},
    {"cronjob-schedule", "CronJob", "{}", "{'spec':{'schedule':'@daily'}}", ""},
};

BERTH_TEST(validate_updates)
{
    run_updates(update_cases, sizeof update_cases / sizeof update_cases[0]);
}

BERTH_TEST(validate_job_template_immutable)
{
    cJSON *old = vt_base("Job");
    cJSON *obj = cJSON_Duplicate(old, 1);
    cJSON *p = vt_json("{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'b:2'}]}}}}");
    obj = vt_merge(obj, p);
    cJSON_Delete(p);
    int rc;
    char *got = vt_errors(obj, old, &rc);
    CHECK_INT(rc, BERTH_EINVAL);
    CHECK(strncmp(got, "spec.template: Invalid value: {", 31) == 0);
    const char *tail = ": field is immutable";
    CHECK(strlen(got) > strlen(tail) && strcmp(got + strlen(got) - strlen(tail), tail) == 0);
    CHECK(strchr(got, '\n') == NULL);
    free(got);
    cJSON_Delete(obj);
    cJSON_Delete(old);
}

BERTH_TEST(validate_generation_follows_spec)
{
    cJSON *old = vt_load("nginx-deployment.json");
    cJSON *obj = cJSON_Duplicate(old, 1);
    CHECK(!berth_spec_changed(old, obj));
    /* Metadata and status changes leave the generation alone. */
    cJSON *p = vt_json("{'metadata':{'labels':{'tier':'web'},'resourceVersion':'9'},"
                       "'status':{'replicas':3}}");
    obj = vt_merge(obj, p);
    cJSON_Delete(p);
    CHECK(!berth_spec_changed(old, obj));
    /* Member order inside spec does not matter. */
    cJSON *spec = cJSON_DetachItemFromObject(obj, "spec");
    cJSON *sel = cJSON_DetachItemFromObject(spec, "selector");
    cJSON_AddItemToObject(spec, "selector", sel);
    cJSON_AddItemToObject(obj, "spec", spec);
    CHECK(!berth_spec_changed(old, obj));
    p = vt_json("{'spec':{'replicas':4}}");
    obj = vt_merge(obj, p);
    cJSON_Delete(p);
    CHECK(berth_spec_changed(old, obj));
    /* Defaults fill the stored and the new object alike. */
    cJSON *a = vt_load("nginx-deployment.json"), *b = vt_load("nginx-deployment.json");
    const berth_kind *k = berth_kind_of(a);
    CHECK_INT(berth_default(k, b), 0);
    CHECK_INT(berth_default(k, b), 0); /* idempotent */
    CHECK_INT(berth_default(k, a), 0);
    CHECK(!berth_spec_changed(a, b));
    /* Kinds without a spec never bump; gaining or losing one does. */
    cJSON *cm1 = vt_base("ConfigMap"), *cm2 = vt_base("ConfigMap");
    p = vt_json("{'data':{'a':'2'}}");
    cm2 = vt_merge(cm2, p);
    cJSON_Delete(p);
    CHECK(!berth_spec_changed(cm1, cm2));
    CHECK(berth_spec_changed(cm1, obj));
    CHECK(!berth_spec_changed(NULL, NULL));
    cJSON_Delete(cm1);
    cJSON_Delete(cm2);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(obj);
    cJSON_Delete(old);
}
