/* The simulated campaign harness shared by the end-to-end core tests: the real core, store,
 * spool and local connector on the injectable clock, with members replying by mail files as
 * a mail client would. sim_start_with() runs other channels beside it (a test's own, such
 * as tests/fake-chat.h) from a coco.conf of the test's. Include after cmocka.h. */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "channels.h"
#include "channelset.h"
#include "core.h"
#include "email/address.h"
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
	channelset *chans; /* the channels, run as cocod runs them */
	const channel_ops *const *channels; /* the test's channel list, or NULL: the built-in */
	secret key;
	cJSON *seen; /* spool ids already turned into events */
	event ev[4096];
	size_t n_ev;
	unsigned mail_seq;
} sim;

static inline void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static inline void sim_up(sim *s)
{
	const char *const tdirs[] = {"templates", NULL};
	assert_int_equal(store_open(s->state, &s->st), 0);
	assert_int_equal(spool_new(s->st, &s->sp), 0);
	assert_int_equal(core_new(s->cfg, s->st, s->sp, &s->key, tdirs, &s->core), 0);
	assert_int_equal(channelset_new(s->loop, s->st, s->sp, s->core, NULL, &s->chans), 0);
	if (s->channels)
		channelset_use_list(s->chans, s->channels);
	assert_int_equal(channelset_apply(s->chans, s->cfg, s->state), 0);
	core_set_forget_hook(s->core, channelset_forget, s->chans);
	spool_set_sent_hook(s->sp, core_note_sent, s->core);
}

static inline void sim_down(sim *s)
{
	store_commit(s->st);
	s->chans = channelset_free(s->chans);
	s->core = core_free(s->core);
	s->sp = spool_free(s->sp);
	s->st = store_free(s->st);
}

/* Tells the config loader about the channels of list (the test's): their names and
 * sections. The definitions must outlive every config_load(), hence static. */
static inline void sim_register_channels(const channel_ops *const *list)
{
	static config_channel_def defs[8];
	size_t n = 0;
	for (; list[n]; n++) {
		assert_true(n < ELEMENTSOF(defs));
		defs[n] = (config_channel_def){list[n]->name, list[n]->sections,
		                                list[n]->campaign_keys, list[n]->config_check};
	}
	config_register_channels(defs, n);
}

/* A simulated campaign with the test's coco.conf (NULL: the local channel alone) and its
 * channel list (NULL: the built-in channels; else every channel Connectors= may name,
 * e.g. {&local_channel, &fake_chat_channel, NULL}). */
static inline void sim_start_with(sim *s, const char *coco_conf,
                                  const channel_ops *const *channels, const char *campaign_conf)
{
	memset(s, 0, sizeof *s);
	s->channels = channels;
	snprintf(s->dir, sizeof s->dir, "/tmp/coco-sim.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	_cleanup_free_ char *etc = xasprintf("%s/etc", s->dir);
	_cleanup_free_ char *cd = xasprintf("%s/etc/campaigns.d", s->dir);
	_cleanup_free_ char *conf = xasprintf("%s/etc/coco.conf", s->dir);
	_cleanup_free_ char *camp = xasprintf("%s/etc/campaigns.d/sim.conf", s->dir);
	assert_int_equal(mkdir(etc, 0700), 0);
	assert_int_equal(mkdir(cd, 0700), 0);
	write_text(conf, coco_conf ? coco_conf
	                           : "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n");
	write_text(camp, campaign_conf);
	char **errors = NULL;
	if (channels)
		sim_register_channels(channels);
	else
		channels_register_config();
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

static inline void sim_start(sim *s, const char *campaign_conf)
{
	sim_start_with(s, NULL, NULL, campaign_conf);
}

/* What cocod does on SIGHUP: the campaign file becomes campaign_conf, the configuration is
 * loaded again, the core takes it, and the channels are reconfigured (or restarted). */
static inline void sim_reload(sim *s, const char *campaign_conf)
{
	_cleanup_free_ char *etc = xasprintf("%s/etc", s->dir);
	_cleanup_free_ char *camp = xasprintf("%s/etc/campaigns.d/sim.conf", s->dir);
	write_text(camp, campaign_conf);
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(etc, &cfg, &errors);
	for (char **e = errors; e && *e; e++)
		fprintf(stderr, "config: %s\n", *e);
	strv_free(errors);
	assert_int_equal(r, 0);
	assert_int_equal(core_set_config(s->core, cfg), 0);
	assert_int_equal(channelset_apply(s->chans, cfg, s->state), 0);
	config_free(s->cfg);
	s->cfg = cfg;
}

static inline void sim_finish(sim *s)
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

/* Turns the messages every channel sent since the last call into events. */
static inline void collect_channel(sim *s, const char *chan)
{
	char **ids = NULL;
	_cleanup_free_ char *dir = xasprintf("spool/%s/cur", chan);
	if (store_list(s->st, dir, &ids) < 0)
		return;
	for (char **id = ids; *id; id++) {
		/* By spool id alone: a member is reached on one channel, and tests forget an id
		 * they removed by it. */
		if (cJSON_GetObjectItemCaseSensitive(s->seen, *id))
			continue;
		cJSON_AddTrueToObject(s->seen, *id);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, *id);
		_cleanup_free_ char *data = NULL;
		assert_int_equal(store_read(s->st, path, 1 << 22, &data, NULL), 0);
		cJSON *m = cJSON_Parse(data);
		assert_non_null(m);
		assert_true(s->n_ev < ELEMENTSOF(s->ev));
		event *e = &s->ev[s->n_ev++];
		e->at = clock_now();
		const cJSON *v;
		/* A private message keeps only its id and kind once sent. */
		v = cJSON_GetObjectItem(m, "kind");
		snprintf(e->kind, sizeof e->kind, "%s", cJSON_IsString(v) ? v->valuestring : "");
		v = cJSON_GetObjectItem(m, "round");
		snprintf(e->round, sizeof e->round, "%s", cJSON_IsString(v) ? v->valuestring : "");
		v = cJSON_GetObjectItem(m, "occurrence");
		snprintf(e->occ, sizeof e->occ, "%s", cJSON_IsString(v) ? v->valuestring : "");
		v = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member");
		snprintf(e->member, sizeof e->member, "%s", cJSON_IsString(v) ? v->valuestring : "");
		cJSON_Delete(m);
	}
	strv_free(ids);
}

static inline void collect(sim *s)
{
	char **chans = NULL;
	if (store_list(s->st, "spool", &chans) < 0)
		return;
	for (char **c = chans; *c; c++)
		collect_channel(s, *c);
	strv_free(chans);
}

static inline void settle(sim *s)
{
	store_commit(s->st);
	spool_run(s->sp);
	collect(s);
}

/* Steps from due event to due event until `until`; calls on_step after each. */
static inline void run_until(sim *s, int64_t until, void (*on_step)(sim *s, void *ud), void *ud)
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

/* Delivers one mail into the inbox and lets the connector read it. */
static inline void deliver_mail(sim *s, const char *mail)
{
	++s->mail_seq;
	_cleanup_free_ char *tmp = xasprintf("%s/local/inbox/tmp/m%u", s->state, s->mail_seq);
	_cleanup_free_ char *dst = xasprintf("%s/local/inbox/new/m%u", s->state, s->mail_seq);
	write_text(tmp, mail);
	assert_int_equal(rename(tmp, dst), 0);
	assert_true(channelset_poll(s->chans) >= 1);
	settle(s);
}

/* A delivery status notification as Postfix writes it: `failed` could not be delivered
 * (`status` "5.1.1", `smtp` "550 5.1.1", `why` "User unknown"), the returned headers carry
 * `original` as Message-ID; number n makes its own Message-ID. */
static inline void deliver_dsn(sim *s, unsigned n, const char *failed, const char *original,
                               const char *status, const char *smtp, const char *why)
{
	_cleanup_free_ char *mail = xasprintf(
		"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.provider.example (Mail Delivery System)\r\n"
		"To: coco@provider.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
		"Auto-Submitted: auto-replied\r\nMessage-Id: <dsn%u@mx.provider.example>\r\n"
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
		" boundary=\"B\"\r\n\r\n"
		"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
		"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
		"Reporting-MTA: dns; mx.provider.example\r\n\r\n"
		"Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n"
		"Diagnostic-Code: smtp; %s <%s>: %s\r\n\r\n"
		"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
		"From: Coco <coco@provider.example>\r\nTo: <%s>\r\nMessage-ID: <%s>\r\n"
		"Subject: [Trust] Survey\r\n\r\n--B--\r\n",
		n, failed, status, smtp, failed, why, failed, original);
	deliver_mail(s, mail);
}

static inline void reply_as(sim *s, const char *kind, const char *member, const char *round,
                            const char *occ, const char *from, const char *body);

/* A member replies by mail to a message of `kind` for round/occ (occ NULL: any), as a mail
 * client would. */
static inline void reply_to_message(sim *s, const char *kind, const char *member, const char *round,
                             const char *occ, const char *body)
{
	reply_as(s, kind, member, round, occ, NULL, body);
}

/* The same, sent from `from` (NULL: the member's own first address). */
static inline void reply_as(sim *s, const char *kind, const char *member, const char *round,
                            const char *occ, const char *from, const char *body)
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
		if (cJSON_IsTrue(cJSON_GetObjectItem(m, "private"))) {
			cJSON_Delete(m);
			continue;
		}
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
	/* As the mail carried them (the email channel's Reply-To and Message-ID). */
	const char *ref = cJSON_GetObjectItem(found, "conversation")->valuestring;
	_cleanup_free_ char *rt = email_reply_to(config_get(s->cfg, "Mail", "From"), ref);
	_cleanup_free_ char *mid = email_message_id(config_get(s->cfg, "Mail", "From"),
	                                           cJSON_GetObjectItem(found, "id")->valuestring, ref);
	reply_to = rt;
	msgid = mid;
	subject = cJSON_GetObjectItem(found, "subject")->valuestring;
	/* From the member's own (first) address, as their mail client sends it. */
	const coco_member *mb = NULL;
	for (size_t i = 0; !mb && i < s->cfg->n_campaigns; i++)
		mb = campaign_find_member(&s->cfg->campaigns[i], member);
	assert_non_null(mb);
	assert_true(mb->n_emails > 0);
	_cleanup_free_ char *mail = xasprintf(
		"From: %s\r\nTo: <%s>\r\nSubject: Re: %s\r\n"
		"Message-ID: <sim%u.%s@example.org>\r\nIn-Reply-To: <%s>\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n\r\n> quoted invitation\r\n",
		from ? from : mb->emails[0], reply_to, subject, s->mail_seq + 1, member, msgid, body);
	cJSON_Delete(found);
	deliver_mail(s, mail);
}

static inline void answer(sim *s, const char *member, const char *round, const char *occ,
                   const char *body)
{
	reply_to_message(s, "prompt", member, round, occ, body);
}

static inline size_t count(const sim *s, const char *kind, const char *round, const char *occ,
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
static inline int64_t first_at(const sim *s, const char *kind, const char *round, const char *occ,
                        const char *member)
{
	for (size_t i = 0; i < s->n_ev; i++)
		if (STREQ(s->ev[i].kind, kind) && STREQ(s->ev[i].round, round) &&
		    (!occ || STREQ(s->ev[i].occ, occ)) && (!member || STREQ(s->ev[i].member, member)))
			return s->ev[i].at;
	return -1;
}

static inline bool store_has(sim *s, const char *path)
{
	return store_exists(s->st, path) > 0;
}


/* ---- what the end-to-end core tests check with ------------------------------------------ */

#define JUN1 INT64_C(1780272000) /* 2026-06-01 00:00Z, a Monday */
#define HOUR 3600
#define DAY 86400

/* Two members on the client's side, one on the provider's. */
#define SIM_MEMBERS                                                                            \
	"[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"            \
	"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"            \
	"[Member \"pia\"]\nName=Pia Provider\nSide=provider\nEmail=pia@provider.example\n"

/* A file of the store (NULL if it cannot be read); the caller frees it. */
static inline char *read_store(sim *s, const char *path)
{
	char *data = NULL;
	if (store_read(s->st, path, 1 << 24, &data, NULL) < 0)
		return NULL;
	return data;
}

static inline void expect_in(const char *text, const char *want)
{
	if (!text || !strstr(text, want))
		fail_msg("expected \"%s\" in:\n%s", want, text ? text : "(nothing)");
}

static inline void expect_not_in(const char *text, const char *unwanted)
{
	if (text && strstr(text, unwanted))
		fail_msg("did not expect \"%s\" in:\n%s", unwanted, text);
}

/* An admin command as cococtl sends it (`force`: --force; `cococtl digest CAMPAIGN ROUND`
 * sends the two apart), then the loop settled; the reply, or NULL with *err set. */
static inline cJSON *cococtl(sim *s, const char *cmd, const char *round, bool force, char **err)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	cJSON_AddStringToObject(req, "cmd", cmd);
	const char *slash = round ? strchr(round, '/') : NULL;
	if (STREQ(cmd, "digest") && slash) {
		_cleanup_free_ char *camp = xstrndup(round, (size_t)(slash - round));
		cJSON_AddStringToObject(req, "campaign", camp);
		cJSON_AddStringToObject(req, "round", slash + 1);
	} else if (round)
		cJSON_AddStringToObject(req, "round", round);
	if (force)
		cJSON_AddTrueToObject(req, "force");
	*err = NULL;
	int r = core_control(s->core, req, &reply, err);
	cJSON_Delete(req);
	settle(s);
	return r < 0 ? NULL : reply;
}

/* cococtl CMD ROUND, which must succeed. */
static inline void cococtl_ok(sim *s, const char *cmd, const char *round)
{
	char *err = NULL;
	cJSON *o = cococtl(s, cmd, round, false, &err);
	if (!o)
		fail_msg("cococtl %s %s: %s", cmd, round, err ? err : "?");
	cJSON_Delete(o);
}

/* The local channel's sent message of `kind` (about `round`, NULL: any) to `member` that
 * was queued or rewritten last (NULL if none; private ones keep no addressee once sent). */
static inline cJSON *last_spooled_about(sim *s, const char *kind, const char *round,
                                        const char *member)
{
	char **ids = NULL;
	cJSON *found = NULL;
	int64_t best = -1;
	assert_int_equal(store_list(s->st, "spool/local/cur", &ids), 0);
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = xasprintf("spool/local/cur/%s", *id);
		_cleanup_free_ char *data = read_store(s, path);
		assert_non_null(data);
		cJSON *m = cJSON_Parse(data);
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(m, "kind"));
		const char *to = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetObjectItem(m, "to"), "member"));
		struct stat st;
		_cleanup_free_ char *full = xasprintf("%s/%s", s->state, path);
		assert_int_equal(stat(full, &st), 0);
		int64_t t = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		const char *rd = cJSON_GetStringValue(cJSON_GetObjectItem(m, "round"));
		if (k && to && STREQ(k, kind) && STREQ(to, member) && t >= best &&
		    (!round || (rd && STREQ(rd, round)))) {
			cJSON_Delete(found);
			found = m;
			best = t;
		} else
			cJSON_Delete(m);
	}
	strv_free(ids);
	return found;
}

static inline cJSON *last_spooled(sim *s, const char *kind, const char *member)
{
	return last_spooled_about(s, kind, NULL, member);
}

/* The Markdown of the newest message of `kind` to `member` (NULL if none). */
static inline char *last_markdown(sim *s, const char *kind, const char *member)
{
	cJSON *m = last_spooled(s, kind, member);
	const char *md = cJSON_GetStringValue(cJSON_GetObjectItem(m, "markdown"));
	char *ret = md ? xstrdup(md) : NULL;
	cJSON_Delete(m);
	return ret;
}

/* The headers a reply to member's last invitation to round (NULL: any round) carries (To:
 * its Reply-To, In-Reply-To: and References: its Message-ID), as "To: …\r\nIn-Reply-To:
 * …\r\nReferences: …": what the member's mail client copies. display is the To: display
 * name. */
static inline char *sim_reply_headers_about(sim *s, const char *round, const char *member,
                                            const char *display)
{
	cJSON *found = last_spooled_about(s, "prompt", round, member);
	assert_non_null(found);
	const char *ref = cJSON_GetObjectItem(found, "conversation")->valuestring;
	const char *from = config_get(s->cfg, "Mail", "From");
	_cleanup_free_ char *rt = email_reply_to(from, ref);
	_cleanup_free_ char *mid =
		email_message_id(from, cJSON_GetObjectItem(found, "id")->valuestring, ref);
	cJSON_Delete(found);
	return xasprintf("To: %s <%s>\r\nIn-Reply-To: <%s>\r\nReferences: <%s>", display, rt, mid,
	                 mid);
}

static inline char *sim_reply_headers(sim *s, const char *member, const char *display)
{
	return sim_reply_headers_about(s, NULL, member, display);
}

/* The last stored answer line of member in round's one-shot occurrence of campaign "t"
 * (their current answer), parsed; fails the test if there is none. */
static inline cJSON *sim_stored_answer(sim *s, const char *round, const char *member)
{
	_cleanup_free_ char *path = xasprintf("campaigns/t/rounds/%s/once/answers.jsonl", round);
	_cleanup_free_ char *all = read_store(s, path);
	assert_non_null(all);
	_cleanup_free_ char *want = xasprintf("\"member\":\"%s\"", member);
	cJSON *found = NULL;
	for (char *line = all, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if (strstr(line, want)) {
			cJSON_Delete(found);
			found = cJSON_Parse(line);
		}
	}
	if (!found)
		fail_msg("no stored answer of %s", member);
	return found;
}

/* The string field name of o; fails the test if it has none. */
static inline const char *json_field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItem(o, name);
	if (!cJSON_IsString(f))
		fail_msg("no string \"%s\"", name);
	return f->valuestring;
}

/* The local outbox's mails (new/ then cur/), each whole, to fn until it returns true. */
static inline void sim_outbox_each(sim *s, bool (*fn)(char *mail, void *userdata),
                                   void *userdata)
{
	static const char *const boxes[] = {"new", "cur"};
	for (size_t k = 0; k < ELEMENTSOF(boxes); k++) {
		_cleanup_free_ char *dir = xasprintf("%s/local/outbox/%s", s->state, boxes[k]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		bool stop = false;
		while (!stop && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
			_cleanup_free_ char *data = NULL;
			size_t len = 0;
			if (read_regular_file(p, 1 << 22, &data, &len) >= 0)
				stop = fn(data, userdata);
		}
		closedir(d);
		if (stop)
			return;
	}
}

struct sim_outbox_find {
	const char *addr, *needle;
	char *found;
};

static inline bool sim_outbox_find_one(char *mail, void *userdata)
{
	struct sim_outbox_find *f = userdata;
	if (!strstr(mail, f->addr) || !strstr(mail, f->needle))
		return false;
	f->found = xstrdup(mail);
	return true;
}

/* The local outbox's mail (new/ or cur/) to addr whose raw text holds needle, whole; NULL if
 * none. */
static inline char *sim_outbox_mail_with(sim *s, const char *addr, const char *needle)
{
	struct sim_outbox_find f = {.addr = addr, .needle = needle};
	sim_outbox_each(s, sim_outbox_find_one, &f);
	return f.found;
}
