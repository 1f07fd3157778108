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

/* The campaign runs in UTC so instants read easily (JUN1 is a Monday). */
#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Trust\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"      \
	"Provider=Provider Co\n" SIM_MEMBERS

/* The state and occurrence `cococtl rounds` shows for a round. */
static void round_is(sim *s, const char *round, const char *state, const char *occ)
{
	char *err = NULL;
	cJSON *o = cococtl(s, "rounds", NULL, false, &err);
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
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "ann");
	expect_in(conf, "idea: Offline mode for drivers");
	expect_in(conf, "idea: A live map");
	expect_not_in(conf, "nothing yet");
	expect_in(conf, "You can send more ideas until");

	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "vote", NULL, "vote 2 2 1");
	_cleanup_free_ char *vconf = last_markdown(&s, "confirmation", "bob");
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

	cococtl_ok(&s, "open", "t/adhoc");
	round_is(&s, "adhoc", "open", "once");
	assert_int_equal(count(&s, "prompt", "adhoc", "once", NULL), 3);
	cococtl_ok(&s, "open", "t/fixed");
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
	assert_null(cococtl(&s, "open", "t/adhoc", false, &err));
	expect_in(err, "cannot be opened: it is closed, its digest sent");
	free(err);
	sim_finish(&s);
}

static void test_manual_round_with_past_close(void **state)
{
	sim s;
	clock_set_test(JUN1 + 20 * DAY);
	sim_start(&s, manual_conf);
	char *err = NULL;
	assert_null(cococtl(&s, "open", "t/fixed", false, &err));
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
	cococtl_ok(&s, "open", "t/pulse");
	round_is(&s, "pulse", "open", "2026-06-08");
	assert_int_equal(count(&s, "prompt", "pulse", "2026-06-08", NULL), 3);
	answer(&s, "ann", "pulse", "2026-06-08", "1: 5");
	cococtl_ok(&s, "close", "t/pulse");

	/* Closed: the next is the week after, with nobody's answers in it yet. */
	round_is(&s, "pulse", "scheduled", "2026-06-15");
	char *err = NULL;
	cJSON *o = cococtl(&s, "rounds", NULL, false, &err);
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

/* ---- 4. the periodic digest covers what happened since the last one ---------------- */

/* A Monday–Thursday pulse and a Friday digest: nothing is open on Friday. */
static const char friday_conf[] = CAMPAIGN
	"[Round \"pulse\"]\nKind=survey\nTitle=Pulse\nOpen=2026-06-01 09:00\n"
	"Repeat=FREQ=WEEKLY;BYDAY=MO\nDuration=3d\n"
	"[Question \"pulse/mood\"]\nKind=scale\nText=Mood\n"
	"[Digest]\nRepeat=FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0\nOnClose=no\n"
	"Recipients=all\n";

static void test_periodic_digest_covers_closed_rounds(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, friday_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "pulse", "2026-06-01", "1: 4");
	answer(&s, "pia", "pulse", "2026-06-01", "1: 2");
	/* Friday 16:00: the pulse closed on Thursday, and the digest still tells about it. */
	run_until(&s, JUN1 + 4 * DAY + 16 * HOUR, NULL, NULL);
	_cleanup_free_ char *md = read_store(&s, "campaigns/t/digests/periodic-2026-06-05.md");
	expect_in(md, "Pulse");
	expect_in(md, "Answered by 2");
	assert_int_equal(count(&s, "digest", "digest", NULL, NULL), 3);

	/* A comment sent in the very second the digest went out is in the next one. */
	reply_to_message(&s, "digest", "bob", "digest", NULL, "Could we meet on Thursdays?");
	run_until(&s, JUN1 + 11 * DAY + 16 * HOUR, NULL, NULL);
	_cleanup_free_ char *next = read_store(&s, "campaigns/t/digests/periodic-2026-06-12.md");
	expect_in(next, "Could we meet on Thursdays?");
	expect_in(next, "Bob Client");
	/* ...and only there: the week after has nothing new to say about it. */
	run_until(&s, JUN1 + 18 * DAY + 16 * HOUR, NULL, NULL);
	_cleanup_free_ char *third = read_store(&s, "campaigns/t/digests/periodic-2026-06-19.md");
	expect_not_in(third, "Thursdays");
	sim_finish(&s);
}

/* ---- 5. anonymity holds in replies to a digest --------------------------------------- */

static const char anon_conf[] = CAMPAIGN
	"[Round \"mood\"]\nKind=survey\nTitle=Mood\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"Anonymous=yes\n"
	"[Question \"mood/q\"]\nKind=scale\nText=How do you feel?\n"
	"[Round \"named\"]\nKind=survey\nTitle=Named\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"named/q\"]\nKind=scale\nText=Named question\n";

static void test_comment_on_anonymous_round_stays_anonymous(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, anon_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "mood", NULL, "1: 1");
	run_until(&s, JUN1 + 2 * DAY + 10 * HOUR, NULL, NULL); /* mood closed and digested */
	reply_to_message(&s, "digest", "ann", "digest", NULL, "Morale is low in my team\n\nAnn");
	/* Told so, in the mail she got (the spool keeps no copy of it once sent). */
	_cleanup_free_ char *grep = xasprintf("grep -rlq 'without your name' '%s/local/outbox'",
	                                      s.state);
	assert_int_equal(system(grep), 0);

	/* Nothing in the store ties the comment to ann, not even her signature. */
	_cleanup_free_ char *raw = read_store(&s, "campaigns/t/comments.jsonl");
	expect_in(raw, "Morale is low");
	expect_not_in(raw, "ann");
	expect_not_in(raw, "Ann");
	/* Nor does the spool: her answer's and her comment's confirmations keep no content. */
	_cleanup_free_ char *confs = xasprintf(
		"grep -lqi -e 'ann@' -e 'Morale' -e '1: 1' '%s'/spool/local/cur/conf-*", s.state);
	assert_int_not_equal(system(confs), 0);
	/* The next digest shows the words, not the name. */
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL); /* named closes */
	_cleanup_free_ char *md = read_store(&s, "campaigns/t/digests/named-once.md");
	expect_in(md, "Morale is low in my team");
	expect_not_in(md, "Ann Client: Morale");
	sim_finish(&s);
}

/* ---- 6. and 14. who answered: the tag and the sender together ------------------------ */

static const char survey_conf[] = CAMPAIGN
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"s/q\"]\nKind=scale\nText=Rate it\n";

static size_t answer_lines(sim *s)
{
	_cleanup_free_ char *a = read_store(s, "campaigns/t/rounds/s/once/answers.jsonl");
	size_t n = 0;
	for (const char *p = a; p && *p; p++)
		n += *p == '\n';
	return n;
}

static void test_foreign_sender_with_a_tag_is_rejected(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "s", NULL, "1: 5");
	assert_int_equal(answer_lines(&s), 1);
	/* Someone who got hold of ann's invitation answers it from elsewhere. */
	reply_as(&s, "prompt", "ann", "s", NULL, "mallory@evil.example", "1: 1");
	assert_int_equal(answer_lines(&s), 1);
	_cleanup_free_ char *rej = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej, "mallory@evil.example");
	expect_in(rej, "not one of their addresses");
	/* ann's own answer stands. */
	_cleanup_free_ char *a = read_store(&s, "campaigns/t/rounds/s/once/answers.jsonl");
	expect_in(a, "\"q\":\"5\"");
	sim_finish(&s);
}

static void test_accept_from_allows_a_forwarder(void **state)
{
	sim s;
	clock_set_test(JUN1);
	/* ann's mail is answered by her assistant: the admin allows that address for her. */
	const char *line = "Email=ann@client.example\n";
	const char *at = strstr(survey_conf, line);
	assert_non_null(at);
	_cleanup_free_ char *conf = xasprintf("%.*s%sAcceptFrom=assistant@client.example\n%s",
	                                      (int)(at - survey_conf), survey_conf, line,
	                                      at + strlen(line));
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	reply_as(&s, "prompt", "ann", "s", NULL, "assistant@client.example", "1: 3");
	assert_int_equal(answer_lines(&s), 1);
	sim_finish(&s);
}

static void test_from_alone_is_no_proof(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* A new mail, not a reply: only the From says it is bob (anyone can write that). */
	deliver_mail(&s, "From: bob@client.example\r\nTo: coco@provider.example\r\n"
	                 "Subject: my answer\r\nMessage-ID: <fresh1@client.example>\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n\r\n1: 2\r\n");
	assert_int_equal(answer_lines(&s), 0);
	_cleanup_free_ char *rej = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej, "no reply tag");
	/* bob hears, at his own address, how to answer. */
	_cleanup_free_ char *told = last_markdown(&s, "reply", "bob");
	expect_in(told, "Reply");
	/* Once a day at most, however many such mails come. */
	deliver_mail(&s, "From: bob@client.example\r\nTo: coco@provider.example\r\n"
	                 "Subject: again\r\nMessage-ID: <fresh2@client.example>\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n\r\n1: 2\r\n");
	assert_int_equal(count(&s, "reply", NULL, NULL, "bob"), 1);
	sim_finish(&s);
}

/* ---- robustness: a confirmation lost between the commit and the queueing ------------- */

static void test_replay_requeues_a_lost_confirmation(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	static const char mail_fmt[] = "From: ann@client.example\r\nTo: <%s>\r\nSubject: Re: Survey\r\n"
	                       "Message-ID: <same@client.example>\r\n"
	                       "Content-Type: text/plain; charset=utf-8\r\n\r\n1: 4\r\n";
	/* ann's reply address, from her invitation. */
	char **ids = NULL;
	char *reply_to = NULL;
	assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !reply_to; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(&s, path);
		cJSON *m = cJSON_Parse(data);
		if (STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member")->valuestring,
		          "ann"))
			reply_to = email_reply_to(config_get(s.cfg, "Mail", "From"),
			                          cJSON_GetObjectItem(m, "conversation")->valuestring);
		cJSON_Delete(m);
	}
	strv_free(ids);
	assert_non_null(reply_to);
	_cleanup_free_ char *mail = xasprintf(mail_fmt, reply_to);
	free(reply_to);
	deliver_mail(&s, mail);
	assert_int_equal(count(&s, "confirmation", NULL, NULL, "ann"), 1);

	/* The crash: the answer is on disk, its confirmation never reached the spool. */
	assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id; id++)
		if (strncmp(*id, "conf-", 5) == 0) {
			_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
			assert_int_equal(store_remove(s.st, path), 0);
			cJSON_DeleteItemFromObject(s.seen, *id);
		}
	strv_free(ids);
	sim_down(&s);
	sim_up(&s);
	/* The mail is offered again (the connector kept it): recorded once, confirmed now. */
	deliver_mail(&s, mail);
	assert_int_equal(answer_lines(&s), 1);
	assert_int_equal(count(&s, "confirmation", NULL, NULL, "ann"), 2);
	/* A third delivery of the same mail sends nothing more. */
	deliver_mail(&s, mail);
	assert_int_equal(count(&s, "confirmation", NULL, NULL, "ann"), 2);
	sim_finish(&s);
}

/* ---- robustness: close on a disk that refuses writes --------------------------------- */

static void test_close_reports_failed_writes_and_retries(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "s", NULL, "1: 4");
	/* Writes under the campaign fail (even for root): the digests folder is a file. */
	_cleanup_free_ char *digests = xasprintf("%s/campaigns/t/digests", s.state);
	write_text(digests, "in the way\n");
	char *err = NULL;
	assert_null(cococtl(&s, "close", "t/s", false, &err));
	expect_in(err, "could not be written");
	free(err);
	round_is(&s, "s", "closed", "once");

	/* The disk recovers; within a minute cocod finishes the job by itself. */
	assert_int_equal(unlink(digests), 0);
	run_until(&s, clock_now() + 61, NULL, NULL);
	round_is(&s, "s", "digested", "once");
	assert_true(store_has(&s, "campaigns/t/digests/s-once.md"));
	/* And it stays so after a restart: not open again. */
	sim_down(&s);
	sim_up(&s);
	round_is(&s, "s", "digested", "once");
	sim_finish(&s);
}

/* ---- 13. member text is text: no links or images planted in mail to everyone ---------- */

static const char text_conf[] = CAMPAIGN
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"s/q\"]\nKind=text\nText=Anything to add?\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=3d\n";

static void test_member_text_cannot_plant_links(void **state)
{
	static const char evil[] = "[Reset your password](https://evil.example/login) "
	                           "![](https://tracker.example/p.png) <img src=x> *loud*";
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, text_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *answer_text = xasprintf("1: %s", evil);
	answer(&s, "bob", "s", NULL, answer_text);
	_cleanup_free_ char *idea_text = xasprintf("idea: %s", evil);
	answer(&s, "bob", "ideas", NULL, idea_text);
	run_until(&s, JUN1 + 4 * DAY, NULL, NULL);

	const char *const files[] = {"campaigns/t/digests/s-once.html",
	                             "campaigns/t/digests/ideas-once.html"};
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *html = read_store(&s, files[i]);
		expect_in(html, "Reset your password");
		expect_not_in(html, "<a ");
		expect_not_in(html, "<img");
		expect_not_in(html, "<em>loud");
		expect_not_in(html, "href=");
		/* Shown as the member wrote it. */
		expect_in(html, "[Reset your password](https://evil.example/login)");
	}
	/* The digest mail sent to ann carries the same safe HTML. */
	_cleanup_free_ char *md = last_markdown(&s, "digest", "ann");
	expect_in(md, "Reset your password");
	/* bob's confirmation echoes his words literally too. */
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "bob");
	expect_in(conf, "\\[Reset your password\\]");
	sim_finish(&s);
}

/* ---- a progress digest of an open round does not stop the one at its close ------------ */

static void test_progress_digest_then_close(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "s", NULL, "1: 4");
	cococtl_ok(&s, "digest", "t/s"); /* cococtl digest t s, while it is open */
	assert_int_equal(count(&s, "digest", NULL, NULL, NULL), 3);
	answer(&s, "bob", "s", NULL, "1: 2");
	cococtl_ok(&s, "close", "t/s");
	/* The results at the close go out too, with bob's answer in them. */
	assert_int_equal(count(&s, "digest", NULL, NULL, NULL), 6);
	_cleanup_free_ char *md = last_markdown(&s, "digest", "pia");
	expect_in(md, "Answered by 2");
	sim_finish(&s);
}

/* ---- Required= is said back when a reply leaves a required question out ---------------- */

static const char required_conf[] = CAMPAIGN
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"s/must\"]\nKind=scale\nText=Rate it\nRequired=yes\n"
	"[Question \"s/may\"]\nKind=scale\nText=And this?\n";

static void test_confirmation_names_missing_required(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, required_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "s", NULL, "2: 3");
	_cleanup_free_ char *first = last_markdown(&s, "confirmation", "ann");
	expect_in(first, "Question 1 is required and still has no answer");
	/* Her correction settles it: not said again, nor about question 2 she answered. */
	answer(&s, "ann", "s", NULL, "1: 5");
	_cleanup_free_ char *second = last_markdown(&s, "confirmation", "ann");
	expect_not_in(second, "required");
	sim_finish(&s);
}

/* ---- a reminder that comes too late after downtime is dropped ------------------------ */

static const char remind_conf[] = CAMPAIGN
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"Remind=-4h\n"
	"[Question \"s/q\"]\nKind=scale\nText=Rate it\n";

static void test_late_reminder_dropped(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, remind_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* cocod is down from Monday noon until 10 minutes before Wednesday's 09:00 close. */
	sim_down(&s);
	clock_set_test(JUN1 + 2 * DAY + 9 * HOUR - 600);
	sim_up(&s);
	run_until(&s, JUN1 + 2 * DAY + 9 * HOUR - 60, NULL, NULL);
	/* "4 hours left" with 10 minutes to go helps nobody: nothing was sent. */
	assert_int_equal(count(&s, "reminder", NULL, NULL, NULL), 0);
	sim_finish(&s);

	/* Back with 3 of the 4 hours left, the reminder still goes out, once each. */
	clock_set_test(JUN1);
	sim_start(&s, remind_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	sim_down(&s);
	clock_set_test(JUN1 + 2 * DAY + 6 * HOUR);
	sim_up(&s);
	run_until(&s, JUN1 + 2 * DAY + 8 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "reminder", NULL, NULL, NULL), 3);
	sim_finish(&s);
}

/* ---- a comment on a digest reads like one: no greeting, no sign-off, and a footer ------ */

static void test_comment_without_greeting_and_signoff(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 4 * DAY, NULL, NULL); /* the survey closed and was digested */
	reply_to_message(&s, "digest", "bob", "digest", NULL,
	                 "Hi,\n\nThe questions were too vague for me.\n\nThanks,\nBob");
	_cleanup_free_ char *raw = read_store(&s, "campaigns/t/comments.jsonl");
	expect_in(raw, "\"text\":\"The questions were too vague for me.\"");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "bob");
	expect_in(conf, "-- \n_coco · Trust · Client Co with Provider Co_");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirmation_lists_ideas_and_votes),
		cmocka_unit_test(test_round_opened_by_hand),
		cmocka_unit_test(test_manual_round_with_past_close),
		cmocka_unit_test(test_recurring_round_opened_early),
		cmocka_unit_test(test_periodic_digest_covers_closed_rounds),
		cmocka_unit_test(test_comment_on_anonymous_round_stays_anonymous),
		cmocka_unit_test(test_foreign_sender_with_a_tag_is_rejected),
		cmocka_unit_test(test_accept_from_allows_a_forwarder),
		cmocka_unit_test(test_from_alone_is_no_proof),
		cmocka_unit_test(test_replay_requeues_a_lost_confirmation),
		cmocka_unit_test(test_close_reports_failed_writes_and_retries),
		cmocka_unit_test(test_member_text_cannot_plant_links),
		cmocka_unit_test(test_progress_digest_then_close),
		cmocka_unit_test(test_confirmation_names_missing_required),
		cmocka_unit_test(test_late_reminder_dropped),
		cmocka_unit_test(test_comment_without_greeting_and_signoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
