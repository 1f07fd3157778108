/* Trial 7 (December 2026): a new admin ran a real campaign, members replied from real mail
 * clients. Items 2, 4, 5 and 8 of its report (greetings and closings coco did not know, "1. 4"
 * numbering, bare answers to a one-question survey, two replies in one second read after
 * downtime), written from the members' side: the mail
 * they sent (the words as /tmp/trial7/mails/ had them), what coco stored and what the
 * confirmation said. The real core, store, spool and local channel on the injectable clock
 * (tests/sim.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "sim.h"

#define CAMPAIGN                                                                               \
	"[Campaign]\nId=t\nTitle=New web shop\nTimeZone=UTC\nQuietHours=none\n"                 \
	"Client=Bergström Retail\nProvider=Lumen Digital\n"                                     \
	"[Member \"anna\"]\nName=Anna López\nSide=client\nEmail=anna@bergstrom.example\n"        \
	"[Member \"mikael\"]\nName=Mikael Virtanen\nSide=client\nEmail=mikael@bergstrom.example\n" \
	"[Member \"liam\"]\nName=Liam O'Brien\nSide=provider\nEmail=liam@lumen.example\n"

static const char ideas_conf[] = CAMPAIGN
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas for the shop\nOpen=2026-06-01 09:00\n"
	"Duration=3d\n"
	"[Round \"vote\"]\nKind=vote\nTitle=Vote on the ideas\nSource=ideas\nDuration=2d\nVotes=3\n";

static const char workshop_conf[] = CAMPAIGN
	"[Round \"workshop\"]\nKind=survey\nTitle=Workshop feedback\nOpen=2026-06-01 09:00\n"
	"Duration=3d\n"
	"[Question \"workshop/useful\"]\nKind=scale\nText=How useful was the workshop?\nMin=1\n"
	"Max=5\nRequired=yes\n"
	"[Question \"workshop/format\"]\nKind=choice\nText=Which format next time?\n"
	"Options=On site|Remote|Hybrid\n"
	"[Question \"workshop/comment\"]\nKind=text\nText=Anything else?\n";

/* ---- 2. greetings and closings coco did not know: no ideas, no "not understood" -------- */

static void test_idea_round_signoffs_are_no_ideas(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, ideas_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* e21: a Spanish closing, a blank line, her fuller name (Name=Anna López), her role and
	 * company; e24's formal German greeting above */
	answer(&s, "anna", "ideas", NULL,
	       "Sehr geehrte Damen und Herren,\n\nidea: Pago con Bizum\n\nSaludos cordiales,\n\n"
	       "Anna López García\nDirectora de Marketing\nBergström Retail S.L.");
	/* i04/s04: Thunderbird, the Finnish "t." and his first name */
	answer(&s, "mikael", "ideas", NULL, "idea: Yhteinen Slack-kanava\n\nt. Mikael");
	/* e23: the bilingual closing Finnish companies use */
	answer(&s, "liam", "ideas", NULL,
	       "idea: Tuotevertailu\n\nYstävällisin terveisin / Best regards\nLiam O'Brien");

	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "anna");
	expect_in(conf, "Pago con Bizum");
	expect_not_in(conf, "Saludos");
	expect_not_in(conf, "García");
	expect_not_in(conf, "Sehr geehrte");
	expect_not_in(conf, "not understood");
	_cleanup_free_ char *conf_m = last_markdown(&s, "confirmation", "mikael");
	expect_not_in(conf_m, "t. Mikael");

	/* stored: the idea alone; what was left out beside it, as she wrote it */
	cJSON *a = sim_stored_answer(&s, "ideas", "anna");
	cJSON *ideas = cJSON_GetObjectItem(a, "ideas");
	assert_int_equal(cJSON_GetArraySize(ideas), 1);
	assert_string_equal(cJSON_GetArrayItem(ideas, 0)->valuestring, "Pago con Bizum");
	const char *trimmed = json_field(a, "trimmed");
	expect_in(trimmed, "Sehr geehrte Damen und Herren,");
	expect_in(trimmed, "Saludos cordiales,\n\nAnna López García\nDirectora de Marketing\n"
			   "Bergström Retail S.L.");
	cJSON_Delete(a);
	cJSON *m = sim_stored_answer(&s, "ideas", "mikael");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "ideas")), 1);
	expect_in(json_field(m, "trimmed"), "t. Mikael");
	cJSON_Delete(m);

	/* the ballot the client reads carries the three ideas and no sign-off */
	cococtl_ok(&s, "close", "t/ideas");
	cococtl_ok(&s, "open", "t/vote");
	_cleanup_free_ char *ballot = last_markdown(&s, "prompt", "anna");
	expect_in(ballot, "Pago con Bizum\n");
	expect_in(ballot, "Yhteinen Slack-kanava\n");
	expect_in(ballot, "Tuotevertailu\n");
	expect_not_in(ballot, "Mikael\n");
	expect_not_in(ballot, "Saludos");
	expect_not_in(ballot, "terveisin");
	sim_finish(&s);
}

static void test_survey_signoffs_are_not_errors(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, workshop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* e01 and e03: the formal greeting, "Grüße aus Berlin" over her first name */
	answer(&s, "anna", "workshop", NULL,
	       "Sehr geehrte Damen und Herren,\n\n1: 4\n2: c\n\nGrüße aus Berlin\nAnna");
	/* e11/e51: the bilingual closing over his own configured name */
	answer(&s, "mikael", "workshop", NULL,
	       "Moi,\n\n1: 4\n\nYstävällisin terveisin / Best regards\nMikael Virtanen");
	/* his first name right under his text answer, no blank line between */
	answer(&s, "liam", "workshop", NULL, "1: 5\n3: More time for questions\nLiam");

	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "anna");
	expect_not_in(conf, "did not record");
	expect_not_in(conf, "not understood");
	expect_not_in(conf, "Berlin");
	_cleanup_free_ char *conf_m = last_markdown(&s, "confirmation", "mikael");
	expect_not_in(conf_m, "did not record");
	expect_not_in(conf_m, "Virtanen");

	cJSON *a = sim_stored_answer(&s, "workshop", "anna");
	assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "useful"), "4");
	assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "format"), "Hybrid");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "answers"), "comment"));
	expect_in(json_field(a, "trimmed"), "Grüße aus Berlin\nAnna");
	cJSON_Delete(a);
	/* Liam's own name under his text answer signs it; it is not part of the answer */
	cJSON *l = sim_stored_answer(&s, "workshop", "liam");
	assert_string_equal(json_field(cJSON_GetObjectItem(l, "answers"), "comment"),
			    "More time for questions");
	expect_in(json_field(l, "trimmed"), "Liam");
	cJSON_Delete(l);
	sim_finish(&s);
}

/* ---- 4. "1. 4" ⏎ "2. b" answers questions 1 and 2, it is no text answer --------------- */

static void test_dot_numbers_answer_their_questions(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, workshop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* w01: Anna numbers her answers with a dot */
	answer(&s, "anna", "workshop", NULL, "1. 4\n2. b\n\nAnna");
	cJSON *a = sim_stored_answer(&s, "workshop", "anna");
	const cJSON *ans = cJSON_GetObjectItem(a, "answers");
	assert_string_equal(json_field(ans, "useful"), "4");
	assert_string_equal(json_field(ans, "format"), "Remote");
	assert_null(cJSON_GetObjectItem(ans, "comment"));
	cJSON_Delete(a);
	_cleanup_free_ char *conf = last_markdown(&s, "confirmation", "anna");
	expect_in(conf, "→ 4");
	expect_in(conf, "→ Remote");
	expect_not_in(conf, "1. 4");
	expect_not_in(conf, "is required and still has no answer");
	/* a wrong value numbered so is refused with the rule, not kept as words */
	answer(&s, "mikael", "workshop", NULL, "1. 7\n2. c");
	_cleanup_free_ char *conf_m = last_markdown(&s, "confirmation", "mikael");
	expect_in(conf_m, "question 1 takes a whole number from 1 to 5");
	cJSON *m = sim_stored_answer(&s, "workshop", "mikael");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "answers"), "comment"));
	cJSON_Delete(m);
	sim_finish(&s);
}

/* ---- 5. a one-question survey takes the bare value ------------------------------------- */

static const char retro_conf[] = CAMPAIGN
	"[Round \"retro\"]\nKind=survey\nTitle=Quick check-in\nOpen=2026-06-01 09:00\n"
	"Duration=1d\n"
	"[Question \"retro/energy\"]\nKind=scale\nText=How is your energy this week?\nMin=1\n"
	"Max=5\nRequired=yes\n";

static void test_one_question_survey_takes_bare_values(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, retro_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* r01, r02 and r06, as they replied to the one-question mail */
	answer(&s, "anna", "retro", NULL, "4\n\nViele Grüße\nAnna");
	answer(&s, "mikael", "retro", NULL, "5 (super semaine)");
	answer(&s, "liam", "retro", NULL, "3 - tired, but OK\n\nLiam");
	static const struct {
		const char *member, *value;
	} want[] = {{"anna", "4"}, {"mikael", "5"}, {"liam", "3"}};
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		cJSON *a = sim_stored_answer(&s, "retro", want[i].member);
		assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "energy"), want[i].value);
		cJSON_Delete(a);
		_cleanup_free_ char *conf = last_markdown(&s, "confirmation", want[i].member);
		_cleanup_free_ char *echo = xasprintf("→ %s", want[i].value);
		expect_in(conf, echo);
		expect_not_in(conf, "not understood");
	}
	/* r04 "4/5" replaces Anna's answer */
	answer(&s, "anna", "retro", NULL, "2/5");
	cJSON *a = sim_stored_answer(&s, "retro", "anna");
	assert_string_equal(json_field(cJSON_GetObjectItem(a, "answers"), "energy"), "2");
	cJSON_Delete(a);
	/* r05: words are still refused, and the error says how to answer */
	_cleanup_free_ char *before = read_store(&s, "campaigns/t/rounds/retro/once/answers.jsonl");
	answer(&s, "mikael", "retro", NULL, "Vier\n\nMikael");
	_cleanup_free_ char *after = read_store(&s, "campaigns/t/rounds/retro/once/answers.jsonl");
	assert_string_equal(before, after);
	_cleanup_free_ char *told = last_markdown(&s, "reply", "mikael");
	expect_in(told, "“Vier”: not understood; start with the question's number, like “1: 4”");
	sim_finish(&s);
}

/* ---- 8. after downtime the latest reply counts, whatever the files' names -------------- */

/* A reply of member's mail client to their invitation to round, with body. */
static char *reply_mail(sim *s, const char *member, const char *round, unsigned n,
			const char *body)
{
	_cleanup_free_ char *hdr = sim_reply_headers_about(s, round, member, "Lumen");
	return xasprintf("From: %s@bergstrom.example\r\n%s\r\nSubject: Re: Workshop\r\n"
			 "Message-ID: <burst%u@bergstrom.example>\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
			 member, hdr, n, body);
}

/* As an MDA delivers: written into tmp/, its mtime set (the test's "when it arrived"), renamed
 * into new/ under name. */
static void drop_into_inbox(sim *s, const char *name, const char *mail, long nsec)
{
	_cleanup_free_ char *tmp = xasprintf("%s/local/inbox/tmp/%s", s->state, name);
	_cleanup_free_ char *dst = xasprintf("%s/local/inbox/new/%s", s->state, name);
	write_text(tmp, mail);
	/* the same second for both, apart by nanoseconds: only the order matters */
	const struct timespec t[2] = {{.tv_sec = 1796204773, .tv_nsec = nsec},
				      {.tv_sec = 1796204773, .tv_nsec = nsec}};
	assert_int_equal(utimensat(AT_FDCWD, tmp, t, 0), 0);
	assert_int_equal(rename(tmp, dst), 0);
}

static void test_latest_reply_after_downtime_counts(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, workshop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	_cleanup_free_ char *first = reply_mail(&s, "mikael", "workshop", 12, "1: 2");
	_cleanup_free_ char *second = reply_mail(&s, "mikael", "workshop", 20, "1: 5");
	/* cocod is down; Mikael answers, then corrects himself within the second. The MDA's
	 * names sort the other way round (x12 and x20 of the trial's kill test). */
	sim_down(&s);
	drop_into_inbox(&s, "1796204773.d942d5cc.mx", first, 100000);
	drop_into_inbox(&s, "1796204773.af400b04.mx", second, 900000);
	sim_up(&s);
	/* what cocod's start does: look at everything in new/ */
	assert_int_equal(channelset_poll(s.chans), 2);
	settle(&s);
	/* both recorded, the correction last: it is his current answer */
	_cleanup_free_ char *all = read_store(&s, "campaigns/t/rounds/workshop/once/answers.jsonl");
	assert_non_null(all);
	const char *a = strstr(all, "\"useful\":\"2\""), *b = strstr(all, "\"useful\":\"5\"");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	cJSON *m = sim_stored_answer(&s, "workshop", "mikael");
	assert_string_equal(json_field(cJSON_GetObjectItem(m, "answers"), "useful"), "5");
	cJSON_Delete(m);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idea_round_signoffs_are_no_ideas),
	    cmocka_unit_test(test_survey_signoffs_are_not_errors),
	    cmocka_unit_test(test_dot_numbers_answer_their_questions),
	    cmocka_unit_test(test_one_question_survey_takes_bare_values),
	    cmocka_unit_test(test_latest_reply_after_downtime_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
