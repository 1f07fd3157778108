/* imap: inbound mail from one IMAP folder. Owns one connection to one server, run by a
 * worker thread of its own (libetpan blocks; STYLE.md rule 10), and hands each new message's
 * raw bytes to the sd-event loop through daemon/loopqueue. It never touches the store: the
 * caller keeps the cursor and says, per message, whether it is recorded.
 *
 * What it does, in order, per connection: TCP connect (cancellable), TLS (implicit or
 * STARTTLS) with the peer's chain and host name verified by coco itself with GnuTLS before
 * LOGIN (libetpan 1.9.4 verifies nothing), LOGIN, SELECT the folder, compare UIDVALIDITY with
 * the cursor, then repeatedly: `UID FETCH cursor+1:* (UID FLAGS RFC822.SIZE)`, offer every
 * message above the cursor without \Seen, in UID order (the body with `BODY.PEEK[]`, which
 * sets no flag; a message over max_message_size is offered without its body), mark what the
 * caller acknowledged, and wait: IDLE when the server announces it (re-issued every
 * idle_reissue_sec), otherwise NOOP every poll_interval_sec. Any failure closes the
 * connection and the next one is tried after a backoff (doubling from backoff_min_msec up to
 * backoff_max_msec, back to the minimum once a connection gets to waiting for mail).
 *
 * A message is flagged \Seen (or moved to move_to) only after the caller's ack says DONE or
 * REJECTED, and the cursor (UIDVALIDITY, last UID) moves past a UID only when every message
 * up to it was acknowledged that way, so a restart with the saved cursor offers nothing
 * twice, and a message held back (RETRY) comes back. A UIDVALIDITY that differs from the
 * saved one voids the cursor: it is reset to (new UIDVALIDITY, 0), saved, and reported.
 *
 * Threading: every function here and every hook runs on the loop thread. Hooks never run
 * from inside imap_client_new() but cursor_load, which it calls once before starting. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct imap_client imap_client;
typedef struct imap_ack imap_ack;

typedef enum imap_tls {
	IMAP_TLS_IMPLICIT, /* "imaps": TLS from the first byte (port 993) */
	IMAP_TLS_STARTTLS, /* "starttls": plain connect, STARTTLS before LOGIN (port 143) */
	IMAP_TLS_NONE,     /* "none": plain text; only to 127.0.0.1, ::1 or localhost */
	_IMAP_TLS_MAX,
	_IMAP_TLS_INVALID = -EINVAL,
} imap_tls;

const char *imap_tls_to_string(imap_tls t);
imap_tls imap_tls_from_string(const char *s);

/* Strings are copied by imap_client_new(); the caller may free its own afterwards (and
 * should wipe its copy of the password). Zero means the default. */
typedef struct imap_config {
	const char *host;
	uint16_t port;             /* 0: 993 for IMAP_TLS_IMPLICIT, 143 otherwise */
	imap_tls tls;
	const char *user;
	const char *password;      /* the caller reads it from a file; never logged */
	const char *folder;        /* NULL: INBOX */
	const char *move_to;       /* NULL: mark done mail \Seen; else UID MOVE it there */
	const char *ca_file;       /* PEM bundle to trust; NULL: the system trust store */
	bool no_idle;              /* poll even when the server announces IDLE */
	unsigned poll_interval_sec; /* 0: 60 */
	unsigned idle_reissue_sec;  /* 0: 25 min; at most 29 min (RFC 3501's 30-min logout) */
	unsigned backoff_min_msec;  /* 0: 1 s */
	unsigned backoff_max_msec;  /* 0: 5 min */
	unsigned timeout_sec;       /* a network read or write waiting this long fails; 0: 60 */
	size_t max_message_size;    /* 0: 10 MiB */
} imap_config;

typedef enum imap_state {
	IMAP_STATE_CONNECTED,    /* logged in, folder selected; detail: "host:port folder" */
	IMAP_STATE_IDLE,         /* an IDLE was (re)issued */
	IMAP_STATE_POLLING,      /* waiting poll_interval_sec (no IDLE) */
	IMAP_STATE_DISCONNECTED, /* detail: the reason and when the next attempt is */
	IMAP_STATE_CURSOR_RESET, /* UIDVALIDITY changed; detail says from what to what */
	_IMAP_STATE_MAX,
	_IMAP_STATE_INVALID = -EINVAL,
} imap_state;

const char *imap_state_to_string(imap_state s);

typedef enum imap_result {
	IMAP_DONE,     /* recorded durably: mark it on the server, move the cursor past it */
	IMAP_RETRY,    /* not recorded now: leave it unseen, offer it again after a backoff */
	IMAP_REJECTED, /* kept elsewhere by the caller (bad, too large): like DONE for the mailbox */
	_IMAP_RESULT_MAX,
	_IMAP_RESULT_INVALID = -EINVAL,
} imap_result;

typedef struct imap_message {
	uint32_t uidvalidity;
	uint32_t uid;
	uint64_t size;     /* RFC822.SIZE, as the server says */
	bool too_large;    /* size > max_message_size: raw is NULL and len 0, not fetched */
	const char *raw;   /* the message exactly as the server holds it (CRLF lines) */
	size_t len;
} imap_message;

typedef struct imap_hooks {
	/* Once, from imap_client_new(): the saved cursor, or 0/0 when there is none (then
	 * every unseen message in the folder is offered). Returns >= 0, or < 0 to fail the
	 * creation with that code. */
	int (*cursor_load)(void *userdata, uint32_t *ret_uidvalidity, uint32_t *ret_last_uid);
	/* The cursor moved (or was reset to uid 0): store it durably. Runs from an event, or
	 * from inside imap_ack_done() when that ack moves it. */
	void (*cursor_save)(void *userdata, uint32_t uidvalidity, uint32_t last_uid);
	/* A message. msg and its bytes stay valid until imap_ack_done(ack, …), which the
	 * caller must call exactly once, now or from a later callback. Up to
	 * IMAP_MAX_IN_FLIGHT messages may wait for their ack at a time. */
	void (*on_message)(void *userdata, const imap_message *msg, imap_ack *ack);
	/* For logging. detail may be NULL; it never holds the password. */
	void (*on_state)(void *userdata, imap_state state, const char *detail);
} imap_hooks;

/* The window: at most this many messages, and (but for a single one) about this many bytes
 * of their bodies, wait for their acks at a time. Large, so that a backlog is recorded a few
 * hundred mails per commit. */
#define IMAP_MAX_IN_FLIGHT 1024
#define IMAP_MAX_IN_FLIGHT_BYTES ((size_t)16 << 20)

/* Checks cfg; returns 0, or -EINVAL with *ret_reason (static text) saying what is wrong. */
int imap_config_check(const imap_config *cfg, const char **ret_reason);

/* Checks cfg (-EINVAL), loads the cursor, starts the worker thread. Returns 0 and *ret, or
 * -errno. hooks must outlive the client. */
int imap_client_new(sd_event *loop, const imap_config *cfg, const imap_hooks *hooks,
                    void *userdata, imap_client **ret);

/* Stops the worker promptly, whatever it is doing (IDLE, a fetch, a backoff, a connect):
 * its socket is shut down under it and its wait woken, then it is joined. Messages queued
 * for the loop and not yet handed over are dropped (nothing was marked for them). Acks
 * still outstanding stay valid: imap_ack_done() on them only frees them. Accepts NULL;
 * returns NULL. Not from inside a hook. */
imap_client *imap_client_free(imap_client *c);

/* The caller's verdict on a message (see imap_result); frees ack. */
void imap_ack_done(imap_ack *ack, imap_result result);
