/* template-cache: the message templates as read from their directories, kept in memory for
 * a second. A burst of answers renders a confirmation each, with its partials: without it
 * every render opened and read the same files again (bench/slack-ingress). A file edited on
 * disk is seen within a second, as before for any practical purpose. */
#pragma once

typedef struct template_cache template_cache;

/* dirs: NULL-terminated, as for template_dirs_partial(); kept, not copied. */
template_cache *template_cache_new(char *const *dirs);
template_cache *template_cache_free(template_cache *tc);

/* A template_partial_fn (template.h) with the cache as userdata: template_dirs_partial()'s
 * answer, at most a second old. */
int template_cache_partial(const char *name, char **ret_text, void *userdata);

/* Name's text as the cache holds it, without a copy (a confirmation's template is 2 KiB,
 * rendered for every answer): valid until the next call on the cache, which may read it
 * again. When the cache cannot keep name, *ret_owned is a copy to free (else NULL). */
int template_cache_text(template_cache *tc, const char *name, const char **ret_text,
                        char **ret_owned);
