/* auth-results: see auth-results.h. The grammar is RFC 8601 §2.2:
 *
 *   authres   = authserv-id [CFWS version] ( [CFWS] ";" [CFWS] "none" / 1*resinfo )
 *   resinfo   = [CFWS] ";" method [CFWS "/" version] "=" result [reason] *propspec
 *   propspec  = ptype "." property "=" pvalue        (header.from=, header.d=, smtp.mailfrom=)
 *
 * read leniently where real servers stray from it and nothing depends on the difference:
 * Microsoft and Fastmail write bare "key=value" words after a result (action=none,
 * x-bits=2048, score=-100), Gmail writes base64 header.b= values unquoted. A value is then
 * anything up to white space, ';' or '('. Strict where it matters: the authserv-id must be a
 * token or quoted string, a comment must close, and a field of ours that cannot be read
 * counts against the sender. */
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/auth-results.h"
#include "email/mime-raw.h"

/* A domain has at most 253 characters; an address at most 254. Longer values never match. */
#define VALUE_MAX 320

static void strv_freep(char ***v)
{
	strv_free(*v);
}

struct lex {
	const char *p, *e;
};

struct value {
	char s[VALUE_MAX];
	size_t n;
	bool overflow;
};

static void value_put(struct value *v, char c)
{
	if (v->n + 1 < sizeof(v->s))
		v->s[v->n++] = c;
	else
		v->overflow = true;
	v->s[v->n] = '\0';
}

static bool at_end(const struct lex *l)
{
	return l->p >= l->e;
}

static bool peek(const struct lex *l, char c)
{
	return l->p < l->e && *l->p == c;
}

/* White space and comments (nested, with quoted-pairs). False on a comment left open. */
static bool skip_cfws(struct lex *l)
{
	while (l->p < l->e) {
		char c = *l->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->p++;
			continue;
		}
		if (c != '(')
			return true;
		size_t depth = 0;
		do {
			c = *l->p++;
			if (c == '\\') {
				if (l->p >= l->e)
					return false;
				l->p++;
			} else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} while (depth > 0 && l->p < l->e);
		if (depth > 0)
			return false;
	}
	return true;
}

/* RFC 2045 token character. */
static bool is_token_char(char c)
{
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A quoted-string, without its quotes and quoted-pairs undone. l->p is at the '"'. */
static bool read_quoted(struct lex *l, struct value *v)
{
	l->p++;
	while (l->p < l->e) {
		char c = *l->p++;
		if (c == '"')
			return true;
		if (c == '\\') {
			if (l->p >= l->e)
				return false;
			c = *l->p++;
		}
		value_put(v, c);
	}
	return false;
}

/* value = token / quoted-string (the authserv-id). */
static bool read_value(struct lex *l, struct value *v)
{
	*v = (struct value){};
	if (peek(l, '"'))
		return read_quoted(l, v);
	while (l->p < l->e && is_token_char(*l->p))
		value_put(v, *l->p++);
	return v->n > 0;
}

/* Keyword: letters, digits, '-' and '_' (method, result, ptype, property names). */
static bool read_keyword(struct lex *l, struct value *v)
{
	*v = (struct value){};
	if (at_end(l) || !is_alnum(*l->p))
		return false;
	while (l->p < l->e && (is_alnum(*l->p) || *l->p == '-' || *l->p == '_'))
		value_put(v, *l->p++);
	return true;
}

/* pvalue, leniently: a quoted-string (maybe followed by "@domain", a quoted local part), or
 * anything up to white space, ';', '(' or '"'. May be empty. */
static bool read_pvalue(struct lex *l, struct value *v)
{
	*v = (struct value){};
	if (peek(l, '"')) {
		if (!read_quoted(l, v))
			return false;
		if (!peek(l, '@'))
			return true;
	}
	while (l->p < l->e) {
		char c = *l->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
		    c == '"' || (unsigned char)c < 0x20 || c == 0x7f)
			break;
		value_put(v, c);
		l->p++;
	}
	return true;
}

static bool word_is(const struct value *v, const char *w)
{
	return !v->overflow && strcasecmp(v->s, w) == 0;
}

/* The domain a property names: after the last '@' if there is one, without a final dot. */
static const char *domain_of(const struct value *v, size_t *ret_len)
{
	if (v->overflow || v->n == 0)
		return NULL;
	const char *at = strrchr(v->s, '@');
	const char *d = at ? at + 1 : v->s;
	size_t n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0)
		return NULL;
	*ret_len = n;
	return d;
}

static bool domain_equal(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	if (bn > 0 && b[bn - 1] == '.')
		bn--;
	return an == bn && an > 0 && strncasecmp(a, b, an) == 0;
}

/* d is from or a parent domain of it (relaxed alignment restricted to one direction, see
 * docs/email.md: whoever holds d's DNS holds from's, so could sign as from anyway), and d is
 * not a bare top-level domain. */
static bool dkim_aligned(const char *d, size_t dn, const char *from)
{
	size_t fn = strlen(from);
	if (fn > 0 && from[fn - 1] == '.')
		fn--;
	if (!memchr(d, '.', dn) || d[0] == '.')
		return false;
	if (dn == fn)
		return strncasecmp(d, from, fn) == 0;
	return fn > dn && from[fn - dn - 1] == '.' && strncasecmp(d, from + fn - dn, dn) == 0;
}

struct clause {
	struct value method, result;
	struct value from, d, i; /* header.from, header.d, header.i */
	bool has_from, has_d, has_i;
	bool repeated; /* one of those given twice */
};

static void clause_prop(struct clause *c, const struct value *ptype, const struct value *prop,
			const struct value *pv)
{
	struct value *dst = NULL;
	bool *has = NULL;
	if (!word_is(ptype, "header"))
		return;
	if (word_is(prop, "from"))
		dst = &c->from, has = &c->has_from;
	else if (word_is(prop, "d"))
		dst = &c->d, has = &c->has_d;
	else if (word_is(prop, "i"))
		dst = &c->i, has = &c->has_i;
	if (!dst)
		return;
	if (*has)
		c->repeated = true;
	*dst = *pv;
	*has = true;
}

enum judgement { J_NOTHING, J_PASS, J_DENY };

static enum judgement judge(const struct clause *c, const char *from)
{
	bool pass = word_is(&c->result, "pass");
	size_t n = 0;
	const char *dom;

	if (c->repeated)
		return J_DENY;
	if (word_is(&c->method, "dmarc")) {
		dom = c->has_from ? domain_of(&c->from, &n) : NULL;
		bool mine = dom && domain_equal(dom, n, from);
		if (pass)
			return mine ? J_PASS : J_DENY;
		/* no DMARC policy published: no verdict either way */
		return word_is(&c->result, "none") ? J_NOTHING : J_DENY;
	}
	if (word_is(&c->method, "dkim")) {
		if (c->has_d)
			dom = domain_of(&c->d, &n);
		else if (c->has_i && strchr(c->i.s, '@'))
			dom = domain_of(&c->i, &n);
		else
			dom = NULL;
		if (!dom || !dkim_aligned(dom, n, from))
			return J_NOTHING; /* another domain's signature says nothing about from */
		if (pass)
			return J_PASS;
		return word_is(&c->result, "none") ? J_NOTHING : J_DENY;
	}
	return J_NOTHING;
}

auth_verdict auth_results_verdict(const char *value, const char *authserv_id,
				  const char *from_domain)
{
	if (!value || !authserv_id || !*authserv_id || !from_domain || !*from_domain)
		return AUTH_NOT_OURS;
	struct lex l = {value, value + strlen(value)};
	struct value id;

	if (!skip_cfws(&l) || !read_value(&l, &id) || id.overflow ||
	    strcasecmp(id.s, authserv_id) != 0)
		return AUTH_NOT_OURS;
	/* From here on the field claims to be the site's own: what cannot be read is denied. */
	if (!skip_cfws(&l))
		return AUTH_DENY;
	if (!at_end(&l) && *l.p >= '0' && *l.p <= '9') {
		while (!at_end(&l) && *l.p >= '0' && *l.p <= '9')
			l.p++;
		if (!skip_cfws(&l))
			return AUTH_DENY;
	}
	if (!peek(&l, ';'))
		return AUTH_DENY; /* "no-result / 1*resinfo": at least a ";" */

	bool passed = false;
	while (peek(&l, ';')) {
		l.p++;
		if (!skip_cfws(&l))
			return AUTH_DENY;
		if (at_end(&l))
			break; /* a trailing ';' */
		if (peek(&l, ';'))
			continue;
		struct clause c = {};
		struct value ver;
		if (!read_keyword(&l, &c.method) || !skip_cfws(&l))
			return AUTH_DENY;
		if (peek(&l, '/')) {
			l.p++;
			if (!skip_cfws(&l) || !read_keyword(&l, &ver) || !skip_cfws(&l))
				return AUTH_DENY;
		}
		if (word_is(&c.method, "none") && (at_end(&l) || peek(&l, ';')))
			continue; /* "; none": nothing was checked */
		if (!peek(&l, '='))
			return AUTH_DENY;
		l.p++;
		if (!skip_cfws(&l) || !read_keyword(&l, &c.result))
			return AUTH_DENY;
		for (;;) {
			struct value key, prop, pv;
			if (!skip_cfws(&l))
				return AUTH_DENY;
			if (at_end(&l) || peek(&l, ';'))
				break;
			if (!read_keyword(&l, &key) || !skip_cfws(&l))
				return AUTH_DENY;
			prop = (struct value){};
			if (peek(&l, '.')) {
				l.p++;
				if (!skip_cfws(&l) || !read_keyword(&l, &prop) || !skip_cfws(&l))
					return AUTH_DENY;
			}
			/* reason=, or a bare key=value some servers write */
			if (!peek(&l, '='))
				return AUTH_DENY;
			l.p++;
			if (!skip_cfws(&l) || !read_pvalue(&l, &pv))
				return AUTH_DENY;
			if (prop.n > 0)
				clause_prop(&c, &key, &prop, &pv);
		}
		switch (judge(&c, from_domain)) {
		case J_DENY:
			return AUTH_DENY;
		case J_PASS:
			passed = true;
			break;
		case J_NOTHING:
			break;
		}
	}
	if (!at_end(&l))
		return AUTH_DENY;
	return passed ? AUTH_PASS : AUTH_NOTHING;
}

bool mail_sender_authenticated(const mail_message *m, const char *authserv_id,
			       const char *from_domain)
{
	if (!m || !authserv_id || !*authserv_id)
		return false;
	/* Two From fields: a verifier may have judged the other one. */
	if (mail_header_count(m, "From") != 1)
		return false;
	const char *at = strrchr(mail_from_address(m), '@');
	if (!at || !at[1])
		return false;
	const char *own = at + 1;
	if (from_domain && !domain_equal(own, strlen(own), from_domain))
		return false;

	_cleanup_(strv_freep) char **v = mail_header_values(m, "Authentication-Results");
	bool passed = false;
	for (char **p = v; *p; p++)
		switch (auth_results_verdict(*p, authserv_id, own)) {
		case AUTH_DENY:
			return false;
		case AUTH_PASS:
			passed = true;
			break;
		default:
			break;
		}
	return passed;
}

static const char *const verdict_names[_AUTH_VERDICT_MAX] = {
    [AUTH_NOT_OURS] = "not-ours",
    [AUTH_NOTHING] = "nothing",
    [AUTH_PASS] = "pass",
    [AUTH_DENY] = "deny",
};

const char *auth_verdict_to_string(auth_verdict v)
{
	return v >= 0 && v < _AUTH_VERDICT_MAX ? verdict_names[v] : NULL;
}
