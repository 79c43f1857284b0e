/* IPv4 CIDRs as the server's flags give them ("10.96.0.0/12"). */
#ifndef BERTH_UTIL_CIDR_H
#define BERTH_UTIL_CIDR_H

#include <stdint.h>

/* Parses s into its network address (host byte order, host bits cleared,
 * as Kubernetes does with "10.96.0.1/12") and prefix length. BERTH_EINVAL
 * when s is not "A.B.C.D/N" with N in 0..32; BERTH_ERANGE when it is but
 * the address part is not an IPv4 address. */
int berth_cidr4_parse(const char *s, uint32_t *base, int *prefix);

#endif
