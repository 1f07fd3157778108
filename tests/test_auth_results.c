/* Tests for connectors/email/auth-results (RFC 8601 Authentication-Results) and the raw
 * header access of mime-raw it stands on. The table holds fields as Gmail, Microsoft 365,
 * Fastmail, OpenDKIM/OpenDMARC on Postfix write them, forgeries and broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "util.h"
#include "email/auth-results.h"
#include "email/mime-raw.h"

static void strv_freep(char ***v)
{
	strv_free(*v);
}

static mail_message *parse(const char *s)
{
	mail_message *m = NULL;
	assert_int_equal(mail_parse(s, strlen(s), &m), 0);
	return m;
}

static void test_header_values(void **state)
{
	_cleanup_mail_message_ mail_message *m = parse(
	    "Received: from a\r\n\tby b; Mon, 3 Jun 2024 10:00:00 +0000\r\n"
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=pass header.d=example.org  \r\n"
	    "From: Ann <ann@example.org>\r\n"
	    "X-Empty:\r\n"
	    "authentication-results : second;  none\n"
	    "Subject: hi\r\n"
	    "\r\n"
	    "Authentication-Results: in the body; not a field\r\n");
	_cleanup_(strv_freep) char **ar = mail_header_values(m, "AUTHENTICATION-RESULTS");
	assert_string_equal(ar[0], "mx.example.org;\tdkim=pass header.d=example.org");
	assert_string_equal(ar[1], "second;  none");
	assert_null(ar[2]);
	assert_int_equal(mail_header_count(m, "authentication-results"), 2);
	assert_int_equal(mail_header_count(m, "From"), 1);
	_cleanup_(strv_freep) char **from = mail_header_values(m, "from");
	assert_string_equal(from[0], "Ann <ann@example.org>");
	_cleanup_(strv_freep) char **e = mail_header_values(m, "X-Empty");
	assert_string_equal(e[0], "");
	_cleanup_(strv_freep) char **none = mail_header_values(m, "X-None");
	assert_non_null(none);
	assert_null(none[0]);
	assert_null(mail_report_type(m));
	const struct mail_report_part *parts = (void *)1;
	assert_int_equal(mail_report_parts(m, &parts), 0);
	assert_null(parts);
}

struct row {
	const char *what;
	const char *value;
	const char *id;
	const char *from;
	auth_verdict want;
};

#define GMAIL                                                                                      \
	"mx.google.com;\r\n"                                                                       \
	"       dkim=pass header.i=@example.com header.s=20230601 header.b=AbC+d/12=;\r\n"         \
	"       spf=pass (google.com: domain of ann@example.com designates 209.85.220.41 as "      \
	"permitted sender) smtp.mailfrom=ann@example.com;\r\n"                                     \
	"       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
#define MS365                                                                                      \
	"spf=pass (sender IP is 40.107.22.51) smtp.mailfrom=example.com; dkim=pass (signature "    \
	"was verified) header.d=example.com;dmarc=pass action=none "                               \
	"header.from=example.com;compauth=pass reason=100"
#define FASTMAIL                                                                                   \
	"mx5.messagingengine.com;\r\n"                                                             \
	"    dkim=pass (2048-bit rsa key sha256) header.d=example.com header.i=@example.com "      \
	"header.b=K3xYzAbC header.a=rsa-sha256 header.s=fm1 x-bits=2048;\r\n"                      \
	"    dmarc=pass policy.published-domain-policy=none policy.applied-disposition=none "      \
	"policy.evaluated-disposition=none (p=none,d=none,d.eval=none) policy.policy-from=p "     \
	"header.from=example.com;\r\n"                                                             \
	"    iprev=pass smtp.remote-ip=192.0.2.7 (mail.example.com);\r\n"                          \
	"    spf=pass smtp.mailfrom=ann@example.com smtp.helo=mail.example.com;\r\n"               \
	"    x-aligned-from=pass (Address match);\r\n"                                             \
	"    x-me-sender=none;\r\n"                                                                \
	"    x-tls=pass smtp.version=TLSv1.3 smtp.cipher=TLS_AES_256_GCM_SHA384 "                  \
	"smtp.bits=256/256;\r\n"                                                                   \
	"    x-vs=clean score=-100 state=0"

static const struct row rows[] = {
    {"gmail", GMAIL, "mx.google.com", "example.com", AUTH_PASS},
    {"gmail, id in other case", GMAIL, "MX.Google.COM", "EXAMPLE.com", AUTH_PASS},
    {"gmail, another site's id", GMAIL, "google.com", "example.com", AUTH_NOT_OURS},
    {"gmail, dmarc passed another From", GMAIL, "mx.google.com", "example.net", AUTH_DENY},
    {"gmail dmarc=fail",
     "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=x; spf=fail "
     "smtp.mailfrom=a@example.com; dmarc=fail (p=REJECT sp=REJECT dis=REJECT) "
     "header.from=example.com",
     "mx.google.com", "example.com", AUTH_DENY},
    {"gmail, ESP signature, no DMARC record",
     "mx.google.com; dkim=pass header.i=@sendgrid.info header.s=smtpapi header.b=abc; "
     "spf=pass smtp.mailfrom=bounces@sendgrid.net; dmarc=none header.from=example.com",
     "mx.google.com", "example.com", AUTH_NOTHING},
    /* configured as "spf", it reads as ours and malformed */
    {"microsoft 365 has no authserv-id", MS365, "spf", "example.com", AUTH_DENY},
    {"microsoft 365, any id", MS365, "protection.outlook.com", "example.com", AUTH_NOT_OURS},
    {"microsoft with an id and a version",
     "mx.microsoft.com 1; spf=pass smtp.mailfrom=example.com; dmarc=pass action=none "
     "header.from=example.com;dkim=pass header.d=example.com;arc=none",
     "mx.microsoft.com", "example.com", AUTH_PASS},
    {"fastmail", FASTMAIL, "mx5.messagingengine.com", "example.com", AUTH_PASS},
    {"opendkim",
     "mail.example.org; dkim=pass (2048-bit key; unprotected) header.d=example.com "
     "header.i=@example.com header.a=rsa-sha256 header.s=mail header.b=AbCdEf12",
     "mail.example.org", "example.com", AUTH_PASS},
    {"opendkim, From a subdomain of d=",
     "mail.example.org; dkim=pass (1024-bit key; secure) header.d=example.com", "mail.example.org",
     "news.example.com", AUTH_PASS},
    {"opendkim, d= a subdomain of From",
     "mail.example.org; dkim=pass header.d=news.example.com", "mail.example.org", "example.com",
     AUTH_NOTHING},
    {"dkim d= a bare TLD", "mail.example.org; dkim=pass header.d=com", "mail.example.org",
     "example.com", AUTH_NOTHING},
    {"dkim d= a suffix but not a parent", "mail.example.org; dkim=pass header.d=example.com",
     "mail.example.org", "badexample.com", AUTH_NOTHING},
    {"dkim i= only", "mail.example.org; dkim=pass header.i=ann@example.com", "mail.example.org",
     "example.com", AUTH_PASS},
    {"dkim i= without @", "mail.example.org; dkim=pass header.i=example.com", "mail.example.org",
     "example.com", AUTH_NOTHING},
    {"dkim d= wins over i=",
     "mail.example.org; dkim=pass header.d=esp.example header.i=@example.com", "mail.example.org",
     "example.com", AUTH_NOTHING},
    {"opendmarc pass", "mail.example.org; dmarc=pass (p=none dis=none) header.from=example.com",
     "mail.example.org", "example.com", AUTH_PASS},
    {"opendmarc fail", "mail.example.org; dmarc=fail (p=reject dis=none) header.from=example.com",
     "mail.example.org", "example.com", AUTH_DENY},
    {"opendmarc none", "mail.example.org; dmarc=none (p=none dis=none) header.from=example.com",
     "mail.example.org", "example.com", AUTH_NOTHING},
    {"dmarc temperror", "mail.example.org; dmarc=temperror header.from=example.com",
     "mail.example.org", "example.com", AUTH_DENY},
    {"dmarc pass, From as an address", "mail.example.org; dmarc=pass header.from=ann@example.com",
     "mail.example.org", "example.com", AUTH_PASS},
    {"dmarc pass without header.from", "mail.example.org; dmarc=pass", "mail.example.org",
     "example.com", AUTH_DENY},
    {"spf alone proves no From", "mail.example.org; spf=pass smtp.mailfrom=ann@example.com",
     "mail.example.org", "example.com", AUTH_NOTHING},
    {"dkim softfail", "mail.example.org; dkim=softfail header.d=example.com", "mail.example.org",
     "example.com", AUTH_DENY},
    {"dkim temperror", "mail.example.org; dkim=temperror header.d=example.com", "mail.example.org",
     "example.com", AUTH_DENY},
    {"dkim fail beside a pass of the same domain",
     "mail.example.org; dkim=fail (bad signature) header.d=example.com; dkim=pass "
     "header.d=example.com",
     "mail.example.org", "example.com", AUTH_DENY},
    {"dkim fail of another domain beside a pass",
     "mail.example.org; dkim=fail header.d=esp.example; dkim=pass header.d=example.com",
     "mail.example.org", "example.com", AUTH_PASS},
    {"the none form", "mail.example.org; none", "mail.example.org", "example.com", AUTH_NOTHING},
    {"the none form with a version", "mail.example.org 1 ; none", "mail.example.org",
     "example.com", AUTH_NOTHING},
    {"forged by another id",
     "mx.attacker.example; dkim=pass header.d=example.com; dmarc=pass header.from=example.com",
     "mail.example.org", "example.com", AUTH_NOT_OURS},
    {"id as a prefix of ours", "mail.example; dmarc=pass header.from=example.com",
     "mail.example.org", "example.com", AUTH_NOT_OURS},
    {"mixed case",
     "MAIL.Example.ORG; DKIM=Pass Header.D=EXAMPLE.com; DMARC=PASS header.FROM=Example.Com.",
     "mail.example.org", "example.com", AUTH_PASS},
    {"comments everywhere",
     "(c1) mail.example.org (c2) 1 (c3) ; (c4) dkim (c5) / 1 (c6) = (c7) pass (c8 (nested) "
     "\\) ) header (c9) . (c10) d (c11) = (c12) example.com (c13) ; dmarc=pass "
     "header.from=\"example.com\"",
     "mail.example.org", "example.com", AUTH_PASS},
    {"quoted authserv-id", "\"mail.example.org\"; dkim=pass header.d=example.com",
     "mail.example.org", "example.com", AUTH_PASS},
    {"quoted local part", "mail.example.org; dkim=pass header.i=\"ann x\"@example.com",
     "mail.example.org", "example.com", AUTH_PASS},
    {"a ';' inside a comment",
     "mail.example.org; dkim=pass (2048-bit key; dmarc=fail) header.d=example.com",
     "mail.example.org", "example.com", AUTH_PASS},
    {"trailing ';'", "mail.example.org; dkim=pass header.d=example.com;", "mail.example.org",
     "example.com", AUTH_PASS},
    {"repeated header.d",
     "mail.example.org; dkim=pass header.d=example.com header.d=attacker.example",
     "mail.example.org", "example.com", AUTH_DENY},
    {"no result at all", "mail.example.org", "mail.example.org", "example.com", AUTH_DENY},
    {"truncated in a comment", "mail.example.org; dkim=pass (2048-bit key", "mail.example.org",
     "example.com", AUTH_DENY},
    {"truncated after =", "mail.example.org; dkim=", "mail.example.org", "example.com",
     AUTH_DENY},
    {"truncated property", "mail.example.org; dkim=pass header.d", "mail.example.org",
     "example.com", AUTH_DENY},
    {"no method", "mail.example.org; =pass", "mail.example.org", "example.com", AUTH_DENY},
    {"garbage after a pass", "mail.example.org; dkim=pass header.d=example.com @@@",
     "mail.example.org", "example.com", AUTH_DENY},
    {"unterminated quote", "mail.example.org; dkim=pass header.d=\"example.com",
     "mail.example.org", "example.com", AUTH_DENY},
    {"control bytes", "\x01\x02", "mail.example.org", "example.com", AUTH_NOT_OURS},
    {"empty", "", "mail.example.org", "example.com", AUTH_NOT_OURS},
    {"empty configured id", GMAIL, "", "example.com", AUTH_NOT_OURS},
};

static void test_verdict_table(void **state)
{
	unsigned bad = 0;
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		auth_verdict v = auth_results_verdict(rows[i].value, rows[i].id, rows[i].from);
		if (v != rows[i].want) {
			printf("row %zu (%s): got %s, want %s\n", i, rows[i].what,
			       auth_verdict_to_string(v), auth_verdict_to_string(rows[i].want));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_null(auth_verdict_to_string(_AUTH_VERDICT_INVALID));
	assert_string_equal(auth_verdict_to_string(AUTH_DENY), "deny");
}

/* Every prefix of every row: never a crash (ASan), and a prefix of a value of another id is
 * still not ours. */
static void test_every_prefix(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		size_t n = strlen(rows[i].value);
		for (size_t k = 0; k <= n; k++) {
			_cleanup_free_ char *p = xstrndup(rows[i].value, k);
			auth_verdict v = auth_results_verdict(p, rows[i].id, rows[i].from);
			assert_true(v >= 0 && v < _AUTH_VERDICT_MAX);
			/* (a prefix can be the id itself: "spf" of Microsoft's "spf=pass") */
			if (rows[i].want == AUTH_NOT_OURS && *rows[i].id &&
			    strncasecmp(rows[i].value, rows[i].id, strlen(rows[i].id)) != 0)
				assert_int_equal(v, AUTH_NOT_OURS);
		}
	}
}

/* Linear time: 200 000 nested comments and as many clauses finish at once. */
static void test_long_values(void **state)
{
	strbuf b = {};
	strbuf_puts(&b, "mail.example.org; dkim=pass ");
	for (int i = 0; i < 100000; i++)
		strbuf_putc(&b, '(');
	for (int i = 0; i < 100000; i++)
		strbuf_putc(&b, ')');
	strbuf_puts(&b, " header.d=example.com");
	for (int i = 0; i < 20000; i++)
		strbuf_puts(&b, "; spf=pass smtp.mailfrom=a@b.c");
	_cleanup_free_ char *s = strbuf_steal(&b);
	assert_int_equal(auth_results_verdict(s, "mail.example.org", "example.com"), AUTH_PASS);
	s[28 + 100000] = '('; /* the first ')': the comment stays open to the end */
	assert_int_equal(auth_results_verdict(s, "mail.example.org", "example.com"), AUTH_DENY);
}

#define MSG_HEAD "From: Ann <ann@example.com>\r\nTo: reply+x@coco.example\r\nSubject: Re: hi\r\n"
#define MSG_BODY "\r\n4\r\n"
#define AR "Authentication-Results: "

static bool authenticated(const char *msg, const char *id, const char *from_domain)
{
	_cleanup_mail_message_ mail_message *m = parse(msg);
	return mail_sender_authenticated(m, id, from_domain);
}

static void test_messages(void **state)
{
	const char *id = "mail.example.org";

	/* Postfix with OpenDKIM, OpenDMARC and an SPF policy daemon: three fields, one id */
	const char *postfix = AR "mail.example.org; spf=pass smtp.mailfrom=ann@example.com\r\n" AR
				 "mail.example.org;\r\n\tdkim=pass (2048-bit key; unprotected)\r\n"
				 "\theader.d=example.com header.i=@example.com header.b=AbC\r\n" AR
				 "mail.example.org; dmarc=pass (p=none dis=none) "
				 "header.from=example.com\r\n" MSG_HEAD MSG_BODY;
	assert_true(authenticated(postfix, id, "example.com"));
	assert_true(authenticated(postfix, id, "Example.COM"));
	assert_true(authenticated(postfix, id, NULL));
	assert_true(authenticated(postfix, "MAIL.EXAMPLE.ORG", NULL));
	/* a from_domain that is not the message's */
	assert_false(authenticated(postfix, id, "example.net"));
	assert_false(authenticated(postfix, "mx.other.example", NULL));
	assert_false(authenticated(postfix, "", NULL));
	assert_false(authenticated(postfix, NULL, NULL));

	/* nothing at all */
	assert_false(authenticated(MSG_HEAD MSG_BODY, id, NULL));
	/* only spf */
	assert_false(authenticated(AR "mail.example.org; spf=pass "
				      "smtp.mailfrom=ann@example.com\r\n" MSG_HEAD MSG_BODY,
				   id, NULL));

	/* The site's own says fail; a forgery by another id above it says pass: ignored. */
	assert_false(authenticated(AR "mx.attacker.example; dmarc=pass header.from=example.com\r\n" AR
				      "mail.example.org; dmarc=fail header.from=example.com\r\n" MSG_HEAD
					  MSG_BODY,
				   id, NULL));
	/* ... and a forgery by another id saying fail changes nothing either */
	assert_true(authenticated(AR "mail.example.org; dmarc=pass header.from=example.com\r\n" AR
				     "mx.attacker.example; dmarc=fail header.from=example.com\r\n" MSG_HEAD
					 MSG_BODY,
				  id, NULL));
	/* A field of the site's own id written by the sender (below the site's, where a
	 * sender's headers land) contradicting the site's: believe neither. */
	assert_false(authenticated(AR "mail.example.org; dmarc=fail header.from=example.com\r\n" MSG_HEAD
				      AR "mail.example.org; dmarc=pass header.from=example.com\r\n" MSG_BODY,
				   id, NULL));
	/* The same, the forgery placed above the site's own */
	assert_false(authenticated(AR "mail.example.org; dmarc=pass header.from=example.com\r\n" AR
				      "mail.example.org; dkim=fail header.d=example.com\r\n" MSG_HEAD
					  MSG_BODY,
				   id, NULL));
	/* A garbled field of ours spoils a pass */
	assert_false(authenticated(AR "mail.example.org; dmarc=pass header.from=example.com\r\n" AR
				      "mail.example.org; dkim=pass (truncated\r\n" MSG_HEAD MSG_BODY,
				   id, NULL));
	/* Two From fields: the verifier may have judged the other */
	assert_false(authenticated(AR "mail.example.org; dmarc=pass header.from=example.com\r\n"
				      "From: Eve <eve@example.com>\r\n" MSG_HEAD MSG_BODY,
				   id, NULL));
	/* The From of the message is another domain than the one that passed */
	assert_false(authenticated(AR "mail.example.org; dmarc=pass header.from=example.com\r\n"
				      "From: ann@example.com.attacker.example\r\nSubject: x\r\n" MSG_BODY,
				   id, NULL));
	/* Gmail as the site's server, folded as Gmail folds */
	assert_true(authenticated(AR GMAIL "\r\n" MSG_HEAD MSG_BODY, "mx.google.com", NULL));
	/* Microsoft 365's field can be nobody's */
	assert_false(authenticated(AR MS365 "\r\n" MSG_HEAD MSG_BODY, "spf", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_values),
	    cmocka_unit_test(test_verdict_table),
	    cmocka_unit_test(test_every_prefix),
	    cmocka_unit_test(test_long_values),
	    cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
