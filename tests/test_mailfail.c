/* When mail goes wrong, from the admin's side (issue #10's leftovers), on the real core, store,
 * spool and local channel (tests/sim.h): a bounce of a message coco sent marks the member's
 * address as failing in `cococtl status`, and a forged one does not; what was trimmed off a
 * reply is kept beside the answer, except in an anonymous round; a stranger gets one polite
 * reply a day, within an hourly cap, and automatic mail or mail of our own domain none. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Trust\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"      \
	"Provider=Provider Co\n"                                                                \
	"[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"            \
	"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"

static const char conf[] = CAMPAIGN
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"s/q\"]\nKind=scale\nText=Rate it\n"
	"[Round \"anon\"]\nKind=survey\nTitle=Anon\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"Anonymous=yes\n"
	"[Question \"anon/q\"]\nKind=scale\nText=Rate it quietly\n";

static size_t lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	return n;
}

/* The Message-ID the mail of `kind` to `member` went out with (as the email channel makes
 * it), without <>. */
static char *sent_message_id(sim *s, const char *kind, const char *member)
{
	char **ids = NULL;
	char *found = NULL;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !found; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(s, path);
		cJSON *m = cJSON_Parse(data);
		const cJSON *to = cJSON_GetObjectItem(m, "to");
		const cJSON *mb = cJSON_GetObjectItem(to, "member");
		const cJSON *ref = cJSON_GetObjectItem(m, "conversation");
		if (STREQ(cJSON_GetObjectItem(m, "kind")->valuestring, kind) && cJSON_IsString(mb) &&
		    STREQ(mb->valuestring, member) && cJSON_IsString(ref))
			found = email_message_id(config_get(s->cfg, "Mail", "From"), *id,
			                         ref->valuestring);
		cJSON_Delete(m);
	}
	strv_free(ids);
	assert_non_null(found);
	return found;
}

static cJSON *failing(sim *s)
{
	return core_failing_addresses(s->core);
}

static void test_bounce_marks_the_address_failing(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *ann_msgid = sent_message_id(&s, "prompt", "ann");

	/* Nothing failing yet. */
	cJSON *f = failing(&s);
	assert_int_equal(cJSON_GetArraySize(f), 0);
	cJSON_Delete(f);

	/* The invitation to ann bounced: her address is failing. */
	deliver_dsn(&s, 1, "ann@client.example", ann_msgid, "5.1.1", "550 5.1.1", "User unknown");
	_cleanup_free_ char *b = read_store(&s, "bounces.jsonl");
	expect_in(b, "\"address\":\"ann@client.example\"");
	expect_in(b, "\"status\":\"5.1.1\"");
	expect_in(b, "User unknown");
	f = failing(&s);
	assert_int_equal(cJSON_GetArraySize(f), 1);
	const cJSON *e = cJSON_GetArrayItem(f, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "member")->valuestring, "ann");
	assert_string_equal(cJSON_GetObjectItem(e, "address")->valuestring, "ann@client.example");
	assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, "5.1.1");
	assert_int_equal(cJSON_GetObjectItem(e, "bounces")->valueint, 1);
	cJSON_Delete(f);

	/* The same DSN again (a replay) is one bounce, not two. */
	deliver_dsn(&s, 1, "ann@client.example", ann_msgid, "5.1.1", "550 5.1.1", "User unknown");
	/* A forged bounce: a Message-ID coco never sent, or ann's message said to fail for bob. */
	deliver_dsn(&s, 2, "bob@client.example", "forged.abc@provider.example",
	            "5.1.1", "550 5.1.1", "User unknown");
	deliver_dsn(&s, 3, "bob@client.example", ann_msgid, "5.1.1", "550 5.1.1", "User unknown");
	free(b);
	b = read_store(&s, "bounces.jsonl");
	assert_int_equal(lines(b), 1);
	expect_not_in(b, "bob@");
	/* A bounce is no answer and gets no reply (not even the stranger's). */
	_cleanup_free_ char *a = read_store(&s, "campaigns/t/rounds/s/once/answers.jsonl");
	assert_int_equal(lines(a), 0);
	assert_int_equal(count(&s, "reply", NULL, NULL, ""), 0);

	/* The admin fixes ann's address: the old one is no longer listed. */
	const char *line = "Email=ann@client.example\n";
	const char *at = strstr(conf, line);
	_cleanup_free_ char *fixed = xasprintf("%.*sEmail=ann@new.example\n%s", (int)(at - conf),
	                                       conf, at + strlen(line));
	sim_reload(&s, fixed);
	f = failing(&s);
	assert_int_equal(cJSON_GetArraySize(f), 0);
	cJSON_Delete(f);
	sim_finish(&s);
}

static void test_trimmed_text_is_kept_except_when_anonymous(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* The harness's mail client quotes the invitation below the answer. */
	answer(&s, "ann", "s", NULL, "1: 4\n\nThanks,\nAnn\n\nOn Monday, Coco wrote:");
	_cleanup_free_ char *a = read_store(&s, "campaigns/t/rounds/s/once/answers.jsonl");
	expect_in(a, "\"q\":\"4\"");
	expect_in(a, "\"trimmed\":");
	expect_in(a, "quoted invitation");
	/* In an anonymous round nothing that could name the writer: no trimmed text. */
	answer(&s, "ann", "anon", NULL, "1: 2\n\nThanks,\nAnn\n\nOn Monday, Coco wrote:");
	_cleanup_free_ char *an = read_store(&s, "campaigns/t/rounds/anon/once/answers.jsonl");
	expect_in(an, "\"q\":\"2\"");
	expect_not_in(an, "trimmed");
	expect_not_in(an, "quoted invitation");
	expect_not_in(an, "Ann");
	sim_finish(&s);
}

/* Replies queued to an address that is no member's. */
static size_t replies_to(sim *s, const char *address)
{
	size_t n = 0;
	static const char *const dirs[] = {"spool/local/new", "spool/local/cur"};
	for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
		char **ids = NULL;
		if (store_list(s->st, dirs[d], &ids) < 0)
			continue;
		for (char **id = ids; *id; id++) {
			_cleanup_free_ char *path = xasprintf("%s/%s", dirs[d], *id);
			_cleanup_free_ char *data = read_store(s, path);
			cJSON *m = cJSON_Parse(data);
			const cJSON *to = cJSON_GetObjectItem(m, "to");
			const cJSON *ad = cJSON_GetObjectItem(to, "address");
			if (!cJSON_GetObjectItem(to, "member") && cJSON_IsString(ad) &&
			    (!address || STREQ(ad->valuestring, address)))
				n++;
			cJSON_Delete(m);
		}
		strv_free(ids);
	}
	return n;
}

/* The Markdown of the reply queued to address. */
static char *markdown_to(sim *s, const char *address)
{
	char **ids = NULL;
	char *md = NULL;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !md; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(s, path);
		cJSON *m = cJSON_Parse(data);
		const cJSON *ad = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "address");
		const cJSON *text = cJSON_GetObjectItem(m, "markdown");
		if (cJSON_IsString(ad) && STREQ(ad->valuestring, address) && cJSON_IsString(text))
			md = xstrdup(text->valuestring);
		cJSON_Delete(m);
	}
	strv_free(ids);
	return md;
}

static void stranger_mail(sim *s, const char *from, const char *extra)
{
	static unsigned seq;
	_cleanup_free_ char *mail = xasprintf(
		"From: %s\r\nTo: coco@provider.example\r\n%sSubject: hello\r\n"
		"Message-ID: <stranger%u@elsewhere.example>\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\nCan I join?\r\n",
		from, extra ? extra : "", ++seq);
	deliver_mail(s, mail);
}

static void test_stranger_gets_one_polite_reply(void **state)
{
	sim s;
	clock_set_test(JUN1);
	/* Asked for: without AuthServId= strangers get no reply unless the admin says so. */
	sim_start_with(&s,
	               "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n"
	               "ReplyToStrangers=yes\n",
	               NULL, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	stranger_mail(&s, "Eve <eve@elsewhere.example>", NULL);
	_cleanup_free_ char *rej = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej, "eve@elsewhere.example");
	assert_int_equal(replies_to(&s, "eve@elsewhere.example"), 1);
	/* What she reads: how members answer, nothing about who they are. */
	_cleanup_free_ char *md = markdown_to(&s, "eve@elsewhere.example");
	expect_in(md, "use **Reply**");
	expect_not_in(md, "Ann");
	expect_not_in(md, "Survey");

	/* Once a day per address. */
	stranger_mail(&s, "eve@elsewhere.example", NULL);
	stranger_mail(&s, "EVE@elsewhere.example", NULL);
	assert_int_equal(replies_to(&s, "eve@elsewhere.example"), 1);
	clock_set_test(JUN1 + DAY + 10 * HOUR);
	stranger_mail(&s, "eve@elsewhere.example", NULL);
	assert_int_equal(replies_to(&s, "eve@elsewhere.example"), 2);

	/* Never to automatic mail, to an empty return path, or to our own domain. */
	stranger_mail(&s, "away@elsewhere.example", "Auto-Submitted: auto-replied\r\n");
	stranger_mail(&s, "list@elsewhere.example", "Precedence: bulk\r\n");
	stranger_mail(&s, "null@elsewhere.example", "Return-Path: <>\r\n");
	stranger_mail(&s, "empty@elsewhere.example", "Return-Path: \r\n");
	stranger_mail(&s, "someone@provider.example", NULL);
	stranger_mail(&s, "someone@PROVIDER.example", NULL);
	assert_int_equal(replies_to(&s, NULL), 2);
	_cleanup_free_ char *rej2 = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej2, "someone@provider.example"); /* kept all the same */

	/* At most STRANGER_PER_HOUR (20) in an hour, however many strangers write. */
	clock_set_test(JUN1 + 2 * DAY + 10 * HOUR);
	for (unsigned i = 0; i < 25; i++) {
		_cleanup_free_ char *from = xasprintf("s%u@flood.example", i);
		stranger_mail(&s, from, NULL);
	}
	assert_int_equal(replies_to(&s, NULL), 2 + 20);
	clock_set_test(JUN1 + 2 * DAY + 11 * HOUR);
	stranger_mail(&s, "s24@flood.example", NULL);
	assert_int_equal(replies_to(&s, NULL), 2 + 21);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce_marks_the_address_failing),
		cmocka_unit_test(test_trimmed_text_is_kept_except_when_anonymous),
		cmocka_unit_test(test_stranger_gets_one_polite_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
