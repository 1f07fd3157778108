/* http: see http.h.
 *
 * Threading: none of MHD's. MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD is
 * MHD's external mode on Linux: it keeps its own epoll set (the listening socket, its
 * connections, the inter-thread channel that MHD_resume_connection() writes to) and gives
 * us that set's fd. The fd is on our loop (readable when any of them is); MHD_run() does
 * one non-blocking round; MHD_get_timeout() then says when MHD must run again even if
 * nothing becomes readable (idle timeouts, or 0 when it has data in hand that it did not
 * finish, as its connections are edge-triggered), and a one-shot timer with 1 µs accuracy
 * (sd-event's default 250 ms would delay those 0s) runs it then.
 *
 * Request life: MHD calls on_access() once when the headers are in (we route, check
 * method, content type and Content-Length and may answer at once), once per body chunk (we
 * copy it, up to the cap), and a last time with no data (the handler runs). A deferred
 * request's connection waits in MHD's ready list, MHD calling on_access() again at each run,
 * which queues the answer once http_respond() gave it; after HTTP_SUSPEND_AFTER_USEC it is
 * suspended instead, and http_respond() resumes it. on_completed() frees the request. */
#define _GNU_SOURCE
#include "http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "util.h"

#define HTTP_LISTEN_BACKLOG 128
#define HTTP_BODY_DISCARD_MAX 4
/* A timer further than this is re-armed from MHD_get_timeout() anyway when it fires. */
#define HTTP_TIMER_MAX_USEC (3600 * 1000000ULL)
/* A deferred request's 503 may come this much after its deadline. */
#define HTTP_DEADLINE_ACCURACY_USEC (50 * 1000ULL)
/* A deferred request is left in MHD's ready list (not suspended) this long: most are answered
 * by the next group commit, a few milliseconds later. One still waiting then is suspended. */
#define HTTP_SUSPEND_AFTER_USEC (10 * 1000ULL)
/* While requests wait unsuspended, MHD_get_timeout() says 0 (their connections stay in its
 * ready list): MHD then runs at the latest this often, not at once (see listener_rearm()). */
#define HTTP_POLL_USEC (10 * 1000ULL)

typedef struct route {
	char *method;
	char *path;
	size_t path_len;
	unsigned flags;
	http_handler_fn fn;
	void *userdata;
} route;

typedef struct listener {
	http_server *server;
	struct MHD_Daemon *mhd;
	sd_event_source *io_src, *timer_src, *kick_src;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	size_t n_polled; /* deferred requests not suspended, waiting in MHD's ready list */
	bool rerun;      /* this MHD_run() queued or finished an answer: run it again at once */
} listener;

struct http_server {
	sd_event *loop;
	size_t body_max;
	uint64_t defer_timeout_usec;
	listener *listeners;
	size_t n_listeners;
	route **routes;
	size_t n_routes;
	http_request *requests; /* every live request, for the end */
	size_t n_deferred;
	/* The deferred requests, oldest first: their timeouts are all the same, so this is
	 * also their deadlines' order, and one timer at the oldest's deadline serves them all
	 * (a timer source each cost a timerfd_settime() most loop turns under load). */
	http_request *waiting_head, *waiting_tail;
	sd_event_source *deadline_src;
	bool stopping;
};

typedef enum req_state {
	REQ_BODY,     /* routed; reading the body */
	REQ_HANDLER,  /* the handler runs */
	REQ_DEFERRED, /* the handler deferred it; suspended if it waits long (polled before) */
	REQ_ANSWERED, /* an answer waits in req->response for on_access() to queue it */
	REQ_QUEUED,   /* MHD has the answer */
} req_state;

struct http_request {
	http_server *server;
	listener *listener;
	struct MHD_Connection *conn;
	http_request *prev, *next;
	const char *method, *path; /* MHD's, valid until the request completes */
	const route *route;
	req_state state;
	strbuf body;
	bool too_large;
	uint64_t discarded; /* bytes of a too large body read and dropped */
	bool suspended;
	bool polled; /* deferred, waiting unsuspended: counted in listener.n_polled */
	unsigned status;
	struct MHD_Response *response;
	http_cancel_fn cancel;
	void *cancel_userdata;
	uint64_t deadline; /* CLOCK_MONOTONIC, while deferred */
	uint64_t deferred_at; /* CLOCK_MONOTONIC */
	http_request *wprev, *wnext;
	bool waiting; /* in the server's list of deferred requests */
	char peer[INET6_ADDRSTRLEN + 16]; /* "" until a log line needs it: peer_string() */
};

static void unpoll(http_request *req)
{
	if (req->polled) {
		req->polled = false;
		req->listener->n_polled--;
	}
}

static void waiting_remove(http_request *req)
{
	if (!req->waiting)
		return;
	http_server *s = req->server;
	if (req->wprev)
		req->wprev->wnext = req->wnext;
	else
		s->waiting_head = req->wnext;
	if (req->wnext)
		req->wnext->wprev = req->wprev;
	else
		s->waiting_tail = req->wprev;
	req->wprev = req->wnext = NULL;
	req->waiting = false;
}

/* ---- addresses and sockets ---- */

int http_parse_address(const char *s, unsigned min_port, struct sockaddr_storage *ret,
                       socklen_t *ret_len)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_s, *end;
	bool v6 = s[0] == '[';
	if (v6) {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		s++;
		port_s = end + 2;
	} else {
		end = strchr(s, ':');
		if (!end || strchr(end + 1, ':'))
			return -EINVAL;
		port_s = end + 1;
	}
	if (end == s || (size_t)(end - s) >= sizeof host)
		return -EINVAL;
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = 0;
	long port;
	if (parse_long(port_s, (long)min_port, 65535, &port) < 0)
		return -EINVAL;

	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		len = sizeof *a;
	}
	if (ret)
		*ret = ss;
	if (ret_len)
		*ret_len = len;
	return 0;
}

static void format_address(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		snprintf(buf, size, "%s:%u", host, ntohs(a->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		snprintf(buf, size, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		snprintf(buf, size, "%s", sa && sa->sa_family == AF_UNIX ? "unix" : "?");
	}
}

static int bind_listen(const char *spec, int *ret_fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (http_parse_address(spec, 0, &ss, &len) < 0)
		return -EINVAL;
	_cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return -errno;
	/* [::]:PORT means IPv6 only; IPv4 needs its own Listen (or socket) */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int http_listen_fds(int ret_fds[HTTP_LISTEN_FDS_MAX])
{
	int n = sd_listen_fds(1), kept = 0;
	if (n < 0)
		return log_warning_errno(n, "cannot read the sockets passed by the service manager "
		                            "(LISTEN_FDS): %m");
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			log_warning("passed file descriptor %d is not a listening stream socket: "
			            "closed (the .socket unit wants ListenStream=)", fd);
			close(fd);
			continue;
		}
		if (kept == HTTP_LISTEN_FDS_MAX) {
			log_warning("more than %d sockets passed: socket %d closed",
			            HTTP_LISTEN_FDS_MAX, fd);
			close(fd);
			continue;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		ret_fds[kept++] = fd;
	}
	return kept;
}

/* ---- responses ---- */

/* owned: body is malloc'd and becomes the response's (MHD frees it after the answer); else
 * it is copied. Either way, on failure it is the caller's still. */
static struct MHD_Response *response_new(unsigned status, const char *content_type,
                                         const void *body, size_t len, bool owned,
                                         const char *const *headers)
{
	struct MHD_Response *r =
		len == 0 ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
		         : MHD_create_response_from_buffer(len, (void *)body,
		                                           owned ? MHD_RESPMEM_MUST_FREE
		                                                 : MHD_RESPMEM_MUST_COPY);
	if (!r)
		return NULL;
	if (content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	for (const char *const *h = headers; h && h[0] && h[1]; h += 2)
		if (MHD_add_response_header(r, h[0], h[1]) != MHD_YES)
			log_debug("http: header %s refused by libmicrohttpd", h[0]);
	return r;
}

static int queue_response(http_request *req)
{
	struct MHD_Response *r = TAKE_PTR(req->response);
	enum MHD_Result ok = MHD_queue_response(req->conn, req->status, r);
	MHD_destroy_response(r); /* MHD holds its own reference */
	req->state = REQ_QUEUED;
	req->listener->rerun = true; /* MHD writes it in its next run */
	if (ok != MHD_YES)
		log_debug("http: %s %s: libmicrohttpd would not queue the %u answer", req->method,
		          req->path, req->status);
	return ok;
}

/* An answer from the module itself (404, 413, ...), queued at once. close_after: the body
 * was not (all) read, so the connection cannot carry another request. */
static enum MHD_Result answer_now(http_request *req, unsigned status, const char *text,
                                  const char *const *headers, bool close_after)
{
	const char *close_hdr[] = {"Connection", "close", NULL};
	_cleanup_free_ char *line = xasprintf("%s\n", text);
	req->status = status;
	req->response = response_new(status, "text/plain; charset=utf-8", line, strlen(line),
	                             false, headers);
	if (!req->response)
		return MHD_NO;
	if (close_after)
		for (const char *const *h = close_hdr; *h; h += 2)
			MHD_add_response_header(req->response, h[0], h[1]);
	return queue_response(req);
}

/* ---- the loop ---- */

static void listener_kick(listener *l);

static void listener_rearm(listener *l)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;
	if (MHD_get_timeout(l->mhd, &ms) != MHD_YES) {
		(void)sd_event_source_set_enabled(l->timer_src, SD_EVENT_OFF);
		return;
	}
	/* "Run again at once" (work left in its buffers, an answer to send): the defer
	 * source, which leaves the timer alone. A timer moved to now and back to the idle
	 * timeout cost two timerfd_settime() each time, most loop turns under load.
	 * But a request waiting unsuspended keeps its connection in MHD's ready list, and
	 * MHD says 0 for as long as it waits: at once would be a busy loop. Then MHD runs at
	 * once only when this run queued an answer (sent in the next run) or finished one
	 * (see on_completed()), else within HTTP_POLL_USEC: what else MHD may hold in hand
	 * (the rest of a body larger than its read buffer) waits at most that long; sockets
	 * that become ready wake it anyway. */
	if (ms == 0 && (l->n_polled == 0 || l->rerun)) {
		listener_kick(l);
		return;
	}
	uint64_t usec = ms == 0                             ? HTTP_POLL_USEC
	                : ms > HTTP_TIMER_MAX_USEC / 1000 ? HTTP_TIMER_MAX_USEC
	                                                   : (uint64_t)ms * 1000;
	/* A timer already armed to fire no later than MHD asks stays: firing early only runs
	 * MHD for nothing and re-arms. Under load every request would otherwise move it a bit
	 * (a timerfd_settime per request: bench/slack-ingress, docs/performance.md). */
	int enabled = SD_EVENT_OFF;
	uint64_t armed = 0, now = 0;
	if (sd_event_source_get_enabled(l->timer_src, &enabled) >= 0 && enabled != SD_EVENT_OFF &&
	    sd_event_source_get_time(l->timer_src, &armed) >= 0 &&
	    sd_event_now(sd_event_source_get_event(l->timer_src), CLOCK_MONOTONIC, &now) >= 0 &&
	    armed <= now + usec)
		return;
	(void)sd_event_source_set_time_relative(l->timer_src, usec);
	(void)sd_event_source_set_enabled(l->timer_src, SD_EVENT_ONESHOT);
}

static unsigned listener_conns(listener *l)
{
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di ? di->num_connections : 0;
}

static void listener_run(listener *l)
{
	unsigned before = listener_conns(l);
	l->rerun = false;
	if (MHD_run(l->mhd) != MHD_YES)
		log_debug("http: MHD_run failed");
	/* At its connection limit MHD takes the listening socket out of its epoll set (the
	 * backlog then holds newcomers) and puts it back only at the start of a run. When
	 * connections closed in this run, nothing might wake us for that next run: the
	 * listening socket is not watched, and with no connection left there is no timeout.
	 * One more run puts it back (cheap: a non-blocking epoll_wait). */
	if (listener_conns(l) < before && MHD_run(l->mhd) != MHD_YES)
		log_debug("http: MHD_run failed");
	listener_rearm(l);
}

/* MHD must run soon (a resumed connection), but not from inside a caller that may itself
 * be inside MHD_run(): a defer source runs it on the next loop turn. (A timer set to now did
 * it before, at two timerfd_settime() a turn under load: 5 % of a slash command's CPU.) */
static void listener_kick(listener *l)
{
	(void)sd_event_source_set_enabled(l->kick_src, SD_EVENT_ONESHOT);
}

static int on_kick(sd_event_source *src, void *userdata)
{
	listener_run(userdata);
	return 0;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	listener_run(userdata);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	listener_run(userdata);
	return 0;
}

/* ---- routes ---- */

static bool route_matches_path(const route *rt, const char *path)
{
	if (rt->flags & HTTP_ROUTE_PREFIX)
		return strncmp(path, rt->path, rt->path_len) == 0;
	return STREQ(path, rt->path);
}

static bool route_same_path(const route *a, const route *b)
{
	return STREQ(a->path, b->path) &&
	       (a->flags & HTTP_ROUTE_PREFIX) == (b->flags & HTTP_ROUTE_PREFIX);
}

static bool route_matches_method(const route *rt, const char *method)
{
	return STREQ(rt->method, method) || (STREQ(method, "HEAD") && STREQ(rt->method, "GET"));
}

/* The most specific route for path (an exact one, else the longest prefix), or NULL. */
static const route *route_best(const http_server *s, const char *path)
{
	const route *best = NULL;
	for (size_t i = 0; i < s->n_routes; i++) {
		const route *rt = s->routes[i];
		if (!route_matches_path(rt, path))
			continue;
		if (!best || (!(rt->flags & HTTP_ROUTE_PREFIX) && (best->flags & HTTP_ROUTE_PREFIX)) ||
		    ((rt->flags & HTTP_ROUTE_PREFIX) && (best->flags & HTTP_ROUTE_PREFIX) &&
		     rt->path_len > best->path_len))
			best = rt;
	}
	return best;
}

int http_route_add(http_server *s, const char *method, const char *path, http_handler_fn fn,
                   void *userdata, unsigned flags)
{
	if (!s || !method || !*method || !path || path[0] != '/' || !fn)
		return -EINVAL;
	for (size_t i = 0; i < s->n_routes; i++) {
		const route *rt = s->routes[i];
		if (STREQ(rt->method, method) && STREQ(rt->path, path) &&
		    (rt->flags & HTTP_ROUTE_PREFIX) == (flags & HTTP_ROUTE_PREFIX))
			return -EEXIST;
	}
	route *rt = xcalloc(1, sizeof *rt);
	rt->method = xstrdup(method);
	rt->path = xstrdup(path);
	rt->path_len = strlen(path);
	rt->flags = flags;
	rt->fn = fn;
	rt->userdata = userdata;
	s->routes = xrealloc(s->routes, (s->n_routes + 1) * sizeof *s->routes);
	s->routes[s->n_routes++] = rt;
	return 0;
}

static bool content_type_accepted(unsigned flags, const char *ct)
{
	static const struct {
		unsigned flag;
		const char *type;
	} types[] = {
		{HTTP_ACCEPT_JSON, "application/json"},
		{HTTP_ACCEPT_FORM, "application/x-www-form-urlencoded"},
		{HTTP_ACCEPT_TEXT, "text/plain"},
	};
	unsigned wanted = flags & (HTTP_ACCEPT_JSON | HTTP_ACCEPT_FORM | HTTP_ACCEPT_TEXT);
	if (!wanted)
		return true;
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, "; \t");
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if ((wanted & types[i].flag) && strlen(types[i].type) == n &&
		    strncasecmp(ct, types[i].type, n) == 0)
			return true;
	return false;
}

/* ---- requests ---- */

/* The client's address as a log line shows it, formatted the first time one asks (most
 * requests never log it: an inet_ntop and a snprintf saved per request). */
static const char *peer_string(http_request *req)
{
	if (!req->peer[0]) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		format_address(ci ? ci->client_addr : NULL, req->peer, sizeof req->peer);
	}
	return req->peer;
}

static http_request *request_new(listener *l, struct MHD_Connection *c, const char *method,
                                 const char *url)
{
	http_server *s = l->server;
	http_request *req = xcalloc(1, sizeof *req);
	req->server = s;
	req->listener = l;
	req->conn = c;
	req->method = method;
	req->path = url;
	req->next = s->requests;
	if (s->requests)
		s->requests->prev = req;
	s->requests = req;
	return req;
}

static void request_free(http_request *req)
{
	http_server *s = req->server;
	if (req->prev)
		req->prev->next = req->next;
	else
		s->requests = req->next;
	if (req->next)
		req->next->prev = req->prev;
	if (req->state == REQ_DEFERRED) {
		s->n_deferred--;
		unpoll(req);
		if (req->cancel)
			req->cancel(req, req->cancel_userdata);
	}
	waiting_remove(req);
	if (req->response)
		MHD_destroy_response(req->response);
	strbuf_done(&req->body);
	free(req);
}

/* The headers are in: route, and answer at once what the handler need not see. */
static enum MHD_Result request_start(http_request *req)
{
	http_server *s = req->server;
	const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_TRANSFER_ENCODING);
	/* MHD has checked Content-Length's syntax. */
	unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
	bool has_body = declared > 0 || te;

	if (s->stopping)
		return answer_now(req, 503, "shutting down", NULL, true);
	if (req->path[0] != '/')
		return answer_now(req, 400, "bad request target", NULL, has_body);
	const route *best = route_best(s, req->path);
	if (!best)
		return answer_now(req, 404, "not found", NULL, has_body);
	const route *rt = NULL;
	for (size_t i = 0; i < s->n_routes && !rt; i++)
		if (route_same_path(s->routes[i], best) &&
		    route_matches_method(s->routes[i], req->method))
			rt = s->routes[i];
	if (!rt) {
		strbuf allow = {0};
		for (size_t i = 0; i < s->n_routes; i++) {
			if (!route_same_path(s->routes[i], best))
				continue;
			strbuf_printf(&allow, "%s%s", allow.len ? ", " : "", s->routes[i]->method);
			if (STREQ(s->routes[i]->method, "GET"))
				strbuf_puts(&allow, ", HEAD");
		}
		const char *h[] = {"Allow", allow.s, NULL};
		enum MHD_Result r = answer_now(req, 405, "method not allowed", h, has_body);
		strbuf_done(&allow);
		return r;
	}
	if (!content_type_accepted(rt->flags, MHD_lookup_connection_value(
	                                              req->conn, MHD_HEADER_KIND,
	                                              MHD_HTTP_HEADER_CONTENT_TYPE)))
		return answer_now(req, 415, "unsupported content type", NULL, has_body);
	if (declared > s->body_max)
		return answer_now(req, 413, "body too large", NULL, true);
	req->route = rt;
	req->state = REQ_BODY;
	return MHD_YES;
}

static enum MHD_Result request_run_handler(http_request *req)
{
	req->state = REQ_HANDLER;
	int r = req->route->fn(req, req->route->userdata);
	switch (req->state) {
	case REQ_ANSWERED:
		return queue_response(req);
	case REQ_DEFERRED:
		/* Not suspended (yet): a suspended connection leaves MHD's epoll set and is put
		 * back when resumed, with one more read that finds nothing: three system calls a
		 * request. MHD calls on_access() again at each run while it waits. */
		req->polled = true;
		req->listener->n_polled++;
		return MHD_YES;
	case REQ_HANDLER:
		if (r < 0)
			log_debug_errno(r, "http: %s %s failed: %m", req->method, req->path);
		else
			log_error("http: the handler of %s %s neither answered nor deferred",
			          req->method, req->path);
		return answer_now(req, 500, "internal error", NULL, false);
	default:
		return MHD_NO; /* cannot happen */
	}
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
	listener *l = cls;
	http_request *req = *con_cls;
	if (!req) {
		req = request_new(l, c, method, url);
		*con_cls = req;
		return request_start(req);
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (req->state != REQ_BODY)
			return MHD_YES;
		if (req->too_large || req->body.len + n > req->server->body_max) {
			/* A body without Content-Length (chunked) that passed the cap. MHD takes no
			 * answer in the middle of a body, so the rest is read and dropped to answer
			 * 413 at its end; a body that goes on past HTTP_BODY_DISCARD_MAX times the
			 * cap is not worth reading: the connection is closed. */
			if (!req->too_large) {
				req->discarded = req->body.len;
				strbuf_done(&req->body);
				req->too_large = true;
			}
			req->discarded += n;
			if (req->discarded > HTTP_BODY_DISCARD_MAX * (uint64_t)req->server->body_max)
				return MHD_NO;
			return MHD_YES;
		}
		strbuf_add(&req->body, upload_data, n);
		return MHD_YES;
	}
	switch (req->state) {
	case REQ_BODY:
		if (req->too_large)
			return answer_now(req, 413, "body too large", NULL, true);
		return request_run_handler(req);
	case REQ_ANSWERED:
		return queue_response(req); /* answered after it was deferred */
	case REQ_DEFERRED:
		/* Still waiting: past HTTP_SUSPEND_AFTER_USEC, out of MHD's ready list, so that a
		 * long wait (a Slack users.info, a slow disk) costs no polling; MHD also times
		 * out no suspended connection (the deadline's 503 is ours to give). */
		if (!req->suspended) {
			uint64_t now = 0;
			(void)sd_event_now(req->server->loop, CLOCK_MONOTONIC, &now);
			if (now >= req->deferred_at + HTTP_SUSPEND_AFTER_USEC) {
				MHD_suspend_connection(req->conn);
				req->suspended = true;
				unpoll(req);
			}
		}
		return MHD_YES;
	default:
		return MHD_YES;
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	http_request *req = *con_cls;
	/* Run MHD again at once: a connection that was suspended and resumed is still marked
	 * readable and out of MHD's epoll set, and only the next run's read (which finds
	 * nothing) puts it back in. Waiting for the poll instead held the client's next request
	 * up to HTTP_POLL_USEC. */
	((listener *)cls)->rerun = true;
	if (!req)
		return;
	*con_cls = NULL;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_debug("http: %s %s from %s ended early (%d)", req->method, req->path,
		          peer_string(req), (int)toe);
	request_free(req);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	/* Per-connection trouble a client can cause at will: debug only. */
	if (log_get_max_level() < LOG_DEBUG)
		return;
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	log_debug("libmicrohttpd: %s", strstrip(msg));
}

/* ---- the request API ---- */

const char *http_request_method(const http_request *req)
{
	return req->method;
}

const char *http_request_path(const http_request *req)
{
	return req->path;
}

const char *http_request_query(const http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_request_header(const http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_body(const http_request *req, size_t *ret_len)
{
	if (ret_len)
		*ret_len = req->body.len;
	return req->body.s ? req->body.s : "";
}

const struct sockaddr *http_request_peer(const http_request *req)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci ? ci->client_addr : NULL;
}

const char *http_request_peer_string(const http_request *req)
{
	return peer_string((http_request *)req);
}

static int respond(http_request *req, unsigned status, const char *content_type,
                   const void *body, size_t len, bool owned, const char *const *headers)
{
	if (!req || (req->state != REQ_HANDLER && req->state != REQ_DEFERRED))
		return -EALREADY;
	if (status < 100 || status > 999 || (len && !body))
		return -EINVAL;
	struct MHD_Response *r = response_new(status, content_type, body, len, owned, headers);
	if (!r)
		return -ENOMEM;
	if (owned && len == 0)
		free((void *)body); /* the empty answer needs none of it */
	req->response = r;
	req->status = status;
	if (req->state == REQ_DEFERRED) {
		req->server->n_deferred--;
		waiting_remove(req);
		req->state = REQ_ANSWERED;
		if (req->suspended) {
			req->suspended = false;
			MHD_resume_connection(req->conn);
		}
		unpoll(req);
		/* MHD calls on_access() at its next run, which queues the answer. */
		listener_kick(req->listener);
		return 0;
	}
	req->state = REQ_ANSWERED;
	return 0;
}

int http_respond(http_request *req, unsigned status, const char *content_type, const void *body,
                 size_t len, const char *const *headers)
{
	return respond(req, status, content_type, body, len, false, headers);
}

int http_respond_take(http_request *req, unsigned status, const char *content_type, char *body,
                      size_t len, const char *const *headers)
{
	int r = respond(req, status, content_type, body, len, true, headers);
	if (r < 0)
		free(body);
	return r;
}

int http_respond_text(http_request *req, unsigned status, const char *text)
{
	_cleanup_free_ char *line = xasprintf("%s\n", text);
	return http_respond(req, status, "text/plain; charset=utf-8", line, strlen(line), NULL);
}

/* A deferred request nobody answered: its owner forgets it, the client gets a 503. */
static void request_give_up(http_request *req, const char *why)
{
	http_cancel_fn cancel = TAKE_PTR(req->cancel);
	if (cancel)
		cancel(req, req->cancel_userdata);
	const char *h[] = {"Retry-After", "5", NULL};
	_cleanup_free_ char *line = xasprintf("%s\n", why);
	(void)http_respond(req, 503, "text/plain; charset=utf-8", line, strlen(line), h);
}

/* The oldest deferred requests past their deadline get a 503; the timer then waits for the
 * oldest left (it is not moved when a request is answered: firing early finds nothing). */
static void deadline_arm(http_server *s)
{
	if (!s->waiting_head) {
		(void)sd_event_source_set_enabled(s->deadline_src, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(s->deadline_src, s->waiting_head->deadline);
	(void)sd_event_source_set_enabled(s->deadline_src, SD_EVENT_ONESHOT);
}

static int on_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
	http_server *s = userdata;
	uint64_t now = 0;
	(void)sd_event_now(s->loop, CLOCK_MONOTONIC, &now);
	while (s->waiting_head && s->waiting_head->deadline <= now) {
		http_request *req = s->waiting_head;
		waiting_remove(req);
		log_warning("http: %s %s from %s was not answered in %llu ms: 503", req->method,
			    req->path, peer_string(req),
			    (unsigned long long)(s->defer_timeout_usec / 1000));
		request_give_up(req, "not answered in time, try again");
	}
	deadline_arm(s);
	return 0;
}

int http_request_defer(http_request *req, http_cancel_fn cancel, void *userdata)
{
	if (!req || req->state != REQ_HANDLER)
		return -EBUSY;
	http_server *s = req->server;
	uint64_t now = 0;
	int r = sd_event_now(s->loop, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	req->deferred_at = now;
	req->deadline = now + s->defer_timeout_usec;
	req->wprev = s->waiting_tail;
	req->wnext = NULL;
	if (s->waiting_tail)
		s->waiting_tail->wnext = req;
	else
		s->waiting_head = req;
	s->waiting_tail = req;
	req->waiting = true;
	int enabled = SD_EVENT_OFF;
	if (sd_event_source_get_enabled(s->deadline_src, &enabled) >= 0 && enabled == SD_EVENT_OFF)
		deadline_arm(s);
	req->cancel = cancel;
	req->cancel_userdata = userdata;
	req->state = REQ_DEFERRED;
	req->server->n_deferred++;
	return 0;
}

int http_handler_healthz(http_request *req, void *userdata)
{
	return http_respond_text(req, 200, "ok");
}

/* ---- the server ---- */

static int listener_start(http_server *s, listener *l, int fd, const http_config *cfg)
{
	l->server = s;
	l->addr_len = sizeof l->addr;
	if (getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	unsigned conns = cfg->conns_max ? cfg->conns_max : HTTP_CONNS_MAX_DEFAULT;
	size_t memory = cfg->conn_memory ? cfg->conn_memory : HTTP_CONN_MEMORY_DEFAULT;
	unsigned timeout = cfg->timeout_sec ? cfg->timeout_sec : HTTP_TIMEOUT_SEC_DEFAULT;
	/* MHD owns fd from here on: it closes it on failure and at MHD_stop_daemon(). */
	/* The logger first: MHD says so at start otherwise, and sends what comes before it to
	 * stderr. */
	l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
	                          NULL, NULL, on_access, l,
	                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l,
	                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	                          MHD_OPTION_CONNECTION_LIMIT, conns,
	                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
	                          MHD_OPTION_CONNECTION_TIMEOUT, timeout,
	                          /* 1: what HTTP/1.1 requires (Host:, no space before a
	                           * header's colon) or 400 */
	                          MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
	                          MHD_OPTION_END);
	if (!l->mhd)
		return -EIO;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di)
		return -EIO;
	int r = sd_event_add_io(s->loop, &l->io_src, di->epoll_fd, EPOLLIN, on_io, l);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(s->loop, &l->timer_src, CLOCK_MONOTONIC, 0, 1, on_timer, l);
	if (r < 0)
		return r;
	r = sd_event_add_defer(s->loop, &l->kick_src, on_kick, l);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(l->kick_src, SD_EVENT_OFF);
	(void)sd_event_source_set_description(l->io_src, "http-io");
	(void)sd_event_source_set_description(l->timer_src, "http-timer");
	(void)sd_event_source_set_description(l->kick_src, "http-kick");
	return 0;
}

int http_server_new(sd_event *loop, const http_config *cfg, http_server **ret)
{
	_cleanup_(http_server_freep) http_server *s = xcalloc(1, sizeof *s);
	int fds[HTTP_LISTEN_FDS_MAX];
	size_t n = 0;
	s->loop = sd_event_ref(loop);
	s->body_max = cfg->body_max ? cfg->body_max : HTTP_BODY_MAX_DEFAULT;
	s->defer_timeout_usec = cfg->defer_timeout_usec ? cfg->defer_timeout_usec
	                                                : HTTP_DEFER_TIMEOUT_USEC_DEFAULT;
	int k = sd_event_add_time(loop, &s->deadline_src, CLOCK_MONOTONIC, 0,
	                          HTTP_DEADLINE_ACCURACY_USEC, on_deadline, s);
	if (k < 0)
		return k;
	(void)sd_event_source_set_enabled(s->deadline_src, SD_EVENT_OFF);
	(void)sd_event_source_set_description(s->deadline_src, "http-deadline");
	if (cfg->n_listen_fds > 0) {
		for (size_t i = 0; i < cfg->n_listen_fds; i++) {
			if (i < HTTP_LISTEN_FDS_MAX)
				fds[n++] = cfg->listen_fds[i];
			else
				close(cfg->listen_fds[i]);
		}
	} else {
		if (!cfg->listen)
			return -EINVAL;
		int r = bind_listen(cfg->listen, &fds[0]);
		if (r < 0)
			return r;
		n = 1;
	}
	s->listeners = xcalloc(n, sizeof *s->listeners);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r < 0) {
			close(fds[i]);
			continue;
		}
		r = listener_start(s, &s->listeners[i], fds[i], cfg);
		s->n_listeners = i + 1;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

http_server *http_server_free(http_server *s)
{
	if (!s)
		return NULL;
	s->stopping = true;
	for (http_request *req = s->requests, *next; req; req = next) {
		next = req->next;
		if (req->state == REQ_DEFERRED)
			request_give_up(req, "shutting down");
	}
	for (size_t i = 0; i < s->n_listeners; i++) {
		listener *l = &s->listeners[i];
		if (l->mhd) {
			/* Let the answers just given go out if the sockets take them now: one run
			 * queues those of connections that were not suspended, the next sends. */
			(void)MHD_run(l->mhd);
			(void)MHD_run(l->mhd);
			MHD_stop_daemon(l->mhd);
		}
		sd_event_source_disable_unref(l->io_src);
		sd_event_source_disable_unref(l->timer_src);
		sd_event_source_disable_unref(l->kick_src);
	}
	free(s->listeners);
	for (size_t i = 0; i < s->n_routes; i++) {
		free(s->routes[i]->method);
		free(s->routes[i]->path);
		free(s->routes[i]);
	}
	free(s->routes);
	sd_event_source_disable_unref(s->deadline_src);
	sd_event_unref(s->loop);
	free(s);
	return NULL;
}

int http_server_address(http_server *s, size_t i, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	if (i >= s->n_listeners)
		return -ENOENT;
	*ret = s->listeners[i].addr;
	if (ret_len)
		*ret_len = s->listeners[i].addr_len;
	return 0;
}

size_t http_server_n_listeners(http_server *s)
{
	return s->n_listeners;
}

size_t http_server_n_deferred(http_server *s)
{
	return s->n_deferred;
}
