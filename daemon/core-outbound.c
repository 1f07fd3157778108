/* core-outbound: what the core says to members — the template data of a round, rendering,
 * and queueing a message in the spool with its reply tag, Message-ID and spool id — and the
 * audit log of admin actions. */
#define _GNU_SOURCE
#include <string.h>

#include "answer.h"
#include "channel-msg.h"
#include "clock.h"
#include "core-private.h"
#include "digest.h"
#include "mdtext.h"
#include "schedule.h"
#include "template.h"
#include "template-cache.h"
#include "util.h"
#include "weblink.h"

void core_set_channels(core *c, const channel_ops *const *channels, size_t n)
{
	free(c->channels);
	c->channels = n ? xcalloc(n, sizeof *c->channels) : NULL;
	for (size_t i = 0; i < n; i++)
		c->channels[i] = channels[i];
	c->n_channels = n;
}

/* The channel that carries a member's own messages: the first running one that reaches
 * members privately and has an address of its kind for this member, unless the member
 * unsubscribed there from the campaign (core-unsub.c: confirmations still go). What answers
 * a message goes back the way it came (o->via), when that way reaches them. */
static const channel_ops *member_channel(core *c, const outbound *o, const char **ret_address,
                                         bool *ret_muted)
{
	const coco_member *m = o->to;
	for (size_t i = 0; o->via && i < c->n_channels; i++) {
		const char *a = config_member_address(m, c->channels[i]->address);
		if (STREQ(c->channels[i]->name, o->via) && (c->channels[i]->caps & CHANNEL_DM) && a &&
		    (STREQ(o->kind, "confirmation") || !core_muted(c, o->camp, m, a))) {
			*ret_address = a;
			return c->channels[i];
		}
	}
	for (size_t i = 0; i < c->n_channels; i++) {
		const char *a = config_member_address(m, c->channels[i]->address);
		if ((c->channels[i]->caps & CHANNEL_DM) && a && !STREQ(o->kind, "confirmation") &&
		    core_muted(c, o->camp, m, a)) {
			*ret_muted = true;
			continue;
		}
		if ((c->channels[i]->caps & CHANNEL_DM) && a) {
			*ret_address = a;
			return c->channels[i];
		}
	}
	return NULL;
}

const channel_ops *core_running_channel(core *c, const char *name)
{
	for (size_t i = 0; name && i < c->n_channels; i++)
		if (STREQ(c->channels[i]->name, name))
			return c->channels[i];
	return NULL;
}

const char *core_web_base(core *c)
{
	return core_running_channel(c, "web") ? config_get(c->cfg, "Web", "BaseUrl") : NULL;
}

const channel_ops *core_member_channel(core *c, const coco_campaign *camp,
                                       const coco_member *m, const char *kind)
{
	const char *address = NULL;
	bool muted = false;
	outbound o = {.camp = camp, .to = m, .kind = kind};
	return member_channel(c, &o, &address, &muted);
}

const char *core_unreachable_why(core *c, const coco_campaign *camp, const coco_member *m)
{
	const char *address = NULL;
	bool muted = false;
	outbound o = {.camp = camp, .to = m, .kind = "reminder"};
	if (member_channel(c, &o, &address, &muted))
		return NULL;
	return muted ? "unsubscribed from this campaign's messages (cococtl resubscribe)"
	             : "no address on a running channel";
}

/* Does a chat channel with buttons show any for this round? Scale and choice questions
 * and a vote's ballot get them (a multi choice or a text question is answered by
 * command). */
static bool round_has_buttons(const coco_round *r)
{
	if (r->kind == ROUND_VOTE)
		return true;
	for (size_t i = 0; r->kind == ROUND_SURVEY && i < r->n_questions; i++) {
		question_kind k = r->questions[i].kind;
		if (k == QUESTION_SCALE || k == QUESTION_NPS || k == QUESTION_CHOICE)
			return true;
	}
	return false;
}

char *core_chat_round_ref(core *c, const coco_campaign *camp, const coco_round *r)
{
	for (size_t i = 0; i < c->cfg->n_campaigns; i++) {
		const coco_campaign *other = &c->cfg->campaigns[i];
		if (other != camp && campaign_find_round(other, r->id))
			return xasprintf("%s/%s", camp->id, r->id);
	}
	return xstrdup(r->id);
}

/* ---- the part of a round's template data that only the configuration makes ----
 *
 * A round's data (core_round_data(), core_chat_data()) was built whole for every message:
 * under a burst of chat answers, for every confirmation (bench/slack-ingress,
 * docs/performance.md). Its parts that come from the configuration alone — the campaign,
 * the questions, how to answer, the examples, and per chat channel its command lines — are
 * built once per round_rt and put into each message's data by reference
 * (cJSON_IsReference: deleting the data leaves them). The round_rt goes with its
 * configuration (core_set_config() replaces them all on a reload), and nothing of the
 * round's state is kept: its close and the member are written into each message's data. A
 * vote round's examples and commands come from its ballot, which changes (forget
 * withdraws ideas): it keeps nothing and builds them every time. */
typedef struct round_chat_cache {
	const channel_ops *ch;
	cJSON *items; /* chat_command, chat_answer, chat_skip, how_to_answer */
} round_chat_cache;

struct round_data_cache {
	cJSON *items; /* campaign, questions, how_to_answer, answer_example, answer_skip */
	round_chat_cache *chats;
	size_t n_chats;
	/* The last close written out (round.closes), copied into each message's data: a new
	 * close or another time zone writes it again. */
	int64_t closes_at;
	const char *closes_tz; /* the configuration's */
	char *closes;
};

void core_round_data_cache_free(struct round_data_cache *dc)
{
	if (!dc)
		return;
	cJSON_Delete(dc->items);
	for (size_t i = 0; i < dc->n_chats; i++)
		cJSON_Delete(dc->chats[i].items);
	free(dc->chats);
	free(dc->closes);
	free(dc);
}

static bool round_data_cacheable(const coco_round *r)
{
	return r->kind != ROUND_VOTE;
}

static struct round_data_cache *round_cache(round_rt *rt)
{
	if (!rt->data_cache)
		rt->data_cache = xcalloc(1, sizeof *rt->data_cache);
	return rt->data_cache;
}

/* Puts src's item `key` (a string literal: data keeps the pointer) into data: by reference
 * when src is kept (a cache), else moved out of src. */
static void put_item(cJSON *data, const char *key, cJSON *src, bool kept)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
	if (!v)
		return;
	if (!kept)
		v = cJSON_DetachItemViaPointer(src, v);
	else if (cJSON_IsString(v))
		v = cJSON_CreateStringReference(v->valuestring);
	else if (cJSON_IsArray(v))
		v = cJSON_CreateArrayReference(v->child);
	else if (cJSON_IsObject(v))
		v = cJSON_CreateObjectReference(v->child);
	else
		v = cJSON_Duplicate(v, true);
	cJSON_AddItemToObjectCS(data, key, v);
}

/* The chat's lines of round r on a channel whose command is cmd: chat_command,
 * chat_answer, chat_skip (when a question may be skipped), how_to_answer. */
static cJSON *chat_items(core *c, const char *cmd, const coco_campaign *camp,
                         const coco_round *r, round_rt *rt)
{
	cJSON *o = cJSON_CreateObject();
	_cleanup_free_ char *ref = core_chat_round_ref(c, camp, r);
	_cleanup_free_ char *line = core_answer_command(c, camp, r, rt, ref,
	                                                r->kind == ROUND_PROMPT);
	_cleanup_free_ char *answer = xasprintf("%s %s", cmd, line);
	cJSON_AddStringToObject(o, "chat_command", cmd);
	cJSON_AddStringToObject(o, "chat_answer", answer);
	_cleanup_free_ char *skip = answer_skip_example(r);
	_cleanup_free_ char *s = skip ? xasprintf("%s answer %s %s", cmd, ref, skip) : NULL;
	if (s)
		cJSON_AddStringToObject(o, "chat_skip", s);
	/* The one-text help of a reply with errors, in the chat's form. */
	_cleanup_free_ char *how = xasprintf("Answer like this: %s%s%s", answer,
	                                     s ? "\nTo skip a question: " : "", s ? s : "");
	cJSON_AddStringToObject(o, "how_to_answer", how);
	return o;
}

void core_chat_data(core *c, const channel_ops *ch, const coco_campaign *camp,
                    const coco_round *r, round_rt *rt, cJSON *data)
{
	const char *cmd = ch && ch->command ? ch->command(c->cfg) : NULL;
	if (!cmd || !*cmd)
		return;
	/* A chat message carries no mail-only text (the signature, "forward this mail"). */
	core_put_bool(data, "chat", true);
	if (r->kind == ROUND_ANNOUNCE)
		return;
	bool kept = round_data_cacheable(r);
	cJSON *items = NULL;
	if (kept) {
		struct round_data_cache *dc = round_cache(rt);
		for (size_t i = 0; i < dc->n_chats && !items; i++)
			if (dc->chats[i].ch == ch)
				items = dc->chats[i].items;
		if (!items) {
			items = chat_items(c, cmd, camp, r, rt);
			dc->chats = xrealloc(dc->chats, (dc->n_chats + 1) * sizeof *dc->chats);
			dc->chats[dc->n_chats++] = (round_chat_cache){.ch = ch, .items = items};
		}
	} else
		items = chat_items(c, cmd, camp, r, rt);
	put_item(data, "chat_command", items, kept);
	put_item(data, "chat_answer", items, kept);
	put_item(data, "chat_skip", items, kept);
	core_put_bool(data, "chat_buttons", (ch->caps & CHANNEL_BUTTONS) && round_has_buttons(r));
	cJSON_DeleteItemFromObjectCaseSensitive(data, "how_to_answer");
	put_item(data, "how_to_answer", items, kept);
	if (!kept)
		cJSON_Delete(items);
}

bool core_channel_is_chat(core *c, const channel_ops *ch)
{
	const char *cmd = ch && ch->command ? ch->command(c->cfg) : NULL;
	return cmd && *cmd;
}

static cJSON *member_json(const coco_member *m)
{
	/* Made for every message: the member's strings by reference (the data is freed
	 * before the caller returns, the configuration lives longer). */
	cJSON *o = cJSON_CreateObject();
	core_put_ref(o, "id", m->id);
	core_put_ref(o, "name", m->name ? m->name : m->id);
	_cleanup_free_ char *first = config_member_first_name(m);
	core_put_str(o, "first_name", first);
	core_put_ref(o, "side", side_to_string(m->side));
	return o;
}

static cJSON *campaign_json(const coco_campaign *camp)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", camp->id);
	cJSON_AddStringToObject(o, "title", camp->title ? camp->title : camp->id);
	if (camp->client_name)
		cJSON_AddStringToObject(o, "client_name", camp->client_name);
	if (camp->provider_name)
		cJSON_AddStringToObject(o, "provider_name", camp->provider_name);
	return o;
}

const char *core_round_title(const coco_round *r)
{
	return r->title ? r->title : r->id;
}

/* Template data shared by prompts, reminders and confirmations of a round. */
char **core_ballot(core *c, const coco_campaign *camp, const coco_round *r, const round_rt *rt)
{
	char **ballot = NULL;
	const coco_round *src = r->kind == ROUND_VOTE && r->source
		? campaign_find_round(camp, r->source) : NULL;
	if (src && rt->ballot_occurrence)
		(void)digest_ballot(c->st, camp, src, rt->ballot_occurrence, &ballot);
	return ballot;
}

static cJSON *questions_json(const coco_round *r)
{
	cJSON *qs = cJSON_CreateArray();
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		cJSON *qo = cJSON_CreateObject();
		cJSON_AddNumberToObject(qo, "number", (double)(i + 1));
		cJSON_AddStringToObject(qo, "id", q->id);
		cJSON_AddStringToObject(qo, "text", q->text ? q->text : q->id);
		cJSON_AddStringToObject(qo, "kind", question_kind_to_string(q->kind));
		cJSON_AddBoolToObject(qo, "required", q->required);
		if (q->kind == QUESTION_SCALE || q->kind == QUESTION_NPS) {
			cJSON_AddNumberToObject(qo, "min", (double)q->min);
			cJSON_AddNumberToObject(qo, "max", (double)q->max);
		}
		if (q->min_label)
			cJSON_AddStringToObject(qo, "min_label", q->min_label);
		if (q->max_label)
			cJSON_AddStringToObject(qo, "max_label", q->max_label);
		if (q->n_options > 0) {
			cJSON *opts = cJSON_AddArrayToObject(qo, "options");
			for (size_t k = 0; k < q->n_options; k++) {
				cJSON *oo = cJSON_CreateObject();
				char letter[2] = {(char)('a' + k % 26), 0};
				cJSON_AddStringToObject(oo, "letter", letter);
				cJSON_AddStringToObject(oo, "text", q->options[k]);
				cJSON_AddItemToArray(opts, oo);
			}
		}
		cJSON_AddItemToArray(qs, qo);
	}
	return qs;
}

static bool same_tz(const char *a, const char *b)
{
	return a == b || (a && b && STREQ(a, b));
}

/* The close as members in time zone tz read it (NULL: it cannot be written). */
static const char *round_closes(struct round_data_cache *dc, int64_t close_at, const char *tz)
{
	if (!dc->closes || dc->closes_at != close_at || !same_tz(dc->closes_tz, tz)) {
		free(dc->closes);
		dc->closes = schedule_format_local(close_at, tz);
		dc->closes_at = close_at;
		dc->closes_tz = tz;
	}
	return dc->closes;
}

/* What the configuration alone makes of a round's data: campaign, questions,
 * how_to_answer, answer_example (a vote's from its ballot of n_ideas), answer_skip. */
static cJSON *round_items(const coco_campaign *camp, const coco_round *r, size_t n_ideas)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "campaign", campaign_json(camp));
	cJSON_AddItemToObject(o, "questions", questions_json(r));
	_cleanup_free_ char *help = answer_help(r);
	cJSON_AddStringToObject(o, "how_to_answer", help);
	/* The examples a message shows come from this round: its questions, its ballot. */
	char **examples = answer_examples(r, n_ideas);
	cJSON_AddItemToObject(o, "answer_example",
			      cJSON_CreateStringArray((const char *const *)examples,
						      (int)strv_length(examples)));
	strv_free(examples);
	_cleanup_free_ char *skip = answer_skip_example(r);
	if (skip)
		cJSON_AddStringToObject(o, "answer_skip", skip);
	return o;
}

cJSON *core_round_data(core *c, const coco_campaign *camp, const coco_round *r, round_rt *rt,
                         const coco_member *m)
{
	bool kept = round_data_cacheable(r);
	cJSON *items = NULL;
	if (kept) {
		struct round_data_cache *dc = round_cache(rt);
		if (!dc->items)
			dc->items = round_items(camp, r, 0);
		items = dc->items;
	}
	/* Keys as constants, the configuration's strings by reference (core_put()): the
	 * data is freed before the caller returns. */
	cJSON *d = cJSON_CreateObject();
	core_put(d, "member", member_json(m));
	cJSON *ro = cJSON_CreateObject();
	core_put_ref(ro, "id", r->id);
	core_put_ref(ro, "title", core_round_title(r));
	core_put_ref(ro, "kind", round_kind_to_string(r->kind));
	if (r->text)
		core_put_ref(ro, "text", r->text);
	if (rt->close_at > rt->open_at) {
		const char *closes = round_closes(round_cache(rt), rt->close_at, member_tz(camp, m));
		if (closes)
			core_put_str(ro, "closes", closes);
	}
	core_put_bool(ro, "anonymous", r->anonymous);
	/* Mustache cannot compare strings: one flag per kind. */
	core_put_bool(ro, "is_survey", r->kind == ROUND_SURVEY);
	core_put_bool(ro, "is_prompt", r->kind == ROUND_PROMPT);
	core_put_bool(ro, "is_vote", r->kind == ROUND_VOTE);

	size_t n_ideas = 0;
	cJSON *vote = NULL;
	if (r->kind == ROUND_VOTE) {
		vote = cJSON_CreateObject();
		cJSON_AddNumberToObject(vote, "votes", r->votes);
		cJSON_AddStringToObject(vote, "votes_word", r->votes == 1 ? "vote" : "votes");
		cJSON_AddBoolToObject(vote, "votes_repeat", r->votes > 1);
		cJSON *ideas = cJSON_AddArrayToObject(vote, "ideas");
		char **ballot = core_ballot(c, camp, r, rt);
		n_ideas = strv_length(ballot);
		for (size_t i = 0; ballot && ballot[i]; i++) {
			cJSON *io = cJSON_CreateObject();
			cJSON_AddNumberToObject(io, "number", (double)(i + 1));
			_cleanup_free_ char *text = md_text(ballot[i]); /* a member's idea */
			cJSON_AddStringToObject(io, "text", text);
			cJSON_AddItemToArray(ideas, io);
		}
		strv_free(ballot);
	}
	if (!kept)
		items = round_items(camp, r, n_ideas);

	/* The keys in the order they always had. */
	put_item(d, "campaign", items, kept);
	core_put(d, "round", ro);
	put_item(d, "questions", items, kept);
	if (vote) {
		put_item(d, "votes", vote, false);
		put_item(d, "votes_word", vote, false);
		put_item(d, "votes_repeat", vote, false);
		put_item(d, "ideas", vote, false);
		cJSON_Delete(vote);
	}
	put_item(d, "how_to_answer", items, kept);
	/* With the web view running, the member's own link to the round's form, valid
	 * until two weeks after the close (or after now, for a round without one). */
	const char *base = core_web_base(c);
	if (base && r->kind != ROUND_ANNOUNCE) {
		int64_t until = rt->close_at > clock_now() && rt->close_at != INT64_MAX
		                        ? rt->close_at : clock_now();
		_cleanup_free_ char *path = xasprintf("%s/form", r->id);
		_cleanup_free_ char *url = weblink_url(&c->key, base, m->id, camp->id, path,
		                                       until + 14 * 86400);
		cJSON_AddStringToObject(d, "form_link", url);
	}
	put_item(d, "answer_example", items, kept);
	put_item(d, "answer_skip", items, kept);
	if (!kept)
		cJSON_Delete(items);
	return d;
}

static char *dirs_list(char *const *dirs)
{
	strbuf b = {0};
	for (size_t i = 0; dirs && dirs[i]; i++)
		strbuf_printf(&b, "%s%s", i ? ", " : "", dirs[i]);
	return strbuf_steal(&b);
}

int core_check_templates(const char *const *dirs, char **ret_error)
{
	static const char *const names[] = {"prompt.md", "survey.md", "vote.md", "reminder.md",
	                                    "confirmation.md", "digest.md", "footer.md",
	                                    "questions.md"};
	strbuf missing = {0};
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *text = NULL;
		if (template_dirs_partial(names[i], &text, (void *)dirs) < 0)
			strbuf_printf(&missing, "%s%s", missing.len ? ", " : "", names[i]);
	}
	if (!missing.len)
		return 0;
	_cleanup_free_ char *where = dirs_list((char *const *)dirs);
	_cleanup_free_ char *what = strbuf_steal(&missing);
	*ret_error = xasprintf("message templates missing: %s (looked in %s); install them "
	                       "(make install) or point COCO_TEMPLATE_DIR at the templates/ of the "
	                       "source tree", what, where);
	return -ENOENT;
}

int core_render(core *c, const char *name, const cJSON *data, char **ret)
{
	_cleanup_free_ char *owned = NULL, *err = NULL;
	const char *text = NULL;
	/* Not copied: template_render() reads it before it asks the cache for a partial. */
	int r = template_cache_text(c->tcache, name, &text, &owned);
	if (r < 0) {
		_cleanup_free_ char *where = dirs_list(c->tdirs);
		return log_error_errno(r, "template %s not found in %s", name, where);
	}
	r = template_render(name, text, data, template_cache_partial, c->tcache, ret, &err);
	if (r < 0)
		return log_error_errno(r, "template error: %s", err ? err : name);
	return 0;
}


/* Queues one message for a member on their mail channel: SPOOL_QUEUED, SPOOL_DUPLICATE (it
 * was queued or sent before: nothing new), CORE_UNREACHED for a member it cannot reach, or
 * -errno. */
int core_send_member(core *c, const outbound *o)
{
	const char *address = NULL;
	bool muted = false;
	const channel_ops *ch = member_channel(c, o, &address, &muted);
	if (!ch && muted) {
		log_info("%s: member %s unsubscribed from this campaign's messages: \"%s\" not sent",
		         o->camp->id, o->to->id, o->subject);
		return CORE_UNREACHED;
	}
	if (!ch) {
		strbuf b = {0};
		for (size_t i = 0; i < c->n_channels; i++)
			if (c->channels[i]->caps & CHANNEL_DM)
				strbuf_printf(&b, "%s%s (%s address)", b.len ? ", " : "",
				              c->channels[i]->name, c->channels[i]->address);
		_cleanup_free_ char *running = b.s ? strbuf_steal(&b) : xstrdup("none");
		/* A private message names no member: see log_outcome() in engine/spool.c. */
		if (o->private_msg)
			log_warning("%s: a %s about an anonymous round could not be sent: its member "
			            "has no address on a running channel (running: %s)", o->camp->id,
			            o->kind, running);
		else
			log_warning("%s: member %s has no address on a running channel (running: %s); "
			            "message \"%s\" not sent", o->camp->id, o->to->id, running,
			            o->subject);
		return CORE_UNREACHED;
	}
	/* The conversation reference a reply must carry back: the reply tag. How it travels
	 * (a Reply-To address, a Message-ID, a thread) is the channel's business. */
	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&c->key, o->camp->id, o->tag_round ? o->tag_round : o->round, o->to->id, tag);
	char unsub[SECRET_TAG_LEN + 1];
	core_unsub_token(c, o->camp, o->to, unsub);
	_cleanup_free_ char *html = o->html ? xstrdup(o->html) : NULL;
	if (!html)
		(void)digest_markdown_to_html(o->markdown, &html);
	channel_msg m = {
		.id = (char *)o->id,
		.kind = (char *)o->kind,
		.campaign = o->camp->id,
		.round = (char *)o->round,
		.occurrence = (char *)o->occurrence,
		.member = o->to->id,
		.name = o->to->name ? o->to->name : o->to->id,
		.address = (char *)address,
		.subject = (char *)o->subject,
		.markdown = (char *)o->markdown,
		.html = html,
		.conversation = tag,
		.in_reply_to = (char *)o->in_reply_to,
		.unsubscribe = unsub,
		.prompt = (cJSON *)o->prompt,
		.private_msg = o->private_msg,
	};
	cJSON *msg = NULL;
	int k = channel_msg_to_json(&m, &msg);
	if (k < 0)
		return log_error_errno(k, "%s: cannot make %s for %s: %m", o->camp->id, o->kind,
		                       o->private_msg ? "a member (private)" : o->to->id);

	int r = spool_enqueue(c->sp, ch->name, msg, NULL);
	cJSON_Delete(msg);
	if (r < 0)
		return log_error_errno(r, "%s: cannot queue %s for %s: %m", o->camp->id, o->kind,
		                       o->private_msg ? "a member (private)" : o->to->id);
	return r; /* SPOOL_QUEUED, or SPOOL_DUPLICATE: that very message was queued before */
}

/* Spool ids are short hashes of what a message is, so the same transition replayed after a
 * crash finds its message already queued. */
char *core_message_id(core *c, const char *kind, const char *camp, const char *what,
                        const char *member)
{
	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&c->key, camp, what, member, tag);
	return xasprintf("%s-%s", kind, tag);
}

static const char *prompt_template(const coco_round *r)
{
	switch (r->kind) {
	case ROUND_SURVEY: return "survey.md";
	case ROUND_VOTE: return "vote.md";
	default: return "prompt.md";
	}
}

/* The prompt as data (channel_msg.prompt), so that a chat channel can render buttons or a
 * poll: the round's kind, its questions as the template data has them (number, id, text,
 * kind, required, min/max and their labels, options with their letters), and a vote's
 * ballot in the members' own words (plain text, not Markdown: a button label is no
 * Markdown) with the votes each member has. A button's value is what a member would type
 * after "N: " (a number, an option's letter) or after "vote ". */
cJSON *core_prompt_data(core *c, const coco_campaign *camp, const coco_round *r,
                        const round_rt *rt, const cJSON *data)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "kind", round_kind_to_string(r->kind));
	cJSON_AddItemToObject(p, "questions",
	                      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(data, "questions"),
	                                      true));
	if (r->kind == ROUND_VOTE) {
		cJSON *ideas = cJSON_AddArrayToObject(p, "ideas");
		char **ballot = core_ballot(c, camp, r, rt);
		for (size_t i = 0; ballot && ballot[i]; i++) {
			cJSON *io = cJSON_CreateObject();
			cJSON_AddNumberToObject(io, "number", (double)(i + 1));
			cJSON_AddStringToObject(io, "text", ballot[i]);
			cJSON_AddItemToArray(ideas, io);
		}
		strv_free(ballot);
		cJSON_AddNumberToObject(p, "votes", r->votes);
	}
	return p;
}

int core_send_round_message(core *c, const coco_campaign *camp, const coco_round *r,
                            round_rt *rt, const coco_member *m, const char *kind, unsigned n)
{
	cJSON *data = core_round_data(c, camp, r, rt, m);
	core_chat_data(c, core_member_channel(c, camp, m, kind), camp, r, rt, data);
	/* A reminder to someone whose answer left a required question open says so, rather
	 * than read like the first nudge (trials 5 and 6). */
	if (STREQ(kind, "reminder") && has_answered_partly(c, camp, r, rt, m))
		cJSON_AddTrueToObject(data, "partial");
	_cleanup_free_ char *md = NULL;
	const char *tmpl = STREQ(kind, "reminder") ? "reminder.md" : prompt_template(r);
	int k = core_render(c, tmpl, data, &md);
	cJSON *prompt = k < 0 ? NULL : core_prompt_data(c, camp, r, rt, data);
	cJSON_Delete(data);
	if (k < 0)
		return k;
	_cleanup_free_ char *what = xasprintf("%s/%s/%s/%u", r->id, rt->occurrence, kind, n);
	_cleanup_free_ char *id = core_message_id(c, kind, camp->id, what, m->id);
	_cleanup_free_ char *subject =
		xasprintf("%s[%s] %s", STREQ(kind, "reminder") ? "Reminder: " : "",
		          camp->title ? camp->title : camp->id, core_round_title(r));
	outbound o = {.camp = camp, .to = m, .kind = kind, .round = r->id,
	              .occurrence = rt->occurrence, .id = id, .subject = subject, .markdown = md,
	              .prompt = prompt};
	k = core_send_member(c, &o);
	cJSON_Delete(prompt);
	return k;
}

void core_audit(core *c, const char *action, const char *camp, const char *round,
                  const char *detail)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	cJSON_AddStringToObject(o, "action", action);
	if (camp)
		cJSON_AddStringToObject(o, "campaign", camp);
	if (round)
		cJSON_AddStringToObject(o, "round", round);
	if (detail)
		cJSON_AddStringToObject(o, "detail", detail);
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	int r = store_append(c->st, "audit.jsonl", line, NULL, NULL, NULL);
	if (r < 0)
		log_error_errno(r, "cannot write the audit log: %m");
}

