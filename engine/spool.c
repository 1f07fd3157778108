/* spool: the durable outbound queue; see spool.h. */
#define _GNU_SOURCE
#include "spool.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "strmap.h"
#include "util.h"

/* A digest with its HTML part is the largest thing we queue; anything bigger than this in
 * new/ is not ours. */
#define SPOOL_FILE_MAX (16u * 1024 * 1024)

/* What queued messages may keep in memory (their text, as written) until they are sent,
 * so that a send does not read its file back: a burst's confirmations are queued by the
 * hundred (a commit's batch is at most 256 replies) and sent moments later. Past this the
 * rest are read back from new/ as before, so a backlog of 20,000 costs no more heap than
 * this; 1 MiB is a batch of confirmations of 4 KiB each (the peak RSS target is 16 MiB). */
#define SPOOL_KEEP_MAX (1024u * 1024)

typedef struct send_ctx {
	spool *sp; /* NULL once the spool (or the attachment) let go of this send */
	char *connector, *id;
	cJSON *msg;      /* the spool entry; alive until the channel answers */
	channel_msg *cm; /* what the channel got, typed */
	int64_t started; /* clock_now() when the send began: the first try, if it was one */
	bool in_send;    /* inside ops->send(): the caller frees us afterwards */
	bool completed;
} send_ctx;

typedef struct entry {
	char *connector, *id;
	int64_t next_try;
	bool delivered;    /* sent, but the move into cur/ failed: retry the move, not the send */
	bool staged;       /* written in the open batch, not durable yet: not sent */
	send_ctx *pending; /* in flight */
	char *text;        /* the file's content as queued (SPOOL_KEEP_MAX), or NULL: read it */
	size_t text_len;
} entry;

/* Every "<connector>/<id>" the spool has seen in new/, cur/ or failed/ (listed at start,
 * added on enqueue), as 64-bit hashes: spool_enqueue()'s duplicate check asks it first and
 * looks at the disk only on a hit (which may be a collision), so a new id costs no system
 * call. An id never leaves the spool (a forgotten message keeps a tombstone), so the set
 * only grows: 16 bytes an id at most (open addressing, at most half full). */
typedef struct idset {
	uint64_t *slot; /* 0: empty (a hash of 0 is stored as 1) */
	size_t n, cap;
} idset;

typedef struct attachment {
	char *name;
	const channel_ops *ops;
	channel *c;
} attachment;

struct spool {
	store *st;
	entry **entries; /* in the order they were queued: sent in that order */
	size_t n_entries, cap_entries;
	strmap *index;   /* "<connector>/<id>" → entry */
	attachment *att;
	size_t n_att;
	size_t n_sent, n_failed;
	char **bad; /* paths in new/ already reported as unreadable: report each once */
	spool_sent_fn sent_hook;
	void *sent_userdata;
	bool batch; /* spool_batch_begin() .. spool_batch_end() */
	/* Inside spool_run(): a message sent is moved into cur/ at once, and the moves are
	 * made durable together when the run ends (store_sync_renames()). */
	bool in_run;
	size_t n_stubs; /* private messages' stubs staged in this run */
	size_t limit;   /* spool_set_limit(): sends in flight and started per run; 0: none */
	bool sync_later; /* spool_sync_later(): moves outside a run wait for spool_sync() */
	idset known;     /* every id seen on disk or queued (a filter: hits are checked) */
	bool known_partial; /* a box could not be listed: the set may lack ids, ask the disk */
	size_t kept;     /* bytes of entries' text kept in memory (SPOOL_KEEP_MAX) */
};

/* FNV-1a of "conn/id", finished with a 64-bit mix so that linear probing spreads. */
static uint64_t id_hash(const char *conn, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = conn; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static bool idset_has(const idset *set, uint64_t h)
{
	if (!set->cap)
		return false;
	for (size_t i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (set->slot[i] == h)
			return true;
		if (!set->slot[i])
			return false;
	}
}

static void idset_add(idset *set, uint64_t h)
{
	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1024;
		uint64_t *slot = xcalloc(cap, sizeof(*slot));
		for (size_t j = 0; j < set->cap; j++)
			if (set->slot[j])
				for (size_t i = set->slot[j] & (cap - 1);; i = (i + 1) & (cap - 1))
					if (!slot[i]) {
						slot[i] = set->slot[j];
						break;
					}
		free(set->slot);
		set->slot = slot;
		set->cap = cap;
	}
	for (size_t i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (set->slot[i] == h)
			return;
		if (!set->slot[i]) {
			set->slot[i] = h;
			set->n++;
			return;
		}
	}
}

static char *path_of(const char *conn, const char *box, const char *id)
{
	return xasprintf("spool/%s/%s/%s.json", conn, box, id);
}

static void send_ctx_free(send_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->connector);
	free(ctx->id);
	cJSON_Delete(ctx->msg);
	channel_msg_free(ctx->cm);
	free(ctx);
}

static void entry_free(entry *e)
{
	if (!e)
		return;
	/* A send still pending keeps its context; the callback frees it and sees sp == NULL. */
	if (e->pending)
		e->pending->sp = NULL;
	free(e->connector);
	free(e->id);
	free(e->text);
	free(e);
}

/* The entry's file is the truth again (sent, rewritten by forget, or never kept). */
static void drop_text(spool *sp, entry *e)
{
	if (!e->text)
		return;
	sp->kept -= e->text_len;
	free(e->text);
	e->text = NULL;
	e->text_len = 0;
}

/* Connector and id are safe names: no '/' in either. */
static entry *find_entry(const spool *sp, const char *conn, const char *id)
{
	char key[160];
	if ((size_t)snprintf(key, sizeof key, "%s/%s", conn, id) >= sizeof key)
		return NULL;
	return strmap_get(sp->index, key);
}

static void remove_entry(spool *sp, entry *e)
{
	drop_text(sp, e);
	_cleanup_free_ char *key = xasprintf("%s/%s", e->connector, e->id);
	(void)strmap_remove(sp->index, key);
	/* Sends leave in the order they were queued: the entry is near the front. */
	for (size_t i = 0; i < sp->n_entries; i++)
		if (sp->entries[i] == e) {
			memmove(sp->entries + i, sp->entries + i + 1,
			        (sp->n_entries - i - 1) * sizeof(*sp->entries));
			sp->n_entries--;
			entry_free(e);
			return;
		}
}

static entry *add_entry(spool *sp, const char *conn, const char *id, int64_t next_try)
{
	if (sp->n_entries == sp->cap_entries) {
		sp->cap_entries = sp->cap_entries ? sp->cap_entries * 2 : 16;
		sp->entries = xrealloc(sp->entries, sp->cap_entries * sizeof(*sp->entries));
	}
	entry *e = xcalloc(1, sizeof(*e));
	e->connector = xstrdup(conn);
	e->id = xstrdup(id);
	e->next_try = next_try;
	sp->entries[sp->n_entries++] = e;
	_cleanup_free_ char *key = xasprintf("%s/%s", conn, id);
	(void)strmap_put(sp->index, key, e);
	return e;
}

static attachment *find_attachment(spool *sp, const char *name)
{
	for (size_t i = 0; i < sp->n_att; i++)
		if (STREQ(sp->att[i].name, name))
			return &sp->att[i];
	return NULL;
}

/* A number from a spool file, which may hold anything ("next_try":1e300): converting a
 * double outside int64_t's range is undefined, so such values (and NaN) count as absent.
 * 2^53 bounds every time and count the spool writes, and keeps now - first_try from
 * overflowing. */
static int64_t json_int(const cJSON *obj, const char *key, int64_t def)
{
	int64_t v;
	return json_get_int64(obj, key, &v) >= 0 ? v : def;
}

/* The numbers the spool reads back: present ones must be integers in range. */
static bool numbers_are_valid(const cJSON *msg)
{
	static const char *const keys[] = {"v", "tries", "next_try", "queued", "first_try",
	                                   "failed"};
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		int64_t v;
		int r = json_get_int64(msg, keys[i], &v);
		if (r < 0 && r != -ENOENT)
			return false;
	}
	return true;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void json_set_number(cJSON *obj, const char *key, double n)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddNumberToObject(obj, key, n);
}

static void json_set_string(cJSON *obj, const char *key, const char *s)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddStringToObject(obj, key, s);
}

static int write_json(spool *sp, const char *relpath, const cJSON *msg)
{
	_cleanup_free_ char *text = cJSON_PrintUnformatted(msg);
	if (!text)
		return -ENOMEM;
	return store_replace(sp->st, relpath, text, strlen(text));
}

/* Reads and checks one queued message. -EBADMSG for anything that is not a version 1 or 2
 * spool object (2: a typed channel message, connectors/channel-msg.h), or whose numbers are
 * not integers in range. */
static int parse_msg(const char *text, size_t len, cJSON **ret)
{
	cJSON *msg = cJSON_ParseWithLength(text, len);
	int64_t version = cJSON_IsObject(msg) ? json_int(msg, "v", -1) : -1;
	if ((version != 1 && version != 2) || !numbers_are_valid(msg)) {
		cJSON_Delete(msg);
		return -EBADMSG;
	}
	*ret = msg;
	return 0;
}

static int read_msg(spool *sp, const char *relpath, cJSON **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = store_read(sp->st, relpath, SPOOL_FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	return parse_msg(text, len, ret);
}

static bool is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '@' || (unsigned char)ch >= 0x80;
}

/* text with every whole-word occurrence of the recipient's member id, name and address
 * (case-insensitive) replaced by "(private)". */
static char *redact_recipient(const char *text, const cJSON *to)
{
	char *out = xstrdup(text);
	static const char *const fields[] = {"address", "name", "member"}; /* longest first */
	for (size_t f = 0; f < ELEMENTSOF(fields); f++) {
		const char *needle = to ? json_str(to, fields[f]) : NULL;
		size_t n = needle ? strlen(needle) : 0;
		if (n == 0)
			continue;
		strbuf b = {0};
		const char *p = out, *hit;
		while ((hit = strcasestr(p, needle))) {
			bool whole = (hit == out || !is_word_char(hit[-1])) && !is_word_char(hit[n]);
			strbuf_add(&b, p, (size_t)(hit - p));
			strbuf_add(&b, whole ? "(private)" : hit, whole ? strlen("(private)") : n);
			p = hit + n;
		}
		strbuf_add(&b, p, strlen(p));
		free(out);
		out = strbuf_steal(&b);
	}
	return out;
}

/* Who/what a log line names: never the body, the addresses or the reply token; and for a
 * private message (about an anonymous round) not the member either: next to the line
 * saying an anonymous answer was recorded, their name would say whose it is. */
static void log_outcome(int level, const char *conn, const cJSON *msg, const char *id,
                        const char *what, const char *error)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "to");
	const char *member = to ? json_str(to, "member") : NULL;
	const char *room = to ? json_str(to, "room") : NULL;
	const char *kind = json_str(msg, "kind");
	/* A room is named (a channel's id says no one's name); a stranger by no address. */
	_cleanup_free_ char *whom = member ? xstrdup(member)
	                            : room ? xasprintf("room %s", room)
	                                   : xstrdup("someone who is no member");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "private"))) {
		/* A channel's error may quote the recipient ("550 <ann@…>: unknown user"). */
		_cleanup_free_ char *e = error ? redact_recipient(error, to) : NULL;
		log_internal(level, 0, "spool: %s/%s (%s, private) %s%s%s", conn, id,
		             kind ? kind : "message", what, e ? ": " : "", e ? e : "");
	} else
		log_internal(level, 0, "spool: %s/%s (%s to %s) %s%s%s", conn, id,
		             kind ? kind : "message", whom, what, error ? ": " : "",
		             error ? error : "");
}

int64_t spool_backoff(unsigned tries)
{
	int64_t d = SPOOL_BACKOFF_FIRST;
#ifdef COCO_TEST_HOOKS
	/* Tests retry in seconds, not minutes (t-email-faults). */
	const char *first = getenv("COCO_SPOOL_BACKOFF_SEC");
	if (first && atoi(first) > 0)
		d = atoi(first);
#endif
	for (unsigned i = 1; i < tries && d < SPOOL_BACKOFF_MAX; i++)
		d *= 2;
	return d < SPOOL_BACKOFF_MAX ? d : SPOOL_BACKOFF_MAX;
}

/* new/ → failed/ with the reason. The final state is written into new/ first so a crash
 * between the two steps is finished by the next spool_new() instead of sending again. */
static int move_to_failed(spool *sp, const char *conn, const char *id, cJSON *msg,
                          const char *error)
{
	_cleanup_free_ char *from = path_of(conn, "new", id);
	_cleanup_free_ char *to = path_of(conn, "failed", id);
	json_set_string(msg, "error", error ? error : "unknown error");
	json_set_number(msg, "failed", (double)clock_now());
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "final");
	cJSON_AddTrueToObject(msg, "final");
	int r = write_json(sp, from, msg);
	if (r < 0)
		return r;
	return store_rename(sp->st, from, to);
}

static int deliver_done(spool *sp, entry *e, const cJSON *msg, const char *remote_id)
{
	_cleanup_free_ char *from = path_of(e->connector, "new", e->id);
	_cleanup_free_ char *to = path_of(e->connector, "cur", e->id);
	/* In a run, the moves of all its sends are synced together at its end: a crash before
	 * that sends them again, which a staging channel makes harmless (channel.h). */
	int r = sp->in_run || sp->sync_later ? store_rename_deferred(sp->st, from, to)
	                                     : store_rename(sp->st, from, to);
	if (r < 0) {
		/* Not resending is the point of the spool: remember it was delivered. */
		e->delivered = true;
		return log_error_errno(r, "spool: %s/%s sent, but recording it failed: %m",
		                       e->connector, e->id);
	}
	log_outcome(LOG_INFO, e->connector, msg, e->id, "sent", NULL);
	sp->n_sent++;
	if (remote_id && msg && sp->sent_hook)
		sp->sent_hook(e->connector, msg, remote_id, sp->sent_userdata);
	/* A private message (a confirmation of an anonymous answer) keeps no content once
	 * sent: only its id, which is what stops it being sent twice. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "private"))) {
		cJSON *stub = cJSON_CreateObject();
		cJSON_AddNumberToObject(stub, "v", 1);
		cJSON_AddStringToObject(stub, "id", e->id);
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
		if (cJSON_IsString(kind))
			cJSON_AddStringToObject(stub, "kind", kind->valuestring);
		cJSON_AddTrueToObject(stub, "private");
		if (sp->in_run && !sp->batch) {
			/* Written with the others of the run, at its end (spool_run()). */
			_cleanup_free_ char *text = cJSON_PrintUnformatted(stub);
			r = text ? store_replace_stage(sp->st, to, text, strlen(text)) : -ENOMEM;
			if (r >= 0)
				sp->n_stubs++;
		} else
			r = write_json(sp, to, stub);
		cJSON_Delete(stub);
		if (r < 0)
			log_warning_errno(r, "spool: %s/%s: cannot drop the content of a private "
			                  "message after sending it: %m", e->connector, e->id);
	}
	remove_entry(sp, e);
	return 0;
}

static int handle_outcome(spool *sp, entry *e, cJSON *msg, int64_t started, send_status status,
                          const char *error, const char *remote_id)
{
	int64_t now = clock_now();
	int r;

	if (status == SEND_OK)
		return deliver_done(sp, e, msg, remote_id);

	_cleanup_free_ char *reason = NULL;
	if (status == SEND_RETRY) {
		unsigned tries = (unsigned)json_int(msg, "tries", 0) + 1;
		int64_t first = json_int(msg, "first_try", started);
		if (tries < SPOOL_MAX_TRIES && now - first < SPOOL_MAX_AGE) {
			_cleanup_free_ char *path = path_of(e->connector, "new", e->id);
			e->next_try = now + spool_backoff(tries);
			json_set_number(msg, "tries", tries);
			json_set_number(msg, "first_try", (double)first);
			json_set_number(msg, "next_try", (double)e->next_try);
			json_set_string(msg, "last_error", error ? error : "temporary failure");
			_cleanup_free_ char *what = xasprintf("try %u failed, next in %" PRId64 "s",
			                                      tries, e->next_try - now);
			log_outcome(LOG_WARNING, e->connector, msg, e->id, what, error);
			/* If this write fails the in-memory backoff still holds; after a restart
			 * the message is merely due a little early. */
			r = write_json(sp, path, msg);
			if (r < 0)
				return log_error_errno(r, "spool: recording retry of %s/%s failed: %m",
				                       e->connector, e->id);
			return 0;
		}
		json_set_number(msg, "tries", tries);
		reason = xasprintf("gave up after %u tries: %s", tries,
		                   error ? error : "temporary failure");
	} else {
		json_set_number(msg, "tries", (double)json_int(msg, "tries", 0) + 1);
		reason = xstrdup(error ? error : "permanent failure");
	}

	log_outcome(LOG_ERR, e->connector, msg, e->id, "failed", reason);
	r = move_to_failed(sp, e->connector, e->id, msg, reason);
	if (r < 0) {
		/* Leave it queued but not due before a restart: better than a retry storm. */
		e->next_try = INT64_MAX;
		return log_error_errno(r, "spool: moving %s/%s to failed/ failed: %m", e->connector,
		                       e->id);
	}
	sp->n_failed++;
	remove_entry(sp, e);
	return 0;
}

static void on_send_done(send_status status, const char *error, const char *remote_id,
                         void *userdata)
{
	send_ctx *ctx = userdata;

	ctx->completed = true;
	if (ctx->sp) {
		entry *e = find_entry(ctx->sp, ctx->connector, ctx->id);
		if (e && e->pending == ctx) {
			e->pending = NULL;
			(void)handle_outcome(ctx->sp, e, ctx->msg, ctx->started, status, error,
			                     remote_id);
		}
	}
	if (!ctx->in_send)
		send_ctx_free(ctx);
}

static bool split_json_name(const char *name, char *buf, size_t bufsz)
{
	size_t n = strlen(name);
	if (n <= 5 || n - 5 >= bufsz || !STREQ(name + n - 5, ".json"))
		return false;
	memcpy(buf, name, n - 5);
	buf[n - 5] = 0;
	return name_is_safe(buf);
}

static size_t count_box(spool *sp, const char *conn, const char *box)
{
	_cleanup_free_ char *dir = xasprintf("spool/%s/%s", conn, box);
	char **names = NULL;
	size_t n = 0;
	char id[80];

	int r = store_list(sp->st, dir, &names);
	if (r < 0) {
		if (r != -ENOENT)
			sp->known_partial = true;
		return 0;
	}
	for (char **p = names; *p; p++)
		if (split_json_name(*p, id, sizeof(id))) {
			idset_add(&sp->known, id_hash(conn, id));
			n++;
		}
	strv_free(names);
	return n;
}

/* Indexes spool/<connector>/new/ entries not known yet. Files that are not ours (".tmp"
 * leftovers of an interrupted replace) are ignored; store_sweep_tmp() removes those at
 * the daemon's start. */
static int scan_new(spool *sp, const char *conn)
{
	_cleanup_free_ char *dir = xasprintf("spool/%s/new", conn);
	char **names = NULL;
	char id[80];
	int r = store_list(sp->st, dir, &names);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "spool: listing %s failed: %m", dir);

	for (char **p = names; *p; p++) {
		if (!split_json_name(*p, id, sizeof(id)) || find_entry(sp, conn, id))
			continue;
		idset_add(&sp->known, id_hash(conn, id)); /* an unreadable one too */
		_cleanup_free_ char *path = path_of(conn, "new", id);
		cJSON *msg = NULL;
		r = read_msg(sp, path, &msg);
		if (r < 0) {
			/* Left in place, not deleted: an operator can look at it. */
			bool known = false;
			for (char **b = sp->bad; b && *b && !known; b++)
				known = STREQ(*b, path);
			if (!known) {
				log_error_errno(r, "spool: skipping %s (unreadable or unknown version): %m",
				                path);
				strv_push(&sp->bad, xstrdup(path));
			}
			continue;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "final"))) {
			_cleanup_free_ char *to = path_of(conn, "failed", id);
			/* A crash came between recording the failure and the move. */
			if (store_rename(sp->st, path, to) >= 0) {
				log_notice("spool: moved %s to failed/ (marked final)", path);
				sp->n_failed++;
			}
		} else
			add_entry(sp, conn, id, json_int(msg, "next_try", 0));
		cJSON_Delete(msg);
	}
	strv_free(names);
	return 0;
}

int spool_new(store *st, spool **ret)
{
	spool *sp = xcalloc(1, sizeof(*sp));
	char **names = NULL;
	sp->st = st;
	sp->index = strmap_new();

	int r = store_list(st, "spool", &names);
	if (r < 0 && r != -ENOENT) {
		spool_free(sp);
		return log_error_errno(r, "spool: listing the spool failed: %m");
	}
	for (char **p = names; p && *p; p++) {
		if (!name_is_safe(*p))
			continue;
		sp->n_sent += count_box(sp, *p, "cur");
		sp->n_failed += count_box(sp, *p, "failed");
		r = scan_new(sp, *p);
		if (r < 0) {
			strv_free(names);
			spool_free(sp);
			return r;
		}
	}
	strv_free(names);
	log_debug("spool: %zu queued, %zu sent, %zu failed", sp->n_entries, sp->n_sent,
	          sp->n_failed);
	*ret = sp;
	return 0;
}

spool *spool_free(spool *sp)
{
	if (!sp)
		return NULL;
	for (size_t i = 0; i < sp->n_entries; i++)
		entry_free(sp->entries[i]);
	free(sp->entries);
	strmap_free(sp->index);
	free(sp->known.slot);
	for (size_t i = 0; i < sp->n_att; i++)
		free(sp->att[i].name);
	free(sp->att);
	strv_free(sp->bad);
	free(sp);
	return NULL;
}

void spool_freep(spool **sp)
{
	*sp = spool_free(*sp);
}

void spool_set_sent_hook(spool *sp, spool_sent_fn fn, void *userdata)
{
	sp->sent_hook = fn;
	sp->sent_userdata = userdata;
}

int spool_attach(spool *sp, const channel_ops *ops, channel *c)
{
	if (!ops || !ops->name || !ops->send || !name_is_safe(ops->name))
		return -EINVAL;
	attachment *a = find_attachment(sp, ops->name);
	if (!a) {
		sp->att = xrealloc(sp->att, (sp->n_att + 1) * sizeof(*sp->att));
		a = &sp->att[sp->n_att++];
		a->name = xstrdup(ops->name);
	}
	a->ops = ops;
	a->c = c;
	return scan_new(sp, ops->name);
}

void spool_detach(spool *sp, const char *connector_name)
{
	attachment *a = find_attachment(sp, connector_name);
	if (!a)
		return;
	for (size_t i = 0; i < sp->n_entries; i++) {
		entry *e = sp->entries[i];
		if (e->pending && STREQ(e->connector, connector_name)) {
			e->pending->sp = NULL;
			e->pending = NULL;
		}
	}
	free(a->name);
	*a = sp->att[--sp->n_att];
}

static char *make_id(void)
{
	uint64_t rnd;
	/* getrandom() only fails before the pool is seeded or with a bad buffer; a little
	 * entropy from the clock and address keeps ids distinct then. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)clock_now() * 6364136223846793005ULL ^ (uintptr_t)&rnd;
	return xasprintf("%" PRId64 "-%016" PRIx64, clock_now(), rnd);
}

static int id_known(spool *sp, const char *conn, const char *id)
{
	static const char *const boxes[] = {"new", "cur", "failed"};
	if (find_entry(sp, conn, id))
		return 1;
	/* Not in the set: no file of that name was there at the start or has been written
	 * since (only this spool writes spool/). A hit may be another id's hash: look. */
	if (!sp->known_partial && !idset_has(&sp->known, id_hash(conn, id)))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(boxes); i++) {
		_cleanup_free_ char *path = path_of(conn, boxes[i], id);
		int r = store_exists(sp->st, path);
		if (r != 0 && r != -ENOENT)
			return r > 0 ? 1 : r;
	}
	return 0;
}

int spool_enqueue(spool *sp, const char *connector_name, const cJSON *msg, char **ret_id)
{
	if (!connector_name || !name_is_safe(connector_name) || !cJSON_IsObject(msg))
		return -EINVAL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "v");
	int64_t version;
	if (v && (json_number_to_int64(v, &version) < 0 || (version != 1 && version != 2)))
		return -EINVAL;

	_cleanup_free_ char *id = NULL;
	const cJSON *given = cJSON_GetObjectItemCaseSensitive(msg, "id");
	int r;
	if (given) {
		if (!cJSON_IsString(given) || !name_is_safe(given->valuestring) ||
		    strlen(given->valuestring) > SPOOL_ID_MAX)
			return -EINVAL;
		id = xstrdup(given->valuestring);
		r = id_known(sp, connector_name, id);
		if (r < 0)
			return r;
		if (r > 0) {
			if (ret_id)
				*ret_id = TAKE_PTR(id);
			return SPOOL_DUPLICATE;
		}
	} else {
		for (;;) {
			id = make_id();
			r = id_known(sp, connector_name, id);
			if (r < 0)
				return r;
			if (r == 0)
				break;
			free(TAKE_PTR(id));
		}
	}

	cJSON *copy = cJSON_Duplicate(msg, true);
	if (!copy)
		return -ENOMEM;
	int64_t now = clock_now();
	if (!v)
		cJSON_AddNumberToObject(copy, "v", 1);
	json_set_string(copy, "id", id);
	json_set_number(copy, "tries", 0);
	json_set_number(copy, "next_try", (double)now);
	json_set_number(copy, "queued", (double)now);
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "first_try");
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "final");
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "error");

	_cleanup_free_ char *path = path_of(connector_name, "new", id);
	_cleanup_free_ char *text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	size_t len = text ? strlen(text) : 0;
	if (!text)
		r = -ENOMEM;
	else if (sp->batch)
		r = store_replace_stage(sp->st, path, text, len);
	else
		r = store_replace(sp->st, path, text, len);
	if (r < 0)
		return log_error_errno(r, "spool: queueing %s/%s failed: %m", connector_name, id);

	idset_add(&sp->known, id_hash(connector_name, id));
	entry *e = add_entry(sp, connector_name, id, now);
	e->staged = sp->batch;
	if (sp->kept + len <= SPOOL_KEEP_MAX) {
		/* What the file holds: the send takes it from here instead of reading it. */
		e->text = TAKE_PTR(text);
		e->text_len = len;
		sp->kept += len;
	}
	log_debug("spool: queued %s/%s", connector_name, id);
	if (ret_id)
		*ret_id = TAKE_PTR(id);
	return SPOOL_QUEUED;
}

void spool_batch_begin(spool *sp)
{
	sp->batch = true;
}

bool spool_in_batch(const spool *sp)
{
	return sp->batch;
}

int spool_batch_end(spool *sp)
{
	if (!sp->batch)
		return 0;
	sp->batch = false;
	int r = store_replace_flush(sp->st);
	size_t n = 0;
	for (size_t i = 0; i < sp->n_entries;) {
		entry *e = sp->entries[i];
		if (!e->staged) {
			i++;
			continue;
		}
		n++;
		if (r < 0) {
			remove_entry(sp, e); /* shifts the rest down */
			continue;
		}
		e->staged = false;
		i++;
	}
	if (r < 0)
		return log_error_errno(r, "spool: queueing a batch of %zu messages failed: %m", n);
	return (int)n;
}

static bool is_due(spool *sp, const entry *e, int64_t now)
{
	return !e->pending && !e->staged && e->next_try <= now && find_attachment(sp, e->connector);
}

/* Sends one message. Returns 1 if a send was started, 0 if not, -errno on a store error. */
static int send_one(spool *sp, entry *e)
{
	attachment *a = find_attachment(sp, e->connector);
	_cleanup_free_ char *path = path_of(e->connector, "new", e->id);
	cJSON *msg = NULL;

	if (e->delivered)
		return deliver_done(sp, e, NULL, NULL);

	int r;
	if (e->text) {
		r = parse_msg(e->text, e->text_len, &msg);
		drop_text(sp, e); /* retries and later runs read the file, which holds the same */
	} else
		r = read_msg(sp, path, &msg);
	if (r == -ENOENT) {
		/* Someone moved it away behind our back: nothing left to send. */
		log_warning("spool: %s vanished from the queue", path);
		remove_entry(sp, e);
		return 0;
	}
	if (r < 0) {
		_cleanup_free_ char *to = path_of(e->connector, "failed", e->id);
		log_error_errno(r, "spool: %s is unreadable, moving it to failed/: %m", path);
		r = store_rename(sp->st, path, to);
		if (r < 0) {
			e->next_try = INT64_MAX;
			return r;
		}
		sp->n_failed++;
		remove_entry(sp, e);
		return 0;
	}

	send_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->sp = sp;
	ctx->connector = xstrdup(e->connector);
	ctx->id = xstrdup(e->id);
	ctx->msg = msg;
	ctx->started = clock_now();
	ctx->in_send = true;
	e->pending = ctx;

	r = channel_msg_from_json(msg, &ctx->cm);
	if (r < 0) {
		/* Written by an older or broken cocod: it will not read better later. */
		e->pending = NULL;
		(void)handle_outcome(sp, e, msg, ctx->started, SEND_FAIL,
		                     r == -EPROTO ? "message of an unknown version"
		                                  : "message without a recipient, kind or words",
		                     NULL);
		send_ctx_free(ctx);
		return 1;
	}
	/* The callback may run inside send() (synchronous channels) and free e. */
	r = a->ops->send(a->c, ctx->cm, on_send_done, ctx);
	ctx->in_send = false;
	if (!ctx->completed && r < 0) {
		/* Refused before it started: a temporary failure like any other. */
		e = find_entry(sp, ctx->connector, ctx->id);
		if (e && e->pending == ctx) {
			e->pending = NULL;
			(void)handle_outcome(sp, e, msg, ctx->started, SEND_RETRY, strerror(-r), NULL);
		}
		ctx->completed = true;
	}
	if (ctx->completed)
		send_ctx_free(ctx);
	return 1;
}

/* The channels that stage sends get send_begin() before their first message of a run and
 * send_end() after the last: one sync for the batch (channel.h). */
static void run_begin(spool *sp, const char *conn, bool *begun)
{
	for (size_t i = 0; i < sp->n_att; i++)
		if (!begun[i] && STREQ(sp->att[i].name, conn)) {
			begun[i] = true;
			if (sp->att[i].ops->send_begin && sp->att[i].ops->send_end)
				sp->att[i].ops->send_begin(sp->att[i].c);
		}
}

static void run_end(spool *sp, bool *begun, size_t n_begun)
{
	/* Attachments are not added or removed from inside a send. */
	for (size_t i = 0; i < n_begun && i < sp->n_att; i++)
		if (begun[i] && sp->att[i].ops->send_begin && sp->att[i].ops->send_end)
			sp->att[i].ops->send_end(sp->att[i].c);
}

void spool_set_limit(spool *sp, size_t n)
{
	sp->limit = n;
}

void spool_sync_later(spool *sp)
{
	sp->sync_later = true;
}

int spool_sync(spool *sp)
{
	int r = store_sync_renames(sp->st);
	if (r < 0)
		log_error_errno(r, "spool: recording sends failed (a crash now would send them "
		                "again): %m");
	return r;
}

static size_t in_flight(const spool *sp)
{
	size_t n = 0;
	for (size_t i = 0; i < sp->n_entries; i++)
		if (sp->entries[i]->pending)
			n++;
	return n;
}

int spool_run(spool *sp)
{
	int64_t now = clock_now();
	int started = 0, err = 0;

	if (sp->in_run)
		return 0; /* called again from a send callback: the outer run has it */
	/* How many may start: the limit less what is in flight. */
	size_t room = SIZE_MAX;
	if (sp->limit) {
		size_t busy = in_flight(sp);
		room = busy < sp->limit ? sp->limit - busy : 0;
	}
	/* Snapshot what is due: callbacks firing inside send() change the index. */
	size_t n = 0;
	char **conns = xcalloc(sp->n_entries + 1, sizeof(char *));
	char **ids = xcalloc(sp->n_entries + 1, sizeof(char *));
	for (size_t i = 0; i < sp->n_entries && n < room; i++)
		if (is_due(sp, sp->entries[i], now)) {
			conns[n] = xstrdup(sp->entries[i]->connector);
			ids[n++] = xstrdup(sp->entries[i]->id);
		}

	size_t n_begun = sp->n_att;
	bool *begun = xcalloc(n_begun + 1, sizeof(bool));
	sp->in_run = true;
	for (size_t i = 0; i < n; i++) {
		entry *e = find_entry(sp, conns[i], ids[i]);
		if (!e || !is_due(sp, e, now))
			continue;
		run_begin(sp, conns[i], begun);
		int r = send_one(sp, e);
		if (r < 0 && err == 0)
			err = r;
		if (r > 0)
			started++;
	}
	run_end(sp, begun, n_begun);
	sp->in_run = false;
	free(begun);
	strv_free(conns);
	strv_free(ids);

	/* The run's stubs and moves into cur/, durable together. */
	if (sp->n_stubs > 0) {
		sp->n_stubs = 0;
		int r = store_replace_flush(sp->st);
		if (r < 0)
			log_warning_errno(r, "spool: cannot drop the content of private messages after "
			                  "sending them: %m");
	}
	int r = store_sync_renames(sp->st);
	if (r < 0) {
		log_error_errno(r, "spool: recording a run of sends failed (a crash now would send "
		                "them again): %m");
		if (err == 0)
			err = r;
	}
	return err < 0 ? err : started;
}

/* ---- forget ---- */

static cJSON *tombstone(const cJSON *msg)
{
	static const char *const keep[] = {"id", "kind", "campaign"};
	cJSON *t = cJSON_CreateObject();
	cJSON_AddNumberToObject(t, "v", 1);
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		if (json_str(msg, keep[i]))
			cJSON_AddStringToObject(t, keep[i], json_str(msg, keep[i]));
	cJSON_AddTrueToObject(t, "erased");
	cJSON_AddNumberToObject(t, "erased_at", (double)clock_now());
	/* Never sent, whatever box it sits in: spool_new() moves a final one out of new/. */
	cJSON_AddTrueToObject(t, "final");
	return t;
}

static int forget_one(spool *sp, const char *conn, const char *box, const char *id,
                      spool_forget_fn fn, void *userdata, size_t *erased, size_t *rewritten)
{
	_cleanup_free_ char *path = path_of(conn, box, id);
	cJSON *msg = NULL;
	int r = read_msg(sp, path, &msg);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "spool: cannot read %s to erase from it: %m", path);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "erased"))) {
		cJSON_Delete(msg);
		return 0; /* a tombstone already */
	}
	spool_verdict v = fn(msg, userdata);
	if (v != SPOOL_KEEP && STREQ(box, "new")) {
		/* The file changes: a copy kept for the send must not be sent instead. */
		entry *e = find_entry(sp, conn, id);
		if (e)
			drop_text(sp, e);
	}
	if (v == SPOOL_REWRITE) {
		r = write_json(sp, path, msg);
		if (r >= 0)
			(*rewritten)++;
	} else if (v == SPOOL_ERASE) {
		cJSON *t = tombstone(msg);
		r = write_json(sp, path, t);
		cJSON_Delete(t);
		if (r >= 0 && STREQ(box, "new")) {
			_cleanup_free_ char *to = path_of(conn, "failed", id);
			entry *e = find_entry(sp, conn, id);
			if (e)
				remove_entry(sp, e); /* an answer to a pending send is ignored */
			r = store_rename(sp->st, path, to);
			if (r >= 0)
				sp->n_failed++;
		}
		if (r >= 0)
			(*erased)++;
	}
	cJSON_Delete(msg);
	if (r < 0)
		return log_error_errno(r, "spool: erasing from %s failed: %m", path);
	return 0;
}

int spool_forget(spool *sp, spool_forget_fn fn, void *userdata, size_t *ret_erased,
                 size_t *ret_rewritten)
{
	static const char *const boxes[] = {"new", "cur", "failed"};
	char **conns = NULL;
	size_t erased = 0, rewritten = 0;
	int err = 0;
	char id[80];

	int r = store_list(sp->st, "spool", &conns);
	if (r < 0 && r != -ENOENT)
		return r;
	for (char **c = conns; c && *c; c++) {
		if (!name_is_safe(*c))
			continue;
		for (size_t b = 0; b < ELEMENTSOF(boxes); b++) {
			_cleanup_free_ char *dir = xasprintf("spool/%s/%s", *c, boxes[b]);
			char **names = NULL;
			if (store_list(sp->st, dir, &names) < 0)
				continue;
			for (char **n = names; *n; n++) {
				if (!split_json_name(*n, id, sizeof(id)))
					continue;
				r = forget_one(sp, *c, boxes[b], id, fn, userdata, &erased, &rewritten);
				if (r < 0 && err == 0)
					err = r;
			}
			strv_free(names);
		}
	}
	strv_free(conns);
	if (ret_erased)
		*ret_erased = erased;
	if (ret_rewritten)
		*ret_rewritten = rewritten;
	return err;
}

int64_t spool_next_due(spool *sp)
{
	int64_t best = INT64_MAX;
	size_t busy = 0;
	for (size_t i = 0; i < sp->n_entries; i++) {
		const entry *e = sp->entries[i];
		if (e->pending)
			busy++;
		else if (e->next_try < best && find_attachment(sp, e->connector))
			best = e->next_try;
	}
	/* At the limit, the next run comes with an outcome, not with the clock. */
	return sp->limit && busy >= sp->limit ? INT64_MAX : best;
}

void spool_stats(const spool *sp, spool_counters *ret)
{
	spool_counters c = {.queued = sp->n_entries, .sent = sp->n_sent, .failed = sp->n_failed};
	for (size_t i = 0; i < sp->n_entries; i++)
		if (sp->entries[i]->pending)
			c.in_flight++;
	*ret = c;
}
