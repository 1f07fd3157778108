/* schedule: turns the wall-clock times and RRULEs of the config into instants. It owns time
 * zone conversion (IANA names, resolved by libical from the system tz data in
 * /usr/share/zoneinfo), round occurrences (one-shot and RRULE), the generic RRULE "next
 * fire time" used by the digest, reminder times with a member's quiet hours, and the stable
 * occurrence id under which a round's answers are stored.
 *
 * Instants are unix seconds (UTC) as int64_t. Wall times are coco_localtime (minute
 * resolution). Functions return >= 0 on success, -EINVAL for a bad zone name, rule or local
 * time, -ENOENT when a schedule has nothing left, and write ret_* only on success.
 * Not thread-safe (libical's zone cache): call from the event loop thread only.
 *
 * Local → instant rules (schedule_local_to_utc and everything built on it):
 *   - a wall time that does not exist (in the spring-forward gap, e.g. 03:30 on
 *     2026-03-29 in Europe/Helsinki) becomes the first valid instant after the gap, i.e. the
 *     transition itself (04:00 EEST there);
 *   - a wall time that exists twice (in the fall-back overlap, e.g. 03:30 on 2026-10-25 in
 *     Europe/Helsinki) becomes the first, earlier instant (03:30 EEST, not 03:30 EET). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Time zone names: "UTC", "GMT" or an IANA name such as "Europe/Helsinki" (no "..", no
 * leading '/'). NULL or unknown → -EINVAL. */
int schedule_check_tz(const char *tz);

/* Wall time in zone tz → instant (gap/overlap rules above). lt must be set and valid. */
int schedule_local_to_utc(const coco_localtime *lt, const char *tz, int64_t *ret);

/* Instant → wall time in tz (seconds truncated) and the zone's UTC offset at that instant
 * in seconds (+7200 for EET). Either output may be NULL. */
int schedule_utc_to_local(int64_t t, const char *tz, coco_localtime *ret, int *ret_utc_offset_sec);

/* "Mon 7 Dec 2026, 09:00 EET" (English names, the zone's abbreviation at t; "UTC+05:30"
 * style when the zone has none). malloc'd; NULL if tz is invalid. */
char *schedule_format_local(int64_t t, const char *tz);

/* The first occurrence of round r whose open instant is > after (INT64_MIN: the first of
 * all), r's wall times being in the campaign zone tz.
 * One-shot (r->repeat NULL): open = Open; close = Close, else open + Duration, else open
 *   (an announcement has no answer window). -ENOENT once Open <= after.
 * Recurring: Repeat is an RRULE with DTSTART = Open, evaluated in tz's wall time, so
 *   "FREQ=WEEKLY;BYDAY=MO" with Open at 09:00 stays 09:00 local across DST. Open itself is
 *   the first occurrence even if it does not match the rule (RFC 5545). close = Close's wall
 *   distance from Open added to each occurrence's wall time (Open Mon 09:00, Close Fri
 *   17:00 → every Friday 17:00 local), else open + Duration seconds, else open.
 *   -ENOENT after the last occurrence (COUNT, UNTIL).
 * ret_open / ret_close may be NULL. -EINVAL: Open unset, Close not after Open, bad rule. */
int schedule_round_occurrence(const coco_round *r, const char *tz, int64_t after, int64_t *ret_open,
			      int64_t *ret_close);

/* Stable id of the occurrence opening at `open`, a safe file name: "once" for a one-shot
 * round; the local date "2026-12-07" when the rule yields at most one occurrence a day
 * (FREQ=DAILY or coarser with at most one BYHOUR/BYMINUTE value); otherwise the local date
 * and time "2026-12-07T0900". malloc'd into *ret. */
int schedule_occurrence_id(const coco_round *r, int64_t open, const char *tz, char **ret);

/* The first instant > after produced by rrule (RFC 5545 RRULE, "RRULE:" prefix allowed)
 * with DTSTART = dtstart, a wall time in tz. Same wall-time evaluation and DTSTART rule as
 * recurring rounds. UNTIL with "Z" bounds by instant; a floating or date UNTIL bounds by
 * wall time/date in tz (inclusive). COUNT and UNTIL together → -EINVAL.
 * -ENOENT when the rule is exhausted. */
int schedule_rrule_next(const char *rrule, const coco_localtime *dtstart, const char *tz, int64_t after,
			int64_t *ret);

/* Does rrule produce dtstart itself? 1 yes, 0 no (RFC 5545 still counts DTSTART as the
 * first occurrence, so it is an extra one: Open= on a Wednesday with BYDAY=MO), -EINVAL for
 * a bad rule or time. */
int schedule_rrule_matches_start(const char *rrule, const coco_localtime *dtstart);

/* The first periodic digest of campaign c ([Digest] Repeat=) at an instant > after, as
 * cocod sends it. DTSTART is Start=, else the campaign's first Open=; that first Open= only
 * stands in for DTSTART, so its instant is never a digest time (RFC 5545 would make it one).
 * -ENOENT: no periodic digest, or none left. */
int schedule_digest_next(const coco_campaign *c, int64_t after, int64_t *ret);

/* Reminder instants for one occurrence [open, close) of round r, for a member in zone
 * member_tz with quiet hours quiet_start..quiet_end (minutes after midnight in member_tz;
 * -1 or start == end: none; start > end crosses midnight, e.g. 21:00-08:00 = 1260..480).
 *  1. candidates: close + each r->remind[] offset (offsets are negative); keep those
 *     strictly after open and strictly before close.
 *  2. quiet hours are the open interval (start, end): a reminder exactly at 21:00 or 08:00
 *     is not quiet. A quiet reminder moves earlier to the start of that quiet period if that
 *     is still after open (people get it the evening before), else later to the end of the
 *     quiet period if that is still before close, else it is dropped.
 *  3. sorted ascending, duplicates (e.g. two reminders moved to the same 21:00) merged.
 *  4. at most r->max_reminders are kept, the latest ones: the reminders closest to the
 *     deadline are the ones that make people answer; early ones come right after the
 *     invitation. max_reminders is taken literally (0 = no reminders); config.c defaults it
 *     to n_remind.
 * ret_times has room for cap entries; *ret_n gets the count. If the reminders do not fit
 * in cap, -ENOBUFS and nothing is written (cap >= r->n_remind always fits; config.c allows
 * at most 64 Remind= offsets). */
int schedule_reminders(const coco_round *r, int64_t open, int64_t close, const char *member_tz,
		       int quiet_start, int quiet_end, int64_t *ret_times, size_t cap,
		       size_t *ret_n);
