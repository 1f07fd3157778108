/* Tests for digest: figures checked against hand-computed values from the fixtures in
 * tests/data/digest (see the comments beside each test for the arithmetic). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "template.h"
#include "util.h"

#define DATA "tests/data/digest"

static char tmpdir[] = "/tmp/coco-test-digest.XXXXXX";

/* ---- a campaign built by hand, so the test does not depend on the config parser ---- */

static coco_member members[] = {
	{.id = "c1", .name = "Ana Alvarez", .side = SIDE_CLIENT},
	{.id = "c2", .name = "Ben Brandt", .side = SIDE_CLIENT},
	{.id = "c3", .name = "Cleo Chen", .side = SIDE_CLIENT},
	{.id = "c4", .name = "Dora Diaz", .side = SIDE_CLIENT},
	{.id = "p1", .name = "Paul Peters", .side = SIDE_PROVIDER},
	{.id = "p2", .name = "Quinn Quist", .side = SIDE_PROVIDER},
	{.id = "p3", .name = "Rita Ruiz", .side = SIDE_PROVIDER},
};

static char *freq_opts[] = {"Weekly", "Monthly"};
static char *chan_opts[] = {"Slack", "Email", "Matrix"};

static coco_question survey_q[] = {
	{.id = "q1", .text = "How is it going?", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "q2", .text = "Would you recommend us?", .kind = QUESTION_NPS, .min = 0, .max = 10},
	{.id = "q3", .text = "How often?", .kind = QUESTION_CHOICE, .options = freq_opts,
	 .n_options = 2},
	{.id = "q4", .text = "Which channels?", .kind = QUESTION_MULTI, .options = chan_opts,
	 .n_options = 3},
	{.id = "q5", .text = "Anything else?", .kind = QUESTION_TEXT},
};

static coco_question gap_q[] = {
	{.id = "q1", .text = "One", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "q2", .text = "Two", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "q3", .text = "Three", .kind = QUESTION_SCALE, .min = 1, .max = 5},
};

static coco_question anon_q[] = {
	{.id = "q1", .text = "Mood", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "q2", .text = "Say more", .kind = QUESTION_TEXT},
};

static coco_question split_q[] = {
	{.id = "s", .text = "Scale", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "n", .text = "NPS", .kind = QUESTION_NPS, .min = 0, .max = 10},
	{.id = "c", .text = "Choice", .kind = QUESTION_CHOICE, .options = freq_opts,
	 .n_options = 2},
	{.id = "m", .text = "Multi", .kind = QUESTION_MULTI, .options = chan_opts,
	 .n_options = 3},
};

static coco_question weekly_q[] = {
	{.id = "mood", .text = "Mood", .kind = QUESTION_SCALE, .min = 1, .max = 5},
};

enum { R_SURVEY, R_GAP, R_ANON, R_PROMPT, R_VOTE, R_SPLIT, R_WEEKLY };
static coco_round rounds[] = {
	[R_SURVEY] = {.id = "pulse", .kind = ROUND_SURVEY, .title = "Pulse", .questions = survey_q,
	              .n_questions = 5},
	[R_GAP] = {.id = "gap", .kind = ROUND_SURVEY, .title = "Gap", .questions = gap_q,
	           .n_questions = 3},
	[R_ANON] = {.id = "anon", .kind = ROUND_SURVEY, .title = "Honest", .anonymous = true,
	            .questions = anon_q, .n_questions = 2},
	[R_PROMPT] = {.id = "ideas", .kind = ROUND_PROMPT, .title = "Ideas"},
	[R_VOTE] = {.id = "vote", .kind = ROUND_VOTE, .title = "Vote", .source = "ideas",
	            .votes = 3},
	[R_SPLIT] = {.id = "split", .kind = ROUND_SURVEY, .title = "Split", .questions = split_q,
	             .n_questions = 4},
	[R_WEEKLY] = {.id = "weekly", .kind = ROUND_SURVEY, .title = "Weekly",
	              .repeat = "FREQ=WEEKLY", .questions = weekly_q, .n_questions = 1},
};

static coco_campaign camp = {
	.id = "acme", .title = "Acme pilot", .client_name = "Acme", .provider_name = "Widgets",
	.members = members, .n_members = ELEMENTSOF(members), .rounds = rounds,
	.n_rounds = ELEMENTSOF(rounds), .quiet_start = -1, .quiet_end = -1,
};

/* ---- helpers ---- */

static void strv_freep(char ***v)
{
	strv_free(*v);
}
#define _cleanup_strv_ _cleanup_(strv_freep)

static void cjson_freep(cJSON **j)
{
	cJSON_Delete(*j);
}

static void put_fixture(const char *root, const char *round, const char *occ, const char *fixture)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_free_ char *src = xasprintf("%s/%s", DATA, fixture);
	assert_int_equal(read_file(src, 1 << 20, &data, &len), 0);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s/campaigns/acme/rounds/%s/%s'", root,
	                                     round, occ);
	assert_int_equal(system(cmd), 0);
	_cleanup_free_ char *dst = xasprintf("%s/campaigns/acme/rounds/%s/%s/answers.jsonl", root,
	                                     round, occ);
	FILE *f = fopen(dst, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static store *open_store(void)
{
	store *st = NULL;
	assert_int_equal(store_open(tmpdir, &st), 0);
	return st;
}

static digest *compute(store *st, int round, const char *occ, const char *prev)
{
	digest_input in = {.store = st, .campaign = &camp, .round = &rounds[round],
	                   .occurrence = occ, .prev_occurrence = prev, .now = 1796630400};
	digest *d = NULL;
	assert_int_equal(digest_compute(&in, &d), 0);
	assert_non_null(d);
	return d;
}

static cJSON *json_of(const digest *d)
{
	cJSON *j = NULL;
	assert_int_equal(digest_to_json(d, &j), 0);
	return j;
}

static const cJSON *question(const cJSON *j, int i)
{
	const cJSON *q = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "questions"), i);
	assert_non_null(q);
	return q;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static bool flag(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(o, key));
}

static const char *bar_line(const cJSON *q, int i)
{
	return str(cJSON_GetArrayItem(cJSON_GetObjectItem(q, "bars"), i), "line");
}

/* ---- tests ---- */

/* q1 latest values: c1 5 (superseding 2), c2 4, c3 4 | p1 3, p2 3, p3 2. n 6, median
 * (3+4)/2 = 3.5, mean 21/6 = 3.5; client 13/3 = 4.3, provider 8/3 = 2.7, gap 4.3 − 2.7 = +1.6
 * (the means as shown; the exact 5/3 would be +1.7).
 * q2 (nps): c1 10 (a later record; does not touch q1), c2 9, p1 6; p3's 11 is out of range.
 * Median 9, mean 25/3 = 8.3; 2 client answers → no gap. Prev q1: 3 4 4 5 → 4.0. */
static void test_survey_figures(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "pulse", "2026-12-07", "survey.jsonl");
	put_fixture(tmpdir, "pulse", "2026-11-30", "survey-prev.jsonl");
	_cleanup_digest_ digest *d = compute(st, R_SURVEY, "2026-12-07", "2026-11-30");
	_cleanup_(cjson_freep) cJSON *j = json_of(d);

	/* 8 good records; "{not json" and the "v":2 record are bad; blank line and torn last
	 * line (c4's) are not records. */
	assert_int_equal(digest_n_records(d), 8);
	assert_int_equal(digest_n_bad_lines(d), 2);
	assert_int_equal(digest_answered(d, SIDE_CLIENT), 3);
	assert_int_equal(digest_audience(d, SIDE_CLIENT), 4);
	assert_int_equal(digest_answered(d, SIDE_PROVIDER), 3);
	assert_int_equal(digest_audience(d, SIDE_PROVIDER), 3);
	const cJSON *p = cJSON_GetObjectItem(j, "participation");
	assert_int_equal(num(p, "client_answered"), 3);
	assert_int_equal(num(p, "provider_total"), 3);
	assert_int_equal(num(p, "percent"), 86); /* 6 of 7 */

	const cJSON *q1 = question(j, 0);
	assert_int_equal(num(q1, "n"), 6);
	assert_string_equal(str(q1, "median"), "3.5");
	assert_string_equal(str(q1, "mean"), "3.5");
	assert_string_equal(str(q1, "client_mean"), "4.3");
	assert_string_equal(str(q1, "provider_mean"), "2.7");
	assert_string_equal(str(q1, "gap"), "+1.6");
	assert_true(flag(q1, "gap_flag"));
	assert_true(flag(q1, "split_shown"));
	assert_string_equal(str(q1, "gap_higher"), "Acme higher");
	assert_string_equal(str(q1, "gap_between"), "Acme − Widgets");
	const cJSON *sides = cJSON_GetObjectItem(q1, "sides");
	assert_int_equal(cJSON_GetArraySize(sides), 2);
	assert_string_equal(str(cJSON_GetArrayItem(sides, 0), "name"), "Acme");
	assert_string_equal(str(cJSON_GetArrayItem(sides, 0), "median"), "4");
	assert_string_equal(str(cJSON_GetArrayItem(sides, 1), "name"), "Widgets");
	assert_string_equal(str(cJSON_GetArrayItem(sides, 1), "median"), "3");
	assert_int_equal(num(cJSON_GetArrayItem(sides, 1), "n"), 3);
	assert_string_equal(bar_line(q1, 0), "5 █ 1");
	assert_string_equal(bar_line(q1, 1), "4 ██ 2");
	assert_string_equal(bar_line(q1, 2), "3 ██ 2");
	assert_string_equal(bar_line(q1, 3), "2 █ 1");
	assert_string_equal(bar_line(q1, 4), "1  0");
	assert_null(bar_line(q1, 5));
	assert_string_equal(str(q1, "trend_text"), "mean 4.0 → 3.5 (-0.5)");
	assert_string_equal(str(j, "trend"), "- How is it going? — mean 4.0 → 3.5 (-0.5)");

	const cJSON *q2 = question(j, 1);
	assert_int_equal(num(q2, "n"), 3);
	assert_string_equal(str(q2, "median"), "9");
	assert_string_equal(str(q2, "mean"), "8.3");
	assert_false(flag(q2, "gap_shown"));
	assert_false(flag(q2, "gap_flag"));
	assert_null(str(q2, "gap"));
	/* c1 10, c2 9 promoters, p1 6 a detractor: (2 - 1) / 3 → +33. */
	assert_string_equal(str(q2, "nps"), "+33");
	assert_false(flag(q2, "split_shown"));
	assert_null(cJSON_GetObjectItem(q2, "sides"));
	assert_string_equal(str(q2, "split_withheld"),
	                    "Acme: 2 answers, Widgets: 1 answer, fewer than 3 each");
	assert_null(str(q2, "trend_text")); /* no q2 answers last time */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(q2, "bars")), 11);
	assert_string_equal(bar_line(q2, 0), "10 █ 1");
	assert_string_equal(bar_line(q2, 1), " 9 █ 1");

	const cJSON *q3 = question(j, 2); /* "monthly" matches "Monthly" */
	assert_int_equal(num(q3, "n"), 2);
	assert_string_equal(bar_line(q3, 0), "Weekly  █ 1");
	assert_string_equal(bar_line(q3, 1), "Monthly █ 1");
	assert_null(str(q3, "mean"));
	assert_string_equal(str(q3, "split_withheld"),
	                    "Acme: 2 answers, Widgets: 0 answers, fewer than 3 each");

	const cJSON *q4 = question(j, 3); /* an array and the "a|b" form */
	assert_string_equal(bar_line(q4, 0), "Slack  █ 1");
	assert_string_equal(bar_line(q4, 1), "Email  ██ 2");
	assert_string_equal(bar_line(q4, 2), "Matrix █ 1");

	const cJSON *q5 = question(j, 4);
	assert_int_equal(num(q5, "n"), 2);
	assert_int_equal(num(q5, "skipped"), 1);
	const cJSON *quotes = cJSON_GetObjectItem(j, "quotes");
	assert_int_equal(cJSON_GetArraySize(quotes), 2);
	assert_string_equal(str(cJSON_GetArrayItem(quotes, 0), "text"), "Great work");
	assert_string_equal(str(cJSON_GetArrayItem(quotes, 0), "who"), "Ana Alvarez");
	assert_string_equal(str(cJSON_GetArrayItem(quotes, 1), "text"), "Too slow — really");
	assert_string_equal(str(cJSON_GetArrayItem(quotes, 1), "who"), "Cleo Chen");

	const cJSON *missing = cJSON_GetObjectItem(j, "missing");
	assert_int_equal(cJSON_GetArraySize(missing), 1);
	assert_string_equal(str(cJSON_GetArrayItem(missing, 0), "name"), "Dora Diaz");
	assert_true(flag(j, "has_missing"));
	assert_string_equal(str(cJSON_GetObjectItem(j, "campaign"), "client_name"), "Acme");
}

/* q1: 4 4 4 vs 3 3 3 → exactly +1.0, flagged. q2: 4 4 4 vs 3 3 4 → 2/3 → +0.7, not
 * flagged. q3: 3 client answers but only 2 provider answers → not shown. */
/* Trial 2's figures: a reader subtracts the means shown and gets the gap shown. q1: client
 * 3 3 3 4 (3.25, shown 3.3) vs provider 4 4 5 (4.33, shown 4.3): −1.0, not the exact −1.08
 * rounded (−1.1); flagged, as it reads 1.0. q2: 4 4 5 (4.3) vs 3 4 4 (3.7): +0.6, not +0.7.
 * The mail and HTML digests, the web view's round page and Slack all show this "gap". */
static void test_gap_adds_up(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "gap", "trial", "gap-rounding.jsonl");
	_cleanup_digest_ digest *d = compute(st, R_GAP, "trial", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	const cJSON *q1 = question(j, 0), *q2 = question(j, 1);
	assert_string_equal(str(q1, "client_mean"), "3.3");
	assert_string_equal(str(q1, "provider_mean"), "4.3");
	assert_string_equal(str(q1, "gap"), "-1.0");
	assert_true(flag(q1, "gap_flag"));
	assert_string_equal(str(q2, "client_mean"), "4.3");
	assert_string_equal(str(q2, "provider_mean"), "3.7");
	assert_string_equal(str(q2, "gap"), "+0.6");
	assert_false(flag(q2, "gap_flag"));
	const char *dirs[] = {"templates", NULL};
	_cleanup_free_ char *md = NULL, *html = NULL;
	assert_int_equal(digest_render(d, dirs, &md), 0);
	assert_int_equal(digest_render_html(d, dirs, &html), 0);
	if (!strstr(md, "**-1.0**") || !strstr(md, "**+0.6**") || strstr(md, "1.1"))
		fail_msg("the gaps as the digest shows them:\n%s", md);
	if (!strstr(html, "<b>-1.0</b>") || !strstr(html, "<b>+0.6</b>"))
		fail_msg("the gaps as the HTML digest shows them:\n%s", html);
}

static void test_gap_threshold(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "gap", "once", "gap.jsonl");
	_cleanup_digest_ digest *d = compute(st, R_GAP, "once", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);

	assert_string_equal(str(question(j, 0), "gap"), "+1.0");
	assert_true(flag(question(j, 0), "gap_flag"));
	assert_string_equal(str(question(j, 1), "gap"), "+0.7");
	assert_true(flag(question(j, 1), "gap_shown"));
	assert_false(flag(question(j, 1), "gap_flag"));
	assert_false(flag(question(j, 2), "gap_shown"));
	assert_null(str(question(j, 2), "gap"));
	assert_string_equal(str(question(j, 2), "split_withheld"), "Widgets: 2 answers, fewer than 3");
	/* Odd n: 4 4 4 3 3 4 sorted 3 3 4 4 4 4 → median 4; q3 5 5 5 1 1 → 5. */
	assert_string_equal(str(question(j, 1), "median"), "4");
	assert_string_equal(str(question(j, 2), "median"), "5");
	assert_string_equal(str(question(j, 2), "mean"), "3.4");
	assert_null(str(j, "trend"));
}

static bool contains_any_name(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(members); i++)
		if (strstr(s, members[i].name))
			return true;
	return strstr(s, "0123456789abcdef") || strstr(s, "1111222233334444") ||
	       strstr(s, "aaaabbbbccccdddd");
}

static void test_anonymous(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "anon", "once", "anon.jsonl");
	_cleanup_digest_ digest *d = compute(st, R_ANON, "once", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	_cleanup_free_ char *text = cJSON_PrintUnformatted(j);
	assert_false(contains_any_name(text));
	assert_null(strstr(text, "\"who\""));
	assert_int_equal(digest_answered(d, SIDE_CLIENT), 2); /* two pseudonyms */
	assert_int_equal(digest_answered(d, SIDE_PROVIDER), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "missing")), 0);
	assert_false(flag(j, "has_missing"));
	assert_false(flag(j, "has_ideas"));
	/* Latest text per pseudonym: 3 quotes, plus 2 ideas. */
	const cJSON *quotes = cJSON_GetObjectItem(j, "quotes");
	assert_int_equal(cJSON_GetArraySize(quotes), 5);
	assert_null(strstr(text, "I like the pace"));
	assert_non_null(strstr(text, "I love the pace"));
	assert_string_equal(str(question(j, 0), "mean"), "3.7"); /* 4 2 5 */
	/* Two client pseudonyms and one provider's: no split, and the digest says why. */
	assert_false(flag(question(j, 0), "split_shown"));
	assert_null(cJSON_GetObjectItem(question(j, 0), "sides"));
	assert_string_equal(str(question(j, 0), "split_withheld"),
	                    "Acme: 2 answers, Widgets: 1 answer, fewer than 3 each (an anonymous "
	                    "round: a smaller group could point to a person)");
	/* MinGroupSize=2 lets the client side through, never the provider's single answer. */
	camp.min_group_size = 2;
	_cleanup_digest_ digest *d2g = compute(st, R_ANON, "once", NULL);
	camp.min_group_size = 0;
	_cleanup_(cjson_freep) cJSON *j2g = json_of(d2g);
	assert_false(flag(question(j2g, 0), "split_shown"));
	assert_string_equal(str(question(j2g, 0), "split_withheld"),
	                    "Widgets: 1 answer, fewer than 2 (an anonymous round: a smaller group "
	                    "could point to a person)");
	_cleanup_free_ char *text2 = cJSON_PrintUnformatted(j2g);
	assert_false(contains_any_name(text2));

	_cleanup_free_ char *md = NULL;
	const char *dirs[] = {"templates", NULL};
	if (access("templates/digest.md", R_OK) == 0) {
		assert_int_equal(digest_render(d, dirs, &md), 0);
		assert_false(contains_any_name(md));
		assert_non_null(strstr(md, "I love the pace"));
	}

	/* The same answers in another order give the same quote order. */
	_cleanup_free_ char *data = NULL;
	assert_int_equal(read_file(DATA "/anon.jsonl", 1 << 20, &data, NULL), 0);
	char *lines[8];
	size_t n = 0;
	for (char *p = data, *nl; (nl = strchr(p, '\n')) && n < 8; p = nl + 1) {
		*nl = '\0';
		lines[n++] = p;
	}
	assert_int_equal(n, 4);
	_cleanup_free_ char *dir2 = xasprintf("%s/other", tmpdir);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p %s/campaigns/acme/rounds/anon/once", dir2);
	assert_int_equal(system(cmd), 0);
	_cleanup_free_ char *path = xasprintf("%s/campaigns/acme/rounds/anon/once/answers.jsonl",
	                                      dir2);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	/* k4 must stay after k1 (it supersedes it); the rest reversed. */
	fprintf(f, "%s\n%s\n%s\n%s\n", lines[2], lines[1], lines[0], lines[3]);
	assert_int_equal(fclose(f), 0);
	_cleanup_store_ store *st2 = NULL;
	assert_int_equal(store_open(dir2, &st2), 0);
	_cleanup_digest_ digest *d2 = compute(st2, R_ANON, "once", NULL);
	_cleanup_(cjson_freep) cJSON *j2 = json_of(d2);
	_cleanup_free_ char *q1 = cJSON_PrintUnformatted(quotes);
	_cleanup_free_ char *q2 = cJSON_PrintUnformatted(cJSON_GetObjectItem(j2, "quotes"));
	assert_string_equal(q1, q2);
}

static void test_prompt_ideas(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "ideas", "once", "prompt.jsonl");
	_cleanup_strv_ char **ideas = NULL;
	assert_int_equal(digest_collect_ideas(st, "acme", "ideas", "once", &ideas), 0);
	assert_int_equal(strv_length(ideas), 4);
	assert_string_equal(ideas[0], "Weekly demo");
	assert_string_equal(ideas[1], "Shared board"); /* trimmed; "shared board" is the same */
	assert_string_equal(ideas[2], "Pair programming");
	assert_string_equal(ideas[3], "Office hours");

	_cleanup_strv_ char **who = NULL;
	assert_int_equal(digest_answered_members(st, "acme", "ideas", "once", &who), 0);
	assert_int_equal(strv_length(who), 3);
	assert_string_equal(who[0], "c1");
	assert_string_equal(who[1], "p1");
	assert_string_equal(who[2], "c2");

	_cleanup_digest_ digest *d = compute(st, R_PROMPT, "once", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	const cJSON *list = cJSON_GetObjectItem(j, "ideas");
	assert_int_equal(cJSON_GetArraySize(list), 4);
	assert_int_equal(num(cJSON_GetArrayItem(list, 0), "count"), 2);
	assert_string_equal(str(cJSON_GetArrayItem(list, 2), "who"), "Paul Peters");
	assert_int_equal(num(cJSON_GetArrayItem(list, 3), "number"), 4);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "quotes")), 4);
	/* An idea two members wrote is listed once, with both: the second proposer is not
	 * lost (c1 wrote "Office hours" alone, in two records: one proposer). */
	assert_string_equal(str(cJSON_GetArrayItem(list, 0), "who"), "Ana Alvarez and Paul Peters");
	assert_int_equal(num(cJSON_GetArrayItem(list, 0), "proposers"), 2);
	assert_string_equal(str(cJSON_GetArrayItem(list, 1), "who"), "Ana Alvarez and Ben Brandt");
	assert_string_equal(str(cJSON_GetArrayItem(list, 3), "who"), "Ana Alvarez");
	assert_int_equal(num(cJSON_GetArrayItem(list, 3), "proposers"), 1);
	if (access("templates/digest.md", R_OK) == 0) {
		const char *dirs[] = {"templates", NULL};
		_cleanup_free_ char *md = NULL;
		assert_int_equal(digest_render(d, dirs, &md), 0);
		assert_non_null(strstr(md, "- “Weekly demo” (_Ana Alvarez and Paul Peters_)\n"));
	}
	/* Anonymous: no names, but that two proposed it. */
	rounds[R_PROMPT].anonymous = true;
	_cleanup_digest_ digest *da = compute(st, R_PROMPT, "once", NULL);
	rounds[R_PROMPT].anonymous = false;
	_cleanup_(cjson_freep) cJSON *ja = json_of(da);
	_cleanup_free_ char *ta = cJSON_PrintUnformatted(ja);
	assert_false(contains_any_name(ta));
	const cJSON *q;
	size_t shared = 0;
	cJSON_ArrayForEach(q, cJSON_GetObjectItem(ja, "quotes"))
		shared += cJSON_GetNumberValue(cJSON_GetObjectItem(q, "proposers")) == 2;
	assert_int_equal(shared, 2);
	if (access("templates/digest.md", R_OK) == 0) {
		const char *dirs[] = {"templates", NULL};
		_cleanup_free_ char *md = NULL;
		assert_int_equal(digest_render(da, dirs, &md), 0);
		assert_non_null(strstr(md, "- “Weekly demo” (_proposed by 2 members_)\n"));
		assert_false(contains_any_name(md));
	}

	/* An absent occurrence is an empty list, bad names are refused. */
	_cleanup_strv_ char **none = NULL;
	assert_int_equal(digest_collect_ideas(st, "acme", "ideas", "2020-01-01", &none), 0);
	assert_int_equal(strv_length(none), 0);
	char **bad = NULL;
	assert_int_equal(digest_collect_ideas(st, "acme", "../ideas", "once", &bad), -EINVAL);
	assert_int_equal(digest_answered_members(st, "acme", "ideas", "a/b", &bad), -EINVAL);
	assert_null(bad);
}

/* trial 7: Tom answered, then his [Member] section was removed. His answers still count
 * in the figures (config.md), so "Who answered" counts him too, apart from today's
 * members: q1 is answered by c1 4, tom 5, p1 3 = 3, and the client side reads "1 of 4 and
 * 1 former member" (not "1 of 4" beside two client answers). What he wrote is shown as a
 * former member's, never under his bare id. */
static void test_former_member(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "pulse", "former", "former.jsonl");
	put_fixture(tmpdir, "ideas", "former", "former-ideas.jsonl");
	_cleanup_digest_ digest *d = compute(st, R_SURVEY, "former", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	assert_int_equal(num(question(j, 0), "n"), 3);
	assert_int_equal(digest_answered(d, SIDE_CLIENT), 1);
	const cJSON *p = cJSON_GetObjectItem(j, "participation");
	assert_string_equal(str(p, "client_former"), "1 former member");
	assert_null(str(p, "provider_former"));
	assert_string_equal(str(p, "former"), "1 former member");
	_cleanup_free_ char *text = cJSON_PrintUnformatted(j);
	assert_null(strstr(text, "tom"));

	_cleanup_digest_ digest *di = compute(st, R_PROMPT, "former", NULL);
	_cleanup_(cjson_freep) cJSON *ji = json_of(di);
	const cJSON *list = cJSON_GetObjectItem(ji, "ideas");
	assert_string_equal(str(cJSON_GetArrayItem(list, 0), "who"),
	                    "Ana Alvarez and " DIGEST_FORMER_MEMBER);
	assert_string_equal(str(cJSON_GetArrayItem(list, 1), "who"), DIGEST_FORMER_MEMBER);

	if (access("templates/digest.md", R_OK) != 0)
		return;
	const char *dirs[] = {"templates", NULL};
	_cleanup_free_ char *md = NULL, *html = NULL, *mdi = NULL;
	assert_int_equal(digest_render(d, dirs, &md), 0);
	assert_non_null(strstr(md, "**Who answered:** Acme 1 of 4 and 1 former member, "
	                           "Widgets 1 of 3.\n"));
	assert_non_null(strstr(md, "Answered by 3 "));
	assert_non_null(strstr(md, "- “Keep the meetings short” (_a former member_)\n"));
	assert_null(strstr(md, "tom"));
	assert_int_equal(digest_render_html(d, dirs, &html), 0);
	assert_non_null(strstr(html, "Acme 1 of 4 and 1 former member, "));
	assert_int_equal(digest_render(di, dirs, &mdi), 0);
	assert_non_null(strstr(mdi, "- “One-click reorder” (_a former member_)\n"));
	assert_null(strstr(mdi, "tom"));
	/* The web view's page of the round, from the same data, says it too. */
	const char *wdirs[] = {"templates/web", NULL};
	_cleanup_free_ char *tpl = NULL, *page = NULL, *err = NULL;
	assert_int_equal(template_dirs_partial("round.html", &tpl, (void *)wdirs), 0);
	assert_int_equal(template_render("round.html", tpl, j, template_dirs_partial,
	                                 (void *)wdirs, &page, &err), 0);
	assert_non_null(strstr(page, "2 of 7 answered (29%), and 1 former member.</p>"));

	/* Anonymous: a pseudonym cannot be matched to a member, so nobody is counted as a
	 * former member while a side has no more contributors than members. */
	rounds[R_SURVEY].anonymous = true;
	_cleanup_digest_ digest *da = compute(st, R_SURVEY, "former", NULL);
	rounds[R_SURVEY].anonymous = false;
	_cleanup_(cjson_freep) cJSON *ja = json_of(da);
	assert_null(str(cJSON_GetObjectItem(ja, "participation"), "former"));
}

/* Ballot of 4. c1's latest votes {3:1, 4:2} (the later empty "votes" changes nothing),
 * c2 {2:3, 4:2}, p1 {3:2} (idea 9 is not on the ballot). Dots: 1→0, 2→3, 3→3, 4→4. */
static void test_vote_ranking(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "vote", "once", "vote.jsonl");
	const char *ballot[] = {"Weekly demo", "Shared board", "Pair programming",
	                        "Office hours"};
	digest_input in = {.store = st, .campaign = &camp, .round = &rounds[R_VOTE],
	                   .occurrence = "once", .idea_texts = ballot, .n_ideas = 4,
	                   .comments = (const char *const[]){"Nice digest!"}, .n_comments = 1,
	                   .still_open_note = "1 of 4 client members still to answer"};
	_cleanup_digest_ digest *d = NULL;
	assert_int_equal(digest_compute(&in, &d), 0);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	const cJSON *rk = cJSON_GetObjectItem(j, "ideas_ranked");
	assert_int_equal(cJSON_GetArraySize(rk), 4);
	/* Ideas 2 and 3 tie: they share rank 2, and the next is 4th (1, 2, 2, 4). */
	int want_number[] = {4, 2, 3, 1}, want_votes[] = {4, 3, 3, 0}, want_rank[] = {1, 2, 2, 4};
	for (int i = 0; i < 4; i++) {
		const cJSON *o = cJSON_GetArrayItem(rk, i);
		assert_int_equal(num(o, "rank"), want_rank[i]);
		assert_int_equal(num(o, "number"), want_number[i]);
		assert_int_equal(num(o, "votes"), want_votes[i]);
	}
	assert_string_equal(str(cJSON_GetArrayItem(rk, 0), "text"), "Office hours");
	assert_int_equal(num(j, "dots_total"), 10);
	assert_string_equal(str(j, "still_open"), "1 of 4 client members still to answer");
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "comments"), 0), "text"),
	                    "Nice digest!");
	/* c3, c4, p2, p3 did not vote. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "missing")), 4);

	/* What the recipients read: shared ranks, and "vote" or "votes" as the number says. */
	if (access("templates/digest.md", R_OK) != 0)
		return;
	const char *const dirs[] = {"templates", NULL};
	_cleanup_free_ char *md = NULL;
	assert_int_equal(digest_render(d, dirs, &md), 0);
	assert_non_null(strstr(md, "1. Office hours (4 votes)\n2. Shared board (3 votes)\n"
	                           "2. Pair programming (3 votes)\n4. Weekly demo (0 votes)\n"));
}

/* An occurrence still open: its progress only, whatever the round; an anonymous one
 * without counts by side. */
static void test_in_progress(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "vote", "once", "vote.jsonl");
	put_fixture(tmpdir, "anon", "once", "anon.jsonl");
	put_fixture(tmpdir, "pulse", "2026-12-07", "survey.jsonl");
	const char *ballot[] = {"Weekly demo", "Shared board", "Pair programming",
	                        "Office hours"};
	const char *dirs[] = {"templates", NULL};
	bool have_templates = access("templates/digest.md", R_OK) == 0;
	struct {
		int round;
		const char *occ;
	} cases[] = {{R_VOTE, "once"}, {R_ANON, "once"}, {R_SURVEY, "2026-12-07"}};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const coco_round *r = &rounds[cases[i].round];
		digest_input in = {.store = st, .campaign = &camp, .round = r,
		                   .occurrence = cases[i].occ, .idea_texts = ballot,
		                   .n_ideas = r->kind == ROUND_VOTE ? 4 : 0, .in_progress = true,
		                   .still_open_note = "Still open until Friday."};
		_cleanup_digest_ digest *d = NULL;
		assert_int_equal(digest_compute(&in, &d), 0);
		_cleanup_(cjson_freep) cJSON *j = json_of(d);
		assert_true(flag(j, "in_progress"));
		assert_string_equal(str(j, "still_open"), "Still open until Friday.");
		const char *empty[] = {"questions", "quotes", "ideas", "ideas_ranked", "missing"};
		for (size_t k = 0; k < ELEMENTSOF(empty); k++)
			assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, empty[k])), 0);
		assert_null(cJSON_GetObjectItem(j, "dots_total"));
		assert_null(cJSON_GetObjectItem(j, "trend"));
		assert_null(cJSON_GetObjectItem(j, "records"));
		const cJSON *p = cJSON_GetObjectItem(j, "participation");
		assert_true(num(p, "answered") > 0);
		assert_int_equal(flag(p, "by_side"), !r->anonymous);
		assert_int_equal(cJSON_GetObjectItem(p, "client_answered") != NULL, !r->anonymous);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "sides")),
		                 r->anonymous ? 0 : 2);
		if (!have_templates)
			continue;
		_cleanup_free_ char *md = NULL, *html = NULL;
		assert_int_equal(digest_render(d, dirs, &md), 0);
		assert_int_equal(digest_render_html(d, dirs, &html), 0);
		assert_non_null(strstr(md, "# Progress: "));
		assert_non_null(strstr(md, "Still open until Friday."));
		assert_non_null(strstr(html, "Still open until Friday."));
		assert_null(strstr(md, "votes"));
		assert_null(strstr(md, "mean"));
		assert_null(strstr(md, "Not heard from"));
		if (r->anonymous) {
			assert_non_null(strstr(md, "**Who answered so far:** 3 of 7 members"));
			assert_null(strstr(md, "Acme 2 of"));
			assert_null(strstr(html, "Acme 2 of"));
		} else
			assert_non_null(strstr(md, "**Who answered so far:** Acme "));
	}
}

static void test_render_and_write(void **state)
{
	if (access("templates/digest.md", R_OK) != 0)
		skip();
	_cleanup_store_ store *st = open_store();
	put_fixture(tmpdir, "pulse", "2026-12-07", "survey.jsonl");
	put_fixture(tmpdir, "pulse", "2026-11-30", "survey-prev.jsonl");
	_cleanup_digest_ digest *d = compute(st, R_SURVEY, "2026-12-07", "2026-11-30");
	const char *dirs[] = {"templates", NULL};
	_cleanup_free_ char *md = NULL, *html = NULL;
	assert_int_equal(digest_render(d, dirs, &md), 0);
	if (getenv("DIGEST_SHOW")) /* to look at the result: DIGEST_SHOW=1 test_digest */
		fputs(md, stderr);
	assert_non_null(strstr(md, "# Results: Pulse"));
	/* a reply becomes a comment, and the mail says so before its one footer */
	const char *hint = strstr(md, "Reply to this mail to add a comment");
	const char *sig = strstr(md, "\n-- \n");
	assert_non_null(hint);
	assert_non_null(sig);
	assert_true(hint < sig);
	assert_non_null(strstr(md, "3.5"));
	assert_non_null(strstr(md, "Dora Diaz"));
	assert_non_null(strstr(md, "Great work"));
	assert_int_equal(digest_markdown_to_html(md, &html), 0);
	assert_non_null(strstr(html, "<h1>"));
	assert_non_null(strstr(html, "<h2>"));

	/* The HTML part, from digest.html and the same data: table bars, no images or SVG. */
	_cleanup_free_ char *part = NULL;
	assert_int_equal(digest_render_html(d, dirs, &part), 0);
	assert_non_null(strstr(part, "Results: Pulse</h1>"));
	assert_non_null(strstr(part, "<td width=\"100%\" height=\"14\" bgcolor=\"#2b6cb0\"") ||
	                strstr(part, "bgcolor=\"#2b6cb0\""));
	assert_non_null(strstr(part, "Split by side withheld: Acme: 2 answers, Widgets: 1 answer"));
	assert_non_null(strstr(part, "<b>+1.6</b>, Acme higher."));
	assert_non_null(strstr(part, "“Great work” (<i>Ana Alvarez</i>)"));
	assert_null(strstr(part, "<svg"));
	assert_null(strstr(part, "<img"));
	assert_null(strstr(part, "<script"));
	assert_null(strstr(part, "{{"));
	_cleanup_free_ char *page = digest_html_document("A <b> & c", part);
	assert_non_null(strstr(page, "<title>A &lt;b&gt; &amp; c</title>"));
	assert_non_null(strstr(page, "<meta charset=\"utf-8\">"));

	/* Written as given, beside the Markdown. */
	assert_int_equal(digest_write(st, "acme", "pulse-html", md, page), 0);
	_cleanup_free_ char *back_html = NULL;
	assert_int_equal(store_read(st, "campaigns/acme/digests/pulse-html.html", 1 << 20,
	                            &back_html, NULL), 0);
	assert_string_equal(back_html, page);

	assert_int_equal(digest_write(st, "acme", "pulse-2026-12-07", md, NULL), 0);
	_cleanup_free_ char *back = NULL;
	size_t len;
	assert_int_equal(store_read(st, "campaigns/acme/digests/pulse-2026-12-07.md", 1 << 20,
	                            &back, &len), 0);
	assert_string_equal(back, md);
	assert_int_equal(store_exists(st, "campaigns/acme/digests/pulse-2026-12-07.html"), 1);
	assert_int_equal(digest_write(st, "acme", "../evil", md, NULL), -EINVAL);

	/* No template → an error, not a crash. */
	const char *nodirs[] = {"/nonexistent", NULL};
	char *none = NULL;
	assert_true(digest_render(d, nodirs, &none) < 0);
	assert_null(none);
}

static void test_markdown_safe(void **state)
{
	_cleanup_free_ char *html = NULL;
	assert_int_equal(digest_markdown_to_html("# T\n\n<script>x()</script>\n\n[a](javascript:x)\n",
	                                         &html), 0);
	assert_non_null(strstr(html, "<h1>T</h1>"));
	assert_null(strstr(html, "<script>"));
	assert_null(strstr(html, "javascript:"));
	assert_int_equal(digest_markdown_to_html(NULL, &html), -EINVAL);
}

static void test_bad_input(void **state)
{
	_cleanup_store_ store *st = open_store();
	digest *d = NULL;
	assert_int_equal(digest_compute(NULL, &d), -EINVAL);
	digest_input in = {.store = st, .campaign = &camp, .round = &rounds[R_SURVEY],
	                   .occurrence = "../../etc"};
	assert_int_equal(digest_compute(&in, &d), -EINVAL);
	in.occurrence = "once";
	in.n_ideas = 2; /* but no texts */
	assert_int_equal(digest_compute(&in, &d), -EINVAL);
	assert_null(d);
	/* No answers yet: an empty digest, everyone missing. */
	in.n_ideas = 0;
	in.occurrence = "2030-01-01";
	assert_int_equal(digest_compute(&in, &d), 0);
	assert_int_equal(digest_n_records(d), 0);
	assert_int_equal(digest_answered(d, SIDE_CLIENT), 0);
	assert_int_equal(digest_audience(d, SIDE_CLIENT), 4);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	assert_null(str(question(j, 0), "mean"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "missing")), 7);
	digest_free(d);
	assert_null(digest_free(NULL));
}

/* Lines the fast scanner gives up on go to cJSON; garbage is counted, never fatal. */
static void test_odd_lines(void **state)
{
	_cleanup_store_ store *st = open_store();
	const char *text =
		"{\"v\":1,\"member\":\"c1\",\"answers\":{\"q1\":4,\"q5\":\"\\u00e9t\\u00e9\"}}\n"
		"{\"v\":1,\"member\":\"c2\",\"answers\":{\"q1\":\"3\"}} trailing\n"
		"[1,2,3]\n"
		"{\"v\":1}\n"
		"{\"v\":\"1\",\"member\":\"c3\",\"answers\":{\"q1\":\"5\"}}\n"
		"{\"v\":1,\"member\":\"c4\",\"answers\":{\"q1\":\" 2\",\"q3\":\"Yearly\"}}\n"
		"{\"member\":\"p1\",\"answers\":{\"q1\":\"1\",\"q5\":\"\\ud83d\\ude00 ok\"},\"v\":1}\n";
	assert_int_equal(store_replace(st, "campaigns/acme/rounds/pulse/odd/answers.jsonl", text,
	                               strlen(text)), 0);
	_cleanup_digest_ digest *d = compute(st, R_SURVEY, "odd", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	/* Good: c1 (q1 as a number is ignored, the emoji decodes), c4 (no valid values, but
	 * answered), p1. Bad: trailing garbage, array, no member, "v" as a string. */
	assert_int_equal(digest_n_records(d), 3);
	assert_int_equal(digest_n_bad_lines(d), 4);
	assert_int_equal(num(question(j, 0), "n"), 1);
	assert_string_equal(str(question(j, 0), "mean"), "1.0");
	const cJSON *quotes = cJSON_GetObjectItem(j, "quotes");
	assert_string_equal(str(cJSON_GetArrayItem(quotes, 0), "text"), "\xc3\xa9t\xc3\xa9");
	assert_string_equal(str(cJSON_GetArrayItem(quotes, 1), "text"), "\xf0\x9f\x98\x80 ok");
	assert_int_equal(num(question(j, 2), "n"), 0);
	assert_int_equal(digest_answered(d, SIDE_CLIENT), 2);
}

static void put_text(store *st, const char *round, const char *occ, const char *text)
{
	_cleanup_free_ char *p = xasprintf("campaigns/acme/rounds/%s/%s/answers.jsonl", round, occ);
	assert_int_equal(store_replace(st, p, text, strlen(text)), 0);
}

static const cJSON *side_of(const cJSON *q, int i)
{
	const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(q, "sides"), i);
	assert_non_null(s);
	return s;
}

static const cJSON *option_row(const cJSON *q, int option, int side)
{
	const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(q, "options_split"), option);
	assert_non_null(o);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(o, "rows"), side);
}

#define SPLIT_LINE(m, s, n, c, mm) \
	"{\"v\":1,\"member\":\"" m "\",\"answers\":{\"s\":\"" s "\",\"n\":\"" n \
	"\",\"c\":\"" c "\",\"m\":" mm "}}\n"

/* Three answers a side, every question.
 * Scale: Acme 2 3 4 (median 3, mean 3.0), Widgets 4 5 5 (median 5, mean 4.7); gap 3 - 14/3 =
 * -5/3 → -1.7, Widgets higher, past 1.0.
 * NPS: Acme 9 10 8 (mean 9.0; promoters 2, detractors 0 → +67), Widgets 7 8 7 (mean 7.3, 0 →
 * "0"); gap 9 - 22/3 = 5/3 → +1.7: under the NPS threshold of 2.0 (a scale's would flag it).
 * Overall NPS: 2 promoters of 6 → +33.
 * Choice: Acme Weekly 2 of 3 (67%), Monthly 33%; Widgets Monthly 3 of 3: Weekly +67, Monthly
 * -67; the widest is the first, Weekly +67 points, past 25.
 * Multi: Acme {Slack,Email} {Email} {Email}: Slack 33, Email 100, Matrix 0; Widgets {Email}
 * {Email,Matrix} {Slack,Email}: 33, 100, 33. Gaps ±0, ±0, -33: Matrix -33 points, past 25. */
static const char split_text[] =
	SPLIT_LINE("c1", "2", "9", "Weekly", "[\"Slack\",\"Email\"]")
	SPLIT_LINE("c2", "3", "10", "Weekly", "[\"Email\"]")
	SPLIT_LINE("c3", "4", "8", "Monthly", "[\"Email\"]")
	SPLIT_LINE("p1", "4", "7", "Monthly", "[\"Email\"]")
	SPLIT_LINE("p2", "5", "8", "Monthly", "[\"Email\",\"Matrix\"]")
	SPLIT_LINE("p3", "5", "7", "Monthly", "[\"Slack\",\"Email\"]");

static void test_split_by_side(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_text(st, "split", "once", split_text);
	_cleanup_digest_ digest *d = compute(st, R_SPLIT, "once", NULL);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);

	const cJSON *qs = question(j, 0);
	assert_true(flag(qs, "split_shown"));
	assert_null(str(qs, "split_withheld"));
	assert_string_equal(str(side_of(qs, 0), "side"), "client");
	assert_int_equal(num(side_of(qs, 0), "n"), 3);
	assert_string_equal(str(side_of(qs, 0), "median"), "3");
	assert_string_equal(str(side_of(qs, 0), "mean"), "3.0");
	assert_string_equal(str(side_of(qs, 1), "median"), "5");
	assert_string_equal(str(side_of(qs, 1), "mean"), "4.7");
	/* The mean on the scale: (3.0 - 1) / 4 = 50% → 8 of 16 cells. */
	assert_int_equal(num(side_of(qs, 0), "pct"), 50);
	assert_string_equal(str(side_of(qs, 0), "meter"), "████████░░░░░░░░");
	assert_string_equal(str(side_of(qs, 0), "label"), "Acme   "); /* as wide as Widgets */
	assert_string_equal(str(qs, "gap"), "-1.7");
	assert_string_equal(str(qs, "gap_higher"), "Widgets higher");
	assert_string_equal(str(qs, "gap_threshold"), "1.0");
	assert_true(flag(qs, "gap_flag"));
	assert_null(str(side_of(qs, 0), "nps"));

	const cJSON *qn = question(j, 1);
	assert_string_equal(str(qn, "nps"), "+33");
	assert_string_equal(str(side_of(qn, 0), "nps"), "+67");
	assert_string_equal(str(side_of(qn, 1), "nps"), "0");
	assert_string_equal(str(side_of(qn, 0), "mean"), "9.0");
	assert_string_equal(str(side_of(qn, 1), "mean"), "7.3");
	assert_string_equal(str(qn, "gap"), "+1.7");
	assert_string_equal(str(qn, "gap_higher"), "Acme higher");
	assert_string_equal(str(qn, "gap_threshold"), "2.0");
	assert_false(flag(qn, "gap_flag"));

	const cJSON *qc = question(j, 2);
	assert_true(flag(qc, "split_shown"));
	assert_int_equal(num(option_row(qc, 0, 0), "pct"), 67);
	assert_int_equal(num(option_row(qc, 0, 1), "pct"), 0);
	assert_string_equal(str(option_row(qc, 1, 0), "pct_text"), " 33%");
	assert_string_equal(str(option_row(qc, 1, 1), "pct_text"), "100%");
	assert_string_equal(str(qc, "gap_option"), "Weekly");
	assert_string_equal(str(qc, "gap"), "+67 points");
	assert_string_equal(str(qc, "gap_threshold"), "25 points");
	assert_true(flag(qc, "gap_flag"));

	const cJSON *qm = question(j, 3);
	assert_int_equal(num(option_row(qm, 1, 0), "pct"), 100);
	assert_int_equal(num(option_row(qm, 2, 1), "pct"), 33);
	assert_string_equal(str(qm, "gap_option"), "Matrix");
	assert_string_equal(str(qm, "gap"), "-33 points");
	assert_string_equal(str(qm, "gap_higher"), "Widgets higher");
	assert_true(flag(qm, "gap_flag"));

	/* GapThreshold=2.0: scales 2.0, NPS 4.0, choices 50 points. */
	camp.gap_tenths = 20;
	_cleanup_digest_ digest *d2 = compute(st, R_SPLIT, "once", NULL);
	camp.gap_tenths = 0;
	_cleanup_(cjson_freep) cJSON *j2 = json_of(d2);
	assert_false(flag(question(j2, 0), "gap_flag"));
	assert_string_equal(str(question(j2, 1), "gap_threshold"), "4.0");
	assert_true(flag(question(j2, 2), "gap_flag")); /* 67 */
	assert_false(flag(question(j2, 3), "gap_flag")); /* 33 */
	assert_string_equal(str(question(j2, 3), "gap_threshold"), "50 points");

	/* A round for one side has nothing to set apart, and says nothing about it. */
	rounds[R_SPLIT].audience = AUDIENCE_CLIENT;
	_cleanup_digest_ digest *d3 = compute(st, R_SPLIT, "once", NULL);
	rounds[R_SPLIT].audience = AUDIENCE_ALL;
	_cleanup_(cjson_freep) cJSON *j3 = json_of(d3);
	assert_false(flag(question(j3, 0), "split_shown"));
	assert_null(str(question(j3, 0), "split_withheld"));

	if (access("templates/digest.md", R_OK) != 0)
		return;
	const char *dirs[] = {"templates", NULL};
	_cleanup_free_ char *md = NULL;
	assert_int_equal(digest_render(d, dirs, &md), 0);
	assert_non_null(strstr(md, "Acme     ████████░░░░░░░░ 3.0  (3 answers, median 3)\n"));
	assert_non_null(strstr(md, "Gap (Acme − Widgets): **-1.7**, Widgets higher. ⚑"));
	assert_non_null(strstr(md, "(3 answers, median 9, NPS +67)"));
	assert_non_null(strstr(md, "Weekly\n  Acme     ███████████░░░░░  67%\n"));
}

/* A weekly round's mood over four weeks; Acme's means 1.0, 3.0, - (2 answers), 5.0 on 1–5:
 * (m - 1) / 4 * 7 → 0, 3.5 → 4, -, 7: ▁▅·█. Widgets 3 3 3 each week: ▅▅▅▅. */
static void test_sparkline(void **state)
{
	_cleanup_store_ store *st = open_store();
	static const char *const weeks[] = {"2026-11-16", "2026-11-23", "2026-11-30", "2026-12-07"};
	static const char *const acme[][3] = {{"1", "1", "1"}, {"2", "3", "4"}, {"5", "5", NULL},
	                                      {"5", "5", "5"}};
	for (int w = 0; w < 4; w++) {
		strbuf b = {0};
		static const char *const cm[] = {"c1", "c2", "c3"}, *const pm[] = {"p1", "p2", "p3"};
		for (int i = 0; i < 3; i++) {
			if (acme[w][i])
				strbuf_printf(&b, "{\"v\":1,\"member\":\"%s\",\"answers\":{\"mood\":"
				              "\"%s\"}}\n", cm[i], acme[w][i]);
			strbuf_printf(&b, "{\"v\":1,\"member\":\"%s\",\"answers\":{\"mood\":\"3\"}}\n",
			              pm[i]);
		}
		put_text(st, "weekly", weeks[w], b.s);
		strbuf_done(&b);
	}
	_cleanup_digest_ digest *d = compute(st, R_WEEKLY, "2026-12-07", "2026-11-30");
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	const cJSON *q = question(j, 0);
	assert_true(flag(q, "has_sparks"));
	assert_int_equal(num(q, "spark_points"), 4);
	const cJSON *sp = cJSON_GetObjectItem(q, "sparks");
	assert_int_equal(cJSON_GetArraySize(sp), 2);
	assert_string_equal(str(cJSON_GetArrayItem(sp, 0), "name"), "Acme");
	assert_string_equal(str(cJSON_GetArrayItem(sp, 0), "spark"), "▁▅·█");
	assert_string_equal(str(cJSON_GetArrayItem(sp, 0), "first"), "1.0");
	assert_string_equal(str(cJSON_GetArrayItem(sp, 0), "last"), "5.0");
	assert_string_equal(str(cJSON_GetArrayItem(sp, 1), "spark"), "▅▅▅▅");
	/* The same means per week, for the web view's line chart: Acme's third week withheld. */
	const cJSON *tc = cJSON_GetObjectItem(q, "trend_chart");
	assert_non_null(tc);
	assert_int_equal(num(tc, "min"), 1);
	assert_int_equal(num(tc, "max"), 5);
	const cJSON *occs = cJSON_GetObjectItem(tc, "occurrences");
	assert_int_equal(cJSON_GetArraySize(occs), 4);
	for (int w = 0; w < 4; w++)
		assert_string_equal(cJSON_GetArrayItem(occs, w)->valuestring, weeks[w]);
	const cJSON *series = cJSON_GetObjectItem(tc, "series");
	assert_int_equal(cJSON_GetArraySize(series), 2);
	const cJSON *ac = cJSON_GetArrayItem(series, 0), *wi = cJSON_GetArrayItem(series, 1);
	assert_string_equal(str(ac, "side"), "client");
	assert_string_equal(str(ac, "name"), "Acme");
	assert_string_equal(str(wi, "side"), "provider");
	static const char *const acme_means[] = {"1.0", "3.0", NULL, "5.0"};
	for (int w = 0; w < 4; w++) {
		const cJSON *pa = cJSON_GetArrayItem(cJSON_GetObjectItem(ac, "points"), w);
		const cJSON *pw = cJSON_GetArrayItem(cJSON_GetObjectItem(wi, "points"), w);
		assert_string_equal(str(pa, "occurrence"), weeks[w]);
		if (acme_means[w]) {
			assert_string_equal(str(pa, "mean"), acme_means[w]);
			assert_true(num(pa, "value") == atof(acme_means[w]));
		} else {
			assert_null(str(pa, "mean"));
			assert_null(cJSON_GetObjectItem(pa, "value"));
		}
		assert_string_equal(str(pw, "mean"), "3.0");
	}

	/* The digest of an earlier week sees only the weeks before it: 2 points. */
	_cleanup_digest_ digest *d2 = compute(st, R_WEEKLY, "2026-11-23", NULL);
	_cleanup_(cjson_freep) cJSON *j2 = json_of(d2);
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(question(j2, 0), "sparks"),
	                                           0), "spark"), "▁▅");

	/* A one-shot round has no sparkline. */
	_cleanup_digest_ digest *d3 = compute(st, R_SPLIT, "once", NULL);
	_cleanup_(cjson_freep) cJSON *j3 = json_of(d3);
	assert_false(flag(question(j3, 0), "has_sparks"));
	assert_null(cJSON_GetObjectItem(question(j3, 0), "trend_chart"));
}

/* Ballot of 3. Acme: c1 {1:3}, c2 {1:2, 2:1}, c3 {2:3}; Widgets: p1 {2:3}, p2 {2:1, 3:2},
 * p3 {3:3}. Idea 2: Acme 4 + Widgets 4 = 8; idea 1: 5 + 0; idea 3: 0 + 5. */
static void test_votes_by_side(void **state)
{
	_cleanup_store_ store *st = open_store();
	put_text(st, "vote", "sides",
	         "{\"v\":1,\"member\":\"c1\",\"votes\":{\"1\":3}}\n"
	         "{\"v\":1,\"member\":\"c2\",\"votes\":{\"1\":2,\"2\":1}}\n"
	         "{\"v\":1,\"member\":\"c3\",\"votes\":{\"2\":3}}\n"
	         "{\"v\":1,\"member\":\"p1\",\"votes\":{\"2\":3}}\n"
	         "{\"v\":1,\"member\":\"p2\",\"votes\":{\"2\":1,\"3\":2}}\n"
	         "{\"v\":1,\"member\":\"p3\",\"votes\":{\"3\":3}}\n");
	const char *ballot[] = {"Weekly demo", "Shared board", "Pair programming"};
	digest_input in = {.store = st, .campaign = &camp, .round = &rounds[R_VOTE],
	                   .occurrence = "sides", .idea_texts = ballot, .n_ideas = 3};
	_cleanup_digest_ digest *d = NULL;
	assert_int_equal(digest_compute(&in, &d), 0);
	_cleanup_(cjson_freep) cJSON *j = json_of(d);
	assert_true(flag(j, "votes_split_shown"));
	const cJSON *rk = cJSON_GetObjectItem(j, "ideas_ranked");
	const cJSON *first = cJSON_GetArrayItem(rk, 0), *second = cJSON_GetArrayItem(rk, 1),
	            *third = cJSON_GetArrayItem(rk, 2);
	assert_int_equal(num(first, "number"), 2);
	assert_int_equal(num(first, "client_votes"), 4);
	assert_int_equal(num(first, "provider_votes"), 4);
	assert_string_equal(str(first, "dots"), "●●●●○○○○");
	assert_string_equal(str(second, "dots"), "●●●●●"); /* idea 1, Acme's only */
	assert_string_equal(str(third, "dots"), "○○○○○");  /* idea 3, Widgets' only */

	/* The fixture of test_vote_ranking: Acme 2 voters, Widgets 1: withheld. */
	put_fixture(tmpdir, "vote", "few", "vote.jsonl");
	in.occurrence = "few";
	_cleanup_digest_ digest *d2 = NULL;
	assert_int_equal(digest_compute(&in, &d2), 0);
	_cleanup_(cjson_freep) cJSON *j2 = json_of(d2);
	assert_false(flag(j2, "votes_split_shown"));
	assert_string_equal(str(j2, "votes_split_withheld"),
	                    "Acme: 2 voters, Widgets: 1 voter, fewer than 3 each");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j2, "ideas_ranked"),
	                                                   0), "dots"));
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_survey_figures), cmocka_unit_test(test_gap_threshold),
		cmocka_unit_test(test_gap_adds_up),
		cmocka_unit_test(test_anonymous),      cmocka_unit_test(test_prompt_ideas),
		cmocka_unit_test(test_vote_ranking),   cmocka_unit_test(test_in_progress),
		cmocka_unit_test(test_render_and_write),
		cmocka_unit_test(test_markdown_safe),  cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_odd_lines),      cmocka_unit_test(test_split_by_side),
		cmocka_unit_test(test_sparkline),      cmocka_unit_test(test_votes_by_side),
		cmocka_unit_test(test_former_member),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
