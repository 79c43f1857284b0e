/* The kube-dns Endpoints when several servers serve DNS (API servers on
 * one etcd, each with its node agent): every server keeps its own address
 * there, beside the others', and takes out the address of a server whose
 * node stopped renewing its Lease, as kube-apiserver's lease reconciler
 * does for the `kubernetes` Endpoints. Every round reads the Endpoints and
 * the node Leases, computes the addresses (berth_dns_endpoints_merge, pure)
 * and, when they differ, writes them conditionally on the resourceVersion
 * it read: a server that lost a race tries again next round. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "berth/object.h"
#include "dns/dns.h"
#include "util/rfc3339.h"

#define ROUND_MS 10000
#define DEFAULT_LEASE_SECONDS 40

/* ---- The merge ---- */

/* Whether the node's Lease (in a LeaseList) was renewed within its
 * duration of now. */
static bool alive(const cJSON *leases, const char *node, int64_t now_s)
{
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(leases, "items"))
    {
        const char *name = berth_obj_name(l);
        if (!name || strcmp(name, node) != 0)
            continue;
        int64_t renewed = berth_rfc3339_parse(berth_obj_str(l, "spec.renewTime"));
        const cJSON *d = berth_obj_at(l, "spec.leaseDurationSeconds");
        int64_t dur = cJSON_IsNumber(d) && d->valuedouble > 0 ? (int64_t)d->valuedouble
                                                              : DEFAULT_LEASE_SECONDS;
        return renewed >= 0 && now_s <= renewed + dur;
    }
    return false;
}

typedef struct dns_addr {
    const char *ip, *node;
    double port;
} dns_addr;

/* By port, then address: the subsets in order, each sorted. */
static int cmp_addr(const void *a, const void *b)
{
    const dns_addr *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return strcmp(x->ip, y->ip);
}

static void add_port(cJSON *ports, const char *name, const char *proto, double port)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "protocol", proto);
    cJSON_AddNumberToObject(p, "port", port);
    cJSON_AddItemToArray(ports, p);
}

/* The subsets for addrs (sorted): one per port, as Endpoints group them. */
static cJSON *subsets_of(const dns_addr *addrs, size_t n)
{
    cJSON *subsets = cJSON_CreateArray(), *list = NULL;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || addrs[i].port != addrs[i - 1].port) {
            cJSON *subset = cJSON_CreateObject();
            list = cJSON_AddArrayToObject(subset, "addresses");
            cJSON *ports = cJSON_AddArrayToObject(subset, "ports");
            add_port(ports, "dns", "UDP", addrs[i].port);
            add_port(ports, "dns-tcp", "TCP", addrs[i].port);
            cJSON_AddItemToArray(subsets, subset);
        }
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "ip", addrs[i].ip);
        cJSON_AddStringToObject(a, "nodeName", addrs[i].node);
        cJSON_AddItemToArray(list, a);
    }
    return subsets;
}

cJSON *berth_dns_endpoints_merge(const cJSON *cur, const cJSON *leases, const char *node,
                                 const char *addr, uint16_t port, int64_t now_s)
{
    size_t cap = 1, n = 0;
    const cJSON *s, *a;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(cur, "subsets"))
    {
        cap += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "addresses"));
    }
    dns_addr *addrs = calloc(cap, sizeof *addrs);
    if (!addrs)
        return NULL;
    addrs[n++] = (dns_addr){addr, node, port};
    /* Another server's address stays while its node is alive; one without
     * a node (an older server wrote it) or of this node goes. */
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(cur, "subsets"))
    {
        const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "ports"), 0);
        const cJSON *pn = cJSON_GetObjectItemCaseSensitive(p, "port");
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(s, "addresses"))
        {
            const char *ip = berth_obj_str(a, "ip"), *on = berth_obj_str(a, "nodeName");
            if (ip && on && cJSON_IsNumber(pn) && strcmp(on, node) != 0 && n < cap &&
                alive(leases, on, now_s))
                addrs[n++] = (dns_addr){ip, on, pn->valuedouble};
        }
    }
    qsort(addrs, n, sizeof *addrs, cmp_addr);
    cJSON *subsets = subsets_of(addrs, n);
    free(addrs);
    if (cJSON_Compare(subsets, cJSON_GetObjectItemCaseSensitive(cur, "subsets"), true)) {
        cJSON_Delete(subsets);
        return NULL;
    }
    cJSON *ep = cJSON_CreateObject();
    cJSON_AddStringToObject(ep, "apiVersion", "v1");
    cJSON_AddStringToObject(ep, "kind", "Endpoints");
    cJSON *md = cJSON_AddObjectToObject(ep, "metadata");
    cJSON_AddStringToObject(md, "name", "kube-dns");
    cJSON_AddStringToObject(md, "namespace", "kube-system");
    const char *rv = berth_obj_str(cur, "metadata.resourceVersion");
    if (rv)
        cJSON_AddStringToObject(md, "resourceVersion", rv);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "k8s-app", "kube-dns");
    cJSON_AddItemToObject(ep, "subsets", subsets);
    return ep;
}

/* ---- The rounds ---- */

struct berth_dns_endpoints {
    berth_client *c;
    struct event *timer;
    char node[254], addr[64];
    uint16_t port;
    cJSON *cur;   /* the Endpoints read this round; NULL: none yet */
    bool busy;    /* a round is in flight */
    bool freed;   /* freed while busy: the round's last reply frees it */
};

static void finish(berth_dns_endpoints *e)
{
    cJSON_Delete(e->cur);
    e->cur = NULL;
    e->busy = false;
    if (e->freed)
        free(e);
}

static bool gone(berth_dns_endpoints *e, const berth_reply *r)
{
    if (!e->freed && r->err != BERTH_ECANCELED)
        return false;
    finish(e);
    return true;
}

static void on_written(void *arg, const berth_reply *r)
{
    berth_dns_endpoints *e = arg;
    if (gone(e, r))
        return;
    /* A Conflict is another server's write: the next round merges it. */
    if (r->err && r->err != BERTH_ECONFLICT && r->err != BERTH_EEXISTS)
        BERTH_WARN("dns", "cannot write the kube-dns Endpoints: %s",
                   r->message ? r->message : berth_strerror(r->err));
    finish(e);
}

static void on_leases(void *arg, const berth_reply *r)
{
    berth_dns_endpoints *e = arg;
    if (gone(e, r))
        return;
    if (r->err) {
        finish(e);
        return;
    }
    cJSON *want = berth_dns_endpoints_merge(e->cur, r->obj, e->node, e->addr, e->port,
                                            (int64_t)time(NULL));
    if (!want) {
        finish(e);
        return;
    }
    berth_request req = {.kind = berth_kind_find("v1", "Endpoints"), .ns = "kube-system",
                         .name = "kube-dns", .body = want};
    int rc = berth_client_request(e->c, e->cur ? BERTH_VERB_UPDATE : BERTH_VERB_CREATE, &req,
                                  on_written, e);
    cJSON_Delete(want);
    if (rc)
        finish(e);
}

static void on_endpoints(void *arg, const berth_reply *r)
{
    berth_dns_endpoints *e = arg;
    if (gone(e, r))
        return;
    if (r->err && r->err != BERTH_ENOTFOUND) {
        finish(e);
        return;
    }
    e->cur = r->err ? NULL : cJSON_Duplicate(r->obj, 1);
    berth_request req = {.kind = berth_kind_find("coordination.k8s.io/v1", "Lease"),
                         .ns = "kube-node-lease"};
    if (berth_client_request(e->c, BERTH_VERB_LIST, &req, on_leases, e) != 0)
        finish(e);
}

static void round_start(evutil_socket_t fd, short what, void *arg)
{
    berth_dns_endpoints *e = arg;
    if (e->busy)
        return;
    e->busy = true;
    berth_request req = {.kind = berth_kind_find("v1", "Endpoints"), .ns = "kube-system",
                         .name = "kube-dns"};
    if (berth_client_request(e->c, BERTH_VERB_GET, &req, on_endpoints, e) != 0)
        finish(e);
}

int berth_dns_endpoints_start(struct event_base *base, berth_client *c, const char *node,
                              const char *addr, uint16_t port, berth_dns_endpoints **out)
{
    if (!base || !c || !node || !addr || strlen(node) >= sizeof((*out)->node) ||
        strlen(addr) >= sizeof((*out)->addr))
        return BERTH_EINVAL;
    berth_dns_endpoints *e = calloc(1, sizeof *e);
    if (!e || !(e->timer = event_new(base, -1, EV_PERSIST, round_start, e))) {
        free(e);
        return BERTH_ENOMEM;
    }
    e->c = c;
    snprintf(e->node, sizeof e->node, "%s", node);
    snprintf(e->addr, sizeof e->addr, "%s", addr);
    e->port = port;
    struct timeval tv = {ROUND_MS / 1000, (ROUND_MS % 1000) * 1000};
    event_add(e->timer, &tv);
    round_start(-1, 0, e);
    *out = e;
    return 0;
}

void berth_dns_endpoints_free(berth_dns_endpoints *e)
{
    if (!e)
        return;
    event_free(e->timer);
    e->timer = NULL;
    if (e->busy)
        e->freed = true;
    else
        free(e);
}
