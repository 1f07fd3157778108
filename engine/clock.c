/* clock: real or pinned "now"; see clock.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "util.h"

static bool test_clock_set;
static int64_t test_clock_now;
static int64_t real_offset; /* test builds only: the daemon's "now" minus the real time */

static int64_t real_now(void)
{
	struct timespec ts;

	/* CLOCK_REALTIME cannot fail with a valid pointer; schedules are wall-clock based. */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t clock_now(void)
{
	return test_clock_set ? test_clock_now : real_now() + real_offset;
}

int64_t clock_to_real(int64_t t)
{
	if (test_clock_set)
		return real_now() + (t - test_clock_now);
	return t - real_offset;
}

int clock_init_from_env(void)
{
#ifdef COCO_TEST_HOOKS
	const char *s = getenv("COCO_TEST_NOW");
	if (!s || !*s)
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || !end || *end || v < 0 || v > INT64_C(253402300799))
		return -EINVAL;
	real_offset = (int64_t)v - real_now();
	return 1;
#else
	return 0;
#endif
}

void clock_set_test(int64_t now)
{
	test_clock_set = true;
	test_clock_now = now;
}

void clock_advance(int64_t sec)
{
	if (!test_clock_set)
		clock_set_test(clock_now());
	test_clock_now += sec;
}

void clock_set_real(void)
{
	test_clock_set = false;
}
