/* What the admin reads in the log about a private message (the confirmation of an answer to
 * an anonymous round): never who it was for. Next to the line saying an anonymous answer
 * was recorded, a line naming the member (or their address) would say whose it is.
 *   - a bounce of that confirmation, come back as a DSN, names neither the member nor the
 *     address (a bounce of an ordinary invitation still does);
 *   - a channel's error about it ("550 <ann@…>: unknown user") is logged without them.
 * The log is cocod's stderr, captured here. Runs the real core, store, spool and local
 * channel (tests/sim.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define JUN1 INT64_C(1780272000) /* 2026-06-01 00:00Z */
#define HOUR 3600

static const char conf[] =
	"[Campaign]\nId=t\nTitle=Trust\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"
	"Provider=Provider Co\n"
	"[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"
	"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"s/q\"]\nKind=scale\nText=Rate it\n"
	"[Round \"anon\"]\nKind=survey\nTitle=Anon\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"Anonymous=yes\n"
	"[Question \"anon/q\"]\nKind=scale\nText=Rate it quietly\n";

/* ---- the log: stderr into a file while a test runs ---- */

static int saved_stderr = -1;
static char log_path[64];

static void log_capture_start(void)
{
	snprintf(log_path, sizeof log_path, "/tmp/coco-privlog.XXXXXX");
	int fd = mkstemp(log_path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* What was logged since log_capture_start() (the caller frees it). */
static char *log_capture_stop(void)
{
	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	FILE *f = fopen(log_path, "re");
	assert_non_null(f);
	strbuf b = {0};
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		strbuf_add(&b, buf, n);
	fclose(f);
	unlink(log_path);
	char *text = strbuf_steal(&b);
	fputs(text, stderr); /* still shown with the test's output */
	return text;
}

/* The lines of text containing `needle`, joined (the caller frees). */
static char *lines_with(const char *text, const char *needle)
{
	strbuf b = {0};
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		_cleanup_free_ char *line = xstrndup(p, n);
		if (strstr(line, needle))
			strbuf_printf(&b, "%s\n", line);
		p += n + (e ? 1 : 0);
	}
	return strbuf_steal(&b);
}

/* ---- the mails ---- */

/* The spool entry (sent) of `kind` to `member` in `round`, or with member NULL the private
 * stub of that kind (a private message keeps only its id and kind once sent). */
static cJSON *sent_entry(sim *s, const char *kind, const char *round, const char *member,
                         char **ret_id)
{
	char **ids = NULL;
	cJSON *found = NULL;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !found; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = NULL;
		assert_int_equal(store_read(s->st, path, 1 << 22, &data, NULL), 0);
		cJSON *m = cJSON_Parse(data);
		const cJSON *k = cJSON_GetObjectItem(m, "kind");
		const cJSON *r = cJSON_GetObjectItem(m, "round");
		const cJSON *mb = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member");
		bool match = cJSON_IsString(k) && STREQ(k->valuestring, kind) &&
		             (member ? cJSON_IsString(mb) && STREQ(mb->valuestring, member) &&
		                               cJSON_IsString(r) && STREQ(r->valuestring, round)
		                     : cJSON_IsTrue(cJSON_GetObjectItem(m, "private")));
		if (match) {
			found = m;
			*ret_id = xstrdup(cJSON_GetObjectItem(m, "id")->valuestring);
		} else
			cJSON_Delete(m);
	}
	strv_free(ids);
	assert_non_null(found);
	return found;
}

static void test_bounce_of_a_private_confirmation_names_no_one(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	/* Ann answers the anonymous round by mail; her confirmation goes out. */
	answer(&s, "ann", "anon", NULL, "1: 2");
	const char *from = config_get(s.cfg, "Mail", "From");
	_cleanup_free_ char *prompt_id = NULL, *conf_id = NULL;
	cJSON *prompt = sent_entry(&s, "prompt", "anon", "ann", &prompt_id);
	cJSON *stub = sent_entry(&s, "confirmation", "anon", NULL, &conf_id);
	/* A reply to the invitation carries the round's tag, as the confirmation does. */
	const char *ref = cJSON_GetObjectItem(prompt, "conversation")->valuestring;
	_cleanup_free_ char *conf_msgid = email_message_id(from, conf_id, ref);
	_cleanup_free_ char *prompt_msgid = email_message_id(from, prompt_id, ref);
	cJSON_Delete(prompt);
	cJSON_Delete(stub);

	/* Ann's mailbox is full by now: the confirmation bounces. */
	log_capture_start();
	deliver_dsn(&s, 1, "ann@client.example", conf_msgid, "5.2.2", "552 5.2.2", "mailbox full");
	_cleanup_free_ char *log = log_capture_stop();
	_cleanup_free_ char *bounced = lines_with(log, "bounced");
	expect_in(bounced, "t: a private message");
	expect_in(bounced, "see cococtl status");
	expect_not_in(log, "ann");
	expect_not_in(log, "Ann");
	/* The address is still marked failing, for `cococtl status`. */
	cJSON *f = core_failing_addresses(s.core);
	assert_int_equal(cJSON_GetArraySize(f), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "member")->valuestring,
	                    "ann");
	cJSON_Delete(f);

	/* The invitation of the same round is no private message: its bounce names her. */
	log_capture_start();
	deliver_dsn(&s, 2, "ann@client.example", prompt_msgid, "5.2.2", "552 5.2.2", "mailbox full");
	_cleanup_free_ char *log2 = log_capture_stop();
	expect_in(log2, "mail to member ann at ann@client.example bounced (5.2.2");
	sim_finish(&s);
}

/* After a restart the conversation index (conversations.jsonl) still knows which message
 * was private, and which was not. */
static void test_bounce_after_restart(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "bob", "anon", NULL, "1: 5");
	_cleanup_free_ char *prompt_id = NULL, *conf_id = NULL;
	cJSON *prompt = sent_entry(&s, "prompt", "anon", "bob", &prompt_id);
	cJSON *stub = sent_entry(&s, "confirmation", "anon", NULL, &conf_id);
	const char *ref = cJSON_GetObjectItem(prompt, "conversation")->valuestring;
	_cleanup_free_ char *conf_msgid =
		email_message_id(config_get(s.cfg, "Mail", "From"), conf_id, ref);
	_cleanup_free_ char *prompt_msgid =
		email_message_id(config_get(s.cfg, "Mail", "From"), prompt_id, ref);
	cJSON_Delete(prompt);
	cJSON_Delete(stub);
	sim_down(&s);
	sim_up(&s);
	log_capture_start();
	deliver_dsn(&s, 1, "bob@client.example", conf_msgid, "5.2.2", "552 5.2.2", "mailbox full");
	_cleanup_free_ char *log = log_capture_stop();
	expect_in(log, "t: a private message");
	expect_not_in(log, "bob");
	/* and which was not: the round's invitation to him. */
	log_capture_start();
	deliver_dsn(&s, 2, "bob@client.example", prompt_msgid, "5.2.2", "552 5.2.2", "mailbox full");
	_cleanup_free_ char *log2 = log_capture_stop();
	expect_in(log2, "mail to member bob at bob@client.example bounced");
	sim_finish(&s);
}

/* ---- a channel that refuses every message, quoting its recipient as servers do ---- */

struct channel {
	int unused;
};

static int quoting_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	_cleanup_free_ char *why = xasprintf("550 5.1.1 <%s>: unknown user %s (%s)", m->address,
	                                     m->member, m->name);
	done(SEND_FAIL, why, NULL, userdata);
	return 0;
}

static const channel_ops quoting_ops = {.name = "quoting", .send = quoting_send};

static void queue_one(spool *sp, const char *id, bool private_msg)
{
	channel_msg m = {.id = (char *)id, .kind = (char *)"confirmation", .campaign = (char *)"t",
	                 .round = (char *)"anon", .member = (char *)"ann",
	                 .name = (char *)"Ann Client", .address = (char *)"ann@client.example",
	                 .subject = (char *)"Re: [Trust] Anon", .markdown = (char *)"Thanks",
	                 .private_msg = private_msg};
	cJSON *o = NULL;
	assert_int_equal(channel_msg_to_json(&m, &o), 0);
	assert_true(spool_enqueue(sp, "quoting", o, NULL) >= 0);
	cJSON_Delete(o);
}

static void test_failure_of_a_private_message_names_no_one(void **state)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/tmp/coco-privlog.XXXXXX");
	assert_non_null(mkdtemp(dir));
	store *st = NULL;
	spool *sp = NULL;
	channel ch = {0};
	clock_set_test(JUN1);
	assert_int_equal(store_open(dir, &st), 0);
	assert_int_equal(spool_new(st, &sp), 0);
	assert_int_equal(spool_attach(sp, &quoting_ops, &ch), 0);
	queue_one(sp, "private1", true);
	log_capture_start();
	(void)spool_run(sp);
	_cleanup_free_ char *log = log_capture_stop();
	expect_in(log, "spool: quoting/private1 (confirmation, private) failed: 550 5.1.1 "
	               "<(private)>: unknown user (private) ((private))");
	expect_not_in(log, "ann");
	expect_not_in(log, "Ann");

	/* An ordinary message's failure keeps the server's words whole. */
	queue_one(sp, "plain1", false);
	log_capture_start();
	(void)spool_run(sp);
	_cleanup_free_ char *log2 = log_capture_stop();
	expect_in(log2, "spool: quoting/plain1 (confirmation to ann) failed: 550 5.1.1 "
	                "<ann@client.example>: unknown user ann (Ann Client)");
	spool_free(sp);
	store_free(st);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	clock_set_real();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce_of_a_private_confirmation_names_no_one),
		cmocka_unit_test(test_bounce_after_restart),
		cmocka_unit_test(test_failure_of_a_private_message_names_no_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
