/* http: the one HTTP ingress every channel shares (Slack slash commands, Matrix appservice
 * transactions, one-click unsubscribe, the web view). libmicrohttpd runs without threads of
 * its own: each listening socket gets an MHD daemon in external epoll mode whose epoll fd
 * sits on the sd-event loop, and a one-shot timer re-armed from MHD_get_timeout() after
 * every MHD_run(). Everything, handlers included, runs on the loop's thread.
 *
 * The module owns the sockets, the connections, the limits and the routing; what a route
 * does is its handler's. Before a handler runs, the module has already answered
 *   400  what MHD found malformed (MHD's own short page) or a target not starting with '/'
 *   404  a path no route matches
 *   405  a path some route matches, with another method (Allow: lists the methods)
 *   413  a body over the cap (by Content-Length before it is read, or once the bytes read
 *        pass it); the connection is closed after the answer
 *   415  a route that declares its content types (HTTP_ACCEPT_*) and a request that has
 *        another Content-Type
 *   503  the server is stopping, or a deferred request was not answered in time
 * Every response carries X-Content-Type-Options: nosniff. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#define HTTP_BODY_MAX_DEFAULT (64 * 1024)
#define HTTP_CONNS_MAX_DEFAULT 256
#define HTTP_CONN_MEMORY_DEFAULT (32 * 1024)
#define HTTP_TIMEOUT_SEC_DEFAULT 30
#define HTTP_DEFER_TIMEOUT_USEC_DEFAULT (30 * 1000000ULL)
#define HTTP_LISTEN_FDS_MAX 8

typedef struct http_config {
	/* "ADDRESS:PORT" ("127.0.0.1:8470", "[::1]:8470"); port 0 picks a free one (tests). Not
	 * used when listen_fds are given. */
	const char *listen;
	/* Sockets already listening (systemd socket activation, see http_listen_fds()). The
	 * server owns them from http_server_new() on, whether it succeeds or not. */
	const int *listen_fds;
	size_t n_listen_fds;
	size_t body_max;             /* 0: HTTP_BODY_MAX_DEFAULT */
	unsigned conns_max;          /* per listening socket; 0: HTTP_CONNS_MAX_DEFAULT */
	size_t conn_memory;          /* MHD's per-connection pool (headers); 0: the default */
	unsigned timeout_sec;        /* idle connection timeout; 0: HTTP_TIMEOUT_SEC_DEFAULT */
	uint64_t defer_timeout_usec; /* a deferred request's deadline; 0: the default */
} http_config;

typedef struct http_server http_server;
typedef struct http_request http_request;

/* Starts listening. -errno on failure (nothing is left listening). */
int http_server_new(sd_event *loop, const http_config *cfg, http_server **ret);
/* Answers every deferred request 503 (calling its cancel callback first), closes every
 * connection and socket. Accepts NULL. */
http_server *http_server_free(http_server *s);
static inline void http_server_freep(http_server **s)
{
	http_server_free(*s);
}

/* The i-th listening socket's address (tests: the port picked for port 0). */
int http_server_address(http_server *s, size_t i, struct sockaddr_storage *ret, socklen_t *ret_len);
size_t http_server_n_listeners(http_server *s);
/* How many requests are deferred right now (tests, status). */
size_t http_server_n_deferred(http_server *s);

/* Sockets passed by the service manager (sd_listen_fds(1): the environment is unset, so it
 * works once per process). Only listening stream sockets are kept; others are closed with a
 * warning. Returns how many (at most HTTP_LISTEN_FDS_MAX) into ret_fds. */
int http_listen_fds(int ret_fds[HTTP_LISTEN_FDS_MAX]);

/* Parses "A.B.C.D:PORT" or "[IPV6]:PORT" (numeric addresses only, port min_port..65535).
 * -EINVAL if it is neither. */
int http_parse_address(const char *s, unsigned min_port, struct sockaddr_storage *ret,
                       socklen_t *ret_len);

/* Route flags. */
enum {
	HTTP_ROUTE_PREFIX = 1u << 0, /* path is a prefix ("/slack/"); else the exact path */
	/* Content types the route accepts (the media type, without parameters, compared
	 * case-insensitively). None set: any, or none. Some set: others get 415. */
	HTTP_ACCEPT_JSON = 1u << 8,  /* application/json */
	HTTP_ACCEPT_FORM = 1u << 9,  /* application/x-www-form-urlencoded */
	HTTP_ACCEPT_TEXT = 1u << 10, /* text/plain */
};

/* A handler answers the request before it returns, with http_respond(), or defers it with
 * http_request_defer() and answers later from the loop. Returning < 0 without either
 * answers 500 (and logs at debug); returning without answering or deferring is a bug,
 * answered 500 and logged as an error. */
typedef int (*http_handler_fn)(http_request *req, void *userdata);

/* method: "GET" (which answers HEAD too), "POST", ...; path: starts with '/'. The longest
 * matching route wins; an exact route beats a prefix route of the same path. Routes may be
 * added while the server runs. -EEXIST for the same method, path and kind twice. */
int http_route_add(http_server *s, const char *method, const char *path, http_handler_fn fn,
                   void *userdata, unsigned flags);

/* The request, valid from the handler's call until it is answered (or cancelled). */
const char *http_request_method(const http_request *req);
const char *http_request_path(const http_request *req); /* percent-decoded, no query */
/* The first value of a query argument (decoded), NULL if absent. */
const char *http_request_query(const http_request *req, const char *key);
/* A header's value (the name is case-insensitive), NULL if absent. */
const char *http_request_header(const http_request *req, const char *name);
/* The whole body (at most the cap); NUL-terminated for convenience, length without it. */
const char *http_request_body(const http_request *req, size_t *ret_len);
/* The peer address (NULL if unknown) and as text: "127.0.0.1:5555", "[::1]:5555". */
const struct sockaddr *http_request_peer(const http_request *req);
const char *http_request_peer_string(const http_request *req);

/* Answers. body may be NULL when len is 0; it is copied. headers: NULL or a NULL-terminated
 * list of name, value, name, value, ... Answering twice, or a deferred request after its
 * cancel callback, is -EALREADY. After a successful answer, req must not be used. */
int http_respond(http_request *req, unsigned status, const char *content_type, const void *body,
                 size_t len, const char *const *headers);
/* As http_respond(), with a body made for this one answer: body (malloc'd; NULL when len is
 * 0) is the server's from the call on, kept without a copy until the answer is sent and then
 * freed, or freed at once when the call fails. */
int http_respond_take(http_request *req, unsigned status, const char *content_type, char *body,
                      size_t len, const char *const *headers);
/* A short text/plain answer: status and a line of text. */
int http_respond_text(http_request *req, unsigned status, const char *text);

/* Called when a deferred request will not be answered by its owner any more: its deadline
 * passed (it is then answered 503), the server is being freed, or the connection broke (a
 * reset) while the request waited unsuspended. After it returns, req is gone. It may not
 * call http_respond(). */
typedef void (*http_cancel_fn)(http_request *req, void *userdata);

/* Only inside the handler: the answer comes later. The connection waits in MHD's ready list
 * for 10 ms, then is suspended (MHD reads nothing more from it and does not time it out;
 * docs/architecture.md says why not at once) until http_respond(), which may be called
 * from any later callback on the loop (not from another thread), or until the deadline, or
 * the server's end, whichever is first; cancel (may be NULL) says which. -EBUSY outside a
 * handler or after answering. */
int http_request_defer(http_request *req, http_cancel_fn cancel, void *userdata);

/* GET /healthz: 200 "ok". */
int http_handler_healthz(http_request *req, void *userdata);
