/* plan-check: the checks of `cococtl check` that config_load() cannot make, because they
 * depend on the clock, on the whole simulated schedule or on files (see plan.h). Each
 * mistake is reported once, at the line of the key that causes it; a round found unable
 * to run is left out of the checks that would only repeat that. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "plan-private.h"
#include "schedule.h"
#include "secret.h"
#include "util.h"

#define YEAR_SEC (366 * 86400LL)

typedef struct findings {
	plan_finding *v;
	size_t n;
} findings;

static void _printf_(5, 6) found(findings *f, const char *file, unsigned line, bool error,
                                 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
	f->v[f->n++] = (plan_finding){xstrdup(file), line, error, msg};
}

/* "1w2d4h30m" */
static char *fmt_duration(int64_t s)
{
	static const struct {
		int64_t sec;
		char unit;
	} units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	strbuf b = {0};
	if (s < 0) {
		strbuf_putc(&b, '-');
		s = -s;
	}
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (s >= units[i].sec) {
			strbuf_printf(&b, "%lld%c", (long long)(s / units[i].sec), units[i].unit);
			s %= units[i].sec;
		}
	if (b.len == 0 || STREQ(b.s, "-"))
		strbuf_puts(&b, "0s");
	return strbuf_steal(&b);
}

/* The daemon's state of the campaign: which rounds have already run. NULL if there is none
 * yet; *ret_unknown if it exists but cannot be read (check run without the daemon's rights),
 * so a past Open= may be a round that ran. */
static cJSON *state_load(const coco_config *cfg, const coco_campaign *c, bool *ret_unknown)
{
	_cleanup_free_ char *path = xasprintf("%s/campaigns/%s/state.json", cfg->state_dir, c->id);
	_cleanup_free_ char *data = NULL;
	int r = read_file(path, 16 * 1024 * 1024, &data, NULL);
	*ret_unknown = r < 0 && r != -ENOENT && r != -ENOTDIR;
	return r < 0 ? NULL : cJSON_Parse(data);
}

static bool round_has_run(const cJSON *state, const coco_round *r)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(state, "rounds"),
	                                                  r->id);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "state");
	if (!cJSON_IsString(st))
		return false;
	return !STREQ(st->valuestring, "scheduled") || cJSON_GetObjectItemCaseSensitive(s, "prev");
}

struct plan_state {
	cJSON *json;
};

int plan_state_load(const coco_config *cfg, const coco_campaign *c, plan_state **ret)
{
	bool unknown;
	cJSON *j = state_load(cfg, c, &unknown);
	if (!j)
		return unknown ? -EACCES : -ENOENT;
	plan_state *s = xcalloc(1, sizeof *s);
	s->json = j;
	*ret = s;
	return 0;
}

const char *plan_state_round(const plan_state *s, const char *round_id, const char **ret_last)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(s ? s->json : NULL, "rounds"), round_id);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "state");
	if (!cJSON_IsString(st)) {
		*ret_last = NULL;
		return NULL;
	}
	const cJSON *occ = cJSON_GetObjectItemCaseSensitive(
	        r, STREQ(st->valuestring, "scheduled") ? "prev" : "occurrence");
	*ret_last = cJSON_IsString(occ) ? occ->valuestring : NULL;
	return st->valuestring;
}

plan_state *plan_state_free(plan_state *s)
{
	if (s) {
		cJSON_Delete(s->json);
		free(s);
	}
	return NULL;
}

typedef struct camp_check {
	const coco_campaign *c;
	findings *f;
	int64_t now;
	plan_occ **occs;
	size_t *n_occs;
	bool *bad; /* the round cannot run: no further findings about it */
	bool state_unknown; /* state.json unreadable: a past Open= is a warning, not an error */
	const char *state_dir;
} camp_check;

#define L(t) _cleanup_free_ char *t##_s = plan_format_local(t, x->c->timezone)

/* An Open= in the past, for a round that has not run yet. */
static void check_past(camp_check *x, size_t i, const cJSON *state)
{
	const coco_round *r = &x->c->rounds[i];
	const plan_occ *o = x->occs[i];
	size_t n = x->n_occs[i];
	if (n == 0 || o[0].open >= x->now || round_has_run(state, r))
		return;
	int64_t now = x->now, open = o[0].open, close = o[0].close;
	L(now);
	L(open);
	L(close);
	if (x->state_unknown) {
		found(x->f, x->c->file, r->open_line, false, "round \"%s\": Open=%s is in the past "
		      "(now %s) and the daemon's state under %s cannot be read to tell whether it "
		      "ran", r->id, open_s, now_s, x->state_dir);
		return;
	}
	if (r->repeat) {
		size_t k = 0;
		while (k < n && o[k].close <= now)
			k++;
		if (k == n) {
			found(x->f, x->c->file, r->open_line, true, "round \"%s\": every occurrence "
			      "of Open=%s and Repeat= has closed before now (%s): it would never run; "
			      "expected a later Open= or a longer Repeat=", r->id, open_s, now_s);
			x->bad[i] = true;
		} else if (k > 0) {
			_cleanup_free_ char *first = plan_format_local(o[k].open, x->c->timezone);
			found(x->f, x->c->file, r->open_line, false, "round \"%s\": Open=%s is in the "
			      "past (now %s): %zu occurrence%s closed already and will not run; the first "
			      "to run opens %s", r->id, open_s, now_s, k, k == 1 ? " has" : "s have",
			      first);
		}
		return;
	}
	if (r->kind == ROUND_ANNOUNCE)
		found(x->f, x->c->file, r->open_line, false, "announcement \"%s\": Open=%s is in the "
		      "past (now %s): cocod sends it late, as soon as it starts", r->id, open_s, now_s);
	else if (close <= now) {
		found(x->f, x->c->file, r->open_line, true, "round \"%s\": Open=%s and its close %s "
		      "are both before now (%s): it would never run; expected a future Open=", r->id,
		      open_s, close_s, now_s);
		x->bad[i] = true;
	} else
		found(x->f, x->c->file, r->open_line, false, "round \"%s\": Open=%s is in the past "
		      "(now %s): cocod opens it late, as soon as it starts, and it still closes %s",
		      r->id, open_s, now_s, close_s);
}

/* A repeating round whose Open= the rule does not match: RFC 5545 counts DTSTART anyway, so
 * it runs once more than the rule says, on a day the admin did not mean (cocod does so). */
static void check_open_matches_rule(camp_check *x, size_t i)
{
	const coco_round *r = &x->c->rounds[i];
	if (x->bad[i] || !r->repeat || !r->open.set || x->n_occs[i] == 0 ||
	    schedule_rrule_matches_start(r->repeat, &r->open) != 0)
		return;
	int64_t open = x->occs[i][0].open;
	L(open);
	_cleanup_free_ char *next = x->n_occs[i] > 1
	                                    ? plan_format_local(x->occs[i][1].open, x->c->timezone)
	                                    : NULL;
	found(x->f, x->c->file, r->open_line, false, "round \"%s\": Open=%s is not a time its "
	      "Repeat= gives, yet it is the first occurrence (RFC 5545), so the round runs once "
	      "more than the rule says%s%s: expected an Open= that Repeat= matches", r->id, open_s,
	      next ? "; the rule's first is " : "", next ? next : "");
}

/* A Remind= offset that falls before the round opens: schedule_reminders() drops it. */
static void check_reminders(camp_check *x, size_t i)
{
	const coco_round *r = &x->c->rounds[i];
	if (x->bad[i] || x->n_occs[i] == 0 || r->kind == ROUND_ANNOUNCE)
		return;
	/* The shortest window among the occurrences (DST can shorten one by an hour). */
	const plan_occ *o = &x->occs[i][0];
	for (size_t k = 1; k < x->n_occs[i]; k++)
		if (x->occs[i][k].close - x->occs[i][k].open < o->close - o->open)
			o = &x->occs[i][k];
	for (size_t k = 0; k < r->n_remind; k++) {
		int64_t at = o->close + r->remind[k];
		if (at > o->open)
			continue;
		int64_t open = o->open;
		L(at);
		L(open);
		_cleanup_free_ char *off = fmt_duration(r->remind[k]);
		_cleanup_free_ char *len = fmt_duration(o->close - o->open);
		found(x->f, x->c->file, r->remind_line, true, "round \"%s\": Remind=%s falls on %s, "
		      "before the round opens (%s): expected offsets within its %s window", r->id,
		      off, at_s, open_s, len);
		return;
	}
}

/* Occurrences of one round that overlap: the daemon runs one occurrence at a time. */
static void check_overlap(camp_check *x, size_t i)
{
	const coco_round *r = &x->c->rounds[i];
	const plan_occ *o = x->occs[i];
	if (x->bad[i])
		return;
	for (size_t k = 1; k < x->n_occs[i]; k++) {
		if (o[k].open >= o[k - 1].close)
			continue;
		int64_t open = o[k].open, prev = o[k - 1].open, close = o[k - 1].close;
		L(open);
		L(prev);
		L(close);
		_cleanup_free_ char *len = fmt_duration(o[k - 1].close - o[k - 1].open);
		_cleanup_free_ char *gap = fmt_duration(o[k].open - o[k - 1].open);
		found(x->f, x->c->file, r->duration_line ? r->duration_line : r->repeat_line, true,
		      "round \"%s\": occurrences overlap: the one opening %s starts before the one of "
		      "%s closes (%s): expected a window (%s) shorter than the time between "
		      "occurrences (%s)", r->id, open_s, prev_s, close_s, len, gap);
		x->bad[i] = true;
		return;
	}
}

/* A vote that opens while its Source= prompt is still collecting ideas, or before it ran. */
static void check_vote(camp_check *x, size_t i)
{
	const coco_round *r = &x->c->rounds[i];
	const coco_round *src = r->kind == ROUND_VOTE && r->source ?
	                        campaign_find_round(x->c, r->source) : NULL;
	if (!src || x->bad[i])
		return;
	size_t si = (size_t)(src - x->c->rounds);
	if (x->bad[si] || !src->open.set)
		return; /* already reported, or opened by hand: nothing to compare */
	const plan_occ *so = x->occs[si];
	for (size_t k = 0; k < x->n_occs[i]; k++) {
		int64_t open = x->occs[i][k].open;
		bool closed_before = false;
		for (size_t j = 0; j < x->n_occs[si]; j++) {
			if (so[j].open <= open && open < so[j].close) {
				int64_t close = so[j].close;
				L(open);
				L(close);
				found(x->f, x->c->file, r->open_line, true, "vote round \"%s\" opens %s while "
				      "its Source= round \"%s\" is still open (until %s): expected the vote "
				      "to open once the ideas are in", r->id, open_s, src->id, close_s);
				return;
			}
			closed_before |= so[j].close <= open;
		}
		if (!closed_before && x->n_occs[si] > 0) {
			int64_t close = so[0].close;
			L(open);
			L(close);
			found(x->f, x->c->file, r->open_line, true, "vote round \"%s\" opens %s, before "
			      "its Source= round \"%s\" first closes (%s): the ballot would be empty",
			      r->id, open_s, src->id, close_s);
			return;
		}
	}
}

typedef struct digest_count {
	unsigned total, empty;
	int64_t first_empty;
} digest_count;

static void count_digest(int64_t at, const char *covers, void *userdata)
{
	digest_count *d = userdata;
	d->total++;
	if (!*covers && d->empty++ == 0)
		d->first_empty = at;
}

static bool all_by_hand(const coco_campaign *c)
{
	for (size_t i = 0; i < c->n_rounds; i++)
		if (c->rounds[i].open.set)
			return false;
	return c->n_rounds > 0;
}

/* Periodic digests that would find no round open or closed since the previous one (the
 * daemon skips them). Rounds opened by hand may fill any of them: with such rounds, only a
 * warning that names them. */
static void check_digest(camp_check *x, int64_t until)
{
	const coco_campaign *c = x->c;
	if (!c->digest.repeat)
		return;
	strbuf manual = {0};
	for (size_t i = 0; i < c->n_rounds; i++)
		if (!c->rounds[i].open.set && c->rounds[i].kind != ROUND_ANNOUNCE)
			strbuf_printf(&manual, "%s%s", manual.len ? ", " : "", c->rounds[i].id);
	_cleanup_free_ char *by_hand = manual.s ? strbuf_steal(&manual) : NULL;
	digest_count d = {0};
	int64_t from = x->now;
	if (plan_periodic_digests(c, x->occs, x->n_occs, from, until, count_digest, &d) < 0 ||
	    d.empty == 0)
		return;
	int64_t first = d.first_empty;
	L(first);
	L(until);
	unsigned line = c->digest.repeat_line ? c->digest.repeat_line : c->digest.line;
	if (by_hand)
		found(x->f, c->file, line, false, "[Digest] Repeat=: %u of its %u digests until the "
		      "last close (%s) would find none of the scheduled rounds open or closed since "
		      "the previous one, the first on %s; they are sent only if a round opened by "
		      "hand (%s) is open or has closed by then, else skipped",
		      d.empty, d.total, until_s, first_s, by_hand);
	else if (d.empty == d.total)
		found(x->f, c->file, line, true, "[Digest] Repeat=: none of its %u digests until the "
		      "last close (%s) would find a round open or closed since the previous one, so "
		      "none is sent: expected times when a round is open or has just closed", d.total, until_s);
	else
		found(x->f, c->file, line, false, "[Digest] Repeat=: %u of its %u digests until the "
		      "last close (%s) would find no round open or closed since the previous one and "
		      "are skipped, the first on %s",
		      d.empty, d.total, until_s, first_s);
}

static void check_members(camp_check *x)
{
	for (size_t i = 0; i < x->c->n_members; i++) {
		const coco_member *m = &x->c->members[i];
		if (!m->empty_email_line)
			continue;
		bool reachable = m->n_emails || m->slack_id || m->matrix_id;
		found(x->f, x->c->file, m->empty_email_line, !reachable, "member %s: Email= is empty%s: "
		      "expected an address like ana@example.org", m->id,
		      reachable ? "" : " and there is no other way to reach them");
	}
}

/* An anonymous round's figures by side with groups of two: each of the two can tell the
 * other's answer from the side's mean. */
static void check_anonymity(camp_check *x)
{
	if (!x->c->min_group_size || x->c->min_group_size >= 3)
		return;
	for (size_t i = 0; i < x->c->n_rounds; i++) {
		const coco_round *r = &x->c->rounds[i];
		if (!r->anonymous)
			continue;
		found(x->f, x->c->file, r->line, false, "round \"%s\" is anonymous and MinGroupSize=%u: "
		      "with %u answers on a side, each who answered can work out the others' answers "
		      "from the side's figures; 3 or more keeps them apart", r->id,
		      x->c->min_group_size, x->c->min_group_size);
		return;
	}
}

static void check_campaign(const coco_config *cfg, const coco_campaign *c, int64_t now,
                           findings *f)
{
	size_t n = c->n_rounds;
	camp_check x = {.c = c, .f = f, .now = now, .occs = xcalloc(n + 1, sizeof(plan_occ *)),
	                .n_occs = xcalloc(n + 1, sizeof(size_t)), .bad = xcalloc(n + 1, sizeof(bool))};
	/* Every occurrence until the last close; a year past now (or the first Open=) for rules
	 * without an end. */
	int64_t first = INT64_MAX, last = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		int64_t t;
		if (schedule_round_occurrence(&c->rounds[i], c->timezone, INT64_MIN, &t, NULL) >= 0 &&
		    t < first)
			first = t;
	}
	int64_t horizon = (first != INT64_MAX && first > now ? first : now) + YEAR_SEC;
	for (size_t i = 0; i < n; i++) {
		if (plan_occurrences(c, &c->rounds[i], horizon, &x.occs[i], &x.n_occs[i]) < 0)
			x.bad[i] = true; /* config_load() checked the rule: not expected */
		for (size_t k = 0; k < x.n_occs[i]; k++)
			if (x.occs[i][k].close > last)
				last = x.occs[i][k].close;
	}
	cJSON *state = state_load(cfg, c, &x.state_unknown);
	x.state_dir = cfg->state_dir;
	for (size_t i = 0; i < n; i++)
		check_past(&x, i, state);
	cJSON_Delete(state);
	for (size_t i = 0; i < n; i++) {
		check_open_matches_rule(&x, i);
		check_overlap(&x, i);
		check_reminders(&x, i);
	}
	for (size_t i = 0; i < n; i++)
		check_vote(&x, i);
	if (last != INT64_MIN)
		check_digest(&x, last + 1);
	else if (c->digest.repeat && all_by_hand(c))
		/* No round on a schedule: every periodic digest depends on rounds opened by hand. */
		found(x.f, c->file, c->digest.repeat_line ? c->digest.repeat_line : c->digest.line,
		      false, "[Digest] Repeat=: every round opens by hand, so a periodic digest is "
		      "sent only when a round is open or has closed since the previous one, and "
		      "skipped otherwise");
	check_members(&x);
	check_anonymity(&x);
	for (size_t i = 0; i < n; i++)
		free(x.occs[i]);
	free(x.occs);
	free(x.n_occs);
	free(x.bad);
}

/* [Secrets]: the key file must exist and be readable by the daemon only. */
static void check_secrets(const coco_config *cfg, findings *f)
{
	_cleanup_free_ char *file = xasprintf("%s/coco.conf", cfg->dir);
	const char *dir = cfg->secrets_dir;
	unsigned line = cfg->secrets_dir_line;
	struct stat st;
	if (!dir) {
		/* systemd's $CREDENTIALS_DIRECTORY at run time (ExecStartPre= sees it too). */
		const char *cred = getenv("CREDENTIALS_DIRECTORY");
		_cleanup_free_ char *key = cred ? xasprintf("%s/%s", cred, SECRET_KEY_NAME) : NULL;
		if (!key || access(key, R_OK) < 0)
			found(f, file, 0, false, "no secret key here: cocod reads %s from [Secrets] "
			      "Directory= or from $CREDENTIALS_DIRECTORY (systemd LoadCredential=%s:PATH), "
			      "and will not start without it", SECRET_KEY_NAME, SECRET_KEY_NAME);
		return;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		found(f, file, line, true, "[Secrets] Directory=%s %s: expected the directory that "
		      "holds %s", dir, errno == ENOENT ? "does not exist" : "is not a readable directory",
		      SECRET_KEY_NAME);
		return;
	}
	_cleanup_free_ char *key = xasprintf("%s/%s", dir, SECRET_KEY_NAME);
	if (stat(key, &st) < 0) {
		found(f, file, line, true, "[Secrets] Directory=%s has no %s: create it with "
		      "`cococtl keygen %s`", dir, SECRET_KEY_NAME, key);
		return;
	}
	if (st.st_mode & 0007)
		found(f, file, line, true, "[Secrets] %s is readable by others (mode %04o): expected "
		      "mode 0600 (chmod 600 %s)", key, (unsigned)(st.st_mode & 07777), key);
	else if (st.st_mode & 0070)
		found(f, file, line, false, "[Secrets] %s is readable by its group (mode %04o): "
		      "expected mode 0600 (chmod 600 %s)", key, (unsigned)(st.st_mode & 07777), key);
}

static bool finding_before(const plan_finding *x, const plan_finding *y)
{
	int k = strcmp(x->file, y->file);
	return k < 0 || (k == 0 && x->line < y->line);
}

int plan_check(const coco_config *cfg, const coco_localtime *now_wall, int64_t now,
               plan_finding **ret, size_t *ret_n)
{
	findings f = {0};
	check_secrets(cfg, &f);
	for (size_t i = 0; i < cfg->n_campaigns; i++) {
		int64_t t = now;
		if (now_wall && schedule_local_to_utc(now_wall, cfg->campaigns[i].timezone, &t) < 0)
			t = now;
		check_campaign(cfg, &cfg->campaigns[i], t, &f);
	}
	/* By file and line; an insertion sort is stable, so findings of one line keep their
	 * order (and there are few). */
	for (size_t i = 1; i < f.n; i++) {
		plan_finding v = f.v[i];
		size_t j = i;
		for (; j > 0 && finding_before(&v, &f.v[j - 1]); j--)
			f.v[j] = f.v[j - 1];
		f.v[j] = v;
	}
	*ret = f.v;
	*ret_n = f.n;
	return 0;
}

void plan_findings_free(plan_finding *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].file);
		free(f[i].msg);
	}
	free(f);
}
