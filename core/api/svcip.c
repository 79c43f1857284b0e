/* Service address allocation (svcip.h). The ClusterIP range is a bitmap of
 * the CIDR's host addresses (the network and broadcast addresses are never
 * handed out); node ports are a bitmap of 30000-32767. A Service's
 * addresses are its own until it is deleted, so assign and release work in
 * terms of "what this object holds" versus "what that one holds". */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "api/svcip.h"
#include "util/cidr.h"

#define NPORTS (API_NODEPORT_MAX - API_NODEPORT_MIN + 1)
#define MAX_SVC_PORTS 64

struct api_svcip {
    uint32_t base;  /* network address, host order */
    uint32_t size;  /* addresses in the CIDR */
    int prefix;
    uint64_t *ips;  /* bit i: base + i is taken */
    uint64_t ports[(NPORTS + 63) / 64];
    uint32_t nips, nports;
    uint32_t next_ip, next_port; /* where the next scan starts */
    bool ready;
    berth_store *store;
    void (*done)(void *arg, int rc);
    void *done_arg;
    char cidr[32];
};

static bool bit(const uint64_t *m, uint32_t i)
{
    return m[i / 64] >> (i % 64) & 1;
}

static void set_bit(uint64_t *m, uint32_t i, bool on)
{
    if (on)
        m[i / 64] |= 1ull << (i % 64);
    else
        m[i / 64] &= ~(1ull << (i % 64));
}

int api_svcip_new(const char *cidr, api_svcip **out, char *err, size_t errsize)
{
    uint32_t base;
    int prefix;
    int rc = berth_cidr4_parse(cidr, &base, &prefix);
    if (rc == BERTH_ERANGE) {
        snprintf(err, errsize, "the service CIDR '%s' does not start with an IPv4 address",
                 cidr);
        return BERTH_EINVAL;
    }
    if (rc || prefix < 8 || prefix > 30) {
        snprintf(err, errsize, "the service CIDR '%s' is not an IPv4 CIDR with a prefix of "
                 "8 to 30 bits", cidr ? cidr : "");
        return BERTH_EINVAL;
    }
    api_svcip *s = calloc(1, sizeof *s);
    if (!s)
        return BERTH_ENOMEM;
    s->prefix = prefix;
    s->size = 1u << (32 - prefix);
    s->base = base;
    s->ips = calloc((s->size + 63) / 64, sizeof *s->ips);
    if (!s->ips) {
        free(s);
        return BERTH_ENOMEM;
    }
    /* The network and broadcast addresses are never a Service's. */
    set_bit(s->ips, 0, true);
    set_bit(s->ips, s->size - 1, true);
    s->next_ip = 1;
    struct in_addr b = {htonl(s->base)};
    char txt[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &b, txt, sizeof txt);
    snprintf(s->cidr, sizeof s->cidr, "%s/%d", txt, s->prefix);
    *out = s;
    return 0;
}

void api_svcip_free(api_svcip *s)
{
    if (!s)
        return;
    free(s->ips);
    free(s);
}

bool api_svcip_ready(const api_svcip *s)
{
    return s->ready;
}

uint32_t api_svcip_used(const api_svcip *s, uint32_t *ports_used)
{
    if (ports_used)
        *ports_used = s->nports;
    return s->nips;
}

/* ---- What one Service holds. ---- */

static const cJSON *spec_of(const cJSON *obj)
{
    return cJSON_GetObjectItemCaseSensitive(obj, "spec");
}

static const char *type_of(const cJSON *obj)
{
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec_of(obj), "type"));
    return t && *t ? t : "ClusterIP";
}

static bool wants_node_ports(const cJSON *obj)
{
    const char *t = type_of(obj);
    return !strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer");
}

/* A LoadBalancer that keeps external traffic local gets a health check
 * node port, where each node says whether it has local endpoints. */
static bool wants_health_check(const cJSON *obj)
{
    const char *p = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(spec_of(obj), "externalTrafficPolicy"));
    return !strcmp(type_of(obj), "LoadBalancer") && p && !strcmp(p, "Local");
}

static int64_t health_port(const cJSON *obj)
{
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(spec_of(obj), "healthCheckNodePort");
    return obj && wants_health_check(obj) && cJSON_IsNumber(hc) ? (int64_t)hc->valuedouble : -1;
}

/* The offset of the Service's ClusterIP in the range, or -1 when it has
 * none there (headless, ExternalName, unset, outside). */
static int64_t ip_slot(const api_svcip *s, const char *ip)
{
    struct in_addr in;
    if (!ip || inet_pton(AF_INET, ip, &in) != 1)
        return -1;
    uint32_t a = ntohl(in.s_addr);
    if ((a & ~(s->size - 1)) != s->base)
        return -1;
    return a - s->base;
}

static int64_t held_ip(const api_svcip *s, const cJSON *obj)
{
    if (!obj || !strcmp(type_of(obj), "ExternalName"))
        return -1;
    return ip_slot(s, cJSON_GetStringValue(
                          cJSON_GetObjectItemCaseSensitive(spec_of(obj), "clusterIP")));
}

/* The node ports obj holds, into out (at most max); returns the count. */
static size_t held_ports(const cJSON *obj, uint32_t *out, size_t max)
{
    size_t n = 0;
    if (!obj || !wants_node_ports(obj))
        return 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(spec_of(obj), "ports"))
    {
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
        if (n < max && cJSON_IsNumber(np) && np->valuedouble >= API_NODEPORT_MIN &&
            np->valuedouble <= API_NODEPORT_MAX)
            out[n++] = (uint32_t)np->valuedouble - API_NODEPORT_MIN;
    }
    int64_t hc = health_port(obj);
    if (n < max && hc >= API_NODEPORT_MIN && hc <= API_NODEPORT_MAX)
        out[n++] = (uint32_t)(hc - API_NODEPORT_MIN);
    return n;
}

static bool has(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static void take_ip(api_svcip *s, int64_t slot)
{
    if (slot > 0 && (uint32_t)slot < s->size - 1 && !bit(s->ips, (uint32_t)slot)) {
        set_bit(s->ips, (uint32_t)slot, true);
        s->nips++;
    }
}

static void take_port(api_svcip *s, uint32_t p)
{
    if (!bit(s->ports, p)) {
        set_bit(s->ports, p, true);
        s->nports++;
    }
}

void api_svcip_release(api_svcip *s, const cJSON *from, const cJSON *keep)
{
    int64_t ip = held_ip(s, from);
    if (ip > 0 && (uint32_t)ip < s->size - 1 && ip != held_ip(s, keep) &&
        bit(s->ips, (uint32_t)ip)) {
        set_bit(s->ips, (uint32_t)ip, false);
        s->nips--;
    }
    uint32_t a[MAX_SVC_PORTS], b[MAX_SVC_PORTS];
    size_t na = held_ports(from, a, MAX_SVC_PORTS), nb = held_ports(keep, b, MAX_SVC_PORTS);
    for (size_t i = 0; i < na; i++)
        if (!has(b, nb, a[i]) && !has(a, i, a[i]) && bit(s->ports, a[i])) {
            set_bit(s->ports, a[i], false);
            s->nports--;
        }
}

/* ---- Assigning. ---- */

static void set_ip(cJSON *spec, const char *ip_in)
{
    /* ip_in may be the very string being replaced: copy it first. */
    char ip[64];
    snprintf(ip, sizeof ip, "%s", ip_in);
    api_set_item(spec, "clusterIP", cJSON_CreateString(ip));
    cJSON *ips = cJSON_CreateArray();
    cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
    api_set_item(spec, "clusterIPs", ips);
}

static int assign_ip(api_svcip *s, cJSON *spec, const cJSON *old, berth_errlist *errs,
                     int64_t *taken)
{
    *taken = -1;
    cJSON *ipj = cJSON_GetObjectItemCaseSensitive(spec, "clusterIP");
    const char *ip = cJSON_GetStringValue(ipj);
    if (ip && !strcmp(ip, "None")) {
        set_ip(spec, "None");
        return 0;
    }
    int64_t had = held_ip(s, old);
    if ((!ip || !*ip) && had > 0) {
        /* An update that leaves clusterIP out keeps the stored one. */
        set_ip(spec, cJSON_GetStringValue(
                         cJSON_GetObjectItemCaseSensitive(spec_of(old), "clusterIP")));
        return 0;
    }
    if (ip && *ip) {
        int64_t slot = ip_slot(s, ip);
        if (slot == had && slot > 0)
            return 0;
        if (slot <= 0 || (uint32_t)slot >= s->size - 1) {
            berth_errlist_add(errs, BERTH_FIELD_INVALID, "spec.clusterIPs", ipj,
                              "failed to allocate IP %s: provided IP is not in the valid "
                              "range. The range of valid IPs is %s", ip, s->cidr);
            return BERTH_EINVAL;
        }
        if (bit(s->ips, (uint32_t)slot)) {
            berth_errlist_add(errs, BERTH_FIELD_INVALID, "spec.clusterIPs", ipj,
                              "failed to allocate IP %s: provided IP is already allocated",
                              ip);
            return BERTH_EINVAL;
        }
        take_ip(s, slot);
        *taken = slot;
        set_ip(spec, ip);
        return 0;
    }
    /* A scan from where the last one stopped spreads allocations over the
     * range, so a freed address is not handed out again at once. */
    for (uint32_t i = 0; i < s->size; i++) {
        uint32_t slot = (s->next_ip + i) % s->size;
        if (!bit(s->ips, slot)) {
            take_ip(s, slot);
            s->next_ip = (slot + 1) % s->size;
            *taken = slot;
            struct in_addr in = {htonl(s->base + slot)};
            char txt[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &in, txt, sizeof txt);
            set_ip(spec, txt);
            return 0;
        }
    }
    berth_errlist_add(errs, BERTH_FIELD_INVALID, "spec.clusterIPs", NULL,
                      "failed to allocate a service IP: range %s is full", s->cidr);
    return BERTH_EINVAL;
}

/* The node port old gave the same (port, protocol), or -1. */
static int64_t old_port(const cJSON *old, const cJSON *p)
{
    if (!old || !wants_node_ports(old))
        return -1;
    const cJSON *q;
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
    const char *proto = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "protocol"));
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(spec_of(old), "ports"))
    {
        const cJSON *qp = cJSON_GetObjectItemCaseSensitive(q, "port");
        const char *qproto =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "protocol"));
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(q, "nodePort");
        if (cJSON_IsNumber(qp) && cJSON_IsNumber(port) && qp->valuedouble == port->valuedouble &&
            (!proto || !qproto || !strcmp(proto, qproto)) && cJSON_IsNumber(np))
            return (int64_t)np->valuedouble;
    }
    return -1;
}

/* One node port: want when >= 0 (requested or kept), else the next free
 * one. A port this Service did not hold before (had) is taken, and noted
 * in taken (*ntaken). Returns the port, or BERTH_EINVAL with the reason
 * in errs under field. */
static int64_t take_node_port(api_svcip *s, berth_errlist *errs, int64_t want,
                              const cJSON *item, const char *field, const uint32_t *had,
                              size_t nhad, uint32_t *taken, size_t *ntaken)
{
    if (want >= 0) {
        if (want < API_NODEPORT_MIN || want > API_NODEPORT_MAX) {
            berth_errlist_add(errs, BERTH_FIELD_INVALID, field, item,
                              "provided port is not in the valid range. The range of "
                              "valid ports is %d-%d", API_NODEPORT_MIN, API_NODEPORT_MAX);
            return BERTH_EINVAL;
        }
        uint32_t slot = (uint32_t)(want - API_NODEPORT_MIN);
        /* The same port twice in one Service (TCP and UDP) is fine. */
        if (!has(had, nhad, slot) && !has(taken, *ntaken, slot)) {
            if (bit(s->ports, slot)) {
                berth_errlist_add(errs, BERTH_FIELD_INVALID, field, item,
                                  "provided port is already allocated");
                return BERTH_EINVAL;
            }
            if (*ntaken < MAX_SVC_PORTS) {
                take_port(s, slot);
                taken[(*ntaken)++] = slot;
            }
        }
        return want;
    }
    for (uint32_t k = 0; k < NPORTS && *ntaken < MAX_SVC_PORTS; k++) {
        uint32_t slot = (s->next_port + k) % NPORTS;
        if (!bit(s->ports, slot)) {
            take_port(s, slot);
            taken[(*ntaken)++] = slot;
            s->next_port = (slot + 1) % NPORTS;
            return slot + API_NODEPORT_MIN;
        }
    }
    berth_errlist_add(errs, BERTH_FIELD_INVALID, field, NULL,
                      "failed to allocate a node port: the range %d-%d is full",
                      API_NODEPORT_MIN, API_NODEPORT_MAX);
    return BERTH_EINVAL;
}

/* Node ports for obj, and its health check node port when it wants one;
 * what it takes goes into taken (*ntaken). */
static int assign_ports(api_svcip *s, cJSON *obj, const cJSON *old, berth_errlist *errs,
                        uint32_t *taken, size_t *ntaken)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    uint32_t had[MAX_SVC_PORTS];
    size_t nhad = held_ports(old, had, MAX_SVC_PORTS);
    cJSON *p;
    size_t i = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
    {
        char field[64];
        snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i++);
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nodePort");
        int64_t want = cJSON_IsNumber(np) && np->valuedouble != 0 ? (int64_t)np->valuedouble
                                                                   : old_port(old, p);
        int64_t got = take_node_port(s, errs, want, np, field, had, nhad, taken, ntaken);
        if (got < 0)
            return (int)got;
        api_set_item(p, "nodePort", cJSON_CreateNumber((double)got));
    }
    if (!wants_health_check(obj))
        return 0;
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(spec, "healthCheckNodePort");
    int64_t want = cJSON_IsNumber(hc) && hc->valuedouble != 0 ? (int64_t)hc->valuedouble
                                                               : health_port(old);
    int64_t got = take_node_port(s, errs, want, hc, "spec.healthCheckNodePort", had, nhad,
                                 taken, ntaken);
    if (got < 0)
        return (int)got;
    api_set_item(spec, "healthCheckNodePort", cJSON_CreateNumber((double)got));
    return 0;
}

/* healthCheckNodePort belongs to a LoadBalancer with externalTrafficPolicy
 * Local: one kept from before such a change goes, one asked for is refused. */
static int drop_health_check(cJSON *obj, const cJSON *old, berth_errlist *errs)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(spec, "healthCheckNodePort");
    if (!hc || wants_health_check(obj))
        return 0;
    bool kept = cJSON_IsNumber(hc) && health_port(old) == (int64_t)hc->valuedouble;
    if (!kept && !(cJSON_IsNumber(hc) && hc->valuedouble == 0)) {
        berth_errlist_add(errs, BERTH_FIELD_INVALID, "spec.healthCheckNodePort", hc,
                          "may only be set when `type` is 'LoadBalancer' and "
                          "`externalTrafficPolicy` is 'Local'");
        return BERTH_EINVAL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "healthCheckNodePort");
    return 0;
}

int api_svcip_assign(api_svcip *s, cJSON *obj, const cJSON *old, berth_errlist *errs)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!cJSON_IsObject(spec))
        return 0; /* validation has already refused it */
    if (!strcmp(type_of(obj), "ExternalName"))
        return 0;
    int64_t ip = -1;
    int rc = assign_ip(s, spec, old, errs, &ip);
    if (rc)
        return rc;
    if (!cJSON_GetObjectItemCaseSensitive(spec, "ipFamilies")) {
        cJSON *fam = cJSON_CreateArray();
        cJSON_AddItemToArray(fam, cJSON_CreateString("IPv4"));
        api_set_item(spec, "ipFamilies", fam);
    }
    if (!cJSON_GetObjectItemCaseSensitive(spec, "ipFamilyPolicy"))
        api_set_item(spec, "ipFamilyPolicy", cJSON_CreateString("SingleStack"));
    if ((rc = drop_health_check(obj, old, errs)) != 0 || !wants_node_ports(obj)) {
        if (rc && ip > 0) {
            set_bit(s->ips, (uint32_t)ip, false);
            s->nips--;
        }
        return rc;
    }
    uint32_t taken[MAX_SVC_PORTS];
    size_t ntaken = 0;
    rc = assign_ports(s, obj, old, errs, taken, &ntaken);
    if (rc) {
        /* Undo this call's work: nothing stays taken on a refusal. */
        for (size_t i = 0; i < ntaken; i++) {
            set_bit(s->ports, taken[i], false);
            s->nports--;
        }
        if (ip > 0) {
            set_bit(s->ips, (uint32_t)ip, false);
            s->nips--;
        }
    }
    return rc;
}

/* ---- Rebuilding from the store. ---- */

static void loaded(void *arg, const berth_store_page *p)
{
    api_svcip *s = arg;
    if (p->err) {
        s->ready = true;
        if (s->done)
            s->done(s->done_arg, p->err);
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        cJSON *obj = api_obj_decode(p->items[i].val, 0);
        if (!obj)
            continue;
        take_ip(s, held_ip(s, obj));
        uint32_t ports[MAX_SVC_PORTS];
        size_t n = held_ports(obj, ports, MAX_SVC_PORTS);
        for (size_t k = 0; k < n; k++)
            take_port(s, ports[k]);
        cJSON_Delete(obj);
    }
    if (p->next_key) {
        char prefix[128];
        berth_obj_prefix(berth_kind_find("v1", "Service"), NULL, prefix, sizeof prefix);
        int rc = berth_store_list(s->store, prefix, p->next_key, p->rev, 500, loaded, s);
        if (rc == 0)
            return;
    }
    s->ready = true;
    if (s->done)
        s->done(s->done_arg, 0);
}

int api_svcip_load(api_svcip *s, berth_store *st, void (*done)(void *arg, int rc),
                   void *arg)
{
    char prefix[128];
    s->store = st;
    s->done = done;
    s->done_arg = arg;
    if (berth_obj_prefix(berth_kind_find("v1", "Service"), NULL, prefix, sizeof prefix) < 0)
        return BERTH_EINVAL;
    return berth_store_list(st, prefix, NULL, 0, 500, loaded, s);
}

/* ---- Around a write. ---- */

int api_svc_hold(api_req *r, cJSON *obj, const cJSON *old)
{
    api_svcip *s = r->api->svcip;
    api_svc_settle(r, false);
    if (!s || strcmp(r->rt.kind->kind, "Service") != 0)
        return 0;
    if (!s->ready) {
        snprintf(r->msg, sizeof r->msg, "the service IP allocator is still loading; "
                 "try again");
        return BERTH_EUNAVAILABLE;
    }
    int rc = obj ? api_svcip_assign(s, obj, old, &r->errs) : 0;
    if (rc)
        return rc;
    r->svc_old = old ? cJSON_Duplicate(old, 1) : NULL;
    r->svc_new = obj ? cJSON_Duplicate(obj, 1) : NULL;
    if ((old && !r->svc_old) || (obj && !r->svc_new)) {
        if (obj)
            api_svcip_release(s, obj, old);
        cJSON_Delete(r->svc_old);
        cJSON_Delete(r->svc_new);
        r->svc_old = r->svc_new = NULL;
        return BERTH_ENOMEM;
    }
    return 0;
}

void api_svc_settle(api_req *r, bool ok)
{
    if (!r->svc_old && !r->svc_new)
        return;
    if (ok)
        api_svcip_release(r->api->svcip, r->svc_old, r->svc_new);
    else
        api_svcip_release(r->api->svcip, r->svc_new, r->svc_old);
    cJSON_Delete(r->svc_old);
    cJSON_Delete(r->svc_new);
    r->svc_old = r->svc_new = NULL;
}
