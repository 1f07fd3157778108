/* Tests for connectors/email/reply: one unit test per trimming rule, the Discourse corpus
 * (../shared/corpus/reply-trimmer, or $COCO_CORPUS_DIR/reply-trimmer), large and
 * pathological inputs. Without the corpus its tests are skipped with a line saying so,
 * except under CI=true, where a missing corpus fails. Run times are printed, never asserted:
 * a machine under load must not fail a test. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "email/message.h"
#include "email/mime.h"
#include "email/reply.h"
#include "corpus.h"

/* Exact matches reached on the corpus; raise it when the trimmer improves. */
#define CORPUS_FLOOR 64

/* The reply-trimmer corpus directory (malloc'd), or the test is skipped (failed under
 * CI=true): tests/corpus.h. Call before allocating anything else. */
static char *corpus_or_skip(void)
{
	return corpus_dir("reply-trimmer");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void check(const char *body, const char *want_kept, const char *want_elided)
{
	_cleanup_free_ char *kept = NULL, *elided = NULL;
	assert_int_equal(reply_trim(body, &kept, &elided), 0);
	assert_string_equal(kept, want_kept);
	if (want_elided)
		assert_string_equal(elided, want_elided);
}

static void test_plain_text(void **state)
{
	check("Just an answer.\n\nSecond paragraph.\n\n\n", "Just an answer.\n\nSecond paragraph.",
	      "");
	check("", "", "");
	check("  \n\n ", "", "");
}

static void test_bad_args(void **state)
{
	char *kept = (char *)0x1;
	assert_int_equal(reply_trim(NULL, &kept, NULL), -EINVAL);
	assert_ptr_equal(kept, (char *)0x1);
	assert_int_equal(reply_trim("x", NULL, NULL), -EINVAL);
}

static void test_quote_after_text(void **state)
{
	check("1: 4\n2: yes\n\n> Question 1: how much?\n> Question 2: really?\n", "1: 4\n2: yes",
	      "> Question 1: how much?\n> Question 2: really?");
	/* A quote alone is kept: there is nothing else to keep (reply_extract() keeps nothing). */
	check("> only a quote", "> only a quote", "");
	_cleanup_free_ char *kept = NULL, *elided = NULL;
	assert_int_equal(reply_extract("> only a quote\n>\n> 1: 4", &kept, &elided), 0);
	assert_string_equal(kept, "");
	assert_string_equal(elided, "> only a quote\n>\n> 1: 4");
	/* Text after a quote (interleaved reply) stays. */
	check("> q\n\nanswer", "> q\n\nanswer", "");
}

static void test_attribution_english(void **state)
{
	check("Sounds good.\n\nOn Mon, 3 Jun 2024 at 10:00, Coco <coco@example.org> wrote:\n> hi\n",
	      "Sounds good.", NULL);
	/* wrapped over two lines */
	check("Yes.\n\nOn Mon, 3 Jun 2024 at 10:00, Coco Bot <\ncoco@example.org> wrote:\n\n> hi\n",
	      "Yes.", "On Mon, 3 Jun 2024 at 10:00, Coco Bot < coco@example.org> wrote:\n\n> hi");
	/* "On" sentences that are not attributions stay */
	check("On Monday I can't.\nI wrote a note.\n", "On Monday I can't.\nI wrote a note.", "");
}

static void test_attribution_localised(void **state)
{
	check("Ja.\n\nAm 03.06.2024 um 10:00 schrieb Coco <coco@example.org>:\n> hallo\n", "Ja.",
	      NULL);
	check("Oui.\n\nLe 3 juin 2024 à 10:00, Coco <coco@example.org> a écrit :\n> salut\n",
	      "Oui.", NULL);
	check(
	    "Sí.\n\nEl lun, 3 jun 2024 a las 10:00, Coco (<coco@example.org>) escribió:\n> hola\n",
	    "Sí.", NULL);
	check("Ja.\n\nOp 3 jun. 2024 om 10:00 heeft Coco <coco@example.org> het volgende "
	      "geschreven:\n> hoi\n",
	      "Ja.", NULL);
	check("Ja.\n\nDen 3 juni 2024 kl. 10:00 skrev Coco <coco@example.org>:\n> hej\n", "Ja.",
	      NULL);
	check("Kyllä.\n\nCoco <coco@example.org> kirjoitti 3.6.2024 kello 10.00:\n> hei\n",
	      "Kyllä.", NULL);
}

static void test_outlook_headers(void **state)
{
	check("Fine by me.\n\nFrom: Coco <coco@example.org>\nSent: Monday, June 3, 2024\n"
	      "To: Ann <ann@example.org>\nSubject: Round 2\n\nold text\n",
	      "Fine by me.", NULL);
	check("Fine.\n\n-----Original Message-----\nFrom: Coco\nold\n", "Fine.", NULL);
	check("FYI\n\n---------- Forwarded message ---------\nFrom: X <x@example.org>\nDate: "
	      "today\n\n"
	      "body\n",
	      "FYI", NULL);
	/* One "To:" line alone is an answer, not a header block. */
	check("To: everyone\nthanks", "To: everyone\nthanks", "");
}

static void test_signatures(void **state)
{
	check("Agreed.\n\nSent from my iPhone\n", "Agreed.", "Sent from my iPhone");
	check("Agreed.\nVon meinem iPhone gesendet\nOK", "Agreed.\nOK",
	      "Von meinem iPhone gesendet");
	check("Agreed.\n\n-- \nAnn Example\nACME Corp\n", "Agreed.", "-- \nAnn Example\nACME Corp");
	check("Agreed.\n\n________________\nDisclaimer\n", "Agreed.", NULL);
	/* Markdown rules are content. */
	check("a\n\n---\n\nb", "a\n\n---\n\nb", "");
	/* "From my point of view" is a sentence. */
	check("From my point of view this is fine, and long enough.",
	      "From my point of view this is fine, and long enough.", "");
}

/* Issue 8.9: a rule of stars or underscores is empty once its frame is stripped; reading
 * the character before it was undefined (clang's UBSan: pointer overflow). */
static void test_rules_of_stars(void **state)
{
	check("***", "***", "");
	check("1: 4\n***\n2: 5", "1: 4\n***\n2: 5", "");
	check("** **\n_\n*", "** **\n_\n*", "");
	check("idea: x\n\n> ***\n> q", "idea: x", "> ***\n> q");
}

static void extract(const char *body, const char *want_kept)
{
	_cleanup_free_ char *kept = NULL, *elided = NULL;
	assert_int_equal(reply_extract(body, &kept, &elided), 0);
	assert_string_equal(kept, want_kept);
}

/* Issue 7.11: a closing formula and the name under it end the answer (reply_extract; the
 * corpus-measured reply_trim keeps them, as Discourse does). */
static void test_signoffs(void **state)
{
	static const char *const formulas[] = {
	    "Beste Grüße",	     "Mit freundlichen Grüßen", "Viele Grüße",	"Cordialement,",
	    "Bien à vous",	     "Ystävällisin terveisin",	"Terveisin",	"Med vänliga hälsningar",
	    "Hälsningar",	     "С уважением,",		"Best regards,", "Mit freundlichen Grüssen",
	    "mit freundlichen grüßen", "Grüße!",
	};
	for (size_t i = 0; i < ELEMENTSOF(formulas); i++) {
		_cleanup_free_ char *body = xasprintf("1: 4\n\n%s\nAnna Beispiel\n", formulas[i]);
		extract(body, "1: 4");
		_cleanup_free_ char *kept = NULL;
		assert_int_equal(reply_trim(body, &kept, NULL), 0);
		assert_non_null(strstr(kept, "Anna")); /* reply_trim keeps it */
	}
	/* name on the same line, and name, role and company */
	extract("2: b\n\nViele Grüße, Max", "2: b");
	extract("idea: x\n\nMit freundlichen Grüßen\n\nErika Mustermann\nLeiterin Logistik\nMuster "
		"GmbH\n\n-----Ursprüngliche Nachricht-----\nVon: Coco\nAn: Erika\n\nalt",
		"idea: x");
	/* not a sign-off: more text follows, an answer follows, or nothing came before */
	extract("Cheers\nto the team for a great week", "Cheers\nto the team for a great week");
	extract("1: 4\n\nTerveisin\n2: 5", "1: 4\n\nTerveisin\n2: 5");
	extract("1: 4\nRegards\nTel: +358 40 123", "1: 4\nRegards\nTel: +358 40 123");
	extract("Cordialement\nLuc", "Cordialement\nLuc");
	extract("Regards to everyone who helped", "Regards to everyone who helped");
}

/* Issue 7.11: an answer is never taken into a trimmed quote. */
static void test_answer_never_swallowed(void **state)
{
	/* "1: 4" above a wrapped attribution lent it the digits of a date */
	check("1: 4\nCoco\nwrote:\n> How was the week?\n", "1: 4\nCoco\nwrote:", NULL);
	check("1: 4\nOn Mon, 3 Jun 2024 at 10:00, Coco <coco@example.org> wrote:\n> q\n", "1: 4",
	      NULL);
	/* answers after inline quote blocks, under an attribution */
	check("2: b\nAm 03.06.2024 um 10:00 schrieb Coco <coco@example.org>:\n> hallo\n> mehr\n\n"
	      "idea: x",
	      "2: b\n> hallo\n> mehr\n\nidea: x", NULL);
	/* text that is not an answer after the quote is still the quoted mail's signature */
	check("Fine.\n\nOn Mon, 3 Jun 2024 at 10:00, Coco <coco@example.org> wrote:\n> hi\n\nCoco "
	      "Rounds\nNorthwind",
	      "Fine.", NULL);
}

/* Whole mails as members' clients write them (tests/data/mail/): what coco must read. */
static void test_member_mails(void **state)
{
	static const struct {
		const char *file, *want;
	} cases[] = {
	    {"signoff-de.eml", "1: 4\n2: b"},
	    {"signoff-de-formal.eml", "idea: Wochenbericht per Mail"},
	    {"signoff-de-viele.eml", "3: ja"},
	    {"signoff-fr.eml", "1: 5\nidea: un tableau de bord partagé"},
	    {"signoff-fr-bien.eml", "2: a"},
	    {"signoff-fi.eml", "1: 3"},
	    {"signoff-fi-short.eml", "idea: yhteinen kalenteri"},
	    {"signoff-sv.eml", "1: 4\n3: nej"},
	    {"signoff-sv-short.eml", "2: c"},
	    {"signoff-ru.eml", "1: 2\nidea: еженедельный отчёт"},
	    {"answer-above-attribution.eml", "1: 4\nCoco\nwrote:"},
	    {"html-entities.eml", "1: 4 – “great” week…\nidea: café → bistro ™ ½ price"},
	    /* trial 5: the quotes between the answers are not the member's, never kept */
	    {"answer-after-inline-quote.eml", "2: b\n\n1: 4\n\nidea: a live map of every truck"},
	    /* trial 3: nothing typed above the quote, or typed into it: nothing is the member's
	     * (the quote is coco's invitation, with the member's personal link) */
	    {"reply-empty-above-quote.eml", ""},
	    {"reply-typed-into-quote.eml", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *path = xasprintf("tests/data/mail/%s", cases[i].file);
		_cleanup_free_ char *data = NULL;
		size_t len;
		assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
		_cleanup_mail_message_ mail_message *m = NULL;
		assert_int_equal(mail_parse(data, len, &m), 0);
		_cleanup_free_ char *kept = NULL;
		assert_int_equal(reply_extract(mail_body(m), &kept, NULL), 0);
		if (!STREQ(kept, cases[i].want))
			printf("%s: coco reads\n%s\n", cases[i].file, kept);
		assert_string_equal(kept, cases[i].want);
	}
}

static void test_fenced_code(void **state)
{
	check("Code:\n```\n--\n> not a quote\n```\nend", "Code:\n```\n--\n> not a quote\n```\nend",
	      "");
}

static void test_crlf(void **state)
{
	check("a\r\nb\r\n\r\n> q\r\n", "a\nb", "> q");
}

static void test_other_quote_prefixes(void **state)
{
	check("mine\n\n| theirs\n| more\n", "mine", "> theirs\n> more");
	/* Markdown table rows are not quotes */
	check("| a | b |\n| 1 | 2 |", "| a | b |\n| 1 | 2 |", "");
}

static void test_large_body(void **state)
{
	size_t n = 1024 * 1024;
	_cleanup_free_ char *big = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
	big[n] = '\0';
	memcpy(big + n - 40, "\n> quoted tail line here, to be cut\n", 36);
	big[n - 4] = '\0';

	double t0 = now_ms();
	_cleanup_free_ char *kept = NULL, *elided = NULL;
	assert_int_equal(reply_trim(big, &kept, &elided), 0);
	printf("1 MB of short lines: %.1f ms\n", now_ms() - t0);
	assert_true(strlen(kept) > n - 100);
	assert_non_null(strstr(elided, "> quoted tail"));

	/* One 1 MB line full of attribution-looking fragments. */
	strbuf b = {};
	while (b.len < n)
		strbuf_puts(&b, "On Mon, 1 Jan 2024 <a@b> wrote wrote: -- > ");
	double t1 = now_ms();
	_cleanup_free_ char *k2 = NULL;
	assert_int_equal(reply_trim(b.s, &k2, NULL), 0);
	printf("one 1 MB attribution-like line: %.1f ms\n", now_ms() - t1);
	strbuf_done(&b);
}

static void test_pathological_line(void **state)
{
	_cleanup_free_ char *corpus = corpus_or_skip();
	_cleanup_free_ char *path =
	    xasprintf("%s/matchers/does_not_contain_embedded_email.txt", corpus);
	_cleanup_free_ char *body = NULL;
	size_t len;
	int r = read_file(path, 1 << 20, &body, &len);
	if (r < 0)
		fail_msg("%s: %s", path, strerror(-r));
	double t0 = now_ms();
	bool all_kept = true;
	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *kept = NULL;
		if (reply_trim(body, &kept, NULL) != 0 || strlen(kept) == 0)
			all_kept = false;
	}
	printf("pathological line, 1000 times: %.1f ms\n", now_ms() - t0);
	assert_true(all_kept);
}

static char *read_stripped(const char *corpus, const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/%s", corpus, dir, name);
	char *s = NULL;
	size_t len;
	if (read_file(path, 1 << 20, &s, &len) < 0)
		return NULL;
	/* Ruby String#strip also drops NUL. */
	size_t a = 0;
	while (a < len && (strchr(" \t\r\n\v\f", s[a]) && s[a]))
		a++;
	while (len > a && (s[len - 1] == '\0' || strchr(" \t\r\n\v\f", s[len - 1])))
		len--;
	memmove(s, s + a, len - a);
	s[len - a] = '\0';
	return s;
}

static void test_corpus(void **state)
{
	_cleanup_free_ char *corpus = corpus_or_skip();
	_cleanup_free_ char *emails = xasprintf("%s/emails", corpus);
	DIR *d = opendir(emails);
	if (!d)
		fail_msg("%s: %s", emails, strerror(errno));
	struct dirent *de;
	unsigned total = 0, kept_ok = 0, elided_ok = 0, unreadable = 0;

	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".txt") != 0)
			continue;
		_cleanup_free_ char *in = read_stripped(corpus, "emails", de->d_name);
		_cleanup_free_ char *want = read_stripped(corpus, "trimmed", de->d_name);
		_cleanup_free_ char *want_el = read_stripped(corpus, "elided", de->d_name);
		total++;
		if (!in || !want || !want_el) {
			printf("corpus file missing or unreadable: %s\n", de->d_name);
			unreadable++;
			continue;
		}

		_cleanup_free_ char *kept = NULL, *elided = NULL;
		if (reply_trim(in, &kept, &elided) != 0) {
			printf("corpus: reply_trim failed on %s\n", de->d_name);
			unreadable++;
			continue;
		}
		char *k = strstrip(kept), *e = strstrip(elided);
		if (STREQ(k, want))
			kept_ok++;
		else
			printf("corpus mismatch (kept): %s\n", de->d_name);
		if (STREQ(e, want_el))
			elided_ok++;
	}
	closedir(d);
	assert_int_equal(unreadable, 0);

	printf("reply-trimmer corpus: %u of %u trimmed exactly (elided text exact: %u)\n", kept_ok,
	       total, elided_ok);
	assert_int_equal(total, 64);
	assert_true(kept_ok >= CORPUS_FLOOR);
}

/* What was cut is kept whatever cut it (trial S3-8): an HTML-only reply's blockquote (Apple
 * Mail, from the trial's mail) never reaches the trimmer, yet it is in `trimmed`. */
static void test_html_quote_trimmed(void **state)
{
	(void)state;
	static const char msg[] =
	    "From: Paula Ortiz <paula@bluepeak.example>\r\n"
	    "To: coco+z3o2iccqyv6cnvmv@bluepeak.example\r\n"
	    "Subject: Re: [Harbor] Monthly retrospective\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	    "<html><body dir=\"auto\"><div dir=\"ltr\">1: 5<br>2: 10</div>"
	    "<div dir=\"ltr\">5: Loved working with <b>Harbor</b> &amp; the new&nbsp;team.</div>"
	    "<div dir=\"ltr\"><br><blockquote type=\"cite\">On 1. Dec 2026, at 18:55, Bluepeak "
	    "retros &lt;coco@bluepeak.example&gt; wrote:<br><br></blockquote></div>"
	    "<blockquote type=\"cite\"><div dir=\"ltr\"><p>Hi Paula Ortiz,</p><pre><code>1: 4\n"
	    "2: 9\n</code></pre></div></blockquote></body></html>\r\n";
	_cleanup_mail_message_ mail_message *m = NULL;
	assert_int_equal(mail_parse(msg, strlen(msg), &m), 0);
	_cleanup_free_ char *kept = NULL, *trimmed = NULL;
	assert_int_equal(email_reply_extract(m, &kept, &trimmed), 0);
	assert_string_equal(kept, "1: 5\n2: 10\n5: Loved working with Harbor & the new team.");
	assert_non_null(strstr(trimmed, "On 1. Dec 2026, at 18:55, Bluepeak retros"));
	assert_non_null(strstr(trimmed, "Hi Paula Ortiz,"));
	assert_non_null(strstr(trimmed, "1: 4\n2: 9"));
	assert_null(strstr(trimmed, "Loved"));

	/* A quote alone is kept as the text: then nothing was cut. */
	static const char alone[] =
	    "From: a@example.org\r\nContent-Type: text/html\r\n\r\n"
	    "<blockquote>only a quote</blockquote>\r\n";
	_cleanup_mail_message_ mail_message *m2 = NULL;
	_cleanup_free_ char *kept2 = NULL, *trimmed2 = NULL;
	assert_int_equal(mail_parse(alone, strlen(alone), &m2), 0);
	assert_int_equal(email_reply_extract(m2, &kept2, &trimmed2), 0);
	assert_string_equal(kept2, "only a quote");
	assert_string_equal(trimmed2, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_text),
	    cmocka_unit_test(test_html_quote_trimmed),
	    cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_quote_after_text),
	    cmocka_unit_test(test_attribution_english),
	    cmocka_unit_test(test_attribution_localised),
	    cmocka_unit_test(test_outlook_headers),
	    cmocka_unit_test(test_signatures),
	    cmocka_unit_test(test_rules_of_stars),
	    cmocka_unit_test(test_signoffs),
	    cmocka_unit_test(test_answer_never_swallowed),
	    cmocka_unit_test(test_member_mails),
	    cmocka_unit_test(test_fenced_code),
	    cmocka_unit_test(test_crlf),
	    cmocka_unit_test(test_other_quote_prefixes),
	    cmocka_unit_test(test_large_body),
	    cmocka_unit_test(test_pathological_line),
	    cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
