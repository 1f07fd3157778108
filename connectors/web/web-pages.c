/* web-pages: the data of the web view's pages (campaign index, an occurrence's figures with
 * SVG bar and line geometry, the export) and what they share with the form (the round's
 * state, the ballot, rendering). The form itself is web-fields.c. Reads the store, never
 * writes it. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "digest.h"
#include "export.h"
#include "schedule.h"
#include "template.h"
#include "util.h"
#include "web-private.h"

#define BAR_MAX 200 /* px of the longest bar */
#define BAR_X 120   /* where bars start, after their labels */
#define BAR_STEP 22

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
	const coco_round *source = campaign_find_round(camp, r->source);
	if (src && source && digest_ballot(c->st, camp, source, src, &ideas) < 0)
		ideas = NULL;
	return ideas;
}

static int compute(channel *c, const coco_campaign *camp, const coco_round *r, const char *occ,
                   digest **ret)
{
	coco_campaign *kept = digest_without_forgotten(c->st, &c->key, camp, r, occ);
	if (kept)
		camp = kept;
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
	digest_campaign_copy_free(kept);
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
	strbuf label = {0};
	strbuf_puts(&label, "Participation by side");
	cJSON_ArrayForEach(s, sides)
	{
		double a = cJSON_GetNumberValue(cJSON_GetObjectItem(s, "answered"));
		double t = cJSON_GetNumberValue(cJSON_GetObjectItem(s, "total"));
		add_bar_geometry(s, i++, a, t);
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(s, "name"));
		strbuf_printf(&label, "%s %s %g of %g", i > 1 ? "," : ":", name ? name : "", a, t);
	}
	cJSON_AddNumberToObject(participation, "svg_h", (double)(i ? i * BAR_STEP : BAR_STEP));
	/* The figures in the chart's name: a role="img" hides its texts from screen readers. */
	cJSON_AddStringToObject(participation, "aria", label.s ? label.s : "");
	strbuf_done(&label);
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
	cJSON *st = read_state(c, camp);
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
		cJSON_AddStringToObject(rj, "state_class", STREQ(state, "open") ? "open" : "other");
		/* In words, with the round's times in the campaign's zone. */
		const cJSON *rt = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(st, "rounds"), r->id);
		double t_open = cJSON_GetNumberValue(cJSON_GetObjectItem(rt, "open"));
		double t_close = cJSON_GetNumberValue(cJSON_GetObjectItem(rt, "close"));
		_cleanup_free_ char *when = NULL, *words = NULL;
		if (STREQ(state, "open")) {
			when = t_close > 0 ? schedule_format_local((int64_t)t_close, camp->timezone) : NULL;
			words = when ? xasprintf("open until %s", when) : xstrdup("open");
		} else if (STREQ(state, "scheduled")) {
			when = t_open > 0 ? schedule_format_local((int64_t)t_open, camp->timezone) : NULL;
			words = when ? xasprintf("opens %s", when) : xstrdup("not open yet");
		} else
			words = xstrdup("closed");
		cJSON_AddStringToObject(rj, "state_text", words);
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
	cJSON_Delete(st);
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
