/* Kubernetes resource quantities ("500m", "0.5", "128Mi", "1G", "1e3"),
 * parsed exactly into integers. */
#ifndef BERTH_QUANTITY_H
#define BERTH_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into thousandths of a unit ("500m" -> 500, "1" -> 1000,
 * "128Mi" -> 134217728000, "1e3" -> 1000000). The grammar is Kubernetes':
 * an optional sign, digits with an optional fraction (".5" is accepted,
 * "1." is not), then one suffix: n u m "" k M G T P E, Ki Mi Gi Ti Pi Ei, or
 * a decimal exponent (e3, E-2). The value is computed exactly; a fraction of
 * a milli-unit rounds the magnitude up, away from zero, as Kubernetes'
 * MilliValue() does ("1n" -> 1, "-1n" -> -1). Negative quantities parse;
 * callers that need a non-negative amount check the sign. Returns 0,
 * BERTH_EINVAL for malformed text ("", "1.", "1Kb", "1 Gi", "--1"), or
 * BERTH_ERANGE when the value overflows int64 milli-units or carries more
 * than 128 significant digits. */
int berth_quantity_parse_milli(const char *s, int64_t *milli);
/* Parses s into whole units, rounding a fractional value up, as Kubernetes'
 * Quantity.Value() does ("1.5" -> 2, "128Mi" -> 134217728). */
int berth_quantity_parse(const char *s, int64_t *units);
/* Formats milli-units in Kubernetes' canonical form: "500m", "2", "1500",
 * "2k"; with binary set, a whole number of units of at least 1024 takes the
 * largest binary suffix that keeps the mantissa whole ("128Mi", "1536"),
 * anything else falls back to the decimal form. Returns the length written
 * (snprintf semantics). */
int berth_quantity_format_milli(int64_t milli, int binary, char *buf, size_t size);

#endif
