/* Defaulting: what Kubernetes' defaulters fill in, per kind. */
#include <stdlib.h>
#include <string.h>

#include "test-validate.h"
#include "test.h"

static cJSON *defaulted(cJSON *obj)
{
    CHECK_INT(berth_default(berth_kind_of(obj), obj), 0);
    return obj;
}

static cJSON *patched(const char *kind, const char *patch)
{
    cJSON *obj = vt_base(kind), *p = vt_json(patch);
    obj = vt_merge(obj, p);
    cJSON_Delete(p);
    return defaulted(obj);
}

static double num(const cJSON *obj, const char *path)
{
    const cJSON *v = berth_obj_at(obj, path);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static const cJSON *at(const cJSON *arr_owner, const char *path, int i)
{
    return cJSON_GetArrayItem(berth_obj_at(arr_owner, path), i);
}

BERTH_TEST(defaults_deployment)
{
    cJSON *d = defaulted(vt_load("nginx-deployment.json"));
    CHECK_INT(num(d, "spec.replicas"), 3); /* kept */
    CHECK_STR(berth_obj_str(d, "spec.strategy.type"), "RollingUpdate");
    CHECK_STR(berth_obj_str(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
    CHECK_STR(berth_obj_str(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    CHECK_INT(num(d, "spec.revisionHistoryLimit"), 10);
    CHECK_INT(num(d, "spec.progressDeadlineSeconds"), 600);
    const cJSON *ps = berth_obj_at(d, "spec.template.spec");
    CHECK_STR(berth_obj_str(ps, "restartPolicy"), "Always");
    CHECK_STR(berth_obj_str(ps, "dnsPolicy"), "ClusterFirst");
    CHECK_STR(berth_obj_str(ps, "schedulerName"), "default-scheduler");
    CHECK_INT(num(ps, "terminationGracePeriodSeconds"), 30);
    CHECK(cJSON_IsObject(berth_obj_at(ps, "securityContext")));
    const cJSON *c = at(ps, "containers", 0);
    CHECK_STR(berth_obj_str(c, "imagePullPolicy"), "IfNotPresent");
    CHECK_STR(berth_obj_str(c, "terminationMessagePath"), "/dev/termination-log");
    CHECK_STR(berth_obj_str(c, "terminationMessagePolicy"), "File");
    CHECK_STR(berth_obj_str(at(c, "ports", 0), "protocol"), "TCP");
    cJSON_Delete(d);

    d = patched("Deployment", "{'spec':{'strategy':{'type':'Recreate'}}}");
    CHECK_INT(num(d, "spec.replicas"), 1);
    CHECK(berth_obj_at(d, "spec.strategy.rollingUpdate") == NULL);
    cJSON_Delete(d);
    d = patched("Deployment", "{'spec':{'strategy':{'rollingUpdate':{'maxSurge':2}}}}");
    CHECK_INT(num(d, "spec.strategy.rollingUpdate.maxSurge"), 2);
    CHECK_STR(berth_obj_str(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    cJSON_Delete(d);
}

BERTH_TEST(defaults_pod_containers)
{
    static const struct {
        const char *image, *policy;
    } pulls[] = {
        {"busybox", "Always"},          {"busybox:latest", "Always"},
        {"busybox:1.36", "IfNotPresent"}, {"registry:5000/team/app", "Always"},
        {"registry:5000/app:v2", "IfNotPresent"}, {"app@sha256:abcd", "IfNotPresent"},
    };
    for (size_t i = 0; i < sizeof pulls / sizeof pulls[0]; i++) {
        cJSON *p = vt_base("Pod");
        cJSON *c = cJSON_GetArrayItem(berth_obj_at(p, "spec.containers"), 0);
        cJSON_ReplaceItemInObject(c, "image", cJSON_CreateString(pulls[i].image));
        defaulted(p);
        CHECK_STR(berth_obj_str(at(p, "spec.containers", 0), "imagePullPolicy"), pulls[i].policy);
        cJSON_Delete(p);
    }
    cJSON *p = patched("Pod", "{'spec':{'hostNetwork':true,'restartPolicy':'Never',"
                              "'containers':[{'name':'c','image':'i','imagePullPolicy':'Never',"
                              "'ports':[{'containerPort':8080,'protocol':'UDP'}],"
                              "'livenessProbe':{'httpGet':{'port':8080},'periodSeconds':0},"
                              "'readinessProbe':{'exec':{'command':['true']},'timeoutSeconds':5},"
                              "'env':[{'name':'N','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}}],"
                              "'resources':{'limits':{'cpu':'1','memory':'1Gi'},'requests':{'cpu':'100m'}}}],"
                              "'volumes':[{'name':'s','secret':{'secretName':'x'}}]}}");
    CHECK_STR(berth_obj_str(p, "spec.restartPolicy"), "Never"); /* kept */
    const cJSON *c = at(p, "spec.containers", 0);
    CHECK_STR(berth_obj_str(c, "imagePullPolicy"), "Never");
    const cJSON *port = at(c, "ports", 0);
    CHECK_STR(berth_obj_str(port, "protocol"), "UDP");
    CHECK_INT(num(port, "hostPort"), 8080); /* host network */
    const cJSON *lp = berth_obj_at(c, "livenessProbe");
    CHECK_INT(num(lp, "timeoutSeconds"), 1);
    CHECK_INT(num(lp, "periodSeconds"), 10);
    CHECK_INT(num(lp, "successThreshold"), 1);
    CHECK_INT(num(lp, "failureThreshold"), 3);
    CHECK_STR(berth_obj_str(lp, "httpGet.path"), "/");
    CHECK_STR(berth_obj_str(lp, "httpGet.scheme"), "HTTP");
    CHECK_INT(num(c, "readinessProbe.timeoutSeconds"), 5);
    CHECK_STR(berth_obj_str(at(c, "env", 0), "valueFrom.fieldRef.apiVersion"), "v1");
    /* A Pod requests what it limits unless it says otherwise. */
    CHECK_STR(berth_obj_str(c, "resources.requests.cpu"), "100m");
    CHECK_STR(berth_obj_str(c, "resources.requests.memory"), "1Gi");
    CHECK_INT(num(at(p, "spec.volumes", 0), "secret.defaultMode"), 420);
    CHECK(cJSON_IsTrue(berth_obj_at(p, "spec.enableServiceLinks")));
    cJSON_Delete(p);
    /* Templates get pod defaults but no request copying. */
    cJSON *d = patched("Deployment", "{'spec':{'template':{'spec':{'containers':[{'name':'c',"
                                     "'image':'i','resources':{'limits':{'cpu':'1'}}}]}}}}");
    CHECK(berth_obj_at(at(d, "spec.template.spec.containers", 0), "resources.requests") == NULL);
    cJSON_Delete(d);
}

BERTH_TEST(defaults_statefulset_daemonset_replicaset)
{
    cJSON *s = defaulted(vt_load("web-statefulset.json"));
    CHECK_INT(num(s, "spec.replicas"), 3);
    CHECK_STR(berth_obj_str(s, "spec.podManagementPolicy"), "OrderedReady");
    CHECK_STR(berth_obj_str(s, "spec.updateStrategy.type"), "RollingUpdate");
    CHECK_INT(num(s, "spec.updateStrategy.rollingUpdate.partition"), 0);
    CHECK_INT(num(s, "spec.revisionHistoryLimit"), 10);
    CHECK_STR(berth_obj_str(s, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"), "Retain");
    CHECK_STR(berth_obj_str(at(s, "spec.volumeClaimTemplates", 0), "spec.volumeMode"), "Filesystem");
    CHECK_INT(num(s, "spec.template.spec.terminationGracePeriodSeconds"), 10);
    cJSON_Delete(s);
    s = patched("StatefulSet", "{'spec':{'updateStrategy':{'type':'OnDelete'}}}");
    CHECK_INT(num(s, "spec.replicas"), 1);
    CHECK(berth_obj_at(s, "spec.updateStrategy.rollingUpdate") == NULL);
    cJSON_Delete(s);
    cJSON *d = patched("DaemonSet", "{}");
    CHECK_STR(berth_obj_str(d, "spec.updateStrategy.type"), "RollingUpdate");
    CHECK_INT(num(d, "spec.updateStrategy.rollingUpdate.maxUnavailable"), 1);
    CHECK_INT(num(d, "spec.updateStrategy.rollingUpdate.maxSurge"), 0);
    CHECK_INT(num(d, "spec.revisionHistoryLimit"), 10);
    CHECK_STR(berth_obj_str(d, "spec.template.spec.restartPolicy"), "Always");
    cJSON_Delete(d);
    cJSON *r = patched("ReplicaSet", "{}");
    CHECK_INT(num(r, "spec.replicas"), 1);
    CHECK_STR(berth_obj_str(r, "spec.template.spec.dnsPolicy"), "ClusterFirst");
    cJSON_Delete(r);
}

BERTH_TEST(defaults_jobs)
{
    cJSON *j = defaulted(vt_load("pi-job.json"));
    CHECK_INT(num(j, "spec.parallelism"), 1);
    CHECK_INT(num(j, "spec.completions"), 1);
    CHECK_INT(num(j, "spec.backoffLimit"), 4); /* kept */
    CHECK_STR(berth_obj_str(j, "spec.completionMode"), "NonIndexed");
    CHECK(cJSON_IsFalse(berth_obj_at(j, "spec.suspend")));
    CHECK_STR(berth_obj_str(j, "spec.template.spec.restartPolicy"), "Never");
    cJSON_Delete(j);
    /* A work queue: parallelism without completions keeps completions unset. */
    j = patched("Job", "{'spec':{'parallelism':5}}");
    CHECK_INT(num(j, "spec.parallelism"), 5);
    CHECK(berth_obj_at(j, "spec.completions") == NULL);
    CHECK_INT(num(j, "spec.backoffLimit"), 6);
    cJSON_Delete(j);
    j = patched("Job", "{'spec':{'completions':4}}");
    CHECK_INT(num(j, "spec.completions"), 4);
    CHECK_INT(num(j, "spec.parallelism"), 1);
    cJSON_Delete(j);
    /* The Pod template default (Always) is what Job validation then refuses. */
    j = patched("Job", "{'spec':{'template':{'spec':{'restartPolicy':null}}}}");
    CHECK_STR(berth_obj_str(j, "spec.template.spec.restartPolicy"), "Always");
    cJSON_Delete(j);

    cJSON *c = defaulted(vt_load("hello-cronjob.json"));
    CHECK_STR(berth_obj_str(c, "spec.concurrencyPolicy"), "Allow");
    CHECK(cJSON_IsFalse(berth_obj_at(c, "spec.suspend")));
    CHECK_INT(num(c, "spec.successfulJobsHistoryLimit"), 3);
    CHECK_INT(num(c, "spec.failedJobsHistoryLimit"), 1);
    const cJSON *ctr = at(c, "spec.jobTemplate.spec.template.spec.containers", 0);
    CHECK_STR(berth_obj_str(ctr, "imagePullPolicy"), "IfNotPresent");
    CHECK_STR(berth_obj_str(ctr, "terminationMessagePolicy"), "File");
    CHECK_STR(berth_obj_str(c, "spec.jobTemplate.spec.template.spec.dnsPolicy"), "ClusterFirst");
    cJSON_Delete(c);
}

BERTH_TEST(defaults_services_and_secrets)
{
    cJSON *s = defaulted(vt_load("my-service.json"));
    CHECK_STR(berth_obj_str(s, "spec.type"), "ClusterIP");
    CHECK_STR(berth_obj_str(s, "spec.sessionAffinity"), "None");
    CHECK_STR(berth_obj_str(s, "spec.internalTrafficPolicy"), "Cluster");
    CHECK(berth_obj_at(s, "spec.externalTrafficPolicy") == NULL);
    CHECK_INT(num(at(s, "spec.ports", 0), "targetPort"), 9376); /* kept */
    cJSON_Delete(s);
    s = patched("Service", "{'spec':{'type':'NodePort','ports':[{'name':'a','port':80},"
                           "{'name':'b','port':53,'protocol':'UDP','targetPort':'dns'}]}}");
    CHECK_STR(berth_obj_str(at(s, "spec.ports", 0), "protocol"), "TCP");
    CHECK_INT(num(at(s, "spec.ports", 0), "targetPort"), 80);
    CHECK_STR(berth_obj_str(at(s, "spec.ports", 1), "protocol"), "UDP");
    CHECK_STR(berth_obj_str(at(s, "spec.ports", 1), "targetPort"), "dns");
    CHECK_STR(berth_obj_str(s, "spec.externalTrafficPolicy"), "Cluster");
    cJSON_Delete(s);

    cJSON *sec = defaulted(vt_load("dotfile-secret.json"));
    CHECK_STR(berth_obj_str(sec, "type"), "Opaque");
    cJSON_Delete(sec);
    /* stringData is merged into data, encoded, and wins. */
    sec = patched("Secret", "{'type':'kubernetes.io/basic-auth','stringData':{'a':'hello',"
                            "'username':'admin'}}");
    CHECK_STR(berth_obj_str(sec, "type"), "kubernetes.io/basic-auth");
    CHECK_STR(berth_obj_str(sec, "data.a"), "aGVsbG8=");
    CHECK_STR(berth_obj_str(sec, "data.username"), "YWRtaW4=");
    CHECK(berth_obj_at(sec, "stringData") == NULL);
    int rc;
    char *got = vt_errors(sec, NULL, &rc);
    CHECK_STR(got, "");
    free(got);
    cJSON_Delete(sec);
}

BERTH_TEST(defaults_storage_endpoints_and_others)
{
    cJSON *pv = patched("PersistentVolume", "{}");
    CHECK_STR(berth_obj_str(pv, "spec.persistentVolumeReclaimPolicy"), "Retain");
    CHECK_STR(berth_obj_str(pv, "spec.volumeMode"), "Filesystem");
    cJSON_Delete(pv);
    cJSON *pvc = patched("PersistentVolumeClaim", "{}");
    CHECK_STR(berth_obj_str(pvc, "spec.volumeMode"), "Filesystem");
    cJSON_Delete(pvc);
    cJSON *ep = patched("Endpoints", "{}");
    CHECK_STR(berth_obj_str(at(at(ep, "subsets", 0), "ports", 0), "protocol"), "TCP");
    cJSON_Delete(ep);
    /* Kinds without defaults come back unchanged. */
    cJSON *cm = vt_base("ConfigMap"), *copy = cJSON_Duplicate(cm, 1);
    defaulted(cm);
    CHECK(cJSON_Compare(cm, copy, 1));
    cJSON_Delete(cm);
    cJSON_Delete(copy);
    /* Malformed members are left for validation to report. */
    cJSON *d = patched("Deployment", "{'spec':{'strategy':'fast','template':{'spec':"
                                     "{'containers':'none'}}}}");
    CHECK_STR(berth_obj_str(d, "spec.strategy"), "fast");
    cJSON_Delete(d);
    CHECK_INT(berth_default(NULL, NULL), 0);
}
