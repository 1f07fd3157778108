/* The control socket under pressure, against the real cocod: more connections than the cap,
 * a daemon out of file descriptors (RLIMIT_NOFILE lowered in the child), a client that
 * pipelines requests and never reads its replies, and the peer policy (a unit test of the
 * decision with made-up credentials, and our own uid accepted end to end).
 *
 * CPU and memory are read from /proc/PID/stat and /proc/PID/status. The bounds are far from
 * what a healthy daemon uses and far below what the failures look like (a spinning loop uses
 * all of every second; an unbounded reply buffer grows by the size of every reply), so the
 * machine's load does not decide the outcome. The binaries come from $COCOD and $COCOCTL
 * (tests/run.sh exports them), else build/san/. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

#define START_TIMEOUT_MS 15000
#define CONTROL_TIMEOUT_MS 10000

typedef struct env {
	char dir[64];
	char *etc, *secrets, *state, *sock, *log;
	pid_t pid;
} env;

static const char *bin(const char *var, const char *def)
{
	const char *p = getenv(var);
	return p && *p ? p : def;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return status;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static int env_teardown(void **state)
{
	env *e = *state;
	if (!e)
		return 0;
	if (e->pid > 0) {
		kill(e->pid, SIGKILL);
		waitpid(e->pid, NULL, 0);
	}
	if (getenv("COCO_TEST_KEEP"))
		fprintf(stderr, "kept %s\n", e->dir);
	else
		nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e->etc);
	free(e->secrets);
	free(e->state);
	free(e->sock);
	free(e->log);
	free(e);
	return 0;
}

static int env_setup(void **state)
{
	env *e = xcalloc(1, sizeof *e);
	*state = e;
	snprintf(e->dir, sizeof e->dir, "/tmp/coco-control.XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	e->etc = xasprintf("%s/etc", e->dir);
	e->secrets = xasprintf("%s/secrets", e->dir);
	e->state = xasprintf("%s/state", e->dir);
	e->sock = xasprintf("%s/control.sock", e->dir);
	e->log = xasprintf("%s/cocod.log", e->dir);
	_cleanup_free_ char *key = xasprintf("%s/coco-key", e->secrets);
	char *cp[] = {"cp", "-r", "etc", e->etc, NULL};
	char *keygen[] = {(char *)bin("COCOCTL", "build/san/cococtl"), "keygen", key, NULL};
	if (run(cp) != 0 || mkdir(e->secrets, 0700) < 0 || run(keygen) != 0) {
		fprintf(stderr, "test setup failed in %s\n", e->dir);
		env_teardown(state);
		*state = NULL;
		return -1;
	}
	return 0;
}

static cJSON *try_status(env *e, int timeout_ms)
{
	cJSON *req = cJSON_CreateObject(), *reply = NULL;
	cJSON_AddStringToObject(req, "cmd", "status");
	int r = control_call(e->sock, req, timeout_ms, &reply);
	cJSON_Delete(req);
	return r < 0 ? NULL : reply;
}

static bool status_ok(env *e)
{
	cJSON *st = try_status(e, CONTROL_TIMEOUT_MS);
	bool ok = st && cJSON_IsTrue(cJSON_GetObjectItem(st, "ok"));
	cJSON_Delete(st);
	return ok;
}

/* Starts cocod with at most nofile descriptors (0: inherited) and waits until it answers. */
static void start(env *e, rlim_t nofile)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (nofile) {
			struct rlimit rl = {nofile, nofile};
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(125);
		}
		setenv("CREDENTIALS_DIRECTORY", e->secrets, 1);
		setenv("COCO_TEMPLATE_DIR", "templates", 1);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		char *argv[] = {(char *)bin("COCOD", "build/san/cocod"), "--config", e->etc,
		                "--state", e->state, "--socket", e->sock, NULL};
		execv(argv[0], argv);
		_exit(127);
	}
	e->pid = pid;
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	for (;;) {
		cJSON *st = try_status(e, 1000);
		if (st) {
			cJSON_Delete(st);
			return;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			e->pid = 0;
			_cleanup_free_ char *log = NULL;
			(void)read_file(e->log, 1 << 20, &log, NULL);
			fail_msg("cocod exited at start; its log:\n%s", log ? log : "");
		}
		if (now_ms() > deadline)
			fail_msg("cocod did not answer within %d ms", START_TIMEOUT_MS);
		sleep_ms(50);
	}
}

/* A connection that is not served yet: non-blocking, so a full backlog is -EAGAIN. */
static int connect_nb(env *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, e->sock, strlen(e->sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* utime + stime of pid, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
static long cpu_ticks(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid), *s = NULL;
	assert_int_equal(read_file(path, 4096, &s, NULL), 0);
	const char *p = strrchr(s, ')');
	assert_non_null(p);
	unsigned long ut = 0, st = 0;
	/* after ")": state(3) ... utime(14) stime(15) */
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	                        &st), 2);
	return (long)(ut + st);
}

static long status_kb(pid_t pid, const char *field)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/status", (int)pid), *s = NULL;
	assert_int_equal(read_file(path, 65536, &s, NULL), 0);
	_cleanup_free_ char *key = xasprintf("\n%s:", field);
	const char *p = strstr(s, key);
	assert_non_null(p);
	return strtol(p + strlen(key), NULL, 10);
}

static size_t count_fds(pid_t pid)
{
	_cleanup_free_ char *cmd = xasprintf("ls /proc/%d/fd | wc -l", (int)pid);
	FILE *f = popen(cmd, "re");
	assert_non_null(f);
	unsigned long n = 0;
	assert_int_equal(fscanf(f, "%lu", &n), 1);
	pclose(f);
	return n;
}

static size_t log_lines(env *e)
{
	_cleanup_free_ char *log = NULL;
	if (read_file(e->log, 64 << 20, &log, NULL) < 0)
		return 0;
	size_t n = 0;
	for (const char *p = log; *p; p++)
		n += *p == '\n';
	return n;
}

/* Holds n connections open for a second (plus whatever the daemon takes to accept them)
 * and measures the daemon's CPU time over that second. */
#define HOLD 150
static void hold_and_measure(env *e, int *fds, size_t *ret_held, long *ret_ticks)
{
	/* Connect while the daemon accepts; once it stops (the backlog stays full for a
	 * while), it holds all it will take. */
	size_t held = 0;
	int64_t stalled_since = -1;
	while (held < HOLD) {
		int fd = connect_nb(e);
		if (fd >= 0) {
			fds[held++] = fd;
			stalled_since = -1;
			continue;
		}
		assert_true(fd == -EAGAIN || fd == -ECONNREFUSED);
		if (stalled_since < 0)
			stalled_since = now_ms();
		else if (now_ms() - stalled_since > 1000)
			break;
		sleep_ms(10);
	}
	long before = cpu_ticks(e->pid);
	sleep_ms(1000);
	*ret_ticks = cpu_ticks(e->pid) - before;
	*ret_held = held;
}

static void test_connection_cap(void **state)
{
	env *e = *state;
	start(e, 0);
	size_t base_fds = count_fds(e->pid), lines = log_lines(e), held;
	int fds[HOLD];
	long ticks, hz = sysconf(_SC_CLK_TCK);
	hold_and_measure(e, fds, &held, &ticks);
	print_message("held %zu connections; cocod used %ld ticks (%ld/s) in 1 s\n", held, ticks,
	              hz);
	assert_true(held > CONTROL_CONNS_MAX);
	/* The cap: no more than CONTROL_CONNS_MAX connection descriptors in the daemon. */
	size_t fds_now = count_fds(e->pid);
	if (fds_now > base_fds + CONTROL_CONNS_MAX)
		fail_msg("cocod has %zu descriptors, %zu at start: over the cap of %d connections",
		         fds_now, base_fds, CONTROL_CONNS_MAX);
	assert_true(ticks < hz / 4);
	assert_true(log_lines(e) - lines < 10);

	/* Once they close, the daemon serves again. */
	for (size_t i = 0; i < held; i++)
		close(fds[i]);
	assert_true(status_ok(e));
}

static void test_out_of_descriptors(void **state)
{
	env *e = *state;
	/* Few enough that the connections run out of descriptors before the cap. */
	start(e, 48);
	size_t lines = log_lines(e), held;
	int fds[HOLD];
	long ticks, hz = sysconf(_SC_CLK_TCK);
	hold_and_measure(e, fds, &held, &ticks);
	print_message("held %zu connections; cocod used %ld ticks (%ld/s) in 1 s, +%zu log lines\n",
	              held, ticks, hz, log_lines(e) - lines);
	/* A spin uses the whole second. */
	assert_true(ticks < hz / 4);
	assert_true(log_lines(e) - lines < 10);
	_cleanup_free_ char *log = NULL;
	assert_int_equal(read_file(e->log, 64 << 20, &log, NULL), 0);
	assert_non_null(strstr(log, "cannot accept a connection"));

	/* One closes: its descriptor lets the next one in, and the daemon still answers. */
	for (size_t i = 0; i < held; i++)
		close(fds[i]);
	assert_true(status_ok(e));
}

/* Sends status requests and never reads the replies. The daemon must stop reading this
 * client (so our sends stall) instead of buffering every reply. */
static void test_unread_replies(void **state)
{
	env *e = *state;
	start(e, 0);
	long rss0 = status_kb(e->pid, "VmRSS");
	int fd = connect_nb(e);
	assert_true(fd >= 0);
	static const char req[] = "{\"cmd\":\"status\"}\n";
	/* 100k requests would be some 50 MB of replies. */
	enum { N = 100000 };
	size_t sent_bytes = 0;
	char chunk[sizeof req * 256];
	for (size_t i = 0; i < 256; i++)
		memcpy(chunk + i * (sizeof req - 1), req, sizeof req - 1);
	size_t chunk_len = 256 * (sizeof req - 1), off = 0;
	while (sent_bytes < N * (sizeof req - 1)) {
		ssize_t n = send(fd, chunk + off, chunk_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			/* Stalled: the daemon stopped reading us (or is slow: then it goes on). */
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 2000) == 0)
				break;
			continue;
		}
		assert_true(n > 0);
		sent_bytes += (size_t)n;
		off += (size_t)n;
		if (off == chunk_len)
			off = 0;
	}
	size_t sent = sent_bytes / (sizeof req - 1); /* complete requests */
	/* Another client is served while this one is stalled. */
	assert_true(status_ok(e));
	long hwm = status_kb(e->pid, "VmHWM"), rss = status_kb(e->pid, "VmRSS");
	print_message("sent %zu requests; VmRSS %ld kB at start, %ld kB now, peak %ld kB\n", sent,
	              rss0, rss, hwm);
	assert_true(sent < N);
	/* ASan's quarantine keeps the memory of freed replies for a while: what the daemon
	 * handles before it pauses costs some tens of MB here; 100k replies cost hundreds. */
	assert_true(hwm - rss0 < 96 * 1024);

	/* Reading the replies lets the daemon go on with the requests: each gets its reply. */
	char buf[65536];
	size_t replies = 0;
	int64_t deadline = now_ms() + 6 * CONTROL_TIMEOUT_MS;
	while (replies < sent && now_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++)
			replies += buf[i] == '\n';
	}
	assert_int_equal(replies, sent);
	close(fd);
	assert_true(status_ok(e));
}

static void test_line_cap(void **state)
{
	env *e = *state;
	start(e, 0);
	int fd = connect_nb(e);
	assert_true(fd >= 0);
	/* 128 KiB without a newline: the connection is closed, not buffered further. */
	static char junk[128 * 1024];
	memset(junk, 'x', sizeof junk);
	size_t off = 0;
	int64_t deadline = now_ms() + CONTROL_TIMEOUT_MS;
	bool closed = false;
	while (!closed && now_ms() < deadline) {
		ssize_t n = off < sizeof junk ? send(fd, junk + off, sizeof junk - off,
		                                     MSG_NOSIGNAL | MSG_DONTWAIT)
		                              : 0;
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			closed = true; /* EPIPE, ECONNRESET */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) > 0) {
			char b[64];
			closed = recv(fd, b, sizeof b, MSG_DONTWAIT) <= 0;
		}
	}
	close(fd);
	assert_true(closed);
	assert_true(status_ok(e));
}

static void test_peer_policy(void **state)
{
	const gid_t none[] = {0}, some[] = {100, 4242, 27};
	const uid_t self = 1000;
	const gid_t admin = 4242;
	control_peer root = {.uid = 0, .gid = 0};
	control_peer me = {.uid = self, .gid = 1000};
	control_peer other = {.uid = 2000, .gid = 2000, .groups = none, .n_groups = 0};
	control_peer member = {.uid = 2001, .gid = 2001, .groups = some, .n_groups = 3};
	control_peer primary = {.uid = 2002, .gid = admin};

	assert_true(control_peer_allowed(&root, self, CONTROL_NO_GROUP));
	assert_true(control_peer_allowed(&me, self, CONTROL_NO_GROUP));
	assert_false(control_peer_allowed(&other, self, CONTROL_NO_GROUP));
	assert_false(control_peer_allowed(&member, self, CONTROL_NO_GROUP));
	assert_false(control_peer_allowed(&primary, self, CONTROL_NO_GROUP));

	assert_true(control_peer_allowed(&root, self, admin));
	assert_true(control_peer_allowed(&me, self, admin));
	assert_false(control_peer_allowed(&other, self, admin));
	assert_true(control_peer_allowed(&member, self, admin));
	assert_true(control_peer_allowed(&primary, self, admin));
	assert_false(control_peer_allowed(&member, self, 4243));
	/* A daemon running as root lets only root (and its group) in. */
	assert_false(control_peer_allowed(&other, 0, CONTROL_NO_GROUP));
}

/* End to end: we run cocod as ourselves, so our uid is its uid and we get in; the socket
 * is 0660. (Another uid being refused needs root to fake; the unit test above covers it.) */
static void test_own_uid_accepted(void **state)
{
	env *e = *state;
	start(e, 0);
	assert_true(status_ok(e));
	struct stat st;
	assert_int_equal(stat(e->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	_cleanup_free_ char *log = NULL;
	assert_int_equal(read_file(e->log, 64 << 20, &log, NULL), 0);
	assert_null(strstr(log, "refused"));
}

/* Run as root, the test can be someone else: a child that drops to nobody (with the file
 * permissions opened, so that only cocod's own check stands in the way) is refused. */
static void test_other_uid_refused(void **state)
{
	env *e = *state;
	if (geteuid() != 0) {
		print_message("not root: cannot connect as another uid, skipped\n");
		skip();
	}
	start(e, 0);
	assert_int_equal(chmod(e->dir, 0711), 0);
	assert_int_equal(chmod(e->sock, 0666), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		cJSON *req = cJSON_CreateObject(), *reply = NULL;
		cJSON_AddStringToObject(req, "cmd", "status");
		int r = control_call(e->sock, req, CONTROL_TIMEOUT_MS, &reply);
		if (r < 0)
			fprintf(stderr, "as nobody: %s\n", strerror(-r));
		const cJSON *err = reply ? cJSON_GetObjectItem(reply, "error") : NULL;
		_exit(reply && !cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok")) &&
		              cJSON_IsString(err) && strstr(err->valuestring, "permission denied")
		          ? 0
		          : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	_cleanup_free_ char *log = NULL;
	assert_int_equal(read_file(e->log, 64 << 20, &log, NULL), 0);
	assert_non_null(strstr(log, "refused uid 65534"));
	/* and we (root) still get in */
	assert_true(status_ok(e));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_policy),
		T(test_own_uid_accepted),
		T(test_other_uid_refused),
		T(test_connection_cap),
		T(test_out_of_descriptors),
		T(test_unread_replies),
		T(test_line_cap),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
