/* cococtl-offline: the commands that work on files and need no cocod: check, plan, render,
 * keygen (see cococtl.h); mail-parse is in cococtl-mail.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "cococtl.h"
#include "config.h"
#include "plan.h"
#include "schedule.h"
#include "secret.h"
#include "weblink.h"
#include "template.h"
#include "core.h"
#include "util.h"

#define WEEK_SEC (7 * 86400LL)

/* --now, or the clock. Returns CTL_USAGE (reported) for a malformed --now. */
static int reference_now(const ctl_args *a, coco_localtime *ret_wall, bool *ret_has_wall)
{
	*ret_has_wall = false;
	if (!a->opt[OPT_NOW])
		return 0;
	if (config_parse_localtime(a->opt[OPT_NOW], ret_wall) < 0)
		return ctl_usage_error(a->name, "--now %s: expected a date and time like "
		                       "'2026-11-20 12:00'", a->opt[OPT_NOW]);
	*ret_has_wall = true;
	return 0;
}

/* Loads the configuration, printing every error. */
static int load(coco_config **ret)
{
	char **errors = NULL;
	int r = config_load(arg_config, ret, &errors);
	if (r >= 0)
		return 0;
	size_t n = 0;
	for (char **e = errors; e && *e; e++, n++)
		fprintf(stderr, "%s\n", *e);
	if (n == 0)
		fprintf(stderr, "%s: %s\n", arg_config, strerror(-r));
	fprintf(stderr, "cococtl: configuration in %s is invalid (%zu error%s)\n", arg_config, n,
	        n == 1 ? "" : "s");
	strv_free(errors);
	return r;
}

int cmd_check(const ctl_args *a)
{
	coco_localtime wall;
	bool has_wall;
	if (reference_now(a, &wall, &has_wall) != 0)
		return CTL_USAGE;
	coco_config *cfg = NULL;
	/* A config that does not load is not simulated: one mistake, one error. */
	if (load(&cfg) < 0)
		return CTL_FAILED;
	plan_finding *f = NULL;
	size_t n = 0, errors = 0;
	(void)plan_check(cfg, has_wall ? &wall : NULL, clock_now(), &f, &n);
	for (size_t i = 0; i < n; i++) {
		if (f[i].line)
			fprintf(stderr, "%s:%u: %s: %s\n", f[i].file, f[i].line,
			        f[i].error ? "error" : "warning", f[i].msg);
		else
			fprintf(stderr, "%s: %s: %s\n", f[i].file, f[i].error ? "error" : "warning",
			        f[i].msg);
		errors += f[i].error;
	}
	size_t warnings = n - errors;
	plan_findings_free(f, n);
	/* The templates cocod will look for, where it will look (see cocod's start). */
	{
		const char *env = getenv("COCO_TEMPLATE_DIR");
		_cleanup_free_ char *local = xasprintf("%s/templates", arg_config);
		const char *const dirs[] = {local, env ? env : COCO_DATADIR "/templates", NULL};
		_cleanup_free_ char *err = NULL;
		if (core_check_templates(dirs, &err) < 0) {
			fprintf(stderr, "%s: error: %s\n", arg_config, err);
			errors++;
		}
	}
	_cleanup_free_ char *summary = config_summary(cfg);
	config_free(cfg);
	_cleanup_free_ char *w = warnings ? xasprintf(" (%zu warning%s)", warnings,
	                                              warnings == 1 ? "" : "s")
	                                  : xstrdup("");
	if (errors) {
		fprintf(stderr, "cococtl: configuration in %s would fail at run time: %zu error%s%s\n",
		        arg_config, errors, errors == 1 ? "" : "s", w);
		return CTL_FAILED;
	}
	printf("cococtl: configuration in %s is OK: %s%s\n", arg_config, summary, w);
	return CTL_OK;
}

/* ---- plan ------------------------------------------------------------------------- */

static const char *weekday(const coco_localtime *lt)
{
	static const char *const names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	struct tm tm = {.tm_year = lt->year - 1900, .tm_mon = lt->month - 1, .tm_mday = lt->day,
	                .tm_hour = 12};
	time_t t = timegm(&tm);
	struct tm out;
	if (t == (time_t)-1 || !gmtime_r(&t, &out))
		return "???";
	return names[out.tm_wday];
}

static void print_when(int64_t at, const char *tz)
{
	coco_localtime lt;
	if (schedule_utc_to_local(at, tz, &lt, NULL) < 0) {
		printf("%-42s", "?");
		return;
	}
	printf("%s %04d-%02d-%02d %02d:%02d %-20s ", weekday(&lt), lt.year, lt.month, lt.day,
	       lt.hour, lt.minute, tz);
}

static const char *event_tz(const coco_campaign *c, const plan_event *e)
{
	return e->member && e->member->timezone ? e->member->timezone : c->timezone;
}

static bool same_event(const plan_event *x, const plan_event *y)
{
	return x->at == y->at && x->kind == y->kind && x->round == y->round && x->nth == y->nth &&
	       (x->covers == y->covers || (x->covers && y->covers && STREQ(x->covers, y->covers)));
}

/* What the line is about: "kickoff", "pulse 2026-12-07 (2nd)", "periodic: pulse". */
static char *event_what(const plan_event *e)
{
	if (!e->round)
		return e->covers ? xasprintf("periodic, shows %s", e->covers)
		                 : xstrdup("periodic: skipped, no round is open");
	_cleanup_free_ char *occ = e->occurrence && !STREQ(e->occurrence, "once")
	                                   ? xasprintf(" %s", e->occurrence) : xstrdup("");
	if (e->kind == PLAN_REMIND)
		return xasprintf("%s%s (reminder %u)", e->round->id, occ, e->nth);
	if (e->kind == PLAN_DIGEST)
		return xasprintf("%s%s (on close)", e->round->id, occ);
	return xasprintf("%s%s", e->round->id, occ);
}

/* One line per event and recipient zone: "Tue 2026-12-01 09:00 Europe/Helsinki open
 * kickoff aino, mikko". Events are grouped if they differ only in the recipient. */
static void print_group(const coco_campaign *c, const plan_event *ev, size_t n)
{
	_cleanup_free_ char *what = event_what(&ev[0]);
	_cleanup_free_ bool *done = xcalloc(n, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		const char *tz = event_tz(c, &ev[i]);
		print_when(ev[i].at, tz);
		printf("%-7s %-32s", plan_kind_to_string(ev[i].kind), what);
		const char *sep = " ";
		for (size_t j = i; j < n; j++)
			if (!done[j] && STREQ(event_tz(c, &ev[j]), tz)) {
				done[j] = true;
				if (ev[j].member) {
					printf("%s%s", sep, ev[j].member->id);
					sep = ", ";
				}
			}
		putchar('\n');
	}
}

/* Has cocod already done this, by its state? Occurrence ids sort by time ("once" is
 * the only one of a one-shot round). An open occurrence has been opened; the rest of it is
 * ahead. */
static bool already_ran(const plan_state *st, const plan_event *e)
{
	const char *last = NULL, *state;
	if (!st || !e->round || !e->occurrence ||
	    !(state = plan_state_round(st, e->round->id, &last)) || !last)
		return false;
	int k = strcmp(e->occurrence, last);
	return k < 0 || (k == 0 && (!STREQ(state, "open") || e->kind == PLAN_OPEN));
}

int cmd_plan(const ctl_args *a)
{
	coco_localtime wall;
	bool has_wall;
	long weeks = 6;
	if (reference_now(a, &wall, &has_wall) != 0)
		return CTL_USAGE;
	if (a->opt[OPT_WEEKS] && parse_long(a->opt[OPT_WEEKS], 1, 520, &weeks) < 0)
		return ctl_usage_error(a->name, "--weeks %s: expected a whole number from 1 to 520",
		                       a->opt[OPT_WEEKS]);
	_cleanup_config_ coco_config *cfg = NULL;
	if (load(&cfg) < 0)
		return CTL_FAILED;
	const coco_campaign *c = config_find_campaign(cfg, a->pos[0]);
	if (!c) {
		fprintf(stderr, "cococtl: no campaign \"%s\" in %s\n", a->pos[0], arg_config);
		return CTL_FAILED;
	}
	const char *who = a->opt[OPT_MEMBER];
	if (who && !campaign_find_member(c, who)) {
		fprintf(stderr, "cococtl: no member \"%s\" in campaign %s\n", who, c->id);
		return CTL_FAILED;
	}
	int64_t from = clock_now();
	if (has_wall && schedule_local_to_utc(&wall, c->timezone, &from) < 0) {
		fprintf(stderr, "cococtl: --now %s: not a time in %s\n", a->opt[OPT_NOW], c->timezone);
		return CTL_FAILED;
	}
	int64_t until = from + weeks * WEEK_SEC;
	plan *p = NULL;
	int r = plan_build(c, from, until, &p);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot work out the schedule of %s: %s (see cococtl check)\n",
		        c->id, strerror(-r));
		return CTL_FAILED;
	}
	_cleanup_free_ char *f = plan_format_local(from, c->timezone);
	_cleanup_free_ char *u = plan_format_local(until, c->timezone);
	printf("# %s%s%s, %s to %s %s (%ld week%s)\n", c->id, who ? " as member " : "",
	       who ? who : "", f, u, c->timezone, weeks, weeks == 1 ? "" : "s");
	printf("# each time is the recipient's own; reminders go only to those who have not "
	       "answered by then\n");
	printf("# from the configuration only: rounds opened or closed by hand are not reflected; "
	       "see cococtl rounds\n");
	/* What cocod's state.json says has run is left out (as check reads it). */
	plan_state *st = NULL;
	int k = plan_state_load(cfg, c, &st);
	if (k < 0 && k != -ENOENT)
		printf("# the daemon's state under %s cannot be read: rounds that already ran are "
		       "shown as planned\n", cfg->state_dir);
	for (size_t i = 0; st && i < c->n_rounds; i++) {
		const char *last, *state = plan_state_round(st, c->rounds[i].id, &last);
		if (state && last && STREQ(state, "scheduled"))
			printf("# round %s ran until occurrence %s (cocod's state.json): those are "
			       "left out\n", c->rounds[i].id, last);
		else if (state && last)
			printf("# round %s is %s, occurrence %s (cocod's state.json): what already "
			       "happened is left out\n", c->rounds[i].id, state, last);
	}
	size_t n;
	const plan_event *ev = plan_events(p, &n);
	_cleanup_free_ plan_event *mine = xcalloc(n + 1, sizeof *mine);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if ((!who || (ev[i].member && STREQ(ev[i].member->id, who))) && !already_ran(st, &ev[i]))
			mine[m++] = ev[i];
	for (size_t i = 0; i < m;) {
		size_t j = i + 1;
		while (j < m && same_event(&mine[i], &mine[j]))
			j++;
		print_group(c, &mine[i], j - i);
		i = j;
	}
	for (size_t i = 0; i < c->n_rounds; i++) {
		const char *last = NULL;
		if (!c->rounds[i].open.set &&
		    !(plan_state_round(st, c->rounds[i].id, &last) && last))
			printf("# round %s has no Open=: it opens when you run cococtl open %s/%s\n",
			       c->rounds[i].id, c->id, c->rounds[i].id);
	}
	if (m == 0)
		printf("# nothing is scheduled in these %ld week%s\n", weeks, weeks == 1 ? "" : "s");
	plan_state_free(st);
	plan_free(p);
	return CTL_OK;
}

/* ---- render, keygen --------------------------------------------------- */

int cmd_render(const ctl_args *a)
{
	const char *tpath = a->pos[0], *dpath = a->pos[1];
	_cleanup_free_ char *text = NULL, *json = NULL, *tcopy = xstrdup(tpath);
	int r = read_file(tpath, 16 * 1024 * 1024, &text, NULL);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot read template %s: %s\n", tpath, strerror(-r));
		return CTL_FAILED;
	}
	r = read_file(dpath, 64 * 1024 * 1024, &json, NULL);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot read data %s: %s\n", dpath, strerror(-r));
		return CTL_FAILED;
	}
	const char *end = NULL;
	cJSON *data = cJSON_ParseWithOpts(json, &end, 1);
	if (!data) {
		size_t off = end ? (size_t)(end - json) : 0;
		fprintf(stderr, "cococtl: %s: invalid JSON near byte %zu\n", dpath, off);
		return CTL_FAILED;
	}
	/* Partials come from --partials, else from the template's own directory. */
	const char *partials = a->opt[OPT_PARTIALS];
	const char *dirs[] = {partials ? partials : dirname(tcopy), NULL};
	_cleanup_free_ char *out = NULL, *err = NULL;
	_cleanup_free_ char *tcopy2 = xstrdup(tpath);
	r = template_render(basename(tcopy2), text, data, template_dirs_partial, dirs, &out, &err);
	cJSON_Delete(data);
	if (r < 0) {
		fprintf(stderr, "cococtl: %s\n", err ? err : strerror(-r));
		return CTL_FAILED;
	}
	fwrite(out, 1, strlen(out), stdout);
	return CTL_OK;
}

/* mkdir -p for the directories a key goes into: each one created 0700. */
static int make_key_dir(const char *dir)
{
	_cleanup_free_ char *p = xstrdup(dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cmd_keygen(const ctl_args *a)
{
	const char *file = a->pos[0];
	_cleanup_free_ char *copy = xstrdup(file), *bcopy = xstrdup(file);
	const char *dir = dirname(copy), *base = basename(bcopy);
	int r = make_key_dir(dir);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot create the directory %s: %s\n", dir, strerror(-r));
		return CTL_FAILED;
	}
	r = secret_generate(file);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot write %s: %s%s\n", file, strerror(-r),
		        r == -EEXIST ? " (a key is there already: cocod's pseudonyms and reply "
		                       "addresses depend on it, so it is never overwritten)" : "");
		return CTL_FAILED;
	}
	/* Absolute paths in the hint: a unit or coco.conf does not know our working directory. */
	_cleanup_free_ char *real = realpath(dir, NULL);
	if (real)
		dir = real;
	_cleanup_free_ char *abs = xasprintf("%s/%s", STREQ(dir, "/") ? "" : dir, base);
	printf("wrote a new key to %s (mode 0600)\n", abs);
	/* What cocod reads: [Secrets] Directory= DIR/coco-key, or the credential named coco-key
	 * (from any path). */
	if (STREQ(base, SECRET_KEY_NAME))
		printf("cocod reads it with [Secrets] Directory=%s in coco.conf, or under systemd "
		       "with LoadCredential=%s:%s\n", dir, SECRET_KEY_NAME, abs);
	else
		printf("cocod reads it under systemd with LoadCredential=%s:%s; with [Secrets] "
		       "Directory= it must be named %s in that directory\n", SECRET_KEY_NAME, abs,
		       SECRET_KEY_NAME);
	return CTL_OK;
}

/* cococtl link: see its help in cococtl.c and docs/web.md. */
int cmd_link(const ctl_args *a)
{
	const char *member = a->pos[0];
	long days = 30;
	if (a->opt[OPT_DAYS] && parse_long(a->opt[OPT_DAYS], 0, 365, &days) < 0)
		return ctl_usage_error(a->name, "--days %s: expected a number of days, 0-365",
		                       a->opt[OPT_DAYS]);
	_cleanup_config_ coco_config *cfg = NULL;
	if (load(&cfg) < 0)
		return CTL_FAILED;
	const char *base = config_get(cfg, "Web", "BaseUrl");
	if (!base) {
		fprintf(stderr, "cococtl: no [Web] BaseUrl= in %s/coco.conf: the address members "
		        "reach the web view at (https://coco.example.org)\n", arg_config);
		return CTL_FAILED;
	}
	const coco_campaign *camp = NULL;
	if (a->opt[OPT_CAMPAIGN]) {
		camp = config_find_campaign(cfg, a->opt[OPT_CAMPAIGN]);
		if (!camp) {
			fprintf(stderr, "cococtl: no campaign \"%s\"\n", a->opt[OPT_CAMPAIGN]);
			return CTL_FAILED;
		}
		if (!campaign_find_member(camp, member)) {
			fprintf(stderr, "cococtl: %s is not a member of %s\n", member, camp->id);
			return CTL_FAILED;
		}
	} else
		for (size_t i = 0; i < cfg->n_campaigns && !camp; i++)
			if (campaign_find_member(&cfg->campaigns[i], member))
				camp = &cfg->campaigns[i];
	if (!camp) {
		fprintf(stderr, "cococtl: no campaign has a member \"%s\"\n", member);
		return CTL_FAILED;
	}
	secret key;
	if (secret_load(cfg->secrets_dir, &key) < 0)
		return CTL_FAILED;
	int64_t expiry = clock_now() + (int64_t)days * 86400;
	_cleanup_free_ char *url = weblink_url(&key, base, member, camp->id, NULL, expiry);
	OPENSSL_cleanse(&key, sizeof key);
	printf("%s\n", url);
	return CTL_OK;
}
