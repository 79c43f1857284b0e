/* RFC 3339 UTC timestamps as Kubernetes writes them ("2026-01-02T03:04:05Z",
 * with or without fractional seconds). */
#ifndef BERTH_UTIL_RFC3339_H
#define BERTH_UTIL_RFC3339_H

#include <stdint.h>

/* Seconds since the epoch, or -1 for NULL or anything else. */
int64_t berth_rfc3339_parse(const char *s);

#endif
