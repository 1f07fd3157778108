/* mime-head: see mime-head.h. Each reader below accepts a narrow form and answers what
 * libetpan's grammar (mailimf.c, mailmime.c of libetpan 1.9.4) answers for it; the comments
 * say which of its rules make the answer so. Whatever else arrives is -EAGAIN. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "util.h"
#include "email/mime-head.h"

/* Fields a simple mail has; more go to libetpan. */
#define HEAD_FIELDS_MAX 64

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A display name's word: characters libetpan takes in an atom (every byte but white space,
 * controls and <>,":;), narrowed to those that can start nothing else (no "=?" encoded
 * word, no quoted string, no comment). */
static bool is_word_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '\'' || c == '.' || c == '_' || c >= 0x80;
}

/* An addr-spec's local part and domain: no white space (libetpan drops it), none of the
 * bytes its addr-spec stops at (> , CR LF ( ) : ;). */
static bool is_local_char(unsigned char c)
{
	if (is_alnum(c))
		return true;
	switch (c) { /* a switch, not strchr(): this runs for every byte of every address */
	case '-':
	case '.':
	case '_':
	case '+':
	case '=':
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '/':
	case '^':
	case '`':
	case '{':
	case '|':
	case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

static bool is_domain_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '.';
}

/* A message id's character inside <>: printable ASCII but <>()",\ and white space. */
static bool is_id_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '<':
	case '>':
	case '(':
	case ')':
	case '"':
	case ',':
	case '\\':
		return false;
	default:
		return true;
	}
}

/* RFC 2045 token: printable ASCII but tspecials. */
static bool is_token_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(':
	case ')':
	case '<':
	case '>':
	case '@':
	case ',':
	case ';':
	case ':':
	case '\\':
	case '"':
	case '/':
	case '[':
	case ']':
	case '?':
	case '=':
		return false;
	default:
		return true;
	}
}

/* An RFC 2047 encoded word "=?charset?Q?text?=" (or B) at v[i..n), as a display name's word:
 * its end, or 0. libetpan (mailimf_fws_atom_for_word_parse()) takes such a word as it is
 * written, from "=?" to "?=", where the text may hold any byte but '?': narrowed here to a
 * charset of letters, digits and "-_." and a text of printable ASCII but '?', so that the
 * word ends at the first "?=" as libetpan's scan does. */
static size_t encoded_word_end(const char *v, size_t i, size_t n)
{
	if (n - i < 8 || v[i] != '=' || v[i + 1] != '?')
		return 0;
	size_t j = i + 2, cs = j;
	while (j < n &&
	       (is_alnum((unsigned char)v[j]) || v[j] == '-' || v[j] == '_' || v[j] == '.'))
		j++;
	if (j == cs || j + 3 >= n || v[j] != '?' || !strchr("QqBb", v[j + 1]) || v[j + 2] != '?')
		return 0;
	j += 3;
	size_t t = j;
	while (j < n && v[j] > 0x20 && v[j] < 0x7f && v[j] != '?')
		j++;
	if (j == t || j + 1 >= n || v[j] != '?' || v[j + 1] != '=')
		return 0;
	return j + 2;
}

/* A quoted string at v[i..n) as a display name's word: its end, or 0; *ret_word gets its text
 * as libetpan gives it (mailimf_fws_quoted_string_parse(): the quotes dropped, each run of
 * white space one space). Narrowed to printable ASCII and white space inside: no backslash
 * (quoted pairs), no 8-bit byte, no line end, not empty. */
static size_t quoted_word_end(const char *v, size_t i, size_t n, strbuf *ret_word)
{
	if (v[i] != '"')
		return 0;
	size_t j = i + 1;
	while (j < n && v[j] != '"') {
		unsigned char c = (unsigned char)v[j];
		if (is_wsp(v[j])) {
			while (j < n && is_wsp(v[j]))
				j++;
			strbuf_putc(ret_word, ' ');
			continue;
		}
		if (c < 0x21 || c > 0x7e || c == '\\')
			break;
		strbuf_putc(ret_word, (char)c);
		j++;
	}
	if (j >= n || v[j] != '"' || j == i + 1)
		return 0; /* (the caller gives up on the name, and ret_word with it) */
	return j + 1;
}

/* local@domain at v[i..n): its end, or 0. */
static size_t addr_end(const char *v, size_t i, size_t n)
{
	size_t j = i;
	while (j < n && is_local_char((unsigned char)v[j]))
		j++;
	if (j == i || j >= n || v[j] != '@')
		return 0;
	size_t d = ++j;
	while (j < n && is_domain_char((unsigned char)v[j]))
		j++;
	return j > d ? j : 0;
}

/* A list of mailboxes, each "local@domain", "<local@domain>" or "Some Name <local@domain>",
 * separated by commas (libetpan: mailimf_mailbox_parse(), name-addr tried first: a phrase of
 * atoms joined by one space whatever white space parts them, then <addr-spec>; else an
 * addr-spec, read up to the next comma, with its white space dropped). Pushes every
 * addr-spec; *ret_name (optional) gets the first one's display name. */
static int read_mailboxes(const char *v, size_t n, char ***addrs, char **ret_name)
{
	size_t i = 0;
	for (bool first = true;; first = false) {
		while (i < n && is_wsp(v[i]))
			i++;
		if (i == n)
			return -EAGAIN; /* empty, or a comma at the end */
		size_t a, e;
		_cleanup_free_ char *name = NULL;
		if (v[i] == '<') {
			a = i + 1;
			e = addr_end(v, a, n);
			if (!e || e >= n || v[e] != '>')
				return -EAGAIN;
			i = e + 1;
		} else if ((e = addr_end(v, i, n)) && (e == n || is_wsp(v[e]) || v[e] == ',')) {
			a = i;
			i = e;
		} else {
			strbuf b = {};
			size_t ew;
			/* (an encoded word only where a word starts: glued to the word before
			 * it, it is more of that atom's text) */
			while (i < n && (is_word_char((unsigned char)v[i]) ||
					 ((b.len == 0 || is_wsp(v[i - 1])) &&
					  (v[i] == '"' || (ew = encoded_word_end(v, i, n)) > 0)))) {
				size_t w = i;
				if (v[i] == '"') {
					/* a quoted string, its text as libetpan gives it, where
					 * white space or '<' follows */
					if (b.len)
						strbuf_putc(&b, ' ');
					size_t q = quoted_word_end(v, i, n, &b);
					if (!q || (q < n && !is_wsp(v[q]) && v[q] != '<')) {
						strbuf_done(&b);
						return -EAGAIN;
					}
					i = q;
					while (i < n && is_wsp(v[i]))
						i++;
					continue;
				}
				if (is_word_char((unsigned char)v[i]))
					while (i < n && is_word_char((unsigned char)v[i]))
						i++;
				else {
					/* An encoded word ends the atom libetpan reads only before
					 * white space or '<'; and one followed (past white space)
					 * by another may be joined with it, raw text and white
					 * space and all, when their charsets and encodings agree:
					 * libetpan. */
					size_t k = ew;
					while (k < n && is_wsp(v[k]))
						k++;
					if ((ew < n && !is_wsp(v[ew]) && v[ew] != '<') ||
					    (k + 1 < n && v[k] == '=' && v[k + 1] == '?')) {
						strbuf_done(&b);
						return -EAGAIN;
					}
					i = ew;
				}
				if (b.len)
					strbuf_putc(&b, ' ');
				strbuf_add(&b, v + w, i - w);
				while (i < n && is_wsp(v[i]))
					i++;
			}
			name = strbuf_steal(&b);
			if (!*name || i >= n || v[i] != '<')
				return -EAGAIN;
			a = i + 1;
			e = addr_end(v, a, n);
			if (!e || e >= n || v[e] != '>')
				return -EAGAIN;
			i = e + 1;
		}
		strv_push(addrs, xstrndup(v + a, e - a));
		if (first && ret_name)
			*ret_name = TAKE_PTR(name);
		while (i < n && is_wsp(v[i]))
			i++;
		if (i == n)
			return 0;
		if (v[i] != ',')
			return -EAGAIN;
		i++;
	}
}

/* "<id>" one or more, white space between (libetpan: msg-id, the text between <> with its
 * white space dropped). */
static int read_ids(const char *v, size_t n, char ***ids)
{
	size_t i = 0;
	while (i < n && is_wsp(v[i]))
		i++;
	if (i == n)
		return -EAGAIN;
	while (i < n) {
		if (v[i] != '<')
			return -EAGAIN;
		size_t s = ++i;
		while (i < n && is_id_char((unsigned char)v[i]))
			i++;
		if (i == s || i >= n || v[i] != '>')
			return -EAGAIN;
		strv_push(ids, xstrndup(v + s, i - s));
		i++;
		while (i < n && is_wsp(v[i]))
			i++;
	}
	return 0;
}

/* digits at v[*i..) (at least min, at most max): their value. */
static bool read_number(const char *v, size_t n, size_t *i, size_t min, size_t max, int *ret)
{
	size_t s = *i;
	int x = 0;
	while (*i < n && is_digit(v[*i]) && *i - s < max)
		x = x * 10 + (v[(*i)++] - '0');
	if (*i - s < min || (*i < n && is_digit(v[*i])))
		return false;
	*ret = x;
	return true;
}

static bool skip_spaces(const char *v, size_t n, size_t *i)
{
	size_t s = *i;
	while (*i < n && v[*i] == ' ')
		(*i)++;
	return *i > s;
}

/* Spaces, and folds with the white space after them (a line break in a value mail_head_read()
 * gives is always one: the next line starts with white space): libetpan's
 * mailimf_cfws_parse() between a Content-Type's tokens. Outlook writes
 * "multipart/alternative;\r\n\tboundary=…". */
static void skip_fws(const char *v, size_t n, size_t *i)
{
	for (;;) {
		skip_spaces(v, n, i);
		size_t k = *i;
		if (k + 1 < n && v[k] == '\r' && v[k + 1] == '\n')
			k += 2;
		else if (k < n && v[k] == '\n')
			k++;
		else
			return;
		while (k < n && is_wsp(v[k]))
			k++;
		*i = k;
	}
}

/* RFC 5322's own form, "[Mon, ]2 Dec 2024 10:11[:12] +0100", nothing else (libetpan:
 * mailimf_date_time_parse(); the zone is ±hhmm read as one number). */
static int read_date(const char *v, size_t n, int d[7])
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	size_t i = 0;
	while (i < n && is_wsp(v[i]))
		i++;
	if (n - i >= 5 && !is_digit(v[i])) {
		bool day = false;
		for (size_t k = 0; k < ELEMENTSOF(days); k++)
			day = day || memcmp(v + i, days[k], 3) == 0;
		if (!day || v[i + 3] != ',')
			return -EAGAIN;
		i += 4;
		if (!skip_spaces(v, n, &i))
			return -EAGAIN;
	}
	if (!read_number(v, n, &i, 1, 2, &d[0]) || !skip_spaces(v, n, &i) || n - i < 4)
		return -EAGAIN;
	d[1] = 0;
	for (size_t k = 0; k < ELEMENTSOF(months); k++)
		if (memcmp(v + i, months[k], 3) == 0)
			d[1] = (int)k + 1;
	i += 3;
	if (!d[1] || !skip_spaces(v, n, &i) || !read_number(v, n, &i, 4, 4, &d[2]) ||
	    !skip_spaces(v, n, &i) || !read_number(v, n, &i, 2, 2, &d[3]) || i >= n ||
	    v[i++] != ':' || !read_number(v, n, &i, 2, 2, &d[4]))
		return -EAGAIN;
	d[5] = 0;
	if (i < n && v[i] == ':' && (i++, !read_number(v, n, &i, 2, 2, &d[5])))
		return -EAGAIN;
	if (!skip_spaces(v, n, &i) || i >= n || (v[i] != '+' && v[i] != '-'))
		return -EAGAIN;
	int sign = v[i++] == '-' ? -1 : 1;
	if (!read_number(v, n, &i, 4, 4, &d[6]))
		return -EAGAIN;
	d[6] *= sign;
	while (i < n && is_wsp(v[i]))
		i++;
	return i == n ? 0 : -EAGAIN;
}

/* A boundary's quoted value (RFC 2046 allows "'()+_,-./:=? " in it, and Yahoo writes
 * "----=_Part_…"): printable ASCII but the quote, a backslash (a quoted pair) and white
 * space (which libetpan's quoted-string folds), and no "=?" (libetpan reads the whole
 * Content-Type value as a phrase of encoded words first). Read as written. */
static bool is_boundary_qchar(const char *v, size_t i, size_t n)
{
	unsigned char c = (unsigned char)v[i];
	if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
		return false;
	return !(c == '=' && i + 1 < n && v[i + 1] == '?');
}

/* "text/subtype" with parameters "; attr=token" or "; attr="text"" (libetpan:
 * mailmime_content_parse(); mailmime_content_charset_get() gives the first charset
 * parameter, without its quotes); "multipart/alternative" with its boundary (mime-parts.c
 * reads the body). Other types go to libetpan. */
static int read_content_type(const char *v, size_t n, struct mail_head *h)
{
	size_t i = 0;
	while (i < n && is_token_char((unsigned char)v[i]))
		i++;
	bool multipart = i == 9 && strncasecmp(v, "multipart", 9) == 0;
	if (!((i == 4 && strncasecmp(v, "text", 4) == 0) || multipart) || i >= n || v[i] != '/')
		return -EAGAIN;
	size_t s = ++i;
	while (i < n && is_token_char((unsigned char)v[i]))
		i++;
	if (i == s)
		return -EAGAIN;
	if (multipart) {
		if (i - s != 11 || strncasecmp(v + s, "alternative", 11) != 0)
			return -EAGAIN;
		h->multipart = true;
	} else if (i - s == 5 && strncasecmp(v + s, "plain", 5) == 0)
		;
	else if (i - s == 4 && strncasecmp(v + s, "html", 4) == 0)
		h->text_html = true;
	else
		h->text_other = true;
	/* the first format and delsp parameters count, as mime.c reads libetpan's list */
	bool seen_format = false, seen_delsp = false;
	for (;;) {
		skip_fws(v, n, &i);
		if (i == n)
			return multipart && !h->boundary ? -EAGAIN : 0;
		if (v[i] != ';')
			return -EAGAIN;
		i++;
		skip_fws(v, n, &i);
		size_t as = i;
		while (i < n && is_token_char((unsigned char)v[i]))
			i++;
		size_t alen = i - as;
		if (alen == 0 || i >= n || v[i] != '=')
			return -EAGAIN;
		i++;
		size_t vs, ve;
		bool is_boundary = multipart && alen == 8 && strncasecmp(v + as, "boundary", 8) == 0;
		if (i < n && v[i] == '"') {
			vs = ++i;
			while (i < n && (is_token_char((unsigned char)v[i]) ||
					 (is_boundary && is_boundary_qchar(v, i, n))))
				i++;
			if (i >= n || v[i] != '"')
				return -EAGAIN;
			ve = i++;
		} else {
			vs = i;
			while (i < n && is_token_char((unsigned char)v[i]))
				i++;
			ve = i;
			if (ve == vs)
				return -EAGAIN;
		}
		if (is_boundary) {
			if (!h->boundary)
				h->boundary = xstrndup(v + vs, ve - vs);
		} else if (multipart)
			; /* libetpan keeps the others; nothing reads them */
		else if (!h->charset && alen == 7 && strncasecmp(v + as, "charset", 7) == 0)
			h->charset = xstrndup(v + vs, ve - vs);
		else if (!seen_format && alen == 6 && strncasecmp(v + as, "format", 6) == 0) {
			seen_format = true;
			h->flowed = ve - vs == 6 && strncasecmp(v + vs, "flowed", 6) == 0;
		} else if (!seen_delsp && alen == 5 && strncasecmp(v + as, "delsp", 5) == 0) {
			seen_delsp = true;
			h->delsp = ve - vs == 3 && strncasecmp(v + vs, "yes", 3) == 0;
		}
	}
}

static int read_encoding(const char *v, size_t n, int *ret)
{
	static const struct {
		const char *name;
		int mechanism;
	} mechanisms[] = {
	    {"7bit", MAILMIME_MECHANISM_7BIT},
	    {"8bit", MAILMIME_MECHANISM_8BIT},
	    {"binary", MAILMIME_MECHANISM_BINARY},
	    {"quoted-printable", MAILMIME_MECHANISM_QUOTED_PRINTABLE},
	    {"base64", MAILMIME_MECHANISM_BASE64},
	};
	while (n > 0 && is_wsp(v[n - 1]))
		n--;
	for (size_t k = 0; k < ELEMENTSOF(mechanisms); k++)
		if (n == strlen(mechanisms[k].name) && strncasecmp(v, mechanisms[k].name, n) == 0) {
			*ret = mechanisms[k].mechanism;
			return 0;
		}
	return -EAGAIN;
}

void mail_head_done(struct mail_head *h)
{
	free(h->from_address);
	free(h->from_name);
	strv_free(h->to);
	strv_free(h->cc);
	free(h->reply_to);
	free(h->subject);
	free(h->message_id);
	free(h->in_reply_to);
	strv_free(h->references);
	free(h->charset);
	free(h->boundary);
	for (size_t i = 0; i < h->n_fields; i++) {
		free(h->fields[i].name);
		free(h->fields[i].value);
	}
	free(h->fields);
	*h = (struct mail_head){};
}

enum field_kind {
	F_OTHER,
	F_FROM,
	F_TO,
	F_CC,
	F_REPLY_TO,
	F_SUBJECT,
	F_MESSAGE_ID,
	F_IN_REPLY_TO,
	F_REFERENCES,
	F_DATE,
	F_SENDER_BCC,
	F_CONTENT_TYPE,
	F_ENCODING,
	F_MIME_VERSION,
	F_RETURN_PATH,
	F_CONTENT_OTHER,
	F_RECEIVED,
	_F_MAX,
};

static enum field_kind field_kind(const char *name, size_t n)
{
	static const struct {
		const char *name;
		size_t len;
		enum field_kind kind;
	} names[] = {
#define N(s, k) {s, sizeof(s) - 1, k}
	    N("From", F_FROM),
	    N("To", F_TO),
	    N("Cc", F_CC),
	    N("Reply-To", F_REPLY_TO),
	    N("Subject", F_SUBJECT),
	    N("Message-ID", F_MESSAGE_ID),
	    N("In-Reply-To", F_IN_REPLY_TO),
	    N("References", F_REFERENCES),
	    N("Date", F_DATE),
	    N("Sender", F_SENDER_BCC),
	    N("Bcc", F_SENDER_BCC),
	    N("Content-Type", F_CONTENT_TYPE),
	    N("Content-Transfer-Encoding", F_ENCODING),
	    N("MIME-Version", F_MIME_VERSION),
	    N("Return-Path", F_RETURN_PATH),
	    N("Received", F_RECEIVED),
	    /* envelope fields in some libetpan versions: read there */
	    N("Comments", F_CONTENT_OTHER),
	    N("Keywords", F_CONTENT_OTHER),
#undef N
	};
	/* the length and the first letter rule out all names but one or two */
	for (size_t k = 0; k < ELEMENTSOF(names); k++)
		if (n == names[k].len && (name[0] | 0x20) == (names[k].name[0] | 0x20) &&
		    strncasecmp(name, names[k].name, n) == 0)
			return names[k].kind;
	/* The other MIME fields (Content-Language, -ID, -Description, -Location and unknown
	 * ones) say nothing coco reads: libetpan's mailmime_fields_parse() reads them into its
	 * MIME field list (dropping one it cannot parse, mailmime.c) and nothing of mime.c
	 * looks at them; as header fields they are optional fields like any X-: read as those
	 * (Outlook writes Content-Language on every mail). Content-Disposition says whether the
	 * part is an attachment: libetpan. */
	if (n == 19 && strncasecmp(name, "Content-Disposition", 19) == 0)
		return F_CONTENT_OTHER;
	return F_OTHER;
}

/* Fields header_is_automatic() (mime.c) can say something of start with these. */
bool mail_head_may_be_automatic(char c)
{
	switch (c) {
	case 'A':
	case 'a':
	case 'L':
	case 'l':
	case 'P':
	case 'p':
	case 'R':
	case 'r':
	case 'X':
	case 'x':
		return true;
	default:
		return false;
	}
}

static int read_field(struct mail_head *h, enum field_kind k, const char *name, size_t nlen,
		      const char *v, size_t n, bool folded, unsigned *seen)
{
	/* Two of a field libetpan reads (which one wins is its business), or a folded
	 * structured field but Content-Type (read_content_type() skips its folds): libetpan. */
	if (k != F_OTHER && k != F_RECEIVED &&
	    ((*seen & (1u << k)) || (folded && k != F_SUBJECT && k != F_CONTENT_TYPE)))
		return -EAGAIN;
	*seen |= 1u << k;
	switch (k) {
	case F_FROM: {
		char **from = NULL;
		int r = read_mailboxes(v, n, &from, &h->from_name);
		if (r >= 0)
			h->from_address = xstrdup(from[0]);
		strv_free(from);
		return r;
	}
	case F_TO:
		return read_mailboxes(v, n, &h->to, NULL);
	case F_CC:
		return read_mailboxes(v, n, &h->cc, NULL);
	case F_REPLY_TO: {
		char **rt = NULL;
		int r = read_mailboxes(v, n, &rt, NULL);
		if (r >= 0)
			h->reply_to = xstrdup(rt[0]);
		strv_free(rt);
		return r;
	}
	case F_SUBJECT:
		h->subject = xstrndup(v, n);
		return 0;
	case F_MESSAGE_ID: {
		char **ids = NULL;
		int r = read_ids(v, n, &ids);
		if (r >= 0 && ids[1])
			r = -EAGAIN;
		if (r >= 0)
			h->message_id = xstrdup(ids[0]);
		strv_free(ids);
		return r;
	}
	case F_IN_REPLY_TO: {
		char **ids = NULL;
		int r = read_ids(v, n, &ids);
		if (r >= 0)
			h->in_reply_to = xstrdup(ids[0]);
		strv_free(ids);
		return r;
	}
	case F_REFERENCES:
		return read_ids(v, n, &h->references);
	case F_DATE:
		h->has_date = true;
		return read_date(v, n, h->date);
	case F_SENDER_BCC:
	case F_RECEIVED:
		return 0;
	case F_CONTENT_TYPE:
		return read_content_type(v, n, h);
	case F_ENCODING:
		return read_encoding(v, n, &h->encoding);
	case F_MIME_VERSION:
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
		return n == 3 && memcmp(v, "1.0", 3) == 0 ? 0 : -EAGAIN;
	case F_RETURN_PATH: {
		/* "<>" or "<addr>": read alike as a trace field and as an optional one */
		size_t t = n;
		while (t > 0 && is_wsp(v[t - 1]))
			t--;
		size_t e = t >= 2 && v[0] == '<' ? (t == 2 ? 1 : addr_end(v, 1, t)) : 0;
		if (!e || e != t - 1 || v[e] != '>')
			return -EAGAIN;
		break;
	}
	case F_CONTENT_OTHER:
		return -EAGAIN;
	default:
		if (!mail_head_may_be_automatic(name[0]))
			return 0;
		break;
	}
	if (h->n_fields == HEAD_FIELDS_MAX)
		return -EAGAIN;
	if (!h->fields)
		h->fields = xmalloc(HEAD_FIELDS_MAX * sizeof *h->fields);
	h->fields[h->n_fields++] = (struct mail_head_field){xstrndup(name, nlen), xstrndup(v, n)};
	return 0;
}

int mail_head_read(const char *msg, size_t len, struct mail_head *ret)
{
	struct mail_head h = {.encoding = MAILMIME_MECHANISM_8BIT};
	unsigned seen = 0;
	size_t i = 0;
	int r = 0;

	while (r >= 0) {
		if (i >= len) {
			r = -EAGAIN;
			break;
		}
		/* the empty line: the body follows */
		if (msg[i] == '\n' || (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')) {
			h.body = i + (msg[i] == '\r' ? 2 : 1);
			break;
		}
		/* field-name ":" at the start of the line, then the value up to the line end that
		 * no white space follows (libetpan's unstructured value: leading white space
		 * skipped, folding kept, the final line end left out) */
		size_t s = i;
		while (i < len && (unsigned char)msg[i] > 0x20 && (unsigned char)msg[i] < 0x7f &&
		       msg[i] != ':')
			i++;
		if (i == s || i >= len || msg[i] != ':') {
			r = -EAGAIN;
			break;
		}
		const char *name = msg + s;
		size_t nlen = i - s;
		i++;
		while (i < len && is_wsp(msg[i]))
			i++;
		size_t vs = i, ve;
		bool folded = false;
		for (;;) {
			const char *nl = memchr(msg + i, '\n', len - i);
			if (!nl) {
				r = -EAGAIN;
				break;
			}
			size_t e = (size_t)(nl - msg);
			/* a CR other than before LF, a NUL: libetpan */
			size_t line_end = e > i && msg[e - 1] == '\r' ? e - 1 : e;
			if (memchr(msg + i, '\r', line_end - i) ||
			    memchr(msg + i, '\0', line_end - i)) {
				r = -EAGAIN;
				break;
			}
			ve = line_end;
			i = e + 1;
			if (i >= len || !is_wsp(msg[i]))
				break;
			/* a continuation line; one of white space only goes to libetpan */
			size_t k = i;
			while (k < len && is_wsp(msg[k]))
				k++;
			if (k >= len || msg[k] == '\r' || msg[k] == '\n') {
				r = -EAGAIN;
				break;
			}
			folded = true;
		}
		if (r < 0)
			break;
		if (ve < vs) /* "Name:\r\n" */
			ve = vs;
		r = read_field(&h, field_kind(name, nlen), name, nlen, msg + vs, ve - vs, folded,
			       &seen);
	}
	if (r >= 0 && !h.from_address)
		r = -EAGAIN;
	if (r < 0) {
		mail_head_done(&h);
		return r;
	}
	if (!h.to)
		h.to = xcalloc(1, sizeof(char *));
	if (!h.cc)
		h.cc = xcalloc(1, sizeof(char *));
	if (!h.references)
		h.references = xcalloc(1, sizeof(char *));
	*ret = h;
	return 0;
}

int mail_head_read_part(const char *p, size_t len, struct mail_head *ret)
{
	struct mail_head h = {.encoding = MAILMIME_MECHANISM_8BIT};
	bool type = false, enc = false;
	size_t i = 0;
	int r = 0;

	for (;;) {
		if (i >= len) {
			r = -EAGAIN;
			break;
		}
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')) {
			h.body = i + (p[i] == '\r' ? 2 : 1);
			break;
		}
		const char *nl = memchr(p + i, '\n', len - i);
		if (!nl) {
			r = -EAGAIN;
			break;
		}
		size_t e = (size_t)(nl - p);
		size_t line_end = e > i && p[e - 1] == '\r' ? e - 1 : e;
		/* a bare CR, a NUL, a folded field: libetpan */
		if (memchr(p + i, '\r', line_end - i) || memchr(p + i, '\0', line_end - i) ||
		    (e + 1 < len && is_wsp(p[e + 1]))) {
			r = -EAGAIN;
			break;
		}
		size_t s = i;
		while (i < line_end && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f &&
		       p[i] != ':')
			i++;
		if (i >= line_end || p[i] != ':') {
			r = -EAGAIN;
			break;
		}
		size_t nlen = i - s, vs = i + 1;
		while (vs < line_end && is_wsp(p[vs]))
			vs++;
		if (!type && nlen == 12 && strncasecmp(p + s, "Content-Type", 12) == 0) {
			type = true;
			r = read_content_type(p + vs, line_end - vs, &h);
		} else if (!enc && nlen == 25 &&
			   strncasecmp(p + s, "Content-Transfer-Encoding", 25) == 0) {
			enc = true;
			r = read_encoding(p + vs, line_end - vs, &h.encoding);
		} else
			r = -EAGAIN;
		if (r < 0)
			break;
		i = e + 1;
	}
	if (r >= 0 && (!type || h.multipart))
		r = -EAGAIN;
	if (r < 0) {
		mail_head_done(&h);
		return r;
	}
	*ret = h;
	return 0;
}
