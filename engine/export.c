/* export: a campaign's answers as CSV or JSON; see export.h. */
#define _GNU_SOURCE
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "digest.h"
#include "schedule.h"
#include "util.h"

enum { COL_CAMPAIGN, COL_ROUND, COL_OCC, COL_TIME, COL_MEMBER, COL_SIDE, COL_QNO, COL_Q,
       COL_QTEXT, COL_VALUE, COL_STATUS, COLS };

/* A row held back: a member's file sorts an anonymous round's rows before writing them. */
typedef struct row {
	char *f[COLS];
	char *who;   /* the pseudonym, to count answerers; never written */
	int group;   /* question index; ideas n_questions; votes n_questions + 1 */
	long idea;   /* votes: the idea's number */
	bool answer; /* an answer (not a skip): counts as an answerer of its group */
} row;

typedef struct export_ctx {
	const export_input *in;
	const coco_round *r;
	const char *occurrence;
	bool hold; /* rows go into `held` (a member's file, an anonymous round) */
	bool coarse; /* the admin's file of an anonymous round: the day, not in arrival order */
	strbuf out;
	cJSON *records; /* JSON: every record; CSV: the records of the file being read */
	char **ballot;
	row *held;
	size_t n_held;
	size_t rows;
} export_ctx;

static const char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t json_i64(const cJSON *o, const char *k, int64_t def)
{
	int64_t v;
	return json_get_int64(o, k, &v) >= 0 ? v : def;
}

/* One cell. A cell a spreadsheet would take for a formula (=, +, -, @, tab, CR first) gets
 * a leading single quote; a cell with a comma, a quote or a line break is quoted, quotes
 * doubled (RFC 4180). */
static void csv_field(strbuf *b, const char *s, bool last)
{
	if (!s)
		s = "";
	bool formula = s[0] && strchr("=+-@\t\r", s[0]);
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		strbuf_putc(b, '"');
	if (formula)
		strbuf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_putc(b, '"');
		strbuf_putc(b, *s);
	}
	if (quote)
		strbuf_putc(b, '"');
	strbuf_puts(b, last ? "\r\n" : ",");
}

/* "2026-12-02T10:15:07+02:00" in the campaign's zone. */
static char *iso_time(int64_t t, const char *tz)
{
	coco_localtime lt;
	int off = 0;
	if (schedule_utc_to_local(t, tz, &lt, &off) < 0)
		return xasprintf("%lld", (long long)t);
	int sec = (int)(((t % 60) + 60) % 60), a = off < 0 ? -off : off;
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", lt.year, lt.month, lt.day,
	                 lt.hour, lt.minute, sec, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* "2026-12-02", the day in the campaign's zone: when an anonymous answer came, no closer
 * (the second it came, next to a mail server's log, says whose it is). */
static char *iso_day(int64_t t, const char *tz)
{
	coco_localtime lt;
	int off = 0;
	if (schedule_utc_to_local(t, tz, &lt, &off) < 0)
		return xstrdup("");
	return xasprintf("%04d-%02d-%02d", lt.year, lt.month, lt.day);
}

/* Who answered: the member id, or "anon-PSEUDONYM" in anonymous rounds. */
static char *record_who(const cJSON *rec)
{
	const char *m = json_str(rec, "member"), *p = json_str(rec, "pseudo");
	return m ? xstrdup(m) : p ? xasprintf("anon-%s", p) : xstrdup("");
}

static void write_row(export_ctx *x, char *const f[COLS])
{
	for (int i = 0; i < COLS; i++)
		csv_field(&x->out, f[i], i == COLS - 1);
	x->rows++;
}

static void add_row(export_ctx *x, const cJSON *rec, int group, long idea, const char *qno,
                    const char *question, const char *text, const char *value, bool current,
                    bool answer)
{
	_cleanup_free_ char *who = record_who(rec);
	row w = {.group = group, .idea = idea, .answer = answer};
	w.f[COL_CAMPAIGN] = x->in->campaign->id;
	w.f[COL_ROUND] = x->r->id;
	w.f[COL_OCC] = (char *)x->occurrence;
	w.f[COL_SIDE] = (char *)json_str(rec, "side");
	w.f[COL_QNO] = (char *)qno;
	w.f[COL_Q] = (char *)question;
	w.f[COL_QTEXT] = (char *)text;
	w.f[COL_VALUE] = (char *)value;
	w.f[COL_STATUS] = current ? "current" : "superseded";
	if (!x->hold && !x->coarse) {
		_cleanup_free_ char *at = iso_time(json_i64(rec, "at", 0), x->in->campaign->timezone);
		w.f[COL_TIME] = at;
		w.f[COL_MEMBER] = who;
		write_row(x, w.f);
		return;
	}
	if (x->coarse) {
		/* Held to be written in the pseudonyms' order, with the day. */
		_cleanup_free_ char *day = iso_day(json_i64(rec, "at", 0), x->in->campaign->timezone);
		w.f[COL_TIME] = day;
		w.f[COL_MEMBER] = who;
		for (int i = 0; i < COLS; i++)
			w.f[i] = w.f[i] ? xstrdup(w.f[i]) : NULL;
		x->held = xrealloc(x->held, (x->n_held + 1) * sizeof *x->held);
		x->held[x->n_held++] = w;
		return;
	}
	/* Held: no time, no one named; the side is decided once the file is read. */
	for (int i = 0; i < COLS; i++)
		w.f[i] = i == COL_TIME ? NULL : i == COL_MEMBER ? xstrdup("anonymous")
		                                                : w.f[i] ? xstrdup(w.f[i]) : NULL;
	w.who = TAKE_PTR(who);
	x->held = xrealloc(x->held, (x->n_held + 1) * sizeof *x->held);
	x->held[x->n_held++] = w;
}

/* A question's row: its number (as members answer it, "1: 4") and text. */
static void question_row(export_ctx *x, const cJSON *rec, const char *qid, const char *value,
                         bool current, bool answer)
{
	_cleanup_free_ char *no = NULL;
	const char *text = NULL;
	int group = -1;
	for (size_t i = 0; i < x->r->n_questions; i++)
		if (STREQ(x->r->questions[i].id, qid)) {
			no = xasprintf("%zu", i + 1);
			text = x->r->questions[i].text;
			group = (int)i;
		}
	if (group < 0)
		group = (int)x->r->n_questions + 2; /* a question no longer configured: last */
	add_row(x, rec, group, 0, no, qid, text, value, current, answer);
}

/* Records of one file, in order: a later record of the same member supersedes an earlier
 * answer to the same question (a skip too), and a record with votes the earlier votes;
 * ideas accumulate. `last` maps "who\x1fquestion" and "who\x1f" (votes) to the index of
 * the record holding the current value. */
static void csv_file(export_ctx *x)
{
	cJSON *last = cJSON_CreateObject(), *rec, *it;
	int i = 0;
	cJSON_ArrayForEach(rec, x->records)
	{
		_cleanup_free_ char *who = record_who(rec);
		cJSON *lists[] = {cJSON_GetObjectItem(rec, "answers"), cJSON_GetObjectItem(rec, "skips")};
		for (size_t l = 0; l < ELEMENTSOF(lists); l++)
			cJSON_ArrayForEach(it, lists[l])
			{
				const char *q = l == 0 ? it->string : cJSON_IsString(it) ? it->valuestring : NULL;
				if (!q)
					continue;
				_cleanup_free_ char *k = xasprintf("%s\x1f%s", who, q);
				cJSON_DeleteItemFromObjectCaseSensitive(last, k);
				cJSON_AddNumberToObject(last, k, i);
			}
		if (cJSON_GetArraySize(cJSON_GetObjectItem(rec, "votes")) > 0) {
			_cleanup_free_ char *k = xasprintf("%s\x1f", who);
			cJSON_DeleteItemFromObjectCaseSensitive(last, k);
			cJSON_AddNumberToObject(last, k, i);
		}
		i++;
	}
	const char *title = x->r->title ? x->r->title : x->r->id;
	int n_q = (int)x->r->n_questions;
	i = 0;
	cJSON_ArrayForEach(rec, x->records)
	{
		_cleanup_free_ char *who = record_who(rec);
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "answers"))
		{
			if (!it->string) /* "answers" written as an array: not a record we wrote */
				continue;
			_cleanup_free_ char *k = xasprintf("%s\x1f%s", who, it->string);
			bool current = json_i64(last, k, -1) == i;
			if (!current && !x->in->history)
				continue;
			if (cJSON_IsString(it))
				question_row(x, rec, it->string, it->valuestring, current, true);
			else if (cJSON_IsArray(it)) {
				strbuf v = {0};
				cJSON *e;
				cJSON_ArrayForEach(e, it)
				{
					if (v.len)
						strbuf_putc(&v, '|');
					strbuf_puts(&v, cJSON_IsString(e) ? e->valuestring : "");
				}
				question_row(x, rec, it->string, v.s ? v.s : "", current, true);
				strbuf_done(&v);
			}
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "skips"))
		{
			if (!cJSON_IsString(it))
				continue;
			_cleanup_free_ char *k = xasprintf("%s\x1f%s", who, it->valuestring);
			bool current = json_i64(last, k, -1) == i;
			if (current || x->in->history)
				question_row(x, rec, it->valuestring, "(skipped)", current, false);
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "ideas"))
		if (cJSON_IsString(it))
			add_row(x, rec, n_q, 0, NULL, "idea", title, it->valuestring, true, true);
		_cleanup_free_ char *vk = xasprintf("%s\x1f", who);
		bool current = json_i64(last, vk, -1) == i;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "votes"))
		{
			if (!current && !x->in->history)
				break;
			if (!it->string)
				continue;
			long n = 0;
			const char *idea = NULL;
			if (parse_long(it->string, 1, 100000, &n) >= 0 && (size_t)n <= strv_length(x->ballot))
				idea = x->ballot[n - 1];
			_cleanup_free_ char *q = xasprintf("vote:%s", it->string);
			_cleanup_free_ char *v = xasprintf("%d", it->valueint);
			add_row(x, rec, n_q + 1, n, it->string, q, idea, v, current, true);
		}
		i++;
	}
	cJSON_Delete(last);
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* For counting: group, side, who. */
static int cmp_count(const void *pa, const void *pb)
{
	const row *a = pa, *b = pb;
	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	int k = cmp_str(a->f[COL_SIDE], b->f[COL_SIDE]);
	return k ? k : cmp_str(a->who, b->who);
}

/* The order written: question, idea number, value, side. Nothing of who or when. */
static int cmp_out(const void *pa, const void *pb)
{
	const row *a = pa, *b = pb;
	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->idea != b->idea)
		return a->idea < b->idea ? -1 : 1;
	int k = cmp_str(a->f[COL_Q], b->f[COL_Q]);
	if (!k)
		k = cmp_str(a->f[COL_VALUE], b->f[COL_VALUE]);
	return k ? k : cmp_str(a->f[COL_SIDE], b->f[COL_SIDE]);
}

/* The held rows of an anonymous round: the side stays on a group's rows only when each
 * side has MinGroupSize= answerers in it (as the digest's split), then sorted and written. */
static void flush_held(export_ctx *x)
{
	const coco_campaign *camp = x->in->campaign;
	unsigned min = camp->min_group_size ? camp->min_group_size : DIGEST_MIN_GROUP_DEFAULT;
	qsort(x->held, x->n_held, sizeof *x->held, cmp_count);
	for (size_t i = 0; i < x->n_held;) {
		size_t j = i;
		unsigned client = 0, provider = 0;
		const row *prev = NULL;
		for (; j < x->n_held && x->held[j].group == x->held[i].group; j++) {
			const row *w = &x->held[j];
			if (!w->answer)
				continue;
			if (prev && cmp_count(prev, w) == 0)
				continue; /* the same answerer again (several ideas, votes) */
			prev = w;
			const char *s = w->f[COL_SIDE];
			client += s && STREQ(s, "client");
			provider += s && STREQ(s, "provider");
		}
		if (client < min || provider < min)
			for (size_t k = i; k < j; k++) {
				free(x->held[k].f[COL_SIDE]);
				x->held[k].f[COL_SIDE] = NULL;
			}
		i = j;
	}
	qsort(x->held, x->n_held, sizeof *x->held, cmp_out);
	for (size_t i = 0; i < x->n_held; i++) {
		write_row(x, x->held[i].f);
		for (int k = 0; k < COLS; k++)
			free(x->held[i].f[k]);
		free(x->held[i].who);
	}
	free(x->held);
	x->held = NULL;
	x->n_held = 0;
}

/* The admin's order for an anonymous round: by pseudonym (a keyed hash: no relation to who
 * answered first), then as a member's file orders; a pseudonym's superseded rows before its
 * current ones. */
static int cmp_coarse(const void *pa, const void *pb)
{
	const row *a = pa, *b = pb;
	int k = cmp_str(a->f[COL_MEMBER], b->f[COL_MEMBER]);
	if (!k)
		k = cmp_out(pa, pb);
	return k ? k : -cmp_str(a->f[COL_STATUS], b->f[COL_STATUS]);
}

static void flush_coarse(export_ctx *x)
{
	qsort(x->held, x->n_held, sizeof *x->held, cmp_coarse);
	for (size_t i = 0; i < x->n_held; i++) {
		write_row(x, x->held[i].f);
		for (int k = 0; k < COLS; k++)
			free(x->held[i].f[k]);
	}
	free(x->held);
	x->held = NULL;
	x->n_held = 0;
}

/* JSON of an anonymous round: "at" becomes "date", the day. */
static void coarsen_record(export_ctx *x, cJSON *rec)
{
	_cleanup_free_ char *day = iso_day(json_i64(rec, "at", 0), x->in->campaign->timezone);
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "at");
	cJSON_AddStringToObject(rec, "date", day);
}

static int cmp_pseudo(const void *pa, const void *pb)
{
	const cJSON *a = *(const cJSON *const *)pa, *b = *(const cJSON *const *)pb;
	return cmp_str(json_str(a, "pseudo"), json_str(b, "pseudo"));
}

static int on_line(const char *line, size_t len, void *userdata)
{
	export_ctx *x = userdata;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (!rec || cJSON_IsTrue(cJSON_GetObjectItem(rec, "erased"))) {
		cJSON_Delete(rec);
		return 0;
	}
	cJSON_DeleteItemFromObject(rec, "key"); /* message ids are nobody's business */
	if (x->in->json) {
		cJSON_AddStringToObject(rec, "campaign", x->in->campaign->id);
		cJSON_AddStringToObject(rec, "round", x->r->id);
		cJSON_AddStringToObject(rec, "occurrence", x->occurrence);
		if (x->r->anonymous)
			coarsen_record(x, rec);
		x->rows++;
	}
	cJSON_AddItemToArray(x->records, rec);
	return 0;
}

static int export_file(export_ctx *x, const coco_round *r, const char *occ)
{
	const export_input *in = x->in;
	if (in->include && !in->include(r, occ, in->userdata))
		return 0;
	_cleanup_free_ char *path = xasprintf("campaigns/%s/rounds/%s/%s/answers.jsonl",
	                                      in->campaign->id, r->id, occ);
	x->r = r;
	x->occurrence = occ;
	if (in->json && !r->anonymous)
		return store_scan(in->store, path, on_line, x);
	if (in->json) {
		/* An anonymous round's records in the pseudonyms' order, not as they came (a
		 * stable sort: each pseudonym's own records stay in their order). */
		cJSON *all = x->records;
		x->records = cJSON_CreateArray();
		int k = store_scan(in->store, path, on_line, x);
		size_t n = (size_t)cJSON_GetArraySize(x->records), i = 0;
		cJSON **v = xcalloc(n + 1, sizeof *v), *e;
		while ((e = x->records->child))
			v[i++] = cJSON_DetachItemViaPointer(x->records, e);
		for (size_t a = 1; a < n; a++) /* insertion sort: stable */
			for (size_t b = a; b > 0 && cmp_pseudo(&v[b - 1], &v[b]) > 0; b--) {
				cJSON *t = v[b];
				v[b] = v[b - 1];
				v[b - 1] = t;
			}
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(all, v[i]);
		free(v);
		cJSON_Delete(x->records);
		x->records = all;
		return k;
	}
	x->records = cJSON_CreateArray();
	x->hold = in->for_member && r->anonymous;
	x->coarse = !in->for_member && r->anonymous;
	int k = store_scan(in->store, path, on_line, x);
	if (k >= 0) {
		x->ballot = r->kind == ROUND_VOTE && in->ballot ? in->ballot(r, occ, in->userdata)
		                                                : NULL;
		csv_file(x);
		if (x->hold)
			flush_held(x);
		else if (x->coarse)
			flush_coarse(x);
		strv_free(x->ballot);
		x->ballot = NULL;
	}
	cJSON_Delete(x->records);
	x->records = NULL;
	return k;
}

int export_campaign(const export_input *in, char **ret_data, size_t *ret_rows)
{
	if (!in || !in->store || !in->campaign || !ret_data ||
	    (in->for_member && (in->json || in->history)))
		return -EINVAL;
	const coco_campaign *camp = in->campaign;
	export_ctx x = {.in = in};
	cJSON *all = NULL;
	if (in->json)
		x.records = all = cJSON_CreateArray();
	else
		strbuf_puts(&x.out, EXPORT_CSV_HEADER);
	int k = 0;
	for (size_t i = 0; i < camp->n_rounds && k >= 0; i++) {
		_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s", camp->id,
		                                     camp->rounds[i].id);
		char **occs = NULL;
		if (store_list(in->store, dir, &occs) < 0)
			continue;
		for (char **o = occs; *o && k >= 0; o++) {
			k = export_file(&x, &camp->rounds[i], *o);
			if (k == -ENOENT)
				k = 0; /* an occurrence directory without answers */
		}
		strv_free(occs);
	}
	if (k < 0) {
		cJSON_Delete(all);
		strbuf_done(&x.out);
		return k;
	}
	if (in->json) {
		char *s = cJSON_Print(all);
		strbuf_puts(&x.out, s ? s : "[]");
		strbuf_putc(&x.out, '\n');
		free(s);
		cJSON_Delete(all);
	}
	*ret_data = strbuf_steal(&x.out);
	if (ret_rows)
		*ret_rows = x.rows;
	return 0;
}
