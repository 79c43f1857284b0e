/* Validation of Service, ConfigMap, Secret, Namespace, Node, volumes and
 * claims, Event, Lease, Endpoints and ServiceAccount. */
#include <stdlib.h>
#include <string.h>

#include "test-validate.h"
#include "test.h"

static const vcase service_cases[] = {
    {"no-ports", "Service", "{'spec':{'ports':null}}", "spec.ports: Required value"},
    {"port-zero", "Service", "{'spec':{'ports':[{'port':0}]}}",
     "spec.ports[0].port: Invalid value: 0: " VT_PORT_RANGE},
    {"unnamed-ports", "Service", "{'spec':{'ports':[{'port':80},{'port':443}]}}",
     "spec.ports[0].name: Required value\nspec.ports[1].name: Required value"},
    {"duplicate-port-names", "Service",
     "{'spec':{'ports':[{'name':'web','port':80},{'name':'web','port':81}]}}",
     "spec.ports[1].name: Duplicate value: \"web\""},
    {"bad-port-name", "Service", "{'spec':{'ports':[{'name':'Web','port':80}]}}",
     "spec.ports[0].name: Invalid value: \"Web\": " VT_LABEL},
    {"protocol", "Service", "{'spec':{'ports':[{'port':80,'protocol':'HTTP'}]}}",
     "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", "
     "\"UDP\""},
    {"target-port-range", "Service", "{'spec':{'ports':[{'port':80,'targetPort':70000}]}}",
     "spec.ports[0].targetPort: Invalid value: 70000: " VT_PORT_RANGE},
    {"target-port-digits", "Service", "{'spec':{'ports':[{'port':80,'targetPort':'8080'}]}}",
     "spec.ports[0].targetPort: Invalid value: \"8080\": must contain at least one letter (a-z)"},
    {"duplicate-port", "Service",
     "{'spec':{'ports':[{'name':'a','port':80},{'name':'b','port':80}]}}",
     "spec.ports[1]: Duplicate value: {\"protocol\":\"TCP\",\"port\":80}"},
    {"type", "Service", "{'spec':{'type':'Internal'}}",
     "spec.type: Unsupported value: \"Internal\": supported values: \"ClusterIP\", "
     "\"ExternalName\", \"LoadBalancer\", \"NodePort\""},
    {"external-name-missing", "Service", "{'spec':{'type':'ExternalName','ports':null}}",
     "spec.externalName: Required value"},
    {"external-name-bad", "Service",
     "{'spec':{'type':'ExternalName','externalName':'Bad_Name','ports':null}}",
     "spec.externalName: Invalid value: \"Bad_Name\": " VT_SUBDOMAIN},
    {"external-name-cluster-ip", "Service",
     "{'spec':{'type':'ExternalName','externalName':'db.example.com','clusterIP':'10.0.0.1'}}",
     "spec.clusterIP: Forbidden: may not be set for ExternalName services"},
    {"session-affinity", "Service", "{'spec':{'sessionAffinity':'Cookie'}}",
     "spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: \"ClientIP\", "
     "\"None\""},
    {"cluster-ip", "Service", "{'spec':{'clusterIP':'10.0.0.300'}}",
     "spec.clusterIP: Invalid value: \"10.0.0.300\": " VT_IP},
    {"node-port-on-cluster-ip", "Service", "{'spec':{'ports':[{'port':80,'nodePort':30080}]}}",
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
    {"duplicate-node-port", "Service",
     "{'spec':{'type':'NodePort','ports':[{'name':'a','port':80,'nodePort':30080},"
     "{'name':'b','port':81,'nodePort':30080}]}}",
     "spec.ports[1].nodePort: Duplicate value: 30080"},
    {"headless-node-port", "Service", "{'spec':{'type':'NodePort','clusterIP':'None'}}",
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
     "services"},
    {"selector-label", "Service", "{'spec':{'selector':{'app':'a b'}}}",
     "spec.selector: Invalid value: \"a b\": a valid label must be an empty string or consist "
     "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
     "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
     "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
};

static const vcase config_cases[] = {
    {"configmap-key", "ConfigMap", "{'data':{'bad key':'x'}}",
     "data[bad key]: Invalid value: \"bad key\": " VT_CONFIG_KEY},
    {"configmap-dotdot", "ConfigMap", "{'data':{'..':'x','..a':'y'}}",
     "data[..]: Invalid value: \"..\": must not be '..'\n"
     "data[..a]: Invalid value: \"..a\": must not start with '..'"},
    {"configmap-both-maps", "ConfigMap", "{'binaryData':{'a':'AA=='}}",
     "data[a]: Invalid value: \"a\": duplicate of key present in binaryData"},
    {"configmap-binary-base64", "ConfigMap", "{'binaryData':{'b':'abcd!'}}",
     "binaryData[b]: Invalid value: \"<secret contents redacted>\": illegal base64 data at "
     "input byte 4"},
    {"configmap-value-type", "ConfigMap", "{'data':{'a':1}}",
     "data[a]: Invalid value: 1: must be a string"},
    {"secret-base64", "Secret", "{'data':{'a':'not base64!'}}",
     "data[a]: Invalid value: \"<secret contents redacted>\": illegal base64 data at input "
     "byte 3"},
    {"secret-base64-padding", "Secret", "{'data':{'a':'abc'}}",
     "data[a]: Invalid value: \"<secret contents redacted>\": illegal base64 data at input "
     "byte 0"},
    {"secret-key", "Secret", "{'data':{'a/b':'MQ=='}}",
     "data[a/b]: Invalid value: \"a/b\": " VT_CONFIG_KEY},
    {"secret-tls", "Secret", "{'type':'kubernetes.io/tls'}",
     "data[tls.crt]: Required value\ndata[tls.key]: Required value"},
    {"secret-basic-auth", "Secret", "{'type':'kubernetes.io/basic-auth'}",
     "data[username]: Required value\ndata[password]: Required value"},
    {"secret-sa-token", "Secret", "{'type':'kubernetes.io/service-account-token'}",
     "metadata.annotations[kubernetes.io/service-account.name]: Required value"},
    {"secret-dockerconfig", "Secret", "{'type':'kubernetes.io/dockerconfigjson'}",
     "data[.dockerconfigjson]: Required value"},
};

static const vcase other_cases[] = {
    {"namespace-name", "Namespace", "{'metadata':{'name':'Prod'}}",
     "metadata.name: Invalid value: \"Prod\": " VT_LABEL},
    {"namespace-finalizer", "Namespace", "{'spec':{'finalizers':['custom']}}",
     "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor "
     "is it fully qualified"},
    {"node-cidr", "Node", "{'spec':{'podCIDR':'10.0.0.0/33'}}",
     "spec.podCIDR: Invalid value: \"10.0.0.0/33\": must be valid CIDR"},
    {"node-cidrs", "Node", "{'spec':{'podCIDRs':['10.0.0.0/24','fd00::/129']}}",
     "spec.podCIDRs[1]: Invalid value: \"fd00::/129\": must be valid CIDR"},
    {"taint-effect", "Node", "{'spec':{'taints':[{'key':'gpu','effect':'Never'}]}}",
     "spec.taints[0].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", "
     "\"PreferNoSchedule\", \"NoExecute\""},
    {"taint-no-effect", "Node", "{'spec':{'taints':[{'key':'gpu'}]}}",
     "spec.taints[0].effect: Required value"},
    {"taint-duplicate", "Node",
     "{'spec':{'taints':[{'key':'gpu','effect':'NoSchedule'},{'key':'gpu','value':'b',"
     "'effect':'NoSchedule'}]}}",
     "spec.taints[1]: Duplicate value: map[string]string{\"effect\":\"NoSchedule\", "
     "\"key\":\"gpu\", \"value\":\"b\"}: taints must be unique by key and effect pair"},
    {"taint-key", "Node", "{'spec':{'taints':[{'effect':'NoSchedule'}]}}",
     "spec.taints[0].key: Invalid value: \"\": name part must be non-empty\n"
     "spec.taints[0].key: Invalid value: \"\": " VT_QNAME},
    {"pv-capacity", "PersistentVolume", "{'spec':{'capacity':null}}",
     "spec.capacity: Required value\n"
     "spec.capacity: Unsupported value: \"\": supported values: \"storage\""},
    {"pv-capacity-zero", "PersistentVolume", "{'spec':{'capacity':{'storage':'0'}}}",
     "spec.capacity[storage]: Invalid value: \"0\": must be greater than zero"},
    {"pv-access-mode", "PersistentVolume", "{'spec':{'accessModes':['RWO']}}",
     "spec.accessModes: Unsupported value: \"RWO\": supported values: \"ReadOnlyMany\", "
     "\"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\""},
    {"pv-source", "PersistentVolume", "{'spec':{'hostPath':null}}",
     "spec: Required value: must specify a volume type"},
    {"pv-csi-handle", "PersistentVolume", "{'spec':{'hostPath':null,'csi':{'driver':'dir'}}}",
     "spec.csi.volumeHandle: Required value"},
    {"pv-reclaim", "PersistentVolume", "{'spec':{'persistentVolumeReclaimPolicy':'Keep'}}",
     "spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: "
     "\"Delete\", \"Recycle\", \"Retain\""},
    {"pvc-access-modes", "PersistentVolumeClaim", "{'spec':{'accessModes':[]}}",
     "spec.accessModes: Required value: at least 1 access mode is required"},
    {"pvc-storage-zero", "PersistentVolumeClaim",
     "{'spec':{'resources':{'requests':{'storage':'0'}}}}",
     "spec.resources[storage]: Invalid value: \"0\": must be greater than zero"},
    {"pvc-storage-bad", "PersistentVolumeClaim",
     "{'spec':{'resources':{'requests':{'storage':'lots'}}}}",
     "spec.resources[storage]: Invalid value: \"lots\": quantities must match the regular "
     "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
    {"event-no-object", "Event", "{'involvedObject':null}", "involvedObject: Required value"},
    {"event-namespace", "Event", "{'involvedObject':{'namespace':'other'}}",
     "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"},
    {"lease-duration", "Lease", "{'spec':{'leaseDurationSeconds':0}}",
     "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"},
    {"lease-transitions", "Lease", "{'spec':{'leaseTransitions':-1}}",
     "spec.leaseTransitions: Invalid value: -1: " VT_NONNEG},
    {"endpoints-ip", "Endpoints", "{'subsets':[{'addresses':[{'ip':'1.2.3'}]}]}",
     "subsets[0].addresses[0].ip: Invalid value: \"1.2.3\": " VT_IP},
    {"endpoints-no-addresses", "Endpoints", "{'subsets':[{'ports':[{'port':80}]}]}",
     "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"},
    {"endpoints-port", "Endpoints",
     "{'subsets':[{'addresses':[{'ip':'10.0.0.1'}],'ports':[{'port':80,'protocol':'ICMP'},"
     "{'name':'b','port':0}]}]}",
     "subsets[0].ports[0].name: Required value\n"
     "subsets[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", "
     "\"TCP\", \"UDP\"\n"
     "subsets[0].ports[1].port: Invalid value: 0: " VT_PORT_RANGE},
    {"service-account-name", "ServiceAccount", "{'metadata':{'name':'Builder'}}",
     "metadata.name: Invalid value: \"Builder\": " VT_SUBDOMAIN},
};

BERTH_TEST(validate_services)
{
    vt_run(service_cases, sizeof service_cases / sizeof service_cases[0]);
}

BERTH_TEST(validate_configmaps_and_secrets)
{
    vt_run(config_cases, sizeof config_cases / sizeof config_cases[0]);
}

BERTH_TEST(validate_cluster_and_storage_kinds)
{
    vt_run(other_cases, sizeof other_cases / sizeof other_cases[0]);
}

/* Data maps hold at most 1 MiB, counted after base64 decoding for
 * Secrets. */
BERTH_TEST(validate_data_size_limits)
{
    size_t n = 700 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'A', n);
    big[n] = 0;
    cJSON *cm = vt_base("ConfigMap");
    cJSON *data = cJSON_GetObjectItem(cm, "data");
    cJSON_AddStringToObject(data, "x", big);
    int rc;
    char *got = vt_errors(cm, NULL, &rc);
    CHECK_STR(got, "");
    free(got);
    cJSON_AddStringToObject(data, "y", big);
    got = vt_errors(cm, NULL, &rc);
    CHECK_STR(got, "[]: Too long: must have at most 1048576 bytes");
    free(got);
    cJSON_Delete(cm);

    /* 1,433,600 base64 characters decode to 1,075,200 bytes. */
    char *enc = malloc(2 * n + 1);
    memset(enc, 'A', 2 * n);
    enc[2 * n] = 0;
    cJSON *sec = vt_base("Secret");
    cJSON_AddStringToObject(cJSON_GetObjectItem(sec, "data"), "x", enc);
    got = vt_errors(sec, NULL, &rc);
    CHECK_STR(got, "data: Too long: must have at most 1048576 bytes");
    CHECK_INT(rc, BERTH_EINVAL);
    free(got);
    cJSON_Delete(sec);
    free(enc);
    free(big);
}
