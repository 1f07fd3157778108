/* email/address: how the email channel carries the core's conversation references in mail.
 * The core issues an opaque reference for each (campaign, round, member) — today 16
 * lower-case base32 characters — and knows nothing of addresses. Here it becomes:
 *   Reply-To:    <local+REF@domain>   (local@domain is [Mail] From=)
 *   Message-ID:  <ID.REF@domain>      (ID: the spool id, unique per message)
 * and comes back from a reply's recipients (accepted with or without the '+', which some
 * servers strip), or, for a client that ignored Reply-To, from the In-Reply-To or References
 * naming one of our Message-IDs. Case is ignored: mail systems may change it.
 *
 * The core's unsubscribe token (channel_msg.unsubscribe, same form) travels as
 *   List-Unsubscribe: <mailto:local+unsub-TOKEN@domain>  (and <BASE/u/TOKEN>, email.c)
 * and a mail to that address (with or without the '+') is a request to unsubscribe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define EMAIL_REF_LEN 16

/* "local+REF@domain" / "ID.REF@domain" (no angle brackets). Malloc'd; NULL if from has no
 * '@' or ref is not a reference. */
char *email_reply_to(const char *from, const char *ref);
char *email_message_id(const char *from, const char *id, const char *ref);

/* "local+unsub-TOKEN@domain", malloc'd; NULL as email_reply_to(). */
char *email_unsub_address(const char *from, const char *token);
/* The unsubscribe token of the first of `to` (NULL-terminated) that is an unsubscribe
 * address at from's domain, lower-case, into ret. Returns 1 if found, 0 if not. */
int email_find_unsub(const char *from, const char *const *to, char ret[EMAIL_REF_LEN + 1]);
/* True if s is a reference or a token: EMAIL_REF_LEN base32 characters (either case). */
bool email_is_ref(const char *s);

/* The reference a reply carries (lower-case, EMAIL_REF_LEN characters + NUL in ret), looked
 * for in `to` (NULL-terminated recipient addresses) first, then in in_reply_to, then in
 * references (NULL-terminated, may be NULL). Only addresses and ids at from's domain count.
 * Returns 1 if found, 0 if not. */
int email_find_ref(const char *from, const char *const *to, const char *in_reply_to,
                   const char *const *references, char ret[EMAIL_REF_LEN + 1]);
