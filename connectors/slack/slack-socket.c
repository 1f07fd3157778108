/* slack-socket: see slack-socket.h. */
#define _GNU_SOURCE
#include "slack-socket.h"

#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curlloop.h"
#include "util.h"

/* apps.connections.open's answer is a few hundred bytes. */
#define OPEN_RESPONSE_MAX (64 * 1024)
/* An envelope bigger than this is not one of Slack's (a modal submission is a few KiB). */
#define FRAME_MAX (1024 * 1024)
#define BACKOFF_MAX_S 60
/* While a connection exists, lws's own timers (connect, close, ping) are serviced this often. */
#define SERVICE_TICK_US (250 * 1000)
#define RECENT_MAX 64

typedef struct conn {
	slack_socket *s;
	struct lws *wsi;
	strbuf rx;         /* the frames of one message, until the last */
	char **out;        /* acks waiting for the socket to be writable */
	size_t n_out;
	bool hello;        /* Slack said hello: the connection works */
	bool retiring;     /* replaced after a "disconnect": close once the new one says hello */
	struct conn *next;
} conn;

typedef struct iosrc {
	int fd;
	sd_event_source *es;
} iosrc;

typedef struct recent {
	char *id;
	conn *from; /* NULL once that connection is gone */
	char *ack;  /* the acknowledgement sent (with its reply), or NULL while being handled */
} recent;

struct slack_socket {
	sd_event *loop;
	curlloop *curl;
	char *api_url;
	char *app_token; /* never logged, wiped at stop */
	slack_socket_fn fn;
	void *userdata;

	struct lws_context *ctx;
	conn *conns; /* newest first */
	iosrc *fds;
	size_t n_fds;
	sd_event_source *tick;  /* services lws's timers while a connection exists */
	sd_event_source *retry; /* the next apps.connections.open */
	unsigned backoff_s;
	int64_t retry_after_s;  /* from a 429, for the next wait */

	CURL *easy; /* apps.connections.open in flight */
	struct curl_slist *headers;
	strbuf resp;
	bool resp_too_big;

	recent recent[RECENT_MAX];
	size_t recent_next;
	bool stopping;
};

static void schedule_reconnect(slack_socket *s);
static void service(slack_socket *s);

static void json_freep(cJSON **o)
{
	cJSON_Delete(*o);
}

/* ---- libwebsockets on sd-event ---- */

static uint32_t to_epoll(int events)
{
	return (events & POLLIN ? EPOLLIN : 0) | (events & POLLOUT ? EPOLLOUT : 0);
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	slack_socket *s = userdata;
	struct lws_pollfd pfd = {
		.fd = fd,
		.events = (short)((revents & EPOLLIN ? POLLIN : 0) | (revents & EPOLLOUT ? POLLOUT : 0)),
		.revents = (short)((revents & EPOLLIN ? POLLIN : 0) | (revents & EPOLLOUT ? POLLOUT : 0) |
		                   (revents & EPOLLHUP ? POLLHUP : 0) | (revents & EPOLLERR ? POLLERR : 0)),
	};
	(void)lws_service_fd(s->ctx, &pfd);
	service(s);
	return 0;
}

static int on_tick(sd_event_source *es, uint64_t usec, void *userdata)
{
	service(userdata);
	return 0;
}

/* Runs what lws has due (timers, data TLS buffered), and keeps the tick going while
 * there is a connection. */
static void service(slack_socket *s)
{
	if (!s->ctx)
		return;
	(void)lws_service(s->ctx, -1); /* -1: do not wait */
	if (!s->tick)
		return;
	if (!s->conns) {
		(void)sd_event_source_set_enabled(s->tick, SD_EVENT_OFF);
		return;
	}
	/* 0: something is buffered and wants service at once. */
	uint64_t wait = lws_service_adjust_timeout(s->ctx, 1, 0) == 0 ? 0 : SERVICE_TICK_US;
	(void)sd_event_source_set_time_relative(s->tick, wait);
	(void)sd_event_source_set_enabled(s->tick, SD_EVENT_ONESHOT);
}

static iosrc *fd_find(slack_socket *s, int fd)
{
	for (size_t i = 0; i < s->n_fds; i++)
		if (s->fds[i].fd == fd)
			return &s->fds[i];
	return NULL;
}

static int fd_add(slack_socket *s, int fd, int events)
{
	iosrc *x = fd_find(s, fd);
	if (x)
		return sd_event_source_set_io_events(x->es, to_epoll(events));
	sd_event_source *es;
	int r = sd_event_add_io(s->loop, &es, fd, to_epoll(events), on_io, s);
	if (r < 0)
		return r;
	s->fds = xrealloc(s->fds, (s->n_fds + 1) * sizeof(*s->fds));
	s->fds[s->n_fds++] = (iosrc){fd, es};
	return 0;
}

static void fd_del(slack_socket *s, int fd)
{
	iosrc *x = fd_find(s, fd);
	if (!x)
		return;
	sd_event_source_disable_unref(x->es);
	*x = s->fds[--s->n_fds];
}

/* ---- connections ---- */

static conn *conn_of(slack_socket *s, struct lws *wsi)
{
	for (conn *c = s->conns; c; c = c->next)
		if (c->wsi == wsi)
			return c;
	return NULL;
}

static void conn_free(slack_socket *s, conn *c)
{
	for (conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	for (size_t i = 0; i < RECENT_MAX; i++)
		if (s->recent[i].from == c)
			s->recent[i].from = NULL;
	for (size_t i = 0; i < c->n_out; i++)
		free(c->out[i]);
	free(c->out);
	strbuf_done(&c->rx);
	free(c);
}

static void conn_queue(conn *c, char *text)
{
	c->out = xrealloc(c->out, (c->n_out + 1) * sizeof(*c->out));
	c->out[c->n_out++] = text;
	lws_callback_on_writable(c->wsi);
}

/* Closes a connection from the loop: lws closes it at its next writable callback. */
static void conn_retire(conn *c)
{
	c->retiring = true;
	lws_callback_on_writable(c->wsi);
}

/* An envelope delivered again (Slack missed our acknowledgement, or the connection dropped)
 * is handled once: acknowledged again with the same reply if that was sent, else by the one
 * acknowledgement still to come, now on the connection it came back on. */
static bool seen_before(slack_socket *s, const char *id, conn *from)
{
	for (size_t i = 0; i < RECENT_MAX; i++)
		if (s->recent[i].id && STREQ(s->recent[i].id, id)) {
			s->recent[i].from = from;
			if (s->recent[i].ack) {
				conn_queue(from, xstrdup(s->recent[i].ack));
				service(s);
			}
			return true;
		}
	recent *r = &s->recent[s->recent_next];
	free(r->id);
	free(r->ack);
	*r = (recent){xstrdup(id), from, NULL};
	s->recent_next = (s->recent_next + 1) % RECENT_MAX;
	return false;
}

static void open_connection(slack_socket *s);

static void on_message(slack_socket *s, conn *c, const char *text, size_t len)
{
	_cleanup_(json_freep) cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
	if (!cJSON_IsString(type)) {
		log_warning("slack: Socket Mode: a message that is not an envelope, ignored");
		return;
	}
	if (STREQ(type->valuestring, "hello")) {
		if (!c->hello)
			log_info("slack: Socket Mode connected");
		c->hello = true;
		s->backoff_s = 0;
		/* The connection it replaces can go now. */
		for (conn *old = s->conns; old; old = old->next)
			if (old != c && !old->retiring)
				conn_retire(old);
		return;
	}
	if (STREQ(type->valuestring, "disconnect")) {
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "reason");
		log_info("slack: Socket Mode: Slack asks to reconnect (%s)",
		         cJSON_IsString(why) ? why->valuestring : "no reason");
		/* A new connection first; this one closes when the new one says hello. */
		c->hello = false;
		if (!s->easy && !s->retry)
			open_connection(s);
		return;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "envelope_id");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(o, "payload");
	if (!cJSON_IsString(id) || !*id->valuestring || strlen(id->valuestring) > 200) {
		log_warning("slack: Socket Mode: a \"%.40s\" message without an envelope_id, ignored",
		            type->valuestring);
		return;
	}
	if (seen_before(s, id->valuestring, c))
		return;
	if (!cJSON_IsObject(payload)) {
		log_warning("slack: Socket Mode: envelope without a payload, acknowledged and ignored");
		(void)slack_socket_ack(s, id->valuestring, NULL);
		return;
	}
	s->fn(s, type->valuestring, payload, id->valuestring, s->userdata);
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	slack_socket *s = ctx ? lws_context_user(ctx) : NULL;
	if (!s)
		return 0;
	struct lws_pollargs *pa = in;
	conn *c;
	switch (reason) {
	case LWS_CALLBACK_ADD_POLL_FD:
	case LWS_CALLBACK_CHANGE_MODE_POLL_FD:
		if (fd_add(s, pa->fd, pa->events) < 0)
			return -1;
		break;
	case LWS_CALLBACK_DEL_POLL_FD:
		fd_del(s, pa->fd);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		log_debug("slack: Socket Mode: WebSocket open, waiting for hello");
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		c = conn_of(s, wsi);
		if (!c)
			return -1;
		if (c->rx.len + len > FRAME_MAX) {
			log_warning("slack: Socket Mode: a message over %d bytes, closing", FRAME_MAX);
			return -1;
		}
		strbuf_add(&c->rx, in, len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			_cleanup_free_ char *text = strbuf_steal(&c->rx);
			on_message(s, c, text, strlen(text));
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		c = conn_of(s, wsi);
		if (!c)
			return -1;
		if (c->n_out > 0) {
			char *text = c->out[0];
			size_t n = strlen(text);
			unsigned char *buf = xmalloc(LWS_PRE + n);
			memcpy(buf + LWS_PRE, text, n);
			int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
			free(buf);
			free(text);
			memmove(c->out, c->out + 1, --c->n_out * sizeof(*c->out));
			if (w < (int)n)
				return -1;
			if (c->n_out > 0 || c->retiring)
				lws_callback_on_writable(wsi);
			break;
		}
		if (c->retiring) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_warning("slack: Socket Mode: cannot connect: %s",
		            in && len ? (const char *)in : "no reason given");
		/* fall through */
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		c = conn_of(s, wsi);
		if (!c)
			break;
		bool was_current = !c->retiring;
		if (reason == LWS_CALLBACK_CLIENT_CLOSED && was_current && !s->stopping)
			log_info("slack: Socket Mode connection closed, reconnecting");
		conn_free(s, c);
		if (was_current && !s->stopping && !s->conns)
			schedule_reconnect(s);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"coco-slack", on_lws, 0, 64 * 1024, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static bool loopback_host(const char *h)
{
	return STREQ(h, "127.0.0.1") || STREQ(h, "localhost") || STREQ(h, "::1") ||
	       STREQ(h, "[::1]");
}

/* Opens the WebSocket Slack named. wss only; ws:// only to this machine (the tests). */
static int connect_to(slack_socket *s, const char *url)
{
	_cleanup_free_ char *copy = xstrdup(url);
	const char *scheme, *host, *path;
	int port;
	if (lws_parse_uri(copy, &scheme, &host, &port, &path) || !*host)
		return -EINVAL;
	bool tls = STREQ(scheme, "wss");
	if (!tls && !(STREQ(scheme, "ws") && loopback_host(host)))
		return -EPROTONOSUPPORT;
	_cleanup_free_ char *full_path = xasprintf("/%s", path);
	conn *c = xcalloc(1, sizeof(*c));
	c->s = s;
	struct lws_client_connect_info ci = {
		.context = s->ctx,
		.address = host,
		.port = port,
		.path = full_path,
		.host = host,
		.origin = host,
		.ssl_connection = tls ? LCCSCF_USE_SSL : 0,
		.local_protocol_name = protocols[0].name,
		.pwsi = &c->wsi,
	};
	c->next = s->conns;
	s->conns = c;
	if (!lws_client_connect_via_info(&ci)) {
		/* The connection-error callback may already have freed c. */
		for (conn *x = s->conns; x; x = x->next)
			if (x == c) {
				conn_free(s, c);
				break;
			}
		return -ECONNREFUSED;
	}
	service(s);
	return 0;
}

/* ---- apps.connections.open ---- */

static size_t on_write(char *ptr, size_t size, size_t n, void *userdata)
{
	slack_socket *s = userdata;
	if (s->resp.len + size * n > OPEN_RESPONSE_MAX) {
		s->resp_too_big = true;
		return 0;
	}
	strbuf_add(&s->resp, ptr, size * n);
	return size * n;
}

static void open_cleanup(slack_socket *s)
{
	if (s->easy) {
		(void)curlloop_cancel(s->curl, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	strbuf_done(&s->resp);
	s->resp_too_big = false;
}

static void on_opened(CURL *easy, CURLcode result, void *userdata)
{
	slack_socket *s = userdata;
	long status = 0;
	curl_off_t retry_after = 0;
	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
	_cleanup_free_ char *body = strbuf_steal(&s->resp);
	bool too_big = s->resp_too_big;
	curl_easy_cleanup(s->easy);
	s->easy = NULL;
	open_cleanup(s);

	if (result != CURLE_OK) {
		log_warning("slack: Socket Mode: apps.connections.open: %s",
		            too_big ? "answer too big" : curl_easy_strerror(result));
		schedule_reconnect(s);
		return;
	}
	if (status == 429) {
		s->retry_after_s = retry_after > 0 ? (int64_t)retry_after : 60;
		log_warning("slack: Socket Mode: apps.connections.open rate limited, again in %" PRId64 " s",
		            s->retry_after_s);
		schedule_reconnect(s);
		return;
	}
	_cleanup_(json_freep) cJSON *o = cJSON_Parse(body);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(o, "url");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (status != 200 || !cJSON_IsTrue(ok) || !cJSON_IsString(url)) {
		if (cJSON_IsString(err))
			log_warning("slack: Socket Mode: apps.connections.open failed: %.80s",
			            err->valuestring);
		else
			log_warning("slack: Socket Mode: apps.connections.open failed: HTTP %ld, no "
			            "address in the answer", status);
		/* A refused token will not start working by itself: wait long. */
		if (cJSON_IsString(err) && (STREQ(err->valuestring, "invalid_auth") ||
		                            STREQ(err->valuestring, "not_authed") ||
		                            STREQ(err->valuestring, "not_allowed_token_type")))
			s->backoff_s = BACKOFF_MAX_S;
		schedule_reconnect(s);
		return;
	}
	int r = connect_to(s, url->valuestring);
	if (r < 0) {
		log_warning("slack: Socket Mode: cannot use the address Slack gave (%s)",
		            r == -EPROTONOSUPPORT ? "not wss://" : strerror(-r));
		schedule_reconnect(s);
	}
}

static void open_connection(slack_socket *s)
{
	s->easy = curl_easy_init();
	if (!s->easy) {
		schedule_reconnect(s);
		return;
	}
	_cleanup_free_ char *url = xasprintf("%s/apps.connections.open", s->api_url);
	_cleanup_free_ char *auth = xasprintf("Authorization: Bearer %s", s->app_token);
	s->headers = curl_slist_append(NULL, auth);
	s->headers = curl_slist_append(s->headers,
	                               "Content-Type: application/x-www-form-urlencoded");
	explicit_bzero(auth, strlen(auth));
	if (curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, "") != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 30L) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "coco") != CURLE_OK ||
	    curlloop_add(s->curl, s->easy, on_opened, s) < 0) {
		open_cleanup(s);
		schedule_reconnect(s);
	}
}

static int on_retry(sd_event_source *es, uint64_t usec, void *userdata)
{
	slack_socket *s = userdata;
	s->retry = sd_event_source_disable_unref(s->retry);
	open_connection(s);
	return 0;
}

static void schedule_reconnect(slack_socket *s)
{
	if (s->stopping || s->retry || s->easy)
		return;
	int64_t wait = s->retry_after_s > 0 ? s->retry_after_s : (s->backoff_s ? s->backoff_s : 1);
	s->retry_after_s = 0;
	s->backoff_s = s->backoff_s ? s->backoff_s * 2 : 1;
	if (s->backoff_s > BACKOFF_MAX_S)
		s->backoff_s = BACKOFF_MAX_S;
	if (sd_event_add_time_relative(s->loop, &s->retry, CLOCK_MONOTONIC,
	                               (uint64_t)wait * 1000000, 0, on_retry, s) < 0)
		log_error("slack: Socket Mode: cannot schedule a reconnect");
}

/* ---- the interface ---- */

static void on_lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_internal(level & LLL_ERR ? LOG_WARNING : LOG_DEBUG, 0, "slack: libwebsockets: %.*s",
	             (int)n, line);
}

int slack_socket_start(sd_event *loop, curlloop *curl, const char *api_url,
                       const char *app_token, slack_socket_fn fn, void *userdata,
                       slack_socket **ret)
{
	slack_socket *s = xcalloc(1, sizeof(*s));
	s->loop = sd_event_ref(loop);
	s->curl = curl;
	s->api_url = xstrdup(api_url);
	s->app_token = xstrdup(app_token);
	s->fn = fn;
	s->userdata = userdata;

	lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);
	struct lws_context_creation_info info = {
		.port = CONTEXT_PORT_NO_LISTEN,
		.protocols = protocols,
		.gid = -1,
		.uid = -1,
		.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT,
		.user = s,
		.fd_limit_per_thread = 8,
	};
	if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
		info.client_ssl_ca_filepath = "/etc/ssl/certs/ca-certificates.crt";
	s->ctx = lws_create_context(&info);
	int r = s->ctx ? sd_event_add_time_relative(loop, &s->tick, CLOCK_MONOTONIC, SERVICE_TICK_US,
	                                            0, on_tick, s)
	               : -ENOMEM;
	if (r < 0) {
		slack_socket_stop(s);
		return r;
	}
	(void)sd_event_source_set_enabled(s->tick, SD_EVENT_OFF);
	open_connection(s);
	*ret = s;
	return 0;
}

int slack_socket_ack(slack_socket *s, const char *envelope_id, const cJSON *payload)
{
	conn *to = NULL;
	recent *r = NULL;
	for (size_t i = 0; i < RECENT_MAX; i++)
		if (s->recent[i].id && STREQ(s->recent[i].id, envelope_id))
			r = &s->recent[i], to = r->from;
	if (!to)
		for (conn *c = s->conns; c && !to; c = c->next)
			if (c->hello && !c->retiring)
				to = c;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "envelope_id", envelope_id);
	if (payload)
		cJSON_AddItemToObject(o, "payload", cJSON_Duplicate(payload, true));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* Kept: Slack delivers it again when no acknowledgement reached it (seen_before()). */
	if (r) {
		free(r->ack);
		r->ack = xstrdup(text);
	}
	if (!to) {
		free(text);
		return -ENOTCONN;
	}
	conn_queue(to, text);
	service(s);
	return 0;
}

bool slack_socket_connected(const slack_socket *s)
{
	for (const conn *c = s ? s->conns : NULL; c; c = c->next)
		if (c->hello)
			return true;
	return false;
}

slack_socket *slack_socket_stop(slack_socket *s)
{
	if (!s)
		return NULL;
	s->stopping = true;
	open_cleanup(s);
	s->retry = sd_event_source_disable_unref(s->retry);
	s->tick = sd_event_source_disable_unref(s->tick);
	if (s->ctx)
		lws_context_destroy(s->ctx); /* closes the connections: their callbacks free them */
	while (s->conns)
		conn_free(s, s->conns);
	for (size_t i = 0; i < s->n_fds; i++)
		sd_event_source_disable_unref(s->fds[i].es);
	free(s->fds);
	for (size_t i = 0; i < RECENT_MAX; i++) {
		free(s->recent[i].id);
		free(s->recent[i].ack);
	}
	if (s->app_token)
		explicit_bzero(s->app_token, strlen(s->app_token));
	free(s->app_token);
	free(s->api_url);
	sd_event_unref(s->loop);
	free(s);
	return NULL;
}
