/* secret: the reply tags and pseudonyms are HMAC-SHA256 of the key, as secret.h writes them.
 * The expected values are Python's hmac module's. A key read with secret_load() keeps its
 * HMAC schedule (secret.keyed): it must give the same tags as a key filled in by hand, which
 * has each HMAC key itself, for a text key (keygen's) and a binary key of the largest size. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "secret.h"
#include "util.h"

/* secret_load() of a key file with these bytes, in a directory of its own. */
static void load(const void *bytes, size_t len, secret *ret)
{
	char dir[] = "/tmp/coco-test-secret.XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, SECRET_KEY_NAME);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(secret_load(dir, ret), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void by_hand(const void *bytes, size_t len, secret *ret)
{
	memset(ret, 0, sizeof *ret);
	memcpy(ret->key, bytes, len);
	ret->len = len;
}

static void check(const secret *k, const char *tag_ny, const char *pseudo_ny)
{
	char tag[SECRET_TAG_LEN + 1], pseudo[SECRET_PSEUDO_LEN + 1];
	secret_tag(k, "ny", "weekly", "a", tag);
	assert_string_equal(tag, tag_ny);
	secret_pseudonym(k, "ny", "ana", pseudo);
	assert_string_equal(pseudo, pseudo_ny);
}

static void test_text_key(void **state)
{
	(void)state;
	static const char file[] = "0123456789abcdef0123456789abcdef\n"; /* as keygen writes */
	secret loaded, hand;
	load(file, strlen(file), &loaded);
	by_hand(file, strlen(file) - 1, &hand);
	assert_true(loaded.keyed);
	assert_false(hand.keyed);
	assert_int_equal(loaded.len, 32);
	check(&loaded, "fjoh5hpyxnu2g3qc", "c5b6504a6c7246f5");
	check(&hand, "fjoh5hpyxnu2g3qc", "c5b6504a6c7246f5");

	/* An empty part, no third part, and many tags on one key: each starts from the
	 * schedule, none from the state an earlier one left. */
	for (int i = 0; i < 3; i++) {
		const secret *k = i == 1 ? &hand : &loaded;
		char tag[SECRET_TAG_LEN + 1];
		secret_tag(k, "record-key", "slack:1.2.3", "", tag);
		assert_string_equal(tag, "4m33g2o5q5kd5t3t");
		secret_tag(k, "a", "b", NULL, tag);
		assert_string_equal(tag, "6ziqa3ngh6yigvzl");
	}
	/* Copied by value, as the core keeps it. */
	secret copy = loaded;
	check(&copy, "fjoh5hpyxnu2g3qc", "c5b6504a6c7246f5");
}

static void test_binary_key(void **state)
{
	(void)state;
	unsigned char bytes[64];
	for (size_t i = 0; i < sizeof bytes; i++)
		bytes[i] = (unsigned char)(i + 1); /* \n and \r inside, none at the end */
	secret loaded, hand;
	load(bytes, sizeof bytes, &loaded);
	by_hand(bytes, sizeof bytes, &hand);
	assert_true(loaded.keyed);
	assert_int_equal(loaded.len, 64);
	check(&loaded, "prgshiypf42kew7b", "927102f8bc3f0688");
	check(&hand, "prgshiypf42kew7b", "927102f8bc3f0688");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_key),
		cmocka_unit_test(test_binary_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
