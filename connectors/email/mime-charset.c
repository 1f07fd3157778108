/* email/mime-charset: see mime-charset.h. */
#define _GNU_SOURCE
#include "email/mime-charset.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#define CACHE_SLOTS 8
#define NAME_MAX_LEN 40

/* Process-wide, under `lock`: an iconv_t is one conversion's state, so a conversion holds
 * the lock while it runs (conversions are short; mail is parsed on the loop thread). */
static struct slot {
	char to[NAME_MAX_LEN], from[NAME_MAX_LEN];
	iconv_t cd;
	bool used;
} cache[CACHE_SLOTS];
static unsigned next_evict;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static iconv_t get_locked(const char *to, const char *from)
{
	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].used && strcasecmp(cache[i].to, to) == 0 &&
		    strcasecmp(cache[i].from, from) == 0)
			return cache[i].cd;
	iconv_t cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return cd;
	/* Names longer than a slot holds are converted without being kept. */
	if (strlen(to) >= NAME_MAX_LEN || strlen(from) >= NAME_MAX_LEN)
		return cd;
	struct slot *s = &cache[next_evict++ % CACHE_SLOTS];
	if (s->used)
		iconv_close(s->cd);
	*s = (struct slot){.cd = cd, .used = true};
	strcpy(s->to, to);
	strcpy(s->from, from);
	return cd;
}

static bool cached_locked(iconv_t cd)
{
	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].used && cache[i].cd == cd)
			return true;
	return false;
}

bool mail_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		/* ASCII, eight bytes at a time */
		uint64_t word;
		while (len - i >= 8 && (memcpy(&word, u + i, 8), !(word & 0x8080808080808080ull)))
			i += 8;
		if (i >= len)
			break;
		unsigned char c = u[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return false;
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool name_is(const char *name, const char *a, const char *b)
{
	return strcasecmp(name, a) == 0 || strcasecmp(name, b) == 0;
}

/* What iconv makes of s[0..length) from fromcode to tocode when that is a copy: UTF-8 to
 * UTF-8 of valid UTF-8 (glibc's decoder refuses what mail_utf8_valid() refuses: overlong
 * forms, surrogates, past U+10FFFF), ASCII to UTF-8 of bytes below 0x80. libetpan converts
 * every encoded word, and every Content-Type value, so: most conversions it asks for. */
static bool conversion_is_copy(const char *tocode, const char *fromcode, const char *s,
			       size_t length)
{
	if (!name_is(tocode, "utf-8", "utf8"))
		return false;
	if (name_is(fromcode, "utf-8", "utf8"))
		return mail_utf8_valid(s, length);
	if (name_is(fromcode, "us-ascii", "ascii")) {
		for (size_t i = 0; i < length; i++)
			if ((unsigned char)s[i] >= 0x80)
				return false;
		return true;
	}
	return false;
}

/* libetpan's hook: result has *result_len bytes of room (it gives 6 per input byte). */
static int convert(const char *tocode, const char *fromcode, const char *str, size_t length,
                   char *result, size_t *result_len)
{
	if (!tocode || !fromcode)
		return MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET;
	if (length <= *result_len && conversion_is_copy(tocode, fromcode, str, length)) {
		memcpy(result, str, length);
		*result_len = length;
		return MAIL_CHARCONV_NO_ERROR;
	}
	pthread_mutex_lock(&lock);
	iconv_t cd = get_locked(tocode, fromcode);
	if (cd == (iconv_t)-1) {
		pthread_mutex_unlock(&lock);
		return MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET;
	}
	(void)iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	char *in = (char *)str, *out = result;
	size_t in_left = length, out_left = *result_len;
	int res = MAIL_CHARCONV_NO_ERROR;
	while (in_left > 0) {
		if (iconv(cd, &in, &in_left, &out, &out_left) != (size_t)-1)
			continue;
		if ((errno == EILSEQ || errno == EINVAL) && out_left > 0) {
			/* As libetpan does: the byte that cannot be converted becomes '?'. */
			*out++ = '?';
			out_left--;
			in++;
			in_left--;
			continue;
		}
		res = errno == E2BIG ? MAIL_CHARCONV_ERROR_MEMORY : MAIL_CHARCONV_ERROR_CONV;
		break;
	}
	if (res == MAIL_CHARCONV_NO_ERROR &&
	    iconv(cd, NULL, NULL, &out, &out_left) == (size_t)-1)
		res = MAIL_CHARCONV_ERROR_MEMORY;
	if (!cached_locked(cd))
		iconv_close(cd);
	pthread_mutex_unlock(&lock);
	*result_len = (size_t)(out - result);
	return res;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void install(void)
{
	extended_charconv = convert;
}

void mail_charset_init(void)
{
	pthread_once(&once, install);
}
