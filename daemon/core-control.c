/* core-control: the admin commands cococtl sends over the control socket. Each one that
 * changes something is written to the audit log. `forget` lives in core-forget.c. */
#define _GNU_SOURCE
#include <string.h>

#include "clock.h"
#include "core-private.h"
#include "schedule.h"
#include "util.h"

/* "campaign/round", or a round id that only one campaign has. */
static int resolve_round(core *c, const char *name, const coco_campaign **ret_camp,
                         campaign_rt **ret_ct, round_rt **ret_rt, char **ret_error)
{
	const char *slash = name ? strchr(name, '/') : NULL;
	const coco_campaign *found = NULL;
	unsigned n = 0;
	if (!name) {
		*ret_error = xstrdup("which round? give CAMPAIGN/ROUND or ROUND");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->cfg->n_campaigns; i++) {
		const coco_campaign *camp = &c->cfg->campaigns[i];
		if (slash) {
			if (strlen(camp->id) == (size_t)(slash - name) &&
			    strncmp(camp->id, name, (size_t)(slash - name)) == 0 &&
			    campaign_find_round(camp, slash + 1)) {
				found = camp;
				n = 1;
			}
		} else if (campaign_find_round(camp, name)) {
			found = camp;
			n++;
		}
	}
	if (n == 0) {
		*ret_error = xasprintf("no round \"%s\" (see cococtl rounds)", name);
		return -ENOENT;
	}
	if (n > 1) {
		*ret_error = xasprintf("round \"%s\" exists in %u campaigns: say CAMPAIGN/%s", name, n,
		                       name);
		return -EINVAL;
	}
	campaign_rt *ct = ct_find(c, found->id);
	round_rt *rt = ct ? rt_find(ct, slash ? slash + 1 : name) : NULL;
	if (!rt) {
		*ret_error = xasprintf("round \"%s\" has no state yet", name);
		return -ENOENT;
	}
	*ret_camp = found;
	*ret_ct = ct;
	*ret_rt = rt;
	return 0;
}

static const char *arg(const cJSON *req, const char *k)
{
	return core_json_str(req, k);
}

static int cmd_rounds(core *c, const cJSON *req, cJSON **ret, char **ret_error)
{
	const char *want = arg(req, "campaign");
	if (want && !config_find_campaign(c->cfg, want)) {
		*ret_error = xasprintf("no campaign \"%s\"", want);
		return -ENOENT;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(o, "rounds");
	for (size_t ci = 0; ci < c->n_camps; ci++) {
		campaign_rt *ct = &c->camps[ci];
		const coco_campaign *camp = config_find_campaign(c->cfg, ct->id);
		if (!camp || (want && !STREQ(want, ct->id)))
			continue;
		for (size_t i = 0; i < ct->n_rounds; i++) {
			round_rt *rt = &ct->rounds[i];
			const coco_round *r = campaign_find_round(camp, rt->id);
			if (!r)
				continue;
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "campaign", camp->id);
			cJSON_AddStringToObject(e, "round", r->id);
			cJSON_AddStringToObject(e, "kind", round_kind_to_string(r->kind));
			cJSON_AddStringToObject(e, "state", round_state_names[rt->state]);
			if (rt->occurrence)
				cJSON_AddStringToObject(e, "occurrence", rt->occurrence);
			int64_t next = rt->state == RS_SCHEDULED ? rt->open_at
			               : rt->state == RS_OPEN    ? rt->close_at
			                                         : 0;
			if (next == INT64_MAX) {
				cJSON_AddStringToObject(e, "next_event", "opens");
				cJSON_AddStringToObject(e, "next_at", "by hand (cococtl open)");
			} else if (next) {
				_cleanup_free_ char *s = schedule_format_local(next, camp->timezone);
				cJSON_AddStringToObject(e, "next_event", rt->state == RS_SCHEDULED
				                                                 ? "opens" : "closes");
				cJSON_AddStringToObject(e, "next_at", s ? s : "?");
			}
			unsigned total = 0, answered = 0;
			for (size_t m = 0; m < camp->n_members; m++) {
				if (!round_has_member(r, &camp->members[m]))
					continue;
				total++;
				if (rt->occurrence &&
				    has_answered(c, camp, r, rt, &camp->members[m]))
					answered++;
			}
			cJSON_AddNumberToObject(e, "answered", answered);
			cJSON_AddNumberToObject(e, "total", total);
			cJSON_AddItemToArray(list, e);
		}
	}
	*ret = o;
	return 0;
}

static int cmd_transition(core *c, const char *cmd, const cJSON *req, cJSON **ret,
                          char **ret_error)
{
	const coco_campaign *camp;
	campaign_rt *ct;
	round_rt *rt;
	int r = resolve_round(c, arg(req, "round"), &camp, &ct, &rt, ret_error);
	if (r < 0)
		return r;
	cJSON *o = cJSON_CreateObject();
	if (STREQ(cmd, "open")) {
		if (rt->state != RS_SCHEDULED) {
			cJSON_Delete(o);
			*ret_error = xasprintf("%s/%s is %s, not scheduled", camp->id, rt->id,
			                       round_state_names[rt->state]);
			return -EBUSY;
		}
		r = round_open_by_hand(c, camp, ct, rt, ret_error);
		if (r < 0) {
			cJSON_Delete(o);
			if (rt->state == RS_OPEN)
				core_audit(c, cmd, camp->id, rt->id, "failed to write");
			return r;
		}
	} else if (STREQ(cmd, "close")) {
		if (rt->state != RS_OPEN) {
			cJSON_Delete(o);
			*ret_error = xasprintf("%s/%s is %s, not open", camp->id, rt->id,
			                       round_state_names[rt->state]);
			return -EBUSY;
		}
		/* Said back: what was closed, not the next occurrence it moved on to. */
		_cleanup_free_ char *closed_occ = rt->occurrence ? xstrdup(rt->occurrence) : NULL;
		r = round_close(c, camp, ct, rt, "by cococtl");
		if (closed_occ)
			cJSON_AddStringToObject(o, "closed", closed_occ);
		if (r < 0) {
			cJSON_Delete(o);
			core_audit(c, cmd, camp->id, rt->id, "failed to write");
			*ret_error = xasprintf("%s/%s is closed, but its digest or state could not be "
			                       "written (%s); cocod retries every minute, see the log",
			                       camp->id, rt->id, strerror(-r));
			return r;
		}
	} else {
		if (rt->state != RS_OPEN) {
			cJSON_Delete(o);
			*ret_error = xasprintf("%s/%s is %s: only open rounds have reminders", camp->id,
			                       rt->id, round_state_names[rt->state]);
			return -EBUSY;
		}
		unsigned n = 0;
		cJSON *skipped = cJSON_CreateArray();
		round_remind(c, camp, ct, rt, true, cJSON_IsTrue(cJSON_GetObjectItem(req, "force")),
		             &n, skipped);
		cJSON_AddNumberToObject(o, "reminded", n);
		cJSON_AddItemToObject(o, "skipped", skipped);
	}
	core_audit(c, cmd, camp->id, rt->id, NULL);
	cJSON_AddStringToObject(o, "campaign", camp->id);
	cJSON_AddStringToObject(o, "round", rt->id);
	cJSON_AddStringToObject(o, "state", round_state_names[rt->state]);
	if (rt->occurrence)
		cJSON_AddStringToObject(o, "occurrence", rt->occurrence);
	*ret = o;
	return 0;
}

/* ---- rejected messages, for status -------------------------------------------------- */

typedef struct rejected_ctx {
	int64_t count, last_at;
	char *last_reason;
} rejected_ctx;

static int on_rejected_line(const char *line, size_t len, void *userdata)
{
	rejected_ctx *x = userdata;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const char *reason = core_json_str(o, "reason");
	if (reason && !cJSON_IsTrue(cJSON_GetObjectItem(o, "erased"))) {
		x->count++;
		x->last_at = core_json_i64(o, "at", 0);
		free(x->last_reason);
		x->last_reason = xstrdup(reason);
	}
	cJSON_Delete(o);
	return 0;
}

cJSON *core_rejected_summary(core *c)
{
	static const char path[] = "rejected/messages.jsonl";
	rejected_ctx x = {0};
	if (store_exists(c->st, path) > 0)
		(void)store_scan(c->st, path, on_rejected_line, &x);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", (double)x.count);
	_cleanup_free_ char *full = xasprintf("%s/%s", store_root(c->st), path);
	cJSON_AddStringToObject(o, "path", full);
	if (x.last_reason) {
		cJSON_AddNumberToObject(o, "last_at", (double)x.last_at);
		cJSON_AddStringToObject(o, "last_reason", x.last_reason);
	}
	free(x.last_reason);
	return o;
}

static int cmd_digest(core *c, const cJSON *req, cJSON **ret, char **ret_error)
{
	const char *cid = arg(req, "campaign"), *rid = arg(req, "round");
	const coco_campaign *camp = cid ? config_find_campaign(c->cfg, cid) : NULL;
	campaign_rt *ct = camp ? ct_find(c, camp->id) : NULL;
	if (!ct) {
		*ret_error = xasprintf("no campaign \"%s\"", cid ? cid : "");
		return -ENOENT;
	}
	cJSON *o = cJSON_CreateObject();
	if (!rid) {
		int n = periodic_digest(c, camp, ct);
		if (n < 0) {
			cJSON_Delete(o);
			*ret_error = xasprintf("cannot publish the periodic digest of %s (see the log)",
			                       camp->id);
			return n;
		}
		int r = core_ct_save(c, ct);
		if (r < 0) {
			cJSON_Delete(o);
			*ret_error = xasprintf("the state of %s could not be saved (%s); see the log",
			                       camp->id, strerror(-r));
			return r;
		}
		core_audit(c, "digest", camp->id, NULL, NULL);
		cJSON_AddNumberToObject(o, "rounds", n); /* not the save's 0: what was sent */
		*ret = o;
		return 0;
	}
	round_rt *rt = rt_find(ct, rid);
	if (!rt) {
		cJSON_Delete(o);
		*ret_error = xasprintf("no round \"%s\" in campaign %s", rid, camp->id);
		return -ENOENT;
	}
	/* The current occurrence, or the last one if the next has not opened yet. */
	char *saved = NULL;
	if (rt->state == RS_SCHEDULED && rt->prev_occurrence) {
		saved = rt->occurrence;
		rt->occurrence = rt->prev_occurrence;
	}
	_cleanup_free_ char *md = NULL, *html = NULL;
	int64_t lines;
	char **comments = comments_since(c, camp->id, ct->comments_seen, &lines);
	int r = compile_round_digest(c, camp, ct, rt, comments, &md, &html);
	strv_free(comments);
	/* A round still open gets a progress report of its own name (and spool ids): the
	 * digest of its close must still go out when it closes. */
	_cleanup_free_ char *name = NULL;
	if (r >= 0 && rt->state == RS_OPEN) {
		coco_localtime lt = {0};
		(void)schedule_utc_to_local(clock_now(), camp->timezone, &lt, NULL);
		name = xasprintf("%s-%s-progress-%04d%02d%02d-%02d%02d", rt->id, rt->occurrence,
		                 lt.year, lt.month, lt.day, lt.hour, lt.minute);
	} else if (r >= 0)
		name = xasprintf("%s-%s", rt->id, rt->occurrence);
	if (saved)
		rt->occurrence = saved;
	if (r < 0) {
		cJSON_Delete(o);
		*ret_error = xasprintf("cannot compile the digest of %s/%s (see the log)", camp->id,
		                       rid);
		return r;
	}
	r = publish_digest(c, camp, campaign_find_round(camp, rid), name, md, html);
	if (r >= 0) {
		ct->last_digest = clock_now();
		ct->comments_seen = lines;
		r = core_ct_save(c, ct);
	}
	if (r < 0) {
		cJSON_Delete(o);
		*ret_error = xasprintf("the digest of %s/%s could not be written (%s); see the log",
		                       camp->id, rid, strerror(-r));
		return r;
	}
	core_audit(c, "digest", camp->id, rid, NULL);
	cJSON_AddStringToObject(o, "markdown", md);
	_cleanup_free_ char *path = xasprintf("%s/campaigns/%s/digests/%s.md", store_root(c->st),
	                                      camp->id, name);
	cJSON_AddStringToObject(o, "path", path);
	*ret = o;
	return 0;
}

/* ---- export ----------------------------------------------------------------------- */

/* CSV (RFC 4180) for spreadsheets: one row per current answer (superseded ones only with
 * "history", marked in the column status), times in ISO 8601 in the campaign's zone with
 * its offset, the question's number as members answer it and its text. */
#define EXPORT_CSV_HEADER                                                                          \
	"campaign,round,occurrence,time,member,side,question_no,question,question_text,value,"   \
	"status\r\n"

typedef struct export_ctx {
	core *c;
	const coco_campaign *camp;
	const coco_round *r;
	const char *occurrence;
	bool csv, history;
	strbuf *out;
	cJSON *json;    /* json: the records; csv: the records of the file being read */
	char **ballot;  /* vote rounds: the ideas, numbered from 1 */
	size_t rows;
} export_ctx;

/* One cell. A cell a spreadsheet would take for a formula (=, +, -, @, tab, CR first) gets
 * a leading single quote; a cell with a comma, a quote or a line break is quoted, quotes
 * doubled (RFC 4180). */
static void csv_field(strbuf *b, const char *s, bool last)
{
	if (!s)
		s = "";
	bool formula = strchr("=+-@\t\r", s[0]) && s[0];
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

/* Who answered: the member id, or "anon-PSEUDONYM" in anonymous rounds. */
static char *export_who(const cJSON *rec)
{
	const char *m = core_json_str(rec, "member"), *p = core_json_str(rec, "pseudo");
	return m ? xstrdup(m) : p ? xasprintf("anon-%s", p) : xstrdup("");
}

static void csv_row(export_ctx *x, const cJSON *rec, const char *qno, const char *question,
                    const char *text, const char *value, bool current)
{
	_cleanup_free_ char *who = export_who(rec);
	_cleanup_free_ char *at = iso_time(core_json_i64(rec, "at", 0), x->camp->timezone);
	csv_field(x->out, x->camp->id, false);
	csv_field(x->out, x->r->id, false);
	csv_field(x->out, x->occurrence, false);
	csv_field(x->out, at, false);
	csv_field(x->out, who, false);
	csv_field(x->out, core_json_str(rec, "side"), false);
	csv_field(x->out, qno, false);
	csv_field(x->out, question, false);
	csv_field(x->out, text, false);
	csv_field(x->out, value, false);
	csv_field(x->out, current ? "current" : "superseded", true);
	x->rows++;
}

/* A question's row: its number (as members answer it, "1: 4") and text. */
static void csv_question_row(export_ctx *x, const cJSON *rec, const char *qid, const char *value,
                             bool current)
{
	_cleanup_free_ char *no = NULL;
	const char *text = NULL;
	for (size_t i = 0; i < x->r->n_questions; i++)
		if (STREQ(x->r->questions[i].id, qid)) {
			no = xasprintf("%zu", i + 1);
			text = x->r->questions[i].text;
		}
	csv_row(x, rec, no, qid, text, value, current);
}

/* Records of one file, in order: a later record of the same member supersedes an earlier
 * answer to the same question (a skip too), and a record with votes the earlier votes;
 * ideas accumulate. `last` maps "who\x1fquestion" and "who\x1f" (votes) to the index of
 * the record holding the current value. */
static void csv_file(export_ctx *x)
{
	cJSON *last = cJSON_CreateObject(), *rec, *it;
	int i = 0;
	cJSON_ArrayForEach(rec, x->json)
	{
		_cleanup_free_ char *who = export_who(rec);
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
	i = 0;
	cJSON_ArrayForEach(rec, x->json)
	{
		_cleanup_free_ char *who = export_who(rec);
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "answers"))
		{
			_cleanup_free_ char *k = xasprintf("%s\x1f%s", who, it->string);
			bool current = core_json_i64(last, k, -1) == i;
			if (!current && !x->history)
				continue;
			if (cJSON_IsString(it))
				csv_question_row(x, rec, it->string, it->valuestring, current);
			else if (cJSON_IsArray(it)) {
				strbuf v = {0};
				cJSON *e;
				cJSON_ArrayForEach(e, it)
				{
					if (v.len)
						strbuf_putc(&v, '|');
					strbuf_puts(&v, cJSON_IsString(e) ? e->valuestring : "");
				}
				csv_question_row(x, rec, it->string, v.s ? v.s : "", current);
				strbuf_done(&v);
			}
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "skips"))
		{
			if (!cJSON_IsString(it))
				continue;
			_cleanup_free_ char *k = xasprintf("%s\x1f%s", who, it->valuestring);
			bool current = core_json_i64(last, k, -1) == i;
			if (current || x->history)
				csv_question_row(x, rec, it->valuestring, "(skipped)", current);
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "ideas"))
		if (cJSON_IsString(it))
			csv_row(x, rec, NULL, "idea", core_round_title(x->r), it->valuestring, true);
		_cleanup_free_ char *vk = xasprintf("%s\x1f", who);
		bool current = core_json_i64(last, vk, -1) == i;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "votes"))
		{
			if (!current && !x->history)
				break;
			long n = 0;
			const char *idea = NULL;
			if (parse_long(it->string, 1, 100000, &n) >= 0 && (size_t)n <= strv_length(x->ballot))
				idea = x->ballot[n - 1];
			_cleanup_free_ char *q = xasprintf("vote:%s", it->string);
			_cleanup_free_ char *v = xasprintf("%d", it->valueint);
			csv_row(x, rec, it->string, q, idea, v, current);
		}
		i++;
	}
	cJSON_Delete(last);
}

static int on_export_line(const char *line, size_t len, void *userdata)
{
	export_ctx *x = userdata;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (!rec || cJSON_IsTrue(cJSON_GetObjectItem(rec, "erased"))) {
		cJSON_Delete(rec);
		return 0;
	}
	cJSON_DeleteItemFromObject(rec, "key"); /* message ids are nobody's business */
	if (!x->csv) {
		cJSON_AddStringToObject(rec, "campaign", x->camp->id);
		cJSON_AddStringToObject(rec, "round", x->r->id);
		cJSON_AddStringToObject(rec, "occurrence", x->occurrence);
		x->rows++;
	}
	cJSON_AddItemToArray(x->json, rec);
	return 0;
}

int core_for_each_answers_file(core *c, const coco_campaign *camp,
                               int (*fn)(core *c, const char *round, const char *occ,
                                         void *userdata),
                               void *userdata)
{
	for (size_t i = 0; i < camp->n_rounds; i++) {
		_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s", camp->id,
		                                     camp->rounds[i].id);
		char **occs = NULL;
		if (store_list(c->st, dir, &occs) < 0)
			continue;
		for (char **o = occs; *o; o++) {
			int r = fn(c, camp->rounds[i].id, *o, userdata);
			if (r < 0) {
				strv_free(occs);
				return r;
			}
		}
		strv_free(occs);
	}
	return 0;
}

static int export_file(core *c, const char *round, const char *occ, void *userdata)
{
	export_ctx *x = userdata;
	_cleanup_free_ char *path = core_answers_path(x->camp->id, round, occ);
	x->r = campaign_find_round(x->camp, round);
	x->occurrence = occ;
	if (!x->r)
		return 0;
	if (x->csv)
		x->json = cJSON_CreateArray();
	int r = store_scan(c->st, path, on_export_line, x);
	if (x->csv) {
		campaign_rt *ct = ct_find(c, x->camp->id);
		round_rt *rt = ct ? rt_find(ct, round) : NULL;
		x->ballot = rt ? core_ballot(c, x->camp, x->r, rt) : NULL;
		if (r >= 0)
			csv_file(x);
		strv_free(x->ballot);
		x->ballot = NULL;
		cJSON_Delete(x->json);
		x->json = NULL;
	}
	return r == -ENOENT ? 0 : r;
}

static int cmd_export(core *c, const cJSON *req, cJSON **ret, char **ret_error)
{
	const char *cid = arg(req, "campaign"), *fmt = arg(req, "format");
	const coco_campaign *camp = cid ? config_find_campaign(c->cfg, cid) : NULL;
	if (!camp) {
		*ret_error = xasprintf("no campaign \"%s\"", cid ? cid : "");
		return -ENOENT;
	}
	if (!fmt)
		fmt = "csv";
	if (!STREQ(fmt, "csv") && !STREQ(fmt, "json")) {
		*ret_error = xasprintf("unknown format \"%s\": expected csv or json", fmt);
		return -EINVAL;
	}
	strbuf out = {0};
	export_ctx x = {.c = c, .camp = camp, .csv = STREQ(fmt, "csv"), .out = &out,
	                .history = cJSON_IsTrue(cJSON_GetObjectItem(req, "history"))};
	if (x.csv)
		strbuf_puts(&out, EXPORT_CSV_HEADER);
	else
		x.json = cJSON_CreateArray();
	int r = core_for_each_answers_file(c, camp, export_file, &x);
	if (r < 0) {
		strbuf_done(&out);
		cJSON_Delete(x.json);
		*ret_error = xasprintf("cannot read the answers of %s: %s", camp->id, strerror(-r));
		return r;
	}
	if (!x.csv) {
		char *s = cJSON_Print(x.json);
		strbuf_puts(&out, s);
		strbuf_putc(&out, '\n');
		free(s);
		cJSON_Delete(x.json);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "data", out.s ? out.s : "");
	cJSON_AddNumberToObject(o, "rows", (double)x.rows);
	strbuf_done(&out);
	core_audit(c, "export", camp->id, NULL, fmt);
	*ret = o;
	return 0;
}

int core_control(core *c, const cJSON *req, cJSON **ret_reply, char **ret_error)
{
	const char *cmd = arg(req, "cmd");
	if (!cmd)
		return -EOPNOTSUPP;
	if (STREQ(cmd, "rounds"))
		return cmd_rounds(c, req, ret_reply, ret_error);
	if (STREQ(cmd, "open") || STREQ(cmd, "close") || STREQ(cmd, "remind"))
		return cmd_transition(c, cmd, req, ret_reply, ret_error);
	if (STREQ(cmd, "digest"))
		return cmd_digest(c, req, ret_reply, ret_error);
	if (STREQ(cmd, "export"))
		return cmd_export(c, req, ret_reply, ret_error);
	if (STREQ(cmd, "forget"))
		return core_forget(c, arg(req, "member"), ret_reply, ret_error);
	return -EOPNOTSUPP;
}
