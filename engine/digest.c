/* digest: see digest.h. This half owns the figures and the template data built from a tally
 * (participation, per-question statistics, the gap, quotes, ideas, rankings, the trend), the
 * public API, rendering, and writing the compiled files. Reading answers.jsonl into a tally
 * is in digest-read.c; what the two share is in digest-private.h. */
#define _GNU_SOURCE
#include "digest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmark.h>

#include "digest-private.h"
#include "mdtext.h"
#include "secret.h"
#include "template.h"
#include "util.h"


/* ---- figures ---- */

struct digest {
	cJSON *data; /* the template data, built once */
	size_t n_records, n_bad;
	unsigned answered[_SIDE_MAX], audience[_SIDE_MAX];
};

/* num/den rounded to the nearest integer, halves away from zero. */
int64_t dg_div_round(int64_t num, int64_t den)
{
	if (den < 0)
		num = -num, den = -den;
	return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

/* Tenths as text: 38 → "3.8"; with sign, "+0.4" / "-1.2" / "±0.0". */
char *dg_tenths(int64_t t, bool sign)
{
	const char *s = t < 0 ? "-" : !sign ? "" : t > 0 ? "+" : "±";
	int64_t a = t < 0 ? -t : t;
	return xasprintf("%s%lld.%lld", s, (long long)(a / 10), (long long)(a % 10));
}

void dg_add_string(cJSON *o, const char *name, char *s)
{
	cJSON_AddStringToObject(o, name, s);
	free(s);
}

void dg_add_pct(cJSON *o, int64_t pct)
{
	pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
	cJSON_AddNumberToObject(o, "pct", (double)pct);
	cJSON_AddNumberToObject(o, "rest", (double)(100 - pct));
	cJSON_AddBoolToObject(o, "has_pct", pct > 0);
	cJSON_AddBoolToObject(o, "has_rest", pct < 100);
}

/* Adds name (Markdown-escaped, as md_text() makes it) and name_plain (the same line without
 * the escapes, for the HTML template, whose {{…}} escapes for HTML). */
void dg_add_text(cJSON *o, const char *name, const char *raw)
{
	char *md = md_text(raw);
	strbuf b = {0};
	for (const char *p = md; *p; p++) {
		if (*p == '\\' && p[1] && strchr("\\`*_[]<>", p[1]))
			p++;
		strbuf_add(&b, p, 1);
	}
	_cleanup_free_ char *plain_name = xasprintf("%s_plain", name);
	dg_add_string(o, plain_name, strbuf_steal(&b));
	dg_add_string(o, name, md);
}

/* One "█" per answer, scaled to BAR_WIDTH when the largest count is wider. */
char *dg_bar(size_t count, size_t max)
{
	size_t w = count;
	if (max > BAR_WIDTH) {
		w = (size_t)dg_div_round((int64_t)count * BAR_WIDTH, (int64_t)max);
		if (count && !w)
			w = 1;
	}
	strbuf b = {0};
	for (size_t i = 0; i < w; i++)
		strbuf_puts(&b, "█");
	return strbuf_steal(&b);
}

/* Characters, near enough for padding: UTF-8 bytes that start a code point. */
size_t dg_text_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A row {value, label, count, bar, line}: label is value padded to width (numbers to the
 * right, words to the left) so that the bars line up in a code block. */
static void add_bar_row(cJSON *arr, const char *value, size_t width, bool right, size_t count,
                        size_t max)
{
	cJSON *row = cJSON_CreateObject();
	_cleanup_free_ char *b = dg_bar(count, max);
	size_t w = dg_text_width(value), pad = w < width ? width - w : 0;
	_cleanup_free_ char *label = xasprintf("%*s%s%*s", right ? (int)pad : 0, "", value,
	                                       right ? 0 : (int)pad, "");
	cJSON_AddStringToObject(row, "value", value);
	cJSON_AddStringToObject(row, "label", label);
	cJSON_AddNumberToObject(row, "count", (double)count);
	/* of the longest bar, for HTML */
	dg_add_pct(row, max ? dg_div_round((int64_t)count * 100, (int64_t)max) : 0);
	cJSON_AddStringToObject(row, "bar", b);
	dg_add_string(row, "line", xasprintf("%s %s %zu", label, b, count));
	cJSON_AddItemToArray(arr, row);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* The latest numeric values of one question, overall and by side. */
typedef struct numstats {
	size_t n, n_side[_SIDE_MAX];
	int64_t sum, sum_side[_SIDE_MAX];
	long *values; /* sorted */
} numstats;

static void numstats_of(const tally *t, size_t qi, numstats *ret)
{
	numstats ns = {.values = xmalloc((t->n_entries + 1) * sizeof(long))};
	for (size_t i = 0; i < t->n_entries; i++) {
		const entry *e = &t->entries[i];
		if (e->slots[qi].state != SLOT_VALUE)
			continue;
		long v = e->slots[qi].num;
		ns.values[ns.n++] = v;
		ns.sum += v;
		if (e->side >= 0 && e->side < _SIDE_MAX) {
			ns.n_side[e->side]++;
			ns.sum_side[e->side] += v;
		}
	}
	qsort(ns.values, ns.n, sizeof(long), cmp_long);
	*ret = ns;
}

int64_t dg_mean10(int64_t sum, size_t n)
{
	return dg_div_round(sum * 10, (int64_t)n);
}

char *dg_median(const long *v, size_t n)
{
	size_t m = n / 2;
	int64_t med10 = n % 2 ? (int64_t)v[m] * 10 : ((int64_t)v[m - 1] + v[m]) * 5;
	/* a median that is an answer reads better without ".0" */
	return med10 % 10 == 0 ? xasprintf("%lld", (long long)(med10 / 10)) : dg_tenths(med10, false);
}

char *dg_nps(const long *v, size_t n)
{
	size_t pro = 0, det = 0;
	for (size_t i = 0; i < n; i++)
		pro += v[i] >= 9, det += v[i] <= 6;
	int64_t s = dg_div_round(((int64_t)pro - (int64_t)det) * 100, (int64_t)n);
	return xasprintf("%s%lld", s > 0 ? "+" : "", (long long)s);
}

static void add_numeric(cJSON *o, const coco_question *q, const numstats *ns, const tally *prev,
                        size_t qi, strbuf *trend)
{
	if (ns->n) {
		dg_add_string(o, "median", dg_median(ns->values, ns->n));
		dg_add_string(o, "mean", dg_tenths(dg_mean10(ns->sum, ns->n), false));
		if (q->kind == QUESTION_NPS)
			dg_add_string(o, "nps", dg_nps(ns->values, ns->n));
	}

	/* Distribution, highest value first; every value of a short scale, else those given. */
	cJSON *dist = cJSON_AddArrayToObject(o, "bars");
	size_t maxc = 0;
	for (size_t i = 0, run; i < ns->n; i += run) {
		for (run = 1; i + run < ns->n && ns->values[i + run] == ns->values[i]; run++)
			;
		if (run > maxc)
			maxc = run;
	}
	bool every = q->max - q->min <= BAR_WIDTH;
	char label[24];
	int width = snprintf(label, sizeof label, "%ld", q->max);
	int w2 = snprintf(label, sizeof label, "%ld", q->min);
	width = w2 > width ? w2 : width;
	size_t hi = ns->n;
	for (long v = q->max; v >= q->min && (every || hi > 0); v--) {
		size_t c = 0;
		while (hi > 0 && ns->values[hi - 1] == v)
			hi--, c++;
		if (!every && !c) {
			if (hi > 0 && ns->values[hi - 1] < v)
				v = ns->values[hi - 1] + 1; /* jump to the next value given */
			continue;
		}
		snprintf(label, sizeof label, "%ld", v);
		add_bar_row(dist, label, (size_t)width, true, c, maxc);
	}

	if (!prev || !ns->n)
		return;
	numstats pv;
	numstats_of(prev, qi, &pv);
	if (pv.n) {
		int64_t a = dg_mean10(pv.sum, pv.n), b = dg_mean10(ns->sum, ns->n);
		_cleanup_free_ char *sa = dg_tenths(a, false), *sb = dg_tenths(b, false),
		                    *d = dg_tenths(b - a, true);
		_cleanup_free_ char *text = xasprintf("mean %s → %s (%s)", sa, sb, d);
		cJSON_AddStringToObject(o, "prev_mean", sa);
		cJSON_AddStringToObject(o, "delta", d);
		cJSON_AddStringToObject(o, "trend_text", text);
		strbuf_printf(trend, "%s- %s — %s", trend->len ? "\n" : "",
		              q->text ? q->text : q->id, text);
	}
	free(pv.values);
}

typedef struct quote {
	char *text;       /* owned, on one line */
	char *plain;      /* owned: text without its Markdown escapes */
	const char *name; /* NULL in anonymous rounds */
	uint64_t order;
	size_t proposers; /* an idea: how many members wrote it */
} quote;

static quote make_quote(const char *raw, const char *name)
{
	cJSON *tmp = cJSON_CreateObject();
	dg_add_text(tmp, "t", raw);
	quote q = {xstrdup(cJSON_GetObjectItem(tmp, "t")->valuestring),
	           xstrdup(cJSON_GetObjectItem(tmp, "t_plain")->valuestring), name, 0, 1};
	cJSON_Delete(tmp);
	return q;
}

static int cmp_quote(const void *a, const void *b)
{
	const quote *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->text, y->text);
}

static const char *entry_name(const tally *t, const entry *e)
{
	if (t->round && t->round->anonymous)
		return NULL;
	if (e->member)
		return e->member->name ? e->member->name : e->member->id;
	/* A member whose section was removed: the id is all that is left of them, and a bare
	 * id is no name to show the client. A pseudonym is no name at all. */
	if (!e->is_member_id)
		return NULL;
	return t->campaign ? DIGEST_FORMER_MEMBER : e->key; /* without a config, the id */
}

/* Adds quotes (sorted by a keyed hash of their text in anonymous rounds, so the order says
 * nothing of who wrote what) as {text, who, question}; frees the texts. question is the
 * question number, 0 for ideas. */
static void add_quotes(cJSON *arr, quote *qs, size_t n, uint64_t seed, bool anon, size_t question)
{
	if (anon) {
		for (size_t i = 0; i < n; i++)
			qs[i].order = fnv1a(seed, qs[i].text, strlen(qs[i].text));
		qsort(qs, n, sizeof *qs, cmp_quote);
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *q = cJSON_CreateObject();
		cJSON_AddStringToObject(q, "text", qs[i].text);
		cJSON_AddStringToObject(q, "text_plain", qs[i].plain);
		if (qs[i].name && !anon)
			cJSON_AddStringToObject(q, "who", qs[i].name);
		if (qs[i].proposers > 1)
			cJSON_AddNumberToObject(q, "proposers", (double)qs[i].proposers);
		cJSON_AddNumberToObject(q, "question", (double)question);
		cJSON_AddItemToArray(arr, q);
		free(qs[i].text);
		free(qs[i].plain);
	}
}

static void add_question(cJSON *arr, cJSON *quotes, strbuf *trend, const tally *t,
                         const tally *prev, size_t qi, uint64_t seed, const split_ctx *x)
{
	const coco_question *q = &t->round->questions[qi];
	bool numeric = q->kind == QUESTION_SCALE || q->kind == QUESTION_NPS;
	bool choice = q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, o);
	cJSON_AddStringToObject(o, "id", q->id);
	cJSON_AddNumberToObject(o, "number", (double)(qi + 1));
	cJSON_AddStringToObject(o, "text", q->text ? q->text : q->id);
	cJSON_AddStringToObject(o, "kind", question_kind_to_string(q->kind));
	cJSON_AddBoolToObject(o, "is_scale", numeric);
	cJSON_AddBoolToObject(o, "is_nps", q->kind == QUESTION_NPS);
	cJSON_AddBoolToObject(o, "is_choice", choice);
	cJSON_AddBoolToObject(o, "is_multi", q->kind == QUESTION_MULTI);
	cJSON_AddBoolToObject(o, "is_text", q->kind == QUESTION_TEXT);

	size_t n = 0, skipped = 0;
	for (size_t i = 0; i < t->n_entries; i++) {
		n += t->entries[i].slots[qi].state == SLOT_VALUE;
		skipped += t->entries[i].slots[qi].state == SLOT_SKIP;
	}
	cJSON_AddNumberToObject(o, "n", (double)n);
	cJSON_AddNumberToObject(o, "skipped", (double)skipped);

	if (numeric) {
		numstats ns;
		numstats_of(t, qi, &ns);
		add_numeric(o, q, &ns, prev, qi, trend);
		free(ns.values);
		split_question(o, x, t, qi);
	} else if (choice) {
		size_t *counts = xcalloc(q->n_options, sizeof(size_t)), maxc = 0;
		for (size_t i = 0; i < t->n_entries; i++) {
			const slot *s = &t->entries[i].slots[qi];
			for (size_t k = 0; s->state == SLOT_VALUE && k < q->n_options; k++)
				counts[k] += q->kind == QUESTION_CHOICE ? (size_t)s->num == k
				                                         : k < 64 && (s->mask >> k & 1);
		}
		size_t width = 0;
		for (size_t k = 0; k < q->n_options; k++) {
			maxc = counts[k] > maxc ? counts[k] : maxc;
			width = dg_text_width(q->options[k]) > width ? dg_text_width(q->options[k]) : width;
		}
		cJSON *dist = cJSON_AddArrayToObject(o, "bars");
		for (size_t k = 0; k < q->n_options; k++)
			add_bar_row(dist, q->options[k], width, false, counts[k], maxc);
		free(counts);
		split_question(o, x, t, qi);
	} else if (q->kind == QUESTION_TEXT) {
		quote *qs = xcalloc(n + 1, sizeof(quote));
		size_t nq = 0;
		for (size_t i = 0; i < t->n_entries; i++) {
			const entry *e = &t->entries[i];
			if (e->slots[qi].state == SLOT_VALUE)
				qs[nq++] = make_quote(e->slots[qi].text, entry_name(t, e));
		}
		add_quotes(quotes, qs, nq, seed, t->round->anonymous, qi + 1);
		free(qs);
	}
}

static bool in_audience(const coco_round *r, const coco_member *m)
{
	switch (r->audience) {
	case AUDIENCE_CLIENT:
		return m->side == SIDE_CLIENT;
	case AUDIENCE_PROVIDER:
		return m->side == SIDE_PROVIDER;
	case AUDIENCE_MEMBERS:
		for (size_t i = 0; i < r->n_audience_members; i++)
			if (STREQ(r->audience_members[i], m->id))
				return true;
		return false;
	default:
		return true;
	}
}

static unsigned percent(unsigned a, unsigned total)
{
	return total ? (unsigned)dg_div_round((int64_t)a * 100, total) : 0;
}

/* "1 former member", "2 former members"; left out for none, so {{#name}} works. */
static void add_former(cJSON *o, const char *name, unsigned n)
{
	if (n)
		dg_add_string(o, name, xasprintf("%u former member%s", n, n == 1 ? "" : "s"));
}

/* progress: the occurrence is still open, so nobody is listed as missing yet, and an
 * anonymous round shows only the total: per-side counts in successive digests would tell
 * which side each new answer came from. */
static void add_participation(cJSON *data, digest *d, const tally *t, bool progress)
{
	const coco_campaign *c = t->campaign;
	const coco_round *r = t->round;
	cJSON *missing = cJSON_CreateArray();
	for (size_t i = 0; i < c->n_members; i++) {
		const coco_member *m = &c->members[i];
		if (!in_audience(r, m) || m->side < 0 || m->side >= _SIDE_MAX)
			continue;
		d->audience[m->side]++;
		if (r->anonymous)
			continue;
		if (smap_find(&t->entry_map, m->id, strlen(m->id),
		              fnv1a(FNV_SEED, m->id, strlen(m->id))) != SIZE_MAX) {
			d->answered[m->side]++;
			continue;
		}
		if (progress)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", m->id);
		cJSON_AddStringToObject(o, "name", m->name ? m->name : m->id);
		cJSON_AddStringToObject(o, "side", side_to_string(m->side));
		cJSON_AddItemToArray(missing, o);
	}
	/* Who answered but is no longer a member (their section was removed): their answers
	 * stay in the figures (config.md), so they are counted apart from the members, by the
	 * side their records carry, and the counts add up to the figures' "Answered by". */
	unsigned former[_SIDE_MAX] = {0};
	if (r->anonymous) {
		/* Pseudonyms cannot be matched to members: count them by the side they carry;
		 * more than the side's audience can only be former members (a count the
		 * figures show anyway). */
		unsigned seen[_SIDE_MAX] = {0};
		for (size_t i = 0; i < t->n_entries; i++)
			if (t->entries[i].side >= 0 && t->entries[i].side < _SIDE_MAX)
				seen[t->entries[i].side]++;
		for (int s = 0; s < _SIDE_MAX; s++) {
			d->answered[s] = seen[s] < d->audience[s] ? seen[s] : d->audience[s];
			former[s] = seen[s] - d->answered[s];
		}
	} else
		for (size_t i = 0; i < t->n_entries; i++) {
			const entry *e = &t->entries[i];
			if (e->is_member_id && !e->member && e->side >= 0 && e->side < _SIDE_MAX)
				former[e->side]++;
		}
	cJSON_AddBoolToObject(data, "has_missing", cJSON_GetArraySize(missing) > 0);
	cJSON_AddItemToObject(data, "missing", missing);

	cJSON *p = cJSON_AddObjectToObject(data, "participation");
	unsigned a = d->answered[SIDE_CLIENT] + d->answered[SIDE_PROVIDER];
	unsigned n = d->audience[SIDE_CLIENT] + d->audience[SIDE_PROVIDER];
	cJSON_AddNumberToObject(p, "answered", a);
	cJSON_AddNumberToObject(p, "total", n);
	cJSON_AddNumberToObject(p, "percent", percent(a, n));
	add_former(p, "former", former[SIDE_CLIENT] + former[SIDE_PROVIDER]);
	bool by_side = !(progress && r->anonymous);
	/* In an anonymous round a side with a single contributor is not counted apart: one
	 * writer on a side makes everything that side is seen to have written that person's
	 * (and with a side of one member, says who wrote). The total still says how many. */
	bool lone = false;
	for (int s = 0; s < _SIDE_MAX && r->anonymous && !progress; s++)
		lone = lone || d->answered[s] == 1;
	if (lone) {
		by_side = false;
		cJSON_AddStringToObject(p, "side_withheld",
		                        "a side with a single contributor would point to them");
	}
	cJSON_AddBoolToObject(p, "by_side", by_side);
	if (!by_side) {
		cJSON_AddArrayToObject(p, "sides");
		return;
	}
	cJSON_AddNumberToObject(p, "client_answered", d->answered[SIDE_CLIENT]);
	cJSON_AddNumberToObject(p, "client_total", d->audience[SIDE_CLIENT]);
	add_former(p, "client_former", former[SIDE_CLIENT]);
	cJSON_AddNumberToObject(p, "provider_answered", d->answered[SIDE_PROVIDER]);
	cJSON_AddNumberToObject(p, "provider_total", d->audience[SIDE_PROVIDER]);
	add_former(p, "provider_former", former[SIDE_PROVIDER]);
	cJSON *sides = cJSON_AddArrayToObject(p, "sides");
	for (int s = 0; s < _SIDE_MAX; s++) {
		if (!d->audience[s])
			continue;
		const char *org = s == SIDE_CLIENT ? c->client_name : c->provider_name;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "side", side_to_string(s));
		cJSON_AddStringToObject(o, "name", org ? org : s == SIDE_CLIENT ? "Client" : "Provider");
		cJSON_AddNumberToObject(o, "answered", d->answered[s]);
		cJSON_AddNumberToObject(o, "total", d->audience[s]);
		cJSON_AddNumberToObject(o, "percent", percent(d->answered[s], d->audience[s]));
		cJSON_AddItemToArray(sides, o);
	}
}

/* Everyone who proposed idea x, named ("Aino Virtanen and Grace Hopper", "A, B and C"), or
 * NULL when none can be named (an anonymous round, a withdrawn idea). */
static char *idea_names(const tally *t, const idea *x)
{
	if (x->author == SIZE_MAX)
		return NULL;
	const char **names = xcalloc(x->n_others + 1, sizeof(char *));
	size_t n = 0;
	for (size_t k = 0; k <= x->n_others; k++) {
		const char *name = entry_name(t, &t->entries[k ? x->others[k - 1] : x->author]);
		if (name)
			names[n++] = name;
	}
	strbuf b = {0};
	for (size_t k = 0; k < n; k++)
		strbuf_printf(&b, "%s%s", k == 0 ? "" : k + 1 == n ? " and " : ", ", names[k]);
	free(names);
	return b.s ? strbuf_steal(&b) : NULL;
}

/* Ideas are quotes too, each once with everyone who proposed it (by name, or in an
 * anonymous round how many); non-anonymous rounds also get them listed with their ballot
 * numbers. */
static void add_ideas(cJSON *data, cJSON *quotes, const tally *t, uint64_t seed)
{
	bool anon = t->round->anonymous;
	cJSON *arr = cJSON_CreateArray();
	quote *qs = xcalloc(t->n_ideas + 1, sizeof(quote));
	char **names = xcalloc(t->n_ideas + 1, sizeof(char *));
	size_t nq = 0;
	for (size_t i = 0; i < t->n_ideas; i++)
		if (t->ideas[i].author != SIZE_MAX) { /* a withdrawn idea is nobody's quote */
			names[i] = idea_names(t, &t->ideas[i]);
			qs[nq] = make_quote(t->ideas[i].text, names[i]);
			qs[nq++].proposers = 1 + t->ideas[i].n_others;
		}
	add_quotes(quotes, qs, nq, seed, anon, 0);
	free(qs);
	if (!anon)
		for (size_t i = 0; i < t->n_ideas; i++) {
			const idea *x = &t->ideas[i];
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "number", (double)(i + 1)); /* = the ballot's */
			dg_add_text(o, "text", x->text);
			if (names[i])
				cJSON_AddStringToObject(o, "who", names[i]);
			cJSON_AddNumberToObject(o, "count", x->count);
			if (x->author != SIZE_MAX)
				cJSON_AddNumberToObject(o, "proposers", (double)(1 + x->n_others));
			cJSON_AddItemToArray(arr, o);
		}
	for (size_t i = 0; i < t->n_ideas; i++)
		free(names[i]);
	free(names);
	cJSON_AddBoolToObject(data, "has_ideas", t->n_ideas > 0 && !anon);
	cJSON_AddItemToObject(data, "ideas", arr);
}

typedef struct ranked {
	size_t number;
	long dots;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->dots != y->dots)
		return x->dots > y->dots ? -1 : 1;
	return (x->number > y->number) - (x->number < y->number);
}

static void add_ranking(cJSON *data, const tally *t, const digest_input *in,
                        const split_ctx *x)
{
	ranked *rk = xcalloc(in->n_ideas + 1, sizeof(ranked));
	long maxd = 0, total = 0;
	for (size_t i = 0; i < in->n_ideas; i++)
		rk[i].number = i + 1;
	for (size_t i = 0; i < t->n_entries; i++)
		for (size_t k = 0; k < t->entries[i].n_votes; k++) {
			const rec_vote *v = &t->entries[i].votes[k];
			if (v->idea >= 1 && (size_t)v->idea <= in->n_ideas && v->dots > 0) {
				rk[v->idea - 1].dots += v->dots;
				total += v->dots;
			}
		}
	qsort(rk, in->n_ideas, sizeof *rk, cmp_ranked);
	maxd = in->n_ideas ? rk[0].dots : 0;
	cJSON *arr = cJSON_CreateArray();
	size_t rank = 0;
	for (size_t i = 0; i < in->n_ideas; i++) {
		cJSON *o = cJSON_CreateObject();
		/* Ties share a rank, and the next rank counts the ideas before it: 1, 2, 2, 4. */
		if (i == 0 || rk[i].dots != rk[i - 1].dots)
			rank = i + 1;
		cJSON_AddNumberToObject(o, "rank", (double)rank);
		cJSON_AddNumberToObject(o, "number", (double)rk[i].number);
		dg_add_text(o, "text", in->idea_texts[rk[i].number - 1]);
		cJSON_AddNumberToObject(o, "votes", (double)rk[i].dots);
		cJSON_AddStringToObject(o, "votes_word", rk[i].dots == 1 ? "vote" : "votes");
		dg_add_string(o, "bar", dg_bar((size_t)rk[i].dots, (size_t)maxd));
		cJSON_AddItemToArray(arr, o);
	}
	free(rk);
	split_votes(data, arr, x, t, in->n_ideas);
	cJSON_AddItemToObject(data, "ideas_ranked", arr);
	cJSON_AddNumberToObject(data, "dots_total", (double)total);
}

static cJSON *campaign_json(const coco_campaign *c)
{
	cJSON *co = cJSON_CreateObject();
	cJSON_AddStringToObject(co, "id", c->id);
	cJSON_AddStringToObject(co, "title", c->title ? c->title : c->id);
	cJSON_AddStringToObject(co, "client_name", c->client_name ? c->client_name : "Client");
	cJSON_AddStringToObject(co, "provider_name",
	                        c->provider_name ? c->provider_name : "Provider");
	return co;
}

static cJSON *build_data(digest *d, const digest_input *in, const tally *t, const tally *prev,
                         const tally *history, char *const *history_names, size_t n_history)
{
	const coco_campaign *c = in->campaign;
	const coco_round *r = in->round;
	cJSON *data = cJSON_CreateObject();
	cJSON_AddItemToObject(data, "campaign", campaign_json(c));
	/* A round's section of a periodic digest: the end comes once, after every section. */
	cJSON_AddBoolToObject(data, "in_periodic", in->in_periodic);
	cJSON *ro = cJSON_AddObjectToObject(data, "round");
	cJSON_AddStringToObject(ro, "id", r->id);
	cJSON_AddStringToObject(ro, "title", r->title ? r->title : r->id);
	cJSON_AddStringToObject(ro, "kind", round_kind_to_string(r->kind));
	cJSON_AddBoolToObject(ro, "anonymous", r->anonymous);
	cJSON_AddBoolToObject(ro, "is_prompt", r->kind == ROUND_PROMPT);
	cJSON_AddBoolToObject(ro, "is_survey", r->kind == ROUND_SURVEY);
	cJSON_AddBoolToObject(ro, "is_vote", r->kind == ROUND_VOTE);
	cJSON_AddStringToObject(data, "occurrence", in->occurrence);
	if (in->prev_occurrence)
		cJSON_AddStringToObject(data, "prev_occurrence", in->prev_occurrence);
	char date[32];
	struct tm tm;
	time_t now = (time_t)in->now;
	if (gmtime_r(&now, &tm) && strftime(date, sizeof date, "%Y-%m-%d", &tm))
		cJSON_AddStringToObject(data, "date", date);
	/* An open occurrence: its progress only (digest.h), results come with the close. */
	bool progress = in->in_progress;
	cJSON_AddBoolToObject(data, "in_progress", progress);
	if (!progress) {
		cJSON_AddNumberToObject(data, "records", (double)t->n_records);
		cJSON_AddNumberToObject(data, "bad_lines", (double)t->n_bad);
	}

	add_participation(data, d, t, progress);
	split_ctx x = {
		.name = {[SIDE_CLIENT] = c->client_name ? c->client_name : "Client",
		         [SIDE_PROVIDER] = c->provider_name ? c->provider_name : "Provider"},
		.min_group = c->min_group_size ? c->min_group_size : DIGEST_MIN_GROUP_DEFAULT,
		.gap_tenths = c->gap_tenths ? c->gap_tenths : DIGEST_GAP_TENTHS_DEFAULT,
		.anonymous = r->anonymous,
		.both_sides = d->audience[SIDE_CLIENT] > 0 && d->audience[SIDE_PROVIDER] > 0,
		.history = history,
		.history_names = history_names,
		.n_history = n_history,
		.occurrence = in->occurrence,
	};
	cJSON_AddNumberToObject(data, "min_group", x.min_group);

	/* The seed of the quote order: fixed per occurrence, unknown to nobody, and enough to
	 * break the link between file order (who answered when) and list order. */
	uint64_t seed = fnv1a(FNV_SEED, c->id, strlen(c->id) + 1);
	seed = fnv1a(seed, r->id, strlen(r->id) + 1);
	seed = fnv1a(seed, in->occurrence, strlen(in->occurrence));
	cJSON *qs = cJSON_AddArrayToObject(data, "questions");
	cJSON *quotes = cJSON_CreateArray();
	strbuf trend = {0};
	for (size_t i = 0; i < r->n_questions && !progress; i++)
		add_question(qs, quotes, &trend, t, prev, i, seed, &x);
	if (!progress)
		add_ideas(data, quotes, t, seed);
	else {
		cJSON_AddBoolToObject(data, "has_ideas", false);
		cJSON_AddArrayToObject(data, "ideas");
	}
	cJSON_AddItemToObject(data, "quotes", quotes);
	if (!progress)
		add_ranking(data, t, in, &x);
	else
		cJSON_AddArrayToObject(data, "ideas_ranked");
	if (trend.len)
		cJSON_AddStringToObject(data, "trend", trend.s);
	strbuf_done(&trend);

	if (in->still_open_note)
		cJSON_AddStringToObject(data, "still_open", in->still_open_note);
	cJSON *cm = cJSON_CreateArray();
	for (size_t i = 0; i < in->n_comments; i++) {
		cJSON *o = cJSON_CreateObject();
		dg_add_text(o, "text", in->comments[i]);
		cJSON_AddItemToArray(cm, o);
	}
	cJSON_AddBoolToObject(data, "has_comments", in->n_comments > 0);
	cJSON_AddItemToObject(data, "comments", cm);
	cJSON_AddBoolToObject(data, "room", in->room);
	if (in->web_base && !in->room) {
		_cleanup_free_ char *path = xasprintf("%s/%s", r->id, in->occurrence);
		_cleanup_free_ char *link = digest_web_page(in->web_base, c->id, path);
		cJSON_AddStringToObject(data, "web_link", link);
	}
	return data;
}

/* ---- public API ---- */

/* The occurrences of a repeating round before this one, oldest first, at most
 * DIGEST_SPARK_POINTS - 1 of them: the sparklines' earlier points. Occurrence ids of
 * repeating rounds are dates, so their order is the order of the names. */
static int scan_history(const digest_input *in, tally **ret, char ***ret_names, size_t *ret_n)
{
	*ret = NULL;
	*ret_names = NULL;
	*ret_n = 0;
	if (!in->round->repeat)
		return 0;
	_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s", in->campaign->id,
	                                     in->round->id);
	char **names = NULL;
	int r = store_list(in->store, dir, &names);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t n = 0, first;
	while (names[n] && strcmp(names[n], in->occurrence) < 0)
		n++;
	first = n > DIGEST_SPARK_POINTS - 1 ? n - (DIGEST_SPARK_POINTS - 1) : 0;
	tally *h = xcalloc(n - first + 1, sizeof(tally));
	char **kept = NULL;
	size_t k = 0;
	for (size_t i = first; i < n && r >= 0; i++) {
		if (!name_is_safe(names[i]))
			continue;
		tally_init(&h[k], in->campaign, in->round);
		r = tally_scan(&h[k], in->store, in->campaign->id, in->round->id, names[i]);
		strv_push(&kept, xstrdup(names[i]));
		k++;
	}
	strv_free(names);
	if (r < 0) {
		for (size_t i = 0; i < k; i++)
			tally_done(&h[i]);
		free(h);
		strv_free(kept);
		return r;
	}
	*ret = h;
	*ret_names = kept;
	*ret_n = k;
	return 0;
}

int digest_compute(const digest_input *in, digest **ret)
{
	if (!in || !in->store || !in->campaign || !in->round || !in->occurrence || !ret ||
	    (in->n_ideas && !in->idea_texts) || (in->n_comments && !in->comments))
		return -EINVAL;
	_cleanup_(tally_done) tally cur, prev;
	tally_init(&cur, in->campaign, in->round);
	tally_init(&prev, in->campaign, in->round);
	int r = tally_scan(&cur, in->store, in->campaign->id, in->round->id, in->occurrence);
	if (r < 0)
		return r;
	if (in->prev_occurrence) {
		r = tally_scan(&prev, in->store, in->campaign->id, in->round->id,
		               in->prev_occurrence);
		if (r < 0)
			return r;
	}
	tally *history;
	char **history_names;
	size_t n_history;
	r = scan_history(in, &history, &history_names, &n_history);
	if (r < 0)
		return r;
	digest *d = xcalloc(1, sizeof *d);
	d->n_records = cur.n_records;
	d->n_bad = cur.n_bad;
	d->data = build_data(d, in, &cur, in->prev_occurrence ? &prev : NULL, history,
	                     history_names, n_history);
	for (size_t i = 0; i < n_history; i++)
		tally_done(&history[i]);
	free(history);
	strv_free(history_names);
	if (!d->data) {
		free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

digest *digest_free(digest *d)
{
	if (d) {
		cJSON_Delete(d->data);
		free(d);
	}
	return NULL;
}

void digest_freep(digest **d)
{
	digest_free(*d);
}

size_t digest_n_records(const digest *d)
{
	return d ? d->n_records : 0;
}

size_t digest_n_bad_lines(const digest *d)
{
	return d ? d->n_bad : 0;
}

unsigned digest_answered(const digest *d, coco_side side)
{
	return d && side >= 0 && side < _SIDE_MAX ? d->answered[side] : 0;
}

unsigned digest_audience(const digest *d, coco_side side)
{
	return d && side >= 0 && side < _SIDE_MAX ? d->audience[side] : 0;
}

int digest_to_json(const digest *d, cJSON **ret)
{
	if (!d || !ret)
		return -EINVAL;
	cJSON *j = cJSON_Duplicate(d->data, true);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

/* The digest's data through one template ("digest.md", "digest.html"). */
static int render_template(const digest *d, const char *const *template_dirs, const char *name,
                           char **ret)
{
	if (!d || !template_dirs || !ret)
		return -EINVAL;
	_cleanup_free_ char *text = NULL, *out = NULL, *error = NULL;
	int r = template_dirs_partial(name, &text, (void *)template_dirs);
	if (r < 0)
		return log_error_errno(r, "Cannot find the template %s: %m", name);
	r = template_render(name, text, d->data, template_dirs_partial, (void *)template_dirs,
	                    &out, &error);
	if (r < 0)
		return log_error_errno(r, "%s", error ? error : "cannot render the digest");
	*ret = TAKE_PTR(out);
	return 0;
}

int digest_render(const digest *d, const char *const *template_dirs, char **ret_markdown)
{
	return render_template(d, template_dirs, "digest.md", ret_markdown);
}

int digest_render_chat(const digest *d, const char *const *template_dirs, char **ret_markdown)
{
	if (!d)
		return -EINVAL;
	cJSON_AddBoolToObject(d->data, "chat", true);
	int r = render_template(d, template_dirs, "digest.md", ret_markdown);
	cJSON_DeleteItemFromObjectCaseSensitive(d->data, "chat");
	return r;
}

int digest_render_html(const digest *d, const char *const *template_dirs, char **ret_html)
{
	return render_template(d, template_dirs, "digest.html", ret_html);
}

char *digest_html_document(const char *title, const char *body)
{
	strbuf b = {0};
	strbuf_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
	                "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
	for (const char *p = title ? title : ""; *p; p++) /* the title, HTML-escaped */
		switch (*p) {
		case '&': strbuf_puts(&b, "&amp;"); break;
		case '<': strbuf_puts(&b, "&lt;"); break;
		case '>': strbuf_puts(&b, "&gt;"); break;
		default: strbuf_add(&b, p, 1);
		}
	strbuf_puts(&b, "</title></head>\n<body style=\"margin:0;padding:16px;background:#ffffff;"
	                "color:#222222;font-family:Arial,Helvetica,sans-serif;font-size:15px;"
	                "line-height:1.4\">\n");
	strbuf_puts(&b, body);
	strbuf_puts(&b, "</body></html>\n");
	return strbuf_steal(&b);
}

char *digest_web_page(const char *web_base, const char *campaign, const char *path)
{
	size_t n = strlen(web_base);
	while (n > 0 && web_base[n - 1] == '/')
		n--;
	return xasprintf("%.*s/c/%s/%s", (int)n, web_base, campaign, path ? path : "");
}

int digest_render_end(const coco_campaign *campaign, const char *const *template_dirs,
                      const char *web_base, bool room, bool chat, char **ret_markdown)
{
	if (!campaign || !template_dirs || !ret_markdown)
		return -EINVAL;
	_cleanup_free_ char *text = NULL, *out = NULL, *error = NULL;
	int r = template_dirs_partial("digest-end.md", &text, (void *)template_dirs);
	if (r < 0)
		return log_error_errno(r, "Cannot find the template digest-end.md: %m");
	cJSON *data = cJSON_CreateObject();
	cJSON_AddItemToObject(data, "campaign", campaign_json(campaign));
	cJSON_AddBoolToObject(data, "room", room);
	if (web_base && !room) {
		_cleanup_free_ char *link = digest_web_page(web_base, campaign->id, NULL);
		cJSON_AddStringToObject(data, "web_link", link);
	}
	if (chat)
		cJSON_AddBoolToObject(data, "chat", true);
	r = template_render("digest-end.md", text, data, template_dirs_partial,
	                    (void *)template_dirs, &out, &error);
	cJSON_Delete(data);
	if (r < 0)
		return log_error_errno(r, "%s", error ? error : "digest-end.md: cannot render");
	*ret_markdown = TAKE_PTR(out);
	return 0;
}

int digest_markdown_to_html(const char *md, char **ret_html)
{
	if (!md || !ret_html)
		return -EINVAL;
	char *html = cmark_markdown_to_html(md, strlen(md), CMARK_OPT_DEFAULT | CMARK_OPT_SAFE);
	if (!html)
		return -ENOMEM;
	*ret_html = html;
	return 0;
}

int digest_write(store *st, const char *campaign, const char *name, const char *md,
                 const char *html_given)
{
	if (!st || !campaign || !name || !md || !name_is_safe(campaign) || !name_is_safe(name))
		return -EINVAL;
	_cleanup_free_ char *html = html_given ? xstrdup(html_given) : NULL;
	int r = html ? 0 : digest_markdown_to_html(md, &html);
	if (r < 0)
		return r;
	_cleanup_free_ char *p_md = xasprintf("campaigns/%s/digests/%s.md", campaign, name);
	_cleanup_free_ char *p_html = xasprintf("campaigns/%s/digests/%s.html", campaign, name);
	/* The HTML first: whoever sees the .md may expect its .html beside it. */
	r = store_replace(st, p_html, html, strlen(html));
	if (r < 0)
		return r;
	return store_replace(st, p_md, md, strlen(md));
}

int digest_collect_ideas(store *st, const char *campaign, const char *round,
                         const char *occurrence, char ***ret_ideas)
{
	if (!ret_ideas)
		return -EINVAL;
	_cleanup_(tally_done) tally t;
	tally_init(&t, NULL, NULL);
	int r = tally_scan(&t, st, campaign, round, occurrence);
	if (r < 0)
		return r;
	char **v = xcalloc(t.n_ideas + 1, sizeof(char *));
	for (size_t i = 0; i < t.n_ideas; i++)
		v[i] = TAKE_PTR(t.ideas[i].text);
	*ret_ideas = v;
	return 0;
}

typedef struct ballot_slot {
	uint64_t order;
	size_t first_seen;
} ballot_slot;

/* splitmix64's finaliser: FNV over a small integer keeps neighbours in order (a rotation,
 * not a shuffle), this spreads every bit over the whole word. */
static uint64_t mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static int cmp_slot(const void *a, const void *b)
{
	const ballot_slot *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return (x->first_seen > y->first_seen) - (x->first_seen < y->first_seen);
}

int digest_ballot(store *st, const coco_campaign *camp, const coco_round *source,
                  const char *occurrence, char ***ret_ideas)
{
	if (!camp || !source || !occurrence || !ret_ideas)
		return -EINVAL;
	char **v = NULL;
	int r = digest_collect_ideas(st, camp->id, source->id, occurrence, &v);
	if (r < 0)
		return r;
	size_t n = strv_length(v);
	if (source->anonymous && n > 1) {
		uint64_t seed = fnv1a(FNV_SEED, camp->id, strlen(camp->id) + 1);
		seed = fnv1a(seed, source->id, strlen(source->id) + 1);
		seed = fnv1a(seed, occurrence, strlen(occurrence));
		ballot_slot *s = xcalloc(n, sizeof *s);
		for (size_t i = 0; i < n; i++)
			s[i] = (ballot_slot){.order = mix64(seed ^ mix64(i)), .first_seen = i};
		qsort(s, n, sizeof *s, cmp_slot);
		char **w = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			w[i] = v[s[i].first_seen];
		free(v);
		free(s);
		v = w;
	}
	*ret_ideas = v;
	return 0;
}

int digest_forgotten_members(store *st, const char *campaign, const char *round,
                             const char *occurrence, char ***ret_pseudos)
{
	if (!ret_pseudos)
		return -EINVAL;
	_cleanup_(tally_done) tally t;
	tally_init(&t, NULL, NULL);
	int r = tally_scan(&t, st, campaign, round, occurrence);
	if (r < 0)
		return r;
	*ret_pseudos = TAKE_PTR(t.forgotten);
	return 0;
}

coco_campaign *digest_without_forgotten(store *st, const struct secret *key,
                                        const coco_campaign *camp, const coco_round *r,
                                        const char *occurrence)
{
	char **gone = NULL;
	if (digest_forgotten_members(st, camp->id, r->id, occurrence, &gone) < 0 || !gone)
		return NULL;
	coco_campaign *copy = xcalloc(1, sizeof *copy);
	*copy = *camp;
	coco_member *members = xcalloc(camp->n_members + 1, sizeof *members);
	size_t n = 0;
	for (size_t i = 0; i < camp->n_members; i++) {
		char pseudo[SECRET_PSEUDO_LEN + 1];
		bool forgotten = false;
		secret_pseudonym(key, camp->id, camp->members[i].id, pseudo);
		for (char **g = gone; *g && !forgotten; g++)
			forgotten = STREQ(*g, pseudo);
		if (!forgotten)
			members[n++] = camp->members[i];
	}
	strv_free(gone);
	copy->members = members;
	copy->n_members = n; /* the member index is the original's: campaign_find_member() scans */
	return copy;
}

void digest_campaign_copy_free(coco_campaign *copy)
{
	if (copy) {
		free(copy->members);
		free(copy);
	}
}

int digest_answered_members(store *st, const char *campaign, const char *round,
                            const char *occurrence, char ***ret_member_ids)
{
	if (!ret_member_ids)
		return -EINVAL;
	_cleanup_(tally_done) tally t;
	tally_init(&t, NULL, NULL);
	int r = tally_scan(&t, st, campaign, round, occurrence);
	if (r < 0)
		return r;
	char **v = xcalloc(t.n_entries + 1, sizeof(char *));
	for (size_t i = 0; i < t.n_entries; i++)
		v[i] = xstrdup(t.entries[i].key);
	*ret_member_ids = v;
	return 0;
}

int digest_complete_members(store *st, const coco_campaign *camp, const coco_round *round,
                            const char *occurrence, char ***ret_member_ids)
{
	if (!camp || !round || !ret_member_ids)
		return -EINVAL;
	bool any_required = false;
	for (size_t q = 0; q < round->n_questions; q++)
		any_required = any_required || round->questions[q].required;
	if (round->kind != ROUND_SURVEY || !any_required)
		return digest_answered_members(st, camp->id, round->id, occurrence, ret_member_ids);
	_cleanup_(tally_done) tally t;
	tally_init(&t, camp, round);
	int r = tally_scan(&t, st, camp->id, round->id, occurrence);
	if (r < 0)
		return r;
	char **v = xcalloc(t.n_entries + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < t.n_entries; i++) {
		bool complete = true;
		for (size_t q = 0; q < round->n_questions && complete; q++)
			complete = !round->questions[q].required ||
			           t.entries[i].slots[q].state != SLOT_NONE;
		if (complete)
			v[n++] = xstrdup(t.entries[i].key);
	}
	*ret_member_ids = v;
	return 0;
}
