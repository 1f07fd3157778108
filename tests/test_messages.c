/* What members read: the invitations, reminders, confirmations and digests of a campaign, as
 * the recipients get them. Each test runs the real core, store, spool and local connector on
 * the injectable clock (tests/sim.h) and reads the Markdown of the queued mails. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

/* The campaign runs in UTC so instants read easily (JUN1 is a Monday). */
#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Messages\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"   \
	"Provider=Provider Co\n" SIM_MEMBERS

/* The `part` ("markdown" or "html") of the newest message of `kind` for `round` to
 * `member` (NULL if none). */
static char *last_part(sim *s, const char *part, const char *kind, const char *round,
                       const char *member)
{
	cJSON *m = last_spooled_about(s, kind, round, member);
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(m, part));
	char *ret = text ? xstrdup(text) : NULL;
	cJSON_Delete(m);
	return ret;
}

static char *last_message(sim *s, const char *kind, const char *round, const char *member)
{
	return last_part(s, "markdown", kind, round, member);
}

/* ---- 1. the answer examples are the round's own --------------------------------------- */

/* A scale and a text question: no question 3, and question 2 is no choice. */
static const char pulse_conf[] = CAMPAIGN
	"[Round \"pulse\"]\nKind=survey\nTitle=Pulse\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"Remind=-1d\n"
	"[Question \"pulse/mood\"]\nKind=scale\nText=How is the week going?\nRequired=yes\n"
	"[Question \"pulse/why\"]\nKind=text\nText=Why?\n";

static void test_survey_examples_fit_the_survey(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, pulse_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *inv = last_message(&s, "prompt", "pulse", "ann");
	/* one line per question, shown as lines (an indented block: lines in HTML too) */
	expect_in(inv, "one line per question");
	expect_in(inv, "\n    1: 4\n    2: your words\n");
	expect_in(inv, "`skip 2`");
	expect_not_in(inv, "3:");
	expect_not_in(inv, "2: b");
	expect_not_in(inv, "1: 4, 2:");
	/* ...and in the HTML part the example is still two lines */
	_cleanup_free_ char *html = last_part(&s, "html", "prompt", "pulse", "ann");
	expect_in(html, "<pre><code>1: 4\n2: your words\n</code></pre>");

	run_until(&s, JUN1 + DAY + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *rem = last_message(&s, "reminder", "pulse", "ann");
	expect_in(rem, "How is the week going?");
	expect_in(rem, "\n    1: 4\n    2: your words\n");
	expect_not_in(rem, "2: b");

	/* A line coco cannot take: the fix is shown with this survey's lines. */
	answer(&s, "bob", "pulse", NULL, "1: 9\n2: fine");
	_cleanup_free_ char *conf = last_message(&s, "confirmation", "pulse", "bob");
	expect_in(conf, "We did not record these lines");
	/* only the line to send again (trial 7), with a value this survey's question takes */
	expect_in(conf, "written like this:\n\n    1: 4\n");
	expect_not_in(conf, "2: your words");
	expect_not_in(conf, "2: b");
	sim_finish(&s);
}

/* ---- 2. confirmations say the question and the answer in words --------------------------- */

static const char kickoff_conf[] = CAMPAIGN
	"[Round \"kickoff\"]\nKind=survey\nTitle=Kickoff\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Question \"kickoff/mood\"]\nKind=scale\nText=How do you feel about the project?\n"
	"[Question \"kickoff/role\"]\nKind=choice\nText=What is your role?\n"
	"Options=Decision maker|Day-to-day user|Observer\n"
	"[Question \"kickoff/devices\"]\nKind=multi\nText=Which devices do you shop on?\n"
	"Options=Phone|Tablet|Laptop\n"
	"[Question \"kickoff/long\"]\nKind=text\nText=If you could change one single thing about "
	"the way we work together today, what would it be and why?\n";

static void test_confirmation_names_questions_and_values(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, kickoff_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "kickoff", NULL, "1: 4\n2: b\n3: c a\n4: shorter meetings\nskip 4");
	_cleanup_free_ char *conf = last_message(&s, "confirmation", "kickoff", "ann");
	expect_in(conf, "**1.** How do you feel about the project? → 4\n");
	expect_in(conf, "**2.** What is your role? → Day-to-day user\n");
	expect_in(conf, "**3.** Which devices do you shop on? → Phone, Laptop\n");
	expect_not_in(conf, "Phone|Laptop");
	/* a long question is cut at a word */
	expect_in(conf, "**4.** If you could change one single thing about the way we work together "
	                "today, what… → skipped\n");

	/* Nothing understood: said so, not "recorded: nothing yet". */
	answer(&s, "bob", "kickoff", NULL, "1: 9");
	_cleanup_free_ char *none = last_message(&s, "reply", "kickoff", "bob");
	expect_in(none, "could not record anything");
	expect_not_in(none, "nothing yet");
	expect_in(none, "To fix it, reply again with just the corrected line, written like "
	                "this:\n\n    1: 4\n");
	expect_not_in(none, "2: b");
	/* A line for no question of the round: the whole example, this survey's lines. */
	answer(&s, "bob", "kickoff", NULL, "7: 3");
	_cleanup_free_ char *words = last_message(&s, "reply", "kickoff", "bob");
	expect_in(words, "\n    1: 4\n    2: b\n    3: a c\n    4: your words\n");
	sim_finish(&s);
}

/* ---- 3. a vote round: the ballot in the reminder, vote examples in the confirmation ---------- */

static const char vote_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote\nSource=ideas\nVotes=2\n"
	"Open=2026-06-04 09:00\nDuration=2d\nRemind=-1d\n";

static void test_vote_messages_show_the_ballot(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, vote_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "ideas", NULL, "idea: Offline mode\nidea: A live map\nidea: Dark mode");
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *inv = last_message(&s, "prompt", "vote", "bob");
	expect_in(inv, "2. A live map");
	expect_in(inv, "\n    vote 1 3\n");
	expect_not_in(inv, "vote 3 7");

	run_until(&s, JUN1 + 4 * DAY + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *rem = last_message(&s, "reminder", "vote", "bob");
	expect_in(rem, "1. Offline mode\n2. A live map\n3. Dark mode\n");
	expect_in(rem, "\n    vote 1 3\n");

	answer(&s, "bob", "vote", NULL, "vote 1\nChanged my mind:");
	_cleanup_free_ char *conf = last_message(&s, "confirmation", "vote", "bob");
	expect_in(conf, "1 dot for idea 1, Offline mode");
	expect_in(conf, "\n    vote 1 3\n");
	expect_not_in(conf, "2: b");

	/* The results: "1 vote", not "1 votes"; ideas 2 and 3 tie and share rank 2. */
	answer(&s, "ann", "vote", NULL, "vote 1 1");
	answer(&s, "pia", "vote", NULL, "vote 2 3");
	run_until(&s, JUN1 + 6 * DAY, NULL, NULL);
	_cleanup_free_ char *dg = last_message(&s, "digest", "digest", "bob");
	expect_in(dg, "# Results: Vote\n");
	expect_in(dg, "1. Offline mode (3 votes)\n2. A live map (1 vote)\n2. Dark mode (1 vote)\n");
	sim_finish(&s);
}

/* ---- 4. the periodic digest: one end, after every round ------------------------------------ */

static const char periodic_conf[] = CAMPAIGN
	"[Round \"a\"]\nKind=survey\nTitle=First?\nOpen=2026-06-01 09:00\nDuration=10d\n"
	"[Question \"a/q\"]\nKind=scale\nText=Mood\n"
	"[Round \"b\"]\nKind=survey\nTitle=Second\nOpen=2026-06-01 09:00\nDuration=10d\n"
	"[Question \"b/q\"]\nKind=scale\nText=Pace\n"
	"[Digest]\nRepeat=FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0\nOnClose=no\n"
	"Recipients=all\n";

static void test_periodic_digest_has_one_end(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, periodic_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "a", NULL, "1: 4");
	answer(&s, "pia", "b", NULL, "1: 2");
	run_until(&s, JUN1 + 4 * DAY + 16 * HOUR, NULL, NULL);
	_cleanup_free_ char *md = last_message(&s, "digest", "digest", "bob");
	/* Both rounds are still open: their progress, not their results (docs/digest.md). */
	expect_in(md, "# Progress: First?\n");
	expect_in(md, "# Progress: Second\n");
	assert_null(strstr(md, "mean"));
	expect_in(md, "\n---\n");
	/* One signature separator, at the end, after the comment hint: mail clients grey out
	 * or cut everything after "-- ". */
	const char *sig = strstr(md, "\n-- \n");
	assert_non_null(sig);
	assert_null(strstr(sig + 1, "\n-- \n"));
	assert_null(strstr(sig, "# Progress"));
	const char *hint = strstr(md, "Reply to this mail to add a comment");
	assert_non_null(hint);
	assert_true(hint < sig);
	assert_null(strstr(hint + 1, "Reply to this mail to add a comment"));
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_survey_examples_fit_the_survey),
		cmocka_unit_test(test_confirmation_names_questions_and_values),
		cmocka_unit_test(test_vote_messages_show_the_ballot),
		cmocka_unit_test(test_periodic_digest_has_one_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
