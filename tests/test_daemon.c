/* End-to-end tests of the real cocod binary: it is started on a copy of the example config
 * in a temporary directory, with a key made by `cococtl keygen` and a NOTIFY_SOCKET this test
 * binds, so what systemd would see (READY, STATUS, WATCHDOG, RELOADING, STOPPING) is checked
 * together with the control socket, SIGHUP reload (refused and accepted), start-up failures
 * (invalid config, no key) and a clean SIGTERM stop. The binaries come from $COCOD and
 * $COCOCTL (tests/run.sh exports them), else build/san/. Every wait is bounded, and the child
 * is killed by its pid in the teardown even when an assertion failed. */
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
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

#define START_TIMEOUT_MS 30000 /* ASan builds start slower; a hang still fails in bounded time */
#define STEP_TIMEOUT_MS 30000 /* a deadline for a hung step, not a speed limit */
#define CONTROL_TIMEOUT_MS 30000

typedef struct env {
	char dir[64];
	char *etc, *campaign_conf, *secrets, *state, *sock, *notify_path, *log;
	int notify_fd;
	pid_t pid;
	int exit_status; /* of the child, once reaped (pid is then 0 and reaped true) */
	bool reaped;
	char **notes; /* every assignment received on the notify socket, in order */
	size_t cursor; /* notify_wait() looks at notes from here on */
} env;

static const char *cocod_bin(void)
{
	const char *p = getenv("COCOD");
	return p && *p ? p : "build/san/cocod";
}

static const char *cococtl_bin(void)
{
	const char *p = getenv("COCOCTL");
	return p && *p ? p : "build/san/cococtl";
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

/* Runs argv with stdout captured (stderr too if want_stderr), waits at most timeout_ms and
 * kills it past that. Returns the wait status, or -errno. */
static int run_capture(char *const argv[], bool want_stderr, int timeout_ms, char **ret_out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		if (want_stderr)
			dup2(p[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	strbuf out = {0};
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		char buf[4096];
		ssize_t n = read(p[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_add(&out, buf, (size_t)n);
	}
	close(p[0]);
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	if (ret_out)
		*ret_out = strbuf_steal(&out);
	strbuf_done(&out);
	return status;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static char *slurp(const char *path)
{
	char *s = NULL;
	if (read_file(path, 16 * 1024 * 1024, &s, NULL) < 0)
		return xstrdup("");
	return s;
}

/* ---- fixture ---- */

static int env_teardown(void **state);

static int env_setup(void **state)
{
	env *e = xcalloc(1, sizeof *e);
	_cleanup_free_ char *key = NULL;
	e->notify_fd = -1;
	snprintf(e->dir, sizeof e->dir, "/tmp/coco-daemon.XXXXXX");
	if (!mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	e->etc = xasprintf("%s/etc", e->dir);
	e->campaign_conf = xasprintf("%s/campaigns.d/onboarding.conf", e->etc);
	e->secrets = xasprintf("%s/secrets", e->dir);
	e->state = xasprintf("%s/state", e->dir);
	e->sock = xasprintf("%s/control.sock", e->dir);
	e->notify_path = xasprintf("%s/notify.sock", e->dir);
	e->log = xasprintf("%s/cocod.log", e->dir);
	*state = e;

	char *cp[] = {"cp", "-r", "etc", e->etc, NULL};
	if (run_capture(cp, false, STEP_TIMEOUT_MS, NULL) != 0)
		goto fail;
	if (mkdir(e->secrets, 0700) < 0)
		goto fail;
	key = xasprintf("%s/coco-key", e->secrets);
	char *keygen[] = {(char *)cococtl_bin(), "keygen", key, NULL};
	if (run_capture(keygen, false, STEP_TIMEOUT_MS, NULL) != 0)
		goto fail;

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(e->notify_path) >= sizeof sa.sun_path)
		goto fail;
	memcpy(sa.sun_path, e->notify_path, strlen(e->notify_path) + 1);
	e->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (e->notify_fd < 0 || bind(e->notify_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		goto fail;
	return 0;
fail:
	/* cmocka skips the teardown of a test whose setup failed. */
	fprintf(stderr, "test setup failed in %s: %m\n", e->dir);
	env_teardown(state);
	*state = NULL;
	return -1;
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
	if (e->notify_fd >= 0)
		close(e->notify_fd);
	if (getenv("COCO_TEST_KEEP"))
		fprintf(stderr, "kept %s\n", e->dir);
	else
		nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	strv_free(e->notes);
	free(e->etc);
	free(e->campaign_conf);
	free(e->secrets);
	free(e->state);
	free(e->sock);
	free(e->notify_path);
	free(e->log);
	free(e);
	return 0;
}

enum {
	SPAWN_NO_KEY = 1 << 0,        /* no CREDENTIALS_DIRECTORY */
	SPAWN_FOREIGN_WATCHDOG = 1 << 1, /* WATCHDOG_PID names another process */
};

static void spawn_cocod(env *e, unsigned flags)
{
	assert_int_equal(e->pid, 0);
	e->reaped = false;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		unsetenv("CREDENTIALS_DIRECTORY");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		if (!(flags & SPAWN_NO_KEY))
			setenv("CREDENTIALS_DIRECTORY", e->secrets, 1);
		setenv("COCO_TEMPLATE_DIR", "templates", 1);
		/* The example campaign's dates are examples: run before them, whatever today is
		 * (2026-11-20 10:00 UTC; honoured by the test build only). */
		setenv("COCO_TEST_NOW", "1795168800", 1);
		setenv("NOTIFY_SOCKET", e->notify_path, 1);
		setenv("WATCHDOG_USEC", "200000", 1);
		char pidbuf[32];
		snprintf(pidbuf, sizeof pidbuf, "%d",
		         (int)(flags & SPAWN_FOREIGN_WATCHDOG ? getppid() : getpid()));
		setenv("WATCHDOG_PID", pidbuf, 1);
		char *argv[] = {(char *)cocod_bin(), "--config", e->etc, "--state", e->state,
		                "--socket", e->sock, NULL};
		execv(argv[0], argv);
		_exit(127);
	}
	e->pid = pid;
}

/* Reads whatever datagrams are queued, waiting at most timeout_ms for the first. */
static void notify_drain(env *e, int timeout_ms)
{
	struct pollfd p = {.fd = e->notify_fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r <= 0)
		return;
	for (;;) {
		char buf[4097];
		ssize_t n = recv(e->notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf[n] = 0;
		/* One datagram may carry several newline-separated assignments. */
		for (char *line = buf; *line;) {
			char *nl = strchrnul(line, '\n');
			if (nl > line)
				strv_push(&e->notes, xstrndup(line, (size_t)(nl - line)));
			line = *nl ? nl + 1 : nl;
		}
	}
}

static bool note_matches(const char *note, const char *prefix, const char *contains)
{
	if (strncmp(note, prefix, strlen(prefix)) != 0)
		return false;
	return !contains || strstr(note, contains);
}

/* Reaps the child if it has exited; true if it is gone. */
static bool child_gone(env *e)
{
	if (e->reaped)
		return true;
	if (e->pid <= 0)
		return false;
	int status;
	if (waitpid(e->pid, &status, WNOHANG) != e->pid)
		return false;
	e->pid = 0;
	e->exit_status = status;
	e->reaped = true;
	return true;
}

/* Waits for an assignment starting with prefix (and containing `contains`, if given) that
 * arrived after the last one found; moves the cursor past it. Gives up early once the child
 * has exited and everything it sent has been read. */
static bool notify_wait(env *e, const char *prefix, const char *contains, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		size_t n = strv_length(e->notes);
		for (size_t i = e->cursor; i < n; i++)
			if (note_matches(e->notes[i], prefix, contains)) {
				e->cursor = i + 1;
				return true;
			}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		bool gone = child_gone(e);
		size_t before = strv_length(e->notes);
		notify_drain(e, gone ? 0 : left > 50 ? 50 : (int)left);
		if (gone && strv_length(e->notes) == before)
			return false;
	}
}

static size_t notes_count(env *e, size_t from, const char *exact)
{
	size_t n = 0;
	for (size_t i = from; i < strv_length(e->notes); i++)
		n += STREQ(e->notes[i], exact);
	return n;
}

/* Waits for the child to exit; returns its wait status or -ETIMEDOUT. Reaps it. */
static int wait_exit(env *e, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		if (child_gone(e))
			return e->exit_status;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

static void start_ready(env *e, unsigned flags)
{
	spawn_cocod(e, flags);
	if (!notify_wait(e, "READY=1", NULL, START_TIMEOUT_MS)) {
		_cleanup_free_ char *log = slurp(e->log);
		fail_msg("no READY=1 from cocod (%s); its log:\n%s",
		         child_gone(e) ? "it exited" : "timed out", log);
	}
}

static cJSON *call_cmd(env *e, const char *cmd)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", cmd);
	cJSON *reply = NULL;
	int r = control_call(e->sock, req, CONTROL_TIMEOUT_MS, &reply);
	cJSON_Delete(req);
	assert_int_equal(r, 0);
	assert_non_null(reply);
	return reply;
}

static bool reply_ok(const cJSON *reply)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok"));
}

static bool array_has_string(const cJSON *a, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, a) if (cJSON_IsString(it) && STREQ(it->valuestring, s)) return true;
	return false;
}

/* ---- tests ---- */

static size_t count_pings(env *e, int window_ms)
{
	size_t from = strv_length(e->notes);
	int64_t end = now_ms() + window_ms;
	while (now_ms() < end)
		notify_drain(e, (int)(end - now_ms()));
	return notes_count(e, from, "WATCHDOG=1");
}

static void test_ready_status_watchdog(void **state)
{
	env *e = *state;
	start_ready(e, 0);
	/* STATUS follows READY in its own datagram; the example config has one campaign. */
	assert_true(notify_wait(e, "STATUS=", "1 campaign", STEP_TIMEOUT_MS));

	/* WATCHDOG_USEC=200000: sd-event pings at half that. Two pings must come, but how
	 * soon depends on the machine's load, so they are waited for with a generous deadline
	 * instead of being counted in a fixed window. */
	for (int i = 0; i < 2; i++)
		if (!notify_wait(e, "WATCHDOG=1", NULL, STEP_TIMEOUT_MS))
			fail_msg("WATCHDOG=1 number %d did not come within %d ms", i + 1,
			         STEP_TIMEOUT_MS);
}

/* The watchdog variables were meant for another process (WATCHDOG_PID is not cocod's):
 * cocod must not ping, as sd_watchdog_enabled() says. */
static void test_watchdog_other_pid(void **state)
{
	env *e = *state;
	start_ready(e, SPAWN_FOREIGN_WATCHDOG);
	assert_int_equal(count_pings(e, 500), 0);
	assert_int_equal(notes_count(e, 0, "WATCHDOG=1"), 0);
}

static void test_control_socket(void **state)
{
	env *e = *state;
	start_ready(e, 0);

	cJSON *st = call_cmd(e, "status");
	assert_true(reply_ok(st));
	assert_true(array_has_string(cJSON_GetObjectItem(st, "campaigns"), "onboarding"));
	assert_false(array_has_string(cJSON_GetObjectItem(st, "campaigns"), "nope"));
	const cJSON *pid = cJSON_GetObjectItem(st, "pid");
	assert_true(cJSON_IsNumber(pid));
	assert_int_equal(pid->valueint, e->pid);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(st, "reloads")));
	assert_int_equal(cJSON_GetObjectItem(st, "reloads")->valueint, 0);
	assert_null(cJSON_GetObjectItem(st, "last_reload_error"));
	const cJSON *sdir = cJSON_GetObjectItem(st, "state");
	assert_true(cJSON_IsString(sdir));
	assert_string_equal(sdir->valuestring, e->state);
	cJSON_Delete(st);

	cJSON *bad = call_cmd(e, "nope");
	assert_false(reply_ok(bad));
	const cJSON *err = cJSON_GetObjectItem(bad, "error");
	assert_true(cJSON_IsString(err));
	assert_non_null(strstr(err->valuestring, "unknown command"));
	cJSON_Delete(bad);

	/* "cmd" must be a string. */
	cJSON *req = cJSON_Parse("{\"cmd\":42}");
	cJSON *reply = NULL;
	assert_int_equal(control_call(e->sock, req, CONTROL_TIMEOUT_MS, &reply), 0);
	cJSON_Delete(req);
	assert_false(reply_ok(reply));
	assert_true(cJSON_IsString(cJSON_GetObjectItem(reply, "error")));
	cJSON_Delete(reply);

	/* Garbage on a raw connection: an error reply, and the daemon keeps serving. */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, e->sock, strlen(e->sock) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	static const char garbage[] = "not json\n";
	ssize_t sent = send(fd, garbage, strlen(garbage), MSG_NOSIGNAL);
	assert_int_equal(sent, (ssize_t)strlen(garbage));
	strbuf in = {0};
	int64_t deadline = now_ms() + CONTROL_TIMEOUT_MS;
	while (!(in.len && memchr(in.s, '\n', in.len)) && now_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		char buf[1024];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		strbuf_add(&in, buf, (size_t)n);
	}
	_cleanup_free_ char *line = strbuf_steal(&in);
	assert_non_null(strchr(line, '\n'));
	cJSON *g = cJSON_Parse(line);
	assert_non_null(g);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(g, "ok")));
	assert_true(cJSON_IsString(cJSON_GetObjectItem(g, "error")));
	cJSON_Delete(g);

	st = call_cmd(e, "status");
	assert_true(reply_ok(st));
	cJSON_Delete(st);

	/* The CLI against the live daemon. */
	_cleanup_free_ char *out = NULL;
	char *rounds[] = {(char *)cococtl_bin(), "--socket", e->sock, "rounds", NULL};
	int status = run_capture(rounds, false, STEP_TIMEOUT_MS, &out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (!strstr(out, "onboarding/kickoff"))
		fail_msg("cococtl rounds did not list onboarding/kickoff:\n%s", out);

	/* The CLI reports a refused request with a non-zero exit. */
	_cleanup_free_ char *out2 = NULL;
	char *norounds[] = {(char *)cococtl_bin(), "--socket", e->sock, "rounds", "no-such",
	                    NULL};
	status = run_capture(norounds, true, STEP_TIMEOUT_MS, &out2);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
}

static void test_reload(void **state)
{
	env *e = *state;
	start_ready(e, 0);
	_cleanup_free_ char *orig = slurp(e->campaign_conf);
	assert_non_null(strstr(orig, "[Campaign]\n"));

	/* Broken: an unknown key in [Campaign]. The old config keeps running. */
	const char *sect = strstr(orig, "[Campaign]\n") + strlen("[Campaign]\n");
	_cleanup_free_ char *broken = xasprintf("%.*sBogus=1\n%s", (int)(sect - orig), orig, sect);
	write_text(e->campaign_conf, broken);
	assert_int_equal(kill(e->pid, SIGHUP), 0);
	assert_true(notify_wait(e, "RELOADING=1", NULL, STEP_TIMEOUT_MS));
	assert_true(notify_wait(e, "READY=1", NULL, STEP_TIMEOUT_MS));

	cJSON *st = call_cmd(e, "status");
	assert_true(reply_ok(st));
	assert_int_equal(cJSON_GetObjectItem(st, "reloads")->valueint, 0);
	const cJSON *err = cJSON_GetObjectItem(st, "last_reload_error");
	assert_true(cJSON_IsString(err));
	assert_true(strlen(err->valuestring) > 0);
	assert_true(array_has_string(cJSON_GetObjectItem(st, "campaigns"), "onboarding"));
	cJSON_Delete(st);
	_cleanup_free_ char *log = slurp(e->log);
	if (!strstr(log, "reload refused"))
		fail_msg("no \"reload refused\" in the log:\n%s", log);
	/* The error itself names the file and line, as `cococtl check` would. */
	_cleanup_free_ char *where = xasprintf("%s:", e->campaign_conf);
	assert_non_null(strstr(log, where));
	assert_non_null(strstr(log, "Bogus"));

	/* Fixed, with a changed title: accepted. */
	const char *title = strstr(orig, "\nTitle=");
	assert_non_null(title);
	title++;
	const char *eol = strchr(title, '\n');
	assert_non_null(eol);
	_cleanup_free_ char *fixed =
		xasprintf("%.*sTitle=Changed%s", (int)(title - orig), orig, eol);
	write_text(e->campaign_conf, fixed);
	assert_int_equal(kill(e->pid, SIGHUP), 0);
	assert_true(notify_wait(e, "RELOADING=1", NULL, STEP_TIMEOUT_MS));
	assert_true(notify_wait(e, "READY=1", NULL, STEP_TIMEOUT_MS));
	assert_true(notify_wait(e, "STATUS=", "1 campaign", STEP_TIMEOUT_MS));

	st = call_cmd(e, "status");
	assert_true(reply_ok(st));
	assert_int_equal(cJSON_GetObjectItem(st, "reloads")->valueint, 1);
	assert_null(cJSON_GetObjectItem(st, "last_reload_error"));
	assert_true(array_has_string(cJSON_GetObjectItem(st, "campaigns"), "onboarding"));
	cJSON_Delete(st);

	/* Still alive and serving after both reloads. */
	assert_false(child_gone(e));
}

static void test_invalid_config_at_start(void **state)
{
	env *e = *state;
	_cleanup_free_ char *orig = slurp(e->campaign_conf);
	const char *sect = strstr(orig, "[Campaign]\n");
	assert_non_null(sect);
	sect += strlen("[Campaign]\n");
	_cleanup_free_ char *broken = xasprintf("%.*sBogus=1\n%s", (int)(sect - orig), orig, sect);
	write_text(e->campaign_conf, broken);

	spawn_cocod(e, 0);
	int status = wait_exit(e, START_TIMEOUT_MS);
	assert_int_not_equal(status, -ETIMEDOUT);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	notify_drain(e, 0);
	assert_int_equal(notes_count(e, 0, "READY=1"), 0);

	_cleanup_free_ char *log = slurp(e->log);
	/* "<path>:<line>: ..." with the line of the Bogus= key. */
	_cleanup_free_ char *where = xasprintf("%s:", e->campaign_conf);
	const char *p = strstr(log, where);
	if (!p)
		fail_msg("no \"%s<line>:\" error in the log:\n%s", where, log);
	p += strlen(where);
	long line = 0;
	while (*p >= '0' && *p <= '9')
		line = line * 10 + (*p++ - '0');
	assert_int_equal(*p, ':');
	size_t expect = 1;
	for (const char *q = orig; q < sect; q++)
		expect += *q == '\n';
	assert_int_equal(line, expect);
	assert_non_null(strstr(log, "Bogus"));
	/* Nothing listens: no socket was left behind. */
	assert_int_equal(access(e->sock, F_OK), -1);
}

static void test_no_key(void **state)
{
	env *e = *state;
	spawn_cocod(e, SPAWN_NO_KEY);
	int status = wait_exit(e, START_TIMEOUT_MS);
	assert_int_not_equal(status, -ETIMEDOUT);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	notify_drain(e, 0);
	assert_int_equal(notes_count(e, 0, "READY=1"), 0);
	_cleanup_free_ char *log = slurp(e->log);
	if (!strstr(log, "keygen"))
		fail_msg("the no-key error does not mention keygen:\n%s", log);
	assert_int_equal(access(e->sock, F_OK), -1);
}

static void test_short_key(void **state)
{
	env *e = *state;
	_cleanup_free_ char *key = xasprintf("%s/coco-key", e->secrets);
	assert_int_equal(unlink(key), 0);
	write_text(key, "short\n");
	spawn_cocod(e, 0);
	int status = wait_exit(e, START_TIMEOUT_MS);
	assert_int_not_equal(status, -ETIMEDOUT);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	_cleanup_free_ char *log = slurp(e->log);
	if (!strstr(log, "too short"))
		fail_msg("a 5-byte key was not refused as too short:\n%s", log);
}

static void test_sigterm(void **state)
{
	env *e = *state;
	start_ready(e, 0);
	struct stat st;
	assert_int_equal(stat(e->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	assert_int_equal(kill(e->pid, SIGTERM), 0);
	assert_true(notify_wait(e, "STOPPING=1", NULL, STEP_TIMEOUT_MS));
	int status = wait_exit(e, 5000);
	assert_int_not_equal(status, -ETIMEDOUT);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		_cleanup_free_ char *log = slurp(e->log);
		fail_msg("cocod did not exit 0 on SIGTERM (status 0x%x); its log:\n%s", status,
		         log);
	}
	int r = access(e->sock, F_OK), err = errno;
	assert_int_equal(r, -1);
	assert_int_equal(err, ENOENT);
}

static void test_bad_arguments(void **state)
{
	_cleanup_free_ char *out = NULL;
	char *argv[] = {(char *)cocod_bin(), "--no-such-option", NULL};
	int status = run_capture(argv, true, STEP_TIMEOUT_MS, &out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	assert_non_null(strstr(out, "usage:"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_ready_status_watchdog),
		T(test_watchdog_other_pid),
		T(test_control_socket),
		T(test_reload),
		T(test_invalid_config_at_start),
		T(test_no_key),
		T(test_short_key),
		T(test_sigterm),
		cmocka_unit_test(test_bad_arguments),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
