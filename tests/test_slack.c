/* Tests for connectors/slack/slack-proto: request signing (Slack's own published example),
 * form bodies, button values, Markdown → mrkdwn, Block Kit blocks from a prompt, and which
 * Web API errors are retried. The daemon end to end is tests/t-slack.sh. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "slack/slack-proto.h"
#include "util.h"

/* PROTOCOLS.md 1.1: Slack's example request. */
#define SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define TS "1531420618"
#define BODY                                                                                       \
	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="     \
	"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-" \
	"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770088" \
	"5554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c44" \
	"7fce8b6703c"
#define SIG "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
#define REF "6pwm3g5veetjgitv"

/* One signer kept for many requests, as the channel keeps it: each request's signature is
 * its own (the keyed state is copied, never advanced), a wiped signer refuses everything,
 * and one set up again with another secret signs with that one. */
static void test_signer(void **state)
{
	const int64_t t = 1531420618;
	slack_signer s;
	slack_signer_init(&s, SECRET, strlen(SECRET));
	char sig[68], again[68], other[68];
	for (int i = 0; i < 3; i++) {
		slack_signer_sign(&s, TS, BODY, strlen(BODY), sig);
		assert_string_equal(sig, SIG);
		assert_int_equal(slack_signer_verify(&s, TS, SIG, BODY, strlen(BODY), t), 0);
		slack_signer_sign(&s, TS, "a=b", 3, other);
		slack_sign(SECRET, strlen(SECRET), TS, "a=b", 3, again);
		assert_string_equal(other, again);
	}
	assert_int_equal(slack_signer_verify(&s, TS, SIG, BODY, strlen(BODY), t + 301), -ETIME);
	assert_int_equal(slack_signer_verify(&s, TS, SIG, "x", 1, t), -EPERM);
	slack_signer_wipe(&s);
	assert_int_equal(slack_signer_verify(&s, TS, SIG, BODY, strlen(BODY), t), -EPERM);
	char long_key[101];
	memset(long_key, 'k', 100);
	long_key[100] = 0;
	slack_signer_init(&s, long_key, 100);
	slack_signer_sign(&s, TS, "a=b", 3, sig);
	assert_string_equal(sig, "v0=a9d07815eeba495f203e44b285fcbc705c955ab09b2ac3650a09c7cb9d69b317");
	assert_int_equal(slack_signer_verify(&s, TS, SIG, BODY, strlen(BODY), t), -EPERM);
	slack_signer_wipe(&s);
}

static void test_verify(void **state)
{
	const int64_t t = 1531420618;
	char sig[68];
	slack_sign(SECRET, strlen(SECRET), TS, BODY, strlen(BODY), sig);
	assert_string_equal(sig, SIG);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, SIG, BODY, strlen(BODY), t + 10), 0);
	/* A secret longer than SHA-256's block is hashed first (RFC 2104), as Slack would;
	 * values from Python's hmac module. */
	char long_key[101];
	memset(long_key, 'k', 100);
	long_key[100] = 0;
	slack_sign(long_key, 100, TS, "a=b", 3, sig);
	assert_string_equal(sig, "v0=a9d07815eeba495f203e44b285fcbc705c955ab09b2ac3650a09c7cb9d69b317");
	slack_sign("", 0, "1", "", 0, sig);
	assert_string_equal(sig, "v0=b7920c764ff683fc9b6a237b193b04990d447a505490bc258949e1ee16128be3");
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, SIG, BODY, strlen(BODY), t - 300), 0);
	/* Older than 5 minutes (a replay), or from the future. */
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, SIG, BODY, strlen(BODY), t + 301),
	                 -ETIME);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, SIG, BODY, strlen(BODY), t - 301),
	                 -ETIME);
	/* One byte of the body, the secret, or the timestamp changed. */
	char *body = xstrdup(BODY);
	body[strlen(body) - 1] = 'd';
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, SIG, body, strlen(body), t), -EPERM);
	free(body);
	assert_int_equal(slack_verify("x" SECRET, strlen(SECRET) + 1, TS, SIG, BODY, strlen(BODY), t),
	                 -EPERM);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), "1531420619", SIG, BODY, strlen(BODY), t),
	                 -EPERM);
	/* The same digest in capitals is not what Slack sends. */
	char upper[68];
	strcpy(upper, SIG);
	for (char *p = upper + 3; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, upper, BODY, strlen(BODY), t), -EPERM);
	/* Missing or malformed headers. */
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), NULL, SIG, BODY, strlen(BODY), t), -EINVAL);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, NULL, BODY, strlen(BODY), t), -EINVAL);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), "15314206a8", SIG, BODY, strlen(BODY), t),
	                 -EINVAL);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), "-1531420618", SIG, BODY, strlen(BODY), t),
	                 -EINVAL);
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, SIG + 3, BODY, strlen(BODY), t),
	                 -EINVAL);
	char v1[68];
	strcpy(v1, SIG);
	v1[1] = '1';
	assert_int_equal(slack_verify(SECRET, strlen(SECRET), TS, v1, BODY, strlen(BODY), t), -EINVAL);
}

static void test_form(void **state)
{
	const char *b = "command=%2Fcoco&text=1%3A+4%2C+2%3A+b&user_id=U2CERLKJA&empty=&flag";
	char *v = NULL;
	assert_int_equal(slack_form_get(b, strlen(b), "command", &v), 0);
	assert_string_equal(v, "/coco");
	free(v);
	assert_int_equal(slack_form_get(b, strlen(b), "text", &v), 0);
	assert_string_equal(v, "1: 4, 2: b");
	free(v);
	assert_int_equal(slack_form_get(b, strlen(b), "empty", &v), 0);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(slack_form_get(b, strlen(b), "flag", &v), 0);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(slack_form_get(b, strlen(b), "trigger_id", &v), -ENOENT);
	/* Only the given length counts. */
	assert_int_equal(slack_form_get(b, 14, "text", &v), -ENOENT);
	const char *bad[] = {"text=%zz", "text=%4", "text=%", "text=a%00b"};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(slack_form_get(bad[i], strlen(bad[i]), "text", &v), -EBADMSG);
	const char *utf8 = "text=idea%3A+tumma+tila+%C3%A4";
	assert_int_equal(slack_form_get(utf8, strlen(utf8), "text", &v), 0);
	assert_string_equal(v, "idea: tumma tila ä");
	free(v);
	/* Keys are decoded too: an escaped key is the same key, a plain one is compared as it is
	 * (a key with a NUL byte, raw or escaped, is no key). */
	const char *keys = "user%5Fid=U1&x+y=2&te\0xt=raw&te%00xt=esc&text=ok";
	size_t keys_len = strlen(keys) + 1 + strlen(keys + strlen(keys) + 1);
	assert_int_equal(slack_form_get(keys, keys_len, "user_id", &v), 0);
	assert_string_equal(v, "U1");
	free(v);
	assert_int_equal(slack_form_get(keys, keys_len, "x y", &v), 0);
	assert_string_equal(v, "2");
	free(v);
	assert_int_equal(slack_form_get(keys, keys_len, "text", &v), 0);
	assert_string_equal(v, "ok");
	free(v);
	assert_int_equal(slack_form_get(keys, keys_len, "te", &v), -ENOENT);

	/* Several keys in one pass give what slack_form_get() gives for each: the first value,
	 * its decoding error, absent keys. */
	const char *bodies[] = {b, keys, "text=%zz&text=ok&command=%2Fcoco", "flag&flag=x",
	                        "a=1&&b=2&=3&c", "", "command=/a&user_id=U1&trigger_id=t&text=x+y"};
	size_t lens[] = {strlen(b), keys_len, strlen(bodies[2]), strlen(bodies[3]),
	                 strlen(bodies[4]), 0, strlen(bodies[6]) - 1 /* "x+" */};
	const char *const asked[] = {"command", "text", "user_id", "x y", "trigger_id", "flag",
	                             "empty", "te", "a", "b", "", "c"};
	for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
		int errors[ELEMENTSOF(asked)];
		char *values[ELEMENTSOF(asked)];
		int found = slack_form_fields(bodies[i], lens[i], asked, ELEMENTSOF(asked), errors,
		                              values);
		int want_found = 0;
		for (size_t k = 0; k < ELEMENTSOF(asked); k++) {
			char *one = NULL;
			int r = slack_form_get(bodies[i], lens[i], asked[k], &one);
			assert_int_equal(errors[k], r);
			if (r == 0)
				assert_string_equal(values[k], one);
			else
				assert_null(values[k]);
			want_found += r != -ENOENT;
			free(one);
			free(values[k]);
		}
		assert_int_equal(found, want_found);
	}
}

static void test_button_value(void **state)
{
	_cleanup_free_ char *v = slack_button_value(REF, "2", "b");
	assert_string_equal(v, REF "|2|b");
	char *ref, *q, *val;
	assert_int_equal(slack_button_parse(v, &ref, &q, &val), 0);
	assert_string_equal(ref, REF);
	assert_string_equal(q, "2");
	assert_string_equal(val, "b");
	free(ref), free(q), free(val);
	/* No reference; a value may hold '|'. */
	assert_int_equal(slack_button_parse("|vote|3|x", &ref, &q, &val), 0);
	assert_null(ref);
	assert_string_equal(q, "vote");
	assert_string_equal(val, "3|x");
	free(q), free(val);
	assert_null(slack_button_value(REF, "a|b", "1"));
	const char *bad[] = {"", "approve", "a|b", REF "||4", REF "|2|"};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(slack_button_parse(bad[i], &ref, &q, &val), -EINVAL);
	assert_int_equal(slack_button_parse(NULL, &ref, &q, &val), -EINVAL);
}

static void test_mrkdwn(void **state)
{
	static const struct {
		const char *md, *want;
	} cases[] = {
		{"**Kickoff** · Acme × Northwind", "*Kickoff* · Acme × Northwind"},
		{"**1. How clear?** _(optional)_", "*1. How clear?* _(optional)_"},
		/* a hard line break (questions.md): the line ends, no backslash shows; an
		 * escaped backslash of a member's stays */
		{"**1. How clear?**\\\nAnswer 1 to 5.", "*1. How clear?*\nAnswer 1 to 5."},
		{"C:\\\\\nnext", "C:\\\nnext"},
		{"an *emphasis* and 2 * 3", "an _emphasis_ and 2 * 3"},
		{"see [the portal](https://x.example/?a=1&b=2)", "see <https://x.example/?a=1&amp;b=2|the portal>"},
		{"<https://x.example/a>", "<https://x.example/a>"},
		{"a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"# Digest\n## Comments ##", "*Digest*\n*Comments*"},
		{"- a) Decision maker\n  * nested", "• a) Decision maker\n  • nested"},
		{"write `skip 2` **now**", "write `skip 2` *now*"},
		{"Like this:\n\n    1: 4\n    2: b\n\nDone.", "Like this:\n\n```\n1: 4\n2: b\n```\n\nDone."},
		{"```\n**raw** <x>\n```", "```\n**raw** &lt;x&gt;\n```"},
		{"list:\n    not code", "list:\n    not code"},
		{"trailing\n\n\n", "trailing"},
		{"", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *got = slack_mrkdwn(cases[i].md);
		if (!STREQ(got, cases[i].want))
			fail_msg("case %zu: \"%s\" → \"%s\", want \"%s\"", i, cases[i].md, got,
			         cases[i].want);
	}
}

static const cJSON *block(const cJSON *blocks, int i, const char *type)
{
	const cJSON *b = cJSON_GetArrayItem(blocks, i);
	assert_non_null(b);
	assert_string_equal(cJSON_GetObjectItem(b, "type")->valuestring, type);
	return b;
}

static void test_blocks_prompt(void **state)
{
	cJSON *prompt = cJSON_Parse(
		"{\"questions\":["
		"{\"text\":\"How clear?\",\"kind\":\"scale\",\"min\":1,\"max\":5,"
		" \"min_label\":\"not at all\",\"max_label\":\"crystal\"},"
		"{\"number\":2,\"text\":\"Role?\",\"kind\":\"choice\",\"options\":[\"Decision maker\","
		" {\"letter\":\"b\",\"text\":\"User\"}]},"
		"{\"text\":\"Anything else?\",\"kind\":\"text\"},"
		"{\"text\":\"Where?\",\"kind\":\"multi\",\"options\":[\"a\",\"b\"]},"
		"{\"text\":\"Recommend?\",\"kind\":\"nps\"}]}");
	assert_non_null(prompt);
	channel_msg m = {.markdown = (char *)"Hi **Aino**", .conversation = (char *)REF,
	                 .prompt = prompt};
	cJSON *blocks = slack_blocks(&m);
	/* the text, then caption + buttons for questions 1, 2 and 5 */
	assert_int_equal(cJSON_GetArraySize(blocks), 7);
	const cJSON *sec = block(blocks, 0, "section");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sec, "text"), "text")->valuestring,
	                    "Hi *Aino*");
	const cJSON *ctx = block(blocks, 1, "context");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(ctx, "elements"), 0), "text")
			->valuestring,
		"*1.* How clear? (1 = not at all, 5 = crystal)");
	const cJSON *act = block(blocks, 2, "actions");
	assert_string_equal(cJSON_GetObjectItem(act, "block_id")->valuestring, "coco-q1");
	const cJSON *el = cJSON_GetObjectItem(act, "elements");
	assert_int_equal(cJSON_GetArraySize(el), 5);
	const cJSON *b3 = cJSON_GetArrayItem(el, 2);
	assert_string_equal(cJSON_GetObjectItem(b3, "type")->valuestring, "button");
	assert_string_equal(cJSON_GetObjectItem(b3, "value")->valuestring, REF "|1|3");
	assert_string_equal(cJSON_GetObjectItem(b3, "action_id")->valuestring, "coco-q1-3");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b3, "text"), "text")->valuestring, "3");
	act = block(blocks, 4, "actions");
	el = cJSON_GetObjectItem(act, "elements");
	assert_int_equal(cJSON_GetArraySize(el), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(el, 0), "value")->valuestring,
	                    REF "|2|a");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(el, 1), "text"),
	                                        "text")->valuestring,
	                    "b) User");
	act = block(blocks, 6, "actions");
	el = cJSON_GetObjectItem(act, "elements");
	assert_int_equal(cJSON_GetArraySize(el), 11); /* nps 0..10 */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(el, 10), "value")->valuestring,
	                    REF "|5|10");
	cJSON_Delete(blocks);
	cJSON_Delete(prompt);
}

static void test_blocks_ballot_and_text(void **state)
{
	cJSON *prompt = cJSON_Parse("{\"ideas\":[\"Dark mode\",{\"number\":2,\"text\":\"Offline maps\"}],"
	                            "\"votes\":3}");
	channel_msg m = {.markdown = (char *)"Vote!", .conversation = (char *)REF, .prompt = prompt};
	cJSON *blocks = slack_blocks(&m);
	assert_int_equal(cJSON_GetArraySize(blocks), 3);
	const cJSON *el = cJSON_GetObjectItem(block(blocks, 2, "actions"), "elements");
	assert_int_equal(cJSON_GetArraySize(el), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(el, 1), "value")->valuestring,
	                    REF "|vote|2");
	cJSON_Delete(blocks);
	cJSON_Delete(prompt);

	/* No prompt: only text, in sections of at most 3000 bytes. */
	strbuf b = {0};
	for (int i = 0; i < 70; i++)
		strbuf_printf(&b, "Paragraph %d %s\n\n", i,
		              "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod");
	m = (channel_msg){.markdown = b.s, .conversation = (char *)REF};
	blocks = slack_blocks(&m);
	int n = cJSON_GetArraySize(blocks);
	assert_true(n >= 2);
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		const char *t = cJSON_GetObjectItem(cJSON_GetObjectItem(block(blocks, i, "section"), "text"),
		                                    "text")->valuestring;
		assert_true(strlen(t) <= 3000);
		total += strlen(t);
	}
	assert_true(total > 5000);
	cJSON_Delete(blocks);
	strbuf_done(&b);
}

static void test_misc(void **state)
{
	assert_true(slack_is_ts("1503435956.000247"));
	assert_false(slack_is_ts("<prompt-x.ref@example>"));
	assert_false(slack_is_ts("1503435956"));
	assert_false(slack_is_ts("1503435956."));
	assert_false(slack_is_ts(NULL));
	assert_true(slack_error_is_temporary("ratelimited"));
	assert_true(slack_error_is_temporary("internal_error"));
	assert_false(slack_error_is_temporary("channel_not_found"));
	assert_false(slack_error_is_temporary("invalid_auth"));
	assert_false(slack_error_is_temporary(NULL));
	/* The core's reason may name another member: never said back as it is. */
	const char *t = slack_rejection_text("carries the reply tag of member aino but was sent from U1");
	assert_null(strstr(t, "aino"));
	assert_non_null(strstr(slack_rejection_text("unknown sender and no valid reply tag"),
	                       "does not know your Slack account"));
}

/* The answer to a slash command, written without cJSON: the bytes cJSON would print. */
static void test_ephemeral_json(void **state)
{
	static const char *const texts[] = {
		"", "Thanks, *Mikko*! Here is what we recorded", "quote \" and \\ back",
		"lines\nand\ttabs\r\b\f", "\x01\x1f\x7f", "Grüße → ✓ <http://x|y> & co",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "response_type", "ephemeral");
		cJSON_AddStringToObject(o, "text", texts[i]);
		char *want = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		size_t len = 0;
		char *got = slack_ephemeral_json(texts[i], &len);
		assert_string_equal(got, want);
		assert_int_equal(len, strlen(want));
		cJSON *back = cJSON_Parse(got);
		assert_non_null(back);
		assert_string_equal(cJSON_GetObjectItem(back, "text")->valuestring, texts[i]);
		cJSON_Delete(back);
		free(got);
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signer),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_button_value),
		cmocka_unit_test(test_mrkdwn),
		cmocka_unit_test(test_blocks_prompt),
		cmocka_unit_test(test_blocks_ballot_and_text),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_ephemeral_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
