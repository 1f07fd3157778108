/* smtp: mail submission over SMTP with libcurl, on the daemon's loop (daemon/curlloop.h).
 * Owns a small pool of easy handles (at most smtp_config.max_connections transfers at once)
 * and a FIFO of messages waiting for one. Connections stay open in curlloop's multi handle
 * between messages, so a batch of 500 messages to one server opens a few connections, not
 * 500. It knows nothing of channels, the spool or the store: it takes message bytes (from
 * mail_build(), mime.h) and an envelope, and says how each submission ended.
 *
 * Threading: the loop's thread only, callbacks included. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "curlloop.h"

typedef enum smtp_status {
	SMTP_OK,    /* 250 after the data: the server took the message */
	SMTP_RETRY, /* temporary: a 4xx, no connection, TLS or authentication trouble */
	SMTP_FAIL,  /* final: the server refused this message (5xx to MAIL, RCPT or DATA) */
	_SMTP_STATUS_MAX,
	_SMTP_STATUS_INVALID = -EINVAL,
} smtp_status;

const char *smtp_status_to_string(smtp_status s);

typedef struct smtp_config {
	/* smtp://host[:port][/ehlo-name] (STARTTLS, port 587 if none) or smtps://host[:port]
	 * (implicit TLS, RFC 8314; port 465 if none). */
	const char *url;
	/* smtp:// only: go on in clear text when the server offers no STARTTLS. Default false:
	 * no STARTTLS, no submission (nor AUTH). For a relay on the same machine, say. */
	bool starttls_optional;
	const char *user;     /* NULL: no AUTH */
	const char *password; /* the secret itself (the caller read it from its file); never
			       * logged, never in an error text */
	/* PEM file of the CA (or the self-signed certificate) to trust; NULL: the system's
	 * store. The server's certificate and name are always verified. */
	const char *ca_file;
	const char *envelope_from; /* MAIL FROM when smtp_send() is given NULL; NULL: <> */
	unsigned max_connections;  /* transfers at once; 0: 4 */
	unsigned timeout_sec;	   /* a whole submission, connection included; 0: 120 */
} smtp_config;

typedef struct smtp_sender smtp_sender;
typedef struct smtp_job smtp_job;

/* How one submission ended. code: the server's last reply code (250, 450, 550, ...), 0 when
 * there was none (no connection, TLS failure). error: NULL for SMTP_OK, else a line for the
 * log (the server's own reply when there was one; never a secret). Both strings live until
 * the callback returns. May free the sender, send more, cancel other jobs. */
typedef void (*smtp_done_fn)(smtp_status status, int code, const char *error, void *userdata);

/* Copies what it needs of cfg. Returns 0, -EINVAL (no url, neither smtp:// nor smtps://, a
 * bad envelope_from), -ENOMEM. */
int smtp_sender_new(sd_event *event, curlloop *loop, const smtp_config *cfg, smtp_sender **ret);

/* Cancels every job, queued or running, without callbacks; running connections are closed.
 * Accepts NULL. May be called from a done callback. Returns NULL. */
smtp_sender *smtp_sender_free(smtp_sender *s);

/* Submits message[0..len) (CRLF line ends, as mail_build() writes) from envelope_from
 * (NULL: the config's) to rcpt, one recipient. The message is copied. cb is called exactly
 * once, from the loop, never before this returns (unless the job is cancelled or the sender
 * freed first). *ret_job (optional) names the job for smtp_cancel() until its callback.
 * Returns 0, or -EINVAL (an address with spaces, <>, CR or LF, or an empty message). */
int smtp_send(smtp_sender *s, const char *envelope_from, const char *rcpt, const char *message,
	      size_t len, smtp_done_fn cb, void *userdata, smtp_job **ret_job);

/* Takes a job back: no callback. A message being sent has its connection closed (the
 * server may or may not have it). Returns 0, or -ENOENT if the job is not known here. */
int smtp_cancel(smtp_sender *s, smtp_job *job);

/* Jobs queued or running. */
unsigned smtp_sender_pending(const smtp_sender *s);
