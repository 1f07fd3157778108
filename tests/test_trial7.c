/* The trial of December 2026 (trial 7), items 3, 10, 11, 12 and 13, written from the members'
 * side: what their mail client showed them, and what the admin read back. The real core,
 * store, spool and local channel on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email/mime.h"
#include "sim.h"

#define SHOP_HEAD                                                                              \
	"[Campaign]\nId=t\nTitle=New shop\nTimeZone=UTC\nQuietHours=none\n"                     \
	"Client=Bergström Retail\nProvider=Lumen Digital\n"
#define SHOP_ROUND                                                                             \
	"[Round \"kickoff\"]\nKind=survey\nTitle=Kickoff\nOpen=2026-06-01 09:00\nDuration=4d\n" \
	"[Question \"kickoff/clarity\"]\nKind=scale\nText=How clear are the goals?\nMin=1\n"   \
	"Max=5\nMinLabel=not clear at all\nMaxLabel=crystal clear\nRequired=yes\n"             \
	"[Question \"kickoff/format\"]\nKind=choice\nText=Which format next time?\n"           \
	"Options=On site|Remote|Hybrid\n"                                                      \
	"[Question \"kickoff/comment\"]\nKind=text\nText=Anything else?\n"

static const char shop_conf[] = SHOP_HEAD SIM_MEMBERS SHOP_ROUND;
/* bob's section removed (trial 7: Tom's) */
static const char shop_without_bob[] =
	SHOP_HEAD "[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"
	          "[Member \"pia\"]\nName=Pia Provider\nSide=provider\nEmail=pia@provider.example\n"
	          SHOP_ROUND;

/* Every outbox mail of coco's to `addr`, concatenated (each whole), "" if none. */
struct mails_to {
	const char *addr;
	strbuf all;
};

static bool add_mail_to(char *mail, void *userdata)
{
	struct mails_to *m = userdata;
	if (strstr(mail, m->addr))
		strbuf_printf(&m->all, "%s\n", mail);
	return false;
}

static char *outbox_mails_to(sim *s, const char *addr)
{
	struct mails_to m = {.addr = addr};
	strbuf_puts(&m.all, "");
	sim_outbox_each(s, add_mail_to, &m);
	return strbuf_steal(&m.all);
}

/* ---- 3. A removed member: the digest's "Who answered" adds up to its figures ---------- */

static void test_removed_member_counts_apart(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, shop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "kickoff", "once", "1: 4\n2: a");
	answer(&s, "bob", "kickoff", "once", "1: 5\n2: b\n3: one-click reorder");
	answer(&s, "pia", "kickoff", "once", "1: 3\n2: c");
	/* The admin removes bob's section and reloads. */
	sim_reload(&s, shop_without_bob);

	/* cococtl rounds: the two members, and one former member beside them. */
	char *err = NULL;
	cJSON *o = cococtl(&s, "rounds", NULL, false, &err);
	assert_non_null(o);
	const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "rounds"), 0);
	assert_non_null(row);
	assert_int_equal(cJSON_GetObjectItem(row, "answered")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(row, "total")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(row, "former")->valueint, 1);
	cJSON_Delete(o);

	run_until(&s, JUN1 + 5 * DAY, NULL, NULL);
	/* The digest Ann reads: three answers to question 1, and "Who answered" says whose. */
	_cleanup_free_ char *md = last_markdown(&s, "digest", "ann");
	assert_non_null(md);
	expect_in(md, "**Who answered:** Bergström Retail 1 of 1 and 1 former member, Lumen "
	              "Digital 1 of 1.\n");
	expect_in(md, "Answered by 3 ");
	/* What bob wrote is a former member's, not "bob"'s. */
	expect_in(md, "- “one-click reorder” (_a former member_)");
	expect_not_in(md, "(_bob_)");
	sim_finish(&s);
}

/* ---- 10. A reply to a reply: one "Re:" ---------------------------------------------- */

static void test_reply_subject_has_one_re(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, shop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Ann's client stacked the prefixes (Tom's in trial 7 did); Bob's is a German
	 * Outlook ("AW:") answering a reply. */
	static const struct {
		const char *member, *addr, *subject, *want;
	} cases[] = {
		{"ann", "ann@client.example", "Re: Re: my answer", "Subject: Re: my answer\r\n"},
		{"bob", "bob@client.example", "AW: Re: Kickoff", "Subject: Re: Kickoff\r\n"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *hdr = sim_reply_headers(&s, cases[i].member, "Lumen");
		_cleanup_free_ char *mail = xasprintf(
			"From: <%s>\r\nSubject: %s\r\n%s\r\nMessage-Id: <re%zu@client.example>\r\n"
			"Content-Type: text/plain; charset=utf-8\r\n\r\n1: 4\r\n",
			cases[i].addr, cases[i].subject, hdr, i);
		deliver_mail(&s, mail);
		run_until(&s, JUN1 + 11 * HOUR, NULL, NULL);
		_cleanup_free_ char *sent = outbox_mails_to(&s, cases[i].addr);
		expect_in(sent, cases[i].want);
		expect_not_in(sent, "Subject: Re: Re:");
		expect_not_in(sent, "Subject: Re: AW:");
	}
	sim_finish(&s);
}

/* ---- 12 and 13. Each question's hint on its own line; the reminder carries them too --- */

/* The invitation or reminder mail to addr with needle in it, its HTML part as sent (the
 * quoted-printable soft breaks joined), and its text part as the mail client shows it. */
static void parts_of(sim *s, const char *addr, const char *needle, char **ret_html,
                     char **ret_text)
{
	_cleanup_free_ char *raw = sim_outbox_mail_with(s, addr, needle);
	assert_non_null(raw);
	_cleanup_mail_message_ mail_message *m = NULL;
	assert_int_equal(mail_parse(raw, strlen(raw), &m), 0);
	*ret_text = xstrdup(mail_body(m));
	/* The HTML part, quoted-printable decoded as a mail client decodes it. */
	const char *h = strstr(raw, "Content-Type: text/html");
	assert_non_null(h);
	expect_in(h, "Content-Transfer-Encoding: quoted-printable");
	static const char hex[] = "0123456789ABCDEF";
	strbuf b = {0};
	strbuf_puts(&b, "");
	for (const char *p = h; *p; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
			continue;
		}
		const char *hi = p[0] == '=' && p[1] ? strchr(hex, p[1]) : NULL;
		const char *lo = hi && p[2] ? strchr(hex, p[2]) : NULL;
		if (hi && lo) {
			strbuf_putc(&b, (char)((hi - hex) << 4 | (lo - hex)));
			p += 2;
			continue;
		}
		if (*p != '\r')
			strbuf_putc(&b, *p);
	}
	*ret_html = strbuf_steal(&b);
}

static void test_hints_on_their_own_line_and_in_reminders(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, shop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Pierre's invitation (here Bob's): in HTML the hint is a line of its own, as in the
	 * text part, where no Markdown hard break shows. */
	_cleanup_free_ char *html = NULL, *text = NULL;
	parts_of(&s, "bob@client.example", "Answers are open until", &html, &text);
	expect_in(html, "<strong>1. How clear are the goals?</strong><br />\nAnswer 1 to 5");
	expect_in(html, "<strong>3. Anything else?</strong> <em>(optional)</em><br />\n"
	                "Answer in your own words.");
	expect_in(text, "**1. How clear are the goals?**\nAnswer 1 to 5 (1 = not clear at all, "
	                "5 = crystal clear).\n");
	expect_in(text, "- b) Remote\n");
	expect_not_in(text, "\\\n");

	/* Ann answered; Bob deleted the invitation. His reminder carries what it did. */
	answer(&s, "ann", "kickoff", "once", "1: 4");
	char *err = NULL;
	cJSON *o = cococtl(&s, "remind", "kickoff", true, &err);
	assert_non_null(o);
	cJSON_Delete(o);
	_cleanup_free_ char *md = last_markdown(&s, "reminder", "bob");
	assert_non_null(md);
	expect_in(md, "**1. How clear are the goals?**\\\nAnswer 1 to 5 (1 = not clear at all, "
	              "5 = crystal clear).\n");
	expect_in(md, "**2. Which format next time?** _(optional)_\n- a) On site\n- b) Remote\n"
	              "- c) Hybrid\n");
	expect_in(md, "Answer in your own words.\n");
	expect_in(md, "Reply with one line per question");
	_cleanup_free_ char *rhtml = NULL, *rtext = NULL;
	parts_of(&s, "bob@client.example", "A friendly nudge", &rhtml, &rtext);
	expect_in(rhtml, "<li>b) Remote</li>");
	expect_in(rtext, "Answer 1 to 5 (1 = not clear at all, 5 = crystal clear).\n");
	sim_finish(&s);
}

/* ---- 11. A mistake's confirmation shows the line to send again, not every example ---- */

static void test_fix_shows_the_line_that_fits(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, shop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Liam's reply in trial 7: a value out of the scale beside good answers. */
	answer(&s, "ann", "kickoff", NULL, "1: 9\n2: b\n3: Fine by me");
	_cleanup_free_ char *md = last_markdown(&s, "confirmation", "ann");
	expect_in(md, "“1: 9”: question 1 takes a whole number from 1 to 5");
	expect_in(md, "To fix it, reply again with just the corrected line, written like this:\n\n"
	              "    1: 4\n");
	/* Not the whole block, which read as "send all three again". */
	expect_not_in(md, "    2: b\n");
	expect_not_in(md, "    3: your words");

	/* Two wrong values: both lines, in the order of the mistakes. */
	answer(&s, "bob", "kickoff", NULL, "2: z\n1: 0\n3: ok");
	_cleanup_free_ char *md2 = last_markdown(&s, "confirmation", "bob");
	expect_in(md2, "To fix them, reply again with just the corrected lines, written like "
	               "this:\n\n    2: b\n    1: 4\n");

	/* A line about no question keeps the whole block: what to write is not known. */
	answer(&s, "pia", "kickoff", NULL, "1: 0\n7: 3");
	_cleanup_free_ char *md3 = last_markdown(&s, "reply", "pia");
	expect_in(md3, "Please reply again, written like this:\n\n    1: 4\n    2: b\n");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_removed_member_counts_apart),
	    cmocka_unit_test(test_reply_subject_has_one_re),
	    cmocka_unit_test(test_hints_on_their_own_line_and_in_reminders),
	    cmocka_unit_test(test_fix_shows_the_line_that_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
