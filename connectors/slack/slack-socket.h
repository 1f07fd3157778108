/* slack-socket: Slack's Socket Mode, for a site Slack cannot reach over HTTP (behind a
 * firewall). With an app-level token (`xapp-…`, [Slack] AppTokenFile=) coco asks the Web API
 * for a WebSocket address (apps.connections.open, POST with the token as Bearer) and opens
 * it; Slack then sends the same payloads it would POST to the HTTP routes (slash commands,
 * interactivity) as envelopes, each acknowledged by its envelope_id within 3 s, a slash
 * command's ack carrying the reply. Payloads on the socket are not signed: the app token
 * authenticates the connection.
 *
 * libwebsockets (Debian's libwebsockets 4.1; Debian 12's libcurl has no WebSocket) runs on the
 * daemon's one sd-event loop through its external-poll callbacks: its sockets become sd-event
 * IO sources, and a timer services its scheduled work while a connection exists. No thread.
 *
 * Connections are single-use and short-lived: on a close, an error or Slack's "disconnect"
 * message a new one is opened (a "disconnect" first opens the new one, then closes the old,
 * as Slack asks), backing off 1 s, 2 s, … up to 60 s while it fails (Retry-After on HTTP 429).
 * Envelope ids seen recently are remembered so that a redelivered envelope is acknowledged
 * again but handed on once. Every call happens on the loop thread. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct slack_socket slack_socket;
typedef struct curlloop curlloop;

/* An envelope: type is Slack's ("slash_commands", "interactive", "events_api"), payload its
 * JSON (owned by the socket, valid during the call). The handler must call
 * slack_socket_ack(s, envelope_id, …) exactly once, now or later (within Slack's 3 s). */
typedef void (*slack_socket_fn)(slack_socket *s, const char *type, const cJSON *payload,
                                const char *envelope_id, void *userdata);

/* Starts connecting. api_url: the Web API's base ([Slack] ApiUrl=, no trailing '/');
 * app_token is copied (and wiped at stop). Returns 0 or -errno. */
int slack_socket_start(sd_event *loop, curlloop *curl, const char *api_url,
                       const char *app_token, slack_socket_fn fn, void *userdata,
                       slack_socket **ret);

/* Acknowledges an envelope, with a response payload (a slash command's reply: {"text": …,
 * "response_type": "ephemeral"}) or NULL. An envelope whose connection is gone is
 * acknowledged on the current one. Returns 0, or -ENOTCONN when no connection is open. */
int slack_socket_ack(slack_socket *s, const char *envelope_id, const cJSON *payload);

/* True once a connection has said hello and is open. */
bool slack_socket_connected(const slack_socket *s);

/* Closes the connections and frees. Accepts NULL; returns NULL. */
slack_socket *slack_socket_stop(slack_socket *s);
