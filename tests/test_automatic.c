/* Tests for mail_is_automatic() (connectors/email/mime.c): the loop-prevention signals of
 * RFC 3834 and the ones Exchange, Gmail, vacation(1) and mailing lists write, and the
 * subject rule, which needs a header hint besides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "email/mime.h"

struct row {
	const char *headers; /* between From and the empty line */
	bool automatic;
};

static const struct row rows[] = {
    {"", false},
    {"Subject: Re: Round 3\r\n", false},
    /* RFC 3834 */
    {"Auto-Submitted: auto-replied\r\n", true}, /* Gmail's vacation responder */
    {"Auto-Submitted: auto-generated\r\n", true},
    {"Auto-Submitted: auto-notified\r\n", true},
    {"Auto-Submitted: No\r\n", false},
    {"Auto-Submitted: no (a person)\r\n", false},
    {"Auto-Submitted: nope\r\n", true},
    /* Precedence and its X- twin */
    {"Precedence: bulk\r\n", true},
    {"Precedence: junk\r\n", true},
    {"Precedence: list\r\n", true},
    {"Precedence: auto_reply\r\n", true},
    {"Precedence: first-class\r\n", false},
    {"X-Precedence: bulk\r\n", true},
    {"X-Precedence: auto_reply\r\n", true},
    {"X-Precedence: normal\r\n", false},
    /* lists */
    {"List-Id: <round.coco.example>\r\n", true},
    {"List-Unsubscribe: <mailto:u@x.example>\r\n", true},
    /* markers */
    {"X-Autoreply: yes\r\n", true},
    {"X-Autorespond: Out of office\r\n", true},
    {"X-MS-Exchange-Inbox-Rules-Loop: ann@example.org\r\n", true},
    {"X-Mailer: vacation 1.2.7\r\n", true},
    {"X-Mailer: Horde Vacation module\r\n", true},
    {"X-Mailer: Vacationer Mail 3\r\n", false},
    {"X-Mailer: Apple Mail (2.3774)\r\n", false},
    /* bounces */
    {"Return-Path: <>\r\n", true}, /* after From: libetpan leaves it unparsed */
    {"Return-Path: < >\r\n", true},
    {"Return-Path: <ann@example.org>\r\n", false},
    /* X-Auto-Response-Suppress alone asks not to be answered: no proof of a machine */
    {"X-Auto-Response-Suppress: All\r\n", false},
    {"X-Auto-Response-Suppress: OOF, AutoReply\r\nSubject: Re: Round 3\r\n", false},
    /* an auto-reply subject alone: a person can write it */
    {"Subject: Automatic reply: Round 3\r\n", false},
    {"Subject: Out of Office: Round 3\r\n", false},
    /* both together: Exchange's out-of-office reply without Auto-Submitted */
    {"Subject: Automatic reply: Round 3\r\nX-Auto-Response-Suppress: All\r\n", true},
    {"X-Auto-Response-Suppress: All\r\nSubject: OUT OF OFFICE: Round 3\r\n", true},
    {"X-Auto-Response-Suppress: All\r\nSubject: Abwesenheitsnotiz: Runde 3\r\n", true},
    {"X-Auto-Response-Suppress: All\r\n"
     "Subject: =?utf-8?Q?R=C3=A9ponse_automatique=C2=A0:_Round_3?=\r\n",
     true},
    {"X-Auto-Response-Suppress: All\r\nSubject: Re: Automatic reply: Round 3\r\n", false},
};

static void test_table(void **state)
{
	unsigned bad = 0;
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		_cleanup_free_ char *msg =
		    xasprintf("From: Ann <ann@example.org>\r\n%s\r\n1: 4\r\n", rows[i].headers);
		_cleanup_mail_message_ mail_message *m = NULL;
		assert_int_equal(mail_parse(msg, strlen(msg), &m), 0);
		if (mail_is_automatic(m) != rows[i].automatic) {
			printf("row %zu: %s: want %d\n", i, rows[i].headers, rows[i].automatic);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_senders(void **state)
{
	const char *from[] = {"MAILER-DAEMON@mx.example.org", "postmaster@example.org",
			      "Mailer-Daemon@mx.example.org"};
	for (size_t i = 0; i < ELEMENTSOF(from); i++) {
		_cleanup_free_ char *msg = xasprintf("From: %s\r\n\r\nhi\r\n", from[i]);
		_cleanup_mail_message_ mail_message *m = NULL;
		assert_int_equal(mail_parse(msg, strlen(msg), &m), 0);
		assert_true(mail_is_automatic(m));
	}
}

/* Any multipart/report is a machine's: a DSN whose sender and headers say nothing, a read
 * receipt. A multipart/mixed is not. */
static void test_reports(void **state)
{
	const char *types[] = {"multipart/report; report-type=delivery-status",
			       "multipart/report; report-type=disposition-notification",
			       "multipart/mixed"};
	for (size_t i = 0; i < ELEMENTSOF(types); i++) {
		_cleanup_free_ char *msg =
		    xasprintf("From: relay@example.org\r\nMIME-Version: 1.0\r\n"
			      "Content-Type: %s; boundary=\"B\"\r\n\r\n--B\r\n"
			      "Content-Type: text/plain\r\n\r\nhi\r\n--B--\r\n",
			      types[i]);
		_cleanup_mail_message_ mail_message *m = NULL;
		assert_int_equal(mail_parse(msg, strlen(msg), &m), 0);
		assert_int_equal(mail_is_automatic(m), i < 2);
	}
}

/* No header says machine: the subject and a text that is only an absence notice do (trial
 * S3-23, Priya's autoresponder). A person's answer under such a subject is still read. */
static void test_out_of_office(void **state)
{
	static const struct {
		const char *subject, *body;
		bool automatic;
	} cases[] = {
	    {"Out of Office: [Harbor] Team mood (anonymous)",
	     "Thank you for your message. I am out of the office until 4 January and will reply "
	     "when I am back.", true},
	    {"Automatic reply: [Harbor] Ideas",
	     "I am out of the office until 4 January with limited access to email.\r\n"
	     "For urgent matters please contact paula@bluepeak.example.", true},
	    {"Abwesenheitsnotiz: Runde 3", "Ich bin bis 4. Januar nicht im Büro.\r\n\r\n"
	     "> 1: 4\r\n", true},
	    {"=?utf-8?Q?R=C3=A9ponse_automatique=C2=A0:_Round_3?=",
	     "Je suis absente du bureau jusqu'au 4 janvier.", true},
	    /* Finnish Outlook's rule, with no Auto-Submitted: (trial 7) */
	    {"Automaattinen vastaus: kierros", "Olen lomalla 4.1. asti.", true},
	    {"Vastaus: kierros", "Olen lomalla 4.1. asti.", false}, /* not a listed subject */
	    /* an answer under an auto-reply subject */
	    {"Out of Office: [Harbor] Team mood", "1: 4\r\nI am out of the office next week.", false},
	    {"Automatic reply: Ideas", "idea: async standups while I am on vacation", false},
	    {"Out of office: Pulse", "2) yes, though I was on holiday", false},
	    /* no absence named */
	    {"Automatic reply: Round 3", "Thanks, more buffer before releases please.", false},
	    /* the absence, but as a reply */
	    {"Re: Digest: Ideas", "Sorry, I was out of office. idea: async standups", false},
	    {"Re: Out of Office: Round 3", "I am out of the office until Monday.", false},
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *msg = xasprintf(
		    "From: Priya <priya@example.org>\r\nSubject: %s\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		    cases[i].subject, cases[i].body);
		_cleanup_mail_message_ mail_message *m = NULL;
		assert_int_equal(mail_parse(msg, strlen(msg), &m), 0);
		if (mail_is_automatic(m) != cases[i].automatic)
			fail_msg("case %zu (%s): want %d", i, cases[i].subject, cases[i].automatic);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_senders),
	    cmocka_unit_test(test_reports),
	    cmocka_unit_test(test_out_of_office),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
