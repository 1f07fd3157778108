/* plan: see plan.h. This file builds the timeline; plan-check.c finds the mistakes in it.
 * The rules are the daemon's (core.c): an occurrence opens at its open instant and
 * invites its audience; reminders come from schedule_reminders() with each member's zone
 * and the campaign's quiet hours; at the close a digest goes to the digest recipients
 * unless [Digest] OnClose=no (never for announcements); a periodic digest covers the rounds
 * open at its instant and those closed since the previous one, and is skipped if there are
 * none. */
#define _GNU_SOURCE
#include "plan.h"

#include <string.h>

#include "plan-private.h"
#include "schedule.h"
#include "util.h"

#define OCCURRENCES_MAX 2000 /* per round and per digest rule: a bound, not a limit in practice */

static const char *const plan_kind_names[_PLAN_KIND_MAX] = {
	[PLAN_OPEN] = "open", [PLAN_REMIND] = "remind", [PLAN_CLOSE] = "close",
	[PLAN_DIGEST] = "digest",
};

const char *plan_kind_to_string(plan_kind k)
{
	return k >= 0 && k < _PLAN_KIND_MAX ? plan_kind_names[k] : NULL;
}

struct plan {
	plan_event *events;
	size_t n, cap;
};

char *plan_format_local(int64_t t, const char *tz)
{
	coco_localtime lt;
	if (schedule_utc_to_local(t, tz, &lt, NULL) < 0)
		return NULL;
	return xasprintf("%04d-%02d-%02d %02d:%02d", lt.year, lt.month, lt.day, lt.hour, lt.minute);
}

static bool round_has(const coco_round *r, const coco_member *m)
{
	return config_member_in_audience(m, r->audience, r->audience_members, r->n_audience_members);
}

static bool digest_gets(const coco_campaign *c, const coco_round *r, const coco_member *m)
{
	if (c->digest.set)
		return config_member_in_audience(m, c->digest.audience, c->digest.members, c->digest.n_members);
	return !r || round_has(r, m);
}

int plan_occurrences(const coco_campaign *c, const coco_round *r, int64_t until,
                     plan_occ **ret, size_t *ret_n)
{
	plan_occ *v = NULL;
	size_t n = 0;
	int64_t after = INT64_MIN;
	if (!r->open.set) {
		*ret = NULL;
		*ret_n = 0;
		return 0; /* opened by hand */
	}
	while (n < OCCURRENCES_MAX) {
		int64_t open, close;
		int k = schedule_round_occurrence(r, c->timezone, after, &open, &close);
		if (k == -ENOENT || (k >= 0 && open >= until))
			break;
		if (k < 0) {
			free(v);
			return k;
		}
		v = xrealloc(v, (n + 1) * sizeof *v);
		v[n++] = (plan_occ){open, close};
		after = open;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static plan_event *add(plan *p, int64_t at, plan_kind kind, const coco_round *r, const char *occ,
                       const coco_member *m)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->events = xrealloc(p->events, p->cap * sizeof *p->events);
	}
	plan_event *e = &p->events[p->n++];
	*e = (plan_event){.at = at, .kind = kind, .round = r, .member = m,
	                  .occurrence = occ ? xstrdup(occ) : NULL};
	return e;
}

static void add_round(plan *p, const coco_campaign *c, const coco_round *r, const plan_occ *o,
                      int64_t from, int64_t until)
{
	_cleanup_free_ char *occ = NULL;
	if (schedule_occurrence_id(r, o->open, c->timezone, &occ) < 0)
		return;
	for (size_t i = 0; i < c->n_members; i++) {
		const coco_member *m = &c->members[i];
		if (!round_has(r, m))
			continue;
		if (o->open >= from && o->open < until)
			add(p, o->open, PLAN_OPEN, r, occ, m);
		int64_t times[64];
		size_t nt = 0;
		if (r->kind == ROUND_ANNOUNCE ||
		    schedule_reminders(r, o->open, o->close, m->timezone ? m->timezone : c->timezone,
		                       c->quiet_start, c->quiet_end, times, ELEMENTSOF(times), &nt) < 0)
			continue;
		for (size_t k = 0; k < nt; k++)
			if (times[k] >= from && times[k] < until)
				add(p, times[k], PLAN_REMIND, r, occ, m)->nth = (unsigned)k + 1;
	}
	if (r->kind == ROUND_ANNOUNCE || o->close < from || o->close >= until)
		return;
	add(p, o->close, PLAN_CLOSE, r, occ, NULL);
	if (c->digest.set && !c->digest.on_close)
		return;
	for (size_t i = 0; i < c->n_members; i++)
		if (digest_gets(c, r, &c->members[i]))
			add(p, o->close, PLAN_DIGEST, r, occ, &c->members[i]);
}

/* The periodic digests in [from, until): `each` is called with the instant and the ids of
 * the rounds it covers ("" when none): open then, or closed since the previous digest. */
int plan_periodic_digests(const coco_campaign *c, plan_occ *const *occs, const size_t *n_occs,
                          int64_t from, int64_t until,
                          void (*each)(int64_t at, const char *covers, void *userdata),
                          void *userdata)
{
	if (!c->digest.set || !c->digest.repeat)
		return 0;
	int64_t t = from == INT64_MIN ? INT64_MIN : from - 1;
	/* The previous digest: the first one in the window covers what closed since `from`. */
	int64_t prev = t;
	for (unsigned guard = 0; guard < OCCURRENCES_MAX; guard++) {
		/* cocod's own rule, so that the plan cannot drift from what it sends. */
		int k = schedule_digest_next(c, t, &t);
		if (k == -ENOENT || (k >= 0 && t >= until))
			return 0;
		if (k < 0)
			return k;
		strbuf covers = {0};
		for (size_t i = 0; i < c->n_rounds; i++) {
			if (c->rounds[i].kind == ROUND_ANNOUNCE)
				continue;
			for (size_t j = 0; j < n_occs[i]; j++)
				/* The tick opens and closes rounds before the digest: a round
				 * closing at t is closed (and covered, as closed since the
				 * previous digest), one opening at t is open. */
				if ((occs[i][j].open <= t && t < occs[i][j].close) ||
				    (prev < occs[i][j].close && occs[i][j].close <= t)) {
					strbuf_printf(&covers, "%s%s", covers.len ? ", " : "",
					              c->rounds[i].id);
					break;
				}
		}
		each(t, covers.s ? covers.s : "", userdata);
		strbuf_done(&covers);
		prev = t;
	}
	return 0;
}

typedef struct digest_run {
	plan *p;
	const coco_campaign *c;
} digest_run;

static void on_periodic(int64_t at, const char *covers, void *userdata)
{
	digest_run *d = userdata;
	if (!*covers) {
		add(d->p, at, PLAN_DIGEST, NULL, NULL, NULL);
		return;
	}
	for (size_t i = 0; i < d->c->n_members; i++)
		if (digest_gets(d->c, NULL, &d->c->members[i]))
			add(d->p, at, PLAN_DIGEST, NULL, NULL, &d->c->members[i])->covers = xstrdup(covers);
}

static int cmp_event(const void *a, const void *b)
{
	const plan_event *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	/* Same instant: round transitions first, then their digests; periodic digests last. */
	int kx = x->kind == PLAN_DIGEST && !x->round ? _PLAN_KIND_MAX : (int)x->kind;
	int ky = y->kind == PLAN_DIGEST && !y->round ? _PLAN_KIND_MAX : (int)y->kind;
	if (kx != ky)
		return kx < ky ? -1 : 1;
	/* Then the order of the config: rounds, then members. */
	if (x->round != y->round)
		return x->round < y->round ? -1 : 1;
	if (x->member != y->member)
		return x->member < y->member ? -1 : 1;
	return 0;
}

int plan_build(const coco_campaign *c, int64_t from, int64_t until, plan **ret)
{
	plan *p = xcalloc(1, sizeof *p);
	plan_occ **occs = xcalloc(c->n_rounds + 1, sizeof *occs);
	size_t *n_occs = xcalloc(c->n_rounds + 1, sizeof *n_occs);
	int r = 0;
	for (size_t i = 0; r >= 0 && i < c->n_rounds; i++) {
		r = plan_occurrences(c, &c->rounds[i], until, &occs[i], &n_occs[i]);
		for (size_t j = 0; r >= 0 && j < n_occs[i]; j++)
			add_round(p, c, &c->rounds[i], &occs[i][j], from, until);
	}
	digest_run d = {p, c};
	if (r >= 0)
		r = plan_periodic_digests(c, occs, n_occs, from, until, on_periodic, &d);
	for (size_t i = 0; i < c->n_rounds; i++)
		free(occs[i]);
	free(occs);
	free(n_occs);
	if (r < 0) {
		plan_free(p);
		return r;
	}
	/* Rounds and members are arrays of the config: pointer order is the file's order. */
	if (p->n > 1)
		qsort(p->events, p->n, sizeof *p->events, cmp_event);
	*ret = p;
	return 0;
}

plan *plan_free(plan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		free(p->events[i].occurrence);
		free(p->events[i].covers);
	}
	free(p->events);
	free(p);
	return NULL;
}

const plan_event *plan_events(const plan *p, size_t *ret_n)
{
	*ret_n = p->n;
	return p->events;
}
