/* fuzz_slack: what the Slack channel reads from the network and turns into text. The first
 * byte picks the path, the rest is the input:
 *   0: a form body as Slack posts it: every field the channel reads (one key at a time and
 *      all in one pass, which must agree), and the interactivity
 *      payload's JSON with each action's button value split as slack.c does;
 *   1: Markdown → mrkdwn, and the blocks of a message with that text;
 *   2: a prompt as JSON (channel_msg.prompt) → blocks, checked against Block Kit's limits;
 *   3: the signature check, the input split into timestamp, signature and body at NULs. */
#include "fuzz-common.h"

#include <cjson/cJSON.h>

#include "slack/slack-proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static void form(const char *body, size_t len)
{
	static const char *const keys[] = {"command", "text", "user_id", "trigger_id", "payload"};
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		char *v = NULL;
		if (slack_form_get(body, len, keys[i], &v) < 0)
			continue;
		if (strlen(v) > len)
			abort(); /* decoding never grows */
		if (STREQ(keys[i], "payload")) {
			cJSON *p = cJSON_Parse(v);
			const cJSON *a;
			cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(p, "actions")) {
				const cJSON *val = cJSON_GetObjectItemCaseSensitive(a, "value");
				char *ref = NULL, *q = NULL, *x = NULL;
				if (slack_button_parse(cJSON_IsString(val) ? val->valuestring : NULL, &ref, &q,
				                       &x) == 0) {
					if (!*q || !*x)
						abort();
					free(ref), free(q), free(x);
				}
			}
			cJSON_Delete(p);
		}
		free(v);
	}
	/* The one-pass reader the slash command uses says what slack_form_get() says. */
	int errors[ELEMENTSOF(keys)];
	char *values[ELEMENTSOF(keys)];
	(void)slack_form_fields(body, len, keys, ELEMENTSOF(keys), errors, values);
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		char *v = NULL;
		int r = slack_form_get(body, len, keys[i], &v);
		if (r != errors[i] || (r == 0) != (values[i] != NULL) ||
		    (r == 0 && strcmp(v, values[i]) != 0))
			abort();
		free(v);
		free(values[i]);
	}
}

static void check_blocks(const cJSON *blocks)
{
	if (cJSON_GetArraySize(blocks) > 50)
		abort();
	const cJSON *b;
	cJSON_ArrayForEach(b, blocks) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "text");
		if (cJSON_IsString(s) && strlen(s->valuestring) > 3000)
			abort();
		const cJSON *els = cJSON_GetObjectItemCaseSensitive(b, "elements");
		if (cJSON_GetArraySize(els) > 25)
			abort();
		const cJSON *e;
		cJSON_ArrayForEach(e, els) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
			if (cJSON_IsString(v) && strlen(v->valuestring) > 2000)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0] & 3;
	/* A copy with a NUL after it (the input may hold NULs: mode 3 splits at them). */
	size_t len = size - 1;
	_cleanup_free_ char *s = xmalloc(len + 1);
	memcpy(s, data + 1, len);
	s[len] = 0;

	if (mode == 0)
		form((const char *)data + 1, len);
	else if (mode == 1) {
		_cleanup_free_ char *m = slack_mrkdwn(s);
		if (!m)
			abort();
		channel_msg msg = {.markdown = s, .conversation = (char *)"6pwm3g5veetjgitv"};
		cJSON *blocks = slack_blocks(&msg);
		check_blocks(blocks);
		cJSON_Delete(blocks);
	} else if (mode == 2) {
		cJSON *prompt = cJSON_Parse(s);
		channel_msg msg = {.markdown = (char *)"Hi", .conversation = (char *)"6pwm3g5veetjgitv",
		                   .prompt = cJSON_IsObject(prompt) ? prompt : NULL};
		cJSON *blocks = slack_blocks(&msg);
		check_blocks(blocks);
		cJSON_Delete(blocks);
		cJSON_Delete(prompt);
	} else {
		const char *end = s + len, *ts = s;
		const char *sig = ts + strlen(ts) < end ? ts + strlen(ts) + 1 : end;
		const char *body = sig + strlen(sig) < end ? sig + strlen(sig) + 1 : end;
		size_t blen = (size_t)(end - body);
		(void)slack_verify("8f742231b10e8888abcd99yyyzzz85a5", 32, ts, sig, body, blen, 1531420618);
	}
	return 0;
}
