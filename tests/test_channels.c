/* One campaign, two kinds of channel: members reached by mail (the maildir channel) and
 * members reached by chat (tests/fake-chat.h, a Slack-like channel behind the same
 * interface). The same story runs through both — prompt, answers, confirmations, reminders,
 * digest — and the channel boundary's promises are checked: the core finds a chat reply's
 * round through the conversation index, confirms in the same exchange on a channel that
 * can, sends nothing twice across a reload that reconfigures a channel in place, rejects
 * once what it can never record and tells the member, and the round's template data kept
 * per configuration follows a reload and a new occurrence. Real core, store, spool and
 * channelset on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"
#include "fake-chat.h"
#include "local.h"

static const channel_ops *const test_channels[] = {&local_channel, &fake_chat_channel, NULL};

static const char coco_conf[] =
	"[Daemon]\nConnectors=local fakechat\n[Mail]\nFrom=coco@provider.example\n";

#define CAMPAIGN_HEAD(title)                                                                   \
	"[Campaign]\nId=mix\nTitle=" title "\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n" \
	"Provider=Provider Co\n"                                                               \
	"[Member \"ann\"]\nName=Ann Mail\nSide=client\nEmail=ann@client.example\n"              \
	"[Member \"bob\"]\nName=Bob Mail\nSide=client\nEmail=bob@client.example\n"              \
	"[Member \"cat\"]\nName=Cat Chat\nSide=provider\nSlack=U0CAT01\n"                       \
	"[Member \"dan\"]\nName=Dan Chat\nSide=provider\nSlack=U0DAN01\n"                       \
	"[Member \"eve\"]\nName=Eve Chat\nSide=provider\nSlack=U0EVE01\n"

#define ROUNDS                                                                                 \
	"[Round \"pulse\"]\nKind=survey\nTitle=Pulse\nOpen=2026-06-01 09:00\nDuration=2d\n"     \
	"Remind=-12h\n"                                                                        \
	"[Question \"pulse/mood\"]\nKind=scale\nText=How is it going?\n"                        \
	"[Question \"pulse/tool\"]\nKind=choice\nText=Where do you answer best?\n"              \
	"Options=Mail|Chat\n"

static const char campaign_conf[] = CAMPAIGN_HEAD("Mixed") ROUNDS;
/* The same campaign with another title: a reload with the same channels. */
static const char campaign_conf2[] = CAMPAIGN_HEAD("Mixed, renamed") ROUNDS;

#define OPENED (JUN1 + 9 * HOUR + 60)
#define ANSWERS "campaigns/mix/rounds/pulse/once/answers.jsonl"

static void start(sim *s)
{
	clock_set_test(JUN1);
	fake_chat_reset();
	sim_start_with(s, coco_conf, test_channels, campaign_conf);
}

static void finish(sim *s)
{
	sim_finish(s);
	fake_chat_reset();
}

/* The records of a JSONL file of the store, as one JSON array. */
static cJSON *records(sim *s, const char *path)
{
	cJSON *arr = cJSON_CreateArray();
	_cleanup_free_ char *data = read_store(s, path);
	for (char *line = data, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = 0;
		cJSON *o = cJSON_Parse(line);
		assert_non_null(o);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The answer record of `member`, or NULL. */
static const cJSON *answer_of(const cJSON *recs, const char *member)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, recs)
	{
		const char *m = str(r, "member");
		if (m && STREQ(m, member))
			return r;
	}
	return NULL;
}

/* Spool entries of a channel's box whose id starts with prefix. */
static size_t spooled(sim *s, const char *chan, const char *box, const char *prefix)
{
	char **ids = NULL;
	_cleanup_free_ char *dir = xasprintf("spool/%s/%s", chan, box);
	if (store_list(s->st, dir, &ids) < 0)
		return 0;
	size_t n = 0;
	for (char **id = ids; *id; id++)
		if (strncmp(*id, prefix, strlen(prefix)) == 0)
			n++;
	strv_free(ids);
	return n;
}

/* ---- 1. the same story through mail and chat ---------------------------------------- */

static void test_same_story_both_channels(void **state)
{
	sim s;
	start(&s);
	run_until(&s, OPENED, NULL, NULL);

	/* The round opens: mail members get mail, chat members a DM; nobody gets both. */
	assert_int_equal(count(&s, "prompt", "pulse", NULL, "ann"), 1);
	assert_int_equal(count(&s, "prompt", "pulse", NULL, "bob"), 1);
	assert_int_equal(spooled(&s, "local", "cur", "prompt-"), 2);
	assert_int_equal(fake_chat_count("prompt", NULL), 3);
	assert_int_equal(fake_chat_count(NULL, "ann"), 0);
	assert_int_equal(fake_chat_count(NULL, "bob"), 0);
	const fake_post *pc = fake_chat_find("prompt", "pulse", "cat");
	const fake_post *pd = fake_chat_find("prompt", "pulse", "dan");
	assert_non_null(pc);
	assert_non_null(pd);
	assert_string_equal(pc->msg->address, "U0CAT01");
	assert_non_null(pc->msg->conversation);

	/* The prompt as data, for buttons: the questions, their kinds, a choice's options. */
	const cJSON *prompt = pc->msg->prompt;
	assert_non_null(prompt);
	assert_string_equal(str(prompt, "kind"), "survey");
	const cJSON *qs = cJSON_GetObjectItem(prompt, "questions");
	assert_int_equal(cJSON_GetArraySize(qs), 2);
	const cJSON *q1 = cJSON_GetArrayItem(qs, 0), *q2 = cJSON_GetArrayItem(qs, 1);
	assert_string_equal(str(q1, "kind"), "scale");
	assert_string_equal(str(q1, "text"), "How is it going?");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(q1, "min")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(q1, "max")));
	assert_string_equal(str(q2, "kind"), "choice");
	const cJSON *opts = cJSON_GetObjectItem(q2, "options");
	assert_int_equal(cJSON_GetArraySize(opts), 2);
	assert_string_equal(str(cJSON_GetArrayItem(opts, 1), "letter"), "b");
	assert_string_equal(str(cJSON_GetArrayItem(opts, 1), "text"), "Chat");
	/* The mail carries the same data (a mail client ignores it). */
	_cleanup_free_ char *ann_prompt = NULL;
	{
		char **ids = NULL;
		assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
		for (char **id = ids; *id; id++) {
			_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
			_cleanup_free_ char *data = read_store(&s, path);
			cJSON *m = cJSON_Parse(data);
			if (STREQ(str(cJSON_GetObjectItem(m, "to"), "member"), "ann"))
				assert_non_null(cJSON_GetObjectItem(m, "prompt"));
			cJSON_Delete(m);
		}
		strv_free(ids);
	}

	/* Ann answers by mail; Cat in the prompt's thread (no reference: the conversation
	 * index finds the round); Dan with two buttons. */
	answer(&s, "ann", "pulse", NULL, "1: 4\n2: a");
	fake_event *ec = fake_chat_reply("U0CAT01", pc->remote_id, "1: 5\n2: b");
	assert_false(ec->done); /* recorded first, then confirmed */
	settle(&s);
	fake_event *ed1 = fake_chat_press("U0DAN01", pd, "1", "3");
	fake_event *ed2 = fake_chat_press("U0DAN01", pd, "2", "b");
	settle(&s);

	/* Confirmed in the same exchange, with what was recorded. */
	assert_true(ec->done);
	assert_int_equal(ec->status, INBOUND_DONE);
	expect_in(ec->reply, "Thanks, Cat!");
	expect_in(ec->reply, "How is it going? → 5");
	expect_in(ec->reply, "→ Chat");
	assert_true(ed1->done && ed2->done);
	assert_int_equal(ed1->status, INBOUND_DONE);
	assert_int_equal(ed2->status, INBOUND_DONE);
	expect_in(ed1->reply, "→ 3");
	expect_in(ed2->reply, "→ Chat");

	/* Recorded, each with the channel it came through. */
	cJSON *recs = records(&s, ANSWERS);
	assert_int_equal(cJSON_GetArraySize(recs), 4);
	assert_string_equal(str(answer_of(recs, "ann"), "via"), "local");
	assert_string_equal(str(answer_of(recs, "cat"), "via"), "fakechat");
	assert_string_equal(str(answer_of(recs, "dan"), "via"), "fakechat");
	assert_string_equal(str(cJSON_GetObjectItem(answer_of(recs, "cat"), "answers"), "mood"), "5");
	cJSON_Delete(recs);

	/* No message was queued for the chat confirmations; the mail one went by mail. */
	assert_int_equal(spooled(&s, "fakechat", "new", "conf-"), 0);
	assert_int_equal(spooled(&s, "fakechat", "cur", "conf-"), 0);
	assert_int_equal(fake_chat_count("confirmation", NULL), 0);
	assert_int_equal(count(&s, "confirmation", "pulse", NULL, "ann"), 1);

	/* Reminders: only to those who have not answered, on whichever channel. */
	run_until(&s, JUN1 + DAY + 22 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "reminder", "pulse", NULL, "bob"), 1);
	assert_int_equal(count(&s, "reminder", "pulse", NULL, "ann"), 0);
	assert_int_equal(fake_chat_count("reminder", "eve"), 1);
	assert_int_equal(fake_chat_count("reminder", "cat"), 0);
	assert_int_equal(fake_chat_count("reminder", "dan"), 0);
	assert_non_null(fake_chat_find("reminder", "pulse", "eve")->msg->prompt);
	assert_int_equal(count(&s, "reminder", NULL, NULL, NULL), 2);

	/* Eve answers in the reminder's thread: the index knows reminders too. */
	const fake_post *re = fake_chat_find("reminder", "pulse", "eve");
	fake_event *ee = fake_chat_reply("U0EVE01", re->remote_id, "1: 2");
	settle(&s);
	assert_int_equal(ee->status, INBOUND_DONE);
	expect_in(ee->reply, "→ 2");

	/* The close: the digest reaches both channels. */
	run_until(&s, JUN1 + 2 * DAY + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "digest", NULL, NULL, "ann"), 1);
	assert_int_equal(count(&s, "digest", NULL, NULL, "bob"), 1);
	for (const char *const *m = (const char *const[]){"cat", "dan", "eve", NULL}; *m; m++)
		assert_int_equal(fake_chat_count("digest", *m), 1);
	expect_in(fake_chat_find("digest", NULL, "cat")->msg->markdown, "Pulse");
	finish(&s);
}

/* ---- 2. a reload during a send in flight ------------------------------------------- */

/* The spool id of every held post, in order. */
static void held_ids(char ***ret)
{
	for (size_t i = 0; i < fake_chat.n_posts; i++)
		if (fake_chat.posts[i].held)
			strv_push(ret, xstrdup(fake_chat.posts[i].msg->id));
}

static void test_reload_in_place_sends_once(void **state)
{
	sim s;
	start(&s);
	fake_chat.hold = true;
	run_until(&s, OPENED, NULL, NULL);
	char **ids = NULL;
	held_ids(&ids);
	assert_int_equal(strv_length(ids), 3);
	assert_int_equal(spooled(&s, "fakechat", "new", "prompt-"), 3);

	/* Reload with the same channels: fakechat is reconfigured in place, not restarted. */
	sim_reload(&s, campaign_conf2);
	assert_int_equal(fake_chat.reconfigures, 1);
	assert_int_equal(fake_chat.starts, 1);
	assert_int_equal(fake_chat.stops, 0);
	settle(&s); /* the spool runs: the sends in flight are not started again */
	run_until(&s, OPENED + 2 * HOUR, NULL, NULL);
	assert_int_equal(fake_chat.n_posts, 3);

	/* The held sends complete now, on the instance that took the new configuration. */
	for (size_t i = 0; i < fake_chat.n_posts; i++)
		fake_chat_complete(i, SEND_OK);
	settle(&s);
	for (char **id = ids; *id; id++) {
		assert_int_equal(fake_chat_posts_of(*id), 1);
		_cleanup_free_ char *cur = xasprintf("spool/fakechat/cur/%s.json", *id);
		_cleanup_free_ char *nw = xasprintf("spool/fakechat/new/%s.json", *id);
		assert_true(store_has(&s, cur));
		assert_false(store_has(&s, nw));
	}
	assert_int_equal(spooled(&s, "fakechat", "new", ""), 0);
	/* Days later, still once; and the remote ids reached the conversation index. */
	fake_chat.hold = false;
	run_until(&s, OPENED + 12 * HOUR, NULL, NULL);
	for (char **id = ids; *id; id++)
		assert_int_equal(fake_chat_posts_of(*id), 1);
	fake_event *e = fake_chat_reply("U0CAT01", fake_chat_find("prompt", "pulse", "cat")->remote_id,
	                                "1: 4\n2: b");
	settle(&s);
	assert_int_equal(e->status, INBOUND_DONE);
	strv_free(ids);
	finish(&s);
}

/* A channel that cannot take a configuration in place is restarted: the spool let go of its
 * sends in flight (the old instance's outcome is ignored, no try is counted) and the new
 * instance sends them again. A message the old instance had delivered is then delivered
 * twice: across a restart, delivery is at-least-once (engine/channel.h). */
static void test_restart_sends_in_flight_again(void **state)
{
	sim s;
	start(&s);
	fake_chat.hold = true;
	fake_chat.restart = true;
	run_until(&s, OPENED, NULL, NULL);
	char **ids = NULL;
	held_ids(&ids);
	assert_int_equal(strv_length(ids), 3);

	sim_reload(&s, campaign_conf2);
	assert_int_equal(fake_chat.reconfigures, 1);
	assert_int_equal(fake_chat.stops, 1);
	assert_int_equal(fake_chat.starts, 2);
	for (size_t i = 0; i < 3; i++)
		assert_true(fake_chat.posts[i].abandoned);
	/* Still queued, not failed and not counted as a failed try. */
	assert_int_equal(spooled(&s, "fakechat", "new", "prompt-"), 3);
	assert_int_equal(spooled(&s, "fakechat", "failed", ""), 0);

	settle(&s); /* the new instance gets them */
	assert_int_equal(fake_chat.n_posts, 6);
	for (size_t i = 3; i < 6; i++) {
		assert_int_equal(fake_chat.posts[i].instance, 2);
		fake_chat_complete(i, SEND_OK);
	}
	settle(&s);
	for (char **id = ids; *id; id++) {
		assert_int_equal(fake_chat_posts_of(*id), 2); /* once per instance */
		_cleanup_free_ char *cur = xasprintf("spool/fakechat/cur/%s.json", *id);
		_cleanup_free_ char *data = read_store(&s, cur);
		assert_non_null(data);
		cJSON *m = cJSON_Parse(data);
		assert_int_equal(cJSON_GetObjectItem(m, "tries")->valueint, 0);
		cJSON_Delete(m);
	}
	assert_int_equal(spooled(&s, "fakechat", "new", ""), 0);
	/* A reply threads under the post the new instance made. */
	const fake_post *p = fake_chat_find("prompt", "pulse", "dan");
	assert_int_equal(p->instance, 2);
	fake_event *e = fake_chat_reply("U0DAN01", p->remote_id, "1: 1\n2: a");
	settle(&s);
	assert_int_equal(e->status, INBOUND_DONE);
	strv_free(ids);
	finish(&s);
}

/* ---- 3. what can never be recorded is rejected once, kept, and its sender told -------- */

/* A comment of more than a store line (1 MiB), in lines as a mail client writes them. */
static char *huge_text(void)
{
	strbuf b = {0};
	while (b.len < STORE_LINE_MAX + 64 * 1024)
		strbuf_puts(&b, "This digest made me think about a lot of things, one after another.\n");
	return strbuf_steal(&b);
}

static size_t inbox_count(sim *s, const char *box, const char *suffix)
{
	_cleanup_free_ char *dir = xasprintf("%s/local/inbox/%s", s->state, box);
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    (!suffix || (strlen(de->d_name) > strlen(suffix) &&
		                 STREQ(de->d_name + strlen(de->d_name) - strlen(suffix), suffix))))
			n++;
	closedir(d);
	return n;
}

/* The last message of kind to member in the local channel's sent box. */
static char *last_mail(sim *s, const char *kind, const char *member)
{
	char **ids = NULL;
	char *md = NULL;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(s, path);
		cJSON *m = cJSON_Parse(data);
		if (STREQ(str(m, "kind"), kind) &&
		    STREQ(str(cJSON_GetObjectItem(m, "to"), "member"), member)) {
			free(md);
			md = xstrdup(str(m, "markdown"));
		}
		cJSON_Delete(m);
	}
	strv_free(ids);
	return md;
}

static void test_unrecordable_comment_by_mail(void **state)
{
	sim s;
	start(&s);
	run_until(&s, JUN1 + 2 * DAY + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "digest", NULL, NULL, "ann"), 1);

	_cleanup_free_ char *text = huge_text();
	reply_to_message(&s, "digest", "ann", "digest", NULL, text);
	/* Read and done with: marked seen, not put back for a retry. */
	assert_int_equal(inbox_count(&s, "new", NULL), 0);
	assert_int_equal(inbox_count(&s, "cur", ":2,S"), 1);
	assert_int_equal(channelset_poll(s.chans), 0);

	/* Kept with the reason, the text bounded; no comment recorded. */
	assert_false(store_has(&s, "campaigns/mix/comments.jsonl"));
	cJSON *rej = records(&s, "rejected/messages.jsonl");
	assert_int_equal(cJSON_GetArraySize(rej), 1);
	const cJSON *r0 = cJSON_GetArrayItem(rej, 0);
	expect_in(str(r0, "reason"), "too long to record");
	assert_string_equal(str(r0, "member"), "ann");
	assert_string_equal(str(r0, "via"), "local");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r0, "text_truncated")));
	assert_true(strlen(str(r0, "text")) <= 64 * 1024);
	cJSON_Delete(rej);

	/* Ann is told, by mail, in plain words. */
	_cleanup_free_ char *told = last_mail(&s, "reply", "ann");
	expect_in(told, "could not be recorded: it is too long");
	assert_int_equal(count(&s, "reply", NULL, NULL, "ann"), 1);

	/* The same mail delivered again: rejected again, kept once, told once. */
	char **ids = NULL;
	assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
	strv_free(ids);
	_cleanup_free_ char *dir = xasprintf("%s/local/inbox/cur", s.state);
	DIR *d = opendir(dir);
	struct dirent *de;
	_cleanup_free_ char *first = NULL;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			first = xasprintf("%s/%s", dir, de->d_name);
	closedir(d);
	assert_non_null(first);
	_cleanup_free_ char *again = xasprintf("%s/local/inbox/new/again", s.state);
	_cleanup_free_ char *cmd = xasprintf("cp '%s' '%s'", first, again);
	assert_int_equal(system(cmd), 0);
	assert_true(channelset_poll(s.chans) >= 1);
	settle(&s);
	assert_int_equal(inbox_count(&s, "cur", ":2,S"), 2);
	rej = records(&s, "rejected/messages.jsonl");
	assert_int_equal(cJSON_GetArraySize(rej), 1);
	cJSON_Delete(rej);
	assert_int_equal(count(&s, "reply", NULL, NULL, "ann"), 1);
	finish(&s);
}

static void test_unrecordable_comment_by_chat(void **state)
{
	sim s;
	start(&s);
	run_until(&s, JUN1 + 2 * DAY + 10 * HOUR, NULL, NULL);
	const fake_post *dg = fake_chat_find("digest", NULL, "cat");
	assert_non_null(dg);

	_cleanup_free_ char *text = huge_text();
	fake_event *e = fake_chat_inject("Ev-huge", "U0CAT01", dg->remote_id, NULL, text, NULL, NULL);
	settle(&s);
	assert_true(e->done);
	assert_int_equal(e->status, INBOUND_REJECTED);
	expect_in(e->reason, "too long to record");
	expect_in(e->reply, "could not be recorded: it is too long");
	/* Said in the exchange: nothing queued for Cat. */
	assert_int_equal(spooled(&s, "fakechat", "new", "reply-"), 0);
	assert_int_equal(spooled(&s, "fakechat", "cur", "reply-"), 0);
	assert_int_equal(fake_chat_count("reply", "cat"), 0);
	assert_false(store_has(&s, "campaigns/mix/comments.jsonl"));
	cJSON *rej = records(&s, "rejected/messages.jsonl");
	assert_int_equal(cJSON_GetArraySize(rej), 1);
	assert_string_equal(str(cJSON_GetArrayItem(rej, 0), "via"), "fakechat");
	assert_string_equal(str(cJSON_GetArrayItem(rej, 0), "from"), "U0CAT01");
	cJSON_Delete(rej);

	/* Slack delivers the same event again: rejected again, kept once. */
	fake_event *e2 = fake_chat_inject("Ev-huge", "U0CAT01", dg->remote_id, NULL, text, NULL, NULL);
	settle(&s);
	assert_int_equal(e2->status, INBOUND_REJECTED);
	rej = records(&s, "rejected/messages.jsonl");
	assert_int_equal(cJSON_GetArraySize(rej), 1);
	cJSON_Delete(rej);

	/* A comment of a sane length is still recorded, and confirmed in the exchange. */
	fake_event *ok = fake_chat_reply("U0CAT01", dg->remote_id, "Good round, thanks.");
	settle(&s);
	assert_int_equal(ok->status, INBOUND_DONE);
	expect_in(ok->reply, "Your comment will be in the next digest");
	/* Greeted as every message greets her (trial 4: "Thanks, Léa Roux!"). */
	expect_in(ok->reply, "Thanks, Cat! Your comment");

	/* Forgetting Cat erases the kept message, found by her Slack id. */
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	char *err = NULL;
	cJSON_AddStringToObject(req, "cmd", "forget");
	cJSON_AddStringToObject(req, "member", "cat");
	assert_int_equal(core_control(s.core, req, &reply, &err), 0);
	cJSON_Delete(req);
	/* What the chat keeps on its server is named for the admin to erase by hand. */
	const cJSON *kept = cJSON_GetObjectItem(reply, "kept_elsewhere");
	assert_int_equal(cJSON_GetArraySize(kept), 1);
	assert_string_equal(cJSON_GetArrayItem(kept, 0)->valuestring,
	                    "the fake chat's posts stay on its server");
	cJSON_Delete(reply);
	free(err);
	settle(&s);
	rej = records(&s, "rejected/messages.jsonl");
	assert_int_equal(cJSON_GetArraySize(rej), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(rej, 0), "erased")));
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(rej, 0), "text"));
	cJSON_Delete(rej);
	finish(&s);
}

/* ---- 4. a Message-ID no store key could hold --------------------------------------- */

/* A mail answering member's prompt, with the given Message-ID header value and an extra
 * header line (so two deliveries can differ in their bytes). */
static void mail_answer(sim *s, const char *member, const char *msgid, const char *extra,
                        const char *body)
{
	char **ids = NULL;
	cJSON *found = NULL;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !found; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(s, path);
		cJSON *m = cJSON_Parse(data);
		if (STREQ(str(m, "kind"), "prompt") &&
		    STREQ(str(cJSON_GetObjectItem(m, "to"), "member"), member))
			found = m;
		else
			cJSON_Delete(m);
	}
	strv_free(ids);
	assert_non_null(found);
	_cleanup_free_ char *rt = email_reply_to(config_get(s->cfg, "Mail", "From"),
	                                        str(found, "conversation"));
	const coco_member *mb = campaign_find_member(&s->cfg->campaigns[0], member);
	_cleanup_free_ char *mail = xasprintf(
		"From: %s\r\nTo: <%s>\r\nSubject: Re: %s\r\nMessage-ID: %s\r\n%s"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		mb->emails[0], rt, str(found, "subject"), msgid, extra, body);
	cJSON_Delete(found);
	deliver_mail(s, mail);
}

static void test_message_id_with_quoted_local_part(void **state)
{
	sim s;
	start(&s);
	run_until(&s, OPENED, NULL, NULL);

	mail_answer(&s, "bob", "<\"x y\"@host>", "", "1: 3\n2: a");
	cJSON *recs = records(&s, ANSWERS);
	assert_int_equal(cJSON_GetArraySize(recs), 1);
	cJSON_Delete(recs);
	assert_int_equal(count(&s, "confirmation", "pulse", NULL, "bob"), 1);

	/* The same mail again, through another relay (other bytes, same Message-ID): a
	 * duplicate, not a second answer, and no second confirmation. */
	mail_answer(&s, "bob", "<\"x y\"@host>", "Received: from relay2.example\r\n", "1: 3\n2: a");
	recs = records(&s, ANSWERS);
	assert_int_equal(cJSON_GetArraySize(recs), 1);
	cJSON_Delete(recs);
	assert_int_equal(count(&s, "confirmation", "pulse", NULL, "bob"), 1);
	assert_int_equal(inbox_count(&s, "cur", ":2,S"), 2);
	assert_int_equal(inbox_count(&s, "new", NULL), 0);

	/* Another Message-ID is another answer (a correction). */
	mail_answer(&s, "bob", "<\"x z\"@host>", "", "1: 2");
	recs = records(&s, ANSWERS);
	assert_int_equal(cJSON_GetArraySize(recs), 2);
	cJSON_Delete(recs);
	finish(&s);
}

/* ---- a confirmation goes back by the channel the answer came by (trial S3-21) ------- */

/* Fin has both a mail address and a chat account, and the chat comes first in
 * Connectors=: the invitation reaches him in chat. He answers by mail anyway (the reply
 * address typed in, as from his phone): the confirmation must reach his mailbox, where he
 * looks for it, not the chat. */
static void test_confirmation_goes_back_the_way_it_came(void **state)
{
	sim s;
	clock_set_test(JUN1);
	fake_chat_reset();
	sim_start_with(&s, "[Daemon]\nConnectors=fakechat local\n[Mail]\nFrom=coco@provider.example\n",
	               test_channels,
	               CAMPAIGN_HEAD("Mixed")
	               "[Member \"fin\"]\nName=Fin Both\nSide=client\nEmail=fin@client.example\n"
	               "Slack=U0FIN01\n" ROUNDS);
	run_until(&s, OPENED, NULL, NULL);
	assert_int_equal(spooled(&s, "fakechat", "cur", "prompt-") + spooled(&s, "fakechat", "new", "prompt-"), 4);

	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&s.key, "mix", "pulse", "fin", tag);
	_cleanup_free_ char *to = email_reply_to("coco@provider.example", tag);
	_cleanup_free_ char *mail = xasprintf(
		"From: fin@client.example\r\nTo: <%s>\r\nSubject: Pulse\r\n"
		"Message-ID: <fin1@client.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"\r\n1: 4\r\n", to);
	deliver_mail(&s, mail);
	cJSON *recs = records(&s, ANSWERS);
	assert_non_null(answer_of(recs, "fin"));
	cJSON_Delete(recs);
	assert_int_equal(spooled(&s, "local", "cur", "conf-") + spooled(&s, "local", "new", "conf-"), 1);
	assert_int_equal(spooled(&s, "fakechat", "cur", "conf-") + spooled(&s, "fakechat", "new", "conf-"), 0);
	sim_finish(&s);
	fake_chat_reset();
}

/* A reminder to send ideas, read by a member in chat and by one in mail, and a reply that
 * records nothing: each paragraph after the greeting starts with a capital letter and
 * paragraphs are parted by one blank line, never two (trial 2). */
static void test_reminder_and_reply_layout(void **state)
{
	sim s;
	clock_set_test(JUN1);
	fake_chat_reset();
	sim_start_with(&s, coco_conf, test_channels,
	               CAMPAIGN_HEAD("Mixed")
	               "[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-06-01 09:00\n"
	               "Duration=2d\nRemind=-12h\n");
	run_until(&s, JUN1 + DAY + 22 * HOUR, NULL, NULL);
	const fake_post *re = fake_chat_find("reminder", "ideas", "eve");
	assert_non_null(re);
	_cleanup_free_ char *mail = last_mail(&s, "reminder", "bob");
	const char *texts[] = {re->msg->markdown, mail};
	for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
		expect_in(texts[i], ",\n\nA friendly nudge: **Ideas**");
		if (strstr(texts[i], "\n\n\n"))
			fail_msg("two blank lines in a row:\n%s", texts[i]);
	}
	answer(&s, "ann", "ideas", NULL, "vote 1");
	_cleanup_free_ char *nothing = last_mail(&s, "reply", "ann");
	expect_in(nothing, "we could not record anything");
	if (strstr(nothing, "\n\n\n"))
		fail_msg("two blank lines in a row:\n%s", nothing);
	/* A new mail of Ann's, not a reply: the notice after "Hello Ann," starts a
	 * sentence. */
	deliver_mail(&s, "From: Ann Mail <ann@client.example>\r\nTo: coco@provider.example\r\n"
	                 "Subject: ideas\r\nMessage-ID: <new1@client.example>\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n\r\nidea: more demos\r\n");
	char **ids = NULL;
	bool found = false;
	assert_int_equal(store_list(s.st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id && !found; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(&s, path);
		found = strstr(data, "Hello Ann,\\n\\nWe received a message from your address");
	}
	strv_free(ids);
	if (!found)
		fail_msg("no notice to Ann starting \"We received\" after the greeting");
	sim_finish(&s);
	fake_chat_reset();
}

/* ---- 5. the round's data kept per configuration ------------------------------------ */

/* What only the configuration makes of a round's template data (questions, how to answer,
 * the chat's command lines) is built once and kept with the round's runtime state
 * (core-outbound.c): a reload builds it again from the new configuration, and a new
 * occurrence still gets its own close. */
#define WEEKLY(title, questions)                                                               \
	"[Round \"pulse\"]\nKind=survey\nTitle=" title "\nOpen=2026-06-01 09:00\n"              \
	"Repeat=FREQ=WEEKLY;BYDAY=MO;COUNT=3\nDuration=2d\n" questions
#define MOOD(text) "[Question \"pulse/mood\"]\nKind=scale\nText=" text "\n"
#define FAY "[Member \"fay\"]\nName=Fay Chat\nSide=provider\nSlack=U0FAY01\nTimeZone=Europe/Paris\n"
#define TOOL "[Question \"pulse/tool\"]\nKind=choice\nText=Where do you answer best?\n" \
	     "Options=Mail|Chat\n"

static void test_round_data_follows_reload_and_occurrence(void **state)
{
	sim s;
	clock_set_test(JUN1);
	fake_chat_reset();
	fake_chat.command = "/coco"; /* the chat's command lines are kept too */
	sim_start_with(&s, coco_conf, test_channels,
	               CAMPAIGN_HEAD("Mixed") FAY WEEKLY("Pulse", MOOD("How is it going?") TOOL));
	run_until(&s, OPENED, NULL, NULL);
	const char *prompt = fake_chat_find("prompt", "pulse", "cat")->remote_id;
	fake_event *e1 = fake_chat_reply("U0CAT01", prompt, "1: 5\nwhatever");
	settle(&s);
	expect_in(e1->reply, "Thanks, Cat! Here is what we recorded for **Pulse**");
	expect_in(e1->reply, "How is it going? → 5");
	expect_in(e1->reply, "\n    /coco answer pulse 1: 4, 2: b\n");
	expect_in(e1->reply, "until **Wed 3 Jun 2026, 09:00 UTC**");
	/* Another member, from what was kept: the same words. */
	fake_event *e2 = fake_chat_reply("U0DAN01", fake_chat_find("prompt", "pulse", "dan")->remote_id,
	                                 "1: 5\nwhatever");
	settle(&s);
	assert_string_equal(strstr(e2->reply, "Here is"), strstr(e1->reply, "Here is"));
	expect_in(e2->reply, "Thanks, Dan!");
	/* A member in another time zone reads the close in hers, the next one in UTC again. */
	fake_event *ef = fake_chat_reply("U0FAY01", fake_chat_find("prompt", "pulse", "fay")->remote_id,
	                                 "1: 5");
	settle(&s);
	expect_in(ef->reply, "until **Wed 3 Jun 2026, 11:00 CEST**");
	fake_event *ee = fake_chat_reply("U0EVE01", fake_chat_find("prompt", "pulse", "eve")->remote_id,
	                                 "1: 5");
	settle(&s);
	expect_in(ee->reply, "until **Wed 3 Jun 2026, 09:00 UTC**");

	/* A reload: another title, one question less, taken at once. */
	sim_reload(&s, CAMPAIGN_HEAD("Mixed") FAY WEEKLY("Pulse again", MOOD("How goes it?")));
	fake_event *e3 = fake_chat_reply("U0CAT01", prompt, "1: 4\nwhatever");
	settle(&s);
	expect_in(e3->reply, "recorded for **Pulse again**");
	expect_in(e3->reply, "How goes it? → 4");
	expect_in(e3->reply, "\n    /coco answer pulse 1: 4\n");
	assert_null(strstr(e3->reply, "2: b"));

	/* The next occurrence: its own close. */
	run_until(&s, OPENED + 7 * DAY, NULL, NULL);
	prompt = fake_chat_find("prompt", "pulse", "eve")->remote_id;
	fake_event *e4 = fake_chat_reply("U0EVE01", prompt, "1: 3");
	settle(&s);
	expect_in(e4->reply, "How goes it? → 3");
	expect_in(e4->reply, "until **Wed 10 Jun 2026, 09:00 UTC**");
	sim_finish(&s);
	fake_chat_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_story_both_channels),
		cmocka_unit_test(test_reload_in_place_sends_once),
		cmocka_unit_test(test_restart_sends_in_flight_again),
		cmocka_unit_test(test_unrecordable_comment_by_mail),
		cmocka_unit_test(test_unrecordable_comment_by_chat),
		cmocka_unit_test(test_message_id_with_quoted_local_part),
		cmocka_unit_test(test_confirmation_goes_back_the_way_it_came),
		cmocka_unit_test(test_reminder_and_reply_layout),
		cmocka_unit_test(test_round_data_follows_reload_and_occurrence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
