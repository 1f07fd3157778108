/* syncer: see syncer.h.
 *
 * The job lives in the syncer (one at a time), guarded by the mutex while the thread may look
 * at it. The thread sets `synced` and writes the eventfd; the loop's handler (or
 * syncer_wait(), which blocks on the condition variable) delivers the callback once:
 * `running` is cleared before the callback, so a stale eventfd wake-up finds nothing to do. */
#define _GNU_SOURCE
#include "syncer.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util.h"

struct syncer {
	sd_event_source *src;
	int efd;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond;
	bool stop;
	bool queued;	/* a job for the thread to take */
	bool synced;	/* the thread finished the job */
	int *fds, *results;
	size_t n, cap;

	/* loop thread only */
	bool running; /* started, callback not yet called */
	syncer_done_fn done;
	void *userdata;
};

static void *sync_thread(void *userdata)
{
	syncer *s = userdata;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->queued && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->queued)
			break; /* stop, nothing left */
		s->queued = false;
		size_t n = s->n;
		pthread_mutex_unlock(&s->lock);
		/* The loop does not touch fds or results until `synced`. */
		for (size_t i = 0; i < n; i++) {
			if (s->fds[i] < 0)
				s->results[i] = -EBADF;
			else
				s->results[i] = fdatasync(s->fds[i]) < 0 ? -errno : 0;
		}
		pthread_mutex_lock(&s->lock);
		s->synced = true;
		pthread_cond_broadcast(&s->cond);
		uint64_t one = 1;
		while (write(s->efd, &one, sizeof one) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void deliver(syncer *s)
{
	s->running = false;
	s->synced = false;
	syncer_done_fn done = s->done;
	s->done = NULL;
	if (done)
		done(s->results, s->n, s->userdata);
}

static int on_event(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	syncer *s = userdata;
	uint64_t v;
	(void)read(s->efd, &v, sizeof v);
	if (!s->running)
		return 0; /* delivered by syncer_wait() already */
	pthread_mutex_lock(&s->lock);
	bool synced = s->synced;
	pthread_mutex_unlock(&s->lock);
	if (synced)
		deliver(s);
	return 0;
}

int syncer_new(sd_event *event, syncer **ret)
{
	syncer *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	int r;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(event, &s->src, s->efd, EPOLLIN, on_event, s);
	if (r < 0)
		goto fail;
	r = -pthread_create(&s->thread, NULL, sync_thread, s);
	if (r < 0)
		goto fail;
	s->thread_started = true;
	*ret = s;
	return 0;
fail:
	syncer_free(s);
	return r;
}

syncer *syncer_free(syncer *s)
{
	if (!s)
		return NULL;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	sd_event_source_disable_unref(s->src);
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->fds);
	free(s->results);
	free(s);
	return NULL;
}

int syncer_start(syncer *s, const int *fds, size_t n, syncer_done_fn done, void *userdata)
{
	if (s->running)
		return -EBUSY;
	if (n > s->cap) {
		s->cap = n;
		s->fds = xrealloc(s->fds, n * sizeof(int));
		s->results = xrealloc(s->results, n * sizeof(int));
	}
	for (size_t i = 0; i < n; i++)
		s->fds[i] = fds[i];
	s->running = true;
	s->done = done;
	s->userdata = userdata;
	pthread_mutex_lock(&s->lock);
	s->n = n;
	s->synced = false;
	s->queued = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

bool syncer_busy(const syncer *s)
{
	return s && s->running;
}

void syncer_wait(syncer *s)
{
	if (!s || !s->running)
		return;
	pthread_mutex_lock(&s->lock);
	while (!s->synced)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	deliver(s);
}
