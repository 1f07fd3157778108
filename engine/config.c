/* config: see config.h.
 *
 * This file owns the public API (enum strings, queries, config_free), the error list,
 * pass 3 and the loading of the files; what the three config*.c files share is in
 * config-private.h.
 *
 * Loading runs in three passes over each file:
 *   1. read (config-read.c): inih splits lines into sections and Key=Value entries. Our
 *      reader hands inih one line at a time, so it knows the line number of every entry
 *      (Debian's inih is built without INI_HANDLER_LINENO), sees section headers (inih has
 *      no callback for them) and lines inih would reject silently, and takes over lines
 *      longer than inih's fixed 200-byte buffer.
 *   2. apply (config-keys.c): each section's entries go through that section's key table.
 *   3. check (here): references between sections (audiences, vote sources, questions) and
 *      the rules that need the whole campaign.
 * Every problem is collected, sorted by file and line, and returned together. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config-private.h"
#include "strmap.h"
#include "util.h"

/* ---- enum tables ---- */

const char *const side_table[_SIDE_MAX] = {
	[SIDE_CLIENT] = "client",
	[SIDE_PROVIDER] = "provider",
};
const char *const round_kind_table[_ROUND_KIND_MAX] = {
	[ROUND_PROMPT] = "prompt",
	[ROUND_SURVEY] = "survey",
	[ROUND_VOTE] = "vote",
	[ROUND_ANNOUNCE] = "announce",
};
const char *const question_kind_table[_QUESTION_KIND_MAX] = {
	[QUESTION_SCALE] = "scale", [QUESTION_CHOICE] = "choice", [QUESTION_MULTI] = "multi",
	[QUESTION_TEXT] = "text",   [QUESTION_NPS] = "nps",
};

static const char *table_to_string(const char *const *t, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? t[v] : NULL;
}

int config_table_from_string(const char *const *t, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (STREQ(t[i], s))
			return (int)i;
	return -EINVAL;
}

const char *side_to_string(coco_side s)
{
	return table_to_string(side_table, ELEMENTSOF(side_table), s);
}
coco_side side_from_string(const char *s)
{
	return config_table_from_string(side_table, ELEMENTSOF(side_table), s);
}
const char *round_kind_to_string(round_kind k)
{
	return table_to_string(round_kind_table, ELEMENTSOF(round_kind_table), k);
}
round_kind round_kind_from_string(const char *s)
{
	return config_table_from_string(round_kind_table, ELEMENTSOF(round_kind_table), s);
}
const char *question_kind_to_string(question_kind k)
{
	return table_to_string(question_kind_table, ELEMENTSOF(question_kind_table), k);
}
question_kind question_kind_from_string(const char *s)
{
	return config_table_from_string(question_kind_table, ELEMENTSOF(question_kind_table), s);
}

/* ---- errors ---- */

void config_cerr(ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	c->errors = xrealloc(c->errors, (c->n_errors + 1) * sizeof(cerror));
	c->errors[c->n_errors] = (cerror){c->cur_file, line, c->n_errors, msg};
	c->n_errors++;
}

/* A key that was given counts as present even if its value was rejected, so that one
 * mistake gives one error, not a second "missing" one. */
static bool key_bad(const key_lines *kl, unsigned k)
{
	return kl->bad & (1u << k);
}

/* ---- lookups ---- */

bool config_member_in_audience(const coco_member *m, audience_kind a, char *const *ids, size_t n)
{
	switch (a) {
	case AUDIENCE_ALL: return true;
	case AUDIENCE_CLIENT: return m->side == SIDE_CLIENT;
	case AUDIENCE_PROVIDER: return m->side == SIDE_PROVIDER;
	default:
		for (size_t i = 0; i < n; i++)
			if (STREQ(ids[i], m->id))
				return true;
		return false;
	}
}

/* ---- freeing ---- */

void config_member_done(coco_member *m)
{
	if (m->block) {
		free(m->block);
		return;
	}
	free(m->id);
	free(m->name);
	strv_free(m->emails);
	strv_free(m->accept_from);
	free(m->slack_id);
	free(m->matrix_id);
	free(m->timezone);
}

void config_question_done(coco_question *q)
{
	free(q->id);
	free(q->text);
	free(q->min_label);
	free(q->max_label);
	strv_free(q->options);
}

void config_round_done(coco_round *r)
{
	free(r->id);
	free(r->title);
	free(r->text);
	free(r->repeat);
	free(r->remind);
	strv_free(r->audience_members);
	free(r->source);
	for (size_t i = 0; i < r->n_questions; i++)
		config_question_done(&r->questions[i]);
	free(r->questions);
}

static void campaign_done(coco_campaign *c)
{
	free(c->id);
	free(c->file);
	free(c->title);
	free(c->description);
	free(c->timezone);
	free(c->client_name);
	free(c->provider_name);
	for (size_t i = 0; i < c->n_members; i++)
		config_member_done(&c->members[i]);
	free(c->members);
	campaign_index_free(c);
	for (size_t i = 0; i < c->n_rounds; i++)
		config_round_done(&c->rounds[i]);
	free(c->rounds);
	free(c->digest.repeat);
	strv_free(c->digest.members);
	for (size_t i = 0; i < c->n_settings; i++) {
		free(c->settings[i].section);
		free(c->settings[i].key);
		free(c->settings[i].value);
	}
	free(c->settings);
}

coco_config *config_free(coco_config *c)
{
	if (!c)
		return NULL;
	free(c->dir);
	free(c->state_dir);
	free(c->control_socket);
	free(c->control_group);
	free(c->listen);
	strv_free(c->connectors);
	free(c->secrets_dir);
	for (size_t i = 0; i < c->n_settings; i++) {
		free(c->settings[i].section);
		free(c->settings[i].key);
		free(c->settings[i].value);
	}
	free(c->settings);
	for (size_t i = 0; i < c->n_campaigns; i++)
		campaign_done(&c->campaigns[i]);
	free(c->campaigns);
	free(c);
	return NULL;
}

void config_freep(coco_config **c)
{
	*c = config_free(*c);
}

/* ---- lookups ---- */

coco_member *config_find_member(const coco_campaign *c, const char *id)
{
	for (size_t i = 0; i < c->n_members; i++)
		if (STREQ(c->members[i].id, id))
			return &c->members[i];
	return NULL;
}

coco_round *config_find_round(const coco_campaign *c, const char *id)
{
	for (size_t i = 0; i < c->n_rounds; i++)
		if (STREQ(c->rounds[i].id, id))
			return &c->rounds[i];
	return NULL;
}

/* ---- pass 3: the whole campaign ---- */

static int localtime_cmp(const coco_localtime *a, const coco_localtime *b)
{
	const int x[] = {a->year, a->month, a->day, a->hour, a->minute};
	const int y[] = {b->year, b->month, b->day, b->hour, b->minute};
	for (size_t i = 0; i < ELEMENTSOF(x); i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static void check_audience(ctx *c, const coco_campaign *camp, const char *key, char **ids,
                           unsigned line)
{
	for (char **p = ids; p && *p; p++)
		if (!config_find_member(camp, *p))
			config_cerr(c, line, "%s= names unknown member \"%s\": expected the id of a "
			     "[Member \"id\"] section", key, *p);
}

static void attach_question(ctx *c, camp_build *b, pending_question *pq)
{
	coco_question *q = &pq->q;
	coco_round *r = config_find_round(b->c, pq->round_id);
	bool ok = true;

	if (!pq->kl.line[Q_KEY_TEXT]) {
		config_cerr(c, q->line, "question \"%s/%s\" has no Text=: expected the question",
		     pq->round_id, q->id);
		ok = false;
	}
	if (!pq->kl.line[Q_KEY_KIND]) {
		config_cerr(c, q->line, "question \"%s/%s\" has no Kind=: expected Kind=scale, choice, "
		     "multi, text or nps", pq->round_id, q->id);
		ok = false;
	} else if (key_bad(&pq->kl, Q_KEY_KIND)) {
		ok = false;
	} else if (q->kind == QUESTION_SCALE) {
		if (!pq->kl.line[Q_KEY_MIN])
			q->min = 1;
		if (!pq->kl.line[Q_KEY_MAX])
			q->max = 5;
		if (!key_bad(&pq->kl, Q_KEY_MIN) && !key_bad(&pq->kl, Q_KEY_MAX) &&
		    q->min >= q->max) {
			config_cerr(c, q->line, "question \"%s/%s\" has Min=%ld and Max=%ld: expected Min "
			     "below Max", pq->round_id, q->id, q->min, q->max);
			ok = false;
		}
	} else if (q->kind == QUESTION_NPS) {
		unsigned line =
		    pq->kl.line[Q_KEY_MIN] ? pq->kl.line[Q_KEY_MIN] : pq->kl.line[Q_KEY_MAX];
		if (line && !(q->min == 0 && q->max == 10)) {
			config_cerr(c, line, "nps questions run from 0 to 10: expected no Min=/Max=");
			ok = false;
		}
		q->min = 0;
		q->max = 10;
	} else if (pq->kl.line[Q_KEY_MIN] || pq->kl.line[Q_KEY_MAX]) {
		config_cerr(c, pq->kl.line[Q_KEY_MIN] ? pq->kl.line[Q_KEY_MIN] : pq->kl.line[Q_KEY_MAX],
		     "Min=/Max= are for scale questions: expected Kind=scale");
		ok = false;
	}
	bool kind_ok = pq->kl.line[Q_KEY_KIND] && !key_bad(&pq->kl, Q_KEY_KIND);
	bool wants_options = q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI;
	if (!kind_ok)
		;
	else if (wants_options && !key_bad(&pq->kl, Q_KEY_OPTIONS) &&
	    q->n_options < 2) {
		config_cerr(c, q->line,
		     "%s question \"%s/%s\" has %zu option%s: expected Options= with at "
		     "least two, separated by |",
		     question_kind_to_string(q->kind), pq->round_id, q->id, q->n_options,
		     q->n_options == 1 ? "" : "s");
		ok = false;
	} else if (!wants_options && q->n_options) {
		config_cerr(c, pq->kl.line[Q_KEY_OPTIONS], "Options= is for choice and multi questions: "
		     "expected Kind=choice or Kind=multi");
		ok = false;
	}

	if (!r) {
		config_cerr(c, q->line, "question for unknown round \"%s\": expected a [Round \"%s\"] "
		     "section", pq->round_id, pq->round_id);
		ok = false;
	} else if (!b->round_kl[r - b->c->rounds].line[ROUND_KEY_KIND] ||
	           key_bad(&b->round_kl[r - b->c->rounds], ROUND_KEY_KIND)) {
		ok = false; /* the round's kind is already reported */
	} else if (r->kind != ROUND_SURVEY) {
		config_cerr(c, q->line, "question on %s round \"%s\": expected questions on survey rounds "
		     "only", round_kind_to_string(r->kind), r->id);
		ok = false;
	} else
		for (size_t i = 0; i < r->n_questions; i++)
			if (STREQ(r->questions[i].id, q->id)) {
				config_cerr(c, q->line,
				     "duplicate question \"%s/%s\": expected each id once "
				     "(first at line %u)",
				     r->id, q->id, r->questions[i].line);
				ok = false;
			}
	if (!ok) {
		config_question_done(q);
		return;
	}
	r->questions = xrealloc(r->questions, (r->n_questions + 1) * sizeof(coco_question));
	r->questions[r->n_questions++] = *q;
}

/* Whether any [Question "round/…"] section names the round, kept or rejected: a question
 * that was refused (and reported) still counts as given, so that a survey whose only
 * question is invalid gets that one error, not a second "no questions" one. */
static bool round_has_question_section(const camp_build *b, const char *round_id)
{
	for (size_t i = 0; i < b->n_qs; i++)
		if (STREQ(b->qs[i].round_id, round_id))
			return true;
	return false;
}

static void check_round(ctx *c, camp_build *b, coco_round *r, const key_lines *kl)
{
	const coco_campaign *camp = b->c;
	if (!r->title)
		r->title = xstrdup(r->id);
	if (!kl->line[ROUND_KEY_MAXREM])
		r->max_reminders = (unsigned)r->n_remind;
	if (r->audience == AUDIENCE_MEMBERS)
		check_audience(c, camp, "Audience", r->audience_members,
			       kl->line[ROUND_KEY_AUDIENCE]);
	if (kl->line[ROUND_KEY_REPEAT] && !kl->line[ROUND_KEY_OPEN])
		config_cerr(c, r->line, "round \"%s\" repeats but has no Open=: expected Open= for the "
		     "first occurrence", r->id);
	if (r->close.set && r->duration)
		config_cerr(c, kl->line[ROUND_KEY_CLOSE], "round \"%s\" has both Close= and Duration=: "
		     "expected one of them", r->id);
	else if (r->close.set && r->repeat)
		config_cerr(c, kl->line[ROUND_KEY_CLOSE], "Close= is a single date: expected Duration= "
		     "on a repeating round");
	else if (r->close.set && r->open.set && localtime_cmp(&r->close, &r->open) <= 0)
		config_cerr(c, kl->line[ROUND_KEY_CLOSE], "Close= is not after Open=: expected a later "
		     "date");
	if (!kl->line[ROUND_KEY_KIND]) {
		config_cerr(c, r->line, "round \"%s\" has no Kind=: expected Kind=prompt, survey, vote or "
		     "announce", r->id);
		return;
	}
	if (key_bad(kl, ROUND_KEY_KIND))
		return; /* the kind-specific rules would only guess */
	if (r->kind != ROUND_ANNOUNCE && !kl->line[ROUND_KEY_CLOSE] &&
	    !kl->line[ROUND_KEY_DURATION])
		config_cerr(c, r->line, "round \"%s\" has neither Close= nor Duration=: expected one of "
		     "them", r->id);
	if (r->kind == ROUND_VOTE && !r->source)
		config_cerr(c, r->line, "vote round \"%s\" has no Source=: expected the id of a prompt "
		     "round", r->id);
	else if (r->kind == ROUND_VOTE) {
		const coco_round *src = config_find_round(camp, r->source);
		const key_lines *skl = src ? &b->round_kl[src - camp->rounds] : NULL;
		if (skl && (!skl->line[ROUND_KEY_KIND] || key_bad(skl, ROUND_KEY_KIND)))
			; /* the source's kind is already reported */
		else if (!src)
			config_cerr(c, kl->line[ROUND_KEY_SOURCE], "Source=%s names unknown round "
			     "\"%s\": expected the id of a [Round] with Kind=prompt", r->source,
			     r->source);
		else if (src->kind != ROUND_PROMPT)
			config_cerr(c, kl->line[ROUND_KEY_SOURCE], "Source=%s is not a prompt round: "
			     "expected the id of a [Round] with Kind=prompt", r->source);
	} else if (r->source)
		config_cerr(c, kl->line[ROUND_KEY_SOURCE], "Source= is for vote rounds: expected "
		     "Kind=vote");
	if (r->kind == ROUND_SURVEY && r->n_questions == 0 && !round_has_question_section(b, r->id))
		config_cerr(c, r->line, "survey round \"%s\" has no questions: expected "
		     "[Question \"%s/id\"] sections", r->id, r->id);
}

/* Where member_pack() puts the next string. */
static char *pack_str(char **at, const char *s)
{
	if (!s)
		return NULL;
	char *p = *at;
	size_t n = strlen(s) + 1;
	memcpy(p, s, n);
	*at += n;
	return p;
}

static char **pack_strv(char ***slots, char **at, char *const *v, size_t n)
{
	if (!v)
		return NULL;
	char **r = *slots;
	for (size_t i = 0; i < n; i++)
		*(*slots)++ = pack_str(at, v[i]);
	*(*slots)++ = NULL;
	return r;
}

/* Moves a member's strings into one allocation: a member had six or more allocations of a
 * few bytes each, some 200 bytes with malloc's overhead and rounding, which at 20,000
 * members was 4 MiB. Done as each member's section has been applied, so that the separate
 * strings of all the members are never held at once. */
void config_member_pack(coco_member *m)
{
	size_t n_accept = strv_length(m->accept_from);
	size_t n_ptr = (m->emails ? m->n_emails + 1 : 0) + (m->accept_from ? n_accept + 1 : 0);
	size_t size = n_ptr * sizeof(char *);
	const char *one[] = {m->id, m->name, m->timezone, m->slack_id, m->matrix_id};
	for (size_t i = 0; i < ELEMENTSOF(one); i++)
		size += one[i] ? strlen(one[i]) + 1 : 0;
	for (size_t i = 0; i < m->n_emails; i++)
		size += strlen(m->emails[i]) + 1;
	for (size_t i = 0; i < n_accept; i++)
		size += strlen(m->accept_from[i]) + 1;
	char **slots = xmalloc(size ? size : 1);
	char *at = (char *)(slots + n_ptr);
	coco_member p = *m;
	p.block = slots;
	p.emails = pack_strv(&slots, &at, m->emails, m->n_emails);
	p.accept_from = pack_strv(&slots, &at, m->accept_from, n_accept);
	p.id = pack_str(&at, m->id);
	p.name = pack_str(&at, m->name);
	p.timezone = pack_str(&at, m->timezone);
	p.slack_id = pack_str(&at, m->slack_id);
	p.matrix_id = pack_str(&at, m->matrix_id);
	config_member_done(m);
	*m = p;
}

static void check_campaign(ctx *c, camp_build *b, const char *stem)
{
	coco_campaign *camp = b->c;
	if (!camp->id) {
		if (name_is_safe(stem))
			camp->id = xstrdup(stem);
		else
			config_cerr(c, b->campaign_line ? b->campaign_line : 1, "file name \"" VAL_FMT
			     "\" is no campaign id: expected Id= in [Campaign]", VAL_ARG(stem));
	}
	if (!camp->timezone)
		camp->timezone = xstrdup("UTC");

	for (size_t i = 0; i < camp->n_members; i++) {
		coco_member *m = &camp->members[i];
		if (!(b->member_has[i] & MEMBER_HAS_SIDE))
			config_cerr(c, m->line, "member %s is on no side: expected Side=client or "
			     "Side=provider", m->id);
		if (!(b->member_has[i] & MEMBER_HAS_ADDRESS))
			config_cerr(c, m->line, "member %s cannot be reached: expected Email=, Slack= or "
			     "Matrix=", m->id);
		/* Defaults: a packed member's Name= is its id, its zone the campaign's (the
		 * campaign's string: the block is all it frees). */
		if (!m->name)
			m->name = m->block ? m->id : xstrdup(m->id);
		if (!m->timezone)
			m->timezone = m->block ? camp->timezone : xstrdup(camp->timezone);
	}

	for (size_t i = 0; i < b->n_qs; i++)
		attach_question(c, b, &b->qs[i]);

	const coco_localtime *first = NULL;
	bool open_rejected = false; /* an Open= was given but its value reported as bad */
	for (size_t i = 0; i < camp->n_rounds; i++) {
		open_rejected |= key_bad(&b->round_kl[i], ROUND_KEY_OPEN);
		coco_round *r = &camp->rounds[i];
		const key_lines *kl = &b->round_kl[i];
		r->open_line = kl->line[ROUND_KEY_OPEN];
		r->close_line = kl->line[ROUND_KEY_CLOSE];
		r->duration_line = kl->line[ROUND_KEY_DURATION];
		r->repeat_line = kl->line[ROUND_KEY_REPEAT];
		r->remind_line = kl->line[ROUND_KEY_REMIND];
		r->source_line = kl->line[ROUND_KEY_SOURCE];
		check_round(c, b, &camp->rounds[i], &b->round_kl[i]);
		if (camp->rounds[i].open.set &&
		    (!first || localtime_cmp(&camp->rounds[i].open, first) < 0))
			first = &camp->rounds[i].open;
	}
	/* The round ids of the question sections were kept for check_round(). */
	for (size_t i = 0; i < b->n_qs; i++)
		free(b->qs[i].round_id);
	free(TAKE_PTR(b->qs));
	b->n_qs = 0;

	coco_digest *d = &camp->digest;
	d->repeat_line = b->digest_kl.line[DIGEST_KEY_REPEAT];
	d->start_line = b->digest_kl.line[DIGEST_KEY_START];
	if (d->audience == AUDIENCE_MEMBERS)
		check_audience(c, camp, "Recipients", d->members,
			       b->digest_kl.line[DIGEST_KEY_RECIPIENTS]);
	if (!d->start.set && first)
		d->start = *first;
	/* After a bad Open= date, "no round has Open=" would only repeat that error. */
	if (d->repeat && !d->start.set && !open_rejected)
		config_cerr(c, d->line, "[Digest] repeats but no round has Open=: expected Start=");
}

/* ---- loading ---- */

static size_t add_file(ctx *c, char *path)
{
	c->files = xrealloc(c->files, (c->n_files + 1) * sizeof(char *));
	c->files[c->n_files] = path;
	return c->cur_file = c->n_files++;
}

static void load_campaign(ctx *c, const char *path, const char *stem)
{
	add_file(c, xstrdup(path));
	coco_campaign camp = {.file = xstrdup(path), .quiet_start = -1, .quiet_end = -1,
	                      .digest = {.on_close = true}};
	camp_build b = {.c = &camp};
	c->camp = &b;
	/* Each section is applied as soon as it is read, so that the file's raw sections are
	 * never all held at once (at 20,000 members they were 6 MiB of the start's peak). */
	if (config_read_each_section(c, path, config_apply_campaign_section, &b) < 0) {
		c->camp = NULL;
		free(b.member_has);
		free(b.round_kl);
		strmap_free(b.member_ids);
		strmap_free(b.member_emails);
		for (size_t i = 0; i < b.n_qs; i++) {
			free(b.qs[i].round_id);
			config_question_done(&b.qs[i].q);
		}
		free(b.qs);
		campaign_done(&camp);
		return;
	}
	config_apply_campaign_done(c, &b);
	check_campaign(c, &b, stem);
	c->camp = NULL;

	for (size_t i = 0; camp.id && i < c->cfg->n_campaigns; i++)
		if (STREQ(c->cfg->campaigns[i].id, camp.id)) {
			unsigned line = b.camp_kl.line[0] ? b.camp_kl.line[0] :
			                b.campaign_line ? b.campaign_line : 1;
			config_cerr(c, line, "duplicate campaign id \"%s\" (also in %s): expected each "
			     "campaign id once", camp.id, c->cfg->campaigns[i].file);
		}
	free(b.member_has);
	free(b.round_kl);
	strmap_free(b.member_ids);
	strmap_free(b.member_emails);
	coco_config *cfg = c->cfg;
	cfg->campaigns = xrealloc(cfg->campaigns, (cfg->n_campaigns + 1) * sizeof(coco_campaign));
	cfg->campaigns[cfg->n_campaigns++] = camp;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_campaigns(ctx *c, const char *dir)
{
	_cleanup_free_ char *cdir = xasprintf("%s/campaigns.d", dir);
	DIR *d = opendir(cdir);
	if (!d) {
		if (errno != ENOENT) {
			add_file(c, xstrdup(cdir));
			config_cerr(c, 0, "cannot read: %s", strerror(errno));
		}
		return;
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= 5 || !STREQ(de->d_name + n - 5, ".conf"))
			continue;
		strv_push(&names, xstrdup(de->d_name));
	}
	closedir(d);
	size_t n = strv_length(names);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", cdir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		_cleanup_free_ char *stem = xstrndup(names[i], strlen(names[i]) - 5);
		load_campaign(c, path, stem);
	}
	strv_free(names);
}

static void main_defaults(ctx *c)
{
	coco_config *cfg = c->cfg;
	if (!cfg->state_dir)
		cfg->state_dir = xstrdup("/var/lib/coco");
	if (!cfg->control_socket)
		cfg->control_socket = xstrdup(CONFIG_DEFAULT_CONTROL_SOCKET);
	cfg->listen_explicit = cfg->listen != NULL;
	if (!cfg->listen)
		cfg->listen = xstrdup("127.0.0.1:8470");
	if (!cfg->connectors && config_default_channel()) {
		strv_push(&cfg->connectors, xstrdup(config_default_channel()));
		cfg->n_connectors = 1;
	}
	/* What a running channel cannot do without. */
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const config_channel_def *ch = config_channel_find(cfg->connectors[i]);
		for (const config_section_def *const *s = ch ? ch->sections : NULL; s && *s; s++)
			for (size_t k = 0; k < (*s)->n_keys; k++)
				if ((*s)->keys[k].required &&
				    !config_get(cfg, (*s)->name, (*s)->keys[k].name))
					config_cerr(c, c->connectors_line,
					     "Connectors=%s needs %s= in [%s]", cfg->connectors[i],
					     (*s)->keys[k].name, (*s)->name);
	}
}

static int cmp_error(const void *a, const void *b)
{
	const cerror *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int load(const char *dir, bool campaigns, coco_config **ret, char ***ret_errors)
{
	ctx c = {.cfg = xcalloc(1, sizeof(coco_config))};
	c.cfg->dir = xstrdup(dir);

	char *main_path = xasprintf("%s/coco.conf", dir);
	add_file(&c, main_path);
	raw_section *secs = NULL;
	size_t n = 0;
	if (config_read_sections(&c, main_path, &secs, &n) >= 0) {
		config_apply_main(&c, secs, n);
		config_raw_sections_free(secs, n);
	}
	main_defaults(&c);
	if (campaigns)
		load_campaigns(&c, dir);

	char **errors = NULL;
	if (c.n_errors)
		qsort(c.errors, c.n_errors, sizeof(cerror), cmp_error);
	for (size_t i = 0; i < c.n_errors; i++) {
		const cerror *e = &c.errors[i];
		strv_push(&errors, e->line
				       ? xasprintf("%s:%u: %s", c.files[e->file], e->line, e->msg)
				       : xasprintf("%s: %s", c.files[e->file], e->msg));
		free(e->msg);
	}
	free(c.errors);
	for (size_t i = 0; i < c.n_files; i++)
		free(c.files[i]);
	free(c.files);

	if (errors) {
		config_free(c.cfg);
		if (ret_errors)
			*ret_errors = errors;
		else
			strv_free(errors);
		return -EINVAL;
	}
	for (size_t i = 0; i < c.cfg->n_campaigns; i++)
		campaign_index_members(&c.cfg->campaigns[i]);
	if (ret_errors)
		*ret_errors = NULL;
	*ret = c.cfg;
	return 0;
}

int config_load(const char *dir, coco_config **ret, char ***ret_errors)
{
	return load(dir, true, ret, ret_errors);
}

int config_load_main(const char *dir, coco_config **ret, char ***ret_errors)
{
	return load(dir, false, ret, ret_errors);
}

/* ---- queries ---- */

char *config_summary(const coco_config *c)
{
	size_t members = 0, rounds = 0, questions = 0;
	for (size_t i = 0; i < c->n_campaigns; i++) {
		members += c->campaigns[i].n_members;
		rounds += c->campaigns[i].n_rounds;
		for (size_t j = 0; j < c->campaigns[i].n_rounds; j++)
			questions += c->campaigns[i].rounds[j].n_questions;
	}
#define PL(n) (n), (n) == 1 ? "" : "s"
	return xasprintf("%zu campaign%s, %zu member%s, %zu round%s, %zu question%s",
	                 PL(c->n_campaigns), PL(members), PL(rounds), PL(questions));
#undef PL
}

const coco_campaign *config_find_campaign(const coco_config *c, const char *id)
{
	for (size_t i = 0; c && id && i < c->n_campaigns; i++)
		if (STREQ(c->campaigns[i].id, id))
			return &c->campaigns[i];
	return NULL;
}

const coco_round *campaign_find_round(const coco_campaign *c, const char *id)
{
	return c && id ? config_find_round(c, id) : NULL;
}

/* ---- the member index: ids in sorted order, searched by halves ---- */

static const coco_member *index_members_base; /* qsort has no user pointer */

static int cmp_member_order(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int k = strcmp(index_members_base[x].id, index_members_base[y].id);
	return k ? k : (x > y) - (x < y); /* equal ids (a config with errors): file order */
}

void campaign_index_free(coco_campaign *c)
{
	free(c->member_order);
	c->member_order = NULL;
	c->n_member_order = 0;
	c->member_order_of = NULL;
	free(c->member_by_address);
	c->member_by_address = NULL;
}

/* The address index: an open-addressing table of (member's place, which of its addresses),
 * hashed by the address, with no copy of any address: a lookup compares with the member's
 * own. A key is 'e' and an email compared as strcasecmp() does in the C locale (ASCII
 * letters folded), or 'x' and a Slack or Matrix id as it is. It was a strmap of copies of
 * the keys: at 20,000 members 1.2 MiB; this is 4 bytes a slot, 256 KiB. */
#define ADDR_BITS 7              /* which address: an email's place (< 64), or: */
#define ADDR_SLACK 64
#define ADDR_MATRIX 65
#define ADDR_MEMBERS_MAX ((UINT32_MAX >> ADDR_BITS) - 1)

struct member_address_index {
	size_t mask;
	uint32_t slot[]; /* (member's place + 1) << ADDR_BITS | address; 0: free */
};

static char fold(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static uint64_t address_hash(char kind, const char *address)
{
	uint64_t h = (1469598103934665603ULL ^ (unsigned char)kind) * 1099511628211ULL;
	for (const char *p = address; *p; p++)
		h = (h ^ (unsigned char)(kind == 'e' ? fold(*p) : *p)) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static const char *slot_address(const coco_campaign *c, uint32_t s, char *ret_kind)
{
	const coco_member *m = &c->members[(s >> ADDR_BITS) - 1];
	unsigned a = s & ((1u << ADDR_BITS) - 1);
	*ret_kind = a < ADDR_SLACK ? 'e' : 'x';
	return a < ADDR_SLACK ? m->emails[a] : a == ADDR_SLACK ? m->slack_id : m->matrix_id;
}

static bool address_equal(char kind, const char *a, const char *b)
{
	if (kind != 'e')
		return STREQ(a, b);
	for (; *a && fold(*a) == fold(*b); a++, b++)
		;
	return fold(*a) == fold(*b);
}

/* The slot holding the key, or the free slot where it would go. */
static uint32_t *address_slot(const coco_campaign *c, member_address_index *ix, char kind,
                              const char *address)
{
	for (size_t i = address_hash(kind, address) & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t *s = &ix->slot[i];
		char k;
		if (!*s)
			return s;
		const char *have = slot_address(c, *s, &k);
		if (k == kind && address_equal(kind, have, address))
			return s;
	}
}

/* The first member with the key keeps it. */
static void address_index_put(coco_campaign *c, char kind, const char *address, size_t i,
                              unsigned which)
{
	if (!address)
		return;
	uint32_t *s = address_slot(c, c->member_by_address, kind, address);
	if (!*s)
		*s = (uint32_t)(i + 1) << ADDR_BITS | which;
}

static size_t address_index_get(const coco_campaign *c, char kind, const char *address)
{
	uint32_t s = *address_slot(c, c->member_by_address, kind, address);
	return s >> ADDR_BITS; /* 0: none */
}

void campaign_index_members(coco_campaign *c)
{
	campaign_index_free(c);
	if (!c->n_members)
		return;
	for (size_t i = 0; i < c->n_members; i++)
		if (!c->members[i].id)
			return; /* half-built: the scan copes */
	c->member_order = xmalloc(c->n_members * sizeof(size_t));
	for (size_t i = 0; i < c->n_members; i++)
		c->member_order[i] = i;
	index_members_base = c->members;
	qsort(c->member_order, c->n_members, sizeof(size_t), cmp_member_order);
	index_members_base = NULL;
	c->n_member_order = c->n_members;
	c->member_order_of = c->members;
	size_t n = 0;
	for (size_t i = 0; i < c->n_members; i++) {
		const coco_member *m = &c->members[i];
		if (m->n_emails > ADDR_SLACK)
			return; /* more than the loader takes: the scan copes */
		n += m->n_emails + (m->slack_id != NULL) + (m->matrix_id != NULL);
	}
	if (c->n_members > ADDR_MEMBERS_MAX)
		return;
	size_t cap = 16;
	while (cap * 3 < n * 4) /* at most 75 % full */
		cap *= 2;
	c->member_by_address = xcalloc(1, sizeof(member_address_index) + cap * sizeof(uint32_t));
	c->member_by_address->mask = cap - 1;
	for (size_t i = 0; i < c->n_members; i++) {
		const coco_member *m = &c->members[i];
		for (size_t e = 0; e < m->n_emails; e++)
			address_index_put(c, 'e', m->emails[e], i, (unsigned)e);
		address_index_put(c, 'x', m->slack_id, i, ADDR_SLACK);
		address_index_put(c, 'x', m->matrix_id, i, ADDR_MATRIX);
	}
}

const coco_member *campaign_find_member_by_address(const coco_campaign *c, const char *address)
{
	if (!c || !address)
		return NULL;
	if (!c->member_by_address || c->n_member_order != c->n_members ||
	    c->member_order_of != c->members) {
		for (size_t i = 0; i < c->n_members; i++)
			if (config_member_has_address(&c->members[i], address))
				return &c->members[i];
		return NULL;
	}
	/* An address could be one member's email and another's id: the first in file order. */
	size_t e = address_index_get(c, 'e', address);
	size_t x = address_index_get(c, 'x', address);
	size_t first = !e ? x : !x ? e : e < x ? e : x;
	return first ? &c->members[first - 1] : NULL;
}

const coco_member *campaign_find_member(const coco_campaign *c, const char *id)
{
	if (!c || !id)
		return NULL;
	if (!c->member_order || c->n_member_order != c->n_members ||
	    c->member_order_of != c->members)
		return config_find_member(c, id);
	/* The first of equal ids, as the scan finds it. */
	size_t lo = 0, hi = c->n_member_order;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c->members[c->member_order[mid]].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->n_member_order && STREQ(c->members[c->member_order[lo]].id, id))
		return &c->members[c->member_order[lo]];
	return NULL;
}

const char *config_campaign_get(const coco_campaign *camp, const char *key)
{
	for (size_t i = 0; camp && i < camp->n_settings; i++)
		if (STREQ(camp->settings[i].key, key))
			return camp->settings[i].value;
	return NULL;
}

const char *config_get(const coco_config *c, const char *section, const char *key)
{
	for (size_t i = 0; c && i < c->n_settings; i++)
		if (STREQ(c->settings[i].section, section) && STREQ(c->settings[i].key, key))
			return c->settings[i].value;
	return NULL;
}

bool config_get_bool(const coco_config *c, const char *section, const char *key, bool def)
{
	const char *v = config_get(c, section, key);
	bool b;
	return v && parse_bool(v, &b) >= 0 ? b : def;
}

const char *config_member_address(const coco_member *m, const char *kind)
{
	if (!m || !kind)
		return NULL;
	if (STREQ(kind, "email"))
		return m->n_emails > 0 ? m->emails[0] : NULL;
	if (STREQ(kind, "slack"))
		return m->slack_id;
	if (STREQ(kind, "matrix"))
		return m->matrix_id;
	return NULL;
}

char *config_member_first_name(const coco_member *m)
{
	const char *name = m->name ? m->name : m->id;
	size_t n = strcspn(name, " \t");
	if (n == 0 || name[n - 1] == '.')
		return xstrdup(name);
	return xstrndup(name, n);
}

bool config_member_has_address(const coco_member *m, const char *address)
{
	if (!m || !address)
		return false;
	for (size_t i = 0; i < m->n_emails; i++)
		if (strcasecmp(m->emails[i], address) == 0)
			return true;
	return (m->slack_id && STREQ(m->slack_id, address)) ||
	       (m->matrix_id && STREQ(m->matrix_id, address));
}

bool config_has_connector(const coco_config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_connectors; i++)
		if (STREQ(c->connectors[i], name))
			return true;
	return false;
}
