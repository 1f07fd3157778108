/* imap: see imap.h. This file: the client's life cycle, the loop side (events, acks, the
 * cursor) and the worker's loop; the IMAP commands are imap-session.c, the TLS check
 * imap-tls.c, the shared state imap-private.h.
 *
 * Two threads. The worker owns the libetpan session and does everything that blocks; the
 * loop thread runs the hooks. They share, under `lock`: the stop flag, the worker's socket
 * (so imap_client_free() can shutdown() it under a blocking read or handshake), the cursor,
 * the list of offered messages in UID order (`inflight`, each an imap_ack), and the UIDs
 * waiting to be marked on the server (`marks`). Worker → loop: events through a loopqueue
 * (a message, a state, a cursor reset). Loop → worker: an eventfd (`wake_fd`) written after
 * an ack or a stop, which the worker polls beside the IMAP socket while it waits.
 *
 * The cursor moves only on the loop thread, in imap_ack_done(): past the acked messages at
 * the head of `inflight`, and not past a RETRY (`held`). A new connection offers nothing
 * until every message of the previous one was answered (the list is empty), so nothing is
 * offered twice; then it starts again from the cursor, which brings back what was held. */
#define _GNU_SOURCE
#include "email/imap.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "email/imap-private.h"
#include "loopqueue.h"
#include "util.h"

#define QUEUE_CAPACITY 64
/* Messages, and body bytes, asked for in one UID FETCH. */
#define IMAP_CHUNK 64
#define IMAP_CHUNK_BYTES (4u << 20)

/* The unseen UIDs the last search found, and how far they were offered. */
typedef struct worklist {
	uint32_t *uids;
	size_t n, pos;
} worklist;

static void worklist_done(worklist *w)
{
	free(w->uids);
}
#define MAX_REISSUE_SEC (29 * 60)

static const char *const tls_names[_IMAP_TLS_MAX] = {
	[IMAP_TLS_IMPLICIT] = "imaps",
	[IMAP_TLS_STARTTLS] = "starttls",
	[IMAP_TLS_NONE] = "none",
};

static const char *const state_names[_IMAP_STATE_MAX] = {
	[IMAP_STATE_CONNECTED] = "connected",
	[IMAP_STATE_IDLE] = "idle",
	[IMAP_STATE_POLLING] = "polling",
	[IMAP_STATE_DISCONNECTED] = "disconnected",
	[IMAP_STATE_CURSOR_RESET] = "cursor-reset",
};

const char *imap_tls_to_string(imap_tls t)
{
	return t >= 0 && t < _IMAP_TLS_MAX ? tls_names[t] : NULL;
}

imap_tls imap_tls_from_string(const char *s)
{
	for (int i = 0; s && i < _IMAP_TLS_MAX; i++)
		if (STREQ(s, tls_names[i]))
			return (imap_tls)i;
	return _IMAP_TLS_INVALID;
}

const char *imap_state_to_string(imap_state s)
{
	return s >= 0 && s < _IMAP_STATE_MAX ? state_names[s] : NULL;
}

typedef enum ev_kind { EV_MESSAGES, EV_STATE, EV_CURSOR } ev_kind;

typedef struct ev {
	ev_kind kind;
	imap_state state;
	char *detail;
	uint32_t uidvalidity, last_uid;
	imap_ack **acks; /* EV_MESSAGES: a fetched chunk, handed over in one loop turn */
	size_t n_acks;
} ev;

/* ---- configuration ---- */

static bool is_loopback_name(const char *h)
{
	return STREQ(h, "127.0.0.1") || STREQ(h, "::1") || STREQ(h, "localhost");
}

int imap_config_check(const imap_config *cfg, const char **ret_reason)
{
	const char *why = NULL;

	if (!cfg->host || !*cfg->host)
		why = "no host";
	else if (cfg->tls < 0 || cfg->tls >= _IMAP_TLS_MAX)
		why = "unknown TLS mode (imaps, starttls or none)";
	else if (cfg->tls == IMAP_TLS_NONE && !is_loopback_name(cfg->host))
		why = "TLS none is allowed only to 127.0.0.1, ::1 or localhost";
	else if (!cfg->user || !*cfg->user || !cfg->password)
		why = "no user or no password";
	else if (cfg->idle_reissue_sec > MAX_REISSUE_SEC)
		why = "IDLE must be re-issued within 29 minutes";
	else if (cfg->backoff_max_msec && cfg->backoff_min_msec > cfg->backoff_max_msec)
		why = "the minimum backoff is above the maximum";
	else if (cfg->folder && (!*cfg->folder || strpbrk(cfg->folder, "\r\n")))
		why = "bad folder name";
	else if (cfg->move_to && (!*cfg->move_to || strpbrk(cfg->move_to, "\r\n")))
		why = "bad move-to folder name";
	if (why) {
		if (ret_reason)
			*ret_reason = why;
		return -EINVAL;
	}
	return 0;
}

/* ---- worker → loop ---- */

static void ack_release(imap_ack *a)
{
	free(a->raw);
	free(a);
}

static void ev_free(void *p)
{
	ev *e = p;

	/* e->acks' acks are not ours: they stay in client->inflight, whose walk in
	 * imap_client_free() releases what was never handed over. */
	if (!e)
		return;
	free(e->acks);
	free(e->detail);
	free(e);
}

/* Hands e to the loop; waits while the queue is full. Returns 0, or -ECANCELED (stopping:
 * e is freed). */
static int post(imap_client *c, ev *e)
{
	while (loopqueue_push(c->queue, e) == -EAGAIN) {
		if (imap_stopping(c)) {
			ev_free(e);
			return -ECANCELED;
		}
		imap_wait_wake(c, 20, -1);
	}
	return 0;
}

static void post_state(imap_client *c, imap_state s, const char *fmt, ...) _printf_(3, 4);
static void post_state(imap_client *c, imap_state s, const char *fmt, ...)
{
	ev *e = xcalloc(1, sizeof(*e));
	va_list ap;

	e->kind = EV_STATE;
	e->state = s;
	if (fmt) {
		va_start(ap, fmt);
		if (vasprintf(&e->detail, fmt, ap) < 0)
			e->detail = NULL;
		va_end(ap);
	}
	(void)post(c, e);
}

/* ---- the loop side ---- */

static void wake_worker(imap_client *c)
{
	uint64_t one = 1;
	(void)write(c->wake_fd, &one, sizeof(one));
}

static void advance_cursor_locked(imap_client *c, bool *ret_moved)
{
	while (c->inflight && c->inflight->answered) {
		imap_ack *a = c->inflight;

		c->inflight = a->next;
		if (!c->inflight)
			c->inflight_tail = NULL;
		c->n_inflight--;
		if (a->result == IMAP_RETRY)
			c->held = true;
		else if (!c->held && a->msg.uid > c->cur_last &&
		         a->msg.uidvalidity == c->cur_validity) {
			c->cur_last = a->msg.uid;
			*ret_moved = true;
		}
		ack_release(a);
	}
}

void imap_ack_done(imap_ack *a, imap_result result)
{
	imap_client *c = a->client;
	bool moved = false;
	if (!c) {
		ack_release(a);
		return;
	}
	if (result < 0 || result >= _IMAP_RESULT_MAX)
		result = IMAP_RETRY;
	free(a->raw);
	a->raw = NULL;
	a->msg.raw = NULL;

	pthread_mutex_lock(&c->lock);
	c->inflight_bytes -= a->msg.len;
	a->answered = true;
	a->result = result;
	if (result == IMAP_RETRY)
		c->retry_requested = true;
	else {
		if (c->n_marks == c->cap_marks) {
			c->cap_marks = c->cap_marks ? 2 * c->cap_marks : 16;
			c->marks = xrealloc(c->marks, c->cap_marks * sizeof(mark));
		}
		c->marks[c->n_marks++] = (mark){a->msg.uidvalidity, a->msg.uid};
	}
	advance_cursor_locked(c, &moved); /* may free a */
	pthread_mutex_unlock(&c->lock);

	/* The worker is woken, and the cursor saved, once per loop turn: the acks of a batch
	 * come together, and one UID STORE and one save cover them all. */
	if (moved)
		c->cursor_moved = true;
	if (c->turn_src)
		(void)sd_event_source_set_enabled(c->turn_src, SD_EVENT_ONESHOT);
	else
		wake_worker(c);
}

static int on_turn_end(sd_event_source *s, void *userdata)
{
	imap_client *c = userdata;
	(void)s;
	wake_worker(c);
	if (!c->cursor_moved)
		return 0;
	c->cursor_moved = false;
	pthread_mutex_lock(&c->lock);
	uint32_t v = c->cur_validity, last = c->cur_last;
	pthread_mutex_unlock(&c->lock);
	if (c->hooks->cursor_save)
		c->hooks->cursor_save(c->userdata, v, last);
	return 0;
}

static void on_event(void *p, void *userdata)
{
	imap_client *c = userdata;
	ev *e = p;

	switch (e->kind) {
	case EV_MESSAGES:
		for (size_t i = 0; i < e->n_acks; i++) {
			imap_ack *a = e->acks[i];
			a->handed = true;
			c->hooks->on_message(c->userdata, &a->msg, a);
		}
		break;
	case EV_STATE:
		if (c->hooks->on_state)
			c->hooks->on_state(c->userdata, e->state, e->detail);
		break;
	case EV_CURSOR:
		if (c->hooks->cursor_save)
			c->hooks->cursor_save(c->userdata, e->uidvalidity, e->last_uid);
		break;
	}
	ev_free(e);
}

/* Appends an ack to the in-flight list (in UID order) and to the chunk e. raw: NULL for a
 * message too large to fetch. */
static void offer(imap_client *c, ev *e, uint32_t uidvalidity, uint32_t uid, uint64_t size,
                  char *raw, size_t len)
{
	imap_ack *a = xcalloc(1, sizeof(*a));

	a->client = c;
	a->raw = raw;
	a->msg = (imap_message){.uidvalidity = uidvalidity, .uid = uid, .size = size,
	                        .too_large = raw == NULL, .raw = raw, .len = len};
	pthread_mutex_lock(&c->lock);
	if (c->inflight_tail)
		c->inflight_tail->next = a;
	else
		c->inflight = a;
	c->inflight_tail = a;
	c->n_inflight++;
	c->inflight_bytes += len;
	pthread_mutex_unlock(&c->lock);
	e->acks[e->n_acks++] = a;
}

/* Fetches and offers the next chunk of w: one `UID FETCH (RFC822.SIZE)` and one
 * `UID FETCH (BODY.PEEK[])` for up to `room` messages and IMAP_CHUNK_BYTES of bodies, handed
 * to the loop as one event. Returns 0, or < 0 with *why. */
static int offer_chunk(imap_client *c, mailimap *imap, uint32_t uidvalidity, worklist *w,
                       size_t room, uint32_t *fetched, char **why)
{
	const uint32_t *u = w->uids + w->pos;
	size_t k = room < IMAP_CHUNK ? room : IMAP_CHUNK, m, nw = 0, j = 0;
	uint64_t sizes[IMAP_CHUNK], total = 0;
	if (k > w->n - w->pos)
		k = w->n - w->pos;
	uint32_t want[IMAP_CHUNK];
	char *body[IMAP_CHUNK];
	size_t len[IMAP_CHUNK];
	int r;

	r = imap_fetch_sizes(imap, u, k, sizes, why);
	if (r < 0)
		return r;
	/* Bodies up to the byte budget, at least one. */
	for (m = 0; m < k; m++) {
		if (sizes[m] == IMAP_GONE || sizes[m] > c->cfg.max_message_size)
			continue;
		if (nw && total + sizes[m] > IMAP_CHUNK_BYTES)
			break;
		want[nw++] = u[m];
		total += sizes[m];
	}
	if (nw) {
		r = imap_fetch_bodies(imap, want, nw, body, len, why);
		if (r < 0)
			return r;
	}
	ev *e = xcalloc(1, sizeof(*e));
	e->kind = EV_MESSAGES;
	e->acks = xcalloc(m ? m : 1, sizeof(*e->acks));
	for (size_t i = 0; i < m; i++) {
		if (sizes[i] == IMAP_GONE) /* expunged meanwhile */
			continue;
		if (sizes[i] > c->cfg.max_message_size) {
			offer(c, e, uidvalidity, u[i], sizes[i], NULL, 0);
			continue;
		}
		/* want[] is u[] without the gone and the too large: in step with it. */
		char *b = body[j];
		size_t l = len[j];
		j++;
		if (b)
			offer(c, e, uidvalidity, u[i], sizes[i], b, l);
	}
	w->pos += m;
	*fetched = u[m - 1];
	if (!e->n_acks) {
		ev_free(e);
		return 0;
	}
	return post(c, e);
}

/* Offers what is new, chunk by chunk, while the window allows; what the last search found is
 * worked through before the folder is searched again. Returns 0 when a search found nothing
 * new, 1 when the window is full and more is waiting, 2 when a stop or a RETRY came, < 0
 * with *why. */
static int offer_new(imap_client *c, mailimap *imap, uint32_t uidvalidity, uint32_t *fetched,
                     worklist *w, char **why)
{
	int r;

	for (;;) {
		if (w->pos == w->n) {
			free(w->uids);
			*w = (worklist){0};
			r = imap_search_unseen(imap, *fetched + 1, 0, &w->uids, &w->n, why);
			if (r < 0)
				return r;
			if (!w->n)
				return 0;
		}
		pthread_mutex_lock(&c->lock);
		size_t room = IMAP_MAX_IN_FLIGHT - c->n_inflight;
		bool empty = c->n_inflight == 0, stop = c->stop || c->retry_requested;
		/* Refill by whole chunks: acks come in batches, so waiting for room for a chunk
		 * costs nothing and keeps the fetches large. */
		bool full = !empty && (room < IMAP_CHUNK || c->inflight_bytes >= IMAP_MAX_IN_FLIGHT_BYTES);
		pthread_mutex_unlock(&c->lock);
		if (stop)
			return 2;
		if (full)
			return 1;
		r = offer_chunk(c, imap, uidvalidity, w, room, fetched, why);
		if (r < 0)
			return r;
	}
}

static int queue_lost_marks(imap_client *c, mailimap *imap, uint32_t uidvalidity,
                            uint32_t cursor, char **why)
{
	_cleanup_free_ uint32_t *v = NULL;
	size_t n = 0;
	int r = imap_search_unseen(imap, 1, cursor, &v, &n, why);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		if (c->n_marks == c->cap_marks) {
			c->cap_marks = c->cap_marks ? 2 * c->cap_marks : 16;
			c->marks = xrealloc(c->marks, c->cap_marks * sizeof(mark));
		}
		c->marks[c->n_marks++] = (mark){uidvalidity, v[i]};
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static bool inflight_empty(imap_client *c)
{
	pthread_mutex_lock(&c->lock);
	bool empty = c->inflight == NULL;
	pthread_mutex_unlock(&c->lock);
	return empty;
}

/* Waits for the loop to answer (an ack, a stop). A caller that takes its time does not cost
 * the connection: past the IDLE re-issue interval a NOOP tells the server we are here. */
static int wait_for_acks(imap_client *c, mailimap *imap, char **why)
{
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	imap_wait_wake(c, (int)c->cfg.idle_reissue_sec * 1000, -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (t1.tv_sec - t0.tv_sec >= (time_t)c->cfg.idle_reissue_sec && !imap_stopping(c)) {
		r = mailimap_noop(imap);
		if (r != MAILIMAP_NO_ERROR) {
			*why = imap_error(imap, "NOOP", r);
			return -EIO;
		}
	}
	return 0;
}

/* One connection, from connect to the first failure (or a stop, or a RETRY drained).
 * *waited is set once it got as far as waiting for new mail. */
static int run_session(imap_client *c, mailimap *imap, char **why, bool *waited, bool *retried)
{
	uint32_t uidvalidity, fetched;
	bool use_idle, said_polling = false;
	_cleanup_(worklist_done) worklist work = {0};
	int r;

	r = imap_open_session(c, imap, why);
	if (r < 0)
		return r;
	r = mailimap_select(imap, c->folder);
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_error(imap, "SELECT", r);
		return -EIO;
	}
	uidvalidity = imap->imap_selection_info ? imap->imap_selection_info->sel_uidvalidity : 0;
	if (uidvalidity == 0) {
		*why = xasprintf("the server gave %s no UIDVALIDITY", c->folder);
		return -EPROTO;
	}
	use_idle = !c->cfg.no_idle && mailimap_has_idle(imap);

	/* Nothing new is offered while messages of an earlier connection await their ack. */
	while (!inflight_empty(c)) {
		r = imap_apply_marks(c, imap, uidvalidity, why);
		if (r < 0)
			return r;
		if (imap_stopping(c))
			return -ECANCELED;
		r = wait_for_acks(c, imap, why);
		if (r < 0)
			return r;
	}
	r = imap_apply_marks(c, imap, uidvalidity, why);
	if (r < 0)
		return r;

	pthread_mutex_lock(&c->lock);
	uint32_t old = c->cur_validity, old_last = c->cur_last;
	bool reset = old != uidvalidity;
	if (reset) {
		c->cur_validity = uidvalidity;
		c->cur_last = 0;
	}
	c->held = false;
	c->retry_requested = false;
	fetched = c->cur_last;
	pthread_mutex_unlock(&c->lock);
	if (reset) {
		ev *e = xcalloc(1, sizeof(*e));
		e->kind = EV_CURSOR;
		e->uidvalidity = uidvalidity;
		e->last_uid = 0;
		if (old != 0)
			post_state(c, IMAP_STATE_CURSOR_RESET,
			           "UIDVALIDITY of %s changed from %u to %u: cursor (was UID %u) "
			           "reset, unseen mail is offered again",
			           c->folder, old, uidvalidity, old_last);
		if (post(c, e) < 0)
			return -ECANCELED;
	}
	post_state(c, IMAP_STATE_CONNECTED, "%s port %u, %s, folder %s%s", c->host, c->cfg.port,
	           imap_tls_to_string(c->cfg.tls), c->folder, use_idle ? ", IDLE" : ", polling");
	/* Every message up to the cursor was answered: one still unseen there lost its mark
	 * to a stop between the answer and the flag (cocod killed). Mark it now. */
	if (!reset && fetched > 0) {
		r = queue_lost_marks(c, imap, uidvalidity, fetched, why);
		if (r < 0)
			return r;
	}

	for (;;) {
		r = imap_apply_marks(c, imap, uidvalidity, why);
		if (r < 0)
			return r;
		pthread_mutex_lock(&c->lock);
		bool stop = c->stop, retry = c->retry_requested, empty = c->inflight == NULL;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			return -ECANCELED;
		if (retry) {
			/* Held back: let the rest be answered, then come back for it later. */
			if (empty) {
				*retried = true;
				*why = xstrdup("a message was held back (retry)");
				return -EAGAIN;
			}
			r = wait_for_acks(c, imap, why);
			if (r < 0)
				return r;
			continue;
		}
		r = offer_new(c, imap, uidvalidity, &fetched, &work, why);
		if (r < 0)
			return r;
		if (r == 1) { /* window full */
			int w = wait_for_acks(c, imap, why);
			if (w < 0)
				return w;
		}
		if (r > 0)
			continue;

		*waited = true;
		if (use_idle) {
			r = mailimap_idle(imap);
			if (r != MAILIMAP_NO_ERROR) {
				*why = imap_error(imap, "IDLE", r);
				return -EIO;
			}
			post_state(c, IMAP_STATE_IDLE, NULL);
			/* Bytes libetpan already buffered would never make the socket readable. */
			if (imap->imap_stream->read_buffer_len == 0)
				imap_wait_wake(c, (int)c->cfg.idle_reissue_sec * 1000,
				          mailimap_idle_get_fd(imap));
			r = mailimap_idle_done(imap);
			if (r != MAILIMAP_NO_ERROR) {
				*why = imap_error(imap, "IDLE DONE", r);
				return -EIO;
			}
		} else {
			if (!said_polling) {
				post_state(c, IMAP_STATE_POLLING, "every %u s", c->cfg.poll_interval_sec);
				said_polling = true;
			}
			imap_wait_wake(c, (int)c->cfg.poll_interval_sec * 1000, -1);
			if (imap_stopping(c))
				return -ECANCELED;
			r = mailimap_noop(imap);
			if (r != MAILIMAP_NO_ERROR) {
				*why = imap_error(imap, "NOOP", r);
				return -EIO;
			}
		}
	}
}

static void *worker(void *p)
{
	imap_client *c = p;
	unsigned backoff = c->cfg.backoff_min_msec;
	sigset_t pipe;

	/* A write to a connection the server (or imap_client_free()) closed fails with EPIPE
	 * instead of killing the process: SIGPIPE stays pending on this thread. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	while (!imap_stopping(c)) {
		mailimap *imap = mailimap_new(0, NULL);
		char *why = NULL;
		bool waited = false, retried = false;
		int r;

		if (!imap) {
			why = xstrdup("out of memory");
			r = -ENOMEM;
		} else {
			mailimap_set_timeout(imap, c->cfg.timeout_sec);
			r = run_session(c, imap, &why, &waited, &retried);
		}
		imap_unregister_socket(c);
		if (imap)
			mailimap_free(imap); /* closes the socket; no LOGOUT: it could block */
		if (imap_stopping(c) || r == -ECANCELED) {
			free(why);
			break;
		}
		if (waited && !retried)
			backoff = c->cfg.backoff_min_msec;
		post_state(c, IMAP_STATE_DISCONNECTED, "%s; next attempt in %u.%03u s",
		           why ? why : "disconnected", backoff / 1000, backoff % 1000);
		free(why);

		/* Back off; acks that arrive meanwhile only wake us up early. */
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			int64_t spent = (t1.tv_sec - t0.tv_sec) * 1000 +
			                (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (spent >= backoff || imap_stopping(c))
				break;
			imap_wait_wake(c, (int)(backoff - spent), -1);
		}
		backoff = backoff > c->cfg.backoff_max_msec / 2 ? c->cfg.backoff_max_msec
		                                                : backoff * 2;
	}
	return NULL;
}

/* ---- life cycle ---- */

int imap_client_new(sd_event *loop, const imap_config *cfg, const imap_hooks *hooks,
                    void *userdata, imap_client **ret)
{
	imap_client *c;
	int r;

	r = imap_config_check(cfg, NULL);
	if (r < 0)
		return r;
	if (!hooks || !hooks->on_message)
		return -EINVAL;

	c = xcalloc(1, sizeof(*c));
	c->loop = sd_event_ref(loop);
	c->hooks = hooks;
	c->userdata = userdata;
	c->wake_fd = -1;
	c->sock_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->cfg = *cfg;
	c->host = xstrdup(cfg->host);
	c->user = xstrdup(cfg->user);
	c->password = xstrdup(cfg->password);
	c->folder = xstrdup(cfg->folder ? cfg->folder : "INBOX");
	c->move_to = cfg->move_to ? xstrdup(cfg->move_to) : NULL;
	c->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	c->cfg.host = c->cfg.user = c->cfg.password = c->cfg.folder = NULL;
	c->cfg.move_to = c->cfg.ca_file = NULL;
	if (!c->cfg.port)
		c->cfg.port = cfg->tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	if (!c->cfg.poll_interval_sec)
		c->cfg.poll_interval_sec = 60;
	if (!c->cfg.idle_reissue_sec)
		c->cfg.idle_reissue_sec = 25 * 60;
	if (!c->cfg.backoff_min_msec)
		c->cfg.backoff_min_msec = 1000;
	if (!c->cfg.backoff_max_msec)
		c->cfg.backoff_max_msec = 5 * 60 * 1000;
	if (c->cfg.backoff_max_msec < c->cfg.backoff_min_msec)
		c->cfg.backoff_max_msec = c->cfg.backoff_min_msec;
	if (!c->cfg.timeout_sec)
		c->cfg.timeout_sec = 60;
	if (!c->cfg.max_message_size)
		c->cfg.max_message_size = (size_t)10 * 1024 * 1024;

	if (hooks->cursor_load) {
		r = hooks->cursor_load(userdata, &c->cur_validity, &c->cur_last);
		if (r < 0)
			goto fail;
	}
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = loopqueue_new(loop, QUEUE_CAPACITY, on_event, ev_free, c, &c->queue);
	if (r < 0)
		goto fail;
	r = sd_event_add_defer(loop, &c->turn_src, on_turn_end, c);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(c->turn_src, SD_EVENT_OFF);
	r = -pthread_create(&c->thread, NULL, worker, c);
	if (r < 0)
		goto fail;
	c->thread_started = true;
	*ret = c;
	return 0;
fail:
	imap_client_free(c);
	return r;
}

imap_client *imap_client_free(imap_client *c)
{
	if (!c)
		return NULL;
	if (c->thread_started) {
		uint64_t one = 1;

		pthread_mutex_lock(&c->lock);
		c->stop = true;
		/* Whatever the worker blocks in (a read, the handshake), this ends it. */
		if (c->sock_fd >= 0)
			(void)shutdown(c->sock_fd, SHUT_RDWR);
		pthread_mutex_unlock(&c->lock);
		(void)write(c->wake_fd, &one, sizeof(one));
		pthread_join(c->thread, NULL);
	}
	/* Events still queued are dropped, then the acks the caller holds outlive us; the
	 * rest (answered, or never handed over) go now. */
	c->queue = loopqueue_free(c->queue);
	/* A cursor moved in this loop turn is saved now rather than never. */
	c->turn_src = sd_event_source_disable_unref(c->turn_src);
	if (c->cursor_moved && c->hooks->cursor_save)
		c->hooks->cursor_save(c->userdata, c->cur_validity, c->cur_last);
	for (imap_ack *a = c->inflight, *next; a; a = next) {
		next = a->next;
		if (a->handed && !a->answered)
			a->client = NULL;
		else
			ack_release(a);
	}
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_mutex_destroy(&c->lock);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->host);
	free(c->user);
	free(c->password);
	free(c->folder);
	free(c->move_to);
	free(c->ca_file);
	free(c->marks);
	sd_event_unref(c->loop);
	free(c);
	return NULL;
}
