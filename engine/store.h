/* store: the flat-file store under the state directory, and the only code that writes it.
 * It owns crash safety: atomic replace of whole files, JSONL appends with group commit
 * (many appends, one fdatasync per touched file, then the callbacks), idempotency keys
 * (a key recorded twice is stored once, across restarts too), and path names that can
 * never escape the state directory.
 *
 * Relative paths ("campaigns/kickoff/state.json") are checked by store_path_is_valid():
 * components separated by '/', each one name_is_safe(); no leading '/', no "..", no
 * control bytes. Directories are created on demand (and the parent fsync'd).
 *
 * Single-threaded: only the loop thread calls into a store (its sync thread, when attached,
 * only fdatasyncs descriptors handed to it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>
#include <time.h>

typedef struct store store;

/* The longest JSONL line (without its newline, key included) a scan accepts, and so the
 * longest record store_append() takes. */
#define STORE_LINE_MAX (1024 * 1024)

enum {
	STORE_STORED = 0,    /* the record is on disk (fdatasync'd) */
	STORE_DUPLICATE = 1, /* the key was already recorded; nothing new was written */
};

/* Opens (creating if needed) the store rooted at dir. */
int store_open(const char *dir, store **ret);
store *store_free(store *s);
void store_freep(store **s);
#define _cleanup_store_ __attribute__((cleanup(store_freep)))
const char *store_root(const store *s);

bool store_path_is_valid(const char *relpath);

/* Atomic replace: relpath.tmp (O_EXCL, 0600) → write → fsync → rename → fsync dir. */
int store_replace(store *s, const char *relpath, const void *data, size_t len);
/* Atomic replace in batches (the spool's confirmations of one commit): staging writes
 * relpath.tmp (O_EXCL, 0600) and nothing else; store_replace_flush() then makes every staged
 * file durable with one syncfs() of the store's file system, renames each into place and
 * fsyncs each touched directory once: a constant number of syncs for the whole batch, where
 * store_replace() costs two per file. Until the flush, a staged file is not there for
 * store_read() or store_exists(); a crash leaves NAME.tmp files, removed at the next start
 * (store_sweep_tmp). A failed flush removes every staged file that was not renamed and
 * returns the error: the caller must treat the whole batch as not written. */
int store_replace_stage(store *s, const char *relpath, const void *data, size_t len);
int store_replace_flush(store *s);
size_t store_staged(const store *s);
/* Reads a whole file (at most max bytes). -ENOENT if absent. */
int store_read(store *s, const char *relpath, size_t max, char **ret, size_t *ret_len);
int store_exists(store *s, const char *relpath);
int store_remove(store *s, const char *relpath);
/* Atomic move within the store (rename, then fsync of both directories); the target
 * directory is created if needed. */
int store_rename(store *s, const char *from, const char *to);
/* Moves in batches (the spool marking a run of sends done): store_rename_deferred() renames
 * at once and leaves the two directory fsyncs to store_sync_renames(), which fsyncs every
 * touched directory once, the targets first (so a crash leaves each file in at least one
 * place): two syncs for the batch where store_rename() costs two a file. Until then a crash
 * may undo the moves (each file is then in its old place); store_free() syncs what is
 * left. store_sync_renames() returns the first error after trying every directory. */
int store_rename_deferred(store *s, const char *from, const char *to);
int store_sync_renames(store *s);

/* Appends bytes (whole lines, each ending in '\n') to relpath at once and fdatasyncs it:
 * for a journal outside the group commit (the spool's record of messages sent from a batch
 * file). The file is created on demand (0600, its directory fsync'd); a torn last line left
 * by a crash is cut off before the first append, so a record always starts a line. No key,
 * no callback. Returns 0 or -errno (then what was written may be a torn line, cut off at
 * the next open). */
int store_append_sync(store *s, const char *relpath, const void *data, size_t len);

/* Called once per append after the commit that covers it: result is STORE_STORED,
 * STORE_DUPLICATE, or -errno if the write failed (then nothing may be acknowledged). */
typedef void (*store_commit_fn)(int result, void *userdata);

/* Queues one JSON object (one line, no newline inside, it must start with '{') for
 * appending to relpath. With a key, the store inserts it as the record's first member
 * ({"key":"…",…}) and records the key; an append whose key is already recorded (on disk
 * or earlier in the same batch) writes nothing and completes with STORE_DUPLICATE.
 * The callback never fires before store_append() returns: only store_commit() calls it.
 * Returns 0 if queued, -EINVAL for a bad path, line or key (a line that would be longer than
 * STORE_LINE_MAX with its key is a bad line): errors that the same append would meet again. */
int store_append(store *s, const char *relpath, const char *json_line, const char *key,
                 store_commit_fn cb, void *userdata);
/* Writes everything queued, one write and one fdatasync per touched file, then runs the
 * callbacks in append order. A started commit (below) is waited for and finished first.
 * Returns the number of appends completed, or -errno. */
int store_commit(store *s);
size_t store_pending(const store *s);

/* The same commit in two halves, so the loop goes on while the disk syncs (cocod):
 * store_attach_event() gives the store a sync thread (engine/syncer.h) on the loop.
 * store_commit_start() takes what is queued and writes it now; the thread fdatasyncs the
 * files, then synced(userdata) is called on the loop thread, which must call
 * store_commit_finish(): that runs the callbacks in append order, exactly as store_commit()
 * would have, and returns what it would have returned. Appends made meanwhile are queued for
 * the next commit; one whose key is in the started commit is a duplicate if that commit
 * stores it, and the record itself if it fails. Returns 1 if started, 0 if there was nothing
 * to commit, -EBUSY while a started commit is not finished, -EOPNOTSUPP without a sync
 * thread (then use store_commit()). store_commit_wait() blocks until the started commit's
 * syncs are done and calls its synced callback now. */
typedef void (*store_synced_fn)(void *userdata);
int store_attach_event(store *s, sd_event *event);
int store_commit_start(store *s, store_synced_fn synced, void *userdata);
int store_commit_finish(store *s);
bool store_commit_busy(const store *s);
void store_commit_wait(store *s);

/* True if the key is recorded (on disk or queued). Keys are loaded lazily on first use by
 * scanning the store's *.jsonl files, so the on-disk records are the single truth. */
bool store_has_key(store *s, const char *key);

/* Streams a JSONL file line by line without loading it whole. A torn last line (no final
 * newline: a crash mid-append) is skipped with a warning. The callback gets each complete
 * line without its newline, NUL-terminated; a negative return stops the scan and is
 * returned. -ENOENT if the file does not exist. */
typedef int (*store_line_fn)(const char *line, size_t len, void *userdata);
int store_scan(store *s, const char *relpath, store_line_fn cb, void *userdata);

/* Removes what interrupted store_replace() calls left: regular files named NAME.tmp
 * (NAME a safe name) under campaigns/, spool/ and in the root, last modified before
 * `before` (cocod passes its start time, so a temporary being written now is left alone).
 * Other files and other trees (the local connector's maildirs) are not touched.
 * *ret_removed (if given) counts what was removed; returns the first error, after going on
 * with the rest. In store-sweep.c. */
int store_sweep_tmp(store *s, const struct timespec *before, unsigned *ret_removed);

/* Lists the entries of a directory in the store (names only, sorted, NULL-terminated;
 * free with strv_free() from util.h). -ENOENT if absent. */
int store_list(store *s, const char *reldir, char ***ret);

#ifdef COCO_TEST_HOOKS
/* Test hook (isync's journal test): after this many durable steps (each fsync or fdatasync
 * of a file or directory, and each rename)
 * the process _exit()s, so tests can check recovery at every step. 0 = off. Also set from
 * the environment variable COCO_STORE_CRASH_AFTER at store_open(). Only in the test build
 * (-DCOCO_TEST_HOOKS, the Makefile's SAN_FLAGS): the production cocod has no such hook. */
void store_set_crash_after(store *s, unsigned long n);
#endif
