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

#include "clock.h"
#include "config.h"
#include "connector.h"
#include "core.h"
#include "secret.h"
#include "spool.h"
#include "store.h"
#include "util.h"

typedef struct event {
	int64_t at;
	char kind[16], round[32], occ[32], member[16];
} event;

typedef struct sim {
	char dir[64];
	char *state;
	coco_config *cfg;
	sd_event *loop;
	store *st;
	spool *sp;
	core *core;
	connector *conn;
	secret key;
	cJSON *seen; /* spool ids already turned into events */
	event ev[4096];
	size_t n_ev;
	unsigned mail_seq;
} sim;

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void sim_up(sim *s)
{
	const char *const tdirs[] = {"templates", NULL};
	assert_int_equal(store_open(s->state, &s->st), 0);
	assert_int_equal(spool_new(s->st, &s->sp), 0);
	assert_int_equal(core_new(s->cfg, s->st, s->sp, &s->key, tdirs, &s->core), 0);
	assert_int_equal(local_connector.start(s->loop, s->cfg, s->state, core_receive, s->core,
	                                       &s->conn),
	                 0);
	assert_int_equal(spool_attach(s->sp, &local_connector, s->conn), 0);
}

static void sim_down(sim *s)
{
	store_commit(s->st);
	local_connector.stop(s->conn);
	s->core = core_free(s->core);
	s->sp = spool_free(s->sp);
	s->st = store_free(s->st);
}

static void sim_start(sim *s, const char *campaign_conf)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "/tmp/coco-sim.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	_cleanup_free_ char *etc = xasprintf("%s/etc", s->dir);
	_cleanup_free_ char *cd = xasprintf("%s/etc/campaigns.d", s->dir);
	_cleanup_free_ char *conf = xasprintf("%s/etc/coco.conf", s->dir);
	_cleanup_free_ char *camp = xasprintf("%s/etc/campaigns.d/sim.conf", s->dir);
	assert_int_equal(mkdir(etc, 0700), 0);
	assert_int_equal(mkdir(cd, 0700), 0);
	write_text(conf, "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n");
	write_text(camp, campaign_conf);
	char **errors = NULL;
	int r = config_load(etc, &s->cfg, &errors);
	for (char **e = errors; e && *e; e++)
		fprintf(stderr, "config: %s\n", *e);
	strv_free(errors);
	assert_int_equal(r, 0);
	s->state = xasprintf("%s/state", s->dir);
	memcpy(s->key.key, "0123456789abcdef0123456789abcdef", 32);
	s->key.len = 32;
	assert_int_equal(sd_event_new(&s->loop), 0);
	s->seen = cJSON_CreateObject();
	sim_up(s);
}

static void sim_finish(sim *s)
{
	sim_down(s);
	config_free(s->cfg);
	sd_event_unref(s->loop);
	cJSON_Delete(s->seen);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
	free(s->state);
	clock_set_real();
}

/* Turns the messages that reached the outbox since the last call into events. */
static void collect(sim *s)
{
	char **ids = NULL;
	if (store_list(s->st, "spool/local/cur", &ids) < 0)
		return;
	for (char **id = ids; *id; id++) {
		if (cJSON_GetObjectItemCaseSensitive(s->seen, *id))
			continue;
		cJSON_AddTrueToObject(s->seen, *id);
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = NULL;
		assert_int_equal(store_read(s->st, path, 1 << 22, &data, NULL), 0);
		cJSON *m = cJSON_Parse(data);
		assert_non_null(m);
		assert_true(s->n_ev < ELEMENTSOF(s->ev));
		event *e = &s->ev[s->n_ev++];
		e->at = clock_now();
		const cJSON *v;
		snprintf(e->kind, sizeof e->kind, "%s", cJSON_GetObjectItem(m, "kind")->valuestring);
		snprintf(e->round, sizeof e->round, "%s", cJSON_GetObjectItem(m, "round")->valuestring);
		v = cJSON_GetObjectItem(m, "occurrence");
		snprintf(e->occ, sizeof e->occ, "%s", cJSON_IsString(v) ? v->valuestring : "");
		snprintf(e->member, sizeof e->member, "%s",
		         cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member")->valuestring);
		cJSON_Delete(m);
	}
	strv_free(ids);
}

static void settle(sim *s)
{
	store_commit(s->st);
	spool_run(s->sp);
	collect(s);
}

/* Steps from due event to due event until `until`; calls on_step after each. */
static void run_until(sim *s, int64_t until, void (*on_step)(sim *s, void *ud), void *ud)
{
	for (;;) {
		int64_t next = core_next_event(s->core);
		if (next > until)
			break;
		if (next > clock_now())
			clock_set_test(next);
		core_tick(s->core);
		settle(s);
		if (on_step)
			on_step(s, ud);
	}
	clock_set_test(until);
	core_tick(s->core);
	settle(s);
}

/* A member replies by mail to a message of `kind` for round/occ (occ NULL: any), as a mail
 * client would. */
static void reply_to_message(sim *s, const char *kind, const char *member, const char *round,
                             const char *occ, const char *body)
{
	char **ids = NULL;
	const char *reply_to = NULL, *msgid = NULL, *subject = NULL;
	cJSON *found = NULL;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !found; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = NULL;
		assert_int_equal(store_read(s->st, path, 1 << 22, &data, NULL), 0);
		cJSON *m = cJSON_Parse(data);
		const cJSON *o = cJSON_GetObjectItem(m, "occurrence");
		if (STREQ(cJSON_GetObjectItem(m, "kind")->valuestring, kind) &&
		    STREQ(cJSON_GetObjectItem(m, "round")->valuestring, round) &&
		    (!occ || (cJSON_IsString(o) && STREQ(o->valuestring, occ))) &&
		    STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member")->valuestring,
		          member))
			found = m;
		else
			cJSON_Delete(m);
	}
	strv_free(ids);
	assert_non_null(found);
	reply_to = cJSON_GetObjectItem(found, "reply_to")->valuestring;
	msgid = cJSON_GetObjectItem(found, "message_id")->valuestring;
	subject = cJSON_GetObjectItem(found, "subject")->valuestring;
	_cleanup_free_ char *mail = xasprintf(
		"From: %s@example.org\r\nTo: <%s>\r\nSubject: Re: %s\r\n"
		"Message-ID: <sim%u.%s@example.org>\r\nIn-Reply-To: <%s>\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n\r\n> quoted invitation\r\n",
		member, reply_to, subject, ++s->mail_seq, member, msgid, body);
	cJSON_Delete(found);
	_cleanup_free_ char *tmp = xasprintf("%s/local/inbox/tmp/m%u", s->state, s->mail_seq);
	_cleanup_free_ char *dst = xasprintf("%s/local/inbox/new/m%u", s->state, s->mail_seq);
	write_text(tmp, mail);
	assert_int_equal(rename(tmp, dst), 0);
	assert_true(local_connector.poll(s->conn) >= 1);
	settle(s);
}

static void answer(sim *s, const char *member, const char *round, const char *occ,
                   const char *body)
{
	reply_to_message(s, "prompt", member, round, occ, body);
}

static size_t count(const sim *s, const char *kind, const char *round, const char *occ,
                    const char *member)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_ev; i++)
		if (STREQ(s->ev[i].kind, kind) && (!round || STREQ(s->ev[i].round, round)) &&
		    (!occ || STREQ(s->ev[i].occ, occ)) && (!member || STREQ(s->ev[i].member, member)))
			n++;
	return n;
}

/* The instant of the first matching event, or -1. */
static int64_t first_at(const sim *s, const char *kind, const char *round, const char *occ,
                        const char *member)
{
	for (size_t i = 0; i < s->n_ev; i++)
		if (STREQ(s->ev[i].kind, kind) && STREQ(s->ev[i].round, round) &&
		    (!occ || STREQ(s->ev[i].occ, occ)) && (!member || STREQ(s->ev[i].member, member)))
			return s->ev[i].at;
	return -1;
}

static bool store_has(sim *s, const char *path)
{
	return store_exists(s->st, path) > 0;
}

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

/* Between two occurrences of a recurring round, a reply counts for the next one: it is
 * stored under that occurrence, and nobody reminds a member who has already answered. */
static void test_early_answer(void **state)
{
	sim s;
	clock_set_test(1792400000);
	sim_start(&s, ny_conf);
	run_until(&s, 1792501200 + 3600, NULL, NULL); /* the first occurrence has closed */
	answer(&s, "a", "weekly", "2026-10-19", "1: 7");
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
