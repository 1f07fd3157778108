/* reply-signoff: closing formulas in the languages coco's members write, and the tests that
 * keep an answer line out of whatever the trimmer cuts. See reply-private.h. */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/reply-private.h"

/* A name after a sign-off on the same line ("Beste Grüße, Anna") is at most this long. */
#define SIGNOFF_NAME_MAX 40
#define NAME_LINE_MAX 80

/* Lower case: the comparison folds ASCII, Latin-1 and Cyrillic capitals (reply_equal_fold).
 * The spellings with "ss" and "ue" are how Swiss and ASCII-only keyboards write ß and ü.
 * A thanks on its own line, with the name under it, closes a mail the same way. */
#define W REPLY_WORD
static const struct reply_word signoffs[] = {
    /* English */
    W("best regards"), W("kind regards"), W("warm regards"), W("regards"), W("best wishes"),
    W("all the best"), W("yours sincerely"), W("sincerely"), W("cheers"), W("best"), W("thanks"),
    W("many thanks"), W("thank you"),
    /* German */
    W("mit freundlichen grüßen"), W("mit freundlichen grüssen"), W("mit freundlichen gruessen"),
    W("mit freundlichem gruß"), W("mit freundlichem gruss"), W("freundliche grüße"),
    W("freundliche grüsse"), W("beste grüße"), W("beste grüsse"), W("beste gruesse"),
    W("viele grüße"), W("viele grüsse"), W("viele gruesse"), W("liebe grüße"), W("liebe grüsse"),
    W("herzliche grüße"), W("herzliche grüsse"), W("schöne grüße"), W("schöne grüsse"), W("grüße"),
    W("grüsse"), W("gruß"), W("gruss"), W("mfg"), W("danke"), W("vielen dank"), W("lg"),
    /* French */
    W("cordialement"), W("bien cordialement"), W("très cordialement"), W("bien à vous"),
    W("bien a vous"), W("amicalement"), W("salutations"), W("meilleures salutations"),
    W("sincères salutations"), W("merci"),
    /* Finnish */
    W("ystävällisin terveisin"), W("ystävällisesti"), W("parhain terveisin"), W("terveisin"),
    W("terveiset"), W("terv."), W("kiitos"),
    /* Swedish */
    W("med vänliga hälsningar"), W("med vänlig hälsning"), W("vänliga hälsningar"),
    W("vänlig hälsning"), W("bästa hälsningar"), W("hälsningar"), W("mvh"), W("tack"),
    /* Russian */
    W("с уважением"), W("с наилучшими пожеланиями"), W("всего доброго"), W("всего хорошего"),
    W("спасибо"),
};
#undef W

/* signoffs by first byte, built once: lead_count[c] of them from by_lead[lead_first[c]] on. */
_Static_assert(ELEMENTSOF(signoffs) < 256, "by_lead holds indices in bytes");
static unsigned char by_lead[ELEMENTSOF(signoffs)];
static unsigned char lead_first[256], lead_count[256];
static pthread_once_t by_lead_once = PTHREAD_ONCE_INIT;

static void by_lead_build(void)
{
	size_t k = 0;
	for (unsigned c = 0; c < 256; c++) {
		lead_first[c] = (unsigned char)k;
		for (size_t i = 0; i < ELEMENTSOF(signoffs); i++)
			if ((unsigned char)signoffs[i].s[0] == c)
				by_lead[k++] = (unsigned char)i;
		lead_count[c] = (unsigned char)(k - lead_first[c]);
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

/* The two bytes of a Latin-1 or Cyrillic capital in UTF-8, lowered in place. */
static void fold2(unsigned char *a, unsigned char *b)
{
	if (*a == 0xc3 && *b >= 0x80 && *b <= 0x9e && *b != 0x97) /* À-Þ, not × */
		*b += 0x20;
	else if (*a == 0xd0 && *b >= 0x90 && *b <= 0x9f) /* А-П */
		*b += 0x20;
	else if (*a == 0xd0 && *b >= 0xa0 && *b <= 0xaf) { /* Р-Я */
		*a = 0xd1;
		*b -= 0x20;
	} else if (*a == 0xd0 && *b >= 0x80 && *b <= 0x8f) { /* Ѐ-Џ */
		*a = 0xd1;
		*b += 0x10;
	}
}

bool reply_prefix_fold_n(const char *s, size_t len, const struct reply_word *w)
{
	const char *word = w->s;
	size_t n = w->len;
	if (len < n)
		return false;
	for (size_t i = 0; i < n;) {
		unsigned char x = (unsigned char)s[i], y = (unsigned char)word[i];
		if (x < 0x80 || y < 0x80) {
			if (x >= 'A' && x <= 'Z')
				x += 0x20;
			if (y >= 'A' && y <= 'Z')
				y += 0x20;
			if (x != y)
				return false;
			i++;
			continue;
		}
		if (i + 1 >= n) /* a lone lead byte at the end of word: compare it bytewise */
			return x == y;
		unsigned char x2 = (unsigned char)s[i + 1], y2 = (unsigned char)word[i + 1];
		fold2(&x, &x2);
		fold2(&y, &y2);
		if (x != y || x2 != y2)
			return false;
		/* the rest of a longer sequence compares bytewise */
		i += 2;
	}
	return true;
}

bool reply_prefix_fold(const char *s, size_t len, const char *word)
{
	struct reply_word w = {word, strlen(word)};
	return reply_prefix_fold_n(s, len, &w);
}

bool reply_equal_fold(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && reply_prefix_fold(s, len, word);
}

bool reply_is_signoff(const char *s, size_t len)
{
	trim(&s, &len);
	if (len == 0 || len > 80)
		return false;
	/* "Regards," "Cordialement." "Grüße!" */
	size_t end = len;
	while (end > 0 && (s[end - 1] == ',' || s[end - 1] == '.' || s[end - 1] == '!' ||
			   is_space(s[end - 1])))
		end--;
	/* Only the sign-offs that start with the line's first byte (folded) are compared. */
	pthread_once(&by_lead_once, by_lead_build);
	unsigned char lead_end = reply_fold_lead(s, end);
	for (size_t k = 0; k < lead_count[lead_end]; k++) {
		const struct reply_word *w = &signoffs[by_lead[lead_first[lead_end] + k]];
		if (w->len == end && reply_prefix_fold_n(s, end, w))
			return true;
	}
	/* "Beste Grüße, Anna" */
	unsigned char lead = reply_fold_lead(s, len);
	for (size_t k = 0; k < lead_count[lead]; k++) {
		const struct reply_word *w = &signoffs[by_lead[lead_first[lead] + k]];
		size_t n = w->len;
		if (len > n + 1 && s[n] == ',' && reply_prefix_fold_n(s, len, w)) {
			const char *name = s + n + 1;
			size_t nlen = len - n - 1;
			trim(&name, &nlen);
			if (nlen > 0 && nlen <= SIGNOFF_NAME_MAX && !memchr(name, ':', nlen))
				return true;
		}
	}
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool reply_is_answer_like(const char *s, size_t len)
{
	static const char *const keywords[] = {"idea", "vote", "skip"};
	trim(&s, &len);
	size_t i = 0;
	if (i < len && (s[i] == '#' || s[i] == 'q' || s[i] == 'Q'))
		i++;
	size_t d = i;
	while (i < len && is_digit(s[i]) && i - d < 4)
		i++;
	if (i > d) {
		while (i < len && s[i] == ' ')
			i++;
		if (i < len && s[i] == ':')
			return true;
		if (len - i >= 3 && memcmp(s + i, "\xef\xbc\x9a", 3) == 0) /* full-width ':' */
			return true;
		return false;
	}
	for (size_t k = 0; k < ELEMENTSOF(keywords); k++) {
		size_t n = strlen(keywords[k]);
		if (len > n && strncasecmp(s, keywords[k], n) == 0 &&
		    (s[n] == ':' || s[n] == ' ' || s[n] == '\t'))
			return true;
	}
	return false;
}

bool reply_is_name_line(const char *s, size_t len)
{
	trim(&s, &len);
	return len <= NAME_LINE_MAX && !memchr(s, ':', len) && !reply_is_answer_like(s, len);
}
