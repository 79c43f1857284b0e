/* Kubernetes resource quantities ("500m", "0.5", "128Mi", "1G", "1e3"),
 * parsed exactly into integers. */
#ifndef BERTH_QUANTITY_H
#define BERTH_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into thousandths of a unit ("500m" -> 500, "1" -> 1000,
 * "128Mi" -> 134217728000). Returns 0, BERTH_EINVAL for malformed text,
 * BERTH_ERANGE when the value overflows int64 milli-units or is not a whole
 * number of milli-units ("0.0001"). */
int berth_quantity_parse_milli(const char *s, int64_t *milli);
/* Parses s into whole units, rounding a fractional value up, as Kubernetes'
 * Quantity.Value() does ("1.5" -> 2, "128Mi" -> 134217728). */
int berth_quantity_parse(const char *s, int64_t *units);
/* Formats milli-units in the shortest canonical form ("500m", "2",
 * "128Mi" when binary was asked for and divisible). Returns the length
 * written (snprintf semantics). */
int berth_quantity_format_milli(int64_t milli, int binary, char *buf, size_t size);

#endif
