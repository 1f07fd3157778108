/* reply-signoff: closing formulas in the languages coco's members write, and the tests that
 * keep an answer line out of whatever the trimmer cuts. See reply-private.h. */
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/reply-private.h"

/* A name after a sign-off on the same line ("Beste Grüße, Anna") is at most this long. */
#define SIGNOFF_NAME_MAX 40
#define NAME_LINE_MAX 80

/* Lower case where it matters: strncasecmp folds ASCII only, so each non-ASCII formula is
 * listed as people type it (capitalised first letter is ASCII in most of them). The
 * spellings with "ss" and "ue" are how Swiss and ASCII-only keyboards write ß and ü. */
static const char *const signoffs[] = {
    /* English */
    "best regards", "kind regards", "warm regards", "regards", "best wishes", "all the best",
    "yours sincerely", "sincerely", "cheers",
    /* German */
    "mit freundlichen grüßen", "mit freundlichen grüssen", "mit freundlichen gruessen",
    "mit freundlichem gruß", "mit freundlichem gruss", "freundliche grüße",
    "freundliche grüsse", "beste grüße", "beste grüsse", "beste gruesse", "viele grüße",
    "viele grüsse", "viele gruesse", "liebe grüße", "liebe grüsse", "herzliche grüße",
    "herzliche grüsse", "schöne grüße", "schöne grüsse", "grüße", "grüsse", "gruß", "gruss",
    "mfg",
    /* French */
    "cordialement", "bien cordialement", "très cordialement", "bien à vous", "bien a vous",
    "amicalement", "salutations", "meilleures salutations", "sincères salutations",
    /* Finnish */
    "ystävällisin terveisin", "ystävällisesti", "parhain terveisin", "terveisin",
    "terveiset", "terv.",
    /* Swedish */
    "med vänliga hälsningar", "med vänlig hälsning", "vänliga hälsningar", "vänlig hälsning",
    "bästa hälsningar", "hälsningar", "mvh",
    /* Russian (Cyrillic capitals are not folded: both forms) */
    "с уважением", "С уважением", "с наилучшими пожеланиями", "С наилучшими пожеланиями",
    "всего доброго", "Всего доброго",
};

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

/* Case-insensitive in ASCII, bytewise elsewhere. */
static bool equal_ci(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
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
	for (size_t i = 0; i < ELEMENTSOF(signoffs); i++) {
		size_t n = strlen(signoffs[i]);
		if (equal_ci(s, end, signoffs[i]))
			return true;
		/* "Beste Grüße, Anna" */
		if (len > n + 1 && strncasecmp(s, signoffs[i], n) == 0 && s[n] == ',') {
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
