/* channel: the one interface between the core and every channel (email through a maildir or
 * SMTP/IMAP, Slack, Matrix, and the tests' fake chat). A channel knows its protocol and
 * nothing of rounds; the core knows rounds and nothing of protocols, and never a channel's
 * name: it branches on the capability flags below and on the kind of member address a
 * channel reaches.
 *
 * Inbound, a channel turns what arrives into an inbound_msg and hands it to the host's
 * receive(); the core answers exactly once with an inbound_result: done (durable, drop your
 * copy), retry later (keep it), or rejected with a reason (kept by the core in the store's
 * rejected/ area; drop your copy). Outbound, the spool hands the channel one typed
 * channel_msg (channel-msg.h) at a time; the channel reports sent (with its remote id, which
 * the core records in the conversation index so a threaded reply finds its round), retry
 * or failed.
 *
 * Each channel exports one `const channel_ops`; connectors/channels.c lists them (adding a
 * channel is a folder and one line there). Every call happens on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "channel-msg.h"
#include "config.h"
#include "http.h"

/* What a channel can do. The core branches on these, never on names. */
enum {
	CHANNEL_DM = 1u << 0,         /* reaches one member privately (a mail, a direct message) */
	CHANNEL_ROOM = 1u << 1,       /* posts to a shared room (channel_msg.room) */
	CHANNEL_THREADS = 1u << 2,    /* threads a message under the one it answers */
	CHANNEL_BUTTONS = 1u << 3,    /* renders channel_msg.prompt as buttons */
	CHANNEL_POLLS = 1u << 4,      /* renders a vote as a native poll */
	CHANNEL_SYNC_REPLY = 1u << 5, /* answers the sender within the same exchange: the core
	                               * hands the confirmation back in inbound_result.reply and
	                               * queues no message for it */
};

/* ---- inbound ---- */

typedef enum inbound_status {
	INBOUND_DONE,     /* recorded (or a duplicate, or nothing to record): drop your copy */
	INBOUND_RETRY,    /* not recorded for now (disk full, …): keep it, offer it again later */
	INBOUND_REJECTED, /* can never be recorded; the core kept it with the reason in the
	                   * store (rejected/messages.jsonl): drop your copy */
} inbound_status;

typedef struct inbound_result {
	inbound_status status;
	int error;          /* INBOUND_RETRY: the -errno behind it */
	const char *reason; /* INBOUND_REJECTED: why, for the log */
	/* With CHANNEL_SYNC_REPLY: what to tell the sender now (Markdown), or NULL. */
	const char *reply;
} inbound_result;

typedef void (*inbound_done_fn)(const inbound_result *res, void *userdata);

/* A structured answer: a button pressed, a poll answered. question: a question's number
 * ("1"), "idea" or "vote"; value as a member would write it ("4", "b", "3"). */
typedef struct inbound_item {
	const char *question;
	const char *value;
} inbound_item;

/* A delivery failure report (a bounce) about a message coco sent. Strings as in inbound_msg. */
typedef struct inbound_bounce {
	const char *address;    /* the recipient whose delivery failed */
	const char *status;     /* RFC 3463 code ("5.1.1"), or NULL */
	const char *diagnostic; /* the refusing server's words, or NULL */
} inbound_bounce;

/* What arrived. Strings belong to the channel and stay valid until done is called. */
typedef struct inbound_msg {
	/* Idempotency key, any bytes (a Message-ID, a Slack trigger id, a Matrix event id):
	 * the core hashes it, so the same message is recorded once whatever it holds. */
	const char *key;
	const char *channel; /* the channel's name, recorded as "via" */
	/* Who: the sender's address of the channel's kind (an email address, lower-case; a
	 * Slack user id; a Matrix id), which the core resolves to a member. */
	const char *from;
	/* The conversation reference the core issued with the message this answers, found by
	 * the channel (in a reply address, a button's value), or NULL. */
	const char *conversation;
	/* The channel's id of the message this answers (a thread root, an event replied to):
	 * looked up in the conversation index when there is no conversation. May be NULL. */
	const char *thread;
	/* This message's own id on the channel, so that what the core says back can be
	 * threaded under it (channel_msg.in_reply_to). May be NULL. */
	const char *remote_id;
	const char *subject; /* may be NULL */
	const char *text;    /* the member's own words: quotes and signatures already trimmed */
	const inbound_item *items; /* structured answers, read after text */
	size_t n_items;
	bool automatic; /* auto-reply, bounce, list traffic: never answered */
	/* The channel vouches for `from` (a chat platform's signed user id, or mail whose
	 * sender the receiving server authenticated). Without it a reference is needed. */
	bool sender_verified;
	/* What the channel cut off `text` (quoted mail, attribution lines, signature), or NULL.
	 * Kept beside the answer, capped, for an admin to see what was cut; never for an
	 * anonymous round (a quote or a signature names its writer). */
	const char *trimmed;
	/* Non-NULL: this message is a bounce, not an answer (it is automatic too). The core
	 * believes it only when `conversation`, or `thread` through the conversation index,
	 * leads to a message coco sent to a member who has bounce->address; it then records
	 * the address as failing (bounces.jsonl, `cococtl status`). Anyone can send a bounce:
	 * the reference is the proof. */
	const inbound_bounce *bounce;
	/* The sender's domain is the site's own (mail: [Mail] From='s): such a sender that is
	 * no member gets no reply, so that two robots of one site never talk to each other. */
	bool from_own_domain;
	/* Non-NULL: not an answer but a request to stop: the token the core issued
	 * (channel_msg.unsubscribe), followed back by the member (a one-click POST, a mail to
	 * the unsubscribe address). The token alone is the proof. The core answers DONE once it
	 * durably recorded that the member's address on this channel gets no more prompts,
	 * reminders or digests of that campaign; REJECTED (and keeps nothing) for a token it
	 * never issued; RETRY when it cannot record it now. */
	const char *unsubscribe;
	/* Non-NULL: a chat command (a Slack slash command, a Matrix "!coco …"), with `text`
	 * what followed the command word. The core parses and carries it out (the one grammar
	 * of engine/chat-command.h: help, rounds, answer, idea, vote, status, digest); this is
	 * how the channel writes its command ("/coco"), for the replies to show. A command
	 * needs `sender_verified`. */
	const char *command;
	/* A sender that is no member must get no automatic reply from this message (mail:
	 * [Mail] ReplyToStrangers= says no, or AuthServId= is set and the site's server did not
	 * vouch for the From domain: a forged From would make coco mail a victim). */
	bool no_stranger_reply;
} inbound_msg;

/* ---- outbound ---- */

typedef enum send_status {
	SEND_OK,    /* delivered: marked sent, never again */
	SEND_RETRY, /* temporary failure: retried later with backoff */
	SEND_FAIL,  /* final failure: recorded, not retried */
} send_status;

/* remote_id: the channel's id of what it posted (Slack ts, Matrix event id, Message-ID),
 * or NULL. Copied before the call returns. */
typedef void (*send_done_fn)(send_status status, const char *error, const char *remote_id,
                             void *userdata);

/* ---- the host: what cocod gives a channel ---- */

typedef struct channel channel;
typedef struct channel_host channel_host;
typedef struct curlloop curlloop;

struct channel_host {
	sd_event *loop;
	/* The running configuration. The host updates it on a reload before calling
	 * reconfigure(); read it at use, do not keep pointers into it across calls. */
	const coco_config *cfg;
	const char *name;      /* the channel's name in Connectors= */
	const char *state_dir; /* the state directory (a channel's own files: STATE/NAME/) */
	curlloop *curl;        /* libcurl multi on the loop (curlloop.h), shared */
	/* Hands an inbound message to the core. done runs exactly once, maybe before this
	 * returns. */
	void (*receive)(const channel_host *h, const inbound_msg *m, inbound_done_fn done,
	                void *userdata);
	/* Small durable values in the channel's own namespace of the store (an IMAP
	 * UIDVALIDITY and UID, a Matrix `since`). get: 0 and *ret (malloc'd), or -ENOENT.
	 * set: durable when it returns. key: letters, digits, '-', '_', '.'. */
	int (*cursor_get)(const channel_host *h, const char *key, char **ret);
	int (*cursor_set)(const channel_host *h, const char *key, const char *value);
	/* A route on the HTTP ingress (http.h), kept across reloads and ingress restarts;
	 * the ingress starts when a channel has routes. -EEXIST for the same route twice. */
	int (*route_add)(const channel_host *h, const char *method, const char *path,
	                 http_handler_fn fn, void *userdata, unsigned flags);
	void *userdata; /* the host's own */
};

/* One key of a channel's config section; config.h stores the values, checked by kind. */
typedef struct channel_ops {
	const char *name; /* in Connectors= */
	unsigned caps;    /* CHANNEL_* */
	/* The member address this channel reaches: "email" (Email=), "slack" (Slack=) or
	 * "matrix" (Matrix=); see config_member_address(). */
	const char *address;
	/* Its section of coco.conf ([Mail], [Slack], …) and keys; NULL if none. Sections may
	 * be shared by channels (the maildir and SMTP transports of email both read [Mail]). */
	const config_section_def *const *sections;
	/* Keys it adds to a campaign's [Campaign] (config_channel_def.campaign_keys), or NULL. */
	const config_section_def *campaign_keys;
	/* Optional (config_channel_def.check): a value its key's kind allows but the channel
	 * could not start with, as a phrase; NULL if fine. */
	const char *(*config_check)(const char *section, const char *key, const char *value);
	/* Optional, with CHANNEL_ROOM: the campaign's room on this channel (a Slack channel id,
	 * a Matrix room), from the campaign's own key or the channel's default, or NULL for
	 * none. The core posts the campaign's round prompts (with buttons) and digests there,
	 * besides the members' own messages. Reads only cfg: no instance needed. */
	const char *(*room)(const coco_config *cfg, const coco_campaign *camp);
	/* Optional, for a chat channel whose members answer by chat command (inbound_msg.command):
	 * how a member writes it ("/coco"), from the channel's config (no instance needed), or
	 * NULL. The core then renders the round messages this channel carries with how to
	 * answer there (template data chat_command, chat_answer, …) instead of a mail's "reply
	 * with" lines: a chat channel reads no plain replies. */
	const char *(*command)(const coco_config *cfg);

	int (*start)(const channel_host *h, channel **ret);
	/* Optional. The configuration changed (h->cfg is the new one): take it in place,
	 * keeping connections and in-flight sends (their done still counts: each message is
	 * sent once), or return -EOPNOTSUPP (or no reconfigure at all) to be restarted. A
	 * restart stops this instance and starts a new one; the spool lets go of the sends in
	 * flight first (their outcome is ignored) and hands those messages to the new
	 * instance, so one the old instance had already delivered is delivered twice: across
	 * a restart delivery is at-least-once (tests/test_channels.c shows both). */
	int (*reconfigure)(channel *ch);
	/* Sends one message; done may run before send() returns. */
	int (*send)(channel *ch, const channel_msg *m, send_done_fn done, void *userdata);
	/* Optional, both or neither: the spool brackets each run of sends (one spool_run())
	 * with them. Between the two, send() may stage a message and hold its done back;
	 * send_end() makes everything staged durable at once (the maildir outbox: one sync for
	 * the batch instead of two a message) and calls every held done before it returns. A
	 * channel that stages must name what it writes after channel_msg.id, so that a batch
	 * sent again after a crash replaces its own copies instead of doubling them. */
	void (*send_begin)(channel *ch);
	void (*send_end)(channel *ch);
	/* Optional: look for new inbound input now (tests, `cococtl poll`); how many found. */
	int (*poll)(channel *ch);
	/* Stops and frees the instance. A send still in flight must get its done before (or
	 * from) stop, with any status: the spool let go of it and ignores the outcome, but the
	 * call is what frees its side of the send. */
	channel *(*stop)(channel *ch);
	/* Optional (NULL: the channel keeps no copies). `cococtl forget`: removes every copy
	 * it keeps of what was sent to or came from one of `addresses` (compared
	 * case-insensitively), and of what it sent to others whose text holds one of
	 * `phrases`. NULL-terminated lists; *ret_erased counts what was removed. */
	int (*forget)(channel *ch, const char *const *addresses, const char *const *phrases,
	              size_t *ret_erased);
	/* Optional: the copies `forget` cannot reach (they are on a server coco only reads or
	 * posts to), in words for the admin who has to erase them by hand; NULL if none. */
	const char *kept_elsewhere;
} channel_ops;
