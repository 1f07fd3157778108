/* web-pages: the data of the web view's pages (campaign index, an occurrence's figures with
 * SVG bar geometry, the answer form prefilled with the member's current answers) and the
 * form's fields turned into the answer grammar. Reads the store, never writes it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "digest.h"
#include "export.h"
#include "template.h"
#include "util.h"
#include "web-private.h"

#define BAR_MAX 200 /* px of the longest bar */
#define BAR_X 120   /* where bars start, after their labels */
#define BAR_STEP 22

/* ---- forms ---- */

static int hexval(int ch)
{
	return isdigit(ch) ? ch - '0' : isxdigit(ch) ? (tolower(ch) - 'a' + 10) : -1;
}

static char *form_decode(const char *s, size_t n)
{
	strbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			strbuf_putc(&b, ' ');
		else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		         hexval((unsigned char)s[i + 2]) >= 0) {
			char ch = (char)(hexval((unsigned char)s[i + 1]) * 16 +
			                 hexval((unsigned char)s[i + 2]));
			strbuf_putc(&b, ch ? ch : ' '); /* no NUL inside a C string */
			i += 2;
		} else
			strbuf_putc(&b, s[i]);
	}
	return strbuf_steal(&b);
}

int web_form_parse(const char *body, size_t len, web_form *ret)
{
	web_form f = {0};
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && body[j] != '&')
			j++;
		const char *eq = memchr(body + i, '=', j - i);
		if (j > i) {
			if (f.n >= 1000) {
				web_form_done(&f);
				return -E2BIG;
			}
			size_t nl = eq ? (size_t)(eq - (body + i)) : j - i;
			f.names = xrealloc(f.names, (f.n + 1) * sizeof *f.names);
			f.values = xrealloc(f.values, (f.n + 1) * sizeof *f.values);
			f.names[f.n] = form_decode(body + i, nl);
			f.values[f.n] = eq ? form_decode(eq + 1, (size_t)(body + j - eq - 1)) : xstrdup("");
			f.n++;
		}
		i = j + 1;
	}
	*ret = f;
	return 0;
}

void web_form_done(web_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->names[i]);
		free(f->values[i]);
	}
	free(f->names);
	free(f->values);
	*f = (web_form){0};
}

const char *web_form_get(const web_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (STREQ(f->names[i], name))
			return f->values[i];
	return NULL;
}

/* ---- state ---- */

static cJSON *read_state(channel *c, const coco_campaign *camp)
{
	_cleanup_free_ char *path = xasprintf("campaigns/%s/state.json", camp->id), *text = NULL;
	size_t len;
	if (store_read(c->st, path, 4 * 1024 * 1024, &text, &len) < 0)
		return NULL;
	return cJSON_ParseWithLength(text, len);
}

static char *str_dup_or_null(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && name_is_safe(v->valuestring) ? xstrdup(v->valuestring) : NULL;
}

void web_round_state(channel *c, const coco_campaign *camp, const coco_round *r,
                     char **ret_state, char **ret_occurrence, char **ret_ballot)
{
	cJSON *st = read_state(c, camp);
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(st, "rounds"), r->id);
	if (ret_state) {
		char *s = str_dup_or_null(rt, "state");
		*ret_state = s ? s : xstrdup("scheduled");
	}
	if (ret_occurrence)
		*ret_occurrence = str_dup_or_null(rt, "occurrence");
	if (ret_ballot)
		*ret_ballot = str_dup_or_null(rt, "ballot");
	cJSON_Delete(st);
}

bool web_member_asked(const coco_round *r, const coco_member *mb)
{
	return r->kind != ROUND_ANNOUNCE &&
	       config_member_in_audience(mb, r->audience, r->audience_members,
	                                 r->n_audience_members);
}

int web_render(channel *c, const char *name, const cJSON *data, char **ret_html)
{
	_cleanup_free_ char *text = NULL, *err = NULL;
	int r = template_dirs_partial(name, &text, c->dirs);
	if (r < 0)
		return log_error_errno(r, "web: no template web/%s: %m", name);
	r = template_render(name, text, data, template_dirs_partial, c->dirs, ret_html, &err);
	if (r < 0)
		log_error("web: %s", err ? err : "template error");
	return r;
}

/* ---- figures ---- */

char **web_ballot(channel *c, const coco_campaign *camp, const coco_round *r)
{
	if (r->kind != ROUND_VOTE || !r->source)
		return NULL;
	_cleanup_free_ char *src = NULL;
	web_round_state(c, camp, r, NULL, NULL, &src);
	char **ideas = NULL;
	if (src && digest_collect_ideas(c->st, camp->id, r->source, src, &ideas) < 0)
		ideas = NULL;
	return ideas;
}

static int compute(channel *c, const coco_campaign *camp, const coco_round *r, const char *occ,
                   digest **ret)
{
	char **ballot = web_ballot(c, camp, r);
	/* An occurrence still open: its progress only, as in the digests (docs/digest.md). */
	_cleanup_free_ char *state = NULL, *cur = NULL;
	web_round_state(c, camp, r, &state, &cur, NULL);
	digest_input in = {
		.store = c->st,
		.campaign = camp,
		.round = r,
		.occurrence = occ,
		.idea_texts = (const char *const *)ballot,
		.n_ideas = strv_length(ballot),
		.now = clock_now(),
		.in_progress = cur && STREQ(cur, occ) && STREQ(state, "open"),
	};
	int k = digest_compute(&in, ret);
	strv_free(ballot);
	return k;
}

static void add_bar_geometry(cJSON *o, size_t i, double value, double max)
{
	int w = max > 0 ? (int)(value * BAR_MAX / max + 0.5) : 0;
	int y = (int)i * BAR_STEP;
	cJSON_AddNumberToObject(o, "y", y);
	cJSON_AddNumberToObject(o, "ty", y + 14);
	cJSON_AddNumberToObject(o, "w", w);
	cJSON_AddNumberToObject(o, "tx", BAR_X + w + 6);
	cJSON_AddNumberToObject(o, "x", BAR_X);
}

/* Each side's participation as a bar: answered of total. */
static void chart_sides(cJSON *participation)
{
	cJSON *s, *sides = cJSON_GetObjectItemCaseSensitive(participation, "sides");
	size_t i = 0;
	cJSON_ArrayForEach(s, sides)
	{
		double a = cJSON_GetNumberValue(cJSON_GetObjectItem(s, "answered"));
		double t = cJSON_GetNumberValue(cJSON_GetObjectItem(s, "total"));
		add_bar_geometry(s, i++, a, t);
	}
	cJSON_AddNumberToObject(participation, "svg_h", (double)(i ? i * BAR_STEP : BAR_STEP));
}

/* Every list of {label,count} bars gets its geometry, scaled to its longest bar. */
static void chart_bars(cJSON *holder, const char *list)
{
	cJSON *b, *bars = cJSON_GetObjectItemCaseSensitive(holder, list);
	double max = 0;
	cJSON_ArrayForEach(b, bars)
	{
		double n = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "count"));
		if (!isnan(n) && n > max)
			max = n;
	}
	size_t i = 0;
	cJSON_ArrayForEach(b, bars)
	add_bar_geometry(b, i++, cJSON_GetNumberValue(cJSON_GetObjectItem(b, "count")), max);
	cJSON_AddNumberToObject(holder, "svg_h", (double)(i ? i * BAR_STEP : BAR_STEP));
	cJSON_AddBoolToObject(holder, "has_bars", i > 0);
}

/* A question's split by side, drawn: each side's mean on the question's whole scale (its
 * "pct"), and per option of a choice each side's share of its own answerers. */
static void chart_split(cJSON *q)
{
	cJSON *s, *o, *row;
	size_t i = 0;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(q, "sides"))
	if (cJSON_GetObjectItemCaseSensitive(s, "pct"))
		add_bar_geometry(s, i++, cJSON_GetNumberValue(cJSON_GetObjectItem(s, "pct")), 100);
	cJSON_AddNumberToObject(q, "sides_svg_h", (double)(i ? i * BAR_STEP : BAR_STEP));
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(q, "options_split"))
	{
		size_t k = 0;
		cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(o, "rows"))
		add_bar_geometry(row, k++, cJSON_GetNumberValue(cJSON_GetObjectItem(row, "pct")), 100);
		cJSON_AddNumberToObject(o, "svg_h", (double)(k ? k * BAR_STEP : BAR_STEP));
	}
}

/* The trend of a repeating round's question per side (the digest's "trend_chart": each
 * side's mean per occurrence, none where the side had fewer than MinGroupSize answers) as
 * a line chart: the plot from TREND_X0 to TREND_X1, the scale's minimum at TREND_Y1 and its
 * maximum at TREND_Y0; a side's line breaks where it has no mean, each mean a dot. The same
 * figures go into the chart's <desc> and a table. */
#define TREND_X0 40
#define TREND_X1 340
#define TREND_Y0 20
#define TREND_Y1 130

static double trend_x(size_t i, size_t n)
{
	return n > 1 ? TREND_X0 + (double)i * (TREND_X1 - TREND_X0) / (double)(n - 1) : TREND_X0;
}

static double trend_y(double v, double min, double max)
{
	return TREND_Y1 - (v - min) / (max - min) * (TREND_Y1 - TREND_Y0);
}

static void chart_trend(cJSON *q)
{
	cJSON *tc = cJSON_GetObjectItemCaseSensitive(q, "trend_chart");
	if (!tc)
		return;
	double min = cJSON_GetNumberValue(cJSON_GetObjectItem(tc, "min"));
	double max = cJSON_GetNumberValue(cJSON_GetObjectItem(tc, "max"));
	cJSON *occs = cJSON_GetObjectItemCaseSensitive(tc, "occurrences");
	size_t n = (size_t)cJSON_GetArraySize(occs);
	if (!(max > min) || n < 2) {
		cJSON_DeleteItemFromObjectCaseSensitive(q, "trend_chart");
		return;
	}
	/* The scale's values as gridlines, every one up to 5 steps, else every second or more. */
	long span = (long)(max - min), step = span <= 5 ? 1 : (span + 4) / 5;
	cJSON *ticks = cJSON_AddArrayToObject(tc, "y_ticks");
	for (long v = (long)min; v <= (long)max; v += step) {
		cJSON *t = cJSON_CreateObject();
		double y = trend_y((double)v, min, max);
		cJSON_AddNumberToObject(t, "y", y);
		cJSON_AddNumberToObject(t, "ty", y + 4);
		cJSON_AddNumberToObject(t, "label", (double)v);
		cJSON_AddItemToArray(ticks, t);
	}
	cJSON_AddStringToObject(tc, "first", cJSON_GetArrayItem(occs, 0)->valuestring);
	cJSON_AddStringToObject(tc, "last", cJSON_GetArrayItem(occs, (int)n - 1)->valuestring);
	cJSON_AddNumberToObject(tc, "count", (double)n);
	cJSON_AddNumberToObject(tc, "min_label", min);
	cJSON_AddNumberToObject(tc, "max_label", max);

	strbuf desc = {0};
	cJSON *se, *series = cJSON_GetObjectItemCaseSensitive(tc, "series");
	cJSON_ArrayForEach(se, series)
	{
		cJSON *lines = cJSON_AddArrayToObject(se, "polylines");
		cJSON *dots = cJSON_AddArrayToObject(se, "dots");
		strbuf pts = {0};
		size_t run = 0, i = 0;
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(se, "name"));
		strbuf_printf(&desc, "%s%s:", desc.len ? "; " : "", name ? name : "");
		cJSON *p;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(se, "points"))
		{
			const char *occ = cJSON_GetStringValue(cJSON_GetObjectItem(p, "occurrence"));
			const char *mean = cJSON_GetStringValue(cJSON_GetObjectItem(p, "mean"));
			cJSON *v = cJSON_GetObjectItem(p, "value");
			strbuf_printf(&desc, " %s %s%s", occ ? occ : "", mean ? mean : "withheld",
			              i + 1 < n ? "," : "");
			if (!mean || !cJSON_IsNumber(v)) {
				if (run >= 2) {
					cJSON *l = cJSON_CreateObject();
					cJSON_AddStringToObject(l, "points", pts.s);
					cJSON_AddItemToArray(lines, l);
				}
				strbuf_done(&pts);
				run = 0;
				i++;
				continue;
			}
			double x = trend_x(i, n), y = trend_y(v->valuedouble, min, max);
			strbuf_printf(&pts, "%s%.1f,%.1f", run ? " " : "", x, y);
			run++;
			cJSON *d = cJSON_CreateObject();
			cJSON_AddNumberToObject(d, "cx", round(x * 10) / 10);
			cJSON_AddNumberToObject(d, "cy", round(y * 10) / 10);
			cJSON_AddStringToObject(d, "occurrence", occ ? occ : "");
			cJSON_AddStringToObject(d, "mean", mean);
			cJSON_AddItemToArray(dots, d);
			i++;
		}
		if (run >= 2) {
			cJSON *l = cJSON_CreateObject();
			cJSON_AddStringToObject(l, "points", pts.s);
			cJSON_AddItemToArray(lines, l);
		}
		strbuf_done(&pts);
	}
	if (desc.len)
		cJSON_AddStringToObject(tc, "desc", desc.s);
	strbuf_done(&desc);

	/* The table: a row per occurrence, a cell per side. */
	cJSON *rows = cJSON_AddArrayToObject(tc, "rows");
	for (size_t i = 0; i < n; i++) {
		cJSON *row = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(row, "cells");
		cJSON_AddStringToObject(row, "occurrence", cJSON_GetArrayItem(occs, (int)i)->valuestring);
		cJSON_ArrayForEach(se, series)
		{
			cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(se, "points"), (int)i);
			const char *mean = cJSON_GetStringValue(cJSON_GetObjectItem(p, "mean"));
			cJSON *cell = cJSON_CreateObject();
			cJSON_AddStringToObject(cell, "mean", mean ? mean : "–");
			cJSON_AddItemToArray(cells, cell);
		}
		cJSON_AddItemToArray(rows, row);
	}
}

cJSON *web_index_data(channel *c, const coco_campaign *camp, const coco_member *mb)
{
	cJSON *o = cJSON_CreateObject(), *rounds = cJSON_CreateArray();
	cJSON *cj = cJSON_AddObjectToObject(o, "campaign");
	cJSON_AddStringToObject(cj, "id", camp->id);
	cJSON_AddStringToObject(cj, "title", camp->title ? camp->title : camp->id);
	if (camp->description)
		cJSON_AddStringToObject(cj, "description", camp->description);
	cJSON *m = cJSON_AddObjectToObject(o, "member");
	cJSON_AddStringToObject(m, "name", mb->name ? mb->name : mb->id);
	for (size_t i = 0; i < camp->n_rounds; i++) {
		const coco_round *r = &camp->rounds[i];
		if (r->kind == ROUND_ANNOUNCE)
			continue;
		_cleanup_free_ char *state = NULL, *cur = NULL;
		web_round_state(c, camp, r, &state, &cur, NULL);
		cJSON *rj = cJSON_CreateObject();
		cJSON_AddStringToObject(rj, "id", r->id);
		cJSON_AddStringToObject(rj, "title", r->title ? r->title : r->id);
		cJSON_AddStringToObject(rj, "kind", round_kind_to_string(r->kind));
		cJSON_AddStringToObject(rj, "state", state);
		bool open = STREQ(state, "open") && cur;
		if (open && web_member_asked(r, mb))
			cJSON_AddBoolToObject(rj, "can_answer", true);
		cJSON *occs = cJSON_AddArrayToObject(rj, "occurrences");
		_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s", camp->id, r->id);
		char **names = NULL;
		(void)store_list(c->st, dir, &names);
		if (open && cur) {
			bool seen = false;
			for (char **n = names; n && *n; n++)
				seen = seen || STREQ(*n, cur);
			if (!seen)
				strv_push(&names, xstrdup(cur));
		}
		for (char **n = names; n && *n; n++) {
			if (!name_is_safe(*n))
				continue;
			digest *d = NULL;
			if (compute(c, camp, r, *n, &d) < 0)
				continue;
			cJSON *oj = cJSON_CreateObject(), *dj = NULL;
			cJSON_AddStringToObject(oj, "name", *n);
			cJSON_AddBoolToObject(oj, "open", open && STREQ(*n, cur));
			if (digest_to_json(d, &dj) >= 0) {
				cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(dj, "participation");
				if (p) {
					chart_sides(p);
					cJSON_AddItemToObject(oj, "participation", p);
				}
				cJSON_Delete(dj);
			}
			digest_free(d);
			cJSON_AddItemToArray(occs, oj);
		}
		strv_free(names);
		cJSON_AddItemToArray(rounds, rj);
	}
	cJSON_AddItemToObject(o, "rounds", rounds);
	return o;
}

int web_round_data(channel *c, const coco_campaign *camp, const coco_round *r, const char *occ,
                   cJSON **ret)
{
	_cleanup_free_ char *state = NULL, *cur = NULL;
	web_round_state(c, camp, r, &state, &cur, NULL);
	_cleanup_free_ char *path = xasprintf("campaigns/%s/rounds/%s/%s", camp->id, r->id, occ);
	bool is_current = cur && STREQ(cur, occ);
	if (store_exists(c->st, path) <= 0 && !is_current)
		return -ENOENT;
	digest *d = NULL;
	int k = compute(c, camp, r, occ, &d);
	if (k < 0)
		return k;
	cJSON *dj = NULL;
	k = digest_to_json(d, &dj);
	digest_free(d);
	if (k < 0)
		return k;
	/* While an occurrence is open its figures are not shown: members see them with
	 * everyone else, in the digest when it closes. Participation is shown. */
	bool open = is_current && STREQ(state, "open");
	cJSON_AddBoolToObject(dj, "is_open", open);
	chart_sides(cJSON_GetObjectItemCaseSensitive(dj, "participation"));
	if (open) {
		cJSON_DeleteItemFromObject(dj, "questions");
		cJSON_DeleteItemFromObject(dj, "quotes");
		cJSON_DeleteItemFromObject(dj, "ideas");
		cJSON_DeleteItemFromObject(dj, "ideas_ranked");
		cJSON_DeleteItemFromObject(dj, "missing");
		cJSON_DeleteItemFromObject(dj, "has_missing");
		cJSON_DeleteItemFromObject(dj, "has_ideas");
	}
	cJSON *q;
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(dj, "questions"))
	{
		chart_bars(q, "bars");
		chart_split(q);
		chart_trend(q);
	}
	cJSON *ranked = cJSON_GetObjectItemCaseSensitive(dj, "ideas_ranked"), *it;
	cJSON_ArrayForEach(it, ranked)
	{
		cJSON *v = cJSON_GetObjectItem(it, "votes");
		cJSON_AddNumberToObject(it, "count", cJSON_GetNumberValue(v));
		cJSON_AddStringToObject(it, "label", "");
	}
	if (cJSON_GetArraySize(ranked) > 0)
		chart_bars(dj, "ideas_ranked");
	*ret = dj;
	return 0;
}

/* ---- the export ---- */

typedef struct export_web {
	channel *c;
	const coco_campaign *camp;
} export_web;

static char **export_ballot(const coco_round *r, const char *occurrence, void *userdata)
{
	export_web *e = userdata;
	return web_ballot(e->c, e->camp, r);
}

/* As the round pages: an occurrence still open shows no figures, so its answers are not in
 * the file either. */
static bool export_include(const coco_round *r, const char *occurrence, void *userdata)
{
	export_web *e = userdata;
	_cleanup_free_ char *state = NULL, *cur = NULL;
	web_round_state(e->c, e->camp, r, &state, &cur, NULL);
	return r->kind != ROUND_ANNOUNCE && !(cur && STREQ(cur, occurrence) && STREQ(state, "open"));
}

int web_export_csv(channel *c, const coco_campaign *camp, char **ret_csv)
{
	export_web e = {c, camp};
	export_input in = {.store = c->st, .campaign = camp, .for_member = true,
	                   .ballot = export_ballot, .include = export_include, .userdata = &e};
	return export_campaign(&in, ret_csv, NULL);
}

/* ---- the form ---- */

typedef struct prefill {
	const char *member, *pseudo;
	cJSON *answers; /* question id → the current value */
	cJSON *votes;   /* the latest votes */
	cJSON *ideas;   /* every idea, in file order */
} prefill;

static int on_prefill_line(const char *line, size_t len, void *userdata)
{
	prefill *p = userdata;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "member"));
	const char *ps = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "pseudo"));
	if (!rec || !((m && STREQ(m, p->member)) || (ps && p->pseudo && STREQ(ps, p->pseudo)))) {
		cJSON_Delete(rec);
		return 0;
	}
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "answers"))
	{
		cJSON_DeleteItemFromObjectCaseSensitive(p->answers, it->string);
		cJSON_AddItemToObject(p->answers, it->string, cJSON_Duplicate(it, 1));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "skips"))
	if (cJSON_IsString(it))
		cJSON_DeleteItemFromObjectCaseSensitive(p->answers, it->valuestring);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "ideas"))
	if (cJSON_IsString(it))
		cJSON_AddItemToArray(p->ideas, cJSON_CreateString(it->valuestring));
	cJSON *v = cJSON_GetObjectItem(rec, "votes");
	if (cJSON_GetArraySize(v) > 0) {
		cJSON_Delete(p->votes);
		p->votes = cJSON_Duplicate(v, 1);
	}
	cJSON_Delete(rec);
	return 0;
}

static bool value_has(const cJSON *v, const char *option)
{
	if (cJSON_IsString(v))
		return strcasecmp(v->valuestring, option) == 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	if (cJSON_IsString(e) && strcasecmp(e->valuestring, option) == 0)
		return true;
	return false;
}

static void add_choice(cJSON *list, const char *qname, const char *value, const char *label,
                       bool checked)
{
	cJSON *o = cJSON_CreateObject();
	_cleanup_free_ char *id = xasprintf("%s-%s", qname, value);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "value", value);
	cJSON_AddStringToObject(o, "label", label);
	cJSON_AddBoolToObject(o, "checked", checked);
	cJSON_AddItemToArray(list, o);
}

cJSON *web_member_current(channel *c, const coco_campaign *camp, const coco_round *r,
                          const coco_member *mb, const char *occ)
{
	char pseudo[SECRET_PSEUDO_LEN + 1];
	secret_pseudonym(&c->key, camp->id, mb->id, pseudo);
	prefill p = {.member = mb->id, .pseudo = r->anonymous ? pseudo : NULL,
	             .answers = cJSON_CreateObject(), .ideas = cJSON_CreateArray()};
	_cleanup_free_ char *path = xasprintf("campaigns/%s/rounds/%s/%s/answers.jsonl", camp->id,
	                                      r->id, occ);
	(void)store_scan(c->st, path, on_prefill_line, &p);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "answers", p.answers);
	cJSON_AddItemToObject(o, "votes", p.votes ? p.votes : cJSON_CreateObject());
	cJSON_AddItemToObject(o, "ideas", p.ideas);
	return o;
}

/* What a member sent, in the shape of stored answers (as web_member_current() gives them),
 * so the form shows it again: a scale's number, a choice's option, a multi's options. */
static cJSON *entered_answers(const coco_round *r, const web_form *f)
{
	cJSON *a = cJSON_CreateObject();
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		cJSON *multi = q->kind == QUESTION_MULTI ? cJSON_CreateArray() : NULL;
		for (size_t k = 0; k < f->n; k++) {
			if (!STREQ(f->names[k], name))
				continue;
			const char *v = f->values[k];
			const char *opt = NULL;
			if ((q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI) && strlen(v) == 1 &&
			    v[0] >= 'a' && (size_t)(v[0] - 'a') < q->n_options)
				opt = q->options[v[0] - 'a'];
			if (multi) {
				if (opt)
					cJSON_AddItemToArray(multi, cJSON_CreateString(opt));
				continue;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(a, q->id);
			cJSON_AddStringToObject(a, q->id, opt ? opt : v);
		}
		if (multi)
			cJSON_AddItemToObject(a, q->id, multi);
	}
	return a;
}

cJSON *web_form_data(channel *c, const coco_campaign *camp, const coco_round *r,
                     const coco_member *mb, const char *occ, const web_form *entered,
                     const web_form_errors *errs)
{
	cJSON *current = web_member_current(c, camp, r, mb, occ);
	prefill p = {0};
	if (entered)
		p.answers = entered_answers(r, entered);
	else
		p.answers = cJSON_DetachItemFromObjectCaseSensitive(current, "answers");
	p.votes = cJSON_DetachItemFromObjectCaseSensitive(current, "votes");
	cJSON_Delete(current);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "occurrence", occ);
	cJSON *rj = cJSON_AddObjectToObject(o, "round");
	cJSON_AddStringToObject(rj, "id", r->id);
	cJSON_AddStringToObject(rj, "title", r->title ? r->title : r->id);
	if (r->text)
		cJSON_AddStringToObject(rj, "text", r->text);
	cJSON_AddBoolToObject(rj, "anonymous", r->anonymous);
	cJSON_AddBoolToObject(o, "is_survey", r->kind == ROUND_SURVEY);
	cJSON_AddBoolToObject(o, "is_prompt", r->kind == ROUND_PROMPT);
	cJSON_AddBoolToObject(o, "is_vote", r->kind == ROUND_VOTE);
	cJSON *qs = cJSON_AddArrayToObject(o, "questions");
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(p.answers, q->id);
		cJSON *qj = cJSON_CreateObject();
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		cJSON_AddNumberToObject(qj, "number", (double)(i + 1));
		cJSON_AddStringToObject(qj, "name", name);
		cJSON_AddStringToObject(qj, "text", q->text ? q->text : q->id);
		cJSON_AddBoolToObject(qj, "required", q->required);
		const char *err = web_form_error(errs, name);
		if (err)
			cJSON_AddStringToObject(qj, "error", err);
		cJSON *choices = cJSON_AddArrayToObject(qj, "choices");
		switch (q->kind) {
		case QUESTION_SCALE:
		case QUESTION_NPS: {
			long lo = q->kind == QUESTION_NPS ? 0 : q->min, hi = q->kind == QUESTION_NPS ? 10 : q->max;
			for (long v = lo; v <= hi && v - lo < 101; v++) {
				char s[24];
				snprintf(s, sizeof s, "%ld", v);
				add_choice(choices, name, s, s, value_has(cur, s));
			}
			cJSON_AddBoolToObject(qj, "is_radio", true);
			if (q->min_label)
				cJSON_AddStringToObject(qj, "min_label", q->min_label);
			if (q->max_label)
				cJSON_AddStringToObject(qj, "max_label", q->max_label);
			break;
		}
		case QUESTION_CHOICE:
		case QUESTION_MULTI:
			for (size_t k = 0; k < q->n_options && k < 26; k++) {
				char s[2] = {(char)('a' + k), 0};
				add_choice(choices, name, s, q->options[k], value_has(cur, q->options[k]));
			}
			cJSON_AddBoolToObject(qj, q->kind == QUESTION_MULTI ? "is_check" : "is_radio", true);
			break;
		default:
			cJSON_AddBoolToObject(qj, "is_text", true);
			if (cJSON_IsString(cur))
				cJSON_AddStringToObject(qj, "value", cur->valuestring);
		}
		cJSON_AddItemToArray(qs, qj);
	}
	if (r->kind == ROUND_PROMPT && entered) {
		const char *ideas = web_form_get(entered, "ideas");
		if (ideas)
			cJSON_AddStringToObject(o, "ideas_text", ideas);
	}
	if (web_form_error(errs, "ideas"))
		cJSON_AddStringToObject(o, "ideas_error", web_form_error(errs, "ideas"));
	if (r->kind == ROUND_VOTE) {
		char **ballot = web_ballot(c, camp, r);
		cJSON *ideas = cJSON_AddArrayToObject(o, "ideas");
		for (size_t i = 0; ballot && ballot[i]; i++) {
			cJSON *ij = cJSON_CreateObject();
			char num[24];
			snprintf(num, sizeof num, "%zu", i + 1);
			_cleanup_free_ char *name = xasprintf("vote-%zu", i + 1);
			cJSON_AddStringToObject(ij, "number", num);
			cJSON_AddStringToObject(ij, "name", name);
			cJSON_AddStringToObject(ij, "text", ballot[i]);
			/* A withdrawn idea keeps its number (the others' stay) but takes no dots. */
			if (STREQ(ballot[i], DIGEST_IDEA_WITHDRAWN))
				cJSON_AddBoolToObject(ij, "withdrawn", true);
			const char *typed = entered ? web_form_get(entered, name) : NULL;
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(p.votes, num);
			if (typed)
				cJSON_AddStringToObject(ij, "dots", typed);
			else
				cJSON_AddNumberToObject(ij, "dots", cJSON_IsNumber(v) ? v->valuedouble : 0);
			const char *err = web_form_error(errs, name);
			if (err)
				cJSON_AddStringToObject(ij, "error", err);
			cJSON_AddItemToArray(ideas, ij);
		}
		strv_free(ballot);
		unsigned budget = r->votes ? r->votes : 3;
		cJSON_AddNumberToObject(o, "votes", budget);
		cJSON_AddStringToObject(o, "votes_word", budget == 1 ? "dot" : "dots");
		if (web_form_error(errs, "votes"))
			cJSON_AddStringToObject(o, "votes_error", web_form_error(errs, "votes"));
	}
	/* The errors together at the top, each linking to its field. */
	if (errs && errs->n) {
		cJSON *list = cJSON_AddArrayToObject(o, "errors");
		for (size_t i = 0; i < errs->n; i++) {
			cJSON *e = cJSON_CreateObject();
			const char *f = errs->fields[i];
			_cleanup_free_ char *anchor = STREQ(f, "votes") ? xstrdup("votes")
			                              : STREQ(f, "ideas") ? xstrdup("ideas")
			                              : strncmp(f, "vote-", 5) == 0 ? xstrdup(f)
			                                                            : xasprintf("%s-field", f);
			cJSON_AddStringToObject(e, "anchor", anchor);
			cJSON_AddStringToObject(e, "text", errs->messages[i]);
			/* Which field, in the form's words. */
			long n;
			_cleanup_free_ char *label = NULL;
			if (f[0] == 'q' && parse_long(f + 1, 1, (long)r->n_questions, &n) >= 0)
				label = xasprintf("%ld. %s", n, r->questions[n - 1].text ? r->questions[n - 1].text
				                                                          : r->questions[n - 1].id);
			else if (strncmp(f, "vote-", 5) == 0)
				label = xasprintf("Idea %s", f + 5);
			else if (STREQ(f, "votes"))
				label = xstrdup("Your votes");
			else if (STREQ(f, "ideas"))
				label = xstrdup("Your ideas");
			if (label)
				cJSON_AddStringToObject(e, "label", label);
			cJSON_AddItemToArray(list, e);
		}
	}
	cJSON_Delete(p.answers);
	cJSON_Delete(p.votes);
	return o;
}

/* A form value as a single line of the grammar: line breaks become spaces. */
static void put_line(strbuf *b, const char *s)
{
	for (; *s; s++)
		strbuf_putc(b, *s == '\r' || *s == '\n' ? ' ' : *s);
}

static bool word_ok(const char *s)
{
	return *s && strlen(s) <= 3 && s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789")] == 0;
}

char *web_form_answer_text(const coco_round *r, const web_form *f)
{
	strbuf b = {0};
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		strbuf v = {0};
		for (size_t k = 0; k < f->n; k++) {
			if (!STREQ(f->names[k], name))
				continue;
			_cleanup_free_ char *val = xstrdup(f->values[k]);
			strstrip(val);
			if (!*val)
				continue;
			if (q->kind == QUESTION_TEXT) {
				strbuf_done(&v);
				put_line(&v, val);
			} else if (word_ok(val)) {
				if (q->kind != QUESTION_MULTI)
					strbuf_done(&v);
				else if (v.len)
					strbuf_putc(&v, ' ');
				strbuf_puts(&v, val);
			}
		}
		if (v.len)
			strbuf_printf(&b, "%s%zu: %s\n", b.len ? "\n" : "", i + 1, v.s);
		strbuf_done(&v);
	}
	const char *ideas = web_form_get(f, "ideas");
	if (r->kind == ROUND_PROMPT && ideas) {
		/* One idea a line. */
		for (const char *p = ideas; *p;) {
			size_t n = strcspn(p, "\r\n");
			_cleanup_free_ char *line = xstrndup(p, n);
			strstrip(line);
			if (*line)
				strbuf_printf(&b, "%sidea: %s\n", b.len ? "\n" : "", line);
			p += n;
			p += strspn(p, "\r\n");
		}
	}
	if (r->kind == ROUND_VOTE) {
		strbuf v = {0};
		for (size_t k = 0; k < f->n; k++) {
			long n, dots;
			if (strncmp(f->names[k], "vote-", 5) != 0 ||
			    parse_long(f->names[k] + 5, 1, 100000, &n) < 0 ||
			    parse_long(f->values[k], 0, 1000, &dots) < 0 || dots == 0)
				continue;
			strbuf_printf(&v, " %ldx%ld", n, dots);
		}
		if (v.len)
			strbuf_printf(&b, "%svote%s\n", b.len ? "\n" : "", v.s);
		strbuf_done(&v);
	}
	return b.s ? strbuf_steal(&b) : xstrdup("");
}
