/* core-control: the admin commands cococtl sends over the control socket. Each one that
 * changes something is written to the audit log. `forget` lives in core-forget.c. */
#define _GNU_SOURCE
#include <string.h>

#include "clock.h"
#include "core-private.h"
#include "export.h"
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
			unsigned total = 0, answered = 0, partial = 0;
			/* A closed occurrence: the members it asked (core_closed_audience). */
			char **asked = core_closed_audience(c, camp, rt);
			for (size_t m = 0; m < camp->n_members; m++) {
				if (!round_has_member(r, &camp->members[m]) ||
				    !core_was_asked(c, camp, asked, &camp->members[m]))
					continue;
				total++;
				if (rt->occurrence &&
				    has_answered(c, camp, r, rt, &camp->members[m])) {
					answered++;
					partial += has_answered_partly(c, camp, r, rt,
					                               &camp->members[m]);
				}
			}
			strv_free(asked);
			/* former: who answered but is no member any more (their section was
			 * removed): their answers still count in the digest's figures, which say
			 * "and 1 former member" beside the members too. */
			size_t former = 0;
			if (rt->occurrence) {
				size_t current = 0;
				for (size_t m = 0; m < camp->n_members; m++)
					current += has_answered(c, camp, r, rt, &camp->members[m]);
				size_t all = strmap_size(rt_answered(c, camp, rt));
				former = all > current ? all - current : 0;
			}
			/* answered: sent anything, as the digests count; partial: of those, who
			 * left a required question open */
			cJSON_AddNumberToObject(e, "answered", answered);
			cJSON_AddNumberToObject(e, "partial", partial);
			cJSON_AddNumberToObject(e, "former", (double)former);
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
			*ret_error = xasprintf("%s/%s cannot be opened: it is %s%s", camp->id, rt->id,
			                       round_state_words(rt->state),
			                       rt->state == RS_DIGESTED || rt->state == RS_DONE
			                               ? " (a round without Repeat= runs once)"
			                               : "");
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
			*ret_error = xasprintf("%s/%s cannot be closed: it is %s", camp->id, rt->id,
			                       round_state_words(rt->state));
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
			                       rt->id, round_state_words(rt->state));
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
	_cleanup_free_ char *md = NULL, *html = NULL, *chat_md = NULL;
	int64_t lines;
	char **comments = comments_since(c, camp, ct, rt, &lines);
	int r = compile_round_digest(c, camp, ct, rt, comments, &md, &html, &chat_md);
	_cleanup_free_ char *room_md = r >= 0 ? core_room_digest(c, camp, ct, rt, comments) : NULL;
	strv_free(comments);
	/* A round still open gets a progress report of its own name (and spool ids): the
	 * digest of its close must still go out when it closes. */
	_cleanup_free_ char *name = NULL;
	bool progress = r >= 0 && rt->state == RS_OPEN;
	if (progress) {
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
	r = publish_digest(c, camp, campaign_find_round(camp, rid), name, md, html, chat_md,
	                   room_md, progress);
	if (r >= 0) {
		ct->last_digest = clock_now();
		comments_shown(ct, rt, lines);
		r = core_ct_save(c, ct);
	}
	if (r < 0) {
		cJSON_Delete(o);
		*ret_error = xasprintf("the digest of %s/%s could not be written (%s); see the log",
		                       camp->id, rid, strerror(-r));
		return r;
	}
	core_audit(c, "digest", camp->id, rid, NULL);
	/* Still open: what went out is its progress, not its results (docs/digest.md). */
	cJSON_AddBoolToObject(o, "open", rt->state == RS_OPEN);
	cJSON_AddStringToObject(o, "markdown", md);
	_cleanup_free_ char *path = xasprintf("%s/campaigns/%s/digests/%s.md", store_root(c->st),
	                                      camp->id, name);
	cJSON_AddStringToObject(o, "path", path);
	*ret = o;
	return 0;
}

/* ---- export ----------------------------------------------------------------------- */

typedef struct export_core {
	core *c;
	const coco_campaign *camp;
} export_core;

/* The ballot as the round's state has it now (a vote round's source occurrence). */
static char **export_ballot(const coco_round *r, const char *occurrence, void *userdata)
{
	export_core *e = userdata;
	campaign_rt *ct = ct_find(e->c, e->camp->id);
	round_rt *rt = ct ? rt_find(ct, r->id) : NULL;
	return rt ? core_ballot(e->c, e->camp, r, rt) : NULL;
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
	export_core ec = {c, camp};
	export_input in = {.store = c->st, .campaign = camp, .json = STREQ(fmt, "json"),
	                   .history = cJSON_IsTrue(cJSON_GetObjectItem(req, "history")),
	                   .ballot = export_ballot, .userdata = &ec};
	_cleanup_free_ char *data = NULL;
	size_t rows = 0;
	int r = export_campaign(&in, &data, &rows);
	if (r < 0) {
		*ret_error = xasprintf("cannot read the answers of %s: %s", camp->id, strerror(-r));
		return r;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "data", data);
	cJSON_AddNumberToObject(o, "rows", (double)rows);
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
	if (STREQ(cmd, "resubscribe"))
		return core_resubscribe(c, req, ret_reply, ret_error);
	return -EOPNOTSUPP;
}
