/* curlloop throughput: 10,000 small GETs through curlloop against the test suite's
 * in-process HTTP/1.1 server (tests/mini-httpd.h) on 127.0.0.1, client and server on the
 * same sd-event loop, so the figure is for both together. Twice: one transfer at a time (each
 * callback starts the next, re-adding its easy handle), then 16 at a time. Prints requests/s
 * and how many connections the server accepted; never fails on time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../tests/mini-httpd.h"
#include "curlloop.h"
#include "util.h"

#define N_REQUESTS 10000

typedef struct run {
	curlloop *loop;
	char url[64];
	unsigned started, done, failed;
} run;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
	return size * n;
}

static void on_done(CURL *easy, CURLcode result, void *userdata)
{
	run *r = userdata;
	long status = 0;

	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (result != CURLE_OK || status != 200)
		r->failed++;
	r->done++;
	if (r->started < N_REQUESTS && curlloop_add(r->loop, easy, on_done, r) == 0)
		r->started++;
	else
		curl_easy_cleanup(easy);
}

static int bench(sd_event *e, unsigned parallel)
{
	httpd *h = NULL;
	run r = {0};
	int k;

	if ((k = httpd_new(e, &h)) < 0 || (k = curlloop_new(e, &r.loop)) < 0) {
		fprintf(stderr, "setup: %s\n", strerror(-k));
		return 1;
	}
	snprintf(r.url, sizeof(r.url), "http://127.0.0.1:%u/small", (unsigned)h->port);
	double t0 = now_s();
	for (unsigned i = 0; i < parallel; i++) {
		CURL *easy = curl_easy_init();
		curl_easy_setopt(easy, CURLOPT_URL, r.url);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
		if (curlloop_add(r.loop, easy, on_done, &r) < 0) {
			curl_easy_cleanup(easy);
			return 1;
		}
		r.started++;
	}
	while (r.done < N_REQUESTS)
		if (sd_event_run(e, (uint64_t)-1) < 0)
			return 1;
	double dt = now_s() - t0;
	printf("curlloop: %u GETs, %u at a time, in %.3f s = %.0f requests/s over %u "
	       "connection(s), %u failed\n",
	       r.done, parallel, dt, r.done / dt, h->accepts, r.failed);
	curlloop_free(r.loop);
	httpd_free(h);
	return r.failed ? 1 : 0;
}

int main(void)
{
	sd_event *e;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sd_event_new(&e) < 0)
		return 1;
	int r = bench(e, 1) || bench(e, 16);
	sd_event_unref(e);
	curl_global_cleanup();
	return r;
}
