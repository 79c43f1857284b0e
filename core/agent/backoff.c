/* CrashLoopBackOff as the kubelet computes it: the first exit restarts at
 * once, then each exit waits base, 2 base, 4 base ... up to max; a container
 * that ran for ten minutes starts over. */
#include "agent/agent-int.h"

int64_t berth_backoff_exit(berth_backoff *b, int64_t ran_ms, int64_t base_ms, int64_t max_ms)
{
    if (base_ms <= 0)
        base_ms = BERTH_BACKOFF_BASE_MS;
    if (max_ms < base_ms)
        max_ms = base_ms;
    if (ran_ms >= BERTH_BACKOFF_RESET_MS)
        b->delay_ms = 0;
    int64_t wait = b->delay_ms;
    if (b->delay_ms == 0)
        b->delay_ms = base_ms;
    else
        b->delay_ms = b->delay_ms > max_ms / 2 ? max_ms : b->delay_ms * 2;
    return wait;
}
