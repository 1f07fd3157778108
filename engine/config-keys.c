/* config-keys: pass 2 of config loading (see config.c): the key tables of each section,
 * the parsers that check and store each value, and the appliers that run a file's raw
 * sections through them. The table is what the parser, `cococtl check` and
 * docs/config.md share; see config-private.h for what this file shares with the others. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config-private.h"
#include "http.h"
#include "ical-lazy.h"
#include "util.h"

#define LIST_MAX 64 /* most entries in Email=, Remind=, Options=, ... */

/* The channels this binary carries (config_register_channels()). */
static const config_channel_def *channel_defs;
static size_t n_channel_defs;

void config_register_channels(const config_channel_def *defs, size_t n)
{
	channel_defs = defs;
	n_channel_defs = n;
}

const config_channel_def *config_channel_find(const char *name)
{
	for (size_t i = 0; name && i < n_channel_defs; i++)
		if (STREQ(channel_defs[i].name, name))
			return &channel_defs[i];
	return NULL;
}

const char *config_default_channel(void)
{
	return n_channel_defs > 0 ? channel_defs[0].name : NULL;
}

static char *channel_names(const char *sep)
{
	strbuf b = {0};
	for (size_t i = 0; i < n_channel_defs; i++)
		strbuf_printf(&b, "%s%s", i ? sep : "", channel_defs[i].name);
	return b.s ? strbuf_steal(&b) : xstrdup("(none built in)");
}

/* The first definition of section `name` among the registered channels. */
static const config_section_def *channel_section(const char *name)
{
	for (size_t i = 0; i < n_channel_defs; i++)
		for (const config_section_def *const *s = channel_defs[i].sections; s && *s; s++)
			if (STREQ((*s)->name, name))
				return *s;
	return NULL;
}

/* What a channel that reads section has against value (config_channel_def.check), as a
 * phrase, or NULL: the checks a kind cannot make (an SMTP URL's scheme). */
static const char *channel_value_problem(const char *section, const char *key, const char *value)
{
	for (size_t i = 0; i < n_channel_defs; i++) {
		if (!channel_defs[i].check)
			continue;
		for (const config_section_def *const *s = channel_defs[i].sections; s && *s; s++)
			if (STREQ((*s)->name, section)) {
				const char *why = channel_defs[i].check(section, key, value);
				if (why)
					return why;
			}
	}
	return NULL;
}

/* Key `key` of section `section` as any registered channel declares it (channels may share
 * a section, each with the keys it reads). */
static const config_key_def *channel_key(const char *section, const char *key)
{
	if (STREQ(section, "Campaign")) { /* the channels' keys of a campaign's [Campaign] */
		for (size_t i = 0; i < n_channel_defs; i++) {
			const config_section_def *s = channel_defs[i].campaign_keys;
			for (size_t k = 0; s && k < s->n_keys; k++)
				if (STREQ(s->keys[k].name, key))
					return &s->keys[k];
		}
		return NULL;
	}
	for (size_t i = 0; i < n_channel_defs; i++)
		for (const config_section_def *const *s = channel_defs[i].sections; s && *s; s++)
			if (STREQ((*s)->name, section))
				for (size_t k = 0; k < (*s)->n_keys; k++)
					if (STREQ((*s)->keys[k].name, key))
						return &(*s)->keys[k];
	return NULL;
}

/* "From, Name" — every key of section `section`, once. */
static char *channel_keys_list(const char *section)
{
	strbuf b = {0};
	for (size_t i = 0; i < n_channel_defs; i++)
		for (const config_section_def *const *s = channel_defs[i].sections; s && *s; s++)
			if (STREQ((*s)->name, section))
				for (size_t k = 0; k < (*s)->n_keys; k++) {
					const char *n = (*s)->keys[k].name;
					if (channel_key(section, n) == &(*s)->keys[k])
						strbuf_printf(&b, "%s%s", b.len ? ", " : "", n);
				}
	return b.s ? strbuf_steal(&b) : xstrdup("none");
}

/* ---- pass 2: the key tables ---- */

typedef struct key_def key_def;
typedef void (*value_parser)(ctx *c, const key_def *k, const char *v, void *obj, unsigned line);

struct key_def {
	const char *name;
	value_parser parse;
	size_t off;             /* the field */
	size_t off_list, off_n; /* list keys: the array and its length */
	long min, max;          /* numbers */
	bool multiline;         /* indented continuation lines allowed */
	const char *doc;        /* one line, mirrored in docs/config.md */
};

#define FIELD(obj, off, type) ((type *)(void *)((char *)(obj) + (off)))

/* Splits on any of seps, dropping empty items. */
static char **split(const char *v, const char *seps)
{
	char **l = NULL;
	while (*v) {
		size_t n = strcspn(v, seps);
		_cleanup_free_ char *item = xstrndup(v, n);
		char *t = strstrip(item);
		if (*t)
			strv_push(&l, xstrdup(t));
		v += n;
		if (*v)
			v++;
	}
	return l;
}

static void set_list(void *obj, const key_def *k, char **l)
{
	char ***dst = FIELD(obj, k->off_list, char **);
	size_t n = strv_length(*dst);
	for (size_t i = 0; i < n; i++)
		free((*dst)[i]);
	free(*dst);
	*dst = l;
	*FIELD(obj, k->off_n, size_t) = strv_length(l);
}

static void p_string(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **dst = FIELD(obj, k->off, char *);
	free(*dst);
	*dst = *v ? xstrdup(v) : NULL;
}

static void p_path(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (v[0] != '/') {
		config_cerr(c, line, "%s=" VAL_FMT ": expected an absolute path", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_group(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	gid_t gid;
	int r = parse_group(v, &gid);
	if (r < 0) {
		config_cerr(c, line, "%s=" VAL_FMT ": %s: expected the name of an existing group or "
		            "a numeric gid", k->name, VAL_ARG(v),
		            r == -ENOENT ? "no such group" : "not a group name");
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_listen(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	/* The same parser the ingress binds with (http.c): numeric addresses only, IPv6 in
	 * brackets, so "::1:8470" cannot be read two ways. */
	if (http_parse_address(v, 1, NULL, NULL) < 0) {
		config_cerr(c, line, "%s=" VAL_FMT ": expected ADDRESS:PORT with a numeric address, "
		            "like 127.0.0.1:8470 or [::1]:8470", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_connectors(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **l = split(v, " ,\t");
	char **out = NULL;
	c->connectors_line = line;
	_cleanup_free_ char *names = channel_names(", ");
	for (char **p = l; p && *p; p++) {
		if (!config_channel_find(*p))
			config_cerr(c, line, "%s=: unknown connector \"" VAL_FMT
			     "\": expected one of %s", k->name, VAL_ARG(*p), names);
		else if (config_table_from_string((const char *const *)out, strv_length(out), *p) < 0)
			strv_push(&out, xstrdup(*p)); /* a repeated name is harmless */
	}
	strv_free(l);
	if (!out) {
		config_cerr(c, line, "%s= is empty: expected one or more of %s", k->name, names);
		return;
	}
	set_list(obj, k, out);
}

static bool email_is_valid(const char *e)
{
	const char *at = strchr(e, '@');
	return at && at > e && at[1] && !strchr(at + 1, '@') && !strpbrk(e, " \t<>\"(),;:");
}


static void p_timezone(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	/* UTC without opening libical (schedule.c's zone_get()). */
	bool utc = STREQ(v, "UTC") || STREQ(v, "GMT");
	if (strlen(v) > 64 || (!utc && !icaltimezone_get_builtin_timezone(v))) {
		config_cerr(c, line, "%s=" VAL_FMT
		     ": unknown time zone, expected an IANA name like Europe/Helsinki or UTC",
		     k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static int parse_hhmm(const char *s, size_t n, int *ret)
{
	if (n != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -EINVAL;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -ERANGE;
	*ret = h * 60 + m;
	return 0;
}

static void p_quiet(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	coco_campaign *camp = obj;
	if (!*v || STREQ(v, "none")) {
		camp->quiet_start = camp->quiet_end = -1;
		return;
	}
	const char *dash = strchr(v, '-');
	int a, b;
	if (!dash || parse_hhmm(v, (size_t)(dash - v), &a) < 0 ||
	    parse_hhmm(dash + 1, strlen(dash + 1), &b) < 0 || a == b) {
		config_cerr(c, line, "%s=" VAL_FMT ": expected HH:MM-HH:MM like 21:00-08:00, or none",
		     k->name, VAL_ARG(v));
		return;
	}
	camp->quiet_start = a;
	camp->quiet_end = b;
}

static void p_enum(ctx *c, const key_def *k, const char *v, void *obj, unsigned line,
                   const char *const *t, size_t n)
{
	int i = config_table_from_string(t, n, v);
	if (i < 0) {
		strbuf b = {0};
		for (size_t j = 0; j < n; j++)
			strbuf_printf(&b, "%s%s", j ? (j + 1 == n ? " or " : ", ") : "", t[j]);
		config_cerr(c, line, "%s=" VAL_FMT ": expected %s", k->name, VAL_ARG(v), b.s);
		strbuf_done(&b);
		return;
	}
	*FIELD(obj, k->off, int) = i;
}

static void p_side(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	p_enum(c, k, v, obj, line, side_table, ELEMENTSOF(side_table));
}
static void p_round_kind(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	p_enum(c, k, v, obj, line, round_kind_table, ELEMENTSOF(round_kind_table));
}
static void p_question_kind(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	p_enum(c, k, v, obj, line, question_kind_table, ELEMENTSOF(question_kind_table));
}

static void p_bool(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (parse_bool(v, FIELD(obj, k->off, bool)) < 0)
		config_cerr(c, line, "%s=" VAL_FMT ": expected yes or no", k->name, VAL_ARG(v));
}

static void p_long(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (parse_long(v, k->min, k->max, FIELD(obj, k->off, long)) < 0)
		config_cerr(c, line, "%s=" VAL_FMT ": expected a whole number from %ld to %ld", k->name,
		     VAL_ARG(v), k->min, k->max);
}

static void p_unsigned(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	long n;
	if (parse_long(v, k->min, k->max, &n) < 0)
		config_cerr(c, line, "%s=" VAL_FMT ": expected a whole number from %ld to %ld", k->name,
		     VAL_ARG(v), k->min, k->max);
	else
		*FIELD(obj, k->off, unsigned) = (unsigned)n;
}

/* A positive decimal with at most one digit after the point ("1", "1.5"), kept in tenths. */
static void p_tenths(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	const char *dot = strchr(v, '.');
	long whole = 0, frac = 0;
	_cleanup_free_ char *w = dot ? xstrndup(v, (size_t)(dot - v)) : xstrdup(v);
	bool ok = parse_long(w, 0, k->max / 10, &whole) >= 0 && isdigit((unsigned char)v[0]);
	if (ok && dot) {
		ok = isdigit((unsigned char)dot[1]) && !dot[2];
		frac = dot[1] - '0';
	}
	long t = whole * 10 + frac;
	if (!ok || t < k->min || t > k->max) {
		config_cerr(c, line, "%s=" VAL_FMT ": expected a number from %ld.%ld to %ld.%ld with "
		            "at most one decimal, like 1.5", k->name, VAL_ARG(v), k->min / 10,
		            k->min % 10, k->max / 10, k->max % 10);
		return;
	}
	*FIELD(obj, k->off, unsigned) = (unsigned)t;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int parse_localtime(const char *v, coco_localtime *ret)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const char shape[] = "dddd-dd-dd dd:dd";
	if (strlen(v) != sizeof shape - 1)
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)v[i]) : v[i] != shape[i])
			return -EINVAL;
	int num[5], at[5] = {0, 5, 8, 11, 14}, len[5] = {4, 2, 2, 2, 2};
	for (int i = 0; i < 5; i++) {
		num[i] = 0;
		for (int j = 0; j < len[i]; j++)
			num[i] = num[i] * 10 + (v[at[i] + j] - '0');
	}
	if (num[0] < 1970 || num[1] < 1 || num[1] > 12 || num[2] < 1 ||
	    num[2] > mdays[num[1] - 1] + (num[1] == 2 && is_leap(num[0])) || num[3] > 23 ||
	    num[4] > 59)
		return -ERANGE;
	*ret = (coco_localtime){true, num[0], num[1], num[2], num[3], num[4]};
	return 0;
}

int config_parse_localtime(const char *s, coco_localtime *ret)
{
	return s ? parse_localtime(s, ret) : -EINVAL;
}

static void p_datetime(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (parse_localtime(v, FIELD(obj, k->off, coco_localtime)) < 0)
		config_cerr(c, line, "%s=" VAL_FMT ": expected a date and time like 2026-12-01 09:00",
		     k->name, VAL_ARG(v));
}

static void p_duration(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	int64_t d;
	if (parse_duration(v, &d) < 0 || d <= 0)
		config_cerr(c, line, "%s=" VAL_FMT ": expected a positive duration like 3d, 36h or 1w2d",
		     k->name, VAL_ARG(v));
	else
		*FIELD(obj, k->off, int64_t) = d;
}

static void p_rrule(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	icalerror_clear_errno();
	struct icalrecurrencetype rt = icalrecurrencetype_from_string(v);
	free(rt.rscale); /* libical strdup()s RSCALE= and leaves it to us */
	icalerror_clear_errno();
	if (rt.freq == ICAL_NO_RECURRENCE) {
		config_cerr(c, line, "%s=" VAL_FMT
		     ": expected an RFC 5545 RRULE like FREQ=WEEKLY;BYDAY=MO", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_remind(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **l = split(v, " ,\t");
	size_t n = strv_length(l);
	int64_t *out = xcalloc(n, sizeof(int64_t));
	bool ok = n <= LIST_MAX;
	if (!ok)
		config_cerr(c, line, "%s=: expected at most %d offsets", k->name, LIST_MAX);
	for (size_t i = 0; ok && i < n; i++)
		if (parse_duration(l[i], &out[i]) < 0 || out[i] >= 0) {
			config_cerr(c, line, "%s=" VAL_FMT ": expected negative offsets before the close, "
			     "like -2d,-4h", k->name, VAL_ARG(l[i]));
			ok = false;
		}
	strv_free(l);
	if (!ok) {
		free(out);
		return;
	}
	free(*FIELD(obj, k->off_list, int64_t *));
	*FIELD(obj, k->off_list, int64_t *) = out;
	*FIELD(obj, k->off_n, size_t) = n;
}

/* Audience=/Recipients=: all, client, provider, or member ids (checked in pass 3). */
static void p_audience(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	static const char *const words[] = {"all", "client", "provider"};
	static const audience_kind kinds[] = {AUDIENCE_ALL, AUDIENCE_CLIENT, AUDIENCE_PROVIDER};
	char **l = split(v, " ,\t");
	size_t n = strv_length(l);
	int w = n == 1 ? config_table_from_string(words, ELEMENTSOF(words), l[0]) : -1;
	if (w >= 0) {
		*FIELD(obj, k->off, audience_kind) = kinds[w];
		set_list(obj, k, NULL);
		strv_free(l);
		return;
	}
	const char *why = n == 0 ? "expected all, client, provider or member ids"
	                  : n > LIST_MAX * 4 ? "too many member ids" : NULL;
	_cleanup_free_ char *detail = NULL;
	for (size_t i = 0; !why && i < n; i++)
		if (config_table_from_string(words, ELEMENTSOF(words), l[i]) >= 0)
			why = detail = xasprintf("\"%s\" is a whole audience and cannot be mixed with "
			                         "member ids: give all, client, provider, or member ids "
			                         "only", l[i]);
		else if (!name_is_safe(l[i]))
			why = detail = xasprintf("\"%.40s\" cannot be a member id: expected all, "
			                         "client, provider or member ids", l[i]);
	if (why) {
		config_cerr(c, line, "%s=" VAL_FMT ": %s", k->name, VAL_ARG(v), why);
		strv_free(l);
		return;
	}
	*FIELD(obj, k->off, audience_kind) = AUDIENCE_MEMBERS;
	set_list(obj, k, l);
}

static void p_id(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (!name_is_safe(v)) {
		config_cerr(c, line, "%s=" VAL_FMT ": expected an id of letters, digits and ._@+=- "
		     "(at most 64)", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_options(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **l = split(v, "|");
	if (strv_length(l) > LIST_MAX) {
		config_cerr(c, line, "%s=: expected at most %d options", k->name, LIST_MAX);
		strv_free(l);
		return;
	}
	set_list(obj, k, l);
}

static void p_emails(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	coco_member *m = obj;
	char **l = split(v, " ,\t");
	if (!l && !m->empty_email_line)
		m->empty_email_line = line; /* legal, but a mistake: cococtl check warns */
	for (char **p = l; p && *p; p++) {
		for (char *q = *p; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		const char *owner = NULL;
		for (size_t i = 0; i < m->n_emails; i++)
			if (STREQ(m->emails[i], *p))
				owner = m->id;
		camp_build *b = c->camp;
		size_t at = !owner && b && b->member_emails
		                    ? (size_t)(uintptr_t)strmap_get(b->member_emails, *p) : 0;
		if (at && &b->c->members[at - 1] != m)
			owner = b->c->members[at - 1].id;
		if (!email_is_valid(*p))
			config_cerr(c, line,
			     "%s=" VAL_FMT ": expected an email address like ana@example.org",
			     k->name, VAL_ARG(*p));
		else if (owner)
			config_cerr(c, line, "%s=%s: already used by member %s: expected each address "
			     "once", k->name, *p, owner);
		else if (m->n_emails >= LIST_MAX)
			config_cerr(c, line, "%s=: expected at most %d addresses", k->name, LIST_MAX);
		else {
			m->emails = xrealloc(m->emails, (m->n_emails + 2) * sizeof(char *));
			m->emails[m->n_emails++] = xstrdup(*p);
			m->emails[m->n_emails] = NULL;
			/* A member of the campaign (not the scratch copy of a duplicate) owns it. */
			if (b && b->member_emails && b->c->n_members > 0 &&
			    m == &b->c->members[b->c->n_members - 1])
				(void)strmap_put(b->member_emails, *p,
				                 (void *)(uintptr_t)b->c->n_members);
		}
	}
	strv_free(l);
}

static void p_accept_from(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	coco_member *m = obj;
	char **l = split(v, " ,\t");
	for (char **p = l; p && *p; p++) {
		for (char *q = *p; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (STREQ(*p, "any"))
			m->accept_any = true;
		else if (!email_is_valid(*p))
			config_cerr(c, line, "%s=" VAL_FMT ": expected email addresses or \"any\"",
			     k->name, VAL_ARG(*p));
		else if (strv_length(m->accept_from) >= LIST_MAX)
			config_cerr(c, line, "%s=: expected at most %d addresses", k->name, LIST_MAX);
		else
			strv_push(&m->accept_from, xstrdup(*p));
	}
	strv_free(l);
}

static void p_secrets_dir(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	((coco_config *)obj)->secrets_dir_line = line;
	p_path(c, k, v, obj, line);
}

static void p_slack(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	bool ok = (v[0] == 'U' || v[0] == 'W') && strlen(v) >= 3 && strlen(v) <= 32;
	for (const char *p = v; ok && *p; p++)
		ok = isupper((unsigned char)*p) || isdigit((unsigned char)*p);
	if (!ok) {
		config_cerr(c, line, "%s=" VAL_FMT ": expected a Slack user id like U024BE7LH", k->name,
		     VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_matrix(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	const char *colon = strchr(v, ':');
	if (v[0] != '@' || !colon || colon == v + 1 || !colon[1] || strpbrk(v, " \t") ||
	    strlen(v) > 255) {
		config_cerr(c, line, "%s=" VAL_FMT ": expected a Matrix user id like @ana:example.org",
		     k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

#define KEY(n, fn, T, field, d, ...)                                                               \
	{                                                                                          \
		.name = n, .parse = fn, .off = offsetof(T, field), .doc = d, __VA_ARGS__           \
	}
#define LIST(T, list, n) .off_list = offsetof(T, list), .off_n = offsetof(T, n)

static const key_def daemon_keys[] = {
	KEY("StateDirectory", p_path, coco_config, state_dir, "where answers, spools and state live (default /var/lib/coco)"),
	KEY("ControlSocket", p_path, coco_config, control_socket, "the cococtl socket (default /run/coco/control.sock)"),
	KEY("ControlGroup", p_group, coco_config, control_group, "a group whose members may use the control socket too (default: only root and cocod's user)"),
	KEY("Listen", p_listen, coco_config, listen, "ADDRESS:PORT of the HTTP ingress, [::1]:PORT for IPv6 (default 127.0.0.1:8470)"),
	KEY("Connectors", p_connectors, coco_config, connectors, "which channels run: local, email, slack, matrix (default local)", LIST(coco_config, connectors, n_connectors)),
};
static const key_def secrets_keys[] = {
	KEY("Directory", p_secrets_dir, coco_config, secrets_dir, "where secret files are read (default $CREDENTIALS_DIRECTORY)"),
};
static const key_def campaign_keys[] = {
	KEY("Id", p_id, coco_campaign, id, "the campaign id (default: the file name without .conf)"),
	KEY("Title", p_string, coco_campaign, title, "shown in messages and digests"),
	KEY("Description", p_string, coco_campaign, description, "Markdown; may continue on indented lines", .multiline = true),
	KEY("TimeZone", p_timezone, coco_campaign, timezone, "IANA time zone of Open=/Close= times (default UTC)"),
	KEY("Client", p_string, coco_campaign, client_name, "the client organisation's name"),
	KEY("Provider", p_string, coco_campaign, provider_name, "the provider organisation's name"),
	KEY("QuietHours", p_quiet, coco_campaign, quiet_start, "HH:MM-HH:MM in each member's time zone when nothing is sent, or none"),
	KEY("MinGroupSize", p_unsigned, coco_campaign, min_group_size, "answers each side needs before a digest shows its figures apart, 2 or more (default 3)", .min = 2, .max = 1000),
	KEY("GapThreshold", p_tenths, coco_campaign, gap_tenths, "client-provider gap a digest flags, in scale points; NPS uses twice it, choices 25 points per 1.0 (default 1.0)", .min = 1, .max = 1000),
};
static const key_def member_keys[] = {
	KEY("Name", p_string, coco_member, name, "display name (default: the id)"),
	KEY("Side", p_side, coco_member, side, "client or provider (required)"),
	KEY("Email", p_emails, coco_member, emails, "addresses, space or comma separated, repeatable; the first gets mail", LIST(coco_member, emails, n_emails)),
	KEY("Slack", p_slack, coco_member, slack_id, "Slack user id, like U024BE7LH"),
	KEY("Matrix", p_matrix, coco_member, matrix_id, "Matrix user id, like @ana:example.org"),
	KEY("TimeZone", p_timezone, coco_member, timezone, "the member's IANA time zone (default: the campaign's)"),
	KEY("AcceptFrom", p_accept_from, coco_member, accept_from, "other senders whose mail may carry this member's reply tag (forwarding), or any"),
};
/* Pass 3 finds keys of round_keys, question_keys and digest_keys by position: ROUND_KEY_*,
 * Q_KEY_* and DIGEST_KEY_* in config-private.h follow these tables. */
static const key_def round_keys[] = {
	KEY("Kind", p_round_kind, coco_round, kind, "prompt, survey, vote or announce (required)"),
	KEY("Title", p_string, coco_round, title, "short title (default: the id)"),
	KEY("Text", p_string, coco_round, text, "Markdown body; may continue on indented lines", .multiline = true),
	KEY("Open", p_datetime, coco_round, open, "YYYY-MM-DD HH:MM, the (first) opening in the campaign time zone"),
	KEY("Close", p_datetime, coco_round, close, "YYYY-MM-DD HH:MM, when a one-shot round closes"),
	KEY("Duration", p_duration, coco_round, duration, "how long each occurrence stays open, like 3d or 36h"),
	KEY("Repeat", p_rrule, coco_round, repeat, "RFC 5545 RRULE, like FREQ=WEEKLY;BYDAY=MO (needs Open=)"),
	KEY("Remind", p_remind, coco_round, remind, "reminders before the close, like -2d,-4h", LIST(coco_round, remind, n_remind)),
	KEY("MaxReminders", p_unsigned, coco_round, max_reminders, "most reminders a member gets (default: the number of Remind= offsets)", .min = 0, .max = 100),
	KEY("Audience", p_audience, coco_round, audience, "all, client, provider, or member ids (default all)", LIST(coco_round, audience_members, n_audience_members)),
	KEY("Anonymous", p_bool, coco_round, anonymous, "yes: digests show answers without names (default no)"),
	KEY("Source", p_id, coco_round, source, "vote: the prompt round whose ideas are on the ballot"),
	KEY("Votes", p_unsigned, coco_round, votes, "vote: dots each member may give (default 3)", .min = 1, .max = 100),
};
static const key_def question_keys[] = {
	KEY("Text", p_string, coco_question, text, "the question (required); may continue on indented lines", .multiline = true),
	KEY("Kind", p_question_kind, coco_question, kind, "scale, choice, multi, text or nps (required)"),
	KEY("Required", p_bool, coco_question, required, "yes: an answer must include it (default no)"),
	KEY("Min", p_long, coco_question, min, "scale: lowest value (default 1)", .min = -100, .max = 100),
	KEY("Max", p_long, coco_question, max, "scale: highest value (default 5)", .min = -100, .max = 100),
	KEY("MinLabel", p_string, coco_question, min_label, "scale: what the lowest value means"),
	KEY("MaxLabel", p_string, coco_question, max_label, "scale: what the highest value means"),
	KEY("Options", p_options, coco_question, options, "choice, multi: the options, separated by |", LIST(coco_question, options, n_options)),
};
static const key_def digest_keys[] = {
	KEY("Repeat", p_rrule, coco_digest, repeat, "RRULE of a periodic digest, like FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0"),
	KEY("Start", p_datetime, coco_digest, start, "YYYY-MM-DD HH:MM, DTSTART of Repeat= (default: the first Open=)"),
	KEY("OnClose", p_bool, coco_digest, on_close, "yes: a digest whenever a round closes (default yes)"),
	KEY("Recipients", p_audience, coco_digest, audience, "all, client, provider, or member ids (default all)", LIST(coco_digest, members, n_members)),
};
_Static_assert(ELEMENTSOF(round_keys) <= KEYS_MAX, "key_lines too small");

static void apply_entries(ctx *c, const char *section, const key_def *keys, size_t n_keys,
                          const raw_section *s, void *obj, key_lines *kl)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		const raw_entry *e = &s->entries[i];
		size_t k = 0;
		while (k < n_keys && !STREQ(keys[k].name, e->key))
			k++;
		if (k == n_keys) {
			strbuf b = {0};
			for (size_t j = 0; j < n_keys; j++)
				strbuf_printf(&b, "%s%s", j ? ", " : "", keys[j].name);
			config_cerr(c, e->line, "unknown key " VAL_FMT "= in [%s]: expected one of %s",
			     VAL_ARG(e->key), section, b.s);
			strbuf_done(&b);
			continue;
		}
		size_t before = c->n_errors;
		if (e->multiline && !keys[k].multiline)
			config_cerr(c, e->line, "%s= continues on the next line: expected a single line",
			     keys[k].name);
		else
			keys[k].parse(c, &keys[k], e->value.s, obj, e->line);
		if (kl) {
			kl->line[k] = e->line;
			if (c->n_errors > before)
				kl->bad |= 1u << k;
			else
				kl->bad &= ~(1u << k);
		}
	}
}

/* ---- pass 2: sections ---- */

/* "Member \"ana\"" → "Member", "ana"; "Digest" → "Digest", NULL. */
static int parse_head(const char *head, char **ret_name, char **ret_arg)
{
	size_t n = strspn(head, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	const char *p = head + n;
	p += strspn(p, " \t");
	char *arg = NULL;
	if (*p == '"') {
		const char *q = strchr(p + 1, '"');
		if (!q || q[1 + strspn(q + 1, " \t")])
			return -EINVAL;
		arg = xstrndup(p + 1, (size_t)(q - p - 1));
	} else if (*p)
		return -EINVAL;
	if (n == 0) {
		free(arg);
		return -EINVAL;
	}
	*ret_name = xstrndup(head, n);
	*ret_arg = arg;
	return 0;
}

/* scheme://[user@]host[:port][/path][?query][#fragment]: NULL when v is one (with an http or
 * https scheme when http_only), else what is wrong with it, as a phrase. */
static const char *url_problem(const char *v, bool http_only)
{
	const char *p = strstr(v, "://");
	if (!p || p == v)
		return http_only ? "expected a URL like https://host/path" : "expected a URL like "
		                                                             "smtps://mail.example.org:465";
	if (strpbrk(v, " \t\"<>\\"))
		return "a URL has no spaces, quotes, '<', '>' or '\\'";
	for (const char *s = v; s < p; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+.-", *s))
			return "the scheme before :// is lower-case letters, digits, '+', '.', '-'";
	size_t sl = (size_t)(p - v);
	if (http_only && !((sl == 4 && strncmp(v, "http", 4) == 0) ||
	                   (sl == 5 && strncmp(v, "https", 5) == 0)))
		return "expected an http:// or https:// URL";
	const char *auth = p + 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	const char *host = auth, *port = NULL;
	size_t hlen;
	if (alen > 0 && auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		if (!close || close == auth + 1)
			return "an IPv6 host is written in brackets, like http://[::1]:8080/";
		hlen = (size_t)(close + 1 - auth);
		for (const char *s = auth + 1; s < close; s++)
			if (!strchr("0123456789abcdefABCDEF:.", *s))
				return "an IPv6 host is hexadecimal digits and ':' in brackets";
		if (hlen < alen) {
			if (auth[hlen] != ':')
				return "after the ']' of a host comes ':' and a port, or the path";
			port = auth + hlen + 1;
		}
	} else {
		const char *colon = memchr(auth, ':', alen);
		hlen = colon ? (size_t)(colon - auth) : alen;
		port = colon ? colon + 1 : NULL;
		for (size_t i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)host[i]) && !strchr("-._~%", host[i]))
				return "the host is letters, digits, '-' and '.' (or an IPv6 address in "
				       "brackets)";
	}
	if (hlen == 0)
		return "the host is missing after ://";
	if (port) {
		size_t plen = (size_t)(auth + alen - port);
		if (plen == 0)
			return "the port after ':' is missing (leave out the ':' for the scheme's "
			       "own port)";
		long n = 0;
		for (size_t i = 0; i < plen; i++) {
			if (!isdigit((unsigned char)port[i]))
				return "the port after ':' is a number from 1 to 65535";
			n = n * 10 + (port[i] - '0');
			if (n > 65535)
				break;
		}
		if (n < 1 || n > 65535)
			return "the port after ':' is a number from 1 to 65535";
	}
	return NULL;
}

/* A channel's section: each value checked by the kind its channel declared, then kept as
 * written (coco_config.settings) for the channel to read. */
static void apply_channel_entries(ctx *c, const char *section, const raw_section *s,
                                  coco_setting **settings, size_t *n_settings)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		const raw_entry *e = &s->entries[i];
		const config_key_def *k = channel_key(section, e->key);
		if (!k) {
			_cleanup_free_ char *keys = channel_keys_list(section);
			config_cerr(c, e->line, "unknown key " VAL_FMT "= in [%s]: expected one of %s",
			     VAL_ARG(e->key), section, keys);
			continue;
		}
		const char *v = e->value.s ? e->value.s : "";
		bool dummy;
		long n;
		if (e->multiline) {
			config_cerr(c, e->line, "%s= continues on the next line: expected a single line",
			     k->name);
			continue;
		}
		bool bad = false;
		switch (k->kind) {
		case CONFIG_VALUE_PATH:
			if (v[0] != '/') {
				config_cerr(c, e->line, "%s=" VAL_FMT ": expected an absolute path",
				     k->name, VAL_ARG(v));
				bad = true;
			}
			break;
		case CONFIG_VALUE_ADDRESS:
			if (!email_is_valid(v)) {
				config_cerr(c, e->line, "%s=" VAL_FMT ": expected an email address like "
				     "coco@example.org", k->name, VAL_ARG(v));
				bad = true;
			}
			break;
		case CONFIG_VALUE_URL:
		case CONFIG_VALUE_HTTP_URL: {
			const char *why = url_problem(v, k->kind == CONFIG_VALUE_HTTP_URL);
			if (why) {
				config_cerr(c, e->line, "%s=" VAL_FMT ": %s", k->name, VAL_ARG(v), why);
				bad = true;
			}
			break;
		}
		case CONFIG_VALUE_BOOL:
			if (parse_bool(v, &dummy) < 0) {
				config_cerr(c, e->line, "%s=" VAL_FMT ": expected yes or no", k->name,
				     VAL_ARG(v));
				bad = true;
			}
			break;
		case CONFIG_VALUE_NUMBER:
			if (parse_long(v, 0, LONG_MAX, &n) < 0) {
				config_cerr(c, e->line, "%s=" VAL_FMT ": expected a whole number",
				     k->name, VAL_ARG(v));
				bad = true;
			}
			break;
		case CONFIG_VALUE_STRING:
			break;
		}
		const char *why = bad ? NULL : channel_value_problem(section, k->name, v);
		if (why)
			config_cerr(c, e->line, "%s=" VAL_FMT ": %s", k->name, VAL_ARG(v), why);
		/* Kept even when wrong (a config with errors is never used): a required key with a
		 * wrong value is then one error, not also "needs Url=". */
		/* A key given twice: the last one counts, as for every other section. */
		coco_setting *set = NULL;
		for (size_t j = 0; j < *n_settings && !set; j++)
			if (STREQ((*settings)[j].section, section) && STREQ((*settings)[j].key, k->name))
				set = &(*settings)[j];
		if (!set) {
			*settings = xrealloc(*settings, (*n_settings + 1) * sizeof **settings);
			set = &(*settings)[(*n_settings)++];
			*set = (coco_setting){.section = xstrdup(section), .key = xstrdup(k->name)};
		} else
			free(set->value);
		set->value = *v ? xstrdup(v) : NULL;
		set->line = e->line;
	}
}

static void apply_channel_section(ctx *c, const config_section_def *def, const raw_section *s)
{
	apply_channel_entries(c, def->name, s, &c->cfg->settings, &c->cfg->n_settings);
}

/* [Campaign]: the channels' keys (SlackChannel=) apart, kept as written; the rest as the
 * campaign's own. */
static void apply_campaign_section(ctx *c, camp_build *b, const raw_section *s)
{
	raw_section own = *s, chan = *s;
	own.entries = xcalloc(s->n_entries + 1, sizeof *own.entries);
	chan.entries = xcalloc(s->n_entries + 1, sizeof *chan.entries);
	own.n_entries = chan.n_entries = 0;
	for (size_t i = 0; i < s->n_entries; i++) {
		if (channel_key("Campaign", s->entries[i].key))
			chan.entries[chan.n_entries++] = s->entries[i];
		else
			own.entries[own.n_entries++] = s->entries[i];
	}
	apply_entries(c, "Campaign", campaign_keys, ELEMENTSOF(campaign_keys), &own, b->c,
	              &b->camp_kl);
	apply_channel_entries(c, "Campaign", &chan, &b->c->settings, &b->c->n_settings);
	free(own.entries);
	free(chan.entries);
}

void config_apply_main(ctx *c, const raw_section *secs, size_t n)
{
	static const struct {
		const char *name;
		const key_def *keys;
		size_t n_keys;
	} sections[] = {
		{"Daemon", daemon_keys, ELEMENTSOF(daemon_keys)},
		{"Secrets", secrets_keys, ELEMENTSOF(secrets_keys)},
	};
	for (size_t i = 0; i < n; i++) {
		if (!secs[i].head)
			continue;
		size_t j = 0;
		while (j < ELEMENTSOF(sections) && !STREQ(sections[j].name, secs[i].head))
			j++;
		if (j == ELEMENTSOF(sections)) {
			const config_section_def *def = channel_section(secs[i].head);
			if (def) {
				apply_channel_section(c, def, &secs[i]);
				continue;
			}
			strbuf b = {0};
			for (size_t k = 0; k < n_channel_defs; k++)
				for (const config_section_def *const *d = channel_defs[k].sections;
				     d && *d; d++)
					if (!strstr(b.s ? b.s : "", (*d)->name))
						strbuf_printf(&b, ", [%s]", (*d)->name);
			config_cerr(c, secs[i].line, "unknown section [" VAL_FMT "]: expected [Daemon], "
			     "[Secrets]%s", VAL_ARG(secs[i].head), b.s ? b.s : "");
			strbuf_done(&b);
			continue;
		}
		apply_entries(c, sections[j].name, sections[j].keys, sections[j].n_keys, &secs[i],
		              c->cfg, NULL);
	}
}

static bool id_ok(ctx *c, const char *what, const char *id, unsigned line)
{
	if (name_is_safe(id))
		return true;
	config_cerr(c, line, "%s id \"" VAL_FMT "\": expected letters, digits and ._@+=- (at most 64, "
	     "not starting with '.')", what, VAL_ARG(id));
	return false;
}

static void apply_member(ctx *c, camp_build *b, const raw_section *s, const char *id)
{
	coco_campaign *camp = b->c;
	if (!b->member_ids) {
		b->member_ids = strmap_new();
		b->member_emails = strmap_new();
	}
	size_t at = name_is_safe(id) ? (size_t)(uintptr_t)strmap_get(b->member_ids, id) : 0;
	const coco_member *dup = at ? &camp->members[at - 1] : NULL;
	if (dup)
		config_cerr(c, s->line,
		     "duplicate member \"%s\": expected each id once (first at line %u)", id,
		     dup->line);
	if (!id_ok(c, "member", id, s->line) || dup) {
		coco_member scratch = {.id = xstrdup(id)}; /* still check its values */
		apply_entries(c, s->head, member_keys, ELEMENTSOF(member_keys), s, &scratch, NULL);
		config_member_done(&scratch);
		return;
	}
	if (camp->n_members == b->cap_members) {
		b->cap_members = b->cap_members ? 2 * b->cap_members : 8;
		camp->members = xrealloc(camp->members, b->cap_members * sizeof(coco_member));
		b->member_has = xrealloc(b->member_has, b->cap_members);
	}
	coco_member *m = &camp->members[camp->n_members];
	uint8_t *has = &b->member_has[camp->n_members++];
	*m = (coco_member){.id = xstrdup(id), .line = s->line};
	(void)strmap_put(b->member_ids, m->id, (void *)(uintptr_t)camp->n_members);
	key_lines kl = {0};
	apply_entries(c, s->head, member_keys, ELEMENTSOF(member_keys), s, m, &kl);
	/* Side= is member_keys[1]; Email=, Slack=, Matrix= are [2], [3], [4]. */
	*has = (kl.line[1] ? MEMBER_HAS_SIDE : 0) |
	       (kl.line[2] || kl.line[3] || kl.line[4] ? MEMBER_HAS_ADDRESS : 0);
	config_member_pack(m);
}

static void apply_round(ctx *c, camp_build *b, const raw_section *s, const char *id)
{
	coco_campaign *camp = b->c;
	const coco_round *dup = name_is_safe(id) ? config_find_round(camp, id) : NULL;
	if (dup)
		config_cerr(c, s->line, "duplicate round \"%s\": expected each id once (first at line %u)",
		     id, dup->line);
	if (!id_ok(c, "round", id, s->line) || dup) {
		coco_round scratch = {.id = xstrdup(id)};
		apply_entries(c, s->head, round_keys, ELEMENTSOF(round_keys), s, &scratch, NULL);
		config_round_done(&scratch);
		return;
	}
	camp->rounds = xrealloc(camp->rounds, (camp->n_rounds + 1) * sizeof(coco_round));
	b->round_kl = xrealloc(b->round_kl, (camp->n_rounds + 1) * sizeof(key_lines));
	coco_round *r = &camp->rounds[camp->n_rounds];
	key_lines *kl = &b->round_kl[camp->n_rounds++];
	*r = (coco_round){.id = xstrdup(id), .votes = 3, .line = s->line};
	*kl = (key_lines){0};
	apply_entries(c, s->head, round_keys, ELEMENTSOF(round_keys), s, r, kl);
}

static void apply_question(ctx *c, camp_build *b, const raw_section *s, const char *arg)
{
	const char *slash = strchr(arg, '/');
	_cleanup_free_ char *round_id = slash ? xstrndup(arg, (size_t)(slash - arg)) : NULL;
	pending_question pq = {.q = {.line = s->line}};
	if (!slash) {
		config_cerr(c, s->line, "[Question \"" VAL_FMT "\"]: expected [Question \"round/id\"]",
		     VAL_ARG(arg));
	} else if (id_ok(c, "round", round_id, s->line) &&
		   id_ok(c, "question", slash + 1, s->line)) {
		pq.round_id = TAKE_PTR(round_id);
		pq.q.id = xstrdup(slash + 1);
	}
	apply_entries(c, s->head, question_keys, ELEMENTSOF(question_keys), s, &pq.q, &pq.kl);
	if (!pq.round_id) {
		config_question_done(&pq.q);
		return;
	}
	b->qs = xrealloc(b->qs, (b->n_qs + 1) * sizeof(pending_question));
	b->qs[b->n_qs++] = pq;
}

void config_apply_campaign_section(ctx *c, void *data, const raw_section *s)
{
	camp_build *b = data;
	_cleanup_free_ char *name = NULL, *arg = NULL;
	if (!s->head)
		return;
	if (parse_head(s->head, &name, &arg) < 0) {
		config_cerr(c, s->line, "[" VAL_FMT "]: expected [Name] or [Name \"id\"]",
		     VAL_ARG(s->head));
		return;
	}
	bool wants_arg = STREQ(name, "Member") || STREQ(name, "Round") ||
	                 STREQ(name, "Question");
	if (!wants_arg && !STREQ(name, "Campaign") && !STREQ(name, "Digest")) {
		config_cerr(c, s->line, "unknown section [" VAL_FMT "]: expected [Campaign], "
		     "[Member \"id\"], [Round \"id\"], [Question \"round/id\"] or [Digest]",
		     VAL_ARG(s->head));
	} else if (wants_arg && !arg) {
		config_cerr(c, s->line, "[%s] without an id: expected [%s \"id\"]", name, name);
	} else if (!wants_arg && arg) {
		config_cerr(c, s->line, "[%s] takes no id: expected [%s]", name, name);
	} else if (STREQ(name, "Campaign")) {
		if (!b->campaign_line)
			b->campaign_line = s->line;
		apply_campaign_section(c, b, s);
	} else if (STREQ(name, "Digest")) {
		if (!b->c->digest.set)
			b->c->digest.line = s->line;
		b->c->digest.set = true;
		apply_entries(c, name, digest_keys, ELEMENTSOF(digest_keys), s,
		              &b->c->digest, &b->digest_kl);
	} else if (STREQ(name, "Member"))
		apply_member(c, b, s, arg);
	else if (STREQ(name, "Round"))
		apply_round(c, b, s, arg);
	else
		apply_question(c, b, s, arg);
}

void config_apply_campaign_done(ctx *c, camp_build *b)
{
	(void)c;
	coco_campaign *camp = b->c;
	/* Only the sections' checks need them. */
	b->member_ids = strmap_free(b->member_ids);
	b->member_emails = strmap_free(b->member_emails);
	/* The array grew by doubling while the file was read: up to half of it unused, at
	 * 20,000 members some 1 MiB held for the campaign's life. (member_has goes after the
	 * checks.) */
	if (camp->n_members && camp->n_members < b->cap_members) {
		camp->members = xrealloc(camp->members, camp->n_members * sizeof(coco_member));
		b->cap_members = camp->n_members;
	}
}
