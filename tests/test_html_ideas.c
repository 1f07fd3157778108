/* Ideas sent the way Outlook sends them, from the member's side: an HTML-only reply whose
 * ideas are an <ol> or <ul> list (tests/data/mail/outlook-ideas-*.eml, the mails of trial 2)
 * goes through the local channel as any reply does, and each list item is an idea of its
 * own: in the answer recorded, in the confirmation, on the vote's ballot and on its Slack
 * buttons, none of which ever holds a line break. Runs the real core, store, spool and local
 * connector on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"
#include "channel-msg.h"
#include "slack/slack-proto.h"

#define DEC1 INT64_C(1796083200) /* 2026-12-01 00:00Z */
#define HOUR 3600
#define DAY 86400

static const char coco_conf[] = "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@brightline.example\n";

static const char conf[] =
	"[Campaign]\nId=relaunch\nTitle=Shop relaunch\nTimeZone=UTC\nQuietHours=none\n"
	"Client=Harbor Foods\nProvider=Brightline Digital\n"
	"[Member \"tom\"]\nName=Tom Becker\nSide=client\nEmail=tom@harborfoods.example\n"
	"[Member \"dan\"]\nName=Dan O'Neill\nSide=provider\nEmail=dan@brightline.example\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas for the new checkout\n"
	"Text=What would make checkout faster for our customers?\n"
	"Open=2026-12-01 09:00\nDuration=2d\n"
	"[Round \"pick\"]\nKind=vote\nTitle=Pick\nSource=ideas\nVotes=3\n"
	"Open=2026-12-04 09:00\nDuration=2d\n";

/* s with every `from` replaced by `to`. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	strbuf b = {};
	for (const char *p; (p = strstr(s, from)); s = p + strlen(from)) {
		strbuf_add(&b, s, (size_t)(p - s));
		strbuf_puts(&b, to);
	}
	strbuf_puts(&b, s);
	return strbuf_steal(&b);
}

/* The message of `kind` for round sent to member, as its spool file holds it. */
static cJSON *sent_to(sim *s, const char *kind, const char *round, const char *member)
{
	cJSON *m = last_spooled_about(s, kind, round, member);
	if (!m)
		fail_msg("no %s of %s to %s", kind, round, member);
	return m;
}

/* Dan's mail from the trial, answering his invitation: its reply tag and the Message-ID it
 * answers are those of the trial's key, so they become this invitation's. */
static void deliver_trial_mail(sim *s, const char *file)
{
	_cleanup_free_ char *path = xasprintf("tests/data/mail/%s", file);
	_cleanup_free_ char *data = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
	cJSON *inv = sent_to(s, "prompt", "ideas", "dan");
	const char *ref = cJSON_GetObjectItem(inv, "conversation")->valuestring;
	_cleanup_free_ char *rt = email_reply_to("coco@brightline.example", ref);
	_cleanup_free_ char *mid = email_message_id("coco@brightline.example",
	                                            cJSON_GetObjectItem(inv, "id")->valuestring, ref);
	cJSON_Delete(inv);
	_cleanup_free_ char *to_rt = xasprintf("To: %s", rt);
	_cleanup_free_ char *a = replace_all(data, "coco+3jo6xejrz7au2dmg@brightline.example", rt);
	_cleanup_free_ char *b = replace_all(a, "To: coco@brightline.example", to_rt);
	_cleanup_free_ char *c =
	    replace_all(b, "prompt-ae5krre5iq2b2c4k.3jo6xejrz7au2dmg@brightline.example", mid);
	deliver_mail(s, c);
}

/* The ideas of the records in answers.jsonl of round, one JSON array per record. */
static char *recorded_ideas(sim *s, const char *round)
{
	_cleanup_free_ char *path = xasprintf("campaigns/relaunch/rounds/%s/once/answers.jsonl", round);
	_cleanup_free_ char *data = NULL;
	if (store_read(s->st, path, 1 << 22, &data, NULL) < 0)
		fail_msg("no %s", path);
	strbuf b = {};
	for (char *line = data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		cJSON *rec = cJSON_Parse(line);
		assert_non_null(rec);
		_cleanup_free_ char *ideas =
		    cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "ideas"));
		strbuf_printf(&b, "%s\n", ideas);
		cJSON_Delete(rec);
	}
	return strbuf_steal(&b);
}

static void test_outlook_list_of_ideas(void **state)
{
	sim s;
	clock_set_test(DEC1);
	sim_start_with(&s, coco_conf, NULL, conf);
	run_until(&s, DEC1 + 10 * HOUR, NULL, NULL);

	/* "<p>Two ideas:</p><ol><li>One-page checkout</li><li>guest checkout without an
	 * account</li></ol>": two ideas, not one of two lines. */
	deliver_trial_mail(&s, "outlook-ideas-ol.eml");
	_cleanup_free_ char *ideas = recorded_ideas(&s, "ideas");
	assert_string_equal(ideas, "[\"One-page checkout\",\"guest checkout without an account\"]\n");
	cJSON *conf1 = sent_to(&s, "confirmation", "ideas", "dan");
	const char *md = cJSON_GetObjectItem(conf1, "markdown")->valuestring;
	expect_in(md, "One-page checkout");
	if (strstr(md, "One-page checkout guest") || strstr(md, "One-page checkout\nguest"))
		fail_msg("the two ideas confirmed as one:\n%s", md);
	cJSON_Delete(conf1);

	/* The same with <ul>, and a plain-text paragraph over two lines: one idea in one line. */
	deliver_trial_mail(&s, "outlook-ideas-ul.eml");
	answer(&s, "tom", "ideas", NULL,
	       "Guest checkout without an account\n\nFree delivery\nover 50 euros");
	free(ideas);
	ideas = recorded_ideas(&s, "ideas");
	assert_string_equal(ideas,
	                    "[\"One-page checkout\",\"guest checkout without an account\"]\n"
	                    "[\"Saved cards\",\"Address autocomplete\"]\n"
	                    "[\"Guest checkout without an account\",\"Free delivery over 50 euros\"]\n");

	/* The ballot: Tom's guest checkout is Dan's idea 2 again; no idea holds a line break,
	 * nor does any of its Slack buttons. */
	run_until(&s, DEC1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	cJSON *vote = sent_to(&s, "prompt", "pick", "dan");
	const cJSON *it, *ballot = cJSON_GetObjectItem(cJSON_GetObjectItem(vote, "prompt"), "ideas");
	const char *want[] = {"One-page checkout", "guest checkout without an account",
	                      "Saved cards", "Address autocomplete", "Free delivery over 50 euros"};
	assert_int_equal(cJSON_GetArraySize(ballot), ELEMENTSOF(want));
	size_t i = 0;
	cJSON_ArrayForEach(it, ballot)
	{
		const cJSON *t = cJSON_IsString(it) ? it : cJSON_GetObjectItem(it, "text");
		assert_true(cJSON_IsString(t));
		assert_string_equal(t->valuestring, want[i++]);
	}
	_cleanup_(channel_msg_freep) channel_msg *m = NULL;
	assert_int_equal(channel_msg_from_json(vote, &m), 0);
	cJSON *blocks = slack_blocks(m);
	_cleanup_free_ char *bj = cJSON_PrintUnformatted(blocks);
	expect_in(bj, "\"5. Free delivery over 50 euros\"");
	expect_in(bj, "\"2. guest checkout without an account\"");
	cJSON_Delete(blocks);
	cJSON_Delete(vote);
	sim_finish(&s);
}

/* An idea stored over two lines (by a coco before this fix): on the ballot and its button
 * in one line. */
static void test_stored_idea_over_two_lines(void **state)
{
	sim s;
	clock_set_test(DEC1);
	sim_start_with(&s, coco_conf, NULL, conf);
	run_until(&s, DEC1 + 10 * HOUR, NULL, NULL);
	answer(&s, "tom", "ideas", NULL, "idea: Saved cards");
	store_commit(s.st);
	/* Rewrite Tom's record as the older coco stored Dan's list. */
	const char *rel = "campaigns/relaunch/rounds/ideas/once/answers.jsonl";
	_cleanup_free_ char *data = NULL;
	assert_int_equal(store_read(s.st, rel, 1 << 22, &data, NULL), 0);
	_cleanup_free_ char *old =
	    replace_all(data, "\"Saved cards\"", "\"One-page checkout\\nguest checkout\"");
	_cleanup_free_ char *abs = xasprintf("%s/%s", s.state, rel);
	write_text(abs, old);
	run_until(&s, DEC1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	cJSON *vote = sent_to(&s, "prompt", "pick", "dan");
	_cleanup_(channel_msg_freep) channel_msg *m = NULL;
	assert_int_equal(channel_msg_from_json(vote, &m), 0);
	_cleanup_free_ char *pj = cJSON_PrintUnformatted(cJSON_GetObjectItem(vote, "prompt"));
	expect_in(pj, "One-page checkout guest checkout");
	cJSON *blocks = slack_blocks(m);
	_cleanup_free_ char *bj = cJSON_PrintUnformatted(blocks);
	expect_in(bj, "\"1. One-page checkout guest checkout\"");
	cJSON_Delete(blocks);
	cJSON_Delete(vote);
	sim_finish(&s);
}

/* Trial 3: a reply with nothing typed above the quote (Jan's), or with the ideas typed into
 * the quoted invitation (Amélie's client): the quote held the invitation, personal link
 * included, and was stored as one idea, then mailed to everyone on the ballot. Nothing of
 * it is recorded now, and the member is told that no answer was found. */
static void test_nothing_above_the_quote(void **state)
{
	sim s;
	clock_set_test(DEC1);
	sim_start_with(&s, coco_conf, NULL, conf);
	run_until(&s, DEC1 + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *inv = last_markdown(&s, "prompt", "dan");
	assert_non_null(inv);
	/* the invitation quoted whole, with an idea typed into the quote */
	strbuf q = {};
	strbuf_puts(&q, "On Tue, Dec 1, 2026 at 10:00 AM coco <coco@brightline.example> wrote:\n");
	for (const char *p = inv, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		strbuf_printf(&q, "> %.*s\n", (int)n, p);
		if (n && strstr(p, "first screen") == p)
			strbuf_puts(&q, "> idea: a map of every store\n");
	}
	_cleanup_free_ char *quoted = strbuf_steal(&q);
	answer(&s, "dan", "ideas", NULL, quoted);
	answer(&s, "tom", "ideas", NULL, "");
	store_commit(s.st);
	assert_false(store_has(&s, "campaigns/relaunch/rounds/ideas/once/answers.jsonl"));
	_cleanup_free_ char *told = last_markdown(&s, "reply", "dan");
	assert_non_null(told);
	expect_not_in(told, "Here is what we recorded");
	expect_in(told, "above the\nquoted message (not inside it)");
	expect_in(told, "    idea: ");

	/* nothing of either reaches the ballot */
	answer(&s, "tom", "ideas", NULL, "idea: Saved cards");
	run_until(&s, DEC1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	cJSON *vote = sent_to(&s, "prompt", "pick", "tom");
	_cleanup_free_ char *pj = cJSON_PrintUnformatted(cJSON_GetObjectItem(vote, "prompt"));
	expect_in(pj, "Saved cards");
	expect_not_in(pj, "form?");
	expect_not_in(pj, "quoted invitation");
	cJSON_Delete(vote);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outlook_list_of_ideas),
		cmocka_unit_test(test_stored_idea_over_two_lines),
		cmocka_unit_test(test_nothing_above_the_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
