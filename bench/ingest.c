/* Inbound throughput (issue 9.7, "inbound in bursts, not one by one"): a real cocod (the
 * production build, build/cocod; $COCOD overrides) with the local channel and one campaign
 * of N members whose survey round is open, and N replies delivered into its inbox maildir as
 * an MDA does (written into tmp/, renamed into new/):
 *   - running:  cocod is up and idle; the clock starts at the first rename into new/ and
 *               stops when answers.jsonl holds N lines; then until every reply is marked
 *               seen and every confirmation has left the spool (written to the outbox);
 *   - start-up: the N replies wait in new/ when cocod starts; from its start to N lines;
 *   - a Python peer over the same files in the same run: each mail parsed with the email
 *     module, one JSON line appended and fsync'd per answer.
 *   - the floor, in the same run and on the same disk: the maildir work that no reader of
 *     this inbox can skip, done by the bench itself in a C loop with no parsing and no sync:
 *     each reply moved from new/ to cur/, each confirmation (of the size cocod wrote) created
 *     in the outbox's tmp/ and moved into new/. Its CPU time an answer bounds what any
 *     program doing the same work could reach on one CPU of this machine.
 * Prints answers/s of each, the ratio running/peer and cocod's peak RSS (VmHWM), and whether
 * the targets (>= 10x the peer, <= 16 MiB) are met. Never fails on a figure: it fails only if
 * a run does not finish (BENCH_INGEST_TIMEOUT seconds, default 900) or records wrongly.
 *
 * Usage: build/bench/ingest [N...] (default 2000 20000), from the source tree (templates/).
 * The runs' directories go under $TMPDIR (default /tmp): TMPDIR=/dev/shm measures cocod's own
 * CPU without the disk's file-creation cost. The running run's CPU is also split into user
 * and system time.
 * The round is made open by writing its state.json before cocod starts (Open= an hour ago,
 * relative to now: the production binary has no test clock), so no invitation goes out; the
 * bench computes each member's reply tag from the key, as cocod does. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "email/address.h"
#include "secret.h"
#include "util.h"

#define CAMPAIGN "b"
#define ROUND "s"
#define FROM "coco@provider.example"

static const char *cocod_bin = "build/cocod";
static const char *cococtl_bin = "build/cococtl";
static double timeout_s = 900;

/* One line per answer: the peer a person would write in an afternoon. */
static const char peer_py[] =
	"import email, email.policy, json, os, sys, time\n"
	"src, out = sys.argv[1], sys.argv[2]\n"
	"names = sorted(os.listdir(src))\n"
	"t0, c0 = time.monotonic(), time.process_time()\n"
	"fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)\n"
	"for n in names:\n"
	"    with open(os.path.join(src, n), 'rb') as f:\n"
	"        m = email.message_from_binary_file(f, policy=email.policy.default)\n"
	"    body = m.get_body(preferencelist=('plain',))\n"
	"    text = body.get_content() if body is not None else ''\n"
	"    rec = {'key': m['Message-ID'], 'from': m['From'].addresses[0].addr_spec,\n"
	"           'to': m['To'].addresses[0].addr_spec, 'text': text.split('\\n> ')[0].strip()}\n"
	"    os.write(fd, (json.dumps(rec) + '\\n').encode())\n"
	"    os.fsync(fd)\n"
	"os.close(fd)\n"
	"print('%.6f %.6f' % (time.monotonic() - t0, time.process_time() - c0))\n";

typedef struct bench {
	char root[256];
	char *cfg, *state, *inbox, *answers, *spool_new, *log;
	unsigned n;
	int64_t open;
	pid_t pid;
} bench;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "ingest: %s\n", what);
	exit(1);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "ingest: cannot write %s: %m\n", path);
		exit(1);
	}
}

static void run_cmd(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "ingest: failed: %s\n", cmd);
		exit(1);
	}
}

static void member_id(unsigned i, char buf[16])
{
	snprintf(buf, 16, "m%05u", i);
}

/* A fresh config and state for n members, the round open since an hour ago. */
static void bench_setup(bench *b, unsigned n)
{
	*b = (bench){.n = n};
	/* TMPDIR: another file system (a tmpfs shows cocod's own work without the disk's). */
	const char *tmp = getenv("TMPDIR");
	if ((size_t)snprintf(b->root, sizeof b->root, "%s/coco-bench-ingest.XXXXXX",
	                     tmp && *tmp ? tmp : "/tmp") >= sizeof b->root)
		die("TMPDIR is too long");
	if (!mkdtemp(b->root))
		die("mkdtemp failed");
	b->cfg = xasprintf("%s/etc", b->root);
	b->state = xasprintf("%s/state", b->root);
	b->inbox = xasprintf("%s/state/local/inbox", b->root);
	b->answers = xasprintf("%s/state/campaigns/" CAMPAIGN "/rounds/" ROUND "/once/answers.jsonl",
	                       b->root);
	b->spool_new = xasprintf("%s/state/spool/local/new", b->root);
	b->log = xasprintf("%s/cocod.log", b->root);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s/campaigns.d' '%s/secrets' "
	                                     "'%s/campaigns/" CAMPAIGN "'",
	                                     b->cfg, b->root, b->state);
	run_cmd(cmd);

	_cleanup_free_ char *conf = xasprintf("[Daemon]\nStateDirectory=%s\nControlSocket=%s/control.sock\n"
	                                      "Connectors=local\n[Secrets]\nDirectory=%s/secrets\n"
	                                      "[Mail]\nFrom=" FROM "\n",
	                                      b->state, b->root, b->root);
	_cleanup_free_ char *conf_path = xasprintf("%s/coco.conf", b->cfg);
	write_text(conf_path, conf);

	/* Open= an hour ago, on the minute, in UTC. */
	time_t open = time(NULL) - 3600;
	open -= open % 60;
	b->open = open;
	struct tm tm;
	gmtime_r(&open, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
	strbuf c = {0};
	strbuf_printf(&c, "[Campaign]\nTitle=Bench\nTimeZone=UTC\nQuietHours=none\n\n");
	for (unsigned i = 1; i <= n; i++) {
		char id[16];
		member_id(i, id);
		strbuf_printf(&c, "[Member \"%s\"]\nSide=%s\nEmail=%s@client.example\n\n", id,
		              i % 2 ? "provider" : "client", id);
	}
	strbuf_printf(&c, "[Round \"" ROUND "\"]\nKind=survey\nTitle=Survey\nOpen=%s\nDuration=7d\n\n"
	              "[Question \"" ROUND "/q\"]\nKind=scale\nText=Rate it\n", when);
	_cleanup_free_ char *camp_path = xasprintf("%s/campaigns.d/" CAMPAIGN ".conf", b->cfg);
	_cleanup_free_ char *camp = strbuf_steal(&c);
	write_text(camp_path, camp);

	/* Open already, its invitations out: cocod sends none at start. */
	_cleanup_free_ char *state = xasprintf(
		"{\"v\":1,\"rounds\":{\"" ROUND "\":{\"state\":\"open\",\"occurrence\":\"once\","
		"\"open\":%lld,\"close\":%lld,\"reminded\":{}}}}",
		(long long)open, (long long)open + 7 * 24 * 3600);
	_cleanup_free_ char *state_path = xasprintf("%s/campaigns/" CAMPAIGN "/state.json", b->state);
	write_text(state_path, state);

	cmd = (free(cmd), xasprintf("'%s' keygen '%s/secrets/coco-key' >/dev/null", cococtl_bin,
	                            b->root));
	run_cmd(cmd);
}

/* The runs' directories, removed when all runs are done: on ext4 without a journal (the
 * development VM's disk) every file created within a few seconds (minutes, while the inode
 * table is dirty) after a mass delete pays for a scan past the recently deleted inodes
 * (ext4's recently_deleted()), which made each run slower than the one before it. */
static char **done_roots;

static void remove_done_roots(void)
{
	for (char **r = done_roots; r && *r; r++) {
		_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", *r);
		if (system(cmd) != 0)
			fprintf(stderr, "ingest: could not remove %s\n", *r);
	}
	strv_free(done_roots);
	done_roots = NULL;
}

static void bench_cleanup(bench *b)
{
	strv_push(&done_roots, xstrdup(b->root));
	free(b->cfg);
	free(b->state);
	free(b->inbox);
	free(b->answers);
	free(b->spool_new);
	free(b->log);
}

/* The N replies, each as its member's mail client writes it, into dir/tmp/ (names returned
 * in delivery order). Made durable before any clock starts. */
static char **write_mails(bench *b, const char *dir)
{
	secret key;
	_cleanup_free_ char *secrets = xasprintf("%s/secrets", b->root);
	if (secret_load(secrets, &key) < 0)
		die("cannot load the key");
	_cleanup_free_ char *tmpdir = xasprintf("%s/tmp", dir);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s' '%s/new' '%s/cur'", tmpdir, dir, dir);
	run_cmd(cmd);
	char **names = xcalloc(b->n + 1, sizeof(char *));
	long long now = (long long)time(NULL);
	for (unsigned i = 1; i <= b->n; i++) {
		char id[16], tag[SECRET_TAG_LEN + 1];
		member_id(i, id);
		secret_tag(&key, CAMPAIGN, ROUND, id, tag);
		_cleanup_free_ char *to = email_reply_to(FROM, tag);
		_cleanup_free_ char *mail = xasprintf(
			"From: Member %u <%s@client.example>\r\nTo: <%s>\r\n"
			"Subject: Re: [Bench] Survey\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n"
			"Message-ID: <bench-%u-%lld@client.example>\r\nMIME-Version: 1.0\r\n"
			"Content-Type: text/plain; charset=utf-8\r\n\r\n"
			"1: %u\r\n\r\nThanks!\r\n\r\n> quoted invitation\r\n",
			i, id, to, i, now, i % 5 + 1);
		names[i - 1] = xasprintf("%lld.B%u.bench", now, i);
		_cleanup_free_ char *path = xasprintf("%s/%s", tmpdir, names[i - 1]);
		write_text(path, mail);
	}
	sync(); /* what an MDA fsyncs is not cocod's work to flush */
	return names;
}

static void start_cocod(bench *b)
{
	b->pid = fork();
	if (b->pid < 0)
		die("fork failed");
	if (b->pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(cocod_bin, cocod_bin, "--config", b->cfg, (char *)NULL);
		_exit(127);
	}
}

static bool cocod_ready(bench *b)
{
	_cleanup_free_ char *sock = xasprintf("%s/control.sock", b->root);
	_cleanup_free_ char *newdir = xasprintf("%s/new", b->inbox);
	return access(sock, F_OK) == 0 && access(newdir, F_OK) == 0;
}

static long vm_hwm_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The CPU time (user + system) the process used so far, in seconds; *ret_sys (if given)
 * gets the system part: on a file system whose inode allocator is slow (see
 * docs/performance.md), that is where file creation shows. */
static double cpu_sys_s(pid_t pid, double *ret_sys)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t k = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[k] = 0;
	/* After the ")" that ends the command name: state is field 3, utime 14, stime 15. */
	const char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	                 &st) != 2)
		return -1;
	if (ret_sys)
		*ret_sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_s(pid_t pid)
{
	return cpu_sys_s(pid, NULL);
}

/* BENCH_INGEST_SMAPS=DIR: cocod's /proc/PID/smaps at the end of each run, as
 * DIR/<run>-<N>.smaps (what is resident, mapping by mapping). */
static void save_smaps(bench *b, const char *run)
{
	const char *dir = getenv("BENCH_INGEST_SMAPS");
	if (!dir || !*dir || b->pid <= 0)
		return;
	_cleanup_free_ char *cmd = xasprintf("cp /proc/%d/smaps '%s/%s-%u.smaps'", (int)b->pid, dir,
	                                     run, b->n);
	if (system(cmd) != 0)
		fprintf(stderr, "ingest: could not save smaps\n");
}

static void stop_cocod(bench *b)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, SIGTERM);
	int status;
	waitpid(b->pid, &status, 0);
	b->pid = 0;
}

/* Lines in answers.jsonl, read on from where the last call stopped. */
typedef struct counter {
	int fd;
	unsigned lines;
} counter;

static unsigned count_lines(bench *b, counter *c)
{
	char buf[65536];
	if (c->fd < 0)
		c->fd = open(b->answers, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0)
		return 0;
	for (;;) {
		ssize_t k = read(c->fd, buf, sizeof buf);
		if (k <= 0)
			break;
		for (ssize_t i = 0; i < k; i++)
			c->lines += buf[i] == '\n';
	}
	return c->lines;
}

static unsigned count_dir(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	struct dirent *de;
	if (!d)
		return 0;
	size_t sl = suffix ? strlen(suffix) : 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		size_t l = strlen(de->d_name);
		if (!suffix || (l >= sl && STREQ(de->d_name + l - sl, suffix)))
			n++;
	}
	closedir(d);
	return n;
}

static bool all_done(bench *b)
{
	_cleanup_free_ char *cur = xasprintf("%s/cur", b->inbox);
	return count_dir(cur, ":2,S") == b->n && count_dir(b->spool_new, NULL) == 0;
}

typedef struct figures {
	double recorded_s, done_s;
	double cpu_s; /* cocod's, from the first mail to the last confirmation */
	double sys_s; /* of which in the kernel */
	double deliver_s; /* running: the bench's renames into new/ (an MDA's part, not cocod's) */
	long hwm_kib;
} figures;

static bool wait_recorded(bench *b, counter *c, double t0)
{
	while (count_lines(b, c) < b->n) {
		if (now_s() - t0 > timeout_s)
			return false;
		usleep(2000);
	}
	return true;
}

static bool wait_done(bench *b, double t0)
{
	while (!all_done(b)) {
		if (now_s() - t0 > timeout_s)
			return false;
		usleep(20000);
	}
	return true;
}

static void check_recorded(bench *b, counter *c, const char *what)
{
	usleep(100000); /* nothing more may come */
	if (count_lines(b, c) != b->n) {
		fprintf(stderr, "ingest: %s: %u answers recorded for %u replies\n", what, c->lines,
		        b->n);
		exit(1);
	}
}

static void timed_out(bench *b, counter *c, const char *what)
{
	fprintf(stderr, "ingest: %s: timed out after %.0f s with %u of %u recorded (log %s)\n",
	        what, timeout_s, c->lines, b->n, b->log);
	stop_cocod(b);
	exit(1);
}

/* cocod up and idle, then the burst. */
static figures run_running(unsigned n)
{
	bench b;
	figures f = {0};
	counter c = {.fd = -1};
	bench_setup(&b, n);
	start_cocod(&b);
	double t = now_s();
	while (!cocod_ready(&b)) {
		if (now_s() - t > 60)
			die("cocod did not start");
		usleep(10000);
	}
	char **names = write_mails(&b, b.inbox);
	usleep(200000); /* idle */
	double sys0 = 0, cpu0 = cpu_sys_s(b.pid, &sys0);
	double t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *from = xasprintf("%s/tmp/%s", b.inbox, names[i]);
		_cleanup_free_ char *to = xasprintf("%s/new/%s", b.inbox, names[i]);
		if (rename(from, to) < 0)
			die("rename into new/ failed");
	}
	f.deliver_s = now_s() - t0;
	if (!wait_recorded(&b, &c, t0))
		timed_out(&b, &c, "running");
	f.recorded_s = now_s() - t0;
	if (!wait_done(&b, t0))
		timed_out(&b, &c, "running (confirmations)");
	f.done_s = now_s() - t0;
	f.cpu_s = cpu_sys_s(b.pid, &f.sys_s) - cpu0;
	f.sys_s -= sys0;
	check_recorded(&b, &c, "running");
	f.hwm_kib = vm_hwm_kib(b.pid);
	save_smaps(&b, "running");
	stop_cocod(&b);
	if (c.fd >= 0)
		close(c.fd);
	strv_free(names);
	bench_cleanup(&b);
	return f;
}

static double self_cpu_s(void)
{
	struct rusage r;
	if (getrusage(RUSAGE_SELF, &r) < 0)
		return 0;
	return r.ru_utime.tv_sec + r.ru_stime.tv_sec +
	       (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* The mean size of the confirmations cocod wrote into the outbox (0 if none). */
static size_t outbox_mean_size(bench *b)
{
	size_t total = 0, count = 0;
	static const char *const boxes[] = {"new", "cur"};
	for (size_t k = 0; k < ELEMENTSOF(boxes); k++) {
		_cleanup_free_ char *dir = xasprintf("%s/state/local/outbox/%s", b->root, boxes[k]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			struct stat st;
			if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) == 0) {
				total += (size_t)st.st_size;
				count++;
			}
		}
		closedir(d);
	}
	return count ? total / count : 0;
}

/* The floor (see the top): N replies already in floor/in/new/ are moved into cur/, and N
 * confirmations of `size` bytes are written into floor/out/tmp/ and moved into new/. Returns
 * the CPU seconds of that loop alone. */
static double run_floor(bench *b, unsigned n, size_t size)
{
	_cleanup_free_ char *root = xasprintf("%s/floor", b->root);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s/in/new' '%s/in/cur' '%s/out/tmp' "
	                                     "'%s/out/new'",
	                                     root, root, root, root);
	run_cmd(cmd);
	_cleanup_free_ char *body = xmalloc(size ? size : 1);
	memset(body, 'x', size);
	char from[512], to[512];
	for (unsigned i = 0; i < n; i++) {
		snprintf(from, sizeof from, "%s/in/new/%u.floor", root, i);
		write_text(from, "reply\n");
	}
	sync();
	double c0 = self_cpu_s();
	for (unsigned i = 0; i < n; i++) {
		snprintf(from, sizeof from, "%s/in/new/%u.floor", root, i);
		snprintf(to, sizeof to, "%s/in/cur/%u.floor:2,S", root, i);
		if (rename(from, to) < 0)
			die("floor: rename failed");
		snprintf(from, sizeof from, "%s/out/tmp/%u.floor", root, i);
		int fd = open(from, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, body, size) != (ssize_t)size || close(fd) < 0)
			die("floor: cannot write a confirmation");
		snprintf(to, sizeof to, "%s/out/new/%u.floor", root, i);
		if (rename(from, to) < 0)
			die("floor: rename failed");
	}
	return self_cpu_s() - c0;
}

/* The replies wait in new/ when cocod starts. Also runs the peer over the same files. */
static figures run_startup(unsigned n, double *ret_peer_s, double *ret_peer_cpu_s,
                           double *ret_floor_cpu_s)
{
	bench b;
	figures f = {0};
	counter c = {.fd = -1};
	bench_setup(&b, n);
	char **names = write_mails(&b, b.inbox);
	/* The peer's copy of the same mails. */
	_cleanup_free_ char *peer_dir = xasprintf("%s/peer", b.root);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s' && cp '%s/tmp/'* '%s/' && sync", peer_dir,
	                                     b.inbox, peer_dir);
	run_cmd(cmd);
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *from = xasprintf("%s/tmp/%s", b.inbox, names[i]);
		_cleanup_free_ char *to = xasprintf("%s/new/%s", b.inbox, names[i]);
		if (rename(from, to) < 0)
			die("rename into new/ failed");
	}
	sync();
	double t0 = now_s();
	start_cocod(&b);
	if (!wait_recorded(&b, &c, t0))
		timed_out(&b, &c, "start-up");
	f.recorded_s = now_s() - t0;
	if (!wait_done(&b, t0))
		timed_out(&b, &c, "start-up (confirmations)");
	f.done_s = now_s() - t0;
	f.cpu_s = cpu_s(b.pid);
	check_recorded(&b, &c, "start-up");
	f.hwm_kib = vm_hwm_kib(b.pid);
	save_smaps(&b, "start-up");
	stop_cocod(&b);
	if (c.fd >= 0)
		close(c.fd);
	sync();

	/* The peer, on the same disk, right after. */
	_cleanup_free_ char *out = xasprintf("%s/peer.jsonl", b.root);
	_cleanup_free_ char *script = xasprintf("%s/peer.py", b.root);
	write_text(script, peer_py);
	_cleanup_free_ char *py = xasprintf("python3 '%s' '%s' '%s'", script, peer_dir, out);
	FILE *p = popen(py, "r");
	double peer_s = -1, peer_cpu = -1;
	if (!p || fscanf(p, "%lf %lf", &peer_s, &peer_cpu) != 2 || pclose(p) != 0 || peer_s <= 0)
		die("the Python peer failed");
	*ret_peer_s = peer_s;
	*ret_peer_cpu_s = peer_cpu;
	*ret_floor_cpu_s = run_floor(&b, n, outbox_mean_size(&b));
	strv_free(names);
	bench_cleanup(&b);
	return f;
}

static const char *met(bool ok)
{
	return ok ? "met" : "NOT met";
}

int main(int argc, char **argv)
{
	unsigned sizes[8] = {2000, 20000};
	size_t n_sizes = 2;
	if (argc > 1) {
		n_sizes = 0;
		for (int i = 1; i < argc && n_sizes < ELEMENTSOF(sizes); i++) {
			long v;
			if (parse_long(argv[i], 1, 1000000, &v) < 0)
				die("usage: ingest [N...]");
			sizes[n_sizes++] = (unsigned)v;
		}
	}
	if (getenv("COCOD"))
		cocod_bin = getenv("COCOD");
	if (getenv("COCOCTL"))
		cococtl_bin = getenv("COCOCTL");
	if (getenv("BENCH_INGEST_TIMEOUT"))
		timeout_s = atof(getenv("BENCH_INGEST_TIMEOUT"));
	if (!getenv("COCO_TEMPLATE_DIR")) {
		_cleanup_free_ char *cwd = get_current_dir_name();
		_cleanup_free_ char *t = xasprintf("%s/templates", cwd ? cwd : ".");
		setenv("COCO_TEMPLATE_DIR", t, 1);
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("CREDENTIALS_DIRECTORY");
	log_set_max_level(LOG_WARNING);
	if (access(cocod_bin, X_OK) < 0 || access(cococtl_bin, X_OK) < 0)
		die("build/cocod and build/cococtl are needed: run from the source tree after `make`");

	for (size_t k = 0; k < n_sizes; k++) {
		unsigned n = sizes[k];
		double peer_s = 0, peer_cpu = 0, floor_cpu = 0;
		figures run = run_running(n);
		figures start = run_startup(n, &peer_s, &peer_cpu, &floor_cpu);
		double rate = n / run.recorded_s, peer = n / peer_s, ratio = rate / peer;
		long hwm = run.hwm_kib > start.hwm_kib ? run.hwm_kib : start.hwm_kib;
		printf("ingest: %u replies, %u members (%s)\n", n, n, cocod_bin);
		printf("  running cocod: %u recorded in %.3f s = %.0f answers/s; all seen and "
		       "confirmed after %.3f s = %.0f/s; CPU %.3f s = %.2f ms an answer "
		       "(user %.2f, system %.2f)\n",
		       n, run.recorded_s, rate, run.done_s, n / run.done_s, run.cpu_s,
		       run.cpu_s * 1000 / n, (run.cpu_s - run.sys_s) * 1000 / n,
		       run.sys_s * 1000 / n);
		printf("                 (the bench delivered them, %u renames into new/, in %.3f s)\n",
		       n, run.deliver_s);
		printf("  start-up:      %u recorded in %.3f s = %.0f answers/s (start included); all "
		       "seen and confirmed after %.3f s; CPU %.3f s\n",
		       n, start.recorded_s, n / start.recorded_s, start.done_s, start.cpu_s);
		printf("  python peer:   %u in %.3f s = %.0f answers/s (email module, one fsync each); "
		       "CPU %.3f s = %.2f ms an answer\n",
		       n, peer_s, peer, peer_cpu, peer_cpu * 1000 / n);
		printf("  ratio running/peer: %.1fx (target >= 10x: %s)\n", ratio, met(ratio >= 10));
		if (floor_cpu > 0)
			printf("  floor:         maildir work alone (reply new/ -> cur/, confirmation "
			       "tmp/ -> new/): %.0f us CPU an answer = at most %.0f answers/s on one CPU "
			       "= %.1fx the peer\n",
			       floor_cpu * 1e6 / n, n / floor_cpu, n / floor_cpu / peer);
		printf("  cocod peak RSS (VmHWM): %.1f MiB running, %.1f MiB start-up (target <= 16 "
		       "MiB: %s)\n",
		       run.hwm_kib / 1024.0, start.hwm_kib / 1024.0, met(hwm >= 0 && hwm <= 16 * 1024));
		fflush(stdout);
	}
	remove_done_roots();
	return 0;
}
