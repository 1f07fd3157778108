/* Rounds whose ids are words of the chat grammar, from the member's side (trial 6): the
 * shipped example calls its vote round "vote", and coco's own messages tell a Slack member
 * to write `/coco vote vote 1 3`, which was refused as not understood. With an idea round
 * called "idea" and a vote round called "vote", the commands coco suggests are recorded, and
 * the usual ones still work. Real core, store and spool, the fake chat channel of
 * tests/fake-chat.h, on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake-chat.h"
#include "local.h"
#include "sim.h"

static const channel_ops *const chans[] = {&local_channel, &fake_chat_channel, NULL};

static const char coco_conf[] =
    "[Daemon]\nConnectors=local fakechat\n[Mail]\nFrom=coco@provider.example\n";

static const char campaign_conf[] =
    "[Campaign]\nId=kw\nTitle=Keywords\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"
    "Provider=Provider Co\n"
    "[Member \"cat\"]\nName=Cat Chat\nSide=provider\nSlack=U0CAT01\n"
    "[Member \"dan\"]\nName=Dan Chat\nSide=client\nSlack=U0DAN01\n"
    "[Member \"eve\"]\nName=Eve Chat\nSide=client\nSlack=U0EVE01\n"
    "[Round \"idea\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
    "[Round \"vote\"]\nKind=vote\nTitle=Pick\nSource=idea\nVotes=3\n"
    "Open=2026-06-04 09:00\nDuration=2d\n";

#define IDEAS "campaigns/kw/rounds/idea/once/answers.jsonl"
#define VOTES "campaigns/kw/rounds/vote/once/answers.jsonl"

/* The last record of member in the JSONL file at path, or NULL. */
static cJSON *last_of(sim *s, const char *path, const char *member)
{
	_cleanup_free_ char *data = read_store(s, path);
	cJSON *found = NULL;
	for (char *line = data, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = 0;
		cJSON *o = cJSON_Parse(line);
		assert_non_null(o);
		const cJSON *m = cJSON_GetObjectItem(o, "member");
		if (cJSON_IsString(m) && STREQ(m->valuestring, member)) {
			cJSON_Delete(found);
			found = o;
		} else
			cJSON_Delete(o);
	}
	return found;
}

static void expect_votes(sim *s, const char *member, const char *votes_json)
{
	cJSON *rec = last_of(s, VOTES, member);
	if (!rec)
		fail_msg("no vote of %s in %s", member, VOTES);
	_cleanup_free_ char *got = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "votes"));
	cJSON_Delete(rec);
	if (!got || !STREQ(got, votes_json))
		fail_msg("%s's votes: %s, expected %s", member, got ? got : "none", votes_json);
}

static fake_event *slash(sim *s, const char *from, const char *text)
{
	fake_event *e = fake_chat_slash(from, text);
	settle(s);
	assert_true(e->done);
	return e;
}

static void expect_recorded(const fake_event *e, const char *text)
{
	if (e->status != INBOUND_DONE || !e->reply || strstr(e->reply, "not understood") ||
	    strstr(e->reply, "nothing was recorded"))
		fail_msg("`/coco %s`: status %d, reply: %s", text, (int)e->status,
			 e->reply ? e->reply : "(none)");
}

static void test_rounds_named_like_keywords(void **state)
{
	sim s;
	clock_set_test(JUN1);
	fake_chat_reset();
	fake_chat.command = "/coco";
	sim_start_with(&s, coco_conf, chans, campaign_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Ideas, with and without the round's name. */
	expect_recorded(slash(&s, "U0CAT01", "idea A dark mode"), "idea A dark mode");
	expect_recorded(slash(&s, "U0DAN01", "answer idea idea: Offline mode"),
			"answer idea idea: Offline mode");
	cJSON *rec = last_of(&s, IDEAS, "dan");
	assert_non_null(rec);
	_cleanup_free_ char *ideas = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "ideas"));
	cJSON_Delete(rec);
	if (!ideas || !strstr(ideas, "Offline mode") || strstr(ideas, "idea"))
		fail_msg("dan's ideas: %s", ideas ? ideas : "none");

	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	/* The vote's invitation says how to vote here: with the round's id, "vote". */
	const fake_post *inv = fake_chat_find("prompt", "vote", "eve");
	assert_non_null(inv);
	if (!strstr(inv->msg->markdown, "/coco vote vote "))
		fail_msg("the vote's invitation does not say `/coco vote vote …`:\n%s",
			 inv->msg->markdown);

	/* What it says, recorded; with "answer" too; and the short form still works. */
	expect_recorded(slash(&s, "U0EVE01", "vote vote 1 2"), "vote vote 1 2");
	expect_votes(&s, "eve", "{\"1\":1,\"2\":1}");
	expect_recorded(slash(&s, "U0CAT01", "answer vote 2 2"), "answer vote 2 2");
	expect_votes(&s, "cat", "{\"2\":2}");
	expect_recorded(slash(&s, "U0DAN01", "vote 1"), "vote 1");
	expect_votes(&s, "dan", "{\"1\":1}");
	sim_finish(&s);
	fake_chat_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rounds_named_like_keywords),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
