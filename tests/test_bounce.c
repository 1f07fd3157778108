/* Tests for connectors/email/bounce: delivery status notifications as Postfix, Exim, Gmail and
 * Microsoft 365 lay them out (tests/data/mail/dsn-*.eml), Exim's plain-text bounce, and
 * reports that are no bounce, broken or hostile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "email/bounce.h"
#include "email/mime-raw.h"

#define DATA "tests/data/mail/"

static mail_message *parse_mem(const char *s, size_t len)
{
	mail_message *m = NULL;
	assert_int_equal(mail_parse(s, len, &m), 0);
	return m;
}

static mail_message *parse_fixture(const char *name)
{
	_cleanup_free_ char *path = xasprintf(DATA "%s", name);
	_cleanup_free_ char *s = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &s, &len), 0);
	return parse_mem(s, len);
}

static int bounce_of(const char *msg, mail_bounce_info **ret)
{
	_cleanup_mail_message_ mail_message *m = parse_mem(msg, strlen(msg));
	return mail_bounce(m, ret);
}

static void test_report_parts(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse_fixture("dsn-postfix.eml");
	assert_string_equal(mail_report_type(m), "delivery-status");
	const struct mail_report_part *p;
	assert_int_equal(mail_report_parts(m, &p), 3);
	assert_string_equal(p[0].type, "text/plain");
	assert_string_equal(p[1].type, "message/delivery-status");
	assert_true(strncmp(p[1].body, "Reporting-MTA: dns; mail.coco.example\r\n", 39) == 0);
	assert_int_equal(p[1].len, strlen(p[1].body));
	assert_string_equal(p[2].type, "text/rfc822-headers");

	/* message/rfc822: its header section only */
	_cleanup_mail_message_ mail_message *e = parse_fixture("dsn-exim.eml");
	assert_int_equal(mail_report_parts(e, &p), 3);
	assert_string_equal(p[2].type, "message/rfc822");
	assert_non_null(strstr(p[2].body, "Message-ID: <e5f6.R8TAG@coco.example>\r\n"));
	assert_null(strstr(p[2].body, "invitation"));

	/* Gmail's human part is a multipart: type kept, body empty */
	_cleanup_mail_message_ mail_message *g = parse_fixture("dsn-gmail.eml");
	assert_int_equal(mail_report_parts(g, &p), 3);
	assert_string_equal(p[0].type, "multipart/related");
	assert_string_equal(p[0].body, "");
}

static void test_postfix(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse_fixture("dsn-postfix.eml");
	_cleanup_(mail_bounce_info_freep) mail_bounce_info *b = NULL;
	assert_int_equal(mail_bounce(m, &b), 1);
	assert_false(b->heuristic);
	/* the delayed recipient is no failure */
	assert_int_equal(b->n_recipients, 1);
	assert_string_equal(b->recipients[0].address, "nobody@example.net");
	assert_string_equal(b->recipients[0].original, "Nobody@example.net");
	assert_string_equal(b->recipients[0].status, "5.1.1");
	assert_string_equal(b->recipients[0].diagnostic,
			    "550 5.1.1 <nobody@example.net>: Recipient address    rejected: User "
			    "unknown in local recipient table");
	assert_string_equal(b->reporting_mta, "mail.coco.example");
	/* folded Message-ID in the returned headers */
	assert_string_equal(b->original_message_id, "a1b2c3.R7TAG@coco.example");
}

static void test_exim(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse_fixture("dsn-exim.eml");
	_cleanup_(mail_bounce_info_freep) mail_bounce_info *b = NULL;
	assert_int_equal(mail_bounce(m, &b), 1);
	assert_false(b->heuristic);
	assert_int_equal(b->n_recipients, 1);
	assert_string_equal(b->recipients[0].address, "gone@example.net");
	assert_null(b->recipients[0].original);
	assert_string_equal(b->recipients[0].status, "5.0.0");
	assert_string_equal(b->recipients[0].diagnostic, "550 5.1.1 User unknown");
	assert_string_equal(b->original_message_id, "e5f6.R8TAG@coco.example");
}

static void test_gmail(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse_fixture("dsn-gmail.eml");
	_cleanup_(mail_bounce_info_freep) mail_bounce_info *b = NULL;
	assert_int_equal(mail_bounce(m, &b), 1);
	assert_int_equal(b->n_recipients, 1);
	assert_string_equal(b->recipients[0].address, "nobody@example.org");
	assert_string_equal(b->recipients[0].status, "5.1.1");
	assert_string_equal(b->reporting_mta, "googlemail.com");
	/* the returned message has no Message-ID: Gmail's per-message field has it */
	assert_string_equal(b->original_message_id, "g1.R9TAG@example.com");
}

static void test_m365(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse_fixture("dsn-m365.eml");
	_cleanup_(mail_bounce_info_freep) mail_bounce_info *b = NULL;
	assert_int_equal(mail_bounce(m, &b), 1);
	assert_int_equal(b->n_recipients, 1);
	assert_string_equal(b->recipients[0].address, "missing@contoso.com");
	assert_string_equal(b->recipients[0].status, "5.1.10");
	assert_string_equal(b->recipients[0].diagnostic,
			    "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
			    "missing@contoso.com not found by SMTP address lookup");
	assert_string_equal(b->original_message_id, "m1.R10TAG@coco.example");
}

static void test_exim_plain_text(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse_fixture("bounce-exim-text.eml");
	_cleanup_(mail_bounce_info_freep) mail_bounce_info *b = NULL;
	assert_int_equal(mail_bounce(m, &b), 1);
	assert_true(b->heuristic);
	assert_int_equal(b->n_recipients, 2);
	assert_string_equal(b->recipients[0].address, "old@example.net");
	assert_string_equal(b->recipients[1].address, "other@example.org");
	assert_null(b->recipients[0].status);
	assert_null(b->recipients[0].diagnostic);
	assert_string_equal(b->original_message_id, "t1.R11TAG@coco.example");

	/* the same field from a person is no bounce */
	mail_bounce_info *none = (mail_bounce_info *)0x1;
	assert_int_equal(bounce_of("From: ann@example.org\r\nX-Failed-Recipients: a@b.c\r\n\r\nhi\r\n",
				   &none),
			 0);
	assert_ptr_equal(none, (mail_bounce_info *)0x1);
	/* ... unless the null return path says it is one */
	mail_bounce_info *rp = NULL;
	assert_int_equal(bounce_of("Return-Path: < >\r\nFrom: relay@example.org\r\n"
				   "X-Failed-Recipients: a@b.c\r\n\r\nhi\r\n",
				   &rp),
			 1);
	assert_string_equal(rp->recipients[0].address, "a@b.c");
	assert_null(rp->original_message_id);
	mail_bounce_info_free(rp);
	/* a daemon without the field: no recipient to name, no bounce */
	assert_int_equal(bounce_of("From: MAILER-DAEMON@x.example\r\nSubject: failed\r\n\r\nhi\r\n",
				   &none),
			 0);
	assert_int_equal(bounce_of("From: MAILER-DAEMON@x.example\r\nX-Failed-Recipients: , \r\n"
				   "\r\nhi\r\n",
				   &none),
			 0);
}

#define REPORT_HEAD                                                                                \
	"From: MAILER-DAEMON@mx.example.org\r\nTo: coco@coco.example\r\nMIME-Version: 1.0\r\n"    \
	"Content-Type: multipart/report; report-type=%s; boundary=\"B\"\r\n\r\n"                  \
	"--B\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"

static int report(const char *type, const char *status_headers, const char *status,
		  mail_bounce_info **ret)
{
	_cleanup_free_ char *msg =
	    xasprintf(REPORT_HEAD "--B\r\n%s\r\n%s\r\n--B--\r\n", type, status_headers, status);
	return bounce_of(msg, ret);
}

static void test_dsn_variants(void **state)
{
	const char *ct = "Content-Type: message/delivery-status\r\n";
	mail_bounce_info *b = (mail_bounce_info *)0x1;

	/* only delayed, or success reports: 0 */
	assert_int_equal(report("delivery-status", ct,
				"Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.c\r\n"
				"Action: delayed\r\nStatus: 4.4.1\r\n",
				&b),
			 0);
	assert_int_equal(report("delivery-status", ct,
				"Final-Recipient: rfc822; a@b.c\r\nAction: delivered\r\n"
				"Status: 2.0.0\r\n\r\nFinal-Recipient: rfc822; d@b.c\r\n"
				"Action: relayed\r\nStatus: 2.0.0\r\n",
				&b),
			 0);
	/* Action wins over Status; without a known Action, 5.x.x is a failure */
	assert_int_equal(report("delivery-status", ct,
				"Final-Recipient: rfc822; a@b.c\r\nAction: delayed\r\nStatus: 5.0.0\r\n",
				&b),
			 0);
	assert_int_equal(report("delivery-status", ct,
				"Final-Recipient: rfc822; a@b.c\r\nAction: gave-up\r\nStatus: 4.0.0\r\n",
				&b),
			 0);
	assert_ptr_equal(b, (mail_bounce_info *)0x1);
	b = NULL;
	assert_int_equal(report("delivery-status", ct,
				"Final-Recipient: RFC822; <A@B.C> (comment)\r\nStatus: 5.2.2 (full)\r\n",
				&b),
			 1);
	assert_string_equal(b->recipients[0].address, "A@B.C");
	assert_string_equal(b->recipients[0].status, "5.2.2");
	assert_null(b->recipients[0].diagnostic);
	assert_null(b->original_message_id);
	assert_null(b->reporting_mta);
	mail_bounce_info_free(b);
	/* Action failed with a transient status (the MTA gave up): a failure, status kept;
	 * Original-Recipient alone names the recipient; a bad status is dropped */
	b = NULL;
	assert_int_equal(report("delivery-status", ct,
				"Original-Recipient: rfc822;x@y.z\r\nACTION: Failed\r\n"
				"Status: 4.4.7\r\n\r\n"
				"Final-Recipient: rfc822;q@y.z\r\nAction: failed\r\nStatus: 5.1\r\n",
				&b),
			 1);
	assert_int_equal(b->n_recipients, 2);
	assert_string_equal(b->recipients[0].address, "x@y.z");
	assert_null(b->recipients[0].original);
	assert_string_equal(b->recipients[0].status, "4.4.7");
	assert_null(b->recipients[1].status);
	mail_bounce_info_free(b);

	/* base64, and what a hostile report holds: control characters, bad UTF-8 */
	b = NULL;
	/* "Final-Recipient: rfc822; a@b.c\r\nAction: failed\r\nDiagnostic-Code: smtp; x\x01\xffy\r\n" */
	assert_int_equal(report("delivery-status",
				"Content-Type: message/delivery-status\r\n"
				"Content-Transfer-Encoding: base64\r\n",
				"RmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAYi5jDQpBY3Rpb246IGZhaWxlZA0KRGlh\r\n"
				"Z25vc3RpYy1Db2RlOiBzbXRwOyB4Af95DQo=\r\n",
				&b),
			 1);
	assert_string_equal(b->recipients[0].address, "a@b.c");
	assert_string_equal(b->recipients[0].diagnostic, "x ?y");
	mail_bounce_info_free(b);

	/* a delivery-status report without its part, or without a recipient: -EBADMSG */
	b = (mail_bounce_info *)0x1;
	assert_int_equal(report("delivery-status", "Content-Type: text/plain\r\n", "Nothing.\r\n",
				&b),
			 -EBADMSG);
	assert_int_equal(report("delivery-status", ct, "Reporting-MTA: dns; mx\r\n", &b), -EBADMSG);
	assert_int_equal(report("delivery-status", ct, "", &b), -EBADMSG);
	/* a read receipt is no bounce */
	assert_int_equal(report("disposition-notification",
				"Content-Type: message/disposition-notification\r\n",
				"Final-Recipient: rfc822; a@b.c\r\nDisposition: manual-action/"
				"MDN-sent-manually; displayed\r\n",
				&b),
			 0);
	/* a report without report-type is a DSN when it has the part */
	assert_ptr_equal(b, (mail_bounce_info *)0x1);
	b = NULL;
	assert_int_equal(report("\"\"", ct, "Final-Recipient: rfc822; a@b.c\r\nAction: failed\r\n", &b),
			 1);
	mail_bounce_info_free(b);
	/* a plain person's mail */
	b = (mail_bounce_info *)0x1;
	assert_int_equal(bounce_of("From: ann@example.org\r\nSubject: hi\r\n\r\n1: 4\r\n", &b), 0);
	assert_ptr_equal(b, (mail_bounce_info *)0x1);
	assert_int_equal(mail_bounce(NULL, &b), -EINVAL);
}

/* A DSN forwarded as an attachment is someone else's bounce. */
static void test_nested_report_is_not_ours(void **state)
{
	_cleanup_free_ char *path = xasprintf(DATA "dsn-postfix.eml");
	_cleanup_free_ char *dsn = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &dsn, &len), 0);
	_cleanup_free_ char *msg = xasprintf(
	    "From: ann@example.org\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"OUT\"\r\n\r\n--OUT\r\n"
	    "Content-Type: text/plain\r\n\r\nLook at this bounce.\r\n--OUT\r\n"
	    "Content-Type: message/rfc822\r\n\r\n%s\r\n--OUT--\r\n",
	    dsn);
	_cleanup_mail_message_ mail_message *m = parse_mem(msg, strlen(msg));
	assert_null(mail_report_type(m));
	mail_bounce_info *b = NULL;
	assert_int_equal(mail_bounce(m, &b), 0);
	assert_null(b);
}

/* Every prefix of every fixture: no crash, no leak (ASan), and a consistent answer. */
static void test_every_truncation(void **state)
{
	const char *names[] = {"dsn-postfix.eml", "dsn-exim.eml", "dsn-gmail.eml", "dsn-m365.eml",
			       "bounce-exim-text.eml"};
	for (size_t f = 0; f < ELEMENTSOF(names); f++) {
		_cleanup_free_ char *path = xasprintf(DATA "%s", names[f]);
		_cleanup_free_ char *s = NULL;
		size_t len;
		assert_int_equal(read_file(path, 1 << 20, &s, &len), 0);
		unsigned found = 0;
		for (size_t cut = 0; cut <= len; cut++) {
			_cleanup_free_ char *copy = xstrndup(s, cut);
			mail_message *m = NULL;
			if (mail_parse(copy, cut, &m) < 0)
				continue;
			mail_bounce_info *b = NULL;
			int r = mail_bounce(m, &b);
			assert_true(r == 0 || r == 1 || r == -EBADMSG);
			if (r == 1) {
				assert_true(b->n_recipients > 0);
				for (size_t i = 0; i < b->n_recipients; i++)
					assert_true(strlen(b->recipients[i].address) > 0);
				found++;
			}
			mail_bounce_info_free(b);
			mail_message_free(m);
		}
		assert_true(found > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_report_parts),
	    cmocka_unit_test(test_postfix),
	    cmocka_unit_test(test_exim),
	    cmocka_unit_test(test_gmail),
	    cmocka_unit_test(test_m365),
	    cmocka_unit_test(test_exim_plain_text),
	    cmocka_unit_test(test_dsn_variants),
	    cmocka_unit_test(test_nested_report_is_not_ours),
	    cmocka_unit_test(test_every_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
