/* Services and Endpoints: ports, protocols, types, cluster IPs, session
 * affinity, and the addresses endpoints route to. */
#include <string.h>

#include "validate-int.h"

static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort",
                                    NULL};

static void port_name(vctx *c, const cJSON *list, const cJSON *p, bool require)
{
    const char *name = v_str(c, p, "name");
    if (require && (!name || !*name)) {
        v_required(c, "name", NULL);
    } else if (name && *name) {
        v_dns1123_label(c, "name", name);
        for (const cJSON *q = list->child; q != p; q = q->next) {
            const char *other = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "name"));
            if (other && strcmp(other, name) == 0) {
                v_duplicate_str(c, "name", name);
                break;
            }
        }
    }
}

static void protocol(vctx *c, const cJSON *p)
{
    const char *proto = v_str(c, p, "protocol");
    if (proto && !v_oneof(proto, protocols))
        v_unsupported(c, "protocol", proto, protocols);
}

static const char *proto_of(const cJSON *p)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "protocol"));
    return s && *s ? s : "TCP";
}

static double num_of(const cJSON *p, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void service_ports(vctx *c, const cJSON *ports, const char *type)
{
    int n = ports ? cJSON_GetArraySize(ports) : 0;
    size_t i = 0;
    for (const cJSON *p = ports ? ports->child : NULL; p; p = p->next, i++) {
        size_t m = vp_index(c, i);
        port_name(c, ports, p, n > 1);
        long long port = 0;
        v_int(c, p, "port", &port);
        v_port_num(c, "port", port);
        protocol(c, p);
        const cJSON *tp = cJSON_GetObjectItemCaseSensitive(p, "targetPort");
        /* An unset targetPort is defaulted to port. */
        if (tp && !cJSON_IsNull(tp) &&
            !(cJSON_IsNumber(tp) && tp->valuedouble == 0) &&
            !(cJSON_IsString(tp) && !*tp->valuestring))
            v_port_num_or_name(c, "targetPort", tp);
        long long np = 0;
        if (v_int(c, p, "nodePort", &np) && np != 0) {
            if (type && strcmp(type, "ClusterIP") == 0)
                v_forbidden(c, "nodePort", "may not be used when `type` is 'ClusterIP'");
            else
                v_port_num(c, "nodePort", np);
        }
        if (type && strcmp(type, "LoadBalancer") == 0 && port == 10250)
            v_invalid_int(c, NULL, port, "may not expose port 10250 externally since it is used by kubelet");
        vp_pop(c, m);
    }
    /* Duplicates by (protocol, nodePort), then by (protocol, port). */
    i = 0;
    for (const cJSON *p = ports ? ports->child : NULL; p; p = p->next, i++) {
        double np = num_of(p, "nodePort");
        if (np == 0)
            continue;
        for (const cJSON *q = ports->child; q != p; q = q->next)
            if (num_of(q, "nodePort") == np && strcmp(proto_of(q), proto_of(p)) == 0) {
                size_t m = vp_index(c, i);
                cJSON num = {.type = cJSON_Number, .valuedouble = np};
                v_duplicate_json(c, "nodePort", &num, NULL);
                vp_pop(c, m);
                break;
            }
    }
    i = 0;
    for (const cJSON *p = ports ? ports->child : NULL; p; p = p->next, i++) {
        for (const cJSON *q = ports->child; q != p; q = q->next)
            if (num_of(q, "port") == num_of(p, "port") && strcmp(proto_of(q), proto_of(p)) == 0) {
                cJSON *key = cJSON_CreateObject();
                if (key) {
                    cJSON_AddStringToObject(key, "protocol", proto_of(p));
                    cJSON_AddNumberToObject(key, "port", num_of(p, "port"));
                }
                size_t m = vp_index(c, i);
                v_duplicate_json(c, NULL, key, NULL);
                vp_pop(c, m);
                cJSON_Delete(key);
                break;
            }
    }
}

static bool is_headless(const cJSON *spec)
{
    const char *ip = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "clusterIP"));
    return ip && strcmp(ip, "None") == 0;
}

static void cluster_ips(vctx *c, const cJSON *spec, const char *type)
{
    const char *ip = v_str(c, spec, "clusterIP");
    const cJSON *ips = v_arr(c, spec, "clusterIPs");
    bool external = type && strcmp(type, "ExternalName") == 0;
    if (external) {
        if (ip && *ip)
            v_forbidden(c, "clusterIP", "may not be set for ExternalName services");
        if (ips && ips->child)
            v_forbidden(c, "clusterIPs", "may not be set for ExternalName services");
        return;
    }
    if (ip && *ip && strcmp(ip, "None") != 0 && !berth_names_is_ip(ip))
        v_invalid_str(c, "clusterIP", ip, IP_MSG);
    size_t i = 0;
    for (const cJSON *x = ips ? ips->child : NULL; x; x = x->next, i++) {
        const char *s = cJSON_GetStringValue(x);
        size_t m = vp_child(c, "clusterIPs");
        vp_index(c, i);
        if (!s)
            v_invalid_json(c, NULL, x, "must be a string");
        else if (!(i == 0 && strcmp(s, "None") == 0) && !berth_names_is_ip(s))
            v_invalid_str(c, NULL, s, IP_MSG);
        vp_pop(c, m);
    }
    const char *first = ips && ips->child ? cJSON_GetStringValue(ips->child) : NULL;
    if (first && ip && *ip && strcmp(first, ip) != 0)
        v_invalid_json(c, "clusterIPs", ips, "first value must match `clusterIP`");
    if (is_headless(spec) && type && strcmp(type, "LoadBalancer") == 0)
        v_invalid_str(c, "clusterIPs[0]", "None", "may not be set to 'None' for LoadBalancer services");
    if (is_headless(spec) && type && strcmp(type, "NodePort") == 0)
        v_invalid_str(c, "clusterIPs[0]", "None", "may not be set to 'None' for NodePort services");
}

void berth_validate_service(vctx *c, const cJSON *obj, const cJSON *old)
{
    const cJSON *spec = v_obj(c, obj, "spec");
    if (!spec)
        spec = &berth_v_empty;
    size_t m = vp_child(c, "spec");
    const char *type = v_str(c, spec, "type");
    if (type && !*type)
        type = NULL;
    bool external = type && strcmp(type, "ExternalName") == 0;
    const cJSON *ports = v_arr(c, spec, "ports");
    if ((!ports || !ports->child) && !is_headless(spec) && !external)
        v_required(c, "ports", NULL);
    if (external) {
        const char *cname = v_str(c, spec, "externalName");
        char buf[300];
        size_t len = cname ? strlen(cname) : 0;
        if (len && cname[len - 1] == '.')
            len--;
        if (!len) {
            v_required(c, "externalName", NULL);
        } else if (len < sizeof buf) {
            memcpy(buf, cname, len);
            buf[len] = 0;
            v_dns1123_subdomain(c, "externalName", buf);
        } else {
            v_invalid_str(c, "externalName", cname, "must be no more than 253 characters");
        }
    }
    size_t m1 = vp_child(c, "ports");
    service_ports(c, ports, type);
    vp_pop(c, m1);
    const cJSON *sel = v_strmap(c, spec, "selector");
    m1 = vp_child(c, "selector");
    v_labels(c, sel);
    vp_pop(c, m1);
    static const char *const affinities[] = {"ClientIP", "None", NULL};
    const char *aff = v_str(c, spec, "sessionAffinity");
    if (aff && *aff && !v_oneof(aff, affinities))
        v_unsupported(c, "sessionAffinity", aff, affinities);
    if ((!aff || !*aff || strcmp(aff, "None") == 0) &&
        v_obj(c, spec, "sessionAffinityConfig"))
        v_forbidden(c, "sessionAffinityConfig", "must not be set when session affinity is None");
    long long timeout;
    const cJSON *sac = v_obj(c, spec, "sessionAffinityConfig");
    const cJSON *cip = v_obj(c, sac, "clientIP");
    if (cip && v_int(c, cip, "timeoutSeconds", &timeout) && (timeout <= 0 || timeout > 86400)) {
        m1 = vp_child(c, "sessionAffinityConfig.clientIP");
        v_invalid_int(c, "timeoutSeconds", timeout, "must be greater than 0 and less than 86400");
        vp_pop(c, m1);
    }
    cluster_ips(c, spec, type);
    const cJSON *eips = v_arr(c, spec, "externalIPs");
    size_t i = 0;
    for (const cJSON *x = eips ? eips->child : NULL; x; x = x->next, i++) {
        const char *s = cJSON_GetStringValue(x);
        m1 = vp_child(c, "externalIPs");
        vp_index(c, i);
        if (!berth_names_is_ip(s))
            v_invalid_str(c, NULL, s ? s : "", IP_MSG);
        vp_pop(c, m1);
    }
    if (type && !v_oneof(type, types))
        v_unsupported(c, "type", type, types);
    static const char *const policies[] = {"Cluster", "Local", NULL};
    static const char *const tp[] = {"externalTrafficPolicy", "internalTrafficPolicy"};
    for (int k = 0; k < 2; k++) {
        const char *s = v_str(c, spec, tp[k]);
        if (s && *s && !v_oneof(s, policies))
            v_unsupported(c, tp[k], s, policies);
    }
    if (old) {
        /* A cluster IP, once allocated, stays: only ExternalName services,
         * which have none, may move to or from one. An empty clusterIP on
         * update means "as stored". */
        const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old, "spec");
        const char *otype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ospec, "type"));
        const cJSON *ip = cJSON_GetObjectItemCaseSensitive(spec, "clusterIP");
        const cJSON *oip = cJSON_GetObjectItemCaseSensitive(ospec, "clusterIP");
        bool ext = external || (otype && strcmp(otype, "ExternalName") == 0);
        if (!ext && cJSON_IsString(ip) && *ip->valuestring && cJSON_IsString(oip) &&
            *oip->valuestring)
            v_immutable(c, "clusterIP", ip, oip);
    }
    vp_pop(c, m);
}

/* ---- Endpoints ---- */

static void endpoint_address(vctx *c, const cJSON *a)
{
    const char *ip = v_str(c, a, "ip");
    if (!berth_names_is_ip(ip))
        v_invalid_str(c, "ip", ip ? ip : "", IP_MSG);
    const char *host = v_str(c, a, "hostname");
    if (host && *host)
        v_dns1123_label(c, "hostname", host);
    const char *node = v_str(c, a, "nodeName");
    if (node)
        v_dns1123_subdomain(c, "nodeName", node);
}

void berth_validate_endpoints(vctx *c, const cJSON *obj)
{
    const cJSON *subsets = v_arr(c, obj, "subsets");
    size_t i = 0;
    for (const cJSON *ss = subsets ? subsets->child : NULL; ss; ss = ss->next, i++) {
        size_t m = vp_child(c, "subsets");
        vp_index(c, i);
        const cJSON *addrs = v_arr(c, ss, "addresses");
        const cJSON *nr = v_arr(c, ss, "notReadyAddresses");
        if ((!addrs || !addrs->child) && (!nr || !nr->child))
            v_required(c, NULL, "must specify `addresses` or `notReadyAddresses`");
        static const char *const lists[] = {"addresses", "notReadyAddresses"};
        for (int k = 0; k < 2; k++) {
            const cJSON *list = k ? nr : addrs;
            size_t j = 0;
            for (const cJSON *a = list ? list->child : NULL; a; a = a->next, j++) {
                size_t m1 = vp_child(c, lists[k]);
                vp_index(c, j);
                endpoint_address(c, a);
                vp_pop(c, m1);
            }
        }
        const cJSON *ports = v_arr(c, ss, "ports");
        int n = ports ? cJSON_GetArraySize(ports) : 0;
        size_t j = 0;
        for (const cJSON *p = ports ? ports->child : NULL; p; p = p->next, j++) {
            size_t m1 = vp_child(c, "ports");
            vp_index(c, j);
            const char *name = v_str(c, p, "name");
            if (n > 1 && (!name || !*name))
                v_required(c, "name", NULL);
            else if (name && *name)
                v_dns1123_label(c, "name", name);
            long long port = 0;
            v_int(c, p, "port", &port);
            v_port_num(c, "port", port);
            protocol(c, p);
            vp_pop(c, m1);
        }
        vp_pop(c, m);
    }
}
