/* state-check: see state-check.h. */
#define _GNU_SOURCE
#include "state-check.h"

#include <limits.h>

#include "util.h"

static int bad(char **ret_why, char *why)
{
	*ret_why = why;
	return -EBADMSG;
}

/* An optional integer member: absent is fine, anything but an int64 is not. */
static int check_int(const cJSON *o, const char *key, const char *where, char **ret_why)
{
	int64_t v;
	int r = json_get_int64(o, key, &v);
	if (r == -ENOENT || r >= 0)
		return 0;
	return bad(ret_why, xasprintf("%s\"%s\" is not an integer in range", where, key));
}

static int check_string(const cJSON *o, const char *key, const char *where, char **ret_why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsString(v))
		return 0;
	return bad(ret_why, xasprintf("%s\"%s\" is not a string", where, key));
}

static int check_round(const cJSON *rd, char **ret_why)
{
	_cleanup_free_ char *where = xasprintf("round \"%s\": ", rd->string);
	static const char *const ints[] = {"open", "close"};
	static const char *const strings[] = {"state", "occurrence", "prev", "ballot"};
	int r;
	if (!cJSON_IsObject(rd))
		return bad(ret_why, xasprintf("%snot an object", where));
	for (size_t i = 0; i < ELEMENTSOF(ints); i++)
		if ((r = check_int(rd, ints[i], where, ret_why)) < 0)
			return r;
	for (size_t i = 0; i < ELEMENTSOF(strings); i++)
		if ((r = check_string(rd, strings[i], where, ret_why)) < 0)
			return r;
	const cJSON *uninv = cJSON_GetObjectItemCaseSensitive(rd, "uninvited");
	if (uninv && !cJSON_IsObject(uninv))
		return bad(ret_why, xasprintf("%s\"uninvited\" is not an object", where));
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(rd, "reminded_at"), *it;
	if (at && !cJSON_IsObject(at))
		return bad(ret_why, xasprintf("%s\"reminded_at\" is not an object", where));
	cJSON_ArrayForEach(it, at) {
		int64_t t;
		if (json_number_to_int64(it, &t) < 0)
			return bad(ret_why, xasprintf("%s\"reminded_at\" of \"%s\" is not a time",
			                              where, it->string));
	}
	const cJSON *rem = cJSON_GetObjectItemCaseSensitive(rd, "reminded");
	if (!rem)
		return 0;
	if (!cJSON_IsObject(rem))
		return bad(ret_why, xasprintf("%s\"reminded\" is not an object", where));
	cJSON_ArrayForEach(it, rem) {
		int64_t n;
		if (json_number_to_int64(it, &n) < 0 || n < 0 || n > INT_MAX)
			return bad(ret_why, xasprintf("%s\"reminded\" of \"%s\" is not a count",
			                              where, it->string));
	}
	return 0;
}

int state_check(const cJSON *o, char **ret_why)
{
	int64_t v;
	int r;
	if (!cJSON_IsObject(o))
		return bad(ret_why, xstrdup("not a JSON object (a truncated or corrupt file?)"));
	r = json_get_int64(o, "v", &v);
	if (r == -ENOENT)
		return bad(ret_why, xstrdup("no version (\"v\")"));
	if (r < 0 || v != 1)
		return bad(ret_why, xstrdup("unknown version (\"v\"): this cocod reads version 1"));
	if ((r = check_int(o, "digest_next", "", ret_why)) < 0 ||
	    (r = check_int(o, "last_digest", "", ret_why)) < 0)
		return r;
	const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(o, "rounds"), *rd;
	if (!rounds)
		return 0;
	if (!cJSON_IsObject(rounds))
		return bad(ret_why, xstrdup("\"rounds\" is not an object"));
	cJSON_ArrayForEach(rd, rounds)
		if ((r = check_round(rd, ret_why)) < 0)
			return r;
	return 0;
}
