/* A vote's ballot from the user's side: its numbering never moves, and a vote with nothing
 * on its ballot does not open. Three members (one of them later forgotten) send ideas, one
 * a copy of another's, and the others vote on ideas numbered after the forgotten member's;
 * after `cococtl forget` the vote digest ranks the same ideas with the same dots, the
 * export's vote rows name the same ideas, and the forgotten member's words are nowhere.
 * Runs the real core, store, spool and local connector on the injectable clock
 * (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=b\nTitle=Ballot\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"     \
	"Provider=Provider Co\n" SIM_MEMBERS                                                    \
	"[Member \"tom\"]\nName=Tom Becker\nSide=client\nEmail=tom@client.example\n"

static const char conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote\nSource=ideas\nVotes=3\n"
	"Open=2026-06-04 09:00\nDuration=2d\n";

static int forget_hook(const char *const *addresses, const char *const *phrases,
                       size_t *ret_erased, void *userdata)
{
	sim *s = userdata;
	return channelset_forget(addresses, phrases, ret_erased, s->chans);
}

static cJSON *ctl(sim *s, const char *cmd, const char *key, const char *value, char **err)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	cJSON_AddStringToObject(req, "cmd", cmd);
	if (key)
		cJSON_AddStringToObject(req, key, value);
	if (STREQ(cmd, "digest")) {
		cJSON_AddStringToObject(req, "campaign", "b");
		cJSON_AddStringToObject(req, "round", "vote");
	}
	*err = NULL;
	int r = core_control(s->core, req, &reply, err);
	cJSON_Delete(req);
	settle(s);
	return r < 0 ? NULL : reply;
}

static cJSON *ctl_ok(sim *s, const char *cmd, const char *key, const char *value)
{
	char *err = NULL;
	cJSON *o = ctl(s, cmd, key, value, &err);
	if (!o)
		fail_msg("cococtl %s %s: %s", cmd, value ? value : "", err ? err : "?");
	return o;
}

static char *read_state(sim *s, const char *rel)
{
	char *data = NULL;
	assert_int_equal(store_read(s->st, rel, 1 << 22, &data, NULL), 0);
	return data;
}

static char *files_holding(sim *s, const char *word)
{
	_cleanup_free_ char *cmd = xasprintf("grep -rlF -e '%s' '%s'", word, s->state);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	strbuf out = {0};
	char buf[512];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		strbuf_add(&out, buf, n);
	pclose(p);
	return strbuf_steal(&out);
}

static char *export_csv(sim *s)
{
	cJSON *o = ctl_ok(s, "export", "campaign", "b");
	char *csv = xstrdup(cJSON_GetObjectItem(o, "data")->valuestring);
	cJSON_Delete(o);
	return csv;
}

/* The dots of the ideas nobody forgotten voted on, as the vote digest ranks them. */
static const char *const kept_ranking[] = {
	"Apple Pay at checkout (3 votes)",
	"Faster product pages (3 votes)",
	"Offline sync please (1 vote)",
	"Dark mode (1 vote)",
	"Live map (1 vote)",
};

static void test_forget_keeps_the_ballot_numbering(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	core_set_forget_hook(s.core, forget_hook, &s);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Ballot: 1 Dark mode, 2 Live map, 3 Zanzibar gift cards (Tom's; his "dark MODE" is
	 * idea 1 again), 4 Offline sync please (Tom's first, then Pia's too), 5 Apple Pay at
	 * checkout, 6 Faster product pages. */
	answer(&s, "ann", "ideas", NULL, "idea: Dark mode\nidea: Live map");
	answer(&s, "tom", "ideas", NULL,
	       "idea: Zanzibar gift cards\nidea: dark MODE\nidea: Offline sync please");
	answer(&s, "pia", "ideas", NULL, "idea: Apple Pay at checkout\nidea: Offline sync please");
	answer(&s, "bob", "ideas", NULL, "idea: Faster product pages");

	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "vote", NULL, "vote 1 5 6");
	answer(&s, "bob", "vote", NULL, "vote 4 5 5");
	answer(&s, "pia", "vote", NULL, "vote 6 6 2");
	answer(&s, "tom", "vote", NULL, "vote 3 3 3");
	run_until(&s, JUN1 + 6 * DAY, NULL, NULL);

	_cleanup_free_ char *before = read_state(&s, "campaigns/b/digests/vote-once.md");
	expect_in(before, "Zanzibar gift cards (3 votes)");
	for (size_t i = 0; i < ELEMENTSOF(kept_ranking); i++)
		expect_in(before, kept_ranking[i]);
	_cleanup_free_ char *csv_before = export_csv(&s);
	expect_in(csv_before, "Offline sync please");

	cJSON_Delete(ctl_ok(&s, "forget", "member", "tom"));
	store_commit(s.st);

	/* The digest computed again by forget, and one an admin asks for later. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			char *err = NULL;
			cJSON *o = ctl(&s, "digest", NULL, NULL, &err);
			if (!o)
				fail_msg("cococtl digest b vote: %s", err ? err : "?");
			cJSON_Delete(o);
		}
		_cleanup_free_ char *after = read_state(&s, "campaigns/b/digests/vote-once.md");
		for (size_t i = 0; i < ELEMENTSOF(kept_ranking); i++)
			expect_in(after, kept_ranking[i]);
		expect_in(after, "(idea withdrawn) (0 votes)");
		expect_not_in(after, "Zanzibar");
		expect_not_in(after, "Tom");
		expect_not_in(after, "Not heard from yet");
	}

	/* Export: every vote row still names the idea it was cast for. */
	_cleanup_free_ char *csv = export_csv(&s);
	const char *rows[][2] = {
		{"ann", "vote:1"}, {"ann", "vote:5"}, {"ann", "vote:6"}, {"bob", "vote:4"},
		{"bob", "vote:5"}, {"pia", "vote:6"}, {"pia", "vote:2"},
	};
	const char *names[] = {"Dark mode", "Apple Pay at checkout", "Faster product pages",
	                       "Offline sync please", "Apple Pay at checkout",
	                       "Faster product pages", "Live map"};
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		bool found = false;
		for (const char *line = csv; line && *line && !found;) {
			const char *end = strchrnul(line, '\n');
			_cleanup_free_ char *l = xstrndup(line, (size_t)(end - line));
			found = strstr(l, rows[i][0]) && strstr(l, rows[i][1]) && strstr(l, names[i]);
			line = *end ? end + 1 : end;
		}
		if (!found)
			fail_msg("no export row %s %s \"%s\" in:\n%s", rows[i][0], rows[i][1],
			         names[i], csv);
	}
	expect_not_in(csv, "tom");

	/* Nothing of Tom, anywhere under the state directory. */
	const char *traces[] = {"Zanzibar", "Tom Becker", "tom@client.example"};
	for (size_t i = 0; i < ELEMENTSOF(traces); i++) {
		_cleanup_free_ char *f = files_holding(&s, traces[i]);
		if (*f)
			fail_msg("\"%s\" is still in:\n%s", traces[i], f);
	}
	sim_finish(&s);
}

/* No ideas were sent: the vote is not opened, nobody is asked to put dots on nothing. */
static const char manual_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote\nSource=ideas\nVotes=3\nDuration=2d\n"
	"[Round \"vote2\"]\nKind=vote\nTitle=Vote again\nSource=ideas\nVotes=3\n"
	"Open=2026-06-04 09:00\nDuration=2d\n";

static const char *round_state(sim *s, const char *round, char *buf, size_t size)
{
	char *err = NULL;
	cJSON *o = ctl(s, "rounds", NULL, NULL, &err);
	assert_non_null(o);
	const cJSON *e;
	buf[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "rounds"))
	if (STREQ(cJSON_GetObjectItem(e, "round")->valuestring, round))
		snprintf(buf, size, "%s", cJSON_GetObjectItem(e, "state")->valuestring);
	cJSON_Delete(o);
	return buf;
}

static void test_empty_ballot_does_not_open(void **state)
{
	sim s;
	char st[32];
	clock_set_test(JUN1);
	sim_start(&s, manual_conf);
	run_until(&s, JUN1 + 5 * DAY, NULL, NULL);
	/* The scheduled one was due: skipped, no invitation. */
	assert_string_equal(round_state(&s, "vote2", st, sizeof st), "done");
	assert_int_equal(count(&s, "prompt", "vote2", NULL, NULL), 0);
	assert_false(store_has(&s, "campaigns/b/digests/vote2-once.md"));

	/* By hand: refused, and why. */
	char *err = NULL;
	assert_null(ctl(&s, "open", "round", "b/vote", &err));
	expect_in(err, "ballot is empty");
	expect_in(err, "ideas");
	free(err);
	assert_string_equal(round_state(&s, "vote", st, sizeof st), "scheduled");
	assert_int_equal(count(&s, "prompt", "vote", NULL, NULL), 0);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forget_keeps_the_ballot_numbering),
		cmocka_unit_test(test_empty_ballot_does_not_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
