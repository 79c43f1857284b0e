/* Validation: the table harness, the stock manifests that must pass,
 * object metadata, the error list and the name checkers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-validate.h"
#include "test.h"

cJSON *vt_json(const char *relaxed)
{
    char *s = strdup(relaxed);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(s);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", s);
        abort();
    }
    free(s);
    return j;
}

cJSON *vt_merge(cJSON *target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    if (!cJSON_IsObject(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    for (const cJSON *p = patch->child; p; p = p->next) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
        } else if (t) {
            /* Replace in place to keep member order. */
            cJSON *copy = cJSON_Duplicate(t, 1);
            cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, vt_merge(copy, p));
        } else {
            cJSON_AddItemToObject(target, p->string, vt_merge(NULL, p));
        }
    }
    return target;
}

#define CTR "'containers':[{'name':'c','image':'busybox'}]"
#define TMPL(labels, extra) \
    "'template':{'metadata':{'labels':" labels "},'spec':{" CTR extra "}}"

static const struct {
    const char *kind, *json;
} bases[] = {
    {"Pod", "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'default'},"
            "'spec':{" CTR "}}"},
    {"Deployment", "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web',"
                   "'namespace':'default'},'spec':{'selector':{'matchLabels':{'app':'web'}},"
                   TMPL("{'app':'web'}", "") "}}"},
    {"ReplicaSet", "{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'web',"
                   "'namespace':'default'},'spec':{'selector':{'matchLabels':{'app':'web'}},"
                   TMPL("{'app':'web'}", "") "}}"},
    {"StatefulSet", "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db',"
                    "'namespace':'default'},'spec':{'serviceName':'db','selector':"
                    "{'matchLabels':{'app':'db'}}," TMPL("{'app':'db'}", "") "}}"},
    {"DaemonSet", "{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'agent',"
                  "'namespace':'default'},'spec':{'selector':{'matchLabels':{'app':'agent'}},"
                  TMPL("{'app':'agent'}", "") "}}"},
    {"Job", "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'once','namespace':"
            "'default'},'spec':{" TMPL("{'app':'once'}", ",'restartPolicy':'Never'") "}}"},
    {"CronJob", "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'tick',"
                "'namespace':'default'},'spec':{'schedule':'*/5 * * * *','jobTemplate':{'spec':{"
                TMPL("{'app':'tick'}", ",'restartPolicy':'OnFailure'") "}}}}"},
    {"Service", "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':"
                "'default'},'spec':{'selector':{'app':'web'},'ports':[{'port':80}]}}"},
    {"ConfigMap", "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'cfg','namespace':"
                  "'default'},'data':{'a':'1'}}"},
    {"Secret", "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s','namespace':"
               "'default'},'data':{'a':'MQ=='}}"},
    {"Namespace", "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'prod'}}"},
    {"Node", "{'apiVersion':'v1','kind':'Node','metadata':{'name':'node-1'},'spec':{}}"},
    {"PersistentVolume", "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':"
                         "'pv1'},'spec':{'capacity':{'storage':'1Gi'},'accessModes':"
                         "['ReadWriteOnce'],'hostPath':{'path':'/srv/pv1'}}}"},
    {"PersistentVolumeClaim", "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':"
                              "{'name':'data','namespace':'default'},'spec':{'accessModes':"
                              "['ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}}}}"},
    {"Event", "{'apiVersion':'v1','kind':'Event','metadata':{'name':'e1','namespace':"
              "'default'},'involvedObject':{'kind':'Pod','name':'p','namespace':'default'},"
              "'reason':'Started','type':'Normal'}"},
    {"Lease", "{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':{'name':"
              "'node-1','namespace':'kube-node-lease'},'spec':{'holderIdentity':'node-1',"
              "'leaseDurationSeconds':40}}"},
    {"Endpoints", "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web','namespace':"
                  "'default'},'subsets':[{'addresses':[{'ip':'10.1.0.5'}],'ports':"
                  "[{'port':80}]}]}"},
    {"ServiceAccount", "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':"
                       "'default','namespace':'default'}}"},
};

cJSON *vt_base(const char *kind)
{
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
        if (strcmp(bases[i].kind, kind) == 0)
            return vt_json(bases[i].json);
    fprintf(stderr, "no base manifest for %s\n", kind);
    abort();
}

cJSON *vt_load(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/unit/data/%s", BERTH_SOURCE_DIR, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        abort();
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    if (!j) {
        fprintf(stderr, "bad JSON in %s\n", path);
        abort();
    }
    return j;
}

char *vt_errors(cJSON *obj, cJSON *old, int *rc)
{
    const berth_kind *k = berth_kind_of(obj);
    CHECK(k != NULL);
    CHECK_INT(berth_default(k, obj), 0);
    if (old)
        CHECK_INT(berth_default(k, old), 0);
    berth_errlist errs = {0};
    *rc = berth_validate(k, obj, old, &errs);
    size_t len = 1;
    for (size_t i = 0; i < errs.n; i++)
        len += strlen(errs.v[i].message) + 1;
    char *out = malloc(len), *p = out;
    *p = 0;
    for (size_t i = 0; i < errs.n; i++)
        p += sprintf(p, "%s%s", i ? "\n" : "", errs.v[i].message);
    if ((*rc == 0) != (errs.n == 0))
        berth_test_fail(__FILE__, __LINE__, "rc %d with %zu errors", *rc, errs.n);
    berth_errlist_free(&errs);
    return out;
}

void vt_expect(const char *name, cJSON *obj, cJSON *old, const char *want)
{
    int rc;
    char *got = vt_errors(obj, old, &rc);
    if (strcmp(got, want) != 0)
        berth_test_fail(__FILE__, __LINE__, "case %s:\n  got:  %s\n  want: %s", name, got, want);
    if (rc != (want[0] ? BERTH_EINVAL : 0))
        berth_test_fail(__FILE__, __LINE__, "case %s: rc %d", name, rc);
    free(got);
}

void vt_run(const vcase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *obj = vt_base(cases[i].kind);
        cJSON *patch = vt_json(cases[i].patch);
        obj = vt_merge(obj, patch);
        cJSON_Delete(patch);
        vt_expect(cases[i].name, obj, NULL, cases[i].want);
        cJSON_Delete(obj);
    }
}

/* ---- Manifests that must pass ---- */

static void expect_valid(cJSON *obj, const char *what)
{
    int rc;
    char *got = vt_errors(obj, NULL, &rc);
    if (rc != 0 || *got)
        berth_test_fail(__FILE__, __LINE__, "%s: unexpected errors: %s", what, got);
    free(got);
    cJSON_Delete(obj);
}

BERTH_TEST(validate_stock_manifests_pass)
{
    static const char *const files[] = {
        "nginx-deployment.json", "pi-job.json", "hello-cronjob.json", "web-statefulset.json",
        "my-service.json", "game-configmap.json", "dotfile-secret.json", "full-pod.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        expect_valid(vt_load(files[i]), files[i]);
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
        expect_valid(vt_json(bases[i].json), bases[i].kind);
}

BERTH_TEST(validate_more_valid_shapes)
{
    static const vcase ok[] = {
        {"generate-name-only", "Pod", "{'metadata':{'name':null,'generateName':'web-'}}", ""},
        {"headless-service-without-ports", "Service",
         "{'spec':{'clusterIP':'None','ports':null}}", ""},
        {"external-name-service", "Service",
         "{'spec':{'type':'ExternalName','externalName':'db.example.com.','ports':null,"
         "'selector':null}}", ""},
        {"named-target-port", "Service", "{'spec':{'ports':[{'name':'http','port':80,"
                                         "'targetPort':'http'},{'name':'https','port':443}]}}", ""},
        {"recreate-deployment", "Deployment", "{'spec':{'strategy':{'type':'Recreate'}}}", ""},
        {"expression-selector", "Deployment",
         "{'spec':{'selector':{'matchLabels':null,'matchExpressions':[{'key':'app',"
         "'operator':'In','values':['web','api']}]}}}", ""},
        {"cron-names-and-steps", "CronJob", "{'spec':{'schedule':'0 9-17/2 1,15 JAN-jun MON-FRI'}}", ""},
        {"cron-descriptor", "CronJob", "{'spec':{'schedule':'@hourly'}}", ""},
        {"cron-every", "CronJob", "{'spec':{'schedule':'@every 1h30m'}}", ""},
        {"cron-timezone", "CronJob", "{'spec':{'timeZone':'Europe/Berlin'}}", ""},
        {"work-queue-job", "Job", "{'spec':{'parallelism':3}}", ""},
        {"indexed-job", "Job", "{'spec':{'completionMode':'Indexed','completions':5}}", ""},
        {"extended-resource", "Pod",
         "{'spec':{'containers':[{'name':'c','image':'i','resources':{'limits':"
         "{'example.com/gpu':2,'cpu':1,'memory':'1Gi'}}}]}}", ""},
        {"secret-tls", "Secret", "{'type':'kubernetes.io/tls','data':{'tls.crt':'Y2VydA==',"
                                 "'tls.key':'a2V5'}}", ""},
        {"ondelete-statefulset", "StatefulSet",
         "{'spec':{'updateStrategy':{'type':'OnDelete'},'podManagementPolicy':'Parallel'}}", ""},
        {"daemonset-surge", "DaemonSet", "{'spec':{'updateStrategy':{'rollingUpdate':"
                                         "{'maxUnavailable':0,'maxSurge':'10%'}}}}", ""},
        {"node-taints", "Node", "{'spec':{'podCIDR':'10.244.1.0/24','taints':[{'key':'gpu',"
                                "'effect':'NoSchedule'},{'key':'gpu','effect':'NoExecute'}]}}", ""},
        {"ipv6-endpoints", "Endpoints", "{'subsets':[{'addresses':[{'ip':'fd00::5'}],"
                                        "'ports':[{'name':'a','port':80},{'name':'b','port':81}]}]}", ""},
    };
    vt_run(ok, sizeof ok / sizeof ok[0]);
}

/* ---- Metadata ---- */

static const vcase meta_cases[] = {
    {"no-name", "Deployment", "{'metadata':{'name':null}}",
     "metadata.name: Required value: name or generateName is required"},
    {"bad-name", "Deployment", "{'metadata':{'name':'Web_1'}}",
     "metadata.name: Invalid value: \"Web_1\": " VT_SUBDOMAIN},
    {"bad-generate-name", "Pod", "{'metadata':{'name':null,'generateName':'Web-'}}",
     "metadata.generateName: Invalid value: \"Web-\": " VT_SUBDOMAIN},
    {"no-namespace", "Pod", "{'metadata':{'namespace':null}}",
     "metadata.namespace: Required value"},
    {"bad-namespace", "ConfigMap", "{'metadata':{'namespace':'Prod'}}",
     "metadata.namespace: Invalid value: \"Prod\": " VT_LABEL},
    {"namespace-on-cluster-kind", "Node", "{'metadata':{'namespace':'default'}}",
     "metadata.namespace: Forbidden: not allowed on this type"},
    {"namespace-name-with-dots", "Namespace", "{'metadata':{'name':'a.b'}}",
     "metadata.name: Invalid value: \"a.b\": must not contain dots"},
    {"service-name-dns1035", "Service", "{'metadata':{'name':'1web'}}",
     "metadata.name: Invalid value: \"1web\": " VT_DNS1035},
    {"cronjob-name-length", "CronJob",
     "{'metadata':{'name':'a23456789012345678901234567890123456789012345678901234'}}",
     "metadata.name: Invalid value: \"a23456789012345678901234567890123456789012345678901234\": "
     "must be no more than 52 characters"},
    {"name-too-long", "ServiceAccount",
     "{'metadata':{'name':'a234567890123456789012345678901234567890123456789012345678901234567890"
     "12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012"
     "34567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890'}}",
     "metadata.name: Invalid value: \"a234567890123456789012345678901234567890123456789012345678901234567890"
     "12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012"
     "34567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890\": "
     "must be no more than 253 characters"},
    {"label-key", "Deployment", "{'metadata':{'labels':{'Bad Key':'x'}}}",
     "metadata.labels: Invalid value: \"Bad Key\": " VT_QNAME},
    {"label-key-prefix", "Pod", "{'metadata':{'labels':{'Example.com/app':'x'}}}",
     "metadata.labels: Invalid value: \"Example.com/app\": prefix part " VT_SUBDOMAIN},
    {"label-key-two-slashes", "Pod", "{'metadata':{'labels':{'a/b/c':'x'}}}",
     "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric "
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
     "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
     "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
     "(e.g. 'example.com/MyName')"},
    {"label-value", "Pod", "{'metadata':{'labels':{'app':'-web'}}}",
     "metadata.labels: Invalid value: \"-web\": a valid label must be an empty string or consist "
     "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
     "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
     "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
    {"label-value-long", "Pod",
     "{'metadata':{'labels':{'app':'a234567890123456789012345678901234567890123456789012345678901234'}}}",
     "metadata.labels: Invalid value: \"a234567890123456789012345678901234567890123456789012345678901234\": "
     "must be no more than 63 characters"},
    {"label-value-not-string", "Pod", "{'metadata':{'labels':{'app':5}}}",
     "metadata.labels: Invalid value: 5: values must be strings"},
    {"annotation-key", "Pod", "{'metadata':{'annotations':{'/x':'y'}}}",
     "metadata.annotations: Invalid value: \"/x\": prefix part must be non-empty"},
    {"owner-reference", "Pod",
     "{'metadata':{'ownerReferences':[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'x'}]}}",
     "metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty"},
    {"owner-reference-version", "Pod",
     "{'metadata':{'ownerReferences':[{'apiVersion':'apps/','kind':'','name':'x','uid':'u'}]}}",
     "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty\n"
     "metadata.ownerReferences.kind: Invalid value: \"\": kind must not be empty"},
    {"two-controllers", "Pod",
     "{'metadata':{'ownerReferences':[{'apiVersion':'v1','kind':'A','name':'a','uid':'1',"
     "'controller':true},{'apiVersion':'v1','kind':'B','name':'b','uid':'2','controller':true}]}}",
     "metadata.ownerReferences: Invalid value: [{\"apiVersion\":\"v1\",\"kind\":\"A\",\"name\":\"a\","
     "\"uid\":\"1\",\"controller\":true},{\"apiVersion\":\"v1\",\"kind\":\"B\",\"name\":\"b\","
     "\"uid\":\"2\",\"controller\":true}]: Only one reference can have Controller set to true. "
     "Found \"true\" in references for A/a and B/b"},
    {"finalizer", "ConfigMap", "{'metadata':{'finalizers':['bad finalizer']}}",
     "metadata.finalizers: Invalid value: \"bad finalizer\": " VT_QNAME},
    {"generation", "ConfigMap", "{'metadata':{'generation':-1}}",
     "metadata.generation: Invalid value: -1: " VT_NONNEG},
    {"metadata-not-object", "ConfigMap", "{'metadata':'x'}",
     "metadata: Invalid value: \"x\": must be an object\n"
     "metadata.name: Required value: name or generateName is required\n"
     "metadata.namespace: Required value"},
};

BERTH_TEST(validate_metadata)
{
    vt_run(meta_cases, sizeof meta_cases / sizeof meta_cases[0]);
}

BERTH_TEST(validate_annotations_size_limit)
{
    cJSON *obj = vt_base("ConfigMap");
    cJSON *ann = cJSON_AddObjectToObject(cJSON_GetObjectItem(obj, "metadata"), "annotations");
    char *big = malloc(200 * 1024 + 1);
    memset(big, 'x', 200 * 1024);
    big[200 * 1024] = 0;
    cJSON_AddStringToObject(ann, "a", big);
    int rc;
    char *got = vt_errors(obj, NULL, &rc);
    CHECK_STR(got, "");
    free(got);
    cJSON_AddStringToObject(ann, "b", big);
    got = vt_errors(obj, NULL, &rc);
    CHECK_STR(got, "metadata.annotations: Too long: must have at most 262144 bytes");
    CHECK_INT(rc, BERTH_EINVAL);
    free(got);
    free(big);
    cJSON_Delete(obj);
}

BERTH_TEST(validate_collects_every_error)
{
    static const vcase many[] = {
        {"three-faults", "Deployment",
         "{'metadata':{'name':'Web'},'spec':{'replicas':-1,'template':{'spec':{'containers':"
         "[{'name':'web','ports':[{'containerPort':80,'protocol':'HTTP'}]}]}}}}",
         "metadata.name: Invalid value: \"Web\": " VT_SUBDOMAIN "\n"
         "spec.replicas: Invalid value: -1: " VT_NONNEG "\n"
         "spec.template.spec.containers[0].image: Required value\n"
         "spec.template.spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": "
         "supported values: \"SCTP\", \"TCP\", \"UDP\""},
    };
    vt_run(many, 1);
}

BERTH_TEST(validate_rejects_non_objects)
{
    berth_errlist errs = {0};
    const berth_kind *k = berth_kind_find(NULL, "Pod");
    cJSON *arr = cJSON_CreateArray();
    CHECK_INT(berth_validate(k, arr, NULL, &errs), BERTH_EINVAL);
    CHECK_INT(errs.n, 1);
    CHECK_STR(errs.v[0].message, "[]: Invalid value: must be a JSON object");
    CHECK_INT(berth_validate(NULL, arr, NULL, &errs), BERTH_EINVAL);
    CHECK_INT(berth_default(k, arr), 0);
    berth_errlist_free(&errs);
    berth_errlist_free(&errs); /* a freed list is empty and may be freed again */
    cJSON_Delete(arr);
}

/* ---- The error list and name checkers ---- */

BERTH_TEST(validate_errlist_renders_go_values)
{
    berth_errlist l = {0};
    cJSON *s = cJSON_CreateString("a\"b\\c\n");
    cJSON *n = cJSON_CreateNumber(-3);
    cJSON *m = cJSON_Parse("{\"b\":\"2\",\"a\":\"1\"}");
    cJSON *a = cJSON_Parse("[\"x\",\"y\"]");
    cJSON *o = cJSON_Parse("{\"a\":1}");
    berth_errlist_add(&l, BERTH_FIELD_INVALID, "f", s, "bad %d", 7);
    berth_errlist_add(&l, BERTH_FIELD_INVALID, "f", n, NULL);
    berth_errlist_add(&l, BERTH_FIELD_INVALID, "f", m, "x");
    berth_errlist_add(&l, BERTH_FIELD_INVALID, "f", a, "x");
    berth_errlist_add(&l, BERTH_FIELD_INVALID, "f", o, "x");
    berth_errlist_add(&l, BERTH_FIELD_REQUIRED, "f", s, NULL);
    berth_errlist_add(&l, BERTH_FIELD_FORBIDDEN, "f", s, "no");
    berth_errlist_add(&l, BERTH_FIELD_DUPLICATE, "f", s, NULL);
    berth_errlist_add(&l, BERTH_FIELD_NOTFOUND, "f", s, NULL);
    CHECK_INT(l.n, 9);
    CHECK_STR(l.v[0].message, "f: Invalid value: \"a\\\"b\\\\c\\n\": bad 7");
    CHECK_STR(l.v[1].message, "f: Invalid value: -3");
    CHECK_STR(l.v[2].message, "f: Invalid value: map[string]string{\"a\":\"1\", \"b\":\"2\"}: x");
    CHECK_STR(l.v[3].message, "f: Invalid value: []string{\"x\", \"y\"}: x");
    CHECK_STR(l.v[4].message, "f: Invalid value: {\"a\":1}: x");
    CHECK_STR(l.v[5].message, "f: Required value");
    CHECK_STR(l.v[6].message, "f: Forbidden: no");
    CHECK_STR(l.v[7].message, "f: Duplicate value: \"a\\\"b\\\\c\\n\"");
    CHECK_STR(l.v[8].message, "f: Not found: \"a\\\"b\\\\c\\n\"");
    CHECK_STR(l.v[0].field, "f");
    CHECK_INT(l.v[6].type, BERTH_FIELD_FORBIDDEN);
    CHECK_STR(berth_field_err_reason(BERTH_FIELD_UNSUPPORTED), "FieldValueNotSupported");
    CHECK_STR(berth_field_err_reason(BERTH_FIELD_TOOLONG), "FieldValueTooLong");
    CHECK_STR(berth_field_err_text(BERTH_FIELD_UNSUPPORTED), "Unsupported value");
    CHECK_STR(berth_field_err_text(BERTH_FIELD_DUPLICATE), "Duplicate value");
    berth_errlist_free(&l);
    CHECK_INT(l.n, 0);
    cJSON_Delete(s);
    cJSON_Delete(n);
    cJSON_Delete(m);
    cJSON_Delete(a);
    cJSON_Delete(o);
}

BERTH_TEST(validate_name_checkers)
{
    CHECK(berth_check_dns1123_subdomain("web.example.com") == NULL);
    CHECK_STR(berth_check_dns1123_subdomain("Web"), VT_SUBDOMAIN);
    CHECK_STR(berth_check_dns1123_subdomain(""), VT_SUBDOMAIN);
    CHECK_STR(berth_check_dns1123_subdomain("a..b"), VT_SUBDOMAIN);
    CHECK(berth_check_dns1123_label("web-1") == NULL);
    CHECK(berth_check_dns1123_label("1web") == NULL);
    CHECK_STR(berth_check_dns1123_label("web."), VT_LABEL);
    CHECK_STR(berth_check_dns1123_label("web.a"), "must not contain dots");
    CHECK_STR(berth_check_dns1123_label("a234567890123456789012345678901234567890123456789012345678901234"),
              "must be no more than 63 characters");
    CHECK(berth_check_dns1035_label("web-1") == NULL);
    CHECK_STR(berth_check_dns1035_label("1web"), VT_DNS1035);
    CHECK(berth_check_label_key("app.kubernetes.io/name") == NULL);
    CHECK(berth_check_label_key("My_Key.1") == NULL);
    CHECK_STR(berth_check_label_key("Bad Key"), VT_QNAME);
    CHECK_STR(berth_check_label_key(""), "name part must be non-empty");
    CHECK_STR(berth_check_label_key("example.com/"), "name part must be non-empty");
    CHECK(berth_check_label_value("") == NULL);
    CHECK(berth_check_label_value("v1.2_3-x") == NULL);
    CHECK(berth_check_label_value("a b") != NULL);
    CHECK(berth_check_label_value(NULL) == NULL);
}

/* ---- Robustness: every member of every manifest, given the wrong type ---- */

/* Replaces the n-th node (pre-order, below root) with v; returns true when
 * it was found. */
static bool replace_nth(cJSON *parent, int *n, cJSON *v)
{
    for (cJSON *it = parent->child; it; it = it->next) {
        if ((*n)-- == 0) {
            if (it->string)
                v->string = strdup(it->string); /* the member keeps its name */
            return cJSON_ReplaceItemViaPointer(parent, it, v);
        }
        if ((cJSON_IsObject(it) || cJSON_IsArray(it)) && replace_nth(it, n, v))
            return true;
    }
    return false;
}

static bool delete_nth(cJSON *parent, int *n)
{
    for (cJSON *it = parent->child; it; it = it->next) {
        if ((*n)-- == 0) {
            cJSON_Delete(cJSON_DetachItemViaPointer(parent, it));
            return true;
        }
        if ((cJSON_IsObject(it) || cJSON_IsArray(it)) && delete_nth(it, n))
            return true;
    }
    return false;
}

static void mangle_all(const cJSON *orig)
{
    /* "0" stands in for a member that is left out altogether. */
    static const char *const variants[] = {"null", "\"x\"", "-1", "1.5", "true", "[]", "[1]",
                                           "{}", "{\"a\":1}", "0"};
    for (int i = 0;; i++) {
        bool found = false;
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
            cJSON *obj = cJSON_Duplicate(orig, 1);
            cJSON *val = cJSON_Parse(variants[v]);
            int n = i;
            found = replace_nth(obj, &n, val);
            if (found && v + 1 == sizeof variants / sizeof variants[0]) {
                cJSON_Delete(obj);
                obj = cJSON_Duplicate(orig, 1);
                n = i;
                delete_nth(obj, &n);
            }
            if (!found) {
                cJSON_Delete(val);
                cJSON_Delete(obj);
                break;
            }
            const berth_kind *k = berth_kind_of(orig);
            cJSON *old = cJSON_Duplicate(orig, 1);
            berth_default(k, obj);
            berth_default(k, old);
            berth_errlist errs = {0};
            int rc = berth_validate(k, obj, NULL, &errs);
            CHECK(rc == 0 || rc == BERTH_EINVAL);
            CHECK((rc == 0) == (errs.n == 0));
            berth_errlist_free(&errs);
            berth_validate(k, obj, old, &errs);
            berth_validate(k, old, obj, &errs);
            berth_errlist_free(&errs);
            (void)berth_spec_changed(old, obj);
            cJSON_Delete(old);
            cJSON_Delete(obj);
        }
        if (!found)
            break;
    }
}

BERTH_TEST(validate_survives_wrong_types)
{
    static const char *const files[] = {
        "nginx-deployment.json", "pi-job.json", "hello-cronjob.json", "web-statefulset.json",
        "my-service.json", "game-configmap.json", "dotfile-secret.json", "full-pod.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        cJSON *obj = vt_load(files[i]);
        mangle_all(obj);
        cJSON_Delete(obj);
    }
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        cJSON *obj = vt_json(bases[i].json);
        mangle_all(obj);
        cJSON_Delete(obj);
    }
}
