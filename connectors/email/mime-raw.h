/* mime-raw: what a parsed message keeps for the modules that read what mime.c does not
 * interpret (auth-results.c, bounce.c): every field of the message's own header section as
 * written, unfolded, and the direct parts of a top-level multipart/report (RFC 6522: delivery
 * status notifications, read receipts, abuse reports). mail_parse() builds it; the accessors
 * below take the message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "email/mime.h"

/* Every field named `name` (ASCII case-insensitive) in the message's own header section, top
 * to bottom, unfolded (CR and LF removed, the folding white space kept) and without leading or
 * trailing white space. A malloc'd NULL-terminated array of malloc'd strings, maybe empty
 * (never NULL); free it with strv_free(). Every field counts, those libetpan interprets (From,
 * Content-Type) too; a line that is no field (no colon, or white space inside the name, as in
 * an mbox "From " line) is skipped with its continuation lines. */
char **mail_header_values(const mail_message *m, const char *name);
/* How many fields named `name` the header section has. */
size_t mail_header_count(const mail_message *m, const char *name);

/* One direct part of a top-level multipart/report. */
struct mail_report_part {
	const char *type; /* "type/subtype", lower-case; "text/plain" when the part has none */
	/* Transfer-decoded (base64, quoted-printable), NUL bytes dropped, NUL-terminated, not
	 * converted from its charset. For a message/rfc822 part only its header section (up to
	 * and without the empty line); for a multipart part "" (its subparts are not kept). */
	const char *body;
	size_t len;
};

/* The report-type parameter, lower-case ("delivery-status", "disposition-notification",
 * "feedback-report"; "" when missing) if the message's body is a multipart/report, else NULL.
 * A report nested deeper (inside multipart/mixed, or a forwarded message/rfc822) is someone
 * else's report, not this message's, and does not count. */
const char *mail_report_type(const mail_message *m);
/* The report's direct parts in order; 0 and *ret = NULL when the message is no report. */
size_t mail_report_parts(const mail_message *m, const struct mail_report_part **ret);

/* ---- for mime.c only ---- */
struct mailmime;
typedef struct mail_raw mail_raw;
/* msg[0..len) is the message given to mail_parse(), body libetpan's tree of its body
 * (mm_msg_mime of the top-level message; may be NULL). Never fails (aborts on OOM). */
mail_raw *mail_raw_new(const char *msg, size_t len, struct mailmime *body);
void mail_raw_free(mail_raw *r);
bool mail_raw_is_report(const mail_raw *r);
/* Defined in mime.c, next to the struct. */
const mail_raw *mail_message_raw(const mail_message *m);
