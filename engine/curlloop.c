/* curlloop: see curlloop.h.
 *
 * libcurl's multi "socket" interface tells us, through two callbacks, what to watch:
 * - the socket callback: watch this socket for reading and/or writing, or stop watching it.
 *   Each watched socket gets a `struct sock` holding its sd-event IO source; libcurl keeps
 *   the pointer for us (curl_multi_assign) and hands it back on the next call.
 * - the timer callback: call me back in N ms (0: as soon as possible), or never (-1). One
 *   sd-event timer, re-armed each time.
 * Neither callback calls into libcurl: libcurl forbids it, and a 0 ms timeout handled at once
 * would recurse. The IO and timer handlers call curl_multi_socket_action() and then read the
 * finished transfers off curl_multi_info_read(); each is taken out of the multi handle there
 * (outside any libcurl callback) before its done callback runs, so the callback may reuse or
 * free the easy handle.
 *
 * A done callback may free the curlloop. The handlers count how deep they are in (`depth`);
 * curlloop_free() called under them releases libcurl and the sources at once but leaves the
 * struct itself to the handler, which frees it on the way out. */
#define _GNU_SOURCE
#include "curlloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "util.h"

/* The timer's accuracy: exact. With any slack sd-event wakes at the end of the window
 * unless a coalescing point falls inside it, so 1 ms of slack costs 1 ms on every 0 ms
 * ("as soon as possible") timeout, several per transfer (bench/curlloop.c went from 360 to
 * over 2,000 sequential requests/s); sd-event's default 250 ms would stall every transfer. */
#define CURLLOOP_TIMER_ACCURACY_USEC 1ULL

/* A transfer in flight. Looked up by easy handle: CURLOPT_PRIVATE is left to the caller, and
 * a channel has a handful of transfers at a time, so a list is enough. */
struct transfer {
	struct transfer *prev, *next;
	CURL *easy;
	curlloop_done_fn cb;
	void *userdata;
	bool failing; /* being failed by fail_all() */
};

/* A socket libcurl asked us to watch. */
struct sock {
	struct sock *prev, *next;
	curlloop *loop;
	curl_socket_t fd;
	sd_event_source *src;
};

struct curlloop {
	sd_event *event;
	CURLM *multi;
	sd_event_source *timer;
	struct transfer *transfers;
	struct sock *socks;
	unsigned n_running;
	unsigned depth; /* handlers running (0 or 1: sd-event does not nest) */
	bool dead;      /* freed under a handler: the handler frees the struct */
	bool global_init;
};

static struct transfer *transfer_find(const curlloop *c, CURL *easy)
{
	for (struct transfer *t = c->transfers; t; t = t->next)
		if (t->easy == easy)
			return t;
	return NULL;
}

static void transfer_free(curlloop *c, struct transfer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		c->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	c->n_running--;
	free(t);
}

static void sock_free(struct sock *s)
{
	curlloop *c = s->loop;

	if (s->prev)
		s->prev->next = s->next;
	else
		c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	/* Safe while s->src is being dispatched: sd-event frees it after the handler returns. */
	sd_event_source_disable_unref(s->src);
	free(s);
}

/* Takes every finished transfer out of the multi handle and reports it. */
static void drain_done(curlloop *c)
{
	CURLMsg *m;
	int left;

	while (!c->dead && (m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m is libcurl's and does not survive curl_multi_remove_handle(): copy first. */
		CURL *easy = m->easy_handle;
		CURLcode result = m->data.result;
		struct transfer *t = transfer_find(c, easy);

		curl_multi_remove_handle(c->multi, easy);
		if (!t)
			continue;
		curlloop_done_fn cb = t->cb;
		void *userdata = t->userdata;
		transfer_free(c, t);
		cb(easy, result, userdata);
	}
}

/* The multi handle failed as a whole (a socket it could not have watched, no memory): its
 * transfers would never finish, so each is finished now, with CURLE_ABORTED_BY_CALLBACK,
 * rather than left to hang. Only those running now: a callback that adds again gets its new
 * transfer tried, not failed in a loop. */
static void fail_all(curlloop *c, CURLMcode mc)
{
	log_error("curl: multi handle failed (%s); failing %u transfers", curl_multi_strerror(mc),
	          c->n_running);
	for (struct transfer *t = c->transfers; t; t = t->next)
		t->failing = true;
	while (!c->dead) {
		struct transfer *t = c->transfers;
		while (t && !t->failing)
			t = t->next;
		if (!t)
			break;
		CURL *easy = t->easy;
		curlloop_done_fn cb = t->cb;
		void *userdata = t->userdata;

		curl_multi_remove_handle(c->multi, easy);
		transfer_free(c, t);
		cb(easy, CURLE_ABORTED_BY_CALLBACK, userdata);
	}
}

static void curlloop_release(curlloop *c)
{
	sd_event_unref(c->event);
	if (c->global_init)
		curl_global_cleanup();
	free(c);
}

/* What both handlers do: one socket action, then the finished transfers. */
static void socket_action(curlloop *c, curl_socket_t fd, int bits)
{
	int running;

	c->depth++;
	CURLMcode mc = curl_multi_socket_action(c->multi, fd, bits, &running);
	/* BAD_SOCKET: an event for a socket libcurl has just let go of; nothing to do. */
	if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET)
		fail_all(c, mc);
	else
		drain_done(c);
	c->depth--;
	if (c->dead && c->depth == 0)
		curlloop_release(c);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct sock *s = userdata;
	int bits = 0;

	if (revents & (EPOLLIN | EPOLLHUP))
		bits |= CURL_CSELECT_IN; /* a hang-up is read as end of file */
	if (revents & EPOLLOUT)
		bits |= CURL_CSELECT_OUT;
	if (revents & EPOLLERR)
		bits |= CURL_CSELECT_ERR;
	/* s may be freed by libcurl's socket callback during the action: pass what we need. */
	socket_action(s->loop, fd, bits);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	socket_action(userdata, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION. No libcurl calls here but curl_multi_assign(), which is allowed. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	curlloop *c = userp;
	struct sock *s = socketp;
	uint32_t events = 0;
	int r;

	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;

	if (s) {
		r = sd_event_source_set_io_events(s->src, events);
		if (r >= 0)
			r = sd_event_source_set_enabled(s->src,
			                                events ? SD_EVENT_ON : SD_EVENT_OFF);
	} else {
		s = xcalloc(1, sizeof(*s));
		s->loop = c;
		s->fd = fd;
		r = sd_event_add_io(c->event, &s->src, fd, events, on_io, s);
		if (r >= 0 && !events)
			r = sd_event_source_set_enabled(s->src, SD_EVENT_OFF);
		if (r < 0) {
			sd_event_source_disable_unref(s->src);
			free(s);
		} else {
			s->next = c->socks;
			if (c->socks)
				c->socks->prev = s;
			c->socks = s;
			curl_multi_assign(c->multi, fd, s);
		}
	}
	if (r < 0) {
		/* libcurl then fails the whole multi handle; socket_action() reports it. */
		log_debug_errno(r, "curl: cannot watch socket %d: %m", (int)fd);
		return -1;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the timer; libcurl may not be called from here. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	curlloop *c = userp;
	int r;

	if (timeout_ms < 0) {
		if (c->timer)
			(void)sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
		return 0;
	}
	/* 0 means "as soon as possible": a timer due now runs on the loop's next iteration. */
	uint64_t usec = (uint64_t)timeout_ms > UINT64_MAX / 1000 ? UINT64_MAX - 1
	                                                         : (uint64_t)timeout_ms * 1000;
	if (!c->timer) {
		r = sd_event_add_time_relative(c->event, &c->timer, CLOCK_MONOTONIC, usec,
		                               CURLLOOP_TIMER_ACCURACY_USEC, on_timer, c);
	} else {
		r = sd_event_source_set_time_relative(c->timer, usec);
		if (r >= 0)
			r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
	}
	if (r < 0) {
		log_debug_errno(r, "curl: cannot arm the timer: %m");
		return -1;
	}
	return 0;
}

/* libcurl itself starts with the first transfer: curl_global_init() initializes every TLS,
 * SSH and GSS library libcurl is built with (Debian's libssh2 loads and configures OpenSSL),
 * about 1.5 MiB of resident pages that a daemon without an HTTPS or SMTP channel never
 * needs (docs/performance.md). Debian's libcurl (7.88) is "threadsafe": its global init may
 * run while an IMAP thread exists. */
static int curlloop_start(curlloop *c)
{
	if (c->multi)
		return 0;
	if (!c->global_init) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		c->global_init = true;
	}
	c->multi = curl_multi_init();
	if (!c->multi)
		return -ENOMEM;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)CURLLOOP_MAX_CONNECTS) !=
	            CURLM_OK) {
		curl_multi_cleanup(c->multi);
		c->multi = NULL;
		return -EIO;
	}
	return 0;
}

int curlloop_new(sd_event *event, curlloop **ret)
{
	curlloop *c = xcalloc(1, sizeof(*c));

	c->event = sd_event_ref(event);
	*ret = c;
	return 0;
}

curlloop *curlloop_free(curlloop *c)
{
	if (!c || c->dead)
		return NULL;
	while (c->transfers) {
		curl_multi_remove_handle(c->multi, c->transfers->easy);
		transfer_free(c, c->transfers);
	}
	/* Closing the cached connections may still call on_curl_socket(): c stays whole until
	 * libcurl is done with it. */
	if (c->multi)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while (c->socks)
		sock_free(c->socks);
	c->timer = sd_event_source_disable_unref(c->timer);
	if (c->depth > 0)
		c->dead = true; /* the handler we are under frees the rest */
	else
		curlloop_release(c);
	return NULL;
}

int curlloop_add(curlloop *c, CURL *easy, curlloop_done_fn cb, void *userdata)
{
	if (transfer_find(c, easy))
		return -EEXIST;
	int r = curlloop_start(c);
	if (r < 0) {
		log_debug_errno(r, "curl: cannot start libcurl: %m");
		return r;
	}
	(void)curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);

	struct transfer *t = xcalloc(1, sizeof(*t));
	t->easy = easy;
	t->cb = cb;
	t->userdata = userdata;
	t->next = c->transfers;
	if (c->transfers)
		c->transfers->prev = t;
	c->transfers = t;
	c->n_running++;

	/* libcurl answers by arming the timer (0 ms): the transfer starts on the next loop
	 * iteration, so no callback can run before we return. */
	CURLMcode mc = curl_multi_add_handle(c->multi, easy);
	if (mc != CURLM_OK) {
		transfer_free(c, t);
		log_debug("curl: cannot add a transfer: %s", curl_multi_strerror(mc));
		return mc == CURLM_ADDED_ALREADY ? -EEXIST : -EINVAL;
	}
	return 0;
}

int curlloop_cancel(curlloop *c, CURL *easy)
{
	struct transfer *t = transfer_find(c, easy);

	if (!t)
		return -ENOENT;
	/* Not under a libcurl callback (the done callback runs after the handle was removed),
	 * so removing here is allowed; libcurl closes a connection left mid-transfer. */
	curl_multi_remove_handle(c->multi, easy);
	transfer_free(c, t);
	return 0;
}

unsigned curlloop_running(const curlloop *c)
{
	return c->n_running;
}
