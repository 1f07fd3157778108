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
#include "mdtext.h"

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
	 * question, nothing above the quote. A mail client quotes the text part: the Markdown
	 * as md_plain() gives it (no hard break's backslash after a question). */
	_cleanup_free_ char *invite_md = last_markdown(&s, "prompt", "bob");
	_cleanup_free_ char *invite = md_plain(invite_md);
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

/* ---- 2. who answered: one number in cococtl, the digest and the reminders -------------- */

/* Eight members, four a side, as the trial's admin had them. */
#define EIGHT                                                                                  \
	"[Campaign]\nId=t\nTitle=Billing\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"  \
	"Provider=Provider Co\n"                                                                 \
	"[Member \"c1\"]\nName=Cara One\nSide=client\nEmail=c1@client.example\n"               \
	"[Member \"c2\"]\nName=Carl Two\nSide=client\nEmail=c2@client.example\n"               \
	"[Member \"c3\"]\nName=Cleo Three\nSide=client\nEmail=c3@client.example\n"             \
	"[Member \"c4\"]\nName=Cole Four\nSide=client\nEmail=c4@client.example\n"              \
	"[Member \"p1\"]\nName=Pam One\nSide=provider\nEmail=p1@provider.example\n"            \
	"[Member \"p2\"]\nName=Paul Two\nSide=provider\nEmail=p2@provider.example\n"           \
	"[Member \"p3\"]\nName=Pia Three\nSide=provider\nEmail=p3@provider.example\n"          \
	"[Member \"p4\"]\nName=Pete Four\nSide=provider\nEmail=p4@provider.example\n"

static const char eight_conf[] = EIGHT
	"[Round \"billing\"]\nKind=survey\nTitle=Billing export\nOpen=2026-06-01 09:00\n"
	"Duration=4d\n"
	"[Question \"billing/urgency\"]\nKind=scale\nText=How urgent is the new billing export?\n"
	"Required=yes\n"
	"[Question \"billing/columns\"]\nKind=text\nText=Which columns must it have?\n";

/* `cococtl rounds`' line for the round, as JSON. */
static cJSON *rounds_entry(sim *s)
{
	char *err = NULL;
	cJSON *o = cococtl(s, "rounds", NULL, false, &err);
	if (!o)
		fail_msg("cococtl rounds: %s", err ? err : "?");
	cJSON *e = cJSON_DetachItemFromArray(cJSON_GetObjectItem(o, "rounds"), 0);
	cJSON_Delete(o);
	assert_non_null(e);
	return e;
}

static void test_who_answered_is_one_number(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, eight_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Four answer everything; three answer only the optional question (partial); p4 is
	 * silent. */
	answer(&s, "c1", "billing", NULL, "1: 4\n2: invoice number");
	answer(&s, "c2", "billing", NULL, "1: 2");
	answer(&s, "p1", "billing", NULL, "1: 5");
	answer(&s, "p2", "billing", NULL, "1: 3\n2: VAT rate");
	answer(&s, "c3", "billing", NULL, "2: the date range");
	answer(&s, "c4", "billing", NULL, "2: customer id");
	answer(&s, "p3", "billing", NULL, "2: totals per month");

	/* cococtl rounds: 7 of 8 answered, 3 of them partly. */
	cJSON *e = rounds_entry(&s);
	assert_int_equal(cJSON_GetObjectItem(e, "answered")->valueint, 7);
	assert_int_equal(cJSON_GetObjectItem(e, "total")->valueint, 8);
	assert_int_equal(cJSON_GetObjectItem(e, "partial")->valueint, 3);
	cJSON_Delete(e);

	/* Reminders: to the silent member and to the three partial ones, not to the four who
	 * answered everything. */
	char *err = NULL;
	cJSON *o = cococtl(&s, "remind", "t/billing", true, &err);
	assert_non_null(o);
	assert_int_equal(cJSON_GetObjectItem(o, "reminded")->valueint, 4);
	cJSON_Delete(o);
	const char *const reminded[] = {"p4", "c3", "c4", "p3"};
	const char *const not_reminded[] = {"c1", "c2", "p1", "p2"};
	for (size_t i = 0; i < ELEMENTSOF(reminded); i++) {
		assert_int_equal(count(&s, "reminder", "billing", NULL, reminded[i]), 1);
		assert_int_equal(count(&s, "reminder", "billing", NULL, not_reminded[i]), 0);
	}
	/* The partial ones are told what is missing; the silent one gets the first nudge
	 * (trials 5 and 6: the same text for both). */
	_cleanup_free_ char *partial = last_markdown(&s, "reminder", "c3");
	expect_in(partial, "Thank you for your answers to **Billing export**");
	expect_in(partial, "A required question is still without one");
	expect_in(partial, "**1. How urgent is the new billing export?** _(required)_");
	expect_not_in(partial, "we would love to hear from you");
	_cleanup_free_ char *silent = last_markdown(&s, "reminder", "p4");
	expect_in(silent, "A friendly nudge: **Billing export**");
	expect_not_in(silent, "_(required)_");

	/* The digest at the close says the same: 7 of 8, and only p4 not heard from. */
	cococtl_ok(&s, "close", "t/billing");
	_cleanup_free_ char *digest = last_markdown(&s, "digest", "c1");
	expect_in(digest, "**Who answered:** Client Co 4 of 4, Provider Co 3 of 4.");
	expect_in(digest, "## Not heard from yet\n\n- Pete Four\n");
	expect_not_in(digest, "- Pia Three");
	e = rounds_entry(&s);
	assert_int_equal(cJSON_GetObjectItem(e, "answered")->valueint, 7);
	cJSON_Delete(e);
	sim_finish(&s);
}

/* ---- 3. an anonymous idea round's digest does not tie ideas to one author -------------- */

static const char anon_ideas_conf[] = EIGHT
	"[Round \"ideas\"]\nKind=prompt\nTitle=Billing ideas\nOpen=2026-06-01 09:00\n"
	"Duration=3d\nAnonymous=yes\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote on the billing ideas\nSource=ideas\n"
	"Duration=2d\nAnonymous=yes\n";

/* How far apart the first and the last of `texts` stand in `md` (in lines of it that hold
 * one of them): 2 when three of them stand together. */
static size_t spread(const char *md, const char *const *texts, size_t n)
{
	size_t lo = SIZE_MAX, hi = 0, line = 0;
	for (const char *p = md; *p; line++) {
		size_t len = strcspn(p, "\n");
		for (size_t i = 0; i < n; i++) {
			const char *hit = strstr(p, texts[i]);
			if (hit && hit < p + len) {
				lo = line < lo ? line : lo;
				hi = line > hi ? line : hi;
			}
		}
		p += len + (p[len] == '\n');
	}
	assert_true(lo != SIZE_MAX);
	return hi - lo;
}

static void test_anonymous_ideas_digest(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, anon_ideas_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* c1 sends three ideas in one mail; p1 is the only one of the provider's side. */
	answer(&s, "c1", "ideas", NULL,
	       "idea: export as CSV\nidea: export the VAT rate\nidea: a monthly export by mail");
	answer(&s, "c2", "ideas", NULL, "idea: one invoice per line");
	answer(&s, "p1", "ideas", NULL, "idea: an API for the export");
	answer(&s, "c3", "ideas", NULL, "idea: totals per customer\nidea: credit notes too");
	cococtl_ok(&s, "close", "t/ideas");

	/* The digest: how many answered, but no side with one contributor counted apart. */
	_cleanup_free_ char *digest = last_markdown(&s, "digest", "c4");
	expect_in(digest, "4 of 8 members");
	expect_in(digest, "by side withheld");
	expect_not_in(digest, "Provider Co 1 of 4");
	const char *const c1[] = {"export as CSV", "export the VAT rate", "a monthly export by mail"};
	assert_true(spread(digest, c1, ELEMENTSOF(c1)) > 2);

	/* The ballot of the vote over them: c1's three ideas are not 1, 2 and 3. */
	cococtl_ok(&s, "open", "t/vote");
	_cleanup_free_ char *ballot = last_markdown(&s, "prompt", "c4");
	expect_in(ballot, "export as CSV");
	assert_true(spread(ballot, c1, ELEMENTSOF(c1)) > 2);
	/* The same ballot everywhere: a vote for the number c4 saw counts for that idea. */
	const char *line = strstr(ballot, "an API for the export");
	assert_non_null(line);
	while (line > ballot && line[-1] != '\n')
		line--;
	size_t api = 0;
	for (const char *p = line; *p >= '0' && *p <= '9'; p++)
		api = api * 10 + (size_t)(*p - '0');
	assert_true(api >= 1);
	_cleanup_free_ char *vote = xasprintf("vote %zu", api);
	reply_to_message(&s, "prompt", "c4", "vote", NULL, vote);
	cococtl_ok(&s, "close", "t/vote");
	_cleanup_free_ char *result = last_markdown(&s, "digest", "c4");
	expect_in(result, "1. an API for the export (1 vote)");
	sim_finish(&s);
}

/* ---- 4. a comment on a round's digest is in that round's digest, saying what about ------ */

static const char comment_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Billing ideas\nOpen=2026-06-01 09:00\n"
	"Repeat=FREQ=WEEKLY;BYDAY=MO\nDuration=2d\n"
	"[Round \"survey\"]\nKind=survey\nTitle=Billing survey\nOpen=2026-06-04 09:00\n"
	"Duration=2d\n"
	"[Question \"survey/urgency\"]\nKind=scale\nText=How urgent is it?\n";

/* Member `member` answers the newest message of `kind` they got, from their own address, as
 * their mail client does: to its Reply-To, In-Reply-To its Message-ID. */
static void reply_to_newest(sim *s, const char *kind, const char *member, const char *from,
                            const char *body)
{
	cJSON *m = last_spooled(s, kind, member);
	assert_non_null(m);
	const char *sender = config_get(s->cfg, "Mail", "From");
	const char *ref = cJSON_GetStringValue(cJSON_GetObjectItem(m, "conversation"));
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(m, "id"));
	assert_non_null(ref);
	_cleanup_free_ char *to = email_reply_to(sender, ref);
	_cleanup_free_ char *irt = email_message_id(sender, id, ref);
	_cleanup_free_ char *mail = xasprintf(
		"From: %s\r\nTo: <%s>\r\nSubject: Re: digest\r\nMessage-ID: <c%u@client.example>\r\n"
		"In-Reply-To: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, to, s->mail_seq + 1, irt, body);
	cJSON_Delete(m);
	deliver_mail(s, mail);
}

static void test_comment_in_its_rounds_digest(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, comment_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "ideas", NULL, "idea: export as CSV");
	run_until(&s, JUN1 + 2 * DAY + 10 * HOUR, NULL, NULL); /* the ideas' digest is out */
	/* Bob replies to the ideas' digest. */
	reply_to_newest(&s, "digest", "bob", "bob@client.example",
	                "Hi all,\n\nCould we also think about refunds?\n\nBob");

	/* The survey's digest (at its close, 6 June) is about the survey: not Bob's comment. */
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	answer(&s, "pia", "survey", NULL, "1: 4");
	run_until(&s, JUN1 + 5 * DAY + 12 * HOUR, NULL, NULL);
	_cleanup_free_ char *survey = last_markdown(&s, "digest", "ann");
	expect_in(survey, "Results: Billing survey");
	expect_not_in(survey, "refunds");

	/* The ideas' next digest (the week after) has it, saying what it is about. */
	run_until(&s, JUN1 + 7 * DAY + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "ideas", NULL, "idea: export the VAT rate");
	run_until(&s, JUN1 + 9 * DAY + 12 * HOUR, NULL, NULL);
	_cleanup_free_ char *ideas = last_markdown(&s, "digest", "ann");
	expect_in(ideas, "Results: Billing ideas");
	expect_in(ideas, "Bob Client, about “Billing ideas”: Could we also think about refunds?");
	sim_finish(&s);
}

/* ---- 5. a greeting with a title and a second greeting is a greeting -------------------- */

static void test_greeting_with_title(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, billing_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "billing", NULL,
	       "Hi Dr. Weber, hi all,\n\n1: 4\n2: invoice number\n\nBest regards,\nBob");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "bob");
	expect_not_in(conf, "Weber");
	expect_not_in(conf, "not understood");
	_cleanup_free_ char *stored = read_store(&s, "campaigns/t/rounds/billing/once/answers.jsonl");
	expect_in(stored, "\"columns\":\"invoice number\"");
	/* in no answer; beside them in `trimmed`, with the sign-off (trial 6, 16) */
	cJSON *rec = cJSON_Parse(stored);
	_cleanup_free_ char *answers = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "answers"));
	expect_not_in(answers, "Weber");
	expect_in(cJSON_GetObjectItem(rec, "trimmed")->valuestring,
		  "Hi Dr. Weber, hi all,\n\nBest regards,\nBob");
	cJSON_Delete(rec);
	sim_finish(&s);
}

/* ---- 5. "Question 1 is required" says how to answer it ---------------------------------- */

static void test_required_says_how(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, billing_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "billing", NULL, "2: invoice number");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "bob");
	expect_in(conf, "Question 1 is required and still has no answer: reply with a line like “1: 4”.");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_answer_under_quoted_question),
		cmocka_unit_test(test_who_answered_is_one_number),
		cmocka_unit_test(test_anonymous_ideas_digest),
		cmocka_unit_test(test_comment_in_its_rounds_digest),
		cmocka_unit_test(test_greeting_with_title),
		cmocka_unit_test(test_required_says_how),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
