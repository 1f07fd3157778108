/* The conversation index (conversations.jsonl: a channel's id of each message sent → its
 * reference and occurrence) does not grow for ever: at start, an entry older than 90 days
 * whose round occurrence is closed is dropped and the file written again, whole (a new
 * file renamed over the old one); entries of an occurrence still open stay however old,
 * and a line written before entries had a date gets the date of that start. What the admin
 * sees: the file's lines, and one log line saying how many were dropped. Runs the real core,
 * store, spool and local channel on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define JUN1 INT64_C(1780272000) /* 2026-06-01 00:00Z */
#define HOUR 3600
#define DAY 86400

static const char conf[] =
	"[Campaign]\nId=t\nTitle=Index\nTimeZone=UTC\nQuietHours=none\nClient=C\nProvider=P\n"
	"[Member \"ann\"]\nName=Ann\nSide=client\nEmail=ann@client.example\n"
	"[Member \"bob\"]\nName=Bob\nSide=provider\nEmail=bob@provider.example\n"
	"[Round \"short\"]\nKind=survey\nTitle=Short\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"short/q\"]\nKind=scale\nText=How?\n"
	"[Round \"long\"]\nKind=survey\nTitle=Long\nOpen=2026-06-01 09:00\nDuration=200d\n"
	"[Question \"long/q\"]\nKind=scale\nText=How, over the year?\n";

static char *read_index(sim *s)
{
	char *data = NULL;
	int r = store_read(s->st, "conversations.jsonl", 1 << 22, &data, NULL);
	return r < 0 ? xstrdup("") : data;
}

/* The index's lines about messages of round `round` (by their conversation reference, as
 * the spool entries of that round carry it). */
static size_t lines_of_round(sim *s, const char *index, const char *round)
{
	char **ids = NULL;
	size_t n = 0;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	cJSON *refs = cJSON_CreateObject();
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = NULL;
		assert_int_equal(store_read(s->st, path, 1 << 22, &data, NULL), 0);
		cJSON *m = cJSON_Parse(data);
		const cJSON *r = cJSON_GetObjectItem(m, "round"), *ref = cJSON_GetObjectItem(m, "conversation");
		if (cJSON_IsString(r) && STREQ(r->valuestring, round) && cJSON_IsString(ref) &&
		    !cJSON_GetObjectItem(refs, ref->valuestring))
			cJSON_AddTrueToObject(refs, ref->valuestring);
		cJSON_Delete(m);
	}
	strv_free(ids);
	for (const char *p = index; *p;) {
		const char *e = strchr(p, '\n');
		_cleanup_free_ char *line = xstrndup(p, e ? (size_t)(e - p) : strlen(p));
		cJSON *o = cJSON_Parse(line);
		const cJSON *ref = cJSON_GetObjectItem(o, "conversation");
		if (cJSON_IsString(ref) && cJSON_GetObjectItem(refs, ref->valuestring))
			n++;
		cJSON_Delete(o);
		p = e ? e + 1 : p + strlen(p);
	}
	cJSON_Delete(refs);
	return n;
}

static void restart_at(sim *s, int64_t t)
{
	sim_down(s);
	clock_set_test(t);
	sim_up(s);
}

static void test_old_entries_of_closed_rounds_are_dropped_at_start(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Two invitations each: four entries, each with the time it was sent. */
	_cleanup_free_ char *before = read_index(&s);
	assert_int_equal(lines_of_round(&s, before, "short"), 2);
	assert_int_equal(lines_of_round(&s, before, "long"), 2);
	size_t n_long;
	if (!strstr(before, "\"at\":"))
		fail_msg("no date in the index:\n%s", before);
	/* A line as cocod wrote them before they had a date. */
	assert_int_equal(store_append(s.st, "conversations.jsonl",
	                              "{\"v\":1,\"channel\":\"local\",\"remote\":\"old.1@example.org\","
	                              "\"conversation\":\"aaaaaaaaaaaaaaaa\"}", NULL, NULL, NULL), 0);
	store_commit(s.st);

	/* A month on: nothing is old enough, the file stays as it is but for the date the
	 * undated line gets. */
	run_until(&s, JUN1 + 30 * DAY, NULL, NULL);
	restart_at(&s, JUN1 + 30 * DAY);
	_cleanup_free_ char *month = read_index(&s);
	assert_true(lines_of_round(&s, month, "short") >= 2);
	n_long = lines_of_round(&s, month, "long");
	assert_true(n_long >= 2);
	assert_non_null(strstr(month, "old.1@example.org"));
	_cleanup_free_ char *stamp = xasprintf("\"at\":%lld", (long long)(JUN1 + 30 * DAY));
	if (!strstr(month, stamp))
		fail_msg("the undated line got no date (%s):\n%s", stamp, month);

	/* 100 days after the invitations: the short round's are dropped, the long round is
	 * still open and keeps its own; the once undated line is 70 days old and stays. */
	run_until(&s, JUN1 + 100 * DAY, NULL, NULL);
	restart_at(&s, JUN1 + 100 * DAY);
	_cleanup_free_ char *later = read_index(&s);
	assert_int_equal(lines_of_round(&s, later, "short"), 0);
	assert_true(lines_of_round(&s, later, "long") >= n_long);
	if (!strstr(later, "old.1@example.org"))
		fail_msg("the once undated line is gone:\n%s", later);
	/* Written whole: no temporary left behind. */
	assert_false(store_has(&s, "conversations.jsonl.tmp"));

	/* Once the long round has closed and 90 days passed, it all goes. */
	run_until(&s, JUN1 + 300 * DAY, NULL, NULL);
	restart_at(&s, JUN1 + 300 * DAY);
	_cleanup_free_ char *last = read_index(&s);
	assert_int_equal(lines_of_round(&s, last, "long"), 0);
	if (strstr(last, "old.1@example.org"))
		fail_msg("an entry 270 days old stayed:\n%s", last);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_entries_of_closed_rounds_are_dropped_at_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
