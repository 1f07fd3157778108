/* core: see core.h. The per-campaign state lives in campaigns/<id>/state.json, replaced
 * atomically after every transition. Messages are queued in the spool under ids derived
 * from what they are (campaign, round, occurrence, kind, member), so a transition replayed
 * after a crash queues nothing twice: enqueue first, then persist the state. */
#define _GNU_SOURCE
#include "core.h"

#include <string.h>
#include <strings.h>

#include "clock.h"
#include "digest.h"
#include "schedule.h"
#include "state-check.h"
#include "template-cache.h"
#include "util.h"
#include "weblink.h"
#include "core-private.h"

const char *const round_state_names[_RS_MAX] = {
	[RS_SCHEDULED] = "scheduled", [RS_OPEN] = "open",   [RS_CLOSED] = "closed",
	[RS_DIGESTED] = "digested",   [RS_DONE] = "done",
};

const char *round_state_words(round_state s)
{
	switch (s) {
	case RS_SCHEDULED:
		return "waiting to open";
	case RS_OPEN:
		return "open";
	case RS_CLOSED:
		return "closed (its digest is not out yet)";
	case RS_DIGESTED:
		return "closed, its digest sent";
	case RS_DONE:
		return "over: it has no occurrence left";
	default:
		return "in an unknown state";
	}
}

/* ---- small lookups ---------------------------------------------------------------- */

static const coco_campaign *cfg_campaign(core *c, const char *id)
{
	return config_find_campaign(c->cfg, id);
}

round_rt *rt_find(campaign_rt *ct, const char *round)
{
	for (size_t i = 0; i < ct->n_rounds; i++)
		if (STREQ(ct->rounds[i].id, round))
			return &ct->rounds[i];
	return NULL;
}

campaign_rt *ct_find(core *c, const char *id)
{
	for (size_t i = 0; i < c->n_camps; i++)
		if (STREQ(c->camps[i].id, id))
			return &c->camps[i];
	return NULL;
}

bool round_has_member(const coco_round *r, const coco_member *m)
{
	return config_member_in_audience(m, r->audience, r->audience_members, r->n_audience_members);
}

const char *member_tz(const coco_campaign *camp, const coco_member *m)
{
	return m->timezone ? m->timezone : camp->timezone;
}

char *core_answers_path(const char *camp, const char *round, const char *occ)
{
	return xasprintf("campaigns/%s/rounds/%s/%s/answers.jsonl", camp, round, occ);
}

/* Who answered: member ids, or pseudonyms in anonymous rounds. */
const char *answer_identity(core *c, const coco_campaign *camp, const coco_round *r,
                                   const coco_member *m, char pseudo[SECRET_PSEUDO_LEN + 1])
{
	if (!r->anonymous)
		return m->id;
	secret_pseudonym(&c->key, camp->id, m->id, pseudo);
	return pseudo;
}

/* A hash set of who answered the occurrence (complete: answered every required question).
 * Reminders and the next event ask it for every member, every turn. */
static strmap *load_answered(core *c, const coco_campaign *camp, round_rt *rt, bool complete)
{
	strmap *set = strmap_new();
	if (!rt->occurrence)
		return set;
	char **ids = NULL;
	const coco_round *round = campaign_find_round(camp, rt->id);
	int r = round && complete
	                ? digest_complete_members(c->st, camp, round, rt->occurrence, &ids)
	                : digest_answered_members(c->st, camp->id, rt->id, rt->occurrence, &ids);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "%s/%s: cannot read answers: %m", camp->id, rt->id);
	for (char **p = ids; p && *p; p++)
		(void)strmap_put(set, *p, rt);
	strv_free(ids);
	return set;
}

strmap *rt_answered(core *c, const coco_campaign *camp, round_rt *rt)
{
	if (!rt->answered)
		rt->answered = load_answered(c, camp, rt, false);
	return rt->answered;
}

strmap *rt_complete(core *c, const coco_campaign *camp, round_rt *rt)
{
	if (!rt->complete)
		rt->complete = load_answered(c, camp, rt, true);
	return rt->complete;
}

bool has_answered(core *c, const coco_campaign *camp, const coco_round *r, round_rt *rt,
                         const coco_member *m)
{
	char pseudo[SECRET_PSEUDO_LEN + 1];
	return strmap_get(rt_answered(c, camp, rt), answer_identity(c, camp, r, m, pseudo)) != NULL;
}

bool has_answered_partly(core *c, const coco_campaign *camp, const coco_round *r, round_rt *rt,
                         const coco_member *m)
{
	char pseudo[SECRET_PSEUDO_LEN + 1];
	const char *id = answer_identity(c, camp, r, m, pseudo);
	return strmap_get(rt_answered(c, camp, rt), id) != NULL &&
	       strmap_get(rt_complete(c, camp, rt), id) == NULL;
}

static void rt_reset_occurrence(round_rt *rt)
{
	cJSON_Delete(rt->reminded);
	rt->reminded = cJSON_CreateObject();
	cJSON_Delete(rt->reminded_at);
	rt->reminded_at = cJSON_CreateObject();
	cJSON_Delete(rt->uninvited);
	rt->uninvited = cJSON_CreateObject();
	rt->answered = strmap_free(rt->answered);
	rt->complete = strmap_free(rt->complete);
}

/* ---- state.json ------------------------------------------------------------------- */

int core_ct_save(core *c, campaign_rt *ct)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	/* INT64_MAX ("none") does not survive a trip through a double: leave it out. */
	if (ct->digest_next != INT64_MAX && ct->digest_next != INT64_MIN)
		cJSON_AddNumberToObject(o, "digest_next", (double)ct->digest_next);
	cJSON_AddNumberToObject(o, "last_digest", (double)ct->last_digest);
	cJSON_AddNumberToObject(o, "comments_seen", (double)ct->comments_seen);
	cJSON_AddItemToObject(o, "closed", cJSON_Duplicate(ct->closed, 1));
	cJSON *rounds = cJSON_AddObjectToObject(o, "rounds");
	for (size_t i = 0; i < ct->n_rounds; i++) {
		round_rt *rt = &ct->rounds[i];
		cJSON *r = cJSON_AddObjectToObject(rounds, rt->id);
		cJSON_AddStringToObject(r, "state", round_state_names[rt->state]);
		if (rt->occurrence)
			cJSON_AddStringToObject(r, "occurrence", rt->occurrence);
		/* A round waiting to be opened by hand has no instants (INT64_MAX does not
		 * survive a double): 0, and the load restores it from the config. */
		bool waiting = rt->open_at == INT64_MAX;
		cJSON_AddNumberToObject(r, "open", waiting ? 0 : (double)rt->open_at);
		cJSON_AddNumberToObject(r, "close", waiting ? 0 : (double)rt->close_at);
		cJSON_AddNumberToObject(r, "sched", waiting ? 0 : (double)rt->sched_open);
		if (rt->prev_occurrence)
			cJSON_AddStringToObject(r, "prev", rt->prev_occurrence);
		if (rt->ballot_occurrence)
			cJSON_AddStringToObject(r, "ballot", rt->ballot_occurrence);
		cJSON_AddNumberToObject(r, "comments_seen", (double)rt->comments_seen);
		cJSON_AddItemToObject(r, "reminded", cJSON_Duplicate(rt->reminded, 1));
		if (rt->reminded_at && rt->reminded_at->child)
			cJSON_AddItemToObject(r, "reminded_at", cJSON_Duplicate(rt->reminded_at, 1));
		if (rt->uninvited && rt->uninvited->child)
			cJSON_AddItemToObject(r, "uninvited", cJSON_Duplicate(rt->uninvited, 1));
	}
	_cleanup_free_ char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	_cleanup_free_ char *path = xasprintf("campaigns/%s/state.json", ct->id);
	strbuf b = {0};
	strbuf_puts(&b, s);
	strbuf_putc(&b, '\n');
	int r = store_replace(c->st, path, b.s, b.len);
	strbuf_done(&b);
	ct->unsaved = r < 0;
	if (r < 0) {
		ct->retry_at = clock_now() + 60;
		log_error_errno(r, "%s: cannot save round states (retrying in a minute): %m", ct->id);
	}
	return r;
}

const char *core_json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t core_json_i64(const cJSON *o, const char *k, int64_t def)
{
	int64_t v;
	return json_get_int64(o, k, &v) >= 0 ? v : def;
}

static void rt_schedule_next(core *c, const coco_campaign *camp, round_rt *rt, int64_t after);

/* A state.json that cannot be trusted stops the start (state-check.h says why). */
static int ct_load(core *c, const coco_campaign *camp, campaign_rt *ct)
{
	_cleanup_free_ char *path = xasprintf("campaigns/%s/state.json", ct->id);
	_cleanup_free_ char *data = NULL, *why = NULL;
	size_t len = 0;
	cJSON *o = NULL;
	int r = store_read(c->st, path, 16 * 1024 * 1024, &data, &len);
	if (r >= 0) {
		o = cJSON_ParseWithLength(data, len);
		r = state_check(o, &why);
	} else if (r != -ENOENT)
		why = xasprintf("cannot read it: %s", strerror(-r));
	if (why) {
		log_error("%s/%s: %s. Not starting: the round states of campaign %s cannot be "
		          "trusted. Restore the file from a backup, or move it aside to start the "
		          "campaign afresh (its rounds open again and their invitations are sent "
		          "again).", store_root(c->st), path, why, ct->id);
		cJSON_Delete(o);
		for (size_t i = 0; i < ct->n_rounds; i++)
			ct->rounds[i].state = RS_DONE; /* nothing is due from a campaign not loaded */
		return r < 0 ? r : -EBADMSG;
	}

	ct->digest_next = core_json_i64(o, "digest_next", INT64_MIN);
	ct->last_digest = core_json_i64(o, "last_digest", 0);
	ct->comments_seen = core_json_i64(o, "comments_seen", 0);
	const cJSON *closed = cJSON_GetObjectItemCaseSensitive(o, "closed");
	ct->closed = cJSON_IsArray(closed) ? cJSON_Duplicate(closed, 1) : cJSON_CreateArray();
	const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(o, "rounds");
	for (size_t i = 0; i < ct->n_rounds; i++) {
		round_rt *rt = &ct->rounds[i];
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(rounds, rt->id);
		const char *state = core_json_str(s, "state");
		/* before it was kept per round, every comment up to the campaign's count was shown */
		rt->comments_seen = core_json_i64(s, "comments_seen", ct->comments_seen);
		rt->reminded = cJSON_CreateObject();
		rt->reminded_at = cJSON_CreateObject();
		rt->uninvited = cJSON_CreateObject();
		if (!state) {
			rt_schedule_next(c, camp, rt, INT64_MIN);
			continue;
		}
		rt->state = RS_SCHEDULED;
		for (int k = 0; k < _RS_MAX; k++)
			if (STREQ(state, round_state_names[k]))
				rt->state = k;
		rt->occurrence = core_json_str(s, "occurrence") ? xstrdup(core_json_str(s, "occurrence")) : NULL;
		rt->prev_occurrence = core_json_str(s, "prev") ? xstrdup(core_json_str(s, "prev")) : NULL;
		rt->ballot_occurrence = core_json_str(s, "ballot") ? xstrdup(core_json_str(s, "ballot")) : NULL;
		rt->open_at = core_json_i64(s, "open", 0);
		rt->close_at = core_json_i64(s, "close", 0);
		rt->sched_open = core_json_i64(s, "sched", rt->open_at);
		const coco_round *rd = campaign_find_round(camp, rt->id);
		if (rt->state == RS_SCHEDULED && rd && round_is_manual(rd))
			rt->open_at = rt->close_at = rt->sched_open = INT64_MAX;
		const cJSON *rem = cJSON_GetObjectItemCaseSensitive(s, "reminded");
		if (cJSON_IsObject(rem)) {
			cJSON_Delete(rt->reminded);
			rt->reminded = cJSON_Duplicate(rem, 1);
		}
		const cJSON *rat = cJSON_GetObjectItemCaseSensitive(s, "reminded_at");
		if (cJSON_IsObject(rat)) {
			cJSON_Delete(rt->reminded_at);
			rt->reminded_at = cJSON_Duplicate(rat, 1);
		}
		const cJSON *uninv = cJSON_GetObjectItemCaseSensitive(s, "uninvited");
		if (cJSON_IsObject(uninv)) {
			cJSON_Delete(rt->uninvited);
			rt->uninvited = cJSON_Duplicate(uninv, 1);
		}
	}
	cJSON_Delete(o);
	return 0;
}

/* ---- scheduling ------------------------------------------------------------------- */

bool round_is_manual(const coco_round *r)
{
	return !r->open.set;
}

/* The next occurrence of the round after `after` (INT64_MIN: the first). A round without
 * Open= has one occurrence, "once", that waits (open_at = INT64_MAX) for `cococtl open`. */
static void rt_schedule_next(core *c, const coco_campaign *camp, round_rt *rt, int64_t after)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	int64_t open, close;
	free(rt->occurrence);
	rt->occurrence = NULL;
	rt_reset_occurrence(rt);
	if (r && round_is_manual(r)) {
		if (after != INT64_MIN) {
			rt->state = RS_DONE;
			return;
		}
		rt->occurrence = xstrdup("once");
		rt->state = RS_SCHEDULED;
		rt->open_at = rt->close_at = rt->sched_open = INT64_MAX;
		return;
	}
	int k = r ? schedule_round_occurrence(r, camp->timezone, after, &open, &close) : -ENOENT;
	if (k < 0) {
		if (k != -ENOENT)
			log_error_errno(k, "%s/%s: cannot compute the schedule: %m", camp->id, rt->id);
		rt->state = RS_DONE;
		return;
	}
	if (schedule_occurrence_id(r, open, camp->timezone, &rt->occurrence) < 0) {
		rt->state = RS_DONE;
		return;
	}
	rt->state = RS_SCHEDULED;
	rt->open_at = rt->sched_open = open;
	rt->close_at = close;
}

/* The occurrence of a vote round's Source= that goes on its ballot if it opens now: the
 * source's current one once it has opened, else its last digested one. */
static char *ballot_source(campaign_rt *ct, const coco_round *r)
{
	round_rt *src = rt_find(ct, r->source);
	if (src && src->state != RS_SCHEDULED && src->occurrence)
		return xstrdup(src->occurrence);
	if (src && src->prev_occurrence)
		return xstrdup(src->prev_occurrence);
	return NULL;
}

/* A vote round whose ballot (rt->ballot_occurrence) has no idea on it. */
static bool ballot_is_empty(core *c, const coco_campaign *camp, const coco_round *r,
                            const round_rt *rt)
{
	char **ballot = core_ballot(c, camp, r, rt);
	bool empty = strv_length(ballot) == 0;
	strv_free(ballot);
	return empty;
}

/* cococtl open. The round opens now and closes at its Close=, or Duration= after now. A
 * round without Open= runs once that way. A scheduled occurrence opened early is that
 * occurrence moved earlier: it keeps its name (the date it was scheduled for), and the next
 * occurrence follows the schedule as if it had opened on time. */
int round_open_by_hand(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                       char **ret_error)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	int64_t now = clock_now();
	if (!r)
		return -ENOENT;
	if (r->kind == ROUND_VOTE && r->source) {
		round_rt probe = *rt;
		probe.ballot_occurrence = ballot_source(ct, r);
		bool empty = ballot_is_empty(c, camp, r, &probe);
		if (empty)
			*ret_error = xasprintf("%s/%s cannot open: its ballot is empty (no ideas in "
			                       "%s/%s); open %s and collect ideas first", camp->id,
			                       rt->id, r->source,
			                       probe.ballot_occurrence ? probe.ballot_occurrence
			                                               : "(no occurrence yet)",
			                       r->source);
		free(probe.ballot_occurrence);
		if (empty)
			return -ENODATA;
	}
	if (rt->open_at == INT64_MAX) {
		int64_t close = now + r->duration;
		if (r->close.set && schedule_local_to_utc(&r->close, camp->timezone, &close) < 0)
			return -EINVAL;
		if (r->kind == ROUND_ANNOUNCE)
			close = now;
		if (close < now || (close == now && r->kind != ROUND_ANNOUNCE)) {
			_cleanup_free_ char *when = schedule_format_local(close, camp->timezone);
			*ret_error = xasprintf("%s/%s cannot open: its Close= (%s) has passed; set a "
			                       "later Close= or use Duration=", camp->id, rt->id,
			                       when ? when : "?");
			return -ESTALE;
		}
		rt->sched_open = now;
		rt->close_at = close;
	} else if (!r->close.set || rt->close_at <= now) {
		/* Duration= counts from the opening; a Close= stays where it is, unless its whole
		 * window passed unseen (then it lasts as long as it was meant to). */
		rt->close_at = now + (rt->close_at - rt->open_at);
	}
	rt->open_at = now;
	int k = round_open(c, camp, ct, rt, now < rt->sched_open ? "by cococtl, early" : "by cococtl");
	if (k < 0)
		*ret_error = xasprintf("%s/%s is open, but its invitations or state could not all be "
		                       "written (%s); see the log", camp->id, rt->id, strerror(-k));
	return k;
}

/* The next periodic digest: schedule_digest_next(), which `cococtl plan` shares. */
static void ct_schedule_digest(core *c, const coco_campaign *camp, campaign_rt *ct, int64_t after)
{
	int64_t t;
	ct->digest_next = schedule_digest_next(camp, after, &t) >= 0 ? t : INT64_MAX;
}

/* ---- transitions ------------------------------------------------------------------ */

int round_open(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
               const char *why)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	if (!r)
		return -ENOENT;
	if (r->kind == ROUND_VOTE && r->source) {
		free(rt->ballot_occurrence);
		rt->ballot_occurrence = ballot_source(ct, r);
		if (ballot_is_empty(c, camp, r, rt)) {
			/* Nobody would have anything to put dots on. */
			log_warning("%s/%s: occurrence %s skipped, no invitations sent: its ballot is "
			            "empty (no ideas in %s/%s). Collect ideas in %s first, then give %s "
			            "a later Open=", camp->id, r->id, rt->occurrence, r->source,
			            rt->ballot_occurrence ? rt->ballot_occurrence : "(none)", r->source,
			            r->id);
			free(rt->ballot_occurrence);
			rt->ballot_occurrence = NULL;
			rt_schedule_next(c, camp, rt, rt->open_at);
			(void)core_ct_save(c, ct);
			return -ENODATA;
		}
	}
	rt->state = RS_OPEN;
	unsigned sent = 0, failed = 0;
	for (size_t i = 0; i < camp->n_members; i++)
		if (round_has_member(r, &camp->members[i])) {
			const coco_member *m = &camp->members[i];
			int k = core_send_round_message(c, camp, r, rt, m, "prompt", 0);
			if (k < 0)
				failed++;
			else if (k == CORE_UNREACHED)
				/* So that `cococtl remind` does not take them for freshly invited. */
				cJSON_AddTrueToObject(rt->uninvited, m->id);
			else
				sent++;
		}
	core_post_room_prompt(c, camp, r, rt);
	log_info("%s/%s: round opened (%s), occurrence %s, %u invitation%s queued", camp->id, r->id,
	         why, rt->occurrence, sent, sent == 1 ? "" : "s");
	int k = core_ct_save(c, ct);
	if (failed > 0) {
		log_error("%s/%s: %u invitation%s could not be queued (see above)", camp->id, r->id,
		          failed, failed == 1 ? "" : "s");
		return -EIO;
	}
	return k;
}

/* What a digest of an occurrence still open says of it: that it is open, until when (in the
 * campaign's zone: a digest is one text for everyone), and when the results come. */
static char *still_open_note(const coco_campaign *camp, const coco_round *r,
                             const round_rt *rt)
{
	_cleanup_free_ char *until = rt->close_at > rt->open_at && rt->close_at != INT64_MAX
	                                     ? schedule_format_local(rt->close_at, camp->timezone)
	                                     : NULL;
	const char *what = r->kind == ROUND_VOTE     ? "the votes and the ranking come"
	                   : r->kind == ROUND_PROMPT ? "the ideas come"
	                                             : "the figures and the answers come";
	return xasprintf("This round is still open%s%s: %s with the digest of its close.",
	                 until ? " until " : " (no closing time is set)", until ? until : "", what);
}

bool core_digest_recipient(const coco_campaign *camp, const coco_round *r,
                           const coco_member *m)
{
	if (camp->digest.set)
		return config_member_in_audience(m, camp->digest.audience, camp->digest.members,
		                          camp->digest.n_members);
	return !r || round_has_member(r, m);
}


static int compile_digest_of(core *c, const coco_campaign *camp, campaign_rt *ct,
                             round_rt *rt, char **const comments, char **ret_md,
                             char **ret_html, char **ret_chat_md);

/* Compiles the digest of one round occurrence into markdown and, if ret_html, the HTML
 * fragment of the mail's HTML part (not written, not sent). */
int compile_round_digest(core *c, const coco_campaign *camp, campaign_rt *ct,
                                round_rt *rt, char **const comments, char **ret_md,
                                char **ret_html, char **ret_chat_md)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	if (!r || !rt->occurrence)
		return -ENOENT;
	coco_campaign *without = digest_without_forgotten(c->st, &c->key, camp, r, rt->occurrence);
	/* A closed occurrence counts the members it asked, not those a reload added since. */
	char **asked = core_closed_audience(c, camp, rt);
	coco_campaign *had = NULL;
	if (asked) {
		const coco_campaign *from = without ? without : camp;
		had = xcalloc(1, sizeof *had);
		*had = *from;
		had->members = xcalloc(from->n_members + 1, sizeof *had->members);
		had->n_members = 0;
		for (size_t i = 0; i < from->n_members; i++)
			if (core_was_asked(c, camp, asked, &from->members[i]))
				had->members[had->n_members++] = from->members[i];
		strv_free(asked);
	}
	int k = compile_digest_of(c, had ? had : without ? without : camp, ct, rt, comments,
	                          ret_md, ret_html, ret_chat_md);
	digest_campaign_copy_free(had);
	digest_campaign_copy_free(without);
	return k;
}

static int compile_digest_of(core *c, const coco_campaign *camp, campaign_rt *ct,
                             round_rt *rt, char **const comments, char **ret_md,
                             char **ret_html, char **ret_chat_md)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	char **ballot = core_ballot(c, camp, r, rt);
	/* An occurrence still open shows its progress only: one policy for every digest and
	 * the web view (docs/digest.md). */
	bool in_progress = rt->state == RS_OPEN;
	_cleanup_free_ char *note = in_progress ? still_open_note(camp, r, rt) : NULL;
	digest_input in = {
		.store = c->st,
		.campaign = camp,
		.round = r,
		.occurrence = rt->occurrence,
		.in_progress = in_progress,
		.prev_occurrence = rt->prev_occurrence,
		.idea_texts = (const char *const *)ballot,
		.n_ideas = strv_length(ballot),
		.comments = (const char *const *)comments,
		.n_comments = strv_length(comments),
		.still_open_note = note,
		.now = clock_now(),
		.in_periodic = ct->in_periodic,
		.web_base = core_web_base(c),
		.room = ct->for_room,
	};
	digest *d = NULL;
	int k = digest_compute(&in, &d);
	strv_free(ballot);
	if (k < 0)
		return log_error_errno(k, "%s/%s: cannot compute the digest: %m", camp->id, r->id);
	k = digest_render(d, (const char *const *)c->tdirs, ret_md);
	/* Without digest.html (an older template directory) the HTML part is cmark's. */
	if (k >= 0 && ret_html && digest_render_html(d, (const char *const *)c->tdirs, ret_html) < 0)
		*ret_html = NULL;
	/* Without it (an error in a template of the admin's), chat channels get the mail's. */
	if (k >= 0 && ret_chat_md &&
	    digest_render_chat(d, (const char *const *)c->tdirs, ret_chat_md) < 0)
		*ret_chat_md = NULL;
	digest_free(d);
	if (k < 0)
		return log_error_errno(k, "%s/%s: cannot render the digest: %m", camp->id, r->id);
	return 0;
}

char *core_digest_personal(core *c, const coco_campaign *camp, const coco_member *m,
                           const char *text, bool html)
{
	const char *base = core_web_base(c);
	if (!base || !text)
		return NULL;
	_cleanup_free_ char *q = weblink_query(&c->key, m->id, camp->id,
	                                       clock_now() + CORE_DIGEST_LINK_DAYS * 86400,
	                                       html ? "&amp;" : "&");
	return weblink_personalize(text, base, camp->id, q, html);
}

/* Writes a digest to the store and queues it for the recipients, each with their own link
 * to the web view when [Web] BaseUrl= is set (the stored copy has the page's address). */
char *core_room_digest(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                       char **const comments)
{
	if (!core_has_room(c, camp))
		return NULL;
	_cleanup_free_ char *md = NULL;
	char *chat_md = NULL;
	ct->for_room = true;
	if (compile_round_digest(c, camp, ct, rt, comments, &md, NULL, &chat_md) < 0)
		chat_md = NULL;
	ct->for_room = false;
	return chat_md;
}

int publish_digest(core *c, const coco_campaign *camp, const coco_round *r,
                          const char *name, const char *md, const char *html_body,
                          const char *chat_md, const char *room_md, bool progress)
{
	/* A progress digest and the results of the same round are two mails a member should
	 * tell apart in the inbox (trial 6). */
	_cleanup_free_ char *subject =
		xasprintf("[%s] %s: %s", camp->title ? camp->title : camp->id,
		          progress ? "Progress so far" : "Digest", r ? core_round_title(r) : "this week");
	_cleanup_free_ char *html = html_body ? digest_html_document(subject, html_body) : NULL;
	int k = digest_write(c->st, camp->id, name, md, html);
	if (k < 0)
		return log_error_errno(k, "%s: cannot write digest %s: %m", camp->id, name);
	unsigned n = 0, dup = 0;
	int failed = 0;
	/* A reply to a round's digest is a comment about that round (its tag says which). */
	_cleanup_free_ char *tag_round = r ? xasprintf("digest:%s", r->id) : NULL;
	for (size_t i = 0; i < camp->n_members; i++) {
		const coco_member *m = &camp->members[i];
		if (!core_digest_recipient(camp, r, m))
			continue;
		_cleanup_free_ char *id = core_message_id(c, "digest", camp->id, name, m->id);
		/* On a chat channel, the chat's text (no mail signature) and no HTML part. */
		bool chat = chat_md &&
		            core_channel_is_chat(c, core_member_channel(c, camp, m, "digest"));
		const char *text = chat ? chat_md : md, *html_text = chat ? NULL : html;
		_cleanup_free_ char *md_m = core_digest_personal(c, camp, m, text, false);
		_cleanup_free_ char *html_m = core_digest_personal(c, camp, m, html_text, true);
		outbound o = {.camp = camp, .to = m, .kind = "digest", .round = "digest",
		              .tag_round = tag_round, .id = id, .subject = subject,
		              .markdown = md_m ? md_m : text, .html = html_m ? html_m : html_text};
		int k2 = core_send_member(c, &o);
		if (k2 < 0)
			failed = k2;
		else if (k2 == SPOOL_DUPLICATE)
			dup++;
		else if (k2 == SPOOL_QUEUED)
			n++;
	}
	if (room_md)
		core_post_room_digest(c, camp, r, name, subject, room_md);
	log_info("%s: digest %s written to campaigns/%s/digests/%s.md, queued for %u recipient%s",
	         camp->id, name, camp->id, name, n, n == 1 ? "" : "s");
	if (dup > 0)
		log_info("%s: digest %s was already queued for %u recipient%s: not sent again",
		         camp->id, name, dup, dup == 1 ? "" : "s");
	return failed;
}

/* closed → digested: the digest of the occurrence (if one is due on close) is written and
 * queued, then the round moves on to its next occurrence. On failure the round stays
 * closed, and core_tick() tries again a minute later. */
static int round_finish(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	if (r && r->kind != ROUND_ANNOUNCE && (!camp->digest.set || camp->digest.on_close)) {
		int64_t lines;
		char **comments = comments_since(c, camp, ct, rt, &lines);
		_cleanup_free_ char *md = NULL, *html = NULL, *chat_md = NULL;
		int k = compile_round_digest(c, camp, ct, rt, comments, &md, &html, &chat_md);
		_cleanup_free_ char *room_md = k >= 0 ? core_room_digest(c, camp, ct, rt, comments) : NULL;
		strv_free(comments);
		if (k >= 0) {
			_cleanup_free_ char *name = xasprintf("%s-%s", rt->id, rt->occurrence);
			k = publish_digest(c, camp, r, name, md, html, chat_md, room_md, false);
		}
		if (k < 0) {
			ct->retry_at = clock_now() + 60;
			return k;
		}
		ct->last_digest = clock_now();
		comments_shown(ct, rt, lines);
	}
	rt->state = RS_DIGESTED;
	if (r && r->repeat) {
		free(rt->prev_occurrence);
		rt->prev_occurrence = xstrdup(rt->occurrence);
		rt_schedule_next(c, camp, rt, rt->sched_open);
	}
	return core_ct_save(c, ct);
}

/* Who a round occurrence asked, as it closes: their pseudonyms (a keyed hash, no name in the
 * store, as an anonymous answer's), one a line, in CAMPAIGN/ROUND/OCC/audience. A member a
 * reload adds later is no member of it: its digests and `rounds` count the ones it had
 * (trial 6: "9/11", and "Not heard from yet" named someone added after the close). */
static char *audience_path(const coco_campaign *camp, const char *round, const char *occ)
{
	return xasprintf("campaigns/%s/rounds/%s/%s/audience", camp->id, round, occ);
}

static void write_audience(core *c, const coco_campaign *camp, const coco_round *r,
                           round_rt *rt)
{
	if (!r || !rt->occurrence)
		return;
	strbuf b = {0};
	for (size_t i = 0; i < camp->n_members; i++) {
		if (!round_has_member(r, &camp->members[i]))
			continue;
		char pseudo[SECRET_PSEUDO_LEN + 1];
		secret_pseudonym(&c->key, camp->id, camp->members[i].id, pseudo);
		strbuf_printf(&b, "%s\n", pseudo);
	}
	_cleanup_free_ char *path = audience_path(camp, rt->id, rt->occurrence);
	_cleanup_free_ char *data = strbuf_steal(&b);
	int k = store_replace(c->st, path, data, strlen(data));
	if (k < 0)
		log_warning_errno(k, "%s/%s: cannot write who the occurrence %s asked (%s): its "
		                  "digests will count the members of the configuration: %m",
		                  camp->id, rt->id, rt->occurrence, path);
}

/* The pseudonyms of an occurrence's audience at its close, or NULL (still open, or closed
 * before audiences were written). */
static char **closed_audience(core *c, const coco_campaign *camp, const char *round,
                              const char *occ)
{
	_cleanup_free_ char *path = audience_path(camp, round, occ), *data = NULL;
	if (store_read(c->st, path, 1 << 24, &data, NULL) < 0)
		return NULL;
	char **v = xcalloc(1, sizeof *v);
	for (char *p = data, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break; /* a line without its end was never written whole */
		if (nl > p)
			strv_push(&v, xstrndup(p, (size_t)(nl - p)));
	}
	return v;
}

int core_audience_drop(core *c, const coco_campaign *camp, const char *round, const char *occ,
                       const char *pseudo)
{
	_cleanup_free_ char *path = audience_path(camp, round, occ), *data = NULL;
	int r = store_read(c->st, path, 1 << 24, &data, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	strbuf b = {0};
	int dropped = 0;
	for (char *p = data, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break; /* as closed_audience(): never written whole */
		size_t n = (size_t)(nl - p);
		if (n == strlen(pseudo) && memcmp(p, pseudo, n) == 0)
			dropped++;
		else
			strbuf_add(&b, p, n + 1);
	}
	_cleanup_free_ char *out = strbuf_steal(&b);
	if (dropped)
		r = store_replace(c->st, path, out, strlen(out));
	return r < 0 ? r : dropped;
}

bool core_was_asked(core *c, const coco_campaign *camp, char **audience,
                    const coco_member *m)
{
	if (!audience)
		return true;
	char pseudo[SECRET_PSEUDO_LEN + 1];
	secret_pseudonym(&c->key, camp->id, m->id, pseudo);
	for (char **a = audience; *a; a++)
		if (STREQ(*a, pseudo))
			return true;
	return false;
}

char **core_closed_audience(core *c, const coco_campaign *camp, const round_rt *rt)
{
	if (!rt->occurrence || rt->state == RS_OPEN)
		return NULL;
	return closed_audience(c, camp, rt->id, rt->occurrence);
}

int round_close(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                const char *why)
{
	write_audience(c, camp, campaign_find_round(camp, rt->id), rt);
	rt->state = RS_CLOSED;
	log_info("%s/%s: round closed (%s), occurrence %s", camp->id, rt->id, why, rt->occurrence);
	/* Remembered for the next periodic digest, which covers what closed since the last. */
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "r", rt->id);
	cJSON_AddStringToObject(e, "o", rt->occurrence ? rt->occurrence : "");
	cJSON_AddItemToArray(ct->closed, e);
	int k = core_ct_save(c, ct); /* closed is durable before anything is said about it */
	int d = round_finish(c, camp, ct, rt);
	return k < 0 ? k : d;
}

/* A member's reminder instants for the current occurrence, and how many were sent. Returns
 * false for members who get none (not asked, already answered). A partial answer (a required
 * question still open) is reminded: the reminder says what is missing. */
static bool member_reminders(core *c, const coco_campaign *camp, const coco_round *r,
                             round_rt *rt, const coco_member *m, int64_t times[64],
                             size_t *ret_n, unsigned *ret_sent)
{
	*ret_n = 0;
	if (!round_has_member(r, m) ||
	    (has_answered(c, camp, r, rt, m) && !has_answered_partly(c, camp, r, rt, m)))
		return false;
	(void)schedule_reminders(r, rt->open_at, rt->close_at, member_tz(camp, m),
	                         camp->quiet_start, camp->quiet_end, times, 64, ret_n);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rt->reminded, m->id);
	*ret_sent = cJSON_IsNumber(v) ? (unsigned)v->valueint : 0;
	return true;
}

/* Why a reminder by hand would come too soon for this member ("reminded 3 hours ago"), or
 * NULL: invited or reminded within REMIND_GUARD_HOURS. */
static char *too_soon(const round_rt *rt, const coco_member *m, int64_t now)
{
	const int64_t guard = REMIND_GUARD_HOURS * INT64_C(3600);
	int64_t at = core_json_i64(rt->reminded_at, m->id, INT64_MIN);
	const char *what = "reminded";
	if (at == INT64_MIN && cJSON_HasObjectItem(rt->uninvited, m->id))
		return NULL; /* never reached in this occurrence: unsubscribed, or no channel */
	if (at == INT64_MIN || (rt->open_at != INT64_MAX && rt->open_at > at)) {
		at = rt->open_at != INT64_MAX ? rt->open_at : INT64_MIN;
		what = "invited";
	}
	if (at == INT64_MIN || now - at >= guard || now < at)
		return NULL;
	int64_t mins = (now - at) / 60;
	return mins < 60 ? xasprintf("%s %lld minute%s ago", what, (long long)mins,
	                             mins == 1 ? "" : "s")
	                 : xasprintf("%s %lld hour%s ago", what, (long long)(mins / 60),
	                             mins / 60 == 1 ? "" : "s");
}

void round_remind(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                  bool by_hand, bool force, unsigned *ret_sent, cJSON *ret_skipped)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	int64_t now = clock_now();
	unsigned n = 0, dropped = 0;
	if (!r || r->kind == ROUND_ANNOUNCE)
		return;
	for (size_t i = 0; i < camp->n_members; i++) {
		const coco_member *m = &camp->members[i];
		int64_t times[64];
		size_t nt;
		unsigned sent, due = 0;
		if (!member_reminders(c, camp, r, rt, m, times, &nt, &sent))
			continue;
		while (due < nt && times[due] <= now)
			due++;
		if (by_hand) {
			/* Twice `cococtl remind` is not twice the mail: the same member is not
			 * nudged again within hours, by hand or by schedule, unless forced. And
			 * whom nothing reaches is listed too, not left to the log. */
			const char *unreachable = core_unreachable_why(c, camp, m);
			_cleanup_free_ char *why = unreachable ? xstrdup(unreachable)
			                           : force     ? NULL
			                                       : too_soon(rt, m, now);
			if (why) {
				if (ret_skipped) {
					cJSON *o = cJSON_CreateObject();
					cJSON_AddStringToObject(o, "member", m->id);
					cJSON_AddStringToObject(o, "why", why);
					cJSON_AddItemToArray(ret_skipped, o);
				}
				continue;
			}
			due = sent + 1;
		}
		if (due <= sent)
			continue;
		/* After downtime several may be due: one reminder, not a burst. And one that comes
		 * so late that less than half of its lead time to the close is left (a "4 hours
		 * left" reminder with minutes to go) is dropped, not sent. */
		bool stale = false;
		if (!by_hand && due >= 1 && due <= nt) {
			int64_t at = times[due - 1];
			stale = now - at > (rt->close_at - at) / 2;
		}
		if (!stale) {
			int k = core_send_round_message(c, camp, r, rt, m, "reminder", due);
			if (k >= 0 && k != CORE_UNREACHED) {
				n++;
				cJSON_DeleteItemFromObjectCaseSensitive(rt->reminded_at, m->id);
				cJSON_AddNumberToObject(rt->reminded_at, m->id, (double)now);
			}
		} else
			dropped++;
		cJSON_DeleteItemFromObjectCaseSensitive(rt->reminded, m->id);
		cJSON_AddNumberToObject(rt->reminded, m->id, due);
	}
	if (dropped > 0)
		log_notice("%s/%s: %u reminder%s due while cocod was not running came too close to "
		           "the close and %s dropped", camp->id, rt->id, dropped,
		           dropped == 1 ? "" : "s", dropped == 1 ? "was" : "were");
	if (n > 0 || dropped > 0) {
		if (n > 0)
			log_info("%s/%s: %u reminder%s queued", camp->id, rt->id, n, n == 1 ? "" : "s");
		core_ct_save(c, ct);
	}
	if (ret_sent)
		*ret_sent = n;
}

static int64_t round_next_reminder(core *c, const coco_campaign *camp, round_rt *rt)
{
	const coco_round *r = campaign_find_round(camp, rt->id);
	int64_t next = INT64_MAX;
	if (r && r->n_remind == 0)
		return next; /* asked every loop turn: not a look at every member for nothing */
	for (size_t i = 0; r && i < camp->n_members; i++) {
		int64_t times[64];
		size_t nt;
		unsigned sent;
		if (member_reminders(c, camp, r, rt, &camp->members[i], times, &nt, &sent) &&
		    sent < nt && times[sent] < next)
			next = times[sent];
	}
	return next;
}

/* The digest of an occurrence that has closed (rt may have moved on to the next one). */
static int compile_closed_digest(core *c, const coco_campaign *camp, campaign_rt *ct,
                                 round_rt *rt, const char *occ, char **const comments,
                                 char **ret_md, char **ret_html)
{
	char *saved_occ = rt->occurrence, *saved_prev = rt->prev_occurrence;
	round_state saved_state = rt->state;
	bool current = saved_occ && STREQ(saved_occ, occ);
	rt->occurrence = (char *)occ;
	if (!current) {
		rt->state = RS_DIGESTED;
		/* The trend of the closed one needs the one before it, which is not kept. */
		if (saved_prev && STREQ(saved_prev, occ))
			rt->prev_occurrence = NULL;
	}
	int k = compile_round_digest(c, camp, ct, rt, comments, ret_md, ret_html, NULL);
	rt->occurrence = saved_occ;
	rt->prev_occurrence = saved_prev;
	rt->state = saved_state;
	return k;
}

static bool closed_listed(const cJSON *closed, const char *round, const char *occ)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, closed)
	{
		if (STREQ(core_json_str(e, "r") ?: "", round) && STREQ(core_json_str(e, "o") ?: "", occ))
			return true;
	}
	return false;
}

/* The periodic digest covers what happened since the previous one: the rounds that closed
 * since (their results), the rounds open now (their progress), and the comments. */
/* One round's section of a periodic digest, after a rule if it is not the first. */
static void add_section(strbuf *md, strbuf *html, bool *html_ok, const char *one,
                        const char *one_html)
{
	if (md->len)
		strbuf_puts(md, "\n\n---\n\n");
	strbuf_puts(md, one);
	if (!one_html)
		*html_ok = false;
	else {
		if (html->len)
			strbuf_puts(html, "<hr style=\"border:0;border-top:1px solid #cccccc;"
			                  "margin:24px 0\">\n");
		strbuf_puts(html, one_html);
	}
}

int periodic_digest(core *c, const coco_campaign *camp, campaign_rt *ct)
{
	strbuf md = {0}, html = {0};
	bool html_ok = true; /* every section has its HTML fragment */
	int64_t lines;
	char **comments = comments_since(c, camp, ct, NULL, &lines);
	unsigned n = 0;
	const cJSON *e;
	ct->in_periodic = true;
	cJSON_ArrayForEach(e, ct->closed)
	{
		round_rt *rt = rt_find(ct, core_json_str(e, "r") ?: "");
		const coco_round *r = rt ? campaign_find_round(camp, rt->id) : NULL;
		const char *occ = core_json_str(e, "o");
		_cleanup_free_ char *one = NULL, *one_html = NULL;
		if (!r || !occ || !*occ || r->kind == ROUND_ANNOUNCE ||
		    compile_closed_digest(c, camp, ct, rt, occ, n == 0 ? comments : NULL, &one,
		                          &one_html) < 0)
			continue;
		add_section(&md, &html, &html_ok, one, one_html);
		n++;
	}
	for (size_t i = 0; i < ct->n_rounds; i++) {
		round_rt *rt = &ct->rounds[i];
		const coco_round *r = campaign_find_round(camp, rt->id);
		if (!r || rt->state != RS_OPEN || r->kind == ROUND_ANNOUNCE ||
		    closed_listed(ct->closed, rt->id, rt->occurrence))
			continue;
		_cleanup_free_ char *one = NULL, *one_html = NULL;
		if (compile_round_digest(c, camp, ct, rt, n == 0 ? comments : NULL, &one,
		                         &one_html, NULL) < 0)
			continue;
		add_section(&md, &html, &html_ok, one, one_html);
		n++;
	}
	strv_free(comments);
	ct->in_periodic = false;
	_cleanup_free_ char *end = NULL; /* the comment hint and the footer, once at the end */
	/* The copies for chat channels and for the campaign's rooms: the same sections (they
	 * carry no link), their own end. */
	_cleanup_free_ char *chat_md = NULL, *chat_end = NULL, *room_md = NULL, *room_end = NULL;
	if (n > 0 && digest_render_end(camp, (const char *const *)c->tdirs, core_web_base(c),
	                               false, true, &chat_end) >= 0)
		chat_md = xasprintf("%s%s", md.s ? md.s : "", chat_end);
	if (n > 0 && core_has_room(c, camp) &&
	    digest_render_end(camp, (const char *const *)c->tdirs, NULL, true, true, &room_end) >= 0)
		room_md = xasprintf("%s%s", md.s ? md.s : "", room_end);
	if (n > 0 && digest_render_end(camp, (const char *const *)c->tdirs,
	                                    core_web_base(c), false, false, &end) >= 0) {
		strbuf_puts(&md, end);
		_cleanup_free_ char *end_html = NULL;
		if (digest_markdown_to_html(end, &end_html) >= 0)
			strbuf_puts(&html, end_html);
	}
	int k = 0;
	if (n > 0) {
		coco_localtime lt = {0};
		(void)schedule_utc_to_local(clock_now(), camp->timezone, &lt, NULL);
		_cleanup_free_ char *name = xasprintf("periodic-%04d-%02d-%02d", lt.year, lt.month, lt.day);
		k = publish_digest(c, camp, NULL, name, md.s, html_ok ? html.s : NULL, chat_md,
		                   room_md, false);
		if (k >= 0) {
			ct->last_digest = clock_now();
			comments_shown(ct, NULL, lines);
			cJSON_Delete(ct->closed);
			ct->closed = cJSON_CreateArray();
		}
	} else
		log_info("%s: periodic digest skipped: no round open or closed since the last one",
		         camp->id);
	strbuf_done(&md);
	strbuf_done(&html);
	return k < 0 ? k : (int)n;
}

int core_tick(core *c)
{
	int64_t now = clock_now();
	int n = 0;
	for (size_t ci = 0; ci < c->n_camps; ci++) {
		campaign_rt *ct = &c->camps[ci];
		const coco_campaign *camp = cfg_campaign(c, ct->id);
		if (!camp)
			continue;
		if (ct->retry_at && ct->retry_at <= now) {
			/* Writes that failed (a full or read-only disk) are tried again. */
			ct->retry_at = 0;
			for (size_t i = 0; i < ct->n_rounds; i++)
				if (ct->rounds[i].state == RS_CLOSED)
					(void)round_finish(c, camp, ct, &ct->rounds[i]);
			if (ct->unsaved)
				(void)core_ct_save(c, ct);
		}
		for (size_t i = 0; i < ct->n_rounds; i++) {
			round_rt *rt = &ct->rounds[i];
			/* Loop: a round may close and its next occurrence open in one tick. */
			for (unsigned guard = 0; guard < 1000; guard++) {
				if (rt->state == RS_SCHEDULED && rt->open_at <= now) {
					if (rt->close_at > now || rt->close_at == rt->open_at) {
						round_open(c, camp, ct, rt, "scheduled");
						n++;
						continue;
					}
					log_warning("%s/%s: occurrence %s was due while cocod was not "
					            "running and its window has passed: skipped",
					            camp->id, rt->id, rt->occurrence);
					rt_schedule_next(c, camp, rt, rt->open_at);
					core_ct_save(c, ct);
					continue;
				}
				if (rt->state == RS_OPEN && rt->close_at <= now) {
					round_close(c, camp, ct, rt, "scheduled");
					n++;
					continue;
				}
				break;
			}
			if (rt->state == RS_OPEN)
				round_remind(c, camp, ct, rt, false, false, NULL, NULL);
		}
		if (ct->digest_next == INT64_MIN)
			ct_schedule_digest(c, camp, ct, now);
		if (ct->digest_next <= now) {
			periodic_digest(c, camp, ct);
			ct_schedule_digest(c, camp, ct, now);
			core_ct_save(c, ct);
			n++;
		}
	}
	return n;
}

int64_t core_next_event(core *c)
{
	int64_t next = INT64_MAX;
	for (size_t ci = 0; ci < c->n_camps; ci++) {
		campaign_rt *ct = &c->camps[ci];
		const coco_campaign *camp = cfg_campaign(c, ct->id);
		if (!camp)
			continue;
		if (ct->digest_next < next)
			next = ct->digest_next;
		if (ct->retry_at && ct->retry_at < next)
			next = ct->retry_at;
		for (size_t i = 0; i < ct->n_rounds; i++) {
			round_rt *rt = &ct->rounds[i];
			int64_t t = INT64_MAX;
			if (rt->state == RS_SCHEDULED)
				t = rt->open_at;
			else if (rt->state == RS_OPEN) {
				t = rt->close_at;
				int64_t rem = round_next_reminder(c, camp, rt);
				if (rem < t)
					t = rem;
			}
			if (t < next)
				next = t;
		}
	}
	return next;
}

/* ---- setup ------------------------------------------------------------------------ */

static void campaigns_free(core *c)
{
	for (size_t i = 0; i < c->n_camps; i++) {
		campaign_rt *ct = &c->camps[i];
		for (size_t k = 0; k < ct->n_rounds; k++) {
			round_rt *rt = &ct->rounds[k];
			free(rt->id);
			free(rt->occurrence);
			free(rt->prev_occurrence);
			free(rt->ballot_occurrence);
			cJSON_Delete(rt->reminded);
			cJSON_Delete(rt->reminded_at);
			cJSON_Delete(rt->uninvited);
			strmap_free(rt->answered);
			strmap_free(rt->complete);
			core_round_data_cache_free(rt->data_cache);
		}
		free(ct->rounds);
		free(ct->id);
		cJSON_Delete(ct->closed);
	}
	free(c->camps);
	c->camps = NULL;
	c->n_camps = 0;
}

/* A reload that makes a round open now ask someone it did not ask before (a new [Member],
 * a round's Audience= widened) invites them at once: the round's opening invited
 * only those it asked then, and nothing else would (trial 6: `cococtl remind` even said they
 * were invited). Only on a reload: the configuration cocod ran with before a restart is not
 * known. */
static void invite_newcomers(core *c, const coco_config *old)
{
	for (size_t i = 0; i < c->cfg->n_campaigns; i++) {
		const coco_campaign *camp = &c->cfg->campaigns[i];
		const coco_campaign *was = config_find_campaign(old, camp->id);
		campaign_rt *ct = &c->camps[i];
		bool changed = false;
		for (size_t k = 0; was && k < ct->n_rounds; k++) {
			round_rt *rt = &ct->rounds[k];
			const coco_round *r = campaign_find_round(camp, rt->id);
			const coco_round *r_was = campaign_find_round(was, rt->id);
			if (rt->state != RS_OPEN || !r || !r_was)
				continue;
			for (size_t j = 0; j < camp->n_members; j++) {
				const coco_member *m = &camp->members[j];
				const coco_member *m_was = campaign_find_member(was, m->id);
				if (!round_has_member(r, m) || (m_was && round_has_member(r_was, m_was)))
					continue;
				int n = core_send_round_message(c, camp, r, rt, m, "prompt", 0);
				if (n == CORE_UNREACHED) {
					cJSON_AddTrueToObject(rt->uninvited, m->id);
					changed = true;
				}
				if (n < 0)
					log_error("%s/%s: %s joined the open round, but the invitation could "
					          "not be queued (see above)", camp->id, r->id, m->id);
				else if (n != CORE_UNREACHED)
					log_info("%s/%s: %s joined the open round: invitation queued", camp->id,
					         r->id, m->id);
			}
		}
		if (changed)
			(void)core_ct_save(c, ct);
	}
}

int core_set_config(core *c, const coco_config *cfg)
{
	const coco_config *old = c->cfg;
	c->cfg = cfg;
	campaigns_free(c);
	c->tags = core_tags_free(c->tags);
	c->tags = core_tags_build(cfg, &c->key);

	c->camps = xcalloc(cfg->n_campaigns, sizeof *c->camps);
	c->n_camps = cfg->n_campaigns;
	for (size_t i = 0; i < cfg->n_campaigns; i++) {
		const coco_campaign *camp = &cfg->campaigns[i];
		campaign_rt *ct = &c->camps[i];
		ct->id = xstrdup(camp->id);
		ct->rounds = xcalloc(camp->n_rounds, sizeof *ct->rounds);
		ct->n_rounds = camp->n_rounds;
		for (size_t k = 0; k < camp->n_rounds; k++)
			ct->rounds[k].id = xstrdup(camp->rounds[k].id);
		int r = ct_load(c, camp, ct);
		if (r < 0)
			return r;
	}
	if (old)
		invite_newcomers(c, old);
	return 0;
}

/* ---- the conversation index: a channel's remote id → the conversation it belongs to ---- */

#define CONVERSATIONS "conversations.jsonl"
/* How long an entry of the index is kept after the message was sent, unless its round
 * occurrence is still open (docs/store-format.md). */
#define CONVERSATION_KEEP_DAYS 90

static char *conversation_key(const char *chan, const char *remote_id)
{
	return xasprintf("%s %s", chan, remote_id);
}

/* The index holds a reference and an occurrence per message: the occurrence of the round
 * the message was about, when it was about one, so that a reply to last month's
 * invitation is not taken for an answer to this month's. */
typedef struct conversation {
	const char *occ; /* or NULL; in text[], after ref */
	bool private_msg; /* a confirmation of an anonymous answer (its bounce names no one) */
	char ref[];       /* NUL-terminated, then occ's text */
} conversation;

static void conversation_free(void *p)
{
	free(p);
}

static void conversation_put(core *c, const char *chan, const char *remote, const char *ref,
                             const char *occ, bool private_msg)
{
	_cleanup_free_ char *k = conversation_key(chan, remote);
	/* A hash: one entry for every message sent, looked up for every one. */
	conversation_free(strmap_remove(c->conversations, k));
	/* One allocation an entry, where three cost some 100 bytes of malloc (an entry for
	 * every message sent: 2 MiB over a burst of 20,000 confirmations). */
	size_t n_ref = strlen(ref) + 1, n_occ = occ ? strlen(occ) + 1 : 0;
	conversation *v = xmalloc(sizeof *v + n_ref + n_occ);
	memcpy(v->ref, ref, n_ref);
	v->occ = occ ? memcpy(v->ref + n_ref, occ, n_occ) : NULL;
	v->private_msg = private_msg;
	(void)strmap_put(c->conversations, k, v);
}

/* Whether the round occurrence a conversation reference and occurrence name is open now. */
static bool conversation_open(core *c, const char *ref, const char *occ)
{
	core_tag t;
	if (!occ || strlen(ref) != SECRET_TAG_LEN || !core_tags_find(c->tags, c->cfg, ref, &t) ||
	    !t.round)
		return false;
	campaign_rt *ct = ct_find(c, t.camp->id);
	round_rt *rt = ct ? rt_find(ct, t.round->id) : NULL;
	return rt && rt->state == RS_OPEN && rt->occurrence && STREQ(rt->occurrence, occ);
}

typedef struct conversation_load {
	core *c;
	int64_t now;
	strbuf kept;   /* the lines kept, for the compacted file */
	size_t n_dropped, n_stamped;
} conversation_load;

/* Loads one line of the index, unless it is past CONVERSATION_KEEP_DAYS and its round
 * occurrence is not open: a reply to a message that old finds its round by its reference,
 * or not at all. A line without "at" (written before it was kept) gets now. */
static int on_conversation_line(const char *line, size_t len, void *userdata)
{
	conversation_load *x = userdata;
	core *c = x->c;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const char *ch = core_json_str(o, "channel"), *remote = core_json_str(o, "remote"),
	           *ref = core_json_str(o, "conversation"), *occ = core_json_str(o, "occurrence");
	int64_t at = core_json_i64(o, "at", INT64_MIN);
	if (!ch || !remote || !ref) {
		x->n_dropped++;
		cJSON_Delete(o);
		return 0;
	}
	if (at == INT64_MIN) {
		cJSON_AddNumberToObject(o, "at", (double)x->now);
		x->n_stamped++;
	} else if (x->now - at > CONVERSATION_KEEP_DAYS * INT64_C(86400) &&
	           !conversation_open(c, ref, occ)) {
		x->n_dropped++;
		cJSON_Delete(o);
		return 0;
	}
	conversation_put(c, ch, remote, ref, occ,
	                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "private")));
	_cleanup_free_ char *text = cJSON_PrintUnformatted(o);
	strbuf_printf(&x->kept, "%s\n", text);
	cJSON_Delete(o);
	return 0;
}

/* Loads the conversation index and, when lines expired (or lacked "at"), writes it again
 * with the lines kept: a new file made durable and renamed over the old one
 * (store_replace()), so a crash leaves either file whole. Called at start, before anything
 * is appended to it. */
static void conversations_load(core *c)
{
	conversation_load x = {.c = c, .now = clock_now()};
	int r = store_scan(c->st, CONVERSATIONS, on_conversation_line, &x);
	if (r >= 0 && (x.n_dropped > 0 || x.n_stamped > 0)) {
		r = store_replace(c->st, CONVERSATIONS, x.kept.s ? x.kept.s : "", x.kept.len);
		if (r < 0)
			log_warning_errno(r, "cannot compact %s (it is tried again at the next "
			                  "start): %m", CONVERSATIONS);
		else if (x.n_dropped > 0)
			log_info("%s: %zu entr%s older than %d days dropped, %zu kept", CONVERSATIONS,
			         x.n_dropped, x.n_dropped == 1 ? "y" : "ies", CONVERSATION_KEEP_DAYS,
			         strmap_size(c->conversations));
	}
	strbuf_done(&x.kept);
}

static const conversation *conversation_entry(core *c, const char *chan, const char *remote_id)
{
	if (!chan || !remote_id)
		return NULL;
	_cleanup_free_ char *k = conversation_key(chan, remote_id);
	return strmap_get(c->conversations, k);
}

const char *core_conversation_lookup(core *c, const char *chan, const char *remote_id)
{
	const conversation *v = conversation_entry(c, chan, remote_id);
	return v ? v->ref : NULL;
}

const char *core_conversation_occurrence(core *c, const char *chan, const char *remote_id)
{
	const conversation *v = conversation_entry(c, chan, remote_id);
	return v ? v->occ : NULL;
}

int core_conversation_private(core *c, const char *chan, const char *remote_id)
{
	const conversation *v = conversation_entry(c, chan, remote_id);
	return v ? v->private_msg : -ENOENT;
}

void core_note_sent(const char *chan, const cJSON *msg, const char *remote_id, void *userdata)
{
	core *c = userdata;
	const char *ref = core_json_str(msg, "conversation");
	const char *occ = core_json_str(msg, "occurrence");
	bool private_msg = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "private"));
	if (!ref || !remote_id || core_conversation_lookup(c, chan, remote_id))
		return;
	conversation_put(c, chan, remote_id, ref, occ, private_msg);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	cJSON_AddStringToObject(o, "channel", chan);
	cJSON_AddStringToObject(o, "remote", remote_id);
	cJSON_AddStringToObject(o, "conversation", ref);
	if (occ)
		cJSON_AddStringToObject(o, "occurrence", occ);
	if (private_msg)
		cJSON_AddTrueToObject(o, "private");
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* Committed with the next group commit; a crash before it loses the entry, and a reply
	 * to that one message then needs its reference (a reply address, a button) instead. */
	int r = store_append(c->st, CONVERSATIONS, line, NULL, NULL, NULL);
	if (r < 0)
		log_warning_errno(r, "cannot record %s's id of a sent message: %m", chan);
}

int core_new(const coco_config *cfg, store *st, spool *sp, const secret *key,
             const char *const *template_dirs, core **ret)
{
	core *c = xcalloc(1, sizeof *c);
	c->st = st;
	c->sp = sp;
	c->key = *key;
	for (size_t i = 0; template_dirs && template_dirs[i]; i++)
		strv_push(&c->tdirs, xstrdup(template_dirs[i]));
	c->tcache = template_cache_new(c->tdirs);
	c->conversations = strmap_new();
	int r = core_set_config(c, cfg);
	if (r < 0) {
		core_free(c);
		return r;
	}
	/* After the configuration: whether a round occurrence is open decides what stays. */
	conversations_load(c);
	*ret = c;
	return 0;
}

core *core_free(core *c)
{
	if (!c)
		return NULL;
	campaigns_free(c);
	core_tags_free(c->tags);
	strmap_free_values(c->conversations, conversation_free);
	cJSON_Delete(c->muted);
	free(c->channels);
	free(c->deferred); /* empty outside core_commit() */
	template_cache_free(c->tcache);
	strv_free(c->tdirs);
	free(c);
	return NULL;
}

