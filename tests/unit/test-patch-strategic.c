/* Strategic merge patch: merge keys from the Kubernetes types, the
 * directives, Kubernetes' list ordering, hostile input, and the whole
 * `kubectl apply` flow (3-way patch, then strategic merge on the server). */
#include <string.h>

#include "berth/errno.h"
#include "berth/patch.h"
#include "test-patch.h"
#include "test.h"

typedef struct {
    const char *kind, *target, *patch;
    const char *result; /* NULL when the patch must fail */
    int rc;
    const char *msg; /* a fragment the error must contain */
} smp_case;

static void run_smp_cases(const smp_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const smp_case *c = &cases[i];
        cJSON *t = TP_PARSE(c->target), *p = TP_PARSE(c->patch);
        char err[512] = "";
        int rc = berth_patch_strategic(t, p, c->kind, err, sizeof err);
        if (rc != c->rc)
            berth_test_fail(__FILE__, __LINE__, "case %zu: rc %d (%s), expected %d", i, rc,
                            err, c->rc);
        if (c->result)
            TP_EXPECT(t, c->result);
        if (c->msg && !strstr(err, c->msg))
            berth_test_fail(__FILE__, __LINE__, "case %zu: error \"%s\" lacks \"%s\"", i,
                            err, c->msg);
        cJSON_Delete(t);
        cJSON_Delete(p);
    }
}

/* A Deployment whose pod template has two containers, web and side. */
#define DEPLOY(containers) "{'spec':{'template':{'spec':{'containers':" containers "}}}}"
#define TWO "[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'}]}," \
            "{'name':'side','image':'busybox'}]"

BERTH_TEST(patch_strategic_containers_by_name)
{
    static const smp_case cases[] = {
        /* Adding an env var to one container. Without $setElementOrder
         * Kubernetes puts a new item before the ones only the target had. */
        {"Deployment", DEPLOY(TWO), DEPLOY("[{'name':'web','env':[{'name':'B','value':'2'}]}]"),
         DEPLOY("[{'name':'web','image':'nginx','env':[{'name':'B','value':'2'},"
                "{'name':'A','value':'1'}]},{'name':'side','image':'busybox'}]"), 0, NULL},
        /* With the order kubectl sends, it lands where the manifest has it. */
        {"Deployment", DEPLOY(TWO),
         "{'spec':{'template':{'spec':{'containers':[{'name':'web',"
         "'$setElementOrder/env':[{'name':'A'},{'name':'B'}],"
         "'env':[{'name':'B','value':'2'}]}]}}}}",
         DEPLOY("[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'},"
                "{'name':'B','value':'2'}]},{'name':'side','image':'busybox'}]"), 0, NULL},
        /* Changing the image of the second container keeps both in place. */
        {"Deployment", DEPLOY(TWO), DEPLOY("[{'name':'side','image':'busybox:2'}]"),
         DEPLOY("[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'}]},"
                "{'name':'side','image':'busybox:2'}]"), 0, NULL},
        /* Deleting a container. */
        {"Deployment", DEPLOY(TWO), DEPLOY("[{'name':'side','$patch':'delete'}]"),
         DEPLOY("[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'}]}]"), 0, NULL},
        /* Deleting one that is not there changes nothing. */
        {"Deployment", DEPLOY(TWO), DEPLOY("[{'name':'nope','$patch':'delete'}]"), DEPLOY(TWO),
         0, NULL},
        /* Removing an env var with null inside a merged item. */
        {"Deployment", DEPLOY(TWO), DEPLOY("[{'name':'web','env':null,'image':'nginx:2'}]"),
         DEPLOY("[{'name':'web','image':'nginx:2'},{'name':'side','image':'busybox'}]"), 0,
         NULL},
        /* The same list under a Pod, a Job and a CronJob. */
        {"Pod", "{'spec':{'containers':" TWO "}}",
         "{'spec':{'containers':[{'name':'web','image':'x'}]}}",
         "{'spec':{'containers':[{'name':'web','image':'x','env':[{'name':'A','value':'1'}]},"
         "{'name':'side','image':'busybox'}]}}", 0, NULL},
        {"Job", DEPLOY("[{'name':'a','image':'1'}]"), DEPLOY("[{'name':'a','args':['x']}]"),
         DEPLOY("[{'name':'a','image':'1','args':['x']}]"), 0, NULL},
        {"CronJob", "{'spec':{'jobTemplate':" DEPLOY("[{'name':'a','image':'1'}]") "}}",
         "{'spec':{'jobTemplate':" DEPLOY("[{'name':'a','image':'2'}]") "}}",
         "{'spec':{'jobTemplate':" DEPLOY("[{'name':'a','image':'2'}]") "}}", 0, NULL},
        /* initContainers merge too; a new one is added. */
        {"StatefulSet", "{'spec':{'template':{'spec':{'initContainers':[{'name':'i'}]}}}}",
         "{'spec':{'template':{'spec':{'initContainers':[{'name':'j'}]}}}}",
         "{'spec':{'template':{'spec':{'initContainers':[{'name':'j'},{'name':'i'}]}}}}", 0,
         NULL},
    };
    run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_strategic_ordering_directives)
{
    static const smp_case cases[] = {
        /* $setElementOrder alone reorders. */
        {"Pod", "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}",
         "{'spec':{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}", 0, NULL},
        /* Items the order does not name stay where they stood. */
        {"Pod", "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'d'},{'name':'b'}],"
         "'containers':[{'name':'d','image':'x'}]}}",
         "{'spec':{'containers':[{'name':'a'},{'name':'d','image':'x'},{'name':'b'},"
         "{'name':'c'}]}}", 0, NULL},
        /* Names in the order that exist nowhere are ignored. */
        {"Pod", "{'spec':{'containers':[{'name':'1'},{'name':'3'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'3'},{'name':'2'},{'name':'1'}],"
         "'containers':[{'name':'3','image':'3'},{'name':'1','image':'1'}]}}",
         "{'spec':{'containers':[{'name':'3','image':'3'},{'name':'1','image':'1'}]}}", 0, NULL},
        /* The patch list out of the order's sequence is refused. */
        {"Pod", "{'spec':{'containers':[{'name':'1'},{'name':'3'},{'name':'2'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'1'},{'name':'2'},{'name':'3'}],"
         "'containers':[{'name':'3'},{'name':'1'}]}}",
         NULL, BERTH_EBADREQUEST, "does not match its $setElementOrder"},
        /* The order of the patch list itself ranks above the target's. */
        {"Pod", "{'spec':{'containers':[{'name':'1'},{'name':'2','v':'b'},{'name':'3'}]}}",
         "{'spec':{'containers':[{'name':'3','v':'c'},{'name':'1','v':'a'}]}}",
         "{'spec':{'containers':[{'name':'2','v':'b'},{'name':'3','v':'c'},"
         "{'name':'1','v':'a'}]}}", 0, NULL},
        /* Ordering a list the patch does not otherwise touch, or a
         * primitive list. */
        {"Pod", "{'metadata':{'finalizers':['a','b','c']}}",
         "{'metadata':{'$setElementOrder/finalizers':['c','b','a']}}",
         "{'metadata':{'finalizers':['c','b','a']}}", 0, NULL},
        /* What kubectl sends when a container leaves the manifest, and when
         * one changes its image. */
        {"Deployment", DEPLOY(TWO),
         "{'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'web'}],"
         "'containers':[{'$patch':'delete','name':'side'}]}}}}",
         DEPLOY("[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'}]}]"), 0, NULL},
        {"Deployment", DEPLOY(TWO),
         "{'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'web'},"
         "{'name':'side'}],'containers':[{'image':'busybox:2','name':'side'}]}}}}",
         DEPLOY("[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'}]},"
                "{'name':'side','image':'busybox:2'}]"), 0, NULL},
        /* An atomic list with an order directive is simply replaced. */
        {"Pod", "{'spec':{'tolerations':[{'key':'a'}]}}",
         "{'spec':{'$setElementOrder/tolerations':[{'key':'b'}],'tolerations':[{'key':'b'}]}}",
         "{'spec':{'tolerations':[{'key':'b'}]}}", 0, NULL},
    };
    run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_strategic_primitive_lists)
{
    static const smp_case cases[] = {
        /* finalizers merge as a set... */
        {"Deployment", "{'metadata':{'finalizers':['a','b']}}",
         "{'metadata':{'finalizers':['b','c']}}", "{'metadata':{'finalizers':['a','b','c']}}", 0,
         NULL},
        /* ...new values before the target's unless ordered, as Kubernetes... */
        {"Deployment", "{'metadata':{'finalizers':['a','b']}}", "{'metadata':{'finalizers':['c']}}",
         "{'metadata':{'finalizers':['c','a','b']}}", 0, NULL},
        {"Deployment", "{'metadata':{'finalizers':['a','b']}}",
         "{'metadata':{'$setElementOrder/finalizers':['a','b','c'],'finalizers':['c']}}",
         "{'metadata':{'finalizers':['a','b','c']}}", 0, NULL},
        /* ...duplicates collapse, and values are removed by directive. */
        {"Pod", "{'metadata':{'finalizers':['a','a','b']}}", "{'metadata':{'finalizers':['b']}}",
         "{'metadata':{'finalizers':['a','b']}}", 0, NULL},
        {"Pod", "{'metadata':{'finalizers':['a','b','c']}}",
         "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b','x']}}",
         "{'metadata':{'finalizers':['a','c']}}", 0, NULL},
        /* kubectl's full shape: order, additions and deletions together. */
        {"Pod", "{'metadata':{'finalizers':['a','b']}}",
         "{'metadata':{'$setElementOrder/finalizers':['a','c'],'finalizers':['c'],"
         "'$deleteFromPrimitiveList/finalizers':['b']}}",
         "{'metadata':{'finalizers':['a','c']}}", 0, NULL},
        /* Deleting from a list that is not there is a no-op. */
        {"Pod", "{'metadata':{}}", "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b']}}",
         "{'metadata':{}}", 0, NULL},
        /* Lists without a merge strategy are replaced. */
        {"Pod", "{'spec':{'containers':[{'name':'a','args':['1','2']}]}}",
         "{'spec':{'containers':[{'name':'a','args':['3']}]}}",
         "{'spec':{'containers':[{'name':'a','args':['3']}]}}", 0, NULL},
    };
    run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_strategic_other_merge_keys)
{
    static const smp_case cases[] = {
        /* Container ports by containerPort. */
        {"Pod", "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'name':'http'},"
                "{'containerPort':443}]}]}}",
         "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'protocol':'TCP'}]}]}}",
         "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80,'name':'http',"
         "'protocol':'TCP'},{'containerPort':443}]}]}}", 0, NULL},
        /* volumeMounts by mountPath, volumes by name. */
        {"Pod", "{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/d',"
                "'name':'x'}]}],'volumes':[{'name':'x','emptyDir':{}}]}}",
         "{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/d','readOnly':true}]}],"
         "'volumes':[{'name':'y','emptyDir':{}}]}}",
         "{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/d','name':'x',"
         "'readOnly':true}]}],'volumes':[{'name':'y','emptyDir':{}},{'name':'x','emptyDir':{}}]}}",
         0, NULL},
        /* Conditions by type keep their places. */
        {"Pod", "{'status':{'conditions':[{'type':'Ready','status':'False'},"
                "{'type':'PodScheduled','status':'True'}]}}",
         "{'status':{'conditions':[{'type':'Ready','status':'True'}]}}",
         "{'status':{'conditions':[{'type':'Ready','status':'True'},"
         "{'type':'PodScheduled','status':'True'}]}}", 0, NULL},
        {"Node", "{'status':{'conditions':[{'type':'Ready','status':'False'}],"
                 "'addresses':[{'type':'InternalIP','address':'10.0.0.1'}]}}",
         "{'status':{'conditions':[{'type':'MemoryPressure','status':'False'}],"
         "'addresses':[{'type':'Hostname','address':'n1'}]}}",
         "{'status':{'conditions':[{'type':'MemoryPressure','status':'False'},"
         "{'type':'Ready','status':'False'}],'addresses':[{'type':'Hostname','address':'n1'},"
         "{'type':'InternalIP','address':'10.0.0.1'}]}}", 0, NULL},
        {"Deployment", "{'status':{'conditions':[{'type':'Available','status':'True'}]}}",
         "{'status':{'conditions':[{'type':'Available','reason':'MinimumReplicasAvailable'}]}}",
         "{'status':{'conditions':[{'type':'Available','status':'True',"
         "'reason':'MinimumReplicasAvailable'}]}}", 0, NULL},
        /* Service ports by port. */
        {"Service", "{'spec':{'ports':[{'port':80,'targetPort':8080},{'port':443}]}}",
         "{'spec':{'ports':[{'port':443,'targetPort':8443}]}}",
         "{'spec':{'ports':[{'port':80,'targetPort':8080},{'port':443,'targetPort':8443}]}}", 0,
         NULL},
        /* ownerReferences by uid. */
        {"ReplicaSet", "{'metadata':{'ownerReferences':[{'uid':'u1','name':'a'}]}}",
         "{'metadata':{'ownerReferences':[{'uid':'u1','controller':true}]}}",
         "{'metadata':{'ownerReferences':[{'uid':'u1','name':'a','controller':true}]}}", 0,
         NULL},
        /* Tolerations are atomic in Kubernetes: replaced. */
        {"Pod", "{'spec':{'tolerations':[{'key':'a','operator':'Exists'}]}}",
         "{'spec':{'tolerations':[{'key':'b','operator':'Exists'}]}}",
         "{'spec':{'tolerations':[{'key':'b','operator':'Exists'}]}}", 0, NULL},
        /* A ConfigMap is built in but merges no lists; a custom kind gets a
         * plain merge patch. */
        {"ConfigMap", "{'data':{'a':'1','b':'2'},'metadata':{'finalizers':['x']}}",
         "{'data':{'a':null},'metadata':{'finalizers':['y']}}",
         "{'data':{'b':'2'},'metadata':{'finalizers':['y','x']}}", 0, NULL},
        {"Widget", "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
         "{'spec':{'containers':[{'name':'b','image':'x'}]}}",
         "{'spec':{'containers':[{'name':'b','image':'x'}]}}", 0, NULL},
        {NULL, "{'a':{'b':1}}", "{'a':{'c':2}}", "{'a':{'b':1,'c':2}}", 0, NULL},
    };
    run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_strategic_map_and_list_directives)
{
    static const smp_case cases[] = {
        /* Replacing the volumes list with a directive item. */
        {"Pod", "{'spec':{'volumes':[{'name':'a','emptyDir':{}},{'name':'b','emptyDir':{}}]}}",
         "{'spec':{'volumes':[{'name':'c','configMap':{'name':'cm'}},{'$patch':'replace'}]}}",
         "{'spec':{'volumes':[{'name':'c','configMap':{'name':'cm'}}]}}", 0, NULL},
        {"Pod", "{'spec':{'volumes':[{'name':'a'}]}}", "{'spec':{'volumes':[{'$patch':'replace'}]}}",
         "{'spec':{'volumes':[]}}", 0, NULL},
        /* $retainKeys on a volume: switching emptyDir for hostPath. */
        {"Pod", "{'spec':{'volumes':[{'name':'v','emptyDir':{}}]}}",
         "{'spec':{'volumes':[{'name':'v','hostPath':{'path':'/x'},"
         "'$retainKeys':['name','hostPath']}]}}",
         "{'spec':{'volumes':[{'name':'v','hostPath':{'path':'/x'}}]}}", 0, NULL},
        /* $retainKeys on the deployment strategy. */
        {"Deployment", "{'spec':{'strategy':{'type':'RollingUpdate','rollingUpdate':"
                       "{'maxSurge':1}}}}",
         "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
         "{'spec':{'strategy':{'type':'Recreate'}}}", 0, NULL},
        {"Deployment", "{'spec':{'strategy':{'type':'RollingUpdate'}}}",
         "{'spec':{'strategy':{'$retainKeys':['type'],'rollingUpdate':{'maxSurge':1}}}}",
         NULL, BERTH_EBADREQUEST, "$retainKeys does not list"},
        /* $patch in a map: replace and delete. */
        {"Pod", "{'metadata':{'labels':{'a':'1','b':'2'}}}",
         "{'metadata':{'labels':{'$patch':'replace','c':'3'}}}",
         "{'metadata':{'labels':{'c':'3'}}}", 0, NULL},
        {"Pod", "{'metadata':{'labels':{'a':'1'}}}", "{'metadata':{'labels':{'$patch':'delete'}}}",
         "{'metadata':{'labels':{}}}", 0, NULL},
        {"Pod", "{'metadata':{'labels':{'a':'1'}}}",
         "{'metadata':{'labels':{'$patch':'merge','b':'2'}}}",
         "{'metadata':{'labels':{'a':'1','b':'2'}}}", 0, NULL},
        {"Pod", "{'a':1}", "{'$patch':'replace','b':2}", "{'b':2}", 0, NULL},
        /* null deletes; nulls inside new values vanish. */
        {"Pod", "{'metadata':{'labels':{'a':'1','b':'2'}}}",
         "{'metadata':{'labels':{'a':null},'annotations':{'x':null,'y':'1'}}}",
         "{'metadata':{'labels':{'b':'2'},'annotations':{'y':'1'}}}", 0, NULL},
        /* Directives inside brand-new values are resolved, not stored. */
        {"Pod", "{'spec':{}}",
         "{'spec':{'containers':[{'name':'a','env':[{'name':'X'},{'name':'Y','$patch':'delete'}]}]}}",
         "{'spec':{'containers':[{'name':'a','env':[{'name':'X'}]}]}}", 0, NULL},
    };
    run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_strategic_rejects_hostile_input)
{
    static const smp_case cases[] = {
        {"Pod", "{'spec':{'containers':[{'name':'a'}]}}", "{'spec':{'containers':{'name':'a'}}}",
         NULL, BERTH_EINVAL, "spec.containers: expected a list, the patch has an object"},
        {"Pod", "{'spec':{'containers':[{'name':'a'}]}}", "{'spec':{'containers':[{'image':'x'}]}}",
         NULL, BERTH_EBADREQUEST, "item 0 of the patch lacks the merge key \"name\""},
        {"Pod", "{'spec':{'containers':[{'image':'x'}]}}", "{'spec':{'containers':[{'name':'a'}]}}",
         NULL, BERTH_EINVAL, "item 0 of the target lacks"},
        {"Pod", "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'containers':[{'name':{'x':1}}]}}", NULL, BERTH_EBADREQUEST, "non-scalar"},
        {"Pod", "{'spec':{'containers':['a']}}", "{'spec':{'containers':[{'name':'a'}]}}", NULL,
         BERTH_EBADREQUEST, "item 0 of the patch is an object"},
        {"Pod", "{'spec':{'containers':['a']}}", "{'spec':{'containers':['b']}}", NULL,
         BERTH_EINVAL, "merge key \"name\""},
        {"Pod", "{'metadata':{'finalizers':['a']}}", "{'metadata':{'finalizers':[['b']]}}", NULL,
         BERTH_EBADREQUEST, "lists of lists"},
        {"Pod", "{'metadata':{'finalizers':['a']}}", "{'metadata':{'finalizers':[{'b':1}]}}",
         NULL, BERTH_EBADREQUEST, "metadata.finalizers"},
        {"Pod", "{'metadata':{'finalizers':[{'a':1}]}}", "{'metadata':{'finalizers':[{'b':1}]}}",
         NULL, BERTH_EINVAL, "cannot hold objects"},
        {"Pod", "{'a':{}}", "{'a':{'$patch':'frob'}}", NULL, BERTH_EBADREQUEST,
         "unknown $patch directive \"frob\""},
        {"Pod", "{'a':{}}", "{'a':{'$patch':5}}", NULL, BERTH_EBADREQUEST, "unknown $patch"},
        {"Pod", "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'containers':[{'name':'a','$patch':'merge'}]}}", NULL, BERTH_EBADREQUEST,
         "not supported in a list item"},
        {"Pod", "{'spec':{}}", "{'spec':{'$setElementOrder/containers':{'name':'a'}}}", NULL,
         BERTH_EBADREQUEST, "must be a list"},
        {"Pod", "{'spec':{}}", "{'spec':{'$setElementOrder/containers':[{'x':'a'}],"
                               "'containers':[{'name':'a'}]}}",
         NULL, BERTH_EBADREQUEST, "carrying the merge key"},
        {"Pod", "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'$setElementOrder/containers':[],'containers':null}}", NULL, BERTH_EINVAL,
         "the patch has null here"},
        {"Pod", "{'spec':{}}", "{'spec':{'$setElementOrder/':[]}}", NULL, BERTH_EBADREQUEST,
         "needs a list name"},
        {"Pod", "{'a':{}}", "{'a':{'$retainKeys':'x'}}", NULL, BERTH_EBADREQUEST,
         "list of strings"},
        {"Pod", "{'a':{}}", "{'a':{'$retainKeys':[1]}}", NULL, BERTH_EBADREQUEST,
         "list of strings"},
        {"Pod", "{'m':{'f':[{'a':1}]}}", "{'m':{'$deleteFromPrimitiveList/f':['a']}}", NULL,
         BERTH_EINVAL, "lists of scalars"},
        {"Pod", "{'m':{'f':['a']}}", "{'m':{'$deleteFromPrimitiveList/f':'a'}}", NULL,
         BERTH_EBADREQUEST, "must be a list"},
        {"Pod", "{'m':{'f':'a'}}", "{'m':{'$deleteFromPrimitiveList/f':['a']}}", NULL,
         BERTH_EINVAL, "the target has a string"},
        {"Pod", "{}", "[1]", NULL, BERTH_EBADREQUEST, "must be a JSON object"},
        {"Pod", "[1]", "{}", NULL, BERTH_EINVAL, "target must be a JSON object"},
        /* Where Kubernetes replaces on a type change, so does berth. */
        {"Pod", "{'spec':{'nodeSelector':'x'}}", "{'spec':{'nodeSelector':{'a':'1','b':null}}}",
         "{'spec':{'nodeSelector':{'a':'1'}}}", 0, NULL},
    };
    run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_strategic_refuses_deep_nesting)
{
    cJSON *t = TP_PARSE("{}"), *p = cJSON_CreateObject(), *cur = p;
    for (int i = 0; i < 120; i++)
        cur = cJSON_AddObjectToObject(cur, "spec");
    char err[256] = "";
    CHECK_INT(berth_patch_strategic(t, p, "Pod", err, sizeof err), BERTH_ETOOLARGE);
    CHECK(strstr(err, "deeper than 100") != NULL);
    TP_EXPECT(t, "{}");
    cJSON_Delete(t);
    cJSON_Delete(p);
}

/* `kubectl apply` of an edited nginx Deployment: the last-applied manifest,
 * the edited one, and the live object with server-set fields and defaults. */
static const char applied[] =
    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'nginx',"
    "'namespace':'default','labels':{'app':'nginx'},'annotations':{'team':'web'}},"
    "'spec':{'replicas':3,'selector':{'matchLabels':{'app':'nginx'}},'template':{"
    "'metadata':{'labels':{'app':'nginx'}},'spec':{'containers':[{'name':'nginx',"
    "'image':'nginx:1.25','ports':[{'containerPort':80}]}]}}}}";
static const char edited[] =
    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'nginx',"
    "'namespace':'default','labels':{'app':'nginx'},'annotations':{"
    "'kubectl.kubernetes.io/last-applied-configuration':'v2'}},"
    "'spec':{'replicas':5,'selector':{'matchLabels':{'app':'nginx'}},'template':{"
    "'metadata':{'labels':{'app':'nginx'}},'spec':{'containers':[{'name':'nginx',"
    "'image':'nginx:1.27','ports':[{'containerPort':80}]}]}}}}";
#define LIVE(replicas, image, annotations)                                              \
    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'nginx',"           \
    "'namespace':'default','uid':'3f1c','resourceVersion':'812','generation':1,"        \
    "'creationTimestamp':'2024-05-01T10:00:00Z','labels':{'app':'nginx'},"             \
    "'annotations':" annotations "},'spec':{'replicas':" replicas ","                   \
    "'revisionHistoryLimit':10,'progressDeadlineSeconds':600,'strategy':{"              \
    "'type':'RollingUpdate','rollingUpdate':{'maxSurge':'25%','maxUnavailable':'25%'}},"\
    "'selector':{'matchLabels':{'app':'nginx'}},'template':{'metadata':{'labels':"     \
    "{'app':'nginx'}},'spec':{'restartPolicy':'Always','dnsPolicy':'ClusterFirst',"     \
    "'containers':[{'name':'nginx','image':'" image "','imagePullPolicy':"             \
    "'IfNotPresent','terminationMessagePath':'/dev/termination-log','resources':{},"   \
    "'ports':[{'containerPort':80,'protocol':'TCP'}]}]}}},'status':{'replicas':3,"       \
    "'readyReplicas':3,'observedGeneration':1,'conditions':[{'type':'Available',"      \
    "'status':'True'}]}}"

BERTH_TEST(patch_strategic_kubectl_apply_flow)
{
    cJSON *original = TP_PARSE(applied), *modified = TP_PARSE(edited);
    cJSON *live = TP_PARSE(LIVE("3", "nginx:1.25",
                                "{'kubectl.kubernetes.io/last-applied-configuration':'v1',"
                                "'team':'web','deployment.kubernetes.io/revision':'1'}"));
    cJSON *patch = NULL;
    char err[256] = "";
    CHECK_INT(berth_patch_create_3way(original, modified, live, &patch, err, sizeof err), 0);
    /* The dropped annotation is deleted, the changed fields set; the pod
     * template's containers travel whole and merge by name on the server. */
    TP_EXPECT(patch, "{'metadata':{'annotations':{'team':null,"
                     "'kubectl.kubernetes.io/last-applied-configuration':'v2'}},"
                     "'spec':{'replicas':5,'template':{'spec':{'containers':[{'name':'nginx',"
                     "'image':'nginx:1.27','ports':[{'containerPort':80}]}]}}}}");
    CHECK_INT(berth_patch_strategic(live, patch, "Deployment", err, sizeof err), 0);
    TP_EXPECT(live, LIVE("5", "nginx:1.27",
                         "{'kubectl.kubernetes.io/last-applied-configuration':'v2',"
                         "'deployment.kubernetes.io/revision':'1'}"));
    /* Applying the same manifest again sends only what still differs: the
     * container list, which the server's defaults make unequal. */
    cJSON *again = NULL;
    CHECK_INT(berth_patch_create_3way(modified, modified, live, &again, err, sizeof err), 0);
    CHECK(cJSON_GetObjectItem(again, "metadata") == NULL);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(again, "spec"), "replicas") == NULL);
    cJSON_Delete(again);
    cJSON_Delete(patch);
    cJSON_Delete(original);
    cJSON_Delete(modified);
    cJSON_Delete(live);
}
