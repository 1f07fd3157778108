/* template-private: the parsed form of a template, shared by the parser (template-parse.c)
 * and the renderer (template.c). Not part of the module's interface. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Sections nested inside one template; bounds the recursion of the parser and renderer. */
#define TEMPLATE_MAX_NESTING 100

enum node_type { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK };

struct node {
	enum node_type type;
	char *str;   /* text, or the name as written (partials, blocks) */
	size_t len;
	char **path; /* dotted name split at '.'; NULL for the implicit iterator "." */
	bool escape, dynamic;
	const char *indent; /* into the source: added to each line of what this node expands */
	size_t indent_len;
	size_t offset; /* in the source, for error messages */
	struct node *kids;
	size_t n_kids;
};

struct template {
	char *name;
	char *owned_src; /* partial text; NULL when the caller owns it */
	const char *src;
	struct node *nodes;
	size_t n_nodes;
};

/* Parses `src` (which must outlive the result) into *ret. On a syntax error returns -EINVAL
 * and sets *ret_error (if not NULL) to "NAME:LINE:COL: message". */
int template_parse(const char *name, const char *src, struct template **ret, char **ret_error);
void template_free(struct template *t);

/* Formats "NAME:LINE:COL: message" for `offset` in `src` into *ret_error (if not NULL);
 * returns -EINVAL. */
int template_error(char **ret_error, const char *name, const char *src, size_t offset,
		   const char *fmt, ...) _printf_(5, 6);
