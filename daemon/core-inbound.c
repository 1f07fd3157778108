/* core-inbound: an inbound message becomes an answer. Who answered and to which round comes
 * from the reply tag (in the address the reply went to, or in the Message-ID it answers),
 * else from the sender's address when that leaves no doubt. The answer is appended to the
 * store; only when the commit covering it has run is the member told what was recorded and
 * the connector allowed to drop its copy. What the store refuses for good (a record longer
 * than a line it takes) is rejected once, kept in rejected/, and the member told. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "clock.h"
#include "core-private.h"
#include "digest.h"
#include "json-print.h"
#include "mdtext.h"
#include "schedule.h"
#include "util.h"

typedef struct pending {
	core *c;
	inbound_done_fn done;
	void *done_userdata;
	char *campaign, *round, *occurrence, *member, *identity;
	char *subject, *markdown, *reply_id, *in_reply_to;
	char *via; /* the channel it came by: the confirmation goes back by it when it can */
	bool anonymous; /* the log and the spool must not tie the record to the member */
	bool sync_reply; /* the channel says the confirmation back itself (CHANNEL_SYNC_REPLY) */
	bool incomplete; /* a required question is still without an answer: a partial answer */
} pending;

/* The one way an inbound message is answered. */
static void finish(inbound_done_fn done, void *ud, inbound_status status, int error,
                   const char *reason, const char *reply)
{
	inbound_result res = {.status = status, .error = error, .reason = reason, .reply = reply};
	done(&res, ud);
}

/* An answer recorded, its confirmation staged in the open spool batch: done once the batch
 * is durable (core_commit). */
struct deferred_done {
	inbound_done_fn done;
	void *ud;
};

static void finish_after_batch(core *c, inbound_done_fn done, void *ud)
{
	if (c->n_deferred == c->cap_deferred) {
		c->cap_deferred = c->cap_deferred ? c->cap_deferred * 2 : 64;
		c->deferred = xrealloc(c->deferred, c->cap_deferred * sizeof(*c->deferred));
	}
	c->deferred[c->n_deferred++] = (struct deferred_done){done, ud};
}

/* After the store's callbacks ran inside the spool batch: the batch made durable, then the
 * inbound messages answered. */
static int commit_end(core *c, int r)
{
	log_flush(); /* "answer recorded" of records on disk, before the spool's syncs */
	if (r < 0)
		log_error_errno(r, "store commit failed: %m");
	int k = spool_batch_end(c->sp);
	/* Detached first: a done callback may hand the next message in. */
	struct deferred_done *v = TAKE_PTR(c->deferred);
	size_t n = c->n_deferred;
	c->n_deferred = c->cap_deferred = 0;
	for (size_t i = 0; i < n; i++)
		if (k < 0) /* recorded, but not confirmed: kept by the channel, replayed */
			finish(v[i].done, v[i].ud, INBOUND_RETRY, k, NULL, NULL);
		else
			finish(v[i].done, v[i].ud, INBOUND_DONE, 0, NULL, NULL);
	free(v);
	return r < 0 ? r : k < 0 ? k : r;
}

static void on_commit_synced(void *userdata)
{
	core *c = userdata;
	spool_batch_begin(c->sp);
	(void)commit_end(c, store_commit_finish(c->st));
}

int core_commit(core *c)
{
	store_commit_wait(c->st); /* a commit in flight ends first (on_commit_synced) */
	spool_batch_begin(c->sp);
	return commit_end(c, store_commit(c->st));
}

void core_commit_start(core *c)
{
	if (store_commit_busy(c->st) || store_pending(c->st) == 0)
		return;
	int r = store_commit_start(c->st, on_commit_synced, c);
	if (r == -EOPNOTSUPP)
		(void)core_commit(c);
}

static void finish_errno(inbound_done_fn done, void *ud, int r)
{
	if (r < 0)
		finish(done, ud, INBOUND_RETRY, r, NULL, NULL);
	else
		finish(done, ud, INBOUND_DONE, 0, NULL, NULL);
}

static bool store_error_is_permanent(int r);
static void reject_unrecordable(core *c, const inbound_msg *m, const coco_campaign *camp,
                                const coco_member *mb, const char *round, bool anonymous,
                                size_t line_len, int error, inbound_done_fn done, void *ud);

/* The capabilities of the channel a message came through (0 if it is not running). */
static unsigned channel_caps(core *c, const char *name)
{
	const channel_ops *ch = core_running_channel(c, name);
	return ch ? ch->caps : 0;
}

static void pending_free(pending *p)
{
	free(p->campaign);
	free(p->round);
	free(p->occurrence);
	free(p->member);
	free(p->identity);
	free(p->subject);
	free(p->markdown);
	free(p->reply_id);
	free(p->in_reply_to);
	free(p->via);
	free(p);
}

/* Who and which round a reply is about: the conversation reference the channel found in it
 * (the reply tag the core issued with the message it answers), or the one the conversation
 * index has for the message it answers (a chat thread). */
bool core_find_tag(core *c, const inbound_msg *m, core_tag *ret)
{
	const char *ref = m->conversation;
	if (!ref && m->thread)
		ref = core_conversation_lookup(c, m->channel, m->thread);
	if (!ref || strlen(ref) != SECRET_TAG_LEN)
		return false;
	char tag[SECRET_TAG_LEN + 1];
	for (size_t i = 0; i < SECRET_TAG_LEN; i++)
		tag[i] = (char)(ref[i] | 0x20); /* base32 tags are lower-case */
	tag[SECRET_TAG_LEN] = 0;
	return core_tags_find(c->tags, c->cfg, tag, ret);
}

static bool member_has_address(const coco_member *mb, const char *from)
{
	return config_member_has_address(mb, from);
}

/* The member with this address in the first campaign that has one. */
static const coco_member *member_by_address(core *c, const char *from,
                                            const coco_campaign **ret_camp)
{
	for (size_t i = 0; from && i < c->cfg->n_campaigns; i++) {
		const coco_campaign *camp = &c->cfg->campaigns[i];
		const coco_member *mb = campaign_find_member_by_address(camp, from);
		if (mb) {
			*ret_camp = camp;
			return mb;
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

/* The rounds open for this member, as a Markdown list with their close times in the
 * member's zone ("" if none). */
static char *open_rounds_list(core *c, const coco_campaign *camp, const coco_member *mb)
{
	campaign_rt *ct = ct_find(c, camp->id);
	strbuf b = {0};
	for (size_t i = 0; ct && i < ct->n_rounds; i++) {
		const round_rt *rt = &ct->rounds[i];
		const coco_round *r = campaign_find_round(camp, rt->id);
		if (!r || rt->state != RS_OPEN || r->kind == ROUND_ANNOUNCE || !round_has_member(r, mb))
			continue;
		_cleanup_free_ char *until = rt->close_at != INT64_MAX
		                                     ? schedule_format_local(rt->close_at,
		                                                             member_tz(camp, mb))
		                                     : NULL;
		strbuf_printf(&b, "- **%s**%s%s\n", core_round_title(r), until ? ", open until " : "",
		              until ? until : "");
	}
	return b.s ? strbuf_steal(&b) : xstrdup("");
}

/* key: a string constant (core_put()). */
static void add_text(cJSON *o, const char *key, const char *member_text)
{
	_cleanup_free_ char *t = md_text(member_text);
	core_put_str(o, key, t);
}

/* The question's text as the round data has it (number is 1-based), cut to about 80
 * characters at a word, so a confirmation line says which question it was. */
static void add_question_text(cJSON *o, const cJSON *questions, size_t number)
{
	const cJSON *q = cJSON_GetArrayItem(questions, (int)number - 1);
	const char *text = q ? core_json_str(q, "text") : NULL;
	if (!text)
		return;
	enum { SHORT = 80 };
	size_t len = strlen(text);
	if (len <= SHORT) {
		core_put_str(o, "question_text", text);
		return;
	}
	size_t cut = SHORT;
	while (cut > SHORT / 2 && text[cut] != ' ')
		cut--;
	if (text[cut] != ' ') /* one long word: cut at a character, not inside one */
		for (cut = SHORT; cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80; cut--)
			;
	while (cut > 0 && strchr(" ,;:", text[cut - 1]))
		cut--;
	_cleanup_free_ char *shortened = xasprintf("%.*s…", (int)cut, text);
	core_put_str(o, "question_text", shortened);
}

/* What a confirmation lists, every kind of item, member text escaped for Markdown:
 * recorded [{question, question_text, value}] (value in words: a multi choice's options as
 * "Phone, Laptop"), recorded_skips [{question, question_text}], recorded_ideas [{text}],
 * recorded_votes [{number, text, dots, dots_word}], not_understood [text],
 * nothing_recorded. The question texts come from data's "questions". */
static void confirmation_data(cJSON *data, const answer_parse *ap, char *const *ballot)
{
	const cJSON *questions = cJSON_GetObjectItemCaseSensitive(data, "questions");
	cJSON *arr = core_put_array(data, "recorded");
	for (size_t i = 0; i < answer_parse_n_answers(ap); i++) {
		cJSON *o = cJSON_CreateObject();
		size_t number = answer_parse_answer_number(ap, i);
		core_put_num(o, "question", (double)number);
		add_question_text(o, questions, number);
		const char *value = answer_parse_answer_value(ap, i);
		const cJSON *q = cJSON_GetArrayItem(questions, (int)number - 1);
		const char *kind = q ? core_json_str(q, "kind") : NULL;
		if (kind && STREQ(kind, "multi")) {
			/* options joined by '|' in the store; in words for the member */
			strbuf b = {0};
			for (const char *v = value; *v; v++)
				if (*v == '|')
					strbuf_puts(&b, ", ");
				else
					strbuf_putc(&b, *v);
			_cleanup_free_ char *words = strbuf_steal(&b);
			add_text(o, "value", words);
		} else
			add_text(o, "value", value);
		cJSON_AddItemToArray(arr, o);
	}
	arr = core_put_array(data, "recorded_skips");
	for (size_t i = 0; i < answer_parse_n_skips(ap); i++) {
		cJSON *o = cJSON_CreateObject();
		size_t number = answer_parse_skip_number(ap, i);
		core_put_num(o, "question", (double)number);
		add_question_text(o, questions, number);
		cJSON_AddItemToArray(arr, o);
	}
	arr = core_put_array(data, "recorded_ideas");
	for (char *const *t = answer_parse_ideas(ap); *t; t++) {
		cJSON *o = cJSON_CreateObject();
		add_text(o, "text", *t);
		cJSON_AddItemToArray(arr, o);
	}
	arr = core_put_array(data, "recorded_votes");
	for (size_t i = 0; ballot && ballot[i]; i++) {
		unsigned dots = answer_parse_votes_for(ap, i + 1);
		if (!dots)
			continue;
		cJSON *o = cJSON_CreateObject();
		core_put_num(o, "number", (double)(i + 1));
		add_text(o, "text", ballot[i]);
		core_put_num(o, "dots", dots);
		core_put_ref(o, "dots_word", dots == 1 ? "dot" : "dots");
		cJSON_AddItemToArray(arr, o);
	}
	arr = core_put_array(data, "not_understood");
	for (char *const *e = answer_parse_errors(ap); *e; e++) {
		_cleanup_free_ char *t = md_text(*e);
		cJSON_AddItemToArray(arr, cJSON_CreateString(t));
	}
	core_put_bool(data, "nothing_recorded", answer_parse_n_items(ap) == 0);
}

/* When every mistake is a value its question does not take, the example line of each of
 * those questions ("2: 9"), in the order of the mistakes: what to send again, rather than
 * the whole example block, which reads as "send everything again" (trial 7). */
static void fix_examples(cJSON *data, const answer_parse *ap, const coco_round *r)
{
	size_t n = answer_parse_n_errors(ap);
	if (r->kind != ROUND_SURVEY || n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (answer_parse_error_question(ap, i) == 0)
			return; /* a line about no question: the whole example block helps more */
	char **ex = answer_examples(r, 0);
	size_t n_ex = strv_length(ex);
	bool *shown = xcalloc(n_ex + 1, sizeof *shown);
	cJSON *arr = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t q = answer_parse_error_question(ap, i);
		if (q == 0 || q > n_ex || shown[q])
			continue;
		shown[q] = true;
		if (!arr)
			arr = cJSON_AddArrayToObject(data, "fix_example");
		cJSON_AddItemToArray(arr, cJSON_CreateString(ex[q - 1]));
	}
	free(shown);
	strv_free(ex);
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

/* The campaign's footer (footer.md) under a message that is no round's message. */
static void add_footer(core *c, const channel_ops *ch, const coco_campaign *camp,
                       const coco_member *mb, const coco_round *r, round_rt *rt, strbuf *b)
{
	cJSON *data = core_round_data(c, camp, r, rt, mb);
	cJSON_DeleteItemFromObjectCaseSensitive(data, "form_link");
	core_chat_data(c, ch, camp, r, rt, data);
	_cleanup_free_ char *footer = NULL;
	if (core_render(c, "footer.md", data, &footer) >= 0)
		strbuf_puts(b, footer);
	cJSON_Delete(data);
}

/* What a member hears who answered a round that does not take answers now: an
 * announcement, a closed round, or (occ) an earlier occurrence than the current one. */
static char *round_closed_text(core *c, const channel_ops *ch, const coco_campaign *camp,
                               const coco_member *mb, const coco_round *r, round_rt *rt,
                               const char *occ)
{
	strbuf b = {0};
	_cleanup_free_ char *name = config_member_first_name(mb);
	if (r->kind == ROUND_ANNOUNCE)
		strbuf_printf(&b, "Hello %s,\n\n\"%s\" is an announcement, so your message was not "
		              "recorded as an answer.\n", name, core_round_title(r));
	else if (occ) {
		strbuf_printf(&b, "Hello %s,\n\nYou replied to a message of \"%s\" of %s. That "
		              "round (%s) is closed, so your message was not recorded as an answer.",
		              name, core_round_title(r), occ, occ);
		if (rt && rt->state == RS_OPEN && rt->close_at != INT64_MAX &&
		    round_has_member(r, mb)) {
			_cleanup_free_ char *until = schedule_format_local(rt->close_at,
			                                                   member_tz(camp, mb));
			strbuf_printf(&b, " The current one (%s) is open until %s: to answer it, reply "
			              "to its invitation or reminder.", rt->occurrence,
			              until ? until : "its close");
		} else if (rt && rt->state == RS_OPEN && round_has_member(r, mb))
			strbuf_printf(&b, " The current one (%s) is open: to answer it, reply to its "
			              "invitation or reminder.", rt->occurrence);
		strbuf_putc(&b, '\n');
	} else
		strbuf_printf(&b, "Hello %s,\n\n\"%s\" is closed, so your message was not recorded "
		              "as an answer.\n", name, core_round_title(r));
	/* Ideas too late: the vote on them may be open now. */
	campaign_rt *ct = r->kind == ROUND_PROMPT ? ct_find(c, camp->id) : NULL;
	for (size_t i = 0; ct && i < ct->n_rounds; i++) {
		const coco_round *v = campaign_find_round(camp, ct->rounds[i].id);
		if (!v || v->kind != ROUND_VOTE || !v->source || !STREQ(v->source, r->id) ||
		    ct->rounds[i].state != RS_OPEN || !round_has_member(v, mb))
			continue;
		_cleanup_free_ char *until = ct->rounds[i].close_at != INT64_MAX
		                                     ? schedule_format_local(ct->rounds[i].close_at,
		                                                             member_tz(camp, mb))
		                                     : NULL;
		strbuf_printf(&b, "\nThe vote on these ideas, \"%s\", is open%s%s: reply to its "
		              "invitation to vote.\n", core_round_title(v), until ? " until " : "",
		              until ? until : "");
	}
	if (rt)
		add_footer(c, ch, camp, mb, r, rt, &b);
	return strbuf_steal(&b);
}

/* Says md back to the member and finishes the message as done: in the same exchange on a
 * channel that can (CHANNEL_SYNC_REPLY), else as a queued reply; private (about an
 * anonymous round: no log line names its recipient) if anonymous. */
static void reply(core *c, const coco_campaign *camp, const coco_member *mb, const char *round,
                  bool anonymous, const char *occurrence, const inbound_msg *m,
                  const char *subject, const char *md, inbound_done_fn done, void *ud)
{
	if (channel_caps(c, m->channel) & CHANNEL_SYNC_REPLY) {
		finish(done, ud, INBOUND_DONE, 0, NULL, md);
		return;
	}
	_cleanup_free_ char *id = core_message_id(c, "reply", camp->id, m->key, mb->id);
	_cleanup_free_ char *subj = reply_subject(subject, "your answer");
	outbound o = {.camp = camp, .to = mb, .kind = "reply", .round = round,
	              .occurrence = occurrence, .id = id, .subject = subj, .markdown = md,
	              .in_reply_to = m->remote_id, .via = m->channel, .private_msg = anonymous};
	core_send_member(c, &o);
	finish(done, ud, INBOUND_DONE, 0, NULL, NULL);
}

static void on_comment_stored(int result, void *userdata)
{
	pending *p = userdata;
	core *c = p->c;
	if (result >= 0) {
		/* Told on the first recording and on a replay alike: the spool id is fixed, so a
		 * confirmation already queued or sent is not sent again, and one lost to a
		 * crash between the commit and the queueing is queued now. */
		const coco_campaign *camp = config_find_campaign(c->cfg, p->campaign);
		const coco_member *mb = camp ? campaign_find_member(camp, p->member) : NULL;
		if (mb && !p->sync_reply) {
			outbound o = {.camp = camp, .to = mb, .kind = "confirmation",
			              .round = "digest", .id = p->reply_id, .via = p->via, .subject = p->subject,
			              .markdown = p->markdown, .in_reply_to = p->in_reply_to,
			              .private_msg = p->anonymous};
			if (core_send_member(c, &o) < 0)
				result = -EAGAIN; /* keep the mail: the replay queues it */
		}
		if (result == STORE_STORED)
			log_info("%s: comment on a digest recorded%s%s", p->campaign,
			         p->anonymous ? " (anonymous)" : " from ", p->anonymous ? "" : p->member);
	}
	if (result < 0)
		finish(p->done, p->done_userdata, INBOUND_RETRY, result, NULL, NULL);
	else if (!p->sync_reply && spool_in_batch(c->sp))
		finish_after_batch(c, p->done, p->done_userdata);
	else
		finish(p->done, p->done_userdata, INBOUND_DONE, 0, NULL,
		       p->sync_reply ? p->markdown : NULL);
	pending_free(p);
}

static void on_answer_stored(int result, void *userdata)
{
	pending *p = userdata;
	core *c = p->c;
	if (result >= 0) {
		const coco_campaign *camp = config_find_campaign(c->cfg, p->campaign);
		campaign_rt *ct = ct_find(c, p->campaign);
		round_rt *rt = ct ? rt_find(ct, p->round) : NULL;
		const coco_member *mb = camp ? campaign_find_member(camp, p->member) : NULL;
		/* Answered, whatever it answered; complete (no more reminders) once every
		 * required question is. */
		if (rt && rt->answered)
			(void)strmap_put(rt->answered, p->identity, rt);
		if (rt && rt->complete && !p->incomplete)
			(void)strmap_put(rt->complete, p->identity, rt);
		/* Every recorded answer is confirmed, after any crash: a replay of the same mail
		 * (STORE_DUPLICATE) queues the confirmation again under its fixed spool id, which
		 * the spool drops if it was queued or sent before. If it cannot be queued, the
		 * mail is kept, to be replayed. */
		if (camp && mb && !p->sync_reply) {
			outbound o = {.camp = camp, .to = mb, .kind = "confirmation", .round = p->round,
			              .occurrence = p->occurrence, .id = p->reply_id, .via = p->via, .subject = p->subject, .markdown = p->markdown,
			              .in_reply_to = p->in_reply_to, .private_msg = p->anonymous};
			if (core_send_member(c, &o) < 0)
				result = -EAGAIN;
		}
		/* Who, except in an anonymous round: there no line names the writer, not even
		 * by their pseudonym (a log line next to one that names them would pair the
		 * two, and the pseudonym the answer). */
		const char *who = p->anonymous ? "" : " from ";
		const char *id = p->anonymous ? " (anonymous round)" : p->identity;
		if (result == STORE_STORED)
			log_info("%s/%s: answer recorded%s%s", p->campaign, p->round, who, id);
		else if (result == STORE_DUPLICATE)
			log_info("%s/%s: answer%s%s was already recorded (same message again)",
			         p->campaign, p->round, who, id);
	}
	if (result < 0)
		finish(p->done, p->done_userdata, INBOUND_RETRY, result, NULL, NULL);
	else if (!p->sync_reply && spool_in_batch(c->sp))
		finish_after_batch(c, p->done, p->done_userdata);
	else
		finish(p->done, p->done_userdata, INBOUND_DONE, 0, NULL,
		       p->sync_reply ? p->markdown : NULL);
	pending_free(p);
}

/* A message as a log line names it: its key (a mail's is its Message-ID, whose domain is the
 * writer's organisation), except in an anonymous round, where it would say whose it is. */
static const char *message_key_for_log(const coco_round *r, const inbound_msg *m)
{
	return r->anonymous ? "(key withheld: anonymous round)" : m->key;
}

/* The store key of a record: a keyed hash of the channel's key, whatever bytes that holds
 * (a legal Message-ID such as <"x y"@host> is no store key), so any message can be recorded
 * once. A message's own id can name its sender (a Message-ID often carries the address):
 * the hash keeps it out of the store, which anonymous records need. */
char *core_record_key(core *c, const inbound_msg *m, bool anonymous)
{
	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&c->key, "record-key", m->key, "", tag);
	return xasprintf("%s-%s", anonymous ? "anon" : "key", tag);
}

typedef struct before_ctx {
	const char *identity;
	char **ids;
} before_ctx;

static void push_new(char ***v, const char *s)
{
	for (char **p = *v; p && *p; p++)
		if (STREQ(*p, s))
			return;
	strv_push(v, xstrdup(s));
}

static int on_before_line(const char *line, size_t len, void *userdata)
{
	before_ctx *x = userdata;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const char *who = core_json_str(o, "member") ?: core_json_str(o, "pseudo");
	if (who && STREQ(who, x->identity)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "answers"))
			if (it->string)
				push_new(&x->ids, it->string);
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "skips"))
			if (cJSON_IsString(it))
				push_new(&x->ids, it->valuestring);
	}
	cJSON_Delete(o);
	return 0;
}

typedef struct votes_ctx {
	const char *identity;
	char *votes; /* "1 3x2": the dots of the member's last record with votes, or NULL */
} votes_ctx;

static int on_votes_line(const char *line, size_t len, void *userdata)
{
	votes_ctx *x = userdata;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const char *who = core_json_str(o, "member") ?: core_json_str(o, "pseudo");
	const cJSON *votes = cJSON_GetObjectItemCaseSensitive(o, "votes"), *it;
	if (who && STREQ(who, x->identity) && cJSON_IsObject(votes) && votes->child) {
		strbuf b = {0};
		cJSON_ArrayForEach(it, votes)
			if (it->string && cJSON_IsNumber(it) && it->valueint > 0)
				strbuf_printf(&b, "%s%sx%d", b.len ? " " : "", it->string, it->valueint);
		free(x->votes);
		x->votes = b.s ? strbuf_steal(&b) : NULL;
	}
	cJSON_Delete(o);
	return 0;
}

/* A member's current dots in this occurrence, as the grammar writes them ("1x1 3x2"), or
 * NULL: a vote button adds a dot to them instead of replacing them. */
static char *votes_before(core *c, const coco_campaign *camp, const coco_round *r,
                          round_rt *rt, const char *identity)
{
	votes_ctx x = {.identity = identity};
	_cleanup_free_ char *path = core_answers_path(camp->id, r->id, rt->occurrence);
	(void)store_scan(c->st, path, on_votes_line, &x);
	return x.votes;
}

/* The questions a member's earlier replies in this occurrence answered or skipped, so that
 * a correction does not hear again about what they settled before. */
static char **questions_answered_before(core *c, const coco_campaign *camp, const coco_round *r,
                                        round_rt *rt, const char *identity)
{
	before_ctx x = {.identity = identity};
	_cleanup_free_ char *path = core_answers_path(camp->id, r->id, rt->occurrence);
	(void)store_scan(c->st, path, on_before_line, &x);
	return x.ids;
}

/* Is a comment on this digest about an anonymous round? A round's digest: that round. The
 * periodic digest: any anonymous round of the campaign, since it may cover one. */
static bool comment_is_anonymous(const coco_campaign *camp, const char *about)
{
	for (size_t i = 0; i < camp->n_rounds; i++)
		if (camp->rounds[i].anonymous && (!about || STREQ(about, camp->rounds[i].id)))
			return true;
	return false;
}

/* Does text hold word (n bytes) as a word of its own, in any case? */
static bool has_word(const char *text, const char *word, size_t n)
{
	if (n < 2)
		return false;
	for (const char *t = text; *t; t++) {
		if (strncasecmp(t, word, n) != 0)
			continue;
		unsigned char before = t > text ? (unsigned char)t[-1] : ' ';
		unsigned char after = (unsigned char)t[n];
		if (!isalnum(before) && before < 0x80 && !isalnum(after) && after < 0x80)
			return true;
	}
	return false;
}

/* Does an idea name its writer (their name, first name or id)? In an anonymous round such a
 * paragraph is a signature the grammar did not know ("Grüße aus Berlin / Anna", "t. Mikael":
 * trial 7), and published it would say who took part. */
static bool idea_names_member(const char *idea, const coco_member *mb)
{
	const char *name = mb->name ? mb->name : mb->id;
	return has_word(idea, name, strlen(name)) || has_word(idea, name, strcspn(name, " ")) ||
	       has_word(idea, mb->id, strlen(mb->id));
}

/* The text without the member's own name signed under it: in an anonymous comment, the
 * signature would give away what the pseudonym hides. */
static char *without_signature(const char *text, const coco_member *mb)
{
	size_t len = strlen(text);
	for (;;) {
		while (len > 0 && strchr(" \t\r\n", text[len - 1]))
			len--;
		const char *line = text + len;
		while (line > text && line[-1] != '\n')
			line--;
		if (line == text || !answer_is_own_name(line, text + len, mb))
			break;
		len = (size_t)(line - text);
	}
	return xstrndup(text, len);
}

/* A reply to a digest: a comment, shown in the next digest. Anything said about an anonymous
 * round is stored under the member's pseudonym, never their id, and shown without a name. */
static void receive_comment(core *c, const coco_campaign *camp, const coco_member *mb,
                            const char *about, const inbound_msg *m, inbound_done_fn done,
                            void *ud)
{
	bool anon = comment_is_anonymous(camp, about);
	char pseudo[SECRET_PSEUDO_LEN + 1];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	if (anon) {
		secret_pseudonym(&c->key, camp->id, mb->id, pseudo);
		cJSON_AddStringToObject(o, "pseudo", pseudo);
	} else {
		cJSON_AddStringToObject(o, "member", mb->id);
		cJSON_AddStringToObject(o, "side", side_to_string(mb->side));
	}
	if (about)
		cJSON_AddStringToObject(o, "about", about);
	cJSON_AddStringToObject(o, "via", m->channel ? m->channel : "?");
	_cleanup_free_ char *plain = answer_plain_text(m->text);
	_cleanup_free_ char *text = without_signature(plain, mb);
	cJSON_AddStringToObject(o, "text", text);
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	_cleanup_free_ char *path = xasprintf("campaigns/%s/comments.jsonl", camp->id);
	_cleanup_free_ char *first_name = config_member_first_name(mb);
	_cleanup_free_ char *quoted = md_text(text);
	pending *p = xcalloc(1, sizeof *p);
	*p = (pending){
		.c = c,
		.done = done,
		.done_userdata = ud,
		.campaign = xstrdup(camp->id),
		.member = xstrdup(mb->id),
		.anonymous = anon,
		.subject = reply_subject(m->subject, "your comment"),
		.markdown = xasprintf("Thanks, %s! Your comment will be in the next digest%s:\n\n"
		                      "> %s\n\n-- \n_coco · %s · %s with %s_\n",
		                      first_name,
		                      !anon ? ", with your name"
		                      : about ? ", without your name: the round is anonymous, so "
		                                "what is said about it is too"
		                              : ", without your name: the digest covers an "
		                                "anonymous round, so what is said about it is too",
		                      quoted, camp->title ? camp->title : camp->id,
		                      camp->client_name ? camp->client_name : "the client",
		                      camp->provider_name ? camp->provider_name : "the provider"),
		.reply_id = core_message_id(c, "conf", camp->id, m->key, mb->id),
		.in_reply_to = m->remote_id ? xstrdup(m->remote_id) : NULL,
		.via = m->channel ? xstrdup(m->channel) : NULL,
		.sync_reply = channel_caps(c, m->channel) & CHANNEL_SYNC_REPLY,
	};
	_cleanup_free_ char *key = core_record_key(c, m, anon);
	int r = store_append(c->st, path, line, key, on_comment_stored, p);
	if (r < 0) {
		pending_free(p);
		if (store_error_is_permanent(r))
			reject_unrecordable(c, m, camp, mb, "digest", anon, strlen(line), r, done, ud);
		else
			finish_errno(done, ud, r);
	}
}

/* May mail from `from` speak for member mb? Only from one of the member's own addresses, or
 * from one the admin allowed for them (AcceptFrom=, a forwarding setup). */
static bool sender_may_speak_for(const coco_member *mb, const char *from)
{
	if (!from)
		return false;
	if (member_has_address(mb, from) || mb->accept_any)
		return true;
	for (char **a = mb->accept_from; a && *a; a++)
		if (strcasecmp(*a, from) == 0)
			return true;
	return false;
}

typedef struct rejection {
	inbound_done_fn done;
	void *ud;
	char *reason;
	char *reply; /* for a CHANNEL_SYNC_REPLY channel: what to tell the sender, or NULL */
} rejection;

static void on_rejected_stored(int result, void *userdata)
{
	rejection *x = userdata;
	if (result < 0)
		finish(x->done, x->ud, INBOUND_RETRY, result, NULL, NULL);
	else
		finish(x->done, x->ud, INBOUND_REJECTED, 0, x->reason, x->reply);
	free(x->reason);
	free(x->reply);
	free(x);
}

/* Store errors the same message would meet on every try: its record is longer than a line
 * the store takes (-EINVAL from store_append(), which says the same of a path or key it
 * cannot hold), or it names something too long (-E2BIG, -ENAMETOOLONG). Retrying such a
 * message would loop for ever; every other error (a full disk, no descriptors) passes. */
static bool store_error_is_permanent(int r)
{
	return r == -EINVAL || r == -E2BIG || r == -ENAMETOOLONG;
}

enum { REJECTED_TEXT_MAX = 64 * 1024, REJECTED_FIELD_MAX = 1024, TRIMMED_MAX = 8 * 1024 };

/* s cut to at most max bytes, at a character boundary. */
static char *bounded(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return xstrdup(s);
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return xstrndup(s, max);
}

/* Keeps a message that cannot be recorded in rejected/messages.jsonl with the reason, so an
 * admin can see it; nothing is recorded as an answer. What is kept is bounded (the text to
 * its first 64 KiB), so that the record itself always fits: a rejection is never retried.
 * pseudo: the message was about an anonymous round, kept under the member's pseudonym
 * with neither their id nor their address. sync_reply: what a CHANNEL_SYNC_REPLY channel
 * tells the sender with the rejection, or NULL. */
static void reject_as(core *c, const inbound_msg *m, const coco_campaign *camp,
                      const coco_member *claimed, const char *pseudo, const char *reason,
                      const char *sync_reply, inbound_done_fn done, void *ud)
{
	const char *from = m->from ? m->from : "(unknown)";
	log_warning("message %s from %s rejected: %s (kept in rejected/messages.jsonl)", m->key,
	            pseudo ? "a member of an anonymous round" : from, reason);
	const char *text = m->text ? m->text : "";
	_cleanup_free_ char *kept_text = bounded(text, REJECTED_TEXT_MAX);
	_cleanup_free_ char *kept_from = bounded(from, REJECTED_FIELD_MAX);
	_cleanup_free_ char *kept_subject = bounded(m->subject ? m->subject : "",
	                                            REJECTED_FIELD_MAX);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	cJSON_AddStringToObject(o, "via", m->channel ? m->channel : "?");
	if (pseudo)
		cJSON_AddStringToObject(o, "pseudo", pseudo);
	else
		cJSON_AddStringToObject(o, "from", kept_from);
	if (camp)
		cJSON_AddStringToObject(o, "campaign", camp->id);
	if (claimed && !pseudo)
		cJSON_AddStringToObject(o, "member", claimed->id);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "subject", kept_subject);
	cJSON_AddStringToObject(o, "text", kept_text);
	if (strlen(text) > strlen(kept_text)) {
		cJSON_AddTrueToObject(o, "text_truncated");
		cJSON_AddNumberToObject(o, "text_bytes", (double)strlen(text));
	}
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	rejection *x = xcalloc(1, sizeof *x);
	*x = (rejection){done, ud, xstrdup(reason), sync_reply ? xstrdup(sync_reply) : NULL};
	_cleanup_free_ char *key = core_record_key(c, m, false);
	int r = store_append(c->st, "rejected/messages.jsonl", line, key, on_rejected_stored, x);
	if (r < 0) {
		free(x->reason);
		free(x->reply);
		free(x);
		finish_errno(done, ud, r);
	}
}

static void reject(core *c, const inbound_msg *m, const coco_campaign *camp,
                   const coco_member *claimed, const char *reason, inbound_done_fn done,
                   void *ud)
{
	reject_as(c, m, camp, claimed, NULL, reason, NULL, done, ud);
}

/* A message whose record the store refuses for good (store_error_is_permanent(); line_len:
 * the record it refused): rejected once, kept with the reason, and the member told in
 * plain words that it was not recorded and why, in the same exchange on a channel that
 * can, else by a reply under a spool id fixed by the message (a replay tells them once). */
static void reject_unrecordable(core *c, const inbound_msg *m, const coco_campaign *camp,
                                const coco_member *mb, const char *round, bool anonymous,
                                size_t line_len, int error, inbound_done_fn done, void *ud)
{
	bool too_long = line_len + 512 > STORE_LINE_MAX;
	_cleanup_free_ char *first_name = config_member_first_name(mb);
	_cleanup_free_ char *reason =
		too_long ? xasprintf("too long to record: its record would take %zu KiB, the store "
		                     "keeps at most %d KiB in one", (line_len + 1023) / 1024,
		                     STORE_LINE_MAX / 1024)
		         : xasprintf("the store cannot record it (%s)", strerror(-error));
	_cleanup_free_ char *md =
		too_long ? xasprintf("Hello %s,\n\nYour message could not be recorded: it is too long "
		                     "(about %zu KiB, and at most about %d KiB can be kept). Please "
		                     "send it again, shorter, as a reply to the same message.\n",
		                     first_name, (line_len + 1023) / 1024,
		                     STORE_LINE_MAX / 1024)
		         : xasprintf("Hello %s,\n\nYour message could not be recorded because of a "
		                     "problem on our side (%s). It is kept for the administrator to "
		                     "look at, but it does not count as an answer.\n",
		                     first_name, strerror(-error));
	bool sync = channel_caps(c, m->channel) & CHANNEL_SYNC_REPLY;
	if (!sync) {
		_cleanup_free_ char *id = core_message_id(c, "reply", camp->id, m->key, mb->id);
		_cleanup_free_ char *subj = reply_subject(m->subject, "your message");
		outbound o = {.camp = camp, .to = mb, .kind = "reply", .round = round, .id = id,
		              .subject = subj, .markdown = md, .in_reply_to = m->remote_id,
		              .private_msg = anonymous, .via = m->channel};
		core_send_member(c, &o);
	}
	char pseudo[SECRET_PSEUDO_LEN + 1];
	if (anonymous)
		secret_pseudonym(&c->key, camp->id, mb->id, pseudo);
	reject_as(c, m, camp, mb, anonymous ? pseudo : NULL, reason, sync ? md : NULL, done, ud);
}

/* Mail from a member's address without their reply tag: the From header alone proves
 * nothing (anyone can write it). The member is told, at their own address and at most once
 * a day, how to answer so that it counts. */
static void reject_untagged(core *c, const inbound_msg *m, const coco_campaign *camp,
                            const coco_member *mb, inbound_done_fn done, void *ud)
{
	unsigned n_open = 0;
	const coco_round *only = only_open_round(c, camp, mb, &n_open);
	_cleanup_free_ char *open = open_rounds_list(c, camp, mb);
	coco_localtime lt = {0};
	(void)schedule_utc_to_local(clock_now(), camp->timezone, &lt, NULL);
	_cleanup_free_ char *what = xasprintf("untagged/%04d-%02d-%02d", lt.year, lt.month, lt.day);
	_cleanup_free_ char *id = core_message_id(c, "reply", camp->id, what, mb->id);
	/* The notice's own reply address carries the member's code (round "none"): a reply to
	 * it proves the mailbox, and the core finds the round as for any reply without one. */
	_cleanup_free_ char *what_now =
		only ? xasprintf("Open for you now:\n\n%s\nTo answer it, reply to this message "
		                 "with your answers (or use **Reply** on its invitation or reminder): "
		                 "a reply to this message counts for \"%s\".\n\n",
		                 open, core_round_title(only))
		: n_open ? xasprintf("Open for you now:\n\n%s\nTo answer one, please use **Reply** on "
		                     "the invitation or reminder of that round: its reply address "
		                     "carries your personal code and says which round you answer.\n\n",
		                     open)
		         : xstrdup("No round is open for you right now; you will get an invitation "
		                   "when the next one opens.\n\n");
	_cleanup_free_ char *first_name = config_member_first_name(mb);
	_cleanup_free_ char *md = xasprintf(
		"Hello %s,\n\nWe received a message from your address that we could not record: it "
		"was not a reply to one of our messages, so nothing in it shows that it comes from "
		"you.\n\n%sIf you did not write to us, you can ignore this message.\n",
		first_name, what_now);
	_cleanup_free_ char *subj = reply_subject(m->subject, "your message");
	outbound o = {.camp = camp, .to = mb, .kind = "reply", .round = "none", .id = id,
	              .subject = subj, .markdown = md, .in_reply_to = m->remote_id,
	              .via = m->channel};
	core_send_member(c, &o);
	reject(c, m, camp, mb,
	       m->conversation ? "unknown reply tag (of a member or round no longer in the "
	                         "configuration, or made up): the From address alone does not "
	                         "show who wrote it"
	                       : "no reply tag: the From address alone does not show who wrote it",
	       done, ud);
}

/* Structured items (buttons, polls) as the lines of the answer grammar a member would type,
 * after the text. A vote button adds its dot to votes_before (the member's current dots, or
 * NULL), as the vote's invitation says ("press an idea's button to vote for it"). */
static char *text_with_items(const inbound_msg *m, const char *votes_before)
{
	strbuf b = {0};
	if (m->text)
		strbuf_puts(&b, m->text);
	for (size_t i = 0; i < m->n_items; i++) {
		const inbound_item *it = &m->items[i];
		if (!it->question || !it->value)
			continue;
		if (b.len)
			strbuf_puts(&b, "\n\n");
		if (STREQ(it->question, "idea"))
			strbuf_printf(&b, "idea: %s", it->value);
		else if (STREQ(it->question, "vote") && votes_before)
			strbuf_printf(&b, "vote %s %s", votes_before, it->value);
		else if (STREQ(it->question, "vote") || STREQ(it->question, "skip"))
			strbuf_printf(&b, "%s %s", it->question, it->value);
		else
			strbuf_printf(&b, "%s: %s", it->question, it->value);
	}
	return b.s ? strbuf_steal(&b) : xstrdup("");
}

/* A vote button pressed when the member's earlier dots (prior, "9x3 1x1") already reach the
 * round's Votes=: said as what they did, not as a line they never wrote (trial 6: “vote 9x3
 * 1”: too many votes). Adds data's "vote_press" {idea, text, dots, given, command} and
 * returns true; false when the press is no such one. */
static bool vote_press_refused(core *c, const coco_campaign *camp, const coco_round *r,
                               const inbound_msg *m, const char *prior, char *const *ballot,
                               cJSON *data)
{
	const inbound_item *press = NULL;
	for (size_t i = 0; i < m->n_items && !press; i++)
		if (m->items[i].question && m->items[i].value && STREQ(m->items[i].question, "vote"))
			press = &m->items[i];
	if (!press || !prior || m->n_items != 1 || (m->text && *m->text))
		return false;
	size_t n_ideas = strv_length(ballot);
	long idea;
	if (parse_long(press->value, 1, (long)n_ideas, &idea) < 0)
		return false;
	/* The earlier dots, in words and as the numbers of a new vote without its last dot. */
	unsigned long total = 0, limit = r->votes ? r->votes : 3;
	strbuf given = {0}, again = {0};
	strbuf_printf(&again, "%ld", idea);
	for (const char *p = prior; *p;) {
		/* "NxD": votes_before() writes nothing else */
		char *x, *end;
		unsigned long n = strtoul(p, &x, 10), dots = *x == 'x' ? strtoul(x + 1, &end, 10) : 0;
		if (n < 1 || n > n_ideas || dots < 1 || dots > limit || *x != 'x')
			break;
		p = end + strspn(end, " ");
		total += dots;
		_cleanup_free_ char *t = md_text(ballot[n - 1]);
		strbuf_printf(&given, "%s%lu %s for idea %lu, %s", given.len ? "; " : "", dots,
		              dots == 1 ? "dot" : "dots", n, t);
		for (unsigned long d = 0; d < dots; d++)
			if (*p || d + 1 < dots) /* all but the very last dot */
				strbuf_printf(&again, " %lu", n);
	}
	if (total < limit) {
		strbuf_done(&given);
		strbuf_done(&again);
		return false;
	}
	cJSON *o = cJSON_AddObjectToObject(data, "vote_press");
	cJSON_AddNumberToObject(o, "idea", (double)idea);
	_cleanup_free_ char *text = md_text(ballot[idea - 1]);
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddNumberToObject(o, "dots", (double)total);
	cJSON_AddStringToObject(o, "dots_word", total == 1 ? "dot" : "dots");
	_cleanup_free_ char *g = strbuf_steal(&given), *a = strbuf_steal(&again);
	cJSON_AddStringToObject(o, "given", g);
	const char *cmd = core_json_str(data, "chat_command");
	_cleanup_free_ char *ref = core_chat_round_ref(c, camp, r);
	_cleanup_free_ char *line = xasprintf("%s%svote %s %s", cmd ? cmd : "", cmd ? " " : "",
	                                      ref, a);
	cJSON_AddStringToObject(o, "command", line);
	return true;
}

void core_receive(core *c, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	const char *from = m->from ? m->from : "(unknown)";

	if (m->unsubscribe) {
		core_receive_unsubscribe(c, m, done, ud);
		return;
	}
	if (m->bounce) {
		core_receive_bounce(c, m, done, ud);
		return;
	}
	if (m->automatic) {
		log_info("message %s from %s is automatic (auto-reply, bounce or list): not an answer",
		         m->key, from);
		finish(done, ud, INBOUND_DONE, 0, NULL, NULL);
		return;
	}
	if (m->command) {
		core_receive_command(c, m, done, ud);
		return;
	}

	const coco_campaign *camp = NULL;
	const coco_member *mb = NULL;
	const coco_round *r = NULL;
	core_tag tag;
	if (core_find_tag(c, m, &tag)) {
		camp = tag.camp;
		mb = tag.member;
		if (!mb) {
			/* A room's tag names the round, not who answers: the channel vouches. */
			for (size_t i = 0; m->sender_verified && m->from && i < camp->n_members; i++)
				if (member_has_address(&camp->members[i], m->from))
					mb = &camp->members[i];
			if (!mb) {
				core_reply_stranger(c, m);
				reject(c, m, camp, NULL, "unknown sender: the room's reference names no "
				       "member, and the sender is none", done, ud);
				return;
			}
		}
		if (mb && !sender_may_speak_for(mb, m->from)) {
			/* A tag is half the proof: someone else's tag from a foreign address. */
			_cleanup_free_ char *why = xasprintf(
				"carries the reply tag of member %s but was sent from %s, which is not one "
				"of their addresses (Email=, AcceptFrom=)", mb->id, from);
			reject(c, m, camp, mb, why, done, ud);
			return;
		}
		if (tag.digest) {
			receive_comment(c, camp, mb, tag.round ? tag.round->id : NULL, m, done, ud);
			return;
		}
		r = tag.round;
	} else {
		mb = member_by_address(c, from, &camp);
		if (mb && !m->sender_verified) {
			reject_untagged(c, m, camp, mb, done, ud);
			return;
		}
	}

	if (!mb) {
		/* Kept, and the sender told how members answer, within limits that keep coco from
		 * being a backscatter source (core-stranger.c). */
		core_reply_stranger(c, m);
		reject(c, m, NULL, NULL, "unknown sender and no valid reply tag", done, ud);
		return;
	}
	if (!r) {
		unsigned n;
		r = only_open_round(c, camp, mb, &n);
		if (!r) {
			_cleanup_free_ char *open = open_rounds_list(c, camp, mb);
			_cleanup_free_ char *first_name = config_member_first_name(mb);
			_cleanup_free_ char *md =
				n == 0 ? xasprintf("Hello %s,\n\nThanks for writing. No round is open for "
				                   "you right now, so your message was not recorded as an "
				                   "answer. You will get an invitation when the next one "
				                   "opens.\n", first_name)
				       : xasprintf("Hello %s,\n\nThanks for writing. Several rounds are "
				                   "open for you, so I could not tell which one your message "
				                   "answers, and nothing was recorded:\n\n%s\nPlease reply "
				                   "to the message of the round you are answering (its "
				                   "invitation or reminder).\n",
				                   first_name, open);
			log_info("message %s from %s: no round could be told (%u open)", m->key,
			         mb->id, n);
			reply(c, camp, mb, "none", false, NULL, m, m->subject, md, done, ud);
			return;
		}
	}
	core_receive_answer(c, m, camp, mb, r, done, ud);
}

void core_receive_answer(core *c, const inbound_msg *m, const coco_campaign *camp,
                         const coco_member *mb, const coco_round *r, inbound_done_fn done,
                         void *ud)
{
	campaign_rt *ct = ct_find(c, camp->id);
	round_rt *rt = ct ? rt_find(ct, r->id) : NULL;
	/* The occurrence comes from the message replied to, when the conversation index knows
	 * it: the reply tag names the member and the round, not the month. A reply to an
	 * earlier occurrence's message finds that occurrence closed (only the current one is
	 * ever open) and is recorded nowhere. No reference: the current occurrence. */
	const char *ref_occ = core_conversation_occurrence(c, m->channel, m->thread);
	bool earlier = rt && rt->occurrence && ref_occ && !STREQ(ref_occ, rt->occurrence);
	if (!rt || !rt->occurrence || earlier || (rt->state != RS_OPEN && rt->state != RS_SCHEDULED) ||
	    r->kind == ROUND_ANNOUNCE) {
		_cleanup_free_ char *md = round_closed_text(c, core_running_channel(c, m->channel),
		                                            camp, mb, r, rt,
		                                            earlier ? ref_occ : NULL);
		const char *who = r->anonymous ? "a member" : mb->id;
		/* Who, which round, and what happened: nothing recorded, told why. */
		if (earlier)
			log_info("%s/%s: late answer from %s (message %s) to occurrence %s, which is "
			         "closed: not recorded, they were told", camp->id, r->id, who,
			         message_key_for_log(r, m), ref_occ);
		else
			log_info("%s/%s: answer from %s (message %s) not recorded: the round is %s; "
			         "they were told", camp->id, r->id, who, message_key_for_log(r, m),
			         r->kind == ROUND_ANNOUNCE ? "an announcement"
			         : rt                      ? round_state_words(rt->state)
			                                   : "in an unknown state");
		reply(c, camp, mb, r->id, r->anonymous, earlier ? ref_occ : rt ? rt->occurrence : NULL,
		      m, m->subject, md, done, ud);
		return;
	}

	char **ballot = core_ballot(c, camp, r, rt);
	size_t n_ideas = strv_length(ballot);
	_cleanup_answer_parse_ answer_parse *ap = NULL;
	_cleanup_free_ char *prior = NULL;
	for (size_t i = 0; r->kind == ROUND_VOTE && i < m->n_items && !prior; i++)
		if (m->items[i].question && STREQ(m->items[i].question, "vote")) {
			char pseudo_v[SECRET_PSEUDO_LEN + 1];
			prior = votes_before(c, camp, r, rt, answer_identity(c, camp, r, mb, pseudo_v));
			break;
		}
	_cleanup_free_ char *text = text_with_items(m, prior);
	/* Ideas withdrawn since the ballot went out (forget) take no dots. */
	_cleanup_free_ bool *withdrawn = n_ideas ? xcalloc(n_ideas, sizeof *withdrawn) : NULL;
	for (size_t i = 0; i < n_ideas; i++)
		withdrawn[i] = STREQ(ballot[i], DIGEST_IDEA_WITHDRAWN);
	int k = answer_parse_ballot(r, n_ideas, withdrawn, mb, text, strlen(text), &ap);
	if (k < 0) {
		strv_free(ballot);
		finish_errno(done, ud, k);
		return;
	}
	/* An anonymous round publishes no idea that names its writer: left out, as a signature. */
	if (r->anonymous)
		for (size_t i = answer_parse_n_ideas(ap); i-- > 0;)
			if (idea_names_member(answer_parse_ideas(ap)[i], mb))
				(void)answer_parse_drop_idea(ap, i);

	/* What was understood and what was not, said back in one message. */
	cJSON *data = core_round_data(c, camp, r, rt, mb);
	/* Said back on the channel the answer came through: a chat one shows its command. */
	core_chat_data(c, core_running_channel(c, m->channel), camp, r, rt, data);
	_cleanup_free_ char *conf = answer_confirmation(ap);
	core_put_str(data, "confirmation", conf);
	confirmation_data(data, ap, ballot);
	fix_examples(data, ap, r);
	if (answer_parse_n_items(ap) == 0)
		(void)vote_press_refused(c, camp, r, m, prior, ballot, data);
	strv_free(ballot);
	/* Only a reply that leaves a required question open needs the member's earlier replies,
	 * which means reading the occurrence's answers: not for every answer of a burst. */
	bool incomplete = false;
	if (r->kind == ROUND_SURVEY && answer_parse_n_missing(ap) > 0) {
		char pseudo_id[SECRET_PSEUDO_LEN + 1];
		char **before = questions_answered_before(c, camp, r, rt,
		                                          answer_identity(c, camp, r, mb, pseudo_id));
		_cleanup_free_ char *missing = answer_missing_required(ap, before);
		if (missing) {
			/* How to give them: the example line of each ("1: 4"), as the help has. */
			char **ex = answer_examples(r, 0);
			strbuf b = {0};
			strbuf_puts(&b, missing);
			size_t shown = 0, n_ex = strv_length(ex);
			for (size_t i = 0; i < answer_parse_n_missing(ap); i++) {
				size_t num = answer_parse_missing_number(ap, i);
				const char *qid = answer_parse_missing_question(ap, i);
				bool answered_earlier = false;
				for (char **a = before; a && *a && !answered_earlier; a++)
					answered_earlier = STREQ(*a, qid);
				if (answered_earlier || num == 0 || num > n_ex)
					continue;
				strbuf_printf(&b, "%s“%s”", shown++ ? ", " : ": reply with a line like ",
				              ex[num - 1]);
			}
			strv_free(ex);
			_cleanup_free_ char *said = strbuf_steal(&b);
			core_put_str(data, "missing_required", said);
		}
		strv_free(before);
		incomplete = missing != NULL;
	}
	_cleanup_free_ char *md = NULL;
	k = core_render(c, "confirmation.md", data, &md);
	cJSON_Delete(data);
	if (k < 0)
		md = xasprintf("%s\n", conf);

	if (answer_parse_n_items(ap) == 0) {
		log_info("%s/%s: message %s from %s not understood (%zu error%s), told them how to "
		         "answer", camp->id, r->id, message_key_for_log(r, m),
		         r->anonymous ? "a member" : mb->id,
		         answer_parse_n_errors(ap), answer_parse_n_errors(ap) == 1 ? "" : "s");
		reply(c, camp, mb, r->id, r->anonymous, rt->occurrence, m, m->subject, md, done, ud);
		return;
	}

	cJSON *rec = NULL;
	if (answer_parse_to_json(ap, &rec) < 0) {
		finish_errno(done, ud, -ENOMEM);
		return;
	}
	char pseudo[SECRET_PSEUDO_LEN + 1];
	const char *identity = answer_identity(c, camp, r, mb, pseudo);
	/* Keys as constants, and strings that outlive the record's tree by reference
	 * (core_put()): the tree is printed and freed below. */
	cJSON *head = cJSON_CreateObject();
	core_put_num(head, "v", 1);
	core_put_num(head, "at", (double)clock_now());
	core_put_ref(head, r->anonymous ? "pseudo" : "member", identity);
	core_put_ref(head, "side", side_to_string(mb->side));
	core_put_ref(head, "via", m->channel ? m->channel : "?");
	/* What the channel cut off (quotes, signature) and what the answer grammar left out
	 * (greeting, closing, a bare name: trial 6, 16), for an admin to see; never in an
	 * anonymous round, where a quote or a signature would name the writer. */
	const char *left_out = answer_parse_left_out(ap);
	const char *cut = m->trimmed ? m->trimmed : "";
	if (!r->anonymous && (*cut || *left_out)) {
		_cleanup_free_ char *all = *left_out && *cut ? xasprintf("%s\n\n%s", left_out, cut)
							     : xstrdup(*left_out ? left_out : cut);
		_cleanup_free_ char *kept = bounded(all, TRIMMED_MAX);
		core_put_str(head, "trimmed", kept);
		if (strlen(all) > strlen(kept))
			core_put_num(head, "trimmed_bytes", (double)strlen(all));
	}
	cJSON *it;
	while ((it = rec->child)) {
		/* Moved with its key as it is: cJSON_AddItemToArray() leaves ->string alone
		 * (cJSON_AddItemToObject() would copy the key and free the old one). */
		cJSON_DetachItemViaPointer(rec, it);
		cJSON_AddItemToArray(head, it);
	}
	cJSON_Delete(rec);
	/* The bytes cJSON_PrintUnformatted() writes, without its sprintf/sscanf per number. */
	_cleanup_free_ char *line = json_print_compact(head);
	cJSON_Delete(head);

	pending *p = xcalloc(1, sizeof *p);
	bool sync_reply = channel_caps(c, m->channel) & CHANNEL_SYNC_REPLY;
	*p = (pending){
		.c = c,
		.done = done,
		.done_userdata = ud,
		.campaign = xstrdup(camp->id),
		.round = xstrdup(r->id),
		.occurrence = xstrdup(rt->occurrence),
		.member = xstrdup(mb->id),
		.identity = xstrdup(identity),
		.anonymous = r->anonymous,
		.markdown = TAKE_PTR(md),
		.in_reply_to = m->remote_id ? xstrdup(m->remote_id) : NULL,
		.via = m->channel ? xstrdup(m->channel) : NULL,
		.sync_reply = sync_reply,
		.incomplete = incomplete,
	};
	/* A confirmation said in the same exchange (a slash command's answer) is no message of
	 * its own: no subject, no message id (an HMAC each). */
	if (!sync_reply) {
		p->subject = reply_subject(m->subject, r->title ? r->title : r->id);
		p->reply_id = core_message_id(c, "conf", camp->id, m->key, mb->id);
	}
	_cleanup_free_ char *path = core_answers_path(camp->id, r->id, rt->occurrence);
	_cleanup_free_ char *key = core_record_key(c, m, r->anonymous);
	k = store_append(c->st, path, line, key, on_answer_stored, p);
	if (k < 0) {
		pending_free(p);
		if (store_error_is_permanent(k)) {
			reject_unrecordable(c, m, camp, mb, r->id, r->anonymous, strlen(line), k, done,
			                    ud);
			return;
		}
		log_error_errno(k, "%s/%s: cannot queue the answer of %s: %m", camp->id, r->id,
		                r->anonymous ? "a member (anonymous round)" : identity);
		finish_errno(done, ud, k);
	}
}

/* For core-commands.c: the replies and refusals of this file, for a member found another
 * way. */
void core_reply(core *c, const coco_campaign *camp, const coco_member *mb, const char *round,
                const inbound_msg *m, const char *md, inbound_done_fn done, void *ud)
{
	const coco_round *r = round ? campaign_find_round(camp, round) : NULL;
	reply(c, camp, mb, round, r && r->anonymous, NULL, m, m->subject, md, done, ud);
}

void core_reject(core *c, const inbound_msg *m, const coco_campaign *camp,
                 const coco_member *claimed, const char *reason, inbound_done_fn done, void *ud)
{
	reject(c, m, camp, claimed, reason, done, ud);
}

typedef struct comments_ctx {
	int64_t lines;
	const coco_campaign *camp;
	campaign_rt *ct;
	const round_rt *rt; /* the round whose digest it is; NULL: the periodic digest */
	char **out;
} comments_ctx;

/* The round a comment is about, while a digest of it is still to come; else NULL. */
static const round_rt *comment_round(const comments_ctx *x, const char *about)
{
	const coco_round *r = about ? campaign_find_round(x->camp, about) : NULL;
	const round_rt *rt = r ? rt_find(x->ct, about) : NULL;
	if (!rt || ((rt->state == RS_DIGESTED || rt->state == RS_DONE) && !r->repeat))
		return NULL;
	return rt;
}

/* Comments are picked by their place in the file, not by the clock: one written in the same
 * second as a digest, or after a clock step back, is still shown exactly once. Lines keep
 * their place when `forget` erases one (it rewrites a record, it never removes a line). */
static int on_comment_line(const char *line, size_t len, void *userdata)
{
	comments_ctx *x = userdata;
	int64_t no = ++x->lines;
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!o)
		return 0;
	const char *text = core_json_str(o, "text"), *who = core_json_str(o, "member");
	const char *about = core_json_str(o, "about");
	const round_rt *owner = comment_round(x, about);
	/* A comment on a round's digest waits for that round's next digest (or a periodic
	 * one, which shows every round); any other goes in the next digest. */
	bool show = owner ? no > owner->comments_seen && (!x->rt || x->rt == owner)
	                  : no > x->ct->comments_seen;
	if (text && show) {
		const coco_round *r = about ? campaign_find_round(x->camp, about) : NULL;
		_cleanup_free_ char *what =
			r ? xasprintf("about “%s”", r->title ? r->title : r->id)
			  : xstrdup("on the digest");
		/* Anonymous comments carry a pseudonym, never shown: no name at all. */
		const coco_member *mb = who ? campaign_find_member(x->camp, who) : NULL;
		if (mb)
			strv_push(&x->out, xasprintf("%s, %s: %s", mb->name ? mb->name : mb->id,
			                             what, text));
		else {
			what[0] = (char)toupper((unsigned char)what[0]);
			strv_push(&x->out, xasprintf("%s: %s", what, text));
		}
	}
	cJSON_Delete(o);
	return 0;
}

char **comments_since(core *c, const coco_campaign *camp, campaign_rt *ct, const round_rt *rt,
                      int64_t *ret_lines)
{
	comments_ctx x = {.camp = camp, .ct = ct, .rt = rt};
	_cleanup_free_ char *path = xasprintf("campaigns/%s/comments.jsonl", camp->id);
	if (camp && ct)
		(void)store_scan(c->st, path, on_comment_line, &x);
	*ret_lines = x.lines;
	return x.out;
}

void comments_shown(campaign_rt *ct, round_rt *rt, int64_t lines)
{
	/* What came before `lines` and belonged in this digest was shown: the comments of no
	 * round with a digest to come (ct->comments_seen), and those of rt, or of every round
	 * in a periodic digest. */
	ct->comments_seen = lines > ct->comments_seen ? lines : ct->comments_seen;
	if (!rt)
		for (size_t i = 0; i < ct->n_rounds; i++)
			ct->rounds[i].comments_seen = lines > ct->rounds[i].comments_seen
			                                      ? lines : ct->rounds[i].comments_seen;
	else if (lines > rt->comments_seen)
		rt->comments_seen = lines;
}
