/* Tests for the flat-file store: atomic replace, path confinement, appends with group
 * commit, idempotency keys across reopen, torn and oversize lines, listing, write errors
 * and the crash hook. Crash recovery under SIGKILL is in test_store_crash.c. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "store.h"
#include "util.h"

#define LINE_MAX_BYTES (1024 * 1024)

typedef struct fixture {
	char dir[64];
	store *s;
} fixture;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	fixture *f = xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/coco-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* A root that does not exist yet: store_open() must create it. */
	strncat(f->dir, "/root", sizeof f->dir - strlen(f->dir) - 1);
	if (store_open(f->dir, &f->s) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	store_free(f->s);
	char *slash = strrchr(f->dir, '/');
	*slash = '\0';
	rm_rf(f->dir);
	free(f);
	return 0;
}

static char *real_path(fixture *f, const char *rel)
{
	return xasprintf("%s/%s", f->dir, rel);
}

static void write_raw(fixture *f, const char *rel, const void *data, size_t len)
{
	_cleanup_free_ char *p = real_path(f, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *read_raw(fixture *f, const char *rel)
{
	_cleanup_free_ char *p = real_path(f, rel);
	char *data = NULL;
	if (read_file(p, 16 * 1024 * 1024, &data, NULL) < 0)
		return NULL;
	return data;
}

/* ---- callbacks used by the append tests ---- */

typedef struct recorder {
	int order[128];
	int results[128];
	size_t n;
} recorder;

typedef struct rec_arg {
	recorder *r;
	int id;
} rec_arg;

static void record_cb(int result, void *userdata)
{
	rec_arg *a = userdata;
	a->r->order[a->r->n] = a->id;
	a->r->results[a->r->n] = result;
	a->r->n++;
}

typedef struct lines {
	char *v[64];
	size_t n;
} lines;

static int collect_line(const char *line, size_t len, void *userdata)
{
	lines *l = userdata;
	assert_int_equal(strlen(line), len);
	if (l->n < ELEMENTSOF(l->v))
		l->v[l->n] = xstrdup(line);
	l->n++;
	return 0;
}

static void lines_free(lines *l)
{
	for (size_t i = 0; i < l->n && i < ELEMENTSOF(l->v); i++)
		free(l->v[i]);
	l->n = 0;
}

/* ---- whole files ---- */

static void test_replace_read_roundtrip(void **state)
{
	fixture *f = *state;
	const char data[] = "{\"round\":\"open\"}\0binary";
	assert_int_equal(store_replace(f->s, "campaigns/kick/state.json", data, sizeof data), 0);
	char *got = NULL;
	size_t len = 0;
	assert_int_equal(store_read(f->s, "campaigns/kick/state.json", 4096, &got, &len), 0);
	assert_int_equal(len, sizeof data);
	assert_memory_equal(got, data, sizeof data);
	free(got);

	/* A shorter replacement leaves nothing of the old content behind. */
	assert_int_equal(store_replace(f->s, "campaigns/kick/state.json", "{}", 2), 0);
	assert_int_equal(store_read(f->s, "campaigns/kick/state.json", 4096, &got, &len), 0);
	assert_int_equal(len, 2);
	assert_string_equal(got, "{}");
	free(got);

	/* Empty content is a valid file. */
	assert_int_equal(store_replace(f->s, "empty", NULL, 0), 0);
	assert_int_equal(store_read(f->s, "empty", 10, &got, &len), 0);
	assert_int_equal(len, 0);
	free(got);

	got = NULL;
	assert_int_equal(store_read(f->s, "campaigns/kick/state.json", 1, &got, &len), -EFBIG);
	assert_null(got);
	assert_int_equal(store_read(f->s, "campaigns/kick/none.json", 10, &got, &len), -ENOENT);
	assert_int_equal(store_read(f->s, "nodir/none.json", 10, &got, &len), -ENOENT);
	assert_int_equal(store_read(f->s, "campaigns", 10, &got, &len), -EISDIR);

	assert_int_equal(store_exists(f->s, "campaigns/kick/state.json"), 1);
	assert_int_equal(store_exists(f->s, "campaigns/kick/other.json"), 0);
	assert_int_equal(store_exists(f->s, "nodir/x"), 0);
	assert_int_equal(store_remove(f->s, "campaigns/kick/state.json"), 0);
	assert_int_equal(store_exists(f->s, "campaigns/kick/state.json"), 0);
	assert_int_equal(store_remove(f->s, "campaigns/kick/state.json"), -ENOENT);
	assert_string_equal(store_root(f->s), f->dir);
}

static void test_replace_leaves_no_tmp(void **state)
{
	fixture *f = *state;
	/* A stale temporary from an earlier crash must not block the replace. */
	assert_int_equal(store_replace(f->s, "d/state.json", "v0", 2), 0);
	write_raw(f, "d/state.json.tmp", "garbage", 7);
	assert_int_equal(store_replace(f->s, "d/state.json", "v1", 2), 0);

	_cleanup_free_ char *d = real_path(f, "d");
	DIR *dir = opendir(d);
	assert_non_null(dir);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		assert_false(strstr(de->d_name, ".tmp"));
		n++;
	}
	closedir(dir);
	assert_int_equal(n, 1);

	_cleanup_free_ char *p = real_path(f, "d/state.json");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	_cleanup_free_ char *content = read_raw(f, "d/state.json");
	assert_string_equal(content, "v1");
}

static void test_path_validation(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
	    "",
	    "../x",
	    "a/../b",
	    "/etc/passwd",
	    "a//b",
	    "a/",
	    ".hidden",
	    "a/.hidden",
	    "..",
	    ".",
	    "a/./b",
	    "a\nb",
	    "a\x01",
	    "a b",
	    "a\\b",
	    "x.tmp",
	    "d/s.json.tmp",
	    "name-that-is-far-too-long-to-be-a-single-component-of-a-store-path-x",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		assert_false(store_path_is_valid(bad[i]));
		assert_int_equal(store_replace(f->s, bad[i], "x", 1), -EINVAL);
		assert_int_equal(store_exists(f->s, bad[i]), -EINVAL);
		assert_int_equal(store_remove(f->s, bad[i]), -EINVAL);
		assert_int_equal(store_append(f->s, bad[i], "{}", NULL, NULL, NULL), -EINVAL);
	}
	assert_false(store_path_is_valid(NULL));
	char *got = NULL;
	assert_int_equal(store_read(f->s, "../etc/passwd", 10, &got, NULL), -EINVAL);
	char **v = NULL;
	assert_int_equal(store_list(f->s, "..", &v), -EINVAL);
	assert_int_equal(store_pending(f->s), 0);

	static const char *const good[] = {"a", "campaigns/kick/state.json", "a/b/c/d.jsonl",
					   "user@example.org", "x=1+2"};
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		assert_true(store_path_is_valid(good[i]));
}

static void test_symlinks_not_followed(void **state)
{
	fixture *f = *state;
	char outside[] = "/tmp/coco-outside-XXXXXX";
	assert_non_null(mkdtemp(outside));
	_cleanup_free_ char *secret = xasprintf("%s/secret", outside);
	int fd = open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"key\":\"outside\"}\n", 18), 18);
	close(fd);

	/* Planted inside the store: a directory link, a nested one, a file link. */
	assert_int_equal(store_replace(f->s, "sub/ok", "x", 1), 0);
	_cleanup_free_ char *l1 = real_path(f, "evil");
	_cleanup_free_ char *l2 = real_path(f, "sub/evil");
	_cleanup_free_ char *l3 = real_path(f, "link.jsonl");
	assert_int_equal(symlink(outside, l1), 0);
	assert_int_equal(symlink(outside, l2), 0);
	assert_int_equal(symlink(secret, l3), 0);

	char *got = NULL;
	size_t len;
	assert_true(store_read(f->s, "evil/secret", 100, &got, &len) < 0);
	assert_true(store_read(f->s, "sub/evil/secret", 100, &got, &len) < 0);
	assert_true(store_read(f->s, "link.jsonl", 100, &got, &len) < 0);
	assert_null(got);
	lines l = {0};
	assert_true(store_scan(f->s, "link.jsonl", collect_line, &l) < 0);
	assert_int_equal(l.n, 0);

	assert_true(store_replace(f->s, "evil/new", "x", 1) < 0);
	assert_true(store_replace(f->s, "sub/evil/deeper/new", "x", 1) < 0);
	char **names = NULL;
	assert_true(store_list(f->s, "evil", &names) < 0);

	recorder r = {0};
	rec_arg a0 = {&r, 0}, a1 = {&r, 1}, a2 = {&r, 2};
	assert_int_equal(store_append(f->s, "evil/a.jsonl", "{}", NULL, record_cb, &a0), 0);
	assert_int_equal(store_append(f->s, "link.jsonl", "{}", NULL, record_cb, &a1), 0);
	assert_int_equal(store_append(f->s, "fine.jsonl", "{}", NULL, record_cb, &a2), 0);
	assert_true(store_commit(f->s) < 0);
	assert_int_equal(r.n, 3);
	assert_true(r.results[0] < 0);
	assert_true(r.results[1] < 0);
	/* A failure in one file does not hold back another. */
	assert_int_equal(r.results[2], STORE_STORED);

	/* The key index never looks through the links either. */
	assert_false(store_has_key(f->s, "outside"));

	_cleanup_free_ char *created1 = xasprintf("%s/new", outside);
	_cleanup_free_ char *created2 = xasprintf("%s/a.jsonl", outside);
	assert_int_equal(access(created1, F_OK), -1);
	assert_int_equal(access(created2, F_OK), -1);
	_cleanup_free_ char *content = NULL;
	assert_int_equal(read_file(secret, 100, &content, NULL), 0);
	assert_string_equal(content, "{\"key\":\"outside\"}\n");
	rm_rf(outside);
}

/* Runs in a child where openat2() fails with ENOSYS (as on kernels before 5.6), so the
 * store walks paths one O_NOFOLLOW component at a time. Returns the failed check's number. */
static int fallback_checks(const char *root, const char *outside)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ELEMENTSOF(filter), .filter = filter};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return 1;
	struct open_how how = {.flags = O_RDONLY};
	if (syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how) >= 0 || errno != ENOSYS)
		return 2;

	store *s = NULL;
	if (store_open(root, &s) < 0)
		return 3;
	_cleanup_free_ char *link = xasprintf("%s/evil", root);
	if (symlink(outside, link) < 0)
		return 4;
	char *got = NULL;
	size_t len;
	if (store_read(s, "evil/secret", 100, &got, &len) >= 0)
		return 5;
	if (store_replace(s, "evil/new", "x", 1) >= 0 ||
	    store_replace(s, "evil/d/new", "x", 1) >= 0)
		return 6;
	if (store_replace(s, "a/b/c.json", "hello", 5) < 0)
		return 7;
	if (store_read(s, "a/b/c.json", 100, &got, &len) < 0 || len != 5 || !STREQ(got, "hello"))
		return 8;
	free(got);
	if (store_append(s, "a/b/d.jsonl", "{}", "fk", NULL, NULL) < 0 || store_commit(s) != 1)
		return 9;
	if (store_append(s, "evil/e.jsonl", "{}", NULL, NULL, NULL) < 0 || store_commit(s) >= 0)
		return 10;
	char **v = NULL;
	if (store_list(s, "a/b", &v) < 0 || strv_length(v) != 2 || store_list(s, "evil", &v) >= 0)
		return 11;
	if (!store_has_key(s, "fk"))
		return 12;
	return 0;
}

static void test_fallback_without_openat2(void **state)
{
	fixture *f = *state;
	char outside[] = "/tmp/coco-outside-XXXXXX";
	assert_non_null(mkdtemp(outside));
	_cleanup_free_ char *secret = xasprintf("%s/secret", outside);
	int fd = open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fallback_checks(f->dir, outside));
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	_cleanup_free_ char *created = xasprintf("%s/new", outside);
	assert_int_equal(access(created, F_OK), -1);
	rm_rf(outside);
}

/* ---- appends ---- */

static void test_append_commit_scan(void **state)
{
	fixture *f = *state;
	recorder r = {0};
	rec_arg a[4] = {{&r, 0}, {&r, 1}, {&r, 2}, {&r, 3}};
	const char *path = "campaigns/kick/rounds/r1/1/answers.jsonl";
	assert_int_equal(store_append(f->s, path, "{\"a\":1}", "m1", record_cb, &a[0]), 0);
	assert_int_equal(store_append(f->s, path, "{}", "m2", record_cb, &a[1]), 0);
	assert_int_equal(store_append(f->s, path, "{\"x\":2}", NULL, record_cb, &a[2]), 0);
	assert_int_equal(store_append(f->s, path, "{ }", "m3", record_cb, &a[3]), 0);
	assert_int_equal(store_pending(f->s), 4);
	assert_int_equal(r.n, 0); /* nothing acknowledged before the commit */
	assert_int_equal(store_exists(f->s, path), 0);
	assert_true(store_has_key(f->s, "m1")); /* queued counts as recorded */

	assert_int_equal(store_commit(f->s), 4);
	assert_int_equal(store_pending(f->s), 0);
	assert_int_equal(r.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(r.results[i], STORE_STORED);
	assert_int_equal(store_commit(f->s), 0); /* empty batch */

	lines l = {0};
	assert_int_equal(store_scan(f->s, path, collect_line, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "{\"key\":\"m1\",\"a\":1}");
	assert_string_equal(l.v[1], "{\"key\":\"m2\"}");
	assert_string_equal(l.v[2], "{\"x\":2}");
	assert_string_equal(l.v[3], "{\"key\":\"m3\" }");
	lines_free(&l);
	assert_int_equal(store_scan(f->s, "campaigns/none.jsonl", collect_line, &l), -ENOENT);
}

static int stop_at_second(const char *line, size_t len, void *userdata)
{
	int *n = userdata;
	return ++*n == 2 ? -ECANCELED : 0;
}

static void test_scan_stops_on_negative(void **state)
{
	fixture *f = *state;
	write_raw(f, "s.jsonl", "{}\n{}\n{}\n", 9);
	int n = 0;
	assert_int_equal(store_scan(f->s, "s.jsonl", stop_at_second, &n), -ECANCELED);
	assert_int_equal(n, 2);
}

typedef struct reentrant {
	store *s;
	recorder *r;
	rec_arg next;
	bool queued;
} reentrant;

static void reentrant_cb(int result, void *userdata)
{
	reentrant *re = userdata;
	/* Queued from inside a commit: belongs to the next batch. */
	re->queued = store_append(re->s, "later.jsonl", "{}", "later", record_cb, &re->next) == 0;
}

static void test_group_commit_order(void **state)
{
	fixture *f = *state;
	static const char *const paths[] = {"g/a.jsonl", "g/b.jsonl", "g/c.jsonl"};
	recorder r = {0};
	rec_arg a[30];
	for (int i = 0; i < 30; i++) {
		a[i] = (rec_arg){&r, i};
		char key[16], line[32];
		snprintf(key, sizeof key, "g%d", i);
		snprintf(line, sizeof line, "{\"i\":%d}", i);
		/* Interleaved files, some unkeyed. */
		assert_int_equal(store_append(f->s, paths[(i * 7) % 3], line, i % 4 ? key : NULL,
					      record_cb, &a[i]),
				 0);
	}
	reentrant re = {.s = f->s, .r = &r, .next = {&r, 99}};
	assert_int_equal(store_append(f->s, "g/a.jsonl", "{}", NULL, reentrant_cb, &re), 0);
	assert_int_equal(store_commit(f->s), 31);
	assert_int_equal(r.n, 30);
	for (int i = 0; i < 30; i++) {
		assert_int_equal(r.order[i], i);
		assert_int_equal(r.results[i], STORE_STORED);
	}
	assert_true(re.queued);
	assert_int_equal(store_pending(f->s), 1);
	assert_int_equal(store_commit(f->s), 1);
	assert_int_equal(r.n, 31);
	assert_int_equal(r.order[30], 99);

	/* Each file got its own records, in append order. */
	for (size_t p = 0; p < 3; p++) {
		lines l = {0};
		assert_int_equal(store_scan(f->s, paths[p], collect_line, &l), 0);
		int prev = -1;
		for (size_t k = 0; k < l.n; k++) {
			const char *at = strstr(l.v[k], "\"i\":");
			if (!at)
				continue;
			char *end;
			long v = strtol(at + 4, &end, 10);
			assert_string_equal(end, "}");
			assert_in_range(v, 0, 29);
			assert_int_equal((v * 7) % 3, (long)p);
			assert_true(v > prev);
			prev = (int)v;
		}
		lines_free(&l);
	}
}

static void test_fd_cache_eviction(void **state)
{
	fixture *f = *state;
	/* More files than the fd cache holds, twice, so evicted files are reopened. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 80; i++) {
			_cleanup_free_ char *p = xasprintf("many/f%d.jsonl", i);
			assert_int_equal(store_append(f->s, p, "{}", NULL, NULL, NULL), 0);
		}
		assert_int_equal(store_commit(f->s), 80);
	}
	for (int i = 0; i < 80; i += 13) {
		_cleanup_free_ char *p = xasprintf("many/f%d.jsonl", i);
		_cleanup_free_ char *c = read_raw(f, p);
		assert_string_equal(c, "{}\n{}\n");
	}
}

static void test_duplicate_same_batch(void **state)
{
	fixture *f = *state;
	recorder r = {0};
	rec_arg a[3] = {{&r, 0}, {&r, 1}, {&r, 2}};
	assert_false(store_has_key(f->s, "dup"));
	assert_int_equal(store_append(f->s, "d1.jsonl", "{\"v\":1}", "dup", record_cb, &a[0]), 0);
	assert_true(store_has_key(f->s, "dup"));
	/* Same key, other file: still a duplicate, keys are store-wide. */
	assert_int_equal(store_append(f->s, "d2.jsonl", "{\"v\":2}", "dup", record_cb, &a[1]), 0);
	assert_int_equal(store_append(f->s, "d1.jsonl", "{\"v\":3}", "dup", record_cb, &a[2]), 0);
	assert_int_equal(store_commit(f->s), 3);
	assert_int_equal(r.results[0], STORE_STORED);
	assert_int_equal(r.results[1], STORE_DUPLICATE);
	assert_int_equal(r.results[2], STORE_DUPLICATE);
	_cleanup_free_ char *c = read_raw(f, "d1.jsonl");
	assert_string_equal(c, "{\"key\":\"dup\",\"v\":1}\n");
	assert_int_equal(store_exists(f->s, "d2.jsonl"), 0);
}

static void test_duplicate_after_reopen(void **state)
{
	fixture *f = *state;
	recorder r = {0};
	rec_arg a[3] = {{&r, 0}, {&r, 1}, {&r, 2}};
	assert_int_equal(
	    store_append(f->s, "x/deep/y.jsonl", "{}", "<msg-1@example.org>", record_cb, &a[0]), 0);
	assert_int_equal(store_commit(f->s), 1);
	/* Not committed: must not count as recorded after the restart. */
	assert_int_equal(store_append(f->s, "x/deep/y.jsonl", "{}", "lost", NULL, NULL), 0);
	store_free(f->s);
	f->s = NULL;

	assert_int_equal(store_open(f->dir, &f->s), 0);
	assert_true(store_has_key(f->s, "<msg-1@example.org>"));
	assert_false(store_has_key(f->s, "lost"));
	assert_false(store_has_key(f->s, "nope"));
	assert_int_equal(store_append(f->s, "other.jsonl", "{\"again\":true}",
				      "<msg-1@example.org>", record_cb, &a[1]),
			 0);
	assert_int_equal(store_append(f->s, "other.jsonl", "{}", "lost", record_cb, &a[2]), 0);
	assert_int_equal(store_commit(f->s), 2);
	assert_int_equal(r.results[1], STORE_DUPLICATE);
	assert_int_equal(r.results[2], STORE_STORED);
	_cleanup_free_ char *c = read_raw(f, "other.jsonl");
	assert_string_equal(c, "{\"key\":\"lost\"}\n");

	/* Removing a data file forgets its keys: the files are the only truth. */
	assert_int_equal(store_remove(f->s, "other.jsonl"), 0);
	assert_false(store_has_key(f->s, "lost"));
	assert_true(store_has_key(f->s, "<msg-1@example.org>"));
	/* And a replaced data file is re-read. */
	const char data[] = "{\"key\":\"imported\"}\n";
	assert_int_equal(store_replace(f->s, "imp.jsonl", data, sizeof data - 1), 0);
	assert_true(store_has_key(f->s, "imported"));
}

static void test_bad_append_inputs(void **state)
{
	fixture *f = *state;
	static const char *const bad_lines[] = {"",	      "[1]", "x",   "{", "{\"a\":1}\n{}",
						"{\"a\":1} ", " {}", "{}\n"};
	for (size_t i = 0; i < ELEMENTSOF(bad_lines); i++)
		assert_int_equal(store_append(f->s, "b.jsonl", bad_lines[i], NULL, NULL, NULL),
				 -EINVAL);
	assert_int_equal(store_append(f->s, "b.jsonl", NULL, NULL, NULL, NULL), -EINVAL);

	char long_key[202];
	memset(long_key, 'k', sizeof long_key - 1);
	long_key[201] = '\0';
	static const char *const bad_keys[] = {"",	    "a\"b", "a\\b",   "a\x01",
					       "tab\there", "nl\n", "del\x7f"};
	for (size_t i = 0; i < ELEMENTSOF(bad_keys); i++) {
		assert_int_equal(store_append(f->s, "b.jsonl", "{}", bad_keys[i], NULL, NULL),
				 -EINVAL);
		assert_false(store_has_key(f->s, bad_keys[i]));
	}
	assert_int_equal(store_append(f->s, "b.jsonl", "{}", long_key, NULL, NULL), -EINVAL);
	/* Keyed records only in *.jsonl, where the key index looks. */
	assert_int_equal(store_append(f->s, "b.log", "{}", "k", NULL, NULL), -EINVAL);
	assert_int_equal(store_pending(f->s), 0);
	assert_false(store_has_key(f->s, "k"));

	/* Too long to be scanned again: refused up front. */
	char *big = xmalloc(LINE_MAX_BYTES + 2);
	memset(big, ' ', LINE_MAX_BYTES + 1);
	big[0] = '{';
	big[LINE_MAX_BYTES] = '}';
	big[LINE_MAX_BYTES + 1] = '\0';
	assert_int_equal(store_append(f->s, "b.jsonl", big, NULL, NULL, NULL), -EINVAL);
	free(big);

	long_key[200] = '\0'; /* exactly 200 bytes is allowed */
	assert_int_equal(store_append(f->s, "b.jsonl", "{}", long_key, NULL, NULL), 0);
	assert_int_equal(store_pending(f->s), 1);
	assert_int_equal(store_commit(f->s), 1);
	assert_true(store_has_key(f->s, long_key));
}

/* ---- torn and oversize lines ---- */

static void test_torn_line(void **state)
{
	fixture *f = *state;
	const char torn[] = "{\"key\":\"a\",\"v\":1}\n{\"key\":\"b\",\"v\":";
	write_raw(f, "t.jsonl", torn, sizeof torn - 1);
	lines l = {0};
	assert_int_equal(store_scan(f->s, "t.jsonl", collect_line, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "{\"key\":\"a\",\"v\":1}");
	lines_free(&l);
	assert_true(store_has_key(f->s, "a"));
	assert_false(store_has_key(f->s, "b")); /* never acknowledged */

	recorder r = {0};
	rec_arg a0 = {&r, 0}, a1 = {&r, 1};
	assert_int_equal(store_append(f->s, "t.jsonl", "{\"v\":2}", "b", record_cb, &a0), 0);
	assert_int_equal(store_append(f->s, "t.jsonl", "{\"v\":3}", "a", record_cb, &a1), 0);
	assert_int_equal(store_commit(f->s), 2);
	assert_int_equal(r.results[0], STORE_STORED);
	assert_int_equal(r.results[1], STORE_DUPLICATE);
	_cleanup_free_ char *c = read_raw(f, "t.jsonl");
	assert_string_equal(c, "{\"key\":\"a\",\"v\":1}\n{\"key\":\"b\",\"v\":2}\n");

	/* A file that is nothing but a torn line, longer than one read-back chunk. */
	char *junk = xmalloc(10000);
	memset(junk, 'j', 10000);
	write_raw(f, "t2.jsonl", junk, 10000);
	free(junk);
	assert_int_equal(store_scan(f->s, "t2.jsonl", collect_line, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(store_append(f->s, "t2.jsonl", "{}", NULL, NULL, NULL), 0);
	assert_int_equal(store_commit(f->s), 1);
	_cleanup_free_ char *c2 = read_raw(f, "t2.jsonl");
	assert_string_equal(c2, "{}\n");
}

static void test_oversize_line(void **state)
{
	fixture *f = *state;
	/* One line of exactly the limit is fine; one byte more is an error. */
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = LINE_MAX_BYTES + (size_t)extra;
		strbuf b = {0};
		strbuf_puts(&b, "{\"key\":\"before\"}\n");
		char *big = xmalloc(n);
		memset(big, 'x', n);
		strbuf_add(&b, big, n);
		free(big);
		strbuf_puts(&b, "\n{\"key\":\"after\"}\n");
		write_raw(f, "big.jsonl", b.s, b.len);
		strbuf_done(&b);

		lines l = {0};
		int r = store_scan(f->s, "big.jsonl", collect_line, &l);
		if (extra == 0) {
			assert_int_equal(r, 0);
			assert_int_equal(l.n, 3);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_int_equal(l.n, 1);
		}
		lines_free(&l);
	}
	/* The key index reads past an oversize line instead of losing the rest. */
	assert_true(store_has_key(f->s, "before"));
	assert_true(store_has_key(f->s, "after"));
}

/* ---- listing ---- */

static void test_list_sorted(void **state)
{
	fixture *f = *state;
	assert_int_equal(store_replace(f->s, "l/b.json", "1", 1), 0);
	assert_int_equal(store_replace(f->s, "l/a.json", "1", 1), 0);
	assert_int_equal(store_replace(f->s, "l/C", "1", 1), 0);
	assert_int_equal(store_replace(f->s, "l/c/inner", "1", 1), 0);
	write_raw(f, "l/.hidden", "x", 1);
	write_raw(f, "l/b.json.tmp", "x", 1);
	char **v = NULL;
	assert_int_equal(store_list(f->s, "l", &v), 0);
	assert_int_equal(strv_length(v), 4);
	assert_string_equal(v[0], "C");
	assert_string_equal(v[1], "a.json");
	assert_string_equal(v[2], "b.json");
	assert_string_equal(v[3], "c");
	assert_null(v[4]);
	strv_free(v);

	v = NULL;
	assert_int_equal(store_list(f->s, "l/c", &v), 0);
	assert_int_equal(strv_length(v), 1);
	strv_free(v);
	assert_int_equal(store_remove(f->s, "l/c/inner"), 0);
	v = NULL;
	assert_int_equal(store_list(f->s, "l/c", &v), 0);
	assert_non_null(v);
	assert_null(v[0]);
	strv_free(v);
	assert_int_equal(store_remove(f->s, "l/c"), 0); /* an empty directory */

	v = NULL;
	assert_int_equal(store_list(f->s, "none", &v), -ENOENT);
	assert_null(v);
	assert_int_equal(store_list(f->s, "l/a.json", &v), -ENOTDIR);
	assert_int_equal(store_list(f->s, "", &v), 0); /* the root */
	assert_int_equal(strv_length(v), 1);
	assert_string_equal(v[0], "l");
	strv_free(v);
}

/* ---- failures ---- */

static void test_write_error_acknowledges_nothing(void **state)
{
	fixture *f = *state;
	assert_int_equal(store_append(f->s, "w.jsonl", "{}", "first", NULL, NULL), 0);
	assert_int_equal(store_commit(f->s), 1);
	_cleanup_free_ char *before = read_raw(f, "w.jsonl");

	/* A file size limit makes the write fail part-way, like a full disk. */
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = strlen(before) + 20;
	signal(SIGXFSZ, SIG_IGN);
	recorder r = {0};
	rec_arg a0 = {&r, 0}, a1 = {&r, 1};
	char line[200];
	snprintf(line, sizeof line, "{\"pad\":\"%0100d\"}", 0);
	assert_int_equal(store_append(f->s, "w.jsonl", line, "second", record_cb, &a0), 0);
	assert_int_equal(store_append(f->s, "w2.jsonl", "{}", "second", record_cb, &a1), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int ret = store_commit(f->s);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.results[0], -EFBIG);
	assert_int_equal(r.results[1], -EFBIG); /* a duplicate shares its original's fate */

	_cleanup_free_ char *after = read_raw(f, "w.jsonl");
	assert_string_equal(after, before); /* the partial write was cut away */
	assert_false(store_has_key(f->s, "second"));
	assert_true(store_has_key(f->s, "first"));
	assert_int_equal(store_append(f->s, "w.jsonl", line, "second", record_cb, &a0), 0);
	assert_int_equal(store_commit(f->s), 1);
	assert_int_equal(r.results[2], STORE_STORED);
}

/* ---- the commit in two halves (store_commit_start(), cocod's sync thread) ---- */

typedef struct synced_arg {
	store *s;
	int finished; /* store_commit_finish()'s return */
	unsigned calls;
} synced_arg;

static void on_test_synced(void *userdata)
{
	synced_arg *a = userdata;
	a->calls++;
	a->finished = store_commit_finish(a->s);
}

/* Runs the loop until the synced callback has been called `calls` times (at most 10 s). */
static void run_until(sd_event *loop, synced_arg *a, unsigned calls)
{
	for (int i = 0; i < 1000 && a->calls < calls; i++)
		assert_true(sd_event_run(loop, 10 * 1000) >= 0);
	assert_int_equal(a->calls, calls);
}

static void test_commit_start_acknowledges_after_sync(void **state)
{
	fixture *f = *state;
	_cleanup_(sd_event_unrefp) sd_event *loop = NULL;
	assert_int_equal(sd_event_new(&loop), 0);
	recorder r = {0};
	rec_arg a[5] = {{&r, 0}, {&r, 1}, {&r, 2}, {&r, 3}, {&r, 4}};
	synced_arg sa = {.s = f->s};

	/* Without a sync thread the caller is told to commit the plain way. */
	assert_int_equal(store_append(f->s, "a.jsonl", "{\"v\":0}", "k0", record_cb, &a[0]), 0);
	assert_int_equal(store_commit_start(f->s, on_test_synced, &sa), -EOPNOTSUPP);
	assert_int_equal(store_attach_event(f->s, loop), 0);
	assert_int_equal(store_append(f->s, "b.jsonl", "{\"v\":1}", NULL, record_cb, &a[1]), 0);
	assert_int_equal(store_commit_start(f->s, on_test_synced, &sa), 1);
	assert_true(store_commit_busy(f->s));
	assert_int_equal(store_commit_start(f->s, on_test_synced, &sa), -EBUSY);
	/* Written before the sync, acknowledged only after it. */
	_cleanup_free_ char *c = read_raw(f, "a.jsonl");
	assert_string_equal(c, "{\"key\":\"k0\",\"v\":0}\n");
	assert_int_equal(r.n, 0);
	/* Meanwhile: the same key again (a replay) and a new record. */
	assert_int_equal(store_append(f->s, "a.jsonl", "{\"v\":2}", "k0", record_cb, &a[2]), 0);
	assert_int_equal(store_append(f->s, "a.jsonl", "{\"v\":3}", "k3", record_cb, &a[3]), 0);
	assert_int_equal(store_pending(f->s), 2);

	run_until(loop, &sa, 1);
	assert_int_equal(sa.finished, 2);
	assert_false(store_commit_busy(f->s));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.order[0], 0);
	assert_int_equal(r.results[0], STORE_STORED);
	assert_int_equal(r.order[1], 1);

	/* The next commit: the replay is a duplicate, the new record stored once. */
	assert_int_equal(store_commit_start(f->s, on_test_synced, &sa), 1);
	run_until(loop, &sa, 2);
	assert_int_equal(sa.finished, 2);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.results[2], STORE_DUPLICATE);
	assert_int_equal(r.results[3], STORE_STORED);
	free(c);
	c = read_raw(f, "a.jsonl");
	assert_string_equal(c, "{\"key\":\"k0\",\"v\":0}\n{\"key\":\"k3\",\"v\":3}\n");

	/* store_commit() finishes a started commit first, then commits what came after. */
	assert_int_equal(store_append(f->s, "b.jsonl", "{\"v\":4}", NULL, record_cb, &a[4]), 0);
	assert_int_equal(store_commit_start(f->s, on_test_synced, &sa), 1);
	assert_int_equal(store_append(f->s, "b.jsonl", "{\"v\":5}", NULL, NULL, NULL), 0);
	assert_int_equal(store_commit(f->s), 1);
	assert_int_equal(sa.calls, 3);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.order[4], 4);
	free(c);
	c = read_raw(f, "b.jsonl");
	assert_string_equal(c, "{\"v\":1}\n{\"v\":4}\n{\"v\":5}\n");
	/* No stale wake-up of the thread's eventfd runs the callback again. */
	assert_true(sd_event_run(loop, 50 * 1000) >= 0);
	assert_int_equal(sa.calls, 3);
}

/* A started commit that fails acknowledges nothing, and a replay of its record that came in
 * meanwhile is stored by the next commit, not called a duplicate of what was cut away. */
static void test_commit_start_failure_keeps_the_replay(void **state)
{
	fixture *f = *state;
	_cleanup_(sd_event_unrefp) sd_event *loop = NULL;
	assert_int_equal(sd_event_new(&loop), 0);
	assert_int_equal(store_attach_event(f->s, loop), 0);
	recorder r = {0};
	rec_arg a[2] = {{&r, 0}, {&r, 1}};
	synced_arg sa = {.s = f->s};
	char line[200];
	snprintf(line, sizeof line, "{\"pad\":\"%0100d\"}", 0);

	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 20;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(store_append(f->s, "w.jsonl", line, "once", record_cb, &a[0]), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(store_commit_start(f->s, on_test_synced, &sa), 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(store_append(f->s, "w.jsonl", line, "once", record_cb, &a[1]), 0);
	run_until(loop, &sa, 1);
	assert_int_equal(sa.finished, -EFBIG);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.results[0], -EFBIG);

	assert_int_equal(store_commit(f->s), 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.results[1], STORE_STORED);
	_cleanup_free_ char *c = read_raw(f, "w.jsonl");
	_cleanup_free_ char *want = xasprintf("{\"key\":\"once\",%s\n", line + 1);
	assert_string_equal(c, want);
	assert_true(store_has_key(f->s, "once"));
}

static void test_crash_hook(void **state)
{
	fixture *f = *state;
	/* Step 1 is the fsync of the temporary: the old content must still be in place. */
	assert_int_equal(store_replace(f->s, "c.json", "old", 3), 0);
	for (int step = 1; step <= 3; step++) {
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			store *s = NULL;
			if (step == 3) {
				/* The environment variable is read at open. */
				setenv("COCO_STORE_CRASH_AFTER", "3", 1);
				if (store_open(f->dir, &s) < 0)
					_exit(2);
			} else {
				if (store_open(f->dir, &s) < 0)
					_exit(2);
				store_set_crash_after(s, (unsigned long)step);
			}
			store_replace(s, "c.json", "new", 3);
			_exit(0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 99);
		_cleanup_free_ char *c = read_raw(f, "c.json");
		assert_string_equal(c, step == 1 ? "old" : "new");
		if (step == 1) {
			/* Left behind for the next replace to clean up. */
			_cleanup_free_ char *tmp = read_raw(f, "c.json.tmp");
			assert_string_equal(tmp, "new");
		}
		/* Back to "old", so that the next step's check can tell the difference. */
		assert_int_equal(store_replace(f->s, "c.json", "old", 3), 0);
	}
}

int main(void)
{
	log_set_max_level(LOG_ERR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replace_read_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replace_leaves_no_tmp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks_not_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fallback_without_openat2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_commit_scan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scan_stops_on_negative, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fd_cache_eviction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_same_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_after_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_append_inputs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_sorted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_error_acknowledges_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_start_acknowledges_after_sync, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_commit_start_failure_keeps_the_replay, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_crash_hook, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
