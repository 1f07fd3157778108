/* Trial 6 (December 2026): a new admin ran a campaign from the docs only, members answering
 * by mail and in Slack. Each test is one thing they found, written from their side: the
 * config they wrote, the mail a member's client sent or the command they typed, and what they
 * read back. The real core, store, spool and local channel on the injectable clock
 * (tests/sim.h); tests/test_trial.c holds the earlier trial's. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake-chat.h"
#include "local.h"
#include "sim.h"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Billing\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"    \
	"Provider=Provider Co\n" SIM_MEMBERS

static const char ideas_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Billing ideas\nOpen=2026-06-01 09:00\n"
	"Duration=3d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote on the billing ideas\nSource=ideas\n"
	"Duration=2d\nVotes=3\n";

/* ---- 8. an `idea:` line is an idea; a new sentence under it is another ----------------- */

static void test_idea_line_then_new_sentence(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, ideas_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Björn's mail: two `idea:` lines, a new sentence (a paragraph wrapped over two lines)
	 * right under the second, an `idea:` line wrapped by his mail client, a short idea
	 * right under it, and his name. */
	answer(&s, "pia", "ideas", NULL,
	       "idea: Push notification when the order is packed\n"
	       "idea: a reorder button on the order page\n"
	       "A loyalty stamp card in the app, so regulars do not need the paper card\n"
	       "which they always lose.\n"
	       "\n"
	       "idea: offline mode for the branches, so that orders taken without a\n"
	       "network are sent later\n"
	       "Offline Sync\n"
	       "\n"
	       "Pia");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "pia");
	expect_not_in(conf, "not understood");
	cococtl_ok(&s, "close", "t/ideas");
	/* The ballot carries four ideas, each as he meant it. */
	cococtl_ok(&s, "open", "t/vote");
	_cleanup_free_ char *ballot = last_markdown(&s, "prompt", "ann");
	expect_in(ballot, "Push notification when the order is packed\n");
	expect_in(ballot, "a reorder button on the order page\n");
	expect_in(ballot, "A loyalty stamp card in the app, so regulars do not need the paper card "
			  "which they always lose.\n");
	expect_in(ballot, "offline mode for the branches, so that orders taken without a network "
			  "are sent later\n");
	expect_in(ballot, "Offline Sync\n");
	expect_not_in(ballot, "page A loyalty");
	expect_not_in(ballot, "later Offline");
	expect_not_in(ballot, "Pia");
	sim_finish(&s);
}

/* ---- trial 7, 1: an anonymous idea round publishes no sign-off that names its writer ---- */

static const char anon_ideas_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Billing ideas\nOpen=2026-06-01 09:00\n"
	"Duration=3d\nAnonymous=yes\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote on the billing ideas\nSource=ideas\n"
	"Duration=2d\nVotes=3\n";

static void test_anonymous_idea_sign_off_not_published(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, anon_ideas_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Ann signs off with a closing coco does not know and her first name; Bob with the
	 * Finnish "t." and his. */
	answer(&s, "ann", "ideas", NULL,
	       "idea: Fewer meetings, more written updates\n\nGrüße aus Berlin\nAnn");
	answer(&s, "bob", "ideas", NULL, "idea: A shared Slack channel\n\nt. Bob");
	cococtl_ok(&s, "close", "t/ideas");
	cococtl_ok(&s, "open", "t/vote");
	/* The ballot everybody gets carries the ideas, and no name of those who wrote them. */
	_cleanup_free_ char *ballot = last_markdown(&s, "prompt", "pia");
	expect_in(ballot, "Fewer meetings, more written updates\n");
	expect_in(ballot, "A shared Slack channel\n");
	expect_not_in(ballot, "Ann");
	expect_not_in(ballot, "Bob");
	expect_not_in(ballot, "Berlin");
	sim_finish(&s);
}

/* ---- 10. a vote button past the ballot's limit says what the member did ------------------ */

static const channel_ops *const chat_chans[] = {&local_channel, &fake_chat_channel, NULL};

static const char chat_coco_conf[] =
	"[Daemon]\nConnectors=local fakechat\n[Mail]\nFrom=coco@provider.example\n";

static const char chat_vote_conf[] =
	"[Campaign]\nId=kw\nTitle=Shop\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"
	"Provider=Provider Co\n"
	"[Member \"cat\"]\nName=Cat Chat\nSide=provider\nSlack=U0CAT01\n"
	"[Member \"marta\"]\nName=Marta Wiśniewska\nSide=client\nSlack=U0MAR01\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Pick\nSource=ideas\nVotes=3\n"
	"Open=2026-06-04 09:00\nDuration=2d\n";

static fake_event *chat_settled(sim *s, fake_event *e)
{
	settle(s);
	assert_true(e->done);
	assert_non_null(e->reply);
	return e;
}

static void test_vote_button_past_the_limit(void **state)
{
	sim s;
	clock_set_test(JUN1);
	fake_chat_reset();
	fake_chat.command = "/coco";
	sim_start_with(&s, chat_coco_conf, chat_chans, chat_vote_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	chat_settled(&s, fake_chat_slash("U0CAT01", "idea Dark mode"));
	chat_settled(&s, fake_chat_slash("U0CAT01", "idea Offline mode"));
	chat_settled(&s, fake_chat_slash("U0CAT01", "idea Recipes in the app"));
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);

	/* Marta gives all three dots to idea 3, then presses the button of idea 1. */
	chat_settled(&s, fake_chat_slash("U0MAR01", "vote 3 3 3"));
	const fake_post *inv = fake_chat_find("prompt", "vote", "marta");
	assert_non_null(inv);
	fake_event *e = chat_settled(&s, fake_chat_press("U0MAR01", inv, "vote", "1"));
	/* What she reads speaks of what she did, and how to change her vote. */
	expect_in(e->reply, "you pressed the button for idea 1, Dark mode, but you");
	expect_in(e->reply, "already have 3 dots in");
	expect_in(e->reply, "3 dots for idea 3, Recipes in the app");
	expect_in(e->reply, "Nothing\nwas changed.");
	expect_in(e->reply, "/coco vote vote 1 3 3");
	expect_not_in(e->reply, "3x3");
	expect_not_in(e->reply, "too many votes");
	/* Her vote is as it was. */
	_cleanup_free_ char *votes = read_store(&s, "campaigns/kw/rounds/vote/once/answers.jsonl");
	expect_in(votes, "\"votes\":{\"3\":3}");
	expect_not_in(votes, "\"1\":1");

	/* What it suggests replaces her vote; a press then adds a dot while there is room. */
	chat_settled(&s, fake_chat_slash("U0MAR01", "vote vote 1 3"));
	e = chat_settled(&s, fake_chat_press("U0MAR01", inv, "vote", "2"));
	expect_not_in(e->reply, "you pressed");
	_cleanup_free_ char *after = read_store(&s, "campaigns/kw/rounds/vote/once/answers.jsonl");
	expect_in(after, "\"votes\":{\"1\":1,\"2\":1,\"3\":1}");
	sim_finish(&s);
	fake_chat_reset();
}

/* ---- 4. a closed round counts the members it had ---------------------------------------- */

static const char survey_conf[] = CAMPAIGN
	"[Round \"billing\"]\nKind=survey\nTitle=Billing export\nOpen=2026-06-01 09:00\n"
	"Duration=2d\n"
	"[Question \"billing/urgency\"]\nKind=scale\nText=How urgent is it?\n";

/* The same, and Lukas, whom the admin adds after the round closed. */
static const char survey_lukas_conf[] = CAMPAIGN
	"[Member \"lukas\"]\nName=Lukas Großmann\nSide=client\nEmail=lukas@client.example\n"
	"[Round \"billing\"]\nKind=survey\nTitle=Billing export\nOpen=2026-06-01 09:00\n"
	"Duration=2d\n"
	"[Question \"billing/urgency\"]\nKind=scale\nText=How urgent is it?\n";

static void test_closed_round_counts_its_members(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "billing", NULL, "1: 4");
	answer(&s, "pia", "billing", NULL, "1: 2");
	run_until(&s, JUN1 + 3 * DAY, NULL, NULL); /* closed, its digest sent */
	_cleanup_free_ char *closing = last_markdown(&s, "digest", "ann");
	expect_in(closing, "## Not heard from yet\n\n- Bob Client\n");

	/* The admin adds Lukas and reloads. */
	sim_reload(&s, survey_lukas_conf);
	settle(&s);
	char *err = NULL;
	cJSON *o = cococtl(&s, "rounds", NULL, false, &err);
	assert_non_null(o);
	cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "rounds"), 0);
	assert_int_equal(cJSON_GetObjectItem(e, "answered")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(e, "total")->valueint, 3); /* not 2/4 */
	cJSON_Delete(o);

	/* The digest rendered again (`cococtl digest t billing`) is the one of its close. */
	cococtl_ok(&s, "digest", "t/billing");
	_cleanup_free_ char *again = last_markdown(&s, "digest", "ann");
	expect_in(again, "## Not heard from yet\n\n- Bob Client\n");
	expect_not_in(again, "Lukas");
	expect_in(again, "**Who answered:** Client Co 1 of 2, Provider Co 1 of 1.");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idea_line_then_new_sentence),
		cmocka_unit_test(test_anonymous_idea_sign_off_not_published),
		cmocka_unit_test(test_vote_button_past_the_limit),
		cmocka_unit_test(test_closed_round_counts_its_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
