/* wb_pace.h -- the open loop's schedule (`wishbench wishd --rate R`):
 * request k (counted from 0) falls due at t0 + k / R, and its latency is
 * measured from then, so it must be sent then, not one interval later
 * (which added 1 / R to every latency measured: 50 ms at 20 a second). */
#ifndef WB_PACE_H
#define WB_PACE_H

#include <stdint.h>

/* How many requests are due `elapsed_us` after the start at `rate` a
 * second: request 0 at once, request k once elapsed_us >= k * 1e6 / rate
 * (within a microsecond of wb_pace_due_at's rounding). */
static inline uint64_t wb_pace_due_count(uint64_t elapsed_us, double rate)
{
    return (uint64_t)((double)elapsed_us * rate / 1e6) + 1;
}

/* When request k falls due, `t0` the start, in microseconds. */
static inline uint64_t wb_pace_due_at(uint64_t t0, uint64_t k, double rate)
{
    return t0 + (uint64_t)((double)k * 1e6 / rate);
}

#endif
