/* mime-raw: see mime-raw.h. The header section is read again here from the bytes, one pass,
 * rather than from libetpan's fields: libetpan keeps the raw value only of the fields it does
 * not know, and a check such as "exactly one From" needs them all. */
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "util.h"
#include "email/mime-raw.h"

/* A field's name and value, NUL-terminated, at these offsets of mail_raw.text. */
struct raw_field {
	size_t name;
	size_t value;
};

struct mail_raw {
	/* every field's name and value one after the other: one allocation for all of them,
	 * not two a field (a mail has 10 to 40 fields, and most are never asked for) */
	char *text;
	struct raw_field *fields;
	size_t n_fields;
	char *report_type; /* NULL: the body is no multipart/report */
	struct mail_report_part *parts;
	size_t n_parts;
};

void mail_raw_free(mail_raw *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->fields);
	free(r->report_type);
	for (size_t i = 0; i < r->n_parts; i++) {
		free((char *)r->parts[i].type);
		free((char *)r->parts[i].body);
	}
	free(r->parts);
	free(r);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char *ascii_lower(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* RFC 5322 field-name: printable ASCII but ':' (obsolete syntax allows WSP before the colon,
 * which the caller has trimmed). */
static bool name_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == ':')
			return false;
	return true;
}

/* The value under way is text->s[start..): WSP trimmed at both ends, then NUL-terminated in
 * the arena. */
static void finish_field(strbuf *text, size_t start)
{
	size_t a = start, b = text->len;
	while (a < b && is_wsp(text->s[a]))
		a++;
	while (b > a && is_wsp(text->s[b - 1]))
		b--;
	memmove(text->s + start, text->s + a, b - a);
	text->len = start + (b - a);
	strbuf_putc(text, '\0');
}

/* p[0..n) without its CR bytes, a run at a time. */
static void add_without_cr(strbuf *b, const char *p, size_t n)
{
	while (n > 0) {
		const char *cr = memchr(p, '\r', n);
		size_t k = cr ? (size_t)(cr - p) : n;
		strbuf_add(b, p, k);
		if (!cr)
			break;
		p += k + 1;
		n -= k + 1;
	}
}

/* One pass over the lines up to the first empty one. Each line is copied once, so the time
 * is linear in the header section (bounded by mail_bounds_check() before this runs). The
 * names and values go into one arena (r->text); the fields hold offsets, as it grows. */
static void read_fields(mail_raw *r, const char *msg, size_t len)
{
	/* a header section is usually under 1 KiB and never more than the message: sized so, the
	 * arena grows only for a long one */
	size_t first = len + 1 < 1024 ? len + 1 : 1024;
	strbuf text = {.s = xmalloc(first), .cap = first};
	text.s[0] = '\0';
	bool in_field = false; /* the last line opened a field: continuation lines belong to it */
	size_t cap = 0, value = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - msg) : len;
		size_t n = end - i;
		if (n > 0 && msg[i + n - 1] == '\r')
			n--;
		const char *line = msg + i;
		i = nl ? end + 1 : len;
		if (n == 0)
			break; /* the end of the header section */
		if (is_wsp(line[0])) {
			if (in_field)
				add_without_cr(&text, line, n);
			continue;
		}
		if (in_field)
			finish_field(&text, value);
		in_field = false;
		const char *colon = memchr(line, ':', n);
		if (!colon)
			continue;
		size_t nlen = (size_t)(colon - line);
		while (nlen > 0 && is_wsp(line[nlen - 1]))
			nlen--;
		if (!name_valid(line, nlen))
			continue;
		if (r->n_fields == cap) {
			cap = cap ? 2 * cap : 16;
			r->fields = xrealloc(r->fields, cap * sizeof(*r->fields));
		}
		size_t name = text.len;
		strbuf_add(&text, line, nlen);
		strbuf_putc(&text, '\0');
		value = text.len;
		r->fields[r->n_fields++] = (struct raw_field){.name = name, .value = value};
		in_field = true;
		add_without_cr(&text, colon + 1, (size_t)(line + n - (colon + 1)));
	}
	if (in_field)
		finish_field(&text, value);
	r->text = text.s;
}

static const char *discrete_name(const struct mailmime_discrete_type *d)
{
	switch (d->dt_type) {
	case MAILMIME_DISCRETE_TYPE_TEXT:
		return "text";
	case MAILMIME_DISCRETE_TYPE_IMAGE:
		return "image";
	case MAILMIME_DISCRETE_TYPE_AUDIO:
		return "audio";
	case MAILMIME_DISCRETE_TYPE_VIDEO:
		return "video";
	case MAILMIME_DISCRETE_TYPE_APPLICATION:
		return "application";
	case MAILMIME_DISCRETE_TYPE_EXTENSION:
		return d->dt_extension;
	default:
		return NULL;
	}
}

static const char *composite_name(const struct mailmime_composite_type *c)
{
	switch (c->ct_type) {
	case MAILMIME_COMPOSITE_TYPE_MESSAGE:
		return "message";
	case MAILMIME_COMPOSITE_TYPE_MULTIPART:
		return "multipart";
	case MAILMIME_COMPOSITE_TYPE_EXTENSION:
		return c->ct_token;
	default:
		return NULL;
	}
}

/* "type/subtype", lower-case; RFC 2045's default when there is no Content-Type. */
static char *content_type_string(const struct mailmime_content *ct)
{
	const char *type = NULL;
	if (!ct || !ct->ct_type)
		return xstrdup("text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && ct->ct_type->tp_data.tp_discrete_type)
		type = discrete_name(ct->ct_type->tp_data.tp_discrete_type);
	else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
		 ct->ct_type->tp_data.tp_composite_type)
		type = composite_name(ct->ct_type->tp_data.tp_composite_type);
	return ascii_lower(xasprintf("%s/%s", type ? type : "", ct->ct_subtype ? ct->ct_subtype : ""));
}

/* Transfer-decoded bytes of d, NUL bytes dropped; "" when there is nothing to decode. */
static char *decode_data(const struct mailmime_data *d, size_t *ret_len)
{
	*ret_len = 0;
	if (!d || d->dt_type != MAILMIME_DATA_TEXT || !d->dt_data.dt_text.dt_data)
		return xstrdup("");
	int enc = d->dt_encoded ? d->dt_encoding : MAILMIME_MECHANISM_8BIT;
	size_t idx = 0, out_len = 0;
	char *out = NULL;
	if (mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length, &idx, enc,
				&out, &out_len) != MAILIMF_NO_ERROR || !out)
		return xstrdup("");
	char *s = xmalloc(out_len + 1);
	size_t w = 0;
	for (size_t k = 0; k < out_len; k++)
		if (out[k] != '\0')
			s[w++] = out[k];
	s[w] = '\0';
	mailmime_decoded_part_free(out);
	*ret_len = w;
	return s;
}

/* Cut s at its first empty line: the header section of an enclosed message. */
static void keep_header_section(char *s, size_t *len)
{
	for (size_t i = 0; i < *len; i++) {
		if (s[i] != '\n')
			continue;
		size_t j = i + 1;
		if (j < *len && s[j] == '\r')
			j++;
		if (j < *len && s[j] == '\n') {
			s[i + 1] = '\0';
			*len = i + 1;
			return;
		}
	}
}

static void read_report(mail_raw *r, struct mailmime *body)
{
	if (!body || body->mm_type != MAILMIME_MULTIPLE)
		return;
	_cleanup_free_ char *type = content_type_string(body->mm_content_type);
	if (!STREQ(type, "multipart/report"))
		return;
	char *rt = mailmime_content_param_get(body->mm_content_type, (char *)"report-type");
	r->report_type = ascii_lower(xstrdup(rt ? rt : ""));

	clist *l = body->mm_data.mm_multipart.mm_mp_list;
	size_t n = l ? (size_t)clist_count(l) : 0;
	r->parts = xcalloc(n ? n : 1, sizeof(*r->parts));
	for (clistiter *it = l ? clist_begin(l) : NULL; it; it = clist_next(it)) {
		struct mailmime *p = clist_content(it);
		struct mail_report_part *rp = &r->parts[r->n_parts++];
		rp->type = content_type_string(p->mm_content_type);
		char *s;
		size_t slen = 0;
		if (p->mm_type == MAILMIME_SINGLE)
			s = decode_data(p->mm_data.mm_single, &slen);
		else if (p->mm_type == MAILMIME_MESSAGE) {
			s = decode_data(p->mm_body, &slen);
			keep_header_section(s, &slen);
		} else
			s = xstrdup("");
		rp->body = s;
		rp->len = slen;
	}
}

mail_raw *mail_raw_new(const char *msg, size_t len, struct mailmime *body)
{
	mail_raw *r = xcalloc(1, sizeof(*r));
	read_fields(r, msg, len);
	read_report(r, body);
	return r;
}

bool mail_raw_is_report(const mail_raw *r)
{
	return r && r->report_type;
}

char **mail_header_values(const mail_message *m, const char *name)
{
	const mail_raw *r = mail_message_raw(m);
	char **v = xcalloc(1, sizeof(char *));
	for (size_t i = 0; r && i < r->n_fields; i++)
		if (strcasecmp(r->text + r->fields[i].name, name) == 0)
			strv_push(&v, xstrdup(r->text + r->fields[i].value));
	return v;
}

size_t mail_header_count(const mail_message *m, const char *name)
{
	const mail_raw *r = mail_message_raw(m);
	size_t n = 0;
	for (size_t i = 0; r && i < r->n_fields; i++)
		if (strcasecmp(r->text + r->fields[i].name, name) == 0)
			n++;
	return n;
}

const char *mail_report_type(const mail_message *m)
{
	const mail_raw *r = mail_message_raw(m);
	return r ? r->report_type : NULL;
}

size_t mail_report_parts(const mail_message *m, const struct mail_report_part **ret)
{
	const mail_raw *r = mail_message_raw(m);
	*ret = r && r->n_parts ? r->parts : NULL;
	return r ? r->n_parts : 0;
}
