/* Routing of REST paths. */
#include "api/api-int.h"
#include "test.h"

BERTH_TEST(api_route_namespaced_object_and_sub) {
    api_route rt;
    CHECK_INT(api_route_parse("/apis/apps/v1/namespaces/web/deployments/nginx/scale", &rt), 0);
    CHECK_INT(rt.type, API_R_OBJECT);
    CHECK_STR(rt.kind->kind, "Deployment");
    CHECK_STR(rt.ns, "web");
    CHECK_STR(rt.name, "nginx");
    CHECK_STR(rt.sub, "scale");
    CHECK_INT(api_route_parse("/api/v1/namespaces/default/pods", &rt), 0);
    CHECK_INT(rt.type, API_R_COLLECTION);
    CHECK_STR(rt.ns, "default");
}

BERTH_TEST(api_route_cluster_scoped_and_all_namespaces) {
    api_route rt;
    CHECK_INT(api_route_parse("/api/v1/nodes/n1", &rt), 0);
    CHECK_INT(rt.type, API_R_OBJECT);
    CHECK_STR(rt.kind->kind, "Node");
    CHECK_STR(rt.ns, "");
    CHECK_INT(api_route_parse("/api/v1/pods", &rt), 0);
    CHECK_INT(rt.type, API_R_COLLECTION);
    CHECK_STR(rt.ns, "");
    CHECK_INT(api_route_parse("/api/v1/namespaces", &rt), 0);
    CHECK_STR(rt.kind->kind, "Namespace");
    CHECK_INT(rt.type, API_R_COLLECTION);
    CHECK_INT(api_route_parse("/api/v1/namespaces/kube-system", &rt), 0);
    CHECK_INT(rt.type, API_R_OBJECT);
    CHECK_STR(rt.name, "kube-system");
    CHECK_INT(api_route_parse("/api/v1/namespaces/x/status", &rt), 0);
    CHECK_STR(rt.kind->kind, "Namespace");
    CHECK_STR(rt.sub, "status");
    CHECK_INT(api_route_parse("/api/v1/namespaces/x/finalize", &rt), 0);
    CHECK_STR(rt.sub, "finalize");
}

BERTH_TEST(api_route_refuses_what_is_not_served) {
    api_route rt;
    CHECK_INT(api_route_parse("/api/v1/pods/p1", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/api/v1/namespaces/d/nodes", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/apis/apps/v2/deployments", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/api/v1/widgets", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/api/v1/namespaces/d/pods/p/log/extra", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/nothing", &rt), BERTH_ENOTFOUND);
    CHECK_INT(api_route_parse("/a/b/c/d/e/f/g/h/i/j/k/l", &rt), BERTH_ENOTFOUND);
}

BERTH_TEST(api_route_documents) {
    api_route rt;
    CHECK_INT(api_route_parse("/version", &rt), 0);
    CHECK_INT(rt.type, API_R_VERSION);
    CHECK_INT(api_route_parse("/healthz/ping", &rt), 0);
    CHECK_INT(rt.type, API_R_HEALTH);
    CHECK_INT(api_route_parse("/api/v1", &rt), 0);
    CHECK_INT(rt.type, API_R_GROUPVER);
    CHECK_STR(rt.group, "");
    CHECK_INT(api_route_parse("/apis/batch/v1/", &rt), 0);
    CHECK_INT(rt.type, API_R_GROUPVER);
    CHECK_STR(rt.group, "batch");
    CHECK_INT(api_route_parse("/apis/apps", &rt), 0);
    CHECK_INT(rt.type, API_R_GROUP);
    CHECK_INT(api_route_parse("/openapi/v3/apis/apps/v1", &rt), 0);
    CHECK_INT(rt.type, API_R_OPENAPI_V3_GV);
    CHECK_STR(rt.version, "v1");
    CHECK_INT(api_route_parse("/openapi/v3/api/v1", &rt), 0);
    CHECK_STR(rt.group, "");
}
