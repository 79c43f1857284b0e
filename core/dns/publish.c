/* How pods find the cluster DNS server, as in Kubernetes: the Service
 * kube-system/kube-dns at a fixed ClusterIP (the tenth address of the
 * service range unless told), port 53 over UDP and TCP, and its Endpoints,
 * written here (the Service has no selector), naming the address and port
 * the server's DNS listens on where pods can reach it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "client/ensure.h"
#include "dns/dns.h"

int berth_dns_default_ip(const char *service_cidr, char *out, size_t len)
{
    char addr[64];
    const char *slash = service_cidr ? strchr(service_cidr, '/') : NULL;
    struct in_addr in;
    if (!slash || (size_t)(slash - service_cidr) >= sizeof addr)
        return BERTH_EINVAL;
    memcpy(addr, service_cidr, (size_t)(slash - service_cidr));
    addr[slash - service_cidr] = 0;
    int prefix = atoi(slash + 1);
    if (inet_pton(AF_INET, addr, &in) != 1 || prefix < 8 || prefix > 28)
        return BERTH_EINVAL;
    uint32_t base = ntohl(in.s_addr) & ~((1u << (32 - prefix)) - 1);
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

int berth_dns_publish(berth_client *c, const char *cluster_ip, const char *addr, uint16_t port)
{
    int rc = 0;
    if (cluster_ip) {
        cJSON *svc = object("Service");
        cJSON *spec = cJSON_AddObjectToObject(svc, "spec");
        cJSON_AddStringToObject(spec, "clusterIP", cluster_ip);
        cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
        add_port(ports, "dns", "UDP", 53, port);
        add_port(ports, "dns-tcp", "TCP", 53, port);
        rc = berth_client_ensure(c, svc);
    }
    if (!rc && addr) {
        cJSON *ep = object("Endpoints");
        cJSON *subset = cJSON_CreateObject();
        cJSON_AddItemToArray(cJSON_AddArrayToObject(ep, "subsets"), subset);
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "ip", addr);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(subset, "addresses"), a);
        cJSON *ports = cJSON_AddArrayToObject(subset, "ports");
        add_port(ports, "dns", "UDP", port, 0);
        add_port(ports, "dns-tcp", "TCP", port, 0);
        rc = berth_client_ensure(c, ep);
    }
    return rc;
}
