/* loopqueue: see loopqueue.h.
 *
 * The eventfd is written only when the queue goes from "nothing signalled" to "something to
 * do" (`signalled`, under the mutex), so a busy producer costs one write per batch the loop
 * takes, not one per message. The loop thread handles at most LOOPQUEUE_BATCH messages per
 * wake-up and then signals itself again if more are waiting, so a flood from a thread does
 * not starve the loop's other sources (timers, the control socket, curl).
 *
 * A handler may free the queue. The dispatcher notes that it is running (`dispatching`);
 * loopqueue_free() under it only marks the queue dead, and the dispatcher frees it on its
 * way out. */
#define _GNU_SOURCE
#include "loopqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util.h"

#define LOOPQUEUE_BATCH 256

struct loopqueue {
	sd_event *event;
	sd_event_source *src;
	int efd;
	loopqueue_fn handler;
	loopqueue_free_fn free_msg;
	void *userdata;

	pthread_mutex_t lock; /* guards what follows */
	void **ring;
	size_t capacity, head, count;
	bool signalled; /* the eventfd was written and the loop has not yet found the ring empty */

	/* loop thread only */
	bool dispatching, dead;
};

static void signal_loop(loopqueue *q)
{
	uint64_t one = 1;

	/* Cannot fail but for a counter at 2^64-2, and it is written once per batch. */
	while (write(q->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *pop_locked(loopqueue *q)
{
	void *msg = q->ring[q->head];

	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	return msg;
}

static void loopqueue_release(loopqueue *q)
{
	while (q->count) {
		void *msg = pop_locked(q);
		if (q->free_msg)
			q->free_msg(msg);
	}
	sd_event_source_disable_unref(q->src);
	if (q->efd >= 0)
		close(q->efd);
	pthread_mutex_destroy(&q->lock);
	sd_event_unref(q->event);
	free(q->ring);
	free(q);
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	loopqueue *q = userdata;
	uint64_t n;

	/* Reset the counter first: a push from now on either finds `signalled` set (and its
	 * message is taken below) or writes again. */
	(void)read(q->efd, &n, sizeof(n));

	q->dispatching = true;
	for (unsigned i = 0; i < LOOPQUEUE_BATCH && !q->dead; i++) {
		pthread_mutex_lock(&q->lock);
		if (!q->count) {
			q->signalled = false;
			pthread_mutex_unlock(&q->lock);
			break;
		}
		void *msg = pop_locked(q);
		pthread_mutex_unlock(&q->lock);
		q->handler(msg, q->userdata);
	}
	q->dispatching = false;
	if (q->dead) {
		loopqueue_release(q);
		return 0;
	}

	/* A full batch: come back on the next iteration if more is waiting. */
	pthread_mutex_lock(&q->lock);
	if (q->count)
		signal_loop(q);
	else
		q->signalled = false;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int loopqueue_new(sd_event *event, size_t capacity, loopqueue_fn handler,
                  loopqueue_free_fn free_msg, void *userdata, loopqueue **ret)
{
	if (capacity == 0 || capacity > SIZE_MAX / sizeof(void *))
		return -EINVAL;

	loopqueue *q = xcalloc(1, sizeof(*q));
	int r;

	q->event = sd_event_ref(event);
	q->handler = handler;
	q->free_msg = free_msg;
	q->userdata = userdata;
	q->capacity = capacity;
	q->ring = xcalloc(capacity, sizeof(void *));
	pthread_mutex_init(&q->lock, NULL);
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		r = -errno;
		loopqueue_release(q);
		return r;
	}
	r = sd_event_add_io(event, &q->src, q->efd, EPOLLIN, on_event, q);
	if (r < 0) {
		loopqueue_release(q);
		return r;
	}
	*ret = q;
	return 0;
}

loopqueue *loopqueue_free(loopqueue *q)
{
	if (!q || q->dead)
		return NULL;
	if (q->dispatching) {
		q->dead = true; /* on_event() frees it once the handler returns */
		return NULL;
	}
	loopqueue_release(q);
	return NULL;
}

int loopqueue_push(loopqueue *q, void *msg)
{
	pthread_mutex_lock(&q->lock);
	if (q->count == q->capacity) {
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	q->ring[(q->head + q->count) % q->capacity] = msg;
	q->count++;
	if (!q->signalled) {
		q->signalled = true;
		signal_loop(q);
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}

size_t loopqueue_pending(loopqueue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}
