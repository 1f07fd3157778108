/* Tests for reply extraction on whole mails as real clients write them: every NAME.eml in
 * tests/data/replies/ goes through mail_parse() and reply_extract(), as the local connector
 * reads a reply, and must give exactly NAME.expected (trailing blank lines aside). The
 * folder's README says which client and language each case is. One line per case, then the
 * count; every case must pass. Also: the HTML path's quote removal, element by element, and
 * what mail_parse() accepts at its entry (mbox line, header-only mail) and why it refuses. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "email/mime.h"
#include "email/mime-bounds.h"
#include "email/mime-reason.h"
#include "email/reply.h"

#define DIR_REPLIES "tests/data/replies"

/* At least this many cases: a folder that lost its files must not pass as "all of none". */
#define CASES_MIN 41

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *strip_trailing(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* One case: NULL when it passes, else why (malloc'd). */
static char *run_case(const char *name)
{
	_cleanup_free_ char *eml = xasprintf(DIR_REPLIES "/%s.eml", name);
	_cleanup_free_ char *exp = xasprintf(DIR_REPLIES "/%s.expected", name);
	_cleanup_free_ char *data = NULL, *want = NULL;
	size_t len, wlen;
	int r = read_file(eml, 1 << 20, &data, &len);
	if (r < 0)
		return xasprintf("cannot read %s: %s", eml, strerror(-r));
	r = read_file(exp, 1 << 20, &want, &wlen);
	if (r < 0)
		return xasprintf("cannot read %s: %s", exp, strerror(-r));
	_cleanup_mail_message_ mail_message *m = NULL;
	r = mail_parse(data, len, &m);
	if (r < 0)
		return xasprintf("mail_parse: %s", strerror(-r));
	_cleanup_free_ char *kept = NULL;
	if (reply_extract(mail_body(m), &kept, NULL) < 0)
		return xstrdup("reply_extract failed");
	strip_trailing(want);
	if (!STREQ(kept, want))
		return xasprintf("expected:\n%s\n--- got:\n%s\n---", want, kept);
	return NULL;
}

static void test_reply_corpus(void **state)
{
	DIR *d = opendir(DIR_REPLIES);
	if (!d)
		fail_msg("%s: %s", DIR_REPLIES, strerror(errno));
	char **names = xcalloc(1, sizeof(char *));
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl > 4 && STREQ(de->d_name + nl - 4, ".eml")) {
			strv_push(&names, xstrndup(de->d_name, nl - 4));
			n++;
		}
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_names);

	size_t passed = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *why = run_case(names[i]);
		printf("%s %s\n", why ? "FAIL" : "pass", names[i]);
		if (why)
			printf("%s\n", why);
		else
			passed++;
	}
	printf("replies: %zu passed, %zu failed\n", passed, n - passed);
	strv_free(names);
	assert_true(n >= CASES_MIN);
	assert_int_equal(passed, n);
}

static void html_reply(const char *html, const char *want)
{
	_cleanup_free_ char *t = mail_html_reply_to_text(html, strlen(html));
	if (!STREQ(t, want))
		printf("HTML: %s\n--- gives:\n%s\n", html, t);
	assert_string_equal(t, want);
}

/* The HTML path takes the quote out of the tree before any text is made: each element kind
 * on its own, with quoted text that the text trimmer would have kept ("1: 1" under no
 * attribution), so only the tree walk can remove it. */
static void test_html_quote_elements(void **state)
{
	html_reply("<div>1: 4</div><blockquote>1: 1</blockquote>", "1: 4");
	html_reply("<div>1: 4</div><blockquote type=\"cite\">1: 1</blockquote><div>2: b</div>",
		   "1: 4\n2: b");
	html_reply("<div>1: 4</div><div class=\"gmail_quote\"><div>1: 1</div></div>", "1: 4");
	html_reply("<div>1: 4</div><div class=\"x gmail_quote_container\">1: 1</div>", "1: 4");
	html_reply("<div>1: 4</div><div class=\"yahoo_quoted\">1: 1</div>", "1: 4");
	html_reply("<div>1: 4</div><div class=\"ydp12abyahoo_quoted\">1: 1</div>", "1: 4");
	html_reply("<div>1: 4</div><div class=\"moz-cite-prefix\">1: 1</div>", "1: 4");
	html_reply("<div>1: 4</div><div class=\"protonmail_quote\">1: 1</div>", "1: 4");
	/* Outlook web: the header block and every sibling after it */
	html_reply("<div>1: 4</div><div id=\"appendonsend\"></div><hr><div>1: 1</div>", "1: 4");
	html_reply("<div><div>1: 4</div><div id=\"divRplyFwdMsg\">x</div></div><div>1: 1</div>",
		   "1: 4");
	html_reply("<div>1: 4</div><div id=\"x_divRplyFwdMsg\">x</div><p>1: 1</p>", "1: 4");
	/* a class that merely contains the word is not a quote */
	html_reply("<div class=\"gmail_quote_not\">1: 4</div>", "1: 4");
	/* nothing outside the quote: all of it, as the text trimmer keeps a lone quote */
	html_reply("<blockquote>1: 1</blockquote>", "1: 1");
	/* mail_html_to_text() is unchanged: quotes stay */
	_cleanup_free_ char *all = mail_html_to_text("<div>a</div><blockquote>b</blockquote>", 38);
	assert_string_equal(all, "a\nb");
}

static mail_message *parse_ok(const char *msg)
{
	mail_message *m = NULL;
	assert_int_equal(mail_parse(msg, strlen(msg), &m), 0);
	return m;
}

static void refused(const char *msg, int want_r, const char *want_reason)
{
	mail_message *m = NULL;
	int r = mail_parse(msg, strlen(msg), &m);
	assert_int_equal(r, want_r);
	_cleanup_free_ char *why = mail_parse_reason(msg, strlen(msg), r);
	if (strncmp(why, want_reason, strlen(want_reason)) != 0)
		fail_msg("%s: reason \"%s\", expected \"%s…\"", msg, why, want_reason);
}

/* What mail_parse() accepts at its entry, and the reasons it gives for what it does not. */
static void test_lenient_entry(void **state)
{
	/* an mbox separator line is no header field */
	_cleanup_mail_message_ mail_message *a =
	    parse_ok("From ann@example.org Tue Dec  1 09:00:00 2026\nFrom: Ann <ann@example.org>\n"
		     "Subject: s\n\n1: 4\n");
	assert_string_equal(mail_from_address(a), "ann@example.org");
	assert_string_equal(mail_body(a), "1: 4\n");
	/* comments around the address (RFC 5322 CFWS) */
	_cleanup_mail_message_ mail_message *b =
	    parse_ok("From: \"Ann\" (work) <Ann@Example.org>\n\nx\n");
	assert_string_equal(mail_from_address(b), "ann@example.org");
	/* libetpan keeps the comment in the display name: "Ann (work)" */
	assert_int_equal(strncmp(mail_from_name(b), "Ann", 3), 0);
	_cleanup_mail_message_ mail_message *c = parse_ok("From: ann@example.org (Ann E.)\n\nx\n");
	assert_string_equal(mail_from_address(c), "ann@example.org");
	/* header only: no empty line before the end, the last line complete; LF and CRLF */
	_cleanup_mail_message_ mail_message *d =
	    parse_ok("From: ann@example.org\nMessage-ID: <h@example.org>\n");
	assert_string_equal(mail_message_id(d), "h@example.org");
	assert_string_equal(mail_body(d), "");
	_cleanup_mail_message_ mail_message *e = parse_ok("From: ann@example.org\r\nSubject: s\r\n");
	assert_string_equal(mail_subject(e), "s");

	refused("From: ann@example.org\nSubject: cut", -EBADMSG, "not a mail: it ends inside");
	refused("Subject: s\n\nx", -EBADMSG, "no From:");
	refused("From: Ann\n\nx", -EBADMSG, "From has no address");
	refused("hello there\n", -EBADMSG, "not a mail: it does not start with a header");
	refused("", -EBADMSG, "not a mail: the file is empty");
	refused("From ann@example.org Tue Dec  1 09:00:00 2026\n", -EBADMSG,
		"not a mail: only an mbox");
	strbuf deep = {};
	strbuf_puts(&deep, "From: a@example.org\n");
	for (int i = 0; i < MAIL_DEPTH_MAX + 4; i++)
		strbuf_printf(&deep, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	refused(deep.s, -E2BIG, "too deeply nested: ");
	strbuf_done(&deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_quote_elements),
	    cmocka_unit_test(test_lenient_entry),
	    cmocka_unit_test(test_reply_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
