/* Tests for config: the shipped example loads cleanly with the expected content; each class
 * of mistake is reported once at the right file:line; several mistakes are all reported;
 * defaults; oversize and binary input; every key of the tables is documented. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ftw.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "channels.h"
#include "config.h"
#include "util.h"

/* ---- helpers ---- */

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
	char *s = NULL;
	assert_int_equal(read_file(path, 4 << 20, &s, NULL), 0);
	return s;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh config directory: coco.conf with main_text, and campaigns.d/. */
static char *make_dir(const char *main_text)
{
	char *dir = xstrdup("/tmp/coco-test-config.XXXXXX");
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *conf = xasprintf("%s/coco.conf", dir);
	write_text(conf, main_text, strlen(main_text));
	_cleanup_free_ char *cd = xasprintf("%s/campaigns.d", dir);
	assert_int_equal(mkdir(cd, 0700), 0);
	return dir;
}

static void add_campaign(const char *dir, const char *name, const char *text, size_t len)
{
	_cleanup_free_ char *p = xasprintf("%s/campaigns.d/%s", dir, name);
	write_text(p, text, len);
}

static size_t line_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	assert_non_null(p);
	size_t line = 1;
	for (const char *q = text; q < p; q++)
		line += *q == '\n';
	return line;
}

/* Replaces the first occurrence of a by b. */
static char *replace(const char *text, const char *a, const char *b)
{
	const char *p = strstr(text, a);
	assert_non_null(p);
	return xasprintf("%.*s%s%s", (int)(p - text), text, b, p + strlen(a));
}

static void print_errors(char **errors)
{
	for (char **e = errors; e && *e; e++)
		print_message("  %s\n", *e);
}

/* ---- the shipped example ---- */

static void test_shipped_example(void **state)
{
	coco_config *c = NULL;
	char **errors = (char **)1;
	int r = config_load("etc", &c, &errors);
	print_errors(r < 0 ? errors : NULL);
	assert_int_equal(r, 0);
	assert_null(errors);
	assert_non_null(c);

	assert_string_equal(c->dir, "etc");
	assert_string_equal(c->state_dir, "/var/lib/coco");
	assert_string_equal(c->control_socket, "/run/coco/control.sock");
	assert_string_equal(c->listen, "127.0.0.1:8470");
	assert_int_equal(c->n_connectors, 1);
	assert_string_equal(c->connectors[0], "local");
	assert_true(config_has_connector(c, "local"));
	assert_false(config_has_connector(c, "email"));
	assert_string_equal(config_get(c, "Mail", "From"), "coco@northwind.example");
	assert_null(c->secrets_dir);
	assert_null(config_get(c, "Local", "Outbox"));
	assert_null(config_get(c, "Local", "Inbox"));

	_cleanup_free_ char *sum = config_summary(c);
	assert_string_equal(sum, "1 campaign, 6 members, 4 rounds, 7 questions");

	assert_int_equal(c->n_campaigns, 1);
	const coco_campaign *camp = config_find_campaign(c, "onboarding");
	assert_non_null(camp);
	assert_null(config_find_campaign(c, "nope"));
	assert_string_equal(camp->file, "etc/campaigns.d/onboarding.conf");
	assert_string_equal(camp->timezone, "Europe/Helsinki");
	assert_string_equal(camp->client_name, "Acme Logistics");
	assert_string_equal(camp->provider_name, "Northwind Studio");
	assert_int_equal(camp->quiet_start, 21 * 60);
	assert_int_equal(camp->quiet_end, 8 * 60);
	assert_non_null(strstr(camp->description, "portal must do.\nAnswers are visible"));

	size_t sides[2] = {0, 0};
	for (size_t i = 0; i < camp->n_members; i++)
		sides[camp->members[i].side]++;
	assert_int_equal(camp->n_members, 6);
	assert_int_equal(sides[SIDE_CLIENT], 3);
	assert_int_equal(sides[SIDE_PROVIDER], 3);

	const coco_member *aino = campaign_find_member(camp, "aino");
	assert_non_null(aino);
	assert_int_equal(aino->n_emails, 2);
	assert_string_equal(aino->emails[0], "aino.virtanen@acme.example");
	assert_string_equal(aino->emails[1], "aino@acme-logistics.example");
	assert_null(aino->emails[2]);
	assert_string_equal(aino->timezone, "Europe/Helsinki");
	assert_string_equal(campaign_find_member(camp, "mikko")->slack_id, "U04ACME0MIK");
	assert_string_equal(campaign_find_member(camp, "sofia")->matrix_id,
	                    "@sofia:northwind.example");
	assert_string_equal(campaign_find_member(camp, "grace")->timezone, "America/New_York");
	assert_null(campaign_find_member(camp, "zoe"));

	const coco_round *kick = campaign_find_round(camp, "kickoff");
	assert_non_null(kick);
	assert_int_equal(kick->kind, ROUND_SURVEY);
	assert_int_equal(kick->n_questions, 5);
	assert_true(kick->open.set);
	assert_int_equal(kick->open.year, 2026);
	assert_int_equal(kick->open.month, 12);
	assert_int_equal(kick->open.day, 1);
	assert_int_equal(kick->open.hour, 9);
	assert_int_equal(kick->close.day, 4);
	assert_int_equal(kick->close.hour, 17);
	assert_int_equal(kick->duration, 0);
	assert_int_equal(kick->n_remind, 2);
	assert_int_equal(kick->max_reminders, 2);
	/* An empty line inside an indented continuation is a paragraph break. */
	assert_non_null(strstr(kick->text, "five minutes.\n\nAnswer in the reply"));
	const question_kind kinds[] = {QUESTION_SCALE, QUESTION_CHOICE, QUESTION_MULTI,
	                               QUESTION_NPS, QUESTION_TEXT};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(kick->questions[i].kind, kinds[i]);
	assert_string_equal(kick->questions[0].id, "clarity");
	assert_string_equal(kick->questions[0].min_label, "not clear at all");
	assert_string_equal(kick->questions[0].max_label, "crystal clear");
	assert_true(kick->questions[0].required);
	assert_int_equal(kick->questions[1].n_options, 4);
	assert_string_equal(kick->questions[1].options[3], "Observer");
	assert_int_equal(kick->questions[2].n_options, 4);
	assert_int_equal(kick->questions[3].min, 0);
	assert_int_equal(kick->questions[3].max, 10);

	const coco_round *vote = campaign_find_round(camp, "vote");
	assert_int_equal(vote->kind, ROUND_VOTE);
	assert_string_equal(vote->source, "ideas");
	assert_int_equal(vote->votes, 3);
	assert_int_equal(vote->n_remind, 2);
	assert_int_equal(vote->max_reminders, 1);
	assert_int_equal(campaign_find_round(camp, "ideas")->kind, ROUND_PROMPT);

	const coco_round *pulse = campaign_find_round(camp, "pulse");
	assert_string_equal(pulse->repeat, "FREQ=WEEKLY;BYDAY=MO");
	assert_int_equal(pulse->duration, 4 * 86400 + 8 * 3600); /* Monday 09:00 to Friday 17:00 */
	assert_int_equal(pulse->n_remind, 2);
	assert_int_equal(pulse->remind[0], -86400);
	assert_int_equal(pulse->remind[1], -4 * 3600);
	assert_true(pulse->anonymous);
	assert_int_equal(pulse->n_questions, 2);

	assert_true(camp->digest.set);
	assert_string_equal(camp->digest.repeat, "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0");
	assert_true(camp->digest.on_close);
	assert_int_equal(camp->digest.audience, AUDIENCE_ALL);
	/* Start= defaults to the earliest Open=. */
	assert_true(camp->digest.start.set);
	assert_int_equal(camp->digest.start.day, 1);
	assert_int_equal(camp->digest.start.hour, 9);
	config_free(c);
}

/* ---- one fixture per mistake ---- */

static const struct {
	const char *name;
	unsigned line;
	const char *phrase;
} bad_campaigns[] = {
    {"unknown-section", 14, "unknown section [Campain]"},
    {"unknown-key", 17, "unknown key Colour= in [Member \"cy\"]"},
    {"dup-member", 14, "duplicate member \"ana\""},
    {"dup-round", 23, "duplicate round \"s\""},
    {"dup-question", 23, "duplicate question \"s/q1\""},
    {"bad-number", 22, "Votes=0: expected a whole number from 1 to 100"},
    {"bad-bool", 17, "Anonymous=maybe: expected yes or no"},
    {"bad-duration", 17, "Duration=3x: expected a positive duration"},
    {"bad-datetime", 16, "Open=2026-02-30 09:00: expected a date and time like 2026-12-01 09:00"},
    {"bad-kind", 15, "Kind=poll: expected prompt, survey, vote or announce"},
    {"bad-question-kind", 24, "Kind=stars: expected scale, choice, multi, text or nps"},
    {"no-side", 14, "member cy is on no side: expected Side=client or Side=provider"},
    {"bad-id", 14, "member id \"../cy\": expected letters"},
    {"bad-timezone", 17, "TimeZone=Mars/Olympus: unknown time zone"},
    {"bad-rrule", 17, "Repeat=FREQ=FORTNIGHTLY: expected an RFC 5545 RRULE"},
    {"question-unknown-round", 23, "question for unknown round \"t\""},
    {"vote-source", 25, "Source=s is not a prompt round"},
    /* trial 7: a Source= naming no round says so, not "is not a prompt round" */
    {"vote-source-unknown", 25, "Source=idea names unknown round \"idea\""},
    {"vote-no-source", 14, "vote round \"v\" has no Source="},
    {"audience-unknown", 17, "Audience= names unknown member \"zoe\""},
    {"audience-mixed", 17, "Audience=client, zoe: \"client\" is a whole audience and cannot be mixed"},
    {"recipients-unknown", 15, "Recipients= names unknown member \"zoe\""},
    {"remind-positive", 17, "Remind=+4h: expected negative offsets"},
    {"repeat-no-open", 14, "round \"p\" repeats but has no Open="},
    {"no-close", 14, "round \"p\" has neither Close= nor Duration="},
    {"close-and-duration", 17, "has both Close= and Duration="},
    {"close-before-open", 17, "Close= is not after Open="},
    {"scale-min-max", 23, "has Min=5 and Max=5: expected Min below Max"},
    {"choice-options", 23,
     "choice question \"s/q2\" has 1 option: expected Options= with at least two"},
    {"survey-no-questions", 14, "survey round \"s\" has no questions"},
    /* trial 7: its only question was rejected; that one error, no false "no questions" */
    {"survey-only-question-bad", 19, "has Min=6 and Max=5: expected Min below Max"},
    {"question-non-survey", 18,
     "question on prompt round \"p\": expected questions on survey rounds only"},
    {"email-no-at", 16, "Email=cy.client.example: expected an email address"},
    {"email-twice", 16, "Email=ana@client.example: already used by member ana"},
    {"no-equals", 17, "expected Key=Value, a [Section] header or a comment"},
    {"unclosed-section", 14, "expected ']' to close the section header"},
    {"bad-quiet-hours", 15, "QuietHours=21-8: expected HH:MM-HH:MM"},
    {"min-group-size", 15, "MinGroupSize=1: expected a whole number from 2 to 1000"},
    {"gap-threshold", 15, "GapThreshold=1.25: expected a number from 0.1 to 100.0 with at most one decimal"},
    {"no-section-arg", 14, "[Member] without an id: expected [Member \"id\"]"},
    {"multiline-key", 15, "Side= continues on the next line: expected a single line"},
    {"bad-slack", 16, "Slack=bob: expected a Slack user id"},
};

static void test_bad_campaigns(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(bad_campaigns); i++) {
		_cleanup_free_ char *src = xasprintf("tests/data/config/bad/%s.conf",
		                                     bad_campaigns[i].name);
		_cleanup_free_ char *text = slurp(src);
		_cleanup_free_ char *dir = make_dir("");
		_cleanup_free_ char *file = xasprintf("%s.conf", bad_campaigns[i].name);
		add_campaign(dir, file, text, strlen(text));

		coco_config *c = (coco_config *)1;
		char **errors = NULL;
		assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
		assert_ptr_equal(c, (coco_config *)1); /* untouched on failure */
		_cleanup_free_ char *prefix = xasprintf("%s/campaigns.d/%s:%u: ", dir, file,
		                                        bad_campaigns[i].line);
		if (strv_length(errors) != 1 || strncmp(errors[0], prefix, strlen(prefix)) != 0 ||
		    !strstr(errors[0], bad_campaigns[i].phrase)) {
			print_message("%s: expected one error \"%s...%s\", got:\n",
			              bad_campaigns[i].name, prefix, bad_campaigns[i].phrase);
			print_errors(errors);
			fail();
		}
		strv_free(errors);
		rm_rf(dir);
	}
}

static const struct {
	const char *name;
	unsigned line;
	const char *phrase;
} bad_mains[] = {
    {"unknown-connector", 3, "unknown connector \"fax\""},
    {"relative-path", 3, "StateDirectory=var/lib/coco: expected an absolute path"},
    {"bad-listen", 3, "Listen=localhost: expected ADDRESS:PORT"},
    {"bad-listen-v6", 3, "Listen=::1:8470: expected ADDRESS:PORT with a numeric address"},
    {"bad-listen-name", 3, "Listen=localhost:8470: expected ADDRESS:PORT with a numeric"},
    {"unknown-section", 2,
     "unknown section [Deamon]: expected [Daemon], [Secrets], [Mail], [Local]"},
    {"key-outside-section", 2, "Listen= outside a section"},
    {"bad-mail-from", 3, "From=coco: expected an email address"},
    {"bad-control-group", 3, "ControlGroup=no-such-group-coco: no such group"},
};

static void test_bad_main(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(bad_mains); i++) {
		_cleanup_free_ char *src = xasprintf("tests/data/config/bad-main/%s.conf",
		                                     bad_mains[i].name);
		_cleanup_free_ char *text = slurp(src);
		_cleanup_free_ char *dir = make_dir(text);
		char **errors = NULL;
		coco_config *c = NULL;
		assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
		assert_null(c);
		_cleanup_free_ char *prefix =
		    xasprintf("%s/coco.conf:%u: ", dir, bad_mains[i].line);
		if (strv_length(errors) != 1 || strncmp(errors[0], prefix, strlen(prefix)) != 0 ||
		    !strstr(errors[0], bad_mains[i].phrase)) {
			print_message("%s: expected one error \"%s...%s\", got:\n",
				      bad_mains[i].name, prefix, bad_mains[i].phrase);
			print_errors(errors);
			fail();
		}
		strv_free(errors);
		rm_rf(dir);
	}
}

/* Listen= takes IPv4 and bracketed IPv6 addresses, and remembers that it was given. */
static void test_listen(void **state)
{
	const char *ok[] = {"[::1]:8470", "127.0.0.1:1", "[::]:65535", "0.0.0.0:80"};
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_free_ char *text = xasprintf("[Daemon]\nListen=%s\n", ok[i]);
		_cleanup_free_ char *dir = make_dir(text);
		char **errors = NULL;
		coco_config *c = NULL;
		int r = config_load(dir, &c, &errors);
		print_errors(errors);
		assert_int_equal(r, 0);
		assert_string_equal(c->listen, ok[i]);
		assert_true(c->listen_explicit);
		config_free(c);
		strv_free(errors);
		rm_rf(dir);
	}
}

/* URL values, with the real channels' keys: [Slack] ApiUrl= is an http(s) URL with a host
 * and, after a ':', a port (S3-22: an empty port passed the check); each refusal says why,
 * at its file and line. */
static void test_urls(void **state)
{
	channels_register_config();
	const char *ok[] = {"https://slack.com/api", "http://127.0.0.1:8080/api",
	                    "http://[::1]:9/api", "http://localhost", "https://a.example:443/x?y#z"};
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_free_ char *text = xasprintf("[Daemon]\n[Slack]\nApiUrl=%s\n", ok[i]);
		_cleanup_free_ char *dir = make_dir(text);
		char **errors = NULL;
		coco_config *c = NULL;
		int r = config_load(dir, &c, &errors);
		print_errors(errors);
		assert_int_equal(r, 0);
		assert_string_equal(config_get(c, "Slack", "ApiUrl"), ok[i]);
		config_free(c);
		strv_free(errors);
		rm_rf(dir);
	}
	static const struct {
		const char *url, *why;
	} bad[] = {
		{"http://127.0.0.1:/api", "the port after ':' is missing"},
		{"http://127.0.0.1:0/api", "a number from 1 to 65535"},
		{"http://127.0.0.1:65536/api", "a number from 1 to 65535"},
		{"http://127.0.0.1:80a/api", "a number from 1 to 65535"},
		{"http:///api", "the host is missing"},
		{"http://:8080/api", "the host is missing"},
		{"ftp://files.example/api", "expected an http:// or https:// URL"},
		{"smtps://mail.example:465", "expected an http:// or https:// URL"},
		{"slack.com/api", "expected a URL"},
		{"http://[::1/api", "in brackets"},
		{"http://[::1]x/api", "after the ']'"},
		{"http://bad_host!/api", "the host is"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *text = xasprintf("[Daemon]\n[Slack]\nApiUrl=%s\n", bad[i].url);
		_cleanup_free_ char *dir = make_dir(text);
		char **errors = NULL;
		coco_config *c = NULL;
		assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
		assert_null(c);
		assert_int_equal(strv_length(errors), 1);
		_cleanup_free_ char *want = xasprintf("%s/coco.conf:3: ApiUrl=%s: ", dir, bad[i].url);
		if (strncmp(errors[0], want, strlen(want)) != 0 || !strstr(errors[0], bad[i].why))
			fail_msg("%s: got \"%s\", want \"%s…%s\"", bad[i].url, errors[0], want,
			         bad[i].why);
		strv_free(errors);
		rm_rf(dir);
	}
}

static void test_duplicate_campaign(void **state)
{
	const char *d = "tests/data/config/dup-campaign";
	char **errors = NULL;
	coco_config *c = NULL;
	assert_int_equal(config_load(d, &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 1);
	assert_string_equal(errors[0], "tests/data/config/dup-campaign/campaigns.d/b.conf:2: "
	                               "duplicate campaign id \"same\" (also in "
	                               "tests/data/config/dup-campaign/campaigns.d/a.conf): "
	                               "expected each campaign id once");
	strv_free(errors);
	/* Without ret_errors, the verdict alone. */
	assert_int_equal(config_load(d, &c, NULL), -EINVAL);
	assert_null(c);
}

/* The shipped example with three mistakes gives exactly those three, in line order. */
static void test_three_errors(void **state)
{
	_cleanup_free_ char *main_text = slurp("etc/coco.conf");
	_cleanup_free_ char *orig = slurp("etc/campaigns.d/onboarding.conf");
	_cleanup_free_ char *t1 = replace(orig, "Name=Mikko Lehtonen\n",
	                                  "Name=Mikko Lehtonen\nColour=blue\n");
	_cleanup_free_ char *t2 = replace(t1, "TimeZone=America/New_York",
	                                  "TimeZone=America/Atlantis");
	_cleanup_free_ char *text = xasprintf("%s\n[Round \"ideas\"]\nKind=prompt\nDuration=1d\n",
	                                      t2);
	_cleanup_free_ char *dir = make_dir(main_text);
	add_campaign(dir, "onboarding.conf", text, strlen(text));

	char **errors = NULL;
	coco_config *c = NULL;
	assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
	print_errors(errors);
	assert_int_equal(strv_length(errors), 3);
	_cleanup_free_ char *e0 =
	    xasprintf("%s/campaigns.d/onboarding.conf:%zu: unknown key Colour=", dir,
		      line_of(text, "Colour=blue"));
	_cleanup_free_ char *e1 = xasprintf("%s/campaigns.d/onboarding.conf:%zu: TimeZone=America/"
	                                    "Atlantis: unknown time zone", dir,
	                                    line_of(text, "America/Atlantis"));
	/* The appended section: after t2's lines and one empty line. */
	size_t dup_line = 2;
	for (const char *p = t2; *p; p++)
		dup_line += *p == '\n';
	_cleanup_free_ char *e2 = xasprintf("%s/campaigns.d/onboarding.conf:%zu: duplicate round "
	                                    "\"ideas\"", dir, dup_line);
	assert_true(strncmp(errors[0], e0, strlen(e0)) == 0);
	assert_true(strncmp(errors[1], e1, strlen(e1)) == 0);
	assert_true(strncmp(errors[2], e2, strlen(e2)) == 0);
	strv_free(errors);
	rm_rf(dir);
}

static void test_defaults(void **state)
{
	coco_config *c = NULL;
	char **errors = NULL;
	int r = config_load("tests/data/config/defaults", &c, &errors);
	print_errors(errors);
	assert_int_equal(r, 0);
	assert_string_equal(c->state_dir, "/var/lib/coco");
	assert_string_equal(c->control_socket, "/run/coco/control.sock");
	assert_string_equal(c->listen, "127.0.0.1:8470");
	assert_false(c->listen_explicit); /* so the ingress does not start for it alone */
	assert_null(c->control_group);
	assert_int_equal(c->n_connectors, 1);
	assert_string_equal(c->connectors[0], "local");
	assert_null(c->connectors[1]);
	assert_null(config_get(c, "Mail", "From"));
	assert_null(c->secrets_dir);
	assert_null(config_get(c, "Local", "Outbox"));
	assert_null(config_get(c, "Local", "Inbox"));

	const coco_campaign *camp = config_find_campaign(c, "minimal"); /* the file name */
	assert_non_null(camp);
	assert_string_equal(camp->timezone, "UTC");
	assert_int_equal(camp->quiet_start, -1);
	assert_int_equal(camp->quiet_end, -1);
	const coco_member *m = campaign_find_member(camp, "solo");
	assert_string_equal(m->name, "solo");
	assert_string_equal(m->timezone, "UTC");
	assert_string_equal(m->emails[0], "solo@example.org"); /* lower-cased */
	assert_int_equal(m->line, 4);

	const coco_round *rate = campaign_find_round(camp, "rate");
	assert_string_equal(rate->title, "rate");
	assert_int_equal(rate->duration, 36 * 3600);
	assert_false(rate->open.set);
	assert_false(rate->close.set);
	assert_null(rate->repeat);
	assert_int_equal(rate->max_reminders, 2); /* = number of Remind= offsets */
	assert_int_equal(rate->audience, AUDIENCE_ALL);
	assert_false(rate->anonymous);
	assert_int_equal(rate->questions[0].min, 1);
	assert_int_equal(rate->questions[0].max, 5);
	assert_false(rate->questions[0].required);
	assert_null(rate->questions[0].min_label);
	assert_int_equal(rate->questions[1].min, 0);
	assert_int_equal(rate->questions[1].max, 10);
	assert_int_equal(campaign_find_round(camp, "p")->max_reminders, 0);
	assert_int_equal(campaign_find_round(camp, "p")->close.hour, 12);
	assert_int_equal(campaign_find_round(camp, "v")->votes, 3);

	assert_false(camp->digest.set);
	assert_true(camp->digest.on_close);
	assert_int_equal(camp->digest.audience, AUDIENCE_ALL);
	assert_null(camp->digest.repeat);
	config_free(c);
}

/* A campaign file over the old cap of 1 MiB (a generated list of 20,000 people is 1.3 MB;
 * here 2,000 members with a comment line each, to keep the test quick) loads; a file over
 * the cap is refused with an error that says the limit, naming the file. */
static void test_large_file(void **state)
{
	_cleanup_free_ char *dir = make_dir("[Daemon]\nConnectors=local\n");
	strbuf b = {0};
	strbuf_puts(&b, "[Campaign]\nTitle=Big\nTimeZone=UTC\n\n");
	char pad[600];
	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = 0;
	for (int i = 1; i <= 2000; i++)
		strbuf_printf(&b, "# %s\n[Member \"m%05d\"]\nSide=%s\nEmail=m%05d@client.example\n\n",
		              pad, i, i % 2 ? "provider" : "client", i);
	assert_true(b.len > 1024 * 1024);
	add_campaign(dir, "big.conf", b.s, b.len);
	strbuf_done(&b);
	char **errors = NULL;
	coco_config *c = NULL;
	assert_int_equal(config_load(dir, &c, &errors), 0);
	assert_int_equal(c->campaigns[0].n_members, 2000);
	config_free(c);
	c = NULL;

	_cleanup_free_ char *path = xasprintf("%s/campaigns.d/big.conf", dir);
	assert_int_equal(truncate(path, 16 * 1024 * 1024 + 1), 0);
	assert_true(config_load(dir, &c, &errors) < 0);
	assert_null(c);
	assert_int_equal(strv_length(errors), 1);
	_cleanup_free_ char *want = xasprintf("%s: too large: a configuration file may hold at most "
	                                      "16 MiB", path);
	assert_string_equal(errors[0], want);
	strv_free(errors);
	rm_rf(dir);
}

static void test_missing(void **state)
{
	char **errors = NULL;
	coco_config *c = NULL;
	assert_int_equal(config_load("tests/data/config/nonexistent", &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 1);
	assert_string_equal(errors[0], "tests/data/config/nonexistent/coco.conf: cannot read: "
	                               "No such file or directory");
	strv_free(errors);
	assert_null(c);

	/* An empty campaigns.d, or none, is fine. */
	_cleanup_free_ char *dir = make_dir("[Daemon]\nConnectors=local, local\n");
	assert_int_equal(config_load(dir, &c, &errors), 0);
	assert_int_equal(c->n_campaigns, 0);
	assert_int_equal(c->n_connectors, 1); /* a repeated name is harmless */
	assert_true(config_has_connector(c, "local"));
	_cleanup_free_ char *sum = config_summary(c);
	assert_string_equal(sum, "0 campaigns, 0 members, 0 rounds, 0 questions");
	config_free(c);
	rm_rf(dir);
}

/* Audiences, lists, continuation and inih's 200-byte line buffer. */
static void test_values(void **state)
{
	strbuf b = {0};
	strbuf_puts(&b, "[Campaign]\nMinGroupSize=4\nGapThreshold=1.5\nTitle=");
	for (int i = 0; i < 30; i++)
		strbuf_puts(&b, "0123456789");
	strbuf_puts(&b, " ; a comment\nDescription=");
	for (int i = 0; i < 30; i++)
		strbuf_puts(&b, "abcdefghij");
	strbuf_puts(
	    &b, "\n    second line\n\n\n  third\n"
		"[Member \"a\"]\nSide=client\nEmail=A@x.example\nEmail=b@x.example c@x.example\n"
		"[Member \"b\"]\nSide=provider\nMatrix=@b:x.example\n"
		"[Round \"r\"]\nKind=prompt\nDuration=1w2d\nAudience=b, a\n"
		"Remind=-1d -2h,-30m\nMaxReminders=1\n"
		"[Round \"n\"]\nKind=announce\nAudience=provider\n"
		"[Digest]\nRecipients=client\nOnClose=no\nStart=2027-01-01 00:00\n");
	_cleanup_free_ char *dir = make_dir("");
	add_campaign(dir, "v.conf", b.s, b.len);
	strbuf_done(&b);

	coco_config *c = NULL;
	char **errors = NULL;
	int r = config_load(dir, &c, &errors);
	print_errors(errors);
	assert_int_equal(r, 0);
	const coco_campaign *camp = &c->campaigns[0];
	assert_int_equal(strlen(camp->title), 300);
	assert_int_equal(camp->min_group_size, 4);
	assert_int_equal(camp->gap_tenths, 15);
	assert_true(strncmp(camp->description + 290, "abcdefghij\nsecond line\n\nthird", 30) == 0);
	assert_int_equal(strlen(camp->description), 300 + 1 + 11 + 2 + 5);
	const coco_member *a = campaign_find_member(camp, "a");
	assert_int_equal(a->n_emails, 3);
	assert_string_equal(a->emails[0], "a@x.example");
	assert_string_equal(a->emails[2], "c@x.example");
	const coco_round *rr = campaign_find_round(camp, "r");
	assert_int_equal(rr->duration, 9 * 86400);
	assert_int_equal(rr->audience, AUDIENCE_MEMBERS);
	assert_int_equal(rr->n_audience_members, 2);
	assert_string_equal(rr->audience_members[0], "b");
	assert_string_equal(rr->audience_members[1], "a");
	assert_int_equal(rr->n_remind, 3);
	assert_int_equal(rr->remind[2], -1800);
	assert_int_equal(rr->max_reminders, 1);
	assert_int_equal(campaign_find_round(camp, "n")->audience, AUDIENCE_PROVIDER);
	assert_int_equal(camp->digest.audience, AUDIENCE_CLIENT);
	assert_false(camp->digest.on_close);
	assert_int_equal(camp->digest.start.year, 2027);
	config_free(c);
	rm_rf(dir);
}

/* Oversize values and binary garbage give errors, not crashes. */
static void test_hostile_input(void **state)
{
	/* A 100 KB line: over the value limit. */
	size_t n = 100 * 1024;
	char *big = xmalloc(n + 64);
	int k = snprintf(big, 64, "[Campaign]\nTitle=");
	memset(big + k, 'x', n);
	memcpy(big + k + n, "\nClient=Acme\n", 14);
	_cleanup_free_ char *dir = make_dir("");
	add_campaign(dir, "big.conf", big, strlen(big));
	free(big);
	char **errors = NULL;
	coco_config *c = NULL;
	assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 1);
	_cleanup_free_ char *prefix = xasprintf("%s/campaigns.d/big.conf:2: ", dir);
	assert_true(strncmp(errors[0], prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(errors[0], "too long"));
	strv_free(errors);

	/* A long value within limits, continued past the limit. */
	strbuf b = {0};
	strbuf_puts(&b, "[Campaign]\nDescription=");
	for (int i = 0; i < 70; i++) {
		for (int j = 0; j < 100; j++)
			strbuf_puts(&b, "abcdefghij");
		strbuf_puts(&b, "\n  ");
	}
	strbuf_puts(&b, "end\n");
	add_campaign(dir, "big.conf", b.s, b.len);
	strbuf_done(&b);
	assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 1);
	assert_non_null(strstr(errors[0], "Description= is too long"));
	strv_free(errors);

	/* Pseudo-random bytes, NULs included, in both files. */
	uint32_t x = 2463534242u;
	char junk[8192];
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < sizeof junk; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Mostly INI-ish characters so the parser gets past the first line. */
			static const char alphabet[] = "[]\"=:;# \n\tabcKindSurvey/\r\x01\xff";
			junk[i] =
			    round % 2 ? (char)(x & 0xff) : alphabet[x % (sizeof alphabet - 1)];
		}
		add_campaign(dir, "big.conf", junk, sizeof junk);
		_cleanup_free_ char *conf = xasprintf("%s/coco.conf", dir);
		write_text(conf, junk + 100, sizeof junk - 100);
		assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
		assert_true(strv_length(errors) > 0);
		for (char **e = errors; *e; e++)
			assert_true(strncmp(*e, dir, strlen(dir)) == 0);
		strv_free(errors);
	}

	/* A control byte is reported at its line, and only there. */
	_cleanup_free_ char *conf = xasprintf("%s/coco.conf", dir);
	write_text(conf, "", 0);
	static const char ctl[] = "[Campaign]\nTitle=a\x01" "b\nTime\0Zone=UTC\nClient=Acme\n";
	add_campaign(dir, "big.conf", ctl, sizeof ctl - 1);
	assert_int_equal(config_load(dir, &c, &errors), -EINVAL);
	print_errors(errors);
	assert_int_equal(strv_length(errors), 2);
	_cleanup_free_ char *p2 =
	    xasprintf("%s/campaigns.d/big.conf:2: control character 0x01", dir);
	_cleanup_free_ char *p3 =
	    xasprintf("%s/campaigns.d/big.conf:3: control character 0x00", dir);
	assert_true(strncmp(errors[0], p2, strlen(p2)) == 0);
	assert_true(strncmp(errors[1], p3, strlen(p3)) == 0);
	strv_free(errors);
	rm_rf(dir);
}

/* The chat channel's own check: a value its kind allows but the channel cannot use. */
static const char *chat_check(const char *section, const char *key, const char *value)
{
	if (STREQ(section, "Chat") && STREQ(key, "Team") && STREQ(value, "everyone"))
		return "expected a team's name";
	return NULL;
}

/* A channel's own sections: the loader checks the keys the channel declares, by kind and
 * by the channel's own check, reports what a running channel needs and lacks, and keeps
 * the values for config_get(). */
static void test_channel_sections(void **state)
{
	static const config_key_def chat_keys[] = {
		{"Url", CONFIG_VALUE_URL, true, "where"},
		{"Threads", CONFIG_VALUE_BOOL, false, "whether"},
		{"Team", CONFIG_VALUE_STRING, false, "who"},
	};
	static const config_section_def chat = {"Chat", chat_keys, ELEMENTSOF(chat_keys)};
	static const config_section_def *const chat_sections[] = {&chat, NULL};
	static const config_key_def chat_camp_keys[] = {{"ChatRoom", CONFIG_VALUE_STRING, false, "room"}};
	static const config_section_def chat_camp = {"Campaign", chat_camp_keys,
	                                             ELEMENTSOF(chat_camp_keys)};
	static const config_channel_def defs[] = {{"mail", NULL, NULL, NULL},
	                                          {"chat", chat_sections, &chat_camp, chat_check}};
	config_register_channels(defs, ELEMENTSOF(defs));

	char **errors = NULL;
	coco_config *c = NULL;
	/* The default is the first channel; a section of a channel that does not run is
	 * still checked. */
	_cleanup_free_ char *d1 = make_dir("[Chat]\nUrl=https://chat.example/api\nThreads=yes\n");
	assert_int_equal(config_load(d1, &c, &errors), 0);
	assert_string_equal(c->connectors[0], "mail");
	assert_string_equal(config_get(c, "Chat", "Url"), "https://chat.example/api");
	assert_true(config_get_bool(c, "Chat", "Threads", false));
	assert_null(config_get(c, "Chat", "Team"));
	assert_false(config_get_bool(c, "Chat", "Nope", false));
	c = config_free(c);
	rm_rf(d1);

	/* A wrong Url= is one error, not also "needs Url=". */
	_cleanup_free_ char *d2 = make_dir("[Daemon]\nConnectors=mail chat\n[Chat]\n"
	                                   "Threads=maybe\nUrl=chat.example\nColour=red\n"
	                                   "Team=everyone\n");
	assert_int_equal(config_load(d2, &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 4);
	assert_non_null(strstr(errors[0], "coco.conf:4: Threads=maybe: expected yes or no"));
	assert_non_null(strstr(errors[1], "coco.conf:5: Url=chat.example: expected a URL"));
	assert_non_null(strstr(errors[2], "coco.conf:6: unknown key Colour= in [Chat]: expected "
	                                  "one of Url, Threads, Team"));
	assert_non_null(strstr(errors[3], "coco.conf:7: Team=everyone: expected a team's name"));
	strv_free(errors);
	rm_rf(d2);

	/* Without Url= at all: needed by the running chat channel. */
	_cleanup_free_ char *d2b = make_dir("[Daemon]\nConnectors=mail chat\n[Chat]\nTeam=core\n");
	assert_int_equal(config_load(d2b, &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 1);
	assert_non_null(strstr(errors[0], "coco.conf:2: Connectors=chat needs Url= in [Chat]"));
	strv_free(errors);
	rm_rf(d2b);

	_cleanup_free_ char *d3 = make_dir("[Daemon]\nConnectors=fax\n[Mail]\nFrom=a@b.example\n");
	assert_int_equal(config_load(d3, &c, &errors), -EINVAL);
	assert_int_equal(strv_length(errors), 3);
	assert_non_null(strstr(errors[0], "unknown connector \"fax\": expected one of mail, chat"));
	assert_non_null(strstr(errors[1], "Connectors= is empty"));
	assert_non_null(strstr(errors[2], "unknown section [Mail]: expected [Daemon], [Secrets], "
	                                  "[Chat]"));
	strv_free(errors);
	rm_rf(d3);

	/* A channel's key of [Campaign] (a campaign's room), kept per campaign; only there. */
	_cleanup_free_ char *d4 = make_dir("[Chat]\nUrl=https://chat.example/api\n");
	static const char p1[] = "[Campaign]\nTitle=P\nChatRoom=R1\n";
	static const char p2[] = "[Campaign]\nTitle=Q\n";
	add_campaign(d4, "p.conf", p1, sizeof p1 - 1);
	add_campaign(d4, "q.conf", p2, sizeof p2 - 1);
	assert_int_equal(config_load(d4, &c, &errors), 0);
	assert_string_equal(config_campaign_get(config_find_campaign(c, "p"), "ChatRoom"), "R1");
	assert_string_equal(config_find_campaign(c, "p")->title, "P");
	assert_null(config_campaign_get(config_find_campaign(c, "q"), "ChatRoom"));
	assert_null(config_campaign_get(config_find_campaign(c, "p"), "Title"));
	c = config_free(c);
	rm_rf(d4);
	_cleanup_free_ char *d5 = make_dir("[Chat]\nUrl=https://chat.example/api\n[Campaign]\nChatRoom=R\n");
	static const char p3[] = "[Campaign]\nChatRom=R1\n";
	add_campaign(d5, "p.conf", p3, sizeof p3 - 1);
	assert_int_equal(config_load(d5, &c, &errors), -EINVAL);
	print_errors(errors);
	assert_int_equal(strv_length(errors), 2);
	assert_non_null(strstr(errors[0], "coco.conf:3: unknown section [Campaign]"));
	assert_non_null(strstr(errors[1], "p.conf:2: unknown key ChatRom= in [Campaign]"));
	strv_free(errors);
	rm_rf(d5);
	channels_register_config();
}

/* Every key of the tables in engine/config*.c, and every key of the channels' sections,
 * appears in docs/config.md as `Key=`. */
static void test_docs(void **state)
{
	_cleanup_free_ char *doc = slurp("docs/config.md");
	for (const channel_ops *const *ch = channel_list(); *ch; ch++) {
		const config_section_def *ck = (*ch)->campaign_keys;
		for (size_t k = 0; ck && k < ck->n_keys; k++) {
			_cleanup_free_ char *want = xasprintf("`%s=`", ck->keys[k].name);
			if (!strstr(doc, want)) {
				print_message("channel %s: docs/config.md does not mention %s\n",
				              (*ch)->name, want);
				fail();
			}
		}
		for (const config_section_def *const *s = (*ch)->sections; s && *s; s++)
			for (size_t k = 0; k < (*s)->n_keys; k++) {
				_cleanup_free_ char *want = xasprintf("`%s=`", (*s)->keys[k].name);
				if (!strstr(doc, want)) {
					print_message("channel %s: docs/config.md does not mention %s\n",
					              (*ch)->name, want);
					fail();
				}
			}
	}
	glob_t g;
	assert_int_equal(glob("engine/config*.c", 0, NULL, &g), 0);
	size_t n = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		_cleanup_free_ char *src = slurp(g.gl_pathv[i]);
		for (const char *p = src; (p = strstr(p, "\tKEY(\"")); p++) {
			const char *name = p + 6, *end = strchr(name, '"');
			assert_non_null(end);
			_cleanup_free_ char *want = xasprintf("`%.*s=`", (int)(end - name), name);
			if (!strstr(doc, want)) {
				print_message("%s: docs/config.md does not mention %s\n",
					      g.gl_pathv[i], want);
				fail();
			}
			n++;
		}
	}
	globfree(&g);
	assert_true(n >= 40);
}

static void test_enum_strings(void **state)
{
	assert_string_equal(side_to_string(SIDE_CLIENT), "client");
	assert_int_equal(side_from_string("provider"), SIDE_PROVIDER);
	assert_int_equal(side_from_string("Provider"), _SIDE_INVALID);
	assert_int_equal(side_from_string(NULL), _SIDE_INVALID);
	assert_null(side_to_string(_SIDE_MAX));
	assert_null(side_to_string(_SIDE_INVALID));
	for (int k = 0; k < _ROUND_KIND_MAX; k++)
		assert_int_equal(round_kind_from_string(round_kind_to_string(k)), k);
	assert_string_equal(round_kind_to_string(ROUND_ANNOUNCE), "announce");
	assert_int_equal(round_kind_from_string("poll"), _ROUND_KIND_INVALID);
	for (int k = 0; k < _QUESTION_KIND_MAX; k++)
		assert_int_equal(question_kind_from_string(question_kind_to_string(k)), k);
	assert_string_equal(question_kind_to_string(QUESTION_NPS), "nps");
	assert_int_equal(question_kind_from_string(""), _QUESTION_KIND_INVALID);
	assert_null(question_kind_to_string(_QUESTION_KIND_MAX));
}

int main(void)
{
	channels_register_config();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_bad_campaigns),
		cmocka_unit_test(test_bad_main),
		cmocka_unit_test(test_channel_sections),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_duplicate_campaign),
		cmocka_unit_test(test_three_errors),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_docs),
		cmocka_unit_test(test_enum_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
