/* How pods find the cluster DNS server, as in Kubernetes: the Service
 * kube-system/kube-dns at a fixed ClusterIP (the tenth address of the
 * service range), port 53 over UDP and TCP, without a selector: its
 * Endpoints (endpoints.c) name where the servers' DNS listens. */
#include <arpa/inet.h>
#include <stdio.h>

#include "berth/errno.h"
#include "client/ensure.h"
#include "dns/dns.h"
#include "util/cidr.h"

int berth_dns_default_ip(const char *service_cidr, char *out, size_t len)
{
    uint32_t base;
    int prefix;
    if (berth_cidr4_parse(service_cidr, &base, &prefix) != 0 || prefix < 8 || prefix > 28)
        return BERTH_EINVAL;
    struct in_addr dns = {htonl(base + 10)};
    return inet_ntop(AF_INET, &dns, out, (socklen_t)len) ? 0 : BERTH_EINVAL;
}

static cJSON *object(const char *kind)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", "kube-dns");
    cJSON_AddStringToObject(md, "namespace", "kube-system");
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "k8s-app", "kube-dns");
    cJSON_AddStringToObject(labels, "kubernetes.io/name", "CoreDNS");
    return o;
}

static void add_port(cJSON *ports, const char *name, const char *proto, int port, int target)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "protocol", proto);
    cJSON_AddNumberToObject(p, "port", port);
    if (target)
        cJSON_AddNumberToObject(p, "targetPort", target);
    cJSON_AddItemToArray(ports, p);
}

int berth_dns_publish(berth_client *c, const char *cluster_ip, uint16_t port)
{
    cJSON *svc = object("Service");
    cJSON *spec = cJSON_AddObjectToObject(svc, "spec");
    cJSON_AddStringToObject(spec, "clusterIP", cluster_ip);
    cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
    add_port(ports, "dns", "UDP", 53, port);
    add_port(ports, "dns-tcp", "TCP", 53, port);
    return berth_client_ensure(c, svc);
}
