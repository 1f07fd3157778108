/* imap: the IMAP client against a real Dovecot, which tests/t-imap.sh starts (through
 * tests/lib-dovecot.sh) and describes in the environment; run alone, this says SKIP.
 *
 * Each test uses a folder of its own, made as a Maildir++ folder on disk, and delivers mail
 * by writing it into the folder's Maildir (tmp/, then new/), with CRLF line ends so the
 * server hands back exactly those bytes. What the server did is read back from the Maildir
 * too (a flag is a letter after ":2," in the file name; a moved mail lives in .Processed).
 *
 * Nothing is timed as a speed limit: the loop runs until what is awaited happened, with a
 * 60 s deadline that only a hang reaches. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "email/imap.h"
#include "util.h"

#define DEADLINE_USEC (60 * 1000000ULL)
#define MAX_GOT (IMAP_MAX_IN_FLIGHT + 64)

static const char *env_port, *env_imaps_port, *env_ca, *env_maildir, *env_dir, *env_user,
	*env_password, *env_noidle_port, *env_noidle_maildir, *env_lib;

typedef struct got {
	uint32_t uid, uidvalidity;
	char *raw;
	size_t len;
	bool too_large;
	imap_ack *ack;
} got;

typedef struct fx {
	sd_event *loop;
	imap_client *c;
	imap_config cfg;
	uint32_t validity, last; /* the caller's durable cursor */
	unsigned saves;
	got got[MAX_GOT];
	size_t n_got;
	bool hold;               /* keep acks for the test to answer */
	unsigned outstanding;    /* held acks not yet answered */
	imap_result auto_result; /* otherwise answer at once with this */
	unsigned n_connected, n_idle, n_polling, n_disconnected, n_reset;
	char last_detail[1024];
	char disconnect_detail[1024], polling_detail[1024];
	const char *maildir;
	char folder[64];
} fx;

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int h_cursor_load(void *u, uint32_t *v, uint32_t *l)
{
	fx *f = u;
	*v = f->validity;
	*l = f->last;
	return 0;
}

static void h_cursor_save(void *u, uint32_t v, uint32_t l)
{
	fx *f = u;
	f->validity = v;
	f->last = l;
	f->saves++;
}

static void h_on_message(void *u, const imap_message *m, imap_ack *ack)
{
	fx *f = u;
	got *g;

	assert_true(f->n_got < MAX_GOT);
	g = &f->got[f->n_got++];
	g->uid = m->uid;
	g->uidvalidity = m->uidvalidity;
	g->too_large = m->too_large;
	g->len = m->len;
	g->raw = m->raw ? xstrndup(m->raw, m->len) : NULL;
	if (m->raw)
		assert_int_equal(strlen(g->raw), m->len); /* no NUL in our test mail */
	if (f->hold) {
		g->ack = ack;
		f->outstanding++;
		/* The window: never more than this many waiting for their ack. */
		assert_true(f->outstanding <= IMAP_MAX_IN_FLIGHT);
	}
	else
		imap_ack_done(ack, f->auto_result);
}

static void h_on_state(void *u, imap_state s, const char *detail)
{
	fx *f = u;

	print_message("  [%s] %s\n", imap_state_to_string(s), detail ? detail : "");
	snprintf(f->last_detail, sizeof(f->last_detail), "%s", detail ? detail : "");
	switch (s) {
	case IMAP_STATE_CONNECTED: f->n_connected++; break;
	case IMAP_STATE_IDLE: f->n_idle++; break;
	case IMAP_STATE_POLLING:
		f->n_polling++;
		snprintf(f->polling_detail, sizeof(f->polling_detail), "%s", f->last_detail);
		break;
	case IMAP_STATE_DISCONNECTED:
		f->n_disconnected++;
		snprintf(f->disconnect_detail, sizeof(f->disconnect_detail), "%s", f->last_detail);
		break;
	case IMAP_STATE_CURSOR_RESET: f->n_reset++; break;
	default: fail();
	}
	/* A password must never reach a log line. */
	assert_null(strstr(f->last_detail, env_password));
}

static const imap_hooks hooks = {
	.cursor_load = h_cursor_load,
	.cursor_save = h_cursor_save,
	.on_message = h_on_message,
	.on_state = h_on_state,
};

#define run_until(f, cond)                                                                         \
	do {                                                                                       \
		uint64_t _end = now_usec() + DEADLINE_USEC;                                        \
		while (!(cond)) {                                                                  \
			if (now_usec() > _end)                                                     \
				fail_msg("timed out waiting for %s", #cond);                       \
			assert_true(sd_event_run((f)->loop, 100000) >= 0);                         \
		}                                                                                  \
	} while (0)

/* Runs what the loop has ready now (the cursor is saved from a defer source). */
static void pump(fx *f)
{
	for (int i = 0; i < 4; i++)
		assert_true(sd_event_run(f->loop, 0) >= 0);
}

/* ---- the Maildir side ---- */

static void mkdir_owned(const char *path, const struct stat *owner)
{
	if (mkdir(path, 0700) < 0)
		assert_int_equal(errno, EEXIST);
	assert_int_equal(chown(path, owner->st_uid, owner->st_gid), 0);
}

/* A fresh folder: Maildir/.NAME/{cur,new,tmp}, owned like the Maildir. */
static void make_folder(fx *f, const char *name)
{
	struct stat st;
	char p[PATH_MAX];

	assert_int_equal(stat(f->maildir, &st), 0);
	snprintf(f->folder, sizeof(f->folder), "%s", name);
	snprintf(p, sizeof(p), "%s/.%s", f->maildir, name);
	mkdir_owned(p, &st);
	for (const char *const *d = (const char *const[]){"cur", "new", "tmp", NULL}; *d; d++) {
		snprintf(p, sizeof(p), "%s/.%s/%s", f->maildir, name, *d);
		mkdir_owned(p, &st);
	}
}

/* A message with a unique token, CRLF line ends; returned (malloc'd) for comparison. */
static char *deliver_into(const char *maildir, const char *folder, const char *token,
                          size_t body_size)
{
	static unsigned seq;
	char tmp[PATH_MAX], dst[PATH_MAX];
	strbuf b = {0};
	int fd;

	strbuf_printf(&b, "From: Someone <someone@example.org>\r\nTo: coco@example.org\r\n"
	                  "Subject: test %s\r\nMessage-ID: <%s@example.org>\r\n\r\n"
	                  "Hello %s.\r\n",
	              token, token, token);
	for (size_t i = 0; i < body_size / 64; i++)
		strbuf_puts(&b, "0123456789012345678901234567890123456789012345678901234567890\r\n");
	char *msg = strbuf_steal(&b);
	snprintf(tmp, sizeof(tmp), "%s/.%s/tmp/%ld.M%uP%d.test", maildir, folder, (long)time(NULL),
	         ++seq, (int)getpid());
	snprintf(dst, sizeof(dst), "%s/.%s/new/%ld.M%uP%d.test", maildir, folder, (long)time(NULL),
	         seq, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	assert_int_equal(close(fd), 0);
	assert_int_equal(rename(tmp, dst), 0);
	return msg;
}

static char *deliver(fx *f, const char *token)
{
	return deliver_into(f->maildir, f->folder, token, 0);
}

/* The flags of the file in FOLDER holding TOKEN ("" when none; NULL when not found). */
static char *flags_of(const char *maildir, const char *folder, const char *token)
{
	static char flags[64];
	const char *subs[] = {"new", "cur"};

	for (size_t s = 0; s < 2; s++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/.%s/%s", maildir, folder, subs[s]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[PATH_MAX * 2];
			_cleanup_free_ char *text = NULL;
			size_t len;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (read_file(path, 1 << 20, &text, &len) < 0 || !strstr(text, token))
				continue;
			const char *info = strstr(de->d_name, ":2,");
			snprintf(flags, sizeof(flags), "%s", info ? info + 3 : "");
			closedir(d);
			return flags;
		}
		closedir(d);
	}
	return NULL;
}

static bool is_seen(fx *f, const char *token)
{
	const char *fl = flags_of(f->maildir, f->folder, token);
	return fl && strchr(fl, 'S');
}

/* ---- fixtures ---- */

static void fx_init(fx *f, const char *folder)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(sd_event_new(&f->loop), 0);
	f->maildir = env_maildir;
	f->auto_result = IMAP_DONE;
	f->cfg = (imap_config){
		.host = "localhost",
		.port = (uint16_t)atoi(env_imaps_port),
		.tls = IMAP_TLS_IMPLICIT,
		.user = env_user,
		.password = env_password,
		.ca_file = env_ca,
		.backoff_min_msec = 50,
		.backoff_max_msec = 1000,
		.timeout_sec = 60,
		.idle_reissue_sec = 600,
		.poll_interval_sec = 1,
	};
	if (folder) {
		make_folder(f, folder);
		f->cfg.folder = f->folder;
	}
}

static void fx_start(fx *f)
{
	assert_int_equal(imap_client_new(f->loop, &f->cfg, &hooks, f, &f->c), 0);
}

static void fx_stop(fx *f)
{
	f->c = imap_client_free(f->c);
}

static void fx_done(fx *f)
{
	fx_stop(f);
	/* Acks answered after the client is gone only free themselves. */
	for (size_t i = 0; i < f->n_got; i++) {
		if (f->got[i].ack)
			imap_ack_done(f->got[i].ack, IMAP_RETRY);
		free(f->got[i].raw);
	}
	sd_event_unref(f->loop);
}

/* ---- tests ---- */

static void answer(fx *f, size_t i, imap_result r)
{
	assert_non_null(f->got[i].ack);
	f->outstanding--;
	imap_ack_done(TAKE_PTR(f->got[i].ack), r);
}


static void test_config_check(void **state)
{
	imap_config cfg = {.host = "mail.example.org", .tls = IMAP_TLS_NONE, .user = "u",
	                   .password = "p"};
	const char *why = NULL;

	assert_int_equal(imap_config_check(&cfg, &why), -EINVAL);
	assert_non_null(strstr(why, "127.0.0.1"));
	cfg.host = "127.0.0.1";
	assert_int_equal(imap_config_check(&cfg, &why), 0);
	cfg.idle_reissue_sec = 30 * 60;
	assert_int_equal(imap_config_check(&cfg, &why), -EINVAL);
	assert_int_equal(imap_tls_from_string("starttls"), IMAP_TLS_STARTTLS);
	assert_int_equal(imap_tls_from_string("ssl"), _IMAP_TLS_INVALID);

	sd_event *e;
	imap_client *c = NULL;
	assert_int_equal(sd_event_new(&e), 0);
	cfg.idle_reissue_sec = 0;
	cfg.host = "192.0.2.1";
	assert_int_equal(imap_client_new(e, &cfg, &hooks, NULL, &c), -EINVAL);
	assert_null(c);
	sd_event_unref(e);
}

/* TLS refused: not trusted by the CA file, wrong host name. Never logged in. */
static void refused(const char *host, const char *ca, imap_tls tls, const char *port,
                    const char *expect)
{
	fx f;

	fx_init(&f, NULL);
	f.cfg.host = host;
	f.cfg.ca_file = ca;
	f.cfg.tls = tls;
	f.cfg.port = (uint16_t)atoi(port);
	fx_start(&f);
	run_until(&f, f.n_disconnected >= 2); /* and it retried */
	assert_int_equal(f.n_connected, 0);
	assert_non_null(strstr(f.disconnect_detail, expect));
	fx_done(&f);
}

static void test_tls_refused(void **state)
{
	const char *bundle = access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0
	                             ? "/etc/ssl/certs/ca-certificates.crt"
	                             : NULL; /* NULL: the system store */

	/* Self-signed, not in the CA file (nor the system store). */
	refused("localhost", bundle, IMAP_TLS_IMPLICIT, env_imaps_port, "not trusted");
	refused("localhost", bundle, IMAP_TLS_STARTTLS, env_port, "not trusted");
	/* Trusted certificate, but not for 127.0.0.2 (its SANs: localhost, 127.0.0.1). */
	refused("127.0.0.2", env_ca, IMAP_TLS_IMPLICIT, env_imaps_port, "not trusted");
	refused("127.0.0.2", env_ca, IMAP_TLS_STARTTLS, env_port, "not trusted");
	/* A CA file that is not one. */
	refused("localhost", "/dev/null", IMAP_TLS_IMPLICIT, env_imaps_port, "no CA certificate");
	/* That no LOGIN went out on these connections, t-imap.sh reads from Dovecot's log. */
}

/* Accepted with the right CA file: by name over IMAPS, by IP over STARTTLS. */
static void test_tls_accepted(void **state)
{
	fx f;

	fx_init(&f, "tlsok");
	fx_start(&f);
	run_until(&f, f.n_idle >= 1);
	fx_done(&f);

	fx_init(&f, "tlsok");
	f.cfg.host = "127.0.0.1";
	f.cfg.tls = IMAP_TLS_STARTTLS;
	f.cfg.port = (uint16_t)atoi(env_port);
	fx_start(&f);
	run_until(&f, f.n_idle >= 1);
	assert_int_equal(f.n_disconnected, 0);
	fx_done(&f);
}

/* Mail waiting before the start and mail arriving during IDLE: exact bytes, UID order,
 * \Seen only after the ack, the cursor after each; a restart with the cursor offers nothing
 * again. */
static void test_deliver_idle_restart(void **state)
{
	fx f;
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;

	fx_init(&f, "basic");
	m1 = deliver(&f, "basic-one");
	m2 = deliver(&f, "basic-two");
	f.hold = true;
	fx_start(&f);
	run_until(&f, f.n_got == 2);
	assert_string_equal(f.got[0].raw, m1);
	assert_string_equal(f.got[1].raw, m2);
	assert_true(f.got[0].uid < f.got[1].uid);
	assert_false(f.got[0].too_large);
	/* Not acked: not seen, no cursor yet (0 after the first SELECT). */
	assert_false(is_seen(&f, "basic-one"));
	assert_int_equal(f.last, 0);
	assert_true(f.validity != 0);
	uint32_t v = f.validity;

	/* The second acked first: marked, but the cursor waits for the first. */
	answer(&f, 1, IMAP_DONE);
	run_until(&f, is_seen(&f, "basic-two"));
	assert_int_equal(f.last, 0);
	assert_false(is_seen(&f, "basic-one"));
	answer(&f, 0, IMAP_DONE);
	run_until(&f, is_seen(&f, "basic-one"));
	assert_int_equal(f.last, f.got[1].uid);

	/* New mail while in IDLE (re-issue set to 10 min: only the server's word wakes us). */
	run_until(&f, f.n_idle >= 1);
	unsigned idles = f.n_idle;
	m3 = deliver(&f, "basic-three");
	run_until(&f, f.n_got == 3);
	assert_string_equal(f.got[2].raw, m3);
	assert_true(f.got[2].uid > f.got[1].uid);
	assert_int_equal(f.n_disconnected, 0);
	answer(&f, 2, IMAP_DONE);
	run_until(&f, f.last == f.got[2].uid && is_seen(&f, "basic-three"));
	run_until(&f, f.n_idle > idles);
	fx_stop(&f);

	/* A new client with the saved cursor: nothing twice, then the next mail. */
	size_t before = f.n_got;
	unsigned connected = f.n_connected;
	fx_start(&f);
	run_until(&f, f.n_connected > connected && f.n_idle > idles + 1);
	m4 = deliver(&f, "basic-four");
	run_until(&f, f.n_got == before + 1);
	assert_string_equal(f.got[before].raw, m4);
	assert_int_equal(f.validity, v);
	answer(&f, before, IMAP_DONE);
	run_until(&f, is_seen(&f, "basic-four"));
	fx_done(&f);
}

/* A backlog larger than the ack window: never more than the window offered, the rest once
 * acks come (answered newest first: the cursor jumps when the oldest is answered). */
static void test_window(void **state)
{
	fx f;
	enum { N = IMAP_MAX_IN_FLIGHT + 4 };
	char *m[N];

	fx_init(&f, "window");
	for (int i = 0; i < N; i++) {
		char token[32];
		snprintf(token, sizeof(token), "window-%03d", i);
		m[i] = deliver(&f, token);
	}
	f.hold = true;
	fx_start(&f);
	run_until(&f, f.n_got == IMAP_MAX_IN_FLIGHT);
	for (size_t i = IMAP_MAX_IN_FLIGHT; i-- > 1;)
		answer(&f, i, IMAP_DONE);
	pump(&f);
	assert_int_equal(f.last, 0);
	unsigned saves = f.saves;
	answer(&f, 0, IMAP_DONE);
	run_until(&f, f.last == f.got[IMAP_MAX_IN_FLIGHT - 1].uid);
	/* A whole window's acks moved the cursor at once: one save. */
	assert_int_equal(f.saves, saves + 1);
	run_until(&f, f.n_got == N);
	for (size_t i = IMAP_MAX_IN_FLIGHT; i < N; i++)
		answer(&f, i, IMAP_DONE);
	for (int i = 0; i < N; i++) {
		assert_string_equal(f.got[i].raw, m[i]);
		if (i)
			assert_true(f.got[i].uid > f.got[i - 1].uid);
	}
	run_until(&f, f.last == f.got[N - 1].uid);
	run_until(&f, is_seen(&f, "window-000") && is_seen(&f, "window-011") &&
	              is_seen(&f, "window-259"));
	for (int i = 0; i < N; i++)
		free(m[i]);
	fx_done(&f);
}

/* RETRY: left unseen, offered again after a reconnect; then DONE. */
static void test_retry(void **state)
{
	fx f;
	_cleanup_free_ char *m = NULL;

	fx_init(&f, "retry");
	m = deliver(&f, "retry-one");
	f.auto_result = IMAP_RETRY;
	fx_start(&f);
	run_until(&f, f.n_got == 1);
	run_until(&f, f.n_disconnected >= 1 && f.n_got == 2);
	assert_non_null(strstr(f.disconnect_detail, "held back"));
	assert_int_equal(f.got[1].uid, f.got[0].uid);
	assert_string_equal(f.got[1].raw, m);
	assert_false(is_seen(&f, "retry-one"));
	assert_int_equal(f.last, 0);
	f.auto_result = IMAP_DONE;
	run_until(&f, f.n_got >= 3);
	run_until(&f, is_seen(&f, "retry-one"));
	assert_int_equal(f.last, f.got[0].uid);
	size_t n = f.n_got;
	fx_stop(&f);
	assert_int_equal(f.n_got, n);
	fx_done(&f);
}

/* A cursor of another UIDVALIDITY: reset, reported, and the mail offered again. */
static void test_uidvalidity_change(void **state)
{
	fx f;
	_cleanup_free_ char *m = NULL;

	fx_init(&f, "uidv");
	m = deliver(&f, "uidv-one");
	fx_start(&f);
	run_until(&f, f.n_got == 1 && is_seen(&f, "uidv-one"));
	uint32_t v = f.validity, uid = f.got[0].uid;
	fx_stop(&f);
	assert_int_equal(f.last, uid);

	/* The folder is made again: same name, new UIDVALIDITY; its first mail gets UID 1, at
	 * or below the old cursor. */
	char old[PATH_MAX], gone[PATH_MAX];
	snprintf(old, sizeof(old), "%s/.uidv", f.maildir);
	snprintf(gone, sizeof(gone), "%s/.uidv-gone", f.maildir);
	assert_int_equal(rename(old, gone), 0);
	make_folder(&f, "uidv");
	_cleanup_free_ char *m2 = deliver(&f, "uidv-new");
	size_t before = f.n_got;
	fx_start(&f);
	run_until(&f, f.n_got == before + 1);
	assert_string_equal(f.got[before].raw, m2);
	assert_true(f.got[before].uid <= f.got[0].uid);
	assert_int_equal(f.n_reset, 1);
	assert_true(f.validity != v);
	run_until(&f, is_seen(&f, "uidv-new") && f.last == f.got[before].uid);
	fx_done(&f);
}

/* IDLE is re-issued at the configured interval, on one connection. */
static void test_idle_reissue(void **state)
{
	fx f;

	fx_init(&f, "reissue");
	f.cfg.idle_reissue_sec = 1;
	fx_start(&f);
	run_until(&f, f.n_idle >= 4);
	assert_int_equal(f.n_connected, 1);
	assert_int_equal(f.n_disconnected, 0);
	fx_done(&f);
}

/* Dovecot restarted under an IDLE: reconnect, and the next mail arrives. */
static void test_server_restart(void **state)
{
	fx f;
	char cmd[PATH_MAX * 2];
	_cleanup_free_ char *m = NULL;

	fx_init(&f, "restart");
	fx_start(&f);
	run_until(&f, f.n_idle >= 1);
	snprintf(cmd, sizeof(cmd), "bash %s restart %s", env_lib, env_dir);
	assert_int_equal(system(cmd), 0);
	run_until(&f, f.n_disconnected >= 1);
	run_until(&f, f.n_connected >= 2);
	m = deliver(&f, "restart-one");
	run_until(&f, f.n_got == 1);
	assert_string_equal(f.got[0].raw, m);
	run_until(&f, is_seen(&f, "restart-one"));
	fx_done(&f);
}

/* A server without IDLE: polling, and mail arrives. */
static void test_polling(void **state)
{
	fx f;
	_cleanup_free_ char *m = NULL;

	fx_init(&f, NULL);
	f.maildir = env_noidle_maildir;
	make_folder(&f, "poll");
	f.cfg.folder = f.folder;
	f.cfg.port = (uint16_t)atoi(env_noidle_port);
	f.cfg.host = "127.0.0.1";
	f.cfg.tls = IMAP_TLS_NONE; /* loopback: allowed */
	fx_start(&f);
	run_until(&f, f.n_polling >= 1);
	m = deliver(&f, "poll-one");
	run_until(&f, f.n_got == 1);
	assert_string_equal(f.got[0].raw, m);
	run_until(&f, is_seen(&f, "poll-one"));
	assert_int_equal(f.n_idle, 0);
	assert_non_null(strstr(f.polling_detail, "every 1 s"));
	fx_done(&f);
}

/* Over the size limit: offered without its body, marked once the caller rejects it. */
static void test_too_large(void **state)
{
	fx f;
	_cleanup_free_ char *big = NULL, *small = NULL;

	fx_init(&f, "big");
	f.cfg.max_message_size = 4096;
	big = deliver_into(f.maildir, f.folder, "big-one", 8192);
	small = deliver(&f, "big-small");
	f.auto_result = IMAP_REJECTED;
	fx_start(&f);
	run_until(&f, f.n_got == 2);
	assert_true(f.got[0].too_large);
	assert_null(f.got[0].raw);
	assert_int_equal(f.got[0].len, 0);
	assert_false(f.got[1].too_large);
	assert_string_equal(f.got[1].raw, small);
	run_until(&f, is_seen(&f, "big-one") && is_seen(&f, "big-small"));
	run_until(&f, f.last == f.got[1].uid);
	fx_done(&f);
}

/* move_to: done mail leaves the folder for Processed. */
static void test_move(void **state)
{
	fx f;
	_cleanup_free_ char *m = NULL;

	fx_init(&f, "move");
	f.cfg.move_to = "Processed";
	m = deliver(&f, "move-one");
	fx_start(&f);
	run_until(&f, f.n_got == 1);
	run_until(&f, flags_of(f.maildir, "Processed", "move-one") != NULL);
	run_until(&f, flags_of(f.maildir, "move", "move-one") == NULL);
	fx_done(&f);
}

/* Freeing during IDLE is prompt though the network timeout is a minute. */
static void test_stop_prompt(void **state)
{
	fx f;

	fx_init(&f, "stop");
	fx_start(&f);
	run_until(&f, f.n_idle >= 1);
	uint64_t t0 = now_usec();
	fx_stop(&f);
	assert_true(now_usec() - t0 < 10 * 1000000ULL);
	fx_done(&f);
}

static const char *need(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_check),
		cmocka_unit_test(test_tls_refused),
		cmocka_unit_test(test_tls_accepted),
		cmocka_unit_test(test_deliver_idle_restart),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_uidvalidity_change),
		cmocka_unit_test(test_idle_reissue),
		cmocka_unit_test(test_polling),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_stop_prompt),
		cmocka_unit_test(test_server_restart),
	};

	env_port = need("COCO_IMAP_PORT");
	env_imaps_port = need("COCO_IMAPS_PORT");
	env_ca = need("COCO_IMAP_CA");
	env_maildir = need("COCO_IMAP_MAILDIR");
	env_dir = need("COCO_IMAP_DIR");
	env_user = need("COCO_IMAP_USER");
	env_password = need("COCO_IMAP_PASSWORD");
	env_noidle_port = need("COCO_IMAP_NOIDLE_PORT");
	env_noidle_maildir = need("COCO_IMAP_NOIDLE_MAILDIR");
	env_lib = need("COCO_LIB_DOVECOT");
	if (!env_port || !env_imaps_port || !env_ca || !env_maildir || !env_dir || !env_user ||
	    !env_password || !env_noidle_port || !env_noidle_maildir || !env_lib) {
		printf("SKIP test_imap: needs a Dovecot; tests/t-imap.sh runs it with one\n");
		return 0;
	}
	log_set_max_level(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
