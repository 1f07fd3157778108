/* weblink: the signed tokens of the web view. A magic link names a member, a campaign and
 * an expiry (unix seconds) and carries SIG = HMAC-SHA256(server key, "weblink\0" member "/"
 * campaign "/" expiry), the first 16 bytes as lower-case hex. The same token rides in the
 * cookie after the first visit. A form carries a CSRF token bound to member, campaign, round
 * and occurrence the same way (label "webform"). Checks are in constant time
 * (CRYPTO_memcmp). Ids are config ids (name_is_safe()), so '/' cannot be forged into them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "secret.h"

#define WEBLINK_SIG_LEN 32 /* hex characters */

/* The signature of (member, campaign, expiry). */
void weblink_sign(const secret *k, const char *member, const char *campaign, int64_t expiry,
                  char ret[WEBLINK_SIG_LEN + 1]);
/* 0 if sig is the signature and now < expiry; -EPERM for a wrong signature, -ETIME for a
 * valid one past its expiry; -EINVAL for ids that are not safe names. */
int weblink_check(const secret *k, const char *member, const char *campaign, int64_t expiry,
                  const char *sig, int64_t now);

/* The magic link: BASE/c/CAMPAIGN/[PATH]?m=MEMBER&e=EXPIRY&s=SIG (base without its trailing
 * '/'; path NULL or like "ROUND/form"), malloc'd. */
char *weblink_url(const secret *k, const char *base, const char *member, const char *campaign,
                  const char *path, int64_t expiry);

/* The signed query of a link: "m=MEMBER&e=EXPIRY&s=SIG", with amp between the fields ("&",
 * or "&amp;" for an HTML attribute); malloc'd. */
char *weblink_query(const secret *k, const char *member, const char *campaign, int64_t expiry,
                    const char *amp);

/* A text sent to many (a digest) made one member's: every link in it to a page of the
 * campaign's web view (BASE/c/CAMPAIGN/…) that has no query yet gets "?" query (made for the
 * member with weblink_query()). Links are Markdown autolinks <URL> (not after a backslash),
 * or with html the attributes href="URL". Member-written text makes neither: md_text()
 * escapes '<' and '>', HTML templates escape '"'. Malloc'd. */
char *weblink_personalize(const char *text, const char *base, const char *campaign,
                          const char *query, bool html);

/* The cookie form: "MEMBER~EXPIRY~SIG" ('~' is in no id); malloc'd. */
char *weblink_token(const secret *k, const char *member, const char *campaign, int64_t expiry);
/* Splits a cookie token (member malloc'd) and checks it as weblink_check() does. */
int weblink_token_check(const secret *k, const char *token, const char *campaign, int64_t now,
                        char **ret_member, int64_t *ret_expiry);

/* The CSRF token of a form: member, campaign, round, occurrence. */
void weblink_csrf(const secret *k, const char *member, const char *campaign, const char *round,
                  const char *occurrence, char ret[WEBLINK_SIG_LEN + 1]);
bool weblink_csrf_ok(const secret *k, const char *member, const char *campaign,
                     const char *round, const char *occurrence, const char *token);
