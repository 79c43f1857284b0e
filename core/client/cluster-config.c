#include "client/cluster-config.h"

#include "client/ensure.h"

int berth_cluster_config_publish(berth_client *c, const berth_cluster_config *cfg)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(md, "name", BERTH_CLUSTER_CONFIG_NAME);
    cJSON_AddStringToObject(md, "namespace", BERTH_CLUSTER_CONFIG_NS);
    cJSON *data = cJSON_AddObjectToObject(cm, "data");
    cJSON_AddStringToObject(data, "podNetworkCIDR", cfg->pod_network_cidr);
    cJSON_AddStringToObject(data, "serviceCIDR", cfg->service_cidr);
    cJSON_AddStringToObject(data, "clusterDNS", cfg->cluster_dns ? cfg->cluster_dns : "");
    cJSON_AddStringToObject(data, "clusterDomain",
                            cfg->cluster_domain ? cfg->cluster_domain : "cluster.local");
    return berth_client_ensure(c, cm);
}
