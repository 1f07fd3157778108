/* Answering, from the member's side: what a new-admin trial (December 2026) found in the way
 * coco takes replies, each written as the admin configured it, the mail a member sent and
 * what came back. The real core, store, spool and local channel on the injectable clock
 * (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=Retro\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"      \
	"Provider=Provider Co\n" SIM_MEMBERS

/* A member's mail, as their client writes it: to `to` (NULL: coco's plain address),
 * answering the message `in_reply_to` (NULL: a new mail). */
static void mail_from(sim *s, const char *from, const char *to, const char *in_reply_to,
                      const char *body)
{
	_cleanup_free_ char *irt = in_reply_to ? xasprintf("In-Reply-To: <%s>\r\n", in_reply_to)
	                                       : xstrdup("");
	_cleanup_free_ char *mail = xasprintf(
		"From: %s\r\nTo: <%s>\r\nSubject: Re: Retro\r\nMessage-ID: <m%u.x@client.example>\r\n"
		"%sContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, to ? to : "coco@provider.example", s->mail_seq + 1, irt, body);
	deliver_mail(s, mail);
}

/* The Reply-To and Message-ID the email channel gave a spooled message. */
static void addresses_of(sim *s, const cJSON *m, char **ret_reply_to, char **ret_msgid)
{
	const char *from = config_get(s->cfg, "Mail", "From");
	const char *ref = cJSON_GetStringValue(cJSON_GetObjectItem(m, "conversation"));
	assert_non_null(ref);
	*ret_reply_to = email_reply_to(from, ref);
	*ret_msgid = email_message_id(from, cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")), ref);
}

/* Replies to the newest message of `kind` to `member`, as a mail client does (to its
 * Reply-To, In-Reply-To its Message-ID), or (threaded false) a new mail to the same
 * Reply-To address, as when someone copies the address. */
static void reply_to_last_about(sim *s, const char *kind, const char *round,
                                const char *member, const char *from, bool threaded,
                                const char *body)
{
	cJSON *m = last_spooled_about(s, kind, round, member);
	assert_non_null(m);
	_cleanup_free_ char *rt = NULL, *mid = NULL;
	addresses_of(s, m, &rt, &mid);
	cJSON_Delete(m);
	mail_from(s, from, rt, threaded ? mid : NULL, body);
}

static void reply_to_last(sim *s, const char *kind, const char *member, const char *from,
                          bool threaded, const char *body)
{
	reply_to_last_about(s, kind, NULL, member, from, threaded, body);
}

static size_t lines_in(sim *s, const char *path)
{
	_cleanup_free_ char *data = read_store(s, path);
	size_t n = 0;
	for (const char *p = data; p && *p; p++)
		n += *p == '\n';
	return n;
}

/* ---- S2-10: a reply to last month's invitation is not this month's answer ---------- */

static const char monthly_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Monthly retro\nOpen=2026-06-01 09:00\n"
	"Repeat=FREQ=MONTHLY;BYDAY=1MO\nDuration=4d\n"
	"[Question \"retro/mood\"]\nKind=scale\nText=How did the month go?\n"
	"[Question \"retro/note\"]\nKind=text\nText=Anything else?\nRequired=no\n";

#define JUNE "campaigns/t/rounds/retro/2026-06-01/answers.jsonl"
#define JULY "campaigns/t/rounds/retro/2026-07-06/answers.jsonl"

static void test_reply_to_last_months_invitation(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, monthly_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "retro", "2026-06-01", "1: 2");
	assert_int_equal(lines_in(&s, JUNE), 1);

	/* July's occurrence opens on the first Monday, 6 July. */
	run_until(&s, JUN1 + 35 * DAY + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "prompt", "retro", "2026-07-06", "bob"), 1);
	answer(&s, "bob", "retro", "2026-07-06", "1: 4");
	assert_int_equal(lines_in(&s, JULY), 1);

	/* Bob finds June's invitation in his mailbox and replies to it. */
	answer(&s, "bob", "retro", "2026-06-01", "2: one more thing about June");
	assert_int_equal(lines_in(&s, JULY), 1);
	assert_int_equal(lines_in(&s, JUNE), 1);
	_cleanup_free_ char *told = last_markdown(&s, "reply", "bob");
	expect_in(told, "That round (2026-06-01) is closed");
	expect_in(told, "The current one (2026-07-06) is open until");
	expect_in(told, "coco · Retro"); /* the campaign's footer */

	/* The same to June's confirmation of his answer. */
	cJSON *conf = last_spooled(&s, "confirmation", "bob");
	assert_non_null(conf);
	/* (the newest confirmation is July's: find June's by its occurrence) */
	cJSON_Delete(conf);
	char **ids = NULL;
	char *june_conf = NULL;
	assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !june_conf; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(&s, path);
		cJSON *m = cJSON_Parse(data);
		const char *occ = cJSON_GetStringValue(cJSON_GetObjectItem(m, "occurrence"));
		if (STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(m, "kind")), "confirmation") &&
		    occ && STREQ(occ, "2026-06-01")) {
			_cleanup_free_ char *rt = NULL, *mid = NULL;
			addresses_of(&s, m, &rt, &mid);
			june_conf = xstrdup(mid);
			mail_from(&s, "bob@client.example", rt, mid, "1: 5");
		}
		cJSON_Delete(m);
	}
	strv_free(ids);
	assert_non_null(june_conf); /* a confirmation says which occurrence it confirms */
	free(june_conf);
	assert_int_equal(lines_in(&s, JULY), 1);
	assert_int_equal(lines_in(&s, JUNE), 1);

	/* Without a message replied to (the reply address typed in): this month's, as before. */
	cJSON *jul = last_spooled(&s, "prompt", "bob");
	_cleanup_free_ char *rt = NULL, *mid = NULL;
	addresses_of(&s, jul, &rt, &mid);
	cJSON_Delete(jul);
	mail_from(&s, "bob@client.example", rt, NULL, "1: 3");
	assert_int_equal(lines_in(&s, JULY), 2);
	/* And a reply to July's confirmation is July's. */
	reply_to_last(&s, "confirmation", "bob", "bob@client.example", true, "1: 1");
	assert_int_equal(lines_in(&s, JULY), 3);
	assert_int_equal(lines_in(&s, JUNE), 1);
	sim_finish(&s);
}

/* ---- S2-1: the "not a reply to one of our messages" notice leads somewhere ---------- */

static const char two_rounds_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Monthly retro\nOpen=2026-06-01 09:00\n"
	"Duration=4d\n"
	"[Question \"retro/mood\"]\nKind=scale\nText=How did the month go?\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas for July\nDuration=2d\n";

static void test_reply_to_the_untagged_notice(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, two_rounds_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* Ann writes a new mail to coco's address: not recorded, and she is told why, what is
	 * open for her and until when. */
	mail_from(&s, "Ann Client <ann@client.example>", NULL, NULL, "1: 4");
	_cleanup_free_ char *notice = last_markdown(&s, "reply", "ann");
	expect_in(notice, "not a reply to one of our messages");
	expect_in(notice, "**Monthly retro**, open until Fri 5 Jun 2026, 09:00 UTC");
	expect_in(notice, "reply to this message");
	assert_null(read_store(&s, "campaigns/t/rounds/retro/once/answers.jsonl"));
	_cleanup_free_ char *rej = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej, "no reply tag");

	/* She presses Reply on the notice: its code proves her mailbox, and the one round open
	 * for her takes the answer. */
	reply_to_last(&s, "reply", "ann", "ann@client.example", true, "Oh sorry, here it is:\n\n1: 5");
	_cleanup_free_ char *ans = read_store(&s, "campaigns/t/rounds/retro/once/answers.jsonl");
	expect_in(ans, "\"member\":\"ann\"");
	expect_in(ans, "\"mood\":\"5\"");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "ann");
	expect_in(conf, "How did the month go? → 5");
	assert_int_equal(lines_in(&s, "rejected/messages.jsonl"), 1);

	/* Someone else's mail with Ann's notice code is no proof. */
	reply_to_last(&s, "reply", "ann", "eve@elsewhere.example", true, "1: 1");
	assert_int_equal(lines_in(&s, "campaigns/t/rounds/retro/once/answers.jsonl"), 1);

	/* With two rounds open, a reply to the notice cannot tell which: Bob hears which are
	 * open, and nothing is recorded. */
	cococtl_ok(&s, "open", "t/ideas");
	mail_from(&s, "bob@client.example", NULL, NULL, "1: 2");
	_cleanup_free_ char *notice2 = last_markdown(&s, "reply", "bob");
	expect_in(notice2, "**Monthly retro**, open until");
	expect_in(notice2, "**Ideas for July**, open until");
	expect_in(notice2, "invitation or reminder of that round");
	reply_to_last(&s, "reply", "bob", "bob@client.example", true, "1: 2");
	_cleanup_free_ char *told = last_markdown(&s, "reply", "bob");
	expect_in(told, "Several rounds are open for you");
	expect_in(told, "**Ideas for July**, open until");
	assert_int_equal(lines_in(&s, "campaigns/t/rounds/retro/once/answers.jsonl"), 1);

	/* A code coco never issued is not called "no reply tag". */
	mail_from(&s, "pia@provider.example", "coco+aaaaaaaaaaaaaaaa@provider.example", NULL,
	          "1: 3");
	_cleanup_free_ char *rej3 = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej3, "unknown reply tag");
	sim_finish(&s);
}

/* ---- S2-2: no backscatter to forged senders ---------------------------------------- */

/* Replies queued to an address that is no member's (the stranger's reply). */
static size_t stranger_replies(sim *s, const char *address)
{
	char **ids = NULL;
	size_t n = 0;
	if (store_list(s->st, "spool/local/cur", &ids) < 0)
		return 0;
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(s, path);
		cJSON *m = cJSON_Parse(data);
		const cJSON *to = cJSON_GetObjectItem(m, "to");
		const char *ad = cJSON_GetStringValue(cJSON_GetObjectItem(to, "address"));
		if (!cJSON_GetObjectItem(to, "member") && ad && STREQ(ad, address))
			n++;
		cJSON_Delete(m);
	}
	strv_free(ids);
	return n;
}

static void stranger_writes(sim *s, const char *from, const char *auth_results)
{
	_cleanup_free_ char *mail = xasprintf(
		"%sFrom: %s\r\nTo: coco@provider.example\r\nSubject: hello\r\n"
		"Message-ID: <s%u@elsewhere.example>\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\nCan I join?\r\n",
		auth_results ? auth_results : "", from, s->mail_seq + 1);
	deliver_mail(s, mail);
}

static const char survey_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Monthly retro\nOpen=2026-06-01 09:00\n"
	"Duration=4d\n"
	"[Question \"retro/mood\"]\nKind=scale\nText=How did the month go?\n";

static void test_strangers_and_backscatter(void **state)
{
	/* Installed and forgotten, without AuthServId=: spam with a forged From makes coco
	 * mail nobody, and is kept in rejected/ all the same. */
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	stranger_writes(&s, "victim@elsewhere.example", NULL);
	assert_int_equal(stranger_replies(&s, "victim@elsewhere.example"), 0);
	_cleanup_free_ char *rej = read_store(&s, "rejected/messages.jsonl");
	expect_in(rej, "victim@elsewhere.example");
	sim_finish(&s);

	/* With the site's server vouching (AuthServId=), only senders whose From domain passed
	 * get the polite reply; a result written by someone else's server counts for nothing. */
	static const char mx_conf[] = "[Daemon]\nConnectors=local\n[Mail]\n"
	                              "From=coco@provider.example\nAuthServId=mx.provider.example\n";
	clock_set_test(JUN1);
	sim_start_with(&s, mx_conf, NULL, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	stranger_writes(&s, "eve@elsewhere.example",
	                "Authentication-Results: mx.provider.example; dmarc=pass "
	                "header.from=elsewhere.example\r\n");
	assert_int_equal(stranger_replies(&s, "eve@elsewhere.example"), 1);
	stranger_writes(&s, "victim@elsewhere.example",
	                "Authentication-Results: mx.provider.example; dmarc=fail "
	                "header.from=elsewhere.example\r\n");
	stranger_writes(&s, "victim2@elsewhere.example",
	                "Authentication-Results: mx.spammer.example; dmarc=pass "
	                "header.from=elsewhere.example\r\n");
	stranger_writes(&s, "victim3@elsewhere.example", NULL);
	assert_int_equal(stranger_replies(&s, "victim@elsewhere.example"), 0);
	assert_int_equal(stranger_replies(&s, "victim2@elsewhere.example"), 0);
	assert_int_equal(stranger_replies(&s, "victim3@elsewhere.example"), 0);
	sim_finish(&s);

	/* ReplyToStrangers=no: not even an authenticated one. */
	clock_set_test(JUN1);
	sim_start_with(&s,
	               "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n"
	               "AuthServId=mx.provider.example\nReplyToStrangers=no\n",
	               NULL, survey_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	stranger_writes(&s, "eve@elsewhere.example",
	                "Authentication-Results: mx.provider.example; dmarc=pass "
	                "header.from=elsewhere.example\r\n");
	assert_int_equal(stranger_replies(&s, "eve@elsewhere.example"), 0);
	sim_finish(&s);
}

/* ---- S3-13: `cococtl remind` twice does not mail everyone twice ---------------------- */

static const char remind_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Monthly retro\nOpen=2026-06-01 09:00\n"
	"Duration=4d\nRemind=-1d\n"
	"[Question \"retro/mood\"]\nKind=scale\nText=How did the month go?\n";

/* `cococtl remind` as the admin types it: how many were queued, and who was skipped why
 * ("ann: reminded 1 hour ago, …"). */
static unsigned remind(sim *s, bool force, char **ret_skipped)
{
	char *err = NULL;
	cJSON *o = cococtl(s, "remind", "t/retro", force, &err);
	if (!o)
		fail_msg("cococtl remind: %s", err ? err : "?");
	unsigned n = (unsigned)cJSON_GetObjectItem(o, "reminded")->valueint;
	strbuf b = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "skipped"))
		strbuf_printf(&b, "%s: %s, ", cJSON_GetStringValue(cJSON_GetObjectItem(it, "member")),
		              cJSON_GetStringValue(cJSON_GetObjectItem(it, "why")));
	*ret_skipped = b.s ? strbuf_steal(&b) : xstrdup("");
	cJSON_Delete(o);
	return n;
}

static void test_remind_by_hand_twice(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, remind_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "pia", "retro", NULL, "1: 4");

	/* An hour after the invitation: nobody is nudged yet, and the admin hears why. */
	_cleanup_free_ char *sk1 = NULL, *sk2 = NULL, *sk3 = NULL, *sk4 = NULL;
	assert_int_equal(remind(&s, false, &sk1), 0);
	expect_in(sk1, "ann: invited 1 hour ago");
	expect_in(sk1, "bob: invited 1 hour ago");
	expect_not_in(sk1, "pia"); /* she answered: not asked again, not "skipped" */
	assert_int_equal(count(&s, "reminder", "retro", NULL, NULL), 0);

	/* --force sends them; the same command a minute later sends nothing more. */
	assert_int_equal(remind(&s, true, &sk2), 2);
	assert_int_equal(count(&s, "reminder", "retro", NULL, NULL), 2);
	clock_set_test(JUN1 + 10 * HOUR + 60);
	assert_int_equal(remind(&s, false, &sk3), 0);
	expect_in(sk3, "ann: reminded 1 minute ago");
	assert_int_equal(count(&s, "reminder", "retro", NULL, NULL), 2);

	/* Twelve hours on, a reminder by hand goes out again. */
	clock_set_test(JUN1 + 23 * HOUR);
	assert_int_equal(remind(&s, false, &sk4), 2);
	assert_int_equal(count(&s, "reminder", "retro", NULL, "ann"), 2);

	/* The scheduled one (a day before the close) was taken by those by hand: Remind=-1d
	 * means one, and they had it. */
	run_until(&s, JUN1 + 4 * DAY + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "reminder", "retro", NULL, "ann"), 2);
	sim_finish(&s);
}

/* ---- trial 3: an answer leaving a required question open is partial: reminded -------- */

static const char required_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Monthly retro\nOpen=2026-06-01 09:00\n"
	"Duration=4d\nRemind=-1d\n"
	"[Question \"retro/mood\"]\nKind=scale\nText=How did the month go?\nRequired=yes\n"
	"[Question \"retro/note\"]\nKind=text\nText=Anything else?\n";

/* `cococtl rounds`' count of who answered the round ("1/3"). */
static char *answered_count(sim *s)
{
	char *err = NULL;
	cJSON *o = cococtl(s, "rounds", NULL, false, &err);
	if (!o)
		fail_msg("cococtl rounds: %s", err ? err : "?");
	_cleanup_free_ char *j = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return xstrdup(j);
}

static void test_required_question_left_open(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, required_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Pia answers the note only; the confirmation asks for question 1. */
	answer(&s, "pia", "retro", NULL, "2: the deploys were calm");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "pia");
	expect_in(conf, "Question 1 is required and still has no answer");
	/* She has answered (trial 5: a member who answered something has answered), partly. */
	_cleanup_free_ char *j1 = answered_count(&s);
	expect_in(j1, "\"answered\":1,\"partial\":1");

	/* She is reminded with the others (by hand, --force: within 12 hours of the invitation),
	 * and once she gives question 1 she counts as answered. */
	_cleanup_free_ char *sk = NULL;
	assert_int_equal(remind(&s, true, &sk), 3);
	answer(&s, "pia", "retro", NULL, "1: 4");
	_cleanup_free_ char *j2 = answered_count(&s);
	expect_in(j2, "\"answered\":1,\"partial\":0");

	/* The same after a restart (who answered is read back from the store). */
	sim_down(&s);
	sim_up(&s);
	_cleanup_free_ char *j3 = answered_count(&s);
	expect_in(j3, "\"answered\":1,\"partial\":0");
	/* The scheduled reminder (Remind=-1d: one) was taken by the one by hand. */
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "reminder", "retro", NULL, "pia"), 1);
	assert_int_equal(count(&s, "reminder", "retro", NULL, "ann"), 1);
	sim_finish(&s);
}

/* ---- S3-14: a dot for a withdrawn idea is refused, the others are taken ------------- */

static const char vote_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote on the ideas\nSource=ideas\nVotes=3\n"
	"Open=2026-06-04 09:00\nDuration=2d\n";

static void test_vote_for_a_withdrawn_idea(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, vote_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "ideas", NULL, "idea: a shared glossary of terms");
	answer(&s, "ann", "ideas", NULL, "idea: demo every other Friday");
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL); /* the vote is open */
	assert_int_equal(count(&s, "prompt", "vote", NULL, "pia"), 1);

	/* Bob asks to be forgotten: his idea, number 1 on Pia's ballot, is withdrawn. */
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	cJSON_AddStringToObject(req, "cmd", "forget");
	cJSON_AddStringToObject(req, "member", "bob");
	char *err = NULL;
	assert_int_equal(core_control(s.core, req, &reply, &err), 0);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	settle(&s);

	/* (reply_to_last: the spool now holds Bob's tombstones, which answer() cannot read) */
	reply_to_last_about(&s, "prompt", "vote", "pia", "pia@provider.example", true,
	                    "vote 1 2 2");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "pia");
	expect_in(conf, "2 dots for idea 2, demo every other Friday");
	expect_not_in(conf, "for idea 1,");
	expect_in(conf, "idea 1 was withdrawn by its author, so no dots went to it; your other "
	                "dots were recorded");
	_cleanup_free_ char *rec = read_store(&s, "campaigns/t/rounds/vote/once/answers.jsonl");
	expect_in(rec, "\"votes\":{\"2\":2}");

	/* All her dots on it: nothing recorded, and she is told to pick another. */
	reply_to_last_about(&s, "prompt", "vote", "ann", "ann@client.example", true, "vote 1 1");
	_cleanup_free_ char *conf2 = last_markdown(&s, "reply", "ann");
	expect_in(conf2, "we could not record anything");
	expect_in(conf2, "idea 1 was withdrawn by its author; give your dots to another idea");
	sim_finish(&s);
}

/* ---- S3-7: each line said back as it was written; "1) 4" and "Q2 = 9" understood ------ */

static const char retro5_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Monthly retro\nOpen=2026-06-01 09:00\n"
	"Duration=4d\n"
	"[Question \"retro/delivery\"]\nKind=scale\nText=Delivery\nMin=1\nMax=5\n"
	"[Question \"retro/nps\"]\nKind=nps\nText=Recommend us?\n"
	"[Question \"retro/focus\"]\nKind=choice\nText=Focus\nOptions=Speed|Quality|Cost\n"
	"[Question \"retro/tools\"]\nKind=multi\nText=Tools\nOptions=Jira|Slack|Email\n"
	"[Question \"retro/comment\"]\nKind=text\nText=Anything else?\n";

static void test_lines_said_back_as_written(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, retro5_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "pia", "retro", NULL,
	       "Delivery: 4/5\n1) 4\nQ2 = 9\n3: Quality\n4: jira and slack\n"
	       "5 the standups were useful\nand the demos");
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "pia");
	expect_in(conf, "**1.** Delivery → 4");
	expect_in(conf, "**2.** Recommend us? → 9");
	expect_in(conf, "**3.** Focus → Quality");
	expect_in(conf, "- “4: jira and slack”: question 4 takes");
	expect_in(conf, "- “5 the standups were useful”: not understood");
	expect_in(conf, "- “and the demos”: not understood");
	expect_not_in(conf, "1) 4 Q2");
	expect_not_in(conf, "useful and the demos");
	sim_finish(&s);
}

/* ---- wording a member reads (S3-3, S3-16, S3-17, S3-18) ---------------------------- */

static void test_wording(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, vote_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);

	/* The idea invitation says once how to answer (it said it twice, differently). */
	_cleanup_free_ char *inv = last_markdown(&s, "prompt", "ann");
	expect_in(inv, "one per line starting with `idea:` (or one per paragraph)");
	expect_not_in(inv, "Reply like this");

	/* Nothing recorded: not "you can change your answers". */
	answer(&s, "ann", "ideas", NULL, "vote 1");
	_cleanup_free_ char *nothing = last_markdown(&s, "reply", "ann");
	expect_in(nothing, "we could not record anything");
	expect_not_in(nothing, "You can");

	/* An idea after the ideas closed, while the vote on them is open: the campaign's footer
	 * and where to go now. */
	answer(&s, "bob", "ideas", NULL, "idea: a shared glossary of terms");
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	reply_to_last_about(&s, "prompt", "ideas", "pia", "pia@provider.example", true,
	                    "idea: one more");
	_cleanup_free_ char *late = last_markdown(&s, "reply", "pia");
	expect_in(late, "\"Ideas\" is closed");
	expect_in(late, "The vote on these ideas, \"Vote on the ideas\", is open until Sat 6 Jun");
	expect_in(late, "coco · Retro · Client Co with Provider Co");

	/* The vote's reminder says how many votes (the invitation did, the reminder did not). */
	char *err = NULL;
	cJSON *o = cococtl(&s, "remind", "t/vote", true, &err);
	assert_non_null(o);
	cJSON_Delete(o);
	_cleanup_free_ char *rem = last_markdown(&s, "reminder", "ann");
	expect_in(rem, "You have **3** votes");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_to_last_months_invitation),
		cmocka_unit_test(test_reply_to_the_untagged_notice),
		cmocka_unit_test(test_strangers_and_backscatter),
		cmocka_unit_test(test_remind_by_hand_twice),
		cmocka_unit_test(test_required_question_left_open),
		cmocka_unit_test(test_vote_for_a_withdrawn_idea),
		cmocka_unit_test(test_lines_said_back_as_written),
		cmocka_unit_test(test_wording),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
