/* smtp: see smtp.h. One FIFO of jobs; a pool of at most max_connections easy handles, each
 * running one job at a time through curlloop. Jobs are handed to free handles from a defer
 * source (`kick`), never from inside smtp_send() or a transfer's callback, so no callback of
 * ours runs before the call that caused it has returned, and a callback may free the sender.
 *
 * Reading the outcome: libcurl keeps the server's last reply code (CURLINFO_RESPONSE_CODE).
 * 2xx with CURLE_OK is delivery; a 5xx to MAIL, RCPT or DATA is this message's final refusal;
 * everything else (4xx, no connection, TLS, a refused login, a timeout) may work later. A
 * refused login is a 5xx too (535), but the fault is the configuration's, not the message's:
 * it is a retry, so a wrong password holds mail back instead of dropping it.
 *
 * The server's reply text is caught with libcurl's debug callback, which also sees what we
 * send (AUTH carries the password): only CURLINFO_HEADER_IN, the server's lines, is read. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "email/smtp.h"

#define SMTP_DEFAULT_CONNECTIONS 4
#define SMTP_MAX_CONNECTIONS 16
#define SMTP_DEFAULT_TIMEOUT_SEC 120
#define SMTP_CONNECT_TIMEOUT_SEC 30

typedef struct smtp_conn smtp_conn;

struct smtp_job {
	smtp_sender *sender;
	smtp_job *prev, *next; /* in the queue, or in the running list */
	smtp_conn *conn;       /* running on it, or NULL while queued */
	char *from;	       /* "<addr>" or "<>" */
	char *rcpt;
	char *message;
	size_t len, sent;
	smtp_done_fn cb;
	void *userdata;
};

struct smtp_conn {
	smtp_sender *sender;
	CURL *easy;
	smtp_job *job;
	struct curl_slist *rcpt;
	char errbuf[CURL_ERROR_SIZE];
	char reply[256]; /* the server's last 4xx or 5xx reply line */
};

struct smtp_sender {
	sd_event *event;
	curlloop *loop;
	sd_event_source *kick;
	char *url;
	bool smtps;
	bool starttls_optional;
	char *user;
	char *password;
	char *ca_file;
	char *envelope_from;
	unsigned max_conns;
	unsigned timeout_sec;
	smtp_conn conns[SMTP_MAX_CONNECTIONS];
	unsigned n_conns;
	smtp_job *queue_head, *queue_tail;
	smtp_job *running;
	unsigned pending;
};

static const char *const status_names[_SMTP_STATUS_MAX] = {
    [SMTP_OK] = "ok",
    [SMTP_RETRY] = "retry",
    [SMTP_FAIL] = "fail",
};

const char *smtp_status_to_string(smtp_status s)
{
	return s >= 0 && s < _SMTP_STATUS_MAX ? status_names[s] : NULL;
}

/* An addr-spec for MAIL FROM / RCPT TO: libcurl puts it between <> as it is. */
static bool envelope_addr_ok(const char *a)
{
	if (!a || !*a || strlen(a) > 254 || !strchr(a, '@'))
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

static void job_free(smtp_job *j)
{
	if (!j)
		return;
	free(j->from);
	free(j->rcpt);
	free(j->message);
	free(j);
}

static void list_remove(smtp_job **head, smtp_job **tail, smtp_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		*head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else if (tail)
		*tail = j->prev;
	j->prev = j->next = NULL;
}

static void list_push_front(smtp_job **head, smtp_job **tail, smtp_job *j)
{
	j->prev = NULL;
	j->next = *head;
	if (*head)
		(*head)->prev = j;
	else if (tail)
		*tail = j;
	*head = j;
}

static void queue_push(smtp_sender *s, smtp_job *j)
{
	j->next = NULL;
	j->prev = s->queue_tail;
	if (s->queue_tail)
		s->queue_tail->next = j;
	else
		s->queue_head = j;
	s->queue_tail = j;
}

static size_t on_read(char *buf, size_t size, size_t n, void *userdata)
{
	smtp_job *j = userdata;
	size_t want = size * n, left = j->len - j->sent;
	if (want > left)
		want = left;
	memcpy(buf, j->message + j->sent, want);
	j->sent += want;
	return want;
}

/* The server's lines only (HEADER_IN): what we send includes AUTH and its password. */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
	smtp_conn *c = userdata;
	/* only refusals: after one, libcurl still reads the answer to its QUIT */
	if (type != CURLINFO_HEADER_IN || size < 3 || (data[0] != '4' && data[0] != '5'))
		return 0;
	size_t n = size < sizeof(c->reply) - 1 ? size : sizeof(c->reply) - 1;
	memcpy(c->reply, data, n);
	while (n > 0 && (c->reply[n - 1] == '\n' || c->reply[n - 1] == '\r'))
		n--;
	c->reply[n] = '\0';
	/* a log line, not a terminal: no control characters */
	for (char *p = c->reply; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return 0;
}

static void on_done(CURL *easy, CURLcode result, void *userdata);

/* The parts of a handle that do not change between jobs. */
static int conn_init(smtp_sender *s, smtp_conn *c)
{
	c->sender = s;
	c->easy = curl_easy_init();
	if (!c->easy)
		return -ENOMEM;
	CURL *e = c->easy;
	bool ok = curl_easy_setopt(e, CURLOPT_URL, s->url) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_VERBOSE, 1L) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_DEBUGDATA, c) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)SMTP_CONNECT_TIMEOUT_SEC) ==
		      CURLE_OK &&
		  curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)s->timeout_sec) == CURLE_OK &&
		  /* a dead cached connection is found when it is used, and replaced */
		  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	if (ok && !s->smtps)
		ok = curl_easy_setopt(e, CURLOPT_USE_SSL,
				      s->starttls_optional ? (long)CURLUSESSL_TRY
							   : (long)CURLUSESSL_ALL) == CURLE_OK;
	/* CAFile= is the one CA trusted: without clearing CAPATH, Debian's libcurl-gnutls also
	 * loads every file of /etc/ssl/certs (~140) for each new connection. */
	if (ok && s->ca_file)
		ok = curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_CAPATH, NULL) == CURLE_OK;
	if (ok && s->user)
		ok = curl_easy_setopt(e, CURLOPT_USERNAME, s->user) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_PASSWORD, s->password ? s->password : "") ==
			 CURLE_OK;
	if (!ok) {
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
		return -EINVAL;
	}
	return 0;
}

static int conn_start(smtp_conn *c, smtp_job *j)
{
	curl_slist_free_all(c->rcpt);
	c->rcpt = curl_slist_append(NULL, j->rcpt);
	if (!c->rcpt)
		return -ENOMEM;
	c->errbuf[0] = '\0';
	c->reply[0] = '\0';
	j->sent = 0;
	CURL *e = c->easy;
	if (curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->from) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, c->rcpt) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READDATA, j) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len) != CURLE_OK)
		return -EINVAL;
	int r = curlloop_add(c->sender->loop, e, on_done, c);
	if (r < 0)
		return r;
	c->job = j;
	j->conn = c;
	return 0;
}

static smtp_conn *idle_conn(smtp_sender *s)
{
	for (unsigned i = 0; i < s->n_conns; i++)
		if (!s->conns[i].job)
			return &s->conns[i];
	if (s->n_conns >= s->max_conns)
		return NULL;
	smtp_conn *c = &s->conns[s->n_conns];
	if (conn_init(s, c) < 0)
		return NULL;
	s->n_conns++;
	return c;
}

/* Hands queued jobs to free handles. A job that cannot start is finished as a retry; the
 * callbacks run last, when the sender is no longer touched (one may free it). */
static int on_kick(sd_event_source *src, void *userdata)
{
	smtp_sender *s = userdata;
	smtp_job *failed = NULL;
	int err = 0;

	while (s->queue_head) {
		smtp_conn *c = idle_conn(s);
		if (!c && s->n_conns > 0)
			break; /* all busy: the next on_done kicks again */
		smtp_job *j = s->queue_head;
		list_remove(&s->queue_head, &s->queue_tail, j);
		int r = c ? conn_start(c, j) : -ENOMEM;
		if (r < 0) {
			err = r;
			s->pending--;
			list_push_front(&failed, NULL, j);
			continue;
		}
		list_push_front(&s->running, NULL, j);
	}
	while (failed) {
		smtp_job *j = failed;
		failed = j->next;
		_cleanup_free_ char *msg = xasprintf("could not start the submission: %s",
						     strerror(-err));
		j->cb(SMTP_RETRY, 0, msg, j->userdata);
		job_free(j);
	}
	return 0;
}

static void kick(smtp_sender *s)
{
	(void)sd_event_source_set_enabled(s->kick, SD_EVENT_ONESHOT);
}

static smtp_status classify(CURLcode result, long code)
{
	if (result == CURLE_OK)
		return code >= 200 && code < 300 ? SMTP_OK : SMTP_RETRY;
	if (result == CURLE_LOGIN_DENIED)
		return SMTP_RETRY;
	if (code >= 500 && code < 600)
		return SMTP_FAIL;
	return SMTP_RETRY;
}

static void on_done(CURL *easy, CURLcode result, void *userdata)
{
	smtp_conn *c = userdata;
	smtp_sender *s = c->sender;
	smtp_job *j = c->job;
	long code = 0;

	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	c->job = NULL;
	j->conn = NULL;
	list_remove(&s->running, NULL, j);
	s->pending--;

	smtp_status st = classify(result, code);
	_cleanup_free_ char *err = NULL;
	if (st != SMTP_OK) {
		const char *what = c->errbuf[0] ? c->errbuf : curl_easy_strerror(result);
		err = code >= 400 && c->reply[0] ? xasprintf("%s (server: %s)", what, c->reply)
						 : xstrdup(what);
	}
	if (s->queue_head)
		kick(s);
	/* nothing of s is touched from here on: the callback may free it */
	j->cb(st, (int)code, err, j->userdata);
	job_free(j);
}

int smtp_sender_new(sd_event *event, curlloop *loop, const smtp_config *cfg, smtp_sender **ret)
{
	if (!event || !loop || !cfg || !ret || !cfg->url)
		return -EINVAL;
	bool smtps = strncmp(cfg->url, "smtps://", 8) == 0;
	if (!smtps && strncmp(cfg->url, "smtp://", 7) != 0)
		return -EINVAL;
	if (cfg->envelope_from && !envelope_addr_ok(cfg->envelope_from))
		return -EINVAL;

	smtp_sender *s = xcalloc(1, sizeof(*s));
	s->event = sd_event_ref(event);
	s->loop = loop;
	s->url = xstrdup(cfg->url);
	s->smtps = smtps;
	s->starttls_optional = cfg->starttls_optional;
	s->user = cfg->user ? xstrdup(cfg->user) : NULL;
	s->password = cfg->password ? xstrdup(cfg->password) : NULL;
	s->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	s->envelope_from = cfg->envelope_from ? xstrdup(cfg->envelope_from) : NULL;
	s->max_conns = cfg->max_connections ? cfg->max_connections : SMTP_DEFAULT_CONNECTIONS;
	if (s->max_conns > SMTP_MAX_CONNECTIONS)
		s->max_conns = SMTP_MAX_CONNECTIONS;
	s->timeout_sec = cfg->timeout_sec ? cfg->timeout_sec : SMTP_DEFAULT_TIMEOUT_SEC;
	int r = sd_event_add_defer(event, &s->kick, on_kick, s);
	if (r < 0) {
		smtp_sender_free(s);
		return r;
	}
	(void)sd_event_source_set_enabled(s->kick, SD_EVENT_OFF);
	(void)sd_event_source_set_description(s->kick, "smtp-kick");
	*ret = s;
	return 0;
}

smtp_sender *smtp_sender_free(smtp_sender *s)
{
	if (!s)
		return NULL;
	for (unsigned i = 0; i < s->n_conns; i++) {
		smtp_conn *c = &s->conns[i];
		if (c->job)
			(void)curlloop_cancel(s->loop, c->easy);
		curl_easy_cleanup(c->easy);
		curl_slist_free_all(c->rcpt);
	}
	while (s->running) {
		smtp_job *j = s->running;
		s->running = j->next;
		job_free(j);
	}
	while (s->queue_head) {
		smtp_job *j = s->queue_head;
		s->queue_head = j->next;
		job_free(j);
	}
	sd_event_source_disable_unref(s->kick);
	sd_event_unref(s->event);
	free(s->url);
	free(s->user);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->ca_file);
	free(s->envelope_from);
	free(s);
	return NULL;
}

int smtp_send(smtp_sender *s, const char *envelope_from, const char *rcpt, const char *message,
	      size_t len, smtp_done_fn cb, void *userdata, smtp_job **ret_job)
{
	if (!s || !cb || !message || len == 0 || !envelope_addr_ok(rcpt))
		return -EINVAL;
	const char *from = envelope_from ? envelope_from : s->envelope_from;
	if (from && !envelope_addr_ok(from))
		return -EINVAL;

	smtp_job *j = xcalloc(1, sizeof(*j));
	j->sender = s;
	j->from = from ? xasprintf("<%s>", from) : xstrdup("<>");
	j->rcpt = xasprintf("<%s>", rcpt);
	j->message = xmalloc(len);
	memcpy(j->message, message, len);
	j->len = len;
	j->cb = cb;
	j->userdata = userdata;
	queue_push(s, j);
	s->pending++;
	kick(s);
	if (ret_job)
		*ret_job = j;
	return 0;
}

int smtp_cancel(smtp_sender *s, smtp_job *job)
{
	if (!s || !job || job->sender != s)
		return -ENOENT;
	if (job->conn) {
		smtp_conn *c = job->conn;
		if (curlloop_cancel(s->loop, c->easy) < 0)
			return -ENOENT;
		c->job = NULL;
		list_remove(&s->running, NULL, job);
		if (s->queue_head)
			kick(s);
	} else
		list_remove(&s->queue_head, &s->queue_tail, job);
	s->pending--;
	job_free(job);
	return 0;
}

unsigned smtp_sender_pending(const smtp_sender *s)
{
	return s ? s->pending : 0;
}
