/* IPv4 address management for one node's pod range, kept on disk so it
 * survives restarts: DIR/A.B.C.D is a file naming the owner (a pod uid) of
 * that address. A file is created complete under a temporary name and
 * linked into place, which fails when the address is taken, so two
 * allocators (or a crash half-way) never hand out one address twice.
 *
 * The range's network address, its first address (the gateway) and its
 * broadcast address are never handed out. Addresses held outside the
 * current range (the range changed) stay held until their owner releases
 * them, and are never given out again while outside it. */
#ifndef BERTH_PLUGINS_COMMON_IPAM_H
#define BERTH_PLUGINS_COMMON_IPAM_H

#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>

typedef struct berth_ipam {
    char dir[PATH_MAX - 64]; /* room for "/A.B.C.D" and temporary names */
    uint32_t net;            /* host byte order; with prefix, the range */
    int prefix;              /* 0: no range yet */
    uint32_t next;           /* where the next search starts, round-robin */
} berth_ipam;

/* "10.244.3.0/24" into its network address and prefix length; host bits
 * set in the address are an error. Prefixes 1..32 are accepted here;
 * berth_ipam_set_range wants room for pods. 0 or BERTH_EINVAL. */
int berth_cidr_parse(const char *s, struct in_addr *net, int *prefix);

/* Whether s can name an owner (and a file): [A-Za-z0-9_.-], not starting
 * with '.', under 128 bytes. */
int berth_ipam_owner_valid(const char *s);

/* Creates dir when missing and removes temporary files a crash left. */
int berth_ipam_open(berth_ipam *ip, const char *dir);
/* The range to hand out from: a prefix of /8 to /30. BERTH_EINVAL
 * otherwise. */
int berth_ipam_set_range(berth_ipam *ip, const char *cidr);
/* The range's first address, the pods' gateway. */
struct in_addr berth_ipam_gateway(const berth_ipam *ip);

/* An address for owner: the one it
 * already holds in the range, or a free one. BERTH_EUNAVAILABLE without a
 * range, BERTH_ERANGE when the range is full, BERTH_EINVAL for a bad owner,
 * BERTH_EIO when the directory cannot be written. */
int berth_ipam_alloc(berth_ipam *ip, const char *owner, struct in_addr *out);
/* The address owner holds in the range; BERTH_ENOTFOUND when none. */
int berth_ipam_lookup(const berth_ipam *ip, const char *owner, struct in_addr *out);
/* Frees every address owner holds, in the range or not; 0 also when it held
 * none. */
int berth_ipam_release(berth_ipam *ip, const char *owner);

#endif
