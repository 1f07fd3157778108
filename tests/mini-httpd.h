/* mini-httpd: a tiny HTTP/1.1 server for tests and benchmarks, served on the caller's
 * sd-event loop (in-process: nothing to stop, nothing to kill). It listens on 127.0.0.1, on a
 * port the kernel picks, keeps connections alive, and counts what happened (accepted
 * connections, requests, connections closed by the peer) so that tests can check connection
 * reuse and cancellation.
 *
 * Canned answers, by path:
 *   /echo            200, the request body
 *   /status/NNN      status NNN, body "status NNN"
 *   /slow/MS         200 "slow" after MS milliseconds (requests behind it on the connection
 *                    wait)
 *   anything else    200, "hello " and the path
 * A request with "Expect: 100-continue" gets its "100 Continue" first. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "util.h"

typedef struct httpd httpd;

struct httpd_conn {
	struct httpd_conn *prev, *next;
	httpd *h;
	int fd;
	sd_event_source *src;
	sd_event_source *delay; /* a /slow answer waiting */
	strbuf in, out;
	size_t out_off;
	bool continued; /* "100 Continue" sent for the request being read */
};

struct httpd {
	sd_event *event;
	int fd;
	sd_event_source *src;
	uint16_t port;
	unsigned accepts, requests, closes;
	struct httpd_conn *conns;
};

static void httpd_conn_free(struct httpd_conn *k)
{
	httpd *h = k->h;

	if (k->prev)
		k->prev->next = k->next;
	else
		h->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	sd_event_source_disable_unref(k->src);
	sd_event_source_disable_unref(k->delay);
	close(k->fd);
	strbuf_done(&k->in);
	strbuf_done(&k->out);
	free(k);
}

/* Writes what it can; watches for writability while something is left. Returns -1 if the
 * connection was dropped. */
static int httpd_conn_flush(struct httpd_conn *k)
{
	while (k->out_off < k->out.len) {
		ssize_t n = write(k->fd, k->out.s + k->out_off, k->out.len - k->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			httpd_conn_free(k);
			return -1;
		}
		k->out_off += (size_t)n;
	}
	if (k->out_off == k->out.len) {
		k->out.len = 0;
		k->out_off = 0;
	}
	(void)sd_event_source_set_io_events(k->src, EPOLLIN | (k->out.len ? EPOLLOUT : 0));
	return 0;
}

static void httpd_respond(struct httpd_conn *k, int status, const char *body, size_t len)
{
	strbuf_printf(&k->out,
	              "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
	              status, status == 200 ? "OK" : "Canned", len);
	strbuf_add(&k->out, body, len);
}

static int httpd_parse(struct httpd_conn *k);

static int httpd_on_delay(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct httpd_conn *k = userdata;

	k->delay = sd_event_source_disable_unref(k->delay);
	httpd_respond(k, 200, "slow", 4);
	if (httpd_conn_flush(k) < 0)
		return 0;
	(void)httpd_parse(k); /* requests that waited behind the slow one */
	return 0;
}

/* Answers every complete request in the input buffer. Returns -1 if the connection was
 * dropped. */
static int httpd_parse(struct httpd_conn *k)
{
	while (!k->delay && k->in.len) {
		char *end = memmem(k->in.s, k->in.len, "\r\n\r\n", 4);
		if (!end)
			return 0;
		size_t head = (size_t)(end - k->in.s) + 4;
		size_t body_len = 0;
		bool expect = false;
		for (char *l = strstr(k->in.s, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
			if (!strncasecmp(l + 2, "Content-Length:", 15))
				body_len = strtoul(l + 17, NULL, 10);
			else if (!strncasecmp(l + 2, "Expect: 100-continue", 20))
				expect = true;
		}
		if (k->in.len < head + body_len) {
			if (expect && !k->continued) {
				k->continued = true;
				strbuf_puts(&k->out, "HTTP/1.1 100 Continue\r\n\r\n");
				return httpd_conn_flush(k);
			}
			return 0;
		}
		k->continued = false;
		k->h->requests++;

		char path[256] = "";
		const char *sp = memchr(k->in.s, ' ', head);
		if (sp) {
			const char *sp2 = memchr(sp + 1, ' ', (size_t)(end - sp - 1));
			size_t n = sp2 ? (size_t)(sp2 - sp - 1) : 0;
			if (n >= sizeof(path))
				n = sizeof(path) - 1;
			memcpy(path, sp + 1, n);
			path[n] = 0;
		}
		if (!strcmp(path, "/echo")) {
			httpd_respond(k, 200, k->in.s + head, body_len);
		} else if (!strncmp(path, "/status/", 8)) {
			int status = (int)strtol(path + 8, NULL, 10);
			char body[32];
			int n = snprintf(body, sizeof(body), "status %d", status);
			httpd_respond(k, status, body, (size_t)n);
		} else if (!strncmp(path, "/slow/", 6)) {
			uint64_t ms = strtoull(path + 6, NULL, 10);
			(void)sd_event_add_time_relative(k->h->event, &k->delay, CLOCK_MONOTONIC,
			                                 ms * 1000, 1000, httpd_on_delay, k);
		} else {
			char body[300];
			int n = snprintf(body, sizeof(body), "hello %s", path);
			httpd_respond(k, 200, body, (size_t)n);
		}
		memmove(k->in.s, k->in.s + head + body_len, k->in.len - head - body_len);
		k->in.len -= head + body_len;
		k->in.s[k->in.len] = 0;
		if (httpd_conn_flush(k) < 0)
			return -1;
	}
	return 0;
}

static int httpd_on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct httpd_conn *k = userdata;

	if (revents & EPOLLOUT && httpd_conn_flush(k) < 0)
		return 0;
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			k->h->closes++;
			httpd_conn_free(k);
			return 0;
		}
		strbuf_add(&k->in, buf, (size_t)n);
	}
	(void)httpd_parse(k);
	return 0;
}

static int httpd_on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	httpd *h = userdata;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return 0;
		struct httpd_conn *k = xcalloc(1, sizeof(*k));
		k->h = h;
		k->fd = cfd;
		if (sd_event_add_io(h->event, &k->src, cfd, EPOLLIN, httpd_on_conn, k) < 0) {
			close(cfd);
			free(k);
			continue;
		}
		h->accepts++;
		k->next = h->conns;
		if (h->conns)
			h->conns->prev = k;
		h->conns = k;
	}
}

static httpd *httpd_free(httpd *h)
{
	if (!h)
		return NULL;
	while (h->conns)
		httpd_conn_free(h->conns);
	sd_event_source_disable_unref(h->src);
	if (h->fd >= 0)
		close(h->fd);
	sd_event_unref(h->event);
	free(h);
	return NULL;
}

static int httpd_new(sd_event *event, httpd **ret)
{
	httpd *h = xcalloc(1, sizeof(*h));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int r;

	h->event = sd_event_ref(event);
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(h->fd, 128) < 0 || getsockname(h->fd, (struct sockaddr *)&a, &alen) < 0) {
		r = -errno;
		httpd_free(h);
		return r;
	}
	h->port = ntohs(a.sin_port);
	r = sd_event_add_io(event, &h->src, h->fd, EPOLLIN, httpd_on_listen, h);
	if (r < 0) {
		httpd_free(h);
		return r;
	}
	*ret = h;
	return 0;
}
