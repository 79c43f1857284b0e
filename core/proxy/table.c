/* Building the service proxy table (proxy.h) from Service and Endpoints
 * objects, with kube-proxy's reading of them: one entry per Service port,
 * its ready backends sorted and without repeats, its external IPs and
 * traffic policies. Everything goes into three flat arrays that live from
 * build to build; strings are the objects' own. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/object.h"
#include "obj/endpoints.h"
#include "proxy/proxy.h"
#include "util/hmap.h"

/* Kubernetes' default and ceiling for sessionAffinityConfig.clientIP. */
#define AFFINITY_DEFAULT_S 10800
#define AFFINITY_MAX_S 86400

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* AF_INET or AF_INET6 for an address in text, 0 for anything else. */
static int ip_family(const char *ip)
{
    unsigned char a[16];
    if (!ip)
        return 0;
    if (inet_pton(AF_INET, ip, a) == 1)
        return AF_INET;
    return inet_pton(AF_INET6, ip, a) == 1 ? AF_INET6 : 0;
}

static uint8_t protocol_number(const char *p)
{
    if (!p)
        return 0;
    if (!strcmp(p, "TCP"))
        return BERTH_PROTO_TCP;
    if (!strcmp(p, "UDP"))
        return BERTH_PROTO_UDP;
    return !strcmp(p, "SCTP") ? BERTH_PROTO_SCTP : 0;
}

/* Makes room for one more element of size elem in *arr (capacity *cap,
 * n used), doubling. */
static int reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *a = realloc(*arr, ncap * elem);
    if (!a)
        return BERTH_ENOMEM;
    *arr = a;
    *cap = ncap;
    return 0;
}

static uint32_t affinity_timeout(const cJSON *spec)
{
    const cJSON *aff = get(spec, "sessionAffinity");
    if (!cJSON_IsString(aff) || strcmp(aff->valuestring, "ClientIP") != 0)
        return 0;
    const cJSON *t = get(get(get(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
    if (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble > AFFINITY_MAX_S)
        return AFFINITY_DEFAULT_S;
    return (uint32_t)t->valuedouble;
}

static bool is_local_policy(const cJSON *spec, const char *field)
{
    const cJSON *v = get(spec, field);
    return cJSON_IsString(v) && !strcmp(v->valuestring, "Local");
}

static int add_external_ip(berth_proxy_table_buf *b, size_t start, const cJSON *ip,
                           const char *cluster_ip, int family)
{
    if (!cJSON_IsString(ip) || ip_family(ip->valuestring) != family ||
        !strcmp(ip->valuestring, cluster_ip))
        return 0;
    for (size_t i = start; i < b->nexternal_ips; i++)
        if (!strcmp(b->external_ips[i], ip->valuestring))
            return 0;
    int err = reserve((void **)&b->external_ips, &b->external_ips_cap, b->nexternal_ips,
                      sizeof *b->external_ips);
    if (!err)
        b->external_ips[b->nexternal_ips++] = ip->valuestring;
    return err;
}

/* Appends the Service's external addresses for one of its ports: every
 * spec.externalIPs and status.loadBalancer.ingress ip of the cluster IP's
 * family, once. Each port gets its own run, so the runs add up in order
 * like the backends. */
static int add_external_ips(berth_proxy_table_buf *b, const cJSON *svc, const char *cluster_ip,
                            int family, uint32_t *count)
{
    size_t start = b->nexternal_ips;
    const cJSON *ip, *ing;
    int err = 0;
    cJSON_ArrayForEach(ip, get(get(svc, "spec"), "externalIPs"))
    {
        if ((err = add_external_ip(b, start, ip, cluster_ip, family)) != 0)
            return err;
    }
    cJSON_ArrayForEach(ing, get(get(get(svc, "status"), "loadBalancer"), "ingress"))
    {
        if ((err = add_external_ip(b, start, get(ing, "ip"), cluster_ip, family)) != 0)
            return err;
    }
    *count = (uint32_t)(b->nexternal_ips - start);
    return 0;
}

typedef struct collect_ctx {
    berth_proxy_table_buf *b;
    int family; /* the cluster IP's: a rule cannot mix families */
    int err;
} collect_ctx;

static void collect_backend(void *arg, const cJSON *addr, uint16_t port)
{
    collect_ctx *c = arg;
    const cJSON *ip = get(addr, "ip");
    if (c->err || !cJSON_IsString(ip) || ip_family(ip->valuestring) != c->family)
        return;
    berth_proxy_table_buf *b = c->b;
    if ((c->err = reserve((void **)&b->backends, &b->backends_cap, b->nbackends,
                          sizeof *b->backends)) != 0)
        return;
    const cJSON *node = get(addr, "nodeName");
    bool local = b->node_name && cJSON_IsString(node) && !strcmp(node->valuestring, b->node_name);
    b->backends[b->nbackends++] = (berth_proxy_backend){ip->valuestring, port, local};
}

static int cmp_backend(const void *a, const void *b)
{
    const berth_proxy_backend *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);
    return c ? c : (int)x->port - (int)y->port;
}

/* Sorts the backends from start on and drops repeats (an address listed in
 * two subsets, say); returns how many are left. */
static uint32_t sort_unique(berth_proxy_table_buf *b, size_t start)
{
    berth_proxy_backend *v = b->backends + start;
    size_t n = b->nbackends - start, out = 0;
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_backend);
    for (size_t i = 0; i < n; i++)
        if (out == 0 || cmp_backend(&v[out - 1], &v[i]) != 0)
            v[out++] = v[i];
    b->nbackends = start + out;
    return (uint32_t)out;
}

void berth_proxy_table_reset(berth_proxy_table_buf *b)
{
    b->table = BERTH_PROXY_TABLE(0, NULL, 0);
    b->nbackends = 0;
    b->nexternal_ips = 0;
}

int berth_proxy_table_add(berth_proxy_table_buf *b, const cJSON *svc, const cJSON *eps)
{
    const char *ns = berth_obj_namespace(svc), *name = berth_obj_name(svc);
    const cJSON *spec = get(svc, "spec"), *type = get(spec, "type");
    const cJSON *cip = get(spec, "clusterIP"), *ports = get(spec, "ports");
    if (!ns || !*ns || !name || !*name || !cJSON_IsString(cip) || !cJSON_IsArray(ports))
        return 0;
    if (type && !cJSON_IsNull(type) && !cJSON_IsString(type))
        return 0;
    const char *t = cJSON_IsString(type) ? type->valuestring : "ClusterIP";
    /* Headless Services ("None") are DNS only; ExternalName ones are a CNAME. */
    int family = ip_family(cip->valuestring);
    if (!strcmp(t, "ExternalName") || !family)
        return 0;
    bool node_ports = !strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer");
    uint32_t affinity = affinity_timeout(spec);
    bool external_local = is_local_policy(spec, "externalTrafficPolicy");
    bool internal_local = is_local_policy(spec, "internalTrafficPolicy");
    const cJSON *p;
    cJSON_ArrayForEach(p, ports)
    {
        const char *port_name = berth_port_name(p), *proto = berth_port_protocol(p);
        uint8_t protocol = protocol_number(proto);
        uint16_t port = berth_port_number(p, "port");
        if (!cJSON_IsObject(p) || !port_name || !protocol || !port)
            continue;
        int err = reserve((void **)&b->services, &b->services_cap, b->table.nservices,
                          sizeof *b->services);
        if (err)
            return err;
        size_t start = b->nbackends;
        collect_ctx c = {b, family, 0};
        berth_endpoints_each_ready(eps, port_name, proto, false, collect_backend, &c);
        if (c.err)
            return c.err;
        uint32_t nexternal = 0;
        if ((err = add_external_ips(b, svc, cip->valuestring, family, &nexternal)) != 0)
            return err;
        b->services[b->table.nservices++] = (berth_proxy_service){
            .svc_namespace = ns,
            .svc_name = name,
            .port_name = port_name,
            .cluster_ip = cip->valuestring,
            .port = port,
            .node_port = node_ports ? berth_port_number(p, "nodePort") : 0,
            .protocol = protocol,
            .affinity_timeout_s = affinity,
            .nbackends = sort_unique(b, start),
            .nexternal_ips = nexternal,
            .external_local = external_local,
            .internal_local = internal_local,
        };
    }
    return 0;
}

static int cmp_service(const void *a, const void *b)
{
    const berth_proxy_service *x = a, *y = b;
    int c;
    if ((c = strcmp(x->svc_namespace, y->svc_namespace)) ||
        (c = strcmp(x->svc_name, y->svc_name)) || (c = strcmp(x->port_name, y->port_name)))
        return c;
    if (x->protocol != y->protocol)
        return (int)x->protocol - (int)y->protocol;
    if (x->port != y->port)
        return (int)x->port - (int)y->port;
    /* Only one Service of a name in a build from arrays with repeats. */
    if ((c = strcmp(x->cluster_ip, y->cluster_ip)))
        return c;
    return (int)x->node_port - (int)y->node_port;
}

void berth_proxy_table_finish(berth_proxy_table_buf *b)
{
    /* Backends and external IPs were appended entry by entry: the offsets
     * are running sums, so no pointer had to survive the arrays' growth. */
    size_t off = 0, ext = 0;
    for (uint32_t i = 0; i < b->table.nservices; i++) {
        berth_proxy_service *s = &b->services[i];
        s->backends = s->nbackends ? b->backends + off : NULL;
        off += s->nbackends;
        s->external_ips = s->nexternal_ips ? b->external_ips + ext : NULL;
        ext += s->nexternal_ips;
    }
    if (b->table.nservices > 1)
        qsort(b->services, b->table.nservices, sizeof *b->services, cmp_service);
    b->table = BERTH_PROXY_TABLE(b->table.nservices, b->services, 0);
}

/* FNV-1a, fed field by field. */
static uint64_t mix(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return mix(h, s ? s : "", s ? strlen(s) + 1 : 1); /* the NUL ends each field */
}

uint64_t berth_proxy_table_hash(const berth_proxy_table *t)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, &t->nservices, sizeof t->nservices);
    for (uint32_t i = 0; i < t->nservices; i++) {
        const berth_proxy_service *s = &t->services[i];
        h = mix_str(h, s->svc_namespace);
        h = mix_str(h, s->svc_name);
        h = mix_str(h, s->port_name);
        h = mix_str(h, s->cluster_ip);
        uint32_t nums[] = {s->port,      s->node_port,      s->protocol,
                           s->affinity_timeout_s, s->nbackends, s->nexternal_ips,
                           s->external_local,     s->internal_local};
        h = mix(h, nums, sizeof nums);
        for (uint32_t j = 0; j < s->nbackends; j++) {
            h = mix_str(h, s->backends[j].ip);
            uint32_t bk[] = {s->backends[j].port, s->backends[j].local};
            h = mix(h, bk, sizeof bk);
        }
        for (uint32_t j = 0; j < s->nexternal_ips; j++)
            h = mix_str(h, s->external_ips[j]);
    }
    return h;
}

void berth_proxy_table_free(berth_proxy_table_buf *b)
{
    free(b->services);
    free(b->backends);
    free(b->external_ips);
    *b = (berth_proxy_table_buf){0};
}

int berth_svcproxy_build(const cJSON *const *services, size_t nsvc,
                         const cJSON *const *endpoints, size_t nep, berth_proxy_table_buf *b)
{
    berth_proxy_table_reset(b);
    berth_hmap by_name = {0};
    int err = 0;
    char key[512];
    for (size_t i = 0; i < nep && !err; i++) {
        const char *ns = berth_obj_namespace(endpoints[i]), *name = berth_obj_name(endpoints[i]);
        if (!ns || !name)
            continue;
        snprintf(key, sizeof key, "%s/%s", ns, name);
        err = berth_hmap_put(&by_name, key, (void *)endpoints[i], NULL);
    }
    for (size_t i = 0; i < nsvc && !err; i++) {
        const char *ns = berth_obj_namespace(services[i]), *name = berth_obj_name(services[i]);
        snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name ? name : "");
        err = berth_proxy_table_add(b, services[i], berth_hmap_get(&by_name, key));
    }
    berth_hmap_free(&by_name);
    berth_proxy_table_finish(b);
    return err;
}
