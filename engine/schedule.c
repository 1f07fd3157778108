/* schedule: wall times, zones, RRULEs and reminders → instants; see schedule.h.
 *
 * libical (3.0.x, built without its bundled tz data on Debian) reads zones from the system
 * zoneinfo. We use libical only for two things: "the UTC offset of zone Z at instant T" and
 * RRULE expansion over floating (zone-less) wall times. The wall → instant step, with its
 * gap/overlap policy, is done here on top of the offset query, so the policy is ours and
 * documented rather than whatever libical's icaltimezone_get_utc_offset() happens to do.
 *
 * "Wall seconds" below are seconds since 1970-01-01 00:00 of a wall clock, counted as if it
 * were UTC: plain calendar arithmetic, no zone. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ical-lazy.h"
#include "schedule.h"
#include "util.h"

/* libical (and with it ICU and libstdc++) is opened only when a named zone or an RRULE is
 * first used: UTC is a null zone here and needs none of it. */
LAZYLIB_DEFINE(ical, ICAL_FUNCS, COCO_LIBICAL_SO)

#define DAY_SEC 86400
#define MIN_YEAR 1900
#define MAX_YEAR 9999
/* A bound on RRULE expansion so a rule like FREQ=SECONDLY queried years ahead cannot spin
 * the event loop for minutes. Daily rules reach ~2700 years within it. */
#define MAX_RRULE_STEPS 1000000

/* ---- calendar arithmetic (proleptic Gregorian) ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01. Counting from March makes the leap day the last day of the year,
 * so the month lengths follow the 153/5 pattern and no table is needed. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *ret_y, int *ret_m, int *ret_d)
{
	int64_t era, doe, yoe, doy, mp, m;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = mp < 10 ? mp + 3 : mp - 9;
	*ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*ret_m = (int)m;
	*ret_y = (int)(yoe + era * 400 + (m <= 2));
}

static int days_in_month(int y, int m)
{
	int64_t next = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);

	return (int)(next - days_from_civil(y, m, 1));
}

static bool ymdhm_valid(int y, int mo, int d, int h, int mi)
{
	return y >= MIN_YEAR && y <= MAX_YEAR && mo >= 1 && mo <= 12 && d >= 1 &&
	       d <= days_in_month(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59;
}

static bool localtime_valid(const coco_localtime *lt)
{
	return lt && lt->set && ymdhm_valid(lt->year, lt->month, lt->day, lt->hour, lt->minute);
}

static int64_t wall_from_local(const coco_localtime *lt)
{
	return days_from_civil(lt->year, lt->month, lt->day) * DAY_SEC + lt->hour * 3600 +
	       lt->minute * 60;
}

static void local_from_wall(int64_t w, coco_localtime *ret, int *ret_sec)
{
	int64_t days = floor_div(w, DAY_SEC), sec = w - days * DAY_SEC;

	*ret = (coco_localtime){.set = true};
	civil_from_days(days, &ret->year, &ret->month, &ret->day);
	ret->hour = (int)(sec / 3600);
	ret->minute = (int)(sec % 3600 / 60);
	if (ret_sec)
		*ret_sec = (int)(sec % 60);
}

static int64_t wall_from_ical(struct icaltimetype tt)
{
	return days_from_civil(tt.year, tt.month, tt.day) * DAY_SEC + tt.hour * 3600 +
	       tt.minute * 60 + tt.second;
}

/* Instants we are willing to convert: the years MIN_YEAR..MAX_YEAR, with a day of slack
 * for zone offsets. Keeps libical and the int conversions away from absurd values. */
static bool instant_in_range(int64_t t)
{
	return t >= days_from_civil(MIN_YEAR, 1, 1) * DAY_SEC - DAY_SEC &&
	       t <= days_from_civil(MAX_YEAR + 1, 1, 1) * DAY_SEC + DAY_SEC;
}

/* ---- zones ---- */

/* libical opens whatever path it is given under the zoneinfo directory, so names are
 * checked first: IANA names are '/'-separated parts of [A-Za-z0-9_+-]. */
static bool tz_name_ok(const char *tz)
{
	size_t part = 0, len = 0;

	if (!tz || !*tz)
		return false;
	for (const char *p = tz; *p; p++, len++) {
		if (*p == '/') {
			if (part == 0)
				return false;
			part = 0;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '+' || *p == '-'))
			return false;
		part++;
	}
	return part > 0 && len <= 64;
}

/* *ret: the zone, NULL for UTC (without loading libical). */
static int zone_get(const char *tz, icaltimezone **ret)
{
	icaltimezone *z;

	if (!tz_name_ok(tz))
		return -EINVAL;
	if (STREQ(tz, "UTC") || STREQ(tz, "GMT")) {
		*ret = NULL;
		return 0;
	}
	z = icaltimezone_get_builtin_timezone(tz);
	if (!z)
		return -EINVAL;
	*ret = z;
	return 0;
}

/* UTC offset of z at instant t, in seconds east; *ret_dst (if given) says whether libical
 * counts it as daylight time. */
static int zone_offset(icaltimezone *z, int64_t t, int *ret_dst)
{
	struct icaltimetype tt;
	coco_localtime lt;
	int sec, dst = 0, off;

	if (!z) {
		if (ret_dst)
			*ret_dst = 0;
		return 0;
	}
	tt = icaltime_null_time();
	local_from_wall(t, &lt, &sec);
	tt.year = lt.year;
	tt.month = lt.month;
	tt.day = lt.day;
	tt.hour = lt.hour;
	tt.minute = lt.minute;
	tt.second = sec;
	tt.is_date = 0;
	tt.zone = icaltimezone_get_utc_timezone();
	off = icaltimezone_get_utc_offset_of_utc_time(z, &tt, &dst);
	if (ret_dst)
		*ret_dst = dst;
	return off;
}

/* Wall seconds in z → instant. The instant lies within ±14 h of the wall value, so the
 * offsets a day before and a day after bracket any single transition near it. Trying both:
 * both fit → overlap, take the earlier instant; one fits → done; none → a gap, whose end
 * (the transition instant, the first valid one after the gap) is found by bisection. */
static int64_t zone_wall_to_utc(icaltimezone *z, int64_t w)
{
	int off_before = zone_offset(z, w - DAY_SEC, NULL), off_after = zone_offset(z, w + DAY_SEC, NULL);
	int64_t t_before = w - off_before, t_after = w - off_after, lo, hi;
	bool ok_before = zone_offset(z, t_before, NULL) == off_before;
	bool ok_after = zone_offset(z, t_after, NULL) == off_after;
	int off_hi;

	if (ok_before && ok_after)
		return t_before < t_after ? t_before : t_after;
	if (ok_before)
		return t_before;
	if (ok_after)
		return t_after;

	lo = t_before < t_after ? t_before : t_after;
	hi = t_before < t_after ? t_after : t_before;
	off_hi = zone_offset(z, hi, NULL);
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (zone_offset(z, mid, NULL) == off_hi)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

int schedule_check_tz(const char *tz)
{
	icaltimezone *z;

	return zone_get(tz, &z);
}

int schedule_local_to_utc(const coco_localtime *lt, const char *tz, int64_t *ret)
{
	icaltimezone *z;
	int r;

	r = zone_get(tz, &z);
	if (r < 0)
		return r;
	if (!localtime_valid(lt))
		return -EINVAL;
	*ret = zone_wall_to_utc(z, wall_from_local(lt));
	return 0;
}

int schedule_utc_to_local(int64_t t, const char *tz, coco_localtime *ret, int *ret_utc_offset_sec)
{
	icaltimezone *z;
	int r, off;

	r = zone_get(tz, &z);
	if (r < 0)
		return r;
	if (!instant_in_range(t))
		return -EINVAL;
	off = zone_offset(z, t, NULL);
	if (ret)
		local_from_wall(t + off, ret, NULL);
	if (ret_utc_offset_sec)
		*ret_utc_offset_sec = off;
	return 0;
}

/* The zone's abbreviation at an instant. libical keeps the current "STD/DST" names of a
 * zone ("EET/EEST"); pick by the daylight flag. Zones without names get "UTC+05:30". */
static char *zone_abbrev(icaltimezone *z, int off, int dst)
{
	const char *names = !z ? "UTC" : icaltimezone_get_tznames(z);
	const char *slash;
	int a = off < 0 ? -off : off;

	if (names && *names) {
		slash = strchr(names, '/');
		if (!slash)
			return xstrdup(names);
		if (dst && slash[1])
			return xstrdup(slash + 1);
		return xstrndup(names, (size_t)(slash - names));
	}
	return xasprintf("UTC%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

char *schedule_format_local(int64_t t, const char *tz)
{
	static const char *const wdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	_cleanup_free_ char *abbrev = NULL;
	icaltimezone *z;
	coco_localtime lt;
	int off, dst;
	int64_t w, wd;

	if (zone_get(tz, &z) < 0 || !instant_in_range(t))
		return NULL;
	off = zone_offset(z, t, &dst);
	w = t + off;
	local_from_wall(w, &lt, NULL);
	wd = floor_div(w, DAY_SEC) % 7; /* 1970-01-01 was a Thursday */
	if (wd < 0)
		wd += 7;
	abbrev = zone_abbrev(z, off, dst);
	return xasprintf("%s %d %s %d, %02d:%02d %s", wdays[wd], lt.day, months[lt.month - 1],
			 lt.year, lt.hour, lt.minute, abbrev);
}

/* ---- RRULE ---- */

typedef struct rule {
	struct icalrecurrencetype rec; /* UNTIL removed: we apply it ourselves */
	bool has_until, until_is_utc;
	int64_t until; /* an instant if until_is_utc, else wall seconds (inclusive) */
} rule;

static int rule_parse(const char *s, rule *ret)
{
	struct icalrecurrencetype rec;
	rule ru = {0};

	if (!s)
		return -EINVAL;
	if (strncasecmp(s, "RRULE:", 6) == 0)
		s += 6;
	if (!*s)
		return -EINVAL;
	icalerror_clear_errno();
	rec = icalrecurrencetype_from_string(s);
	if (rec.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR)
		return -EINVAL;
	if (rec.interval < 1 || rec.count < 0)
		return -EINVAL;
	if (!icaltime_is_null_time(rec.until)) {
		struct icaltimetype u = rec.until;

		if (rec.count > 0) /* RFC 5545: MUST NOT occur in the same rule */
			return -EINVAL;
		if (!ymdhm_valid(u.year, u.month, u.day, u.is_date ? 0 : u.hour, u.is_date ? 0 : u.minute))
			return -EINVAL;
		ru.has_until = true;
		if (u.is_date) {
			/* a date bounds by local date, inclusive */
			ru.until = days_from_civil(u.year, u.month, u.day) * DAY_SEC + DAY_SEC - 1;
		} else {
			/* libical would compare a "Z" UNTIL with our floating wall times as if
			 * they were UTC; converting the occurrences ourselves gets it right. */
			ru.until_is_utc = icaltime_is_utc(u);
			ru.until = wall_from_ical(u);
		}
		rec.until = icaltime_null_time();
	}
	ru.rec = rec;
	*ret = ru;
	return 0;
}

static bool at_most_one(const short *by)
{
	return by[0] == ICAL_RECURRENCE_ARRAY_MAX || by[1] == ICAL_RECURRENCE_ARRAY_MAX;
}

/* At most one occurrence per local date? Then the date alone names an occurrence. */
static bool rule_is_daily_or_coarser(const rule *ru)
{
	const struct icalrecurrencetype *rec = &ru->rec;

	if (rec->freq != ICAL_DAILY_RECURRENCE && rec->freq != ICAL_WEEKLY_RECURRENCE &&
	    rec->freq != ICAL_MONTHLY_RECURRENCE && rec->freq != ICAL_YEARLY_RECURRENCE)
		return false;
	return at_most_one(rec->by_hour) && at_most_one(rec->by_minute) && at_most_one(rec->by_second);
}

static void icaliterp(icalrecur_iterator **it)
{
	if (*it)
		icalrecur_iterator_free(*it);
}

/* The first occurrence of ru from dtstart in zone z with instant > after: its instant and
 * wall seconds. DTSTART itself is always the first occurrence and counts towards COUNT
 * (RFC 5545); libical only yields it when it matches the rule, so we add it ourselves. */
static int rule_next(const rule *ru, const coco_localtime *dtstart, icaltimezone *z, int64_t after,
		     int64_t *ret_t, int64_t *ret_wall)
{
	_cleanup_(icaliterp) icalrecur_iterator *it = NULL;
	struct icaltimetype dt = icaltime_null_time();
	int64_t start_wall, w, t;
	bool from_dtstart = true;
	long emitted = 0;

	if (!localtime_valid(dtstart))
		return -EINVAL;
	start_wall = wall_from_local(dtstart);
	dt.year = dtstart->year;
	dt.month = dtstart->month;
	dt.day = dtstart->day;
	dt.hour = dtstart->hour;
	dt.minute = dtstart->minute;
	dt.is_date = 0;
	dt.zone = NULL; /* floating: the rule runs in wall time, so 09:00 stays 09:00 */

	icalerror_clear_errno();
	it = icalrecur_iterator_new(ru->rec, dt);
	if (!it)
		return -EINVAL;

	for (long step = 0;; step++) {
		if (step >= MAX_RRULE_STEPS)
			return -ERANGE;
		if (from_dtstart) {
			w = start_wall;
			from_dtstart = false;
		} else {
			struct icaltimetype n = icalrecur_iterator_next(it);

			if (icaltime_is_null_time(n))
				return -ENOENT;
			w = wall_from_ical(n);
			if (w <= start_wall)
				continue; /* DTSTART, already produced */
		}
		emitted++;
		if (ru->rec.count > 0 && emitted > ru->rec.count)
			return -ENOENT;
		if (w >= days_from_civil(MAX_YEAR + 1, 1, 1) * DAY_SEC)
			return -ENOENT;
		if (ru->has_until && !ru->until_is_utc && w > ru->until)
			return -ENOENT;
		/* The instant is within a day of the wall value: decide without converting
		 * while far from the bounds. */
		if (ru->has_until && ru->until_is_utc && w - DAY_SEC > ru->until)
			return -ENOENT;
		if (after > INT64_MIN + DAY_SEC && w < after - DAY_SEC)
			continue;
		t = zone_wall_to_utc(z, w);
		if (ru->has_until && ru->until_is_utc && t > ru->until)
			return -ENOENT;
		if (t <= after)
			continue;
		*ret_t = t;
		if (ret_wall)
			*ret_wall = w;
		return 0;
	}
}

int schedule_rrule_next(const char *rrule, const coco_localtime *dtstart, const char *tz, int64_t after,
			int64_t *ret)
{
	icaltimezone *z;
	rule ru;
	int r;

	r = zone_get(tz, &z);
	if (r < 0)
		return r;
	r = rule_parse(rrule, &ru);
	if (r < 0)
		return r;
	return rule_next(&ru, dtstart, z, after, ret, NULL);
}

int schedule_rrule_matches_start(const char *rrule, const coco_localtime *dtstart)
{
	_cleanup_(icaliterp) icalrecur_iterator *it = NULL;
	struct icaltimetype dt = icaltime_null_time(), n;
	rule ru;
	int r;

	r = rule_parse(rrule, &ru);
	if (r < 0)
		return r;
	if (!localtime_valid(dtstart))
		return -EINVAL;
	dt.year = dtstart->year;
	dt.month = dtstart->month;
	dt.day = dtstart->day;
	dt.hour = dtstart->hour;
	dt.minute = dtstart->minute;
	dt.zone = NULL;
	/* libical yields DTSTART first exactly when the rule matches it (see rule_next()). */
	it = icalrecur_iterator_new(ru.rec, dt);
	if (!it)
		return -EINVAL;
	n = icalrecur_iterator_next(it);
	return !icaltime_is_null_time(n) && wall_from_ical(n) == wall_from_local(dtstart);
}

/* ---- the periodic digest ---- */

int schedule_digest_next(const coco_campaign *c, int64_t after, int64_t *ret)
{
	const coco_digest *d = &c->digest;
	coco_localtime start = d->start;
	int64_t first = INT64_MIN, t;
	int r;

	if (!d->set || !d->repeat)
		return -ENOENT;
	if (!start.set) {
		first = INT64_MAX;
		for (size_t i = 0; i < c->n_rounds; i++)
			if (c->rounds[i].open.set &&
			    schedule_round_occurrence(&c->rounds[i], c->timezone, INT64_MIN, &t, NULL) >= 0 &&
			    t < first)
				first = t;
		if (first == INT64_MAX)
			return -ENOENT;
		r = schedule_utc_to_local(first, c->timezone, &start, NULL);
		if (r < 0)
			return r;
		start.set = true;
	} else if (!d->start_line)
		(void)schedule_local_to_utc(&start, c->timezone, &first); /* config.c: the first Open= */
	r = schedule_rrule_next(d->repeat, &start, c->timezone, after, &t);
	if (r < 0)
		return r;
	/* RFC 5545 makes DTSTART an occurrence even where the rule does not match it. A Start=
	 * the admin wrote is meant; the first Open= standing in for it is not a digest time. */
	if (t == first) {
		r = schedule_rrule_next(d->repeat, &start, c->timezone, t, &t);
		if (r < 0)
			return r;
	}
	*ret = t;
	return 0;
}

/* ---- rounds ---- */

int schedule_round_occurrence(const coco_round *r, const char *tz, int64_t after, int64_t *ret_open,
			      int64_t *ret_close)
{
	icaltimezone *z;
	int64_t open_wall, open, close, close_span = 0;
	int k;

	k = zone_get(tz, &z);
	if (k < 0)
		return k;
	if (!r || !localtime_valid(&r->open) || r->duration < 0)
		return -EINVAL;
	if (r->close.set) {
		if (!localtime_valid(&r->close))
			return -EINVAL;
		close_span = wall_from_local(&r->close) - wall_from_local(&r->open);
		if (close_span <= 0)
			return -EINVAL;
	}

	if (r->repeat) {
		rule ru;

		k = rule_parse(r->repeat, &ru);
		if (k < 0)
			return k;
		k = rule_next(&ru, &r->open, z, after, &open, &open_wall);
		if (k < 0)
			return k;
	} else {
		open_wall = wall_from_local(&r->open);
		open = zone_wall_to_utc(z, open_wall);
		if (open <= after)
			return -ENOENT;
	}

	/* Close= is a wall time, so its distance from Open is applied in wall time: a round
	 * open Mon 09:00 – Fri 17:00 closes at 17:00 local even if DST changed midweek. */
	if (close_span > 0)
		close = zone_wall_to_utc(z, open_wall + close_span);
	else
		close = open + r->duration;
	if (close < open) /* a DST gap/overlap cannot invert it, but be sure */
		return -EINVAL;

	if (ret_open)
		*ret_open = open;
	if (ret_close)
		*ret_close = close;
	return 0;
}

int schedule_occurrence_id(const coco_round *r, int64_t open, const char *tz, char **ret)
{
	coco_localtime lt;
	rule ru;
	int k;

	if (!r)
		return -EINVAL;
	if (!r->repeat) {
		*ret = xstrdup("once");
		return 0;
	}
	k = rule_parse(r->repeat, &ru);
	if (k < 0)
		return k;
	k = schedule_utc_to_local(open, tz, &lt, NULL);
	if (k < 0)
		return k;
	if (rule_is_daily_or_coarser(&ru))
		*ret = xasprintf("%04d-%02d-%02d", lt.year, lt.month, lt.day);
	else
		*ret = xasprintf("%04d-%02d-%02dT%02d%02d", lt.year, lt.month, lt.day, lt.hour,
				 lt.minute);
	return 0;
}

/* ---- reminders ---- */

static int cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Moves t out of the quiet hours (qs, qe) (seconds after local midnight in z) per the
 * rules in schedule.h. Returns false if the reminder must be dropped. */
static bool unquiet(icaltimezone *z, int64_t qs, int64_t qe, int64_t open, int64_t close, int64_t *t)
{
	int64_t w = *t + zone_offset(z, *t, NULL);
	int64_t day = floor_div(w, DAY_SEC), sec = w - day * DAY_SEC, start_day, end_day, cand;
	bool crosses = qs > qe, quiet;

	quiet = crosses ? (sec > qs || sec < qe) : (sec > qs && sec < qe);
	if (!quiet)
		return true;
	/* Which night is it: before midnight the quiet period started today and ends
	 * tomorrow; after midnight it started yesterday. */
	start_day = crosses && sec < qe ? day - 1 : day;
	end_day = crosses && sec > qs ? day + 1 : day;

	cand = zone_wall_to_utc(z, start_day * DAY_SEC + qs);
	if (cand > open && cand < *t) {
		*t = cand;
		return true;
	}
	cand = zone_wall_to_utc(z, end_day * DAY_SEC + qe);
	if (cand > *t && cand < close) {
		*t = cand;
		return true;
	}
	return false;
}

int schedule_reminders(const coco_round *r, int64_t open, int64_t close, const char *member_tz,
		       int quiet_start, int quiet_end, int64_t *ret_times, size_t cap, size_t *ret_n)
{
	_cleanup_free_ int64_t *times = NULL;
	icaltimezone *z;
	bool quiet;
	size_t n = 0, keep, first;
	int k;

	k = zone_get(member_tz, &z);
	if (k < 0)
		return k;
	if (!r || (r->n_remind > 0 && !r->remind) || close < open)
		return -EINVAL;
	if ((quiet_start != -1 && (quiet_start < 0 || quiet_start >= 24 * 60)) ||
	    (quiet_end != -1 && (quiet_end < 0 || quiet_end >= 24 * 60)))
		return -EINVAL;
	quiet = quiet_start >= 0 && quiet_end >= 0 && quiet_start != quiet_end;

	times = xcalloc(r->n_remind ? r->n_remind : 1, sizeof(int64_t));
	for (size_t i = 0; i < r->n_remind; i++) {
		int64_t t;

		if (__builtin_add_overflow(close, r->remind[i], &t))
			continue;
		if (t <= open || t >= close)
			continue;
		if (quiet && !unquiet(z, (int64_t)quiet_start * 60, (int64_t)quiet_end * 60, open, close, &t))
			continue;
		times[n++] = t;
	}

	qsort(times, n, sizeof(int64_t), cmp_int64);
	keep = 0;
	for (size_t i = 0; i < n; i++)
		if (keep == 0 || times[keep - 1] != times[i])
			times[keep++] = times[i];

	first = keep > r->max_reminders ? keep - r->max_reminders : 0;
	if (keep - first > cap)
		return -ENOBUFS;
	if (keep > first)
		memcpy(ret_times, times + first, (keep - first) * sizeof(int64_t));
	*ret_n = keep - first;
	return 0;
}
