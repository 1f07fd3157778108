/* slack-send: messages out through Slack's Web API, with libcurl on the loop (curlloop).
 * A member's message is conversations.open (users=U…: their DM channel, remembered in the
 * channel's cursor "dm.U…") and then chat.postMessage (text as mrkdwn, Block Kit blocks
 * with the prompt's buttons, thread_ts when it answers a Slack message). The spool hears
 * SEND_OK with the message's ts, SEND_RETRY for what may pass (network, HTTP 429 and 5xx,
 * Slack's own trouble: the spool's backoff decides when; Retry-After is only logged), or
 * SEND_FAIL for what will not (channel_not_found, user_not_found, invalid_auth, …).
 * JSON bodies, Bearer token in the header (never in a URL, never logged). */
#define _GNU_SOURCE
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "curlloop.h"
#include "slack-private.h"
#include "slack-proto.h"

/* A Web API answer is small; anything bigger is not one. */
#define SLACK_RESPONSE_MAX (1024 * 1024)
/* Slack truncates `text` past 40,000 characters. */
#define SLACK_TEXT_MAX 39000

typedef enum call_step {
	STEP_OPEN,     /* conversations.open */
	STEP_POST,     /* chat.postMessage */
	STEP_RESPONSE, /* a response_url post, no spool message behind it */
	STEP_USERINFO, /* users.info: a Slack user's email, no spool message behind it */
} call_step;

struct slack_call {
	channel *c;
	CURL *easy;
	struct curl_slist *headers;
	strbuf resp;
	bool too_big;
	call_step step;
	char *user;       /* the member's Slack id */
	char *dm;         /* their DM channel (or a room) once known */
	bool dm_cached;   /* dm came from the cursor, not from this call's conversations.open */
	bool private_msg; /* channel_msg.private_msg: logs and errors name no user */
	cJSON *post;      /* chat.postMessage's body, without its channel */
	send_done_fn done;
	void *userdata;
	slack_email_fn email_done; /* STEP_USERINFO */
};

static size_t on_write(char *ptr, size_t size, size_t n, void *userdata)
{
	slack_call *call = userdata;
	size_t len = size * n;
	if (call->resp.len + len > SLACK_RESPONSE_MAX) {
		call->too_big = true;
		return 0; /* aborts the transfer */
	}
	strbuf_add(&call->resp, ptr, len);
	return len;
}

static void call_free(slack_call *call)
{
	if (!call)
		return;
	channel *c = call->c;
	for (size_t i = 0; c && i < c->n_calls; i++)
		if (c->calls[i] == call) {
			c->calls[i] = c->calls[--c->n_calls];
			break;
		}
	if (call->easy)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->headers);
	strbuf_done(&call->resp);
	free(call->user);
	free(call->dm);
	cJSON_Delete(call->post);
	free(call);
}

static slack_call *call_new(channel *c, call_step step, bool with_token, const char *ctype)
{
	slack_call *call = xcalloc(1, sizeof *call);
	call->c = c;
	call->step = step;
	call->easy = curl_easy_init();
	if (!call->easy) {
		free(call);
		return NULL;
	}
	_cleanup_free_ char *ct = xasprintf("Content-Type: %s", ctype);
	call->headers = curl_slist_append(NULL, ct);
	if (with_token && c->bot_token) {
		_cleanup_free_ char *auth = xasprintf("Authorization: Bearer %s", c->bot_token);
		call->headers = curl_slist_append(call->headers, auth);
		OPENSSL_cleanse(auth, strlen(auth));
	}
	c->calls = xrealloc(c->calls, (c->n_calls + 1) * sizeof *c->calls);
	c->calls[c->n_calls++] = call;
	return call;
}

static void call_done(CURL *easy, CURLcode result, void *userdata);

/* POSTs body (JSON) to url. -errno if it could not even start. */
static int call_start_raw(slack_call *call, const char *url, const char *json);
static int call_start(slack_call *call, const char *url, const cJSON *body)
{
	_cleanup_free_ char *json = cJSON_PrintUnformatted(body);
	return call_start_raw(call, url, json);
}

static int call_start_raw(slack_call *call, const char *url, const char *json)
{
	CURL *e = call->easy;
	strbuf_done(&call->resp);
	call->too_big = false;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(json)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, json) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, call) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "coco") != CURLE_OK)
		return -EINVAL;
	return curlloop_add(call->c->h->curl, e, call_done, call);
}

static int call_method(slack_call *call, const char *method, const cJSON *body)
{
	_cleanup_free_ char *url = xasprintf("%s/%s", call->c->api_url, method);
	return call_start(call, url, body);
}

/* Ends a send: the call is gone before the spool hears of it. */
static void finish_with(slack_call *call, send_status status, const char *remote_id,
                        const char *error)
{
	_cleanup_free_ char *id = remote_id ? xstrdup(remote_id) : NULL;
	_cleanup_free_ char *err = error ? xstrdup(error) : NULL;
	send_done_fn done = call->done;
	slack_email_fn email_done = call->email_done;
	channel *c = call->c;
	void *ud = call->userdata;
	call_free(call);
	if (email_done) /* a lookup ended without an answer: asked again next time */
		email_done(c, NULL, status == SEND_FAIL ? -EPERM : -EAGAIN, ud);
	else if (done)
		done(status, err, id, ud);
}

static void finish(slack_call *call, send_status status, const char *fmt, ...) _printf_(3, 4);
static void finish(slack_call *call, send_status status, const char *fmt, ...)
{
	_cleanup_free_ char *error = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&error, fmt, ap) < 0)
		error = NULL;
	va_end(ap);
	finish_with(call, status, NULL, error);
}

static int post_message(slack_call *call)
{
	cJSON_DeleteItemFromObjectCaseSensitive(call->post, "channel");
	cJSON_AddStringToObject(call->post, "channel", call->dm);
	call->step = STEP_POST;
	return call_method(call, "chat.postMessage", call->post);
}

static int open_dm(slack_call *call)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "users", call->user);
	call->step = STEP_OPEN;
	int r = call_method(call, "conversations.open", o);
	cJSON_Delete(o);
	return r;
}

static char *dm_cursor_key(const char *user)
{
	return xasprintf("dm.%s", user);
}

static const char *step_method(call_step s)
{
	return s == STEP_OPEN ? "conversations.open" : s == STEP_POST ? "chat.postMessage"
	       : s == STEP_USERINFO ? "users.info" : "response_url";
}

static void call_done(CURL *easy, CURLcode result, void *userdata)
{
	slack_call *call = userdata;
	channel *c = call->c;
	const char *method = step_method(call->step);
	long code = 0;
	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);

	if (call->step == STEP_RESPONSE) {
		/* The URL is a credential: it is not logged. */
		if (result != CURLE_OK || code < 200 || code > 299)
			log_warning("slack: posting a confirmation to a button's response_url failed "
			            "(%s, HTTP %ld)", result != CURLE_OK ? curl_easy_strerror(result) : "",
			            code);
		call_free(call);
		return;
	}
	if (result != CURLE_OK) {
		finish(call, SEND_RETRY, "%s: %s", method,
		       call->too_big ? "answer too big" : curl_easy_strerror(result));
		return;
	}
	if (code == 429) {
		curl_off_t after = -1;
		(void)curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after);
		finish(call, SEND_RETRY, "%s: rate limited by Slack (HTTP 429, Retry-After: %lld s)",
		       method, (long long)after);
		return;
	}
	if (code != 200) {
		finish(call, SEND_RETRY, "%s: HTTP %ld from %s", method, code, c->api_url);
		return;
	}
	cJSON *o = cJSON_ParseWithLength(call->resp.s ? call->resp.s : "", call->resp.len);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	if (!cJSON_IsBool(ok)) {
		cJSON_Delete(o);
		finish(call, SEND_RETRY, "%s: the answer from %s is not a Web API answer", method,
		       c->api_url);
		return;
	}
	if (cJSON_IsFalse(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		_cleanup_free_ char *err = xstrdup(cJSON_IsString(e) ? e->valuestring : "unknown_error");
		cJSON_Delete(o);
		if (call->step == STEP_USERINFO && STREQ(err, "user_not_found")) {
			slack_email_fn fn = call->email_done;
			void *ud = call->userdata;
			call->email_done = NULL;
			call_free(call);
			fn(c, NULL, 0, ud);
			return;
		}
		if (call->step == STEP_USERINFO)
			log_warning("slack: users.info failed: %s%s", err,
			            STREQ(err, "missing_scope") ? " (the app needs the users:read and "
			            "users:read.email scopes to find members by their email)" : "");
		if (slack_error_is_temporary(err)) {
			finish(call, SEND_RETRY, "%s: %s", method, err);
			return;
		}
		if (call->step == STEP_POST && call->dm_cached && STREQ(err, "channel_not_found")) {
			/* The remembered DM channel is gone: the next try opens it again. */
			_cleanup_free_ char *key = dm_cursor_key(call->user);
			(void)c->h->cursor_set(c->h, key, "");
			finish(call, SEND_RETRY, "%s: %s (a DM channel remembered for %s; it is "
			       "opened again on the next try)", method, err,
			       call->private_msg ? "the member" : call->user);
			return;
		}
		finish(call, SEND_FAIL, "%s: %s", method, err);
		return;
	}

	if (call->step == STEP_USERINFO) {
		/* Only an address Slack says the user confirmed, of a person who is still there. */
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "user");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "profile");
		const cJSON *email = cJSON_GetObjectItemCaseSensitive(p, "email");
		bool usable = cJSON_IsString(email) && strchr(email->valuestring, '@') &&
		              strlen(email->valuestring) < 256 &&
		              !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "deleted")) &&
		              !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "is_bot")) &&
		              !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(u, "is_email_confirmed"));
		_cleanup_free_ char *addr = usable ? xstrdup(email->valuestring) : NULL;
		for (char *q = addr; q && *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q + 32);
		cJSON_Delete(o);
		slack_email_fn fn = call->email_done;
		void *ud = call->userdata;
		call->email_done = NULL;
		call_free(call);
		fn(c, addr, 0, ud);
		return;
	}
	if (call->step == STEP_OPEN) {
		const char *id = NULL;
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "channel");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(ch, "id");
		if (cJSON_IsString(v) && *v->valuestring && strlen(v->valuestring) <= 64 &&
		    v->valuestring[strspn(v->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")] == 0)
			id = v->valuestring;
		if (!id) {
			cJSON_Delete(o);
			finish(call, SEND_RETRY, "%s: no channel id in the answer", method);
			return;
		}
		call->dm = xstrdup(id);
		cJSON_Delete(o);
		_cleanup_free_ char *key = dm_cursor_key(call->user);
		int r = c->h->cursor_set(c->h, key, call->dm);
		/* A private message names no one: see log_outcome() in engine/spool.c. */
		if (r < 0)
			log_warning_errno(r, "slack: cannot remember the DM channel of %s (it is opened "
			                  "again next time): %m",
			                  call->private_msg ? "a member (private message)" : call->user);
		r = post_message(call);
		if (r < 0)
			finish(call, SEND_RETRY, "chat.postMessage: cannot start: %s", strerror(-r));
		return;
	}

	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
	if (!cJSON_IsString(ts) || !slack_is_ts(ts->valuestring)) {
		cJSON_Delete(o);
		/* Slack said ok: it is posted, only its id is missing. */
		finish_with(call, SEND_OK, NULL, NULL);
		return;
	}
	_cleanup_free_ char *id = xstrdup(ts->valuestring);
	cJSON_Delete(o);
	finish_with(call, SEND_OK, id, NULL);
}

/* The chat.postMessage body for m, without its channel. */
static cJSON *post_body(channel *c, const channel_msg *m)
{
	cJSON *o = cJSON_CreateObject();
	_cleanup_free_ char *text = slack_mrkdwn(m->markdown);
	if (strlen(text) > SLACK_TEXT_MAX) {
		size_t cut = SLACK_TEXT_MAX;
		while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
			cut--;
		text[cut] = 0;
	}
	cJSON_AddStringToObject(o, "text", text);
	cJSON *blocks = slack_blocks(m);
	cJSON_AddItemToObject(o, "blocks", blocks);
	cJSON_AddBoolToObject(o, "unfurl_links", false);
	cJSON_AddBoolToObject(o, "unfurl_media", false);
	if (slack_is_ts(m->in_reply_to))
		cJSON_AddStringToObject(o, "thread_ts", m->in_reply_to);
	return o;
}

static bool id_ok(const char *s)
{
	return s && *s && strlen(s) <= 64 &&
	       s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")] == 0;
}

int slack_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	const char *user = m->room ? NULL : m->address;
	if (!m->room && !id_ok(user)) {
		_cleanup_free_ char *why = xasprintf("no Slack user id for member %s",
		                                     m->private_msg ? "(private)" :
		                                     m->member ? m->member : "?");
		done(SEND_FAIL, why, NULL, userdata);
		return 0;
	}
	if (m->room && !id_ok(m->room)) {
		done(SEND_FAIL, "not a Slack channel id", NULL, userdata);
		return 0;
	}
	slack_call *call = call_new(c, STEP_POST, true, "application/json; charset=utf-8");
	if (!call)
		return -ENOMEM;
	call->done = done;
	call->userdata = userdata;
	call->private_msg = m->private_msg;
	call->post = post_body(c, m);
	int r;
	if (m->room) {
		call->dm = xstrdup(m->room);
		r = post_message(call);
	} else {
		call->user = xstrdup(user);
		_cleanup_free_ char *key = dm_cursor_key(user), *dm = NULL;
		if (c->h->cursor_get(c->h, key, &dm) >= 0 && id_ok(dm)) {
			call->dm = TAKE_PTR(dm);
			call->dm_cached = true;
			r = post_message(call);
		} else
			r = open_dm(call);
	}
	if (r < 0) {
		/* Not started: the spool counts it as a temporary failure. */
		call->done = NULL;
		call_free(call);
		return r;
	}
	return 0;
}

/* Scheme, host and port of a URL, "https://hooks.slack.com:443"; NULL if it has none. */
static char *url_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *ret = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		ret = xasprintf("%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

void slack_respond_url(channel *c, const char *response_url, const char *mrkdwn)
{
	_cleanup_free_ char *origin = url_origin(response_url);
	_cleanup_free_ char *api = url_origin(c->api_url);
	if (!origin || (!STREQ(origin, "https://hooks.slack.com:443") && !(api && STREQ(origin, api)))) {
		log_warning("slack: a button's response_url is not on hooks.slack.com (nor on ApiUrl's "
		            "host): no confirmation posted");
		return;
	}
	slack_call *call = call_new(c, STEP_RESPONSE, false, "application/json; charset=utf-8");
	if (!call)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "response_type", "ephemeral");
	cJSON_AddBoolToObject(o, "replace_original", false);
	cJSON_AddStringToObject(o, "text", mrkdwn);
	int r = call_start(call, response_url, o);
	cJSON_Delete(o);
	if (r < 0) {
		log_warning_errno(r, "slack: cannot post to a button's response_url: %m");
		call_free(call);
	}
}

void slack_calls_cancel(channel *c)
{
	while (c->n_calls > 0) {
		slack_call *call = c->calls[c->n_calls - 1];
		(void)curlloop_cancel(c->h->curl, call->easy);
		finish(call, SEND_RETRY, "the Slack channel stopped");
	}
}

int slack_user_email(channel *c, const char *user, slack_email_fn done, void *userdata)
{
	/* users.info takes a form (or a query string), not JSON. */
	slack_call *call = call_new(c, STEP_USERINFO, true, "application/x-www-form-urlencoded");
	if (!call)
		return -ENOMEM;
	call->user = xstrdup(user);
	call->email_done = done;
	call->userdata = userdata;
	_cleanup_free_ char *url = xasprintf("%s/users.info", c->api_url);
	_cleanup_free_ char *body = xasprintf("user=%s", user); /* [A-Z0-9] only */
	int r = call_start_raw(call, url, body);
	if (r < 0) {
		call->email_done = NULL;
		call_free(call);
	}
	return r;
}
