/* channel-msg: the one outbound message every channel gets, typed, and its durable form in
 * the spool. The core says *what* to tell *whom* — a member or a room, the kind, the round,
 * the words as Markdown, the prompt as data (questions and options, so a chat channel can
 * render buttons or a poll) and an opaque conversation reference that a reply must carry
 * back — and nothing about protocols: no addresses of its own, no Message-ID, no Reply-To.
 * Each channel turns it into its protocol (an RFC 5322 mail with a tagged Reply-To, a Slack
 * Block Kit post, a Matrix event).
 *
 * Spool format (one JSON object per file, documented in docs/store-format.md):
 *   {"v":2,"id":"…","kind":"prompt|reminder|confirmation|reply|digest","campaign":"…",
 *    "round":"…","occurrence":"…","to":{"member":"…","name":"…","address":"…"} or
 *    {"room":"…"} or (kind "reply") {"address":"…"},"subject":"…","markdown":"…","html":"…","conversation":"…",
 *    "in_reply_to":"…","unsubscribe":"…","prompt":{"questions":[…],"ideas":[…],"votes":N}}
 * plus the spool's own bookkeeping ("tries", "next_try", …), which this module ignores.
 * Unknown versions are refused (-EPROTO). */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

#define CHANNEL_MSG_VERSION 2

typedef struct channel_msg {
	char *id;         /* spool id: what makes a replayed transition queue nothing new */
	char *kind;       /* prompt, reminder, confirmation, reply, digest */
	char *campaign;
	char *round;      /* round id, "digest" or "none" */
	char *occurrence; /* may be NULL */
	/* The recipient: a member (with the address this channel reaches them at), or a
	 * room (a Slack channel, a Matrix room) when room is set, or, for kind "reply" only,
	 * an address alone: someone who is no member, answered on the channel their message
	 * came through (core-stranger.c; campaign is then "-"). */
	char *member, *name, *address;
	char *room;
	char *subject;
	char *markdown;
	char *html;         /* may be NULL: the channel renders markdown itself */
	char *conversation; /* opaque reference issued by the core; a reply carries it back */
	char *in_reply_to;  /* the channel's own id of the message this answers; may be NULL */
	/* Opaque token issued by the core with every message to a member (NULL otherwise):
	 * handed back as inbound_msg.unsubscribe, it stops this campaign's messages to the
	 * member's address on that channel (a mail's List-Unsubscribe). */
	char *unsubscribe;
	cJSON *prompt;      /* the prompt as data, or NULL */
	/* About an anonymous answer (its confirmation): a channel's log lines and error texts
	 * name neither the member nor their address, which next to the line saying an
	 * anonymous answer was recorded would say whose it is ("private" in the JSON). */
	bool private_msg;
} channel_msg;

channel_msg *channel_msg_free(channel_msg *m);
void channel_msg_freep(channel_msg **m);
#define _cleanup_channel_msg_ __attribute__((cleanup(channel_msg_freep)))

/* The spool's JSON for m (the caller owns it). -EINVAL if a required field (id, kind,
 * campaign, round, a recipient, subject or markdown) is missing. */
int channel_msg_to_json(const channel_msg *m, cJSON **ret);
/* Reads a spool entry back. -EPROTO for another version, -EINVAL for a malformed entry. */
int channel_msg_from_json(const cJSON *o, channel_msg **ret);
