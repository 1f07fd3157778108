/* mime-write: mail_build() (mime.h), the one outbound message format coco sends, written by
 * libetpan's IMF and MIME writers. This file checks what the caller gives (no CR or LF in a
 * header, addresses and message ids that need no quoting), turns it into libetpan's trees
 * (mailimf_fields, a mailmime message with one text/plain part or a multipart/alternative
 * of text/plain and text/html) and lets mailmime_write_mem() do the rest: quoted-printable
 * bodies, header folding, quoting of display names, the multipart boundary.
 *
 * libetpan has no RFC 2047 encoder: an encoded word is put together here around libetpan's
 * base64 writer (mailmime_base64_write_mem).
 *
 * Allocation failures inside libetpan abort, as xmalloc does (util.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <libetpan/libetpan.h>

#include "util.h"
#include "email/mime.h"

static void *need(void *p)
{
	if (!p)
		abort();
	return p;
}

static void need_ok(int r)
{
	if (r != MAILIMF_NO_ERROR)
		abort(); /* only MAILIMF_ERROR_MEMORY can come out of the builders used here */
}

static bool is_ascii_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80 || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* An addr-spec we are willing to put between angle brackets. */
static bool addr_safe(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;
	if (!at || at == a || !at[1] || strlen(a) > 254)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[],;:\"\\", *p))
			return false;
	return true;
}

static bool id_safe(const char *id)
{
	if (!id || !*id || strlen(id) > 250)
		return false;
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '<' ||
		    *p == '>')
			return false;
	return true;
}

/* A URI for List-Unsubscribe (RFC 2369): inside <>, in a comma-separated list. */
static bool uri_safe(const char *u)
{
	if (!u || !*u || strlen(u) > 900)
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>,\"", *p))
			return false;
	return true;
}

static bool header_safe(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

static bool valid(const struct mail_outbound *o)
{
	if (!addr_safe(o->from) || !addr_safe(o->to) || !o->subject || !o->text)
		return false;
	if ((o->reply_to && !addr_safe(o->reply_to)) || !header_safe(o->from_name) ||
	    !header_safe(o->to_name) || !header_safe(o->subject) ||
	    (o->message_id && !id_safe(o->message_id)) ||
	    (o->in_reply_to && !id_safe(o->in_reply_to)) || !header_safe(o->auto_submitted) ||
	    (o->auto_submitted && !is_ascii_text(o->auto_submitted)))
		return false;
	for (char *const *r = o->references; r && *r; r++)
		if (!id_safe(*r))
			return false;
	if (o->list_unsubscribe &&
	    (!uri_safe(o->list_unsubscribe) || (strncmp(o->list_unsubscribe, "https://", 8) != 0 &&
						strncmp(o->list_unsubscribe, "http://", 7) != 0)))
		return false;
	if (o->list_unsubscribe_mailto && !addr_safe(o->list_unsubscribe_mailto))
		return false;
	return true;
}

/* RFC 2047 B-encoded words, "=?utf-8?B?...?=" separated by spaces, each of at most 30 bytes
 * of text (a 52-character word: it fits on a line after "Subject: " once the writer folds
 * at the spaces), cut between UTF-8 characters. libetpan's base64 writer does the base64. */
static char *encoded_words(const char *s)
{
	MMAPString *out = need(mmap_string_new(""));
	MMAPString *b64 = need(mmap_string_new(""));
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = len - i > 30 ? 30 : len - i;
		while (n > 0 && i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		if (n == 0)
			n = len - i > 30 ? 30 : len - i;
		int col = 0;
		need(mmap_string_truncate(b64, 0));
		need_ok(mailmime_base64_write_mem(b64, &col, s + i, n));
		/* the writer ends its output with a line break */
		while (b64->len > 0 && (b64->str[b64->len - 1] == '\n' || b64->str[b64->len - 1] == '\r'))
			need(mmap_string_truncate(b64, b64->len - 1));
		if (i > 0)
			need(mmap_string_append_c(out, ' '));
		need(mmap_string_append(out, "=?utf-8?B?"));
		need(mmap_string_append_len(out, b64->str, b64->len));
		need(mmap_string_append(out, "?="));
		i += n;
	}
	char *r = xstrndup(out->str, out->len);
	mmap_string_free(b64);
	mmap_string_free(out);
	return r;
}

/* Unstructured text (Subject): as is when it is plain ASCII that cannot be mistaken for an
 * encoded word, else encoded words. */
static char *header_text(const char *s)
{
	if (is_ascii_text(s) && !strstr(s, "=?") && strlen(s) < 900)
		return xstrdup(s);
	return encoded_words(s);
}

/* A display name, or NULL for none. ASCII names go to libetpan as they are (its writer
 * quotes them when they need it); others as encoded words, which are atoms to it. */
static char *display_name(const char *name)
{
	if (!name || !*name)
		return NULL;
	if (is_ascii_text(name) && !strstr(name, "=?") && strlen(name) < 200)
		return xstrdup(name);
	return encoded_words(name);
}

static struct mailimf_mailbox *mailbox(const char *name, const char *addr)
{
	return need(mailimf_mailbox_new(display_name(name), xstrdup(addr)));
}

static struct mailimf_address_list *address_list(const char *name, const char *addr)
{
	struct mailimf_address_list *l = need(mailimf_address_list_new_empty());
	struct mailimf_address *a =
	    need(mailimf_address_new(MAILIMF_ADDRESS_MAILBOX, mailbox(name, addr), NULL));
	need_ok(mailimf_address_list_add(l, a));
	return l;
}

static clist *id_list(char *const *ids)
{
	clist *l = need(clist_new());
	for (; ids && *ids; ids++)
		if (clist_append(l, xstrdup(*ids)) < 0)
			abort();
	return l;
}

/* 16 random bytes as hex. The bytes come from a per-thread pool filled by one getrandom()
 * of 4 KiB, not a system call for each mail (a burst of confirmations made one per message,
 * and one more per boundary). cocod never forks, so no two processes share a pool. */
static void random_hex(char out[static 33])
{
	static const char hex[] = "0123456789abcdef";
	static _Thread_local unsigned char pool[4096];
	static _Thread_local size_t used = sizeof(pool);
	if (used + 16 > sizeof(pool)) {
		size_t got = 0;
		while (got < sizeof(pool)) {
			ssize_t n = getrandom(pool + got, sizeof(pool) - got, 0);
			if (n > 0)
				got += (size_t)n;
			else if (errno != EINTR)
				abort(); /* no entropy is as fatal as no memory */
		}
		used = 0;
	}
	const unsigned char *r = pool + used;
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	/* Handed out once: never again in memory a core dump could show. */
	explicit_bzero(pool + used, 16);
	used += 16;
	out[32] = '\0';
}

static void add_field(struct mailimf_fields *f, const char *name, const char *value)
{
	need_ok(mailimf_fields_add(f, need(mailimf_field_new_custom(xstrdup(name), xstrdup(value)))));
}

static struct mailimf_fields *header_fields(const struct mail_outbound *o, const char *mid)
{
	struct tm tm;
	time_t t = o->date ? o->date : time(NULL);
	gmtime_r(&t, &tm);
	struct mailimf_date_time *date = need(mailimf_date_time_new(
	    tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, 0));

	struct mailimf_mailbox_list *from = need(mailimf_mailbox_list_new_empty());
	need_ok(mailimf_mailbox_list_add(from, mailbox(o->from_name, o->from)));

	struct mailimf_fields *f = need(mailimf_fields_new_with_data_all(
	    date, from, NULL, o->reply_to ? address_list(NULL, o->reply_to) : NULL,
	    address_list(o->to_name, o->to), NULL, NULL, xstrdup(mid),
	    o->in_reply_to ? id_list((char *const[]){(char *)o->in_reply_to, NULL}) : NULL,
	    o->references && o->references[0] ? id_list(o->references) : NULL,
	    header_text(o->subject)));

	add_field(f, "Auto-Submitted", o->auto_submitted ? o->auto_submitted : "auto-generated");
	add_field(f, "X-Auto-Response-Suppress", "All");
	if (o->list_unsubscribe || o->list_unsubscribe_mailto) {
		strbuf v = {};
		if (o->list_unsubscribe)
			strbuf_printf(&v, "<%s>", o->list_unsubscribe);
		if (o->list_unsubscribe_mailto)
			strbuf_printf(&v, "%s<mailto:%s>", v.len ? ", " : "",
				      o->list_unsubscribe_mailto);
		_cleanup_free_ char *value = strbuf_steal(&v);
		add_field(f, "List-Unsubscribe", value);
		/* RFC 8058: one-click needs an HTTPS URI to POST to */
		if (o->list_unsubscribe && strncmp(o->list_unsubscribe, "https://", 8) == 0)
			add_field(f, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
	}
	return f;
}

/* Bodies in LF form: the quoted-printable writer turns each LF into CRLF. */
static char *lf_only(const char *s)
{
	char *r = xstrdup(s);
	size_t w = 0;
	for (size_t i = 0; r[i]; i++)
		if (!(r[i] == '\r' && r[i + 1] == '\n'))
			r[w++] = r[i];
	r[w] = '\0';
	return r;
}

/* libetpan 1.9.4's quoted-printable writer writes a space or tab that ends a line twice
 * ("a \n" comes out as "a =20"), and leaves one that ends the text unencoded, where a
 * transport may strip it. A body with such a line goes out as base64 instead. */
static bool trailing_blank(const char *s)
{
	for (; *s; s++)
		if ((*s == ' ' || *s == '\t') && (s[1] == '\n' || s[1] == '\0'))
			return true;
	return false;
}

/* A text/SUBTYPE; charset=utf-8 part, quoted-printable (or base64, above). body must
 * outlive the part (libetpan keeps the pointer, not a copy). */
static struct mailmime *text_part(const char *type, const char *body)
{
	struct mailmime_content *ct = need(mailmime_content_new_with_str(type));
	struct mailmime_parameter *cs =
	    need(mailmime_param_new_with_data((char *)"charset", (char *)"utf-8"));
	if (clist_append(ct->ct_parameters, cs) < 0)
		abort();
	struct mailmime_fields *mf =
	    need(mailmime_fields_new_encoding(trailing_blank(body) ? MAILMIME_MECHANISM_BASE64
							   : MAILMIME_MECHANISM_QUOTED_PRINTABLE));
	struct mailmime *part = need(mailmime_new_empty(ct, mf));
	need_ok(mailmime_set_body_text(part, (char *)body, strlen(body)));
	return part;
}

/* multipart/alternative with a boundary of ours, set up as mailmime_multiple_new() does
 * but without libetpan's boundary (mailmime_new_empty() makes one for every multipart): that one is made of the time, the pid (a getpid() and an
 * uname() for each mail) and an unseeded random(), which others can guess. "=_" never
 * occurs in quoted-printable or base64 text, so no body can hold this boundary. */
static struct mailmime *alternative(void)
{
	char rnd[33];
	random_hex(rnd);
	struct mailmime_content *ct = need(mailmime_content_new_with_str("multipart/alternative"));
	_cleanup_free_ char *boundary = xasprintf("=_coco_%s", rnd);
	struct mailmime_parameter *b = need(mailmime_param_new_with_data((char *)"boundary", boundary));
	if (clist_append(ct->ct_parameters, b) < 0)
		abort();
	/* mailmime_new_empty() would add a boundary of its own: the multipart is made whole. */
	return need(mailmime_new(MAILMIME_MULTIPLE, NULL, 0, need(mailmime_fields_new_empty()), ct,
				 NULL, NULL, NULL, need(clist_new()), NULL, NULL));
}

int mail_build(const struct mail_outbound *o, char **ret, char **ret_message_id)
{
	if (!o || !ret || !valid(o))
		return -EINVAL;

	_cleanup_free_ char *mid = NULL;
	if (o->message_id)
		mid = xstrdup(o->message_id);
	else {
		char rnd[33];
		random_hex(rnd);
		mid = xasprintf("%s.coco@%s", rnd, strrchr(o->from, '@') + 1);
	}
	_cleanup_free_ char *text = lf_only(o->text);
	_cleanup_free_ char *html = o->html ? lf_only(o->html) : NULL;

	struct mailmime *body;
	if (!html)
		body = text_part("text/plain", text);
	else {
		body = alternative();
		need_ok(mailmime_smart_add_part(body, text_part("text/plain", text)));
		need_ok(mailmime_smart_add_part(body, text_part("text/html", html)));
	}
	/* the message: its IMF fields, MIME-Version, and the body's own MIME fields */
	struct mailmime *msg = need(mailmime_new_message_data(NULL));
	mailmime_set_imf_fields(msg, header_fields(o, mid));
	need_ok(mailmime_add_part(msg, body));

	MMAPString *out = need(mmap_string_new(""));
	int col = 0;
	need_ok(mailmime_write_mem(out, &col, msg));
	/* A body without a final line break ends the message without one: a message is lines. */
	if (out->len < 2 || memcmp(out->str + out->len - 2, "\r\n", 2) != 0)
		need(mmap_string_append(out, "\r\n"));
	char *r = xstrndup(out->str, out->len);
	mmap_string_free(out);
	mailmime_free(msg);

	if (ret_message_id)
		*ret_message_id = TAKE_PTR(mid);
	*ret = r;
	return 0;
}
