/* fuzz_control: the control socket as a client sees it. The input is the byte stream a
 * client sends — usually JSON request lines — written to a real control socket (control.c:
 * line framing, the line cap, cJSON parsing) whose handler is the daemon's: "status" and
 * "poll" answered here as cocod does, everything else through core_control() (rounds, open,
 * close, remind, digest, export, forget) on a real core, store, spool and local channel.
 *
 * Every input gets a fresh state directory on tmpfs, so a crash reproduces from its file
 * alone. The config (a small campaign) is loaded once; the clock is pinned inside it. Every
 * reply must be one JSON object line with a boolean "ok". */
#include "fuzz-common.h"

#include <sys/socket.h>
#include <sys/un.h>

#include "channels.h"
#include "channelset.h"
#include "clock.h"
#include "control.h"
#include "core.h"
#include "secret.h"

#ifndef COCO_SRCDIR
#define COCO_SRCDIR "."
#endif

static const char campaign_conf[] =
	"[Campaign]\nTitle=Fuzz\nTimeZone=Europe/Helsinki\nClient=Acme\nProvider=Northwind\n"
	"[Member \"ana\"]\nName=Ana\nSide=client\nEmail=ana@client.example\n"
	"[Member \"bo\"]\nName=Bo\nSide=provider\nEmail=bo@provider.example\n"
	"[Round \"kickoff\"]\nKind=survey\nTitle=Kickoff\nOpen=2026-12-01 09:00\nDuration=2d\n"
	"Remind=-1d\n"
	"[Question \"kickoff/mood\"]\nKind=scale\nText=How is it going?\n"
	"[Question \"kickoff/how\"]\nKind=choice\nText=Channel?\nOptions=Mail|Chat\n"
	"[Round \"ideas\"]\nKind=prompt\nTitle=Ideas\nOpen=2026-12-01 09:00\n"
	"Close=2026-12-03 09:00\n"
	"[Round \"ballot\"]\nKind=vote\nSource=ideas\nOpen=2026-12-04 09:00\nDuration=1d\n"
	"[Round \"secret\"]\nKind=survey\nAnonymous=yes\nOpen=2026-12-01 09:00\nDuration=1d\n"
	"[Question \"secret/q\"]\nKind=text\nText=Honestly?\n"
	"[Digest]\nRecipients=all\n";

static char *scratch, *state, *sock_path;
static coco_config *cfg;
static sd_event *loop;
static secret key;
static const char *tdirs[] = {COCO_SRCDIR "/templates", NULL};

struct daemon {
	store *st;
	spool *sp;
	core *core;
	channelset *chans;
};
static struct daemon dm;

static int on_control(const cJSON *req, cJSON **ret_reply, char **ret_error, void *userdata)
{
	struct daemon *d = userdata;
	const char *cmd = cJSON_GetObjectItem(req, "cmd")->valuestring;

	if (STREQ(cmd, "status")) {
		spool_counters c;
		spool_stats(d->sp, &c);
		*ret_reply = cJSON_CreateObject();
		cJSON_AddNumberToObject(*ret_reply, "queued", (double)c.queued);
		return 0;
	}
	if (STREQ(cmd, "poll")) {
		int n = channelset_poll(d->chans);
		*ret_reply = cJSON_CreateObject();
		cJSON_AddNumberToObject(*ret_reply, "polled", n > 0 ? n : 0);
		return 0;
	}
	int r = core_control(d->core, req, ret_reply, ret_error);
	if (r == -EOPNOTSUPP)
		*ret_error = xasprintf("unknown command \"%s\"", cmd);
	/* cocod's post source: commit after every loop turn that did anything. */
	(void)store_commit(d->st);
	(void)spool_run(d->sp);
	return r;
}

static void cleanup(void)
{
	config_free(cfg);
	sd_event_unref(loop);
	if (scratch && !getenv("COCO_FUZZ_KEEP"))
		fuzz_empty_dir(scratch), rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	scratch = fuzz_scratch_dir("control");
	atexit(cleanup);
	state = xasprintf("%s/state", scratch);
	sock_path = xasprintf("%s/control.sock", scratch);
	_cleanup_free_ char *etc = xasprintf("%s/etc/campaigns.d", scratch);
	fuzz_mkdirs(etc);
	_cleanup_free_ char *main_conf = xasprintf("%s/etc/coco.conf", scratch);
	_cleanup_free_ char *camp = xasprintf("%s/etc/campaigns.d/fuzz.conf", scratch);
	const char *m = "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n";
	fuzz_write(main_conf, m, strlen(m));
	fuzz_write(camp, campaign_conf, strlen(campaign_conf));
	_cleanup_free_ char *etc_dir = xasprintf("%s/etc", scratch);
	char **errors = NULL;
	channels_register_config();
	if (config_load(etc_dir, &cfg, &errors) < 0) {
		for (char **e = errors; e && *e; e++)
			fprintf(stderr, "fuzz_control: %s\n", *e);
		abort();
	}
	memcpy(key.key, "0123456789abcdef0123456789abcdef", 32);
	key.len = 32;
	if (sd_event_new(&loop) < 0)
		abort();
	return 0;
}

static void up(void)
{
	if (store_open(state, &dm.st) < 0 || spool_new(dm.st, &dm.sp) < 0 ||
	    core_new(cfg, dm.st, dm.sp, &key, tdirs, &dm.core) < 0 ||
	    channelset_new(loop, dm.st, dm.sp, dm.core, NULL, &dm.chans) < 0 ||
	    channelset_apply(dm.chans, cfg, state) < 0)
		abort();
	core_set_forget_hook(dm.core, channelset_forget, dm.chans);
}

static void down(void)
{
	(void)store_commit(dm.st);
	channelset_free(dm.chans);
	core_free(dm.core);
	spool_free(dm.sp);
	store_free(dm.st);
	memset(&dm, 0, sizeof dm);
	fuzz_empty_dir(state);
}

/* Checks the reply lines in buf[0..*len), keeps a partial last line. */
static void check_replies(char *buf, size_t *len)
{
	char *start = buf, *nl;
	while ((nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
		cJSON *r = cJSON_ParseWithLength(start, (size_t)(nl - start));
		if (!cJSON_IsObject(r) || !cJSON_IsBool(cJSON_GetObjectItem(r, "ok"))) {
			fprintf(stderr, "fuzz_control: bad reply \"%.*s\"\n", (int)(nl - start), start);
			abort();
		}
		cJSON_Delete(r);
		start = nl + 1;
	}
	*len -= (size_t)(start - buf);
	memmove(buf, start, *len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2026-12-02 10:00 Helsinki: kickoff and ideas are due to be open, ballot not yet. */
	clock_set_test(1796198400);
	up();
	control *ctl = NULL;
	if (control_new(loop, sock_path, on_control, &dm, &ctl) < 0)
		abort();

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		abort();

	size_t sent = 0, cap = 1 << 16, have = 0;
	char *in = xmalloc(cap);
	bool eof = false, shut = false;
	/* Alternate: send what the socket takes, let the loop turn, read what came back. */
	for (unsigned turns = 0; !eof && turns < 100000; turns++) {
		if (sent < size) {
			ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = size; /* the daemon closed on us (line too long) */
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		(void)sd_event_run(loop, 0);
		for (;;) {
			if (have == cap)
				in = xrealloc(in, cap *= 2);
			ssize_t n = recv(fd, in + have, cap - have, MSG_DONTWAIT);
			if (n > 0) {
				have += (size_t)n;
				check_replies(in, &have);
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = true;
			break;
		}
	}
	if (!eof) {
		fprintf(stderr, "fuzz_control: the daemon neither answered nor closed\n");
		abort();
	}
	free(in);
	close(fd);
	control_free(ctl);
	down();
	clock_set_real();
	return 0;
}
