/* Shared by the imap*.c files only: the client's state, and the worker's IMAP steps
 * (imap-session.c) and TLS check (imap-tls.c). */
#pragma once

#include <libetpan/libetpan.h>
#include <pthread.h>

#include "email/imap.h"
#include "loopqueue.h"

struct imap_ack {
	imap_client *client; /* NULL once the client is gone */
	imap_message msg;
	char *raw;
	imap_ack *next; /* in client->inflight */
	bool handed;    /* on_message() has it */
	bool answered;
	imap_result result;
};

typedef struct mark {
	uint32_t uidvalidity, uid;
} mark;

struct imap_client {
	sd_event *loop;
	imap_config cfg; /* strings below are our copies */
	char *host, *user, *password, *folder, *move_to, *ca_file;
	const imap_hooks *hooks;
	void *userdata;
	loopqueue *queue;
	sd_event_source *turn_src; /* once per loop turn: wakes the worker, saves the cursor */
	bool cursor_moved;         /* loop thread only: since the last save */
	int wake_fd;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock; /* guards what follows */
	bool stop;
	int sock_fd;
	uint32_t cur_validity, cur_last;
	imap_ack *inflight, *inflight_tail;
	unsigned n_inflight;
	size_t inflight_bytes; /* their bodies, held until acked */
	bool held;            /* a RETRY since the connection started: the cursor stays below */
	bool retry_requested; /* the worker is to drain and reconnect */
	mark *marks;
	size_t n_marks, cap_marks;
};

/* The worker's side. */
bool imap_stopping(imap_client *c);
/* Waits up to timeout_ms (-1: for ever) for the wake eventfd, or for extra_fd (if >= 0) to
 * be readable. Returns 1 when extra_fd is readable, 0 otherwise (woken, or time is up); the
 * caller looks at the shared state again either way. */
int imap_wait_wake(imap_client *c, int timeout_ms, int extra_fd);
void imap_unregister_socket(imap_client *c);
char *imap_error(mailimap *imap, const char *what, int r);
/* Connect, TLS, verify, LOGIN, CAPABILITY. Returns 0 with the session logged in, or < 0 with
 * *why (malloc'd). The socket stays registered in c->sock_fd until the session is freed. */
int imap_open_session(imap_client *c, mailimap *imap, char **why);
/* Marks on the server what the caller acknowledged: \Seen, or moved to move_to. Returns 0,
 * or < 0 with *why (the marks are kept for the next connection). */
int imap_apply_marks(imap_client *c, mailimap *imap, uint32_t uidvalidity, char **why);

/* `UID SEARCH UID from:to UNSEEN` (to 0: from:*): the unseen UIDs in [from, to], sorted;
 * *ret malloc'd. */
int imap_search_unseen(mailimap *imap, uint32_t from, uint32_t to, uint32_t **ret, size_t *ret_n,
                       char **why);
#define IMAP_GONE UINT64_MAX
/* One `UID FETCH (UID RFC822.SIZE)` of uids (sorted): sizes[i], or IMAP_GONE for a message
 * no longer there. */
int imap_fetch_sizes(mailimap *imap, const uint32_t *uids, size_t n, uint64_t *sizes, char **why);
/* One `UID FETCH (UID BODY.PEEK[])` of uids (sorted): bodies[i] (malloc'd, NUL-terminated)
 * and lens[i], or NULL for a message no longer there. On failure (< 0, *why) none is kept. */
int imap_fetch_bodies(mailimap *imap, const uint32_t *uids, size_t n, char **bodies, size_t *lens,
                      char **why);

/* For mailstream_ssl_open_with_callback_timeout() / mailimap_socket_starttls_with_callback():
 * sets SNI to data (a host name; IP literals get none, as RFC 6066 wants). */
void imap_tls_sni(struct mailstream_ssl_context *ctx, void *data);

/* Verifies the peer chain of a TLS stream against ca_file (PEM; NULL: the system trust
 * store) and host (a DNS name, or an IP literal matched against IP SANs), for a TLS server.
 * Returns 0, or -EPERM with *ret_error (malloc'd) saying why the peer is not trusted, or
 * another -errno with *ret_error. */
int imap_tls_verify(mailstream *s, const char *host, const char *ca_file, char **ret_error);
