/* Routes to the other nodes' pod ranges: POD_CIDR via NODE_IP in the node's
 * namespace. The routes installed are remembered in DATA_DIR/peers, so a
 * restarted agent removes the ones no longer wanted, and fini (with no pods
 * left) removes them all. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/netlink.h"
#include "nb.h"

static int parse_route(const nb_route *r, struct in_addr *dst, int *prefix, struct in_addr *via)
{
    return berth_cidr_parse(r->cidr, dst, prefix) == 0 && inet_pton(AF_INET, r->via, via) == 1
               ? 0
               : BERTH_EINVAL;
}

static int save(nb *n)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.peers.tmp", n->dir);
    snprintf(path, sizeof path, "%s/peers", n->dir);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot write %s: %s", tmp, strerror(errno));
        return BERTH_EIO;
    }
    for (uint32_t i = 0; i < n->nroutes; i++)
        fprintf(f, "%s %s\n", n->routes[i].cidr, n->routes[i].via);
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return BERTH_EIO;
    }
    return 0;
}

int nb_routes_load(nb *n)
{
    char path[PATH_MAX], line[128];
    snprintf(path, sizeof path, "%s/peers", n->dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : BERTH_EIO;
    while (fgets(line, sizeof line, f)) {
        nb_route r;
        struct in_addr dst, via;
        int prefix;
        if (sscanf(line, "%19s %15s", r.cidr, r.via) != 2 ||
            parse_route(&r, &dst, &prefix, &via) < 0)
            continue;
        nb_route *grown = realloc(n->routes, (n->nroutes + 1) * sizeof *grown);
        if (!grown) {
            fclose(f);
            return BERTH_ENOMEM;
        }
        n->routes = grown;
        n->routes[n->nroutes++] = r;
    }
    fclose(f);
    return 0;
}

static int has_route(const nb_route *set, uint32_t count, const nb_route *r)
{
    for (uint32_t i = 0; i < count; i++)
        if (strcmp(set[i].cidr, r->cidr) == 0 && strcmp(set[i].via, r->via) == 0)
            return 1;
    return 0;
}

static void route_del(nb *n, berth_nl *nl, const nb_route *r)
{
    struct in_addr dst, via;
    int prefix;
    if (parse_route(r, &dst, &prefix, &via) < 0)
        return;
    int err = berth_nl_route_del(nl, dst, prefix, via);
    if (err < 0 && err != -ESRCH)
        NB_LOG(n, BERTH_PLOG_WARN, "cannot remove the route to %s via %s: %s", r->cidr, r->via,
               strerror(-err));
}

/* The peers worth a route: complete, well formed and not this node. */
static uint32_t wanted_routes(nb *n, const berth_net_peer *peers, uint32_t count, nb_route *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < count; i++) {
        const berth_net_peer *p = BERTH_AT(berth_net_peer, peers, peers->size, i);
        nb_route r;
        struct in_addr dst, via;
        int prefix;
        int self = (p->node_name && strcmp(p->node_name, n->node_name) == 0) ||
                   (p->pod_cidr && strcmp(p->pod_cidr, n->pod_cidr) == 0) ||
                   (p->node_ip && strcmp(p->node_ip, n->node_ip) == 0);
        if (self || !p->pod_cidr || !p->node_ip)
            continue;
        if (strlen(p->pod_cidr) >= sizeof r.cidr || strlen(p->node_ip) >= sizeof r.via) {
            NB_LOG(n, BERTH_PLOG_WARN, "peer %s: pod CIDR %s or address %s too long; skipped",
                   p->node_name ? p->node_name : "?", p->pod_cidr, p->node_ip);
            continue;
        }
        snprintf(r.cidr, sizeof r.cidr, "%s", p->pod_cidr);
        snprintf(r.via, sizeof r.via, "%s", p->node_ip);
        if (parse_route(&r, &dst, &prefix, &via) < 0) {
            NB_LOG(n, BERTH_PLOG_WARN, "peer %s: \"%s via %s\" is not an IPv4 route; skipped",
                   p->node_name ? p->node_name : "?", p->pod_cidr, p->node_ip);
            continue;
        }
        if (!has_route(out, k, &r))
            out[k++] = r;
    }
    return k;
}

int nb_set_peers(void *state, const berth_net_peer *peers, uint32_t count)
{
    nb *n = state;
    if (count && (!peers || peers->size < BERTH_NET_PEER_V1_SIZE))
        return BERTH_EINVAL;
    nb_route *want = calloc(count ? count : 1, sizeof *want);
    if (!want)
        return BERTH_ENOMEM;
    uint32_t nwant = wanted_routes(n, peers, count, want);
    berth_nl nl;
    int err = berth_nl_open(&nl);
    if (err < 0) {
        free(want);
        return nb_nl_fail(n, err, "cannot open a netlink socket for", "peer routes");
    }
    /* Stale ones first: a range that moved to another node must lose its
     * old gateway before it gets the new one. */
    for (uint32_t i = 0; i < n->nroutes; i++)
        if (!has_route(want, nwant, &n->routes[i]))
            route_del(n, &nl, &n->routes[i]);
    int rc = 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < nwant; i++) {
        struct in_addr dst, via;
        int prefix;
        parse_route(&want[i], &dst, &prefix, &via);
        err = berth_nl_route_replace(&nl, dst, prefix, via, 0);
        if (err < 0) {
            NB_LOG(n, BERTH_PLOG_ERROR, "cannot route %s via %s: %s", want[i].cidr, want[i].via,
                   strerror(-err));
            rc = BERTH_EIO;
            continue;
        }
        want[kept++] = want[i];
    }
    berth_nl_close(&nl);
    free(n->routes);
    n->routes = want;
    n->nroutes = kept;
    int serr = save(n);
    return rc < 0 ? rc : serr;
}

void nb_routes_clear(nb *n)
{
    if (!n->nroutes)
        return;
    berth_nl nl;
    if (berth_nl_open(&nl) == 0) {
        for (uint32_t i = 0; i < n->nroutes; i++)
            route_del(n, &nl, &n->routes[i]);
        berth_nl_close(&nl);
    }
    n->nroutes = 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/peers", n->dir);
    unlink(path);
}
