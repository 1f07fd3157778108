/* weblink: signed magic links, cookies and CSRF tokens of the web view; see weblink.h. */
#define _GNU_SOURCE
#include "weblink.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static void mac_hex(const secret *k, const char *label, const char *const *parts, size_t n,
                    char ret[WEBLINK_SIG_LEN + 1])
{
	strbuf m = {0};
	strbuf_puts(&m, label);
	strbuf_putc(&m, 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_putc(&m, '/');
		strbuf_puts(&m, parts[i]);
	}
	unsigned char out[32];
	unsigned int len = sizeof out;
	HMAC(EVP_sha256(), k->key, (int)k->len, (const unsigned char *)m.s, m.len, out, &len);
	strbuf_done(&m);
	for (size_t i = 0; i < WEBLINK_SIG_LEN / 2; i++)
		snprintf(ret + 2 * i, 3, "%02x", out[i]);
	ret[WEBLINK_SIG_LEN] = 0;
	OPENSSL_cleanse(out, sizeof out);
}

static bool sig_equal(const char *want, const char *got)
{
	return got && strlen(got) == WEBLINK_SIG_LEN &&
	       CRYPTO_memcmp(want, got, WEBLINK_SIG_LEN) == 0;
}

void weblink_sign(const secret *k, const char *member, const char *campaign, int64_t expiry,
                  char ret[WEBLINK_SIG_LEN + 1])
{
	char e[32];
	snprintf(e, sizeof e, "%" PRId64, expiry);
	const char *parts[] = {member, campaign, e};
	mac_hex(k, "weblink", parts, 3, ret);
}

int weblink_check(const secret *k, const char *member, const char *campaign, int64_t expiry,
                  const char *sig, int64_t now)
{
	if (!member || !campaign || !name_is_safe(member) || !name_is_safe(campaign))
		return -EINVAL;
	char want[WEBLINK_SIG_LEN + 1];
	weblink_sign(k, member, campaign, expiry, want);
	if (!sig_equal(want, sig))
		return -EPERM;
	return now < expiry ? 0 : -ETIME;
}

char *weblink_token(const secret *k, const char *member, const char *campaign, int64_t expiry)
{
	char sig[WEBLINK_SIG_LEN + 1];
	weblink_sign(k, member, campaign, expiry, sig);
	return xasprintf("%s~%" PRId64 "~%s", member, expiry, sig);
}

int weblink_token_check(const secret *k, const char *token, const char *campaign, int64_t now,
                        char **ret_member, int64_t *ret_expiry)
{
	if (!token)
		return -EINVAL;
	const char *a = strchr(token, '~');
	const char *b = a ? strchr(a + 1, '~') : NULL;
	if (!a || !b || a == token || b - a - 1 <= 0 || b - a - 1 > 20)
		return -EINVAL;
	_cleanup_free_ char *member = xstrndup(token, (size_t)(a - token));
	_cleanup_free_ char *e = xstrndup(a + 1, (size_t)(b - a - 1));
	long expiry;
	if (parse_long(e, 0, LONG_MAX, &expiry) < 0)
		return -EINVAL;
	int r = weblink_check(k, member, campaign, expiry, b + 1, now);
	if (r < 0)
		return r;
	*ret_member = TAKE_PTR(member);
	if (ret_expiry)
		*ret_expiry = expiry;
	return 0;
}

void weblink_csrf(const secret *k, const char *member, const char *campaign, const char *round,
                  const char *occurrence, char ret[WEBLINK_SIG_LEN + 1])
{
	const char *parts[] = {member, campaign, round, occurrence};
	mac_hex(k, "webform", parts, 4, ret);
}

bool weblink_csrf_ok(const secret *k, const char *member, const char *campaign,
                     const char *round, const char *occurrence, const char *token)
{
	char want[WEBLINK_SIG_LEN + 1];
	weblink_csrf(k, member, campaign, round, occurrence, want);
	return sig_equal(want, token);
}

char *weblink_query(const secret *k, const char *member, const char *campaign, int64_t expiry,
                    const char *amp)
{
	char sig[WEBLINK_SIG_LEN + 1];
	weblink_sign(k, member, campaign, expiry, sig);
	/* Ids are letters, digits and ._@+=-: only '+', '=' and '@' need escaping in a query. */
	strbuf m = {0};
	for (const char *p = member; *p; p++)
		if (strchr("+=@", *p))
			strbuf_printf(&m, "%%%02X", (unsigned char)*p);
		else
			strbuf_putc(&m, *p);
	_cleanup_free_ char *mq = strbuf_steal(&m);
	return xasprintf("m=%s%se=%" PRId64 "%ss=%s", mq, amp, expiry, amp, sig);
}

char *weblink_url(const secret *k, const char *base, const char *member, const char *campaign,
                  const char *path, int64_t expiry)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	_cleanup_free_ char *q = weblink_query(k, member, campaign, expiry, "&");
	return xasprintf("%.*s/c/%s/%s?%s", (int)n, base, campaign, path ? path : "", q);
}

char *weblink_personalize(const char *text, const char *base, const char *campaign,
                          const char *query, bool html)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	_cleanup_free_ char *prefix = xasprintf("%.*s/c/%s/", (int)n, base, campaign);
	const char *open = html ? "href=\"" : "<";
	char close = html ? '"' : '>';
	size_t lo = strlen(open), lp = strlen(prefix);
	strbuf b = {0};
	const char *p = text;
	for (const char *q; (q = strstr(p, open));) {
		const char *u = q + lo, *e = u;
		bool ours = strncmp(u, prefix, lp) == 0 && !(!html && q > text && q[-1] == '\\');
		if (ours) {
			e = u + lp;
			while (*e && *e != close && !strchr("?<>\"\\ \t\r\n", *e))
				e++;
			ours = *e == close;
		}
		if (!ours) {
			strbuf_add(&b, p, (size_t)(u - p));
			p = u;
			continue;
		}
		strbuf_add(&b, p, (size_t)(e - p));
		strbuf_putc(&b, '?');
		strbuf_puts(&b, query);
		p = e;
	}
	strbuf_puts(&b, p);
	return strbuf_steal(&b);
}
