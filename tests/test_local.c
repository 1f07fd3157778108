/* Tests for the local (maildir) connector on a real sd-event loop in temporary directories:
 * send() writes a parseable RFC 5322 file into outbox/new with the right headers; a mail
 * dropped into inbox/new (tmp/ then rename) reaches on_inbound through inotify, read where it
 * is while inbox/coco-reading names it; done(>= 0) moves it to cur/<name>:2,S, done(< 0)
 * leaves it in new/ (offered again by the connector's retry timer or poll(), never twice
 * while pending); malformed, oversize, too deeply nested and
 * non-regular files go to failed/ with a line in failed.log; a mail whose reading killed
 * the process is read once more, and quarantined if it kills it again; one the core held
 * when the process died is replayed; an inbox left by an older cocod (claims in cur/) is
 * recovered; an odd coco-reading is ignored; the automatic flag, the
 * sha256 key, the initial scan, stale files in tmp/ swept at start, and connector_find(). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include <cmocka.h>

#include "clock.h"
#include "channel.h"
#include "channels.h"
#include "local.h"
#include "email/mime.h"
#include "util.h"

/* ---- a fake core ---- */

typedef struct fake_core {
	unsigned calls;
	int immediate; /* 1: call done(immediate_result) inside on_inbound */
	int immediate_result;
	inbound_done_fn done;
	void *done_ud;
	char *key, *from, *subject, *text, *conversation, *thread, *remote_id, *via;
	bool automatic;
} fake_core;

typedef void (*test_inbound_fn)(void *core, const inbound_msg *m, inbound_done_fn done,
                                void *ud);

/* The host side a test gives the channel: its inbound messages go to fn(core, …). */
typedef struct test_host {
	channel_host host; /* first */
	test_inbound_fn fn;
	void *core;
} test_host;

static void host_receive(const channel_host *h, const inbound_msg *m, inbound_done_fn done,
                         void *ud)
{
	const test_host *t = (const test_host *)h;
	t->fn(t->core, m, done, ud);
}

/* The result the core would give: >= 0 done, < 0 retry later. */
static void answer(inbound_done_fn done, void *ud, int result)
{
	inbound_result res = {.status = result >= 0 ? INBOUND_DONE : INBOUND_RETRY,
	                      .error = result < 0 ? result : 0};
	done(&res, ud);
}

static void core_reset_copies(fake_core *k)
{
	free(k->key);
	free(k->from);
	free(k->subject);
	free(k->text);
	free(k->conversation);
	free(k->thread);
	free(k->remote_id);
	free(k->via);
	k->key = k->from = k->subject = k->text = k->via = NULL;
	k->conversation = k->thread = k->remote_id = NULL;
}

static void on_inbound(void *core, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	fake_core *k = core;

	k->calls++;
	core_reset_copies(k);
	k->key = xstrdup(m->key);
	k->via = xstrdup(m->channel);
	k->from = xstrdup(m->from);
	k->subject = xstrdup(m->subject);
	k->text = xstrdup(m->text);
	k->conversation = m->conversation ? xstrdup(m->conversation) : NULL;
	k->thread = m->thread ? xstrdup(m->thread) : NULL;
	k->remote_id = m->remote_id ? xstrdup(m->remote_id) : NULL;
	k->automatic = m->automatic;
	if (k->immediate) {
		answer(done, ud, k->immediate_result);
		return;
	}
	assert_null(k->done); /* one at a time in these tests */
	k->done = done;
	k->done_ud = ud;
}

static void core_finish(fake_core *k, int result)
{
	inbound_done_fn done = k->done;
	assert_non_null(done);
	k->done = NULL;
	answer(done, k->done_ud, result);
}

/* ---- fixture ---- */

typedef struct fixture {
	char dir[64];
	char *outbox, *inbox;
	coco_config cfg;
	coco_setting settings[4]; /* [Mail] From, Name; [Local] Outbox, Inbox */
	test_host host;
	sd_event *loop;
	channel *c;
	fake_core core;
} fixture;

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/coco-local.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->outbox = xasprintf("%s/out", f->dir);
	f->inbox = xasprintf("%s/in/box", f->dir); /* parents are created too */
	f->settings[0] = (coco_setting){"Mail", "From", "coco@team.example", 1};
	f->settings[1] = (coco_setting){"Mail", "Name", "Coco Rounds", 2};
	f->settings[2] = (coco_setting){"Local", "Outbox", f->outbox, 3};
	f->settings[3] = (coco_setting){"Local", "Inbox", f->inbox, 4};
	f->cfg.settings = f->settings;
	f->cfg.n_settings = 4;
	f->cfg.state_dir = f->dir;
	assert_int_equal(sd_event_new(&f->loop), 0);
	clock_set_test(1796630400);
	*state = f;
	return 0;
}

static void host_init(test_host *t, fixture *f, sd_event *loop, test_inbound_fn fn, void *core)
{
	*t = (test_host){
		.host = {.loop = loop, .cfg = &f->cfg, .name = "local", .state_dir = f->dir,
		         .receive = host_receive},
		.fn = fn,
		.core = core,
	};
}

static void start(fixture *f)
{
	host_init(&f->host, f, f->loop, on_inbound, &f->core);
	assert_int_equal(local_channel.start(&f->host.host, &f->c), 0);
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->c)
		local_channel.stop(f->c);
	if (f->core.done)
		core_finish(&f->core, -EIO); /* after stop: must only free */
	core_reset_copies(&f->core);
	sd_event_unref(f->loop);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f->outbox);
	free(f->inbox);
	free(f);
	clock_set_real();
	return 0;
}

/* Runs the loop until the core was called `calls` times or ~2 s passed. */
static void run_until(fixture *f, unsigned calls)
{
	for (int i = 0; i < 40 && f->core.calls < calls; i++)
		assert_true(sd_event_run(f->loop, 50 * 1000) >= 0);
}

static void run_idle(fixture *f)
{
	for (int i = 0; i < 4; i++)
		assert_true(sd_event_run(f->loop, 20 * 1000) >= 0);
}

/* Names in DIR (not . and ..), sorted; count returned. */
static size_t list_dir(const char *dir, char ***ret)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			strv_push(&v, xstrdup(de->d_name));
			n++;
		}
	closedir(d);
	if (ret)
		*ret = v;
	else
		strv_free(v);
	return n;
}

static size_t count(fixture *f, const char *box)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", f->inbox, box);
	return list_dir(p, NULL);
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The maildir way: write into tmp/, rename into new/. */
static void drop(fixture *f, const char *name, const char *data, size_t len)
{
	_cleanup_free_ char *tmp = xasprintf("%s/tmp/%s", f->inbox, name);
	_cleanup_free_ char *dst = xasprintf("%s/new/%s", f->inbox, name);
	write_file(tmp, data, len);
	assert_int_equal(rename(tmp, dst), 0);
}

/* Into new/ before the connector ever started (it creates the maildir otherwise). */
static void drop_early(fixture *f, const char *name, const char *data, size_t len)
{
	static const char *const subs[] = {"", "/tmp", "/new"};
	_cleanup_free_ char *in = xasprintf("%s/in", f->dir);
	(void)mkdir(in, 0700);
	for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
		_cleanup_free_ char *p = xasprintf("%s%s", f->inbox, subs[i]);
		(void)mkdir(p, 0700);
	}
	drop(f, name, data, len);
}

static bool exists(fixture *f, const char *box, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/%s", f->inbox, box, name);
	return access(p, F_OK) == 0;
}

/* The mail inbox/coco-reading names ("" for none), or NULL if it is not a record. */
static char *reading(fixture *f)
{
	_cleanup_free_ char *path = xasprintf("%s/coco-reading", f->inbox);
	_cleanup_free_ char *s = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &s, &len), 0);
	assert_int_equal(len, 512); /* one fixed-size record, overwritten in place */
	if (strncmp(s, "coco-reading 1\n", 15) != 0)
		return NULL;
	return xstrndup(s + 15, strcspn(s + 15, "\n"));
}

/* inbox/coco-reading as a crash (or something else) left it. */
static void write_reading(fixture *f, const char *data, size_t len)
{
	_cleanup_free_ char *path = xasprintf("%s/coco-reading", f->inbox);
	write_file(path, data, len);
}

static const char answer_mail[] =
	"Delivered-To: reply+tok123@team.example\r\n"
	"From: Ana Example <Ana@Client.Example>\r\n"
	"To: reply+tok123@team.example\r\n"
	"Cc: boss@client.example\r\n"
	"Subject: Re: Kickoff survey\r\n"
	"Message-ID: <answer-1@client.example>\r\n"
	"In-Reply-To: <prompt-1@team.example>\r\n"
	"References: <prompt-0@team.example> <prompt-1@team.example>\r\n"
	"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
	"\r\n"
	"1: 4\r\n"
	"idea: weekly demo\r\n"
	"\r\n"
	"On Mon, 7 Dec 2026, Coco wrote:\r\n"
	"> How was the week?\r\n";

/* ---- outbound ---- */

typedef struct send_result {
	unsigned calls;
	send_status status;
	char *error;
	char *remote_id;
} send_result;

static void on_sent(send_status status, const char *error, const char *remote_id,
                    void *userdata)
{
	send_result *s = userdata;
	s->calls++;
	s->status = status;
	free(s->error);
	s->error = error ? xstrdup(error) : NULL;
	free(s->remote_id);
	s->remote_id = remote_id ? xstrdup(remote_id) : NULL;
}

/* What the spool does with a queued message: read it back typed, hand it over. */
static void send_json(fixture *f, const cJSON *m, send_result *res)
{
	_cleanup_channel_msg_ channel_msg *cm = NULL;
	assert_int_equal(channel_msg_from_json(m, &cm), 0);
	assert_int_equal(local_channel.send(f->c, cm, on_sent, res), 0);
}

#define REF "6pwm3g5veetjgitv" /* a conversation reference, as the core issues them */

/* A typed channel message as the spool holds it (connectors/channel-msg.h). */
static cJSON *outbound(const char *email)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "v", 2);
	cJSON_AddStringToObject(m, "id", "prompt-1");
	cJSON_AddStringToObject(m, "kind", "prompt");
	cJSON_AddStringToObject(m, "campaign", "c");
	cJSON_AddStringToObject(m, "round", "kickoff");
	cJSON *to = cJSON_AddObjectToObject(m, "to");
	cJSON_AddStringToObject(to, "member", "ana");
	cJSON_AddStringToObject(to, "name", "Ana Example");
	if (email)
		cJSON_AddStringToObject(to, "address", email);
	cJSON_AddStringToObject(m, "subject", "Kickoff survey");
	cJSON_AddStringToObject(m, "markdown", "How was the week?\n\nReply with `1: 4`.");
	cJSON_AddStringToObject(m, "html", "<p>How was the week?</p>");
	cJSON_AddStringToObject(m, "conversation", REF);
	cJSON_AddStringToObject(m, "in_reply_to", "prompt-0@team.example");
	return m;
}

static void test_send(void **state)
{
	fixture *f = *state;
	send_result res = {0};
	start(f);

	cJSON *m = outbound("ana@client.example");
	send_json(f, m, &res);
	cJSON_Delete(m);
	assert_int_equal(res.calls, 1); /* synchronous */
	assert_int_equal(res.status, SEND_OK);

	_cleanup_free_ char *newdir = xasprintf("%s/new", f->outbox);
	_cleanup_free_ char *tmpdir = xasprintf("%s/tmp", f->outbox);
	char **names = NULL;
	assert_int_equal(list_dir(newdir, &names), 1);
	assert_int_equal(list_dir(tmpdir, NULL), 0);

	_cleanup_free_ char *path = xasprintf("%s/%s", newdir, names[0]);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
	assert_non_null(strstr(data, "multipart/alternative"));
	assert_non_null(strstr(data, "\r\n"));

	_cleanup_mail_message_ mail_message *mm = NULL;
	assert_int_equal(mail_parse(data, len, &mm), 0);
	assert_string_equal(mail_from_address(mm), "coco@team.example");
	assert_string_equal(mail_from_name(mm), "Coco Rounds");
	assert_string_equal(mail_to(mm)[0], "ana@client.example");
	assert_null(mail_to(mm)[1]);
	assert_string_equal(mail_subject(mm), "Kickoff survey");
	/* The conversation reference rides in the Message-ID and the Reply-To. */
	assert_string_equal(mail_message_id(mm), "prompt-1." REF "@team.example");
	assert_string_equal(mail_in_reply_to(mm), "prompt-0@team.example");
	assert_string_equal(mail_reply_to(mm), "coco+" REF "@team.example");
	assert_string_equal(res.remote_id, mail_message_id(mm)); /* for the conversation index */
	assert_non_null(strstr(mail_body(mm), "How was the week?"));
	assert_non_null(strstr(mail_body(mm), "Reply with `1: 4`."));
	assert_true(mail_is_automatic(mm)); /* Auto-Submitted: we are a machine */

	/* The file is named after the spool id: the same message sent again (what the spool
	 * does after a crash kept it from marking it sent) replaces its own copy ... */
	m = outbound("ana@client.example");
	send_json(f, m, &res);
	assert_int_equal(res.status, SEND_OK);
	assert_int_equal(list_dir(newdir, NULL), 1);
	assert_int_equal(list_dir(tmpdir, NULL), 0);
	/* ... and another message gets its own file. */
	cJSON_ReplaceItemInObject(m, "id", cJSON_CreateString("prompt-2"));
	send_json(f, m, &res);
	cJSON_Delete(m);
	assert_int_equal(res.status, SEND_OK);
	assert_int_equal(list_dir(newdir, NULL), 2);
	strv_free(names);
	free(res.error);
	free(res.remote_id);
}

/* A message a spool written before typed messages holds (version 1: the core's own mail
 * fields) still goes out, its reply tag carried over. */
static void test_send_v1(void **state)
{
	fixture *f = *state;
	send_result res = {0};
	start(f);
	cJSON *m = cJSON_Parse("{\"v\":1,\"id\":\"conf-1\",\"kind\":\"confirmation\","
	                       "\"campaign\":\"c\",\"round\":\"kickoff\",\"to\":{\"member\":"
	                       "\"ana\",\"email\":\"ana@client.example\"},\"subject\":\"Re: x\","
	                       "\"markdown\":\"ok\",\"message_id\":\"conf-1." REF "@team.example\","
	                       "\"reply_to\":\"coco+" REF "@team.example\"}");
	send_json(f, m, &res);
	cJSON_Delete(m);
	assert_int_equal(res.status, SEND_OK);
	_cleanup_free_ char *newdir = xasprintf("%s/new", f->outbox);
	char **names = NULL;
	assert_int_equal(list_dir(newdir, &names), 1);
	_cleanup_free_ char *path = xasprintf("%s/%s", newdir, names[0]);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
	_cleanup_mail_message_ mail_message *mm = NULL;
	assert_int_equal(mail_parse(data, len, &mm), 0);
	assert_string_equal(mail_reply_to(mm), "coco+" REF "@team.example");
	assert_string_equal(mail_to(mm)[0], "ana@client.example");
	strv_free(names);
	free(res.error);
	free(res.remote_id);
}

static void test_send_fail(void **state)
{
	fixture *f = *state;
	send_result res = {0};
	start(f);
	_cleanup_free_ char *newdir = xasprintf("%s/new", f->outbox);

	/* a member without an email address: final, and the error says which member */
	cJSON *m = outbound(NULL);
	send_json(f, m, &res);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.status, SEND_FAIL);
	assert_non_null(res.error);
	assert_non_null(strstr(res.error, "ana"));
	assert_non_null(strstr(res.error, "no email"));
	cJSON_Delete(m);

	/* header injection through the subject: refused, nothing written */
	m = outbound("ana@client.example");
	cJSON_ReplaceItemInObject(m, "subject", cJSON_CreateString("Hi\r\nBcc: eve@evil.example"));
	send_json(f, m, &res);
	assert_int_equal(res.status, SEND_FAIL);
	assert_null(strstr(res.error, "evil")); /* field values are not echoed */
	cJSON_Delete(m);

	/* no sender configured */
	f->cfg.n_settings = 0; /* no [Mail] From= */
	m = outbound("ana@client.example");
	send_json(f, m, &res);
	assert_int_equal(res.status, SEND_FAIL);
	assert_non_null(strstr(res.error, "From="));
	cJSON_Delete(m);
	assert_int_equal(res.calls, 3);
	assert_int_equal(list_dir(newdir, NULL), 0);
	free(res.error);
	free(res.remote_id);
}

/* A run of sends (the spool's send_begin .. send_end): each message is written into tmp/ and
 * nothing is done before the end; the end moves them all into new/ and says sent for each,
 * with its Message-ID. A run whose outbox cannot take the files says retry for each and
 * leaves no temporary behind. */
static void test_send_batch(void **state)
{
	fixture *f = *state;
	enum { N = 3 };
	send_result res[N] = {0};
	start(f);
	_cleanup_free_ char *newdir = xasprintf("%s/new", f->outbox);
	_cleanup_free_ char *tmpdir = xasprintf("%s/tmp", f->outbox);

	local_channel.send_begin(f->c);
	for (int i = 0; i < N; i++) {
		cJSON *m = outbound("ana@client.example");
		_cleanup_free_ char *id = xasprintf("prompt-%d", i);
		cJSON_ReplaceItemInObject(m, "id", cJSON_CreateString(id));
		send_json(f, m, &res[i]);
		cJSON_Delete(m);
		assert_int_equal(res[i].calls, 0); /* held until the end of the run */
	}
	assert_int_equal(list_dir(tmpdir, NULL), N);
	assert_int_equal(list_dir(newdir, NULL), 0);
	local_channel.send_end(f->c);
	for (int i = 0; i < N; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].status, SEND_OK);
		_cleanup_free_ char *mid = xasprintf("prompt-%d." REF "@team.example", i);
		assert_string_equal(res[i].remote_id, mid);
	}
	assert_int_equal(list_dir(newdir, NULL), N);
	assert_int_equal(list_dir(tmpdir, NULL), 0);

	/* A message that cannot be composed fails at once, in a run too. */
	send_result bad = {0};
	local_channel.send_begin(f->c);
	cJSON *m = outbound(NULL);
	send_json(f, m, &bad);
	cJSON_Delete(m);
	assert_int_equal(bad.calls, 1);
	assert_int_equal(bad.status, SEND_FAIL);

	/* new/ gone (a careless admin): the run's messages are retried later, nothing is left
	 * in tmp/. */
	send_result later = {0};
	m = outbound("ana@client.example");
	cJSON_ReplaceItemInObject(m, "id", cJSON_CreateString("prompt-9"));
	send_json(f, m, &later);
	cJSON_Delete(m);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", newdir);
	assert_int_equal(system(cmd), 0);
	local_channel.send_end(f->c);
	assert_int_equal(later.calls, 1);
	assert_int_equal(later.status, SEND_RETRY);
	assert_non_null(later.error);
	assert_int_equal(list_dir(tmpdir, NULL), 0);

	for (int i = 0; i < N; i++) {
		free(res[i].error);
		free(res[i].remote_id);
	}
	free(bad.error);
	free(later.error);
	free(later.remote_id);
}

/* ---- inbound ---- */

static void test_inbound_inotify(void **state)
{
	fixture *f = *state;
	start(f);
	run_idle(f); /* initial scan: empty */
	assert_int_equal(f->core.calls, 0);
	assert_int_equal(count(f, "failed"), 0);

	drop(f, "1.a.host", answer_mail, sizeof(answer_mail) - 1);
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	assert_string_equal(f->core.key, "mail:answer-1@client.example");
	assert_string_equal(f->core.via, "local");
	assert_string_equal(f->core.from, "ana@client.example");
	assert_null(f->core.conversation); /* reply+tok123: no reference of ours */
	assert_string_equal(f->core.thread, "prompt-1@team.example");
	assert_string_equal(f->core.remote_id, "answer-1@client.example");
	assert_string_equal(f->core.subject, "Re: Kickoff survey");
	assert_string_equal(f->core.text, "1: 4\nidea: weekly demo");
	assert_false(f->core.automatic);

	/* pending: the file stays in new/, untouched, and is not offered again; the batch is
	 * handed over, so coco-reading names no mail */
	assert_true(exists(f, "new", "1.a.host"));
	assert_int_equal(count(f, "cur"), 0);
	_cleanup_free_ char *rd = reading(f);
	assert_string_equal(rd, "");
	assert_int_equal(local_channel.poll(f->c), 0);
	run_idle(f);
	assert_int_equal(f->core.calls, 1);

	/* done: one rename, new/ -> cur/<name>:2,S */
	core_finish(&f->core, 0);
	assert_false(exists(f, "new", "1.a.host"));
	assert_int_equal(count(f, "cur"), 1);
	assert_true(exists(f, "cur", "1.a.host:2,S"));
	assert_int_equal(local_channel.poll(f->c), 0);
	assert_int_equal(f->core.calls, 1);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop until the core was called `calls` times, for at most `sec` seconds (a
 * generous deadline, never a figure the test depends on). */
static void run_until_deadline(fixture *f, unsigned calls, unsigned sec)
{
	uint64_t end = mono_ms() + sec * 1000ULL;
	while (f->core.calls < calls && mono_ms() < end)
		assert_true(sd_event_run(f->loop, 50 * 1000) >= 0);
}

/* Issue 8.4: a mail the core could not record for now (done < 0) goes back into new/ and is
 * offered again by the connector's own timer, without an inotify event or poll(); the delay
 * doubles while it keeps failing. The first delay is 20 ms here (COCO_LOCAL_RETRY_MSEC, a
 * test-build hook; 1 s in cocod). */
static void test_inbound_keep_on_error(void **state)
{
	fixture *f = *state;
	setenv("COCO_LOCAL_RETRY_MSEC", "20", 1);
	start(f);
	unsetenv("COCO_LOCAL_RETRY_MSEC");
	run_idle(f);

	drop(f, "2.b.host", answer_mail, sizeof(answer_mail) - 1);
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	uint64_t t0 = mono_ms();
	core_finish(&f->core, -ENOSPC);
	assert_true(exists(f, "new", "2.b.host"));
	assert_int_equal(count(f, "cur"), 0);

	/* offered again by itself: no poll() */
	run_until_deadline(f, 2, 30);
	assert_int_equal(f->core.calls, 2);
	assert_true(exists(f, "new", "2.b.host")); /* in flight, where it was */
	uint64_t t1 = mono_ms();
	core_finish(&f->core, -ENOSPC);
	assert_true(exists(f, "new", "2.b.host"));

	run_until_deadline(f, 3, 30);
	assert_int_equal(f->core.calls, 3);
	uint64_t t2 = mono_ms();
	printf("retries after %llu ms and %llu ms (first delay 20 ms, doubling)\n",
	       (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	/* this time the core stores it */
	core_finish(&f->core, 1);
	assert_true(exists(f, "cur", "2.b.host:2,S"));
	assert_int_equal(count(f, "new"), 0);

	/* nothing held back: the timer stays quiet */
	run_idle(f);
	assert_int_equal(f->core.calls, 3);

	/* poll() still offers a held mail at once */
	drop(f, "2c.b.host", answer_mail, sizeof(answer_mail) - 1);
	run_until(f, 4);
	core_finish(&f->core, -EIO);
	assert_int_equal(local_channel.poll(f->c), 1);
	assert_int_equal(f->core.calls, 5);
	core_finish(&f->core, 0);
	assert_true(exists(f, "cur", "2c.b.host:2,S"));
}

static void test_inbound_rejects(void **state)
{
	fixture *f = *state;
	start(f);
	run_idle(f);

	/* no From: not a usable mail */
	static const char no_from[] = "Subject: hello\r\n\r\nbody\r\n";
	drop(f, "3.bad.host", no_from, sizeof(no_from) - 1);
	/* header section never ends */
	static const char torn[] = "From: a@b.example\r\nSubject: hello";
	drop(f, "4.torn.host", torn, sizeof(torn) - 1);
	run_idle(f);
	assert_true(exists(f, "failed", "3.bad.host"));
	assert_true(exists(f, "failed", "4.torn.host"));
	/* empty */
	drop(f, "4b.empty.host", "", 0);
	run_idle(f);
	assert_true(exists(f, "failed", "4b.empty.host"));

	/* oversize: 10 MiB + 1 byte, written straight into new/ (IN_CLOSE_WRITE) */
	size_t big = MAIL_MESSAGE_MAX + 1;
	char *data = xmalloc(big);
	memset(data, 'x', big);
	memcpy(data, answer_mail, sizeof(answer_mail) - 1);
	_cleanup_free_ char *bigpath = xasprintf("%s/new/5.big.host", f->inbox);
	write_file(bigpath, data, big);
	free(data);
	run_idle(f);
	assert_true(exists(f, "failed", "5.big.host"));

	/* a symlink could point anywhere: not read */
	_cleanup_free_ char *link = xasprintf("%s/new/6.link.host", f->inbox);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(local_channel.poll(f->c), 0);
	assert_true(exists(f, "failed", "6.link.host"));

	assert_int_equal(f->core.calls, 0);
	assert_int_equal(count(f, "new"), 0);
	assert_int_equal(count(f, "failed"), 5);
}

static void test_inbound_automatic_and_hash_key(void **state)
{
	fixture *f = *state;
	f->core.immediate = 1; /* done() inside on_inbound */
	f->core.immediate_result = 0;
	start(f);
	run_idle(f);

	static const char auto_reply[] = "From: ana@client.example\r\n"
	                                 "To: reply+tok123@team.example\r\n"
	                                 "Subject: Out of office\r\n"
	                                 "Auto-Submitted: auto-replied\r\n"
	                                 "\r\n"
	                                 "I am away until Monday.\r\n";
	drop(f, "7.auto.host", auto_reply, sizeof(auto_reply) - 1);
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	assert_true(f->core.automatic);
	/* no Message-ID: the key is the file's hash */
	assert_non_null(f->core.key);
	assert_int_equal(strncmp(f->core.key, "mail:sha256:", 12), 0);
	assert_int_equal(strlen(f->core.key), 12 + 64);
	_cleanup_free_ char *key1 = xstrdup(f->core.key);
	assert_true(exists(f, "cur", "7.auto.host:2,S"));

	/* the same bytes under another name: the same key (the store records it once) */
	drop(f, "8.auto.host", auto_reply, sizeof(auto_reply) - 1);
	run_until(f, 2);
	assert_int_equal(f->core.calls, 2);
	assert_string_equal(f->core.key, key1);
	assert_true(exists(f, "cur", "8.auto.host:2,S"));
}

static void test_initial_scan(void **state)
{
	fixture *f = *state;

	/* mail that arrived while cocod was down */
	_cleanup_free_ char *in = xasprintf("%s/in", f->dir);
	_cleanup_free_ char *newdir = xasprintf("%s/new", f->inbox);
	_cleanup_free_ char *path = xasprintf("%s/new/9.early.host", f->inbox);
	assert_int_equal(mkdir(in, 0700), 0);
	assert_int_equal(mkdir(f->inbox, 0700), 0);
	assert_int_equal(mkdir(newdir, 0700), 0);
	write_file(path, answer_mail, sizeof(answer_mail) - 1);

	start(f);
	/* tmp/ cur/ failed/ were created; nothing is delivered inside start() */
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(count(f, "cur"), 0);
	assert_int_equal(count(f, "failed"), 0);
	assert_int_equal(f->core.calls, 0);
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	core_finish(&f->core, 0);
	assert_true(exists(f, "cur", "9.early.host:2,S"));
}

static void test_stop_with_pending(void **state)
{
	fixture *f = *state;
	start(f);
	drop(f, "10.p.host", answer_mail, sizeof(answer_mail) - 1);
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	f->c = local_channel.stop(f->c);
	assert_null(f->c);
	/* the late answer frees the message but moves nothing */
	core_finish(&f->core, 0);
	assert_true(exists(f, "new", "10.p.host"));
}

static char *failed_log(fixture *f)
{
	_cleanup_free_ char *path = xasprintf("%s/failed.log", f->inbox);
	char *s = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &s, &len), 0);
	return s;
}

/* "Re: survey" whose answer sits `depth` multiparts deep, as a hostile sender builds it. */
static char *deep_mail(unsigned depth, size_t *ret_len)
{
	strbuf b = {};
	strbuf_puts(&b, "From: eve@client.example\r\nTo: reply+tok123@team.example\r\n"
	                "Subject: Re: Kickoff survey\r\nMessage-ID: <deep@client.example>\r\n");
	for (unsigned i = 0; i < depth; i++)
		strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%u\"\r\n\r\n--b%u\r\n", i,
		              i);
	strbuf_puts(&b, "Content-Type: text/plain\r\n\r\n1: 4\r\n");
	*ret_len = b.len;
	return strbuf_steal(&b);
}

/* Issue 8.1: a mail nested 50 000 deep is quarantined with the reason, and the next mail is
 * read as usual. */
static void test_inbound_deep_nesting_quarantined(void **state)
{
	fixture *f = *state;
	f->core.immediate = 1;
	f->core.immediate_result = 0;
	start(f);
	run_idle(f);

	size_t len;
	_cleanup_free_ char *deep = deep_mail(50000, &len);
	drop(f, "11.deep.host", deep, len);
	drop(f, "12.next.host", answer_mail, sizeof(answer_mail) - 1);
	run_until(f, 1);
	run_idle(f);
	assert_int_equal(f->core.calls, 1);
	assert_string_equal(f->core.key, "mail:answer-1@client.example");
	assert_true(exists(f, "cur", "12.next.host:2,S"));
	assert_true(exists(f, "failed", "11.deep.host"));
	assert_int_equal(count(f, "new"), 0);
	_cleanup_free_ char *log = failed_log(f);
	printf("failed.log: %s", log);
	assert_non_null(strstr(log, "failed/11.deep.host: "));
	assert_non_null(strstr(log, "nested deeper than 16 levels"));

	/* never offered again */
	assert_int_equal(local_channel.poll(f->c), 0);
	assert_int_equal(f->core.calls, 1);
}

static void crash_on_inbound(void *core, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	_exit(42); /* as if parsing or handling this mail had killed cocod */
}

static void hold_on_inbound(void *core, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	/* the core took it and waits for its commit: done never comes in this run */
}

/* A cocod run in a child: the connector on its own loop with `on` as the core, until the
 * process dies or ~1 s passed (then exit 2). Returns the exit status. */
static int run_child(fixture *f, test_inbound_fn on)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sd_event *loop = NULL;
		channel *c = NULL;
		test_host h;
		if (sd_event_new(&loop) < 0)
			_exit(1);
		host_init(&h, f, loop, on, NULL);
		if (local_channel.start(&h.host, &c) < 0)
			_exit(1);
		for (int i = 0; i < 20; i++)
			(void)sd_event_run(loop, 50 * 1000);
		_exit(2); /* ends without stopping the connector: as good as a kill */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* A mail that killed the process while it was read and handed over is read once more at the
 * next start; if it kills it again, it is quarantined at the start after, not read a third
 * time; the mail behind it is read. */
static void test_crash_twice_then_quarantined(void **state)
{
	fixture *f = *state;
	drop_early(f, "13.killer.host", answer_mail, sizeof(answer_mail) - 1);

	assert_int_equal(run_child(f, crash_on_inbound), 42);
	/* read where it is, and noted as being read */
	assert_true(exists(f, "new", "13.killer.host"));
	assert_int_equal(count(f, "cur"), 0);
	_cleanup_free_ char *rd1 = reading(f);
	assert_string_equal(rd1, "13.killer.host");

	/* second run: one more try, as the last one */
	assert_int_equal(run_child(f, crash_on_inbound), 42);
	assert_true(exists(f, "new", "13.killer.host:1,retry"));
	assert_false(exists(f, "new", "13.killer.host"));
	_cleanup_free_ char *rd2 = reading(f);
	assert_string_equal(rd2, "13.killer.host:1,retry");
	_cleanup_free_ char *failed = xasprintf("%s/failed", f->inbox);
	assert_int_equal(list_dir(failed, NULL), 0);

	static const char next[] = "From: bob@client.example\r\nTo: reply+tok9@team.example\r\n"
	                           "Message-ID: <answer-2@client.example>\r\n\r\n2: yes\r\n";
	drop(f, "14.next.host", next, sizeof(next) - 1);
	f->core.immediate = 1;
	start(f);
	assert_true(exists(f, "failed", "13.killer.host"));
	assert_int_equal(count(f, "cur"), 0);
	assert_int_equal(count(f, "new"), 1);
	_cleanup_free_ char *rd3 = reading(f);
	assert_string_equal(rd3, "");
	run_until(f, 1);
	run_idle(f);
	assert_int_equal(f->core.calls, 1);
	assert_string_equal(f->core.key, "mail:answer-2@client.example");
	assert_true(exists(f, "cur", "14.next.host:2,S"));
	_cleanup_free_ char *log = failed_log(f);
	assert_non_null(strstr(log, "failed/13.killer.host: cocod stopped twice while reading it"));
}

/* Issue 8.2: a kill (not the mail's fault) while the core holds a mail is not a strike: the
 * mail is offered again at the next start, as often as that happens. And a mail that was
 * being read when a kill came, then read fine, is recorded as usual; held back by the core
 * once read, it is no suspect any more. */
static void test_killed_while_core_holds_it_is_replayed(void **state)
{
	fixture *f = *state;
	drop_early(f, "15.held.host", answer_mail, sizeof(answer_mail) - 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(run_child(f, hold_on_inbound), 2);
		assert_true(exists(f, "new", "15.held.host"));
		assert_int_equal(count(f, "cur"), 0);
		_cleanup_free_ char *rd = reading(f);
		assert_string_equal(rd, ""); /* handed over: no mail being read */
	}
	/* killed while reading it once */
	static const char rec[] = "coco-reading 1\n15.held.host\n";
	write_reading(f, rec, sizeof(rec) - 1);

	start(f);
	assert_int_equal(count(f, "failed"), 0);
	assert_true(exists(f, "new", "15.held.host:1,retry"));
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	assert_string_equal(f->core.key, "mail:answer-1@client.example");
	assert_true(exists(f, "new", "15.held.host:1,retry"));
	/* the core cannot record it for now: read fine, it drops its last-try mark */
	core_finish(&f->core, -ENOSPC);
	assert_true(exists(f, "new", "15.held.host"));
	assert_false(exists(f, "new", "15.held.host:1,retry"));
	assert_int_equal(local_channel.poll(f->c), 1);
	assert_int_equal(f->core.calls, 2);
	core_finish(&f->core, 0);
	assert_true(exists(f, "cur", "15.held.host:2,S"));
	assert_int_equal(count(f, "cur"), 1);
	assert_int_equal(count(f, "new"), 0);
	assert_int_equal(count(f, "failed"), 0);
}

/* An inbox left by a cocod that claimed mail into cur/ before reading it: what the core
 * held is replayed, what was being read gets one more try, what was on its last try is
 * quarantined, what was done stays done. */
static void test_old_inbox_recovered(void **state)
{
	fixture *f = *state;
	drop_early(f, "x", "", 0);
	_cleanup_free_ char *x = xasprintf("%s/new/x", f->inbox);
	assert_int_equal(unlink(x), 0);
	_cleanup_free_ char *cur = xasprintf("%s/cur", f->inbox);
	assert_int_equal(mkdir(cur, 0700), 0);
	static const char *const names[] = {"20.handed.host:1,handed", "21.reading.host",
	                                    "22.twice.host:1,retry", "23.done.host:2,S"};
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", cur, names[i]);
		write_file(p, answer_mail, sizeof(answer_mail) - 1);
	}

	f->core.immediate = 1;
	start(f);
	assert_true(exists(f, "new", "20.handed.host"));
	assert_true(exists(f, "new", "21.reading.host:1,retry"));
	assert_true(exists(f, "failed", "22.twice.host"));
	assert_true(exists(f, "cur", "23.done.host:2,S"));
	assert_int_equal(count(f, "cur"), 1);
	run_until(f, 2);
	run_idle(f);
	assert_int_equal(f->core.calls, 2);
	assert_true(exists(f, "cur", "20.handed.host:2,S"));
	assert_true(exists(f, "cur", "21.reading.host:2,S"));
	assert_int_equal(count(f, "new"), 0);
	assert_int_equal(count(f, "cur"), 3);
	assert_int_equal(count(f, "failed"), 1);
}

/* inbox/coco-reading that is not a record of ours (a power cut while it was written, a
 * newer cocod's), or names a mail no longer in new/: nothing is renamed, every mail is read
 * as usual, and the record is written afresh. */
static void test_reading_record_odd(void **state)
{
	fixture *f = *state;
	static const struct { const char *data; size_t len; } recs[] = {
#define REC(s) {s, sizeof(s) - 1}
		REC(""),
		REC("\0\0\0\0\0\0\0\0"),
		REC("coco-reading 2\n30.a2.host\n"),
		REC("coco-reading 1\n"),
		REC("coco-reading 1\n30.gone.host\n"),
		REC("coco-reading 1\n../30.a5.host\n"),
		REC("coco-reading\n30.a6.host\n"),
#undef REC
	};
	f->core.immediate = 1;
	for (size_t i = 0; i < ELEMENTSOF(recs); i++) {
		_cleanup_free_ char *name = xasprintf("30.a%zu.host", i);
		drop_early(f, name, answer_mail, sizeof(answer_mail) - 1);
		write_reading(f, recs[i].data, recs[i].len);
		start(f);
		assert_true(exists(f, "new", name));
		assert_int_equal(count(f, "new"), 1);
		_cleanup_free_ char *rd = reading(f);
		assert_string_equal(rd, "");
		run_until(f, (unsigned)i + 1);
		assert_int_equal(f->core.calls, i + 1);
		f->c = local_channel.stop(f->c);
		_cleanup_free_ char *done = xasprintf("%s:2,S", name);
		assert_true(exists(f, "cur", done));
	}
	assert_int_equal(count(f, "failed"), 0);
}

/* Forget while the core holds a member's mail: the mail in flight (in new/ until it is done)
 * is left alone, their other unread mail goes. */
static void test_forget_spares_mail_in_flight(void **state)
{
	fixture *f = *state;
	start(f);
	run_idle(f);
	drop(f, "40.held.host", answer_mail, sizeof(answer_mail) - 1);
	run_until(f, 1);
	assert_int_equal(f->core.calls, 1);
	/* not offered before the forget: the loop does not run meanwhile */
	_cleanup_free_ char *other = xasprintf("%s/new/41.other.host:2,", f->inbox);
	write_file(other, answer_mail, sizeof(answer_mail) - 1);

	const char *const addresses[] = {"ana@client.example", NULL};
	size_t erased = 0;
	assert_int_equal(local_channel.forget(f->c, addresses, NULL, &erased), 0);
	assert_int_equal(erased, 1);
	assert_true(exists(f, "new", "40.held.host"));
	assert_false(exists(f, "new", "41.other.host:2,"));
	core_finish(&f->core, 0);
	assert_true(exists(f, "cur", "40.held.host:2,S"));
}

static void touch_ago(const char *path, int64_t sec_ago)
{
	struct timespec now, t[2];
	clock_gettime(CLOCK_REALTIME, &now);
	t[0] = t[1] = (struct timespec){.tv_sec = now.tv_sec - sec_ago, .tv_nsec = 0};
	assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

/* Issue 8.10: at start, the outbox's tmp/ loses whatever is older than the start (a crash's
 * half-written mail: our sends are synchronous); the inbox's tmp/, which others deliver
 * into, only files untouched for 36 hours. Symlinks and directories stay. File times are
 * set relative to now. */
static void test_tmp_leftovers_swept(void **state)
{
	fixture *f = *state;
	static const char *const dirs[] = {"out", "out/tmp", "in", "in/box", "in/box/tmp"};
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", f->dir, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	struct { const char *path; int64_t ago; bool kept; } files[] = {
		{"out/tmp/1.crashed.host", 60, false},        /* a crash's, a minute ago */
		{"out/tmp/2.old.host", 40 * 3600, false},
		{"out/tmp/3.later.host", -3600, true},         /* "written after the start" */
		{"in/box/tmp/4.abandoned.host", 37 * 3600, false},
		{"in/box/tmp/5.being-delivered.host", 3600, true},
		{"in/box/tmp/6.just-now.host", 0, true},
	};
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", f->dir, files[i].path);
		write_file(p, "partial", 7);
		touch_ago(p, files[i].ago);
	}
	_cleanup_free_ char *link = xasprintf("%s/in/box/tmp/7.link.host", f->dir);
	_cleanup_free_ char *target = xasprintf("%s/elsewhere", f->dir);
	write_file(target, "outside", 7);
	assert_int_equal(symlink(target, link), 0);
	touch_ago(link, 40 * 3600);
	_cleanup_free_ char *sub = xasprintf("%s/out/tmp/8.dir", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	touch_ago(sub, 40 * 3600);

	start(f);
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", f->dir, files[i].path);
		if (files[i].kept != (access(p, F_OK) == 0))
			fail_msg("%s was %s", files[i].path, files[i].kept ? "removed" : "kept");
	}
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_int_equal(access(target, F_OK), 0);
	assert_int_equal(access(sub, F_OK), 0);
}

static void test_find(void **state)
{
	assert_ptr_equal(channel_find("local"), &local_channel);
	assert_string_equal(local_channel.name, "local");
	assert_true(local_channel.caps & CHANNEL_DM);
	assert_string_equal(local_channel.address, "email");
	assert_null(channel_find("nope"));
	assert_null(channel_find(""));
	assert_null(channel_find(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_inotify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_keep_on_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_automatic_and_hash_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initial_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_deep_nesting_quarantined, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_crash_twice_then_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_while_core_holds_it_is_replayed, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_old_inbox_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_spares_mail_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reading_record_odd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_leftovers_swept, setup, teardown),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
