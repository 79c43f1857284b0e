/* network-bridge internals: pods on one Linux bridge per node, each in its
 * own network namespace joined to the bridge by a veth pair. Files:
 *   bridge.c   the plugin: init, fini, configure (bridge, forwarding), status,
 *              the service proxy
 *   pods.c     setup, teardown and list: namespaces, veths, pod records
 *   nft.c      the node's own nftables table: masquerade and forwarding
 *   peers.c    routes to the other nodes' pod ranges
 * Addresses come from plugins/common/ipam.c, links from netlink.c and
 * namespaces from netns.c.
 *
 * Data dir layout (DATA_DIR/plugins/network-bridge/):
 *   netns/UID   the pod's network namespace (a bind mount)
 *   pods/UID    ip=, gateway=, netns= of a set-up pod (written last)
 *   ipam/IP     the pod uid holding that address
 *   peers       "CIDR VIA" lines: the routes set_peers installed */
#ifndef BERTH_NETWORK_BRIDGE_NB_H
#define BERTH_NETWORK_BRIDGE_NB_H

#include <limits.h>
#include <net/if.h>
#include <stdint.h>

#include "berth/plugin.h"
#include "common/ipam.h"
#include "common/proxy.h"

/* The nftables table (family ip) holding masquerade and forward rules. */
#define NB_NFT_TABLE "berth-net"

/* One route to another node's pods. */
typedef struct nb_route {
    char cidr[20]; /* "10.244.1.0/24" */
    char via[16];  /* "192.168.1.12" */
} nb_route;

typedef struct nb {
    const berth_host *host;
    char dir[PATH_MAX - 512]; /* the data dir, with room for a file below it */
    char bridge[IF_NAMESIZE];
    char node_name[256];
    char node_ip[64];
    char pod_cidr[20];     /* "" until configured */
    /* The range whose gateway the bridge got last, kept in DIR/bridge-cidr
     * so that a range changed across a restart loses its old gateway. */
    char bridge_cidr[20];
    char cluster_cidr[20]; /* "" when unknown */
    char service_cidr[20];
    char problem[256]; /* the last configure failure, for status */
    berth_ipam ipam;
    berth_nproxy *proxy;
    nb_route *routes; /* installed by set_peers */
    uint32_t nroutes;
} nb;

#define NB_LOG(n, level, ...) (n)->host->log((n)->host, (level), __VA_ARGS__)

/* Logs "what: strerror(-err)" for a netlink error and returns its BERTH_E*
 * code. */
int nb_nl_fail(nb *n, int err, const char *what, const char *name);

/* pods.c */
int nb_setup(void *state, const berth_net_pod *pod, berth_net_attachment *out);
int nb_teardown(void *state, const char *pod_uid);
int nb_list(void *state, berth_net_list_fn fn, void *arg);
/* How many pods have a record. */
int nb_pod_count(nb *n);

/* nft.c: replaces the table as one transaction, or removes it. */
int nb_nft_apply(nb *n);
int nb_nft_remove(nb *n);

/* peers.c */
int nb_set_peers(void *state, const berth_net_peer *peers, uint32_t count);
/* Reads the routes a previous run installed, so they can be replaced. */
int nb_routes_load(nb *n);
/* Removes every route set_peers installed. */
void nb_routes_clear(nb *n);

#endif
