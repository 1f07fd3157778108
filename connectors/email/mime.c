/* mime: see mime.h. libetpan does the RFC 5322/MIME grammar, transfer decoding and charset
 * conversion; this file picks what coco needs out of its trees. Composing is mime-write.c. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "util.h"
#include "email/mime.h"
#include "email/auto-reply.h"
#include "email/mime-bounds.h"
#include "email/mime-charset.h"
#include "email/mime-flowed.h"
#include "email/mime-head.h"
#include "email/mime-parts.h"
#include "email/mime-raw.h"
#include "email/mime-reason.h"

struct mail_message {
	char *from_address;
	char *from_name;
	char **to;
	char **cc;
	char *reply_to;
	char *subject;
	char *message_id;
	char *in_reply_to;
	char **references;
	time_t date;
	char *body;
	char *body_cut; /* HTML only: the quoted message left out of body */
	bool automatic;
	mail_raw *raw; /* mime-raw.c: every header field, the parts of a multipart/report */
};

void mail_message_free(mail_message *m)
{
	if (!m)
		return;
	free(m->from_address);
	free(m->from_name);
	strv_free(m->to);
	strv_free(m->cc);
	free(m->reply_to);
	free(m->subject);
	free(m->message_id);
	free(m->in_reply_to);
	strv_free(m->references);
	free(m->body);
	free(m->body_cut);
	mail_raw_free(m->raw);
	free(m);
}

static void strv_freep_local(char ***p)
{
	strv_free(*p);
}

static void mailmime_freep(struct mailmime **p)
{
	if (*p)
		mailmime_free(*p);
}

/* Bytes in charset → malloc'd UTF-8. Declared charset first, then UTF-8, then
 * windows-1252 (which maps every byte), as mail clients in the wild require. */
static char *to_utf8_as(const char *s, size_t len, const char *charset,
			char *(*copy)(const char *s, size_t len))
{
	const char *tries[] = {charset, "utf-8", "windows-1252", "iso-8859-1"};

	for (size_t i = 0; i < ELEMENTSOF(tries); i++) {
		const char *cs = tries[i];
		if (!cs)
			continue;
		if (strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
		    strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0) {
			if (mail_utf8_valid(s, len))
				return copy(s, len);
			continue;
		}
		char *out = NULL;
		size_t out_len = 0;
		if (charconv_buffer("utf-8", cs, s, len, &out, &out_len) != MAIL_CHARCONV_NO_ERROR)
			continue;
		char *r = mail_utf8_valid(out, out_len) ? copy(out, out_len) : NULL;
		charconv_buffer_free(out);
		if (r)
			return r;
	}
	return xstrndup("", 0);
}

static char *to_utf8(const char *s, size_t len, const char *charset)
{
	return to_utf8_as(s, len, charset, xstrndup);
}

/* Control characters (an encoded CR LF above all) become spaces: a decoded header value is
 * one line of text, and reused in a reply's Subject it must not be refused as an injection
 * attempt, which would lose the reply for good (issue 8.8). */
static char *decode_words(const char *s);

static char *one_line(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* RFC 2047 words → UTF-8 on one line; undeclared 8-bit bytes are taken as UTF-8 when valid. */
static char *decode_phrase(const char *s)
{
	return one_line(decode_words(s));
}

/* What mailmime_encoded_phrase_parse() makes of a phrase with no encoded word ("=?" nowhere),
 * no CR or LF, and valid UTF-8 (converted from UTF-8 to UTF-8, every word as it is): the words
 * (runs of bytes other than space and tab) joined by one space, and one space more when the
 * phrase ends in white space, or is nothing but. Most names and subjects are such phrases, and
 * libetpan converts each word on its own, through iconv. */
static char *plain_words(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *w = out;
	bool first = true;
	size_t i = 0;
	while (i < len) {
		size_t ws = i;
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len) {
			if (i > ws)
				*w++ = ' ';
			break;
		}
		if (!first && i > ws)
			*w++ = ' ';
		size_t start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		memcpy(w, s + start, i - start);
		w += i - start;
		first = false;
	}
	*w = '\0';
	return out;
}

static char *decode_words(const char *s)
{
	size_t idx = 0, len = strlen(s);
	char *out = NULL;
	bool valid = mail_utf8_valid(s, len);
	if (valid && !strstr(s, "=?") && !strpbrk(s, "\r\n"))
		return plain_words(s, len);
	const char *fallback = valid ? "utf-8" : "windows-1252";

	if (mailmime_encoded_phrase_parse(fallback, s, strlen(s), &idx, "utf-8", &out) ==
		MAILIMF_NO_ERROR &&
	    out) {
		char *r = mail_utf8_valid(out, strlen(out)) ? xstrdup(out)
							    : to_utf8(out, strlen(out), NULL);
		free(out);
		return r;
	}
	free(out);
	return to_utf8(s, strlen(s), NULL);
}

static char *lowercase(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

static void add_mailbox_list(char ***v, struct mailimf_mailbox_list *l)
{
	if (!l)
		return;
	for (clistiter *it = clist_begin(l->mb_list); it; it = clist_next(it)) {
		struct mailimf_mailbox *mb = clist_content(it);
		if (mb->mb_addr_spec && mb->mb_addr_spec[0])
			strv_push(v, xstrdup(mb->mb_addr_spec));
	}
}

static char **address_list(struct mailimf_address_list *l)
{
	char **v = xcalloc(1, sizeof(char *));
	if (!l)
		return v;
	for (clistiter *it = clist_begin(l->ad_list); it; it = clist_next(it)) {
		struct mailimf_address *a = clist_content(it);
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX) {
			if (a->ad_data.ad_mailbox->mb_addr_spec)
				strv_push(&v, xstrdup(a->ad_data.ad_mailbox->mb_addr_spec));
		} else if (a->ad_type == MAILIMF_ADDRESS_GROUP)
			add_mailbox_list(&v, a->ad_data.ad_group->grp_mb_list);
	}
	return v;
}

static char **id_list(clist *l)
{
	char **v = xcalloc(1, sizeof(char *));
	for (clistiter *it = l ? clist_begin(l) : NULL; it; it = clist_next(it))
		strv_push(&v, xstrdup(clist_content(it)));
	return v;
}

static time_t date_to_time(const struct mailimf_date_time *d)
{
	/* The zone is ±hhmm read as a number, so any int can arrive: hours past 99 or minutes
	 * past 59 are no zone, and nothing below may overflow. */
	int zone = d->dt_zone;
	if (d->dt_month < 1 || d->dt_month > 12 || d->dt_day < 1 || d->dt_day > 31 ||
	    d->dt_year < 1970 || d->dt_year > 9999 || d->dt_hour < 0 || d->dt_hour > 23 ||
	    d->dt_min < 0 || d->dt_min > 59 || d->dt_sec < 0 || d->dt_sec > 60 ||
	    zone < -9959 || zone > 9959 || (zone < 0 ? -zone : zone) % 100 > 59)
		return (time_t)-1;
	struct tm tm = {
	    .tm_year = d->dt_year - 1900,
	    .tm_mon = d->dt_month - 1,
	    .tm_mday = d->dt_day,
	    .tm_hour = d->dt_hour,
	    .tm_min = d->dt_min,
	    .tm_sec = d->dt_sec,
	};
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return t;
	int sign = zone < 0 ? -1 : 1;
	zone *= sign;
	return t - (time_t)sign * ((zone / 100) * 3600 + (zone % 100) * 60);
}

static bool value_is(const char *v, const char *word)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(word);
	if (strncasecmp(v, word, n) != 0)
		return false;
	v += n;
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	return *v == '\0' || *v == ';' || *v == '(';
}

/* word occurs in v, ASCII case-insensitively, not inside a longer word. */
static bool has_word(const char *v, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = v; *p; p++) {
		if (strncasecmp(p, word, n) != 0)
			continue;
		bool before = p > v && isalnum((unsigned char)p[-1]);
		bool after = isalnum((unsigned char)p[n]);
		if (!before && !after)
			return true;
	}
	return false;
}

/* The loop-prevention signals of PROTOCOLS.md §3.4, judged field by field so that an
 * explicit "Auto-Submitted: no" is a human. */
static bool header_is_automatic(const char *name, const char *value)
{
	static const char *const markers[] = {
	    "List-Id",	       "List-Unsubscribe", "X-Autoreply",      "X-Autorespond",
	    "X-Autogenerated", "X-AutoReply-From", "X-Mail-Autoreply", "X-Auto-Reply",
	    /* Exchange: made or redirected by an inbox rule, auto-replies among them */
	    "X-MS-Exchange-Inbox-Rules-Loop",
	};

	/* Every name below starts with one of these: the other fields (Received, DKIM-Signature,
	 * Content-Type …) go by at one compare. */
	if (!mail_head_may_be_automatic(name[0]))
		return false;
	if (strcasecmp(name, "Auto-Submitted") == 0)
		return !value_is(value, "no");
	if (strcasecmp(name, "Precedence") == 0 || strcasecmp(name, "X-Precedence") == 0)
		return value_is(value, "bulk") || value_is(value, "list") ||
		       value_is(value, "junk") || value_is(value, "auto_reply");
	if (strcasecmp(name, "X-FC-MachineGenerated") == 0)
		return value_is(value, "true");
	/* libetpan parses Return-Path only among the trace fields at the top; elsewhere it
	 * arrives here as written */
	if (strcasecmp(name, "Return-Path") == 0) {
		const char *p = value + strspn(value, " \t\r\n");
		if (*p++ != '<')
			return false;
		p += strspn(p, " \t\r\n");
		return *p == '>';
	}
	/* vacation(1) and its kin name themselves */
	if (strcasecmp(name, "X-Mailer") == 0)
		return has_word(value, "vacation");
	for (size_t i = 0; i < ELEMENTSOF(markers); i++)
		if (strcasecmp(name, markers[i]) == 0)
			return true;
	return false;
}

static bool from_is_automatic(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);
	return (n == 13 && strncmp(addr, "mailer-daemon", n) == 0) ||
	       (n == 10 && strncmp(addr, "postmaster", n) == 0);
}

static int read_headers(mail_message *m, struct mailimf_fields *fields)
{
	struct mailimf_single_fields f;

	mailimf_single_fields_init(&f, fields);
	if (!f.fld_from || !f.fld_from->frm_mb_list ||
	    clist_isempty(f.fld_from->frm_mb_list->mb_list))
		return -EBADMSG;
	struct mailimf_mailbox *from = clist_content(clist_begin(f.fld_from->frm_mb_list->mb_list));
	if (!from->mb_addr_spec || !strchr(from->mb_addr_spec, '@'))
		return -EBADMSG;
	m->from_address = lowercase(xstrdup(from->mb_addr_spec));
	if (from->mb_display_name && from->mb_display_name[0])
		m->from_name = decode_phrase(from->mb_display_name);

	m->to = address_list(f.fld_to ? f.fld_to->to_addr_list : NULL);
	m->cc = address_list(f.fld_cc ? f.fld_cc->cc_addr_list : NULL);
	if (f.fld_reply_to) {
		_cleanup_(strv_freep_local) char **rt = address_list(f.fld_reply_to->rt_addr_list);
		if (rt[0])
			m->reply_to = xstrdup(rt[0]);
	}
	m->subject = f.fld_subject && f.fld_subject->sbj_value
			 ? decode_phrase(f.fld_subject->sbj_value)
			 : xstrdup("");
	if (f.fld_message_id && f.fld_message_id->mid_value)
		m->message_id = xstrdup(f.fld_message_id->mid_value);
	if (f.fld_in_reply_to && f.fld_in_reply_to->mid_list &&
	    !clist_isempty(f.fld_in_reply_to->mid_list))
		m->in_reply_to = xstrdup(clist_content(clist_begin(f.fld_in_reply_to->mid_list)));
	m->references = id_list(f.fld_references ? f.fld_references->mid_list : NULL);
	m->date = f.fld_orig_date && f.fld_orig_date->dt_date_time
		      ? date_to_time(f.fld_orig_date->dt_date_time)
		      : (time_t)-1;

	m->automatic = from_is_automatic(m->from_address);
	bool hint = false;
	for (clistiter *it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
		struct mailimf_field *fld = clist_content(it);
		if (fld->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD) {
			struct mailimf_optional_field *o = fld->fld_data.fld_optional_field;
			if (o->fld_name && o->fld_value &&
			    header_is_automatic(o->fld_name, o->fld_value))
				m->automatic = true;
			if (o->fld_name && strcasecmp(o->fld_name, "X-Auto-Response-Suppress") == 0)
				hint = true;
		} else if (fld->fld_type == MAILIMF_FIELD_RETURN_PATH) {
			struct mailimf_path *p = fld->fld_data.fld_return_path->ret_path;
			if (!p || !p->pt_addr_spec || !p->pt_addr_spec[0])
				m->automatic = true;
		}
	}
	/* An auto-reply subject alone is no proof: a person can write "Automatic reply:" too.
	 * With X-Auto-Response-Suppress (Exchange puts it on its out-of-office replies, Outlook
	 * on a person's mail too) it is. */
	if (hint && mail_subject_is_auto_reply(m->subject))
		m->automatic = true;
	return 0;
}

/* read_headers() for a header section mime-head.c read: the same answers. */
static void read_head(mail_message *m, struct mail_head *h)
{
	m->from_address = lowercase(TAKE_PTR(h->from_address));
	if (h->from_name && h->from_name[0])
		m->from_name = decode_phrase(h->from_name);
	m->to = TAKE_PTR(h->to);
	m->cc = TAKE_PTR(h->cc);
	m->reply_to = TAKE_PTR(h->reply_to);
	m->subject = h->subject ? decode_phrase(h->subject) : xstrdup("");
	m->message_id = TAKE_PTR(h->message_id);
	m->in_reply_to = TAKE_PTR(h->in_reply_to);
	m->references = TAKE_PTR(h->references);
	if (h->has_date) {
		struct mailimf_date_time d = {
		    .dt_day = h->date[0],
		    .dt_month = h->date[1],
		    .dt_year = h->date[2],
		    .dt_hour = h->date[3],
		    .dt_min = h->date[4],
		    .dt_sec = h->date[5],
		    .dt_zone = h->date[6],
		};
		m->date = date_to_time(&d);
	} else
		m->date = (time_t)-1;

	m->automatic = from_is_automatic(m->from_address);
	bool hint = false;
	for (size_t i = 0; i < h->n_fields; i++) {
		if (header_is_automatic(h->fields[i].name, h->fields[i].value))
			m->automatic = true;
		if (strcasecmp(h->fields[i].name, "X-Auto-Response-Suppress") == 0)
			hint = true;
	}
	if (hint && mail_subject_is_auto_reply(m->subject))
		m->automatic = true;
}

enum text_kind { TEXT_NONE, TEXT_PLAIN, TEXT_HTML };

static enum text_kind part_kind(struct mailmime *mm)
{
	struct mailmime_content *ct = mm->mm_content_type;

	/* Attachments are never the answer, even when they are text. */
	if (mm->mm_mime_fields)
		for (clistiter *it = clist_begin(mm->mm_mime_fields->fld_list); it;
		     it = clist_next(it)) {
			struct mailmime_field *f = clist_content(it);
			if (f->fld_type == MAILMIME_FIELD_DISPOSITION &&
			    f->fld_data.fld_disposition && f->fld_data.fld_disposition->dsp_type &&
			    f->fld_data.fld_disposition->dsp_type->dsp_type ==
				MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
				return TEXT_NONE;
		}
	if (!ct)
		return TEXT_PLAIN; /* RFC 2045 default */
	if (!ct->ct_type || ct->ct_type->tp_type != MAILMIME_TYPE_DISCRETE_TYPE ||
	    !ct->ct_type->tp_data.tp_discrete_type ||
	    ct->ct_type->tp_data.tp_discrete_type->dt_type != MAILMIME_DISCRETE_TYPE_TEXT)
		return TEXT_NONE;
	if (!ct->ct_subtype || strcasecmp(ct->ct_subtype, "plain") == 0)
		return TEXT_PLAIN;
	if (strcasecmp(ct->ct_subtype, "html") == 0)
		return TEXT_HTML;
	return TEXT_NONE;
}

/* First inline text/plain and first text/html part, depth first. Attached messages
 * (message/rfc822) are someone else's words and are not entered. */
static void find_text(struct mailmime *mm, struct mailmime **plain, struct mailmime **html,
		      unsigned depth)
{
	if (!mm || depth > 32)
		return;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE: {
		enum text_kind k = part_kind(mm);
		if (k == TEXT_PLAIN && !*plain)
			*plain = mm;
		else if (k == TEXT_HTML && !*html)
			*html = mm;
		break;
	}
	case MAILMIME_MULTIPLE:
		for (clistiter *it = clist_begin(mm->mm_data.mm_multipart.mm_mp_list); it;
		     it = clist_next(it))
			find_text(clist_content(it), plain, html, depth + 1);
		break;
	default:
		break;
	}
}

/* xstrndup(s, len) with LF line ends, in one pass: a CR before LF is left out as the copy is
 * made, a run of bytes at a time (a CR alone stays). */
static char *copy_lf(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	if (nul)
		len = (size_t)(nul - s);
	char *d = xmalloc(len + 1);
	size_t w = 0;
	for (size_t r = 0; r < len;) {
		const char *cr = memchr(s + r, '\r', len - r);
		size_t k = cr ? (size_t)(cr - s) : len;
		memcpy(d + w, s + r, k - r);
		w += k - r;
		if (!cr)
			break;
		if (!(k + 1 < len && s[k + 1] == '\n'))
			d[w++] = '\r';
		r = k + 1;
	}
	d[w] = '\0';
	return d;
}

/* out[0..len) without its NUL bytes (they would truncate every string downstream), in
 * place; the new length. */
static size_t drop_nuls(char *out, size_t len)
{
	const char *nul = len ? memchr(out, '\0', len) : NULL;
	size_t w = nul ? (size_t)(nul - out) : len;
	for (size_t r = w; r < len; r++)
		if (out[r] != '\0')
			out[w++] = out[r];
	return w;
}

/* How a text/plain part's lines are to be read (RFC 3676): fixed, or flowed with or without
 * DelSp. */
enum text_flow { FLOW_FIXED, FLOW_FLOWED, FLOW_FLOWED_DELSP };

/* A part's bytes data[0..len), transfer-decoded (enc: MAILMIME_MECHANISM_*), without NUL
 * bytes, in UTF-8 from charset (NULL: none declared), with LF line ends, the soft line breaks
 * of a flowed part joined. */
static int decode_bytes(const char *data, size_t len, int enc, const char *charset,
			enum text_flow flow, char **ret)
{
	char *s;
	if (enc != MAILMIME_MECHANISM_BASE64 && enc != MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		/* What mailmime_part_parse() gives for 7bit, 8bit, binary and any other token
		 * (mailmime_binary_body_parse()): the bytes as they are, as a copy in a string it
		 * registers (libetpan 1.9.4; a later one drops a final line end: the differential
		 * check, bench/parse-diff.c, says which). Taken here without the copy. */
		if (len > 0 && memchr(data, '\0', len)) {
			_cleanup_free_ char *copy = xmalloc(len);
			memcpy(copy, data, len);
			s = to_utf8_as(copy, drop_nuls(copy, len), charset, copy_lf);
		} else
			s = to_utf8_as(data, len, charset, copy_lf);
	} else {
		size_t idx = 0, out_len = 0;
		char *out = NULL;
		if (mailmime_part_parse(data, len, &idx, enc, &out, &out_len) != MAILIMF_NO_ERROR)
			return -EBADMSG;
		s = to_utf8_as(out, drop_nuls(out, out_len), charset, copy_lf);
		mailmime_decoded_part_free(out);
	}
	/* (copy_lf() has made the line ends LF) */
	if (flow != FLOW_FIXED)
		s[mail_flowed_unwrap(s, strlen(s), flow == FLOW_FLOWED_DELSP)] = '\0';
	*ret = s;
	return 0;
}

/* The value of a Content-Type's first parameter called name, or NULL. */
static const char *content_param(struct mailmime_content *ct, const char *name)
{
	if (!ct || !ct->ct_parameters)
		return NULL;
	for (clistiter *it = clist_begin(ct->ct_parameters); it; it = clist_next(it)) {
		struct mailmime_parameter *p = clist_content(it);
		if (p && p->pa_name && strcasecmp(p->pa_name, name) == 0)
			return p->pa_value;
	}
	return NULL;
}

/* text/plain only: an HTML part has no flowed lines. */
static enum text_flow part_flow(struct mailmime *mm)
{
	const char *format = content_param(mm->mm_content_type, "format");
	if (!format || strcasecmp(format, "flowed") != 0)
		return FLOW_FIXED;
	const char *delsp = content_param(mm->mm_content_type, "delsp");
	return delsp && strcasecmp(delsp, "yes") == 0 ? FLOW_FLOWED_DELSP : FLOW_FLOWED;
}

static enum text_flow head_flow(const struct mail_head *h)
{
	if (!h->flowed)
		return FLOW_FIXED;
	return h->delsp ? FLOW_FLOWED_DELSP : FLOW_FLOWED;
}

static int decode_part(struct mailmime *mm, enum text_flow flow, char **ret)
{
	struct mailmime_data *d = mm->mm_data.mm_single;
	if (!d || d->dt_type != MAILMIME_DATA_TEXT)
		return -EBADMSG;
	return decode_bytes(
	    d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length,
	    d->dt_encoded ? d->dt_encoding : MAILMIME_MECHANISM_8BIT,
	    mm->mm_content_type ? mailmime_content_charset_get(mm->mm_content_type) : NULL, flow,
	    ret);
}

/* An '=' this near the end of the input makes libetpan read past it; so many NUL bytes are
 * put after such input (see mail_parse()). */
#define QP_TAIL 4

/* The header section must end in an empty line: otherwise the message was cut short. */
static bool header_complete(const char *msg, size_t len)
{
	for (const char *p = msg, *end = msg + len; (p = memchr(p, '\n', (size_t)(end - p))); p++) {
		size_t i = (size_t)(p - msg);
		if ((i + 1 < len && msg[i + 1] == '\n') ||
		    (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n'))
			return !memchr(msg, '\0', i); /* and no NUL before it */
	}
	return false;
}

/* What every parsed message gets after its headers and text (r: how decoding the text went;
 * body: libetpan's tree of the body, NULL when mime-head.c read a single text part). */
static mail_message *finish_message(mail_message *m, int r, const char *msg, size_t len,
				    struct mailmime *body)
{
	if (r < 0 || !m->body) {
		free(m->body);
		m->body = xstrdup("");
	}
	/* Without any header: the subject, and a text that is only an absence notice. */
	if (!m->automatic && mail_text_is_out_of_office(m->subject, m->body))
		m->automatic = true;
	m->raw = mail_raw_new(msg, len, body);
	/* a delivery report, read receipt or abuse report (RFC 6522) */
	if (mail_raw_is_report(m->raw))
		m->automatic = true;
	return m;
}

int mail_parse(const char *msg, size_t len, mail_message **ret)
{
	if (!msg || !ret)
		return -EINVAL;
	if (len > MAIL_MESSAGE_MAX)
		return -EFBIG;
	mail_charset_init();
	size_t skip = mail_mbox_line(msg, len);
	msg += skip;
	len -= skip;
	/* A header section that runs to the end of the input, its last line complete, is a
	 * message without a body (RFC 5322 §3.5: the body and the empty line before it are
	 * optional). Input that stops inside a line is cut short and still refused. */
	_cleanup_free_ char *whole = NULL;
	bool complete = len > 0 && header_complete(msg, len);
	if (len > 0 && !complete && msg[len - 1] == '\n' && !memchr(msg, '\0', len)) {
		bool crlf = len >= 2 && msg[len - 2] == '\r';
		whole = xmalloc(len + 3);
		memcpy(whole, msg, len);
		memcpy(whole + len, crlf ? "\r\n" : "\n", crlf ? 3 : 2);
		len += crlf ? 2 : 1;
		msg = whole;
		complete = header_complete(msg, len);
	}
	if (!complete)
		return -EBADMSG;
	/* libetpan recurses per nesting level: never hand it more than it survives. */
	int r = mail_bounds_check(msg, len, NULL);
	if (r < 0)
		return r;
	/* libetpan's quoted-printable decoder reads past the end of a part that ends in '='
	 * and one more byte ("=3", "= "): when the input ends so, libetpan gets a copy with NUL
	 * bytes after it (found by fuzz_mime; fuzz/regressions/mime/qp-equals-at-end). */
	_cleanup_free_ char *padded = NULL;
	size_t tail = len < QP_TAIL ? len : QP_TAIL;
	if (memchr(msg + len - tail, '=', tail)) {
		padded = xmalloc(len + QP_TAIL);
		memcpy(padded, msg, len);
		memset(padded + len, 0, QP_TAIL);
		msg = padded;
	}

	/* A plain mail whose header mime-head.c reads, or a multipart/alternative whose parts
	 * mime-parts.c reads as well: no libetpan tree. */
	struct mail_head head;
	struct mail_part part_plain = {}, part_html = {};
	bool fast = mail_head_read(msg, len, &head) >= 0;
	if (fast && head.multipart &&
	    (head.encoding == MAILMIME_MECHANISM_BASE64 ||
	     head.encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE ||
	     mail_parts_read(msg + head.body, len - head.body, head.boundary, &part_plain, &part_html) < 0)) {
		mail_head_done(&head);
		fast = false;
	}
	if (fast) {
		mail_message *m = xcalloc(1, sizeof(*m));
		read_head(m, &head);
		r = 0;
		if (head.multipart) {
			/* as find_text() picks them from libetpan's tree */
			if (part_plain.data)
				r = decode_bytes(part_plain.data, part_plain.len, part_plain.head.encoding,
						 part_plain.head.charset, head_flow(&part_plain.head), &m->body);
			else if (part_html.data) {
				_cleanup_free_ char *text = NULL;
				r = decode_bytes(part_html.data, part_html.len, part_html.head.encoding,
						 part_html.head.charset, FLOW_FIXED, &text);
				if (r >= 0)
					m->body = mail_html_reply_split(text, strlen(text),
									&m->body_cut);
			}
			mail_part_done(&part_plain);
			mail_part_done(&part_html);
		} else if (head.text_html) {
			_cleanup_free_ char *text = NULL;
			r = decode_bytes(msg + head.body, len - head.body, head.encoding,
					 head.charset, FLOW_FIXED, &text);
			if (r >= 0)
				m->body = mail_html_reply_split(text, strlen(text), &m->body_cut);
		} else if (!head.text_other)
			r = decode_bytes(msg + head.body, len - head.body, head.encoding,
					 head.charset, head_flow(&head), &m->body);
		mail_head_done(&head);
		*ret = finish_message(m, r, msg, len, NULL);
		return 0;
	}

	_cleanup_(mailmime_freep) struct mailmime *mime = NULL;
	size_t idx = 0;
	if (mailmime_parse(msg, len, &idx, &mime) != MAILIMF_NO_ERROR || !mime ||
	    mime->mm_type != MAILMIME_MESSAGE || !mime->mm_data.mm_message.mm_fields)
		return -EBADMSG;

	mail_message *m = xcalloc(1, sizeof(*m));
	r = read_headers(m, mime->mm_data.mm_message.mm_fields);
	if (r < 0) {
		mail_message_free(m);
		return r;
	}

	struct mailmime *plain = NULL, *html = NULL;
	find_text(mime->mm_data.mm_message.mm_msg_mime, &plain, &html, 0);
	if (plain)
		r = decode_part(plain, part_flow(plain), &m->body);
	else if (html) {
		_cleanup_free_ char *h = NULL;
		r = decode_part(html, FLOW_FIXED, &h);
		if (r >= 0)
			m->body = mail_html_reply_split(h, strlen(h), &m->body_cut);
	}
	*ret = finish_message(m, r, msg, len, mime->mm_data.mm_message.mm_msg_mime);
	return 0;
}

const char *mail_from_address(const mail_message *m)
{
	return m->from_address;
}
const char *mail_from_name(const mail_message *m)
{
	return m->from_name;
}
char *const *mail_to(const mail_message *m)
{
	return m->to;
}
char *const *mail_cc(const mail_message *m)
{
	return m->cc;
}
const char *mail_reply_to(const mail_message *m)
{
	return m->reply_to;
}
const char *mail_subject(const mail_message *m)
{
	return m->subject;
}
const char *mail_message_id(const mail_message *m)
{
	return m->message_id;
}
const char *mail_in_reply_to(const mail_message *m)
{
	return m->in_reply_to;
}
char *const *mail_references(const mail_message *m)
{
	return m->references;
}
time_t mail_date(const mail_message *m)
{
	return m->date;
}
const char *mail_body(const mail_message *m)
{
	return m->body;
}
const char *mail_body_cut(const mail_message *m)
{
	return m->body_cut ? m->body_cut : "";
}
bool mail_is_automatic(const mail_message *m)
{
	return m->automatic;
}
/* For mime-raw.c, which owns what m->raw holds. */
const mail_raw *mail_message_raw(const mail_message *m)
{
	return m->raw;
}
