/* Routing: a request path to what it names, as Kubernetes lays out its
 * REST paths. Pure string work, no allocation. */
#include <string.h>

#include "api/api-int.h"

#define MAX_SEGS 10

/* Splits path on '/' into at most MAX_SEGS segments; empty segments are
 * skipped. Returns the count, or -1 when there are more. */
static int split(const char *path, const char *seg[], size_t len[])
{
    int n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (n == MAX_SEGS)
            return -1;
        seg[n] = p;
        len[n] = l;
        n++;
        p += l;
    }
    return n;
}

static bool eq(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static int copy(char *dst, size_t size, const char *s, size_t len)
{
    if (len >= size)
        return -1;
    memcpy(dst, s, len);
    dst[len] = 0;
    return 0;
}

/* Resolves "{resource}" within group/version, the rest of the segments
 * being [name [sub]]. ns is already filled in (or empty). */
static int resource_path(api_route *rt, const char *group, const char *version,
                         const char *seg[], size_t len[], int n, bool in_ns)
{
    char res[64];
    if (n < 1 || n > 3 || copy(res, sizeof res, seg[0], len[0]))
        return BERTH_ENOTFOUND;
    const berth_kind *k = berth_kind_by_resource(group, res);
    if (!k || strcmp(k->version, version) != 0)
        return BERTH_ENOTFOUND;
    rt->kind = k;
    /* A namespace in the path is only for namespaced kinds; a namespaced
     * kind without one is listed across all namespaces. */
    if (in_ns && !k->namespaced)
        return BERTH_ENOTFOUND;
    if (n == 1) {
        rt->type = API_R_COLLECTION;
        return 0;
    }
    if (!in_ns && k->namespaced)
        return BERTH_ENOTFOUND; /* /api/v1/pods/x has no meaning */
    if (copy(rt->name, sizeof rt->name, seg[1], len[1]))
        return BERTH_ENOTFOUND;
    rt->type = API_R_OBJECT;
    if (n == 3 && copy(rt->sub, sizeof rt->sub, seg[2], len[2]))
        return BERTH_ENOTFOUND;
    return 0;
}

/* The path below /api/v1 or /apis/{g}/{v}. */
static int gv_path(api_route *rt, const char *group, const char *version,
                   const char *seg[], size_t len[], int n)
{
    if (n == 0) {
        rt->type = API_R_GROUPVER;
        return 0;
    }
    if (eq(seg[0], len[0], "namespaces") && n >= 3) {
        /* namespaces/{ns}/{resource}..., except namespaces/{name}/status
         * and /finalize, the Namespace's own subresources. */
        bool own = n == 3 && group[0] == 0 &&
                   (eq(seg[2], len[2], "status") || eq(seg[2], len[2], "finalize"));
        if (!own) {
            if (copy(rt->ns, sizeof rt->ns, seg[1], len[1]))
                return BERTH_ENOTFOUND;
            return resource_path(rt, group, version, seg + 2, len + 2, n - 2, true);
        }
    }
    return resource_path(rt, group, version, seg, len, n, false);
}

int api_route_parse(const char *path, api_route *rt)
{
    memset(rt, 0, sizeof *rt);
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
    int n = split(path, seg, len);
    if (n <= 0)
        return BERTH_ENOTFOUND;
    if (n == 1) {
        static const struct {
            const char *name;
            api_route_type type;
        } top[] = {
            {"version", API_R_VERSION}, {"healthz", API_R_HEALTH},
            {"livez", API_R_HEALTH},    {"readyz", API_R_HEALTH},
            {"metrics", API_R_METRICS}, {"api", API_R_API},
            {"apis", API_R_APIS},
        };
        for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
            if (eq(seg[0], len[0], top[i].name)) {
                rt->type = top[i].type;
                return 0;
            }
        return BERTH_ENOTFOUND;
    }
    if (eq(seg[0], len[0], "debug") && n == 2 && len[1] < sizeof rt->name) {
        rt->type = API_R_DEBUG;
        memcpy(rt->name, seg[1], len[1]);
        rt->name[len[1]] = 0;
        return 0;
    }
    if (eq(seg[0], len[0], "healthz") || eq(seg[0], len[0], "livez") ||
        eq(seg[0], len[0], "readyz")) {
        rt->type = API_R_HEALTH;
        return 0;
    }
    if (eq(seg[0], len[0], "openapi")) {
        if (eq(seg[1], len[1], "v2") && n == 2) {
            rt->type = API_R_OPENAPI_V2;
            return 0;
        }
        if (!eq(seg[1], len[1], "v3"))
            return BERTH_ENOTFOUND;
        if (n == 2) {
            rt->type = API_R_OPENAPI_V3;
            return 0;
        }
        rt->type = API_R_OPENAPI_V3_GV;
        if (n == 4 && eq(seg[2], len[2], "api"))
            return copy(rt->version, sizeof rt->version, seg[3], len[3]) ? BERTH_ENOTFOUND
                                                                         : 0;
        if (n == 5 && eq(seg[2], len[2], "apis") &&
            !copy(rt->group, sizeof rt->group, seg[3], len[3]) &&
            !copy(rt->version, sizeof rt->version, seg[4], len[4]))
            return 0;
        rt->type = API_R_NONE;
        return BERTH_ENOTFOUND;
    }
    if (eq(seg[0], len[0], "api")) {
        if (!eq(seg[1], len[1], "v1"))
            return BERTH_ENOTFOUND;
        strcpy(rt->version, "v1");
        return gv_path(rt, "", "v1", seg + 2, len + 2, n - 2);
    }
    if (eq(seg[0], len[0], "apis")) {
        if (copy(rt->group, sizeof rt->group, seg[1], len[1]))
            return BERTH_ENOTFOUND;
        if (n == 2) {
            rt->type = API_R_GROUP;
            return 0;
        }
        if (copy(rt->version, sizeof rt->version, seg[2], len[2]))
            return BERTH_ENOTFOUND;
        return gv_path(rt, rt->group, rt->version, seg + 3, len + 3, n - 3);
    }
    return BERTH_ENOTFOUND;
}
