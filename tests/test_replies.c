/* Tests for reply extraction on whole mails as real clients write them: every NAME.eml in
 * tests/data/replies/ goes through mail_parse() and reply_extract(), as the local connector
 * reads a reply, and must give exactly NAME.expected (trailing blank lines aside). The
 * folder's README says which client and language each case is. One line per case, then the
 * count; every case must pass. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_quote_elements),
	    cmocka_unit_test(test_reply_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
