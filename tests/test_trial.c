/* The trial of December 2026 (h5): a new admin ran a campaign from the docs only, eight
 * members answering from their mail clients. Each test is one thing they found, written from
 * their side: the config they wrote, the mail a member's client sent, and what they read back
 * (the stored answer, the digest, `cococtl`). The real core, store, spool and local channel on
 * the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"
#include "email/reply.h"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Billing\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"    \
	"Provider=Provider Co\n" SIM_MEMBERS

/* The lines of `md` from the one starting with `start` on, `n` of them, each quoted as
 * Thunderbird and Gmail quote a plain-text mail ("> " before it). */
static char *quote_lines(const char *md, const char *start, size_t n)
{
	const char *p = strstr(md, start);
	assert_non_null(p);
	strbuf b = {0};
	for (size_t i = 0; i < n && *p; i++) {
		size_t len = strcspn(p, "\n");
		strbuf_printf(&b, "> %.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	return strbuf_steal(&b);
}

/* ---- 1. an answer typed inline, under the quoted question ------------------------------ */

static const char billing_conf[] = CAMPAIGN
	"[Round \"billing\"]\nKind=survey\nTitle=Billing export\nOpen=2026-06-01 09:00\n"
	"Duration=4d\n"
	"[Question \"billing/urgency\"]\nKind=scale\nText=How urgent is the new billing export?\n"
	"Min=1\nMax=5\nMinLabel=can wait\nMaxLabel=blocking us\nRequired=yes\n"
	"[Question \"billing/columns\"]\nKind=text\nText=Which columns must it have?\n";

static void test_inline_answer_under_quoted_question(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, billing_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Bob replies in Thunderbird: the invitation quoted, his answers typed under each
	 * question, nothing above the quote. */
	_cleanup_free_ char *invite = last_markdown(&s, "prompt", "bob");
	_cleanup_free_ char *q1 = quote_lines(invite, "**1. ", 2);
	_cleanup_free_ char *q2 = quote_lines(invite, "**2. ", 2);
	expect_in(q1, "> **1. How urgent is the new billing export?**\n> Answer 1 to 5 (1 = can wait");
	_cleanup_free_ char *body = xasprintf(
		"On 01/06/2026 09:00, Coco wrote:\n> Hi Bob,\n>\n%s4 - fairly urgent\n\n%s"
		"Invoice number and the VAT rate\n\n> Answers are open until Friday.\n",
		q1, q2);
	reply_to_message(&s, "prompt", "bob", "billing", NULL, body);

	/* Stored: 4 for question 1, his words for question 2, no quoted line anywhere. */
	_cleanup_free_ char *stored =
		read_store(&s, "campaigns/t/rounds/billing/once/answers.jsonl");
	expect_in(stored, "\"urgency\":\"4\"");
	expect_in(stored, "\"columns\":\"Invoice number and the VAT rate\"");
	expect_not_in(stored, "fairly urgent\"");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "bob");
	expect_in(conf, "→ 4");
	expect_not_in(conf, "not understood");

	/* What coco reads as his reply (`cococtl mail-parse`'s "reply") holds no quote. */
	_cleanup_free_ char *kept = NULL;
	assert_int_equal(reply_extract(body, &kept, NULL), 0);
	expect_not_in(kept, ">");
	expect_not_in(kept, "How urgent");

	/* And the digest at the close shows his words under question 2, no quote. */
	cococtl_ok(&s, "close", "t/billing");
	_cleanup_free_ char *digest = last_markdown(&s, "digest", "ann");
	expect_in(digest, "Invoice number and the VAT rate");
	expect_not_in(digest, "> **");
	expect_not_in(digest, "fairly urgent");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_answer_under_quoted_question),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
