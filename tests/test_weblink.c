/* weblink: signed links, and a digest's links to the web view made one member's
 * (weblink_personalize()): only coco's own autolinks and href attributes to the campaign's
 * pages get the member's query; escaped text, other campaigns, other sites and links that
 * already carry a query stay as they are. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "weblink.h"

static void key_init(secret *k)
{
	memset(k, 0, sizeof *k);
	k->len = 32;
	for (size_t i = 0; i < k->len; i++)
		k->key[i] = (unsigned char)(i * 7 + 1);
}

static void test_sign_check(void **state)
{
	secret k;
	key_init(&k);
	char sig[WEBLINK_SIG_LEN + 1];
	weblink_sign(&k, "ann", "pilot", 2000000000, sig);
	assert_int_equal(strlen(sig), WEBLINK_SIG_LEN);
	assert_int_equal(weblink_check(&k, "ann", "pilot", 2000000000, sig, 1900000000), 0);
	assert_int_equal(weblink_check(&k, "bob", "pilot", 2000000000, sig, 1900000000), -EPERM);
	assert_int_equal(weblink_check(&k, "ann", "other", 2000000000, sig, 1900000000), -EPERM);
	assert_int_equal(weblink_check(&k, "ann", "pilot", 2000000001, sig, 1900000000), -EPERM);
	assert_int_equal(weblink_check(&k, "ann", "pilot", 2000000000, sig, 2000000000), -ETIME);
	sig[0] = sig[0] == '0' ? '1' : '0';
	assert_int_equal(weblink_check(&k, "ann", "pilot", 2000000000, sig, 1900000000), -EPERM);

	/* The query of a link is the one the web view checks. */
	char *q = weblink_query(&k, "a+b", "pilot", 2000000000, "&amp;");
	weblink_sign(&k, "a+b", "pilot", 2000000000, sig);
	char want[128];
	snprintf(want, sizeof want, "m=a%%2Bb&amp;e=2000000000&amp;s=%s", sig);
	assert_string_equal(q, want);
	free(q);
	char *url = weblink_url(&k, "https://coco.example/", "a+b", "pilot", "r/form", 2000000000);
	snprintf(want, sizeof want, "https://coco.example/c/pilot/r/form?m=a%%2Bb&e=2000000000&s=%s",
	         sig);
	assert_string_equal(url, want);
	free(url);
}

static void check(const char *text, bool html, const char *want)
{
	char *got = weblink_personalize(text, "https://coco.example/", "pilot", "Q", html);
	assert_string_equal(got, want);
	free(got);
}

static void test_personalize(void **state)
{
	/* Markdown autolinks to the campaign's pages: the query goes in before '>'. */
	check("See <https://coco.example/c/pilot/kick/once> and <https://coco.example/c/pilot/>.",
	      false,
	      "See <https://coco.example/c/pilot/kick/once?Q> and <https://coco.example/c/pilot/?Q>.");
	/* Not: escaped (a member's words through md_text()), another campaign, a campaign whose
	 * id starts alike, another site, a link with a query, an unclosed one. */
	const char *left[] = {
		"\\<https://coco.example/c/pilot/kick/once\\>",
		"<https://coco.example/c/other/kick/once>",
		"<https://coco.example/c/pilot2/x>",
		"<https://evil.example/c/pilot/x>",
		"<https://coco.example/c/pilot/x?m=bob&e=1&s=00>",
		"<https://coco.example/c/pilot/x y>",
		"<https://coco.example/c/pilot/x",
		"",
	};
	for (size_t i = 0; i < sizeof left / sizeof *left; i++)
		check(left[i], false, left[i]);
	/* HTML: href attributes only, never the visible text. */
	check("<a href=\"https://coco.example/c/pilot/kick/once\">https://coco.example/c/pilot/kick/once</a>",
	      true,
	      "<a href=\"https://coco.example/c/pilot/kick/once?Q\">https://coco.example/c/pilot/kick/once</a>");
	check("<p>&quot;href=&quot;https://coco.example/c/pilot/x&quot;</p>", true,
	      "<p>&quot;href=&quot;https://coco.example/c/pilot/x&quot;</p>");
	check("<https://coco.example/c/pilot/x>", true, "<https://coco.example/c/pilot/x>");
	/* A base with a path, given with or without its slash. */
	char *got = weblink_personalize("<https://h.example/coco/c/pilot/>", "https://h.example/coco",
	                                "pilot", "Q", false);
	assert_string_equal(got, "<https://h.example/coco/c/pilot/?Q>");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_check),
		cmocka_unit_test(test_personalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
