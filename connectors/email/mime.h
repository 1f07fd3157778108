/* mime: RFC 5322 / MIME messages in and out. Owns parsing one inbound message (libetpan)
 * into an immutable `mail_message` — addresses, decoded subject, threading ids, the loop
 * signals of RFC 3834 and friends, and the best plain-text body converted to UTF-8 — and
 * composing the one outbound message format coco sends (multipart/alternative, UTF-8,
 * quoted-printable, Auto-Submitted), shared by the local connector and SMTP: mime.c parses,
 * mime-write.c composes with libetpan's writers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Larger inbound messages are refused with -EFBIG: nobody answers a survey with 10 MiB. */
#define MAIL_MESSAGE_MAX ((size_t)10 * 1024 * 1024)

typedef struct mail_message mail_message;

/* Parse msg[0..len). Returns 0 and *ret, -EFBIG when len > MAIL_MESSAGE_MAX, -E2BIG when its
 * structure is beyond the bounds of mime-bounds.h (nesting, parts, header sections; checked
 * before parsing, mail_bounds_check() says which), -EBADMSG when the input is not a usable
 * message: unparseable, cut short inside a header line, a NUL byte in the header, or no
 * parseable From mailbox (mail_parse_reason() in mime-reason.h says which). An mbox "From "
 * first line is skipped; a header section running to the end of the input with its last line
 * complete is a message without a body. */
int mail_parse(const char *msg, size_t len, mail_message **ret);
void mail_message_free(mail_message *m);
static inline void mail_message_freep(mail_message **m)
{
	mail_message_free(*m);
}
#define _cleanup_mail_message_ __attribute__((cleanup(mail_message_freep)))

/* Accessors. Strings are UTF-8 and owned by the message. Addresses are bare addr-specs;
 * the From address is lower-cased, To/Cc/Reply-To are kept as written (a reply token in
 * the local part may care about case). Message ids come without the angle brackets. */
const char *mail_from_address(const mail_message *m); /* never NULL */
const char *mail_from_name(const mail_message *m);    /* NULL if none */
char *const *mail_to(const mail_message *m);	      /* NULL-terminated, maybe empty */
char *const *mail_cc(const mail_message *m);	      /* NULL-terminated, maybe empty */
const char *mail_reply_to(const mail_message *m);     /* first Reply-To address or NULL */
const char *mail_subject(const mail_message *m);      /* RFC 2047 decoded, "" if none */
const char *mail_message_id(const mail_message *m);   /* NULL if none */
const char *mail_in_reply_to(const mail_message *m);  /* first id, NULL if none */
char *const *mail_references(const mail_message *m);  /* NULL-terminated, maybe empty */
time_t mail_date(const mail_message *m);	      /* (time_t)-1 if none or invalid */
/* Best text: text/plain (first inline one, through nested multiparts), else text/html
 * turned into plain text without the quoted message (mail_html_reply_to_text()); LF line
 * ends; "" if the message has no text part. */
const char *mail_body(const mail_message *m);
/* For an HTML-only mail, the text of the quote elements mail_body() left out; else "". */
const char *mail_body_cut(const mail_message *m);
/* Sent by a machine, so never to be answered or counted (RFC 3834 §5 and common practice):
 * Auto-Submitted other than "no", (X-)Precedence bulk/list/junk/auto_reply, List-Id or
 * List-Unsubscribe, X-Autoreply/X-Autorespond and similar, X-MS-Exchange-Inbox-Rules-Loop,
 * X-Mailer naming "vacation", Return-Path <>, From MAILER-DAEMON/postmaster, a
 * multipart/report body (bounce, read receipt), or an auto-reply subject ("Out of Office",
 * "Automatic reply", …) together with X-Auto-Response-Suppress. docs/email.md has the why. */
bool mail_is_automatic(const mail_message *m);

/* One outbound message. Strings are UTF-8; none may contain CR or LF except the bodies. */
struct mail_outbound {
	const char *from;	    /* addr-spec, required */
	const char *from_name;	    /* optional display name */
	const char *to;		    /* addr-spec, required */
	const char *to_name;	    /* optional */
	const char *reply_to;	    /* optional addr-spec (carries the reply token) */
	const char *subject;	    /* required, may be "" */
	const char *message_id;	    /* without <>; NULL: generated from the From domain */
	const char *in_reply_to;    /* optional, without <> */
	char *const *references;    /* optional, NULL-terminated, without <> */
	const char *text;	    /* text/plain body, required */
	const char *html;	    /* optional text/html alternative */
	time_t date;		    /* 0: now */
	const char *auto_submitted; /* NULL: "auto-generated" */
	/* RFC 2369 List-Unsubscribe, both optional: an http(s) URL carrying its own opaque
	 * token, and an addr-spec written as <mailto:...>. An https URL adds RFC 8058's
	 * "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (the client POSTs to it). */
	const char *list_unsubscribe;
	const char *list_unsubscribe_mailto;
};

/* Compose o as a CRLF-terminated RFC 5322 message in a malloc'd NUL-terminated string.
 * *ret_message_id (optional) gets the Message-ID used, without <>. Returns 0, or -EINVAL
 * when a required field is missing or a header field holds CR, LF or an unsafe address, id
 * or URI. Header text that is not plain ASCII goes out as RFC 2047 encoded words, bodies as
 * quoted-printable UTF-8 with CRLF line ends (lines of at most 76 characters). */
int mail_build(const struct mail_outbound *o, char **ret, char **ret_message_id);

/* Plain text from HTML (libxml2's HTML parser, mime-html.c): tags dropped, line breaks kept
 * for <br>, <p>, <div> and other blocks, every HTML entity decoded, script/style dropped.
 * Exposed for tests and for connectors that receive HTML. Never fails (aborts on OOM like
 * xmalloc). */
char *mail_html_to_text(const char *html, size_t len);
/* The same for the HTML of a reply: the elements clients put the message replied to in
 * (<blockquote>, Gmail's gmail_quote, Thunderbird's moz-cite-prefix, yahoo_quoted, Outlook
 * web's divRplyFwdMsg and everything after it …) are left out before the text is laid out.
 * When nothing is left outside them, the whole text, as mail_html_to_text(). */
char *mail_html_reply_to_text(const char *html, size_t len);
/* The same, and *ret_cut the text of the quote elements left out ("" when none, or when
 * nothing was outside them and the whole text is returned). */
char *mail_html_reply_split(const char *html, size_t len, char **ret_cut);
