/* clock: the one source of "now" for the daemon. Everything that schedules or stamps time
 * asks clock_now(), so tests can pin the clock and step through weeks of schedule in
 * milliseconds instead of sleeping. The test clock is process-global and not thread-safe:
 * only the event loop thread (and tests) may set it. */
#pragma once

#include <stdint.h>

/* Unix seconds: the real time, unless a test clock is set. */
int64_t clock_now(void);

/* The real (CLOCK_REALTIME) instant at which clock_now() will read `t`: what a loop timer is
 * armed with. The identity unless a test clock or a test offset is in use. */
int64_t clock_to_real(int64_t t);

/* Test builds only (COCO_TEST_HOOKS): with $COCO_TEST_NOW=UNIXSECONDS in the environment,
 * the clock starts at that instant and then runs at the real pace, so a whole daemon, its
 * timers included, can be run on any date. Returns 1 if set, 0 if not (always 0 in a
 * production build, which never reads the variable), -EINVAL on a bad value. */
int clock_init_from_env(void);

/* Pin the clock to `now` (unix seconds); clock_now() returns it until changed. */
void clock_set_test(int64_t now);

/* Move a pinned clock by `sec` (may be negative). Pins it at the real time first if it was
 * not pinned, so a test can start from "now" and step. */
void clock_advance(int64_t sec);

/* Back to the real time. */
void clock_set_real(void);
