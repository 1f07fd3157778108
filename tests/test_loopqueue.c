/* loopqueue: 4 producer threads × 10,000 messages through a small queue (so the producers
 * meet a full queue and retry), each message arriving exactly once and in its producer's
 * order; -EAGAIN on a full queue with the message still the caller's; freeing with messages
 * queued (freed through free_msg, ASan checks the rest); a handler that pushes, and one that
 * frees the queue.
 *
 * Nothing is timed: the loop runs until every message has arrived, with a 120 s deadline
 * that only a hang reaches. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "loopqueue.h"
#include "util.h"

#define DEADLINE_USEC (120 * 1000000ULL)
#define PRODUCERS 4
#define PER_PRODUCER 10000

typedef struct msg {
	int producer;
	int seq;
} msg;

typedef struct sink {
	int next_seq[PRODUCERS]; /* the seq each producer's next message must carry */
	unsigned handled;
	unsigned out_of_order;
	loopqueue *q;
	bool free_on_first; /* the handler frees the queue (test_free_from_handler) */
} sink;

static unsigned freed;

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static msg *msg_new(int producer, int seq)
{
	msg *m = xmalloc(sizeof(*m));
	m->producer = producer;
	m->seq = seq;
	return m;
}

static void msg_free(void *p)
{
	freed++;
	free(p);
}

static void on_msg(void *p, void *userdata)
{
	sink *s = userdata;
	msg *m = p;

	if (m->producer < 0 || m->producer >= PRODUCERS || m->seq != s->next_seq[m->producer])
		s->out_of_order++;
	else
		s->next_seq[m->producer]++;
	s->handled++;
	free(m);
	if (s->free_on_first)
		s->q = loopqueue_free(s->q);
}

typedef struct producer {
	pthread_t thread;
	loopqueue *q;
	int id;
	unsigned full; /* times the queue was found full */
} producer;

static void *produce(void *p)
{
	producer *pr = p;

	for (int i = 0; i < PER_PRODUCER; i++) {
		msg *m = msg_new(pr->id, i);
		int r;
		while ((r = loopqueue_push(pr->q, m)) == -EAGAIN) {
			pr->full++;
			sched_yield();
		}
		if (r < 0)
			abort();
	}
	return NULL;
}

static void test_threads(void **state)
{
	sd_event *e;
	sink s = {0};
	producer pr[PRODUCERS];

	assert_int_equal(sd_event_new(&e), 0);
	/* Small: the producers outrun the loop now and then and must retry. */
	assert_int_equal(loopqueue_new(e, 64, on_msg, msg_free, &s, &s.q), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		pr[i] = (producer){.q = s.q, .id = i};
		assert_int_equal(pthread_create(&pr[i].thread, NULL, produce, &pr[i]), 0);
	}
	uint64_t end = now_usec() + DEADLINE_USEC;
	while (s.handled < PRODUCERS * PER_PRODUCER && now_usec() < end)
		assert_true(sd_event_run(e, 100000) >= 0);
	unsigned full = 0;
	for (int i = 0; i < PRODUCERS; i++) {
		assert_int_equal(pthread_join(pr[i].thread, NULL), 0);
		full += pr[i].full;
	}
	print_message("%d messages handled; the producers found the queue full %u times\n",
	              PRODUCERS * PER_PRODUCER, full);
	assert_int_equal(s.handled, PRODUCERS * PER_PRODUCER);
	assert_int_equal(s.out_of_order, 0);
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(s.next_seq[i], PER_PRODUCER);
	assert_int_equal(loopqueue_pending(s.q), 0);
	/* Nothing more arrives: exactly once. */
	assert_true(sd_event_run(e, 0) >= 0);
	assert_int_equal(s.handled, PRODUCERS * PER_PRODUCER);
	loopqueue_free(s.q);
	sd_event_unref(e);
}

static void test_full(void **state)
{
	sd_event *e;
	sink s = {0};

	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(loopqueue_new(e, 4, on_msg, msg_free, &s, &s.q), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(loopqueue_push(s.q, msg_new(0, i)), 0);
	msg *extra = msg_new(0, 4);
	assert_int_equal(loopqueue_push(s.q, extra), -EAGAIN);
	assert_int_equal(loopqueue_pending(s.q), 4);
	/* Refused: still ours. Handed to the loop, the four go through in order. */
	while (s.handled < 4)
		assert_true(sd_event_run(e, 1000000) >= 0);
	assert_int_equal(s.out_of_order, 0);
	assert_int_equal(loopqueue_push(s.q, extra), 0);
	while (s.handled < 5)
		assert_true(sd_event_run(e, 1000000) >= 0);
	assert_int_equal(s.out_of_order, 0);
	assert_int_equal(s.next_seq[0], 5);
	loopqueue_free(s.q);
	assert_int_equal(loopqueue_new(e, 0, on_msg, msg_free, &s, &s.q), -EINVAL);
	sd_event_unref(e);
}

static void test_free_pending(void **state)
{
	sd_event *e;
	sink s = {0};

	freed = 0;
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(loopqueue_new(e, 16, on_msg, msg_free, &s, &s.q), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(loopqueue_push(s.q, msg_new(1, i)), 0);
	loopqueue_free(s.q);
	assert_int_equal(freed, 10);
	assert_int_equal(s.handled, 0);
	sd_event_unref(e);
}

/* More than one batch, so the queue wakes the loop again by itself; the handler pushes each
 * of the first ten back (from the loop thread) as producer 1's, and they come after all that
 * was queued before them. */
static void on_msg_push_back(void *p, void *userdata)
{
	sink *s = userdata;
	msg *m = p;

	if (m->producer == 0 && s->next_seq[0] < 10) {
		on_msg(msg_new(0, m->seq), s);
		m->producer = 1;
		assert_int_equal(loopqueue_push(s->q, m), 0);
		return;
	}
	/* Producer 1's messages come after every one of producer 0's. */
	if (m->producer == 1 && s->next_seq[0] != 1000)
		s->out_of_order++;
	on_msg(m, s);
}

static void test_handler_pushes(void **state)
{
	sd_event *e;
	sink s = {0};
	enum { N = 1000 };

	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(loopqueue_new(e, N + 10, on_msg_push_back, msg_free, &s, &s.q), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(loopqueue_push(s.q, msg_new(0, i)), 0);
	uint64_t end = now_usec() + DEADLINE_USEC;
	while (s.handled < N + 10 && now_usec() < end)
		assert_true(sd_event_run(e, 100000) >= 0);
	assert_int_equal(s.handled, N + 10);
	assert_int_equal(s.out_of_order, 0);
	assert_int_equal(s.next_seq[0], N);
	assert_int_equal(s.next_seq[1], 10);
	loopqueue_free(s.q);
	sd_event_unref(e);
}

/* The handler frees the queue at the first message: the other nine are freed, not handled. */
static void test_free_from_handler(void **state)
{
	sd_event *e;
	sink s = {.free_on_first = true};

	freed = 0;
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(loopqueue_new(e, 16, on_msg, msg_free, &s, &s.q), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(loopqueue_push(s.q, msg_new(3, i)), 0);
	while (s.q)
		assert_true(sd_event_run(e, 1000000) >= 0);
	assert_int_equal(s.handled, 1);
	assert_int_equal(freed, 9);
	assert_int_equal(sd_event_run(e, 0), 0); /* no source left */
	sd_event_unref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_handler_pushes),
		cmocka_unit_test(test_free_from_handler),
	};

	log_set_max_level(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
