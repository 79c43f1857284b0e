#include <time.h>

#include "util/clock.h"

int64_t berth_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t berth_mono_ms(void)
{
    return berth_mono_ns() / 1000000;
}
