/* slack: the channel, its [Slack] section and secrets, and what arrives from Slack over the
 * ingress. See slack.h; the Web API side is slack-send.c, the pure parts slack-proto.c.
 *
 * Inbound: every request is checked before anything in it is read: X-Slack-Signature must be
 * "v0=" + HMAC-SHA256(signing secret, "v0:" timestamp ":" raw body), compared in constant
 * time, and the timestamp within 5 minutes of the real time (a replayed request is older);
 * anything else is 401, logged (rate-limited) without the secret. Then the command or button
 * goes to the core with Slack's user id as a verified sender (Slack signed it), and the HTTP
 * answer waits (http_request_defer) until the core says it is durable, so "recorded" in
 * Slack means recorded on disk. Slack wants an answer within 3 s; the core answers after the
 * next group commit, milliseconds later. */
#define _GNU_SOURCE
#include "slack.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "chat-command.h"
#include "slack-private.h"
#include "slack-proto.h"
#include "slack-socket.h"

/* One slash command or button press, from its request until the core answered and the
 * request was answered (or given up by the ingress). */
typedef struct slack_inbound {
	channel *c;        /* NULL once the channel stopped */
	struct slack_inbound *prev, *next; /* in c->inbound */
	http_request *req; /* NULL once answered, or cancelled by the ingress */
	char *envelope;    /* came over Socket Mode: the envelope to ack (NULL once acked) */
	bool is_action;    /* a button: answered by response_url, the request gets an empty 200 */
	bool deferred;     /* the handler returned: on_core_done answers */
	bool core_done;
	inbound_status status;
	char *reply, *reason;
	/* What the core was handed; it reads these until its done callback. */
	char *key, *from, *conversation, *thread, *text, *response_url;
	char *command; /* a slash command: how it is written ("/coco"); NULL for a button */
	inbound_item *items;
	size_t n_items;
} slack_inbound;

/* The running instance. The ingress keeps the handler and userdata of a route from its first
 * registration, across channel restarts; the handlers therefore find the channel here rather
 * than in a userdata pointer that a restart would leave dangling. One Slack channel runs at a
 * time (its name is unique in Connectors=). */
static channel *slack_active;

static int64_t real_now(void)
{
	/* Slack's 5-minute window is about real time, never a test clock. */
	struct timespec ts;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* ---- config and secrets ---- */

static void secret_wipe(char **s, size_t len)
{
	if (*s) {
		OPENSSL_cleanse(*s, len);
		free(*s);
		*s = NULL;
	}
}

/* A secret from [Slack] KEYFile= or, without it, the file NAME in [Secrets] Directory= or
 * $CREDENTIALS_DIRECTORY. Only its path is ever logged. */
static int read_secret(const coco_config *cfg, const char *key, const char *name, char **ret,
                       size_t *ret_len)
{
	const char *file = config_get(cfg, "Slack", key);
	const char *dir = cfg->secrets_dir ? cfg->secrets_dir : getenv("CREDENTIALS_DIRECTORY");
	_cleanup_free_ char *path = NULL;
	if (file)
		path = xstrdup(file);
	else if (dir)
		path = xasprintf("%s/%s", dir, name);
	else {
		log_error("slack: no %s: set [Slack] %s=, or put it in [Secrets] Directory= as %s, "
		          "or pass it as a credential (LoadCredential=%s:/etc/coco/secrets/%s)",
		          name, key, name, name, name);
		return -ENOENT;
	}
	char *data = NULL;
	size_t len = 0;
	int r = read_file(path, 4096, &data, &len);
	if (r < 0)
		return log_error_errno(r, "slack: cannot read %s from %s: %m", name, path);
	size_t full = len;
	while (len > 0 && isspace((unsigned char)data[len - 1]))
		len--;
	data[len] = 0;
	if (len == 0 || strlen(data) != len) {
		secret_wipe(&data, full);
		log_error("slack: %s in %s is empty or holds a NUL byte", name, path);
		return -EINVAL;
	}
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 0077) && !getenv("CREDENTIALS_DIRECTORY"))
		log_warning("slack: %s is readable by group or others: chmod 600 it", path);
	*ret = data;
	*ret_len = len;
	return 0;
}

/* Reads the [Slack] section and its secrets into c: the bot token, and the signing secret
 * (HTTP) or the app-level token (Socket Mode, with AppTokenFile=). On failure c keeps what
 * it had. */
static int load_config(channel *c, const coco_config *cfg)
{
	char *signing = NULL, *token = NULL, *app = NULL;
	size_t signing_len = 0, token_len = 0, app_len = 0;
	bool socket_mode = config_get(cfg, "Slack", "AppTokenFile") != NULL;
	int r = socket_mode ? read_secret(cfg, "AppTokenFile", SLACK_APP_TOKEN_NAME, &app, &app_len)
	                    : read_secret(cfg, "SigningSecretFile", SLACK_SIGNING_SECRET_NAME,
	                                  &signing, &signing_len);
	if (r >= 0)
		r = read_secret(cfg, "BotTokenFile", SLACK_BOT_TOKEN_NAME, &token, &token_len);
	if (r < 0) {
		secret_wipe(&signing, signing_len);
		secret_wipe(&app, app_len);
		return r;
	}
	if (strncmp(token, "xoxb-", 5) != 0)
		log_warning("slack: the bot token does not start with xoxb-: a bot token is needed "
		            "(OAuth & Permissions, Bot User OAuth Token)");
	if (app && strncmp(app, "xapp-", 5) != 0)
		log_warning("slack: the app token does not start with xapp-: Socket Mode needs an "
		            "app-level token with connections:write (Basic Information, App-Level "
		            "Tokens)");
	secret_wipe(&c->signing_secret, c->signing_secret_len);
	slack_signer_wipe(&c->signer);
	secret_wipe(&c->bot_token, c->bot_token ? strlen(c->bot_token) : 0);
	secret_wipe(&c->app_token, c->app_token ? strlen(c->app_token) : 0);
	c->signing_secret = signing;
	c->signing_secret_len = signing_len;
	if (signing)
		slack_signer_init(&c->signer, signing, signing_len);
	c->bot_token = token;
	c->app_token = app;

	const char *url = config_get(cfg, "Slack", "ApiUrl");
	const char *cmd = config_get(cfg, "Slack", "Command");
	free(c->api_url);
	c->api_url = xstrdup(url ? url : SLACK_API_URL_DEFAULT);
	size_t n = strlen(c->api_url);
	while (n > 0 && c->api_url[n - 1] == '/')
		c->api_url[--n] = 0;
	free(c->command);
	c->command = xstrdup(cmd ? cmd : SLACK_COMMAND_DEFAULT);
	return 0;
}

/* ---- inbound ---- */

static void inbound_free(slack_inbound *in)
{
	if (!in)
		return;
	if (in->c) {
		/* A list, not an array: dozens wait for each group commit, and an array was
		 * grown by one and searched for each request. */
		if (in->prev)
			in->prev->next = in->next;
		else
			in->c->inbound = in->next;
		if (in->next)
			in->next->prev = in->prev;
	}
	free(in->reply);
	free(in->reason);
	free(in->key);
	free(in->from);
	free(in->conversation);
	free(in->thread);
	free(in->text);
	free(in->response_url);
	free(in->command);
	free(in->envelope);
	for (size_t i = 0; i < in->n_items; i++) {
		free((char *)in->items[i].question);
		free((char *)in->items[i].value);
	}
	free(in->items);
	free(in);
}

static slack_inbound *inbound_new(channel *c, http_request *req, bool is_action)
{
	slack_inbound *in = xcalloc(1, sizeof *in);
	in->c = c;
	in->req = req;
	in->is_action = is_action;
	in->next = c->inbound;
	if (c->inbound)
		c->inbound->prev = in;
	c->inbound = in;
	return in;
}

/* {"response_type":"ephemeral","text":…}: only the member sees it. */
static int respond_ephemeral(http_request *req, const char *mrkdwn)
{
	size_t len = 0;
	char *body = slack_ephemeral_json(mrkdwn, &len);
	/* Made for this answer: the ingress keeps it as it is, no copy. */
	return http_respond_take(req, 200, "application/json; charset=utf-8", body, len, NULL);
}

/* Says the core's answer (its words and reason, NULL if none) back to the member. */
static void inbound_answer(slack_inbound *in, const char *words, const char *reason)
{
	const char *md;
	switch (in->status) {
	case INBOUND_DONE:
		md = words ? words : "Thanks, got it.";
		break;
	case INBOUND_RETRY:
		md = "Sorry, coco cannot take this just now. Please try again in a minute.";
		break;
	default:
		md = words ? words : slack_rejection_text(reason);
		break;
	}
	_cleanup_free_ char *text = slack_mrkdwn(md);
	int r;
	if (in->envelope) {
		/* Socket Mode: the ack carries a command's reply; a button's goes to response_url. */
		cJSON *reply = NULL;
		if (!in->is_action) {
			reply = cJSON_CreateObject();
			cJSON_AddStringToObject(reply, "response_type", "ephemeral");
			cJSON_AddStringToObject(reply, "text", text);
		} else if (in->c && in->response_url)
			slack_respond_url(in->c, in->response_url, text);
		r = in->c && in->c->socket ? slack_socket_ack(in->c->socket, in->envelope, reply)
		                           : -ENOTCONN;
		cJSON_Delete(reply);
		if (r < 0)
			log_warning_errno(r, "slack: Socket Mode: cannot acknowledge an envelope: %m");
		free(in->envelope);
		in->envelope = NULL;
		return;
	}
	if (in->is_action) {
		/* Slack ignores the body of a block_actions answer: the words go to response_url. */
		r = http_respond(in->req, 200, NULL, NULL, 0, NULL);
		if (in->c && in->response_url)
			slack_respond_url(in->c, in->response_url, text);
	} else
		r = respond_ephemeral(in->req, text);
	if (r < 0)
		log_debug_errno(r, "slack: answering a request failed: %m");
	in->req = NULL;
}

static void on_core_done(const inbound_result *res, void *userdata)
{
	slack_inbound *in = userdata;
	in->core_done = true;
	in->status = res->status;
	if (res->status == INBOUND_RETRY)
		log_warning_errno(res->error, "slack: a message could not be recorded for now (%m); "
		                  "its sender was asked to send it again");
	if (!in->deferred) {
		/* Still inside the handler, which answers once receive() returned: it needs a
		 * copy of the words. Later (the usual case), they are said at once. */
		in->reply = res->reply ? xstrdup(res->reply) : NULL;
		in->reason = res->reason ? xstrdup(res->reason) : NULL;
		return;
	}
	if (in->req || in->envelope)
		inbound_answer(in, res->reply, res->reason);
	inbound_free(in);
}

/* The ingress gave up on the request (its deadline, or the ingress stops); the core still
 * has the message and answers later: only then is it freed. */
static void on_request_cancel(http_request *req, void *userdata)
{
	slack_inbound *in = userdata;
	in->req = NULL;
}

static int hand_over(channel *c, slack_inbound *in)
{
	inbound_msg m = {
		.key = in->key,
		.channel = c->h->name,
		.from = in->from,
		.conversation = in->conversation,
		.thread = in->thread,
		.text = in->text ? in->text : "",
		.items = in->items,
		.n_items = in->n_items,
		.sender_verified = true, /* Slack signed the request that names this user */
		.command = in->command,
	};
	if (in->deferred || in->envelope) {
		/* After a users.info, or over Socket Mode: on_core_done answers, maybe before
		 * receive() returns. */
		in->deferred = true;
		c->h->receive(c->h, &m, on_core_done, in);
		return 0;
	}
	c->h->receive(c->h, &m, on_core_done, in);
	if (in->core_done) {
		inbound_answer(in, in->reply, in->reason);
		inbound_free(in);
		return 0;
	}
	int r = http_request_defer(in->req, on_request_cancel, in);
	if (r < 0) {
		/* The core still answers: then the message is freed, unanswered. */
		in->req = NULL;
		in->deferred = true;
		return log_error_errno(r, "slack: cannot wait for the core's answer: %m");
	}
	in->deferred = true;
	return 0;
}

/* ---- Slack users who are no member's Slack= ----
 * Found by the email Slack has for them (users.info; users.lookupByEmail is the same link
 * the other way), when a member has that Email=: Slack vouches for the address it
 * confirmed. Kept in memory for an hour, a user with no member's address for 10 minutes,
 * at most KNOWN_MAX of them. */

enum { KNOWN_MAX = 1024, KNOWN_TTL = 3600, UNKNOWN_TTL = 600 };

typedef struct slack_known_user {
	char *user;
	char *email; /* NULL: no usable address */
	int64_t at;
} slack_known_user;

static void known_free_all(channel *c)
{
	for (size_t i = 0; i < c->n_known; i++) {
		free(c->known[i].user);
		free(c->known[i].email);
	}
	free(c->known);
	c->known = NULL;
	c->n_known = 0;
}

static slack_known_user *known_find(channel *c, const char *user)
{
	int64_t now = real_now();
	for (size_t i = 0; i < c->n_known; i++) {
		slack_known_user *k = &c->known[i];
		if (!STREQ(k->user, user))
			continue;
		int64_t ttl = k->email ? KNOWN_TTL : UNKNOWN_TTL;
		return now >= k->at && now - k->at < ttl ? k : NULL;
	}
	return NULL;
}

static void known_put(channel *c, const char *user, const char *email)
{
	slack_known_user *k = NULL;
	for (size_t i = 0; i < c->n_known && !k; i++)
		if (STREQ(c->known[i].user, user))
			k = &c->known[i];
	if (!k && c->n_known == KNOWN_MAX) { /* the oldest goes */
		k = &c->known[0];
		for (size_t i = 1; i < c->n_known; i++)
			if (c->known[i].at < k->at)
				k = &c->known[i];
	}
	if (!k) {
		c->known = xrealloc(c->known, (c->n_known + 1) * sizeof *c->known);
		k = &c->known[c->n_known++];
		*k = (slack_known_user){0};
	}
	free(k->user);
	free(k->email);
	*k = (slack_known_user){xstrdup(user), email ? xstrdup(email) : NULL, real_now()};
}

/* Is address some member's Slack= (kind "slack") or Email= (else)? */
static bool member_has(const coco_config *cfg, const char *address)
{
	for (size_t i = 0; i < cfg->n_campaigns; i++)
		if (campaign_find_member_by_address(&cfg->campaigns[i], address))
			return true;
	return false;
}

/* The sender as the core knows them: their Slack id, or the member's email Slack gave. */
static void use_email(channel *c, slack_inbound *in, const char *email)
{
	if (email && member_has(c->h->cfg, email)) {
		log_debug("slack: %s is the member with %s (users.info)", in->from, email);
		free(in->from);
		in->from = xstrdup(email);
	}
}

static int hand_over(channel *c, slack_inbound *in);

/* A slash command the core answers whoever asks: help. */
static bool needs_no_member(const char *text, const char *prefix)
{
	chat_command cmd = {0};
	_cleanup_free_ char *error = NULL;
	int r = chat_command_parse(text ? text : "", prefix, &cmd, &error);
	bool anyone = r >= 0 && cmd.kind == CHAT_HELP;
	chat_command_done(&cmd);
	return anyone;
}

static void on_user_email(channel *c, const char *email, int error, void *userdata)
{
	slack_inbound *in = userdata;
	if (error == -EAGAIN && in->command && needs_no_member(in->text, in->command)) {
		/* Help: anyone may ask. */
		log_info("slack: could not ask Slack who %s is; their command needs no member, "
		         "handed over anyway", in->from);
		(void)hand_over(c, in);
		return;
	}
	if (error == -EAGAIN) {
		/* Slack could not be asked (rate limits, the network, the channel stops). */
		log_warning("slack: could not ask Slack who %s is; they were asked to try again",
		            in->from);
		in->status = INBOUND_RETRY;
		if (in->req || in->envelope)
			inbound_answer(in, NULL, NULL);
		inbound_free(in);
		return;
	}
	known_put(c, in->from, email);
	use_email(c, in, email);
	/* The request waits already: the core's answer answers it. */
	(void)hand_over(c, in);
}

/* Hands the message over as the member the Slack user is, asking Slack who they are if no
 * member has their id. */
static int hand_over_user(channel *c, slack_inbound *in)
{
	if (member_has(c->h->cfg, in->from))
		return hand_over(c, in);
	const slack_known_user *k = known_find(c, in->from);
	if (k) {
		use_email(c, in, k->email);
		return hand_over(c, in);
	}
	int r = slack_user_email(c, in->from, on_user_email, in);
	if (r < 0) {
		log_warning_errno(r, "slack: cannot ask Slack who %s is: %m", in->from);
		return hand_over(c, in);
	}
	if (in->envelope) {
		in->deferred = true;
		return 0;
	}
	r = http_request_defer(in->req, on_request_cancel, in);
	if (r < 0) {
		in->req = NULL;
		log_error_errno(r, "slack: cannot wait for Slack's answer: %m");
	}
	in->deferred = true;
	return 0;
}

static void log_refused(channel *c, http_request *req, int r)
{
	int64_t now = real_now();
	c->refused++;
	if (c->refused_logged && now - c->refused_logged < 30)
		return;
	const char *why = r == -ETIME ? "its timestamp is more than 5 minutes off"
	                  : r == -EPERM ? "its signature does not match the signing secret"
	                                : "it has no X-Slack-Signature or X-Slack-Request-Timestamp";
	log_warning("slack: refused %u request%s not signed by Slack (the last, %s %s from %s: %s)",
	            c->refused, c->refused == 1 ? "" : "s", http_request_method(req),
	            http_request_path(req), http_request_peer_string(req), why);
	c->refused = 0;
	c->refused_logged = now;
}

/* 0 if Slack signed the request; else it is answered 401. */
static int verify(channel *c, http_request *req, const char **ret_body, size_t *ret_len)
{
	size_t len = 0;
	const char *body = http_request_body(req, &len);
	int r = slack_signer_verify(&c->signer,
	                            http_request_header(req, "X-Slack-Request-Timestamp"),
	                            http_request_header(req, "X-Slack-Signature"), body ? body : "",
	                            len, real_now());
	if (r < 0) {
		log_refused(c, req, r);
		(void)http_respond_text(req, 401, r == -ETIME ? "stale request" : "invalid signature");
		return r;
	}
	*ret_body = body ? body : "";
	*ret_len = len;
	return 0;
}

static bool slack_id_ok(const char *s)
{
	return s && *s && strlen(s) <= 32 &&
	       s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")] == 0;
}

/* A slash command, from the HTTP route or Socket Mode (req or envelope): its inbound, or NULL
 * with *ret_refusal (to say to the member) or without (not a slash command). */
static slack_inbound *command_new(channel *c, http_request *req, const char *envelope,
                                  const char *command, const char *user, const char *text,
                                  const char *trigger, char **ret_refusal)
{
	*ret_refusal = NULL;
	if (!command || !slack_id_ok(user) || !trigger || !*trigger)
		return NULL;
	if (!STREQ(command, c->command)) {
		_cleanup_free_ char *md = xasprintf("coco answers to `%s`, not to `%s`.", c->command,
		                                    command);
		*ret_refusal = slack_mrkdwn(md);
		return NULL;
	}
	/* What the text asks is the core's to read (the one command grammar of every chat
	 * channel, engine/chat-command.h). */
	slack_inbound *in = inbound_new(c, req, false);
	in->envelope = envelope ? xstrdup(envelope) : NULL;
	in->key = xasprintf("slack:%s", trigger);
	in->from = xstrdup(user);
	in->text = xstrdup(text ? text : "");
	in->command = xstrdup(c->command);
	/* No sender: it may answer an anonymous round (architecture.md). */
	log_debug("slack: %s", c->command);
	return in;
}

/* POST /slack/commands: a slash command, form-encoded. */
static int on_command(http_request *req, void *userdata)
{
	channel *c = slack_active;
	if (!c)
		return http_respond_text(req, 503, "the Slack channel is not running");
	if (!c->signing_secret)
		return http_respond_text(req, 404, "Slack's HTTP routes are off: coco uses Socket Mode");
	const char *body;
	size_t len;
	if (verify(c, req, &body, &len) < 0)
		return 0;

	/* The four fields in one pass over the body (a field absent or undecodable: NULL). */
	static const char *const keys[] = {"command", "user_id", "trigger_id", "text"};
	int errors[ELEMENTSOF(keys)];
	char *v[ELEMENTSOF(keys)];
	(void)slack_form_fields(body, len, keys, ELEMENTSOF(keys), errors, v);
	_cleanup_free_ char *command = v[0], *user = v[1], *trigger = v[2], *text = v[3];
	_cleanup_free_ char *refusal = NULL;
	slack_inbound *in = command_new(c, req, NULL, command, user, text, trigger, &refusal);
	if (!in)
		return refusal ? respond_ephemeral(req, refusal)
		               : http_respond_text(req, 400, "not a slash command");
	return hand_over_user(c, in);
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A block_actions payload, from the HTTP route or Socket Mode: its inbound, or NULL when there
 * is nothing for coco (a shortcut, a modal, a button not coco's: *ret_bad false) or the
 * payload is unusable (*ret_bad true). */
static slack_inbound *action_new(channel *c, http_request *req, const char *envelope,
                                 const cJSON *p, bool *ret_bad)
{
	*ret_bad = false;
	const char *type = json_str(p, "type");
	const char *user = json_str(cJSON_GetObjectItemCaseSensitive(p, "user"), "id");
	const char *trigger = json_str(p, "trigger_id");
	const cJSON *container = cJSON_GetObjectItemCaseSensitive(p, "container");
	const cJSON *actions = cJSON_GetObjectItemCaseSensitive(p, "actions");
	if (!type || !STREQ(type, "block_actions") || !cJSON_IsArray(actions)) {
		/* Shortcuts, modals: nothing coco offers. Acknowledged, so Slack shows no error. */
		log_debug("slack: ignored an interaction of type %s", type ? type : "(none)");
		return NULL;
	}
	if (!slack_id_ok(user)) {
		*ret_bad = true;
		return NULL;
	}

	slack_inbound *in = inbound_new(c, req, true);
	in->envelope = envelope ? xstrdup(envelope) : NULL;
	const cJSON *a;
	const char *action_ts = NULL;
	cJSON_ArrayForEach(a, actions) {
		char *ref = NULL, *q = NULL, *v = NULL;
		if (slack_button_parse(json_str(a, "value"), &ref, &q, &v) < 0)
			continue;
		in->items = xrealloc(in->items, (in->n_items + 1) * sizeof *in->items);
		in->items[in->n_items++] = (inbound_item){q, v};
		if (ref && !in->conversation)
			in->conversation = ref;
		else
			free(ref);
		if (!action_ts)
			action_ts = json_str(a, "action_ts");
	}
	in->from = xstrdup(user);
	in->key = trigger ? xasprintf("slack:%s", trigger)
	                  : xasprintf("slack:%s:%s", user, action_ts ? action_ts : "?");
	const char *ts = json_str(container, "message_ts");
	in->thread = slack_is_ts(ts) ? xstrdup(ts) : NULL;
	const char *url = json_str(p, "response_url");
	in->response_url = url ? xstrdup(url) : NULL;
	if (in->n_items == 0) {
		log_debug("slack: a button press carried no coco value");
		inbound_free(in);
		return NULL;
	}
	log_debug("slack: a button press");
	return in;
}

/* POST /slack/actions: interactivity, one form field `payload` holding JSON. */
static int on_action(http_request *req, void *userdata)
{
	channel *c = slack_active;
	if (!c)
		return http_respond_text(req, 503, "the Slack channel is not running");
	if (!c->signing_secret)
		return http_respond_text(req, 404, "Slack's HTTP routes are off: coco uses Socket Mode");
	const char *body;
	size_t len;
	if (verify(c, req, &body, &len) < 0)
		return 0;

	_cleanup_free_ char *payload = NULL;
	if (slack_form_get(body, len, "payload", &payload) < 0)
		return http_respond_text(req, 400, "no payload");
	cJSON *p = cJSON_Parse(payload);
	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		return http_respond_text(req, 400, "the payload is not JSON");
	}
	bool bad;
	slack_inbound *in = action_new(c, req, NULL, p, &bad);
	cJSON_Delete(p);
	if (!in)
		return bad ? http_respond_text(req, 400, "no user in the payload")
		           : http_respond(req, 200, NULL, NULL, 0, NULL);
	return hand_over_user(c, in);
}

/* Socket Mode: the same payloads, unsigned (the app token authenticates the connection). */
static void on_envelope(slack_socket *s, const char *type, const cJSON *payload,
                        const char *envelope_id, void *userdata)
{
	channel *c = slack_active;
	slack_inbound *in = NULL;
	if (c && STREQ(type, "slash_commands")) {
		_cleanup_free_ char *refusal = NULL;
		in = command_new(c, NULL, envelope_id, json_str(payload, "command"),
		                 json_str(payload, "user_id"), json_str(payload, "text"),
		                 json_str(payload, "trigger_id"), &refusal);
		if (!in) {
			cJSON *reply = NULL;
			if (refusal) {
				reply = cJSON_CreateObject();
				cJSON_AddStringToObject(reply, "response_type", "ephemeral");
				cJSON_AddStringToObject(reply, "text", refusal);
			} else
				log_warning("slack: Socket Mode: a slash command without its fields, "
				            "ignored");
			(void)slack_socket_ack(s, envelope_id, reply);
			cJSON_Delete(reply);
			return;
		}
	} else if (c && STREQ(type, "interactive")) {
		bool bad;
		in = action_new(c, NULL, envelope_id, payload, &bad);
		if (bad)
			log_warning("slack: Socket Mode: an interaction without a user, ignored");
	} else
		log_debug("slack: Socket Mode: ignored an envelope of type %s", type);
	if (!in) {
		(void)slack_socket_ack(s, envelope_id, NULL);
		return;
	}
	(void)hand_over_user(c, in);
}

/* ---- the channel ---- */

static channel *slack_stop(channel *c)
{
	if (!c)
		return NULL;
	if (slack_active == c)
		slack_active = NULL;
	c->socket = slack_socket_stop(c->socket);
	slack_calls_cancel(c);
	/* The core still answers them; they are freed then. */
	for (slack_inbound *in = c->inbound, *next; in; in = next) {
		next = in->next;
		in->c = NULL;
		in->prev = in->next = NULL;
	}
	free(c->calls);
	known_free_all(c);
	secret_wipe(&c->signing_secret, c->signing_secret_len);
	slack_signer_wipe(&c->signer);
	secret_wipe(&c->bot_token, c->bot_token ? strlen(c->bot_token) : 0);
	secret_wipe(&c->app_token, c->app_token ? strlen(c->app_token) : 0);
	free(c->api_url);
	free(c->command);
	free(c);
	return NULL;
}

static int slack_start(const channel_host *h, channel **ret)
{
	channel *c = xcalloc(1, sizeof *c);
	c->h = h;
	int r = load_config(c, h->cfg);
	if (r < 0) {
		slack_stop(c);
		return r;
	}
	if (slack_active) {
		log_error("slack: another Slack channel is running");
		slack_stop(c);
		return -EBUSY;
	}
	if (c->app_token) {
		/* Socket Mode: Slack is reached from here; nothing listens for it. */
		r = slack_socket_start(h->loop, h->curl, c->api_url, c->app_token, on_envelope, c,
		                       &c->socket);
		if (r < 0) {
			log_error_errno(r, "slack: cannot start Socket Mode: %m");
			slack_stop(c);
			return r;
		}
		slack_active = c;
		log_info("slack: Web API at %s, slash command %s and buttons over Socket Mode",
		         c->api_url, c->command);
		*ret = c;
		return 0;
	}
	r = h->route_add(h, "POST", "/slack/commands", on_command, NULL, HTTP_ACCEPT_FORM);
	if (r >= 0)
		r = h->route_add(h, "POST", "/slack/actions", on_action, NULL, HTTP_ACCEPT_FORM);
	if (r < 0) {
		log_error_errno(r, "slack: cannot add the HTTP routes: %m");
		slack_stop(c);
		return r;
	}
	slack_active = c;
	log_info("slack: Web API at %s, slash command %s on POST /slack/commands, buttons on "
	         "POST /slack/actions", c->api_url, c->command);
	*ret = c;
	return 0;
}

/* Everything is read at use: a reload takes new secrets, ApiUrl= and Command= in place.
 * Secrets that cannot be read keep the old ones running, with the error logged. */
static int slack_reconfigure(channel *c)
{
	/* Between HTTP and Socket Mode, or another app token or Web API: a restart. */
	const char *app_file = config_get(c->h->cfg, "Slack", "AppTokenFile");
	const char *url = config_get(c->h->cfg, "Slack", "ApiUrl");
	_cleanup_free_ char *new_url = xstrdup(url ? url : SLACK_API_URL_DEFAULT);
	for (size_t n = strlen(new_url); n > 0 && new_url[n - 1] == '/'; n--)
		new_url[n - 1] = 0;
	if (!!app_file != !!c->socket || (c->socket && !STREQ(new_url, c->api_url)))
		return -EOPNOTSUPP;
	if (c->socket) {
		char *app = NULL;
		size_t app_len = 0;
		if (read_secret(c->h->cfg, "AppTokenFile", SLACK_APP_TOKEN_NAME, &app, &app_len) >= 0) {
			bool same = c->app_token && STREQ(app, c->app_token);
			secret_wipe(&app, app_len);
			if (!same)
				return -EOPNOTSUPP;
		}
	}
	_cleanup_free_ char *old_url = xstrdup(c->api_url), *old_cmd = xstrdup(c->command);
	int r = load_config(c, c->h->cfg);
	if (r < 0)
		log_warning("slack: keeping the previous settings and secrets");
	else if (!STREQ(old_url, c->api_url) || !STREQ(old_cmd, c->command))
		/* So that an admin sees the new values were taken. */
		log_info("slack: now Web API at %s (was %s), slash command %s", c->api_url, old_url,
		         c->command);
	return 0;
}

static int slack_send_op(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	return slack_send(c, m, done, userdata);
}

static const config_key_def slack_keys[] = {
	{"SigningSecretFile", CONFIG_VALUE_PATH, false, "file holding the app's signing secret (default: slack-signing-secret in [Secrets] Directory= or $CREDENTIALS_DIRECTORY)"},
	{"AppTokenFile", CONFIG_VALUE_PATH, false, "file holding the app-level token xapp-…: Socket Mode, for a site Slack cannot reach (no HTTP routes, no signing secret)"},
	{"BotTokenFile", CONFIG_VALUE_PATH, false, "file holding the bot token xoxb-… (default: slack-bot-token in [Secrets] Directory= or $CREDENTIALS_DIRECTORY)"},
	{"ApiUrl", CONFIG_VALUE_HTTP_URL, false, "the Web API's base URL (default https://slack.com/api)"},
	{"Command", CONFIG_VALUE_STRING, false, "the slash command members answer with (default /coco)"},
	{"Channel", CONFIG_VALUE_STRING, false, "the channel id (C…) where round prompts and digests are posted for every campaign without SlackChannel= (default: none)"},
};
static const config_section_def slack_section = {"Slack", slack_keys, ELEMENTSOF(slack_keys)};
static const config_section_def *const slack_sections[] = {&slack_section, NULL};
static const config_key_def slack_campaign_keys[] = {
	{"SlackChannel", CONFIG_VALUE_STRING, false, "the Slack channel id (C…) where this campaign's round prompts and digests are posted (default: [Slack] Channel=)"},
};
static const config_section_def slack_campaign_section = {"Campaign", slack_campaign_keys,
                                                          ELEMENTSOF(slack_campaign_keys)};

/* The campaign's Slack channel: its own SlackChannel=, else [Slack] Channel=. */
static const char *slack_room(const coco_config *cfg, const coco_campaign *camp)
{
	const char *room = config_campaign_get(camp, "SlackChannel");
	if (!room)
		room = config_get(cfg, "Slack", "Channel");
	return room && *room ? room : NULL;
}

/* How members write the slash command: [Slack] Command=, else /coco. */
static const char *slack_command_word(const coco_config *cfg)
{
	const char *cmd = config_get(cfg, "Slack", "Command");
	return cmd && *cmd ? cmd : SLACK_COMMAND_DEFAULT;
}

const channel_ops slack_channel = {
	.name = "slack",
	.caps = CHANNEL_DM | CHANNEL_ROOM | CHANNEL_THREADS | CHANNEL_BUTTONS | CHANNEL_SYNC_REPLY,
	.address = "slack",
	.sections = slack_sections,
	.campaign_keys = &slack_campaign_section,
	.room = slack_room,
	.command = slack_command_word,
	.kept_elsewhere = "the prompts and digests posted to the campaigns' Slack channels, and "
	                  "the messages in their direct messages with the app, stay in Slack: "
	                  "delete them there",
	.start = slack_start,
	.reconfigure = slack_reconfigure,
	.send = slack_send_op,
	.stop = slack_stop,
};
