/* The ConfigMap kube-system/berth-cluster: what every node needs to know of
 * the cluster (like kubeadm's kubeadm-config). `berthd server` writes it;
 * the node-ipam controller and every node agent read it. */
#ifndef BERTH_CLIENT_CLUSTER_CONFIG_H
#define BERTH_CLIENT_CLUSTER_CONFIG_H

#include "berth/client.h"

#define BERTH_CLUSTER_CONFIG_NS "kube-system"
#define BERTH_CLUSTER_CONFIG_NAME "berth-cluster"

typedef struct berth_cluster_config {
    const char *pod_network_cidr; /* podNetworkCIDR: nodes' pod ranges come from it */
    const char *service_cidr;     /* serviceCIDR */
    const char *cluster_dns;      /* clusterDNS: the kube-dns ClusterIP, "" for none */
    const char *cluster_domain;   /* clusterDomain; NULL: cluster.local */
} berth_cluster_config;

/* Creates or replaces the ConfigMap through c (returns at once). */
int berth_cluster_config_publish(berth_client *c, const berth_cluster_config *cfg);

#endif
