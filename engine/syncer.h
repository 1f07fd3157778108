/* syncer: fdatasync() on a thread of its own, so the loop goes on while the disk works.
 *
 * The store's group commit writes a batch on the loop thread and hands the files' descriptors
 * here; the thread syncs them and the loop hears of it through an eventfd watched by an
 * sd-event IO source. Meanwhile the loop takes the next requests and mails, which make the
 * next batch: the cycle is the longer of the sync and the loop's work, not their sum.
 *
 * One job at a time. The descriptors stay the caller's: it must keep them open until the done
 * callback (dup() them if something else may close them).
 *
 * Threading: every function runs on the loop thread; the callback too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

typedef struct syncer syncer;

/* Runs on the loop thread once the job's syncs are done: results[i] is 0 or -errno for
 * fds[i] (-EBADF for a negative fd, which is skipped). results is the syncer's until the
 * callback returns. The callback may start the next job. */
typedef void (*syncer_done_fn)(const int *results, size_t n, void *userdata);

int syncer_new(sd_event *event, syncer **ret);
/* Waits for a running job (its callback is not called) and joins the thread. Accepts NULL. */
syncer *syncer_free(syncer *s);

/* Starts fdatasync() of each of fds[0..n) on the thread (n may be 0: the callback then
 * comes on a later loop turn all the same). -EBUSY while a job is running. */
int syncer_start(syncer *s, const int *fds, size_t n, syncer_done_fn done, void *userdata);
/* True from syncer_start() until the job's callback has been called. */
bool syncer_busy(const syncer *s);
/* Blocks until the running job's syncs are done and calls its callback now (not again
 * later). Does nothing when no job is running. */
void syncer_wait(syncer *s);
