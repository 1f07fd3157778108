/* HTTP ingress throughput: GET /healthz over keep-alive connections on loopback, for two
 * seconds. The server (engine/http.c on its own sd-event loop) runs in one thread, as in
 * cocod; N_CLIENTS client threads each keep one connection and send the next request when
 * the answer is in. Prints requests/s and latency percentiles; never fails on time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

#define N_CLIENTS 8
#define SECONDS 2.0
#define MAX_SAMPLES (4 * 1000 * 1000)

static struct sockaddr_storage addr;
static socklen_t addr_len;
static int stop_pipe[2], ready_pipe[2];
static double deadline;

typedef struct client {
	pthread_t thread;
	uint32_t *lat_us; /* per request */
	size_t n;
	int error;
} client;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void *server_main(void *arg)
{
	sd_event *loop = NULL;
	http_server *hs = NULL;
	http_config cfg = {.listen = "127.0.0.1:0"};
	int r = sd_event_new(&loop);
	if (r >= 0)
		r = sd_event_add_io(loop, NULL, stop_pipe[0], EPOLLIN, on_stop, NULL);
	if (r >= 0)
		r = http_server_new(loop, &cfg, &hs);
	if (r >= 0)
		r = http_route_add(hs, "GET", "/healthz", http_handler_healthz, NULL, 0);
	if (r >= 0)
		r = http_server_address(hs, 0, &addr, &addr_len);
	char c = r < 0 ? 0 : 1;
	if (write(ready_pipe[1], &c, 1) != 1 || r < 0) {
		fprintf(stderr, "server: %s\n", strerror(-r));
		return NULL;
	}
	sd_event_loop(loop);
	http_server_free(hs);
	sd_event_unref(loop);
	return NULL;
}

static void *client_main(void *arg)
{
	client *c = arg;
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n";
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addr_len) < 0) {
		c->error = errno;
		return NULL;
	}
	char buf[4096];
	while (c->n < MAX_SAMPLES / N_CLIENTS) {
		double t0 = now_s();
		if (t0 > deadline)
			break;
		if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) {
			c->error = errno;
			break;
		}
		/* The answer ends with the body "ok\n" (Content-Length: 3). */
		size_t have = 0;
		for (;;) {
			ssize_t k = recv(fd, buf + have, sizeof buf - 1 - have, 0);
			if (k <= 0) {
				c->error = k < 0 ? errno : EPIPE;
				goto out;
			}
			have += (size_t)k;
			buf[have] = 0;
			if (have >= 5 && memcmp(buf + have - 5, "\r\nok\n", 5) == 0)
				break;
			if (have == sizeof buf - 1) {
				c->error = EMSGSIZE;
				goto out;
			}
		}
		c->lat_us[c->n++] = (uint32_t)((now_s() - t0) * 1e6);
	}
out:
	close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	pthread_t server;
	if (pipe2(stop_pipe, O_CLOEXEC) < 0 || pipe2(ready_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&server, NULL, server_main, NULL) != 0)
		return 1;
	char ok;
	if (read(ready_pipe[0], &ok, 1) != 1 || !ok)
		return 1;

	client clients[N_CLIENTS] = {0};
	deadline = now_s() + SECONDS;
	double t0 = now_s();
	for (size_t i = 0; i < N_CLIENTS; i++) {
		clients[i].lat_us = xmalloc(MAX_SAMPLES / N_CLIENTS * sizeof(uint32_t));
		pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
	}
	size_t total = 0;
	for (size_t i = 0; i < N_CLIENTS; i++) {
		pthread_join(clients[i].thread, NULL);
		if (clients[i].error)
			fprintf(stderr, "client %zu: %s\n", i, strerror(clients[i].error));
		total += clients[i].n;
	}
	double dt = now_s() - t0;
	char c = 1;
	if (write(stop_pipe[1], &c, 1) != 1)
		return 1;
	pthread_join(server, NULL);

	uint32_t *all = xmalloc((total ? total : 1) * sizeof *all);
	size_t k = 0;
	for (size_t i = 0; i < N_CLIENTS; i++) {
		memcpy(all + k, clients[i].lat_us, clients[i].n * sizeof *all);
		k += clients[i].n;
		free(clients[i].lat_us);
	}
	qsort(all, total, sizeof *all, cmp_u32);
	if (total == 0) {
		fprintf(stderr, "http: no request answered\n");
		return 1;
	}
	printf("http: GET /healthz, %d keep-alive connections, %.1f s: %zu requests = %.0f "
	       "requests/s\n", N_CLIENTS, dt, total, (double)total / dt);
	printf("http: latency p50 %u µs, p99 %u µs, max %u µs\n", all[total / 2],
	       all[total * 99 / 100], all[total - 1]);
	free(all);
	return 0;
}
