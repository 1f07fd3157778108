/* digest-sides: the part of the digest that sets the client's answers beside the
 * provider's (see digest.h): per question each side's n, median, mean, NPS or distribution,
 * the gap between them with its sign and whether it passes GapThreshold=, the trend of each
 * side over a repeating round's last occurrences as a sparkline, and which side put its
 * dots on which idea.
 *
 * Privacy: a split is all or nothing. When either side has fewer than MinGroupSize= answers
 * to a question, neither side is shown apart (the pooled figure and one shown side would
 * give the other away), and the digest says why instead. The same rule holds in anonymous
 * rounds, where it is what keeps a small group from pointing to a person. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest-private.h"
#include "util.h"

#define METER_WIDTH 16 /* cells of a mean's or a share's text bar */
#define SPARK_LEVELS 8

static const int sides[] = {SIDE_CLIENT, SIDE_PROVIDER};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* One side's latest values of a numeric question, sorted. */
typedef struct side_values {
	long *v;
	size_t n;
	int64_t sum;
} side_values;

static void side_values_of(const tally *t, size_t qi, side_values out[_SIDE_MAX])
{
	for (int s = 0; s < _SIDE_MAX; s++)
		out[s] = (side_values){.v = xmalloc((t->n_entries + 1) * sizeof(long))};
	for (size_t i = 0; i < t->n_entries; i++) {
		const entry *e = &t->entries[i];
		if (e->slots[qi].state != SLOT_VALUE || e->side < 0 || e->side >= _SIDE_MAX)
			continue;
		side_values *sd = &out[e->side];
		sd->v[sd->n++] = e->slots[qi].num;
		sd->sum += e->slots[qi].num;
	}
	for (int s = 0; s < _SIDE_MAX; s++)
		qsort(out[s].v, out[s].n, sizeof(long), cmp_long);
}

static void side_values_done(side_values v[_SIDE_MAX])
{
	for (int s = 0; s < _SIDE_MAX; s++)
		free(v[s].v);
}

/* "Northwind Studio: 2 answers, fewer than 3", or NULL when every side has enough. */
static char *withheld_note(const split_ctx *x, const size_t n[_SIDE_MAX], const char *what)
{
	strbuf b = {0};
	unsigned short_sides = 0;
	for (size_t i = 0; i < ELEMENTSOF(sides); i++) {
		int s = sides[i];
		if (n[s] >= x->min_group)
			continue;
		strbuf_printf(&b, "%s%s: %zu %s%s", short_sides ? ", " : "", x->name[s], n[s], what,
		              n[s] == 1 ? "" : "s");
		short_sides++;
	}
	if (!short_sides)
		return NULL;
	strbuf_printf(&b, ", fewer than %u%s", x->min_group, short_sides > 1 ? " each" : "");
	if (x->anonymous)
		strbuf_puts(&b, " (an anonymous round: a smaller group could point to a person)");
	return strbuf_steal(&b);
}

/* A text bar of `cells` cells: filled ones, then light shade. */
static char *meter(int64_t filled, int64_t cells)
{
	strbuf b = {0};
	filled = filled < 0 ? 0 : filled > cells ? cells : filled;
	for (int64_t i = 0; i < cells; i++)
		strbuf_puts(&b, i < filled ? "█" : "░");
	return strbuf_steal(&b);
}

/* Organisation names padded to the same width, so the bars line up in a code block. */
static char *padded(const split_ctx *x, int side)
{
	size_t w = 0;
	for (size_t i = 0; i < ELEMENTSOF(sides); i++) {
		size_t k = dg_text_width(x->name[sides[i]]);
		w = k > w ? k : w;
	}
	size_t pad = w - dg_text_width(x->name[side]);
	return xasprintf("%s%*s", x->name[side], (int)pad, "");
}

static void add_side_common(cJSON *so, const split_ctx *x, int s, size_t n)
{
	cJSON_AddStringToObject(so, "side", side_to_string(s));
	cJSON_AddBoolToObject(so, "is_client", s == SIDE_CLIENT);
	cJSON_AddStringToObject(so, "name", x->name[s]);
	dg_add_string(so, "label", padded(x, s));
	cJSON_AddNumberToObject(so, "n", (double)n);
	cJSON_AddStringToObject(so, "n_word", n == 1 ? "answer" : "answers");
}

/* The gap's wording: which way it goes, and whether it passes the threshold. */
static void add_gap(cJSON *o, const split_ctx *x, int64_t g, int64_t threshold, char *gap_text,
                    char *threshold_text)
{
	cJSON_AddBoolToObject(o, "gap_shown", true);
	dg_add_string(o, "gap", gap_text);
	dg_add_string(o, "gap_threshold", threshold_text);
	dg_add_string(o, "gap_between", xasprintf("%s − %s", x->name[SIDE_CLIENT],
	                                          x->name[SIDE_PROVIDER]));
	const char *higher = g > 0 ? x->name[SIDE_CLIENT] : g < 0 ? x->name[SIDE_PROVIDER] : NULL;
	if (higher)
		dg_add_string(o, "gap_higher", xasprintf("%s higher", higher));
	else
		cJSON_AddStringToObject(o, "gap_higher", "no difference");
	cJSON_AddBoolToObject(o, "gap_flag", g >= threshold || g <= -threshold);
}

/* Each side's mean per occurrence over the history and t, in tenths, or -1 where the side
 * had fewer than MinGroupSize answers (its mean is not shown, as in the split). The one set
 * of figures behind the sparklines and the web view's line chart. */
static int64_t *side_means(const split_ctx *x, const tally *t, size_t qi, size_t n_points)
{
	int64_t *m = xmalloc(_SIDE_MAX * n_points * sizeof(int64_t));
	for (size_t h = 0; h < n_points; h++) {
		const tally *th = h < x->n_history ? &x->history[h] : t;
		side_values v[_SIDE_MAX];
		side_values_of(th, qi, v);
		for (int s = 0; s < _SIDE_MAX; s++)
			m[s * n_points + h] = v[s].n >= x->min_group ? dg_mean10(v[s].sum, v[s].n) : -1;
		side_values_done(v);
	}
	return m;
}

/* The trend of a repeating round's question per side: the sparklines ("sparks": one block
 * per occurrence, its height the mean on the question's whole scale; "·" where the side had
 * fewer than MinGroupSize) and the same means per occurrence ("trend_chart": {min, max,
 * occurrences:[names], series:[{side, name, is_client, points:[{occurrence, mean?,
 * value?}]}]}) for a chart. A side needs two points to get a line. */
static void add_sparklines(cJSON *o, const split_ctx *x, const tally *t, size_t qi,
                           const coco_question *q)
{
	static const char *const blocks[SPARK_LEVELS] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	if (!x->n_history || q->max <= q->min)
		return;
	size_t n_points = x->n_history + 1;
	int64_t *means = side_means(x, t, qi, n_points);
	cJSON *arr = cJSON_CreateArray(), *series = cJSON_CreateArray();
	for (size_t i = 0; i < ELEMENTSOF(sides); i++) {
		int s = sides[i];
		const int64_t *m = &means[s * n_points];
		strbuf b = {0};
		size_t points = 0;
		char *first = NULL, *last = NULL;
		cJSON *pts = cJSON_CreateArray();
		for (size_t h = 0; h < n_points; h++) {
			cJSON *po = cJSON_CreateObject();
			cJSON_AddStringToObject(po, "occurrence", h < x->n_history && x->history_names
			                                              ? x->history_names[h]
			                                              : x->occurrence ? x->occurrence : "");
			if (m[h] >= 0) {
				int64_t lvl = dg_div_round((m[h] - q->min * 10) * (SPARK_LEVELS - 1),
				                           (q->max - q->min) * 10);
				strbuf_puts(&b, blocks[lvl < 0 ? 0 : lvl >= SPARK_LEVELS ? SPARK_LEVELS - 1
				                                                        : lvl]);
				free(last);
				last = dg_tenths(m[h], false);
				if (!first)
					first = xstrdup(last);
				points++;
				cJSON_AddStringToObject(po, "mean", last);
				cJSON_AddNumberToObject(po, "value", (double)m[h] / 10);
			} else
				strbuf_puts(&b, "·");
			cJSON_AddItemToArray(pts, po);
		}
		if (points >= 2) {
			cJSON *so = cJSON_CreateObject();
			cJSON_AddStringToObject(so, "name", x->name[s]);
			dg_add_string(so, "label", padded(x, s));
			dg_add_string(so, "spark", strbuf_steal(&b));
			dg_add_string(so, "first", TAKE_PTR(first));
			dg_add_string(so, "last", TAKE_PTR(last));
			cJSON_AddItemToArray(arr, so);
			cJSON *se = cJSON_CreateObject();
			cJSON_AddStringToObject(se, "side", side_to_string(s));
			cJSON_AddBoolToObject(se, "is_client", s == SIDE_CLIENT);
			cJSON_AddStringToObject(se, "name", x->name[s]);
			cJSON_AddItemToObject(se, "points", pts);
			cJSON_AddItemToArray(series, se);
		} else
			cJSON_Delete(pts);
		strbuf_done(&b);
		free(first);
		free(last);
	}
	free(means);
	bool any = cJSON_GetArraySize(arr) > 0;
	cJSON_AddBoolToObject(o, "has_sparks", any);
	cJSON_AddNumberToObject(o, "spark_points", (double)n_points);
	cJSON_AddItemToObject(o, "sparks", arr);
	if (!any) {
		cJSON_Delete(series);
		return;
	}
	cJSON *tc = cJSON_AddObjectToObject(o, "trend_chart");
	cJSON_AddNumberToObject(tc, "min", (double)q->min);
	cJSON_AddNumberToObject(tc, "max", (double)q->max);
	cJSON *occs = cJSON_AddArrayToObject(tc, "occurrences");
	for (size_t h = 0; h < n_points; h++)
		cJSON_AddItemToArray(occs, cJSON_CreateString(
			h < x->n_history && x->history_names ? x->history_names[h]
			                                     : x->occurrence ? x->occurrence : ""));
	cJSON_AddItemToObject(tc, "series", series);
}

static void split_numeric(cJSON *o, const split_ctx *x, const tally *t, size_t qi,
                          const coco_question *q)
{
	side_values v[_SIDE_MAX];
	side_values_of(t, qi, v);
	size_t n[_SIDE_MAX] = {v[SIDE_CLIENT].n, v[SIDE_PROVIDER].n};
	char *note = withheld_note(x, n, "answer");
	if (note) {
		cJSON_AddBoolToObject(o, "split_shown", false);
		dg_add_string(o, "split_withheld", note);
		cJSON_AddBoolToObject(o, "gap_shown", false);
		cJSON_AddBoolToObject(o, "gap_flag", false);
	} else {
		cJSON_AddBoolToObject(o, "split_shown", true);
		cJSON *arr = cJSON_AddArrayToObject(o, "sides");
		int64_t m10[_SIDE_MAX];
		for (size_t i = 0; i < ELEMENTSOF(sides); i++) {
			int s = sides[i];
			cJSON *so = cJSON_CreateObject();
			add_side_common(so, x, s, n[s]);
			m10[s] = dg_mean10(v[s].sum, n[s]);
			dg_add_string(so, "median", dg_median(v[s].v, n[s]));
			dg_add_string(so, "mean", dg_tenths(m10[s], false));
			/* The mean's place on the whole scale, as a bar and as a percentage (HTML). */
			int64_t span = (q->max - q->min) * 10, at = m10[s] - q->min * 10;
			int64_t pct = span > 0 ? dg_div_round(at * 100, span) : 100;
			dg_add_pct(so, pct);
			dg_add_string(so, "meter", meter(dg_div_round(pct * METER_WIDTH, 100),
			                                 METER_WIDTH));
			if (q->kind == QUESTION_NPS)
				dg_add_string(so, "nps", dg_nps(v[s].v, n[s]));
			cJSON_AddItemToArray(arr, so);
		}
		dg_add_string(o, "client_mean", dg_tenths(m10[SIDE_CLIENT], false));
		dg_add_string(o, "provider_mean", dg_tenths(m10[SIDE_PROVIDER], false));
		/* The gap is the difference of the two means as shown, so that a reader can check
		 * it: 3.3 and 4.3 (of 3.25 and 4.33) give −1.0, never the exact −1.1. It is
		 * flagged on that value, so that a "+1.0" passes a threshold of 1.0. NPS answers
		 * span 0–10: twice the points. */
		int64_t g10 = m10[SIDE_CLIENT] - m10[SIDE_PROVIDER];
		int64_t th = (int64_t)x->gap_tenths * (q->kind == QUESTION_NPS ? 2 : 1);
		add_gap(o, x, g10, th, dg_tenths(g10, true), dg_tenths(th, false));
	}
	side_values_done(v);
	add_sparklines(o, x, t, qi, q);
}

static void split_choice(cJSON *o, const split_ctx *x, const tally *t, size_t qi,
                         const coco_question *q)
{
	size_t n[_SIDE_MAX] = {0};
	size_t *counts[_SIDE_MAX];
	for (int s = 0; s < _SIDE_MAX; s++)
		counts[s] = xcalloc(q->n_options + 1, sizeof(size_t));
	for (size_t i = 0; i < t->n_entries; i++) {
		const entry *e = &t->entries[i];
		const slot *sl = &e->slots[qi];
		if (sl->state != SLOT_VALUE || e->side < 0 || e->side >= _SIDE_MAX)
			continue;
		n[e->side]++;
		for (size_t k = 0; k < q->n_options; k++)
			counts[e->side][k] += q->kind == QUESTION_CHOICE ? (size_t)sl->num == k
			                                                 : k < 64 && (sl->mask >> k & 1);
	}
	char *note = withheld_note(x, n, "answer");
	if (note) {
		cJSON_AddBoolToObject(o, "split_shown", false);
		dg_add_string(o, "split_withheld", note);
		cJSON_AddBoolToObject(o, "gap_shown", false);
		cJSON_AddBoolToObject(o, "gap_flag", false);
		goto out;
	}
	cJSON_AddBoolToObject(o, "split_shown", true);
	cJSON *arr = cJSON_AddArrayToObject(o, "sides");
	for (size_t i = 0; i < ELEMENTSOF(sides); i++) {
		cJSON *so = cJSON_CreateObject();
		add_side_common(so, x, sides[i], n[sides[i]]);
		cJSON_AddItemToArray(arr, so);
	}
	/* Per option, each side's share of its own answers, and the gap in percentage points.
	 * The question's gap is its option with the widest one (the first of equals). */
	cJSON *opts = cJSON_AddArrayToObject(o, "options_split");
	int64_t widest = 0;
	size_t widest_k = 0;
	for (size_t k = 0; k < q->n_options; k++) {
		cJSON *oo = cJSON_CreateObject();
		cJSON_AddStringToObject(oo, "option", q->options[k]);
		cJSON *rows = cJSON_AddArrayToObject(oo, "rows");
		int64_t pct[_SIDE_MAX];
		for (size_t i = 0; i < ELEMENTSOF(sides); i++) {
			int s = sides[i];
			pct[s] = dg_div_round((int64_t)counts[s][k] * 100, (int64_t)n[s]);
			cJSON *ro = cJSON_CreateObject();
			cJSON_AddStringToObject(ro, "name", x->name[s]);
			cJSON_AddBoolToObject(ro, "is_client", s == SIDE_CLIENT);
			dg_add_string(ro, "label", padded(x, s));
			cJSON_AddNumberToObject(ro, "count", (double)counts[s][k]);
			dg_add_pct(ro, pct[s]);
			dg_add_string(ro, "pct_text", xasprintf("%3lld%%", (long long)pct[s]));
			dg_add_string(ro, "meter", meter(dg_div_round(pct[s] * METER_WIDTH, 100),
			                                 METER_WIDTH));
			cJSON_AddItemToArray(rows, ro);
		}
		int64_t g = pct[SIDE_CLIENT] - pct[SIDE_PROVIDER];
		dg_add_string(oo, "gap", xasprintf("%s%lld", g > 0 ? "+" : g < 0 ? "" : "±",
		                                   (long long)g));
		if ((g < 0 ? -g : g) > (widest < 0 ? -widest : widest)) {
			widest = g;
			widest_k = k;
		}
		cJSON_AddItemToArray(opts, oo);
	}
	/* GapThreshold= 1.0 is 25 points on a choice. */
	int64_t th = dg_div_round((int64_t)x->gap_tenths * 25, 10);
	/* The option the sides differ most on; none when they differ on none. */
	cJSON_AddStringToObject(o, "gap_option", q->n_options && widest ? q->options[widest_k] : "");
	add_gap(o, x, widest, th,
	        xasprintf("%s%lld points", widest > 0 ? "+" : widest < 0 ? "" : "±",
	                  (long long)widest),
	        xasprintf("%lld points", (long long)th));
out:
	for (int s = 0; s < _SIDE_MAX; s++)
		free(counts[s]);
}

void split_question(cJSON *o, const split_ctx *x, const tally *t, size_t qi)
{
	const coco_question *q = &t->round->questions[qi];
	if (!x->both_sides) { /* a round for one side: there is nothing to set apart */
		cJSON_AddBoolToObject(o, "split_shown", false);
		cJSON_AddBoolToObject(o, "gap_shown", false);
		cJSON_AddBoolToObject(o, "gap_flag", false);
		return;
	}
	if (q->kind == QUESTION_SCALE || q->kind == QUESTION_NPS)
		split_numeric(o, x, t, qi, q);
	else if (q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI)
		split_choice(o, x, t, qi, q);
}

void split_votes(cJSON *data, cJSON *ranked_arr, const split_ctx *x, const tally *t,
                 size_t n_ideas)
{
	size_t voters[_SIDE_MAX] = {0};
	long *dots[_SIDE_MAX];
	for (int s = 0; s < _SIDE_MAX; s++)
		dots[s] = xcalloc(n_ideas + 1, sizeof(long));
	for (size_t i = 0; i < t->n_entries; i++) {
		const entry *e = &t->entries[i];
		bool voted = false;
		if (e->side < 0 || e->side >= _SIDE_MAX)
			continue;
		for (size_t k = 0; k < e->n_votes; k++) {
			const rec_vote *v = &e->votes[k];
			if (v->idea >= 1 && (size_t)v->idea <= n_ideas && v->dots > 0) {
				dots[e->side][v->idea - 1] += v->dots;
				voted = true;
			}
		}
		voters[e->side] += voted;
	}
	char *note = x->both_sides ? withheld_note(x, voters, "voter") : NULL;
	bool shown = x->both_sides && !note;
	cJSON_AddBoolToObject(data, "votes_split_shown", shown);
	if (note)
		dg_add_string(data, "votes_split_withheld", note);
	if (shown) {
		/* One dot per vote, ● the client's and ○ the provider's, scaled like the bars. */
		long maxd = 0;
		for (size_t i = 0; i < n_ideas; i++)
			if (dots[SIDE_CLIENT][i] + dots[SIDE_PROVIDER][i] > maxd)
				maxd = dots[SIDE_CLIENT][i] + dots[SIDE_PROVIDER][i];
		cJSON *it;
		cJSON_ArrayForEach(it, ranked_arr) {
			size_t number = (size_t)cJSON_GetObjectItem(it, "number")->valuedouble;
			long c = dots[SIDE_CLIENT][number - 1], p = dots[SIDE_PROVIDER][number - 1];
			long wc = c, wp = p;
			if (maxd > BAR_WIDTH) {
				wc = (long)dg_div_round((int64_t)c * BAR_WIDTH, maxd);
				wp = (long)dg_div_round((int64_t)p * BAR_WIDTH, maxd);
				wc = c && !wc ? 1 : wc;
				wp = p && !wp ? 1 : wp;
			}
			strbuf bc = {0}, bp = {0};
			for (long k = 0; k < wc; k++)
				strbuf_puts(&bc, "●");
			for (long k = 0; k < wp; k++)
				strbuf_puts(&bp, "○");
			cJSON_AddNumberToObject(it, "client_votes", (double)c);
			cJSON_AddNumberToObject(it, "provider_votes", (double)p);
			dg_add_string(it, "dots", xasprintf("%s%s", bc.s ? bc.s : "", bp.s ? bp.s : ""));
			dg_add_string(it, "client_dots", strbuf_steal(&bc));
			dg_add_string(it, "provider_dots", strbuf_steal(&bp));
		}
	}
	for (int s = 0; s < _SIDE_MAX; s++)
		free(dots[s]);
}
