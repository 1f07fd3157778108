/* Tests for clock.* and schedule.*: zone conversion across the 2026 DST changes (EU: Mar 29,
 * Oct 25; US: Mar 8, Nov 1), gap/overlap policy, round occurrences, RRULE COUNT/UNTIL,
 * reminders with quiet hours, bad input. Expected instants were computed by hand and
 * checked with `date -u -d "... UTC" +%s` / `TZ=... date -d @N`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"
#include "schedule.h"
#include "util.h"

#define HEL "Europe/Helsinki"
#define NYC "America/New_York"

static coco_localtime lt(int y, int mo, int d, int h, int mi)
{
	return (coco_localtime){.set = true, .year = y, .month = mo, .day = d, .hour = h, .minute = mi};
}

static int64_t to_utc(int y, int mo, int d, int h, int mi, const char *tz)
{
	coco_localtime l = lt(y, mo, d, h, mi);
	int64_t t = 0;

	assert_int_equal(schedule_local_to_utc(&l, tz, &t), 0);
	return t;
}

static void test_clock(void **state)
{
	int64_t real;

	clock_set_test(1000);
	assert_int_equal(clock_now(), 1000);
	clock_advance(7 * 86400);
	assert_int_equal(clock_now(), 1000 + 7 * 86400);
	clock_advance(-1000);
	assert_int_equal(clock_now(), 7 * 86400);

	clock_set_real();
	real = (int64_t)time(NULL);
	assert_true(clock_now() >= real - 1 && clock_now() <= real + 1);

	/* advancing an unpinned clock pins it near the real time */
	clock_advance(3600);
	real = (int64_t)time(NULL);
	assert_true(clock_now() >= real + 3599 && clock_now() <= real + 3601);
	clock_set_real();
}

static void test_local_to_utc_plain(void **state)
{
	assert_int_equal(to_utc(2026, 3, 23, 9, 0, HEL), 1774249200); /* 09:00 EET = 07:00Z */
	assert_int_equal(to_utc(2026, 3, 30, 9, 0, HEL), 1774850400); /* 09:00 EEST = 06:00Z */
	assert_int_equal(to_utc(2026, 3, 2, 9, 0, NYC), 1772460000);  /* 09:00 EST = 14:00Z */
	assert_int_equal(to_utc(2026, 3, 9, 9, 0, NYC), 1773061200);  /* 09:00 EDT = 13:00Z */
	assert_int_equal(to_utc(2026, 3, 2, 9, 0, "UTC"), 1772442000);
	assert_int_equal(to_utc(2026, 3, 2, 9, 0, "GMT"), 1772442000);
}

static void test_gap(void **state)
{
	/* Helsinki 2026-03-29: 03:00 EET jumps to 04:00 EEST at 01:00Z; 03:30 does not
	 * exist → the first valid instant, 04:00 EEST = 01:00Z. */
	assert_int_equal(to_utc(2026, 3, 29, 3, 30, HEL), 1774746000);
	assert_int_equal(to_utc(2026, 3, 29, 3, 0, HEL), 1774746000);
	assert_int_equal(to_utc(2026, 3, 29, 2, 59, HEL), 1774746000 - 60); /* 02:59 EET = 00:59Z */
	assert_int_equal(to_utc(2026, 3, 29, 4, 0, HEL), 1774746000);               /* 04:00 EEST */
	/* New York 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z; 02:30 → 03:00 EDT. */
	assert_int_equal(to_utc(2026, 3, 8, 2, 30, NYC), 1772953200);
	assert_int_equal(to_utc(2026, 3, 8, 3, 0, NYC), 1772953200);
}

static void test_overlap(void **state)
{
	/* Helsinki 2026-10-25: 04:00 EEST → 03:00 EET at 01:00Z; 03:30 happens twice,
	 * 00:30Z (EEST) and 01:30Z (EET): take the first. */
	assert_int_equal(to_utc(2026, 10, 25, 3, 30, HEL), 1792888200);
	assert_int_equal(to_utc(2026, 10, 25, 4, 0, HEL), 1792890000 + 3600); /* 04:00 EET */
	/* New York 2026-11-01: 01:30 at 05:30Z (EDT) and 06:30Z (EST): take the first. */
	assert_int_equal(to_utc(2026, 11, 1, 1, 30, NYC), 1793511000);
	assert_int_equal(to_utc(2026, 11, 1, 2, 0, NYC), 1793514600 + 1800); /* 02:00 EST */
}

static void test_utc_to_local(void **state)
{
	coco_localtime l;
	int off;

	/* 1774745999 = 02:59:59 EET, one second later 04:00:00 EEST */
	assert_int_equal(schedule_utc_to_local(1774745999, HEL, &l, &off), 0);
	assert_int_equal(off, 7200);
	assert_int_equal(l.hour, 2);
	assert_int_equal(l.minute, 59);
	assert_int_equal(schedule_utc_to_local(1774746000, HEL, &l, &off), 0);
	assert_int_equal(off, 10800);
	assert_int_equal(l.day, 29);
	assert_int_equal(l.hour, 4);
	assert_int_equal(l.minute, 0);

	/* 1793512800 = 2026-11-01 06:00Z = 01:00 EST (after fall back) */
	assert_int_equal(schedule_utc_to_local(1793512800, NYC, &l, &off), 0);
	assert_int_equal(off, -18000);
	assert_int_equal(l.year, 2026);
	assert_int_equal(l.month, 11);
	assert_int_equal(l.day, 1);
	assert_int_equal(l.hour, 1);
	assert_int_equal(schedule_utc_to_local(1793512799, NYC, NULL, &off), 0);
	assert_int_equal(off, -14400);

	/* crossing a date line backwards: 2026-12-06 22:30Z is 7 Dec 00:30 in Helsinki */
	assert_int_equal(schedule_utc_to_local(1796596200, HEL, &l, NULL), 0);
	assert_int_equal(l.day, 7);
	assert_int_equal(l.hour, 0);
	assert_int_equal(l.minute, 30);
}

/* Every 20 minutes of 2026 in both zones: instant → local agrees with libc, and
 * local → instant → local is the identity outside the spring-forward gap. */
static void test_sweep_against_libc(void **state)
{
	const char *zones[] = {HEL, NYC, "Australia/Sydney", "Asia/Kolkata"};
	_cleanup_free_ char *saved = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;

	for (size_t i = 0; i < ELEMENTSOF(zones); i++) {
		setenv("TZ", zones[i], 1);
		tzset();
		for (int64_t t = 1767225600; t < 1798761600; t += 1200) { /* 2026 */
			time_t tt = (time_t)t;
			struct tm tm;
			coco_localtime l;
			int64_t back;
			int off;

			assert_non_null(localtime_r(&tt, &tm));
			assert_int_equal(schedule_utc_to_local(t, zones[i], &l, &off), 0);
			assert_int_equal(off, tm.tm_gmtoff);
			assert_int_equal(l.year, tm.tm_year + 1900);
			assert_int_equal(l.month, tm.tm_mon + 1);
			assert_int_equal(l.day, tm.tm_mday);
			assert_int_equal(l.hour, tm.tm_hour);
			assert_int_equal(l.minute, tm.tm_min);
			assert_int_equal(schedule_local_to_utc(&l, zones[i], &back), 0);
			/* overlap: the earlier instant, one hour before the EST/EET one */
			assert_true(back == t || back == t - 3600);
		}
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
}

static void test_format(void **state)
{
	_cleanup_free_ char *a = schedule_format_local(1796626800, HEL); /* 2026-12-07 07:00Z */
	_cleanup_free_ char *b = schedule_format_local(1773061200, NYC); /* 2026-03-09 13:00Z */
	_cleanup_free_ char *c = schedule_format_local(1772442000, "UTC");
	_cleanup_free_ char *d = schedule_format_local(1774850400, HEL); /* 2026-03-30 06:00Z */

	assert_string_equal(a, "Mon 7 Dec 2026, 09:00 EET");
	assert_string_equal(b, "Mon 9 Mar 2026, 09:00 EDT");
	assert_string_equal(c, "Mon 2 Mar 2026, 09:00 UTC");
	assert_string_equal(d, "Mon 30 Mar 2026, 09:00 EEST");
	assert_null(schedule_format_local(0, "Nowhere/Atlantis"));
}

static void test_weekly_across_dst(void **state)
{
	coco_round r = {.id = (char *)"weekly", .repeat = (char *)"FREQ=WEEKLY;BYDAY=MO",
			.open = lt(2026, 3, 23, 9, 0), .duration = 4 * 3600};
	int64_t open = 0, close = 0;
	coco_localtime l;
	int off;

	/* Helsinki, spring: Mon 23 Mar 09:00 EET = 07:00Z, Mon 30 Mar 09:00 EEST = 06:00Z */
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), 0);
	assert_int_equal(open, 1774249200);
	assert_int_equal(close, 1774249200 + 4 * 3600);
	assert_int_equal(schedule_round_occurrence(&r, HEL, open, &open, &close), 0);
	assert_int_equal(open, 1774850400);
	assert_int_equal(schedule_utc_to_local(open, HEL, &l, &off), 0);
	assert_int_equal(l.hour, 9);
	assert_int_equal(off, 10800);

	/* autumn: Mon 19 Oct 09:00 EEST = 06:00Z, Mon 26 Oct 09:00 EET = 07:00Z */
	assert_int_equal(schedule_round_occurrence(&r, HEL, 1792389600 - 1, &open, NULL), 0);
	assert_int_equal(open, 1792389600);
	assert_int_equal(schedule_round_occurrence(&r, HEL, open, &open, NULL), 0);
	assert_int_equal(open, 1792998000);
	assert_int_equal(schedule_utc_to_local(open, HEL, &l, &off), 0);
	assert_int_equal(l.hour, 9);
	assert_int_equal(off, 7200);

	/* New York from Mon 2 Mar: 09:00 EST = 14:00Z, then Mon 9 Mar 09:00 EDT = 13:00Z */
	r.open = lt(2026, 3, 2, 9, 0);
	assert_int_equal(schedule_round_occurrence(&r, NYC, INT64_MIN, &open, NULL), 0);
	assert_int_equal(open, 1772460000);
	assert_int_equal(schedule_round_occurrence(&r, NYC, open, &open, NULL), 0);
	assert_int_equal(open, 1773061200);
	/* Mon 26 Oct 09:00 EDT = 13:00Z, Mon 2 Nov 09:00 EST = 14:00Z */
	assert_int_equal(schedule_round_occurrence(&r, NYC, 1793019600 - 60, &open, NULL), 0);
	assert_int_equal(open, 1793019600);
	assert_int_equal(schedule_round_occurrence(&r, NYC, open, &open, NULL), 0);
	assert_int_equal(open, 1793628000);
	/* far ahead: after 2030-01-01 00:00Z → Mon 7 Jan 2030 09:00 EST = 14:00Z */
	assert_int_equal(schedule_round_occurrence(&r, NYC, 1893456000, &open, NULL), 0);
	assert_int_equal(open, 1894024800);
}

static void test_recurring_close(void **state)
{
	/* Open Mon 09:00, Close Fri 17:00 local, weekly: the close keeps its wall time. */
	coco_round r = {.repeat = (char *)"FREQ=WEEKLY", .open = lt(2026, 3, 23, 9, 0),
			.close = lt(2026, 3, 27, 17, 0)};
	int64_t open, close;

	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), 0);
	assert_int_equal(open, 1774249200);  /* Mon 23 Mar 09:00 EET */
	assert_int_equal(close, 1774623600); /* Fri 27 Mar 17:00 EET = 15:00Z */
	assert_int_equal(schedule_round_occurrence(&r, HEL, open, &open, &close), 0);
	assert_int_equal(open, 1774850400);  /* Mon 30 Mar 09:00 EEST */
	assert_int_equal(close, 1775224800); /* Fri 3 Apr 17:00 EEST = 14:00Z */

	/* a close across the DST change: Mon 30 Mar 08:00 EEST = 05:00Z, not 06:00Z */
	r.close = lt(2026, 3, 30, 8, 0);
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), 0);
	assert_int_equal(close, 1774846800);

	/* Close not after Open */
	r.close = lt(2026, 3, 23, 9, 0);
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), -EINVAL);
}

static void test_one_shot(void **state)
{
	coco_round r = {.open = lt(2026, 12, 1, 9, 0), .close = lt(2026, 12, 7, 17, 0)};
	int64_t open = 42, close = 42;

	/* Tue 1 Dec 09:00 EET = 07:00Z, Mon 7 Dec 17:00 EET = 15:00Z */
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), 0);
	assert_int_equal(open, 1796108400);
	assert_int_equal(close, 1796655600);
	assert_int_equal(schedule_round_occurrence(&r, HEL, open - 1, &open, &close), 0);
	assert_int_equal(open, 1796108400);
	/* once it has opened there is nothing left; outputs untouched */
	open = close = 42;
	assert_int_equal(schedule_round_occurrence(&r, HEL, 1796108400, &open, &close), -ENOENT);
	assert_int_equal(open, 42);
	assert_int_equal(close, 42);

	/* Duration instead of Close: 3 days → Fri 4 Dec 07:00Z */
	r.close = (coco_localtime){0};
	r.duration = 3 * 86400;
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), 0);
	assert_int_equal(open, 1796108400);
	assert_int_equal(close, 1796367600);

	/* neither: an announcement, close = open */
	r.duration = 0;
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), 0);
	assert_int_equal(close, open);

	/* bad inputs */
	assert_int_equal(schedule_round_occurrence(&r, "Mars/Olympus_Mons", INT64_MIN, &open, &close), -EINVAL);
	r.duration = -5;
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), -EINVAL);
	r.duration = 0;
	r.open.set = false;
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), -EINVAL);
	r.open = lt(2026, 2, 30, 9, 0); /* no 30 February */
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &open, &close), -EINVAL);
}

static void test_count_until(void **state)
{
	coco_localtime start = lt(2026, 3, 2, 9, 0); /* Monday, New York */
	int64_t t = 0;

	/* COUNT=3: 2, 9, 16 March, then nothing */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=MO;COUNT=3", &start, NYC, INT64_MIN, &t), 0);
	assert_int_equal(t, 1772460000); /* 2 Mar 09:00 EST = 14:00Z */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=MO;COUNT=3", &start, NYC, t, &t), 0);
	assert_int_equal(t, 1773061200); /* 9 Mar 09:00 EDT = 13:00Z */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=MO;COUNT=3", &start, NYC, t, &t), 0);
	assert_int_equal(t, 1773666000); /* 16 Mar 09:00 EDT = 13:00Z */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=MO;COUNT=3", &start, NYC, t, &t), -ENOENT);
	assert_int_equal(t, 1773666000);

	/* UNTIL in UTC: 2 Nov 09:00 EST = 14:00Z is the last one, inclusive */
	assert_int_equal(schedule_rrule_next("RRULE:FREQ=WEEKLY;UNTIL=20261102T140000Z", &start, NYC,
					     1793019600, &t), 0);
	assert_int_equal(t, 1793628000);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;UNTIL=20261102T140000Z", &start, NYC, t, &t),
			 -ENOENT);
	/* one second earlier, and 2 Nov is out */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;UNTIL=20261102T135959Z", &start, NYC,
					     1793019600, &t), -ENOENT);
	/* UNTIL as a date: local date, inclusive */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;UNTIL=20260316", &start, NYC, 1773061200, &t), 0);
	assert_int_equal(t, 1773666000);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;UNTIL=20260316", &start, NYC, t, &t), -ENOENT);
	/* floating UNTIL: a wall time in the zone */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;UNTIL=20260316T085900", &start, NYC, 1773061200, &t),
			 -ENOENT);

	/* DTSTART not matching the rule is still the first occurrence and counts */
	start = lt(2026, 3, 2, 9, 0);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=TU;COUNT=2", &start, "UTC", INT64_MIN, &t), 0);
	assert_int_equal(t, 1772442000); /* Mon 2 Mar 09:00Z */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=TU;COUNT=2", &start, "UTC", t, &t), 0);
	assert_int_equal(t, 1772528400); /* Tue 3 Mar 09:00Z */
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=TU;COUNT=2", &start, "UTC", t, &t), -ENOENT);

	/* a recurring round runs out the same way */
	coco_round r = {.repeat = (char *)"FREQ=WEEKLY;COUNT=2", .open = lt(2026, 3, 2, 9, 0),
			.duration = 3600};
	assert_int_equal(schedule_round_occurrence(&r, NYC, 1773061200, &t, NULL), -ENOENT);
}

static void test_digest_rule(void **state)
{
	/* daily 08:00 New York: after 7 Mar 13:00Z (08:00 EST) comes 8 Mar 08:00 EDT = 12:00Z,
	 * although the clocks jumped that very night */
	coco_localtime start = lt(2026, 3, 1, 8, 0);
	int64_t t;

	assert_int_equal(schedule_rrule_next("FREQ=DAILY", &start, NYC, 1772888400, &t), 0);
	assert_int_equal(t, 1772971200);
	/* daily 02:30 falls in the gap on 8 Mar: moved to 03:00 EDT = 07:00Z */
	start = lt(2026, 3, 1, 2, 30);
	/* after Sat 7 Mar 02:30 EST = 07:30Z */
	assert_int_equal(schedule_rrule_next("FREQ=DAILY", &start, NYC, 1772868600, &t), 0);
	assert_int_equal(t, 1772953200);
}

/* Does a rule produce its own DTSTART? Tue 1 Dec 2026, Wed 9 Dec 2026. */
static void test_rule_matches_start(void **state)
{
	coco_localtime tue = lt(2026, 12, 1, 9, 0), wed = lt(2026, 12, 9, 9, 0);

	assert_int_equal(schedule_rrule_matches_start("FREQ=WEEKLY", &wed), 1);
	assert_int_equal(schedule_rrule_matches_start("FREQ=WEEKLY;BYDAY=WE", &wed), 1);
	assert_int_equal(schedule_rrule_matches_start("FREQ=WEEKLY;BYDAY=MO", &wed), 0);
	assert_int_equal(schedule_rrule_matches_start("FREQ=WEEKLY;BYDAY=MO;COUNT=1", &wed), 0);
	assert_int_equal(schedule_rrule_matches_start("FREQ=WEEKLY;BYDAY=TU;BYHOUR=9;BYMINUTE=0", &tue), 1);
	assert_int_equal(schedule_rrule_matches_start("FREQ=WEEKLY;BYDAY=TU;BYHOUR=16;BYMINUTE=0", &tue), 0);
	assert_int_equal(schedule_rrule_matches_start("FREQ=BOGUS", &tue), -EINVAL);
}

/* The periodic digest as cocod sends it: the first Open= standing in for Start= is no
 * digest time, a Start= that was written is. */
static void test_digest_next(void **state)
{
	coco_round r = {.id = (char *)"kickoff", .kind = ROUND_PROMPT, .open = lt(2026, 12, 1, 9, 0),
	                .duration = 3600};
	coco_campaign c = {.id = (char *)"c", .timezone = (char *)HEL, .rounds = &r, .n_rounds = 1,
	                   .digest = {.set = true,
	                              .repeat = (char *)"FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0"}};
	int64_t t;

	/* No Start=: config.c fills it in from the first Open=, start_line stays 0. */
	c.digest.start = r.open;
	assert_int_equal(schedule_digest_next(&c, INT64_MIN, &t), 0);
	assert_int_equal(t, to_utc(2026, 12, 4, 16, 0, HEL));
	/* Start= unset altogether (as cocod saw it before config.c filled it in). */
	c.digest.start = (coco_localtime){0};
	assert_int_equal(schedule_digest_next(&c, INT64_MIN, &t), 0);
	assert_int_equal(t, to_utc(2026, 12, 4, 16, 0, HEL));
	/* Start= written: RFC 5545 makes it an occurrence, and the admin asked for it. */
	c.digest.start = r.open;
	c.digest.start_line = 12;
	assert_int_equal(schedule_digest_next(&c, INT64_MIN, &t), 0);
	assert_int_equal(t, to_utc(2026, 12, 1, 9, 0, HEL));
	c.digest.repeat = NULL;
	assert_int_equal(schedule_digest_next(&c, INT64_MIN, &t), -ENOENT);
}

static void test_bad_input(void **state)
{
	coco_localtime start = lt(2026, 3, 2, 9, 0), bad = lt(2026, 3, 2, 24, 0);
	coco_localtime l;
	int64_t t = 7;

	assert_int_equal(schedule_check_tz(HEL), 0);
	assert_int_equal(schedule_check_tz("Etc/UTC"), 0);
	assert_int_equal(schedule_check_tz(NULL), -EINVAL);
	assert_int_equal(schedule_check_tz(""), -EINVAL);
	assert_int_equal(schedule_check_tz("Mars/Olympus_Mons"), -EINVAL);
	assert_int_equal(schedule_check_tz("europe/helsinki"), -EINVAL);
	assert_int_equal(schedule_check_tz("../../etc/passwd"), -EINVAL);
	assert_int_equal(schedule_check_tz("/usr/share/zoneinfo/UTC"), -EINVAL);
	assert_int_equal(schedule_check_tz("Europe//Helsinki"), -EINVAL);
	assert_int_equal(schedule_check_tz("Europe/Helsinki "), -EINVAL);

	assert_int_equal(schedule_local_to_utc(&start, "No/Such_Zone", &t), -EINVAL);
	assert_int_equal(schedule_local_to_utc(&bad, HEL, &t), -EINVAL);
	assert_int_equal(schedule_utc_to_local(0, "No/Such_Zone", &l, NULL), -EINVAL);
	assert_int_equal(schedule_utc_to_local(INT64_MAX, HEL, &l, NULL), -EINVAL);

	assert_int_equal(schedule_rrule_next("FREQ=FORTNIGHTLY", &start, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("garbage", &start, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("", &start, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next(NULL, &start, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;BYDAY=XX", &start, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;COLOUR=red", &start, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY;COUNT=2;UNTIL=20261231T000000Z", &start, HEL,
					     INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY", &start, "Bad/Zone", INT64_MIN, &t), -EINVAL);
	assert_int_equal(schedule_rrule_next("FREQ=WEEKLY", &bad, HEL, INT64_MIN, &t), -EINVAL);
	assert_int_equal(t, 7);

	coco_round r = {.repeat = (char *)"FREQ=NEVER", .open = start, .duration = 60};
	assert_int_equal(schedule_round_occurrence(&r, HEL, INT64_MIN, &t, NULL), -EINVAL);
}

static void test_occurrence_id(void **state)
{
	coco_round once = {.open = lt(2026, 12, 7, 9, 0), .duration = 60};
	coco_round weekly = {.repeat = (char *)"FREQ=WEEKLY", .open = lt(2026, 12, 7, 0, 30)};
	coco_round hourly = {.repeat = (char *)"FREQ=HOURLY;INTERVAL=4", .open = lt(2026, 12, 7, 9, 0)};
	coco_round twice = {.repeat = (char *)"FREQ=DAILY;BYHOUR=9,17", .open = lt(2026, 12, 7, 9, 0)};
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	char *x = NULL;

	assert_int_equal(schedule_occurrence_id(&once, 1796626800, HEL, &a), 0);
	assert_string_equal(a, "once");
	/* 2026-12-06 22:30Z is 00:30 on 7 Dec in Helsinki: the local date names it */
	assert_int_equal(schedule_occurrence_id(&weekly, 1796596200, HEL, &b), 0);
	assert_string_equal(b, "2026-12-07");
	assert_int_equal(schedule_occurrence_id(&hourly, 1796626800, HEL, &c), 0);
	assert_string_equal(c, "2026-12-07T0900");
	assert_int_equal(schedule_occurrence_id(&twice, 1796626800, HEL, &d), 0);
	assert_string_equal(d, "2026-12-07T0900");
	assert_true(name_is_safe(b) && name_is_safe(c));
	assert_int_equal(schedule_occurrence_id(&weekly, 1796596200, "Bad/Zone", &x), -EINVAL);
	assert_null(x);
}

static void test_reminders(void **state)
{
	/* Campaign in Helsinki: open Mon 7 Dec 09:00 EET (07:00Z), close Fri 11 Dec 17:00 EET
	 * (15:00Z). Member in New York (EST, UTC-5), quiet 21:00-08:00 local. */
	int64_t remind[] = {
		-5 * 86400,      /* Sun 6 Dec 15:00Z: before open, dropped */
		-86400,          /* Thu 10 Dec 15:00Z = 10:00 EST: kept */
		-12 * 3600,      /* Fri 03:00Z = Thu 22:00 EST: quiet → Thu 21:00 EST = Fri 02:00Z */
		-6 * 3600,       /* Fri 09:00Z = 04:00 EST: quiet → Thu 21:00 EST too: merged */
		-3600,           /* Fri 14:00Z = 09:00 EST: kept */
		0,               /* at close: not before close, dropped */
	};
	coco_round r = {.remind = remind, .n_remind = ELEMENTSOF(remind), .max_reminders = 10};
	int64_t open = 1796626800, close = 1797001200, times[ELEMENTSOF(remind)];
	size_t n = 99;

	assert_int_equal(schedule_reminders(&r, open, close, NYC, 21 * 60, 8 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(times[0], 1796914800); /* Thu 10 Dec 15:00Z */
	assert_int_equal(times[1], 1796954400); /* Fri 11 Dec 02:00Z = Thu 21:00 EST */
	assert_int_equal(times[2], 1796997600); /* Fri 11 Dec 14:00Z */

	/* the same reminders for a member in Helsinki: 05:00 and 11:00 EET; quiet
	 * 21:00-08:00 moves 05:00 back to Thu 21:00 EET = 19:00Z */
	assert_int_equal(schedule_reminders(&r, open, close, HEL, 21 * 60, 8 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(times[0], 1796914800);        /* Thu 15:00Z = 17:00 EET */
	assert_int_equal(times[1], 1796914800 + 14400); /* Thu 19:00Z = 21:00 EET (from 05:00) */
	assert_int_equal(times[2], 1796979600);        /* Fri 09:00Z = 11:00 EET */
	assert_int_equal(times[3], 1796997600);        /* Fri 14:00Z = 16:00 EET */

	/* no quiet hours: every candidate inside (open, close) */
	assert_int_equal(schedule_reminders(&r, open, close, NYC, -1, -1, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(times[1], 1796958000); /* Fri 03:00Z, unmoved */

	/* MaxReminders=2 keeps the two latest */
	r.max_reminders = 2;
	assert_int_equal(schedule_reminders(&r, open, close, NYC, 21 * 60, 8 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(times[0], 1796954400);
	assert_int_equal(times[1], 1796997600);
	r.max_reminders = 0;
	assert_int_equal(schedule_reminders(&r, open, close, NYC, 21 * 60, 8 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 0);

	/* The caller states its room: three reminders do not fit in two, and nothing is written
	 * past it; in exactly three they do. */
	r.max_reminders = 10;
	int64_t small[3] = {-1, -1, -7};
	n = 99;
	assert_int_equal(schedule_reminders(&r, open, close, NYC, 21 * 60, 8 * 60, small, 2, &n),
	                 -ENOBUFS);
	assert_int_equal(n, 99);
	assert_int_equal(small[2], -7);
	assert_int_equal(schedule_reminders(&r, open, close, NYC, 21 * 60, 8 * 60, small, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(small[2], 1796997600);
}

static void test_reminders_move_later_or_drop(void **state)
{
	/* open Fri 11 Dec 02:30Z = Thu 21:30 EST, already inside the quiet hours */
	int64_t remind[] = {-12 * 3600}, times[1];
	coco_round r = {.remind = remind, .n_remind = 1, .max_reminders = 1};
	int64_t open = 1796956200;
	size_t n = 99;

	/* close 15:00Z: reminder Fri 03:00Z = 22:00 EST; 21:00 EST is before open → later to
	 * Fri 08:00 EST = 13:00Z, before close */
	assert_int_equal(schedule_reminders(&r, open, 1797001200, NYC, 21 * 60, 8 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(times[0], 1796994000);

	/* close 12:00Z = 07:00 EST: reminder at 05:00 EST (close - 2h) cannot move earlier
	 * (21:00 is before open) nor later (08:00 is after close): dropped */
	remind[0] = -2 * 3600;
	assert_int_equal(schedule_reminders(&r, open, 1796990400, NYC, 21 * 60, 8 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 0);

	/* quiet hours not crossing midnight, 12:00-14:00 UTC: close 15:00Z - 2h = 13:00Z is
	 * quiet and goes back to 12:00Z */
	remind[0] = -2 * 3600;
	assert_int_equal(schedule_reminders(&r, open, 1797001200, "UTC", 12 * 60, 14 * 60, times, ELEMENTSOF(times), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(times[0], 1796990400);

	/* bad input */
	assert_int_equal(schedule_reminders(&r, open, 1797001200, "Bad/Zone", -1, -1, times, ELEMENTSOF(times), &n), -EINVAL);
	assert_int_equal(schedule_reminders(&r, open, 1797001200, NYC, 24 * 60, 8 * 60, times, ELEMENTSOF(times), &n), -EINVAL);
	assert_int_equal(schedule_reminders(&r, open, 1797001200, NYC, 21 * 60, -2, times, ELEMENTSOF(times), &n), -EINVAL);
	assert_int_equal(schedule_reminders(&r, 1797001200, open, NYC, -1, -1, times, ELEMENTSOF(times), &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_local_to_utc_plain),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_utc_to_local),
		cmocka_unit_test(test_sweep_against_libc),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_weekly_across_dst),
		cmocka_unit_test(test_recurring_close),
		cmocka_unit_test(test_one_shot),
		cmocka_unit_test(test_count_until),
		cmocka_unit_test(test_digest_rule),
		cmocka_unit_test(test_rule_matches_start),
		cmocka_unit_test(test_digest_next),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_occurrence_id),
		cmocka_unit_test(test_reminders),
		cmocka_unit_test(test_reminders_move_later_or_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
