/* util's checked JSON numbers, xcalloc()'s zeroed blocks, and the checks a state.json must
 * pass (state-check.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

#include "state-check.h"
#include "util.h"

static int num(double d, int64_t *ret)
{
	cJSON *v = cJSON_CreateNumber(d);
	int r = json_number_to_int64(v, ret);
	cJSON_Delete(v);
	return r;
}

static void test_json_int64(void **state)
{
	int64_t v = 42;
	assert_int_equal(num(0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(num(1796630400, &v), 0);
	assert_int_equal(v, 1796630400);
	assert_int_equal(num(-5, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(num(-9223372036854775808.0, &v), 0);
	assert_true(v == INT64_MIN);

	v = 42;
	assert_int_equal(num(9223372036854775808.0, &v), -ERANGE); /* 2^63: INT64_MAX + 1 */
	assert_int_equal(num(1e300, &v), -ERANGE);
	assert_int_equal(num(-1e300, &v), -ERANGE);
	assert_int_equal(num(1.5, &v), -ERANGE);
	assert_int_equal(num(NAN, &v), -ERANGE);
	assert_int_equal(num(INFINITY, &v), -ERANGE);
	assert_int_equal(v, 42); /* untouched on failure */

	cJSON *o = cJSON_Parse("{\"a\":7,\"b\":\"7\",\"c\":1e300,\"d\":null}");
	assert_int_equal(json_get_int64(o, "a", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(json_get_int64(o, "b", &v), -EINVAL);
	assert_int_equal(json_get_int64(o, "c", &v), -ERANGE);
	assert_int_equal(json_get_int64(o, "d", &v), -EINVAL);
	assert_int_equal(json_get_int64(o, "missing", &v), -ENOENT);
	assert_int_equal(json_get_int64(NULL, "a", &v), -ENOENT);
	cJSON_Delete(o);
}

static const struct {
	const char *json, *why; /* why: NULL if valid, else a phrase of the reason */
} states[] = {
    {"{\"v\":1}", NULL},
    {"{\"v\":1,\"digest_next\":1796227200,\"last_digest\":0,\"rounds\":{\"kickoff\":"
     "{\"state\":\"open\",\"occurrence\":\"once\",\"open\":1796630400,\"close\":1796889600,"
     "\"reminded\":{\"mikko\":1}}}}", NULL},
    {"{\"v\":1,\"rounds\":{", "not a JSON object"},
    {"[1]", "not a JSON object"},
    {"{\"rounds\":{}}", "no version"},
    {"{\"v\":99,\"rounds\":{}}", "unknown version"},
    {"{\"v\":1.5}", "unknown version"},
    {"{\"v\":1,\"digest_next\":1e300}", "\"digest_next\" is not an integer"},
    {"{\"v\":1,\"last_digest\":\"soon\"}", "\"last_digest\" is not an integer"},
    {"{\"v\":1,\"rounds\":[]}", "\"rounds\" is not an object"},
    {"{\"v\":1,\"rounds\":{\"k\":1}}", "round \"k\": not an object"},
    {"{\"v\":1,\"rounds\":{\"k\":{\"open\":-1e300}}}", "round \"k\": \"open\""},
    {"{\"v\":1,\"rounds\":{\"k\":{\"state\":3}}}", "\"state\" is not a string"},
    {"{\"v\":1,\"rounds\":{\"k\":{\"reminded\":{\"ana\":-1}}}}", "\"reminded\" of \"ana\""},
    {"{\"v\":1,\"rounds\":{\"k\":{\"reminded\":{\"ana\":1e10}}}}", "\"reminded\" of \"ana\""},
};

static void test_state_check(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(states); i++) {
		cJSON *o = cJSON_Parse(states[i].json);
		char *why = NULL;
		int r = state_check(o, &why);
		if (!states[i].why && r != 0)
			fail_msg("%s: refused (%s)", states[i].json, why);
		if (states[i].why && (r != -EBADMSG || !why || !strstr(why, states[i].why)))
			fail_msg("%s: expected -EBADMSG with \"%s\", got %d \"%s\"", states[i].json,
			         states[i].why, r, why ? why : "");
		free(why);
		cJSON_Delete(o);
	}
}

/* xcalloc() zeroes a block of any size, the small ones (malloc() and memset() since they
 * skip calloc(): util.c) as the large ones, even where freed blocks full of bytes were. */
static void test_xcalloc(void **state)
{
	static const size_t sizes[][2] = {{1, 1},   {3, 8},    {1, 1024}, {1024, 1}, {1, 1025},
	                                  {41, 25}, {0, 0},    {0, 16},   {16, 0},   {1, 65536},
	                                  {8, 100}, {200, 24}};
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		size_t n = sizes[i][0] ? sizes[i][0] : 1, size = sizes[i][1] ? sizes[i][1] : 1;
		/* Dirty blocks of that size freed first, for the allocator to hand back. */
		void *dirty[8];
		for (size_t k = 0; k < ELEMENTSOF(dirty); k++)
			dirty[k] = memset(xmalloc(n * size), 0xa5, n * size);
		for (size_t k = 0; k < ELEMENTSOF(dirty); k++)
			free(dirty[k]);
		for (size_t k = 0; k < ELEMENTSOF(dirty); k++) {
			unsigned char *p = xcalloc(sizes[i][0], sizes[i][1]);
			for (size_t b = 0; b < n * size; b++)
				assert_int_equal(p[b], 0);
			dirty[k] = p;
		}
		for (size_t k = 0; k < ELEMENTSOF(dirty); k++)
			free(dirty[k]);
	}
}

/* strbuf_reserve(): room made at once, for what follows; the string as without it. */
static void test_strbuf_reserve(void **state)
{
	strbuf b = {0};
	strbuf_reserve(&b, 511);
	assert_non_null(b.s);
	assert_true(b.cap >= 512);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.s, "");
	char *at = b.s;
	for (int i = 0; i < 511; i++)
		strbuf_putc(&b, (char)('a' + i % 26));
	assert_ptr_equal(b.s, at); /* no reallocation within the room */
	assert_int_equal(b.len, 511);
	assert_int_equal(strlen(b.s), 511);
	strbuf_reserve(&b, 0);
	strbuf_puts(&b, "xyz"); /* past the room: grows as before */
	assert_int_equal(b.len, 514);
	assert_string_equal(b.s + 508, "opqxyz");
	strbuf_reserve(&b, 10000);
	assert_true(b.cap >= 514 + 10001);
	assert_string_equal(b.s + 511, "xyz");
	strbuf_done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_int64),
		cmocka_unit_test(test_xcalloc),
		cmocka_unit_test(test_strbuf_reserve),
		cmocka_unit_test(test_state_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
