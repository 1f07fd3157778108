/* `cococtl forget` from the user's side: a member who answered named and anonymous rounds,
 * proposed an idea, commented on a digest, was quoted in round and periodic digests, has
 * mail in the outbox and the inbox and one rejected mail. After `forget`, nothing under the
 * state directory (outbox and inbox included) holds their name, addresses or the words they
 * wrote; the others' answers, comments and figures are still there. Runs the real core,
 * store, spool and local connector on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

static const char conf[] =
	"[Campaign]\nId=f\nTitle=Forget\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"
	"Provider=Provider Co\n"
	"[Member \"aino\"]\nName=Aino Virtanen\nSide=client\n"
	"Email=aino@client.example aino.v@home.example\n"
	"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"
	"[Member \"pia\"]\nName=Pia Provider\nSide=provider\nEmail=pia@provider.example\n"
	"[Round \"kick\"]\nKind=survey\nTitle=Kickoff\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Question \"kick/q1\"]\nKind=scale\nText=How clear is the plan?\n"
	"[Question \"kick/q2\"]\nKind=text\nText=What worries you?\n"
	"[Round \"anon\"]\nKind=survey\nTitle=Candid\nAnonymous=yes\nOpen=2026-06-01 09:00\n"
	"Duration=2d\n"
	"[Question \"anon/q1\"]\nKind=scale\nText=Mood\n"
	"[Question \"anon/q2\"]\nKind=text\nText=Say it plainly\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n"
	"[Round \"later\"]\nKind=prompt\nTitle=Later\nOpen=2026-06-04 09:00\nDuration=1d\n";

/* What only Aino wrote or is. */
static const char *const aino_traces[] = {
	"Aino", "Virtanen", "aino@client.example", "aino.v@home.example",
	"Zanzibar", "Quokka", "Marzipan", "Periwinkle", "Xylophone",
};

static int forget_hook(const char *const *addresses, const char *const *phrases,
                       size_t *ret_erased, void *userdata)
{
	sim *s = userdata;
	return channelset_forget(addresses, phrases, ret_erased, s->chans);
}

static cJSON *command(sim *s, const char *cmd, const char *key, const char *value)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	char *err = NULL;
	cJSON_AddStringToObject(req, "cmd", cmd);
	if (key)
		cJSON_AddStringToObject(req, key, value);
	int r = core_control(s->core, req, &reply, &err);
	cJSON_Delete(req);
	if (r < 0)
		fail_msg("%s %s: %s", cmd, value ? value : "", err ? err : "?");
	free(err);
	settle(s);
	return reply;
}

static char *read_state(sim *s, const char *rel)
{
	char *data = NULL;
	assert_int_equal(store_read(s->st, rel, 1 << 22, &data, NULL), 0);
	return data;
}

/* grep -r over the whole state directory: which files hold the word. */
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

static size_t count_spool_with(sim *s, const char *member, const char *kind, const char *word)
{
	char **ids = NULL;
	size_t n = 0;
	if (store_list(s->st, "spool/local/cur", &ids) < 0)
		return 0;
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_state(s, path);
		cJSON *m = cJSON_Parse(data);
		const cJSON *to = cJSON_GetObjectItem(m, "to");
		const cJSON *k = cJSON_GetObjectItem(m, "kind");
		const cJSON *md = cJSON_GetObjectItem(m, "markdown");
		if (to && cJSON_IsString(cJSON_GetObjectItem(to, "member")) &&
		    STREQ(cJSON_GetObjectItem(to, "member")->valuestring, member) &&
		    cJSON_IsString(k) && STREQ(k->valuestring, kind) && cJSON_IsString(md) &&
		    strstr(md->valuestring, word))
			n++;
		cJSON_Delete(m);
	}
	strv_free(ids);
	return n;
}

static void test_forget_leaves_nothing_of_the_member(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	core_set_forget_hook(s.core, forget_hook, &s);

	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "aino", "kick", NULL, "1: 5\n2: Zanzibar turnip logistics keep me awake");
	answer(&s, "bob", "kick", NULL, "1: 4\n2: Bob likes spreadsheets");
	answer(&s, "pia", "kick", NULL, "1: 2\n2: Pia wants clarity");
	answer(&s, "aino", "anon", NULL, "1: 5\n2: Quokka telemetry dashboards");
	answer(&s, "bob", "anon", NULL, "1: 3\n2: Bob anonymous thought");
	answer(&s, "aino", "ideas", NULL, "idea: Marzipan routing engine");
	answer(&s, "bob", "ideas", NULL, "idea: Offline mode for drivers");
	/* From her alias, without a reply tag: rejected, kept in rejected/messages.jsonl. */
	deliver_mail(&s, "From: Aino Virtanen <aino.v@home.example>\r\nTo: coco@provider.example\r\n"
	                 "Subject: Xylophone question\r\nMessage-ID: <untagged1@home.example>\r\n"
	                 "\r\nXylophone lessons are on Tuesdays.\r\n");
	assert_true(store_has(&s, "rejected/messages.jsonl"));

	/* The rounds close, their digests go out; then comments on a digest, shown in the
	 * next one (later's); then a periodic digest over everything. */
	run_until(&s, JUN1 + 2 * DAY + 12 * HOUR, NULL, NULL);
	reply_to_message(&s, "digest", "aino", "digest", NULL, "Periwinkle feedback loop, please");
	reply_to_message(&s, "digest", "bob", "digest", NULL, "Great summary, thanks");
	/* Others' comments naming or quoting her (trial 4): one all about her, one in part. */
	reply_to_message(&s, "digest", "pia", "digest", NULL,
	                 "The Marzipan routing engine should come first");
	reply_to_message(&s, "digest", "pia", "digest", NULL,
	                 "Agree with the plan.\n+1 to Aino Virtanen on this");
	run_until(&s, JUN1 + 3 * DAY + 10 * HOUR, NULL, NULL);
	/* Bob's reply quotes the ideas digest, her idea in it (kept as `trimmed`). */
	answer(&s, "bob", "later", NULL,
	       "idea: Weekly status call\n\nOn Wed, 3 Jun 2026 at 09:00, coco <coco@provider.example>"
	       " wrote:\n> Results: Ideas\n> - Marzipan routing engine\n> - Offline mode for drivers");
	run_until(&s, JUN1 + 4 * DAY + 12 * HOUR, NULL, NULL);
	cJSON_Delete(command(&s, "digest", "campaign", "f"));

	/* Before: she is everywhere. */
	_cleanup_free_ char *kick_before = read_state(&s, "campaigns/f/digests/kick-once.md");
	expect_in(kick_before, "Zanzibar");
	expect_in(kick_before, "Answered by 3");
	_cleanup_free_ char *later_before = read_state(&s, "campaigns/f/digests/later-once.md");
	expect_in(later_before, "Periwinkle");
	expect_in(later_before, "Great summary, thanks");
	for (size_t i = 0; i < ELEMENTSOF(aino_traces); i++) {
		_cleanup_free_ char *f = files_holding(&s, aino_traces[i]);
		if (!*f)
			fail_msg("the test is meant to find \"%s\" before forget", aino_traces[i]);
	}

	/* Her pseudonym (that of her anonymous answers) is in the closed rounds' lists of whom
	 * they asked. */
	char anon_pseudo[SECRET_PSEUDO_LEN + 1];
	secret_pseudonym(&s.key, "f", "aino", anon_pseudo);
	_cleanup_free_ char *asked = files_holding(&s, anon_pseudo);
	expect_in(asked, "campaigns/f/rounds/kick/once/audience");

	/* One message to her still queued (the connector is away). */
	spool_detach(s.sp, "local");
	cJSON *q = cJSON_Parse("{\"id\":\"reply-queued\",\"kind\":\"reply\",\"campaign\":\"f\","
	                       "\"to\":{\"member\":\"aino\",\"email\":\"aino@client.example\"},"
	                       "\"subject\":\"Re: Zanzibar\",\"markdown\":\"Hello Aino\"}");
	assert_int_equal(spool_enqueue(s.sp, "local", q, NULL), SPOOL_QUEUED);
	cJSON_Delete(q);

	_cleanup_free_ char *later_answers = read_state(&s, "campaigns/f/rounds/later/once/answers.jsonl");
	expect_in(later_answers, "Marzipan routing engine");

	cJSON *o = command(&s, "forget", "member", "aino");
	assert_non_null(o);
	int64_t n;
	assert_int_equal(json_get_int64(o, "quotes", &n), 0);
	assert_int_equal(n, 3); /* Bob's kept quote, Pia's two comments */
	assert_int_equal(json_get_int64(o, "answers", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(json_get_int64(o, "comments", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(json_get_int64(o, "rejected", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(json_get_int64(o, "digests", &n), 0);
	assert_true(n >= 5); /* kick, anon, ideas, later, the periodic one */
	assert_int_equal(json_get_int64(o, "spool_erased", &n), 0);
	assert_true(n > 0);
	assert_int_equal(json_get_int64(o, "spool_scrubbed", &n), 0);
	assert_true(n > 0);
	assert_int_equal(json_get_int64(o, "mail", &n), 0);
	assert_true(n > 0);
	assert_int_equal(json_get_int64(o, "audiences", &n), 0);
	assert_int_equal(n, 4); /* kick, anon, ideas and later closed while she was a member */
	cJSON_Delete(o);
	store_commit(s.st);
	spool_counters sc;
	spool_stats(s.sp, &sc);
	assert_int_equal(sc.queued, 0);
	assert_true(store_has(&s, "spool/local/failed/reply-queued.json"));
	/* The channel restarted: the spool rescans its queue. */
	s.chans = channelset_free(s.chans);
	assert_int_equal(channelset_new(s.loop, s.st, s.sp, s.core, NULL, &s.chans), 0);
	assert_int_equal(channelset_apply(s.chans, s.cfg, s.state), 0);
	settle(&s);
	spool_stats(s.sp, &sc);
	assert_int_equal(sc.queued, 0);

	/* After: nothing, anywhere under the state directory. */
	for (size_t i = 0; i < ELEMENTSOF(aino_traces); i++) {
		_cleanup_free_ char *f = files_holding(&s, aino_traces[i]);
		if (*f)
			fail_msg("\"%s\" is still in:\n%s", aino_traces[i], f);
	}

	/* Pia's comments: the one about her gone, the other without its line about her. */
	_cleanup_free_ char *comments = read_state(&s, "campaigns/f/comments.jsonl");
	expect_in(comments, "Agree with the plan.");
	expect_in(comments, "Great summary, thanks");

	/* The others are intact: their words, their figures, their comment. */
	_cleanup_free_ char *kick = read_state(&s, "campaigns/f/digests/kick-once.md");
	expect_in(kick, "Bob likes spreadsheets");
	expect_in(kick, "Pia wants clarity");
	expect_in(kick, "Answered by 2 · median **3** · mean 3.0");
	expect_in(kick, "Client Co 1 of 1, Provider Co 1 of 1");
	_cleanup_free_ char *anon = read_state(&s, "campaigns/f/digests/anon-once.md");
	expect_in(anon, "Bob anonymous thought");
	expect_in(anon, "Answered by 1");
	_cleanup_free_ char *ideas = read_state(&s, "campaigns/f/digests/ideas-once.md");
	expect_in(ideas, "Offline mode for drivers");
	_cleanup_free_ char *later = read_state(&s, "campaigns/f/digests/later-once.md");
	expect_in(later, "Great summary, thanks");
	expect_in(later, "Weekly status call");
	expect_not_in(later, "Periwinkle");
	_cleanup_free_ char *html = read_state(&s, "campaigns/f/digests/kick-once.html");
	expect_in(html, "Bob likes spreadsheets");
	/* Both digests keep their mail layout (templates/digest.html: bars as table cells),
	 * not a plain rendering of the Markdown (trial 3). */
	expect_in(html, "bgcolor=");
	_cleanup_free_ char *phtml = read_state(&s, "campaigns/f/digests/periodic-2026-06-05.html");
	expect_in(phtml, "bgcolor=");
	expect_in(phtml, "Bob likes spreadsheets");
	/* Bob's quote lost her idea, kept his own. */
	_cleanup_free_ char *later_after = read_state(&s, "campaigns/f/rounds/later/once/answers.jsonl");
	expect_in(later_after, "Offline mode for drivers");
	expect_in(later_after, "Weekly status call");
	/* Her pseudonym has left the audiences (her tombstones keep it, so that a digest
	 * computed later leaves her out), and the audit line's is another. */
	_cleanup_free_ char *asked_after = files_holding(&s, anon_pseudo);
	expect_not_in(asked_after, "/audience");
	expect_in(asked_after, "answers.jsonl");
	_cleanup_free_ char *audit = read_state(&s, "audit.jsonl");
	expect_in(audit, "\"forget\"");
	expect_not_in(audit, anon_pseudo);
	/* The copy of the digest sent to Bob now says what the file says. */
	assert_true(count_spool_with(&s, "bob", "digest", "Answered by 2 · median **3**") >= 1);
	/* The periodic digest cannot be computed again (what it covered is not kept): it lost
	 * her lines, its figures stay as sent. */
	_cleanup_free_ char *periodic = files_holding(&s, "Bob likes spreadsheets");
	expect_in(periodic, "campaigns/f/digests/periodic-2026-06-05.md");
	/* Mail to the others stays in the outbox. */
	_cleanup_free_ char *bobmail = files_holding(&s, "bob@client.example");
	expect_in(bobmail, "local/outbox/new/");

	/* Export: Bob and Pia only. */
	o = command(&s, "export", "campaign", "f");
	const char *csv = cJSON_GetObjectItem(o, "data")->valuestring;
	expect_in(csv, "Bob likes spreadsheets");
	expect_in(csv, "Pia wants clarity");
	expect_not_in(csv, "aino");
	cJSON_Delete(o);

	/* A tombstone keeps a message from being queued again, and the queue from sending it. */
	char **ids = NULL;
	size_t tombs = 0;
	assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_state(&s, path);
		cJSON *m = cJSON_Parse(data);
		if (cJSON_IsTrue(cJSON_GetObjectItem(m, "erased"))) {
			tombs++;
			assert_null(cJSON_GetObjectItem(m, "to"));
			assert_null(cJSON_GetObjectItem(m, "markdown"));
			cJSON *again = cJSON_CreateObject();
			cJSON_AddStringToObject(again, "id", cJSON_GetObjectItem(m, "id")->valuestring);
			assert_int_equal(spool_enqueue(s.sp, "local", again, NULL), SPOOL_DUPLICATE);
			cJSON_Delete(again);
		}
		cJSON_Delete(m);
	}
	strv_free(ids);
	assert_true(tombs > 0);

	/* Forgetting again finds nothing more. */
	o = command(&s, "forget", "member", "aino");
	assert_int_equal(json_get_int64(o, "answers", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(json_get_int64(o, "mail", &n), 0);
	assert_int_equal(n, 0);
	cJSON_Delete(o);
	sim_finish(&s);
}

/* An idea two or three members proposed is shown once with all their names ("Aino Virtanen
 * and Bob Client"). Forgetting one of them takes their name out of that list, in the round's
 * digest and in the periodic digest alike: the idea and the others' names stay. */
static void test_forget_keeps_the_others_in_a_shared_line(void **state)
{
	static const char shared_conf[] =
		"[Campaign]\nId=f\nTitle=Forget\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"
		"Provider=Provider Co\n"
		"[Member \"aino\"]\nName=Aino Virtanen\nSide=client\nEmail=aino@client.example\n"
		"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"
		"[Member \"pia\"]\nName=Pia Provider\nSide=provider\nEmail=pia@provider.example\n"
		"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\nDuration=2d\n";
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, shared_conf);
	core_set_forget_hook(s.core, forget_hook, &s);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "aino", "ideas", NULL,
	       "idea: A shared glossary of terms\nidea: Weekly demo on Fridays\n"
	       "idea: Marzipan routing engine");
	answer(&s, "bob", "ideas", NULL,
	       "idea: A shared glossary of terms\nidea: Weekly demo on Fridays");
	answer(&s, "pia", "ideas", NULL, "idea: Weekly demo on Fridays\nidea: Pia's own idea");
	run_until(&s, JUN1 + 2 * DAY + 12 * HOUR, NULL, NULL);
	cJSON_Delete(command(&s, "digest", "campaign", "f"));
	char **names = NULL;
	assert_int_equal(store_list(s.st, "campaigns/f/digests", &names), 0);
	_cleanup_free_ char *periodic_path = NULL;
	for (char **n = names; *n; n++)
		if (strncmp(*n, "periodic-", 9) == 0 && strstr(*n, ".md"))
			periodic_path = xasprintf("campaigns/f/digests/%s", *n);
	strv_free(names);
	assert_non_null(periodic_path);
	_cleanup_free_ char *before = read_state(&s, periodic_path);
	expect_in(before, "A shared glossary of terms” (_Aino Virtanen and Bob Client_)");
	expect_in(before, "Weekly demo on Fridays” (_Aino Virtanen, Bob Client and Pia Provider_)");

	cJSON_Delete(command(&s, "forget", "member", "aino"));

	static const char *const paths[] = {"campaigns/f/digests/ideas-once.md", NULL};
	for (size_t i = 0; i < 2; i++) {
		const char *path = i == 0 ? paths[0] : periodic_path;
		_cleanup_free_ char *md = read_state(&s, path);
		expect_in(md, "A shared glossary of terms” (_Bob Client_)");
		expect_in(md, "Weekly demo on Fridays” (_Bob Client and Pia Provider_)");
		expect_in(md, "Pia's own idea” (_Pia Provider_)");
		expect_not_in(md, "Aino");
		expect_not_in(md, "Marzipan");
	}
	/* The copies of the periodic digest queued to the others say the same. */
	assert_true(count_spool_with(&s, "bob", "digest", "(_Bob Client and Pia Provider_)") >= 1);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forget_leaves_nothing_of_the_member),
		cmocka_unit_test(test_forget_keeps_the_others_in_a_shared_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
