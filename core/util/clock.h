/* The monotonic clock, for durations and deadlines (never for timestamps
 * others read: those use the wall clock). */
#ifndef BERTH_UTIL_CLOCK_H
#define BERTH_UTIL_CLOCK_H

#include <stdint.h>

int64_t berth_mono_ns(void);
int64_t berth_mono_ms(void);

#endif
