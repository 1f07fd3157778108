/* loopqueue: typed messages from other threads to the sd-event loop. A blocking library (the
 * IMAP client, libetpan) runs in a thread of its own and hands what it found to the loop
 * thread, which alone touches the store (STYLE.md rule 10).
 *
 * The module owns a bounded ring of message pointers behind a mutex, and an eventfd watched
 * by an sd-event IO source. Messages are opaque pointers; their type is the producer's and
 * handler's business.
 *
 * Threading: loopqueue_push() may be called from any thread, the loop's included, at any time
 * between loopqueue_new() and loopqueue_free(). Everything else, the handler included, runs
 * on the loop thread. Stop and join the producers before loopqueue_free(): a push racing with
 * the free would use freed memory. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

typedef struct loopqueue loopqueue;

/* Runs on the loop thread, once per message, in push order (per producer, and overall in the
 * order the pushes took the lock). The handler owns msg from then on. It may push, and may
 * loopqueue_free() the queue (the messages still queued are then freed, not handled). */
typedef void (*loopqueue_fn)(void *msg, void *userdata);

/* Frees a message that was never handled (queued at loopqueue_free()). */
typedef void (*loopqueue_free_fn)(void *msg);

/* Creates a queue of at most capacity messages on event (referenced). free_msg may be NULL
 * when the messages own nothing. Returns 0, -EINVAL for a capacity of 0, or -errno (eventfd,
 * sd-event). */
int loopqueue_new(sd_event *event, size_t capacity, loopqueue_fn handler,
                  loopqueue_free_fn free_msg, void *userdata, loopqueue **ret);

/* Frees the messages still queued with free_msg, without handling them, and the queue.
 * Accepts NULL. Returns NULL. */
loopqueue *loopqueue_free(loopqueue *q);

/* Queues msg for the handler. Returns 0 (the queue owns msg), or -EAGAIN when the queue is
 * full: msg is then still the caller's, to retry later or to free. Never blocks for longer
 * than the lock is held (a few pointer moves). */
int loopqueue_push(loopqueue *q, void *msg);

/* Messages queued and not yet handled (a snapshot, from any thread). */
size_t loopqueue_pending(loopqueue *q);
