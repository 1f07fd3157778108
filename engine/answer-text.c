/* answer-text: the character level of the answer grammar, and the values. It owns what works on
 * a bare (start, end) slice of a message with no parser state: blanks, separators and colons
 * (with their full-width forms), UTF-8 and control-character checks, numbers, quoting a fragment
 * back to the member, and turning the text after "N:" into the normalised value of a question.
 * See answer-private.h. */
#define _GNU_SOURCE
#include "answer-private.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define QUOTE_MAX 60 /* code points of a fragment quoted back to the member */

/* --- characters ------------------------------------------------------------------------ */

/* Bytes of one blank at s: ASCII space or tab, NBSP, ideographic space, BOM; else 0. */
size_t answer_ws_len(const char *s, const char *e)
{
	if (s >= e)
		return 0;
	if (*s == ' ' || *s == '\t')
		return 1;
	if (e - s >= 2 && memcmp(s, "\xC2\xA0", 2) == 0)
		return 2;
	if (e - s >= 3 && (memcmp(s, "\xE3\x80\x80", 3) == 0 || memcmp(s, "\xEF\xBB\xBF", 3) == 0))
		return 3;
	return 0;
}

const char *answer_skip_ws(const char *s, const char *e)
{
	size_t k;
	while ((k = answer_ws_len(s, e)))
		s += k;
	return s;
}

const char *answer_trim_end(const char *s, const char *e)
{
	for (;;) {
		if (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		else if (e - s >= 2 && answer_ws_len(e - 2, e) == 2)
			e -= 2;
		else if (e - s >= 3 && answer_ws_len(e - 3, e) == 3)
			e -= 3;
		else
			return e;
	}
}

size_t answer_colon_len(const char *s, const char *e)
{
	if (s < e && *s == ':')
		return 1;
	if (e - s >= 3 && memcmp(s, "\xEF\xBC\x9A", 3) == 0) /* ： */
		return 3;
	return 0;
}

size_t answer_sep_len(const char *s, const char *e)
{
	if (s < e && (*s == ',' || *s == ';'))
		return 1;
	if (e - s >= 3 && (memcmp(s, "\xEF\xBC\x8C", 3) == 0 || /* ， */
			   memcmp(s, "\xEF\xBC\x9B", 3) == 0 || /* ； */
			   memcmp(s, "\xE3\x80\x81", 3) == 0))	/* 、 */
		return 3;
	return 0;
}

bool answer_slice_eq_ci(const char *s, const char *e, const char *z)
{
	size_t n = (size_t)(e - s);
	return z && strlen(z) == n && strncasecmp(s, z, n) == 0;
}

bool answer_is_ref_char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("._@+=#-", c));
}

bool answer_all_digits(const char *s, const char *e)
{
	if (s >= e)
		return false;
	for (; s < e; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Decimal digits to a number; anything beyond 10^12 saturates, which every range rejects. */
unsigned long long answer_digits_value(const char *s, const char *e)
{
	unsigned long long v = 0;
	for (; s < e; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 1000000000000ULL)
			return ULLONG_MAX;
	}
	return v;
}

/* Length of one valid UTF-8 sequence at s, 0 if invalid (overlong, surrogate, > U+10FFFF). */
static size_t utf8_len(const unsigned char *s, const unsigned char *e)
{
	if (s[0] < 0x80)
		return 1;
	size_t n;
	unsigned min;
	unsigned cp;
	if ((s[0] & 0xE0) == 0xC0)
		n = 2, min = 0x80, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3, min = 0x800, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		n = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if ((size_t)(e - s) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Text a person typed: valid UTF-8 without control characters (tabs are fine). Anything else
 * is binary or mangled, and passing it on would break JSON and the replies. */
bool answer_line_is_text(const char *s, const char *e)
{
	const unsigned char *p = (const unsigned char *)s, *pe = (const unsigned char *)e;
	while (p < pe) {
		size_t k = utf8_len(p, pe);
		if (k == 0)
			return false;
		if (k == 1 && ((*p < 0x20 && *p != '\t') || *p == 0x7F))
			return false;
		if (k == 2 && p[0] == 0xC2 && p[1] < 0xA0) /* C1 controls */
			return false;
		p += k;
	}
	return true;
}

/* “fragment”, on one line, shortened to QUOTE_MAX code points, with anything unprintable
 * shown as U+FFFD so that the quote itself is always clean text. */
char *answer_quote(const char *s, const char *e)
{
	const unsigned char *p = (const unsigned char *)s, *pe = (const unsigned char *)e;
	size_t total = 0;
	for (const unsigned char *t = p; t < pe; total++) {
		size_t k = utf8_len(t, pe);
		t += k ? k : 1;
	}
	size_t keep = total > QUOTE_MAX ? QUOTE_MAX - 1 : total;
	strbuf b = {0};
	strbuf_puts(&b, "“");
	for (size_t i = 0; i < keep; i++) {
		size_t k = utf8_len(p, pe);
		if (k == 0 || (k == 1 && *p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7F ||
		    (k == 2 && p[0] == 0xC2 && p[1] < 0xA0))
			strbuf_puts(&b, "\xEF\xBF\xBD");
		else if (*p == '\n' || *p == '\t')
			strbuf_putc(&b, ' ');
		else
			strbuf_add(&b, p, k);
		p += k ? k : 1;
	}
	if (keep < total)
		strbuf_puts(&b, "…");
	strbuf_puts(&b, "”");
	return strbuf_steal(&b);
}

/* --- values ------------------------------------------------------------------------------- */

/* The option a token names: its text (any case), its letter a… (up to 26 options), or its
 * 1-based number. The text wins, so options "1|2|3|5|8" mean what they say. */
long answer_option_match(const coco_question *q, const char *s, const char *e)
{
	for (size_t i = 0; i < q->n_options; i++)
		if (answer_slice_eq_ci(s, e, q->options[i]))
			return (long)i;
	if (e - s == 1 && isalpha((unsigned char)*s) && q->n_options <= 26) {
		long i = tolower((unsigned char)*s) - 'a';
		if ((size_t)i < q->n_options)
			return i;
	}
	if (answer_all_digits(s, e)) {
		unsigned long long n = answer_digits_value(s, e);
		if (n >= 1 && n <= q->n_options)
			return (long)(n - 1);
	}
	return -1;
}

/* Marks the options one word of a multi answer names; "bd" names b and d. */
static bool multi_word(const coco_question *q, const char *s, const char *e, bool *sel)
{
	long i = answer_option_match(q, s, e);
	if (i >= 0) {
		sel[i] = true;
		return true;
	}
	if (q->n_options > 26)
		return false;
	for (const char *p = s; p < e; p++)
		if (!isalpha((unsigned char)*p) ||
		    (size_t)(tolower((unsigned char)*p) - 'a') >= q->n_options)
			return false;
	for (const char *p = s; p < e; p++)
		sel[tolower((unsigned char)*p) - 'a'] = true;
	return true;
}

char *answer_multi_value(const coco_question *q, const char *s, const char *e)
{
	_cleanup_free_ bool *sel = xcalloc(q->n_options, sizeof(bool));
	long whole = answer_option_match(q, s, e);
	if (whole >= 0)
		sel[whole] = true;
	else
		for (const char *p = s; p < e;) {
			/* One comma-separated piece: an option text with spaces, or words. */
			const char *pe = p;
			while (pe < e && !answer_sep_len(pe, e))
				pe++;
			const char *a = answer_skip_ws(p, pe), *b = answer_trim_end(a, pe);
			long i = a < b ? answer_option_match(q, a, b) : -1;
			if (i >= 0)
				sel[i] = true;
			else
				while (a < b) {
					const char *w = a;
					while (w < b && !answer_ws_len(w, b))
						w++;
					if (!multi_word(q, a, w, sel))
						return NULL;
					a = answer_skip_ws(w, b);
				}
			p = pe < e ? pe + answer_sep_len(pe, e) : e;
		}
	strbuf out = {0};
	for (size_t i = 0; i < q->n_options; i++)
		if (sel[i]) {
			if (out.len)
				strbuf_putc(&out, '|');
			strbuf_puts(&out, q->options[i]);
		}
	if (!out.len)
		return NULL;
	return strbuf_steal(&out);
}

/* A whole number in min..max; "4/5" is fine when 5 is the top of the scale. A remark after a
 * dash or in brackets ("4 - fairly urgent", "4 (soon blocking)", as people write under a
 * quoted question) is an aside: the number is the answer. Other words after it ("4 great")
 * are no answer. */
char *answer_number_value(const char *s, const char *e, long min, long max)
{
	const char *tok_end = s;
	while (tok_end < e && !answer_ws_len(tok_end, e))
		tok_end++;
	const char *a = answer_skip_ws(tok_end, e);
	if (a > tok_end && a < e) {
		size_t dash = *a == '-' ? 1
			      : e - a >= 3 && (memcmp(a, "–", 3) == 0 || memcmp(a, "—", 3) == 0)
				  ? 3
				  : 0;
		if (*a == '(' || (dash && a + dash < e && answer_ws_len(a + dash, e) &&
				  answer_skip_ws(a + dash, e) < e))
			e = tok_end;
	}
	const char *slash = memchr(s, '/', (size_t)(e - s));
	if (slash) {
		_cleanup_free_ char *top = xstrndup(slash + 1, (size_t)(e - slash - 1));
		long v;
		if (parse_long(strstrip(top), max, max, &v) < 0)
			return NULL;
		e = answer_trim_end(s, slash);
	}
	_cleanup_free_ char *num = xstrndup(s, (size_t)(e - s));
	long v;
	if (parse_long(num, min, max, &v) < 0)
		return NULL;
	return xasprintf("%ld", v);
}

void answer_option_range(const coco_question *q, char *buf, size_t size)
{
	if (q->n_options == 0)
		snprintf(buf, size, "no options (a configuration mistake)");
	else if (q->n_options <= 26)
		snprintf(buf, size, "a to %c", (char)('a' + q->n_options - 1));
	else
		snprintf(buf, size, "1 to %zu", q->n_options);
}
