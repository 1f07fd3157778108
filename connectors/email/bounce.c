/* bounce: see bounce.h. A message/delivery-status body is a header-like text (RFC 3464 §2.1):
 * one per-message group of fields, then one group per recipient, groups separated by empty
 * lines. It is read in one pass over its lines; a group is a recipient's when it names one
 * (Final-Recipient or Original-Recipient), wherever it stands, since not every MTA writes
 * the per-message group first or at all. */
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/bounce.h"
#include "email/mime-raw.h"

#define TEXT_MAX 1000

void mail_bounce_info_free(mail_bounce_info *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_recipients; i++) {
		free(b->recipients[i].address);
		free(b->recipients[i].original);
		free(b->recipients[i].status);
		free(b->recipients[i].diagnostic);
	}
	free(b->recipients);
	free(b->original_message_id);
	free(b->reporting_mta);
	free(b);
}

static void strv_freep(char ***v)
{
	strv_free(*v);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s[0..n) as one line of valid UTF-8 of at most TEXT_MAX bytes, trimmed. */
static char *clean_text(const char *s, size_t n)
{
	while (n > 0 && is_space(*s))
		s++, n--;
	while (n > 0 && is_space(s[n - 1]))
		n--;
	strbuf b = {};
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n && b.len < TEXT_MAX;) {
		unsigned char c = u[i];
		size_t k = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
				      : c >= 0xf0 && c <= 0xf4		   ? 3
									   : 4;
		bool ok = k < 4 && i + k < n;
		for (size_t j = 1; ok && j <= k; j++)
			ok = (u[i + j] & 0xc0) == 0x80;
		/* overlong three- and four-byte forms, surrogates, past U+10FFFF */
		if (ok && k == 2)
			ok = !(c == 0xe0 && u[i + 1] < 0xa0) && !(c == 0xed && u[i + 1] >= 0xa0);
		if (ok && k == 3)
			ok = !(c == 0xf0 && u[i + 1] < 0x90) && !(c == 0xf4 && u[i + 1] >= 0x90);
		if (!ok) {
			strbuf_putc(&b, '?');
			i++;
			continue;
		}
		if (b.len + k + 1 > TEXT_MAX)
			break;
		if (k == 0)
			strbuf_putc(&b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
		else
			strbuf_add(&b, s + i, k + 1);
		i += k + 1;
	}
	return strbuf_steal(&b);
}

/* The text after the first ';' ("rfc822; a@b", "smtp; 550 …", "dns; mx.example"), or all
 * of it when there is none. */
static const char *after_type(const char *v)
{
	const char *semi = strchr(v, ';');
	return semi ? semi + 1 : v;
}

/* The first word after the type, without <>: an address. NULL if there is none. */
static char *address_of(const char *v)
{
	const char *p = after_type(v);
	while (is_space(*p))
		p++;
	size_t n = 0;
	while (p[n] && !is_space(p[n]) && p[n] != '(')
		n++;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>')
		p++, n -= 2;
	return n > 0 ? clean_text(p, n) : NULL;
}

static bool digits(const char **p, size_t max)
{
	size_t n = 0;
	while (**p >= '0' && **p <= '9' && n <= max)
		(*p)++, n++;
	return n >= 1 && n <= max;
}

/* RFC 3463: class "." subject "." detail; class 2, 4 or 5, then 1-3 digits twice. */
static char *status_of(const char *v)
{
	while (is_space(*v))
		v++;
	const char *p = v;
	if (!(*p == '2' || *p == '4' || *p == '5') || p[1] != '.')
		return NULL;
	p += 2;
	if (!digits(&p, 3) || *p++ != '.' || !digits(&p, 3))
		return NULL;
	if (*p && !is_space(*p) && *p != '(')
		return NULL;
	return xstrndup(v, (size_t)(p - v));
}

/* A message id: "<id>" after white space and comments, or a bare word. */
static char *msgid_of(const char *v)
{
	const char *p = v;
	for (;;) {
		while (is_space(*p))
			p++;
		if (*p != '(')
			break;
		size_t depth = 0;
		for (; *p; p++) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
	size_t n = 0;
	if (*p == '<') {
		p++;
		while (p[n] && p[n] != '>' && p[n] != '<' && !is_space(p[n]))
			n++;
		if (p[n] != '>')
			return NULL;
	} else
		while (p[n] && !is_space(p[n]) && p[n] != '(')
			n++;
	if (n == 0 || n > 250)
		return NULL;
	return clean_text(p, n);
}

/* The fields of a group coco reads, each the first of its name in the group. */
enum dsn_field {
	F_FINAL,
	F_ORIGINAL,
	F_ACTION,
	F_STATUS,
	F_DIAGNOSTIC,
	F_REPORTING_MTA,
	F_ORIGINAL_MSGID, /* Gmail's X-Original-Message-ID, in the per-message group */
	F_MESSAGE_ID,	  /* in returned headers */
	_F_MAX,
};

static const char *const field_names[_F_MAX] = {
    [F_FINAL] = "Final-Recipient",
    [F_ORIGINAL] = "Original-Recipient",
    [F_ACTION] = "Action",
    [F_STATUS] = "Status",
    [F_DIAGNOSTIC] = "Diagnostic-Code",
    [F_REPORTING_MTA] = "Reporting-MTA",
    [F_ORIGINAL_MSGID] = "X-Original-Message-ID",
    [F_MESSAGE_ID] = "Message-ID",
};

struct group {
	strbuf v[_F_MAX];
	bool seen[_F_MAX];
};

static void group_done(struct group *g)
{
	for (size_t i = 0; i < _F_MAX; i++)
		strbuf_done(&g->v[i]);
	*g = (struct group){};
}

static const char *group_get(struct group *g, enum dsn_field f)
{
	return g->seen[f] ? (g->v[f].s ? g->v[f].s : "") : NULL;
}

typedef void (*group_fn)(struct group *g, void *userdata);

/* Calls fn for each group of fields in s[0..len); stops after the first when one_group (a
 * header section). Continuation lines are unfolded into their field; lines that are no
 * field are skipped. Linear in len. */
static void read_groups(const char *s, size_t len, bool one_group, group_fn fn, void *userdata)
{
	struct group g = {};
	bool any = false;
	int cur = -1; /* the field continuation lines belong to, or -1 */

	for (size_t i = 0; i <= len;) {
		const char *nl = i < len ? memchr(s + i, '\n', len - i) : NULL;
		size_t end = nl ? (size_t)(nl - s) : len;
		const char *line = s + i;
		size_t n = end - i;
		bool last = !nl;
		i = end + 1;
		while (n > 0 && line[n - 1] == '\r')
			n--;
		size_t blank = 0;
		while (blank < n && (line[blank] == ' ' || line[blank] == '\t'))
			blank++;
		if (blank == n) { /* an empty line ends the group */
			if (any) {
				fn(&g, userdata);
				if (one_group) {
					group_done(&g);
					return;
				}
			}
			group_done(&g);
			any = false;
			cur = -1;
		} else if (blank > 0) {
			if (cur >= 0)
				strbuf_add(&g.v[cur], line, n);
		} else {
			cur = -1;
			const char *colon = memchr(line, ':', n);
			if (colon) {
				size_t nlen = (size_t)(colon - line);
				while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
					nlen--;
				any = true;
				for (int f = 0; f < _F_MAX; f++)
					if (strlen(field_names[f]) == nlen &&
					    strncasecmp(line, field_names[f], nlen) == 0 && !g.seen[f]) {
						g.seen[f] = true;
						strbuf_add(&g.v[f], colon + 1,
							   (size_t)(line + n - colon - 1));
						cur = f;
					}
			}
		}
		if (last)
			break;
	}
	if (any)
		fn(&g, userdata);
	group_done(&g);
}

struct dsn {
	mail_bounce_info *info;
	size_t n_groups; /* recipient groups, failed or not */
	char *original_msgid;
};

static char *clean_value(const char *v)
{
	return v ? clean_text(v, strlen(v)) : NULL;
}

static void on_dsn_group(struct group *g, void *userdata)
{
	struct dsn *d = userdata;
	mail_bounce_info *b = d->info;
	const char *final = group_get(g, F_FINAL), *orig = group_get(g, F_ORIGINAL);

	if (!final && !orig) { /* the per-message group */
		const char *mta = group_get(g, F_REPORTING_MTA), *id = group_get(g, F_ORIGINAL_MSGID);
		if (mta && !b->reporting_mta)
			b->reporting_mta = clean_value(after_type(mta));
		if (id && !d->original_msgid)
			d->original_msgid = msgid_of(id);
		return;
	}
	d->n_groups++;
	_cleanup_free_ char *address = address_of(final ? final : orig);
	_cleanup_free_ char *status = group_get(g, F_STATUS) ? status_of(group_get(g, F_STATUS)) : NULL;
	const char *action = group_get(g, F_ACTION);
	_cleanup_free_ char *act = NULL;
	if (action) {
		while (is_space(*action))
			action++;
		size_t n = 0;
		while (action[n] && !is_space(action[n]) && action[n] != '(' && action[n] != ';')
			n++;
		act = xstrndup(action, n);
	}
	bool failed;
	if (act && strcasecmp(act, "failed") == 0)
		failed = true;
	else if (act && (strcasecmp(act, "delayed") == 0 || strcasecmp(act, "delivered") == 0 ||
			 strcasecmp(act, "relayed") == 0 || strcasecmp(act, "expanded") == 0))
		failed = false;
	else
		failed = status && status[0] == '5';
	if (!failed || !address)
		return;

	b->recipients = xrealloc(b->recipients, (b->n_recipients + 1) * sizeof(*b->recipients));
	mail_bounce_recipient *r = &b->recipients[b->n_recipients++];
	const char *diag = group_get(g, F_DIAGNOSTIC);
	*r = (mail_bounce_recipient){
	    .address = TAKE_PTR(address),
	    .original = final && orig ? address_of(orig) : NULL,
	    .status = TAKE_PTR(status),
	    .diagnostic = diag ? clean_value(after_type(diag)) : NULL,
	};
	if (r->diagnostic && !*r->diagnostic) {
		free(r->diagnostic);
		r->diagnostic = NULL;
	}
}

static void on_header_group(struct group *g, void *userdata)
{
	char **id = userdata;
	const char *v = group_get(g, F_MESSAGE_ID);
	if (v && !*id)
		*id = msgid_of(v);
}

static bool is_status_type(const char *t)
{
	return STREQ(t, "message/delivery-status") || STREQ(t, "message/global-delivery-status");
}

static bool is_headers_type(const char *t)
{
	return STREQ(t, "text/rfc822-headers") || STREQ(t, "message/rfc822") ||
	       STREQ(t, "message/global-headers") || STREQ(t, "message/global");
}

static int read_dsn(const mail_message *m, mail_bounce_info **ret)
{
	const struct mail_report_part *parts;
	size_t n = mail_report_parts(m, &parts);
	const struct mail_report_part *status = NULL, *headers = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!status && is_status_type(parts[i].type))
			status = &parts[i];
		else if (!headers && is_headers_type(parts[i].type))
			headers = &parts[i];
	}
	if (!status)
		return -EBADMSG;

	struct dsn d = {.info = xcalloc(1, sizeof(mail_bounce_info))};
	read_groups(status->body, status->len, false, on_dsn_group, &d);
	if (headers)
		read_groups(headers->body, headers->len, true, on_header_group,
			    &d.info->original_message_id);
	if (!d.info->original_message_id)
		d.info->original_message_id = TAKE_PTR(d.original_msgid);
	free(d.original_msgid);

	if (d.n_groups == 0) {
		mail_bounce_info_free(d.info);
		return -EBADMSG;
	}
	if (d.info->n_recipients == 0) {
		mail_bounce_info_free(d.info);
		return 0;
	}
	*ret = d.info;
	return 1;
}

static bool from_daemon(const mail_message *m)
{
	const char *a = mail_from_address(m); /* lower-cased by mail_parse() */
	const char *at = strchr(a, '@');
	size_t n = at ? (size_t)(at - a) : strlen(a);
	return (n == 13 && strncmp(a, "mailer-daemon", n) == 0) ||
	       (n == 10 && strncmp(a, "postmaster", n) == 0);
}

static bool null_return_path(const mail_message *m)
{
	_cleanup_(strv_freep) char **rp = mail_header_values(m, "Return-Path");
	if (!rp[0])
		return false;
	const char *p = rp[0];
	if (*p++ != '<')
		return false;
	while (is_space(*p))
		p++;
	return *p == '>';
}

/* The first "Message-ID:" line of the body, where Exim copies the returned message. */
static char *body_msgid(const char *body)
{
	for (const char *line = body; line && *line;) {
		if (strncasecmp(line, "Message-ID:", 11) == 0) {
			const char *e = strchr(line, '\n');
			_cleanup_free_ char *v = e ? xstrndup(line + 11, (size_t)(e - line - 11))
						   : xstrdup(line + 11);
			return msgid_of(v);
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

static int read_heuristic(const mail_message *m, mail_bounce_info **ret)
{
	if (!from_daemon(m) && !null_return_path(m))
		return 0;
	_cleanup_(strv_freep) char **v = mail_header_values(m, "X-Failed-Recipients");
	mail_bounce_info *b = xcalloc(1, sizeof(*b));
	b->heuristic = true;
	for (char **f = v; *f; f++)
		for (const char *p = *f; *p;) {
			while (*p == ',' || is_space(*p))
				p++;
			size_t n = 0;
			while (p[n] && p[n] != ',' && !is_space(p[n]))
				n++;
			if (n == 0)
				break;
			const char *a = p;
			p += n;
			if (n >= 2 && a[0] == '<' && a[n - 1] == '>')
				a++, n -= 2;
			if (n == 0)
				continue;
			b->recipients =
			    xrealloc(b->recipients, (b->n_recipients + 1) * sizeof(*b->recipients));
			b->recipients[b->n_recipients++] =
			    (mail_bounce_recipient){.address = clean_text(a, n)};
		}
	if (b->n_recipients == 0) {
		mail_bounce_info_free(b);
		return 0;
	}
	b->original_message_id = body_msgid(mail_body(m));
	*ret = b;
	return 1;
}

int mail_bounce(const mail_message *m, mail_bounce_info **ret)
{
	if (!m || !ret)
		return -EINVAL;
	const char *rt = mail_report_type(m);
	if (rt && (STREQ(rt, "delivery-status") || STREQ(rt, "global-delivery-status")))
		return read_dsn(m, ret);
	if (rt && !*rt) {
		/* a report that does not say its type: a DSN if it has the part */
		int r = read_dsn(m, ret);
		if (r != -EBADMSG)
			return r;
	}
	if (rt && *rt)
		return 0; /* a read receipt, an abuse report */
	return read_heuristic(m, ret);
}
