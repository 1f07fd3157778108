/* The trial of December 2026 (trial 6), items 16 and 17, written from the members' side: the
 * mail their client sent, byte for byte as the client writes it, and the answer coco stored.
 * The real core, store, spool and local channel on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "email/mime.h"
#include "sim.h"

static const char kickoff_conf[] =
	"[Campaign]\nId=t\nTitle=Ordering app\nTimeZone=UTC\nQuietHours=none\n"
	"Client=Müller & Söhne\nProvider=Fjord\n" SIM_MEMBERS
	"[Round \"kickoff\"]\nKind=survey\nTitle=Kickoff: how do orders work today?\n"
	"Open=2026-06-01 09:00\nDuration=4d\n"
	"[Question \"kickoff/goals\"]\nKind=scale\nText=How clear are the goals?\nMin=1\nMax=5\n"
	"[Question \"kickoff/role\"]\nKind=choice\nText=Your role\nOptions=Decide|Observe\n"
	"[Question \"kickoff/today\"]\nKind=text\nText=How do you order today?\n"
	"[Question \"kickoff/problem\"]\nKind=text\nText=What goes wrong most?\n";

/* ---- 16. Apple Mail: the greeting and the sign-off are in `trimmed` -------------------- */

static void test_applemail_greeting_and_signoff_are_trimmed(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, kickoff_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Françoise answers from her iPhone: quoted-printable, a greeting, her answers, a
	 * closing and her name, "Envoyé de mon iPhone", the invitation quoted below. */
	_cleanup_free_ char *hdr = sim_reply_headers(&s, "ann", "Fjord");
	_cleanup_free_ char *mail = xasprintf(
		"Content-Type: text/plain;\r\n\tcharset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"Mime-Version: 1.0 (1.0)\r\n"
		"Subject: Re: Kickoff: how do orders work today?\r\n"
		"From: =?utf-8?Q?Fran=C3=A7oise_Lef=C3=A8vre?= <ann@client.example>\r\n"
		"Date: Mon, 01 Jun 2026 10:29:20 -0000\r\n%s\r\n"
		"Message-Id: <0ad01605dd59@client.example>\r\n"
		"X-Mailer: iPhone Mail (21G93)\r\n\r\n"
		"Bonjour =C3=A0 tous,\r\n\r\n"
		"1: 2\r\n2: Observe\r\n3: Email et fax\r\n"
		"4: Que les vendeuses ne soient pas form=C3=A9es =C3=A0 temps.\r\n\r\n"
		"Bonne journ=C3=A9e\r\nFran=C3=A7oise\r\n\r\n"
		"Envoy=C3=A9 de mon iPhone\r\n\r\n"
		"> Le 1 juin 2026 =C3=A0 11:00, Fjord <coco@example.org> a =C3=A9crit :\r\n"
		">=20\r\n> =EF=BB=BFHi Ann,\r\n",
		hdr);
	deliver_mail(&s, mail);

	cJSON *a = sim_stored_answer(&s, "kickoff", "ann");
	assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "problem"), "Que les vendeuses ne soient pas formées à temps.");
	assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "today"), "Email et fax");
	/* Everything not read as her answer is beside it, her greeting and sign-off first. */
	const char *trimmed = json_field(a, "trimmed");
	expect_in(trimmed, "Bonjour à tous,\n\nBonne journée\nFrançoise\n\nEnvoyé de mon iPhone");
	expect_in(trimmed, "a écrit :");
	cJSON_Delete(a);
	sim_finish(&s);
}

/* ---- 17. Thunderbird, format=flowed: a wrapped answer is stored as the line typed ------- */

static void test_thunderbird_flowed_answer_is_one_line(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, kickoff_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Aino's Thunderbird wraps her long answer at 72 columns with soft breaks (a space at
	 * the end of the line, RFC 3676); her signature under "-- ". */
	_cleanup_free_ char *hdr = sim_reply_headers(&s, "bob", "Fjord");
	_cleanup_free_ char *mail = xasprintf(
		"Message-ID: <85adad580458@client.example>\r\n"
		"Date: Mon, 01 Jun 2026 10:29:15 +0200\r\n"
		"MIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n"
		"Subject: Re: Kickoff: how do orders work today?\r\nContent-Language: de-DE\r\n%s\r\n"
		"From: =?UTF-8?Q?Aino_J=C3=A4rvinen?= <bob@client.example>\r\n"
		"Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n"
		"Hallo zusammen,\r\n\r\n1: 4\r\n2: Decide\r\n3: Fax\r\n"
		"4: Dass die Filialen am Samstag nicht mehr per Fax bestellen können und \r\n"
		"die Bestellungen dann verloren gehen.\r\n\r\n"
		"Viele Grüße\r\nAino\r\n\r\n-- \r\nAino Järvinen\r\n"
		"Leitung Filialbestellung | Bäckerei Müller & Söhne\r\n\r\n"
		"Am 01.06.26 um 11:00 schrieb Fjord:\r\n> Hi Bob,\r\n>\r\n"
		"> **Kickoff: how do orders work today?** · Müller & Söhne × Fjord: the \r\n"
		"> new ordering app\r\n",
		hdr);
	deliver_mail(&s, mail);

	cJSON *a = sim_stored_answer(&s, "kickoff", "bob");
	assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "problem"),
			    "Dass die Filialen am Samstag nicht mehr per Fax bestellen können und "
			    "die Bestellungen dann verloren gehen.");
	const char *trimmed = json_field(a, "trimmed");
	expect_in(trimmed, "Hallo zusammen,\n\nViele Grüße\nAino\n\n-- \nAino Järvinen");
	expect_in(trimmed, "> **Kickoff: how do orders work today?** · Müller & Söhne × Fjord: "
			   "the new ordering app");
	cJSON_Delete(a);
	sim_finish(&s);
}

/* ---- 9. The local outbox: a confirmation's text part reads as the member wrote -------- */

static void test_local_confirmation_text_has_no_markdown_escapes(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, kickoff_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Ann pastes a link and stresses a word, as people do in a plain-text mail. */
	_cleanup_free_ char *hdr = sim_reply_headers(&s, "ann", "Fjord");
	_cleanup_free_ char *mail = xasprintf(
		"From: Ann <ann@client.example>\r\nSubject: Re: Kickoff\r\n%s\r\n"
		"Message-Id: <md1@client.example>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"
		"1: 2\r\n2: Observe\r\n3: [the form](https://evil.example/f) *mostly*\r\n",
		hdr);
	deliver_mail(&s, mail);
	run_until(&s, JUN1 + 11 * HOUR, NULL, NULL);

	/* Her confirmation in the outbox quotes her words as she typed them, in the text part
	 * her mail client shows (decoded as it decodes it). */
	_cleanup_free_ char *conf = sim_outbox_mail_with(&s, "ann@client.example", "Subject: Re: Kickoff");
	assert_non_null(conf);
	/* One boundary, ours (libetpan's own has the host's name and pid in it). */
	const char *b = strstr(conf, "boundary=");
	assert_non_null(b);
	assert_null(strstr(b + 1, "boundary="));
	expect_in(b, "boundary=\"=_coco_");
	_cleanup_mail_message_ mail_message *m = NULL;
	assert_int_equal(mail_parse(conf, strlen(conf), &m), 0);
	expect_in(mail_body(m), "[the form](https://evil.example/f) *mostly*");
	expect_not_in(mail_body(m), "\\[the form\\]");
	expect_not_in(mail_body(m), "\\*mostly\\*");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_applemail_greeting_and_signoff_are_trimmed),
	    cmocka_unit_test(test_thunderbird_flowed_answer_is_one_line),
	    cmocka_unit_test(test_local_confirmation_text_has_no_markdown_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
