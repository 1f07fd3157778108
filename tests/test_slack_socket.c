/* slack-socket.c (Socket Mode) against tests/fake-slack.py's WebSocket server: run by
 * tests/t-slack-socket.sh, which starts the fake and passes FAKE_SLACK (its base URL),
 * FAKE_LOG (its call log), APP_TOKEN and BOT_TOKEN. Alone, it has no fake and says so.
 *
 *   test_slack_socket flow      connects (apps.connections.open, then the WebSocket, hello);
 *                               a slash command envelope reaches the handler, whose ack with
 *                               its payload reaches Slack; the same envelope again is acked
 *                               again and handed on once; "disconnect" opens a new connection
 *                               before the old closes; a dropped connection is reopened; an
 *                               envelope after that still arrives
 *   test_slack_socket badtoken  the bot token where the app token belongs: not connected,
 *                               Slack's error logged, stop is clean
 *
 * Nothing is timed: the loop runs until what is awaited happened, with a deadline (60 s) that
 * only a hang reaches. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "curlloop.h"
#include "slack/slack-socket.h"
#include "util.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static sd_event *event;
static const char *fake, *fake_log;

typedef struct seen {
	unsigned calls;
	char type[64];
	char text[256];
	char envelope[256];
} seen;

static void on_envelope(slack_socket *s, const char *type, const cJSON *payload,
                        const char *envelope_id, void *userdata)
{
	seen *x = userdata;
	x->calls++;
	snprintf(x->type, sizeof(x->type), "%s", type);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(payload, "text");
	snprintf(x->text, sizeof(x->text), "%s", cJSON_IsString(t) ? t->valuestring : "");
	snprintf(x->envelope, sizeof(x->envelope), "%s", envelope_id);
	cJSON *reply = cJSON_CreateObject();
	cJSON_AddStringToObject(reply, "response_type", "ephemeral");
	cJSON_AddStringToObject(reply, "text", "recorded: 1 = 4");
	CHECK(slack_socket_ack(s, envelope_id, reply) == 0);
	cJSON_Delete(reply);
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static size_t sink(char *p, size_t size, size_t n, void *userdata)
{
	strbuf_add(userdata, p, size * n);
	return size * n;
}

/* One of the fake's test controls, blocking (the fake answers at once: "wait": 0). */
static char *control(const char *path, const char *json)
{
	CURL *e = curl_easy_init();
	strbuf out = {0};
	_cleanup_free_ char *url = xasprintf("%s%s", fake, path);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (json)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	CHECK(curl_easy_perform(e) == CURLE_OK);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return strbuf_steal(&out);
}

/* Lines of the fake's log holding every one of the needles. */
static unsigned log_count(const char *a, const char *b)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_file(fake_log, 16 << 20, &text, &len) < 0)
		return 0;
	unsigned n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, a) && (!b || strstr(line, b)))
			n++;
	return n;
}

typedef bool (*cond_fn)(void *arg);

static void run_until(cond_fn cond, void *arg, const char *what)
{
	uint64_t deadline = now_usec() + 60 * 1000000ULL;
	while (!cond(arg)) {
		CHECK(now_usec() < deadline || !fprintf(stderr, "waiting for %s\n", what));
		CHECK(sd_event_run(event, 100 * 1000) >= 0);
	}
}

static bool is_connected(void *arg)
{
	return slack_socket_connected(arg);
}

typedef struct log_wait {
	const char *a, *b;
	unsigned n;
} log_wait;

static bool log_has(void *arg)
{
	log_wait *w = arg;
	return log_count(w->a, w->b) >= w->n;
}

static bool calls_at_least(void *arg)
{
	seen *x = arg;
	return x->calls >= 1;
}

static void deliver(const char *envelope_id, const char *text)
{
	_cleanup_free_ char *json = xasprintf(
		"{\"wait\":0,\"type\":\"slash_commands\",\"envelope_id\":\"%s\",\"payload\":"
		"{\"command\":\"/coco\",\"text\":\"%s\",\"user_id\":\"U0ANN\",\"team_id\":\"T0X\","
		"\"response_url\":\"%s/response/1\",\"trigger_id\":\"1.2.3\"}}",
		envelope_id, text, fake);
	free(control("/_test/socket/envelope", json));
}

static void flow(curlloop *cl, const char *token)
{
	seen x = {0};
	slack_socket *s;
	_cleanup_free_ char *api = xasprintf("%s/api", fake);
	CHECK(slack_socket_start(event, cl, api, token, on_envelope, &x, &s) == 0);
	run_until(is_connected, s, "the first connection");
	CHECK(log_count("apps.connections.open", "\"auth\": \"ok\"") == 1);

	/* A slash command: handed on, acked with the reply as payload. */
	deliver("env-1", "answer 1: 4");
	run_until(calls_at_least, &x, "the first envelope");
	CHECK(STREQ(x.type, "slash_commands") && STREQ(x.text, "answer 1: 4") &&
	      STREQ(x.envelope, "env-1"));
	log_wait acked = {"socket_ack", "\"envelope_id\": \"env-1\"", 1};
	run_until(log_has, &acked, "the ack of env-1");
	CHECK(log_count("socket_ack", "recorded: 1 = 4") == 1);

	/* Slack sends it again (it did not see the ack): acked again with the same reply (the
	 * member must see it), handed on once. */
	deliver("env-1", "answer 1: 4");
	acked.n = 2;
	run_until(log_has, &acked, "the second ack of env-1");
	CHECK(x.calls == 1);
	CHECK(log_count("socket_ack", "recorded: 1 = 4") == 2);

	/* "disconnect": a second connection opens, then the first closes. */
	free(control("/_test/socket/disconnect", "{\"reason\":\"refresh_requested\"}"));
	log_wait second = {"socket_open", "\"connection\": 2", 1};
	run_until(log_has, &second, "the second connection");
	log_wait first_closed = {"socket_closed", "\"connection\": 1", 1};
	run_until(log_has, &first_closed, "the first connection's close");
	run_until(is_connected, s, "hello on the second connection");

	/* The TCP connection dropped: a new one (apps.connections.open again). */
	free(control("/_test/socket/drop", "{}"));
	log_wait third = {"socket_open", "\"connection\": 3", 1};
	run_until(log_has, &third, "the third connection");
	run_until(is_connected, s, "hello on the third connection");
	CHECK(log_count("apps.connections.open", NULL) == 3);

	memset(&x, 0, sizeof(x));
	deliver("env-2", "vote 1 3");
	run_until(calls_at_least, &x, "an envelope on the third connection");
	CHECK(STREQ(x.text, "vote 1 3"));
	log_wait acked2 = {"socket_ack", "\"envelope_id\": \"env-2\"", 1};
	run_until(log_has, &acked2, "the ack of env-2");
	CHECK(slack_socket_stop(s) == NULL);
}

static void badtoken(curlloop *cl, const char *token)
{
	seen x = {0};
	slack_socket *s;
	_cleanup_free_ char *api = xasprintf("%s/api", fake);
	CHECK(slack_socket_start(event, cl, api, token, on_envelope, &x, &s) == 0);
	log_wait refused = {"apps.connections.open", NULL, 1};
	run_until(log_has, &refused, "apps.connections.open");
	/* Let the answer come back and be logged. */
	for (int i = 0; i < 10; i++)
		CHECK(sd_event_run(event, 50 * 1000) >= 0);
	CHECK(!slack_socket_connected(s));
	CHECK(log_count("socket_open", NULL) == 0);
	CHECK(slack_socket_stop(s) == NULL);
}

int main(int argc, char **argv)
{
	fake = getenv("FAKE_SLACK");
	fake_log = getenv("FAKE_LOG");
	const char *app = getenv("APP_TOKEN"), *bot = getenv("BOT_TOKEN");
	if (!fake || !fake_log || !app || !bot || argc < 2) {
		printf("test_slack_socket: no fake Slack (run by tests/t-slack-socket.sh): nothing to do\n");
		return 0;
	}
	curlloop *cl;
	CHECK(sd_event_default(&event) >= 0);
	CHECK(curlloop_new(event, &cl) == 0);
	if (STREQ(argv[1], "flow"))
		flow(cl, app);
	else if (STREQ(argv[1], "badtoken"))
		badtoken(cl, bot);
	else
		CHECK(!"unknown phase");
	curlloop_free(cl);
	sd_event_unref(event);
	curl_global_cleanup();
	printf("test_slack_socket %s: ok\n", argv[1]);
	return 0;
}
