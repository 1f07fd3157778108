/* fuzz_spool: a spool entry read back. The input (up to a form feed, if any) is written as
 * spool/local/new/fuzz.json and spool/flaky/new/fuzz.json, and as a batch file,
 * spool/<conn>/new/b-fuzz.batch (a header {"v":1,"batch":"b-fuzz","ids":[…]} and a message a
 * line); what follows a form feed is the connectors' journal (spool/<conn>/journal: one
 * {"v":1,"batch","id","sent"} a line). All in a fresh store on tmpfs, then
 * spool_new() indexes it and spool_run() hands it on: to the real local channel (which
 * reads the message's fields and composes the mail into a maildir outbox) and to "flaky", a
 * connector that fails (temporarily, or for good when the input's length is odd), so the
 * retry bookkeeping reads and rewrites the entry too. A second run two days later gives up
 * or retries again; then spool_forget() rewrites or erases every other message (batch files
 * written again). Counters must add up to at most the messages the input can hold. A damaged
 * journal (not a torn last line) stops spool_new() with -EBADMSG: that is an answer. */
#include "fuzz-common.h"

#include "channel.h"
#include "clock.h"
#include "local.h"
#include "spool.h"
#include "store.h"

static char *scratch, *state, *outbox_dir;
static coco_config cfg;
static coco_setting settings[4];
static channel_host host;
static sd_event *loop;
static channel *local;
static bool flaky_final;

static int flaky_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	/* Read the fields a real channel would. */
	volatile const char *address = m->address, *text = m->markdown;
	(void)address;
	(void)text;
	done(flaky_final ? SEND_FAIL : SEND_RETRY, "flaky", NULL, userdata);
	return 0;
}

/* The inbox stays empty: nothing arrives. */
static void on_inbound(const channel_host *h, const inbound_msg *m, inbound_done_fn done,
                       void *userdata)
{
	inbound_result res = {.status = INBOUND_DONE};
	done(&res, userdata);
}

static const channel_ops flaky_ops = {.name = "flaky", .send = flaky_send};

static void cleanup(void)
{
	if (local)
		local_channel.stop(local);
	sd_event_unref(loop);
	if (scratch && !getenv("COCO_FUZZ_KEEP"))
		fuzz_empty_dir(scratch), rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	scratch = fuzz_scratch_dir("spool");
	state = xasprintf("%s/state", scratch);
	outbox_dir = xasprintf("%s/outbox", scratch);
	settings[0] = (coco_setting){"Mail", "From", "coco@provider.example", 0};
	settings[1] = (coco_setting){"Mail", "Name", "Coco", 0};
	settings[2] = (coco_setting){"Local", "Outbox", outbox_dir, 0};
	settings[3] = (coco_setting){"Local", "Inbox", xasprintf("%s/inbox", scratch), 0};
	cfg.settings = settings;
	cfg.n_settings = ELEMENTSOF(settings);
	if (sd_event_new(&loop) < 0)
		abort();
	host = (channel_host){.loop = loop, .cfg = &cfg, .name = "local", .state_dir = scratch,
	                      .receive = on_inbound};
	if (local_channel.start(&host, &local) < 0) {
		fprintf(stderr, "fuzz_spool: cannot start the local connector\n");
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* Removes the files the local connector wrote, keeps its maildir. */
static int rm_file(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_F || flag == FTW_SL)
		remove(path);
	return 0;
}

static unsigned forget_calls;

static spool_verdict forget_some(cJSON *msg, void *userdata)
{
	switch (forget_calls++ % 3) {
	case 0:
		return SPOOL_KEEP;
	case 1:
		cJSON_DeleteItemFromObjectCaseSensitive(msg, "markdown");
		cJSON_AddStringToObject(msg, "markdown", "(scrubbed)");
		return SPOOL_REWRITE;
	default:
		return SPOOL_ERASE;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const conns[] = {"local", "flaky"};
	const uint8_t *ff = memchr(data, '\f', size);
	size_t msg_size = ff ? (size_t)(ff - data) : size;
	size_t lines = 1;
	for (size_t i = 0; i < msg_size; i++)
		lines += data[i] == '\n';
	for (size_t i = 0; i < ELEMENTSOF(conns); i++) {
		_cleanup_free_ char *dir = xasprintf("%s/spool/%s/new", state, conns[i]);
		_cleanup_free_ char *file = xasprintf("%s/fuzz.json", dir);
		_cleanup_free_ char *batch = xasprintf("%s/b-fuzz.batch", dir);
		fuzz_mkdirs(dir);
		fuzz_write(file, data, msg_size);
		fuzz_write(batch, data, msg_size);
		if (ff) {
			_cleanup_free_ char *journal = xasprintf("%s/spool/%s/journal", state, conns[i]);
			fuzz_write(journal, ff + 1, size - msg_size - 1);
		}
	}
	flaky_final = size % 2;
	clock_set_test(1796630400);

	store *st = NULL;
	spool *sp = NULL;
	if (store_open(state, &st) < 0)
		abort();
	int r = spool_new(st, &sp);
	if (r == -EBADMSG && ff) {
		store_free(st);
		fuzz_empty_dir(state);
		clock_set_real();
		return 0;
	}
	if (r < 0)
		abort();
	if (spool_attach(sp, &local_channel, local) < 0 || spool_attach(sp, &flaky_ops, NULL) < 0)
		abort();
	(void)spool_next_due(sp);
	(void)spool_run(sp);
	clock_advance(2 * 24 * 3600);
	(void)spool_next_due(sp);
	(void)spool_run(sp);
	(void)spool_forget(sp, forget_some, NULL, NULL, NULL);
	(void)spool_run(sp);

	/* Each connector: its fuzz.json, and at most a message a line of the batch file. */
	spool_counters c;
	spool_stats(sp, &c);
	if (c.in_flight != 0 || c.queued + c.sent + c.failed > 2 * (1 + lines)) {
		fprintf(stderr, "fuzz_spool: queued %zu in flight %zu sent %zu failed %zu\n",
			c.queued, c.in_flight, c.sent, c.failed);
		abort();
	}
	spool_free(sp);
	store_free(st);
	fuzz_empty_dir(state);
	nftw(outbox_dir, rm_file, 16, FTW_PHYS);
	clock_set_real();
	return 0;
}
