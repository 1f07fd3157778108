/* json-print: json_print_compact() against cJSON_PrintUnformatted(), byte for byte, on the
 * numbers where the fast path starts and stops (0, -0, 10^15 either side, fractions, NaN,
 * infinities, the int range's ends), every control byte and escape, UTF-8, empty and nested
 * containers, raw items, NULL strings and keys, and many random trees. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json-print.h"
#include "util.h"

static void assert_same(const cJSON *item)
{
	char *want = cJSON_PrintUnformatted(item);
	char *got = json_print_compact(item);
	if (!want || !got || strcmp(want, got) != 0) {
		print_message("cJSON: %s\nours:  %s\n", want ? want : "(null)",
		              got ? got : "(null)");
		fail();
	}
	cJSON_free(want);
	free(got);
}

static void test_numbers(void **state)
{
	const double ds[] = {
		0, -0.0, 1, -1, 3, 42, 1764653445, -1764653445, 2147483647, 2147483648.0,
		-2147483648.0, -2147483649.0, 999999999999999.0, -999999999999999.0, 1e15, -1e15,
		1e15 + 1, 1e16, 9007199254740993.0, 1e300, -1e300, 0.5, -0.5, 0.1, 1.0 / 3,
		2.5e-7, 123456.789, 1e-300, 4.9e-324, NAN, INFINITY, -INFINITY, 1e21,
		12345678901234.5,
	};
	for (size_t i = 0; i < ELEMENTSOF(ds); i++) {
		cJSON *n = cJSON_CreateNumber(ds[i]);
		assert_same(n);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "at", ds[i]);
		assert_same(o);
		cJSON_Delete(n);
		cJSON_Delete(o);
	}
}

static void test_strings(void **state)
{
	char all[160];
	size_t k = 0;
	for (int c = 1; c < 128; c++)
		all[k++] = (char)c;
	all[k] = 0;
	const char *ss[] = {"", "plain", "quote \" and \\ back", "tab\tnl\ncr\rbs\bff\f",
	                    "\x01\x1f\x7f", "Léa Roux — ✓ 日本", all};
	for (size_t i = 0; i < ELEMENTSOF(ss); i++) {
		cJSON *s = cJSON_CreateString(ss[i]);
		assert_same(s);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, ss[i], ss[i]); /* the key escaped too */
		assert_same(o);
		cJSON_Delete(s);
		cJSON_Delete(o);
	}
	/* a string item without its string, an object member without its name */
	cJSON *s = cJSON_CreateString("x");
	free(s->valuestring);
	s->valuestring = NULL;
	assert_same(s);
	cJSON_Delete(s);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToArray(o, cJSON_CreateTrue()); /* no ->string */
	assert_same(o);
	cJSON_Delete(o);
}

static void test_containers(void **state)
{
	cJSON *o = cJSON_CreateObject();
	assert_same(o);
	cJSON_AddItemToObject(o, "empty", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "obj", cJSON_CreateObject());
	cJSON_AddNullToObject(o, "n");
	cJSON_AddTrueToObject(o, "t");
	cJSON_AddFalseToObject(o, "f");
	cJSON_AddRawToObject(o, "raw", "[1, 2 ,3]");
	cJSON *a = cJSON_AddArrayToObject(o, "a");
	for (int i = 0; i < 5; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(i * 1.5));
	cJSON_AddItemToArray(a, cJSON_CreateStringReference("ref"));
	assert_same(o);
	assert_same(a);
	cJSON_Delete(o);
	/* an item of no type: NULL from both */
	cJSON bad = {0};
	assert_null(cJSON_PrintUnformatted(&bad));
	assert_null(json_print_compact(&bad));
	assert_null(json_print_compact(NULL));
}

static unsigned rnd_state = 12345;
static unsigned rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) & 0x7fff;
}

static cJSON *random_item(int depth)
{
	switch (rnd() % (depth > 3 ? 5 : 7)) {
	case 0:
		return cJSON_CreateNull();
	case 1:
		return cJSON_CreateBool(rnd() & 1);
	case 2: {
		double d;
		switch (rnd() % 4) {
		case 0: d = (double)((int)rnd() - 16384); break;
		case 1: d = (double)rnd() * (double)rnd() * (double)rnd() * 1000.0; break;
		case 2: d = (double)((int)rnd() - 16384) / (double)(1 + rnd() % 1000); break;
		default: d = ldexp((double)rnd(), (int)(rnd() % 80) - 20);
		}
		return cJSON_CreateNumber(d);
	}
	case 3:
	case 4: {
		char s[24];
		size_t n = rnd() % sizeof s;
		for (size_t i = 0; i < n; i++)
			s[i] = (char)(1 + rnd() % 255);
		s[n] = 0;
		return cJSON_CreateString(s);
	}
	default: {
		bool object = rnd() & 1;
		cJSON *c = object ? cJSON_CreateObject() : cJSON_CreateArray();
		int n = (int)(rnd() % 5);
		for (int i = 0; i < n; i++) {
			char key[8];
			snprintf(key, sizeof key, "k%u", rnd() % 100);
			if (object)
				cJSON_AddItemToObject(c, key, random_item(depth + 1));
			else
				cJSON_AddItemToArray(c, random_item(depth + 1));
		}
		return c;
	}
	}
}

static void test_random_trees(void **state)
{
	for (int i = 0; i < 5000; i++) {
		cJSON *t = random_item(0);
		assert_same(t);
		cJSON_Delete(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_random_trees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
