/* config: see config.h.
 *
 * Loading runs in three passes over each file:
 *   1. read: inih splits lines into sections and Key=Value entries. Our reader hands inih
 *      one line at a time, so it knows the line number of every entry (Debian's inih is
 *      built without INI_HANDLER_LINENO), sees section headers (inih has no callback for
 *      them) and lines inih would reject silently, and takes over lines longer than
 *      inih's fixed 200-byte buffer.
 *   2. apply: each section's entries go through that section's key table.
 *   3. check: references between sections (audiences, vote sources, questions) and the
 *      rules that need the whole campaign.
 * Every problem is collected, sorted by file and line, and returned together. */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <ini.h>
#include <libical/ical.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* a config file is written by hand */
#define VALUE_MAX 65536               /* longest value, continuation lines included */
#define LIST_MAX 64                   /* most entries in Email=, Remind=, Options=, ... */

/* ---- enum tables ---- */

static const char *const side_table[_SIDE_MAX] = {
	[SIDE_CLIENT] = "client",
	[SIDE_PROVIDER] = "provider",
};
static const char *const round_kind_table[_ROUND_KIND_MAX] = {
	[ROUND_PROMPT] = "prompt",
	[ROUND_SURVEY] = "survey",
	[ROUND_VOTE] = "vote",
	[ROUND_ANNOUNCE] = "announce",
};
static const char *const question_kind_table[_QUESTION_KIND_MAX] = {
	[QUESTION_SCALE] = "scale", [QUESTION_CHOICE] = "choice", [QUESTION_MULTI] = "multi",
	[QUESTION_TEXT] = "text",   [QUESTION_NPS] = "nps",
};

static const char *table_to_string(const char *const *t, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? t[v] : NULL;
}

static int table_from_string(const char *const *t, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (STREQ(t[i], s))
			return (int)i;
	return -EINVAL;
}

const char *side_to_string(coco_side s)
{
	return table_to_string(side_table, ELEMENTSOF(side_table), s);
}
coco_side side_from_string(const char *s)
{
	return table_from_string(side_table, ELEMENTSOF(side_table), s);
}
const char *round_kind_to_string(round_kind k)
{
	return table_to_string(round_kind_table, ELEMENTSOF(round_kind_table), k);
}
round_kind round_kind_from_string(const char *s)
{
	return table_from_string(round_kind_table, ELEMENTSOF(round_kind_table), s);
}
const char *question_kind_to_string(question_kind k)
{
	return table_to_string(question_kind_table, ELEMENTSOF(question_kind_table), k);
}
question_kind question_kind_from_string(const char *s)
{
	return table_from_string(question_kind_table, ELEMENTSOF(question_kind_table), s);
}

static const char *const connector_names[] = {"local", "email", "slack", "matrix"};

/* ---- errors ---- */

typedef struct cerror {
	size_t file; /* index into ctx.files */
	unsigned line;
	size_t seq;
	char *msg;
} cerror;

#define KEYS_MAX 16
/* The line each key of one section instance was set on; 0 = not set. Pass 3 uses it to
 * report a reference error at the line that makes the reference. */
typedef struct key_lines {
	unsigned line[KEYS_MAX];
	unsigned bad; /* bit k: key k was given but its value was rejected (and reported) */
} key_lines;

/* A key that was given counts as present even if its value was rejected, so that one
 * mistake gives one error, not a second "missing" one. */
static bool key_bad(const key_lines *kl, unsigned k)
{
	return kl->bad & (1u << k);
}

typedef struct pending_question {
	char *round_id;
	coco_question q;
	key_lines kl;
} pending_question;

/* One campaign while its file is being applied. */
typedef struct camp_build {
	coco_campaign *c;
	unsigned campaign_line;
	key_lines camp_kl, digest_kl;
	key_lines *member_kl, *round_kl; /* parallel to c->members, c->rounds */
	pending_question *qs;
	size_t n_qs;
} camp_build;

typedef struct ctx {
	coco_config *cfg;
	char **files; /* file names, for the error prefix */
	size_t n_files, cur_file;
	cerror *errors;
	size_t n_errors;
	camp_build *camp; /* the campaign being applied, for keys that look across members */
	unsigned connectors_line;
} ctx;

static void cerr(ctx *c, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void cerr(ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	c->errors = xrealloc(c->errors, (c->n_errors + 1) * sizeof(cerror));
	c->errors[c->n_errors] = (cerror){c->cur_file, line, c->n_errors, msg};
	c->n_errors++;
}

/* Values can be 64 KiB; an error message quotes at most the start of one. */
#define VAL_FMT "%.*s%s"
#define VAL_ARG(v) 60, (v), strlen(v) > 60 ? "..." : ""

/* ---- pass 1: read ---- */

typedef struct raw_entry {
	char *key;
	strbuf value;
	unsigned line;
	bool multiline;
} raw_entry;

typedef struct raw_section {
	char *head; /* between the brackets, stripped; NULL for a malformed header */
	unsigned line;
	raw_entry *entries;
	size_t n_entries;
} raw_section;

typedef enum line_kind { LINE_NONE, LINE_BLANK, LINE_KEY, LINE_CONT } line_kind;

typedef struct reader {
	ctx *c;
	const char *buf;
	size_t len, pos;
	unsigned lineno;
	line_kind kind;   /* of the current line */
	bool handled;     /* inih called us for the current line */
	bool have_name;   /* like inih's prev_name: an indented line continues a value */
	bool blank_since; /* a blank line since the last value line: a paragraph break */
	raw_entry *last;  /* where continuation lines go; NULL after a rejected line */
	raw_section *sections;
	size_t n_sections;
} reader;

static raw_entry *reader_add_entry(reader *r, const char *key, const char *value)
{
	r->have_name = true;
	r->blank_since = false;
	r->last = NULL;
	if (r->n_sections == 0) {
		cerr(r->c, r->lineno, "%s= outside a section: expected a [Section] header first",
		     key);
		return NULL;
	}
	raw_section *s = &r->sections[r->n_sections - 1];
	if (!s->head) /* the header was already reported */
		return NULL;
	if (strlen(value) > VALUE_MAX) {
		cerr(r->c, r->lineno, "%s= is too long: expected at most %d bytes", key, VALUE_MAX);
		return NULL;
	}
	s->entries = xrealloc(s->entries, (s->n_entries + 1) * sizeof(raw_entry));
	raw_entry *e = &s->entries[s->n_entries++];
	*e = (raw_entry){.key = xstrdup(key), .line = r->lineno};
	strbuf_puts(&e->value, value);
	return r->last = e;
}

static void reader_continue(reader *r, const char *value)
{
	raw_entry *e = r->last;
	if (!e)
		return;
	if (e->value.len + strlen(value) + 2 > VALUE_MAX) {
		cerr(r->c, r->lineno, "%s= is too long: expected at most %d bytes", e->key,
		     VALUE_MAX);
		r->last = NULL;
		return;
	}
	strbuf_puts(&e->value, r->blank_since ? "\n\n" : "\n");
	strbuf_puts(&e->value, value);
	e->multiline = true;
	r->blank_since = false;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value)
{
	reader *r = user;
	r->handled = true;
	if (!*name)
		cerr(r->c, r->lineno, "a value without a key: expected Key=Value");
	else
		reader_add_entry(r, name, value);
	return 1;
}

/* A line inih's buffer cannot hold: split Key=Value the way inih does, ';' after
 * whitespace starting a comment. */
static void reader_long_line(reader *r, char *line)
{
	size_t k = strcspn(line, "=:");
	if (!line[k]) {
		cerr(r->c, r->lineno, "expected Key=Value, a [Section] header or a comment");
		return;
	}
	line[k] = 0;
	char *v = line + k + 1;
	for (char *p = v; *p; p++)
		if (*p == ';' && p > v && isspace((unsigned char)p[-1])) {
			*p = 0;
			break;
		}
	char *key = strstrip(line);
	if (!*key)
		cerr(r->c, r->lineno, "a value without a key: expected Key=Value");
	else
		reader_add_entry(r, key, strstrip(v));
}

static void reader_section(reader *r, char *s)
{
	r->have_name = false;
	r->last = NULL;
	r->sections = xrealloc(r->sections, (r->n_sections + 1) * sizeof(raw_section));
	raw_section *sec = &r->sections[r->n_sections++];
	*sec = (raw_section){.line = r->lineno};
	char *end = strchr(s, ']');
	if (!end) {
		cerr(r->c, r->lineno, "expected ']' to close the section header");
		return;
	}
	char *rest = end + 1;
	rest += strspn(rest, " \t");
	if (*rest && *rest != ';' && *rest != '#') {
		cerr(r->c, r->lineno,
		     "text after the section header: expected a comment or nothing");
		return;
	}
	*end = 0;
	sec->head = xstrdup(strstrip(s + 1));
}

/* inih's reader callback: fgets semantics over our buffer, one line per call. */
static char *reader_next(char *str, int num, void *stream)
{
	reader *r = stream;
	if (r->kind == LINE_KEY && !r->handled)
		cerr(r->c, r->lineno, "expected Key=Value, a [Section] header or a comment");
	r->kind = LINE_NONE;
	r->handled = false;
	if (r->pos >= r->len)
		return NULL;

	const char *start = r->buf + r->pos;
	const char *nl = memchr(start, '\n', r->len - r->pos);
	size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
	r->pos += n + (nl ? 1 : 0);
	r->lineno++;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (r->lineno == 1 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		n -= 3;
	}
	memcpy(str, "\n", 2); /* what inih sees for every line we handle ourselves */

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)start[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			cerr(r->c, r->lineno,
			     "control character 0x%02x: expected text (is this a binary file?)",
			     ch);
			r->last = NULL;
			return str;
		}
	}
	if (n > VALUE_MAX + 1024) {
		cerr(r->c, r->lineno, "line too long: expected at most %d bytes", VALUE_MAX);
		r->last = NULL;
		return str;
	}

	_cleanup_free_ char *line = xstrndup(start, n);
	const char *s = line + strspn(line, " \t");
	if (!*s) {
		r->blank_since = true;
		r->kind = LINE_BLANK;
		return str;
	}
	if (*s == ';' || *s == '#')
		return str;
	if (r->have_name && s > line) {
		/* inih would hand us the stripped line as another value of the same key; doing
		 * it here keeps continuations right even after a line inih never saw. */
		r->kind = LINE_CONT;
		reader_continue(r, strstrip(line));
		return str;
	} else if (*s == '[') {
		reader_section(r, line + (s - line));
		memcpy(str, "[s]\n", 5); /* so inih, too, forgets the previous key */
		return str;
	} else
		r->kind = LINE_KEY;

	if (n + 2 > (size_t)num) {
		reader_long_line(r, line);
		r->handled = true;
		return str;
	}
	memcpy(str, line, n);
	str[n] = '\n';
	str[n + 1] = 0;
	return str;
}

static void raw_sections_free(raw_section *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < s[i].n_entries; j++) {
			free(s[i].entries[j].key);
			strbuf_done(&s[i].entries[j].value);
		}
		free(s[i].entries);
		free(s[i].head);
	}
	free(s);
}

/* Reads one file into sections. Returns -errno if it cannot be read (reported). */
static int read_sections(ctx *c, const char *path, raw_section **ret, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file(path, CONFIG_FILE_MAX, &buf, &len);
	if (r == -EFBIG) {
		cerr(c, 0, "too large: expected at most %d bytes", CONFIG_FILE_MAX);
		return r;
	}
	if (r < 0) {
		cerr(c, 0, "cannot read: %s", strerror(-r));
		return r;
	}
	reader rd = {.c = c, .buf = buf, .len = len};
	ini_parse_stream(reader_next, &rd, ini_handler_fn, &rd);
	*ret = rd.sections;
	*ret_n = rd.n_sections;
	return 0;
}

/* ---- pass 2: the key tables ---- */

typedef struct key_def key_def;
typedef void (*value_parser)(ctx *c, const key_def *k, const char *v, void *obj, unsigned line);

struct key_def {
	const char *name;
	value_parser parse;
	size_t off;             /* the field */
	size_t off_list, off_n; /* list keys: the array and its length */
	long min, max;          /* numbers */
	bool multiline;         /* indented continuation lines allowed */
	const char *doc;        /* one line, mirrored in docs/config.md */
};

#define FIELD(obj, off, type) ((type *)(void *)((char *)(obj) + (off)))

/* Splits on any of seps, dropping empty items. */
static char **split(const char *v, const char *seps)
{
	char **l = NULL;
	while (*v) {
		size_t n = strcspn(v, seps);
		_cleanup_free_ char *item = xstrndup(v, n);
		char *t = strstrip(item);
		if (*t)
			strv_push(&l, xstrdup(t));
		v += n;
		if (*v)
			v++;
	}
	return l;
}

static void set_list(void *obj, const key_def *k, char **l)
{
	char ***dst = FIELD(obj, k->off_list, char **);
	size_t n = strv_length(*dst);
	for (size_t i = 0; i < n; i++)
		free((*dst)[i]);
	free(*dst);
	*dst = l;
	*FIELD(obj, k->off_n, size_t) = strv_length(l);
}

static void p_string(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **dst = FIELD(obj, k->off, char *);
	free(*dst);
	*dst = *v ? xstrdup(v) : NULL;
}

static void p_path(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (v[0] != '/') {
		cerr(c, line, "%s=" VAL_FMT ": expected an absolute path", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_listen(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	const char *colon = strrchr(v, ':');
	long port;
	bool ok = colon && colon > v && parse_long(colon + 1, 1, 65535, &port) >= 0;
	if (ok && v[0] == '[')
		ok = colon[-1] == ']' && colon - v > 2;
	if (!ok) {
		cerr(c, line, "%s=" VAL_FMT ": expected ADDRESS:PORT, like 127.0.0.1:8470", k->name,
		     VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_connectors(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **l = split(v, " ,\t");
	char **out = NULL;
	c->connectors_line = line;
	for (char **p = l; p && *p; p++) {
		if (table_from_string(connector_names, ELEMENTSOF(connector_names), *p) < 0)
			cerr(c, line, "%s=: unknown connector \"" VAL_FMT
			     "\": expected local, email, slack or matrix", k->name, VAL_ARG(*p));
		else if (table_from_string((const char *const *)out, strv_length(out), *p) < 0)
			strv_push(&out, xstrdup(*p)); /* a repeated name is harmless */
	}
	strv_free(l);
	if (!out) {
		cerr(c, line, "%s= is empty: expected one or more of local, email, slack, matrix",
		     k->name);
		return;
	}
	set_list(obj, k, out);
}

static bool email_is_valid(const char *e)
{
	const char *at = strchr(e, '@');
	return at && at > e && at[1] && !strchr(at + 1, '@') && !strpbrk(e, " \t<>\"(),;:");
}

static void p_mail_from(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (!email_is_valid(v)) {
		cerr(c, line, "%s=" VAL_FMT ": expected an email address like coco@example.org",
		     k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_timezone(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (strlen(v) > 64 || !icaltimezone_get_builtin_timezone(v)) {
		cerr(c, line, "%s=" VAL_FMT
		     ": unknown time zone, expected an IANA name like Europe/Helsinki or UTC",
		     k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static int parse_hhmm(const char *s, size_t n, int *ret)
{
	if (n != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -EINVAL;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -ERANGE;
	*ret = h * 60 + m;
	return 0;
}

static void p_quiet(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	coco_campaign *camp = obj;
	if (!*v || STREQ(v, "none")) {
		camp->quiet_start = camp->quiet_end = -1;
		return;
	}
	const char *dash = strchr(v, '-');
	int a, b;
	if (!dash || parse_hhmm(v, (size_t)(dash - v), &a) < 0 ||
	    parse_hhmm(dash + 1, strlen(dash + 1), &b) < 0 || a == b) {
		cerr(c, line, "%s=" VAL_FMT ": expected HH:MM-HH:MM like 21:00-08:00, or none",
		     k->name, VAL_ARG(v));
		return;
	}
	camp->quiet_start = a;
	camp->quiet_end = b;
}

static void p_enum(ctx *c, const key_def *k, const char *v, void *obj, unsigned line,
                   const char *const *t, size_t n)
{
	int i = table_from_string(t, n, v);
	if (i < 0) {
		strbuf b = {0};
		for (size_t j = 0; j < n; j++)
			strbuf_printf(&b, "%s%s", j ? (j + 1 == n ? " or " : ", ") : "", t[j]);
		cerr(c, line, "%s=" VAL_FMT ": expected %s", k->name, VAL_ARG(v), b.s);
		strbuf_done(&b);
		return;
	}
	*FIELD(obj, k->off, int) = i;
}

static void p_side(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	p_enum(c, k, v, obj, line, side_table, ELEMENTSOF(side_table));
}
static void p_round_kind(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	p_enum(c, k, v, obj, line, round_kind_table, ELEMENTSOF(round_kind_table));
}
static void p_question_kind(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	p_enum(c, k, v, obj, line, question_kind_table, ELEMENTSOF(question_kind_table));
}

static void p_bool(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (parse_bool(v, FIELD(obj, k->off, bool)) < 0)
		cerr(c, line, "%s=" VAL_FMT ": expected yes or no", k->name, VAL_ARG(v));
}

static void p_long(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (parse_long(v, k->min, k->max, FIELD(obj, k->off, long)) < 0)
		cerr(c, line, "%s=" VAL_FMT ": expected a whole number from %ld to %ld", k->name,
		     VAL_ARG(v), k->min, k->max);
}

static void p_unsigned(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	long n;
	if (parse_long(v, k->min, k->max, &n) < 0)
		cerr(c, line, "%s=" VAL_FMT ": expected a whole number from %ld to %ld", k->name,
		     VAL_ARG(v), k->min, k->max);
	else
		*FIELD(obj, k->off, unsigned) = (unsigned)n;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int parse_localtime(const char *v, coco_localtime *ret)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const char shape[] = "dddd-dd-dd dd:dd";
	if (strlen(v) != sizeof shape - 1)
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)v[i]) : v[i] != shape[i])
			return -EINVAL;
	int num[5], at[5] = {0, 5, 8, 11, 14}, len[5] = {4, 2, 2, 2, 2};
	for (int i = 0; i < 5; i++) {
		num[i] = 0;
		for (int j = 0; j < len[i]; j++)
			num[i] = num[i] * 10 + (v[at[i] + j] - '0');
	}
	if (num[0] < 1970 || num[1] < 1 || num[1] > 12 || num[2] < 1 ||
	    num[2] > mdays[num[1] - 1] + (num[1] == 2 && is_leap(num[0])) || num[3] > 23 ||
	    num[4] > 59)
		return -ERANGE;
	*ret = (coco_localtime){true, num[0], num[1], num[2], num[3], num[4]};
	return 0;
}

static void p_datetime(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (parse_localtime(v, FIELD(obj, k->off, coco_localtime)) < 0)
		cerr(c, line, "%s=" VAL_FMT ": expected a date and time like 2026-12-01 09:00",
		     k->name, VAL_ARG(v));
}

static void p_duration(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	int64_t d;
	if (parse_duration(v, &d) < 0 || d <= 0)
		cerr(c, line, "%s=" VAL_FMT ": expected a positive duration like 3d, 36h or 1w2d",
		     k->name, VAL_ARG(v));
	else
		*FIELD(obj, k->off, int64_t) = d;
}

static void p_rrule(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	icalerror_clear_errno();
	struct icalrecurrencetype rt = icalrecurrencetype_from_string(v);
	free(rt.rscale); /* libical strdup()s RSCALE= and leaves it to us */
	icalerror_clear_errno();
	if (rt.freq == ICAL_NO_RECURRENCE) {
		cerr(c, line, "%s=" VAL_FMT
		     ": expected an RFC 5545 RRULE like FREQ=WEEKLY;BYDAY=MO", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_remind(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **l = split(v, " ,\t");
	size_t n = strv_length(l);
	int64_t *out = xcalloc(n, sizeof(int64_t));
	bool ok = n <= LIST_MAX;
	if (!ok)
		cerr(c, line, "%s=: expected at most %d offsets", k->name, LIST_MAX);
	for (size_t i = 0; ok && i < n; i++)
		if (parse_duration(l[i], &out[i]) < 0 || out[i] >= 0) {
			cerr(c, line, "%s=" VAL_FMT ": expected negative offsets before the close, "
			     "like -2d,-4h", k->name, VAL_ARG(l[i]));
			ok = false;
		}
	strv_free(l);
	if (!ok) {
		free(out);
		return;
	}
	free(*FIELD(obj, k->off_list, int64_t *));
	*FIELD(obj, k->off_list, int64_t *) = out;
	*FIELD(obj, k->off_n, size_t) = n;
}

/* Audience=/Recipients=: all, client, provider, or member ids (checked in pass 3). */
static void p_audience(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	static const char *const words[] = {"all", "client", "provider"};
	static const audience_kind kinds[] = {AUDIENCE_ALL, AUDIENCE_CLIENT, AUDIENCE_PROVIDER};
	char **l = split(v, " ,\t");
	size_t n = strv_length(l);
	int w = n == 1 ? table_from_string(words, ELEMENTSOF(words), l[0]) : -1;
	if (w >= 0) {
		*FIELD(obj, k->off, audience_kind) = kinds[w];
		set_list(obj, k, NULL);
		strv_free(l);
		return;
	}
	bool ok = n > 0 && n <= LIST_MAX * 4;
	for (size_t i = 0; ok && i < n; i++)
		ok = name_is_safe(l[i]) && table_from_string(words, ELEMENTSOF(words), l[i]) < 0;
	if (!ok) {
		cerr(c, line, "%s=" VAL_FMT ": expected all, client, provider or member ids",
		     k->name, VAL_ARG(v));
		strv_free(l);
		return;
	}
	*FIELD(obj, k->off, audience_kind) = AUDIENCE_MEMBERS;
	set_list(obj, k, l);
}

static void p_id(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	if (!name_is_safe(v)) {
		cerr(c, line, "%s=" VAL_FMT ": expected an id of letters, digits and ._@+=- "
		     "(at most 64)", k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_options(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	char **l = split(v, "|");
	if (strv_length(l) > LIST_MAX) {
		cerr(c, line, "%s=: expected at most %d options", k->name, LIST_MAX);
		strv_free(l);
		return;
	}
	set_list(obj, k, l);
}

static void p_emails(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	coco_member *m = obj;
	char **l = split(v, " ,\t");
	for (char **p = l; p && *p; p++) {
		for (char *q = *p; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		const char *owner = NULL;
		for (size_t i = 0; i < m->n_emails; i++)
			if (STREQ(m->emails[i], *p))
				owner = m->id;
		for (size_t i = 0; c->camp && !owner && i < c->camp->c->n_members; i++) {
			const coco_member *o = &c->camp->c->members[i];
			for (size_t j = 0; o != m && j < o->n_emails; j++)
				if (STREQ(o->emails[j], *p))
					owner = o->id;
		}
		if (!email_is_valid(*p))
			cerr(c, line,
			     "%s=" VAL_FMT ": expected an email address like ana@example.org",
			     k->name, VAL_ARG(*p));
		else if (owner)
			cerr(c, line, "%s=%s: already used by member %s: expected each address "
			     "once", k->name, *p, owner);
		else if (m->n_emails >= LIST_MAX)
			cerr(c, line, "%s=: expected at most %d addresses", k->name, LIST_MAX);
		else {
			m->emails = xrealloc(m->emails, (m->n_emails + 2) * sizeof(char *));
			m->emails[m->n_emails++] = xstrdup(*p);
			m->emails[m->n_emails] = NULL;
		}
	}
	strv_free(l);
}

static void p_slack(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	bool ok = (v[0] == 'U' || v[0] == 'W') && strlen(v) >= 3 && strlen(v) <= 32;
	for (const char *p = v; ok && *p; p++)
		ok = isupper((unsigned char)*p) || isdigit((unsigned char)*p);
	if (!ok) {
		cerr(c, line, "%s=" VAL_FMT ": expected a Slack user id like U024BE7LH", k->name,
		     VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

static void p_matrix(ctx *c, const key_def *k, const char *v, void *obj, unsigned line)
{
	const char *colon = strchr(v, ':');
	if (v[0] != '@' || !colon || colon == v + 1 || !colon[1] || strpbrk(v, " \t") ||
	    strlen(v) > 255) {
		cerr(c, line, "%s=" VAL_FMT ": expected a Matrix user id like @ana:example.org",
		     k->name, VAL_ARG(v));
		return;
	}
	p_string(c, k, v, obj, line);
}

#define KEY(n, fn, T, field, d, ...)                                                               \
	{                                                                                          \
		.name = n, .parse = fn, .off = offsetof(T, field), .doc = d, __VA_ARGS__           \
	}
#define LIST(T, list, n) .off_list = offsetof(T, list), .off_n = offsetof(T, n)

static const key_def daemon_keys[] = {
	KEY("StateDirectory", p_path, coco_config, state_dir, "where answers, spools and state live (default /var/lib/coco)"),
	KEY("ControlSocket", p_path, coco_config, control_socket, "the cococtl socket (default /run/coco/control.sock)"),
	KEY("Listen", p_listen, coco_config, listen, "ADDRESS:PORT of the webhook ingress (default 127.0.0.1:8470)"),
	KEY("Connectors", p_connectors, coco_config, connectors, "which of local, email, slack, matrix run (default local)", LIST(coco_config, connectors, n_connectors)),
};
static const key_def mail_keys[] = {
	KEY("From", p_mail_from, coco_config, mail_from, "the sender address of outgoing mail"),
	KEY("Name", p_string, coco_config, mail_name, "the sender display name"),
};
static const key_def secrets_keys[] = {
	KEY("Directory", p_path, coco_config, secrets_dir, "where secret files are read (default $CREDENTIALS_DIRECTORY)"),
};
static const key_def local_keys[] = {
	KEY("Outbox", p_path, coco_config, local_outbox, "maildir the local connector delivers to (default STATE/local/outbox)"),
	KEY("Inbox", p_path, coco_config, local_inbox, "maildir the local connector reads answers from (default STATE/local/inbox)"),
};
static const key_def campaign_keys[] = {
	KEY("Id", p_id, coco_campaign, id, "the campaign id (default: the file name without .conf)"),
	KEY("Title", p_string, coco_campaign, title, "shown in messages and digests"),
	KEY("Description", p_string, coco_campaign, description, "Markdown; may continue on indented lines", .multiline = true),
	KEY("TimeZone", p_timezone, coco_campaign, timezone, "IANA time zone of Open=/Close= times (default UTC)"),
	KEY("Client", p_string, coco_campaign, client_name, "the client organisation's name"),
	KEY("Provider", p_string, coco_campaign, provider_name, "the provider organisation's name"),
	KEY("QuietHours", p_quiet, coco_campaign, quiet_start, "HH:MM-HH:MM in each member's time zone when nothing is sent, or none"),
};
static const key_def member_keys[] = {
	KEY("Name", p_string, coco_member, name, "display name (default: the id)"),
	KEY("Side", p_side, coco_member, side, "client or provider (required)"),
	KEY("Email", p_emails, coco_member, emails, "addresses, space or comma separated, repeatable; the first gets mail", LIST(coco_member, emails, n_emails)),
	KEY("Slack", p_slack, coco_member, slack_id, "Slack user id, like U024BE7LH"),
	KEY("Matrix", p_matrix, coco_member, matrix_id, "Matrix user id, like @ana:example.org"),
	KEY("TimeZone", p_timezone, coco_member, timezone, "the member's IANA time zone (default: the campaign's)"),
};
enum { ROUND_KEY_KIND, ROUND_KEY_OPEN = 3, ROUND_KEY_CLOSE, ROUND_KEY_DURATION, ROUND_KEY_REPEAT,
       ROUND_KEY_MAXREM = 8, ROUND_KEY_AUDIENCE, ROUND_KEY_SOURCE = 11, ROUND_KEY_VOTES };
static const key_def round_keys[] = {
	KEY("Kind", p_round_kind, coco_round, kind, "prompt, survey, vote or announce (required)"),
	KEY("Title", p_string, coco_round, title, "short title (default: the id)"),
	KEY("Text", p_string, coco_round, text, "Markdown body; may continue on indented lines", .multiline = true),
	KEY("Open", p_datetime, coco_round, open, "YYYY-MM-DD HH:MM, the (first) opening in the campaign time zone"),
	KEY("Close", p_datetime, coco_round, close, "YYYY-MM-DD HH:MM, when a one-shot round closes"),
	KEY("Duration", p_duration, coco_round, duration, "how long each occurrence stays open, like 3d or 36h"),
	KEY("Repeat", p_rrule, coco_round, repeat, "RFC 5545 RRULE, like FREQ=WEEKLY;BYDAY=MO (needs Open=)"),
	KEY("Remind", p_remind, coco_round, remind, "reminders before the close, like -2d,-4h", LIST(coco_round, remind, n_remind)),
	KEY("MaxReminders", p_unsigned, coco_round, max_reminders, "most reminders a member gets (default: the number of Remind= offsets)", .min = 0, .max = 100),
	KEY("Audience", p_audience, coco_round, audience, "all, client, provider, or member ids (default all)", LIST(coco_round, audience_members, n_audience_members)),
	KEY("Anonymous", p_bool, coco_round, anonymous, "yes: digests show answers without names (default no)"),
	KEY("Source", p_id, coco_round, source, "vote: the prompt round whose ideas are on the ballot"),
	KEY("Votes", p_unsigned, coco_round, votes, "vote: dots each member may give (default 3)", .min = 1, .max = 100),
};
enum { Q_KEY_TEXT, Q_KEY_KIND, Q_KEY_MIN = 3, Q_KEY_MAX, Q_KEY_OPTIONS = 7 };
static const key_def question_keys[] = {
	KEY("Text", p_string, coco_question, text, "the question (required); may continue on indented lines", .multiline = true),
	KEY("Kind", p_question_kind, coco_question, kind, "scale, choice, multi, text or nps (required)"),
	KEY("Required", p_bool, coco_question, required, "yes: an answer must include it (default no)"),
	KEY("Min", p_long, coco_question, min, "scale: lowest value (default 1)", .min = -100, .max = 100),
	KEY("Max", p_long, coco_question, max, "scale: highest value (default 5)", .min = -100, .max = 100),
	KEY("MinLabel", p_string, coco_question, min_label, "scale: what the lowest value means"),
	KEY("MaxLabel", p_string, coco_question, max_label, "scale: what the highest value means"),
	KEY("Options", p_options, coco_question, options, "choice, multi: the options, separated by |", LIST(coco_question, options, n_options)),
};
enum { DIGEST_KEY_START = 1, DIGEST_KEY_RECIPIENTS = 3 };
static const key_def digest_keys[] = {
	KEY("Repeat", p_rrule, coco_digest, repeat, "RRULE of a periodic digest, like FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0"),
	KEY("Start", p_datetime, coco_digest, start, "YYYY-MM-DD HH:MM, DTSTART of Repeat= (default: the first Open=)"),
	KEY("OnClose", p_bool, coco_digest, on_close, "yes: a digest whenever a round closes (default yes)"),
	KEY("Recipients", p_audience, coco_digest, audience, "all, client, provider, or member ids (default all)", LIST(coco_digest, members, n_members)),
};
_Static_assert(ELEMENTSOF(round_keys) <= KEYS_MAX, "key_lines too small");

static void apply_entries(ctx *c, const char *section, const key_def *keys, size_t n_keys,
                          const raw_section *s, void *obj, key_lines *kl)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		const raw_entry *e = &s->entries[i];
		size_t k = 0;
		while (k < n_keys && !STREQ(keys[k].name, e->key))
			k++;
		if (k == n_keys) {
			strbuf b = {0};
			for (size_t j = 0; j < n_keys; j++)
				strbuf_printf(&b, "%s%s", j ? ", " : "", keys[j].name);
			cerr(c, e->line, "unknown key " VAL_FMT "= in [%s]: expected one of %s",
			     VAL_ARG(e->key), section, b.s);
			strbuf_done(&b);
			continue;
		}
		size_t before = c->n_errors;
		if (e->multiline && !keys[k].multiline)
			cerr(c, e->line, "%s= continues on the next line: expected a single line",
			     keys[k].name);
		else
			keys[k].parse(c, &keys[k], e->value.s, obj, e->line);
		if (kl) {
			kl->line[k] = e->line;
			if (c->n_errors > before)
				kl->bad |= 1u << k;
			else
				kl->bad &= ~(1u << k);
		}
	}
}

/* ---- freeing ---- */

static void member_done(coco_member *m)
{
	free(m->id);
	free(m->name);
	strv_free(m->emails);
	free(m->slack_id);
	free(m->matrix_id);
	free(m->timezone);
}

static void question_done(coco_question *q)
{
	free(q->id);
	free(q->text);
	free(q->min_label);
	free(q->max_label);
	strv_free(q->options);
}

static void round_done(coco_round *r)
{
	free(r->id);
	free(r->title);
	free(r->text);
	free(r->repeat);
	free(r->remind);
	strv_free(r->audience_members);
	free(r->source);
	for (size_t i = 0; i < r->n_questions; i++)
		question_done(&r->questions[i]);
	free(r->questions);
}

static void campaign_done(coco_campaign *c)
{
	free(c->id);
	free(c->file);
	free(c->title);
	free(c->description);
	free(c->timezone);
	free(c->client_name);
	free(c->provider_name);
	for (size_t i = 0; i < c->n_members; i++)
		member_done(&c->members[i]);
	free(c->members);
	for (size_t i = 0; i < c->n_rounds; i++)
		round_done(&c->rounds[i]);
	free(c->rounds);
	free(c->digest.repeat);
	strv_free(c->digest.members);
}

coco_config *config_free(coco_config *c)
{
	if (!c)
		return NULL;
	free(c->dir);
	free(c->state_dir);
	free(c->control_socket);
	free(c->listen);
	strv_free(c->connectors);
	free(c->mail_from);
	free(c->mail_name);
	free(c->secrets_dir);
	free(c->local_outbox);
	free(c->local_inbox);
	for (size_t i = 0; i < c->n_campaigns; i++)
		campaign_done(&c->campaigns[i]);
	free(c->campaigns);
	free(c);
	return NULL;
}

void config_freep(coco_config **c)
{
	*c = config_free(*c);
}

/* ---- pass 2: sections ---- */

/* "Member \"ana\"" → "Member", "ana"; "Digest" → "Digest", NULL. */
static int parse_head(const char *head, char **ret_name, char **ret_arg)
{
	size_t n = strspn(head, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	const char *p = head + n;
	p += strspn(p, " \t");
	char *arg = NULL;
	if (*p == '"') {
		const char *q = strchr(p + 1, '"');
		if (!q || q[1 + strspn(q + 1, " \t")])
			return -EINVAL;
		arg = xstrndup(p + 1, (size_t)(q - p - 1));
	} else if (*p)
		return -EINVAL;
	if (n == 0) {
		free(arg);
		return -EINVAL;
	}
	*ret_name = xstrndup(head, n);
	*ret_arg = arg;
	return 0;
}

static void apply_main(ctx *c, const raw_section *secs, size_t n)
{
	static const struct {
		const char *name;
		const key_def *keys;
		size_t n_keys;
	} sections[] = {
		{"Daemon", daemon_keys, ELEMENTSOF(daemon_keys)},
		{"Mail", mail_keys, ELEMENTSOF(mail_keys)},
		{"Secrets", secrets_keys, ELEMENTSOF(secrets_keys)},
		{"Local", local_keys, ELEMENTSOF(local_keys)},
	};
	for (size_t i = 0; i < n; i++) {
		if (!secs[i].head)
			continue;
		size_t j = 0;
		while (j < ELEMENTSOF(sections) && !STREQ(sections[j].name, secs[i].head))
			j++;
		if (j == ELEMENTSOF(sections)) {
			cerr(c, secs[i].line, "unknown section [" VAL_FMT "]: expected [Daemon], "
			     "[Mail], [Secrets] or [Local]", VAL_ARG(secs[i].head));
			continue;
		}
		apply_entries(c, sections[j].name, sections[j].keys, sections[j].n_keys, &secs[i],
		              c->cfg, NULL);
	}
}

static coco_member *find_member(const coco_campaign *c, const char *id)
{
	for (size_t i = 0; i < c->n_members; i++)
		if (STREQ(c->members[i].id, id))
			return &c->members[i];
	return NULL;
}

static coco_round *find_round(const coco_campaign *c, const char *id)
{
	for (size_t i = 0; i < c->n_rounds; i++)
		if (STREQ(c->rounds[i].id, id))
			return &c->rounds[i];
	return NULL;
}

static bool id_ok(ctx *c, const char *what, const char *id, unsigned line)
{
	if (name_is_safe(id))
		return true;
	cerr(c, line, "%s id \"" VAL_FMT "\": expected letters, digits and ._@+=- (at most 64, "
	     "not starting with '.')", what, VAL_ARG(id));
	return false;
}

static void apply_member(ctx *c, camp_build *b, const raw_section *s, const char *id)
{
	coco_campaign *camp = b->c;
	const coco_member *dup = name_is_safe(id) ? find_member(camp, id) : NULL;
	if (dup)
		cerr(c, s->line,
		     "duplicate member \"%s\": expected each id once (first at line %u)", id,
		     dup->line);
	if (!id_ok(c, "member", id, s->line) || dup) {
		coco_member scratch = {.id = xstrdup(id)}; /* still check its values */
		apply_entries(c, s->head, member_keys, ELEMENTSOF(member_keys), s, &scratch, NULL);
		member_done(&scratch);
		return;
	}
	camp->members = xrealloc(camp->members, (camp->n_members + 1) * sizeof(coco_member));
	b->member_kl = xrealloc(b->member_kl, (camp->n_members + 1) * sizeof(key_lines));
	coco_member *m = &camp->members[camp->n_members];
	key_lines *kl = &b->member_kl[camp->n_members++];
	*m = (coco_member){.id = xstrdup(id), .line = s->line};
	*kl = (key_lines){0};
	apply_entries(c, s->head, member_keys, ELEMENTSOF(member_keys), s, m, kl);
}

static void apply_round(ctx *c, camp_build *b, const raw_section *s, const char *id)
{
	coco_campaign *camp = b->c;
	const coco_round *dup = name_is_safe(id) ? find_round(camp, id) : NULL;
	if (dup)
		cerr(c, s->line, "duplicate round \"%s\": expected each id once (first at line %u)",
		     id, dup->line);
	if (!id_ok(c, "round", id, s->line) || dup) {
		coco_round scratch = {.id = xstrdup(id)};
		apply_entries(c, s->head, round_keys, ELEMENTSOF(round_keys), s, &scratch, NULL);
		round_done(&scratch);
		return;
	}
	camp->rounds = xrealloc(camp->rounds, (camp->n_rounds + 1) * sizeof(coco_round));
	b->round_kl = xrealloc(b->round_kl, (camp->n_rounds + 1) * sizeof(key_lines));
	coco_round *r = &camp->rounds[camp->n_rounds];
	key_lines *kl = &b->round_kl[camp->n_rounds++];
	*r = (coco_round){.id = xstrdup(id), .votes = 3, .line = s->line};
	*kl = (key_lines){0};
	apply_entries(c, s->head, round_keys, ELEMENTSOF(round_keys), s, r, kl);
}

static void apply_question(ctx *c, camp_build *b, const raw_section *s, const char *arg)
{
	const char *slash = strchr(arg, '/');
	_cleanup_free_ char *round_id = slash ? xstrndup(arg, (size_t)(slash - arg)) : NULL;
	pending_question pq = {.q = {.line = s->line}};
	if (!slash) {
		cerr(c, s->line, "[Question \"" VAL_FMT "\"]: expected [Question \"round/id\"]",
		     VAL_ARG(arg));
	} else if (id_ok(c, "round", round_id, s->line) &&
		   id_ok(c, "question", slash + 1, s->line)) {
		pq.round_id = TAKE_PTR(round_id);
		pq.q.id = xstrdup(slash + 1);
	}
	apply_entries(c, s->head, question_keys, ELEMENTSOF(question_keys), s, &pq.q, &pq.kl);
	if (!pq.round_id) {
		question_done(&pq.q);
		return;
	}
	b->qs = xrealloc(b->qs, (b->n_qs + 1) * sizeof(pending_question));
	b->qs[b->n_qs++] = pq;
}

static void apply_campaign(ctx *c, camp_build *b, const raw_section *secs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const raw_section *s = &secs[i];
		_cleanup_free_ char *name = NULL, *arg = NULL;
		if (!s->head)
			continue;
		if (parse_head(s->head, &name, &arg) < 0) {
			cerr(c, s->line, "[" VAL_FMT "]: expected [Name] or [Name \"id\"]",
			     VAL_ARG(s->head));
			continue;
		}
		bool wants_arg = STREQ(name, "Member") || STREQ(name, "Round") ||
		                 STREQ(name, "Question");
		if (!wants_arg && !STREQ(name, "Campaign") && !STREQ(name, "Digest")) {
			cerr(c, s->line, "unknown section [" VAL_FMT "]: expected [Campaign], "
			     "[Member \"id\"], [Round \"id\"], [Question \"round/id\"] or [Digest]",
			     VAL_ARG(s->head));
		} else if (wants_arg && !arg) {
			cerr(c, s->line, "[%s] without an id: expected [%s \"id\"]", name, name);
		} else if (!wants_arg && arg) {
			cerr(c, s->line, "[%s] takes no id: expected [%s]", name, name);
		} else if (STREQ(name, "Campaign")) {
			if (!b->campaign_line)
				b->campaign_line = s->line;
			apply_entries(c, name, campaign_keys, ELEMENTSOF(campaign_keys), s, b->c,
			              &b->camp_kl);
		} else if (STREQ(name, "Digest")) {
			if (!b->c->digest.set)
				b->c->digest.line = s->line;
			b->c->digest.set = true;
			apply_entries(c, name, digest_keys, ELEMENTSOF(digest_keys), s,
			              &b->c->digest, &b->digest_kl);
		} else if (STREQ(name, "Member"))
			apply_member(c, b, s, arg);
		else if (STREQ(name, "Round"))
			apply_round(c, b, s, arg);
		else
			apply_question(c, b, s, arg);
	}
}

/* ---- pass 3: the whole campaign ---- */

static int localtime_cmp(const coco_localtime *a, const coco_localtime *b)
{
	const int x[] = {a->year, a->month, a->day, a->hour, a->minute};
	const int y[] = {b->year, b->month, b->day, b->hour, b->minute};
	for (size_t i = 0; i < ELEMENTSOF(x); i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static void check_audience(ctx *c, const coco_campaign *camp, const char *key, char **ids,
                           unsigned line)
{
	for (char **p = ids; p && *p; p++)
		if (!find_member(camp, *p))
			cerr(c, line, "%s= names unknown member \"%s\": expected the id of a "
			     "[Member \"id\"] section", key, *p);
}

static void attach_question(ctx *c, camp_build *b, pending_question *pq)
{
	coco_question *q = &pq->q;
	coco_round *r = find_round(b->c, pq->round_id);
	bool ok = true;

	if (!pq->kl.line[Q_KEY_TEXT]) {
		cerr(c, q->line, "question \"%s/%s\" has no Text=: expected the question",
		     pq->round_id, q->id);
		ok = false;
	}
	if (!pq->kl.line[Q_KEY_KIND]) {
		cerr(c, q->line, "question \"%s/%s\" has no Kind=: expected Kind=scale, choice, "
		     "multi, text or nps", pq->round_id, q->id);
		ok = false;
	} else if (key_bad(&pq->kl, Q_KEY_KIND)) {
		ok = false;
	} else if (q->kind == QUESTION_SCALE) {
		if (!pq->kl.line[Q_KEY_MIN])
			q->min = 1;
		if (!pq->kl.line[Q_KEY_MAX])
			q->max = 5;
		if (!key_bad(&pq->kl, Q_KEY_MIN) && !key_bad(&pq->kl, Q_KEY_MAX) &&
		    q->min >= q->max) {
			cerr(c, q->line, "question \"%s/%s\" has Min=%ld and Max=%ld: expected Min "
			     "below Max", pq->round_id, q->id, q->min, q->max);
			ok = false;
		}
	} else if (q->kind == QUESTION_NPS) {
		unsigned line =
		    pq->kl.line[Q_KEY_MIN] ? pq->kl.line[Q_KEY_MIN] : pq->kl.line[Q_KEY_MAX];
		if (line && !(q->min == 0 && q->max == 10)) {
			cerr(c, line, "nps questions run from 0 to 10: expected no Min=/Max=");
			ok = false;
		}
		q->min = 0;
		q->max = 10;
	} else if (pq->kl.line[Q_KEY_MIN] || pq->kl.line[Q_KEY_MAX]) {
		cerr(c, pq->kl.line[Q_KEY_MIN] ? pq->kl.line[Q_KEY_MIN] : pq->kl.line[Q_KEY_MAX],
		     "Min=/Max= are for scale questions: expected Kind=scale");
		ok = false;
	}
	bool kind_ok = pq->kl.line[Q_KEY_KIND] && !key_bad(&pq->kl, Q_KEY_KIND);
	bool wants_options = q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI;
	if (!kind_ok)
		;
	else if (wants_options && !key_bad(&pq->kl, Q_KEY_OPTIONS) &&
	    q->n_options < 2) {
		cerr(c, q->line,
		     "%s question \"%s/%s\" has %zu option%s: expected Options= with at "
		     "least two, separated by |",
		     question_kind_to_string(q->kind), pq->round_id, q->id, q->n_options,
		     q->n_options == 1 ? "" : "s");
		ok = false;
	} else if (!wants_options && q->n_options) {
		cerr(c, pq->kl.line[Q_KEY_OPTIONS], "Options= is for choice and multi questions: "
		     "expected Kind=choice or Kind=multi");
		ok = false;
	}

	if (!r) {
		cerr(c, q->line, "question for unknown round \"%s\": expected a [Round \"%s\"] "
		     "section", pq->round_id, pq->round_id);
		ok = false;
	} else if (!b->round_kl[r - b->c->rounds].line[ROUND_KEY_KIND] ||
	           key_bad(&b->round_kl[r - b->c->rounds], ROUND_KEY_KIND)) {
		ok = false; /* the round's kind is already reported */
	} else if (r->kind != ROUND_SURVEY) {
		cerr(c, q->line, "question on %s round \"%s\": expected questions on survey rounds "
		     "only", round_kind_to_string(r->kind), r->id);
		ok = false;
	} else
		for (size_t i = 0; i < r->n_questions; i++)
			if (STREQ(r->questions[i].id, q->id)) {
				cerr(c, q->line,
				     "duplicate question \"%s/%s\": expected each id once "
				     "(first at line %u)",
				     r->id, q->id, r->questions[i].line);
				ok = false;
			}
	if (!ok) {
		question_done(q);
		return;
	}
	r->questions = xrealloc(r->questions, (r->n_questions + 1) * sizeof(coco_question));
	r->questions[r->n_questions++] = *q;
}

static void check_round(ctx *c, camp_build *b, coco_round *r, const key_lines *kl)
{
	const coco_campaign *camp = b->c;
	if (!r->title)
		r->title = xstrdup(r->id);
	if (!kl->line[ROUND_KEY_MAXREM])
		r->max_reminders = (unsigned)r->n_remind;
	if (r->audience == AUDIENCE_MEMBERS)
		check_audience(c, camp, "Audience", r->audience_members,
			       kl->line[ROUND_KEY_AUDIENCE]);
	if (kl->line[ROUND_KEY_REPEAT] && !kl->line[ROUND_KEY_OPEN])
		cerr(c, r->line, "round \"%s\" repeats but has no Open=: expected Open= for the "
		     "first occurrence", r->id);
	if (r->close.set && r->duration)
		cerr(c, kl->line[ROUND_KEY_CLOSE], "round \"%s\" has both Close= and Duration=: "
		     "expected one of them", r->id);
	else if (r->close.set && r->repeat)
		cerr(c, kl->line[ROUND_KEY_CLOSE], "Close= is a single date: expected Duration= "
		     "on a repeating round");
	else if (r->close.set && r->open.set && localtime_cmp(&r->close, &r->open) <= 0)
		cerr(c, kl->line[ROUND_KEY_CLOSE], "Close= is not after Open=: expected a later "
		     "date");
	if (!kl->line[ROUND_KEY_KIND]) {
		cerr(c, r->line, "round \"%s\" has no Kind=: expected Kind=prompt, survey, vote or "
		     "announce", r->id);
		return;
	}
	if (key_bad(kl, ROUND_KEY_KIND))
		return; /* the kind-specific rules would only guess */
	if (r->kind != ROUND_ANNOUNCE && !kl->line[ROUND_KEY_CLOSE] &&
	    !kl->line[ROUND_KEY_DURATION])
		cerr(c, r->line, "round \"%s\" has neither Close= nor Duration=: expected one of "
		     "them", r->id);
	if (r->kind == ROUND_VOTE && !r->source)
		cerr(c, r->line, "vote round \"%s\" has no Source=: expected the id of a prompt "
		     "round", r->id);
	else if (r->kind == ROUND_VOTE) {
		const coco_round *src = find_round(camp, r->source);
		const key_lines *skl = src ? &b->round_kl[src - camp->rounds] : NULL;
		if (skl && (!skl->line[ROUND_KEY_KIND] || key_bad(skl, ROUND_KEY_KIND)))
			; /* the source's kind is already reported */
		else if (!src || src->kind != ROUND_PROMPT)
			cerr(c, kl->line[ROUND_KEY_SOURCE], "Source=%s is not a prompt round: "
			     "expected the id of a [Round] with Kind=prompt", r->source);
	} else if (r->source)
		cerr(c, kl->line[ROUND_KEY_SOURCE], "Source= is for vote rounds: expected "
		     "Kind=vote");
	if (r->kind == ROUND_SURVEY && r->n_questions == 0)
		cerr(c, r->line, "survey round \"%s\" has no questions: expected "
		     "[Question \"%s/id\"] sections", r->id, r->id);
}

static void check_campaign(ctx *c, camp_build *b, const char *stem)
{
	coco_campaign *camp = b->c;
	if (!camp->id) {
		if (name_is_safe(stem))
			camp->id = xstrdup(stem);
		else
			cerr(c, b->campaign_line ? b->campaign_line : 1, "file name \"" VAL_FMT
			     "\" is no campaign id: expected Id= in [Campaign]", VAL_ARG(stem));
	}
	if (!camp->timezone)
		camp->timezone = xstrdup("UTC");

	for (size_t i = 0; i < camp->n_members; i++) {
		coco_member *m = &camp->members[i];
		if (!b->member_kl[i].line[1])
			cerr(c, m->line, "member %s is on no side: expected Side=client or "
			     "Side=provider", m->id);
		const key_lines *kl = &b->member_kl[i];
		if (!kl->line[2] && !kl->line[3] && !kl->line[4])
			cerr(c, m->line, "member %s cannot be reached: expected Email=, Slack= or "
			     "Matrix=", m->id);
		if (!m->name)
			m->name = xstrdup(m->id);
		if (!m->timezone)
			m->timezone = xstrdup(camp->timezone);
	}

	for (size_t i = 0; i < b->n_qs; i++) {
		attach_question(c, b, &b->qs[i]);
		free(b->qs[i].round_id);
	}
	free(TAKE_PTR(b->qs));
	b->n_qs = 0;

	const coco_localtime *first = NULL;
	for (size_t i = 0; i < camp->n_rounds; i++) {
		check_round(c, b, &camp->rounds[i], &b->round_kl[i]);
		if (camp->rounds[i].open.set &&
		    (!first || localtime_cmp(&camp->rounds[i].open, first) < 0))
			first = &camp->rounds[i].open;
	}

	coco_digest *d = &camp->digest;
	if (d->audience == AUDIENCE_MEMBERS)
		check_audience(c, camp, "Recipients", d->members,
			       b->digest_kl.line[DIGEST_KEY_RECIPIENTS]);
	if (!d->start.set && first)
		d->start = *first;
	if (d->repeat && !d->start.set)
		cerr(c, d->line, "[Digest] repeats but no round has Open=: expected Start=");
}

/* ---- loading ---- */

static size_t add_file(ctx *c, char *path)
{
	c->files = xrealloc(c->files, (c->n_files + 1) * sizeof(char *));
	c->files[c->n_files] = path;
	return c->cur_file = c->n_files++;
}

static void load_campaign(ctx *c, const char *path, const char *stem)
{
	raw_section *secs = NULL;
	size_t n = 0;
	add_file(c, xstrdup(path));
	if (read_sections(c, path, &secs, &n) < 0)
		return;

	coco_campaign camp = {.file = xstrdup(path), .quiet_start = -1, .quiet_end = -1,
	                      .digest = {.on_close = true}};
	camp_build b = {.c = &camp};
	c->camp = &b;
	apply_campaign(c, &b, secs, n);
	check_campaign(c, &b, stem);
	c->camp = NULL;
	raw_sections_free(secs, n);

	for (size_t i = 0; camp.id && i < c->cfg->n_campaigns; i++)
		if (STREQ(c->cfg->campaigns[i].id, camp.id)) {
			unsigned line = b.camp_kl.line[0] ? b.camp_kl.line[0] :
			                b.campaign_line ? b.campaign_line : 1;
			cerr(c, line, "duplicate campaign id \"%s\" (also in %s): expected each "
			     "campaign id once", camp.id, c->cfg->campaigns[i].file);
		}
	free(b.member_kl);
	free(b.round_kl);
	coco_config *cfg = c->cfg;
	cfg->campaigns = xrealloc(cfg->campaigns, (cfg->n_campaigns + 1) * sizeof(coco_campaign));
	cfg->campaigns[cfg->n_campaigns++] = camp;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_campaigns(ctx *c, const char *dir)
{
	_cleanup_free_ char *cdir = xasprintf("%s/campaigns.d", dir);
	DIR *d = opendir(cdir);
	if (!d) {
		if (errno != ENOENT) {
			add_file(c, xstrdup(cdir));
			cerr(c, 0, "cannot read: %s", strerror(errno));
		}
		return;
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= 5 || !STREQ(de->d_name + n - 5, ".conf"))
			continue;
		strv_push(&names, xstrdup(de->d_name));
	}
	closedir(d);
	size_t n = strv_length(names);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", cdir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		_cleanup_free_ char *stem = xstrndup(names[i], strlen(names[i]) - 5);
		load_campaign(c, path, stem);
	}
	strv_free(names);
}

static void main_defaults(ctx *c)
{
	coco_config *cfg = c->cfg;
	if (!cfg->state_dir)
		cfg->state_dir = xstrdup("/var/lib/coco");
	if (!cfg->control_socket)
		cfg->control_socket = xstrdup("/run/coco/control.sock");
	if (!cfg->listen)
		cfg->listen = xstrdup("127.0.0.1:8470");
	if (!cfg->connectors) {
		strv_push(&cfg->connectors, xstrdup("local"));
		cfg->n_connectors = 1;
	}
	/* Outbox/Inbox stay NULL when not set: the local connector puts them under the state
	 * directory the daemon actually runs with (cocod --state overrides StateDirectory=). */
	if (config_has_connector(cfg, "email") && !cfg->mail_from)
		cerr(c, c->connectors_line,
		     "Connectors=email sends mail: expected From= in [Mail]");
}

static int cmp_error(const void *a, const void *b)
{
	const cerror *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int config_load(const char *dir, coco_config **ret, char ***ret_errors)
{
	ctx c = {.cfg = xcalloc(1, sizeof(coco_config))};
	c.cfg->dir = xstrdup(dir);

	char *main_path = xasprintf("%s/coco.conf", dir);
	add_file(&c, main_path);
	raw_section *secs = NULL;
	size_t n = 0;
	if (read_sections(&c, main_path, &secs, &n) >= 0) {
		apply_main(&c, secs, n);
		raw_sections_free(secs, n);
	}
	main_defaults(&c);
	load_campaigns(&c, dir);

	char **errors = NULL;
	if (c.n_errors)
		qsort(c.errors, c.n_errors, sizeof(cerror), cmp_error);
	for (size_t i = 0; i < c.n_errors; i++) {
		const cerror *e = &c.errors[i];
		strv_push(&errors, e->line
				       ? xasprintf("%s:%u: %s", c.files[e->file], e->line, e->msg)
				       : xasprintf("%s: %s", c.files[e->file], e->msg));
		free(e->msg);
	}
	free(c.errors);
	for (size_t i = 0; i < c.n_files; i++)
		free(c.files[i]);
	free(c.files);

	if (errors) {
		config_free(c.cfg);
		if (ret_errors)
			*ret_errors = errors;
		else
			strv_free(errors);
		return -EINVAL;
	}
	if (ret_errors)
		*ret_errors = NULL;
	*ret = c.cfg;
	return 0;
}

/* ---- queries ---- */

char *config_summary(const coco_config *c)
{
	size_t members = 0, rounds = 0, questions = 0;
	for (size_t i = 0; i < c->n_campaigns; i++) {
		members += c->campaigns[i].n_members;
		rounds += c->campaigns[i].n_rounds;
		for (size_t j = 0; j < c->campaigns[i].n_rounds; j++)
			questions += c->campaigns[i].rounds[j].n_questions;
	}
#define PL(n) (n), (n) == 1 ? "" : "s"
	return xasprintf("%zu campaign%s, %zu member%s, %zu round%s, %zu question%s",
	                 PL(c->n_campaigns), PL(members), PL(rounds), PL(questions));
#undef PL
}

const coco_campaign *config_find_campaign(const coco_config *c, const char *id)
{
	for (size_t i = 0; c && id && i < c->n_campaigns; i++)
		if (STREQ(c->campaigns[i].id, id))
			return &c->campaigns[i];
	return NULL;
}

const coco_round *campaign_find_round(const coco_campaign *c, const char *id)
{
	return c && id ? find_round(c, id) : NULL;
}

const coco_member *campaign_find_member(const coco_campaign *c, const char *id)
{
	return c && id ? find_member(c, id) : NULL;
}

bool config_has_connector(const coco_config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_connectors; i++)
		if (STREQ(c->connectors[i], name))
			return true;
	return false;
}
