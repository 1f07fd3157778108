/* email/address: see address.h. */
#define _GNU_SOURCE
#include "email/address.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static bool is_ref_char(char ch)
{
	ch = (char)(ch | 0x20);
	return (ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7');
}

static bool is_ref(const char *s, size_t len)
{
	if (len != EMAIL_REF_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_ref_char(s[i]))
			return false;
	return true;
}

char *email_reply_to(const char *from, const char *ref)
{
	const char *at = from ? strrchr(from, '@') : NULL;
	if (!at || !ref || !is_ref(ref, strlen(ref)))
		return NULL;
	return xasprintf("%.*s+%s%s", (int)(at - from), from, ref, at);
}

static void bare(const char *s, const char **start, const char **end);
static bool ends_in_ref(const char *s, const char *e, const char *domain, char sep, bool sep_optional,
                        char ret[EMAIL_REF_LEN + 1]);

bool email_is_ref(const char *s)
{
	return s && is_ref(s, strlen(s));
}

#define UNSUB_PREFIX "unsub-"

char *email_unsub_address(const char *from, const char *token)
{
	const char *at = from ? strrchr(from, '@') : NULL;
	if (!at || !email_is_ref(token))
		return NULL;
	return xasprintf("%.*s+" UNSUB_PREFIX "%s%s", (int)(at - from), from, token, at);
}

int email_find_unsub(const char *from, const char *const *to, char ret[EMAIL_REF_LEN + 1])
{
	const char *at = from ? strrchr(from, '@') : NULL;
	if (!at)
		return 0;
	const size_t plen = sizeof(UNSUB_PREFIX) - 1;
	for (size_t i = 0; to && to[i]; i++) {
		const char *s, *e;
		bare(to[i], &s, &e);
		/* local+unsub-TOKEN@domain, or localunsub-TOKEN@domain from a server that strips
		 * the '+'. */
		char tok[EMAIL_REF_LEN + 1];
		if (!ends_in_ref(s, e, at + 1, '-', false, tok))
			continue;
		const char *tat = memrchr(s, '@', (size_t)(e - s));
		const char *ref = tat - EMAIL_REF_LEN;
		if (ref - s < (ptrdiff_t)plen ||
		    strncasecmp(ref - plen, UNSUB_PREFIX, plen) != 0)
			continue;
		memcpy(ret, tok, sizeof tok);
		return 1;
	}
	return 0;
}

char *email_message_id(const char *from, const char *id, const char *ref)
{
	const char *at = from ? strrchr(from, '@') : NULL;
	if (!at || !id || !ref || !is_ref(ref, strlen(ref)))
		return NULL;
	return xasprintf("%s.%s%s", id, ref, at);
}

static void take(const char *s, char ret[EMAIL_REF_LEN + 1])
{
	for (size_t i = 0; i < EMAIL_REF_LEN; i++)
		ret[i] = (char)(s[i] | 0x20);
	ret[EMAIL_REF_LEN] = 0;
}

/* s without angle brackets or blanks around it, as [start, end). */
static void bare(const char *s, const char **start, const char **end)
{
	while (*s == ' ' || *s == '\t' || *s == '<')
		s++;
	const char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '>'))
		e--;
	*start = s;
	*end = e;
}

/* The domain after the last '@' of [s, e) is ours, and the part before it ends in a
 * reference; sep, if not 0, must precede it (or the reference may start the part). */
static bool ends_in_ref(const char *s, const char *e, const char *domain, char sep, bool sep_optional,
                        char ret[EMAIL_REF_LEN + 1])
{
	const char *at = memrchr(s, '@', (size_t)(e - s));
	if (!at || (size_t)(e - at - 1) != strlen(domain) ||
	    strncasecmp(at + 1, domain, (size_t)(e - at - 1)) != 0)
		return false;
	if (at - s < EMAIL_REF_LEN)
		return false;
	const char *ref = at - EMAIL_REF_LEN;
	if (!is_ref(ref, EMAIL_REF_LEN))
		return false;
	if (ref > s && ref[-1] != sep && !sep_optional)
		return false;
	take(ref, ret);
	return true;
}

int email_find_ref(const char *from, const char *const *to, const char *in_reply_to,
                   const char *const *references, char ret[EMAIL_REF_LEN + 1])
{
	const char *at = from ? strrchr(from, '@') : NULL;
	if (!at)
		return 0;
	const char *domain = at + 1;
	const char *s, *e;
	for (size_t i = 0; to && to[i]; i++) {
		bare(to[i], &s, &e);
		/* local+REF@domain; some servers strip the '+': localREF@domain. */
		if (ends_in_ref(s, e, domain, '+', true, ret))
			return 1;
	}
	if (in_reply_to) {
		bare(in_reply_to, &s, &e);
		if (ends_in_ref(s, e, domain, '.', false, ret))
			return 1;
	}
	for (size_t i = 0; references && references[i]; i++) {
		bare(references[i], &s, &e);
		if (ends_in_ref(s, e, domain, '.', false, ret))
			return 1;
	}
	return 0;
}
