/* template-cache: see template-cache.h. */
#define _GNU_SOURCE
#include "template-cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "template.h"
#include "util.h"

enum { CACHE_MAX = 64, CACHE_TTL_MS = 1000 };

typedef struct entry {
	char *name;
	char *text; /* NULL: the answer was an error */
	int error;
	bool loaded;
	int64_t read_at; /* CLOCK_MONOTONIC, ms */
} entry;

struct template_cache {
	char *const *dirs;
	entry e[CACHE_MAX];
	size_t n;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

template_cache *template_cache_new(char *const *dirs)
{
	template_cache *tc = xcalloc(1, sizeof *tc);
	tc->dirs = dirs;
	return tc;
}

template_cache *template_cache_free(template_cache *tc)
{
	if (!tc)
		return NULL;
	for (size_t i = 0; i < tc->n; i++) {
		free(tc->e[i].name);
		free(tc->e[i].text);
	}
	free(tc);
	return NULL;
}

/* The entry of name, read again if it is more than a second old; NULL when the cache is
 * full and does not know name. */
static entry *entry_get(template_cache *tc, const char *name)
{
	int64_t now = now_ms();
	entry *e = NULL;
	for (size_t i = 0; i < tc->n && !e; i++)
		if (STREQ(tc->e[i].name, name))
			e = &tc->e[i];
	if (!e && tc->n == CACHE_MAX) /* more names than there are templates: not kept */
		return NULL;
	if (!e) {
		e = &tc->e[tc->n++];
		*e = (entry){.name = xstrdup(name)};
	}
	if (!e->loaded || now - e->read_at >= CACHE_TTL_MS || now < e->read_at) {
		char *text = NULL;
		int r = template_dirs_partial(name, &text, (void *)tc->dirs);
		free(e->text);
		e->text = r < 0 ? NULL : text;
		e->error = r < 0 ? r : 0;
		e->read_at = now;
		e->loaded = true;
	}
	return e;
}

int template_cache_partial(const char *name, char **ret_text, void *userdata)
{
	template_cache *tc = userdata;
	entry *e = entry_get(tc, name);
	if (!e)
		return template_dirs_partial(name, ret_text, (void *)tc->dirs);
	if (!e->text)
		return e->error;
	*ret_text = xstrdup(e->text);
	return 0;
}

int template_cache_text(template_cache *tc, const char *name, const char **ret_text,
                        char **ret_owned)
{
	*ret_owned = NULL;
	entry *e = entry_get(tc, name);
	if (!e) {
		int r = template_dirs_partial(name, ret_owned, (void *)tc->dirs);
		if (r >= 0)
			*ret_text = *ret_owned;
		return r;
	}
	if (!e->text)
		return e->error;
	*ret_text = e->text;
	return 0;
}
