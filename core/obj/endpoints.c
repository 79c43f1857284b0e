/* Service and Endpoints ports (endpoints.h). */
#include <string.h>
#include <strings.h>

#include "berth/object.h"
#include "obj/endpoints.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* A string field, def when absent, NULL when of another type. */
static const char *str_or(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = get(o, k);
    if (!v || cJSON_IsNull(v))
        return def;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *berth_port_name(const cJSON *port)
{
    return str_or(port, "name", "");
}

const char *berth_port_protocol(const cJSON *port)
{
    return str_or(port, "protocol", "TCP");
}

uint16_t berth_port_number(const cJSON *port, const char *field)
{
    const cJSON *v = get(port, field);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
        v->valuedouble != (double)(int)v->valuedouble)
        return 0;
    return (uint16_t)v->valuedouble;
}

bool berth_port_matches(const cJSON *port, const char *name, const char *proto,
                        bool fold_case)
{
    const char *pn = berth_port_name(port), *pp = berth_port_protocol(port);
    int (*cmp)(const char *, const char *) = fold_case ? strcasecmp : strcmp;
    return pn && pp && !cmp(pn, name) && !cmp(pp, proto) && berth_port_number(port, "port");
}

void berth_endpoints_each_ready(const cJSON *ep, const char *name, const char *proto,
                                bool fold_case, berth_endpoint_fn fn, void *arg)
{
    const cJSON *sub, *p, *addr;
    const cJSON *subsets = get(ep, "subsets");
    if (!cJSON_IsArray(subsets))
        return;
    cJSON_ArrayForEach(sub, subsets)
    {
        const cJSON *ports = get(sub, "ports"), *addrs = get(sub, "addresses");
        if (!cJSON_IsArray(ports) || !cJSON_IsArray(addrs))
            continue;
        cJSON_ArrayForEach(p, ports)
        {
            if (!berth_port_matches(p, name, proto, fold_case))
                continue;
            uint16_t num = berth_port_number(p, "port");
            cJSON_ArrayForEach(addr, addrs)
                if (cJSON_IsObject(addr))
                    fn(arg, addr, num);
        }
    }
}
