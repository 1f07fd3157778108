/* spool: the durable outbound queue. Every outbound message is written into the store
 * before any connector sees it, and leaves the queue only by being moved:
 *
 *   spool/<connector>/new/<id>.json     queued (with "tries", "next_try")
 *   spool/<connector>/cur/<id>.json     sent: never sent again, across restarts too
 *   spool/<connector>/failed/<id>.json  given up, with "error"
 *
 * or, for the messages queued in one spool batch (spool_batch_begin/end: a commit's
 * confirmations), by being recorded:
 *
 *   spool/<connector>/new/<batch>.batch  their lines, one file (one create) for the batch
 *   spool/<connector>/journal            a line per message sent from a batch file in new/
 *   spool/<connector>/cur/<batch>.batch  every message of it done
 *
 * A message of a batch file that is retried or fails leaves it for a file of its own
 * (new/<id>.json with its try, failed/<id>.json), which wins over its line at the start. A
 * private message keeps a file of its own in a batch too (its stub once sent).
 * docs/store-format.md has the formats.
 *
 * It owns the retry policy (exponential backoff from 60 s, doubling, capped at 1 h; final
 * after 12 tries or 2 days since the first try), an in-memory index of new/ rebuilt from
 * disk by spool_new() (with a set of every id in new/, cur/ and failed/, which answers the
 * duplicate check without a look at the disk for an id never seen), and the in-flight flag
 * that keeps a message whose (asynchronous) send is still pending from being sent twice.
 * A queued message's text stays in memory (1 MiB of them at most) until its first try, so
 * a send reads no file back. Only the spool writes spool/: a file put there by hand while
 * cocod runs is seen at the next start.
 *
 * Delivery is at-least-once: a crash between a connector's "delivered" and the rename into
 * cur/ (or its journal line's fdatasync) sends that message again after the restart;
 * nothing else is ever resent. The renames
 * of one spool_run() are made durable together at its end, so that window spans the run's
 * synchronous sends: a channel that stages sends (channel.h, send_begin/send_end) names
 * what it writes after the spool id, so a run sent again replaces its own copies.
 *
 * Single-threaded: only the loop thread calls into a spool (send callbacks included). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "channel.h"
#include "store.h"

#define SPOOL_BACKOFF_FIRST 60          /* seconds before the first retry */
#define SPOOL_BACKOFF_MAX 3600          /* the delay stops doubling here */
#define SPOOL_MAX_TRIES 12              /* a retry after this many tries is final */
#define SPOOL_MAX_AGE (2 * 24 * 3600)   /* ... and so is one this long after the first try */
#define SPOOL_ID_MAX 59                 /* "<id>.json" must stay a name_is_safe() name */

enum {
	SPOOL_QUEUED = 0,    /* spool_enqueue(): written to new/ */
	SPOOL_DUPLICATE = 1, /* spool_enqueue(): that id is already queued, sent or failed */
};

typedef struct spool spool;

typedef struct spool_counters {
	size_t queued;    /* messages in new/ */
	size_t in_flight; /* of those, sends still pending */
	size_t sent;      /* messages in cur/ */
	size_t failed;    /* messages in failed/ */
} spool_counters;

/* Creates a spool on an open store (which must outlive it) and indexes every queued
 * message under spool/. Unreadable or unknown-version files are reported and skipped;
 * queued files marked final by a crash mid-failure are moved on to failed/. */
int spool_new(store *st, spool **ret);
/* Pending send callbacks that fire after this are ignored (the message stays in new/ and
 * is sent again by the next spool). Stop connectors first. */
spool *spool_free(spool *sp);
void spool_freep(spool **sp);
#define _cleanup_spool_ __attribute__((cleanup(spool_freep)))

/* Messages for ops->name go to connector c from now on (replacing an earlier attachment,
 * e.g. after a reload). Rescans spool/<name>/new/ for messages not yet indexed. */
int spool_attach(spool *sp, const channel_ops *ops, channel *c);
/* Called for every message a channel reported sent with its remote id (after the move into
 * cur/): the core records it in the conversation index. */
typedef void (*spool_sent_fn)(const char *channel, const cJSON *msg, const char *remote_id,
                              void *userdata);
void spool_set_sent_hook(spool *sp, spool_sent_fn fn, void *userdata);
/* Forgets the connector for that name: its in-flight sends are abandoned (their callbacks
 * are ignored) and the messages become due again for the next attachment. */
void spool_detach(spool *sp, const char *connector_name);

/* Queues a copy of msg (a JSON object, see channel-msg.h) for connector_name. If msg has no
 * "id" one is made (unix time + 64 random bits); a given id must be name_is_safe() and at
 * most SPOOL_ID_MAX bytes. Adds
 * "v":1 if absent (versions other than 1 and 2 are refused; 2 is a typed channel message,
 * connectors/channel-msg.h), "tries":0, "next_try":now, "queued":now.
 * The message is durable when this returns. Returns SPOOL_QUEUED or SPOOL_DUPLICATE (the
 * id is in new/, cur/ or failed/ already, as listed at spool_new() or queued since; nothing
 * written), -EINVAL for a bad name, id or
 * message, or -errno from the store. ret_id (may be NULL) gets the id, malloc'd. */
int spool_enqueue(spool *sp, const char *connector_name, const cJSON *msg, char **ret_id);

/* Batches: between spool_batch_begin() and spool_batch_end(), spool_enqueue() only stages
 * a message (a line of the connector's batch file in memory, not yet written, not sent:
 * ids are already known, so a second enqueue of the same id in the batch is
 * SPOOL_DUPLICATE). spool_batch_end() writes one file per connector (another past 4 MiB)
 * and makes them durable with a constant number of syncs (store_replace_flush), and returns
 * how many were queued, or -errno: then whoever acknowledged something on the strength of
 * the batch must take that back (the messages whose file did reach the disk stay queued,
 * and a replay finds them known). Without a batch, spool_enqueue() is durable when it
 * returns, as before. */
void spool_batch_begin(spool *sp);
int spool_batch_end(spool *sp);
bool spool_in_batch(const spool *sp);

/* Hands every queued message whose next_try <= clock_now(), whose connector is attached
 * and which is not in flight to its connector, between the connector's send_begin() and
 * send_end() if it has them. Outcomes (which may arrive before this returns or later from
 * the loop) move the message to cur/, reschedule it, or move it to failed/; the moves of
 * the outcomes that arrive before it returns are fsync'd together, once per directory, at
 * its end. Returns the number of sends started, or the first -errno the store gave (the
 * other messages are still tried). */
int spool_run(spool *sp);

/* At most n sends in flight at once, so at most n started by one spool_run() (0, the
 * default: no limit). What is left waits for the next run; spool_next_due() says
 * INT64_MAX while the limit is reached (an outcome must come first). cocod uses it so that
 * a backlog of sends is handed over a little at a time, between the loop's other work. */
void spool_set_limit(spool *sp, size_t n);

/* Outcomes that arrive outside spool_run() (an asynchronous channel's, from the loop) move
 * their message into cur/ at once but make the move durable only at the next spool_sync()
 * (or run's end), one fsync per directory for all of them, instead of two fsyncs each. A
 * crash in between sends them again, the window a run already has. cocod calls
 * spool_sync() at the end of every loop turn. */
void spool_sync_later(spool *sp);
int spool_sync(spool *sp);

/* The earliest next_try of queued, not in-flight messages whose connector is attached
 * (a moment in the past means "now"), or INT64_MAX if there is none. */
int64_t spool_next_due(spool *sp);

/* What spool_forget()'s callback decides for one message. */
typedef enum spool_verdict {
	SPOOL_KEEP,    /* untouched */
	SPOOL_REWRITE, /* the callback changed msg: written back in place, in the same box */
	SPOOL_ERASE,   /* replaced by a tombstone (see spool_forget) */
} spool_verdict;

/* Called for every message of every connector's new/, cur/ and failed/ with the parsed
 * message (the callback may change it for SPOOL_REWRITE). */
typedef spool_verdict (*spool_forget_fn)(cJSON *msg, void *userdata);

/* `cococtl forget`: lets fn decide for every spooled message. An erased message becomes a
 * tombstone {"v":1,"id","kind","campaign","erased":true,"final":true}: no recipient, no
 * content, and its file name still makes spool_enqueue() see the id as known, so the same
 * message is never queued again. A queued one (new/) is taken out of the queue and its
 * tombstone moved into failed/ (a crash between the two steps is finished by spool_new(),
 * as for any message marked final). *ret_erased and *ret_rewritten count what was done;
 * returns the first store error, after going on with the rest. */
int spool_forget(spool *sp, spool_forget_fn fn, void *userdata, size_t *ret_erased,
                 size_t *ret_rewritten);

/* Every message stored for connector in box ("new", "cur" or "failed") as it is on disk:
 * each <id>.json, and each line of the batch files there (a message sent from a batch file
 * whose file is still in new/ is listed in new/; one that left its batch file for a file
 * of its own is listed twice). fn gets the id and the message; a negative return stops.
 * Returns how many were listed, or -errno (-EBADMSG for a file that is not a spool
 * message or batch). For tests and tools: cocod itself keeps an index. */
typedef int (*spool_each_fn)(const char *id, const cJSON *msg, void *userdata);
int spool_each(store *st, const char *connector, const char *box, spool_each_fn fn,
               void *userdata);

/* For the status command. */
void spool_stats(const spool *sp, spool_counters *ret);

/* The delay before retry number `tries` (1 = after the first failed try). */
int64_t spool_backoff(unsigned tries);
