/* strmap: put, get, replace and remove against a plain list kept beside it, with many keys
 * and many removals, so that the backward shift of a deletion is exercised across
 * collisions and the table's wrap-around; and no key is copied (a key is known by its
 * digest), so that a map's memory is its table alone. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strmap.h"
#include "util.h"

static void test_basics(void **state)
{
	_cleanup_strmap_ strmap *m = strmap_new();
	int a = 1, b = 2;
	assert_null(strmap_get(m, "x"));
	assert_null(strmap_remove(m, "x"));
	assert_true(strmap_put(m, "x", &a));
	assert_ptr_equal(strmap_get(m, "x"), &a);
	assert_false(strmap_put(m, "x", &b)); /* replaced */
	assert_ptr_equal(strmap_get(m, "x"), &b);
	assert_int_equal(strmap_size(m), 1);
	assert_true(strmap_put(m, "", &a)); /* the empty key is a key */
	assert_ptr_equal(strmap_get(m, ""), &a);
	assert_ptr_equal(strmap_remove(m, "x"), &b);
	assert_null(strmap_get(m, "x"));
	assert_int_equal(strmap_size(m), 1);
	assert_null(strmap_get(NULL, "x"));
	assert_int_equal(strmap_size(NULL), 0);
}

/* A deterministic generator: the test is the same every run. */
static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_against_list(void **state)
{
	enum { KEYS = 5000, STEPS = 60000 };
	_cleanup_strmap_ strmap *m = strmap_new();
	static long present[KEYS]; /* the value each key should have, 0 if absent */
	memset(present, 0, sizeof present);
	size_t n = 0;
	uint32_t seed = 7;
	for (long step = 1; step <= STEPS; step++) {
		uint32_t k = next_rand(&seed) % KEYS;
		char key[32];
		snprintf(key, sizeof key, "member-%u", k);
		if (next_rand(&seed) % 3 == 0) {
			void *v = strmap_remove(m, key);
			assert_true(present[k] ? v == (void *)present[k] : v == NULL);
			n -= present[k] != 0;
			present[k] = 0;
		} else {
			bool added = strmap_put(m, key, (void *)step);
			assert_int_equal(added, present[k] == 0);
			n += present[k] == 0;
			present[k] = step;
		}
		assert_int_equal(strmap_size(m), n);
		if (step % 5000 == 0)
			for (uint32_t i = 0; i < KEYS; i++) {
				snprintf(key, sizeof key, "member-%u", i);
				assert_true(strmap_get(m, key) == (present[i] ? (void *)present[i] : NULL));
			}
	}
}

static void test_free_values(void **state)
{
	strmap *m = strmap_new();
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		strmap_put(m, key, xstrdup(key));
	}
	assert_string_equal(strmap_get(m, "k42"), "k42");
	m = strmap_free_values(m, free); /* the sanitizer's leak check says the rest */
	assert_null(m);
}

/* ASan's allocator interface (Debian's GCC does not install its header). */
size_t __sanitizer_get_current_allocated_bytes(void);

static void test_keys_not_copied(void **state)
{
	_cleanup_strmap_ strmap *m = strmap_new();
	int v = 1;
	char key[128];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = 0;
	/* Grown to its size first, so that the rest adds keys only. */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, 16, "%015d", i);
		assert_true(strmap_put(m, key, &v));
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(key, 16, "%015d", i);
		assert_non_null(strmap_remove(m, key));
	}
	size_t before = __sanitizer_get_current_allocated_bytes();
	for (int i = 0; i < 1000; i++) {
		snprintf(key, 16, "%015d", i);
		key[15] = 'k'; /* 127 bytes each */
		assert_true(strmap_put(m, key, &v));
	}
	size_t grew = __sanitizer_get_current_allocated_bytes() - before;
	if (grew > 1024) /* copies would be 128,000 bytes */
		fail_msg("1,000 keys of 127 bytes took %zu bytes", grew);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, 16, "%015d", i);
		key[15] = 'k';
		assert_ptr_equal(strmap_get(m, key), &v);
		key[126] = 'x'; /* differs only at the end */
		assert_null(strmap_get(m, key));
		key[126] = 'k';
	}
	assert_int_equal(strmap_size(m), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics),
		cmocka_unit_test(test_against_list),
		cmocka_unit_test(test_free_values),
		cmocka_unit_test(test_keys_not_copied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
