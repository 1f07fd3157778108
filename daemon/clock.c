/* clock: real or pinned "now"; see clock.h. */
#include <stdbool.h>
#include <time.h>

#include "clock.h"

static bool test_clock_set;
static int64_t test_clock_now;

static int64_t real_now(void)
{
	struct timespec ts;

	/* CLOCK_REALTIME cannot fail with a valid pointer; schedules are wall-clock based. */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t clock_now(void)
{
	return test_clock_set ? test_clock_now : real_now();
}

void clock_set_test(int64_t now)
{
	test_clock_set = true;
	test_clock_now = now;
}

void clock_advance(int64_t sec)
{
	if (!test_clock_set)
		clock_set_test(real_now());
	test_clock_now += sec;
}

void clock_set_real(void)
{
	test_clock_set = false;
}
