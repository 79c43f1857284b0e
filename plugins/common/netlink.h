/* A small rtnetlink client for the network plugins: links (bridge, dummy,
 * veth), their state, bridge ports, IPv4 addresses and routes, spoken to the
 * kernel directly instead of through ip(8).
 *
 * A berth_nl talks to the network namespace it was opened in, whatever the
 * calling thread joins later. Requests are built in stack buffers and never
 * allocate, so they are safe in a child forked from a threaded process.
 * Every function returns 0 or a negative errno from the kernel (-EEXIST,
 * -ENODEV, ...), which callers turn into a message and a BERTH_E* code. */
#ifndef BERTH_PLUGINS_COMMON_NETLINK_H
#define BERTH_PLUGINS_COMMON_NETLINK_H

#include <netinet/in.h>
#include <stdint.h>

typedef struct berth_nl {
    int fd;
    uint32_t seq;
} berth_nl;

int berth_nl_open(berth_nl *nl);
void berth_nl_close(berth_nl *nl);

/* A link of a kind that needs no further options ("bridge", "dummy").
 * -EEXIST when the name is taken. */
int berth_nl_link_add(berth_nl *nl, const char *name, const char *kind);
/* A veth pair; the peer is created directly in the namespace peer_netns_fd
 * refers to (-1: this one), so it never appears under its name here. */
int berth_nl_veth_add(berth_nl *nl, const char *name, const char *peer, int peer_netns_fd);
int berth_nl_link_del(berth_nl *nl, int ifindex);
int berth_nl_link_up(berth_nl *nl, int ifindex);
/* Makes ifindex a port of the bridge master (0: detaches it). */
int berth_nl_link_set_master(berth_nl *nl, int ifindex, int master);
/* Lets a bridge port send frames back out the port they came in on, so a
 * pod reaches itself through a Service address. */
int berth_nl_port_hairpin(berth_nl *nl, int ifindex, int on);

/* Adds (or keeps) addr/prefix on ifindex, with the subnet's broadcast. */
int berth_nl_addr_add(berth_nl *nl, int ifindex, struct in_addr addr, int prefix);
int berth_nl_addr_del(berth_nl *nl, int ifindex, struct in_addr addr, int prefix);

/* Adds or replaces the main-table route dst/prefix via gw (0: on-link),
 * out of ifindex (0: wherever gw is reachable). */
int berth_nl_route_replace(berth_nl *nl, struct in_addr dst, int prefix, struct in_addr gw,
                           int ifindex);
int berth_nl_route_del(berth_nl *nl, struct in_addr dst, int prefix, struct in_addr gw);

#endif
