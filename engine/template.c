/* template: see template.h. Rendering walks the tree from template-parse.c with a context
 * stack. Partials are looked up on first use in a template_render() call and kept for the
 * rest of it. Parsed trees are kept across calls (the last PARSED_MAX, by name and exact
 * text): a burst of answers renders the same confirmation templates thousands of times, and
 * parsing them was most of the cost. */
#define _GNU_SOURCE
#include "template.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "template-private.h"
#include "util.h"

/* A partial (or parent, or block override) may nest this deep; beyond it the template is
 * almost certainly including itself forever. */
#define MAX_DEPTH 64
/* Refuse to build more output than this: nested partials can expand exponentially. */
#define MAX_OUTPUT ((size_t)16 << 20)
#define MAX_TEMPLATE_FILE ((size_t)1 << 20)


struct override {
	const struct node *parent; /* its block children are the arguments */
	const struct template *tpl;
	const struct override *up;
};

/* A parsed template, shared by the renders that use it. */
struct parsed {
	char *name;
	struct template *tpl; /* owns its source text */
	unsigned refs;        /* renders using it */
	bool listed;          /* in parsed_list */
	uint64_t used;
};

#define PARSED_MAX 32
static pthread_mutex_t parsed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct parsed *parsed_list[PARSED_MAX];
static size_t n_parsed;
static uint64_t parsed_clock;

static void parsed_free(struct parsed *p)
{
	free(p->name);
	template_free(p->tpl);
	free(p);
}

static void parsed_unref(struct parsed *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&parsed_lock);
	bool last = --p->refs == 0 && !p->listed;
	pthread_mutex_unlock(&parsed_lock);
	if (last)
		parsed_free(p);
}

/* The parsed tree of `src` called `name`, a reference taken; *owned (malloc'd, may be NULL)
 * is the text if the caller has a copy to give, taken either way. */
static int parsed_get(const char *name, const char *src, char **owned, struct parsed **ret,
		      char **ret_error)
{
	_cleanup_free_ char *text = owned ? TAKE_PTR(*owned) : NULL;
	pthread_mutex_lock(&parsed_lock);
	for (size_t i = 0; i < n_parsed; i++) {
		struct parsed *p = parsed_list[i];
		if (STREQ(p->name, name) && STREQ(p->tpl->owned_src, src)) {
			p->refs++;
			p->used = ++parsed_clock;
			pthread_mutex_unlock(&parsed_lock);
			*ret = p;
			return 0;
		}
	}
	pthread_mutex_unlock(&parsed_lock);

	if (!text)
		text = xstrdup(src);
	struct template *t = NULL;
	int k = template_parse(name, text, &t, ret_error);
	if (k < 0)
		return k;
	t->owned_src = TAKE_PTR(text);
	struct parsed *p = xcalloc(1, sizeof(*p));
	*p = (struct parsed){.name = xstrdup(name), .tpl = t, .refs = 1, .listed = true};

	struct parsed *gone = NULL;
	pthread_mutex_lock(&parsed_lock);
	p->used = ++parsed_clock;
	if (n_parsed == PARSED_MAX) { /* the least recently used makes room */
		size_t lru = 0;
		for (size_t i = 1; i < n_parsed; i++)
			if (parsed_list[i]->used < parsed_list[lru]->used)
				lru = i;
		gone = parsed_list[lru];
		gone->listed = false;
		if (gone->refs > 0)
			gone = NULL; /* its last render frees it */
		parsed_list[lru] = parsed_list[--n_parsed];
	}
	parsed_list[n_parsed++] = p;
	pthread_mutex_unlock(&parsed_lock);
	if (gone)
		parsed_free(gone);
	*ret = p;
	return 0;
}

struct cached {
	char *name;
	struct parsed *p; /* NULL: no such partial */
};

struct render {
	template_partial_fn partial;
	void *userdata;
	strbuf out;
	strbuf indent;
	bool bol; /* at the beginning of a line: indentation still to write */
	const cJSON **ctx;
	size_t n_ctx, cap_ctx;
	const struct override *overrides;
	unsigned depth;
	struct cached *cache;
	size_t n_cache;
	char *error;
};

static int render_nodes(struct render *r, const struct template *tpl, const struct node *nodes,
			size_t n);

static void put_indent(struct render *r)
{
	if (r->bol && r->indent.len > 0)
		strbuf_add(&r->out, r->indent.s, r->indent.len);
	r->bol = false;
}

/* Text from a template: every line it starts gets the current indentation, except empty
 * lines (indenting those would only add trailing white space). */
static void emit_text(struct render *r, const char *s, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		size_t line = nl ? (size_t)(nl - s) + 1 : n;
		if (r->bol && !(nl && (line == 1 || (line == 2 && s[0] == '\r'))))
			put_indent(r);
		strbuf_add(&r->out, s, line);
		if (nl)
			r->bol = true;
		s += line;
		n -= line;
	}
}

/* A value: indented where it starts, but its own newlines are data, not template lines. */
static void emit_value(struct render *r, const char *s, bool escape)
{
	if (!*s)
		return;
	put_indent(r);
	if (!escape) {
		strbuf_puts(&r->out, s);
		return;
	}
	for (const char *p = s;; p++) {
		const char *ent;
		size_t run = strcspn(p, "&\"<>");
		strbuf_add(&r->out, p, run);
		p += run;
		switch (*p) {
		case '&': ent = "&amp;"; break;
		case '"': ent = "&quot;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		default: return;
		}
		strbuf_puts(&r->out, ent);
	}
}

/* Numbers as a person writes them: 85, 1.5, 0.1 (not 85.000000 or 0.10000000000000001). */
static void format_number(double d, char *buf, size_t size)
{
	if (d == 0) {
		snprintf(buf, size, "0");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e15) {
		/* What "%.0f" writes for a whole number (a question's number in every
		 * confirmation), without printf's floating-point path. */
		snprintf(buf, size, "%lld", (long long)d);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* Past the first part of a dotted name, a number indexes a list: {{#items.0}} is true
 * when the list is not empty, so a template can put a heading above it once. */
/* cJSON_GetObjectItemCaseSensitive(), without a strcmp() call for every key that does not
 * even start the same: a confirmation's data has some thirty keys, and its template looks
 * most of its names up through them (bench/slack-ingress). */
static const cJSON *member(const cJSON *o, const char *key)
{
	for (const cJSON *c = o->child; c && c->string; c = c->next)
		if (c->string[0] == key[0] && STREQ(c->string, key))
			return c;
	return NULL;
}

static const cJSON *child(const cJSON *v, const char *key)
{
	if (cJSON_IsObject(v))
		return member(v, key);
	long idx;
	if (cJSON_IsArray(v) && key[0] >= '0' && key[0] <= '9' &&
	    parse_long(key, 0, INT32_MAX, &idx) >= 0)
		return cJSON_GetArrayItem(v, (int)idx);
	return NULL;
}

static const cJSON *lookup(const struct render *r, char *const *path)
{
	if (r->n_ctx == 0)
		return NULL;
	if (!path)
		return r->ctx[r->n_ctx - 1];
	const cJSON *v = NULL;
	for (size_t i = r->n_ctx; i > 0 && !v; i--)
		if (cJSON_IsObject(r->ctx[i - 1]))
			v = member(r->ctx[i - 1], path[0]);
	for (size_t k = 1; v && path[k]; k++)
		v = child(v, path[k]);
	return v;
}

/* Mustache's falsy values, plus the empty string so that {{#note}}...{{/note}} can test
 * for an optional text. */
static bool truthy(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v) || cJSON_IsInvalid(v))
		return false;
	if (cJSON_IsArray(v))
		return v->child != NULL;
	if (cJSON_IsString(v))
		return v->valuestring && v->valuestring[0];
	return true;
}

static void ctx_push(struct render *r, const cJSON *v)
{
	if (r->n_ctx == r->cap_ctx) {
		r->cap_ctx = r->cap_ctx ? r->cap_ctx * 2 : 16;
		r->ctx = xrealloc(r->ctx, r->cap_ctx * sizeof(*r->ctx));
	}
	r->ctx[r->n_ctx++] = v;
}

static void render_var(struct render *r, const struct node *n)
{
	const cJSON *v = lookup(r, n->path);
	char num[64];
	if (cJSON_IsString(v) && v->valuestring)
		emit_value(r, v->valuestring, n->escape);
	else if (cJSON_IsNumber(v)) {
		format_number(v->valuedouble, num, sizeof num);
		emit_value(r, num, false);
	} else if (cJSON_IsBool(v))
		emit_value(r, cJSON_IsTrue(v) ? "true" : "false", false);
}

static int render_section(struct render *r, const struct template *tpl, const struct node *n)
{
	const cJSON *v = lookup(r, n->path);
	int ret = 0;
	if (n->type == N_INVERTED)
		return truthy(v) ? 0 : render_nodes(r, tpl, n->kids, n->n_kids);
	if (!truthy(v))
		return 0;
	const cJSON *items = cJSON_IsArray(v) ? v->child : v;
	for (const cJSON *it = items; it && ret >= 0; it = cJSON_IsArray(v) ? it->next : NULL) {
		ctx_push(r, it);
		ret = render_nodes(r, tpl, n->kids, n->n_kids);
		r->n_ctx--;
	}
	return ret;
}

static int load_partial(struct render *r, const struct template *from, const struct node *n,
			const char *name, const struct template **ret)
{
	for (size_t i = 0; i < r->n_cache; i++)
		if (STREQ(r->cache[i].name, name)) {
			*ret = r->cache[i].p ? r->cache[i].p->tpl : NULL;
			return 0;
		}

	_cleanup_free_ char *text = NULL;
	struct parsed *p = NULL;
	int k = r->partial ? r->partial(name, &text, r->userdata) : -ENOENT;
	if (k < 0 && k != -ENOENT) {
		template_error(&r->error, from->name, from->src, n->offset,
			     "cannot load partial \"%s\": %s", name, strerror(-k));
		return k;
	}
	if (k >= 0) {
		const char *src = text;
		k = parsed_get(name, src, &text, &p, &r->error);
		if (k < 0)
			return k;
	}
	r->cache = xrealloc(r->cache, (r->n_cache + 1) * sizeof(*r->cache));
	r->cache[r->n_cache++] = (struct cached){.name = xstrdup(name), .p = p};
	*ret = p ? p->tpl : NULL;
	return 0;
}

/* Renders `nodes` one level deeper, with `indent` added to each line they start. */
static int render_nested(struct render *r, const struct template *from, const struct node *at,
			 const struct template *tpl, const struct node *nodes, size_t n,
			 const char *indent, size_t indent_len)
{
	if (r->depth >= MAX_DEPTH) {
		template_error(&r->error, from->name, from->src, at->offset,
			     "partials nested more than %d deep (does \"%s\" include itself?)",
			     MAX_DEPTH, at->str ? at->str : "");
		return -ELOOP;
	}
	size_t old = r->indent.len;
	if (indent_len > 0)
		strbuf_add(&r->indent, indent, indent_len);
	r->depth++;
	int ret = render_nodes(r, tpl, nodes, n);
	r->depth--;
	r->indent.len = old;
	if (r->indent.s)
		r->indent.s[old] = 0;
	return ret;
}

static int render_partial(struct render *r, const struct template *tpl, const struct node *n)
{
	const char *name = n->str;
	const struct template *p = NULL;
	if (n->dynamic) {
		const cJSON *v = lookup(r, n->path);
		if (!cJSON_IsString(v) || !v->valuestring)
			return 0;
		name = v->valuestring;
	}
	int ret = load_partial(r, tpl, n, name, &p);
	if (ret < 0 || !p)
		return ret;

	const struct override *saved = r->overrides;
	struct override o = {.parent = n, .tpl = tpl, .up = saved};
	if (n->type == N_PARENT)
		r->overrides = &o;
	ret = render_nested(r, tpl, n, p, p->nodes, p->n_nodes, n->indent, n->indent_len);
	r->overrides = saved;
	return ret;
}

/* The outermost override wins: the template that started the chain of parents has the
 * last word on what each block holds. */
static int render_block(struct render *r, const struct template *tpl, const struct node *n)
{
	const struct node *found = NULL;
	const struct template *found_tpl = NULL;
	for (const struct override *o = r->overrides; o; o = o->up)
		for (size_t i = 0; i < o->parent->n_kids; i++) {
			const struct node *k = &o->parent->kids[i];
			if (k->type == N_BLOCK && STREQ(k->str, n->str)) {
				found = k;
				found_tpl = o->tpl;
			}
		}
	if (!found)
		return render_nested(r, tpl, n, tpl, n->kids, n->n_kids, n->indent,
				     n->indent_len);
	return render_nested(r, tpl, n, found_tpl, found->kids, found->n_kids, n->indent,
			     n->indent_len);
}

static int render_nodes(struct render *r, const struct template *tpl, const struct node *nodes,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct node *k = &nodes[i];
		int ret = 0;
		switch (k->type) {
		case N_TEXT: emit_text(r, k->str, k->len); break;
		case N_VAR: render_var(r, k); break;
		case N_SECTION:
		case N_INVERTED: ret = render_section(r, tpl, k); break;
		case N_PARTIAL:
		case N_PARENT: ret = render_partial(r, tpl, k); break;
		case N_BLOCK: ret = render_block(r, tpl, k); break;
		}
		if (ret < 0)
			return ret;
		if (r->out.len > MAX_OUTPUT) {
			template_error(&r->error, tpl->name, tpl->src, k->offset,
				     "output larger than %zu MiB", MAX_OUTPUT >> 20);
			return -EFBIG;
		}
	}
	return 0;
}

int template_render(const char *name, const char *text, const cJSON *data,
		    template_partial_fn partial, void *userdata, char **ret_out, char **ret_error)
{
	struct parsed *p = NULL;
	struct render r = {.partial = partial, .userdata = userdata, .bol = true};
	int ret;

	if (!name || !text || !ret_out)
		return -EINVAL;
	/* A message's text is a few hundred bytes: one allocation, not four doublings. */
	strbuf_reserve(&r.out, 511);
	ret = parsed_get(name, text, NULL, &p, &r.error);
	const struct template *t = p ? p->tpl : NULL;
	if (ret >= 0) {
		if (data)
			ctx_push(&r, data);
		ret = render_nodes(&r, t, t->nodes, t->n_nodes);
	}

	if (ret >= 0)
		*ret_out = strbuf_steal(&r.out);
	else if (ret_error && r.error)
		*ret_error = TAKE_PTR(r.error);
	free(r.error);
	strbuf_done(&r.out);
	strbuf_done(&r.indent);
	free(r.ctx);
	for (size_t i = 0; i < r.n_cache; i++) {
		free(r.cache[i].name);
		parsed_unref(r.cache[i].p);
	}
	free(r.cache);
	parsed_unref(p);
	return ret < 0 ? ret : 0;
}

int template_dirs_partial(const char *name, char **ret_text, void *userdata)
{
	const char *const *dirs = userdata;
	if (!name || !name_is_safe(name) || !dirs)
		return -ENOENT;
	for (size_t i = 0; dirs[i]; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], name);
		char *text = NULL;
		int r = read_file(path, MAX_TEMPLATE_FILE, &text, NULL);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r < 0)
			return r;
		*ret_text = text;
		return 0;
	}
	return -ENOENT;
}
