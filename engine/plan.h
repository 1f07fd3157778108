/* plan: a campaign's schedule worked out ahead of time, with the engine's own rules
 * (schedule.* for occurrences, reminders and quiet hours; the core's rules for who gets
 * what), so that `cococtl plan` can show an admin every message before it is sent and
 * `cococtl check` can find schedules that would go wrong at run time.
 *
 * The simulation assumes nobody answers: reminders are listed for every member of the
 * audience (the daemon skips those who have answered by then). It needs no store and no
 * daemon. Functions return >= 0 or -errno and write ret_* only on success. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum plan_kind {
	PLAN_OPEN,   /* invitation to a round occurrence */
	PLAN_REMIND, /* reminder of a round occurrence */
	PLAN_CLOSE,  /* a round occurrence closes (no message: member is NULL) */
	PLAN_DIGEST, /* digest on close (round set) or periodic (round NULL) */
	_PLAN_KIND_MAX,
	_PLAN_KIND_INVALID = -EINVAL,
} plan_kind;

const char *plan_kind_to_string(plan_kind k);

typedef struct plan_event {
	int64_t at;
	plan_kind kind;
	const coco_round *round;   /* NULL: the periodic digest */
	char *occurrence;          /* occurrence id; NULL for the periodic digest */
	const coco_member *member; /* who gets a message; NULL for PLAN_CLOSE and for a
	                            * periodic digest that covers nothing */
	unsigned nth;              /* PLAN_REMIND: the member's 1st, 2nd, ... reminder */
	char *covers;              /* periodic digest: the open rounds it shows, "a, b"; NULL:
	                            * none, so the daemon skips it */
} plan_event;

typedef struct plan plan;

/* Every event of campaign c at an instant in [from, until), sorted by instant (opens and
 * closes before the digests of the same instant, as the daemon's tick does them). */
int plan_build(const coco_campaign *c, int64_t from, int64_t until, plan **ret);
plan *plan_free(plan *p);
const plan_event *plan_events(const plan *p, size_t *ret_n);

/* One finding of plan_check(): "FILE:LINE: error: ..." */
typedef struct plan_finding {
	char *file;
	unsigned line;
	bool error;       /* false: a warning */
	char *msg;
} plan_finding;

/* What config_load() cannot see because it depends on the clock or on files: the whole
 * schedule of every campaign from its first occurrence until its last close (a year past
 * now for rules without an end), checked at instant `now`, or, if now_wall is not NULL,
 * at that wall time in each campaign's own zone; empty Email= lines; the secret
 * key file. Rounds that have already run (by the daemon's state.json under
 * StateDirectory=, when readable) are not held to their past Open=. Findings are sorted
 * by file and line; free them with plan_findings_free(). */
int plan_check(const coco_config *cfg, const coco_localtime *now_wall, int64_t now,
               plan_finding **ret, size_t *ret_n);
void plan_findings_free(plan_finding *f, size_t n);

/* What the daemon has done already, from its state.json under StateDirectory= (plan_build()
 * works from the configuration only). plan_state_load(): -ENOENT if there is none yet,
 * another -errno if it cannot be read. plan_state_round(): the round's state name
 * ("scheduled", "open", "closed", "digested", "done"; NULL if the state has no such round)
 * and in *ret_last the id of its last occurrence that opened (NULL: none), pointers into
 * the state. */
typedef struct plan_state plan_state;
int plan_state_load(const coco_config *cfg, const coco_campaign *c, plan_state **ret);
const char *plan_state_round(const plan_state *s, const char *round_id, const char **ret_last);
plan_state *plan_state_free(plan_state *s);

/* "2026-12-01 09:00" in zone tz; malloc'd, NULL if tz is invalid. */
char *plan_format_local(int64_t t, const char *tz);
