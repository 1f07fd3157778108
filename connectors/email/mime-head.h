/* mime-head: the header section of a plain mail read without libetpan (issue 10.8). Most
 * replies are one text part under a header of a few well-formed fields, and libetpan's
 * grammar (every field character by character, an allocation per token, its MIME tree) was
 * half of what mail_parse() cost. This file reads only the forms whose libetpan reading is
 * known exactly (simple mailboxes, message ids, dates, Content-Type …) and says -EAGAIN for
 * anything else, so that the full parse decides: a malformed or unusual header is read by
 * libetpan as before. bench/parse-diff.c checks both readings give the same answers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One field coco may judge (header_is_automatic() in mime.c): name and value as libetpan's
 * optional fields carry them (the value unstructured: leading white space skipped, folding
 * kept, up to the line end). */
struct mail_head_field {
	char *name;
	char *value;
};

struct mail_head {
	char *from_address; /* the first From mailbox's addr-spec, as libetpan gives it */
	char *from_name;    /* its display name (the words joined by one space), or NULL */
	char **to, **cc;    /* addr-specs, NULL-terminated, never NULL */
	char *reply_to;	    /* the first Reply-To addr-spec, or NULL */
	char *subject;	    /* the raw unstructured value, or NULL */
	char *message_id;   /* without <>, or NULL */
	char *in_reply_to;  /* the first id, or NULL */
	char **references;  /* NULL-terminated, never NULL */
	bool has_date;
	int date[7];	 /* day, month, year, hour, minute, second, zone (±hhmm) */
	bool text_html;	 /* Content-Type text/html; else text/plain (or none) */
	bool text_other; /* Content-Type text/<other>: no text part */
	bool multipart;	 /* multipart/alternative (mime-parts.c reads its parts) */
	char *boundary;	 /* its boundary parameter */
	char *charset;	 /* the charset parameter, or NULL */
	bool flowed;	 /* format=flowed (RFC 3676) */
	bool delsp;	 /* delsp=yes */
	int encoding;	 /* MAILMIME_MECHANISM_* */
	struct mail_head_field *fields;
	size_t n_fields;
	size_t body; /* offset of the body in the message */
};

/* Reads the header section of msg[0..len) (a complete one: mail_parse() checked) into *ret.
 * Returns 0, or -EAGAIN when anything in it is not a form read here (ret is then empty). */
int mail_head_read(const char *msg, size_t len, struct mail_head *ret);
void mail_head_done(struct mail_head *h);
/* The header section of a part of a multipart/alternative, p[0..len) its bytes: only
 * Content-Type (a text type, required) and Content-Transfer-Encoding, once each and not folded, then
 * the empty line (body: the offset after it). -EAGAIN for anything else. */
int mail_head_read_part(const char *p, size_t len, struct mail_head *ret);
/* False when no field whose name starts with c says a mail is automatic (Auto-Submitted,
 * List-*, Precedence, X-Autoreply …): header_is_automatic()'s first test. */
bool mail_head_may_be_automatic(char c);
