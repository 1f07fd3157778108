/* curlloop against an in-process HTTP/1.1 server (tests/mini-httpd.h) served on the same
 * sd-event loop, on 127.0.0.1 and a port the kernel picks: concurrent GETs and POSTs, a
 * timeout, cancelling, freeing with transfers in flight (ASan checks the leaks), freeing from
 * a done callback, and connection reuse counted on the server's accept()s.
 *
 * Nothing is timed: the loop runs until what is awaited has happened, with a deadline (60 s)
 * that only a hang reaches. The one timeout tested (200 ms) is against a server that answers
 * after a minute. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <time.h>

#include "curlloop.h"
#include "mini-httpd.h"
#include "util.h"

#define DEADLINE_USEC (60 * 1000000ULL)

typedef struct fixture {
	sd_event *event;
	httpd *server;
	curlloop *loop;
	char base[64]; /* http://127.0.0.1:PORT */
} fixture;

/* One transfer's outcome. */
typedef struct job {
	fixture *f;
	CURL *easy;
	strbuf body;
	char url[128];
	CURLcode result;
	long status;
	long num_connects;
	int calls;
	int reused; /* transfers that opened no new connection (CURLINFO_NUM_CONNECTS 0) */
	bool add_returned; /* set right after curlloop_add() returns */
	int repeat;        /* re-add the same easy this many more times from the callback */
} job;

static unsigned done_count;

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Runs the loop until cond holds, or the deadline. */
#define RUN_UNTIL(e, cond)                                                                         \
	do {                                                                                       \
		uint64_t _end = now_usec() + DEADLINE_USEC;                                        \
		while (!(cond) && now_usec() < _end)                                               \
			assert_true(sd_event_run((e), 100000) >= 0);                               \
		assert_true(cond);                                                                 \
	} while (0)

static size_t on_write(char *p, size_t size, size_t n, void *userdata)
{
	strbuf_add(userdata, p, size * n);
	return size * n;
}

static void on_done(CURL *easy, CURLcode result, void *userdata)
{
	job *j = userdata;

	assert_ptr_equal(easy, j->easy);
	assert_true(j->add_returned);
	j->calls++;
	j->result = result;
	j->status = 0;
	j->num_connects = -1;
	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &j->status);
	(void)curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &j->num_connects);
	if (result == CURLE_OK && j->num_connects == 0)
		j->reused++;
	done_count++;
}

static void job_setup(job *j, fixture *f, const char *path)
{
	j->f = f;
	if (!j->easy)
		j->easy = curl_easy_init();
	assert_non_null(j->easy);
	j->body.len = 0;
	if (j->body.s)
		j->body.s[0] = 0;
	snprintf(j->url, sizeof(j->url), "%s%s", f->base, path);
	curl_easy_setopt(j->easy, CURLOPT_URL, j->url);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, &j->body);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http");
}

static void job_start(job *j, curlloop_done_fn cb)
{
	j->add_returned = false;
	assert_int_equal(curlloop_add(j->f->loop, j->easy, cb, j), 0);
	j->add_returned = true;
}

static void job_done(job *j)
{
	if (j->easy)
		curl_easy_cleanup(j->easy);
	j->easy = NULL;
	strbuf_done(&j->body);
}

static int setup(void **state)
{
	fixture *f = xcalloc(1, sizeof(*f));

	assert_int_equal(sd_event_new(&f->event), 0);
	assert_int_equal(httpd_new(f->event, &f->server), 0);
	assert_int_equal(curlloop_new(f->event, &f->loop), 0);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned)f->server->port);
	done_count = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	curlloop_free(f->loop);
	httpd_free(f->server);
	sd_event_unref(f->event);
	free(f);
	return 0;
}

/* 20 GETs, 20 POSTs, a 256 KiB POST echoed back, and a 404, all at once. */
static void test_concurrent(void **state)
{
	fixture *f = *state;
	enum { N = 20 };
	job gets[N] = {0}, posts[N] = {0}, big = {0}, missing = {0};
	char bodies[N][32];
	char expect[64];

	for (int i = 0; i < N; i++) {
		snprintf(expect, sizeof(expect), "/get/%d", i);
		job_setup(&gets[i], f, expect);
		job_start(&gets[i], on_done);

		job_setup(&posts[i], f, "/echo");
		snprintf(bodies[i], sizeof(bodies[i]), "post number %d", i);
		curl_easy_setopt(posts[i].easy, CURLOPT_POSTFIELDS, bodies[i]);
		job_start(&posts[i], on_done);
	}
	size_t big_len = 256 * 1024;
	char *big_body = xmalloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big_body[i] = (char)('a' + i % 26);
	job_setup(&big, f, "/echo");
	curl_easy_setopt(big.easy, CURLOPT_POSTFIELDS, big_body);
	curl_easy_setopt(big.easy, CURLOPT_POSTFIELDSIZE, (long)big_len);
	job_start(&big, on_done);
	job_setup(&missing, f, "/status/404");
	job_start(&missing, on_done);

	assert_int_equal(curlloop_running(f->loop), 2 * N + 2);
	/* Nothing ran yet: the callbacks come from the loop. */
	assert_int_equal(done_count, 0);
	RUN_UNTIL(f->event, done_count == 2 * N + 2);
	assert_int_equal(curlloop_running(f->loop), 0);

	for (int i = 0; i < N; i++) {
		snprintf(expect, sizeof(expect), "hello /get/%d", i);
		assert_int_equal(gets[i].calls, 1);
		assert_int_equal(gets[i].result, CURLE_OK);
		assert_int_equal(gets[i].status, 200);
		assert_string_equal(gets[i].body.s, expect);
		assert_int_equal(posts[i].calls, 1);
		assert_int_equal(posts[i].result, CURLE_OK);
		assert_int_equal(posts[i].status, 200);
		assert_string_equal(posts[i].body.s, bodies[i]);
		job_done(&gets[i]);
		job_done(&posts[i]);
	}
	assert_int_equal(big.result, CURLE_OK);
	assert_int_equal(big.body.len, big_len);
	assert_memory_equal(big.body.s, big_body, big_len);
	assert_int_equal(missing.result, CURLE_OK);
	assert_int_equal(missing.status, 404);
	assert_string_equal(missing.body.s, "status 404");
	job_done(&big);
	job_done(&missing);
	free(big_body);
}

/* The server answers after a minute; the transfer gives up after 200 ms. */
static void test_timeout(void **state)
{
	fixture *f = *state;
	job j = {0};

	job_setup(&j, f, "/slow/60000");
	curl_easy_setopt(j.easy, CURLOPT_TIMEOUT_MS, 200L);
	job_start(&j, on_done);
	RUN_UNTIL(f->event, j.calls == 1);
	assert_int_equal(j.result, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(curlloop_running(f->loop), 0);
	job_done(&j);
}

static void on_done_never(CURL *easy, CURLcode result, void *userdata)
{
	fail_msg("callback of a cancelled or freed transfer");
}

/* Two slow transfers are cancelled once the server has their requests: no callback, their
 * connections are closed, and a cancelled handle is the caller's again (it is re-used). */
static void test_cancel(void **state)
{
	fixture *f = *state;
	job slow[2] = {0}, quick = {0};

	for (int i = 0; i < 2; i++) {
		job_setup(&slow[i], f, "/slow/60000");
		job_start(&slow[i], on_done_never);
	}
	job_setup(&quick, f, "/quick");
	job_start(&quick, on_done);
	RUN_UNTIL(f->event, f->server->requests == 3 && quick.calls == 1);
	assert_string_equal(quick.body.s, "hello /quick");

	for (int i = 0; i < 2; i++)
		assert_int_equal(curlloop_cancel(f->loop, slow[i].easy), 0);
	assert_int_equal(curlloop_cancel(f->loop, slow[0].easy), -ENOENT);
	assert_int_equal(curlloop_running(f->loop), 0);
	RUN_UNTIL(f->event, f->server->closes >= 2);

	/* The cancelled handle, set up again, runs normally. */
	job_setup(&slow[0], f, "/again");
	job_start(&slow[0], on_done);
	RUN_UNTIL(f->event, slow[0].calls == 1);
	assert_int_equal(slow[0].result, CURLE_OK);
	assert_string_equal(slow[0].body.s, "hello /again");

	job_done(&slow[0]);
	job_done(&slow[1]);
	job_done(&quick);
}

/* Freeing the curlloop with five transfers in flight: no callback, every connection closed,
 * nothing leaked (ASan), the easy handles still the caller's to clean up. */
static void test_free_in_flight(void **state)
{
	fixture *f = *state;
	enum { N = 5 };
	job j[N] = {0};

	for (int i = 0; i < N; i++) {
		job_setup(&j[i], f, "/slow/60000");
		job_start(&j[i], on_done_never);
	}
	RUN_UNTIL(f->event, f->server->requests == N);
	f->loop = curlloop_free(f->loop);
	RUN_UNTIL(f->event, f->server->closes == N);
	for (int i = 0; i < N; i++)
		job_done(&j[i]);
}

/* A done callback frees the curlloop while another transfer is in flight. */
static void on_done_free(CURL *easy, CURLcode result, void *userdata)
{
	job *j = userdata;

	on_done(easy, result, userdata);
	j->f->loop = curlloop_free(j->f->loop);
}

static void test_free_from_callback(void **state)
{
	fixture *f = *state;
	job slow = {0}, quick = {0};

	job_setup(&slow, f, "/slow/60000");
	job_start(&slow, on_done_never);
	job_setup(&quick, f, "/quick");
	job_start(&quick, on_done_free);
	RUN_UNTIL(f->event, quick.calls == 1);
	assert_null(f->loop);
	assert_int_equal(quick.result, CURLE_OK);
	RUN_UNTIL(f->event, f->server->closes == f->server->accepts);
	job_done(&slow);
	job_done(&quick);
}

/* 100 requests one after the other: 50 re-adding one easy handle from its own callback, 50
 * with a new handle each. The multi handle's connection cache serves them all over one
 * connection, give or take. */
static void on_done_repeat(CURL *easy, CURLcode result, void *userdata)
{
	job *j = userdata;
	static char path[32];

	on_done(easy, result, userdata);
	assert_int_equal(result, CURLE_OK);
	snprintf(path, sizeof(path), "/seq/%d", j->repeat);
	if (j->repeat-- > 0) {
		job_setup(j, j->f, path);
		job_start(j, on_done_repeat);
	}
}

static void test_reuse(void **state)
{
	fixture *f = *state;
	job j = {0};
	unsigned reused = 0;

	j.repeat = 49;
	job_setup(&j, f, "/seq/first");
	job_start(&j, on_done_repeat);
	RUN_UNTIL(f->event, j.calls == 50);
	assert_string_equal(j.body.s, "hello /seq/1");
	unsigned reused_same = (unsigned)j.reused;
	job_done(&j);

	for (int i = 0; i < 50; i++) {
		job k = {0};
		job_setup(&k, f, "/fresh");
		job_start(&k, on_done);
		RUN_UNTIL(f->event, k.calls == 1);
		assert_int_equal(k.result, CURLE_OK);
		assert_string_equal(k.body.s, "hello /fresh");
		reused += (unsigned)k.reused;
		job_done(&k);
	}
	assert_int_equal(f->server->requests, 100);
	/* Transfers whose connection came from the cache, not from a new connect(). */
	print_message("100 requests over %u connection(s); reused: %u of 49 re-adds, %u of 50 "
	              "fresh handles\n",
	              f->server->accepts, reused_same, reused);
	assert_true(f->server->accepts <= 3);
	assert_true(reused_same >= 47);
	assert_true(reused >= 48);
}

/* A transfer that fails at once (nobody listens on the port) is still reported from the
 * loop, after curlloop_add() has returned. */
static void test_never_synchronous(void **state)
{
	fixture *f = *state;
	job j = {0};
	httpd *gone;

	/* A port that was free a moment ago, and is closed again. */
	assert_int_equal(httpd_new(f->event, &gone), 0);
	char path[64];
	unsigned port = gone->port;
	httpd_free(gone);
	job_setup(&j, f, "/");
	snprintf(path, sizeof(path), "http://127.0.0.1:%u/", port);
	curl_easy_setopt(j.easy, CURLOPT_URL, path);
	job_start(&j, on_done); /* on_done asserts that curlloop_add() had returned */
	assert_int_equal(j.calls, 0);
	RUN_UNTIL(f->event, j.calls == 1);
	assert_int_equal(j.result, CURLE_COULDNT_CONNECT);
	job_done(&j);
}

static void test_add_twice(void **state)
{
	fixture *f = *state;
	job j = {0};

	job_setup(&j, f, "/twice");
	job_start(&j, on_done);
	assert_int_equal(curlloop_add(f->loop, j.easy, on_done, &j), -EEXIST);
	RUN_UNTIL(f->event, j.calls == 1);
	assert_int_equal(curlloop_cancel(f->loop, j.easy), -ENOENT);
	assert_string_equal(j.body.s, "hello /twice");
	job_done(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_synchronous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_twice, setup, teardown),
	};

	log_set_max_level(LOG_INFO);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
