/* Crash tests for the store: a writer child is SIGKILLed at a random moment, then the
 * parent checks that every acknowledged record is present exactly once and none twice, and
 * that replaying every input afterwards completes the set without duplicates. Then the
 * COCO_STORE_CRASH_AFTER hook stops a fixed workload after each durable step in turn, and
 * recovery is checked at every one. Seeds are printed so a failure can be replayed with
 * COCO_SEED=N. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

#define N_KEYS 4000
#define ROUNDS 20
#define CRASH_STEPS_MAX 200

static const char *const files[] = {"a.jsonl", "sub/b.jsonl", "sub/deep/c.jsonl"};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void make_dir(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/coco-crash-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void write_full(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(4);
		p = (const char *)p + k;
		n -= (size_t)k;
	}
}

/* ---- counting what is on disk ---- */

typedef struct counts {
	unsigned char n[N_KEYS];
	bool bad; /* a line that is not a record this test wrote */
} counts;

/* Lines look like {"key":"k17","n":17,…}: the key and the payload must agree. */
static int count_line(const char *line, size_t len, void *userdata)
{
	counts *c = userdata;
	const char prefix[] = "{\"key\":\"k";
	if (strncmp(line, prefix, sizeof prefix - 1) != 0) {
		c->bad = true;
		return 0;
	}
	char *end;
	unsigned long k = strtoul(line + sizeof prefix - 1, &end, 10);
	char expect[48];
	snprintf(expect, sizeof expect, "\",\"n\":%lu,", k);
	if (k >= N_KEYS || strncmp(end, expect, strlen(expect)) != 0 || line[len - 1] != '}') {
		c->bad = true;
		return 0;
	}
	if (c->n[k] < 255)
		c->n[k]++;
	return 0;
}

static void count_all(const char *dir, counts *c)
{
	memset(c, 0, sizeof *c);
	store *s = NULL;
	assert_int_equal(store_open(dir, &s), 0);
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		int r = store_scan(s, files[i], count_line, c);
		assert_true(r == 0 || r == -ENOENT);
	}
	store_free(s);
	assert_false(c->bad);
}

/* ---- the writer child ---- */

typedef struct batch {
	int results[64];
	int keys[64];
	size_t n, done;
} batch;

typedef struct slot {
	batch *b;
	size_t i;
} slot;

static void on_commit(int result, void *userdata)
{
	slot *sl = userdata;
	sl->b->results[sl->i] = result;
	sl->b->done++;
}

/* Appends keys [0, last] in batches of 1..max_batch records spread over the files, and
 * after each commit's callbacks writes the numbers it stored to out_fd. When replaying,
 * a key acknowledged before must come back STORE_DUPLICATE. Never returns. */
static void writer(const char *dir, unsigned seed, int last, size_t max_batch, int out_fd,
		   const bool *acked_before)
{
	store *s = NULL;
	if (store_open(dir, &s) < 0)
		_exit(2);
	for (int next = 0; next <= last;) {
		batch b = {0};
		slot slots[64];
		size_t want = 1 + (size_t)rand_r(&seed) % max_batch;
		for (; b.n < want && next <= last; b.n++, next++) {
			char key[16], line[96];
			snprintf(key, sizeof key, "k%d", next);
			snprintf(line, sizeof line, "{\"n\":%d,\"pad\":\"%.*s\"}", next,
				 (int)(rand_r(&seed) % 40),
				 "........................................");
			slots[b.n] = (slot){&b, b.n};
			b.keys[b.n] = next;
			if (store_append(s, files[rand_r(&seed) % ELEMENTSOF(files)], line, key,
					 on_commit, &slots[b.n]) < 0)
				_exit(5);
		}
		if (store_commit(s) != (int)b.n || b.done != b.n)
			_exit(6);
		uint32_t stored[64];
		size_t n_stored = 0;
		for (size_t i = 0; i < b.n; i++) {
			if (b.results[i] == STORE_STORED)
				stored[n_stored++] = (uint32_t)b.keys[i];
			else if (b.results[i] != STORE_DUPLICATE)
				_exit(7);
			if (acked_before && acked_before[b.keys[i]] &&
			    b.results[i] != STORE_DUPLICATE)
				_exit(8);
		}
		/* At most 256 bytes: one atomic pipe write, so the parent never sees half. */
		if (n_stored > 0)
			write_full(out_fd, stored, n_stored * sizeof(uint32_t));
	}
	_exit(0);
}

static void test_sigkill_rounds(void **state)
{
	/* A new seed every run finds more, so it is printed (and each round's seed before the
	 * round runs, so the last line before a failure names it); COCO_SEED=N replays a run's
	 * workloads and kill delays (where a kill lands still depends on the machine's speed).
	 * COCO_TEST_SEED is the old name. */
	unsigned base = (unsigned)time(NULL);
	const char *env = getenv("COCO_SEED");
	if (!env || !*env)
		env = getenv("COCO_TEST_SEED");
	long v;
	if (env && *env) {
		if (parse_long(env, 0, UINT32_MAX, &v) < 0)
			fail_msg("COCO_SEED=%s is not a number 0..%u", env, UINT32_MAX);
		base = (unsigned)v;
	}
	printf("store crash: base seed %u (COCO_SEED=%u replays this run)\n", base, base);
	fflush(stdout);

	static bool acked[N_KEYS];
	static counts c;
	size_t total_acked = 0;
	for (unsigned round = 0; round < ROUNDS; round++) {
		unsigned seed = base + round;
		printf("round %2u seed %u (COCO_SEED=%u)\n", round, seed, base);
		fflush(stdout);
		char dir[64];
		make_dir(dir, sizeof dir);
		memset(acked, 0, sizeof acked);

		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			writer(dir, seed, N_KEYS - 1, 8, p[1], NULL);
		}
		close(p[1]);
		uint32_t k;
		int max = -1;
		ssize_t got;
		/* Every other round, the kill waits for a first acknowledgement, so that a slow
		 * machine cannot make every kill land before the first commit. */
		if (round % 2 == 0) {
			got = read(p[0], &k, sizeof k);
			assert_int_equal(got, sizeof k);
			assert_true(k < N_KEYS);
			acked[k] = true;
			total_acked++;
			max = (int)k;
		}
		unsigned rs = seed;
		struct timespec delay = {0, (long)(1000000 + rand_r(&rs) % 80000000)};
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* Killed, or finished cleanly: anything else is a writer failure. */
		assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));

		while ((got = read(p[0], &k, sizeof k)) == sizeof k) {
			assert_true(k < N_KEYS);
			assert_false(acked[k]); /* acknowledged twice */
			acked[k] = true;
			total_acked++;
			if ((int)k > max)
				max = (int)k;
		}
		assert_int_equal(got, 0);
		close(p[0]);

		count_all(dir, &c);
		for (int i = 0; i < N_KEYS; i++) {
			assert_true(c.n[i] <= 1);
			if (acked[i])
				assert_int_equal(c.n[i], 1);
			if (c.n[i] && i > max)
				max = i; /* stored, killed before the acknowledgement */
		}

		/* Every other round, a torn half-record as a power cut would leave it. */
		if (round % 2 && max + 1 < N_KEYS) {
			/* files[0] sits in the root, which exists even if nothing was written. */
			_cleanup_free_ char *path = xasprintf("%s/%s", dir, files[0]);
			_cleanup_free_ char *torn = xasprintf("{\"key\":\"k%d\",\"n\":", max + 1);
			int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
			close(fd);
		}

		/* Replay every input up to one past what was seen: each key must end up once. */
		int last = max + 1 < N_KEYS ? max + 1 : N_KEYS - 1;
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
			writer(dir, seed ^ 0x5a5a5a5au, last, 64, devnull, acked);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		count_all(dir, &c);
		for (int i = 0; i < N_KEYS; i++)
			assert_int_equal(c.n[i], i <= last ? 1 : 0);

		printf("round %2u seed %u: %d keys seen, replayed to k%d\n", round, seed, max + 1,
		       last);
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	printf("store crash: %zu acknowledged keys checked across %d rounds\n", total_acked, ROUNDS);
}

/* ---- stop after every durable step ---- */

#define WORK_KEYS 25

static void ack_cb(int result, void *userdata)
{
	int *r = userdata;
	*r = result;
}

/* A fixed workload: a replace, three batches over three files (creating directories), a
 * second replace, and a last batch that repeats a key. Acknowledged keys go to out_fd. */
static int workload(store *s, int out_fd)
{
	if (store_replace(s, "state.json", "v1", 2) < 0)
		return 10;
	int results[WORK_KEYS + 1];
	for (int b = 0; b < 5; b++) {
		if (b == 3 && store_replace(s, "state.json", "v2", 2) < 0)
			return 11;
		int lo = b * 5, hi = b == 4 ? WORK_KEYS : lo + 5;
		for (int k = lo; k < hi; k++) {
			char key[16], line[48];
			snprintf(key, sizeof key, "k%d", k);
			snprintf(line, sizeof line, "{\"n\":%d,\"b\":%d}", k, b);
			if (store_append(s, files[k % 3], line, key, ack_cb, &results[k]) < 0)
				return 12;
		}
		if (b == 4 && store_append(s, files[0], "{\"n\":3,\"x\":1}", "k3", ack_cb,
					   &results[WORK_KEYS]) < 0)
			return 13;
		if (store_commit(s) < 0)
			return 14;
		for (int k = lo; k < hi; k++) {
			if (results[k] != STORE_STORED && results[k] != STORE_DUPLICATE)
				return 15;
			if (out_fd >= 0) {
				uint32_t v = (uint32_t)k;
				write_full(out_fd, &v, sizeof v);
			}
		}
		if (b == 4 && results[WORK_KEYS] != STORE_DUPLICATE)
			return 16;
	}
	return 0;
}

static void check_state(const char *dir, bool must_be_v2)
{
	store *s = NULL;
	assert_int_equal(store_open(dir, &s), 0);
	char *data = NULL;
	size_t len;
	int r = store_read(s, "state.json", 100, &data, &len);
	if (must_be_v2) {
		assert_int_equal(r, 0);
		assert_string_equal(data, "v2");
	} else if (r == 0)
		/* Never a mix, never empty: one version or the other. */
		assert_true(STREQ(data, "v1") || STREQ(data, "v2"));
	else
		assert_int_equal(r, -ENOENT);
	free(data);
	store_free(s);
}

static void test_crash_after_every_step(void **state)
{
	static bool acked[N_KEYS];
	static counts c;
	unsigned long n;
	bool finished = false;
	for (n = 1; n <= CRASH_STEPS_MAX && !finished; n++) {
		char dir[64];
		make_dir(dir, sizeof dir);
		memset(acked, 0, sizeof acked);
		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			char num[24];
			snprintf(num, sizeof num, "%lu", n);
			setenv("COCO_STORE_CRASH_AFTER", num, 1);
			store *s = NULL;
			if (store_open(dir, &s) < 0)
				_exit(2);
			_exit(workload(s, p[1]));
		}
		close(p[1]);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		int code = WEXITSTATUS(status);
		if (code != 99)
			assert_int_equal(code, 0);
		finished = code == 0;
		uint32_t k;
		bool last_batch_acked = false;
		while (read(p[0], &k, sizeof k) == sizeof k) {
			assert_true(k < WORK_KEYS);
			acked[k] = true;
			last_batch_acked |= k >= 15; /* batch 3, after the "v2" replace */
		}
		close(p[0]);

		/* What the crash left: acknowledged records once, nothing twice; the state file
		 * whole, and "v2" once anything after its replace was acknowledged. */
		count_all(dir, &c);
		for (int i = 0; i < WORK_KEYS; i++) {
			assert_true(c.n[i] <= 1);
			if (acked[i])
				assert_int_equal(c.n[i], 1);
		}
		check_state(dir, last_batch_acked || finished);

		/* Recovery: the same workload again, to the end, from a fresh process state. */
		store *s = NULL;
		assert_int_equal(store_open(dir, &s), 0);
		assert_int_equal(workload(s, -1), 0);
		store_free(s);
		count_all(dir, &c);
		for (int i = 0; i < WORK_KEYS; i++)
			assert_int_equal(c.n[i], 1);
		check_state(dir, true);
		/* The stale temporary of an interrupted replace is gone. */
		_cleanup_free_ char *tmp = xasprintf("%s/state.json.tmp", dir);
		assert_int_equal(access(tmp, F_OK), -1);
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	assert_true(finished);
	printf("store crash: workload stopped after each of %lu durable steps, all recovered\n",
	       n - 2);
	/* The exact count pins down "one fdatasync per touched file per commit": two replaces
	 * (tmp fsync, rename, dir fsync: 3 each), two mkdirs and three file creations (one
	 * directory fsync each), five commits touching all three files (15). */
	assert_int_equal(n - 2, 2 * 3 + 2 + 3 + 5 * 3);
}

int main(void)
{
	log_set_max_level(LOG_ERR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigkill_rounds),
	    cmocka_unit_test(test_crash_after_every_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
