/* config-read: pass 1 of config loading (see config.c): one file's text to raw sections
 * of Key=Value entries, with the line number of each. Our reader hands inih one line at a
 * time, read from the file as it goes (the file is never held whole); a campaign's sections
 * are handed on one by one as each ends, so only one is held at a time. See
 * config-private.h for what it shares. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-private.h"
#include "util.h"

/* A config file is written by hand or generated from a list of people: 16 MiB is a campaign
 * of some 200,000 members (about 70 bytes each), far more than a round asks; the cap also
 * bounds what reading it costs. */
#define CONFIG_FILE_MAX (16 * 1024 * 1024)
#define VALUE_MAX 65536               /* longest value, continuation lines included */

/* ---- pass 1: read ---- */

typedef enum line_kind { LINE_NONE, LINE_BLANK, LINE_KEY, LINE_CONT } line_kind;

typedef struct reader {
	ctx *c;
	FILE *f;
	char *buf;         /* getline()'s line */
	size_t buf_size;
	uint64_t total;    /* bytes read, against CONFIG_FILE_MAX */
	int error;         /* -errno: reading failed or the file is too large (reported) */
	unsigned lineno;
	line_kind kind;   /* of the current line */
	bool handled;     /* inih called us for the current line */
	bool have_name;   /* like inih's prev_name: an indented line continues a value */
	bool blank_since; /* a blank line since the last value line: a paragraph break */
	raw_entry *last;  /* where continuation lines go; NULL after a rejected line */
	raw_section *sections;
	size_t n_sections, cap_sections; /* grown by doubling: 20,000 members are 20,000 sections */
	/* If set, each section is handed to it once it ends and then freed: sections[] holds
	 * the current one only. */
	config_section_fn each;
	void *each_data;
} reader;

static raw_entry *reader_add_entry(reader *r, const char *key, const char *value)
{
	r->have_name = true;
	r->blank_since = false;
	r->last = NULL;
	if (r->n_sections == 0) {
		config_cerr(r->c, r->lineno, "%s= outside a section: expected a [Section] header first",
		     key);
		return NULL;
	}
	raw_section *s = &r->sections[r->n_sections - 1];
	if (!s->head) /* the header was already reported */
		return NULL;
	if (strlen(value) > VALUE_MAX) {
		config_cerr(r->c, r->lineno, "%s= is too long: expected at most %d bytes", key, VALUE_MAX);
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
		config_cerr(r->c, r->lineno, "%s= is too long: expected at most %d bytes", e->key,
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
		config_cerr(r->c, r->lineno, "a value without a key: expected Key=Value");
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
		config_cerr(r->c, r->lineno, "expected Key=Value, a [Section] header or a comment");
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
		config_cerr(r->c, r->lineno, "a value without a key: expected Key=Value");
	else
		reader_add_entry(r, key, strstrip(v));
}

static void raw_sections_free_contents(raw_section *s, size_t n);

/* Hands the current section on, in the streaming mode. */
static void reader_flush(reader *r)
{
	if (!r->each || r->n_sections == 0)
		return;
	r->each(r->c, r->each_data, &r->sections[0]);
	raw_sections_free_contents(r->sections, r->n_sections);
	r->n_sections = 0;
}

static void reader_section(reader *r, char *s)
{
	r->have_name = false;
	r->last = NULL;
	reader_flush(r);
	if (r->n_sections == r->cap_sections) {
		r->cap_sections = r->cap_sections ? 2 * r->cap_sections : 16;
		r->sections = xrealloc(r->sections, r->cap_sections * sizeof(raw_section));
	}
	raw_section *sec = &r->sections[r->n_sections++];
	*sec = (raw_section){.line = r->lineno};
	char *end = strchr(s, ']');
	if (!end) {
		config_cerr(r->c, r->lineno, "expected ']' to close the section header");
		return;
	}
	char *rest = end + 1;
	rest += strspn(rest, " \t");
	if (*rest && *rest != ';' && *rest != '#') {
		config_cerr(r->c, r->lineno,
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
		config_cerr(r->c, r->lineno, "expected Key=Value, a [Section] header or a comment");
	r->kind = LINE_NONE;
	r->handled = false;
	if (r->error)
		return NULL;
	errno = 0;
	ssize_t got = getline(&r->buf, &r->buf_size, r->f);
	if (got < 0) {
		if (ferror(r->f)) {
			r->error = errno ? -errno : -EIO;
			config_cerr(r->c, 0, "cannot read: %s", strerror(-r->error));
		}
		return NULL;
	}
	r->total += (uint64_t)got;
	if (r->total > CONFIG_FILE_MAX) {
		r->error = -EFBIG;
		config_cerr(r->c, 0, "too large: a configuration file may hold at most %d MiB",
		            CONFIG_FILE_MAX / (1024 * 1024));
		return NULL;
	}

	const char *start = r->buf;
	size_t n = (size_t)got;
	if (n > 0 && start[n - 1] == '\n')
		n--;
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
			config_cerr(r->c, r->lineno,
			     "control character 0x%02x: expected text (is this a binary file?)",
			     ch);
			r->last = NULL;
			return str;
		}
	}
	if (n > VALUE_MAX + 1024) {
		config_cerr(r->c, r->lineno, "line too long: expected at most %d bytes", VALUE_MAX);
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

static void raw_sections_free_contents(raw_section *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < s[i].n_entries; j++) {
			free(s[i].entries[j].key);
			strbuf_done(&s[i].entries[j].value);
		}
		free(s[i].entries);
		free(s[i].head);
	}
}

void config_raw_sections_free(raw_section *s, size_t n)
{
	raw_sections_free_contents(s, n);
	free(s);
}

/* Opens path for reading, refusing at once what is known too large. */
static int open_config(ctx *c, const char *path, FILE **ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r = fd < 0 || fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && S_ISDIR(st.st_mode))
		r = -EISDIR;
	if (r == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > CONFIG_FILE_MAX)
		r = -EFBIG;
	FILE *f = r == 0 ? fdopen(fd, "r") : NULL;
	if (r == 0 && !f)
		r = -errno;
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		if (r == -EFBIG)
			config_cerr(c, 0, "too large: a configuration file may hold at most %d MiB",
			            CONFIG_FILE_MAX / (1024 * 1024));
		else
			config_cerr(c, 0, "cannot read: %s", strerror(-r));
		return r;
	}
	*ret = f;
	return 0;
}

static int read_sections(ctx *c, const char *path, config_section_fn each, void *data,
                         raw_section **ret, size_t *ret_n)
{
	FILE *f;
	int r = open_config(c, path, &f);
	if (r < 0)
		return r;
	reader rd = {.c = c, .f = f, .each = each, .each_data = data};
	ini_parse_stream(reader_next, &rd, ini_handler_fn, &rd);
	reader_flush(&rd);
	free(rd.buf);
	fclose(f);
	if (each) {
		config_raw_sections_free(rd.sections, rd.n_sections);
		return rd.error;
	}
	if (rd.error < 0) {
		config_raw_sections_free(rd.sections, rd.n_sections);
		return rd.error;
	}
	*ret = rd.sections;
	*ret_n = rd.n_sections;
	return 0;
}

int config_read_sections(ctx *c, const char *path, raw_section **ret, size_t *ret_n)
{
	return read_sections(c, path, NULL, NULL, ret, ret_n);
}

int config_read_each_section(ctx *c, const char *path, config_section_fn each, void *data)
{
	return read_sections(c, path, each, data, NULL, NULL);
}
