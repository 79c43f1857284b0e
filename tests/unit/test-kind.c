#include "berth/berth.h"
#include "test.h"

BERTH_TEST(kind_lookup_by_every_name)
{
    CHECK_STR(berth_kind_lookup("deploy")->kind, "Deployment");
    CHECK_STR(berth_kind_lookup("Deployments")->kind, "Deployment");
    CHECK_STR(berth_kind_lookup("deployment.apps")->kind, "Deployment");
    CHECK_STR(berth_kind_lookup("deployments.v1.apps")->kind, "Deployment");
    CHECK_STR(berth_kind_lookup("po")->kind, "Pod");
    CHECK_STR(berth_kind_lookup("svc")->kind, "Service");
    CHECK_STR(berth_kind_lookup("lease")->api_version, "coordination.k8s.io/v1");
    CHECK(berth_kind_lookup("pods.apps") == NULL);
    CHECK(berth_kind_lookup("widgets") == NULL);
}

BERTH_TEST(kind_registry_has_every_issue_kind)
{
    const char *want[] = {"Namespace", "Node", "Pod", "Service", "Endpoints",
                          "ConfigMap", "Secret", "ServiceAccount", "PersistentVolume",
                          "PersistentVolumeClaim", "Event", "Lease", "Deployment",
                          "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(berth_kind_find(NULL, want[i]) != NULL);
    CHECK(berth_kind_find("v1", "Deployment") == NULL);
    CHECK(berth_kind_by_resource("apps", "replicasets") == berth_kind_find("apps/v1", "ReplicaSet"));
    CHECK(!berth_kind_find(NULL, "Node")->namespaced);
}

BERTH_TEST(object_keys_and_accessors)
{
    cJSON *o = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
                           "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
                           "\"resourceVersion\":\"42\"}}");
    const berth_kind *k = berth_kind_of(o);
    CHECK(k != NULL);
    char key[256];
    CHECK(berth_obj_key(k, berth_obj_namespace(o), berth_obj_name(o), key, sizeof key) > 0);
    CHECK_STR(key, "/registry/apps/deployments/default/web");
    CHECK(berth_obj_prefix(berth_kind_find(NULL, "Node"), "x", key, sizeof key) > 0);
    CHECK_STR(key, "/registry/core/nodes/");
    CHECK_INT(berth_obj_rv(o), 42);
    CHECK_INT(berth_obj_set_rv(o, 43), 0);
    CHECK_STR(berth_obj_str(o, "metadata.resourceVersion"), "43");
    CHECK_INT(berth_obj_set_str(o, "spec.template.metadata.name", "x"), 0);
    CHECK_STR(berth_obj_str(o, "spec.template.metadata.name"), "x");
    char tiny[8];
    CHECK_INT(berth_obj_key(k, "default", "web", tiny, sizeof tiny), BERTH_ETOOLARGE);
    cJSON_Delete(o);
}
