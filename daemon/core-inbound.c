/* core-inbound: an inbound message becomes an answer. Who answered and to which round comes
 * from the reply tag (in the address the reply went to, or in the Message-ID it answers),
 * else from the sender's address when that leaves no doubt. The answer is appended to the
 * store; only when the commit covering it has run is the member told what was recorded and
 * the connector allowed to drop its copy. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "clock.h"
#include "core-private.h"
#include "digest.h"
#include "util.h"

typedef struct pending {
	core *c;
	inbound_done_fn done;
	void *done_userdata;
	char *campaign, *round, *member, *identity;
	char *subject, *markdown, *reply_id, *in_reply_to;
} pending;

static void pending_free(pending *p)
{
	free(p->campaign);
	free(p->round);
	free(p->member);
	free(p->identity);
	free(p->subject);
	free(p->markdown);
	free(p->reply_id);
	free(p->in_reply_to);
	free(p);
}

/* A reply tag sits after '+' in an address local part, or before '@' in one of our
 * Message-IDs ("<id>.<tag>@domain"). */
static const cJSON *tag_lookup(core *c, const char *s, bool in_address)
{
	const char *at = strchr(s, '@');
	if (!at || at - s < SECRET_TAG_LEN)
		return NULL;
	const char *start = at - SECRET_TAG_LEN;
	char sep = start > s ? start[-1] : 0;
	if (in_address ? sep != '+' : sep != '.')
		return NULL;
	if (strcasecmp(at + 1, c->domain) != 0)
		return NULL;
	char tag[SECRET_TAG_LEN + 1];
	for (size_t i = 0; i < SECRET_TAG_LEN; i++)
		tag[i] = (char)(start[i] | 0x20); /* base32 tags are lower-case; mail may not be */
	tag[SECRET_TAG_LEN] = 0;
	return cJSON_GetObjectItemCaseSensitive(c->tags, tag);
}

static const cJSON *find_tag(core *c, const inbound_msg *m)
{
	const cJSON *t;
	for (size_t i = 0; m->to && m->to[i]; i++)
		if ((t = tag_lookup(c, m->to[i], true)))
			return t;
	if (m->in_reply_to && (t = tag_lookup(c, m->in_reply_to, false)))
		return t;
	for (size_t i = 0; m->references && m->references[i]; i++)
		if ((t = tag_lookup(c, m->references[i], false)))
			return t;
	return NULL;
}

static bool member_has_address(const coco_member *mb, const char *from)
{
	for (size_t i = 0; i < mb->n_emails; i++)
		if (strcasecmp(mb->emails[i], from) == 0)
			return true;
	return (mb->slack_id && STREQ(mb->slack_id, from)) ||
	       (mb->matrix_id && STREQ(mb->matrix_id, from));
}

/* The member with this address in the first campaign that has one. */
static const coco_member *member_by_address(core *c, const char *from,
                                            const coco_campaign **ret_camp)
{
	for (size_t i = 0; from && i < c->cfg->n_campaigns; i++) {
		const coco_campaign *camp = &c->cfg->campaigns[i];
		for (size_t k = 0; k < camp->n_members; k++)
			if (member_has_address(&camp->members[k], from)) {
				*ret_camp = camp;
				return &camp->members[k];
			}
	}
	return NULL;
}

/* Without a tag: the one open round this member is asked in, if there is exactly one. */
static const coco_round *only_open_round(core *c, const coco_campaign *camp,
                                         const coco_member *mb, unsigned *ret_n)
{
	campaign_rt *ct = ct_find(c, camp->id);
	const coco_round *found = NULL;
	unsigned n = 0;
	for (size_t i = 0; ct && i < ct->n_rounds; i++) {
		const coco_round *r = campaign_find_round(camp, ct->rounds[i].id);
		if (r && ct->rounds[i].state == RS_OPEN && r->kind != ROUND_ANNOUNCE &&
		    round_has_member(r, mb)) {
			found = r;
			n++;
		}
	}
	*ret_n = n;
	return n == 1 ? found : NULL;
}

/* Control characters → spaces: a subject someone else wrote, reused in a header, must never
 * make the reply impossible to compose (issue 8.8). */
static char *subject_one_line(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* "Re: " + subject, without stacking "Re: Re: ". */
static char *reply_subject(const char *subject, const char *fallback)
{
	if (!subject || !*subject)
		return subject_one_line(xasprintf("Re: %s", fallback));
	if (strncasecmp(subject, "re:", 3) == 0)
		return subject_one_line(xstrdup(subject));
	return subject_one_line(xasprintf("Re: %s", subject));
}

static void reply(core *c, const coco_campaign *camp, const coco_member *mb, const char *round,
                  const inbound_msg *m, const char *subject, const char *md)
{
	_cleanup_free_ char *id = core_message_id(c, "reply", camp->id, m->key, mb->id);
	_cleanup_free_ char *subj = reply_subject(subject, "your answer");
	outbound o = {.camp = camp, .to = mb, .kind = "reply", .round = round, .id = id,
	              .subject = subj, .markdown = md, .in_reply_to = m->message_id};
	core_send_member(c, &o);
}

static void on_comment_stored(int result, void *userdata)
{
	pending *p = userdata;
	if (result == STORE_STORED)
		log_info("%s: comment on a digest recorded from %s", p->campaign, p->member);
	p->done(result < 0 ? result : 0, p->done_userdata);
	pending_free(p);
}

static void on_answer_stored(int result, void *userdata)
{
	pending *p = userdata;
	core *c = p->c;
	if (result == STORE_STORED) {
		const coco_campaign *camp = config_find_campaign(c->cfg, p->campaign);
		campaign_rt *ct = ct_find(c, p->campaign);
		round_rt *rt = ct ? rt_find(ct, p->round) : NULL;
		const coco_member *mb = camp ? campaign_find_member(camp, p->member) : NULL;
		if (rt && rt->answered && !cJSON_GetObjectItemCaseSensitive(rt->answered, p->identity))
			cJSON_AddTrueToObject(rt->answered, p->identity);
		if (camp && mb) {
			outbound o = {.camp = camp, .to = mb, .kind = "confirmation", .round = p->round,
			              .id = p->reply_id, .subject = p->subject, .markdown = p->markdown,
			              .in_reply_to = p->in_reply_to};
			core_send_member(c, &o);
		}
		log_info("%s/%s: answer recorded from %s", p->campaign, p->round, p->member);
	} else if (result == STORE_DUPLICATE)
		log_info("%s/%s: answer from %s was already recorded (same message again)",
		         p->campaign, p->round, p->member);
	p->done(result < 0 ? result : 0, p->done_userdata);
	pending_free(p);
}

static void receive_comment(core *c, const coco_campaign *camp, const coco_member *mb,
                            const inbound_msg *m, inbound_done_fn done, void *ud)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	cJSON_AddStringToObject(o, "member", mb->id);
	cJSON_AddStringToObject(o, "side", side_to_string(mb->side));
	cJSON_AddStringToObject(o, "via", m->via ? m->via : "?");
	cJSON_AddStringToObject(o, "text", m->text ? m->text : "");
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	_cleanup_free_ char *path = xasprintf("campaigns/%s/comments.jsonl", camp->id);
	pending *p = xcalloc(1, sizeof *p);
	*p = (pending){.c = c, .done = done, .done_userdata = ud, .campaign = xstrdup(camp->id),
	               .member = xstrdup(mb->id)};
	int r = store_append(c->st, path, line, m->key, on_comment_stored, p);
	if (r < 0) {
		pending_free(p);
		done(r, ud);
	}
}

void core_receive(void *core_, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	core *c = core_;
	const char *from = m->from ? m->from : "(unknown)";

	if (m->automatic) {
		log_info("message %s from %s is automatic (auto-reply, bounce or list): not an answer",
		         m->key, from);
		done(0, ud);
		return;
	}

	const coco_campaign *camp = NULL;
	const coco_member *mb = NULL;
	const coco_round *r = NULL;
	const cJSON *tag = find_tag(c, m);
	if (tag) {
		camp = config_find_campaign(c->cfg, core_json_str(tag, "c"));
		mb = camp ? campaign_find_member(camp, core_json_str(tag, "m")) : NULL;
		if (mb && STREQ(core_json_str(tag, "r"), "digest")) {
			receive_comment(c, camp, mb, m, done, ud);
			return;
		}
		r = camp ? campaign_find_round(camp, core_json_str(tag, "r")) : NULL;
		if (mb && !member_has_address(mb, from))
			log_info("message %s: reply tag names %s, sent from %s: the tag decides",
			         m->key, mb->id, from);
	} else
		mb = member_by_address(c, from, &camp);

	if (!mb) {
		/* No reply to strangers: that would make coco a backscatter source. */
		log_warning("message %s from %s: unknown sender and no valid reply tag, ignored",
		            m->key, from);
		done(0, ud);
		return;
	}
	if (!r) {
		unsigned n;
		r = only_open_round(c, camp, mb, &n);
		if (!r) {
			_cleanup_free_ char *md = xasprintf(
				"Hello %s,\n\nthanks for writing. %s, so I could not tell which "
				"round your message answers. Please reply to the message of the "
				"round you are answering.\n",
				mb->name ? mb->name : mb->id,
				n == 0 ? "No round is open for you right now"
				       : "Several rounds are open for you");
			reply(c, camp, mb, "none", m, m->subject, md);
			log_info("message %s from %s: no round could be told (%u open)", m->key,
			         mb->id, n);
			done(0, ud);
			return;
		}
	}

	campaign_rt *ct = ct_find(c, camp->id);
	round_rt *rt = ct ? rt_find(ct, r->id) : NULL;
	if (!rt || !rt->occurrence || (rt->state != RS_OPEN && rt->state != RS_SCHEDULED) ||
	    r->kind == ROUND_ANNOUNCE) {
		_cleanup_free_ char *md = xasprintf(
			"Hello %s,\n\n\"%s\" is %s, so your message was not recorded as an answer.\n",
			mb->name ? mb->name : mb->id, r->title ? r->title : r->id,
			r->kind == ROUND_ANNOUNCE ? "an announcement" : "closed");
		reply(c, camp, mb, r->id, m, m->subject, md);
		log_info("%s/%s: message %s from %s arrived while the round is %s", camp->id, r->id,
		         m->key, mb->id, rt ? round_state_names[rt->state] : "unknown");
		done(0, ud);
		return;
	}

	char **ballot = core_ballot(c, camp, r, rt);
	size_t n_ideas = strv_length(ballot);
	strv_free(ballot);
	_cleanup_answer_parse_ answer_parse *ap = NULL;
	int k = answer_parse_text(r, n_ideas, m->text ? m->text : "", &ap);
	if (k < 0) {
		done(k, ud);
		return;
	}

	/* What was understood and what was not, said back in one message. */
	cJSON *data = core_round_data(c, camp, r, rt, mb);
	_cleanup_free_ char *conf = answer_confirmation(ap);
	cJSON_AddStringToObject(data, "confirmation", conf);
	cJSON *recorded = cJSON_AddArrayToObject(data, "recorded");
	for (size_t i = 0; i < answer_parse_n_answers(ap); i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "question", (double)answer_parse_answer_number(ap, i));
		cJSON_AddStringToObject(o, "value", answer_parse_answer_value(ap, i));
		cJSON_AddItemToArray(recorded, o);
	}
	cJSON *errs = cJSON_AddArrayToObject(data, "not_understood");
	for (char *const *e = answer_parse_errors(ap); *e; e++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(*e));
	cJSON_AddBoolToObject(data, "nothing_recorded", answer_parse_n_items(ap) == 0);
	_cleanup_free_ char *md = NULL;
	k = core_render(c, "confirmation.md", data, &md);
	cJSON_Delete(data);
	if (k < 0)
		md = xasprintf("%s\n", conf);

	if (answer_parse_n_items(ap) == 0) {
		reply(c, camp, mb, r->id, m, m->subject, md);
		log_info("%s/%s: message %s from %s not understood (%zu error%s), told them how to "
		         "answer", camp->id, r->id, m->key, mb->id, answer_parse_n_errors(ap),
		         answer_parse_n_errors(ap) == 1 ? "" : "s");
		done(0, ud);
		return;
	}

	cJSON *rec = NULL;
	if (answer_parse_to_json(ap, &rec) < 0) {
		done(-ENOMEM, ud);
		return;
	}
	char pseudo[SECRET_PSEUDO_LEN + 1];
	const char *identity = answer_identity(c, camp, r, mb, pseudo);
	cJSON *head = cJSON_CreateObject();
	cJSON_AddNumberToObject(head, "v", 1);
	cJSON_AddNumberToObject(head, "at", (double)clock_now());
	cJSON_AddStringToObject(head, r->anonymous ? "pseudo" : "member", identity);
	cJSON_AddStringToObject(head, "side", side_to_string(mb->side));
	cJSON_AddStringToObject(head, "via", m->via ? m->via : "?");
	cJSON *it;
	while ((it = rec->child)) {
		cJSON_DetachItemViaPointer(rec, it);
		cJSON_AddItemToObject(head, it->string, it);
	}
	cJSON_Delete(rec);
	_cleanup_free_ char *line = cJSON_PrintUnformatted(head);
	cJSON_Delete(head);

	pending *p = xcalloc(1, sizeof *p);
	*p = (pending){
		.c = c,
		.done = done,
		.done_userdata = ud,
		.campaign = xstrdup(camp->id),
		.round = xstrdup(r->id),
		.member = xstrdup(mb->id),
		.identity = xstrdup(identity),
		.subject = reply_subject(m->subject, r->title ? r->title : r->id),
		.markdown = TAKE_PTR(md),
		.reply_id = core_message_id(c, "conf", camp->id, m->key, mb->id),
		.in_reply_to = m->message_id ? xstrdup(m->message_id) : NULL,
	};
	_cleanup_free_ char *path = core_answers_path(camp->id, r->id, rt->occurrence);
	k = store_append(c->st, path, line, m->key, on_answer_stored, p);
	if (k < 0) {
		log_error_errno(k, "%s/%s: cannot queue the answer of %s: %m", camp->id, r->id,
		                mb->id);
		pending_free(p);
		done(k, ud);
	}
}

typedef struct comments_ctx {
	int64_t since;
	const coco_campaign *camp;
	char **out;
} comments_ctx;

static int on_comment_line(const char *line, size_t len, void *userdata)
{
	comments_ctx *x = userdata;
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!o)
		return 0;
	const char *text = core_json_str(o, "text"), *who = core_json_str(o, "member");
	if (text && core_json_i64(o, "at", 0) > x->since) {
		const coco_member *mb = who ? campaign_find_member(x->camp, who) : NULL;
		strv_push(&x->out, xasprintf("%s: %s", mb && mb->name ? mb->name : "someone", text));
	}
	cJSON_Delete(o);
	return 0;
}

char **comments_since(core *c, const char *camp, int64_t since)
{
	comments_ctx x = {.since = since, .camp = config_find_campaign(c->cfg, camp)};
	_cleanup_free_ char *path = xasprintf("campaigns/%s/comments.jsonl", camp);
	if (x.camp)
		(void)store_scan(c->st, path, on_comment_line, &x);
	return x.out;
}
