/* core-private: what the parts of the core (core.c: schedule and transitions,
 * core-outbound.c: messages to members,
 * core-inbound.c: answers coming in, core-control.c: admin commands, core-forget.c:
 * the forget command) share. Not an
 * interface for anything outside the core. */
#pragma once

#include "core.h"
#include "secret.h"
#include "strmap.h"

typedef enum round_state {
	RS_SCHEDULED,
	RS_OPEN,
	RS_CLOSED,
	RS_DIGESTED,
	RS_DONE, /* no occurrence left */
	_RS_MAX,
} round_state;

extern const char *const round_state_names[_RS_MAX];
/* The state in words an admin reads in a message ("closed, its digest sent"); the names
 * above are for state.json and the JSON of the control socket. */
const char *round_state_words(round_state s);

typedef struct round_rt {
	char *id;
	round_state state;
	char *occurrence; /* current occurrence id; NULL when done */
	int64_t open_at, close_at; /* INT64_MAX both: a round without Open=, opened by hand */
	int64_t sched_open; /* when the occurrence was scheduled to open (open_at, unless it was
	                     * opened early by hand): the next occurrence comes after this */
	char *prev_occurrence;   /* the last digested occurrence, for the trend */
	char *ballot_occurrence; /* vote rounds: which occurrence of Source= is on the ballot */
	cJSON *reminded;         /* {"member": reminders sent in this occurrence} */
	cJSON *reminded_at;      /* {"member": when the last of them was queued} */
	cJSON *uninvited;        /* {"member": true}: the invitation reached no channel */
	strmap *answered;        /* who answered the occurrence (a set), NULL = not loaded */
	strmap *complete;        /* of those, who answered every required question, likewise */
	int64_t comments_seen;   /* lines of comments.jsonl looked through for this round's
	                          * comments: those about it are shown in its next digest */
	/* The round's template data that only the configuration makes, built on first use
	 * (core-outbound.c); freed with the round_rt, which a reload replaces. */
	struct round_data_cache *data_cache;
} round_rt;

typedef struct campaign_rt {
	char *id;
	round_rt *rounds;
	size_t n_rounds;
	int64_t digest_next; /* next periodic digest, INT64_MAX if none */
	int64_t last_digest; /* when the last digest was compiled */
	int64_t comments_seen; /* lines of comments.jsonl whose comments on no round (or on a
	                        * round with no digest to come) were shown in a digest */
	cJSON *closed;       /* [{"r":round,"o":occurrence}] closed since the last periodic digest */
	bool unsaved;        /* state.json could not be written: retried at retry_at */
	int64_t retry_at;    /* when to retry a failed save or digest (0: nothing to retry) */
	bool in_periodic;    /* periodic_digest() is compiling: sections without their end */
	bool for_room;       /* compiling the copy for the campaign's room (digest_input.room) */
} campaign_rt;

/* The reply-tag index (core-tags.c), built from a config and the key; its entries point
 * into that config by position, so it is rebuilt with every new config. */
typedef struct core_tags core_tags;
typedef struct core_tag {
	const coco_campaign *camp;
	const coco_member *member; /* NULL: a room tag (the round's, in a campaign's room) */
	const coco_round *round; /* NULL: the campaign's digest */
	bool digest;             /* a reply to a digest (of `round`, or the campaign's) */
} core_tag;
core_tags *core_tags_build(const coco_config *cfg, const secret *key);
/* The room tag of round r: what a message posted to the campaign's room carries. */
void core_room_tag(const secret *key, const coco_campaign *camp, const coco_round *r,
                   char tag[SECRET_TAG_LEN + 1]);
core_tags *core_tags_free(core_tags *t);
/* tag: SECRET_TAG_LEN lower-case characters. An unsubscribe token is no reply's tag. */
bool core_tags_find(const core_tags *t, const coco_config *cfg, const char *tag, core_tag *ret);
/* The unsubscribe token's campaign and member (round NULL); false for anything else. */
bool core_tags_find_unsub(const core_tags *t, const coco_config *cfg, const char *token,
                          core_tag *ret);
/* What the unsubscribe token signs beside campaign and member: ':' is in no round id, so
 * no round's tag can be it. */
#define CORE_UNSUB_WHAT "unsubscribe:"

struct core {
	const coco_config *cfg;
	store *st;
	spool *sp;
	secret key;
	char **tdirs;
	struct template_cache *tcache; /* the templates of tdirs, read at most once a second */
	campaign_rt *camps;
	size_t n_camps;
	core_tags *tags; /* reply tag → campaign, member, round (core-tags.c) */
	core_forget_fn forget_hook; /* the daemon's channels, for `forget` */
	void *forget_userdata;
	const channel_ops **channels; /* the running ones, in Connectors= order */
	size_t n_channels;
	strmap *conversations; /* "channel remote-id" → its conversation (core.c) */
	/* core_commit(): inbound messages whose confirmation waits for the spool's batch to be
	 * durable before they are answered done (core-inbound.c). */
	struct deferred_done *deferred;
	size_t n_deferred, cap_deferred;
	/* Replies to strangers this hour (core-stranger.c): a global cap, in memory. */
	int64_t stranger_hour;
	unsigned stranger_replies;
	/* Unsubscribed addresses (core-unsub.c): "campaign member address" → the record;
	 * NULL until first needed, then loaded from unsubscribed.jsonl. */
	cJSON *muted;
};

/* The reply tag's entry ({"c","r","m"}) an inbound message leads to: its conversation
 * reference, or its thread through the conversation index; NULL if none (core-inbound.c). */
bool core_find_tag(core *c, const inbound_msg *m, core_tag *ret);
/* The store key of an inbound message's record: a keyed hash of the channel's key. */
char *core_record_key(core *c, const inbound_msg *m, bool anonymous);
/* A bounce (inbound_msg.bounce): recorded in bounces.jsonl when it answers a message coco
 * sent to a member with that address, else ignored; done is called once (core-bounce.c). */
void core_receive_bounce(core *c, const inbound_msg *m, inbound_done_fn done, void *ud);
/* A message from no member: the polite reply, if the rules allow one (core-stranger.c):
 * one a day per address, STRANGER_PER_HOUR in all. */
enum { STRANGER_PER_HOUR = 20 };
void core_reply_stranger(core *c, const inbound_msg *m);

/* core-unsub: an unsubscribe request (inbound_msg.unsubscribe): recorded in
 * unsubscribed.jsonl when the token is one the core issued; done is called once. */
void core_receive_unsubscribe(core *c, const inbound_msg *m, inbound_done_fn done, void *ud);
/* The member unsubscribed from the campaign's messages at this address. */
bool core_muted(core *c, const coco_campaign *camp, const coco_member *m, const char *address);
/* The token for channel_msg.unsubscribe. */
void core_unsub_token(core *c, const coco_campaign *camp, const coco_member *m,
                      char ret[SECRET_TAG_LEN + 1]);
/* `cococtl resubscribe MEMBER CAMPAIGN`. */
int core_resubscribe(core *c, const cJSON *req, cJSON **ret_reply, char **ret_error);

/* The conversation a channel's message (by its remote id) belongs to, or NULL. */
const char *core_conversation_lookup(core *c, const char *channel, const char *remote_id);
/* The occurrence of the round that message was about, or NULL (not about one, or recorded
 * before the index kept occurrences). */
const char *core_conversation_occurrence(core *c, const char *channel, const char *remote_id);
/* Whether that message was private (a confirmation of an anonymous answer): 1 yes, 0 no,
 * -ENOENT for a message the index does not know. */
int core_conversation_private(core *c, const char *channel, const char *remote_id);


typedef struct outbound {
	const coco_campaign *camp;
	const coco_member *to;
	const char *kind;       /* prompt, reminder, confirmation, reply, digest */
	const char *round;      /* round id, or "digest" */
	const char *tag_round;  /* what the reply tag names, if not `round` ("digest:ROUND") */
	const char *occurrence; /* may be NULL */
	const char *id;         /* spool id: what makes a replayed transition queue nothing new */
	const char *subject;
	const char *markdown;
	const char *html;       /* the HTML part, or NULL for markdown through cmark */
	const char *in_reply_to;
	const cJSON *prompt;    /* the prompt as data (channel_msg.prompt), or NULL */
	bool private_msg; /* about an anonymous answer: the spool keeps no content once sent */
	/* The channel the member's message came by (a confirmation, a reply to it), or NULL:
	 * it carries the answer back when it can reach the member (CHANNEL_DM and an address
	 * of its kind), else the member's first channel. */
	const char *via;
} outbound;

round_rt *rt_find(campaign_rt *ct, const char *round);
campaign_rt *ct_find(core *c, const char *id);
bool round_has_member(const coco_round *r, const coco_member *m);
/* The pseudonyms of the members a closed occurrence asked, as written at its close, or NULL
 * (open, or closed before they were written; a
 * repeating round's last occurrence while the next is scheduled counts as closed): core_was_asked() says whether m is one
 * (always true with NULL). Free with strv_free() (core.c). */
char **core_closed_audience(core *c, const coco_campaign *camp, const round_rt *rt);
bool core_was_asked(core *c, const coco_campaign *camp, char **audience,
                    const coco_member *m);
/* Takes a member's pseudonym out of an occurrence's audience file (forget): 1 when it was
 * there, 0 when not (or no such file), -errno. */
int core_audience_drop(core *c, const coco_campaign *camp, const char *round, const char *occ,
                       const char *pseudo);
const char *member_tz(const coco_campaign *camp, const coco_member *m);
char *core_answers_path(const char *camp, const char *round, const char *occ);
/* Who answered: member ids, or pseudonyms in anonymous rounds. */
const char *answer_identity(core *c, const coco_campaign *camp, const coco_round *r,
                            const coco_member *m, char pseudo[SECRET_PSEUDO_LEN + 1]);
strmap *rt_answered(core *c, const coco_campaign *camp, round_rt *rt);
strmap *rt_complete(core *c, const coco_campaign *camp, round_rt *rt);
/* A member who sent anything recorded in the occurrence has answered: the one definition of
 * `cococtl rounds`, the digests ("Who answered", "Not heard from yet"), the web view and the
 * chat status. */
bool has_answered(core *c, const coco_campaign *camp, const coco_round *r, round_rt *rt,
                  const coco_member *m);
/* Answered, but a Required= question of the survey is still without an answer: a partial
 * answer. Such a member is still reminded, told what is missing. */
bool has_answered_partly(core *c, const coco_campaign *camp, const coco_round *r, round_rt *rt,
                         const coco_member *m);
cJSON *core_round_data(core *c, const coco_campaign *camp, const coco_round *r, round_rt *rt,
                  const coco_member *m);
/* Frees round_rt.data_cache (NULL is fine). */
void core_round_data_cache_free(struct round_data_cache *dc);
const char *core_round_title(const coco_round *r);
/* The channel that would carry a message of `kind` to member m, or NULL (core-outbound.c). */
const channel_ops *core_member_channel(core *c, const coco_campaign *camp,
                                       const coco_member *m, const char *kind);
/* Why no message of the campaign reaches member m (unsubscribed, no address on a running
 * channel), or NULL when one does. */
const char *core_unreachable_why(core *c, const coco_campaign *camp, const coco_member *m);
/* The running channel of that name (a message's inbound_msg.channel), or NULL. */
const channel_ops *core_running_channel(core *c, const char *name);
/* [Web] BaseUrl= when the web view runs (`web` in Connectors=), else NULL: links to the
 * web view go into messages only when something answers them. */
const char *core_web_base(core *c);
/* For a message of round r that channel ch carries: when ch declares a chat command
 * (channel_ops.command), adds `chat` (true: no mail-only text, docs/templates.md) and, but
 * for an announcement, how to answer there: chat_command ("/coco"), chat_answer (the whole
 * command line), chat_skip (with an optional question), chat_buttons (the message shows
 * buttons), and how_to_answer in the chat's form. Nothing for other channels. */
/* Whether ch is a chat channel (it declares a chat command): its messages carry no mail-only
 * text. */
bool core_channel_is_chat(core *c, const channel_ops *ch);
void core_chat_data(core *c, const channel_ops *ch, const coco_campaign *camp,
                    const coco_round *r, round_rt *rt, cJSON *data);
int core_send_round_message(core *c, const coco_campaign *camp, const coco_round *r,
                            round_rt *rt, const coco_member *m, const char *kind, unsigned n);
/* The ideas on a vote round's ballot, numbered from 1 (NULL for other rounds or no ballot). */
char **core_ballot(core *c, const coco_campaign *camp, const coco_round *r, const round_rt *rt);
int core_render(core *c, const char *name, const cJSON *data, char **ret);
/* SPOOL_QUEUED, SPOOL_DUPLICATE, CORE_UNREACHED (no running channel has the member, or they
 * unsubscribed from the campaign: nothing queued, logged), or -errno. */
enum { CORE_UNREACHED = 2 };
int core_send_member(core *c, const outbound *o);
char *core_message_id(core *c, const char *kind, const char *camp, const char *what,
                 const char *member);
void core_audit(core *c, const char *action, const char *camp, const char *round,
           const char *detail);
/* The round has no Open=: it waits for `cococtl open`. */
bool round_is_manual(const coco_round *r);
/* Opens a scheduled round now, by hand (cococtl open): see core.c. Returns 0, or -ESTALE
 * with *ret_error set when the round's Close= has already passed. */
int round_open_by_hand(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                       char **ret_error);
/* Transitions. They return < 0 when something they had to write could not be (the state
 * in memory has moved on; cocod retries the writes by itself): admin commands report it. */
int round_open(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
               const char *why);
int round_close(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                const char *why);
/* Reminders due (by_hand false: the schedule's), or one to each member who has not answered
 * (by_hand: `cococtl remind`), except those invited or reminded less than
 * REMIND_GUARD_HOURS ago unless force; ret_skipped (may be NULL) gets
 * [{"member","why"}] of those. */
enum { REMIND_GUARD_HOURS = 12 };
void round_remind(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                  bool by_hand, bool force, unsigned *ret_sent, cJSON *ret_skipped);
/* A digest's links to the web view (Markdown, or html) made member m's own, valid for
 * CORE_DIGEST_LINK_DAYS; NULL without [Web] BaseUrl= (send the text as it is). */
#define CORE_DIGEST_LINK_DAYS 30
char *core_digest_personal(core *c, const coco_campaign *camp, const coco_member *m,
                           const char *text, bool html);
/* ret_html (may be NULL): the HTML part's fragment, from digest.html; ret_chat_md (may be
 * NULL): the Markdown for chat channels (digest_render_chat()). */
int compile_round_digest(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                         char **const comments, char **ret_md, char **ret_html,
                         char **ret_chat_md);
/* The room copy of an occurrence's digest (compile_round_digest() with ct->for_room: no
 * member's link, for chat), or NULL when the campaign has no room or it cannot be compiled. */
char *core_room_digest(core *c, const coco_campaign *camp, campaign_rt *ct, round_rt *rt,
                       char **const comments);
/* html: the HTML fragment(s) to send beside md, or NULL for md through cmark; chat_md (or
 * NULL: md): the text for members reached on a chat channel; room_md: the copy for the
 * campaign's rooms (core_room_digest()), or NULL: none posted. progress: the round is still
 * open and this is its progress, not its results (the subject says so). */
int publish_digest(core *c, const coco_campaign *camp, const coco_round *r, const char *name,
                   const char *md, const char *html, const char *chat_md, const char *room_md,
                   bool progress);
/* Compiles and sends the digest of the campaign's open rounds; returns how many rounds it
 * covered (0: none open, nothing sent). */
int periodic_digest(core *c, const coco_campaign *camp, campaign_rt *ct);
int core_ct_save(core *c, campaign_rt *ct);
const char *core_json_str(const cJSON *o, const char *k);

/* Template data built for each message (a confirmation for every answer), without copying
 * its keys: `key` must be a string constant (a literal), which cJSON keeps as it is
 * (cJSON_AddItemToObjectCS): one malloc and one free fewer per key. The item is returned;
 * a NULL item or value adds nothing and gives NULL, as cJSON_AddStringToObject() does.
 * core_put_ref() keeps the value by reference, not copied: only for a value that outlives
 * the data (the configuration's, a constant; the data is freed before the message's
 * caller returns). */
static inline cJSON *core_put(cJSON *o, const char *key, cJSON *item)
{
	if (!cJSON_AddItemToObjectCS(o, key, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}
static inline cJSON *core_put_str(cJSON *o, const char *key, const char *v)
{
	return core_put(o, key, cJSON_CreateString(v));
}
static inline cJSON *core_put_ref(cJSON *o, const char *key, const char *v)
{
	return v ? core_put(o, key, cJSON_CreateStringReference(v)) : NULL;
}
static inline cJSON *core_put_bool(cJSON *o, const char *key, bool v)
{
	return core_put(o, key, cJSON_CreateBool(v));
}
static inline cJSON *core_put_num(cJSON *o, const char *key, double v)
{
	return core_put(o, key, cJSON_CreateNumber(v));
}
static inline cJSON *core_put_array(cJSON *o, const char *key)
{
	return core_put(o, key, cJSON_CreateArray());
}
int64_t core_json_i64(const cJSON *o, const char *k, int64_t def);
/* Comments (replies to digests) not shown yet, for the digest of round rt (NULL: the periodic
 * digest), as Markdown-safe one-liners, each saying what it is about ("Ann, about “Ideas”:
 * …"). A comment on a round's digest waits for the next digest of that round (or a periodic
 * one); a comment on a periodic digest, or about a round with no digest to come, goes in the
 * next digest of any kind. *ret_lines gets the lines read in all: comments_shown() with it
 * once the digest is out. */
char **comments_since(core *c, const coco_campaign *camp, campaign_rt *ct, const round_rt *rt,
                      int64_t *ret_lines);
void comments_shown(campaign_rt *ct, round_rt *rt, int64_t lines);
/* Calls fn for every answers.jsonl of the campaign (core-control.c). */
int core_for_each_answers_file(core *c, const coco_campaign *camp,
                               int (*fn)(core *c, const char *round, const char *occ,
                                         void *userdata),
                               void *userdata);
/* The forget command (core-forget.c). */
int core_forget(core *c, const char *member, cJSON **ret_reply, char **ret_error);

/* Chat commands (core-commands.c): inbound_msg.command set. done is called once. */
void core_receive_command(core *c, const inbound_msg *m, inbound_done_fn done, void *ud);
/* The answer path of core_receive() for a member and round already found: checks that the
 * round is open, parses m->text with the answer grammar, records and confirms it. */
void core_receive_answer(core *c, const inbound_msg *m, const coco_campaign *camp,
                         const coco_member *mb, const coco_round *r, inbound_done_fn done,
                         void *ud);
/* Says md back to the member (in the exchange on a CHANNEL_SYNC_REPLY channel, else as a
 * queued reply) and finishes m as done. */
void core_reply(core *c, const coco_campaign *camp, const coco_member *mb, const char *round,
                const inbound_msg *m, const char *md, inbound_done_fn done, void *ud);
/* Rejects m: kept with the reason in rejected/messages.jsonl. */
void core_reject(core *c, const inbound_msg *m, const coco_campaign *camp,
                 const coco_member *claimed, const char *reason, inbound_done_fn done, void *ud);
/* Does member m get the digests of round r (NULL: the campaign's periodic digest)? */
bool core_digest_recipient(const coco_campaign *camp, const coco_round *r, const coco_member *m);
/* The campaign's rooms (core-rooms.c): to every running channel with CHANNEL_ROOM that has
 * a room for the campaign (channel_ops.room), the round's prompt with its buttons, and the
 * digests. Through the spool, under ids fixed by what they are: a replay queues nothing
 * new. Failures are logged; members' own messages do not depend on them. */
void core_post_room_prompt(core *c, const coco_campaign *camp, const coco_round *r,
                           round_rt *rt);
void core_post_room_digest(core *c, const coco_campaign *camp, const coco_round *r,
                           const char *name, const char *subject, const char *md);
/* Has any running channel a room for this campaign? */
bool core_has_room(core *c, const coco_campaign *camp);
/* The prompt as data (channel_msg.prompt) from a round's template data (core-outbound.c). */
cJSON *core_prompt_data(core *c, const coco_campaign *camp, const coco_round *r,
                        const round_rt *rt, const cJSON *data);
/* The round as a chat command names it: its id, or CAMPAIGN/ROUND when another campaign
 * has a round of that id too (core-outbound.c). */
char *core_chat_round_ref(core *c, const coco_campaign *camp, const coco_round *r);
/* What a member types after a chat channel's command word to answer round r
 * ("answer kickoff 1: 4, 2: b", "vote pick 1 3"), with ref as the round (core-commands.c). */
char *core_answer_command(core *c, const coco_campaign *camp, const coco_round *r,
                          round_rt *rt, const char *ref, bool idea_command);
