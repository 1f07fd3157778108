/* Tests for connectors/email/address and connectors/channel-msg: how the email channel
 * carries the core's conversation references in mail, and the typed outbound message's
 * durable form in the spool (current and version 1 entries). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "channel-msg.h"
#include "email/address.h"
#include "util.h"

#define FROM "coco@northwind.example"
#define REF "6pwm3g5veetjgitv"

static void test_reply_to_and_message_id(void **state)
{
	_cleanup_free_ char *rt = email_reply_to(FROM, REF);
	assert_string_equal(rt, "coco+" REF "@northwind.example");
	_cleanup_free_ char *mid = email_message_id(FROM, "prompt-abc", REF);
	assert_string_equal(mid, "prompt-abc." REF "@northwind.example");
	assert_null(email_reply_to("no-at-sign", REF));
	assert_null(email_reply_to(FROM, "short"));
	assert_null(email_reply_to(FROM, "0123456789abcdef")); /* 0, 1, 8, 9 are not base32 */
}

static void test_find_ref(void **state)
{
	char ref[EMAIL_REF_LEN + 1];
	/* As sent, in angle brackets, upper-cased by a mail system. */
	const char *const to1[] = {"<COCO+6PWM3G5VEETJGITV@Northwind.Example>", NULL};
	assert_int_equal(email_find_ref(FROM, to1, NULL, NULL, ref), 1);
	assert_string_equal(ref, REF);
	/* A server that strips the '+'. */
	const char *const to2[] = {"coco" REF "@northwind.example", NULL};
	assert_int_equal(email_find_ref(FROM, to2, NULL, NULL, ref), 1);
	/* Another domain's address with the same shape is not ours. */
	const char *const to3[] = {"coco+" REF "@evil.example", NULL};
	assert_int_equal(email_find_ref(FROM, to3, NULL, NULL, ref), 0);
	/* A client that ignored Reply-To: the Message-ID it answers. */
	const char *const plain[] = {FROM, NULL};
	assert_int_equal(email_find_ref(FROM, plain, "<prompt-abc." REF "@northwind.example>", NULL,
	                                ref),
	                 1);
	assert_string_equal(ref, REF);
	/* ...or the References chain, after an unrelated parent. */
	const char *const refs[] = {"<other@client.example>", "<digest-x." REF "@northwind.example>",
	                            NULL};
	assert_int_equal(email_find_ref(FROM, plain, "<other@client.example>", refs, ref), 1);
	/* A Message-ID needs the '.' before the reference. */
	assert_int_equal(email_find_ref(FROM, plain, "<x" REF "@northwind.example>", NULL, ref), 0);
	assert_int_equal(email_find_ref(FROM, NULL, NULL, NULL, ref), 0);
}

/* The unsubscribe address (List-Unsubscribe's mailto) and how a mail to it is found. */
static void test_unsub(void **state)
{
	_cleanup_free_ char *a = email_unsub_address(FROM, REF);
	assert_string_equal(a, "coco+unsub-" REF "@northwind.example");
	assert_null(email_unsub_address(FROM, "short"));
	assert_null(email_unsub_address("no-at-sign", REF));
	char tok[EMAIL_REF_LEN + 1];
	const char *const to1[] = {"someone@else.example", "<COCO+UNSUB-6PWM3G5VEETJGITV@northwind.example>", NULL};
	assert_int_equal(email_find_unsub(FROM, to1, tok), 1);
	assert_string_equal(tok, REF);
	/* A server that strips the '+'. */
	const char *const to2[] = {"cocounsub-" REF "@northwind.example", NULL};
	assert_int_equal(email_find_unsub(FROM, to2, tok), 1);
	/* A reply address, another domain, another prefix: no request. */
	const char *const no1[] = {"coco+" REF "@northwind.example", NULL};
	const char *const no2[] = {"coco+unsub-" REF "@evil.example", NULL};
	const char *const no3[] = {"coco+unsob-" REF "@northwind.example", NULL};
	const char *const no4[] = {"unsub-" REF "x@northwind.example", NULL};
	assert_int_equal(email_find_unsub(FROM, no1, tok), 0);
	assert_int_equal(email_find_unsub(FROM, no2, tok), 0);
	assert_int_equal(email_find_unsub(FROM, no3, tok), 0);
	assert_int_equal(email_find_unsub(FROM, no4, tok), 0);
	assert_int_equal(email_find_unsub(FROM, NULL, tok), 0);
	assert_true(email_is_ref(REF));
	assert_false(email_is_ref("6pwm3g5veetjgit"));
	assert_false(email_is_ref(NULL));
}

static void test_msg_round_trip(void **state)
{
	channel_msg m = {
		.id = "prompt-abc", .kind = "prompt", .campaign = "c", .round = "r",
		.occurrence = "2026-12-07", .member = "ana", .name = "Ana", .address = "ana@x.example",
		.subject = "Hello", .markdown = "**hi**", .conversation = REF, .unsubscribe = "u" REF,
		.prompt = cJSON_Parse("{\"questions\":[{\"number\":1,\"kind\":\"scale\"}]}"),
	};
	cJSON *o = NULL;
	assert_int_equal(channel_msg_to_json(&m, &o), 0);
	_cleanup_free_ char *text = cJSON_PrintUnformatted(o);
	assert_non_null(strstr(text, "\"v\":2"));
	_cleanup_channel_msg_ channel_msg *back = NULL;
	assert_int_equal(channel_msg_from_json(o, &back), 0);
	cJSON_Delete(o);
	cJSON_Delete(m.prompt);
	assert_string_equal(back->address, "ana@x.example");
	assert_string_equal(back->conversation, REF);
	assert_string_equal(back->unsubscribe, "u" REF);
	assert_string_equal(back->occurrence, "2026-12-07");
	assert_non_null(back->prompt);
	assert_null(back->room);

	/* Missing recipient or words: not a message. */
	channel_msg bad = {.id = "x", .kind = "prompt", .campaign = "c", .round = "r",
	                   .subject = "s", .markdown = "m"};
	assert_int_equal(channel_msg_to_json(&bad, &o), -EINVAL);
}

static void test_msg_versions(void **state)
{
	/* A version 1 entry, as spools written before typed messages hold them. */
	cJSON *v1 = cJSON_Parse(
		"{\"v\":1,\"id\":\"conf-x\",\"kind\":\"confirmation\",\"campaign\":\"c\","
		"\"round\":\"r\",\"to\":{\"member\":\"ana\",\"name\":\"Ana\","
		"\"email\":\"ana@x.example\"},\"subject\":\"Re: s\",\"markdown\":\"ok\","
		"\"message_id\":\"conf-x." REF "@n.example\",\"reply_to\":\"coco+" REF
		"@n.example\",\"in_reply_to\":\"<m1@x.example>\"}");
	_cleanup_channel_msg_ channel_msg *m = NULL;
	assert_int_equal(channel_msg_from_json(v1, &m), 0);
	cJSON_Delete(v1);
	assert_string_equal(m->address, "ana@x.example");
	assert_string_equal(m->conversation, REF);
	assert_string_equal(m->in_reply_to, "<m1@x.example>");

	cJSON *v9 = cJSON_Parse("{\"v\":9,\"id\":\"x\"}");
	channel_msg *none = NULL;
	assert_int_equal(channel_msg_from_json(v9, &none), -EPROTO);
	cJSON_Delete(v9);
	cJSON *big = cJSON_Parse("{\"v\":1e300}");
	assert_int_equal(channel_msg_from_json(big, &none), -EINVAL);
	cJSON_Delete(big);
	assert_null(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_to_and_message_id),
		cmocka_unit_test(test_find_ref),
		cmocka_unit_test(test_unsub),
		cmocka_unit_test(test_msg_round_trip),
		cmocka_unit_test(test_msg_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
