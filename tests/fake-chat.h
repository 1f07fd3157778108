/* fake-chat: a chat channel for tests only, behind the real channel interface
 * (engine/channel.h). Header-only, included by a test: it is in no library, so cocod never
 * carries it; a test runs it through channelset_use_list() and config_register_channels()
 * (tests/sim.h's sim_start_with()).
 *
 * It behaves as Slack would towards the core: it reaches members by their Slack= id (address
 * kind "slack"), in direct messages (CHANNEL_DM), threads (CHANNEL_THREADS), renders the
 * prompt's data as buttons (CHANNEL_BUTTONS) and answers the sender in the same exchange
 * (CHANNEL_SYNC_REPLY). Every post gets a remote id like Slack's `ts` ("1700000000.000001",
 * counting up). What the test sees:
 *   - every channel_msg it was sent, copied, with its remote id and the instance (start)
 *     that posted it, in fake_chat.posts;
 *   - sends complete at once, or with fake_chat.hold wait until fake_chat_complete();
 *   - fake_chat.restart makes reconfigure() refuse (-EOPNOTSUPP), so a reload restarts it;
 *   - inbound events injected through the host's receive(): a threaded text reply
 *     (fake_chat_reply: thread = the remote id of the post it answers, no conversation, as
 *     Slack gives it), a button press (fake_chat_press: a question and value, and the
 *     conversation reference the button carried); each one's inbound_result (status,
 *     reason, the synchronous reply) is kept in its fake_event.
 * One running instance at a time (fake_chat.running). Include after cmocka.h. */
#pragma once

#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "channel-msg.h"
#include "util.h"

#define FAKE_CHAT_POSTS_MAX 512
#define FAKE_CHAT_EVENTS_MAX 64

typedef struct fake_post {
	channel_msg *msg;     /* a copy of what the spool handed over */
	char remote_id[32];   /* as Slack's ts */
	unsigned instance;    /* which start() posted it (1, 2, …) */
	send_done_fn done;    /* while held: the spool's callback */
	void *userdata;
	bool held;
	bool abandoned;       /* held when its instance stopped */
} fake_post;

typedef struct fake_event {
	char *key, *from, *thread, *conversation, *remote_id, *text;
	inbound_item item;
	bool has_item;
	/* the core's answer */
	bool done;
	inbound_status status;
	int error;
	char *reason, *reply;
} fake_event;

struct channel {
	const channel_host *h;
	unsigned instance;
};

static struct fake_chat {
	bool hold;    /* sends wait for fake_chat_complete() */
	bool restart; /* reconfigure() says -EOPNOTSUPP: a reload restarts the channel */
	const char *command; /* the channel's chat command ("/coco"), or NULL: none */
	unsigned starts, stops, reconfigures;
	unsigned seq; /* remote ids and event keys */
	fake_post posts[FAKE_CHAT_POSTS_MAX];
	size_t n_posts;
	fake_event *events[FAKE_CHAT_EVENTS_MAX];
	size_t n_events;
	channel *running;
} fake_chat;

static inline int fake_chat_start(const channel_host *h, channel **ret)
{
	channel *ch = xcalloc(1, sizeof *ch);
	ch->h = h;
	ch->instance = ++fake_chat.starts;
	fake_chat.running = ch;
	*ret = ch;
	return 0;
}

static inline int fake_chat_reconfigure(channel *ch)
{
	fake_chat.reconfigures++;
	return fake_chat.restart ? -EOPNOTSUPP : 0;
}

static inline int fake_chat_send(channel *ch, const channel_msg *m, send_done_fn done, void *userdata)
{
	assert_true(fake_chat.n_posts < FAKE_CHAT_POSTS_MAX);
	/* A deep copy: through the spool's own JSON form and back. */
	cJSON *o = NULL;
	assert_int_equal(channel_msg_to_json(m, &o), 0);
	fake_post *p = &fake_chat.posts[fake_chat.n_posts++];
	*p = (fake_post){.instance = ch->instance};
	assert_int_equal(channel_msg_from_json(o, &p->msg), 0);
	cJSON_Delete(o);
	snprintf(p->remote_id, sizeof p->remote_id, "1700000000.%06u", ++fake_chat.seq);
	if (fake_chat.hold) {
		p->held = true;
		p->done = done;
		p->userdata = userdata;
		return 0;
	}
	done(SEND_OK, NULL, p->remote_id, userdata);
	return 0;
}

/* Completes held post i (as Slack's answer to chat.postMessage arriving). */
static inline void fake_chat_complete(size_t i, send_status status)
{
	assert_true(i < fake_chat.n_posts);
	fake_post *p = &fake_chat.posts[i];
	assert_true(p->held);
	p->held = false;
	p->done(status, status == SEND_OK ? NULL : "fake failure",
	        status == SEND_OK ? p->remote_id : NULL, p->userdata);
}

static inline channel *fake_chat_stop(channel *ch)
{
	if (!ch)
		return NULL;
	fake_chat.stops++;
	/* What a real channel does with its transfers on stop: each send still in flight gets
	 * its done (channel.h), which the spool, having let go of it, ignores. */
	for (size_t i = 0; i < fake_chat.n_posts; i++) {
		fake_post *p = &fake_chat.posts[i];
		if (p->held && p->instance == ch->instance) {
			p->held = false;
			p->abandoned = true;
			p->done(SEND_RETRY, "channel stopped", NULL, p->userdata);
		}
	}
	if (fake_chat.running == ch)
		fake_chat.running = NULL;
	free(ch);
	return NULL;
}

static inline const char *fake_chat_command(const coco_config *cfg)
{
	return fake_chat.command;
}

static const channel_ops fake_chat_channel = {
	.name = "fakechat",
	.caps = CHANNEL_DM | CHANNEL_THREADS | CHANNEL_BUTTONS | CHANNEL_SYNC_REPLY,
	.address = "slack",
	.sections = NULL,
	.start = fake_chat_start,
	.reconfigure = fake_chat_reconfigure,
	.send = fake_chat_send,
	.stop = fake_chat_stop,
	.command = fake_chat_command,
	.kept_elsewhere = "the fake chat's posts stay on its server",
};

static void fake_event_free(fake_event *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->from);
	free(e->thread);
	free(e->conversation);
	free(e->remote_id);
	free(e->text);
	free((char *)e->item.question);
	free((char *)e->item.value);
	free(e->reason);
	free(e->reply);
	free(e);
}

/* Forgets every post and event (the settings stay). */
static inline void fake_chat_reset(void)
{
	for (size_t i = 0; i < fake_chat.n_posts; i++) {
		assert_false(fake_chat.posts[i].held);
		channel_msg_free(fake_chat.posts[i].msg);
	}
	for (size_t i = 0; i < fake_chat.n_events; i++)
		fake_event_free(fake_chat.events[i]);
	fake_chat = (struct fake_chat){0};
}

static inline void fake_chat_on_done(const inbound_result *res, void *userdata)
{
	fake_event *e = userdata;
	assert_false(e->done); /* exactly once */
	e->done = true;
	e->status = res->status;
	e->error = res->error;
	e->reason = res->reason ? xstrdup(res->reason) : NULL;
	e->reply = res->reply ? xstrdup(res->reply) : NULL;
}

static char *fake_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Hands an event to the core as the running instance; its result arrives in the event
 * (after the store's commit for anything recorded). key NULL: a new one (a Slack event id). */
static inline fake_event *fake_chat_inject_as(const char *key, const char *from, const char *thread,
                                       const char *conversation, const char *text,
                                       const char *question, const char *value,
                                       const char *command)
{
	assert_non_null(fake_chat.running);
	assert_true(fake_chat.n_events < FAKE_CHAT_EVENTS_MAX);
	fake_event *e = xcalloc(1, sizeof *e);
	fake_chat.events[fake_chat.n_events++] = e;
	unsigned n = ++fake_chat.seq;
	e->key = key ? xstrdup(key) : xasprintf("Ev%06u", n);
	e->from = fake_dup(from);
	e->thread = fake_dup(thread);
	e->conversation = fake_dup(conversation);
	e->remote_id = xasprintf("1700000000.%06u", n);
	e->text = fake_dup(text);
	if (question) {
		e->item = (inbound_item){xstrdup(question), xstrdup(value)};
		e->has_item = true;
	}
	inbound_msg m = {
		.key = e->key,
		.channel = fake_chat_channel.name,
		.from = e->from,
		.conversation = e->conversation,
		.thread = e->thread,
		.remote_id = e->remote_id,
		.text = e->text,
		.items = e->has_item ? &e->item : NULL,
		.n_items = e->has_item ? 1 : 0,
		.sender_verified = true, /* Slack signs who pressed or wrote */
		.command = command,
	};
	const channel_host *h = fake_chat.running->h;
	h->receive(h, &m, fake_chat_on_done, e);
	return e;
}

static inline fake_event *fake_chat_inject(const char *key, const char *from, const char *thread,
                                    const char *conversation, const char *text,
                                    const char *question, const char *value)
{
	return fake_chat_inject_as(key, from, thread, conversation, text, question, value, NULL);
}

/* A member's chat command, "/coco TEXT" (a Slack slash command). */
static inline fake_event *fake_chat_slash(const char *from, const char *text)
{
	return fake_chat_inject_as(NULL, from, NULL, NULL, text, NULL, NULL, "/coco");
}

/* A reply typed in the thread of post `thread` (its remote id): no conversation reference,
 * the core must find the round through the conversation index. */
static inline fake_event *fake_chat_reply(const char *from, const char *thread, const char *text)
{
	return fake_chat_inject(NULL, from, thread, NULL, text, NULL, NULL);
}

/* A button pressed under a post: the value the button carried, with the post's
 * conversation reference. */
static inline fake_event *fake_chat_press(const char *from, const fake_post *under, const char *question,
                                   const char *value)
{
	return fake_chat_inject(NULL, from, under->remote_id, under->msg->conversation, NULL,
	                        question, value);
}

/* The last post of `kind` to `member` (round NULL: any), or NULL. */
static inline const fake_post *fake_chat_find(const char *kind, const char *round, const char *member)
{
	for (size_t i = fake_chat.n_posts; i-- > 0;) {
		const channel_msg *m = fake_chat.posts[i].msg;
		if (STREQ(m->kind, kind) && (!round || STREQ(m->round, round)) && m->member &&
		    STREQ(m->member, member))
			return &fake_chat.posts[i];
	}
	return NULL;
}

/* How many posts of `kind` (NULL: any) went to `member` (NULL: anyone). */
static inline size_t fake_chat_count(const char *kind, const char *member)
{
	size_t n = 0;
	for (size_t i = 0; i < fake_chat.n_posts; i++) {
		const channel_msg *m = fake_chat.posts[i].msg;
		if ((!kind || STREQ(m->kind, kind)) && (!member || (m->member && STREQ(m->member, member))))
			n++;
	}
	return n;
}

/* How many times the message with spool id `id` was posted. */
static inline size_t fake_chat_posts_of(const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < fake_chat.n_posts; i++)
		if (STREQ(fake_chat.posts[i].msg->id, id))
			n++;
	return n;
}
