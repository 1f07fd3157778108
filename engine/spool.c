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

/* A batch file is closed and another started past this many bytes of messages. */
#define SPOOL_BATCH_FILE_MAX (4u * 1024 * 1024)
/* The journal is removed, once no batch file needs it, past this size (~800 sends). */
#define SPOOL_JOURNAL_COMPACT (64u * 1024)
/* A journal larger than this is not ours. */
#define SPOOL_JOURNAL_MAX (64u * 1024 * 1024)

typedef struct send_ctx {
	spool *sp; /* NULL once the spool (or the attachment) let go of this send */
	char *connector, *id;
	cJSON *msg;      /* the spool entry; alive until the channel answers */
	channel_msg *cm; /* what the channel got, typed */
	int64_t started; /* clock_now() when the send began: the first try, if it was one */
	bool in_send;    /* inside ops->send(): the caller frees us afterwards */
	bool completed;
} send_ctx;

/* A batch file: spool/<conn>/new/<name>.batch, one spool_batch_begin() .. _end()'s messages
 * for one connector (see spool_batch_end() and docs/store-format.md). It stays in new/
 * while any of its messages is queued, and is moved into cur/ when the last one is done. */
typedef struct sbatch {
	char *conn, *name;
	size_t open;  /* its messages still queued (entries pointing at it) */
	strbuf text;  /* while staged: the message lines */
	char **ids;   /* while staged: their ids, in order */
	size_t n_ids;
} sbatch;

/* Per connector: the journal of messages sent out of batch files still in new/. */
typedef struct jconn {
	char *name;
	strbuf pending;  /* lines not yet written (a run's, or a loop turn's) */
	size_t bytes;    /* the journal's size on disk, as far as we wrote it */
	bool scanned;    /* its batch files and journal were read (the first scan_new()) */
	bool stuck;      /* a finished batch file could not be moved: keep the journal */
	sbatch *staging; /* the batch being filled in the open spool batch */
} jconn;

typedef struct entry {
	char *connector, *id;
	sbatch *batch;     /* its line in that batch file is its truth; NULL: <id>.json */
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
	/* Ids in batch files (a second, independent hash): a hit in known that no <id>.json
	 * file explains is a batched message when it hits here too. */
	idset batched;
	sbatch **batches; /* batch files in new/ with messages still queued */
	size_t n_batches;
	jconn *jc;
	size_t n_jc;
	sbatch **staged; /* batch files being filled in the open spool batch */
	size_t n_staged;
	bool known_partial; /* a box could not be listed: the set may lack ids, ask the disk */
	size_t kept;     /* bytes of entries' text kept in memory (SPOOL_KEEP_MAX) */
};

/* FNV-1a of "conn/id", finished with a 64-bit mix so that linear probing spreads. */
static uint64_t id_hash_seeded(const char *conn, const char *id, uint64_t h)
{
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

static uint64_t id_hash(const char *conn, const char *id)
{
	return id_hash_seeded(conn, id, 0xcbf29ce484222325ULL);
}

/* Another hash of the same name, for the set of batched ids: a false hit needs both. */
static uint64_t id_hash2(const char *conn, const char *id)
{
	return id_hash_seeded(conn, id, 0x9e3779b97f4a7c15ULL) * 0xc4ceb9fe1a85ec53ULL | 1;
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

static void batch_leave(spool *sp, entry *e);

static void remove_entry(spool *sp, entry *e)
{
	drop_text(sp, e);
	if (e->batch)
		batch_leave(sp, e);
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

/* ---- batch files and the journal ---- */

static char *batch_path(const char *conn, const char *box, const char *name)
{
	return xasprintf("spool/%s/%s/%s.batch", conn, box, name);
}

static char *journal_path(const char *conn)
{
	return xasprintf("spool/%s/journal", conn);
}

static void sbatch_free(sbatch *b)
{
	if (!b)
		return;
	free(b->conn);
	free(b->name);
	strbuf_done(&b->text);
	for (size_t i = 0; i < b->n_ids; i++)
		free(b->ids[i]);
	free(b->ids);
	free(b);
}

/* The connector's journal state; the pointer is good until the next jconn_get(). */
static jconn *jconn_get(spool *sp, const char *conn)
{
	for (size_t i = 0; i < sp->n_jc; i++)
		if (STREQ(sp->jc[i].name, conn))
			return &sp->jc[i];
	sp->jc = xrealloc(sp->jc, (sp->n_jc + 1) * sizeof(*sp->jc));
	jconn *j = &sp->jc[sp->n_jc++];
	*j = (jconn){.name = xstrdup(conn)};
	return j;
}

/* A batch file read back: the header line {"v":1,"batch":NAME,"ids":[…]} and one message a
 * line, in the order of ids (docs/store-format.md). */
typedef struct batch_file {
	char *data;    /* the file, its newlines turned into NULs */
	cJSON *header;
	const char **ids; /* into header */
	char **lines;  /* into data */
	size_t *lens;
	cJSON **msgs;  /* parsed lines (not with header_only) */
	size_t n;
} batch_file;

static void batch_file_done(batch_file *bf)
{
	for (size_t i = 0; bf->msgs && i < bf->n; i++)
		cJSON_Delete(bf->msgs[i]);
	free(bf->msgs);
	free(bf->lines);
	free(bf->lens);
	free(bf->ids);
	cJSON_Delete(bf->header);
	free(bf->data);
	*bf = (batch_file){0};
}

/* Splits and checks a batch file's text (taken over). -EBADMSG unless the header is
 * version 1, names the file (`name`), lists safe ids, and is followed by exactly one
 * message line per id, each a valid spool message with that id; with header_only the
 * lines are counted and split but not parsed. */
static int batch_parse(char *data, size_t len, const char *name, bool header_only,
                       batch_file *ret)
{
	batch_file bf = {.data = data};
	int r = -EBADMSG;
	if (len == 0 || data[len - 1] != '\n' || memchr(data, 0, len))
		goto fail;
	char *nl = memchr(data, '\n', len);
	*nl = 0;
	bf.header = cJSON_ParseWithLength(data, (size_t)(nl - data));
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(bf.header, "ids");
	const char *bname = json_str(bf.header, "batch");
	if (!cJSON_IsObject(bf.header) || json_int(bf.header, "v", -1) != 1 || !bname ||
	    (name && !STREQ(bname, name)) || !cJSON_IsArray(ids))
		goto fail;
	size_t n = (size_t)cJSON_GetArraySize(ids);
	if (n == 0)
		goto fail;
	bf.ids = xcalloc(n, sizeof(*bf.ids));
	bf.lines = xcalloc(n, sizeof(*bf.lines));
	bf.lens = xcalloc(n, sizeof(*bf.lens));
	const cJSON *it;
	cJSON_ArrayForEach(it, ids) {
		if (!cJSON_IsString(it) || !name_is_safe(it->valuestring) ||
		    strlen(it->valuestring) > SPOOL_ID_MAX)
			goto fail;
		bf.ids[bf.n++] = it->valuestring;
	}
	char *p = nl + 1, *end = data + len;
	for (size_t i = 0; i < n; i++) {
		if (p >= end)
			goto fail;
		nl = memchr(p, '\n', (size_t)(end - p));
		*nl = 0;
		bf.lines[i] = p;
		bf.lens[i] = (size_t)(nl - p);
		p = nl + 1;
	}
	if (p != end)
		goto fail;
	if (!header_only) {
		bf.msgs = xcalloc(n, sizeof(*bf.msgs));
		for (size_t i = 0; i < n; i++) {
			const char *id;
			if (parse_msg(bf.lines[i], bf.lens[i], &bf.msgs[i]) < 0 ||
			    !(id = json_str(bf.msgs[i], "id")) || !STREQ(id, bf.ids[i]))
				goto fail;
		}
	}
	*ret = bf;
	return 0;
fail:
	batch_file_done(&bf);
	return r;
}

static int batch_read(store *st, const char *relpath, const char *name, bool header_only,
                      batch_file *ret)
{
	char *data = NULL;
	size_t len = 0;
	int r = store_read(st, relpath, SPOOL_FILE_MAX, &data, &len);
	if (r < 0)
		return r;
	return batch_parse(data, len, name, header_only, ret);
}

/* "NAME.batch" with NAME a safe name: NAME into buf. */
static bool split_batch_name(const char *name, char *buf, size_t bufsz)
{
	size_t n = strlen(name), k = strlen(".batch");
	if (n <= k || n - k >= bufsz || !STREQ(name + n - k, ".batch"))
		return false;
	memcpy(buf, name, n - k);
	buf[n - k] = 0;
	return name_is_safe(buf);
}

/* Writes every journal line waiting (one append and one fdatasync per connector). A line
 * that could not be written waits for the next flush: until then a crash sends its message
 * again, the window every send has until it is recorded. */
static int journal_flush(spool *sp)
{
	int err = 0;
	for (size_t i = 0; i < sp->n_jc; i++) {
		jconn *jc = &sp->jc[i];
		if (jc->pending.len == 0)
			continue;
		_cleanup_free_ char *path = journal_path(jc->name);
		int r = store_append_sync(sp->st, path, jc->pending.s, jc->pending.len);
		if (r < 0) {
			log_error_errno(r, "spool: recording sends in %s failed (a crash now would "
			                "send them again): %m", path);
			if (err == 0)
				err = r;
			continue;
		}
		jc->bytes += jc->pending.len;
		strbuf_done(&jc->pending);
	}
	return err;
}

/* Once the journal has grown and no batch file of the connector is in new/ any more (and
 * the moves into cur/ are durable: call after store_sync_renames()), none of its lines is
 * needed: the file is removed, and the next send from a batch starts a new one. */
static void journal_compact(spool *sp)
{
	for (size_t i = 0; i < sp->n_jc; i++) {
		jconn *jc = &sp->jc[i];
		if (jc->bytes < SPOOL_JOURNAL_COMPACT || jc->pending.len || jc->stuck)
			continue;
		bool open = false;
		for (size_t k = 0; k < sp->n_batches && !open; k++)
			open = STREQ(sp->batches[k]->conn, jc->name);
		if (open)
			continue;
		_cleanup_free_ char *path = journal_path(jc->name);
		int r = store_remove(sp->st, path);
		if (r >= 0 || r == -ENOENT)
			jc->bytes = 0;
	}
}

/* The message e is done with its batch file (sent and journaled, in a file of its own, or
 * failed): when it was the file's last queued message, the file moves into cur/. */
static void batch_leave(spool *sp, entry *e)
{
	sbatch *b = e->batch;
	e->batch = NULL;
	if (!b || --b->open > 0)
		return;
	for (size_t i = 0; i < sp->n_batches; i++)
		if (sp->batches[i] == b) {
			sp->batches[i] = sp->batches[--sp->n_batches];
			break;
		}
	_cleanup_free_ char *from = batch_path(b->conn, "new", b->name);
	_cleanup_free_ char *to = batch_path(b->conn, "cur", b->name);
	int r = sp->in_run || sp->sync_later ? store_rename_deferred(sp->st, from, to)
	                                     : store_rename(sp->st, from, to);
	if (r < 0) {
		/* Its journal lines must stay: the next start finds it done and moves it. */
		jconn_get(sp, b->conn)->stuck = true;
		log_warning_errno(r, "spool: cannot move %s into cur/ (done at the next start): %m",
		                  from);
	}
	sbatch_free(b);
}

/* A sent message of a batch file: its journal line, written at the end of the run (or
 * of the loop turn, spool_sync()) or now outside them. */
static void journal_sent(spool *sp, const entry *e)
{
	jconn *jc = jconn_get(sp, e->connector);
	strbuf_printf(&jc->pending, "{\"v\":1,\"batch\":\"%s\",\"id\":\"%s\",\"sent\":%" PRId64 "}\n",
	              e->batch->name, e->id, clock_now());
	if (!sp->in_run && !sp->sync_later)
		(void)journal_flush(sp);
}

/* Reads e's batch file to send from it: e gets its line, and so do the file's other queued
 * messages that have none, as far as the memory budget allows (they are sent next). */
static int batch_load_texts(spool *sp, entry *e)
{
	_cleanup_free_ char *path = batch_path(e->connector, "new", e->batch->name);
	batch_file bf;
	int r = batch_read(sp->st, path, e->batch->name, true, &bf);
	if (r < 0)
		return r;
	for (size_t i = 0; i < bf.n; i++) {
		entry *x = find_entry(sp, e->connector, bf.ids[i]);
		if (!x || x->batch != e->batch || x->text ||
		    (x != e && sp->kept + bf.lens[i] > SPOOL_KEEP_MAX))
			continue;
		x->text = xstrndup(bf.lines[i], bf.lens[i]);
		x->text_len = bf.lens[i];
		sp->kept += bf.lens[i];
	}
	batch_file_done(&bf);
	return 0;
}

/* Does <id>.json exist in new/, cur/ or failed/? (A file of its own wins over its line in a
 * batch file.) */
static bool own_file(spool *sp, const char *conn, const char *id)
{
	static const char *const boxes[] = {"new", "cur", "failed"};
	for (size_t i = 0; i < ELEMENTSOF(boxes); i++) {
		_cleanup_free_ char *path = path_of(conn, boxes[i], id);
		if (store_exists(sp->st, path) > 0)
			return true;
	}
	return false;
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
                          const char *error, bool batched)
{
	_cleanup_free_ char *from = path_of(conn, "new", id);
	_cleanup_free_ char *to = path_of(conn, "failed", id);
	json_set_string(msg, "error", error ? error : "unknown error");
	json_set_number(msg, "failed", (double)clock_now());
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "final");
	cJSON_AddTrueToObject(msg, "final");
	/* A message of a batch file gets a file of its own in failed/, which wins over its
	 * line (still unsent) at the next start. */
	if (batched)
		return write_json(sp, to, msg);
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
	 * that sends them again, which a staging channel makes harmless (channel.h). A
	 * message of a batch file is not moved: a journal line says it was sent, written with
	 * the run's others at its end. */
	int r = 0;
	if (e->batch)
		journal_sent(sp, e);
	else
		r = sp->in_run || sp->sync_later ? store_rename_deferred(sp->st, from, to)
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
			/* Now in a file of its own, which wins over its line in the batch file. */
			if (e->batch)
				batch_leave(sp, e);
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
	r = move_to_failed(sp, e->connector, e->id, msg, reason, e->batch != NULL);
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

/* The messages of files of their own in spool/<conn>/<box>, their ids made known; the
 * names of the batch files there go to *ret_batches when it is not NULL (one listing of
 * the box for both). */
static size_t count_box(spool *sp, const char *conn, const char *box, char ***ret_batches)
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
		} else if (ret_batches && split_batch_name(*p, id, sizeof(id)))
			strv_push(ret_batches, xstrdup(id));
	strv_free(names);
	return n;
}

/* The batch files `batches` of cur/ (every message done; count_box() listed them): their
 * ids are known; a message counts as sent unless a file of its own was counted (a retry
 * sent later, or failed: count_box() of cur/ and failed/ comes first). */
static size_t count_batches(spool *sp, const char *conn, const char *box, char **batches)
{
	size_t n = 0;
	for (char **p = batches; p && *p; p++) {
		const char *id = *p;
		_cleanup_free_ char *path = batch_path(conn, box, id);
		batch_file bf;
		int r = batch_read(sp->st, path, id, true, &bf);
		if (r < 0) {
			log_error_errno(r, "spool: %s is unreadable, its ids are not known: %m", path);
			sp->known_partial = true;
			continue;
		}
		for (size_t i = 0; i < bf.n; i++) {
			uint64_t h = id_hash(conn, bf.ids[i]);
			if (!idset_has(&sp->known, h))
				n++;
			idset_add(&sp->known, h);
			idset_add(&sp->batched, id_hash2(conn, bf.ids[i]));
		}
		batch_file_done(&bf);
	}
	return n;
}

/* Reports an unreadable file in new/ once (left in place: an operator can look at it). */
static void report_bad(spool *sp, const char *path, int r)
{
	for (char **b = sp->bad; b && *b; b++)
		if (STREQ(*b, path))
			return;
	log_error_errno(r, "spool: skipping %s (unreadable or unknown version): %m", path);
	strv_push(&sp->bad, xstrdup(path));
}

/* One line of a journal read back: "batch/id" when valid, else NULL. */
static char *journal_key(const char *line, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	const char *b = json_str(j, "batch"), *id = json_str(j, "id");
	char *key = NULL;
	if (cJSON_IsObject(j) && json_int(j, "v", -1) == 1 && b && id && name_is_safe(b) &&
	    name_is_safe(id))
		key = xasprintf("%s/%s", b, id);
	cJSON_Delete(j);
	return key;
}

/* At the first scan of a connector: its batch files in new/ (listed in names) against its
 * journal. A line the journal says sent, or marked final (erased by forget), is done; one
 * whose id has a file of its own (new/, cur/, failed/: a retry, a failure) is that file's;
 * the others are queued. A batch file with nothing queued moves into cur/. Then the
 * journal keeps only the lines of batch files still in new/ (rewritten if any went, or its
 * last line was torn by a crash: that send is then made again). A journal line that is
 * not a record, before its last line, stops the start: it is not a crash's doing. */
static int scan_batches(spool *sp, const char *conn, char **names)
{
	_cleanup_free_ char *jpath = journal_path(conn);
	_cleanup_free_ char *jdata = NULL;
	size_t jlen = 0;
	int r = store_read(sp->st, jpath, SPOOL_JOURNAL_MAX, &jdata, &jlen);
	if (r == -ENOENT)
		jlen = 0;
	else if (r < 0)
		return log_error_errno(r, "spool: reading %s failed: %m", jpath);

	strmap *sent = strmap_new();
	char **jkeys = NULL; /* each line's "batch/id", in order */
	char **jlines = NULL;
	bool rewrite = false;
	size_t nline = 0;
	for (char *p = jdata, *end = jdata ? jdata + jlen : NULL; p && p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			log_warning("spool: %s: cutting off a torn last line (a send recorded as a "
			            "crash came: that message may be sent again)", jpath);
			rewrite = true;
			break;
		}
		nline++;
		char *key = journal_key(p, (size_t)(nl - p));
		if (!key) {
			log_error("spool: %s: line %zu is not a record of a send, and not the last "
			          "line: the file was damaged, not torn by a crash. Look at it; moving "
			          "it aside sends the messages of spool/%s/new/*.batch again", jpath,
			          nline, conn);
			strmap_free(sent);
			strv_free(jkeys);
			strv_free(jlines);
			return -EBADMSG;
		}
		(void)strmap_put(sent, key, sent);
		strv_push(&jkeys, key);
		strv_push(&jlines, xstrndup(p, (size_t)(nl - p + 1)));
		p = nl + 1;
	}

	strmap *open = strmap_new(); /* names of batch files left in new/ */
	char bname[80];
	for (char **p = names; p && *p; p++) {
		if (!split_batch_name(*p, bname, sizeof bname))
			continue;
		_cleanup_free_ char *path = batch_path(conn, "new", bname);
		batch_file bf;
		r = batch_read(sp->st, path, bname, false, &bf);
		if (r < 0) {
			report_bad(sp, path, r);
			(void)strmap_put(open, bname, open); /* its journal lines stay */
			continue;
		}
		sbatch *b = xcalloc(1, sizeof(*b));
		b->conn = xstrdup(conn);
		b->name = xstrdup(bname);
		for (size_t i = 0; i < bf.n; i++) {
			const char *id = bf.ids[i];
			idset_add(&sp->known, id_hash(conn, id));
			idset_add(&sp->batched, id_hash2(conn, id));
			_cleanup_free_ char *key = xasprintf("%s/%s", bname, id);
			if (strmap_get(sent, key))
				sp->n_sent++;
			else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bf.msgs[i], "final")))
				sp->n_failed++;
			else if (!find_entry(sp, conn, id) && !own_file(sp, conn, id)) {
				entry *e = add_entry(sp, conn, id, json_int(bf.msgs[i], "next_try", 0));
				e->batch = b;
				b->open++;
				if (sp->kept + bf.lens[i] <= SPOOL_KEEP_MAX) {
					e->text = xstrndup(bf.lines[i], bf.lens[i]);
					e->text_len = bf.lens[i];
					sp->kept += bf.lens[i];
				}
			}
		}
		batch_file_done(&bf);
		if (b->open > 0) {
			(void)strmap_put(open, bname, open);
			sp->batches = xrealloc(sp->batches, (sp->n_batches + 1) * sizeof(*sp->batches));
			sp->batches[sp->n_batches++] = b;
			continue;
		}
		_cleanup_free_ char *to = batch_path(conn, "cur", bname);
		r = store_rename(sp->st, path, to);
		if (r < 0) {
			log_warning_errno(r, "spool: cannot move %s into cur/: %m", path);
			(void)strmap_put(open, bname, open);
		}
		sbatch_free(b);
	}

	/* The journal, without the lines of batch files gone from new/. */
	strbuf keep = {0};
	for (size_t i = 0; jkeys && jkeys[i]; i++) {
		char *slash = strchr(jkeys[i], '/');
		*slash = 0;
		if (strmap_get(open, jkeys[i]))
			strbuf_puts(&keep, jlines[i]);
		else
			rewrite = true;
	}
	r = 0;
	if (rewrite) {
		r = keep.len ? store_replace(sp->st, jpath, keep.s, keep.len)
		             : store_remove(sp->st, jpath);
		if (r == -ENOENT)
			r = 0;
		if (r < 0)
			log_error_errno(r, "spool: cannot write %s again: %m", jpath);
	}
	jconn_get(sp, conn)->bytes = rewrite && r >= 0 ? keep.len : jlen;
	strbuf_done(&keep);
	strv_free(jkeys);
	strv_free(jlines);
	strmap_free(sent);
	strmap_free(open);
	return r;
}

/* Indexes spool/<connector>/new/ entries not known yet. Files that are not ours (".tmp"
 * leftovers of an interrupted replace) are ignored; store_sweep_tmp() removes those at
 * the daemon's start. */
static int scan_new(spool *sp, const char *conn)
{
	_cleanup_free_ char *dir = xasprintf("spool/%s/new", conn);
	char **names = NULL;
	char id[80];
	/* The batch files are read at the first scan only: later ones (spool_attach()) would
	 * find the lines sent since as queued, their journal lines not all written yet. */
	jconn *jc = jconn_get(sp, conn);
	bool first = !jc->scanned;
	jc->scanned = true;
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
			report_bad(sp, path, r);
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
	/* The batch files, once: after the files of their own, which win over their lines. */
	r = first ? scan_batches(sp, conn, names) : 0;
	strv_free(names);
	return r;
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
		char **batches = NULL;
		sp->n_sent += count_box(sp, *p, "cur", &batches);
		sp->n_failed += count_box(sp, *p, "failed", NULL);
		sp->n_sent += count_batches(sp, *p, "cur", batches);
		strv_free(batches);
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
	free(sp->batched.slot);
	(void)journal_flush(sp); /* what the last sends recorded, as store_free() syncs moves */
	for (size_t i = 0; i < sp->n_batches; i++)
		sbatch_free(sp->batches[i]);
	free(sp->batches);
	for (size_t i = 0; i < sp->n_staged; i++)
		sbatch_free(sp->staged[i]);
	free(sp->staged);
	for (size_t i = 0; i < sp->n_jc; i++) {
		free(sp->jc[i].name);
		strbuf_done(&sp->jc[i].pending);
	}
	free(sp->jc);
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
	/* In no file of its own: a line of a batch file (read at the start or written since)
	 * if the second hash says so too. */
	return idset_has(&sp->batched, id_hash2(conn, id)) ? 1 : 0;
}

static sbatch *batch_add(spool *sp, const char *conn, const char *id, const char *text,
                         size_t len);

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
	/* A private message keeps a file of its own: once sent, that file is cut down to a
	 * stub, which a line in a batch file could not be. */
	bool own = !sp->batch || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(copy, "private"));
	cJSON_Delete(copy);
	size_t len = text ? strlen(text) : 0;
	sbatch *b = NULL;
	if (!text)
		r = -ENOMEM;
	else if (!own)
		b = batch_add(sp, connector_name, id, text, len);
	else if (sp->batch)
		r = store_replace_stage(sp->st, path, text, len);
	else
		r = store_replace(sp->st, path, text, len);
	if (r < 0)
		return log_error_errno(r, "spool: queueing %s/%s failed: %m", connector_name, id);

	idset_add(&sp->known, id_hash(connector_name, id));
	entry *e = add_entry(sp, connector_name, id, now);
	e->staged = sp->batch;
	e->batch = b;
	/* What the file holds: the send takes it from here instead of reading it. Not for a
	 * line of a batch file, whose text is in the batch's buffer until it is written:
	 * the send reads the batch file once for all its lines (batch_load_texts()). */
	if (!b && sp->kept + len <= SPOOL_KEEP_MAX) {
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

/* A message line for the open spool batch's file of connector conn (another file is
 * started past SPOOL_BATCH_FILE_MAX). */
static sbatch *batch_add(spool *sp, const char *conn, const char *id, const char *text,
                         size_t len)
{
	jconn *jc = jconn_get(sp, conn);
	jc->scanned = true; /* what is in new/ from now on is this spool's */
	sbatch *b = jc->staging;
	if (!b || b->text.len + len > SPOOL_BATCH_FILE_MAX) {
		b = xcalloc(1, sizeof(*b));
		b->conn = xstrdup(conn);
		_cleanup_free_ char *rnd = make_id();
		b->name = xasprintf("b-%s", rnd);
		jc->staging = b;
		sp->staged = xrealloc(sp->staged, (sp->n_staged + 1) * sizeof(*sp->staged));
		sp->staged[sp->n_staged++] = b;
	}
	strbuf_add(&b->text, text, len);
	strbuf_putc(&b->text, '\n');
	b->ids = xrealloc(b->ids, (b->n_ids + 1) * sizeof(*b->ids));
	b->ids[b->n_ids++] = xstrdup(id);
	b->open++;
	return b;
}

bool spool_in_batch(const spool *sp)
{
	return sp->batch;
}

/* Stages the batch files: header and lines, through store_replace_stage(). Returns how
 * many were staged (the first ones), the error in *ret_err. */
static size_t batch_stage_files(spool *sp, int *ret_err)
{
	size_t k = 0;
	*ret_err = 0;
	for (; k < sp->n_staged; k++) {
		sbatch *b = sp->staged[k];
		cJSON *h = cJSON_CreateObject();
		cJSON_AddNumberToObject(h, "v", 1);
		cJSON_AddStringToObject(h, "batch", b->name);
		cJSON *ids = cJSON_AddArrayToObject(h, "ids");
		for (size_t i = 0; i < b->n_ids; i++)
			cJSON_AddItemToArray(ids, cJSON_CreateString(b->ids[i]));
		_cleanup_free_ char *head = cJSON_PrintUnformatted(h);
		cJSON_Delete(h);
		if (!head) {
			*ret_err = -ENOMEM;
			break;
		}
		strbuf file = {0};
		strbuf_puts(&file, head);
		strbuf_putc(&file, '\n');
		strbuf_add(&file, b->text.s, b->text.len);
		strbuf_done(&b->text); /* one copy at a time */
		_cleanup_free_ char *path = batch_path(b->conn, "new", b->name);
		int r = store_replace_stage(sp->st, path, file.s, file.len);
		strbuf_done(&file);
		if (r < 0) {
			*ret_err = r;
			break;
		}
	}
	return k;
}

int spool_batch_end(spool *sp)
{
	if (!sp->batch)
		return 0;
	sp->batch = false;
	for (size_t i = 0; i < sp->n_jc; i++)
		sp->jc[i].staging = NULL;
	int err;
	size_t n_files = batch_stage_files(sp, &err);
	/* Whatever was staged is flushed (a failed flush removes what it did not rename). */
	int r = store_replace_flush(sp->st);
	if (err == 0)
		err = r;
	/* A batch file is queued if it was staged and is there now: after a failed flush
	 * some may have been renamed into place, and their messages are on disk. */
	for (size_t k = 0; k < sp->n_staged; k++) {
		sbatch *b = sp->staged[k];
		_cleanup_free_ char *path = batch_path(b->conn, "new", b->name);
		bool live = k < n_files && (r >= 0 || store_exists(sp->st, path) > 0);
		if (live) {
			for (size_t i = 0; i < b->n_ids; i++)
				idset_add(&sp->batched, id_hash2(b->conn, b->ids[i]));
			strbuf_done(&b->text);
			sp->batches = xrealloc(sp->batches, (sp->n_batches + 1) * sizeof(*sp->batches));
			sp->batches[sp->n_batches++] = b;
		} else {
			b->open = 0; /* never on disk: its entries go below, nothing to move */
			b->name[0] = 0;
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < sp->n_entries;) {
		entry *e = sp->entries[i];
		if (!e->staged) {
			i++;
			continue;
		}
		n++;
		bool dead = e->batch ? e->batch->name[0] == 0 : r < 0;
		if (dead) {
			e->batch = NULL;
			remove_entry(sp, e); /* shifts the rest down */
			continue;
		}
		e->staged = false;
		i++;
	}
	for (size_t k = 0; k < sp->n_staged; k++)
		if (sp->staged[k]->name[0] == 0)
			sbatch_free(sp->staged[k]);
	free(sp->staged);
	sp->staged = NULL;
	sp->n_staged = 0;
	if (err < 0)
		return log_error_errno(err, "spool: queueing a batch of %zu messages failed: %m", n);
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

	int r = 0;
	if (e->batch && !e->text) {
		r = batch_load_texts(sp, e);
		if (r < 0 && r != -ENOENT) {
			e->next_try = INT64_MAX; /* not before a restart */
			return log_error_errno(r, "spool: cannot read the batch file of %s/%s: %m",
			                       e->connector, e->id);
		}
		if (!e->text)
			r = -ENOENT;
	}
	if (e->text) {
		r = parse_msg(e->text, e->text_len, &msg);
		drop_text(sp, e); /* retries and later runs read the file, which holds the same */
		if (r < 0 && e->batch) {
			e->next_try = INT64_MAX;
			return log_error_errno(r, "spool: %s/%s is unreadable: %m", e->connector, e->id);
		}
	} else if (!e->batch)
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
	int j = journal_flush(sp); /* logs its errors */
	int r = store_sync_renames(sp->st);
	if (r < 0)
		log_error_errno(r, "spool: recording sends failed (a crash now would send them "
		                "again): %m");
	else if (j >= 0)
		journal_compact(sp);
	return r < 0 ? r : j;
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
	/* The journal first: a batch file moved into cur/ in the run is done either way. */
	int j = journal_flush(sp);
	if (j < 0 && err == 0)
		err = j;
	int r = store_sync_renames(sp->st);
	if (r < 0) {
		log_error_errno(r, "spool: recording a run of sends failed (a crash now would send "
		                "them again): %m");
		if (err == 0)
			err = r;
	} else if (j >= 0)
		journal_compact(sp);
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

/* forget_one() for the messages of a batch file: every line fn changes is written back
 * changed (a tombstone for an erased one, marked final: never sent), the whole file
 * replaced at once, so nothing forgotten stays on disk. A queued message erased leaves
 * the queue (counted failed, as its tombstone would be in failed/). A line whose message
 * also has a file of its own (a retry, a failure) is scrubbed, but counted with that file. */
static int forget_batch(spool *sp, const char *conn, const char *box, const char *bname,
                        spool_forget_fn fn, void *userdata, size_t *erased, size_t *rewritten)
{
	_cleanup_free_ char *path = batch_path(conn, box, bname);
	batch_file bf;
	int r = batch_read(sp->st, path, bname, false, &bf);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "spool: cannot read %s to erase from it: %m", path);
	strbuf out = {0};
	strbuf_puts(&out, bf.data); /* the header line (its newline is a NUL now) */
	strbuf_putc(&out, '\n');
	char **gone = NULL; /* queued messages erased */
	size_t n_erased = 0, n_rewritten = 0;
	bool changed = false;
	for (size_t i = 0; i < bf.n; i++) {
		cJSON *msg = bf.msgs[i];
		spool_verdict v = SPOOL_KEEP;
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "erased")))
			v = fn(msg, userdata);
		if (v == SPOOL_KEEP) {
			strbuf_add(&out, bf.lines[i], bf.lens[i]);
			strbuf_putc(&out, '\n');
			continue;
		}
		changed = true;
		entry *e = find_entry(sp, conn, bf.ids[i]);
		bool mine = e && e->batch && STREQ(box, "new") && STREQ(e->batch->name, bname);
		if (mine)
			drop_text(sp, e); /* the line changes: a kept copy must not be sent instead */
		bool counted = mine || !own_file(sp, conn, bf.ids[i]);
		cJSON *t = v == SPOOL_ERASE ? tombstone(msg) : NULL;
		_cleanup_free_ char *text = cJSON_PrintUnformatted(t ? t : msg);
		cJSON_Delete(t);
		if (!text) {
			r = -ENOMEM;
			break;
		}
		strbuf_puts(&out, text);
		strbuf_putc(&out, '\n');
		if (v == SPOOL_ERASE && mine)
			strv_push(&gone, xstrdup(bf.ids[i]));
		if (counted)
			*(v == SPOOL_ERASE ? &n_erased : &n_rewritten) += 1;
	}
	if (r >= 0 && changed)
		r = store_replace(sp->st, path, out.s, out.len);
	strbuf_done(&out);
	batch_file_done(&bf);
	if (r >= 0) {
		*erased += n_erased;
		*rewritten += n_rewritten;
		for (char **g = gone; g && *g; g++) {
			entry *e = find_entry(sp, conn, *g);
			if (e) {
				remove_entry(sp, e); /* an answer to a pending send is ignored */
				sp->n_failed++;
			}
		}
	}
	strv_free(gone);
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

	/* Every send recorded and every move durable first: a batch file is in one place. */
	(void)spool_sync(sp);
	char **done_batches = NULL; /* a batch file moved into cur/ on the way is seen once */
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
				if (split_batch_name(*n, id, sizeof(id))) {
					_cleanup_free_ char *key = xasprintf("%s/%s", *c, id);
					bool seen = false;
					for (char **d = done_batches; d && *d && !seen; d++)
						seen = STREQ(*d, key);
					if (seen)
						continue;
					strv_push(&done_batches, TAKE_PTR(key));
					r = forget_batch(sp, *c, boxes[b], id, fn, userdata, &erased,
					                 &rewritten);
					if (r < 0 && err == 0)
						err = r;
					continue;
				}
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
	strv_free(done_batches);
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

int spool_each(store *st, const char *connector, const char *box, spool_each_fn fn,
               void *userdata)
{
	if (!name_is_safe(connector) || !name_is_safe(box))
		return -EINVAL;
	_cleanup_free_ char *dir = xasprintf("spool/%s/%s", connector, box);
	char **names = NULL;
	char name[80];
	int r = store_list(st, dir, &names);
	if (r < 0)
		return r;
	int n = 0;
	for (char **p = names; *p && r >= 0; p++) {
		if (split_json_name(*p, name, sizeof(name))) {
			_cleanup_free_ char *path = path_of(connector, box, name);
			_cleanup_free_ char *text = NULL;
			size_t len;
			cJSON *msg = NULL;
			r = store_read(st, path, SPOOL_FILE_MAX, &text, &len);
			if (r >= 0)
				r = parse_msg(text, len, &msg);
			if (r >= 0) {
				r = fn(name, msg, userdata);
				n++;
			}
			cJSON_Delete(msg);
		} else if (split_batch_name(*p, name, sizeof(name))) {
			_cleanup_free_ char *path = batch_path(connector, box, name);
			batch_file bf = {0};
			r = batch_read(st, path, name, false, &bf);
			for (size_t i = 0; r >= 0 && i < bf.n; i++, n++)
				r = fn(bf.ids[i], bf.msgs[i], userdata);
			batch_file_done(&bf);
		}
	}
	strv_free(names);
	return r < 0 ? r : n;
}
