/* A campaign an admin can trust: what a new admin met in the rounds engine, each written from
 * the user's side — the config they wrote, the mail members sent, the commands they typed,
 * and what they expected to read back. Runs the real core, store, spool and local connector
 * on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

/* 2026-06-01 is a Monday; the campaign runs in UTC so instants read easily. */
#define JUN1 INT64_C(1780272000) /* 2026-06-01 00:00Z */
#define HOUR 3600
#define DAY 86400

#define MEMBERS                                                                                \
	"[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"            \
	"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"            \
	"[Member \"pia\"]\nName=Pia Provider\nSide=provider\nEmail=pia@provider.example\n"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Trust\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"      \
	"Provider=Provider Co\n" MEMBERS

/* An admin command as cococtl sends it; returns the reply (or NULL with *err set). */
static cJSON *ctl(sim *s, const char *cmd, const char *round, char **err)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	cJSON_AddStringToObject(req, "cmd", cmd);
	if (round)
		cJSON_AddStringToObject(req, "round", round);
	*err = NULL;
	int r = core_control(s->core, req, &reply, err);
	cJSON_Delete(req);
	settle(s);
	return r < 0 ? NULL : reply;
}

static void ctl_ok(sim *s, const char *cmd, const char *round)
{
	char *err = NULL;
	cJSON *o = ctl(s, cmd, round, &err);
	if (!o)
		fail_msg("cococtl %s %s: %s", cmd, round, err ? err : "?");
	cJSON_Delete(o);
}

/* The state and occurrence `cococtl rounds` shows for a round. */
static void round_is(sim *s, const char *round, const char *state, const char *occ)
{
	char *err = NULL;
	cJSON *o = ctl(s, "rounds", NULL, &err);
	assert_non_null(o);
	const cJSON *e;
	bool found = false;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "rounds"))
	{
		if (!STREQ(cJSON_GetObjectItem(e, "round")->valuestring, round))
			continue;
		found = true;
		const char *st = cJSON_GetObjectItem(e, "state")->valuestring;
		const cJSON *oc = cJSON_GetObjectItem(e, "occurrence");
		if (!STREQ(st, state) || (occ && (!cJSON_IsString(oc) || !STREQ(oc->valuestring, occ))))
			fail_msg("round %s is %s %s, expected %s %s", round, st,
			         cJSON_IsString(oc) ? oc->valuestring : "-", state, occ ? occ : "");
	}
	cJSON_Delete(o);
	assert_true(found);
}

/* The Markdown of the newest message of `kind` to `member` (NULL if none). */
static char *last_message(sim *s, const char *kind, const char *member)
{
	char **ids = NULL;
	char *md = NULL;
	int64_t best = -1;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = NULL;
		assert_int_equal(store_read(s->st, path, 1 << 22, &data, NULL), 0);
		cJSON *m = cJSON_Parse(data);
		struct stat st;
		_cleanup_free_ char *full = xasprintf("%s/%s", s->state, path);
		assert_int_equal(stat(full, &st), 0);
		int64_t t = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		if (STREQ(cJSON_GetObjectItem(m, "kind")->valuestring, kind) &&
		    STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member")->valuestring,
		          member) &&
		    t >= best) {
			free(md);
			md = xstrdup(cJSON_GetObjectItem(m, "markdown")->valuestring);
			best = t;
		}
		cJSON_Delete(m);
	}
	strv_free(ids);
	return md;
}

static void expect_in(const char *text, const char *want)
{
	if (!text || !strstr(text, want))
		fail_msg("expected \"%s\" in:\n%s", want, text ? text : "(nothing)");
}

static void expect_not_in(const char *text, const char *unwanted)
{
	if (text && strstr(text, unwanted))
		fail_msg("did not expect \"%s\" in:\n%s", unwanted, text);
}

/* ---- 1. a confirmation lists what was recorded, for every kind of round ------------- */

static const char ideas_vote_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote\nSource=ideas\nVotes=3\n"
	"Open=2026-06-04 09:00\nDuration=2d\n";

static void test_confirmation_lists_ideas_and_votes(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, ideas_vote_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "ideas", NULL, "idea: Offline mode for drivers\nidea: A live map");
	_cleanup_free_ char *conf = last_message(&s, "confirmation", "ann");
	expect_in(conf, "idea: Offline mode for drivers");
	expect_in(conf, "idea: A live map");
	expect_not_in(conf, "nothing yet");

	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "vote", NULL, "vote 2 2 1");
	_cleanup_free_ char *vconf = last_message(&s, "confirmation", "bob");
	expect_in(vconf, "2 dots for idea 2, A live map");
	expect_in(vconf, "1 dot for idea 1, Offline mode for drivers");
	expect_not_in(vconf, "nothing yet");
	sim_finish(&s);
}

/* ---- 2. a round without Open= is opened by hand ------------------------------------- */

static const char manual_conf[] = CAMPAIGN
	"[Round \"adhoc\"]\nKind=survey\nTitle=Ad hoc\nDuration=2d\n"
	"[Question \"adhoc/q\"]\nKind=scale\nText=How is it going?\n"
	"[Round \"fixed\"]\nKind=survey\nTitle=Fixed close\nClose=2026-06-10 17:00\n"
	"[Question \"fixed/q\"]\nKind=scale\nText=And now?\n";

static void test_round_opened_by_hand(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, manual_conf);
	run_until(&s, JUN1 + 5 * DAY, NULL, NULL);
	/* Nothing opens by itself; both wait for the admin. */
	round_is(&s, "adhoc", "scheduled", "once");
	round_is(&s, "fixed", "scheduled", "once");
	assert_int_equal(count(&s, "prompt", NULL, NULL, NULL), 0);

	ctl_ok(&s, "open", "t/adhoc");
	round_is(&s, "adhoc", "open", "once");
	assert_int_equal(count(&s, "prompt", "adhoc", "once", NULL), 3);
	ctl_ok(&s, "open", "t/fixed");
	round_is(&s, "fixed", "open", "once");
	answer(&s, "ann", "adhoc", NULL, "1: 4");

	/* Duration=2d from the opening; Close= is where it says. */
	run_until(&s, JUN1 + 7 * DAY - 60, NULL, NULL);
	round_is(&s, "adhoc", "open", "once");
	run_until(&s, JUN1 + 7 * DAY + 60, NULL, NULL);
	round_is(&s, "adhoc", "digested", "once");
	round_is(&s, "fixed", "open", "once");
	run_until(&s, JUN1 + 9 * DAY + 17 * HOUR + 60, NULL, NULL);
	round_is(&s, "fixed", "digested", "once");
	assert_true(store_has(&s, "campaigns/t/digests/adhoc-once.md"));

	/* A restart keeps the states; the closed round cannot be opened again. */
	sim_down(&s);
	sim_up(&s);
	round_is(&s, "adhoc", "digested", "once");
	char *err = NULL;
	assert_null(ctl(&s, "open", "t/adhoc", &err));
	expect_in(err, "digested");
	free(err);
	sim_finish(&s);
}

static void test_manual_round_with_past_close(void **state)
{
	sim s;
	clock_set_test(JUN1 + 20 * DAY);
	sim_start(&s, manual_conf);
	char *err = NULL;
	assert_null(ctl(&s, "open", "t/fixed", &err));
	expect_in(err, "Close=");
	free(err);
	round_is(&s, "fixed", "scheduled", "once");
	assert_int_equal(count(&s, "prompt", NULL, NULL, NULL), 0);
	sim_finish(&s);
}

/* ---- 3. opening a recurring round early --------------------------------------------- */

static const char weekly_conf[] = CAMPAIGN
	"[Round \"pulse\"]\nKind=survey\nTitle=Pulse\nOpen=2026-06-01 09:00\n"
	"Repeat=FREQ=WEEKLY;BYDAY=MO\nDuration=3d\n"
	"[Question \"pulse/mood\"]\nKind=scale\nText=Mood\n";

static void test_recurring_round_opened_early(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, weekly_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "pulse", "2026-06-01", "1: 2");
	run_until(&s, JUN1 + 5 * DAY, NULL, NULL); /* Sat 6 June, the first week closed */
	round_is(&s, "pulse", "scheduled", "2026-06-08");

	/* Opened on Saturday: it is Monday's occurrence, moved earlier. */
	ctl_ok(&s, "open", "t/pulse");
	round_is(&s, "pulse", "open", "2026-06-08");
	assert_int_equal(count(&s, "prompt", "pulse", "2026-06-08", NULL), 3);
	answer(&s, "ann", "pulse", "2026-06-08", "1: 5");
	ctl_ok(&s, "close", "t/pulse");

	/* Closed: the next is the week after, with nobody's answers in it yet. */
	round_is(&s, "pulse", "scheduled", "2026-06-15");
	char *err = NULL;
	cJSON *o = ctl(&s, "rounds", NULL, &err);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "rounds"), 0);
	assert_int_equal(cJSON_GetObjectItem(e, "answered")->valueint, 0);
	cJSON_Delete(o);

	/* Monday 8 June passes without the same occurrence opening again. */
	run_until(&s, JUN1 + 14 * DAY - HOUR, NULL, NULL);
	assert_int_equal(count(&s, "prompt", "pulse", "2026-06-08", NULL), 3);
	assert_int_equal(count(&s, "prompt", "pulse", "2026-06-15", NULL), 0);
	run_until(&s, JUN1 + 14 * DAY + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "prompt", "pulse", "2026-06-15", NULL), 3);

	/* The digest of the early week compares it with the week before, not with itself. */
	_cleanup_free_ char *md = NULL;
	assert_int_equal(store_read(s.st, "campaigns/t/digests/pulse-2026-06-08.md", 1 << 20, &md,
	                            NULL),
	                 0);
	expect_in(md, "## Trend");
	expect_in(md, "2.0");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirmation_lists_ideas_and_votes),
		cmocka_unit_test(test_round_opened_by_hand),
		cmocka_unit_test(test_manual_round_with_past_close),
		cmocka_unit_test(test_recurring_round_opened_early),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
