/* connector: the interface every channel implements (local maildir, email, Slack, Matrix).
 * A connector knows its protocol and nothing of rounds; the core knows rounds and nothing
 * of protocols. Inbound, a connector turns what arrives into an inbound_msg and hands it to
 * the core; outbound, it turns an outbound message from the spool into protocol calls.
 *
 * Each connector exports one `const connector_ops` (see connector_find()). All calls happen
 * on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config.h"

/* What arrived. Strings are owned by the connector and valid until `done` is called. */
typedef struct inbound_msg {
	const char *key;     /* idempotency key: Message-ID, Slack trigger id, Matrix event id */
	const char *via;     /* connector name */
	const char *from;    /* email address (lower-case), Slack user id or Matrix id */
	/* The conversation reference the core issued with the message this answers (for mail:
	 * found in the reply address or the Message-IDs it answers, email/address.h), or NULL.
	 * The core knows who and which round by it; it reads nothing of addresses. */
	const char *conversation;
	const char *const *to; /* addresses it was sent to, NULL-terminated (for the record) */
	const char *message_id;  /* this message's own id, for threading replies; may be NULL */
	const char *in_reply_to; /* id of the message this answers, may be NULL */
	const char *const *references; /* NULL-terminated, may be NULL */
	const char *subject;
	const char *text;    /* the member's own words: quotes and signatures already trimmed */
	bool automatic;      /* auto-reply, bounce, list traffic: never answered */
	/* The channel vouches for `from` (a chat platform's signed user id, or mail whose
	 * sender the receiving server authenticated). Mail without it needs a reply tag. */
	bool sender_verified;
} inbound_msg;

/* The core calls this exactly once per inbound_msg, after the answer is durable (or known
 * to be a duplicate, or rejected): result >= 0 means "safe to drop/flag the source", < 0
 * means "keep it, try again later". */
typedef void (*inbound_done_fn)(int result, void *userdata);
typedef void (*inbound_fn)(void *core, const inbound_msg *m, inbound_done_fn done,
                           void *done_userdata);

/* Outbound, as the spool stores it (one JSON file per message):
 * {"v":1,"id":"…","kind":"prompt|reminder|confirmation|digest|reply","campaign":"…",
 *  "round":"…","occurrence":"…","to":{"member":"…","name":"…","email":"…","slack":"…",
 *  "matrix":"…"},"subject":"…","markdown":"…","html":"…","message_id":"…",
 *  "in_reply_to":"…","reply_to":"…"} — fields a connector does not need it ignores. */
typedef enum send_status {
	SEND_OK,          /* delivered: mark sent, never again */
	SEND_RETRY,       /* temporary failure: retry later with backoff */
	SEND_FAIL,        /* final failure: record it, do not retry */
} send_status;

typedef struct connector connector;

typedef void (*send_done_fn)(send_status status, const char *error, void *userdata);

typedef struct connector_ops {
	const char *name;
	/* Starts the connector on the loop. Inbound messages go to on_inbound(core, …). */
	int (*start)(sd_event *loop, const coco_config *cfg, const char *state_dir,
	             inbound_fn on_inbound, void *core, connector **ret);
	/* Sends one outbound message (a cJSON object, as above). The callback may fire before
	 * send() returns (the local connector is synchronous). */
	int (*send)(connector *c, const void /* cJSON */ *msg, send_done_fn done, void *userdata);
	/* Looks for new inbound input now (tests, `cococtl poll`); 0 if nothing new. */
	int (*poll)(connector *c);
	connector *(*stop)(connector *c);
	/* Optional (NULL: the connector keeps no copies). `cococtl forget`: removes every copy
	 * the connector keeps of what was sent to or came from one of `addresses` (e-mail
	 * addresses, chat ids; compared case-insensitively), and of what it sent to others
	 * whose text holds one of `phrases` (a digest quoting the forgotten member).
	 * NULL-terminated lists; *ret_erased counts what was removed. */
	int (*forget)(connector *c, const char *const *addresses, const char *const *phrases,
	              size_t *ret_erased);
} connector_ops;

extern const connector_ops local_connector;

const connector_ops *connector_find(const char *name);
