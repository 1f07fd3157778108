/* slack-private: what slack.c (the channel, its config and secrets, inbound requests) and
 * slack-send.c (the Web API) share. Nothing outside connectors/slack/ includes it. */
#pragma once

#include <curl/curl.h>
#include <stdint.h>

#include "channel.h"
#include "slack-proto.h"
#include "util.h"

#define SLACK_API_URL_DEFAULT "https://slack.com/api"
#define SLACK_COMMAND_DEFAULT "/coco"
#define SLACK_SIGNING_SECRET_NAME "slack-signing-secret"
#define SLACK_BOT_TOKEN_NAME "slack-bot-token"
#define SLACK_APP_TOKEN_NAME "slack-app-token"

typedef struct slack_call slack_call;

struct channel {
	const channel_host *h;
	char *api_url; /* [Slack] ApiUrl=, without a trailing '/' */
	char *command; /* [Slack] Command= */
	/* Secrets: never logged, wiped when replaced or freed. */
	char *signing_secret;
	size_t signing_secret_len;
	struct slack_signer signer; /* the signing secret's HMAC key schedule */
	char *bot_token;
	char *app_token; /* Socket Mode's app-level token, or NULL (HTTP routes) */
	struct slack_socket *socket; /* Socket Mode's connection (slack-socket.h), or NULL */
	/* Web API calls in flight (slack-send.c), cancelled by stop(). */
	slack_call **calls;
	size_t n_calls;
	/* Inbound requests the core has not answered yet (slack.c). */
	struct slack_inbound *inbound; /* the requests the core has not answered, a list */
	/* Slack users who are no member's Slack=, by the email users.info gave (slack.c). */
	struct slack_known_user *known;
	size_t n_known;
	/* Refused requests (bad signature, stale), logged at most once per 30 s with a count. */
	unsigned refused;
	int64_t refused_logged;
};

/* slack-send.c */
int slack_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata);
/* Posts an ephemeral confirmation to a button press's response_url (no token: the URL is the
 * credential, never logged). Best effort: failures are logged, nothing is retried. Only
 * URLs on hooks.slack.com or on ApiUrl's own scheme, host and port are followed. */
void slack_respond_url(channel *c, const char *response_url, const char *mrkdwn);
/* users.info: the confirmed email of a Slack user (lower-cased), or NULL for none (not
 * found, deleted, a bot, unconfirmed, no users:read.email scope) with error 0; error < 0 when
 * Slack could not be asked (the channel stopped: -EAGAIN). done runs once, never before
 * this returns 0; a failure to start returns -errno and done never runs. */
typedef void (*slack_email_fn)(channel *c, const char *email, int error, void *userdata);
int slack_user_email(channel *c, const char *user, slack_email_fn done, void *userdata);
/* Stops every call in flight; sends end SEND_RETRY (the spool sends them again). */
void slack_calls_cancel(channel *c);
