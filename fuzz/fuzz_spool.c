/* fuzz_spool: a spool entry read back. The input is written as
 * spool/local/new/fuzz.json and spool/flaky/new/fuzz.json in a fresh store on tmpfs, then
 * spool_new() indexes it and spool_run() hands it on: to the real local channel (which
 * reads the message's fields and composes the mail into a maildir outbox) and to "flaky", a
 * connector that fails (temporarily, or for good when the input's length is odd), so the
 * retry bookkeeping reads and rewrites the entry too. A second run two days later gives up
 * or retries again. Counters must add up to the one message per connector. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const conns[] = {"local", "flaky"};
	for (size_t i = 0; i < ELEMENTSOF(conns); i++) {
		_cleanup_free_ char *dir = xasprintf("%s/spool/%s/new", state, conns[i]);
		_cleanup_free_ char *file = xasprintf("%s/fuzz.json", dir);
		fuzz_mkdirs(dir);
		fuzz_write(file, data, size);
	}
	flaky_final = size % 2;
	clock_set_test(1796630400);

	store *st = NULL;
	spool *sp = NULL;
	if (store_open(state, &st) < 0 || spool_new(st, &sp) < 0)
		abort();
	if (spool_attach(sp, &local_channel, local) < 0 || spool_attach(sp, &flaky_ops, NULL) < 0)
		abort();
	(void)spool_next_due(sp);
	(void)spool_run(sp);
	clock_advance(2 * 24 * 3600);
	(void)spool_next_due(sp);
	(void)spool_run(sp);

	spool_counters c;
	spool_stats(sp, &c);
	if (c.in_flight != 0 || c.queued + c.sent + c.failed > 2) {
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
