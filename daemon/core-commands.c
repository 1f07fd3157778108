/* core-commands: the chat commands (inbound_msg.command), one layer for every chat channel.
 * The grammar is engine/chat-command.c; here they are carried out for the member the
 * channel vouches for: help, rounds (the member's open rounds and how to answer each),
 * answer / idea / vote (through the answer path of core-inbound.c, so they are recorded
 * and confirmed exactly as a reply would be), status (who answered: the provider's side
 * only) and digest (the latest digest of a round, as stored: already without names in an
 * anonymous round). What is said back is Markdown, in the exchange on a channel with
 * CHANNEL_SYNC_REPLY, else as a queued reply. A command that records nothing leaves nothing
 * in the store. */
#define _GNU_SOURCE
#include <string.h>

#include "answer.h"
#include "chat-command.h"
#include "core-private.h"
#include "schedule.h"
#include "util.h"

enum { DIGEST_READ_MAX = 1024 * 1024 };

/* A campaign in which the sender is a member. */
typedef struct membership {
	const coco_campaign *camp;
	const coco_member *mb;
} membership;

typedef struct cmd_ctx {
	core *c;
	const inbound_msg *m;
	inbound_done_fn done;
	void *ud;
	const char *prefix; /* how the channel writes its command: "/coco" */
	membership *ms;
	size_t n_ms;
} cmd_ctx;

static void finish_reply(inbound_done_fn done, void *ud, const char *md)
{
	inbound_result res = {.status = INBOUND_DONE, .reply = md};
	done(&res, ud);
}

static bool sync_reply(core *c, const char *name)
{
	const channel_ops *ch = core_running_channel(c, name);
	return ch && (ch->caps & CHANNEL_SYNC_REPLY);
}

/* Says md to the sender (ms: as which member; NULL when they are none) and finishes. */
static void say(cmd_ctx *x, const membership *ms, const char *round, const char *md)
{
	if (ms)
		core_reply(x->c, ms->camp, ms->mb, round, x->m, md, x->done, x->ud);
	else
		finish_reply(x->done, x->ud, sync_reply(x->c, x->m->channel) ? md : NULL);
}

static void find_memberships(cmd_ctx *x)
{
	const coco_config *cfg = x->c->cfg;
	for (size_t i = 0; x->m->from && i < cfg->n_campaigns; i++) {
		const coco_campaign *camp = &cfg->campaigns[i];
		const coco_member *mb = campaign_find_member_by_address(camp, x->m->from);
		if (mb) {
			x->ms = xrealloc(x->ms, (x->n_ms + 1) * sizeof *x->ms);
			x->ms[x->n_ms++] = (membership){camp, mb};
		}
	}
}

static const char *member_name(const coco_member *mb)
{
	return mb->name ? mb->name : mb->id;
}

/* How the member writes the round in a command: its id, or CAMPAIGN/ROUND when they are in
 * more than one campaign. malloc'd. */
static char *round_ref(const cmd_ctx *x, const coco_campaign *camp, const coco_round *r)
{
	return x->n_ms > 1 ? xasprintf("%s/%s", camp->id, r->id) : xstrdup(r->id);
}

static bool is_open_for(core *c, const membership *ms, const round_rt *rt, const coco_round *r)
{
	return r && rt->state == RS_OPEN && rt->occurrence && r->kind != ROUND_ANNOUNCE &&
	       round_has_member(r, ms->mb);
}

/* Calls fn for each open round of the sender (only of `kind` if kind >= 0). */
typedef void (*open_round_fn)(cmd_ctx *x, const membership *ms, round_rt *rt,
                              const coco_round *r, void *userdata);
static unsigned for_each_open(cmd_ctx *x, int kind, open_round_fn fn, void *userdata)
{
	unsigned n = 0;
	for (size_t i = 0; i < x->n_ms; i++) {
		campaign_rt *ct = ct_find(x->c, x->ms[i].camp->id);
		for (size_t k = 0; ct && k < ct->n_rounds; k++) {
			const coco_round *r = campaign_find_round(x->ms[i].camp, ct->rounds[k].id);
			if (!is_open_for(x->c, &x->ms[i], &ct->rounds[k], r) ||
			    (kind >= 0 && (int)r->kind != kind))
				continue;
			n++;
			if (fn)
				fn(x, &x->ms[i], &ct->rounds[k], r, userdata);
		}
	}
	return n;
}

typedef struct found {
	const membership *ms;
	const coco_round *r;
	round_rt *rt;
} found;

static void remember(cmd_ctx *x, const membership *ms, round_rt *rt, const coco_round *r,
                     void *userdata)
{
	*(found *)userdata = (found){ms, r, rt};
}

/* "`kickoff`, `ideas`": the sender's open rounds (of `kind`, if >= 0), or NULL if none. */
static void list_ref(cmd_ctx *x, const membership *ms, round_rt *rt, const coco_round *r,
                     void *userdata)
{
	strbuf *b = userdata;
	_cleanup_free_ char *ref = round_ref(x, ms->camp, r);
	strbuf_printf(b, "%s`%s`", b->len ? ", " : "", ref);
}

static char *open_list(cmd_ctx *x, int kind)
{
	strbuf b = {0};
	for_each_open(x, kind, list_ref, &b);
	return b.s ? strbuf_steal(&b) : NULL;
}

/* The round a command names: "ROUND" among the sender's campaigns, or "CAMPAIGN/ROUND".
 * 0, or -ENOENT / -EEXIST (several campaigns have it) with the words said already. */
static int resolve_round(cmd_ctx *x, const char *ref, found *ret)
{
	const char *slash = strchr(ref, '/');
	_cleanup_free_ char *camp_id = slash ? xstrndup(ref, (size_t)(slash - ref)) : NULL;
	const char *round_id = slash ? slash + 1 : ref;
	unsigned n = 0;
	strbuf where = {0};
	for (size_t i = 0; i < x->n_ms; i++) {
		if (camp_id && !STREQ(camp_id, x->ms[i].camp->id))
			continue;
		const coco_round *r = campaign_find_round(x->ms[i].camp, round_id);
		campaign_rt *ct = r ? ct_find(x->c, x->ms[i].camp->id) : NULL;
		round_rt *rt = ct ? rt_find(ct, r->id) : NULL;
		if (!rt)
			continue;
		*ret = (found){&x->ms[i], r, rt};
		strbuf_printf(&where, "%s`%s/%s`", where.len ? ", " : "", x->ms[i].camp->id, r->id);
		n++;
	}
	_cleanup_free_ char *w = strbuf_steal(&where);
	if (n == 1)
		return 0;
	_cleanup_free_ char *md = NULL;
	if (n > 1)
		md = xasprintf("Several of your campaigns have a round `%s`: say which, as %s.",
		               round_id, w);
	else {
		_cleanup_free_ char *open = open_list(x, -1);
		md = xasprintf("There is no round `%s` in your campaign%s. %s%s%s", ref,
		               x->n_ms > 1 ? "s" : "",
		               open ? "Open for you now: " : "No round is open for you right now.",
		               open ? open : "", open ? "." : "");
	}
	log_info("chat command from %s: round %s %s", x->ms[0].mb->id, ref,
	         n > 1 ? "is ambiguous" : "not found");
	say(x, &x->ms[0], "none", md);
	return n > 1 ? -EEXIST : -ENOENT;
}

/* The one open round of the sender (of `kind`, if >= 0), or the words why there is none. */
static int only_open(cmd_ctx *x, int kind, const char *what, found *ret)
{
	unsigned n = for_each_open(x, kind, remember, ret);
	if (n == 1)
		return 0;
	_cleanup_free_ char *md = NULL;
	if (n == 0)
		md = xasprintf("No %sround is open for you right now, so nothing was recorded.",
		               kind == ROUND_PROMPT ? "idea " : kind == ROUND_VOTE ? "vote " : "");
	else {
		_cleanup_free_ char *open = open_list(x, kind);
		md = xasprintf("Several rounds are open for you (%s), so coco cannot tell which one "
		               "this is for. Say which: `%s %s ROUND …`.", open, x->prefix, what);
	}
	say(x, &x->ms[0], "none", md);
	return -ENOENT;
}

/* ---- rounds ---- */

char *core_answer_command(core *c, const coco_campaign *camp, const coco_round *r,
                          round_rt *rt, const char *ref, bool idea_command)
{
	char **ballot = core_ballot(c, camp, r, rt);
	char **ex = answer_examples(r, strv_length(ballot));
	strv_free(ballot);
	strbuf b = {0};
	if (r->kind == ROUND_PROMPT && idea_command)
		strbuf_puts(&b, "idea your idea");
	else if (r->kind == ROUND_VOTE && ex && ex[0] && strncmp(ex[0], "vote ", 5) == 0)
		strbuf_printf(&b, "vote %s %s", ref, ex[0] + 5);
	else {
		strbuf_printf(&b, "answer %s ", ref);
		for (size_t i = 0; ex && ex[i]; i++)
			strbuf_printf(&b, "%s%s", i ? ", " : "", ex[i]);
	}
	strv_free(ex);
	return strbuf_steal(&b);
}

static char *how_to_answer(cmd_ctx *x, const membership *ms, round_rt *rt, const coco_round *r)
{
	_cleanup_free_ char *ref = round_ref(x, ms->camp, r);
	_cleanup_free_ char *cmd = core_answer_command(
		x->c, ms->camp, r, rt, ref,
		r->kind == ROUND_PROMPT && for_each_open(x, ROUND_PROMPT, NULL, NULL) == 1);
	return xasprintf("`%s %s`", x->prefix, cmd);
}

static void add_round_line(cmd_ctx *x, const membership *ms, round_rt *rt, const coco_round *r,
                           void *userdata)
{
	strbuf *b = userdata;
	_cleanup_free_ char *ref = round_ref(x, ms->camp, r);
	_cleanup_free_ char *how = how_to_answer(x, ms, rt, r);
	_cleanup_free_ char *closes = rt->close_at != INT64_MAX && rt->close_at > rt->open_at
		? schedule_format_local(rt->close_at, member_tz(ms->camp, ms->mb)) : NULL;
	strbuf_printf(b, "- **%s** (`%s`)", core_round_title(r), ref);
	if (x->n_ms > 1)
		strbuf_printf(b, " in %s", ms->camp->title ? ms->camp->title : ms->camp->id);
	if (closes)
		strbuf_printf(b, ", open until %s", closes);
	strbuf_printf(b, "%s: %s\n", has_answered(x->c, ms->camp, r, rt, ms->mb)
	                                     ? " · you have answered (answer again to change it)"
	                                     : "", how);
}

/* The occurrence whose digest is the round's latest, or NULL. */
static const char *latest_digest_occurrence(const round_rt *rt)
{
	return rt->state == RS_DIGESTED ? rt->occurrence : rt->prev_occurrence;
}

static char *digest_path(const coco_campaign *camp, const char *round, const char *occ)
{
	return xasprintf("campaigns/%s/digests/%s-%s.md", camp->id, round, occ);
}

static void cmd_rounds(cmd_ctx *x)
{
	strbuf b = {0};
	if (for_each_open(x, -1, NULL, NULL) == 0)
		strbuf_puts(&b, "No round is open for you right now.\n");
	else {
		strbuf_puts(&b, "**Your open rounds**\n\n");
		for_each_open(x, -1, add_round_line, &b);
	}
	/* And the digests there are to read. */
	strbuf d = {0};
	for (size_t i = 0; i < x->n_ms; i++) {
		const membership *ms = &x->ms[i];
		campaign_rt *ct = ct_find(x->c, ms->camp->id);
		for (size_t k = 0; ct && k < ct->n_rounds; k++) {
			round_rt *rt = &ct->rounds[k];
			const coco_round *r = campaign_find_round(ms->camp, rt->id);
			const char *occ = latest_digest_occurrence(rt);
			if (!r || !occ || !core_digest_recipient(ms->camp, r, ms->mb))
				continue;
			_cleanup_free_ char *path = digest_path(ms->camp, r->id, occ);
			if (store_exists(x->c->st, path) <= 0)
				continue;
			_cleanup_free_ char *ref = round_ref(x, ms->camp, r);
			strbuf_printf(&d, "%s`%s digest %s`", d.len ? ", " : "", x->prefix, ref);
		}
	}
	if (d.len)
		strbuf_printf(&b, "\nDigests to read: %s\n", d.s);
	strbuf_done(&d);
	_cleanup_free_ char *md = strbuf_steal(&b);
	say(x, &x->ms[0], "none", md);
}

/* ---- answer, idea, vote ---- */

/* The chat grammar never takes "vote", "idea" or "skip" for a round (they start answers:
 * "skip 2", "vote 3 7"), yet a round may be called so (etc/onboarding.conf's "vote"). When
 * the text of an answer or a vote starts with such a word followed by more, and one of the
 * sender's campaigns has a round of that id, the word is the round: "/coco vote vote 1 3",
 * as coco's own messages write it. Returns the round's id and moves *text past it, or NULL. */
static char *keyword_round(cmd_ctx *x, const char **text)
{
	const char *t = *text;
	size_t n = strcspn(t, " \t\n");
	if (!t[n] || !(n == 4 && (strncmp(t, "vote", 4) == 0 || strncmp(t, "idea", 4) == 0 ||
	                          strncmp(t, "skip", 4) == 0)))
		return NULL;
	char *id = xstrndup(t, n);
	for (size_t i = 0; i < x->n_ms; i++)
		if (campaign_find_round(x->ms[i].camp, id)) {
			*text = t + n + strspn(t + n, " \t\n");
			return id;
		}
	free(id);
	return NULL;
}

static void cmd_record(cmd_ctx *x, const chat_command *cmd)
{
	found f = {0};
	static const char *const what[] = {[CHAT_ANSWER] = "answer", [CHAT_IDEA] = "answer",
	                                   [CHAT_VOTE] = "vote"};
	int kind = cmd->kind == CHAT_IDEA ? ROUND_PROMPT : cmd->kind == CHAT_VOTE ? ROUND_VOTE : -1;
	const char *body = cmd->text;
	_cleanup_free_ char *named =
		!cmd->round && cmd->kind != CHAT_IDEA ? keyword_round(x, &body) : NULL;
	const char *round = cmd->round ? cmd->round : named;
	if (round ? resolve_round(x, round, &f) < 0 : only_open(x, kind, what[cmd->kind], &f) < 0)
		return;
	_cleanup_free_ char *ref = round_ref(x, f.ms->camp, f.r);
	if (!round_has_member(f.r, f.ms->mb)) {
		_cleanup_free_ char *md = xasprintf("**%s** (`%s`) does not ask you, so nothing was "
		                                    "recorded.", core_round_title(f.r), ref);
		say(x, f.ms, f.r->id, md);
		return;
	}
	if (kind >= 0 && (int)f.r->kind != kind && f.r->kind != ROUND_ANNOUNCE) {
		_cleanup_free_ char *md = xasprintf("**%s** (`%s`) is a %s, not a vote, so nothing "
		                                    "was recorded.", core_round_title(f.r), ref,
		                                    round_kind_to_string(f.r->kind));
		say(x, f.ms, f.r->id, md);
		return;
	}
	_cleanup_free_ char *text = cmd->kind == CHAT_IDEA ? xasprintf("idea: %s", body)
	                            : cmd->kind == CHAT_VOTE ? xasprintf("vote %s", body)
	                                                     : xstrdup(body);
	inbound_msg m = *x->m;
	m.command = NULL;
	m.text = text;
	m.items = NULL;
	m.n_items = 0;
	m.conversation = NULL;
	m.thread = NULL;
	core_receive_answer(x->c, &m, f.ms->camp, f.ms->mb, f.r, x->done, x->ud);
}

/* ---- status ---- */

static void cmd_status(cmd_ctx *x, const chat_command *cmd)
{
	found f = {0};
	const membership *asker = &x->ms[0];
	for (size_t i = 0; i < x->n_ms; i++)
		if (x->ms[i].mb->side == SIDE_PROVIDER)
			asker = &x->ms[i];
	if (asker->mb->side != SIDE_PROVIDER) {
		_cleanup_free_ char *md = xasprintf(
			"`%s status` is for %s's team: it shows who has answered. `%s rounds` shows "
			"your own rounds.", x->prefix,
			asker->camp->provider_name ? asker->camp->provider_name : "the provider",
			x->prefix);
		log_info("chat command from %s: status refused (client side)", asker->mb->id);
		say(x, asker, "none", md);
		return;
	}
	if (cmd->round ? resolve_round(x, cmd->round, &f) < 0 : only_open(x, -1, "status", &f) < 0)
		return;
	if (f.ms->mb->side != SIDE_PROVIDER) {
		_cleanup_free_ char *md = xasprintf("`%s status` is for the provider's team of %s.",
		                                    x->prefix, f.ms->camp->title ? f.ms->camp->title
		                                                                 : f.ms->camp->id);
		say(x, f.ms, "none", md);
		return;
	}
	const coco_campaign *camp = f.ms->camp;
	const coco_round *r = f.r;
	round_rt *rt = f.rt;
	_cleanup_free_ char *ref = round_ref(x, camp, r);
	strbuf b = {0};
	strbuf_printf(&b, "**%s** (`%s`) ", core_round_title(r), ref);
	if (rt->state == RS_SCHEDULED || !rt->occurrence) {
		_cleanup_free_ char *opens = rt->open_at != INT64_MAX
			? schedule_format_local(rt->open_at, member_tz(camp, f.ms->mb)) : NULL;
		if (opens)
			strbuf_printf(&b, "is not open yet: it opens %s.\n", opens);
		else
			strbuf_puts(&b, "is not open yet.\n");
		_cleanup_free_ char *md = strbuf_steal(&b);
		say(x, f.ms, r->id, md);
		return;
	}
	strbuf_printf(&b, "is %s", rt->state == RS_OPEN ? "open" : "closed");
	unsigned total = 0, answered = 0;
	unsigned side_total[_SIDE_MAX] = {0}, side_answered[_SIDE_MAX] = {0};
	strbuf yes[_SIDE_MAX] = {{0}}, no[_SIDE_MAX] = {{0}};
	for (size_t i = 0; i < camp->n_members; i++) {
		const coco_member *m = &camp->members[i];
		if (!round_has_member(r, m))
			continue;
		bool a = has_answered(x->c, camp, r, rt, m);
		total++;
		side_total[m->side]++;
		if (a) {
			answered++;
			side_answered[m->side]++;
		}
		strbuf *l = a ? &yes[m->side] : &no[m->side];
		strbuf_printf(l, "%s%s", l->len ? ", " : "", member_name(m));
	}
	strbuf_printf(&b, ": %u of %u have answered.\n\n", answered, total);
	/* An anonymous round shows the total alone, as the web view and the digests do: a
	 * side's count, watched as answers come in, can tell who answered on a small side. */
	for (int s = 0; s < _SIDE_MAX; s++) {
		if (side_total[s] == 0 || r->anonymous) {
			strbuf_done(&yes[s]);
			strbuf_done(&no[s]);
			continue;
		}
		strbuf_printf(&b, "- %s side: %u of %u", side_to_string(s), side_answered[s],
		              side_total[s]);
		if (!r->anonymous) {
			if (yes[s].len)
				strbuf_printf(&b, "; answered: %s", yes[s].s);
			if (no[s].len)
				strbuf_printf(&b, "; not yet: %s", no[s].s);
		}
		strbuf_puts(&b, "\n");
		strbuf_done(&yes[s]);
		strbuf_done(&no[s]);
	}
	if (r->anonymous)
		strbuf_puts(&b, "\nThe round is anonymous: who answered is not shown.\n");
	_cleanup_free_ char *md = strbuf_steal(&b);
	say(x, f.ms, r->id, md);
}

/* ---- digest ---- */

static void cmd_digest(cmd_ctx *x, const chat_command *cmd)
{
	found f = {0};
	if (resolve_round(x, cmd->round, &f) < 0)
		return;
	_cleanup_free_ char *ref = round_ref(x, f.ms->camp, f.r);
	_cleanup_free_ char *md = NULL;
	const char *occ = latest_digest_occurrence(f.rt);
	if (!core_digest_recipient(f.ms->camp, f.r, f.ms->mb))
		md = xasprintf("The digests of **%s** (`%s`) do not go to you.", core_round_title(f.r),
		               ref);
	else if (f.r->kind == ROUND_ANNOUNCE)
		md = xasprintf("**%s** (`%s`) is an announcement: it has no digest.",
		               core_round_title(f.r), ref);
	else {
		_cleanup_free_ char *path = occ ? digest_path(f.ms->camp, f.r->id, occ) : NULL;
		char *text = NULL;
		size_t len = 0;
		int k = path ? store_read(x->c->st, path, DIGEST_READ_MAX, &text, &len) : -ENOENT;
		if (k >= 0)
			md = text;
		else if (k == -ENOENT)
			md = xasprintf("**%s** (`%s`) has no digest yet: one comes when the round "
			               "closes.", core_round_title(f.r), ref);
		else {
			log_warning_errno(k, "%s: cannot read %s: %m", f.ms->camp->id, path);
			md = xasprintf("The digest of **%s** (`%s`) cannot be read just now. Please try "
			               "again later.", core_round_title(f.r), ref);
		}
	}
	say(x, f.ms, f.r->id, md);
}

void core_receive_command(core *c, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	cmd_ctx x = {.c = c, .m = m, .done = done, .ud = ud,
	             .prefix = m->command && *m->command ? m->command : "coco"};
	chat_command cmd = {0};
	_cleanup_free_ char *error = NULL;
	int k = chat_command_parse(m->text, x.prefix, &cmd, &error);
	if (k >= 0 && cmd.kind == CHAT_HELP) {
		/* Anyone may ask how it works: nothing in it is anyone's. */
		_cleanup_free_ char *help = chat_command_help(x.prefix);
		find_memberships(&x);
		say(&x, x.n_ms && m->sender_verified ? &x.ms[0] : NULL, "none", help);
		free(x.ms);
		return;
	}
	if (!m->sender_verified) {
		core_reject(c, m, NULL, NULL, "a chat command from a sender the channel did not "
		            "verify", done, ud);
		chat_command_done(&cmd);
		return;
	}
	find_memberships(&x);
	if (x.n_ms == 0) {
		core_reply_stranger(c, m);
		core_reject(c, m, NULL, NULL, "unknown sender: a chat command from an address no "
		            "member has", done, ud);
		chat_command_done(&cmd);
		return;
	}
	if (k < 0) {
		log_info("chat command from %s not understood", x.ms[0].mb->id);
		say(&x, &x.ms[0], "none", error ? error : "coco did not understand that.");
		free(x.ms);
		return;
	}
	/* No member: an answer may be to an anonymous round (architecture.md). */
	log_debug("chat command %s", chat_command_to_string(cmd.kind));
	switch (cmd.kind) {
	case CHAT_ROUNDS:
		cmd_rounds(&x);
		break;
	case CHAT_ANSWER:
	case CHAT_IDEA:
	case CHAT_VOTE:
		cmd_record(&x, &cmd);
		break;
	case CHAT_STATUS:
		cmd_status(&x, &cmd);
		break;
	case CHAT_DIGEST:
		cmd_digest(&x, &cmd);
		break;
	default:
		say(&x, &x.ms[0], "none", "coco did not understand that.");
		break;
	}
	chat_command_done(&cmd);
	free(x.ms);
}
