/* A stand-in for the service proxy (proxy.h) that installs nothing, so the
 * network plugins build and link before the real one lands. */
#include <stdlib.h>

#include "common/proxy.h"

struct berth_nproxy {
    int unused;
};

int berth_nproxy_new(const berth_nproxy_opts *o, berth_nproxy **out)
{
    if (!o || !out)
        return BERTH_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : BERTH_ENOMEM;
}

int berth_nproxy_set_cluster_cidr(berth_nproxy *p, const char *cidr)
{
    return p ? 0 : BERTH_EINVAL;
}

int berth_nproxy_sync(berth_nproxy *p, const berth_proxy_table *t)
{
    return p && t ? 0 : BERTH_EINVAL;
}

void berth_nproxy_free(berth_nproxy *p)
{
    free(p);
}

char *berth_nproxy_render(const berth_nproxy *p, const berth_proxy_table *t, size_t *len)
{
    char *s = calloc(1, 1);
    if (s && len)
        *len = 0;
    return s;
}
