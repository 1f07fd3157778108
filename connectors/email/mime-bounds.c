/* mime-bounds: see mime-bounds.h. One pass over the lines of the message with a stack of the
 * open nesting levels. Wherever this reading may differ from libetpan's it errs towards
 * seeing more structure: a boundary matches as a prefix of a line, every "Content-Type:"
 * line counts, and a header line that libetpan would take for body text still counts. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/mime-bounds.h"

/* RFC 2046 allows 70 characters; a longer boundary is matched on its first BOUNDARY_MAX,
 * which can only make more lines look like boundaries. */
#define BOUNDARY_MAX 200
/* A Content-Type value this long is not real; the rest is not looked at. */
#define CT_VALUE_MAX 2048

enum level_kind { LEVEL_MULTIPART, LEVEL_MESSAGE };

struct level {
	enum level_kind kind;
	bool digest; /* multipart/digest: a part without Content-Type is message/rfc822 */
	size_t blen;
	char boundary[BOUNDARY_MAX];
};

enum ct_kind { CT_OTHER, CT_NONE, CT_MULTIPART, CT_MESSAGE };

struct ct {
	enum ct_kind kind;
	bool digest;
	size_t blen;
	char boundary[BOUNDARY_MAX];
};

struct scan {
	const char *msg;
	struct level levels[MAIL_DEPTH_MAX];
	size_t depth;
	unsigned parts, content_types;
	/* the header section being read */
	bool in_headers;
	size_t header_start;
	unsigned fields;
	bool in_ct, seen_ct;
	char ct_value[CT_VALUE_MAX];
	size_t ct_len;
	char *reason;
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Whitespace and (nested) comments. */
static void skip_cfws(const char **p, const char *e)
{
	while (*p < e) {
		if (is_wsp(**p) || **p == '\r' || **p == '\n') {
			(*p)++;
		} else if (**p == '(') {
			unsigned nest = 0;
			while (*p < e) {
				char c = *(*p)++;
				if (c == '\\' && *p < e)
					(*p)++;
				else if (c == '(')
					nest++;
				else if (c == ')' && --nest == 0)
					break;
			}
		} else
			break;
	}
}

/* RFC 2045 token characters. */
static size_t token_len(const char *p, const char *e)
{
	size_t n = 0;
	while (p + n < e) {
		unsigned char c = (unsigned char)p[n];
		if (c <= ' ' || c >= 0x7f)
			break;
		switch (c) { /* the tspecials: "()<>@,;:\\\"/[]?=" */
		case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
		case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
			return n;
		}
		n++;
	}
	return n;
}

static bool token_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* type "/" subtype *(";" name "=" value), as much of it as reads cleanly. */
static void parse_content_type(const char *v, size_t len, struct ct *ret)
{
	const char *p = v, *e = v + len;
	*ret = (struct ct){.kind = CT_OTHER};

	skip_cfws(&p, e);
	const char *type = p;
	size_t tn = token_len(p, e);
	p += tn;
	skip_cfws(&p, e);
	if (p >= e || *p != '/')
		return;
	p++;
	skip_cfws(&p, e);
	const char *sub = p;
	size_t sn = token_len(p, e);
	p += sn;
	if (token_is(type, tn, "message") && token_is(sub, sn, "rfc822")) {
		ret->kind = CT_MESSAGE;
		return;
	}
	if (!token_is(type, tn, "multipart"))
		return;
	ret->digest = token_is(sub, sn, "digest");

	while (p < e) {
		skip_cfws(&p, e);
		if (p >= e || *p != ';')
			break;
		p++;
		skip_cfws(&p, e);
		const char *name = p;
		size_t nn = token_len(p, e);
		p += nn;
		skip_cfws(&p, e);
		if (p >= e || *p != '=')
			break;
		p++;
		skip_cfws(&p, e);
		char val[BOUNDARY_MAX];
		size_t vn = 0;
		if (p < e && *p == '"') {
			for (p++; p < e && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < e)
					p++;
				if (vn < sizeof(val))
					val[vn++] = *p;
			}
			if (p < e)
				p++;
		} else {
			size_t n = token_len(p, e);
			vn = n < sizeof(val) ? n : sizeof(val);
			memcpy(val, p, vn);
			p += n;
		}
		if (token_is(name, nn, "boundary") && vn > 0 && ret->kind != CT_MULTIPART) {
			ret->kind = CT_MULTIPART;
			memcpy(ret->boundary, val, vn);
			ret->blen = vn;
		}
	}
}

/* The reason names the bound and where the scan stopped, for the operator reading failed/. */
static int refuse(struct scan *s, size_t at, char *what)
{
	s->reason = xasprintf("%s (at byte %zu); refused before parsing", what, at);
	free(what);
	return -E2BIG;
}

static int push(struct scan *s, size_t at, const struct ct *ct)
{
	if (s->depth >= MAIL_DEPTH_MAX)
		return refuse(s, at,
			      xasprintf("MIME parts nested deeper than %d levels", MAIL_DEPTH_MAX));
	struct level *l = &s->levels[s->depth++];
	*l = (struct level){.kind = ct->kind == CT_MULTIPART ? LEVEL_MULTIPART : LEVEL_MESSAGE,
			    .digest = ct->digest,
			    .blen = ct->blen};
	memcpy(l->boundary, ct->boundary, ct->blen);
	return 0;
}

static void start_headers(struct scan *s, size_t at)
{
	s->in_headers = true;
	s->header_start = at;
	s->fields = 0;
	s->in_ct = s->seen_ct = false;
	s->ct_len = 0;
}

/* The blank line after a header section: what follows is a body, a nested message's header
 * section, or the preamble of a multipart. */
static int end_headers(struct scan *s, size_t next)
{
	struct ct ct = {.kind = CT_NONE};
	if (s->seen_ct)
		parse_content_type(s->ct_value, s->ct_len, &ct);
	s->in_headers = false;
	if (ct.kind == CT_NONE && s->depth > 0 && s->levels[s->depth - 1].digest)
		ct.kind = CT_MESSAGE;
	if (ct.kind == CT_MESSAGE) {
		int r = push(s, next, &ct);
		if (r < 0)
			return r;
		start_headers(s, next);
	} else if (ct.kind == CT_MULTIPART)
		return push(s, next, &ct);
	return 0;
}

/* "--boundary" of an open multipart, innermost first: closes what is nested inside it, and
 * opens its next part unless it is the closing "--boundary--". true if it was one. */
static int boundary_line(struct scan *s, const char *l, size_t len, size_t next, bool *ret_was)
{
	*ret_was = false;
	if (len < 2 || l[0] != '-' || l[1] != '-')
		return 0;
	for (size_t k = s->depth; k > 0; k--) {
		struct level *lv = &s->levels[k - 1];
		if (lv->kind != LEVEL_MULTIPART || len - 2 < lv->blen ||
		    memcmp(l + 2, lv->boundary, lv->blen) != 0)
			continue;
		*ret_was = true;
		size_t rest = 2 + lv->blen;
		if (len - rest >= 2 && l[rest] == '-' && l[rest + 1] == '-') {
			s->depth = k - 1; /* closed: what follows is the epilogue */
			s->in_headers = false;
			return 0;
		}
		s->depth = k;
		if (++s->parts > MAIL_PARTS_MAX)
			return refuse(s, next, xasprintf("more than %d MIME parts", MAIL_PARTS_MAX));
		start_headers(s, next);
		return 0;
	}
	return 0;
}

static bool is_content_type_line(const char *l, size_t len)
{
	static const char name[] = "content-type";
	size_t n = sizeof(name) - 1;
	/* every line comes here: its first byte rules out most */
	if (len < n || (l[0] | 0x20) != 'c' || strncasecmp(l, name, n) != 0)
		return false;
	while (n < len && is_wsp(l[n]))
		n++;
	return n < len && l[n] == ':';
}

static int header_line(struct scan *s, const char *l, size_t len, size_t next)
{
	if (next - s->header_start > MAIL_HEADER_MAX)
		return refuse(s, s->header_start,
			      xasprintf("a header section larger than %zu KiB",
					MAIL_HEADER_MAX / 1024));
	if (len == 0)
		return end_headers(s, next);
	if (is_wsp(l[0])) {
		/* folded: more of the field above */
	} else {
		if (++s->fields > MAIL_FIELDS_MAX)
			return refuse(s, s->header_start,
				      xasprintf("more than %d fields in one header section",
						MAIL_FIELDS_MAX));
		s->in_ct = !s->seen_ct && is_content_type_line(l, len);
		if (!s->in_ct)
			return 0;
		s->seen_ct = true;
		const char *colon = memchr(l, ':', len);
		len -= (size_t)(colon + 1 - l);
		l = colon + 1;
	}
	if (s->in_ct) {
		/* unfolded: each line's text and a space, as far as the buffer goes */
		size_t room = sizeof(s->ct_value) - s->ct_len;
		size_t n = len < room ? len : room;
		memcpy(s->ct_value + s->ct_len, l, n);
		s->ct_len += n;
		if (s->ct_len < sizeof(s->ct_value))
			s->ct_value[s->ct_len++] = ' ';
	}
	return 0;
}

int mail_bounds_check(const char *msg, size_t len, char **ret_reason)
{
	/* Every field but the two arrays (5.5 KB, written before they are read: a level when it
	 * is pushed, ct_value up to ct_len): zeroing them cost more than the scan of a small
	 * mail. */
	struct scan s;
	s.msg = msg;
	s.depth = 0;
	s.parts = s.content_types = 0;
	s.reason = NULL;
	int r = 0;

	start_headers(&s, 0);
	for (size_t pos = 0; pos < len && r >= 0;) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t next = nl ? (size_t)(nl - msg) + 1 : len;
		const char *l = msg + pos;
		size_t ll = (nl ? (size_t)(nl - msg) : len) - pos;
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;

		if (is_content_type_line(l, ll) && ++s.content_types > MAIL_CONTENT_TYPES_MAX) {
			r = refuse(&s, pos,
				   xasprintf("more than %d Content-Type fields",
					     MAIL_CONTENT_TYPES_MAX));
			break;
		}
		bool was = false;
		r = boundary_line(&s, l, ll, next, &was);
		if (r >= 0 && !was && s.in_headers)
			r = header_line(&s, l, ll, next);
		pos = next;
	}
	if (r < 0) {
		if (ret_reason)
			*ret_reason = TAKE_PTR(s.reason);
		free(s.reason);
		return r;
	}
	return 0;
}
