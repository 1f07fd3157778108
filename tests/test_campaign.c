/* A whole campaign run by the real core, store, spool and local connector on the injectable
 * clock: six simulated weeks in Europe/Helsinki (across the March DST change) with answers
 * arriving as mail files, a restart in the middle and a stretch of downtime; and a weekly
 * round in America/New_York across the November change. Each test steps from one due event
 * to the next and checks what was sent, to whom and at which instant. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim.h"

static const char helsinki_conf[] =
	"[Campaign]\nId=hel\nTitle=Sim\nTimeZone=Europe/Helsinki\nQuietHours=21:00-08:00\n"
	"Client=Client Oy\nProvider=Provider Ab\n"
	"[Member \"c1\"]\nSide=client\nEmail=c1@example.org\n"
	"[Member \"c2\"]\nSide=client\nEmail=c2@example.org\n"
	"[Member \"c3\"]\nSide=client\nEmail=c3@example.org\nTimeZone=America/New_York\n"
	"[Member \"p1\"]\nSide=provider\nEmail=p1@example.org\n"
	"[Member \"p2\"]\nSide=provider\nEmail=p2@example.org\n"
	"[Member \"p3\"]\nSide=provider\nEmail=p3@example.org\n"
	"[Round \"pulse\"]\nKind=survey\nTitle=Pulse\nOpen=2026-03-16 09:00\n"
	"Repeat=FREQ=WEEKLY;BYDAY=MO;COUNT=6\nDuration=2d\nRemind=-4h\n"
	"[Question \"pulse/mood\"]\nKind=scale\nText=Mood\nMin=1\nMax=5\n"
	"[Round \"kick\"]\nKind=survey\nTitle=Kickoff\nOpen=2026-03-17 10:00\n"
	"Close=2026-03-20 17:00\nRemind=-1d\n"
	"[Question \"kick/q\"]\nKind=scale\nText=Q\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-03-23 09:00\nDuration=3d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote\nSource=ideas\nVotes=3\n"
	"Open=2026-03-30 09:00\nDuration=2d\n"
	"[Digest]\nRepeat=FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0\nOnClose=yes\n"
	"Recipients=all\n";

static const char *const members[] = {"c1", "c2", "c3", "p1", "p2", "p3"};

/* c1 and p1 answer every pulse as soon as it opens; ideas and votes come in too. */
static void helsinki_answers(sim *s, void *ud)
{
	for (size_t i = 0; i < s->n_ev; i++) {
		event *e = &s->ev[i];
		if (e->at != clock_now() || !STREQ(e->kind, "prompt"))
			continue;
		if (STREQ(e->round, "pulse") && (STREQ(e->member, "c1") || STREQ(e->member, "p1")))
			answer(s, e->member, "pulse", e->occ, STREQ(e->member, "c1") ? "1: 4" : "1: 2");
		if (STREQ(e->round, "ideas") && STREQ(e->member, "c1"))
			answer(s, "c1", "ideas", e->occ, "idea: Idea Alpha\nidea: Idea Beta");
		if (STREQ(e->round, "ideas") && STREQ(e->member, "p1"))
			answer(s, "p1", "ideas", e->occ, "idea: Idea Gamma");
		if (STREQ(e->round, "vote") && STREQ(e->member, "c2"))
			answer(s, "c2", "vote", e->occ, "vote 1 3 3");
	}
}

static void test_six_weeks_helsinki(void **state)
{
	sim s;
	clock_set_test(1773600000); /* 2026-03-15 18:40Z, before anything opens */
	sim_start(&s, helsinki_conf);

	/* Weeks 1-2, then a restart (the process ends, a new one starts from disk). */
	run_until(&s, 1774850400 - 60, helsinki_answers, NULL); /* just before Mar 30 06:00Z */
	sim_down(&s);
	sim_up(&s);
	/* Weeks 3-4. */
	run_until(&s, 1775631600 + 3600, helsinki_answers, NULL); /* Apr 8 08:00Z */
	/* Down from Apr 8 until Apr 13 07:00Z: the 5th pulse (06:00Z) opens late, once. */
	sim_down(&s);
	clock_set_test(1776060000 + 3600);
	sim_up(&s);
	run_until(&s, 1776060000 + 3600, helsinki_answers, NULL);
	run_until(&s, 1777000000, helsinki_answers, NULL); /* Apr 24: all done */

	/* Every pulse opened once, at 09:00 Helsinki time: 07:00Z before the DST change of
	 * Mar 29, 06:00Z after it; the 5th late, when the daemon came back. */
	static const struct {
		const char *occ;
		int64_t open;
	} pulses[] = {
		{"2026-03-16", 1773644400}, {"2026-03-23", 1773644400 + 7 * 86400},
		{"2026-03-30", 1774850400}, {"2026-04-06", 1774850400 + 7 * 86400},
		{"2026-04-13", 1776060000 + 3600}, {"2026-04-20", 1774850400 + 21 * 86400},
	};
	for (size_t i = 0; i < ELEMENTSOF(pulses); i++) {
		assert_int_equal(count(&s, "prompt", "pulse", pulses[i].occ, NULL), 6);
		for (size_t m = 0; m < ELEMENTSOF(members); m++)
			assert_int_equal(count(&s, "prompt", "pulse", pulses[i].occ, members[m]), 1);
		assert_int_equal(first_at(&s, "prompt", "pulse", pulses[i].occ, NULL), pulses[i].open);
		/* Reminders only to those who had not answered (c1 and p1 always had). */
		assert_int_equal(count(&s, "reminder", "pulse", pulses[i].occ, "c1"), 0);
		assert_int_equal(count(&s, "reminder", "pulse", pulses[i].occ, "p1"), 0);
		_cleanup_free_ char *dg = xasprintf("campaigns/hel/digests/pulse-%s.md", pulses[i].occ);
		assert_true(store_has(&s, dg));
	}
	assert_int_equal(count(&s, "prompt", "pulse", NULL, NULL), 36);

	/* Week 1 reminder: close Wed 09:00 local - 4h = 05:00, in quiet hours, so it moves to
	 * 21:00 the evening before, in each member's own zone: Helsinki 21:00 EET = 19:00Z,
	 * New York 21:00 EDT = 01:00Z. */
	assert_int_equal(first_at(&s, "reminder", "pulse", "2026-03-16", "c2"), 1773774000);
	assert_int_equal(first_at(&s, "reminder", "pulse", "2026-03-16", "p3"), 1773774000);
	assert_int_equal(first_at(&s, "reminder", "pulse", "2026-03-16", "c3"), 1773795600);
	/* After the change: 21:00 EEST = 18:00Z; New York unchanged at 01:00Z. */
	assert_int_equal(first_at(&s, "reminder", "pulse", "2026-03-30", "c2"), 1774980000);
	assert_int_equal(first_at(&s, "reminder", "pulse", "2026-03-30", "c3"), 1775005200);
	for (size_t i = 0; i < ELEMENTSOF(pulses); i++)
		assert_int_equal(count(&s, "reminder", "pulse", pulses[i].occ, NULL), 4);

	/* Kickoff: one reminder each a day before the close (17:00 EET = 15:00Z), a digest at
	 * the close to all six, and the Friday periodic digest at 16:00 EET = 14:00Z. */
	assert_int_equal(count(&s, "reminder", "kick", "once", NULL), 6);
	assert_int_equal(first_at(&s, "reminder", "kick", "once", NULL), 1773932400);
	assert_true(store_has(&s, "campaigns/hel/digests/kick-once.md"));
	assert_true(store_has(&s, "campaigns/hel/digests/periodic-2026-03-20.md"));

	/* Ideas then the vote on them: the ballot is Alpha, Beta, Gamma; c2 gave Gamma two
	 * dots and Alpha one, so the vote digest ranks Gamma first. */
	_cleanup_free_ char *md = NULL;
	assert_int_equal(store_read(s.st, "campaigns/hel/digests/vote-once.md", 1 << 20, &md, NULL), 0);
	const char *g = strstr(md, "Idea Gamma"), *a = strstr(md, "Idea Alpha");
	assert_non_null(g);
	assert_non_null(a);
	assert_true(g < a);
	assert_non_null(strstr(md, "Idea Gamma (2 votes)"));

	/* Each answer was confirmed once. */
	assert_int_equal(count(&s, "confirmation", "pulse", NULL, "c1"), 6);
	assert_int_equal(count(&s, "confirmation", "vote", NULL, "c2"), 1);
	sim_finish(&s);
}

static const char ny_conf[] =
	"[Campaign]\nId=ny\nTimeZone=America/New_York\nQuietHours=22:00-07:00\n"
	"[Member \"a\"]\nSide=client\nEmail=a@example.org\n"
	"[Member \"b\"]\nSide=provider\nEmail=b@example.org\nTimeZone=Europe/Helsinki\n"
	"[Round \"weekly\"]\nKind=survey\nTitle=Weekly\nOpen=2026-10-19 09:00\n"
	"Repeat=FREQ=WEEKLY;BYDAY=MO;COUNT=4\nDuration=1d\nRemind=-2h\n"
	"[Question \"weekly/q\"]\nKind=nps\nText=Q\n";

static void test_new_york_fall_back(void **state)
{
	sim s;
	clock_set_test(1792400000); /* 2026-10-19 09:13Z */
	sim_start(&s, ny_conf);
	/* After the first digest (Oct 20 13:00Z), a replies to it: a comment for the next. */
	run_until(&s, 1792501200 + 60, NULL, NULL);
	reply_to_message(&s, "digest", "a", "digest", NULL, "Great start, thanks all");
	run_until(&s, 1795000000, NULL, NULL); /* Nov 18 */
	_cleanup_free_ char *d1 = NULL, *d2 = NULL;
	assert_int_equal(store_read(s.st, "campaigns/ny/digests/weekly-2026-10-19.md", 1 << 20, &d1,
	                            NULL),
	                 0);
	assert_int_equal(store_read(s.st, "campaigns/ny/digests/weekly-2026-10-26.md", 1 << 20, &d2,
	                            NULL),
	                 0);
	assert_null(strstr(d1, "Great start, thanks all"));
	assert_non_null(strstr(d2, "Great start, thanks all"));

	/* 09:00 New York: 13:00Z in EDT, 14:00Z once EST starts on Nov 1. */
	assert_int_equal(first_at(&s, "prompt", "weekly", "2026-10-19", "a"), 1792414800);
	assert_int_equal(first_at(&s, "prompt", "weekly", "2026-10-26", "a"), 1792414800 + 7 * 86400);
	assert_int_equal(first_at(&s, "prompt", "weekly", "2026-11-02", "a"), 1793628000);
	assert_int_equal(first_at(&s, "prompt", "weekly", "2026-11-09", "a"), 1793628000 + 7 * 86400);
	assert_int_equal(count(&s, "prompt", "weekly", NULL, NULL), 8);
	/* Close = open + 24h; reminder 2h before: 07:00 New York for a (not quiet). For b in
	 * Helsinki that instant is 14:00/15:00: not quiet either. */
	assert_int_equal(first_at(&s, "reminder", "weekly", "2026-11-02", "a"),
	                 1793628000 + 22 * 3600);
	assert_int_equal(first_at(&s, "reminder", "weekly", "2026-11-02", "b"),
	                 1793628000 + 22 * 3600);
	assert_int_equal(count(&s, "reminder", "weekly", NULL, NULL), 8);
	assert_int_equal(count(&s, "digest", "digest", NULL, NULL), 8);
	sim_finish(&s);
}

/* Replaying the same mail records it once and confirms it once. */
static void test_replayed_mail(void **state)
{
	sim s;
	clock_set_test(1792400000);
	sim_start(&s, ny_conf);
	run_until(&s, 1792414800 + 60, NULL, NULL);
	answer(&s, "a", "weekly", "2026-10-19", "1: 9");
	s.mail_seq--; /* same Message-ID again */
	answer(&s, "a", "weekly", "2026-10-19", "1: 9");
	assert_int_equal(count(&s, "confirmation", "weekly", NULL, "a"), 1);
	size_t lines = 0;
	_cleanup_free_ char *data = NULL;
	assert_int_equal(store_read(s.st, "campaigns/ny/rounds/weekly/2026-10-19/answers.jsonl",
	                            1 << 20, &data, NULL),
	                 0);
	for (char *p = data; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1);
	sim_finish(&s);
}

/* Between two occurrences of a recurring round, a reply to the closed occurrence's
 * invitation is recorded nowhere (that occurrence is closed); one that names no message (the
 * reply address typed in) counts for the next one: it is stored under that occurrence, and
 * nobody reminds a member who has already answered. */
static void test_early_answer(void **state)
{
	sim s;
	clock_set_test(1792400000);
	sim_start(&s, ny_conf);
	run_until(&s, 1792501200 + 3600, NULL, NULL); /* the first occurrence has closed */
	answer(&s, "a", "weekly", "2026-10-19", "1: 7");
	assert_false(store_has(&s, "campaigns/ny/rounds/weekly/2026-10-26/answers.jsonl"));
	assert_false(store_has(&s, "campaigns/ny/rounds/weekly/2026-10-19/answers.jsonl"));
	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&s.key, "ny", "weekly", "a", tag);
	_cleanup_free_ char *to = email_reply_to(config_get(s.cfg, "Mail", "From"), tag);
	_cleanup_free_ char *mail = xasprintf(
		"From: %s\r\nTo: <%s>\r\nSubject: pulse\r\nMessage-ID: <early@example.org>\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n1: 7\r\n",
		config_find_campaign(s.cfg, "ny")->members[0].emails[0], to);
	deliver_mail(&s, mail);
	assert_true(store_has(&s, "campaigns/ny/rounds/weekly/2026-10-26/answers.jsonl"));
	assert_false(store_has(&s, "campaigns/ny/rounds/weekly/2026-10-19/answers.jsonl"));
	run_until(&s, 1793019600 + 86400, NULL, NULL); /* through the second occurrence */
	assert_int_equal(count(&s, "reminder", "weekly", "2026-10-26", "a"), 0);
	assert_int_equal(count(&s, "reminder", "weekly", "2026-10-26", "b"), 1);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_six_weeks_helsinki),
		cmocka_unit_test(test_new_york_fall_back),
		cmocka_unit_test(test_replayed_mail),
		cmocka_unit_test(test_early_answer),
	};
	log_set_max_level(LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
