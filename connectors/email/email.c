/* email/email: the email channel over real servers — SMTP submission out (smtp.h, on the
 * shared libcurl multi) and IMAP in (imap.h, on its own thread) — with the same mail both
 * ways as the local channel (message.h). It owns the [SMTP] and [IMAP] sections, the IMAP
 * cursor in the store (channels/email/imap-cursor) and the rule that a mail is flagged on
 * the server only once the core's answer is durable. With [Web] BaseUrl= it also serves the
 * one-click unsubscribe of its mails' List-Unsubscribe (RFC 8058) on the HTTP ingress:
 * GET /u/TOKEN a page with a button, POST /u/TOKEN the request, answered 200 once the core
 * recorded it, 403 for a token the core never issued. */
#define _GNU_SOURCE
#include "email/email.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email/auth-results.h"
#include "email/bounce.h"
#include "email/imap.h"
#include "email/message.h"
#include "email/mime-bounds.h"
#include "email/smtp.h"
#include "secret.h"
#include "util.h"

#define CURSOR_KEY "imap-cursor"

typedef struct sending sending;

struct channel {
	const channel_host *h;
	smtp_sender *smtp;
	sending *sendings; /* submissions in flight: told SEND_RETRY and freed at stop */
	imap_client *imap; /* NULL when [IMAP] is not configured: send-only */
	char *signature;   /* the settings it was started with, for reconfigure() */
};

/* One inbound mail, from the IMAP worker to the core and back. */
typedef struct inbound {
	channel *c;
	imap_ack *ack;
	email_inbound *mail;
} inbound;

/* One submission. */
struct sending {
	channel *c;
	sending *next, *prev;
	send_done_fn done;
	void *userdata;
	char *message_id;
};

static void sending_free(sending *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->c->sendings = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->message_id);
	free(s);
}

/* ---- config ---- */

static const config_key_def email_mail_keys[] = {
	{"From", CONFIG_VALUE_ADDRESS, true, "the sender address of outgoing mail; replies come back to From's local part + a per-member tag"},
	{"Name", CONFIG_VALUE_STRING, false, "the sender display name"},
	EMAIL_KEY_AUTHSERVID,
	EMAIL_KEY_REPLY_TO_STRANGERS,
};
static const config_section_def email_mail = {"Mail", email_mail_keys,
                                              ELEMENTSOF(email_mail_keys)};
static const config_key_def smtp_keys[] = {
	{"Url", CONFIG_VALUE_URL, true, "smtp://host:587 (STARTTLS) or smtps://host:465 (TLS from the start)"},
	{"User", CONFIG_VALUE_STRING, false, "the SMTP AUTH user (none: no AUTH)"},
	{"PasswordCredential", CONFIG_VALUE_STRING, false, "file name of the SMTP password in [Secrets] Directory= or $CREDENTIALS_DIRECTORY (default smtp-password)"},
	{"CAFile", CONFIG_VALUE_PATH, false, "PEM file of the CA to trust (default: the system's)"},
	{"StartTLSOptional", CONFIG_VALUE_BOOL, false, "smtp:// only: send in clear text when the server offers no STARTTLS (default no)"},
};
static const config_section_def smtp_section = {"SMTP", smtp_keys, ELEMENTSOF(smtp_keys)};
static const config_key_def imap_keys[] = {
	{"Host", CONFIG_VALUE_STRING, false, "the IMAP server (none: the channel only sends)"},
	{"Port", CONFIG_VALUE_NUMBER, false, "default 993 for imaps, 143 otherwise"},
	{"TLS", CONFIG_VALUE_STRING, false, "imaps, starttls, or none (loopback only) (default imaps)"},
	{"User", CONFIG_VALUE_STRING, false, "the IMAP login"},
	{"PasswordCredential", CONFIG_VALUE_STRING, false, "file name of the IMAP password (default imap-password)"},
	{"Folder", CONFIG_VALUE_STRING, false, "the folder answers arrive in (default INBOX)"},
	{"MoveTo", CONFIG_VALUE_STRING, false, "move handled mail to this folder (default: flag it seen)"},
	{"CAFile", CONFIG_VALUE_PATH, false, "PEM file of the CA to trust (default: the system's)"},
	{"Idle", CONFIG_VALUE_BOOL, false, "use IDLE when the server has it (default yes)"},
	{"PollSeconds", CONFIG_VALUE_NUMBER, false, "how often to look without IDLE (default 60)"},
};
static const config_section_def imap_section = {"IMAP", imap_keys, ELEMENTSOF(imap_keys)};
static const config_section_def *const email_sections[] = {&email_mail, &smtp_section,
                                                           &imap_section, NULL};

/* What the kinds of the keys above do not check (config_channel_def.check). */
static const char *email_config_check(const char *section, const char *key, const char *value)
{
	if (STREQ(section, "SMTP") && STREQ(key, "Url") && strncmp(value, "smtp://", 7) != 0 &&
	    strncmp(value, "smtps://", 8) != 0)
		return "expected smtp://host:587 (STARTTLS) or smtps://host:465 (TLS from the start)";
	if (STREQ(section, "IMAP") && STREQ(key, "TLS") && imap_tls_from_string(value) < 0)
		return "expected imaps, starttls or none";
	return NULL;
}

static const char *get(const channel *c, const char *section, const char *key)
{
	return config_get(c->h->cfg, section, key);
}

/* Every setting the running connections depend on, as one string. */
static char *settings_signature(const coco_config *cfg)
{
	strbuf b = {0};
	for (size_t i = 0; i < cfg->n_settings; i++) {
		const coco_setting *s = &cfg->settings[i];
		if (STREQ(s->section, "SMTP") || STREQ(s->section, "IMAP") ||
		    (STREQ(s->section, "Web") && STREQ(s->key, "BaseUrl")))
			strbuf_printf(&b, "%s.%s=%s\n", s->section, s->key, s->value ? s->value : "");
	}
	strbuf_printf(&b, "secrets=%s\n", cfg->secrets_dir ? cfg->secrets_dir : "");
	return strbuf_steal(&b);
}

/* ---- outbound ---- */

static void on_smtp_done(smtp_status status, int code, const char *error, void *userdata)
{
	sending *s = userdata;
	switch (status) {
	case SMTP_OK:
		s->done(SEND_OK, NULL, s->message_id, s->userdata);
		break;
	case SMTP_FAIL:
		s->done(SEND_FAIL, error ? error : "refused by the SMTP server", NULL, s->userdata);
		break;
	default:
		s->done(SEND_RETRY, error ? error : "temporary SMTP failure", NULL, s->userdata);
		break;
	}
	sending_free(s);
}

static int email_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	_cleanup_free_ char *text = NULL, *err = NULL, *message_id = NULL;
	size_t len = 0;
	int r = email_compose_with(c->h->cfg, m, get(c, "Web", "BaseUrl"), &text, &len,
	                           &message_id, &err);
	if (r < 0) {
		done(SEND_FAIL, err ? err : "could not compose the message", NULL, userdata);
		return 0;
	}
	sending *s = xcalloc(1, sizeof *s);
	*s = (sending){.c = c, .next = c->sendings, .done = done, .userdata = userdata,
	               .message_id = TAKE_PTR(message_id)};
	if (c->sendings)
		c->sendings->prev = s;
	c->sendings = s;
	r = smtp_send(c->smtp, get(c, "Mail", "From"), m->address, text, len, on_smtp_done, s,
	              NULL);
	if (r < 0) {
		sending_free(s);
		done(SEND_FAIL, "the recipient address cannot be used in SMTP", NULL, userdata);
	}
	return 0;
}

/* ---- inbound ---- */

static void on_core_done(const inbound_result *res, void *userdata)
{
	inbound *in = userdata;
	imap_ack_done(in->ack, res->status == INBOUND_DONE       ? IMAP_DONE
	                       : res->status == INBOUND_REJECTED ? IMAP_REJECTED
	                                                         : IMAP_RETRY);
	email_inbound_free(in->mail);
	free(in);
}

static void on_imap_message(void *userdata, const imap_message *msg, imap_ack *ack)
{
	channel *c = userdata;
	if (msg->too_large) {
		log_warning("email: message UID %u is %llu bytes, larger than a survey answer: left "
		            "on the server, flagged", msg->uid, (unsigned long long)msg->size);
		imap_ack_done(ack, IMAP_REJECTED);
		return;
	}
	_cleanup_mail_message_ mail_message *m = NULL;
	int r = mail_parse(msg->raw, msg->len, &m);
	if (r < 0) {
		log_warning("email: message UID %u is not a mail coco can read (%s): left on the "
		            "server, flagged", msg->uid,
		            r == -E2BIG ? "nested or split beyond the limits" : "malformed");
		imap_ack_done(ack, IMAP_REJECTED);
		return;
	}
	email_inbound *mail = NULL;
	if (email_inbound_read(c->h->cfg, msg->raw, msg->len, m, &mail) < 0) {
		imap_ack_done(ack, IMAP_RETRY);
		return;
	}
	inbound *in = xcalloc(1, sizeof *in);
	*in = (inbound){c, ack, mail};
	inbound_msg im;
	email_inbound_msg(mail, c->h->name, &im);
	const char *authserv = get(c, "Mail", "AuthServId");
	im.sender_verified = authserv && mail_sender_authenticated(m, authserv, NULL);
	c->h->receive(c->h, &im, on_core_done, in);
}

static int on_cursor_load(void *userdata, uint32_t *ret_uidvalidity, uint32_t *ret_uid)
{
	channel *c = userdata;
	_cleanup_free_ char *v = NULL;
	*ret_uidvalidity = *ret_uid = 0;
	int r = c->h->cursor_get(c->h, CURSOR_KEY, &v);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	unsigned long a, b;
	if (sscanf(v, "%lu %lu", &a, &b) != 2 || a > UINT32_MAX || b > UINT32_MAX) {
		log_warning("email: the saved IMAP cursor is unreadable: starting from the unseen "
		            "mail in the folder");
		return 0;
	}
	*ret_uidvalidity = (uint32_t)a;
	*ret_uid = (uint32_t)b;
	return 0;
}

static void on_cursor_save(void *userdata, uint32_t uidvalidity, uint32_t uid)
{
	channel *c = userdata;
	_cleanup_free_ char *v = xasprintf("%u %u\n", uidvalidity, uid);
	int r = c->h->cursor_set(c->h, CURSOR_KEY, v);
	if (r < 0)
		log_warning_errno(r, "email: cannot save the IMAP cursor (mail may be read again "
		                     "after a restart; it is recorded once): %m");
}

static void on_imap_state(void *userdata, imap_state state, const char *detail)
{
	if (state == IMAP_STATE_DISCONNECTED || state == IMAP_STATE_CURSOR_RESET)
		log_warning("email: IMAP %s%s%s", imap_state_to_string(state), detail ? ": " : "",
		            detail ? detail : "");
	else
		log_info("email: IMAP %s%s%s", imap_state_to_string(state), detail ? ": " : "",
		         detail ? detail : "");
}

static const imap_hooks hooks = {
	.cursor_load = on_cursor_load,
	.cursor_save = on_cursor_save,
	.on_message = on_imap_message,
	.on_state = on_imap_state,
};

/* ---- one-click unsubscribe (RFC 8058) ---- */

/* The token of /u/TOKEN, or NULL. */
static const char *unsub_token(http_request *req)
{
	const char *p = http_request_path(req);
	if (strncmp(p, "/u/", 3) != 0 || !email_is_ref(p + 3))
		return NULL;
	return p + 3;
}

static const char *const page_headers[] = {
	"Cache-Control", "no-store",
	/* The token is in the URL: no Referer with it to anyone. */
	"Referrer-Policy", "no-referrer",
	"Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
	NULL,
};

static int respond_page(http_request *req, unsigned status, const char *title, const char *text,
                        bool button)
{
	_cleanup_free_ char *html = xasprintf(
		"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width\"><title>%s</title></head>\n"
		"<body><h1>%s</h1>\n<p>%s</p>\n%s</body></html>\n",
		title, title, text,
		button ? "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
		         "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>\n"
		       : "");
	return http_respond(req, status, "text/html; charset=utf-8", html, strlen(html),
	                    page_headers);
}

/* GET never unsubscribes: mail scanners and link previews fetch every link. */
static int on_unsub_get(http_request *req, void *userdata)
{
	(void)userdata;
	if (!unsub_token(req))
		return http_respond_text(req, 404, "not found");
	return respond_page(req, 200, "Unsubscribe?",
	                    "You will get no more mail of this campaign: no invitations, reminders "
	                    "or digests. The organisers can undo it if you ask them.",
	                    true);
}

/* RFC 8058: application/x-www-form-urlencoded "List-Unsubscribe=One-Click", or the same as
 * one multipart/form-data field. */
static bool one_click_body(http_request *req)
{
	size_t len = 0;
	const char *body = http_request_body(req, &len);
	if (!body || !len)
		return false;
#define HAS(lit) (memmem(body, len, lit, sizeof(lit) - 1) != NULL)
	return HAS("List-Unsubscribe=One-Click") ||
	       (HAS("name=\"List-Unsubscribe\"") && HAS("One-Click"));
#undef HAS
}

/* A POST waiting for the core. It outlives the request when the client goes first
 * (cancel), and the channel: the core calls done once whatever happens. */
typedef struct unsub_req {
	http_request *req; /* NULL once answered or cancelled */
	bool deferred, finished;
	inbound_status status;
	char token[EMAIL_REF_LEN + 1];
	char key[EMAIL_REF_LEN + 16];
} unsub_req;

static void unsub_answer(unsub_req *u)
{
	switch (u->status) {
	case INBOUND_DONE:
		(void)respond_page(u->req, 200, "Unsubscribed",
		                   "You will get no more mail of this campaign.", false);
		break;
	case INBOUND_REJECTED:
		(void)respond_page(u->req, 403, "Not a valid link",
		                   "This unsubscribe link is not one we sent: nothing was changed.",
		                   false);
		break;
	default: {
		static const char *const retry[] = {"Retry-After", "60", NULL};
		static const char text[] = "Please try again in a minute.\n";
		(void)http_respond(u->req, 503, "text/plain; charset=utf-8", text, sizeof text - 1,
		                   retry);
		break;
	}
	}
	u->req = NULL;
}

static void on_unsub_done(const inbound_result *res, void *userdata)
{
	unsub_req *u = userdata;
	u->status = res->status;
	u->finished = true;
	if (!u->deferred)
		return; /* answered by the handler, which is still running */
	if (u->req)
		unsub_answer(u);
	free(u);
}

static void on_unsub_cancel(http_request *req, void *userdata)
{
	(void)req;
	unsub_req *u = userdata;
	u->req = NULL; /* the core's done frees u */
}

static int on_unsub_post(http_request *req, void *userdata)
{
	channel *c = userdata;
	const char *token = unsub_token(req);
	if (!token)
		return http_respond_text(req, 404, "not found");
	if (!one_click_body(req))
		return http_respond_text(req, 400, "expected the body List-Unsubscribe=One-Click");
	unsub_req *u = xcalloc(1, sizeof *u);
	u->req = req;
	for (size_t i = 0; i < EMAIL_REF_LEN; i++)
		u->token[i] = (char)(token[i] | 0x20);
	snprintf(u->key, sizeof u->key, "unsubscribe:%s", u->token);
	inbound_msg im = {
		.key = u->key,
		.channel = c->h->name,
		.unsubscribe = u->token,
	};
	c->h->receive(c->h, &im, on_unsub_done, u);
	if (u->finished) {
		unsub_answer(u);
		free(u);
		return 0;
	}
	u->deferred = true;
	int r = http_request_defer(req, on_unsub_cancel, u);
	if (r < 0) {
		/* Cannot happen inside a handler; the core's done still frees u. */
		u->req = NULL;
		return http_respond_text(req, 500, "internal error");
	}
	return 0;
}

static int start_routes(channel *c)
{
	if (!get(c, "Web", "BaseUrl") || !c->h->route_add)
		return 0;
	int r = c->h->route_add(c->h, "GET", "/u/", on_unsub_get, c, HTTP_ROUTE_PREFIX);
	if (r >= 0)
		r = c->h->route_add(c->h, "POST", "/u/", on_unsub_post, c, HTTP_ROUTE_PREFIX);
	if (r < 0)
		return log_error_errno(r, "email: cannot serve the one-click unsubscribe on /u/: %m");
	return 0;
}

/* ---- life ---- */

static channel *email_stop(channel *c)
{
	if (!c)
		return NULL;
	imap_client_free(c->imap);
	/* The sender drops the jobs still queued or running without their callbacks; each gets
	 * its done here (channel.h: the call frees the spool's side; the spool let go of them
	 * and sends those messages again through the next instance). */
	smtp_sender_free(c->smtp);
	while (c->sendings) {
		sending *s = c->sendings;
		s->done(SEND_RETRY, "the email channel stopped", NULL, s->userdata);
		sending_free(s);
	}
	free(c->signature);
	free(c);
	return NULL;
}

static int read_password(channel *c, const char *section, const char *def, char **ret)
{
	*ret = NULL;
	if (!get(c, section, "User"))
		return 0;
	const char *name = get(c, section, "PasswordCredential");
	return secret_read_credential(c->h->cfg->secrets_dir, name ? name : def, ret);
}

static int start_smtp(channel *c)
{
	char *password = NULL;
	int r = read_password(c, "SMTP", "smtp-password", &password);
	if (r < 0)
		return r;
	smtp_config sc = {
		.url = get(c, "SMTP", "Url"),
		.starttls_optional = config_get_bool(c->h->cfg, "SMTP", "StartTLSOptional", false),
		.user = get(c, "SMTP", "User"),
		.password = password,
		.ca_file = get(c, "SMTP", "CAFile"),
		.envelope_from = get(c, "Mail", "From"),
	};
	r = smtp_sender_new(c->h->loop, c->h->curl, &sc, &c->smtp);
	secret_free_text(password);
	if (r < 0)
		return log_error_errno(r, "email: cannot use [SMTP] Url=%s: %m", sc.url);
	return 0;
}

static int start_imap(channel *c)
{
	const char *host = get(c, "IMAP", "Host");
	if (!host) {
		log_notice("email: no [IMAP] Host=: sending only, answers are not read");
		return 0;
	}
	const char *tls = get(c, "IMAP", "TLS");
	imap_tls t = tls ? imap_tls_from_string(tls) : IMAP_TLS_IMPLICIT;
	if (t < 0) {
		log_error("email: [IMAP] TLS=%s: expected imaps, starttls or none", tls);
		return -EINVAL;
	}
	char *password = NULL;
	int r = read_password(c, "IMAP", "imap-password", &password);
	if (r < 0)
		return r;
	long port = 0, poll = 0;
	if (get(c, "IMAP", "Port"))
		(void)parse_long(get(c, "IMAP", "Port"), 1, 65535, &port);
	if (get(c, "IMAP", "PollSeconds"))
		(void)parse_long(get(c, "IMAP", "PollSeconds"), 1, 86400, &poll);
	imap_config ic = {
		.host = host,
		.port = (uint16_t)port,
		.tls = t,
		.user = get(c, "IMAP", "User"),
		.password = password,
		.folder = get(c, "IMAP", "Folder"),
		.move_to = get(c, "IMAP", "MoveTo"),
		.ca_file = get(c, "IMAP", "CAFile"),
		.no_idle = !config_get_bool(c->h->cfg, "IMAP", "Idle", true),
		.poll_interval_sec = (unsigned)poll,
	};
#ifdef COCO_TEST_HOOKS
	/* Tests reconnect in milliseconds, not seconds. */
	if (getenv("COCO_IMAP_BACKOFF_MSEC"))
		ic.backoff_min_msec = ic.backoff_max_msec = (unsigned)atoi(getenv("COCO_IMAP_BACKOFF_MSEC"));
#endif
	const char *why = NULL;
	if (imap_config_check(&ic, &why) < 0) {
		secret_free_text(password);
		log_error("email: [IMAP]: %s", why);
		return -EINVAL;
	}
	r = imap_client_new(c->h->loop, &ic, &hooks, c, &c->imap);
	secret_free_text(password);
	if (r < 0)
		return log_error_errno(r, "email: cannot start reading %s: %m", host);
	return 0;
}

static int email_start(const channel_host *h, channel **ret)
{
	if (!h || !h->loop || !h->receive || !h->curl || !ret)
		return -EINVAL;
	channel *c = xcalloc(1, sizeof *c);
	c->h = h;
	c->signature = settings_signature(h->cfg);
	int r = start_smtp(c);
	if (r >= 0)
		r = start_imap(c);
	if (r >= 0)
		r = start_routes(c);
	if (r < 0) {
		email_stop(c);
		return r;
	}
	log_info("email: sending through %s%s%s", get(c, "SMTP", "Url"),
	         c->imap ? ", reading answers from " : "", c->imap ? get(c, "IMAP", "Host") : "");
	*ret = c;
	return 0;
}

/* [Mail] is read at use; a change to [SMTP], [IMAP] or the secrets restarts the channel. */
static int email_reconfigure(channel *c)
{
	_cleanup_free_ char *sig = settings_signature(c->h->cfg);
	return STREQ(sig, c->signature) ? 0 : -EOPNOTSUPP;
}

const channel_ops email_channel = {
	.name = "email",
	.caps = CHANNEL_DM | CHANNEL_THREADS,
	.address = "email",
	.sections = email_sections,
	.config_check = email_config_check,
	.kept_elsewhere = "the mail they sent stays in coco's mailbox on the IMAP server "
	                  "([IMAP] Folder=, and MoveTo= if set), and what coco sent them in "
	                  "their own mailboxes: delete their mail there by hand",
	.start = email_start,
	.reconfigure = email_reconfigure,
	.send = email_send,
	.stop = email_stop,
};
