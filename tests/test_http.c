/* The HTTP ingress (engine/http.c) on its own sd-event loop in a thread, with raw sockets
 * on the client side so that every byte on the wire is the test's: routing (404, 405 with
 * Allow, 415, prefixes), the body cap (413 by Content-Length and past the cap in a chunked
 * body, the server serving the next request), malformed requests (400), deferred answers
 * (answered within a few milliseconds, without suspending the connection; suspend/resume
 * after a loop timer; the deadline, the server's end), more connections
 * than the cap without the loop spinning, and IPv6 loopback.
 *
 * The servers listen on 127.0.0.1 or [::1], port 0 (the kernel picks a free one). No
 * assert depends on timing except "at most a quarter of a second of CPU in one second of
 * idle connections", far from both a healthy loop (a few ms) and a spinning one (all of it). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

#define IO_TIMEOUT_MS 20000

typedef struct srv {
	pthread_t thread;
	int stop_pipe[2], ready_pipe[2];
	char listen[64];
	http_config cfg;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	clockid_t cpu_clock;
	/* owned by the server thread until it is joined */
	http_request *pending;
	sd_event_source *later_src;
	unsigned cancelled, answered_later;
	size_t n_deferred_at_end;
	int start_error;
} srv;

/* ---- handlers ---- */

static int h_echo(http_request *req, void *userdata)
{
	size_t len;
	const char *body = http_request_body(req, &len);
	const char *q = http_request_query(req, "q");
	const char *foo = http_request_header(req, "x-foo");
	_cleanup_free_ char *n = xasprintf("%zu", len);
	const char *h[] = {"X-Echo-Len", n, "X-Query", q ? q : "-", "X-Foo", foo ? foo : "-",
	                   "X-Peer", http_request_peer_string(req), NULL};
	return http_respond(req, 200, "application/octet-stream", body, len, h);
}

/* A body made for the answer, handed over: kept without a copy and freed by the server; an
 * empty one freed at once; one handed over after the answer is refused and freed (ASan's
 * leak check sees any of them kept). */
static int h_take(http_request *req, void *userdata)
{
	const char *n = http_request_query(req, "n");
	size_t len = n ? strlen(n) : 0;
	char *body = xstrdup(n ? n : "");
	int r = http_respond_take(req, 200, "text/plain", body, len, NULL);
	if (r < 0)
		return r;
	char *late = xstrdup("late");
	assert_int_equal(http_respond_take(req, 200, NULL, late, 4, NULL), -EALREADY);
	return 0;
}

static int h_prefix(http_request *req, void *userdata)
{
	_cleanup_free_ char *s = xasprintf("%s %s", (const char *)userdata, http_request_path(req));
	return http_respond_text(req, 200, s);
}

static int on_later(sd_event_source *src, uint64_t usec, void *userdata)
{
	srv *s = userdata;
	if (s->pending && http_respond_text(s->pending, 200, "later") == 0)
		s->answered_later++;
	s->pending = NULL;
	return 0;
}

static void on_cancel(http_request *req, void *userdata)
{
	srv *s = userdata;
	assert_ptr_equal(req, s->pending);
	s->pending = NULL;
	s->cancelled++;
}

/* Answered from a timer on the loop, 200 ms after the handler returned. */
static int h_later(http_request *req, void *userdata)
{
	srv *s = userdata;
	int r = http_request_defer(req, on_cancel, s);
	if (r < 0)
		return r;
	s->pending = req;
	assert_int_equal(http_request_defer(req, on_cancel, s), -EBUSY);
	(void)sd_event_source_set_time_relative(s->later_src, 200 * 1000);
	return sd_event_source_set_enabled(s->later_src, SD_EVENT_ONESHOT);
}

/* Answered from a timer 1 ms after the handler returned: sooner than the server suspends a
 * connection (its connection waits in libmicrohttpd's ready list). */
static int h_soon(http_request *req, void *userdata)
{
	srv *s = userdata;
	int r = http_request_defer(req, on_cancel, s);
	if (r < 0)
		return r;
	s->pending = req;
	(void)sd_event_source_set_time_relative(s->later_src, 1000);
	return sd_event_source_set_enabled(s->later_src, SD_EVENT_ONESHOT);
}

/* Never answered by its owner: the deadline or the server's end does. */
static int h_never(http_request *req, void *userdata)
{
	srv *s = userdata;
	s->pending = req;
	int r = http_request_defer(req, on_cancel, s);
	char c = 2; /* tells the test it is deferred */
	if (write(s->ready_pipe[1], &c, 1) != 1)
		return -errno;
	return r;
}

static int h_broken(http_request *req, void *userdata)
{
	return 0; /* neither answers nor defers */
}

static int on_stop(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	return sd_event_exit(sd_event_source_get_event(src), 0);
}

static void *server_main(void *arg)
{
	srv *s = arg;
	sd_event *loop = NULL;
	http_server *hs = NULL;
	sd_event_source *stop_src = NULL;
	int r = sd_event_new(&loop);
	if (r >= 0)
		r = sd_event_add_io(loop, &stop_src, s->stop_pipe[0], EPOLLIN, on_stop, s);
	if (r >= 0)
		r = sd_event_add_time_relative(loop, &s->later_src, CLOCK_MONOTONIC, 0, 1, on_later, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->later_src, SD_EVENT_OFF);
	if (r >= 0)
		r = http_server_new(loop, &s->cfg, &hs);
	if (r >= 0)
		r = http_server_address(hs, 0, &s->addr, &s->addr_len);
	if (r >= 0) {
		struct {
			const char *method, *path;
			http_handler_fn fn;
			void *ud;
			unsigned flags;
		} routes[] = {
			{"GET", "/healthz", http_handler_healthz, NULL, 0},
			{"POST", "/echo", h_echo, NULL, HTTP_ACCEPT_JSON | HTTP_ACCEPT_TEXT},
			{"PUT", "/echo", h_echo, NULL, 0},
			{"POST", "/any", h_echo, NULL, 0},
			{"GET", "/later", h_later, s, 0},
			{"GET", "/soon", h_soon, s, 0},
			{"GET", "/never", h_never, s, 0},
			{"GET", "/broken", h_broken, NULL, 0},
			{"GET", "/take", h_take, NULL, 0},
			{"GET", "/p/", h_prefix, "short", HTTP_ROUTE_PREFIX},
			{"GET", "/p/deeper/", h_prefix, "long", HTTP_ROUTE_PREFIX},
			{"GET", "/p/exact", h_prefix, "exact", 0},
		};
		for (size_t i = 0; i < ELEMENTSOF(routes) && r >= 0; i++)
			r = http_route_add(hs, routes[i].method, routes[i].path, routes[i].fn,
			                   routes[i].ud, routes[i].flags);
		if (r >= 0)
			assert_int_equal(http_route_add(hs, "GET", "/healthz", http_handler_healthz,
			                                NULL, 0), -EEXIST);
		if (r >= 0)
			assert_int_equal(http_route_add(hs, "GET", "nope", http_handler_healthz, NULL,
			                                0), -EINVAL);
	}
	s->start_error = r < 0 ? r : 0;
	pthread_getcpuclockid(pthread_self(), &s->cpu_clock);
	char c = 1;
	assert_int_equal(write(s->ready_pipe[1], &c, 1), 1);
	if (r >= 0)
		r = sd_event_loop(loop);
	if (hs)
		s->n_deferred_at_end = http_server_n_deferred(hs);
	http_server_free(hs);
	sd_event_source_disable_unref(stop_src);
	sd_event_source_disable_unref(s->later_src);
	sd_event_unref(loop);
	return NULL;
}

/* Starts a server on listen ("127.0.0.1:0"); returns its start error (0 when it runs). */
static int srv_start(srv *s, const char *listen)
{
	snprintf(s->listen, sizeof s->listen, "%s", listen);
	s->cfg.listen = s->listen;
	assert_int_equal(pipe2(s->stop_pipe, O_CLOEXEC), 0);
	assert_int_equal(pipe2(s->ready_pipe, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	char c;
	assert_int_equal(read(s->ready_pipe[0], &c, 1), 1);
	return s->start_error;
}

static void srv_stop(srv *s)
{
	char c = 1;
	assert_int_equal(write(s->stop_pipe[1], &c, 1), 1);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	close(s->ready_pipe[0]);
	close(s->ready_pipe[1]);
}

static int64_t cpu_ms(srv *s)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(s->cpu_clock, &ts), 0);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the client ---- */

static int connect_to(srv *s)
{
	int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&s->addr, s->addr_len), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return; /* the server closed early (413): what it said is still to be read */
		c += k;
		n -= (size_t)k;
	}
}

/* Reads until the server closes (or timeout_ms of silence). NULL if it said nothing. */
static char *read_all(int fd, int timeout_ms)
{
	strbuf b = {0};
	char buf[4096];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r <= 0)
			break;
		ssize_t k = recv(fd, buf, sizeof buf, 0);
		if (k <= 0)
			break;
		strbuf_add(&b, buf, (size_t)k);
	}
	return b.len ? strbuf_steal(&b) : (strbuf_done(&b), NULL);
}

static char *exchange(srv *s, const char *req, size_t len)
{
	int fd = connect_to(s);
	send_all(fd, req, len);
	char *resp = read_all(fd, IO_TIMEOUT_MS);
	close(fd);
	return resp;
}

static char *get(srv *s, const char *method, const char *path, const char *extra)
{
	_cleanup_free_ char *req = xasprintf("%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
	                                     "%s\r\n", method, path, extra ? extra : "");
	return exchange(s, req, strlen(req));
}

static int status_of(const char *resp)
{
	int st = 0;
	if (!resp || sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
		return 0;
	return st;
}

static const char *body_of(const char *resp)
{
	const char *p = resp ? strstr(resp, "\r\n\r\n") : NULL;
	return p ? p + 4 : "";
}

static bool has_header(const char *resp, const char *line)
{
	const char *end = resp ? strstr(resp, "\r\n\r\n") : NULL;
	for (const char *p = resp; p && end && p < end; p = strstr(p, "\r\n") + 2)
		if (strncasecmp(p, line, strlen(line)) == 0)
			return true;
	return false;
}

#define assert_status(resp, st)                                                                    \
	do {                                                                                       \
		if (status_of(resp) != (st))                                                       \
			fail_msg("expected %d, got:\n%s", (st), (resp) ? (resp) : "(nothing)");    \
	} while (0)

/* ---- tests ---- */

static void test_parse_address(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(http_parse_address("127.0.0.1:8470", 1, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8470);
	assert_int_equal(http_parse_address("[::1]:8470", 1, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(http_parse_address("[::]:1", 1, NULL, NULL), 0);
	assert_int_equal(http_parse_address("0.0.0.0:65535", 1, NULL, NULL), 0);
	assert_int_equal(http_parse_address("127.0.0.1:0", 0, NULL, NULL), 0);
	const char *bad[] = {"127.0.0.1:0", "localhost:8470", "::1:8470", "[::1]8470", "[::1]:",
	                     "[]:80", "[127.0.0.1]:80", "127.0.0.1", ":80", "127.0.0.1:65536",
	                     "127.0.0.1:80x", "1.2.3:80", "[::1%lo]:80", ""};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (http_parse_address(bad[i], 1, NULL, NULL) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
}

static void test_routes(void **state)
{
	srv s = {0};
	assert_int_equal(srv_start(&s, "127.0.0.1:0"), 0);

	_cleanup_free_ char *ok = get(&s, "GET", "/healthz", NULL);
	assert_status(ok, 200);
	assert_string_equal(body_of(ok), "ok\n");
	assert_true(has_header(ok, "X-Content-Type-Options: nosniff"));

	_cleanup_free_ char *head = get(&s, "HEAD", "/healthz", NULL);
	assert_status(head, 200);
	assert_string_equal(body_of(head), "");

	_cleanup_free_ char *nf = get(&s, "GET", "/nothing", NULL);
	assert_status(nf, 404);
	assert_true(has_header(nf, "X-Content-Type-Options: nosniff"));

	_cleanup_free_ char *na = get(&s, "DELETE", "/healthz", NULL);
	assert_status(na, 405);
	assert_true(has_header(na, "Allow: GET, HEAD"));
	assert_true(has_header(na, "X-Content-Type-Options: nosniff"));
	_cleanup_free_ char *na2 = get(&s, "GET", "/echo", NULL);
	assert_status(na2, 405);
	assert_true(has_header(na2, "Allow: POST, PUT"));

	/* prefixes: the longest wins, an exact route beats them */
	_cleanup_free_ char *p1 = get(&s, "GET", "/p/a", NULL);
	assert_string_equal(body_of(p1), "short /p/a\n");
	_cleanup_free_ char *p2 = get(&s, "GET", "/p/deeper/x", NULL);
	assert_string_equal(body_of(p2), "long /p/deeper/x\n");
	_cleanup_free_ char *p3 = get(&s, "GET", "/p/exact", NULL);
	assert_string_equal(body_of(p3), "exact /p/exact\n");
	_cleanup_free_ char *p4 = get(&s, "GET", "/p/exact/more", NULL);
	assert_string_equal(body_of(p4), "short /p/exact/more\n");
	_cleanup_free_ char *p5 = get(&s, "GET", "/p", NULL);
	assert_status(p5, 404);

	/* body, query, headers, peer */
	const char req[] = "POST /echo?q=a%20b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	                   "X-Foo: bar\r\nContent-Type: Application/JSON; charset=utf-8\r\n"
	                   "Content-Length: 9\r\n\r\n{\"a\":\"\0\"}";
	_cleanup_free_ char *echo = exchange(&s, req, sizeof req - 1);
	assert_status(echo, 200);
	assert_true(has_header(echo, "X-Echo-Len: 9"));
	assert_true(has_header(echo, "X-Query: a b"));
	assert_true(has_header(echo, "X-Foo: bar"));
	assert_true(has_header(echo, "X-Peer: 127.0.0.1:"));
	assert_memory_equal(body_of(echo), "{\"a\":\"\0\"}", 9);

	/* 415: a route with content types, a request without one of them */
	_cleanup_free_ char *ct = get(&s, "POST", "/echo",
	                              "Content-Type: application/x-www-form-urlencoded\r\n"
	                              "Content-Length: 3\r\n\r\na=b");
	assert_status(ct, 415);
	_cleanup_free_ char *noct = get(&s, "POST", "/echo", "Content-Length: 0\r\n");
	assert_status(noct, 415);
	_cleanup_free_ char *text = get(&s, "POST", "/echo",
	                                "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
	assert_status(text, 200);
	/* a route without content types takes any */
	_cleanup_free_ char *any = get(&s, "POST", "/any",
	                               "Content-Type: image/png\r\nContent-Length: 2\r\n\r\nhi");
	assert_status(any, 200);

	/* a body handed over to the server, and an empty one */
	_cleanup_free_ char *take = get(&s, "GET", "/take?n=handed%20over", NULL);
	assert_status(take, 200);
	assert_string_equal(body_of(take), "handed over");
	assert_true(has_header(take, "X-Content-Type-Options: nosniff"));
	_cleanup_free_ char *empty = get(&s, "GET", "/take", NULL);
	assert_status(empty, 200);
	assert_string_equal(body_of(empty), "");
	assert_true(has_header(empty, "Content-Length: 0"));

	/* a handler that neither answers nor defers: 500, and the server goes on */
	_cleanup_free_ char *broken = get(&s, "GET", "/broken", NULL);
	assert_status(broken, 500);

	/* keep-alive: two requests on one connection */
	const char two[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
	                   "GET /nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	_cleanup_free_ char *both = exchange(&s, two, sizeof two - 1);
	assert_non_null(both);
	assert_non_null(strstr(both, "HTTP/1.1 200"));
	assert_non_null(strstr(both, "HTTP/1.1 404"));
	srv_stop(&s);
}

static void test_malformed(void **state)
{
	srv s = {0};
	assert_int_equal(srv_start(&s, "127.0.0.1:0"), 0);
	const char *reqs[] = {
		"GET /healthz HTTP/1.1\r\n\r\n", /* HTTP/1.1 without Host */
		"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
		"GET http://elsewhere/healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(reqs); i++) {
		_cleanup_free_ char *r = exchange(&s, reqs[i], strlen(reqs[i]));
		/* MHD answers these itself */
		if (status_of(r) != 400) {
			print_message("request %zu: expected 400, got:\n%s", i, r);
			fail();
		}
	}
	_cleanup_free_ char *ok = get(&s, "GET", "/healthz", NULL);
	assert_status(ok, 200);
	srv_stop(&s);
}

static void test_body_cap(void **state)
{
	srv s = {0};
	assert_int_equal(srv_start(&s, "127.0.0.1:0"), 0);
	size_t cap = HTTP_BODY_MAX_DEFAULT;

	/* exactly the cap: served */
	strbuf big = {0};
	strbuf_printf(&big, "PUT /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	                    "Content-Length: %zu\r\n\r\n", cap);
	for (size_t i = 0; i < cap; i++)
		strbuf_putc(&big, 'x');
	_cleanup_free_ char *at = exchange(&s, big.s, big.len);
	assert_status(at, 200);
	_cleanup_free_ char *n = xasprintf("X-Echo-Len: %zu", cap);
	assert_true(has_header(at, n));
	strbuf_done(&big);

	/* one byte more: 413 from the Content-Length, before the body is read */
	strbuf_printf(&big, "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
	              cap + 1);
	for (size_t i = 0; i < cap + 1; i++)
		strbuf_putc(&big, 'x');
	_cleanup_free_ char *over = exchange(&s, big.s, big.len);
	assert_status(over, 413);
	assert_true(has_header(over, "Connection: close"));
	strbuf_done(&big);

	/* the same with Expect: 100-continue and no body sent: answered at once */
	_cleanup_free_ char *hdr = xasprintf("PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
	                                     "Content-Length: %zu\r\n\r\n", cap + 1);
	_cleanup_free_ char *early = exchange(&s, hdr, strlen(hdr));
	assert_status(early, 413);

	/* chunked, past the cap: 413 at its end */
	strbuf_puts(&big, "PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t sent = 0; sent <= cap; sent += 4096) {
		strbuf_printf(&big, "1000\r\n");
		for (size_t i = 0; i < 4096; i++)
			strbuf_putc(&big, 'y');
		strbuf_puts(&big, "\r\n");
	}
	strbuf_puts(&big, "0\r\n\r\n");
	_cleanup_free_ char *chunked = exchange(&s, big.s, big.len);
	assert_status(chunked, 413);
	strbuf_done(&big);

	/* a chunked body that goes on and on: closed, with or without a word */
	strbuf_puts(&big, "PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t sent = 0; sent <= 6 * cap; sent += 4096) {
		strbuf_printf(&big, "1000\r\n");
		for (size_t i = 0; i < 4096; i++)
			strbuf_putc(&big, 'y');
		strbuf_puts(&big, "\r\n");
	}
	_cleanup_free_ char *endless = exchange(&s, big.s, big.len);
	if (endless)
		assert_status(endless, 413);
	strbuf_done(&big);

	/* and the server still serves */
	_cleanup_free_ char *ok = get(&s, "GET", "/healthz", NULL);
	assert_status(ok, 200);
	srv_stop(&s);
}

static void test_deferred(void **state)
{
	srv s = {0};
	s.cfg.defer_timeout_usec = 500 * 1000;
	assert_int_equal(srv_start(&s, "127.0.0.1:0"), 0);

	/* answered from a loop timer after the handler returned; other requests are served
	 * in the meantime */
	int fd = connect_to(&s);
	const char later[] = "GET /later HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	send_all(fd, later, sizeof later - 1);
	_cleanup_free_ char *ok = get(&s, "GET", "/healthz", NULL);
	assert_status(ok, 200);
	_cleanup_free_ char *resp = read_all(fd, IO_TIMEOUT_MS);
	close(fd);
	assert_status(resp, 200);
	assert_string_equal(body_of(resp), "later\n");
	assert_true(has_header(resp, "X-Content-Type-Options: nosniff"));

	/* answered 1 ms later, twice on one connection (the second request sent with the
	 * first): each answer is sent, and the connection takes the next request */
	fd = connect_to(&s);
	const char soon[] = "GET /soon HTTP/1.1\r\nHost: t\r\n\r\n"
	                    "GET /soon HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	send_all(fd, soon, sizeof soon - 1);
	_cleanup_free_ char *two = read_all(fd, IO_TIMEOUT_MS);
	close(fd);
	assert_non_null(two);
	assert_status(two, 200);
	const char *second = strstr(two + 1, "HTTP/1.1 200");
	assert_non_null(second);
	assert_non_null(strstr(second, "\r\n\r\nlater\n"));

	/* never answered by its owner: 503 at the deadline, the owner told first */
	_cleanup_free_ char *never = get(&s, "GET", "/never", NULL);
	assert_status(never, 503);
	char c;
	assert_int_equal(read(s.ready_pipe[0], &c, 1), 1);
	assert_true(has_header(never, "Retry-After: 5"));

	srv_stop(&s);
	assert_int_equal(s.answered_later, 3);
	assert_int_equal(s.cancelled, 1);
	assert_int_equal(s.n_deferred_at_end, 0);
}

static void test_deferred_at_stop(void **state)
{
	srv s = {0}; /* the default deadline, 30 s: the stop comes first */
	assert_int_equal(srv_start(&s, "127.0.0.1:0"), 0);
	int fd = connect_to(&s);
	const char never[] = "GET /never HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	send_all(fd, never, sizeof never - 1);
	char c;
	assert_int_equal(read(s.ready_pipe[0], &c, 1), 1);
	srv_stop(&s);
	assert_int_equal(s.n_deferred_at_end, 1);
	assert_int_equal(s.cancelled, 1);
	_cleanup_free_ char *resp = read_all(fd, IO_TIMEOUT_MS);
	close(fd);
	/* the 503 goes out if the socket took it before the close */
	if (resp)
		assert_status(resp, 503);
}

#define IDLE_CONNS 60
static void test_connection_cap(void **state)
{
	srv s = {.cfg = {.conns_max = 8}};
	assert_int_equal(srv_start(&s, "127.0.0.1:0"), 0);
	int fds[IDLE_CONNS];
	for (size_t i = 0; i < IDLE_CONNS; i++) {
		fds[i] = socket(s.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(fds[i] >= 0);
		int r = connect(fds[i], (struct sockaddr *)&s.addr, s.addr_len);
		assert_true(r == 0 || errno == EINPROGRESS);
	}
	/* one that asks, beyond the cap: queued in the backlog or refused, not served */
	int extra = connect_to(&s);
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	send_all(extra, req, sizeof req - 1);

	int64_t before = cpu_ms(&s);
	_cleanup_free_ char *early = read_all(extra, 1000);
	int64_t used = cpu_ms(&s) - before;
	print_message("%d idle connections, cap 8: the server thread used %lld ms of CPU in 1 s\n",
	              IDLE_CONNS, (long long)used);
	assert_true(used < 250);
	if (early && status_of(early) == 200)
		fail_msg("a connection beyond the cap was served:\n%s", early);

	/* once the idle ones go, the server serves again (the queued one too, if queued) */
	for (size_t i = 0; i < IDLE_CONNS; i++)
		close(fds[i]);
	_cleanup_free_ char *late = read_all(extra, IO_TIMEOUT_MS);
	close(extra);
	print_message("the connection beyond the cap was %s\n",
	              late ? "queued, then served" : "refused");
	if (late)
		assert_status(late, 200);
	_cleanup_free_ char *ok = get(&s, "GET", "/healthz", NULL);
	assert_status(ok, 200);
	srv_stop(&s);
}

static void test_ipv6(void **state)
{
	int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool have = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof a) == 0;
	if (probe >= 0)
		close(probe);
	if (!have) {
		print_message("SKIP: no IPv6 loopback here\n");
		skip();
	}
	srv s = {0};
	assert_int_equal(srv_start(&s, "[::1]:0"), 0);
	assert_int_equal(s.addr.ss_family, AF_INET6);
	_cleanup_free_ char *ok = get(&s, "GET", "/healthz", NULL);
	assert_status(ok, 200);
	_cleanup_free_ char *echo = get(&s, "PUT", "/echo", "Content-Length: 0\r\n");
	assert_true(has_header(echo, "X-Peer: [::1]:"));
	srv_stop(&s);
}

static void test_bind_errors(void **state)
{
	srv a = {0};
	assert_int_equal(srv_start(&a, "127.0.0.1:0"), 0);
	char taken[64];
	snprintf(taken, sizeof taken, "127.0.0.1:%u",
	         ntohs(((struct sockaddr_in *)&a.addr)->sin_port));
	srv b = {0};
	assert_int_equal(srv_start(&b, taken), -EADDRINUSE);
	srv_stop(&b);
	srv c = {0};
	assert_int_equal(srv_start(&c, "localhost:80"), -EINVAL);
	srv_stop(&c);
	srv_stop(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_deferred),
		cmocka_unit_test(test_deferred_at_stop),
		cmocka_unit_test(test_connection_cap),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bind_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
