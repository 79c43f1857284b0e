/* Validation of pod specs: containers, ports, environment, resources,
 * volumes, probes, policies and scheduling constraints. */
#include "test-validate.h"
#include "test.h"

#define T "spec.template.spec."
#define C0 "spec.containers[0]."
/* A Pod whose only container carries extra members. */
#define POD_CTR(extra) "{'spec':{'containers':[{'name':'c','image':'busybox'," extra "}]}}"
#define POD_SPEC(extra) "{'spec':{" extra "}}"

static const vcase container_cases[] = {
    {"no-containers", "Deployment", "{'spec':{'template':{'spec':{'containers':[]}}}}",
     T "containers: Required value"},
    {"no-image", "Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'nginx'}]}}}}",
     T "containers[0].image: Required value"},
    {"no-container-name", "Pod", "{'spec':{'containers':[{'image':'busybox'}]}}",
     C0 "name: Required value"},
    {"bad-container-name", "Pod", "{'spec':{'containers':[{'name':'Nginx','image':'x'}]}}",
     C0 "name: Invalid value: \"Nginx\": " VT_LABEL},
    {"duplicate-container", "Pod",
     "{'spec':{'containers':[{'name':'a','image':'x'},{'name':'a','image':'y'}]}}",
     "spec.containers[1].name: Duplicate value: \"a\""},
    {"init-duplicates-container", "Pod",
     "{'spec':{'initContainers':[{'name':'c','image':'x'}]}}",
     "spec.initContainers[0].name: Duplicate value: \"c\""},
    {"init-container-probe", "Pod",
     "{'spec':{'initContainers':[{'name':'i','image':'x','readinessProbe':{'exec':{'command':['true']}}}]}}",
     "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers "
     "without restartPolicy=Always"},
    {"container-not-object", "Pod", "{'spec':{'containers':['nginx']}}",
     "spec.containers[0]: Invalid value: \"nginx\": must be an object"},
    {"pull-policy", "Pod", POD_CTR("'imagePullPolicy':'Sometimes'"),
     C0 "imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
        "\"IfNotPresent\", \"Never\""},
    {"termination-message-policy", "Pod", POD_CTR("'terminationMessagePolicy':'Logs'"),
     C0 "terminationMessagePolicy: Unsupported value: \"Logs\": supported values: \"File\", "
        "\"FallbackToLogsOnError\""},
    {"port-missing", "Pod", POD_CTR("'ports':[{'name':'http'}]"),
     C0 "ports[0].containerPort: Required value"},
    {"port-range", "Pod", POD_CTR("'ports':[{'containerPort':70000}]"),
     C0 "ports[0].containerPort: Invalid value: 70000: " VT_PORT_RANGE},
    {"host-port", "Pod", POD_CTR("'ports':[{'containerPort':80,'hostPort':-1}]"),
     C0 "ports[0].hostPort: Invalid value: -1: " VT_PORT_RANGE},
    {"port-protocol", "Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'i','ports':"
     "[{'containerPort':80,'protocol':'HTTP'}]}]}}}}",
     T "containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: "
       "\"SCTP\", \"TCP\", \"UDP\""},
    {"port-name-duplicate", "Pod",
     POD_CTR("'ports':[{'name':'http','containerPort':80},{'name':'http','containerPort':81}]"),
     C0 "ports[1].name: Duplicate value: \"http\""},
    {"port-name-iana", "Pod", POD_CTR("'ports':[{'name':'HTTP_1','containerPort':80}]"),
     C0 "ports[0].name: Invalid value: \"HTTP_1\": must contain only alpha-numeric characters "
        "(a-z, 0-9), and hyphens (-)\n"
     C0 "ports[0].name: Invalid value: \"HTTP_1\": must contain at least one letter (a-z)"},
    {"port-name-hyphens", "Pod", POD_CTR("'ports':[{'name':'a--b-','containerPort':80}]"),
     C0 "ports[0].name: Invalid value: \"a--b-\": must not contain consecutive hyphens\n"
     C0 "ports[0].name: Invalid value: \"a--b-\": must not begin or end with a hyphen"},
    {"port-wrong-type", "Pod", POD_CTR("'ports':[{'containerPort':'80'}]"),
     C0 "ports[0].containerPort: Invalid value: \"80\": must be an integer"},
};

static const vcase env_cases[] = {
    {"env-name", "Pod", POD_CTR("'env':[{'name':'A=B','value':'x'}]"),
     C0 "env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist "
        "only of printable ASCII characters other than '='"},
    {"env-no-name", "Pod", POD_CTR("'env':[{'value':'x'}]"), C0 "env[0].name: Required value"},
    {"env-two-sources", "Pod",
     POD_CTR("'env':[{'name':'A','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'},"
             "'secretKeyRef':{'name':'s','key':'k'}}}]"),
     C0 "env[0].valueFrom: Invalid value: \"\": may not have more than one field specified at "
        "a time"},
    {"env-no-source", "Pod", POD_CTR("'env':[{'name':'A','valueFrom':{}}]"),
     C0 "env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, "
        "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"},
    {"env-value-and-source", "Pod",
     POD_CTR("'env':[{'name':'A','value':'x','valueFrom':{'configMapKeyRef':{'name':'c','key':'k'}}}]"),
     C0 "env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"},
    {"env-field-path", "Pod",
     POD_CTR("'env':[{'name':'A','valueFrom':{'fieldRef':{'fieldPath':'spec.hostname'}}}]"),
     C0 "env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.hostname\": supported "
        "values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", "
        "\"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", "
        "\"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", "
        "\"status.podIP\", \"status.podIPs\""},
    {"env-key-ref", "Pod",
     POD_CTR("'env':[{'name':'A','valueFrom':{'secretKeyRef':{'name':'s'}}}]"),
     C0 "env[0].valueFrom.secretKeyRef.key: Required value"},
    {"env-from", "Pod", POD_CTR("'envFrom':[{'prefix':'X='}]"),
     C0 "envFrom[0].prefix: Invalid value: \"X=\": a valid environment variable name must "
        "consist only of printable ASCII characters other than '='\n"
     C0 "envFrom[0]: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`"},
};

static const vcase resource_cases[] = {
    {"bad-quantity", "Pod", POD_CTR("'resources':{'limits':{'cpu':'abc'}}"),
     /* The Pod's requests default to its limits, so both are reported. */
     C0 "resources.limits[cpu]: Invalid value: \"abc\": quantities must match the regular "
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n"
     C0 "resources.requests[cpu]: Invalid value: \"abc\": quantities must match the regular "
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
    {"request-above-limit", "Pod",
     POD_CTR("'resources':{'requests':{'cpu':'1'},'limits':{'cpu':'500m'}}"),
     C0 "resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m"},
    {"request-above-limit-binary", "Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'i','resources':"
     "{'requests':{'memory':'2Gi'},'limits':{'memory':'1Gi'}}}]}}}}",
     T "containers[0].resources.requests: Invalid value: \"2Gi\": must be less than or equal "
       "to memory limit of 1Gi"},
    {"negative-request", "Pod", POD_CTR("'resources':{'requests':{'memory':'-1Mi'}}"),
     C0 "resources.requests[memory]: Invalid value: \"-1Mi\": " VT_NONNEG},
    {"unqualified-resource", "Pod", POD_CTR("'resources':{'requests':{'gpu':'1'}}"),
     C0 "resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or "
        "fully qualified"},
    {"non-container-resource", "Pod", POD_CTR("'resources':{'requests':{'pods':'1'}}"),
     C0 "resources.requests[pods]: Invalid value: \"pods\": must be a standard resource for "
        "containers"},
    {"extended-needs-limit", "Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'i','resources':"
     "{'requests':{'example.com/gpu':'1'}}}]}}}}",
     T "containers[0].resources.limits: Required value: Limit must be set for non "
       "overcommitable resources"},
    {"extended-whole", "Pod", POD_CTR("'resources':{'limits':{'example.com/gpu':'500m'}}"),
     C0 "resources.limits[example.com/gpu]: Invalid value: \"500m\": must be an integer\n"
     C0 "resources.requests[example.com/gpu]: Invalid value: \"500m\": must be an integer"},
};

static const vcase volume_cases[] = {
    {"volume-duplicate", "Pod",
     POD_SPEC("'volumes':[{'name':'data','emptyDir':{}},{'name':'data','emptyDir':{}}]"),
     "spec.volumes[1].name: Duplicate value: \"data\""},
    {"volume-no-source", "Pod", POD_SPEC("'volumes':[{'name':'data'}]"),
     "spec.volumes[0]: Required value: must specify a volume type"},
    {"volume-two-sources", "Pod",
     POD_SPEC("'volumes':[{'name':'data','emptyDir':{},'hostPath':{'path':'/x'}}]"),
     "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"},
    {"volume-csi-driver", "Pod", POD_SPEC("'volumes':[{'name':'a','csi':{'driver':''}}]"),
     "spec.volumes[0].csi.driver: Required value"},
    {"volume-bad-name", "Pod", POD_SPEC("'volumes':[{'name':'My Data','emptyDir':{}}]"),
     "spec.volumes[0].name: Invalid value: \"My Data\": " VT_LABEL},
    {"volume-source-fields", "Pod",
     POD_SPEC("'volumes':[{'name':'a','secret':{}},{'name':'b','persistentVolumeClaim':{}},"
              "{'name':'c','configMap':{}}]"),
     "spec.volumes[0].secret.secretName: Required value\n"
     "spec.volumes[1].persistentVolumeClaim.claimName: Required value\n"
     "spec.volumes[2].configMap.name: Required value"},
    {"mount-unknown-volume", "Pod",
     POD_CTR("'volumeMounts':[{'name':'missing','mountPath':'/data'}]"),
     C0 "volumeMounts[0].name: Not found: \"missing\""},
    {"mount-relative", "Pod",
     "{'spec':{'volumes':[{'name':'d','emptyDir':{}}],'containers':[{'name':'c','image':'i',"
     "'volumeMounts':[{'name':'d','mountPath':'data'}]}]}}",
     C0 "volumeMounts[0].mountPath: Invalid value: \"data\": must be an absolute path"},
    {"mount-duplicate-path", "Pod",
     "{'spec':{'volumes':[{'name':'d','emptyDir':{}}],'containers':[{'name':'c','image':'i',"
     "'volumeMounts':[{'name':'d','mountPath':'/data'},{'name':'d','mountPath':'/data'}]}]}}",
     C0 "volumeMounts[1].mountPath: Invalid value: \"/data\": must be unique"},
    {"mount-no-path", "Pod",
     "{'spec':{'volumes':[{'name':'d','emptyDir':{}}],'containers':[{'name':'c','image':'i',"
     "'volumeMounts':[{'name':'d','subPath':'../x'}]}]}}",
     C0 "volumeMounts[0].mountPath: Required value\n"
     C0 "volumeMounts[0].subPath: Invalid value: \"../x\": must not contain '..'"},
};

static const vcase probe_cases[] = {
    {"probe-no-handler", "Pod", POD_CTR("'livenessProbe':{'periodSeconds':5}"),
     C0 "livenessProbe: Required value: must specify a handler type"},
    {"probe-two-handlers", "Pod",
     POD_CTR("'readinessProbe':{'httpGet':{'port':80},'tcpSocket':{'port':80}}"),
     C0 "readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"},
    {"probe-negative-period", "Pod",
     POD_CTR("'readinessProbe':{'exec':{'command':['true']},'periodSeconds':-1}"),
     C0 "readinessProbe.periodSeconds: Invalid value: -1: " VT_NONNEG},
    {"liveness-success-threshold", "Pod",
     POD_CTR("'livenessProbe':{'exec':{'command':['true']},'successThreshold':2}"),
     C0 "livenessProbe.successThreshold: Invalid value: 2: must be 1"},
    {"probe-port-and-scheme", "Pod",
     POD_CTR("'startupProbe':{'httpGet':{'port':0,'scheme':'FTP'},'failureThreshold':-2}"),
     C0 "startupProbe.httpGet.port: Invalid value: 0: " VT_PORT_RANGE "\n"
     C0 "startupProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", "
        "\"HTTPS\"\n"
     C0 "startupProbe.failureThreshold: Invalid value: -2: " VT_NONNEG},
    {"probe-exec-empty", "Pod", POD_CTR("'livenessProbe':{'exec':{}}"),
     C0 "livenessProbe.exec.command: Required value"},
    {"prestop-handler", "Pod", POD_CTR("'lifecycle':{'preStop':{}}"),
     C0 "lifecycle.preStop: Required value: must specify a handler type"},
};

static const vcase policy_cases[] = {
    {"deployment-restart-never", "Deployment",
     "{'spec':{'template':{'spec':{'restartPolicy':'Never'}}}}",
     T "restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""},
    {"pod-restart-policy", "Pod", POD_SPEC("'restartPolicy':'Sometimes'"),
     "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
     "\"OnFailure\", \"Never\""},
    {"dns-policy", "Pod", POD_SPEC("'dnsPolicy':'Cluster'"),
     "spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: "
     "\"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\""},
    {"dns-none-needs-config", "Pod", POD_SPEC("'dnsPolicy':'None'"),
     "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"},
    {"grace-period", "Pod", POD_SPEC("'terminationGracePeriodSeconds':-5"),
     "spec.terminationGracePeriodSeconds: Invalid value: -5: " VT_NONNEG},
    {"active-deadline", "Pod", POD_SPEC("'activeDeadlineSeconds':0"),
     "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"},
    {"node-selector", "Pod", POD_SPEC("'nodeSelector':{'-bad':'x'}"),
     "spec.nodeSelector: Invalid value: \"-bad\": " VT_QNAME},
    {"service-account-name", "Pod", POD_SPEC("'serviceAccountName':'Builder'"),
     "spec.serviceAccountName: Invalid value: \"Builder\": " VT_SUBDOMAIN},
    {"hostname", "Pod", POD_SPEC("'hostname':'web.1'"),
     "spec.hostname: Invalid value: \"web.1\": must not contain dots"},
};

static const vcase sched_cases[] = {
    {"toleration-operator", "Pod",
     POD_SPEC("'tolerations':[{'key':'k','operator':'Maybe'}]"),
     "spec.tolerations[0].operator: Unsupported value: \"Maybe\": supported values: "
     "\"Equal\", \"Exists\""},
    {"toleration-effect", "Pod",
     POD_SPEC("'tolerations':[{'key':'k','operator':'Exists','effect':'Never'}]"),
     "spec.tolerations[0].effect: Unsupported value: \"Never\": supported values: "
     "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""},
    {"toleration-exists-value", "Pod",
     POD_SPEC("'tolerations':[{'key':'k','operator':'Exists','value':'v'}]"),
     "spec.tolerations[0].operator: Invalid value: map[string]string{\"key\":\"k\", "
     "\"operator\":\"Exists\", \"value\":\"v\"}: value must be empty when `operator` is 'Exists'"},
    {"toleration-empty-key", "Pod", POD_SPEC("'tolerations':[{'operator':'Equal','value':'v'}]"),
     "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when "
     "`key` is empty, which means \"match all values and all keys\""},
    {"toleration-seconds", "Pod",
     POD_SPEC("'tolerations':[{'key':'k','effect':'NoSchedule','tolerationSeconds':5}]"),
     "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' "
     "when `tolerationSeconds` is set"},
    {"affinity-operator", "Pod",
     POD_SPEC("'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
              "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'disk','operator':'Like',"
              "'values':['ssd']}]}]}}}"),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: \"Like\": not a valid "
     "selector operator"},
    {"affinity-gt-values", "Pod",
     POD_SPEC("'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
              "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'cpu','operator':'Gt',"
              "'values':['1','2']}]}]}}}"),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified "
     "single value when `operator` is 'Lt' or 'Gt'"},
    {"affinity-exists-values", "Pod",
     POD_SPEC("'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':"
              "[{'weight':0,'preference':{'matchExpressions':[{'key':'a','operator':'Exists',"
              "'values':['x']}]}}]}}"),
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: "
     "Invalid value: 0: must be in the range 1-100\n"
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]."
     "preference.matchExpressions[0].values: Forbidden: may not be specified when `operator` "
     "is 'Exists' or 'DoesNotExist'"},
    {"affinity-no-terms", "Pod",
     POD_SPEC("'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
              "{'nodeSelectorTerms':[]}}}"),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms: Required value: must have at least one node selector term"},
    {"pod-affinity-topology", "Pod",
     POD_SPEC("'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
              "[{'labelSelector':{'matchLabels':{'app':'web'}}}]}}"),
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
     "topologyKey: Required value: can not be empty\n"
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
     "topologyKey: Invalid value: \"\": name part must be non-empty\n"
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
     "topologyKey: Invalid value: \"\": " VT_QNAME},
};

BERTH_TEST(validate_pod_containers)
{
    vt_run(container_cases, sizeof container_cases / sizeof container_cases[0]);
}

BERTH_TEST(validate_pod_env)
{
    vt_run(env_cases, sizeof env_cases / sizeof env_cases[0]);
}

BERTH_TEST(validate_pod_resources)
{
    vt_run(resource_cases, sizeof resource_cases / sizeof resource_cases[0]);
}

BERTH_TEST(validate_pod_volumes)
{
    vt_run(volume_cases, sizeof volume_cases / sizeof volume_cases[0]);
}

BERTH_TEST(validate_pod_probes)
{
    vt_run(probe_cases, sizeof probe_cases / sizeof probe_cases[0]);
}

BERTH_TEST(validate_pod_policies)
{
    vt_run(policy_cases, sizeof policy_cases / sizeof policy_cases[0]);
}

BERTH_TEST(validate_pod_scheduling)
{
    vt_run(sched_cases, sizeof sched_cases / sizeof sched_cases[0]);
}
