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
	 * right under the second, an `idea:` line wrapped by his mail client, and his name. */
	answer(&s, "pia", "ideas", NULL,
	       "idea: Push notification when the order is packed\n"
	       "idea: a reorder button on the order page\n"
	       "A loyalty stamp card in the app, so regulars do not need the paper card\n"
	       "which they always lose.\n"
	       "\n"
	       "idea: offline mode for the branches, so that orders taken without a\n"
	       "network are sent later\n"
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
	expect_not_in(ballot, "page A loyalty");
	expect_not_in(ballot, "Pia");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idea_line_then_new_sentence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
