#include "util/cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"

int berth_cidr4_parse(const char *s, uint32_t *base, int *prefix)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = s ? strchr(s, '/') : NULL;
    char *end = NULL;
    long p = slash ? strtol(slash + 1, &end, 10) : -1;
    if (!slash || (size_t)(slash - s) >= sizeof addr || !end || *end || end == slash + 1 ||
        p < 0 || p > 32)
        return BERTH_EINVAL;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = 0;
    struct in_addr in;
    if (inet_pton(AF_INET, addr, &in) != 1)
        return BERTH_ERANGE;
    uint32_t mask = p == 0 ? 0 : ~0u << (32 - p);
    *base = ntohl(in.s_addr) & mask;
    *prefix = (int)p;
    return 0;
}
