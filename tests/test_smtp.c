/* smtp.c against a real Postfix (tests/mailservers.sh): run by tests/t-smtp.sh, which
 * starts the servers, passes their ports in the environment, and checks on the IMAP side
 * what this program sent. Alone (tests/run.sh runs every test_* binary), it has no server
 * and says so.
 *
 *   test_smtp batch N DIR   N messages to alice, STARTTLS verified with MAIL_CA, at most 4
 *                           connections; each message is also written to DIR/N.eml
 *   test_smtp reject        5xx for an unknown user and a foreign domain: FAIL with the code;
 *                           a good message after them: OK
 *   test_smtp tls           smtps:// verified: OK; the wrong CA (OTHER_CA): RETRY
 *   test_smtp auth          AUTH on the submission port: OK; a wrong password: RETRY 535;
 *                           no AUTH there: FAIL
 *   test_smtp downup DIR    OK; then DIR/stop is created and the server goes away: RETRY;
 *                           then DIR/start, and once it is back: OK, with the same sender
 *   test_smtp cancel        a queued and a running job cancelled: no callback; freeing the
 *                           sender from a callback with jobs queued
 *
 * Nothing is timed: the loop runs until the awaited callbacks came, with a deadline (60 s)
 * that only a hang reaches. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "curlloop.h"
#include "email/mime.h"
#include "email/smtp.h"
#include "util.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

typedef struct result {
	int calls;
	smtp_status status;
	int code;
	char error[512];
} result;

static sd_event *event;
static curlloop *loop;
static unsigned done;

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void run_until_done(unsigned want)
{
	uint64_t end = now_usec() + 60 * 1000000ULL;
	while (done < want && now_usec() < end)
		CHECK(sd_event_run(event, 100000) >= 0);
	CHECK(done >= want);
}

static void on_done(smtp_status status, int code, const char *error, void *userdata)
{
	result *r = userdata;
	r->calls++;
	r->status = status;
	r->code = code;
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
	printf("  %s %d %s\n", smtp_status_to_string(status), code, error ? error : "");
	CHECK((status == SMTP_OK) == (error == NULL));
	done++;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	CHECK(v && *v);
	return v;
}

static char *message(const char *to, const char *token)
{
	_cleanup_free_ char *subject = xasprintf("Runde %s – bitte antworten 🙂", token);
	_cleanup_free_ char *text =
	    xasprintf("Hallo Änn,\n\ntoken %s\n.\nFrom a line with a dot above\n%s\n", token,
		      "a long line a long line a long line a long line a long line a long line "
		      "a long line a long line a long line");
	struct mail_outbound o = {
	    .from = "coco@example.test",
	    .from_name = "Coco",
	    .to = to,
	    .reply_to = "coco+TAG@example.test",
	    .subject = subject,
	    .text = text,
	    .html = "<p>Hallo &Auml;nn</p>",
	    .list_unsubscribe = "https://coco.example/u/OPAQUE",
	};
	char *msg = NULL;
	CHECK(mail_build(&o, &msg, NULL) == 0);
	return msg;
}

static smtp_sender *sender(const char *url, const char *ca, const char *user, const char *pw)
{
	smtp_config cfg = {
	    .url = url,
	    .ca_file = ca,
	    .user = user,
	    .password = pw,
	    .envelope_from = "bounces@example.test",
	    .max_connections = 4,
	};
	smtp_sender *s = NULL;
	CHECK(smtp_sender_new(event, loop, &cfg, &s) == 0);
	return s;
}

static void send_one(smtp_sender *s, const char *to, result *r)
{
	_cleanup_free_ char *msg = message(to, "one");
	memset(r, 0, sizeof(*r));
	unsigned before = done;
	CHECK(smtp_send(s, NULL, to, msg, strlen(msg), on_done, r, NULL) == 0);
	CHECK(r->calls == 0); /* never from inside smtp_send() */
	run_until_done(before + 1);
	CHECK(r->calls == 1);
}

static char *url(const char *scheme, const char *port_var)
{
	return xasprintf("%s://127.0.0.1:%s", scheme, env(port_var));
}

static void phase_batch(unsigned n, const char *dir)
{
	_cleanup_free_ char *u = url("smtp", "SMTP_PORT");
	smtp_sender *s = sender(u, env("MAIL_CA"), NULL, NULL);
	result *r = xcalloc(n, sizeof(*r));
	for (unsigned i = 0; i < n; i++) {
		char token[32];
		snprintf(token, sizeof(token), "msg-%u", i);
		_cleanup_free_ char *msg = message("alice@example.test", token);
		_cleanup_free_ char *path = xasprintf("%s/%u.eml", dir, i);
		FILE *f = fopen(path, "w");
		CHECK(f && fwrite(msg, 1, strlen(msg), f) == strlen(msg) && fclose(f) == 0);
		CHECK(smtp_send(s, NULL, "alice@example.test", msg, strlen(msg), on_done, &r[i],
				NULL) == 0);
	}
	CHECK(smtp_sender_pending(s) == n);
	run_until_done(n);
	for (unsigned i = 0; i < n; i++) {
		CHECK(r[i].calls == 1);
		CHECK(r[i].status == SMTP_OK);
		CHECK(r[i].code == 250);
	}
	CHECK(smtp_sender_pending(s) == 0);
	free(r);
	smtp_sender_free(s);
}

static void phase_reject(void)
{
	_cleanup_free_ char *u = url("smtp", "SMTP_PORT");
	smtp_sender *s = sender(u, env("MAIL_CA"), NULL, NULL);
	result r;
	send_one(s, "nobody@example.test", &r);
	CHECK(r.status == SMTP_FAIL && r.code == 550);
	CHECK(strstr(r.error, "550") != NULL);
	send_one(s, "someone@elsewhere.test", &r);
	CHECK(r.status == SMTP_FAIL && r.code == 554);
	CHECK(strstr(r.error, "Relay access denied") != NULL);
	send_one(s, "alice+after-reject@example.test", &r);
	CHECK(r.status == SMTP_OK && r.code == 250);
	/* what is refused before anything is sent */
	CHECK(smtp_send(s, NULL, "a@b>\r\nRCPT TO:<x@y", "x\r\n", 3, on_done, &r, NULL) == -EINVAL);
	CHECK(smtp_send(s, "a b@c", "a@b", "x\r\n", 3, on_done, &r, NULL) == -EINVAL);
	CHECK(smtp_send(s, NULL, "a@b", "", 0, on_done, &r, NULL) == -EINVAL);
	smtp_sender_free(s);
	smtp_config bad = {.url = "http://127.0.0.1:1"};
	CHECK(smtp_sender_new(event, loop, &bad, &s) == -EINVAL);
}

static void phase_tls(void)
{
	_cleanup_free_ char *u = url("smtps", "SMTPS_PORT");
	smtp_sender *s = sender(u, env("MAIL_CA"), NULL, NULL);
	result r;
	send_one(s, "alice+smtps@example.test", &r);
	CHECK(r.status == SMTP_OK && r.code == 250);
	smtp_sender_free(s);

	s = sender(u, env("OTHER_CA"), NULL, NULL);
	send_one(s, "alice@example.test", &r);
	CHECK(r.status == SMTP_RETRY && r.code == 0);
	smtp_sender_free(s);

	_cleanup_free_ char *u2 = url("smtp", "SMTP_PORT");
	s = sender(u2, env("OTHER_CA"), NULL, NULL);
	send_one(s, "alice@example.test", &r);
	CHECK(r.status == SMTP_RETRY);
	smtp_sender_free(s);
}

static void phase_auth(void)
{
	_cleanup_free_ char *u = url("smtp", "SUBMISSION_PORT");
	smtp_sender *s = sender(u, env("MAIL_CA"), "alice", env("SMTP_TEST_PASSWORD"));
	result r;
	send_one(s, "bob+auth@example.test", &r);
	CHECK(r.status == SMTP_OK && r.code == 250);
	smtp_sender_free(s);

	s = sender(u, env("MAIL_CA"), "alice", "wrong-secret-xyzzy");
	send_one(s, "bob@example.test", &r);
	CHECK(r.status == SMTP_RETRY && r.code == 535);
	CHECK(!strstr(r.error, "xyzzy"));
	smtp_sender_free(s);

	s = sender(u, env("MAIL_CA"), NULL, NULL);
	send_one(s, "bob@example.test", &r);
	CHECK(r.status == SMTP_FAIL && r.code / 100 == 5);
	smtp_sender_free(s);
}

static bool listening(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void signal_and_wait(const char *dir, const char *name, int port, bool want_listening)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	uint64_t end = now_usec() + 60 * 1000000ULL;
	while (listening(port) != want_listening && now_usec() < end)
		CHECK(sd_event_run(event, 20000) >= 0);
	CHECK(listening(port) == want_listening);
}

static void phase_downup(const char *dir)
{
	_cleanup_free_ char *u = url("smtp", "SMTP_PORT");
	int port = atoi(env("SMTP_PORT"));
	smtp_sender *s = sender(u, env("MAIL_CA"), NULL, NULL);
	result r;
	send_one(s, "alice+before@example.test", &r);
	CHECK(r.status == SMTP_OK);
	/* the connection stays cached; the server goes away under it */
	signal_and_wait(dir, "stop", port, false);
	send_one(s, "alice+down@example.test", &r);
	CHECK(r.status == SMTP_RETRY && r.code == 0);
	send_one(s, "alice+down@example.test", &r);
	CHECK(r.status == SMTP_RETRY && r.code == 0);
	signal_and_wait(dir, "start", port, true);
	send_one(s, "alice+back@example.test", &r);
	CHECK(r.status == SMTP_OK && r.code == 250);
	smtp_sender_free(s);
}

static smtp_sender *freed_from_callback;
static void on_done_free(smtp_status status, int code, const char *error, void *userdata)
{
	on_done(status, code, error, userdata);
	freed_from_callback = smtp_sender_free(freed_from_callback);
}

static void phase_cancel(void)
{
	_cleanup_free_ char *u = url("smtp", "SMTP_PORT");
	_cleanup_free_ char *msg = message("alice@example.test", "cancel");
	smtp_config cfg = {.url = u, .ca_file = env("MAIL_CA"), .max_connections = 1};
	smtp_sender *s = NULL;
	CHECK(smtp_sender_new(event, loop, &cfg, &s) == 0);
	result r[3] = {};
	smtp_job *j[3];
	for (int i = 0; i < 3; i++)
		CHECK(smtp_send(s, NULL, "alice+cancel@example.test", msg, strlen(msg), on_done,
				&r[i], &j[i]) == 0);
	CHECK(smtp_cancel(s, j[2]) == 0); /* queued */
	CHECK(sd_event_run(event, 0) >= 0); /* j[0] starts */
	CHECK(smtp_cancel(s, j[0]) == 0); /* running */
	CHECK(smtp_sender_pending(s) == 1);
	run_until_done(done + 1);
	CHECK(r[0].calls == 0 && r[1].calls == 1 && r[2].calls == 0);
	CHECK(r[1].status == SMTP_OK);

	/* freed from a callback, with more queued: no further callback, no leak (ASan) */
	freed_from_callback = s;
	unsigned before = done;
	result q[4] = {};
	for (int i = 0; i < 4; i++)
		CHECK(smtp_send(s, NULL, "alice+cancel@example.test", msg, strlen(msg),
				i == 0 ? on_done_free : on_done, &q[i], NULL) == 0);
	run_until_done(before + 1);
	CHECK(freed_from_callback == NULL);
	for (int i = 0; i < 10; i++)
		CHECK(sd_event_run(event, 10000) >= 0);
	CHECK(done == before + 1 && q[0].calls == 1);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !getenv("SMTP_PORT")) {
		printf("test_smtp: needs the mail servers of tests/t-smtp.sh, which runs it\n");
		return 0;
	}
	CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == 0);
	CHECK(sd_event_new(&event) >= 0);
	CHECK(curlloop_new(event, &loop) == 0);
	const char *phase = argv[1];
	if (strcmp(phase, "batch") == 0 && argc == 4)
		phase_batch((unsigned)atoi(argv[2]), argv[3]);
	else if (strcmp(phase, "reject") == 0)
		phase_reject();
	else if (strcmp(phase, "tls") == 0)
		phase_tls();
	else if (strcmp(phase, "auth") == 0)
		phase_auth();
	else if (strcmp(phase, "downup") == 0 && argc == 3)
		phase_downup(argv[2]);
	else if (strcmp(phase, "cancel") == 0)
		phase_cancel();
	else {
		fprintf(stderr, "test_smtp: unknown phase %s\n", phase);
		return 2;
	}
	curlloop_free(loop);
	sd_event_unref(event);
	curl_global_cleanup();
	printf("test_smtp %s: ok\n", phase);
	return 0;
}
