/* template: a Mustache renderer (https://mustache.github.io/mustache.5.html) that passes the
 * official spec: interpolation with HTML escaping ({{name}}) and without ({{{name}}},
 * {{& name}}), dotted names, implicit iterator, sections, inverted sections, comments,
 * set delimiters, partials with indentation, dynamic partial names ({{>*name}}) and
 * inheritance (blocks {{$name}} and parents {{<name}}). Lambdas are not supported.
 * Data is cJSON. Partials come from a loader callback, so the renderer does no I/O itself. */
#pragma once

#include <cjson/cJSON.h>

/* Looks up partial `name`: on success *ret_text is a malloc'd string and 0 is returned;
 * -ENOENT means "no such partial" (it renders as empty, as the spec says). */
typedef int (*template_partial_fn)(const char *name, char **ret_text, void *userdata);

/* Renders `text` (the template called `name`, for error messages) with `data`.
 * On success *ret_out is the malloc'd result. On a syntax error returns -EINVAL and, if
 * ret_error is not NULL, *ret_error is a malloc'd "NAME:LINE:COL: what is wrong" (a syntax
 * error inside a partial names the partial). */
int template_render(const char *name, const char *text, const cJSON *data,
                    template_partial_fn partial, void *userdata, char **ret_out,
                    char **ret_error);

/* A loader that looks in a NULL-terminated list of directories, first match wins
 * (userdata is `const char *const *dirs`): /etc/coco/templates before the defaults.
 * Names that are not name_is_safe() are -ENOENT. */
int template_dirs_partial(const char *name, char **ret_text, void *userdata);
