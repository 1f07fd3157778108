/* clock: the one source of "now" for the daemon. Everything that schedules or stamps time
 * asks clock_now(), so tests can pin the clock and step through weeks of schedule in
 * milliseconds instead of sleeping. The test clock is process-global and not thread-safe:
 * only the event loop thread (and tests) may set it. */
#pragma once

#include <stdint.h>

/* Unix seconds: the real time, unless a test clock is set. */
int64_t clock_now(void);

/* Pin the clock to `now` (unix seconds); clock_now() returns it until changed. */
void clock_set_test(int64_t now);

/* Move a pinned clock by `sec` (may be negative). Pins it at the real time first if it was
 * not pinned, so a test can start from "now" and step. */
void clock_advance(int64_t sec);

/* Back to the real time. */
void clock_set_real(void);
