/* Tests for engine/template-cache: the templates as template_dirs_partial() reads them, the
 * first directory first, a missing one -ENOENT, and the same text on every read, copied
 * (template_cache_partial) or not (template_cache_text). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "template-cache.h"
#include "util.h"

static void put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void test_cache(void **state)
{
	char over[] = "/tmp/coco-tc-over.XXXXXX", def[] = "/tmp/coco-tc-def.XXXXXX";
	assert_non_null(mkdtemp(over));
	assert_non_null(mkdtemp(def));
	put(def, "a.md", "default a");
	put(def, "b.md", "default b");
	put(over, "a.md", "override a");
	char *dirs[] = {over, def, NULL};
	template_cache *tc = template_cache_new(dirs);
	for (int round = 0; round < 3; round++) {
		char *t = NULL;
		assert_int_equal(template_cache_partial("a.md", &t, tc), 0);
		assert_string_equal(t, "override a");
		free(t);
		assert_int_equal(template_cache_partial("b.md", &t, tc), 0);
		assert_string_equal(t, "default b");
		free(t);
		assert_int_equal(template_cache_partial("none.md", &t, tc), -ENOENT);
		assert_int_equal(template_cache_partial("../a.md", &t, tc), -ENOENT);
	}
	/* More names than it keeps: still answered. */
	for (int i = 0; i < 100; i++) {
		char name[32], *t = NULL;
		snprintf(name, sizeof name, "n%d.md", i);
		assert_int_equal(template_cache_partial(name, &t, tc), -ENOENT);
	}
	char *t = NULL;
	assert_int_equal(template_cache_partial("b.md", &t, tc), 0);
	assert_string_equal(t, "default b");
	free(t);
	/* The text without a copy: the cache's own (the same pointer twice), or, for a name
	 * it cannot keep (it is full of the names above), a copy to free. */
	const char *text = NULL, *again = NULL;
	char *owned = (char *)"x";
	assert_int_equal(template_cache_text(tc, "a.md", &text, &owned), 0);
	assert_null(owned);
	assert_string_equal(text, "override a");
	assert_int_equal(template_cache_text(tc, "a.md", &again, &owned), 0);
	assert_ptr_equal(text, again);
	assert_int_equal(template_cache_text(tc, "none.md", &text, &owned), -ENOENT);
	assert_null(owned);
	put(def, "late.md", "late");
	assert_int_equal(template_cache_text(tc, "late.md", &text, &owned), 0);
	assert_non_null(owned);
	assert_ptr_equal(text, owned);
	assert_string_equal(text, "late");
	free(owned);
	template_cache_free(tc);
	assert_null(template_cache_free(NULL));
	char *cmd = xasprintf("rm -rf '%s' '%s'", over, def);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_cache)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
