/* template-parse: Mustache text to a node tree, in three passes over one token list:
 * tokenize (delimiters can change half-way, so this is sequential; it also pairs open and
 * close tags), mark standalone tags (which needs both neighbours of each tag), then build
 * the tree, re-indenting inheritance blocks. See template-private.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "template-private.h"

#define MAX_DELIM 16

enum tok_type {
	T_TEXT,
	T_VAR,
	T_RAW, /* {{{x}}} or {{&x}} */
	T_SECTION,
	T_INVERTED,
	T_CLOSE,
	T_COMMENT,
	T_PARTIAL,
	T_PARENT,
	T_BLOCK,
	T_DELIM,
};

struct token {
	enum tok_type type;
	size_t start, end;     /* the whole token in the source */
	size_t key, key_len;   /* tag content, trimmed: what a closing tag must repeat */
	size_t name, name_len; /* what to look up (without the '*' of a dynamic name) */
	bool dynamic;
	bool standalone;
	ssize_t container;     /* index of the enclosing open tag, -1 at top level */
	ssize_t match;         /* open <-> close */
	size_t lstrip, rstrip; /* text: bytes removed at each end by standalone neighbours */
	size_t ws, ws_len;     /* standalone tag: the indentation that preceded it */
};

struct nodelist {
	struct node *v;
	size_t n, cap;
};

static void node_done(struct node *n)
{
	free(n->str);
	strv_free(n->path);
	for (size_t i = 0; i < n->n_kids; i++)
		node_done(&n->kids[i]);
	free(n->kids);
}

static void nodelist_push(struct nodelist *l, struct node n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = n;
}

void template_free(struct template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_nodes; i++)
		node_done(&t->nodes[i]);
	free(t->nodes);
	free(t->name);
	free(t->owned_src);
	free(t);
}

int template_error(char **ret_error, const char *name, const char *src, size_t offset,
		   const char *fmt, ...)
{
	if (ret_error) {
		unsigned line = 1, col = 1;
		for (size_t i = 0; i < offset && src[i]; i++) {
			if (src[i] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		char msg[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		*ret_error = xasprintf("%s:%u:%u: %s", name, line, col, msg);
	}
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool has_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_space(s[i]))
			return true;
	return false;
}

static const char *tag_kind(enum tok_type t)
{
	switch (t) {
	case T_PARENT: return "parent";
	case T_BLOCK: return "block";
	case T_INVERTED: return "inverted section";
	default: return "section";
	}
}

/* The new delimiters of a {{=open close=}} tag. */
static bool parse_delims(const char *s, size_t n, char *open, char *close)
{
	size_t i = 0, a, alen, b, blen;
	while (i < n && is_space(s[i]))
		i++;
	a = i;
	while (i < n && !is_space(s[i]))
		i++;
	alen = i - a;
	while (i < n && is_space(s[i]))
		i++;
	b = i;
	while (i < n && !is_space(s[i]))
		i++;
	blen = i - b;
	while (i < n && is_space(s[i]))
		i++;
	if (i != n || alen == 0 || blen == 0 || alen >= MAX_DELIM || blen >= MAX_DELIM ||
	    memchr(s + a, '=', alen) || memchr(s + b, '=', blen))
		return false;
	memcpy(open, s + a, alen);
	open[alen] = 0;
	memcpy(close, s + b, blen);
	close[blen] = 0;
	return true;
}

struct tokens {
	struct token *v;
	size_t n, cap;
};

static struct token *tokens_push(struct tokens *t, enum tok_type type, size_t start, size_t end)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	struct token *k = &t->v[t->n++];
	*k = (struct token){.type = type, .start = start, .end = end, .container = -1, .match = -1};
	return k;
}

static int tokenize(const char *name, const char *src, struct tokens *toks, char **ret_error)
{
	char otag[MAX_DELIM] = "{{", ctag[MAX_DELIM] = "}}";
	size_t len = strlen(src), pos = 0;
	ssize_t stack[TEMPLATE_MAX_NESTING];
	size_t depth = 0;

	while (pos < len) {
		size_t olen = strlen(otag), clen = strlen(ctag);
		const char *p = memmem(src + pos, len - pos, otag, olen);
		size_t tstart = p ? (size_t)(p - src) : len;
		if (tstart > pos)
			tokens_push(toks, T_TEXT, pos, tstart);
		if (!p)
			break;

		size_t q = tstart + olen;
		while (q < len && is_space(src[q]))
			q++;
		char sigil = q < len ? src[q] : 0;
		enum tok_type type;
		switch (sigil) {
		case '{':
		case '&': type = T_RAW; break;
		case '#': type = T_SECTION; break;
		case '^': type = T_INVERTED; break;
		case '/': type = T_CLOSE; break;
		case '!': type = T_COMMENT; break;
		case '>': type = T_PARTIAL; break;
		case '<': type = T_PARENT; break;
		case '$': type = T_BLOCK; break;
		case '=': type = T_DELIM; break;
		default: type = T_VAR; break;
		}
		if (type != T_VAR)
			q++;

		/* {{{x}}} and {{=a b=}} end in one more character than the other tags. */
		char closer[MAX_DELIM + 1];
		size_t closer_len = 0;
		if (sigil == '{' || sigil == '=')
			closer[closer_len++] = sigil == '{' ? '}' : '=';
		memcpy(closer + closer_len, ctag, clen + 1);
		closer_len += clen;
		const char *c = memmem(src + q, len - q, closer, closer_len);
		if (!c)
			return template_error(ret_error, name, src, tstart, "unclosed tag (no \"%s\")",
					    closer);
		size_t cend = (size_t)(c - src);
		struct token *t = tokens_push(toks, type, tstart, cend + closer_len);
		pos = t->end;

		size_t k = q, kend = cend;
		while (k < kend && is_space(src[k]))
			k++;
		while (kend > k && is_space(src[kend - 1]))
			kend--;
		t->key = t->name = k;
		t->key_len = t->name_len = kend - k;

		if (type == T_COMMENT)
			continue;
		if (type == T_DELIM) {
			if (!parse_delims(src + q, cend - q, otag, ctag))
				return template_error(ret_error, name, src, tstart,
						    "invalid delimiters, expected e.g. {{=<%% %%>=}}");
			continue;
		}
		if ((type == T_PARTIAL || type == T_PARENT) && t->name_len > 0 &&
		    src[t->name] == '*') {
			t->dynamic = true;
			t->name++;
			t->name_len--;
			while (t->name_len > 0 && is_space(src[t->name])) {
				t->name++;
				t->name_len--;
			}
		}
		if (t->name_len == 0)
			return template_error(ret_error, name, src, tstart, "empty tag name");
		if (has_space(src + t->name, t->name_len))
			return template_error(ret_error, name, src, tstart,
					    "tag name \"%.*s\" contains white space",
					    (int)t->name_len, src + t->name);

		ssize_t self = (ssize_t)toks->n - 1;
		t->container = depth > 0 ? stack[depth - 1] : -1;
		if (type == T_SECTION || type == T_INVERTED || type == T_PARENT ||
		    type == T_BLOCK) {
			if (depth >= TEMPLATE_MAX_NESTING)
				return template_error(ret_error, name, src, tstart,
						    "sections nested more than %d deep",
						    TEMPLATE_MAX_NESTING);
			stack[depth++] = self;
		} else if (type == T_CLOSE) {
			if (depth == 0)
				return template_error(ret_error, name, src, tstart,
						    "closing tag \"%.*s\" without an open section",
						    (int)t->key_len, src + t->key);
			struct token *o = &toks->v[stack[depth - 1]];
			if (o->key_len != t->key_len || memcmp(src + o->key, src + t->key, t->key_len))
				return template_error(ret_error, name, src, tstart,
						    "closing tag \"%.*s\" does not match open %s \"%.*s\"",
						    (int)t->key_len, src + t->key, tag_kind(o->type),
						    (int)o->key_len, src + o->key);
			depth--;
			t->container = depth > 0 ? stack[depth - 1] : -1;
			t->match = stack[depth];
			o->match = self;
		}
	}
	if (depth > 0) {
		struct token *o = &toks->v[stack[depth - 1]];
		return template_error(ret_error, name, src, o->start, "%s \"%.*s\" is never closed",
				    tag_kind(o->type), (int)o->key_len, src + o->key);
	}
	return 0;
}

/* Only white space between the start of the line and tag i? Returns the indentation. */
static bool line_before_blank(const struct tokens *toks, const char *src, size_t i,
			      size_t *ret_ws, size_t *ret_ws_len)
{
	if (i == 0) {
		*ret_ws = toks->v[i].start;
		*ret_ws_len = 0;
		return true;
	}
	const struct token *p = &toks->v[i - 1];
	if (p->type != T_TEXT)
		return false;
	size_t s = p->end;
	while (s > p->start && is_blank(src[s - 1]))
		s--;
	if (s > p->start ? src[s - 1] != '\n' : i - 1 != 0)
		return false;
	*ret_ws = s;
	*ret_ws_len = p->end - s;
	return true;
}

/* Only white space between tag i and the end of its line (or of the template)? Returns
 * how much of the next text to drop, newline included. */
static bool line_after_blank(const struct tokens *toks, const char *src, size_t i,
			     size_t *ret_strip)
{
	if (i + 1 == toks->n) {
		*ret_strip = 0;
		return true;
	}
	const struct token *n = &toks->v[i + 1];
	if (n->type != T_TEXT)
		return false;
	size_t e = n->start;
	while (e < n->end && (is_blank(src[e]) || src[e] == '\r'))
		e++;
	if (e < n->end ? src[e] != '\n' : i + 2 != toks->n)
		return false;
	*ret_strip = (e < n->end ? e + 1 : e) - n->start;
	return true;
}

static bool in_parent(const struct tokens *toks, ssize_t i)
{
	ssize_t c = toks->v[i].container;
	return c >= 0 && toks->v[c].type == T_PARENT;
}

static void strip_around(struct tokens *toks, size_t i, size_t ws, size_t ws_len, size_t strip)
{
	struct token *t = &toks->v[i];
	t->standalone = true;
	t->ws = ws;
	t->ws_len = ws_len;
	if (i > 0 && toks->v[i - 1].type == T_TEXT && ws_len > toks->v[i - 1].rstrip)
		toks->v[i - 1].rstrip = ws_len;
	if (i + 1 < toks->n && toks->v[i + 1].type == T_TEXT && strip > toks->v[i + 1].lstrip)
		toks->v[i + 1].lstrip = strip;
}

/* A tag alone on its line (apart from white space) takes the line with it. Inheritance
 * widens this: a whole {{<parent}}...{{/parent}} counts as one tag, and inside a parent the
 * text around blocks is ignored anyway, so "{{<parent}}{{$block}}" still starts a block
 * on its own line. */
static void mark_standalone(struct tokens *toks, const char *src)
{
	for (size_t i = 0; i < toks->n; i++) {
		struct token *t = &toks->v[i];
		size_t ws = 0, ws_len = 0, strip = 0;
		if (t->type == T_TEXT || t->type == T_VAR || t->type == T_RAW)
			continue;
		bool before = line_before_blank(toks, src, i, &ws, &ws_len);
		bool after = line_after_blank(toks, src, i, &strip);
		if (!before && t->type == T_BLOCK && in_parent(toks, (ssize_t)i) &&
		    toks->v[i - 1].type != T_TEXT) {
			before = true;
			ws = t->start;
		}
		if (!after && t->type == T_CLOSE && toks->v[t->match].type == T_BLOCK &&
		    in_parent(toks, t->match) && i + 1 < toks->n && toks->v[i + 1].type != T_TEXT)
			after = true;
		if (before && after)
			strip_around(toks, i, ws, ws_len, strip);
		if (t->type == T_PARENT && before &&
		    line_after_blank(toks, src, (size_t)t->match, &strip)) {
			strip_around(toks, i, ws, ws_len, 0);
			strip_around(toks, (size_t)t->match, 0, 0, strip);
		}
	}
}

/* The part of indentation `a` beyond the enclosing indentation `outer`. */
static size_t relative_indent(const char *src, size_t a, size_t a_len, const char *outer,
			      size_t outer_len)
{
	size_t k = 0;
	while (k < a_len && k < outer_len && src[a + k] == outer[k])
		k++;
	return k;
}

struct frame {
	struct node node;
	struct nodelist kids;
	const char *dedent; /* indentation removed from line starts of this block's text */
	size_t dedent_len;
};

static char **split_path(const char *s, size_t n)
{
	char **v = NULL;
	if (n == 1 && s[0] == '.')
		return NULL;
	for (;;) {
		const char *dot = memchr(s, '.', n);
		size_t seg = dot ? (size_t)(dot - s) : n;
		strv_push(&v, xstrndup(s, seg));
		if (!dot)
			return v;
		s += seg + 1;
		n -= seg + 1;
	}
}

static struct node text_node(const char *src, const struct token *t, bool line_start,
			     const char *dedent, size_t dedent_len)
{
	const char *s = src + t->start + t->lstrip;
	const char *e = src + t->end - t->rstrip;
	strbuf b = {0};
	while (s < e) {
		if (line_start)
			for (size_t k = 0; k < dedent_len && s < e && *s == dedent[k]; k++)
				s++;
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		const char *stop = nl ? nl + 1 : e;
		strbuf_add(&b, s, (size_t)(stop - s));
		s = stop;
		line_start = nl != NULL;
	}
	struct node n = {.type = N_TEXT, .offset = t->start, .len = b.len};
	n.str = strbuf_steal(&b);
	return n;
}

static int build_tree(const char *src, struct tokens *toks, struct nodelist *ret)
{
	struct frame stack[TEMPLATE_MAX_NESTING + 1];
	size_t depth = 0;
	stack[0] = (struct frame){.dedent = ""};

	for (size_t i = 0; i < toks->n; i++) {
		const struct token *t = &toks->v[i];
		struct frame *f = &stack[depth];
		struct node n = {.offset = t->start, .dynamic = t->dynamic};
		size_t rel;

		switch (t->type) {
		case T_TEXT:
			if (t->start + t->lstrip + t->rstrip >= t->end)
				continue;
			n = text_node(src, t, i == 0 || t->lstrip > 0, f->dedent, f->dedent_len);
			if (n.len == 0) {
				node_done(&n);
				continue;
			}
			nodelist_push(&f->kids, n);
			continue;
		case T_COMMENT:
		case T_DELIM:
			continue;
		case T_VAR:
		case T_RAW:
			n.type = N_VAR;
			n.escape = t->type == T_VAR;
			n.path = split_path(src + t->name, t->name_len);
			nodelist_push(&f->kids, n);
			continue;
		case T_PARTIAL:
		case T_PARENT:
			n.type = t->type == T_PARTIAL ? N_PARTIAL : N_PARENT;
			n.str = xstrndup(src + t->name, t->name_len);
			if (t->dynamic)
				n.path = split_path(src + t->name, t->name_len);
			if (t->standalone) {
				rel = relative_indent(src, t->ws, t->ws_len, f->dedent, f->dedent_len);
				n.indent = src + t->ws + rel;
				n.indent_len = t->ws_len - rel;
			}
			if (t->type == T_PARTIAL) {
				nodelist_push(&f->kids, n);
				continue;
			}
			break;
		case T_SECTION:
		case T_INVERTED:
			n.type = t->type == T_SECTION ? N_SECTION : N_INVERTED;
			n.path = split_path(src + t->name, t->name_len);
			break;
		case T_BLOCK:
			n.type = N_BLOCK;
			n.str = xstrndup(src + t->name, t->name_len);
			break;
		case T_CLOSE: {
			struct frame *parent = &stack[depth - 1];
			f->node.kids = f->kids.v;
			f->node.n_kids = f->kids.n;
			nodelist_push(&parent->kids, f->node);
			depth--;
			continue;
		}
		}

		/* Open a container. A block re-indents its content: when its tag stands alone,
		 * the indentation of its first line is what counts, else that of its tag. */
		struct frame *nf = &stack[++depth];
		*nf = (struct frame){.node = n, .dedent = f->dedent, .dedent_len = f->dedent_len};
		if (t->type == T_BLOCK) {
			size_t ws = 0, ws_len = 0;
			if (t->standalone) {
				if (i + 1 < toks->n && toks->v[i + 1].type == T_TEXT) {
					const struct token *x = &toks->v[i + 1];
					ws = x->start + x->lstrip;
					while (ws + ws_len < x->end && is_blank(src[ws + ws_len]))
						ws_len++;
				}
			} else if (!line_before_blank(toks, src, i, &ws, &ws_len))
				continue;
			rel = relative_indent(src, ws, ws_len, f->dedent, f->dedent_len);
			nf->node.indent = src + ws + rel;
			nf->node.indent_len = ws_len - rel;
			nf->dedent = src + ws;
			nf->dedent_len = ws_len;
		}
	}
	*ret = stack[0].kids;
	return 0;
}

int template_parse(const char *name, const char *src, struct template **ret, char **ret_error)
{
	struct tokens toks = {0};
	struct nodelist nodes = {0};
	int r = tokenize(name, src, &toks, ret_error);
	if (r >= 0) {
		mark_standalone(&toks, src);
		r = build_tree(src, &toks, &nodes);
	}
	free(toks.v);
	if (r < 0)
		return r;
	struct template *t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->src = src;
	t->nodes = nodes.v;
	t->n_nodes = nodes.n;
	*ret = t;
	return 0;
}

