/* local: the embedded default connector, no server needed. Outbound mail is written as
 * RFC 5322 files into an outbox maildir; answers are read from an inbox maildir that a
 * person, a test or an MDA drops files into. It owns both maildirs' layout (tmp/, new/,
 * cur/, and inbox/failed/ with inbox/failed.log for what it cannot or will not read, and
 * inbox/coco-reading) and the rule that an inbound file is marked seen only once the core
 * said the answer is durable.
 *
 * Maildir rules: a writer creates tmp/<unique>, fsyncs it and renames it into new/. The
 * reader reads a message where it is, in new/, and moves it into cur/<base>:2,S (<base>: the
 * name without its info part) once the core is done with it: one rename a mail. While the
 * core holds it, it stays in new/ (never offered twice: it is in flight); a temporary
 * failure leaves it there for a later try.
 *
 * Which mail is being read is written into inbox/coco-reading before it is read (one
 * pwrite() of a fixed-size record, no fsync), and "none" after a batch: a process that dies
 * leaves the kernel's copy of the file intact. What cocod finds at start tells how its last
 * run ended (recover_unfinished()):
 * - a mail still in new/: unread, or the core had it, waiting for the commit (a kill, a
 *   power cut, anything else in flight): read again like any new mail. The store
 *   recognises a recorded answer by its key, and the core confirms it again under the same
 *   spool id.
 * - coco-reading names a mail still in new/: cocod died while reading or handing over this
 *   very mail. It may be what killed it, or a kill landed there: it gets one more try, as
 *   new/<base>:1,retry.
 * - coco-reading names new/<base>:1,retry: it died there a second time: quarantined in
 *   failed/, never read again.
 * So a poison mail stops cocod at most twice, and a random kill loses nothing unless it
 * lands twice in a row in the few milliseconds this one mail is being read.
 * An inbox left by cocod before this scheme (which claimed a mail into cur/ before reading
 * it) is recovered as it was: cur/<base>:1,handed (the core had it) is replayed,
 * cur/<base> (being read) gets one more try, cur/<base>:1,retry is quarantined.
 * Nothing is deleted, except abandoned files in tmp/ (see sweep_leftovers()). */
#define _GNU_SOURCE
#include "local.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "clock.h"
#include "email/message.h"
#include "email/mime.h"
#include "email/mime-bounds.h"
#include "local-forget.h"
#include "strmap.h"
#include "util.h"

/* A mail bigger than this is not an answer to a survey. */
#define LOCAL_MAIL_MAX (10u * 1024 * 1024)

/* Mail held back by a temporary failure (disk full, read-only, out of descriptors) is
 * offered again by a timer: after 1 s, doubling up to 5 min, back to 1 s after a success. */
#define LOCAL_RETRY_FIRST_USEC (1ULL * 1000 * 1000)
#define LOCAL_RETRY_MAX_USEC (5ULL * 60 * 1000 * 1000)

/* Our own maildir info parts (maildir's "1," is for experimental semantics), see above.
 * INFO_HANDED is only found in an inbox left by an older cocod. */
#define INFO_RETRY ":1,retry"
#define INFO_HANDED ":1,handed"

/* inbox/coco-reading: "coco-reading 1\n<name>\n", the name empty when no mail is being
 * read, padded with newlines to a fixed size so that each record overwrites the last
 * whole with one pwrite() (no truncate). A maildir file name is at most NAME_MAX. */
#define READING_FILE "coco-reading"
#define READING_MAGIC "coco-reading"
#define READING_VERSION 1
#define READING_RECORD 512

/* Inbound is taken in batches: every name the inotify descriptor holds is read at once,
 * and at most this many mails are handed to the core per loop turn, so that one commit
 * (one fdatasync per answers file, one spool batch) covers them all; the rest wait for the
 * next turn (a defer source). Bounded so a backlog of 20,000 is never in memory at once. */
#define LOCAL_BATCH_MAX 256
/* Names read from inotify but not yet handed over, at most (the kernel queues the rest). */
#define LOCAL_BACKLOG_MAX (16 * LOCAL_BATCH_MAX)

/* The maildir convention: a file in tmp/ untouched this long was abandoned by its writer. */
#define LOCAL_INBOX_TMP_MAX_AGE (36 * 3600)

/* One inbound file handed to the core, until its done callback. It stays in new/ meanwhile. */
typedef struct inflight {
	channel *c; /* NULL once the channel stopped: done only frees */
	char *name;   /* file name in new/ */
	char *base;   /* name without its maildir info part */
	size_t index; /* in channel.inflight */
	email_inbound *mail; /* what the core was handed */
} inflight;

/* A message written into the outbox's tmp/ in a run of sends, its done held back until
 * the run's end (local_send_end()). */
typedef struct staged_send {
	char *name; /* in tmp/, and then in new/ */
	char *message_id;
	send_done_fn done;
	void *userdata;
} staged_send;

struct channel {
	const channel_host *h;
	sd_event *loop;
	char *outbox, *inbox;
	int inotify_fd;               /* our own: sd-event's inotify source gives one event a turn */
	sd_event_source *watch, *initial_scan;
	sd_event_source *batch;       /* hands the rest of the backlog over, a batch a turn */
	sd_event_source *sync_cur;    /* one fsync of cur/ for the seen marks of a batch */
	char **backlog;               /* names in new/ to look at, oldest first */
	size_t backlog_start, n_backlog, cap_backlog;
	sd_event_source *retry;      /* made at start: later there may be no descriptor left */
	uint64_t retry_first_usec;   /* LOCAL_RETRY_FIRST_USEC; shorter in tests */
	uint64_t retry_usec;         /* the next delay */
	unsigned retry_streak;       /* tries since the last success; logged once per streak */
	inflight **inflight;
	size_t n_inflight;
	strmap *inflight_names;       /* name in new/ -> inflight: one look a mail, not a scan */
	int reading_fd;               /* inbox/coco-reading */
	bool reading_set;             /* it names a mail, to be reset after the batch */
	char **requeued; /* renamed within new/ by us: their inotify event is not a new mail */
	unsigned seq; /* maildir unique-name counter */
	bool sending; /* between send_begin and send_end: sends are staged */
	staged_send *staged;
	size_t n_staged, cap_staged;
};

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int maildir_make(const char *root, bool with_failed)
{
	static const char *const subs[] = {"tmp", "new", "cur", "failed"};
	int r = mkdir_p(root, 0700);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(subs) - !with_failed; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", root, subs[i]);
		r = mkdir_p(p, 0700);
	}
	return r;
}

/* Maildir tmp/ leftovers: regular files in root/tmp/ last modified before `before` are
 * removed (never symlinks or directories). Returns how many; errors are logged. */
static unsigned sweep_tmp(const char *root, const struct timespec *before)
{
	_cleanup_free_ char *dir = xasprintf("%s/tmp", root);
	DIR *d = opendir(dir);
	unsigned n = 0;
	struct dirent *de;

	if (!d) {
		log_warning_errno(errno, "local: cannot read %s: %m", dir);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (st.st_mtim.tv_sec > before->tv_sec ||
		    (st.st_mtim.tv_sec == before->tv_sec && st.st_mtim.tv_nsec >= before->tv_nsec))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			log_warning_errno(errno, "local: cannot remove %s/%s: %m", dir, de->d_name);
		else
			n++;
	}
	closedir(d);
	if (n > 0)
		log_notice("local: removed %u stale file%s from %s", n, n == 1 ? "" : "s", dir);
	return n;
}

/* At start. The outbox is ours and written synchronously on the loop, so nothing in its tmp/
 * is being written while the connector starts: whatever is older than this moment was left
 * by a crash. The inbox's tmp/ belongs to whoever delivers into it (an MDA, a person): the
 * maildir rule, files untouched for 36 hours, is all we may assume there. */
static void sweep_leftovers(channel *c)
{
	struct timespec now;
	(void)clock_gettime(CLOCK_REALTIME, &now); /* file times are real, never the test clock */
	(void)sweep_tmp(c->outbox, &now);
	struct timespec old = {.tv_sec = now.tv_sec - LOCAL_INBOX_TMP_MAX_AGE, .tv_nsec = now.tv_nsec};
	(void)sweep_tmp(c->inbox, &old);
}

/* "<sec>.M<usec>P<pid>Q<seq>.<host>", the classic maildir unique name; the host part has
 * '/' and ':' replaced as the maildir convention asks. */
static char *unique_name(channel *c)
{
	struct timespec ts;
	char host[HOST_NAME_MAX + 1] = "localhost";

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	return xasprintf("%lld.M%ldP%dQ%u.%s", (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(),
	                 ++c->seq, host);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The outbox file of a message is named after its spool id, so that a message sent again
 * (the spool resends what a crash kept it from marking sent, a whole run of them when the
 * sends are staged) replaces its own copy in new/ instead of doubling it. A message
 * without a usable id gets a classic unique name. */
static char *outbox_name(channel *c, const channel_msg *m)
{
	if (m->id && name_is_safe(m->id))
		return xasprintf("%s.coco", m->id);
	return unique_name(c);
}

/* tmp/<name>, written (a leftover of the same name is ours: replaced); fsync'd if asked. */
static int outbox_write_tmp(channel *c, const char *name, const char *data, size_t len, bool sync)
{
	_cleanup_free_ char *tmp = xasprintf("%s/tmp/%s", c->outbox, name);
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, 0600);
	if (fd < 0 && errno == EEXIST) { /* the leftover is unlinked only when there is one */
		if (unlink(tmp) < 0 && errno != ENOENT)
			return -errno;
		fd = open(tmp, flags, 0600);
	}
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r >= 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp); /* our own half-written temporary, never a message */
	return r;
}

/* tmp/<name> → fsync → rename into new/ → fsync new/. */
static int maildir_deliver(channel *c, const char *name, const char *data, size_t len)
{
	_cleanup_free_ char *tmp = xasprintf("%s/tmp/%s", c->outbox, name);
	_cleanup_free_ char *dst = xasprintf("%s/new/%s", c->outbox, name);
	_cleanup_free_ char *newdir = xasprintf("%s/new", c->outbox);

	int r = outbox_write_tmp(c, name, data, len, true);
	if (r < 0)
		return r;
	if (rename(tmp, dst) < 0) {
		r = -errno;
		(void)unlink(tmp);
		return r;
	}
	return fsync_dir(newdir);
}

/* ---- outbound ---- */

/* The message as mail (email/message.h), written into the outbox maildir; its Message-ID
 * is the remote id. */
static int local_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	_cleanup_free_ char *text = NULL, *err = NULL, *message_id = NULL;
	size_t len = 0;
	int r = email_compose(c->h->cfg, m, &text, &len, &message_id, &err);
	if (r < 0) {
		/* A message we cannot compose will not compose better later. */
		done(SEND_FAIL, err ? err : "could not compose the message", NULL, userdata);
		return 0;
	}

	_cleanup_free_ char *name = outbox_name(c, m);
	if (c->sending) {
		/* In a run of sends: written now, made durable with the others at its end. */
		r = outbox_write_tmp(c, name, text, len, false);
		if (r >= 0) {
			if (c->n_staged == c->cap_staged) {
				c->cap_staged = c->cap_staged ? c->cap_staged * 2 : 64;
				c->staged = xrealloc(c->staged, c->cap_staged * sizeof(*c->staged));
			}
			c->staged[c->n_staged++] = (staged_send){TAKE_PTR(name), TAKE_PTR(message_id),
			                                         done, userdata};
			return 0;
		}
	} else
		r = maildir_deliver(c, name, text, len);
	if (r < 0) {
		/* Disk full, permissions: the operator can fix those, so try again later. */
		_cleanup_free_ char *why = xasprintf("writing to %s failed: %s", c->outbox,
		                                     strerror(-r));
		done(SEND_RETRY, why, NULL, userdata);
		return 0;
	}
	log_debug("local: wrote %s/new/%s", c->outbox, name);
	done(SEND_OK, NULL, message_id, userdata);
	return 0;
}

static void local_send_begin(channel *c)
{
	c->sending = true;
}

/* The run's messages: one syncfs() makes every file staged in tmp/ durable, the renames
 * into new/ follow, and one fsync of new/ makes them durable; then each done. Two syncs for
 * the run, where one send at a time costs two a message. */
static void local_send_end(channel *c)
{
	c->sending = false;
	size_t n = c->n_staged;
	if (n == 0)
		return;
	staged_send *v = TAKE_PTR(c->staged);
	c->n_staged = c->cap_staged = 0;
	_cleanup_free_ char *tmpdir = xasprintf("%s/tmp", c->outbox);
	_cleanup_free_ char *newdir = xasprintf("%s/new", c->outbox);
	_cleanup_free_ int *res = xcalloc(n, sizeof(int));

	int r = 0;
	_cleanup_close_ int tfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int nfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 || nfd < 0 || syncfs(tfd) < 0)
		r = -errno;
	size_t n_moved = 0;
	for (size_t i = 0; i < n; i++) {
		res[i] = r;
		if (r >= 0 && renameat(tfd, v[i].name, nfd, v[i].name) < 0)
			res[i] = -errno;
		if (res[i] >= 0)
			n_moved++;
		else
			(void)unlinkat(tfd, v[i].name, 0); /* ours, never a message */
	}
	/* If new/ cannot be synced, what was moved may not survive a crash: sent again later,
	 * it replaces its copy. */
	if (n_moved > 0 && fsync(nfd) < 0) {
		int e = -errno;
		for (size_t i = 0; i < n; i++)
			if (res[i] >= 0)
				res[i] = e;
	}
	for (size_t i = 0; i < n; i++) {
		if (res[i] < 0) {
			_cleanup_free_ char *why = xasprintf("writing to %s failed: %s", c->outbox,
			                                     strerror(-res[i]));
			v[i].done(SEND_RETRY, why, NULL, v[i].userdata);
		} else {
			log_debug("local: wrote %s/%s", newdir, v[i].name);
			v[i].done(SEND_OK, NULL, v[i].message_id, v[i].userdata);
		}
		free(v[i].name);
		free(v[i].message_id);
	}
	free(v);
}

/* ---- inbound ---- */

static void inflight_free(inflight *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->base);
	email_inbound_free(f->mail);
	free(f);
}

static inflight *inflight_find(channel *c, const char *name)
{
	return strmap_get(c->inflight_names, name);
}

static void inflight_add(channel *c, inflight *f)
{
	c->inflight = xrealloc(c->inflight, (c->n_inflight + 1) * sizeof(*c->inflight));
	f->index = c->n_inflight;
	c->inflight[c->n_inflight++] = f;
	(void)strmap_put(c->inflight_names, f->name, f);
}

static void inflight_remove(channel *c, inflight *f)
{
	if (f->index >= c->n_inflight || c->inflight[f->index] != f)
		return;
	c->inflight[f->index] = c->inflight[--c->n_inflight];
	c->inflight[f->index]->index = f->index;
	(void)strmap_remove(c->inflight_names, f->name);
}

/* inbox/coco-reading names `name` (NULL: none) from now on. No fsync: it guards against
 * cocod dying, and the kernel keeps what a dead process wrote; after a power cut it may
 * name an earlier mail or none, which costs that mail one more try at most. */
static int reading_set(channel *c, const char *name)
{
	char rec[READING_RECORD];
	int n = snprintf(rec, sizeof(rec), READING_MAGIC " %d\n%s\n", READING_VERSION,
	                 name ? name : "");
	if (n < 0 || (size_t)n >= sizeof(rec))
		return -ENAMETOOLONG;
	memset(rec + n, '\n', sizeof(rec) - (size_t)n);
	ssize_t w = pwrite(c->reading_fd, rec, sizeof(rec), 0);
	if (w < 0)
		return -errno;
	if ((size_t)w != sizeof(rec))
		return -EIO;
	c->reading_set = name != NULL;
	return 0;
}

/* The name inbox/coco-reading gives, or NULL: none, or a record that is not one (a power
 * cut, a newer cocod's: logged). */
static char *reading_get(channel *c)
{
	char rec[READING_RECORD + 1];
	ssize_t k = pread(c->reading_fd, rec, READING_RECORD, 0);
	if (k <= 0)
		return NULL;
	rec[k] = 0;
	int version = 0, at = 0;
	if (sscanf(rec, READING_MAGIC " %d\n%n", &version, &at) != 1 || at == 0 ||
	    rec[at - 1] != '\n') {
		log_warning("local: %s/" READING_FILE " is not what cocod writes there (a power cut "
		            "while it was written?); ignored", c->inbox);
		return NULL;
	}
	if (version != READING_VERSION) {
		log_warning("local: %s/" READING_FILE " is of version %d, this cocod knows %d; "
		            "ignored", c->inbox, version, READING_VERSION);
		return NULL;
	}
	char *end = strchr(rec + at, '\n');
	if (!end || end == rec + at)
		return NULL; /* no mail being read */
	*end = 0;
	if (rec[at] == '.' || strchr(rec + at, '/'))
		return NULL; /* never a name this connector reads */
	return xstrdup(rec + at);
}

/* rename() that fails with EEXIST instead of replacing a file already there. */
static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) >= 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* a file system without RENAME_NOREPLACE: check, then rename (we are the only reader) */
	if (access(to, F_OK) == 0)
		return -EEXIST;
	return rename(from, to) < 0 ? -errno : 0;
}

/* inbox/<from_box>/<name> → inbox/<box>/<target>, durable. */
static int inbox_move(channel *c, const char *from_box, const char *name, const char *box,
                      const char *target)
{
	_cleanup_free_ char *from = xasprintf("%s/%s/%s", c->inbox, from_box, name);
	_cleanup_free_ char *to = xasprintf("%s/%s/%s", c->inbox, box, target);
	_cleanup_free_ char *dir = xasprintf("%s/%s", c->inbox, box);
	if (rename(from, to) < 0)
		return -errno;
	return fsync_dir(dir);
}

/* One line per quarantined file in inbox/failed.log, so that the reason outlives the log
 * of the run that refused it. Best effort: the move itself is what matters. */
static void failed_log(channel *c, const char *name, const char *why)
{
	_cleanup_free_ char *path = xasprintf("%s/failed.log", c->inbox);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	time_t now = (time_t)clock_now();
	struct tm tm;
	char when[32] = "";

	if (fd < 0)
		return;
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	_cleanup_free_ char *line = xasprintf("%s failed/%s: %s\n", when, name, why);
	(void)write_all(fd, line, strlen(line));
	(void)fdatasync(fd);
}

/* Quarantine: inbox/<box>/<name> → inbox/failed/<target>, kept, never deleted, so an
 * operator can read what went wrong (and move it back into new/ to try again). */
static void inbox_reject(channel *c, const char *box, const char *name, const char *target,
                         const char *why)
{
	int r = inbox_move(c, box, name, "failed", target);
	if (r < 0) {
		log_error_errno(r, "local: %s/%s/%s is unusable (%s), and moving it to failed/ "
		                "failed: %m", c->inbox, box, name, why);
		return;
	}
	failed_log(c, target, why);
	log_warning("local: moved %s/%s/%s to failed/: %s", c->inbox, box, name, why);
}

/* The inotify event of a rename of ours within new/ (unmark_retry()) is not a new mail. */
static bool requeued_take(channel *c, const char *name)
{
	for (size_t i = 0; c->requeued && c->requeued[i]; i++)
		if (STREQ(c->requeued[i], name)) {
			free(c->requeued[i]);
			for (size_t k = i; c->requeued[k]; k++)
				c->requeued[k] = c->requeued[k + 1];
			return true;
		}
	return false;
}

/* Something in new/ could not be handled for now: the retry timer offers new/ again, unless
 * it is armed already (one pass retries every held mail). Logged once per streak. */
static void retry_later(channel *c, int error)
{
	int enabled = SD_EVENT_OFF;

	if (!c->retry || sd_event_source_get_enabled(c->retry, &enabled) < 0 ||
	    enabled != SD_EVENT_OFF)
		return;
	uint64_t delay = c->retry_usec;
	c->retry_usec = delay * 2 > LOCAL_RETRY_MAX_USEC ? LOCAL_RETRY_MAX_USEC : delay * 2;
	if (c->retry_streak++ == 0)
		log_warning_errno(error, "local: mail in %s/new cannot be recorded for now (%m); it "
		                  "stays there and is tried again by itself, in %llu ms and then less "
		                  "often, at most every %llu s", c->inbox,
		                  (unsigned long long)(delay / 1000),
		                  (unsigned long long)(LOCAL_RETRY_MAX_USEC / 1000000));
	else
		log_debug_errno(error, "local: still held back (%m), next try in %llu ms",
		                (unsigned long long)(delay / 1000));
	int r = sd_event_source_set_time_relative(c->retry, delay);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
	if (r < 0)
		log_error_errno(r, "local: cannot arm the retry timer, held mail waits for "
		                "`cococtl poll` or a restart: %m");
}

/* A mail was recorded: the streak (if any) is over, and what is still held back is tried
 * again soon rather than at the end of a long backoff. */
static void retry_reset(channel *c)
{
	int enabled = SD_EVENT_OFF;

	c->retry_usec = c->retry_first_usec;
	if (c->retry_streak == 0)
		return;
	log_notice("local: mail is recorded again (after %u retr%s)", c->retry_streak,
	           c->retry_streak == 1 ? "y" : "ies");
	c->retry_streak = 0;
	if (c->retry && sd_event_source_get_enabled(c->retry, &enabled) >= 0 &&
	    enabled != SD_EVENT_OFF)
		(void)sd_event_source_set_time_relative(c->retry, c->retry_first_usec);
}

/* A mail read and handed over once is no suspect any more: new/<base>:1,retry, held back
 * or left by a stop, becomes new/<base> again. */
static void unmark_retry(channel *c, inflight *f)
{
	if (STREQ(f->name, f->base))
		return;
	if (!STREQ(f->name + strlen(f->base), INFO_RETRY))
		return;
	_cleanup_free_ char *from = xasprintf("%s/new/%s", c->inbox, f->name);
	_cleanup_free_ char *to = xasprintf("%s/new/%s", c->inbox, f->base);
	int r = rename_noreplace(from, to);
	if (r < 0)
		log_debug_errno(r, "local: renaming %s to %s failed: %m", from, f->base);
	else
		strv_push(&c->requeued, xstrdup(f->base));
}

static void on_inbound_done(const inbound_result *res, void *userdata)
{
	inflight *f = userdata;
	channel *c = f->c;

	if (c) {
		inflight_remove(c, f);
		/* Rejected: the core kept it (rejected/ in the store) and logged why; for the
		 * maildir it is read and done with, like a recorded answer. */
		if (res->status != INBOUND_RETRY) {
			/* Maildir's "seen" flag, moving it out of new/; drop any info a careless
			 * writer already put on its name. The rename is made durable with the
			 * others of its batch (sync_cur): lost to a crash, it leaves the file in
			 * new/, replayed and found recorded, which costs a replay, not an answer. */
			_cleanup_free_ char *from = xasprintf("%s/new/%s", c->inbox, f->name);
			_cleanup_free_ char *to = xasprintf("%s/cur/%s:2,S", c->inbox, f->base);
			if (rename(from, to) < 0)
				log_error_errno(errno, "local: marking %s seen (moving it into cur/) "
				                "failed: %m", from);
			else if (c->sync_cur)
				(void)sd_event_source_set_enabled(c->sync_cur, SD_EVENT_ONESHOT);
			retry_reset(c);
		} else {
			/* Left in new/; the retry timer, poll() or the next start offers it again. */
			unmark_retry(c, f);
			log_debug("local: %s left in new/ for a later try", f->name);
			retry_later(c, res->error < 0 ? res->error : -EAGAIN);
		}
	}
	inflight_free(f);
}

static const char *unusable_reason_bad(const char *data, size_t len)
{
	const char *end = memmem(data, len, "\n\n", 2);
	const char *crlf = memmem(data, len, "\r\n\r\n", 4);
	if (!end || (crlf && crlf < end))
		end = crlf;
	if (len == 0)
		return "not a mail: the file is empty";
	if (!end)
		return "not a mail: the header section has no closing blank line (truncated?)";
	if (memchr(data, 0, (size_t)(end - data)))
		return "not a mail: a NUL byte in the header section";
	return "not a usable mail: no parseable From address";
}

/* mail_parse() says only -EBADMSG or -E2BIG; the operator looking at failed/ wants to know
 * which of its reasons applied. */
static char *unusable_reason(const char *data, size_t len, int r)
{
	_cleanup_free_ char *why = NULL;
	if (r == -E2BIG && mail_bounds_check(data, len, &why) < 0 && why)
		return xasprintf("not parsed, too complex: %s", why);
	return xstrdup(unusable_reason_bad(data, len));
}

/* Hands one file of new/ to the core, read where it is: inbox/coco-reading names it while
 * it is read and handed over. Returns 1 if it was handed over, 0 if not. */
static int process_file(channel *c, const char *name)
{
	if (name[0] == '.' || strchr(name, '/') || inflight_find(c, name))
		return 0;

	int r = reading_set(c, name);
	if (r < 0) {
		log_warning_errno(r, "local: cannot write %s/" READING_FILE " (which mail is being "
		                  "read), leaving %s in new/ for later: %m", c->inbox, name);
		retry_later(c, r);
		return 0;
	}

	_cleanup_free_ char *base = xstrndup(name, strcspn(name, ":"));
	_cleanup_free_ char *path = xasprintf("%s/new/%s", c->inbox, name);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	r = read_regular_file(path, LOCAL_MAIL_MAX, &data, &len);
	if (r == -ENOENT)
		return 0; /* gone meanwhile (someone else took it) */
	if (r == -EFBIG) {
		inbox_reject(c, "new", name, base, "larger than 10 MiB");
		return 0;
	}
	if (r == -ENOTSUP) {
		inbox_reject(c, "new", name, base, "not a regular file");
		return 0;
	}
	if (r < 0) {
		log_warning_errno(r, "local: reading %s failed, leaving it for later: %m", path);
		retry_later(c, r);
		return 0;
	}

	_cleanup_mail_message_ mail_message *m = NULL;
	r = mail_parse(data, len, &m);
	if (r == -EFBIG) {
		inbox_reject(c, "new", name, base, "larger than 10 MiB");
		return 0;
	}
	if (r < 0) {
		_cleanup_free_ char *why = unusable_reason(data, len, r);
		inbox_reject(c, "new", name, base, why);
		return 0;
	}

	email_inbound *mail = NULL;
	if (email_inbound_read(c->h->cfg, data, len, m, &mail) < 0) {
		log_error("local: hashing %s failed, leaving it for later", path);
		retry_later(c, -ENOMEM);
		return 0;
	}
	inflight *f = xcalloc(1, sizeof(*f));
	f->c = c;
	f->name = xstrdup(name);
	f->base = TAKE_PTR(base);
	f->mail = mail;
	inbound_msg im;
	email_inbound_msg(mail, c->h->name, &im);
	inflight_add(c, f);
	/* No sender: this mail may be an answer to an anonymous round (architecture.md). */
	/* Not the mail's key: its Message-ID names the writer's domain, and the core alone knows
	 * whether the answer is anonymous. The file's name is the delivering host's. */
	log_debug("local: %s handed over", name);
	/* done may run before this returns and free f. */
	c->h->receive(c->h, &im, on_inbound_done, f);
	return 1;
}

/* A file found in new/ by a scan, with its arrival time. */
typedef struct inbox_entry {
	char *name;
	struct timespec mtime; /* zero when not looked at (a scan of one) or gone */
} inbox_entry;

/* Arrival order: the file's mtime (an MDA writes the mail into tmp/ and renames it into new/
 * right after), the name breaking ties. Names alone are no order: MDAs name files
 * `sec.M<usec>P<pid>.host` without zero-padding, or at random (trial 7: two replies of one
 * member in the same second were applied in name order, the older one last, so it counted). */
static int entry_cmp(const void *a, const void *b)
{
	const inbox_entry *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void backlog_push(channel *c, const char *name)
{
	if (c->backlog_start > 0 && c->n_backlog == c->cap_backlog) {
		memmove(c->backlog, c->backlog + c->backlog_start,
		        (c->n_backlog - c->backlog_start) * sizeof(char *));
		c->n_backlog -= c->backlog_start;
		c->backlog_start = 0;
	}
	if (c->n_backlog == c->cap_backlog) {
		c->cap_backlog = c->cap_backlog ? c->cap_backlog * 2 : 64;
		c->backlog = xrealloc(c->backlog, c->cap_backlog * sizeof(char *));
	}
	c->backlog[c->n_backlog++] = xstrdup(name);
}

static size_t backlog_len(const channel *c)
{
	return c->n_backlog - c->backlog_start;
}

static void backlog_clear(channel *c)
{
	for (size_t i = c->backlog_start; i < c->n_backlog; i++)
		free(c->backlog[i]);
	c->backlog_start = c->n_backlog = 0;
}

/* Hands at most LOCAL_BATCH_MAX mails of the backlog to the core (one commit covers them,
 * after this turn); the rest in the next turn. Returns how many were handed over. */
static int backlog_run(channel *c)
{
	int handed = 0;
	for (size_t k = 0; k < LOCAL_BATCH_MAX && backlog_len(c) > 0; k++) {
		char *name = c->backlog[c->backlog_start++];
		handed += process_file(c, name);
		free(name);
	}
	/* The batch is handed over: no mail is being read any more. Should this write fail, a
	 * crash would give the last mail one more try, no more. */
	if (c->reading_set) {
		int r = reading_set(c, NULL);
		if (r < 0)
			log_debug_errno(r, "local: resetting %s/" READING_FILE " failed: %m", c->inbox);
	}
	if (backlog_len(c) == 0)
		c->backlog_start = c->n_backlog = 0;
	else if (c->batch)
		(void)sd_event_source_set_enabled(c->batch, SD_EVENT_ONESHOT);
	return handed;
}

/* Offers every file in new/ not already in flight, in the order they arrived (entry_cmp()):
 * a batch now, the rest a batch a turn. Mail that arrives while cocod runs comes through
 * inotify in the kernel's order and needs none of this; a scan (the start, a retry, lost
 * events) stats each file, one fstatat() a mail, only when there are two or more. */
static int scan_inbox(channel *c)
{
	_cleanup_free_ char *dir = xasprintf("%s/new", c->inbox);
	DIR *d = opendir(dir);
	inbox_entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d)
		return log_warning_errno(errno, "local: cannot read %s: %m", dir);
	/* Everything in new/ is looked at now, whoever put it there. */
	strv_free(c->requeued);
	c->requeued = NULL;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = xrealloc(v, cap * sizeof *v);
			}
			v[n++] = (inbox_entry){.name = xstrdup(de->d_name)};
		}
	struct stat st;
	for (size_t i = 0; n > 1 && i < n; i++)
		if (fstatat(dirfd(d), v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			v[i].mtime = st.st_mtim; /* else gone: process_file() says so */
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, entry_cmp);
	backlog_clear(c);
	for (size_t i = 0; i < n; i++) {
		backlog_push(c, v[i].name);
		free(v[i].name);
	}
	free(v);
	return backlog_run(c);
}

/* Every event the inotify descriptor holds, read at once (sd-event's own inotify source
 * dispatches one event per loop turn, so 2,000 mails were 2,000 turns and commits). */
static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	channel *c = userdata;
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool overflow = false;

	while (backlog_len(c) < LOCAL_BACKLOG_MAX) {
		ssize_t k = read(fd, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* EAGAIN: all read */
		for (char *p = buf; p < buf + k;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW)
				overflow = true;
			else if (ev->len > 0 && (ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) &&
			         !requeued_take(c, ev->name))
				backlog_push(c, ev->name);
		}
	}
	if (overflow)
		(void)scan_inbox(c); /* events were lost: look at everything */
	else if (backlog_len(c) > 0)
		(void)backlog_run(c);
	return 0;
}

static int on_batch(sd_event_source *s, void *userdata)
{
	(void)backlog_run(userdata);
	return 0;
}

static int on_sync_cur(sd_event_source *s, void *userdata)
{
	channel *c = userdata;
	_cleanup_free_ char *cur = xasprintf("%s/cur", c->inbox);
	int r = fsync_dir(cur);
	if (r < 0)
		log_warning_errno(r, "local: fsync of %s failed: %m", cur);
	return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)scan_inbox(userdata);
	return 0;
}

static int on_initial_scan(sd_event_source *s, void *userdata)
{
	/* Deferred out of start(): the core gets inbound messages only once it holds the
	 * connector handle. */
	(void)scan_inbox(userdata);
	return 0;
}

/* The mail inbox/coco-reading names, if it is still in new/: cocod died while reading it,
 * so it is tried once more, or quarantined if that was its last try. Returns 1 if it was
 * renamed for one more try, else 0. */
static int recover_reading(channel *c)
{
	_cleanup_free_ char *name = reading_get(c);
	if (!name)
		return 0;
	_cleanup_free_ char *from = xasprintf("%s/new/%s", c->inbox, name);
	if (access(from, F_OK) < 0)
		return 0; /* done with, quarantined, or taken by someone else since */
	size_t n = strcspn(name, ":");
	_cleanup_free_ char *base = xstrndup(name, n);
	if (STREQ(name + n, INFO_RETRY)) {
		inbox_reject(c, "new", name, base,
		             "cocod stopped twice while reading it (crashed?), so it is not read "
		             "again; move it back into new/ to retry");
		return 0;
	}
	_cleanup_free_ char *to = xasprintf("%s/new/%s" INFO_RETRY, c->inbox, base);
	int r = rename_noreplace(from, to);
	if (r < 0) {
		log_error_errno(r, "local: marking %s for its last try failed: %m", from);
		return 0;
	}
	log_warning("local: cocod stopped while reading %s (crashed?): it is read once more, and "
	            "quarantined if that stops cocod again", from);
	return 1;
}

/* What the last run left (see the top of this file): the mail being read tried once more
 * or quarantined; and what an older cocod left claimed in cur/: replayed, tried once more,
 * or quarantined. Runs at start, before the inbox is watched or scanned. */
static void recover_unfinished(channel *c)
{
	_cleanup_free_ char *dir = xasprintf("%s/cur", c->inbox);
	_cleanup_free_ char *newdir = xasprintf("%s/new", c->inbox);
	DIR *d = opendir(dir);
	char **names = NULL;
	struct dirent *de;
	unsigned replayed = 0, retried = 0;

	if (!d) {
		log_warning_errno(errno, "local: cannot read %s: %m", dir);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&names, xstrdup(de->d_name));
	closedir(d);
	for (char **n = names; n && *n; n++) {
		const char *info = strchr(*n, ':');
		_cleanup_free_ char *base = xstrndup(*n, strcspn(*n, ":"));
		_cleanup_free_ char *target = NULL;
		if (info && STREQ(info, INFO_RETRY)) {
			inbox_reject(c, "cur", *n, base,
			             "cocod stopped twice while reading it (crashed?), so it is not read "
			             "again; move it back into new/ to retry");
			continue;
		}
		if (info && STREQ(info, INFO_HANDED))
			target = xstrdup(base);
		else if (!info)
			target = xasprintf("%s" INFO_RETRY, base);
		else
			continue; /* done (:2,S) or not ours */
		_cleanup_free_ char *from = xasprintf("%s/%s", dir, *n);
		_cleanup_free_ char *to = xasprintf("%s/%s", newdir, target);
		int r = rename_noreplace(from, to);
		if (r < 0) {
			log_error_errno(r, "local: putting %s back into new/ failed: %m", from);
			continue;
		}
		if (info) {
			replayed++;
		} else {
			retried++;
			log_warning("local: cocod stopped while reading %s/cur/%s (crashed?): it is read "
			            "once more, and quarantined if that stops cocod again", c->inbox,
			            base);
		}
	}
	strv_free(names);
	retried += recover_reading(c);
	int r = reading_set(c, NULL);
	if (r < 0)
		log_warning_errno(r, "local: resetting %s/" READING_FILE " failed: %m", c->inbox);
	if (replayed + retried > 0) {
		r = fsync_dir(newdir);
		if (r < 0)
			log_warning_errno(r, "local: fsync of %s failed: %m", newdir);
	}
	if (replayed > 0)
		log_notice("local: %u repl%s the core had not finished with when cocod stopped %s "
		           "offered again", replayed, replayed == 1 ? "y" : "ies",
		           replayed == 1 ? "is" : "are");
}

static channel *local_stop(channel *c)
{
	if (!c)
		return NULL;
	sd_event_source_disable_unref(c->watch);
	sd_event_source_disable_unref(c->initial_scan);
	sd_event_source_disable_unref(c->batch);
	if (c->sync_cur) {
		int enabled = SD_EVENT_OFF;
		/* Seen marks not yet synced: now, the stop is orderly. */
		if (sd_event_source_get_enabled(c->sync_cur, &enabled) >= 0 && enabled != SD_EVENT_OFF)
			(void)on_sync_cur(c->sync_cur, c);
		sd_event_source_disable_unref(c->sync_cur);
	}
	if (c->inotify_fd >= 0)
		close(c->inotify_fd);
	backlog_clear(c);
	free(c->backlog);
	sd_event_source_disable_unref(c->retry);
	/* An orderly stop: what is in flight stays in new/ for the next start, and a late done
	 * only frees its message. */
	for (size_t i = 0; i < c->n_inflight; i++) {
		inflight *f = c->inflight[i];
		unmark_retry(c, f);
		f->c = NULL;
	}
	strv_free(c->requeued);
	free(c->inflight);
	strmap_free(c->inflight_names);
	if (c->reading_fd >= 0)
		close(c->reading_fd);
	/* Staged sends are always ended within the spool's run; should one be left, it was
	 * never made durable: a retry, and its temporary goes. */
	for (size_t i = 0; i < c->n_staged; i++) {
		_cleanup_free_ char *tmp = xasprintf("%s/tmp/%s", c->outbox, c->staged[i].name);
		(void)unlink(tmp);
		c->staged[i].done(SEND_RETRY, "the channel stopped", NULL, c->staged[i].userdata);
		free(c->staged[i].name);
		free(c->staged[i].message_id);
	}
	free(c->staged);
	free(c->outbox);
	free(c->inbox);
	sd_event_unref(c->loop);
	free(c);
	return NULL;
}

static int local_start(const channel_host *h, channel **ret)
{
	if (!h || !h->loop || !h->receive || !ret)
		return -EINVAL;
	channel *c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->loop = sd_event_ref(h->loop);
	const char *outbox = config_get(h->cfg, "Local", "Outbox");
	const char *inbox = config_get(h->cfg, "Local", "Inbox");
	c->outbox = outbox ? xstrdup(outbox) : xasprintf("%s/local/outbox", h->state_dir);
	c->inbox = inbox ? xstrdup(inbox) : xasprintf("%s/local/inbox", h->state_dir);
	c->retry_first_usec = LOCAL_RETRY_FIRST_USEC;
	c->inotify_fd = -1;
	c->reading_fd = -1;
	c->inflight_names = strmap_new();
#ifdef COCO_TEST_HOOKS
	/* Tests wait milliseconds, not seconds, for the first retry. */
	const char *ms = getenv("COCO_LOCAL_RETRY_MSEC");
	long v;
	if (ms && parse_long(ms, 1, 1000, &v) >= 0)
		c->retry_first_usec = (uint64_t)v * 1000;
#endif
	c->retry_usec = c->retry_first_usec;

	int r = maildir_make(c->outbox, false);
	if (r < 0) {
		log_error_errno(r, "local: cannot create the outbox %s: %m", c->outbox);
		local_stop(c);
		return r;
	}
	r = maildir_make(c->inbox, true);
	if (r < 0) {
		log_error_errno(r, "local: cannot create the inbox %s: %m", c->inbox);
		local_stop(c);
		return r;
	}
	_cleanup_free_ char *reading = xasprintf("%s/" READING_FILE, c->inbox);
	c->reading_fd = open(reading, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (c->reading_fd < 0) {
		r = -errno;
		log_error_errno(r, "local: cannot open %s (where it notes which mail is being "
		                "read): %m", reading);
		local_stop(c);
		return r;
	}

	sweep_leftovers(c);
	recover_unfinished(c);

	_cleanup_free_ char *newdir = xasprintf("%s/new", c->inbox);
	c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	r = c->inotify_fd < 0 ? -errno : 0;
	if (r >= 0 && inotify_add_watch(c->inotify_fd, newdir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		r = -errno;
	if (r >= 0)
		r = sd_event_add_io(c->loop, &c->watch, c->inotify_fd, EPOLLIN, on_inotify, c);
	if (r >= 0)
		r = sd_event_add_defer(c->loop, &c->batch, on_batch, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->batch, SD_EVENT_OFF);
	/* Below the host's post source (its commit): each batch is committed and its
	 * confirmations sent before the next is handed over. At the same priority sd-event
	 * may dispatch the re-armed batch first, turn after turn, and the whole backlog then
	 * waits for one commit, held in memory meanwhile. */
	if (r >= 0)
		r = sd_event_source_set_priority(c->batch, SD_EVENT_PRIORITY_IDLE);
	if (r >= 0)
		r = sd_event_add_defer(c->loop, &c->sync_cur, on_sync_cur, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->sync_cur, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_defer(c->loop, &c->initial_scan, on_initial_scan, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->initial_scan, SD_EVENT_ONESHOT);
	if (r >= 0)
		r = sd_event_add_time_relative(c->loop, &c->retry, CLOCK_MONOTONIC, c->retry_first_usec,
		                               c->retry_first_usec / 10, on_retry, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->retry, SD_EVENT_OFF);
	if (r < 0) {
		log_error_errno(r, "local: cannot watch %s: %m", newdir);
		local_stop(c);
		return r;
	}
	(void)sd_event_source_set_description(c->watch, "local-inbox");
	log_info("local: delivering to %s, reading answers from %s", c->outbox, c->inbox);
	*ret = c;
	return 0;
}

static int local_poll(channel *c)
{
	return scan_inbox(c);
}

static int local_forget(channel *c, const char *const *addresses, const char *const *phrases,
                        size_t *ret_erased)
{
	char **busy = NULL;
	for (size_t i = 0; i < c->n_inflight; i++)
		strv_push(&busy, xstrdup(c->inflight[i]->name));
	int r = local_forget_maildirs(c->outbox, c->inbox, (const char *const *)busy, addresses,
	                              phrases, ret_erased);
	strv_free(busy);
	return r;
}

/* The maildirs may move on a reload only by a restart; everything else is read at use. */
static int local_reconfigure(channel *c)
{
	const char *outbox = config_get(c->h->cfg, "Local", "Outbox");
	const char *inbox = config_get(c->h->cfg, "Local", "Inbox");
	_cleanup_free_ char *o = outbox ? xstrdup(outbox)
	                                : xasprintf("%s/local/outbox", c->h->state_dir);
	_cleanup_free_ char *i = inbox ? xstrdup(inbox) : xasprintf("%s/local/inbox", c->h->state_dir);
	return STREQ(o, c->outbox) && STREQ(i, c->inbox) ? 0 : -EOPNOTSUPP;
}

static const config_key_def local_keys[] = {
	{"Outbox", CONFIG_VALUE_PATH, false, "maildir the local channel delivers to (default STATE/local/outbox)"},
	{"Inbox", CONFIG_VALUE_PATH, false, "maildir the local channel reads answers from (default STATE/local/inbox)"},
};
static const config_section_def local_section = {"Local", local_keys, ELEMENTSOF(local_keys)};
/* [Mail] From= is not required here: the outbox is nobody's mailbox, and a message without
 * a sender fails with a clear error. */
static const config_key_def local_mail_keys[] = {
	{"From", CONFIG_VALUE_ADDRESS, false, "the sender address of outgoing mail; replies come back to From's local part + a per-member tag"},
	{"Name", CONFIG_VALUE_STRING, false, "the sender display name"},
	EMAIL_KEY_AUTHSERVID,
	EMAIL_KEY_REPLY_TO_STRANGERS,
};
static const config_section_def local_mail_section = {"Mail", local_mail_keys,
                                                      ELEMENTSOF(local_mail_keys)};
static const config_section_def *const local_sections[] = {&local_mail_section, &local_section,
                                                           NULL};

const channel_ops local_channel = {
	.name = "local",
	.caps = CHANNEL_DM | CHANNEL_THREADS,
	.address = "email",
	.sections = local_sections,
	.start = local_start,
	.reconfigure = local_reconfigure,
	.send = local_send,
	.send_begin = local_send_begin,
	.send_end = local_send_end,
	.poll = local_poll,
	.stop = local_stop,
	.forget = local_forget,
};
