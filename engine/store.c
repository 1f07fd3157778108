/* store: see store.h. This file and store-sweep.c (crash leftovers) are the only code that
 * writes under the state directory.
 *
 * Why it is built this way:
 * - Every open is relative to the root directory fd. Directories are reached with openat2()
 *   and RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS when the kernel has it (>= 5.6), otherwise with one
 *   openat(O_NOFOLLOW) per component; the last component is always opened O_NOFOLLOW. A
 *   symlink planted inside the store therefore fails with ELOOP instead of being followed,
 *   even though store_path_is_valid() already refuses "..", "/" and hidden names.
 * - Idempotency keys have no file of their own. The key index is built lazily (first keyed
 *   append or store_has_key()) by reading the leading {"key":"…" of every complete line of
 *   every *.jsonl file. The data files are the single source of truth: a separate key file
 *   could disagree with them after a crash (key durable but record lost, or the reverse),
 *   and then a replay would either drop an answer or store it twice. The price is one scan
 *   of the store at the first keyed operation; the index itself is a hash set of strings.
 *   This is why a keyed record must carry its key as the first member, and why keyed
 *   appends must go to *.jsonl files.
 * - A torn last line (a crash in the middle of a write) was never acknowledged, since
 *   acknowledgement waits for fdatasync. So scans skip it, and the first open for append
 *   cuts it off, so that the next record starts on a fresh line.
 * - When a commit fails, the bytes it wrote are truncated away and the key index is thrown
 *   away: it is rebuilt from the files on next use rather than guessed.
 * - The crash hook counts durable steps: each fsync()/fdatasync() of a file or directory
 *   and each rename(). Stopping right after each of them covers every state a real crash
 *   can leave, since nothing is promised between them.
 */
#define _GNU_SOURCE
#include "store.h"
#include "syncer.h"
#include "util.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define STORE_KEY_MAX 200
#define STORE_PATH_MAX 1024
#define FD_CACHE_MAX 64
#define WALK_DEPTH_MAX 16
#define CRASH_EXIT_STATUS 99

static const char key_prefix[] = "{\"key\":\"";
#define KEY_PREFIX_LEN (sizeof key_prefix - 1)

typedef struct pending {
	char *relpath;
	char *line;	/* key inserted, '\n' appended; NULL when the key is a duplicate */
	char *key;	/* NULL for unkeyed appends and duplicates */
	ssize_t dup_of; /* index in the same batch of the append that recorded the key, or -1;
			 * with flight_dup, its index in the started commit */
	bool flight_dup; /* the key is in the started commit: line kept until it is known */
	store_commit_fn cb;
	void *userdata;
} pending;

/* A commit's writes, from the write to the callbacks: one at a time (store_commit_start()),
 * or made and finished at once (store_commit()). */
typedef struct batch_file {
	const char *relpath;
	strbuf data;
	int fd;	    /* the file (a dup of the cached fd in a started commit), -1 if it failed */
	off_t size; /* before the write: a failed sync cuts the file back to it */
	int result;
} batch_file;

typedef struct flight {
	pending *q;
	size_t n;
	batch_file *files;
	size_t n_files;
	size_t *file_of;
	bool own_fds; /* the fds are dups, closed by flight_free() */
	store_synced_fn synced;
	void *userdata;
} flight;

static void flight_free(flight *f);

typedef struct cached_fd {
	char *relpath;
	int fd;
	uint64_t last_use;
} cached_fd;

/* Open addressing, linear probing; no removal needed (the index is rebuilt instead). Each
 * slot keeps its key's hash: a probe compares the hashes and reads a key only when they are
 * equal (a new key, every answer, probed past several others, each a string elsewhere), and
 * growing rehashes nothing. */
typedef struct keyslot {
	uint64_t hash;
	char *key; /* NULL: empty */
} keyslot;

typedef struct keyset {
	keyslot *slots;
	size_t cap, n;
} keyset;

struct store {
	char *root;
	int root_fd;
	bool no_openat2;
#ifdef COCO_TEST_HOOKS
	unsigned long crash_after, durable_steps;
#endif
	keyset keys;
	bool keys_loaded;
	pending *queue;
	size_t n_queue, cap_queue;
	char **staged; /* store_replace_stage(): relpaths whose .tmp is written, not flushed */
	size_t n_staged, cap_staged;
	/* store_rename_deferred(): directories whose entries changed, not yet fsync'd */
	char **dirty_to, **dirty_from;
	cached_fd fds[FD_CACHE_MAX];
	size_t n_fds;
	uint64_t fd_clock;
	syncer *syncer; /* store_attach_event(): commits synced on a thread */
	flight *flight; /* the started commit, until store_commit_finish() */
};

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void strv_freep(char ***v)
{
	strv_free(*v);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* The crash hook exists only in the test build (COCO_TEST_HOOKS, see the Makefile): an
 * installed cocod must not stop itself because of an environment variable. */
static void durable_step(store *s)
{
#ifdef COCO_TEST_HOOKS
	if (s->crash_after > 0 && ++s->durable_steps >= s->crash_after) {
		log_flush(); /* the crash point stops the test, not its log */
		_exit(CRASH_EXIT_STATUS);
	}
#else
	(void)s;
#endif
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ---- key index ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static keyslot *keyset_slot(const keyset *ks, const char *key, uint64_t hash)
{
	size_t mask = ks->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		keyslot *k = &ks->slots[i];
		if (!k->key || (k->hash == hash && STREQ(k->key, key)))
			return k;
	}
}

static bool keyset_contains(const keyset *ks, const char *key)
{
	return ks->cap > 0 && keyset_slot(ks, key, hash_str(key))->key;
}

static void keyset_grow(keyset *ks)
{
	keyset bigger = {.cap = ks->cap ? ks->cap * 2 : 256, .n = ks->n};
	bigger.slots = xcalloc(bigger.cap, sizeof *bigger.slots);
	for (size_t i = 0; i < ks->cap; i++) {
		const keyslot *k = &ks->slots[i];
		if (!k->key)
			continue;
		/* Every key is once in the set: the first empty slot is its place. */
		size_t mask = bigger.cap - 1, j = k->hash & mask;
		while (bigger.slots[j].key)
			j = (j + 1) & mask;
		bigger.slots[j] = *k;
	}
	free(ks->slots);
	*ks = bigger;
}

/* Returns true if the key was new. */
static bool keyset_add(keyset *ks, const char *key)
{
	if ((ks->n + 1) * 4 > ks->cap * 3)
		keyset_grow(ks);
	uint64_t hash = hash_str(key);
	keyslot *slot = keyset_slot(ks, key, hash);
	if (slot->key)
		return false;
	*slot = (keyslot){hash, xstrdup(key)};
	ks->n++;
	return true;
}

static void keyset_clear(keyset *ks)
{
	for (size_t i = 0; i < ks->cap; i++)
		free(ks->slots[i].key);
	free(ks->slots);
	*ks = (keyset){0};
}

/* Keys are written into JSON verbatim, so they may hold nothing that needs escaping. */
static bool key_is_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > STORE_KEY_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return false;
	return true;
}

/* ---- paths ---- */

bool store_path_is_valid(const char *relpath)
{
	if (!relpath || !*relpath || strlen(relpath) > STORE_PATH_MAX)
		return false;
	for (const char *p = relpath;;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		char comp[65];
		if (n == 0 || n >= sizeof comp)
			return false;
		memcpy(comp, p, n);
		comp[n] = '\0';
		/* *.tmp names belong to store_replace(): a stale one is deleted without asking. */
		if (!name_is_safe(comp) || ends_with(comp, ".tmp"))
			return false;
		if (!*end)
			return true;
		p = end + 1;
	}
}

/* A new open file description, not dup(): readdir() on a dup would move the offset of
 * root_fd itself, and the next listing would start at the end. */
static int dup_root(store *s, int *ret_fd)
{
	int fd = openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

/* One component at a time, never following a symlink; makes missing directories. */
static int walk_dir(store *s, const char *reldir, bool create, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int r = dup_root(s, &fd);
	if (r < 0)
		return r;
	for (const char *p = reldir; *p;) {
		const char *end = strchrnul(p, '/');
		_cleanup_free_ char *comp = xstrndup(p, (size_t)(end - p));
		const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
		int next = openat(fd, comp, flags);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0700) < 0 && errno != EEXIST)
				return -errno;
			/* The new entry must survive a crash before anything inside it counts. */
			if (fsync(fd) < 0)
				return -errno;
			durable_step(s);
			next = openat(fd, comp, flags);
		}
		if (next < 0)
			return -errno;
		close(fd);
		fd = next;
		p = *end ? end + 1 : end;
	}
	*ret_fd = fd;
	fd = -1;
	return 0;
}

/* Opens reldir (a valid path, or "" for the root) beneath the root. */
static int open_dir(store *s, const char *reldir, bool create, int *ret_fd)
{
	if (!*reldir)
		return dup_root(s, ret_fd);
	if (!s->no_openat2) {
		struct open_how how = {
		    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
		};
		int fd = (int)syscall(SYS_openat2, s->root_fd, reldir, &how, sizeof how);
		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		/* Old kernels say ENOSYS; some seccomp filters say EPERM. */
		if (errno == ENOSYS || errno == EPERM) {
			log_debug("openat2() unavailable, resolving paths one component at a time");
			s->no_openat2 = true;
		} else if (errno != ENOENT || !create)
			return -errno;
	}
	return walk_dir(s, reldir, create, ret_fd);
}

/* Opens the directory holding relpath (the caller closes it) and points at the last name. */
static int open_parent(store *s, const char *relpath, bool create, int *ret_dirfd,
		       const char **ret_name)
{
	const char *slash = strrchr(relpath, '/');
	_cleanup_free_ char *dir =
	    slash ? xstrndup(relpath, (size_t)(slash - relpath)) : xstrdup("");
	int r = open_dir(s, dir, create, ret_dirfd);
	if (r < 0)
		return r;
	*ret_name = slash ? slash + 1 : relpath;
	return 0;
}

static int open_regular(store *s, const char *relpath, int *ret_fd)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, false, &dfd, &name);
	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO planted in the store must not hang the loop. */
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	*ret_fd = fd;
	fd = -1;
	return 0;
}

/* ---- line scanning ---- */

/* Streams complete lines to cb with one fixed buffer. A last line without newline is torn
 * and skipped. Over-long lines are an error, or skipped when skip_long (key loading must
 * see every other line of the file). */
static int scan_fd(int fd, const char *what, bool skip_long, store_line_fn cb, void *userdata)
{
	const size_t cap = STORE_LINE_MAX + 1;
	_cleanup_free_ char *buf = xmalloc(cap);
	size_t len = 0;
	bool skipping = false;
	for (;;) {
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		size_t start = 0;
		char *nl;
		while ((nl = memchr(buf + start, '\n', len - start))) {
			size_t end = (size_t)(nl - buf);
			*nl = '\0';
			if (skipping)
				skipping = false;
			else {
				int r = cb(buf + start, end - start, userdata);
				if (r < 0)
					return r;
			}
			start = end + 1;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (len == cap) {
			if (!skip_long)
				return log_warning_errno(EBADMSG,
							 "%s: line longer than %d bytes: %m", what,
							 STORE_LINE_MAX);
			log_warning("%s: skipping a line longer than %d bytes", what,
				    STORE_LINE_MAX);
			skipping = true;
			len = 0;
		}
	}
	if (len > 0 && !skipping)
		log_warning("%s: ignoring torn last line (%zu bytes without newline)", what, len);
	return 0;
}

int store_scan(store *s, const char *relpath, store_line_fn cb, void *userdata)
{
	if (!s || !store_path_is_valid(relpath) || !cb)
		return -EINVAL;
	_cleanup_close_ int fd = -1;
	int r = open_regular(s, relpath, &fd);
	if (r < 0)
		return r;
	return scan_fd(fd, relpath, false, cb, userdata);
}

/* ---- key loading ---- */

static int load_line(const char *line, size_t len, void *userdata)
{
	store *s = userdata;
	if (len <= KEY_PREFIX_LEN || memcmp(line, key_prefix, KEY_PREFIX_LEN) != 0)
		return 0;
	const char *k = line + KEY_PREFIX_LEN;
	const char *end = memchr(k, '"', len - KEY_PREFIX_LEN);
	if (!end || end == k || (size_t)(end - k) > STORE_KEY_MAX)
		return 0;
	char key[STORE_KEY_MAX + 1];
	memcpy(key, k, (size_t)(end - k));
	key[end - k] = '\0';
	if (key_is_valid(key))
		keyset_add(&s->keys, key);
	return 0;
}

/* Takes ownership of fd. */
static int load_dir(store *s, int fd, const char *reldir, unsigned depth)
{
	_cleanup_(closedirp) DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (depth > WALK_DEPTH_MAX) {
		log_warning("%s/%s: nested too deep, not looking for keys below", s->root, reldir);
		return 0;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!name_is_safe(de->d_name))
			continue;
		/* Files that hold no keys (the local connector's maildirs grow without end) are
		 * passed over by their name and type alone, with no system call each. */
		if (de->d_type == DT_REG && !ends_with(de->d_name, ".jsonl"))
			continue;
		_cleanup_free_ char *path =
		    *reldir ? xasprintf("%s/%s", reldir, de->d_name) : xstrdup(de->d_name);
		/* An entry gone since readdir() is skipped: others write under the root while the
		 * keys load (an MDA delivering into the local connector's inbox, which failed the
		 * load, and the answer that needed it, until the next retry). */
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 && errno == ENOENT)
				continue;
			if (sub < 0)
				return -errno;
			int r = load_dir(s, sub, path, depth + 1);
			if (r < 0)
				return r;
		} else if (S_ISREG(st.st_mode) && ends_with(de->d_name, ".jsonl")) {
			_cleanup_close_ int f = openat(
			    dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (f < 0 && errno == ENOENT)
				continue;
			if (f < 0)
				return -errno;
			int r = scan_fd(f, path, true, load_line, s);
			if (r < 0)
				return r;
		}
	}
	return errno > 0 ? -errno : 0;
}

static int keys_load(store *s)
{
	if (s->keys_loaded)
		return 0;
	keyset_clear(&s->keys);
	int fd = -1;
	int r = dup_root(s, &fd);
	if (r >= 0)
		r = load_dir(s, fd, "", 0);
	if (r < 0) {
		keyset_clear(&s->keys);
		return log_error_errno(r, "Failed to load idempotency keys from %s: %m", s->root);
	}
	/* Appends queued but not yet written are recorded too. */
	for (size_t i = 0; i < s->n_queue; i++)
		if (s->queue[i].key)
			keyset_add(&s->keys, s->queue[i].key);
	s->keys_loaded = true;
	log_debug("%s: %zu idempotency keys loaded", s->root, s->keys.n);
	return 0;
}

static void keys_invalidate(store *s)
{
	keyset_clear(&s->keys);
	s->keys_loaded = false;
}

bool store_has_key(store *s, const char *key)
{
	if (!s || !key || !key_is_valid(key))
		return false;
	if (keys_load(s) < 0)
		return false;
	return keyset_contains(&s->keys, key);
}

/* ---- append fd cache ---- */

static ssize_t fd_cache_find(const store *s, const char *relpath)
{
	for (size_t i = 0; i < s->n_fds; i++)
		if (STREQ(s->fds[i].relpath, relpath))
			return (ssize_t)i;
	return -1;
}

static void fd_cache_close(store *s, size_t i)
{
	close(s->fds[i].fd);
	free(s->fds[i].relpath);
	s->fds[i] = s->fds[--s->n_fds];
}

static void fd_cache_drop(store *s, const char *relpath)
{
	ssize_t i = fd_cache_find(s, relpath);
	if (i >= 0)
		fd_cache_close(s, (size_t)i);
}

/* Cuts a torn last line off, so the next record starts on a line of its own. */
static int cut_torn_tail(int fd, const char *relpath, off_t size)
{
	char buf[4096];
	off_t end = size;
	while (end > 0) {
		size_t n = end < (off_t)sizeof buf ? (size_t)end : sizeof buf;
		off_t start = end - (off_t)n;
		ssize_t k = pread(fd, buf, n, start);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if ((size_t)k != n)
			return -EIO;
		if (end == size && buf[n - 1] == '\n')
			return 0;
		char *nl = memrchr(buf, '\n', n);
		if (nl) {
			end = start + (nl - buf) + 1;
			break;
		}
		end = start;
	}
	if (end == size)
		return 0;
	log_warning("%s: cutting off a torn last line of %lld bytes (an append interrupted by a "
		    "crash, never acknowledged)",
		    relpath, (long long)(size - end));
	if (ftruncate(fd, end) < 0)
		return -errno;
	return 0;
}

static int open_for_append(store *s, const char *relpath, int *ret_fd)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, true, &dfd, &name);
	if (r < 0)
		return r;
	const int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	_cleanup_close_ int fd = openat(dfd, name, flags);
	if (fd < 0 && errno == ENOENT) {
		fd = openat(dfd, name, flags | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return -errno;
		/* fdatasync() of the file does not cover its directory entry. */
		if (fsync(dfd) < 0)
			return -errno;
		durable_step(s);
	}
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	r = cut_torn_tail(fd, relpath, st.st_size);
	if (r < 0)
		return r;
	*ret_fd = fd;
	fd = -1;
	return 0;
}

static int append_fd(store *s, const char *relpath, int *ret_fd)
{
	ssize_t i = fd_cache_find(s, relpath);
	if (i < 0) {
		int fd = -1;
		int r = open_for_append(s, relpath, &fd);
		if (r < 0)
			return r;
		if (s->n_fds == FD_CACHE_MAX) {
			size_t lru = 0;
			for (size_t j = 1; j < s->n_fds; j++)
				if (s->fds[j].last_use < s->fds[lru].last_use)
					lru = j;
			fd_cache_close(s, lru);
		}
		i = (ssize_t)s->n_fds++;
		s->fds[i] = (cached_fd){.relpath = xstrdup(relpath), .fd = fd};
	}
	s->fds[i].last_use = ++s->fd_clock;
	*ret_fd = s->fds[i].fd;
	return 0;
}

int store_append_sync(store *s, const char *relpath, const void *data, size_t len)
{
	if (!s || !store_path_is_valid(relpath) || (!data && len > 0))
		return -EINVAL;
	int fd = -1;
	int r = append_fd(s, relpath, &fd);
	if (r < 0)
		return r;
	r = write_all(fd, data, len);
	if (r >= 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r < 0) {
		/* Reopened next time, which cuts what a short write left. */
		fd_cache_drop(s, relpath);
		return r;
	}
	durable_step(s);
	return 0;
}

/* ---- open, free ---- */

int store_open(const char *dir, store **ret)
{
	if (!dir || !*dir || !ret)
		return -EINVAL;
	bool created = mkdir(dir, 0700) == 0;
	if (!created && errno != EEXIST)
		return -errno;
	/* No O_NOFOLLOW: the root itself may be a symlink (DynamicUser's /var/lib/private). */
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (created) {
		_cleanup_free_ char *parent = xstrdup(dir);
		char *slash = strrchr(parent, '/');
		if (slash)
			*(slash == parent ? slash + 1 : slash) = '\0';
		_cleanup_close_ int pfd =
		    open(slash ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0 || fsync(pfd) < 0)
			return -errno;
	}
	store *s = xcalloc(1, sizeof *s);
	s->root = xstrdup(dir);
	s->root_fd = fd;
	fd = -1;
#ifdef COCO_TEST_HOOKS
	const char *env = getenv("COCO_STORE_CRASH_AFTER");
	if (env && *env) {
		long n;
		if (parse_long(env, 0, LONG_MAX, &n) < 0)
			log_warning("Ignoring invalid COCO_STORE_CRASH_AFTER=%s", env);
		else
			s->crash_after = (unsigned long)n;
	}
#endif
	*ret = s;
	return 0;
}

static void pending_done(pending *p)
{
	free(p->relpath);
	free(p->line);
	free(p->key);
}

store *store_free(store *s)
{
	if (!s)
		return NULL;
	/* The header promises callbacks only from store_commit(), so uncommitted appends are
	 * dropped: they were never acknowledged, and a replay of their inputs stores them. */
	if (s->n_queue > 0)
		log_warning("%s: dropping %zu uncommitted appends", s->root, s->n_queue);
	/* A started commit is written and, once the thread is joined, synced; its callbacks
	 * never run: nothing of it was acknowledged. */
	s->syncer = syncer_free(s->syncer);
	if (s->flight)
		log_warning("%s: %zu appends of a started commit were never acknowledged", s->root,
			    s->flight->n);
	flight_free(TAKE_PTR(s->flight));
	for (size_t i = 0; i < s->n_queue; i++)
		pending_done(&s->queue[i]);
	free(s->queue);
	/* Staged, never flushed: never acknowledged either; the .tmp files go at next start. */
	for (size_t i = 0; i < s->n_staged; i++)
		free(s->staged[i]);
	free(s->staged);
	if (s->dirty_to || s->dirty_from)
		(void)store_sync_renames(s);
	while (s->n_fds > 0)
		fd_cache_close(s, 0);
	keyset_clear(&s->keys);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->root);
	free(s);
	return NULL;
}

void store_freep(store **s)
{
	*s = store_free(*s);
}

const char *store_root(const store *s)
{
	return s->root;
}

#ifdef COCO_TEST_HOOKS
void store_set_crash_after(store *s, unsigned long n)
{
	s->crash_after = n;
	s->durable_steps = 0;
}
#endif

/* ---- whole files ---- */

/* dfd/tmp created for writing: O_EXCL refuses to write through anything planted; a
 * leftover (from a crash) is unlinked and the create tried again. Unlinking first every
 * time cost a system call a file for a leftover that is almost never there. Returns the fd
 * or -errno. */
static int create_tmp(int dfd, const char *tmp)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, tmp, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
			return -errno;
		fd = openat(dfd, tmp, flags, 0600);
	}
	return fd < 0 ? -errno : fd;
}

int store_replace(store *s, const char *relpath, const void *data, size_t len)
{
	if (!s || !store_path_is_valid(relpath) || (!data && len > 0))
		return -EINVAL;
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, true, &dfd, &name);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", name);
	_cleanup_close_ int fd = create_tmp(dfd, tmp);
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r >= 0) {
		if (fsync(fd) < 0)
			r = -errno;
		else
			durable_step(s);
	}
	if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		return r;
	}
	durable_step(s);
	/* A cached append fd now points at the replaced inode; keys may have changed. */
	fd_cache_drop(s, relpath);
	if (ends_with(relpath, ".jsonl"))
		keys_invalidate(s);
	if (fsync(dfd) < 0)
		return -errno;
	durable_step(s);
	return 0;
}

int store_replace_stage(store *s, const char *relpath, const void *data, size_t len)
{
	if (!s || !store_path_is_valid(relpath) || (!data && len > 0))
		return -EINVAL;
	for (size_t i = 0; i < s->n_staged; i++)
		if (STREQ(s->staged[i], relpath))
			return -EEXIST; /* one version of a file per batch */
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, true, &dfd, &name);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", name);
	_cleanup_close_ int fd = create_tmp(dfd, tmp);
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		return r;
	}
	if (s->n_staged == s->cap_staged) {
		s->cap_staged = s->cap_staged ? s->cap_staged * 2 : 64;
		s->staged = xrealloc(s->staged, s->cap_staged * sizeof(char *));
	}
	s->staged[s->n_staged++] = xstrdup(relpath);
	return 0;
}

size_t store_staged(const store *s)
{
	return s ? s->n_staged : 0;
}

static int unstage(store *s, const char *relpath)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, false, &dfd, &name);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", name);
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int store_replace_flush(store *s)
{
	if (!s)
		return -EINVAL;
	size_t n = s->n_staged;
	if (n == 0)
		return 0;
	char **v = TAKE_PTR(s->staged);
	s->n_staged = s->cap_staged = 0;
	/* The one sync for every file of the batch: each fsync() would be a journal commit of
	 * its own. */
	int r = syncfs(s->root_fd) < 0 ? -errno : 0;
	if (r >= 0)
		durable_step(s);
	size_t renamed = 0;
	char **dirs = NULL; /* the directories to fsync, each once */
	for (; r >= 0 && renamed < n; renamed++) {
		_cleanup_close_ int dfd = -1;
		const char *name;
		r = open_parent(s, v[renamed], false, &dfd, &name);
		if (r < 0)
			break;
		_cleanup_free_ char *tmp = xasprintf("%s.tmp", name);
		if (renameat(dfd, tmp, dfd, name) < 0) {
			r = -errno;
			break;
		}
		durable_step(s);
		fd_cache_drop(s, v[renamed]);
		if (ends_with(v[renamed], ".jsonl"))
			keys_invalidate(s);
		const char *slash = strrchr(v[renamed], '/');
		_cleanup_free_ char *dir =
		    slash ? xstrndup(v[renamed], (size_t)(slash - v[renamed])) : xstrdup("");
		bool known = false;
		for (char **d = dirs; d && *d && !known; d++)
			known = STREQ(*d, dir);
		if (!known)
			strv_push(&dirs, TAKE_PTR(dir));
	}
	for (char **d = dirs; r >= 0 && d && *d; d++) {
		_cleanup_close_ int dfd = -1;
		r = open_dir(s, *d, false, &dfd);
		if (r >= 0 && fsync(dfd) < 0)
			r = -errno;
		if (r >= 0)
			durable_step(s);
	}
	strv_free(dirs);
	/* What was not renamed is not there; what was renamed may or may not survive a crash,
	 * which the caller's recovery must take either way (it does for a crash anyway). */
	for (size_t i = renamed; i < n; i++)
		(void)unstage(s, v[i]);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r < 0 ? r : (int)n;
}

int store_read(store *s, const char *relpath, size_t max, char **ret, size_t *ret_len)
{
	if (!s || !store_path_is_valid(relpath) || !ret)
		return -EINVAL;
	_cleanup_close_ int fd = -1;
	int r = open_regular(s, relpath, &fd);
	if (r < 0)
		return r;
	strbuf b = {0};
	char chunk[65536];
	for (;;) {
		ssize_t k = read(fd, chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || b.len + (size_t)(k > 0 ? k : 0) > max) {
			r = k < 0 ? -errno : -EFBIG;
			strbuf_done(&b);
			return r;
		}
		if (k == 0)
			break;
		strbuf_add(&b, chunk, (size_t)k);
	}
	if (ret_len)
		*ret_len = b.len;
	*ret = strbuf_steal(&b);
	return 0;
}

int store_exists(store *s, const char *relpath)
{
	if (!s || !store_path_is_valid(relpath))
		return -EINVAL;
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, false, &dfd, &name);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

int store_remove(store *s, const char *relpath)
{
	if (!s || !store_path_is_valid(relpath))
		return -EINVAL;
	fd_cache_drop(s, relpath);
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(s, relpath, false, &dfd, &name);
	if (r < 0)
		return r;
	if (unlinkat(dfd, name, 0) < 0) {
		if (errno != EISDIR)
			return -errno;
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			return -errno;
	}
	if (ends_with(relpath, ".jsonl"))
		keys_invalidate(s);
	if (fsync(dfd) < 0)
		return -errno;
	durable_step(s);
	return 0;
}

/* The rename itself, not yet durable; the two parent directories' fds for the caller. */
static int rename_entry(store *s, const char *from, const char *to, int *ret_fdir, int *ret_tdir)
{
	if (!s || !store_path_is_valid(from) || !store_path_is_valid(to))
		return -EINVAL;
	fd_cache_drop(s, from);
	fd_cache_drop(s, to);
	_cleanup_close_ int fdir = -1, tdir = -1;
	const char *fname, *tname;
	int r = open_parent(s, from, false, &fdir, &fname);
	if (r < 0)
		return r;
	r = open_parent(s, to, true, &tdir, &tname);
	if (r < 0)
		return r;
	if (renameat(fdir, fname, tdir, tname) < 0)
		return -errno;
	if (ends_with(from, ".jsonl") || ends_with(to, ".jsonl"))
		keys_invalidate(s);
	*ret_fdir = TAKE_FD(fdir);
	*ret_tdir = TAKE_FD(tdir);
	return 0;
}

int store_rename(store *s, const char *from, const char *to)
{
	_cleanup_close_ int fdir = -1, tdir = -1;
	int r = rename_entry(s, from, to, &fdir, &tdir);
	if (r < 0)
		return r;
	/* Both directory entries must be durable: the new one first, so a crash leaves the
	 * file in at least one place. */
	if (fsync(tdir) < 0)
		return -errno;
	durable_step(s);
	if (fsync(fdir) < 0)
		return -errno;
	durable_step(s);
	return 0;
}

static char *parent_of(const char *relpath)
{
	const char *slash = strrchr(relpath, '/');
	return slash ? xstrndup(relpath, (size_t)(slash - relpath)) : xstrdup("");
}

static void dirs_add(char ***dirs, char *dir)
{
	for (char **d = *dirs; d && *d; d++)
		if (STREQ(*d, dir)) {
			free(dir);
			return;
		}
	strv_push(dirs, dir);
}

int store_rename_deferred(store *s, const char *from, const char *to)
{
	_cleanup_close_ int fdir = -1, tdir = -1;
	int r = rename_entry(s, from, to, &fdir, &tdir);
	if (r < 0)
		return r;
	durable_step(s);
	dirs_add(&s->dirty_to, parent_of(to));
	dirs_add(&s->dirty_from, parent_of(from));
	return 0;
}

static int sync_dirs(store *s, char **dirs, char **skip)
{
	int first = 0;
	for (char **d = dirs; d && *d; d++) {
		bool done = false;
		for (char **k = skip; k && *k && !done; k++)
			done = STREQ(*k, *d);
		if (done)
			continue;
		_cleanup_close_ int dfd = -1;
		int r = open_dir(s, *d, false, &dfd);
		if (r >= 0 && fsync(dfd) < 0)
			r = -errno;
		if (r >= 0)
			durable_step(s);
		else if (first == 0)
			first = log_error_errno(r, "%s/%s: fsync after moving files failed: %m",
			                        s->root, *d);
	}
	return first;
}

int store_sync_renames(store *s)
{
	if (!s)
		return -EINVAL;
	char **to = TAKE_PTR(s->dirty_to), **from = TAKE_PTR(s->dirty_from);
	int r = sync_dirs(s, to, NULL);
	int k = sync_dirs(s, from, to); /* a directory both gave and got: fsync'd once */
	strv_free(to);
	strv_free(from);
	return r < 0 ? r : k;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_list(store *s, const char *reldir, char ***ret)
{
	if (!reldir)
		reldir = "";
	if (!s || !ret || (*reldir && !store_path_is_valid(reldir)))
		return -EINVAL;
	int fd;
	int r = open_dir(s, reldir, false, &fd);
	if (r < 0)
		return r;
	_cleanup_(closedirp) DIR *d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	_cleanup_(strv_freep) char **v = xcalloc(1, sizeof(char *));
	size_t n = 0, cap = 1;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		/* Only names the store's own paths can reach; not replace() temporaries. */
		if (!name_is_safe(de->d_name) || ends_with(de->d_name, ".tmp"))
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(char *));
		}
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	if (errno > 0)
		return -errno;
	qsort(v, n, sizeof(char *), name_cmp);
	*ret = TAKE_PTR(v);
	return 0;
}

/* ---- appends, group commit ---- */

static bool line_is_valid(const char *line)
{
	if (!line || line[0] != '{')
		return false;
	size_t n = strlen(line);
	return n >= 2 && line[n - 1] == '}' && !memchr(line, '\n', n);
}

int store_append(store *s, const char *relpath, const char *json_line, const char *key,
		 store_commit_fn cb, void *userdata)
{
	if (!s || !store_path_is_valid(relpath) || !line_is_valid(json_line))
		return -EINVAL;
	/* Keys are found again only in *.jsonl files (see the top of this file). */
	if (key && (!key_is_valid(key) || !ends_with(relpath, ".jsonl")))
		return -EINVAL;
	/* Whatever is written must be readable again by store_scan(). */
	if (strlen(json_line) + (key ? KEY_PREFIX_LEN + strlen(key) + 2 : 0) > STORE_LINE_MAX)
		return -EINVAL;

	pending p = {.dup_of = -1, .cb = cb, .userdata = userdata};
	if (key) {
		int r = keys_load(s);
		if (r < 0)
			return r;
		bool added = keyset_add(&s->keys, key);
		if (!added) {
			/* A duplicate of an append in this same batch shares its fate. */
			for (size_t i = 0; i < s->n_queue; i++)
				if (s->queue[i].key && STREQ(s->queue[i].key, key))
					p.dup_of = (ssize_t)i;
			/* One in the started commit: known when it ends (flight_finish()). */
			for (size_t i = 0; p.dup_of < 0 && s->flight && i < s->flight->n; i++)
				if (s->flight->q[i].key && STREQ(s->flight->q[i].key, key)) {
					p.dup_of = (ssize_t)i;
					p.flight_dup = true;
				}
		}
		if (added || p.flight_dup) {
			strbuf b = {0};
			const char *rest = json_line + 1;
			rest += strspn(rest, " \t\r");
			strbuf_puts(&b, key_prefix);
			strbuf_puts(&b, key);
			strbuf_putc(&b, '"');
			if (*rest != '}')
				strbuf_putc(&b, ',');
			strbuf_puts(&b, json_line + 1);
			strbuf_putc(&b, '\n');
			p.line = strbuf_steal(&b);
			p.key = xstrdup(key);
		}
	} else
		p.line = xasprintf("%s\n", json_line);
	p.relpath = xstrdup(relpath);

	if (s->n_queue == s->cap_queue) {
		s->cap_queue = s->cap_queue ? s->cap_queue * 2 : 16;
		s->queue = xrealloc(s->queue, s->cap_queue * sizeof(pending));
	}
	s->queue[s->n_queue++] = p;
	return 0;
}

size_t store_pending(const store *s)
{
	return s ? s->n_queue : 0;
}

static void flight_free(flight *f)
{
	if (!f)
		return;
	for (size_t j = 0; j < f->n_files; j++) {
		strbuf_done(&f->files[j].data);
		if (f->own_fds && f->files[j].fd >= 0)
			close(f->files[j].fd);
	}
	for (size_t i = 0; i < f->n; i++)
		pending_done(&f->q[i]);
	free(f->q);
	free(f->files);
	free(f->file_of);
	free(f);
}

/* Nothing of a failed batch is acknowledged, so nothing of it should remain either. */
static void cut_back(store *s, batch_file *b)
{
	log_error_errno(b->result, "Failed to append to %s/%s: %m", s->root, b->relpath);
	if (b->fd >= 0 && ftruncate(b->fd, b->size) < 0)
		log_error_errno(errno, "Failed to cut %s/%s back after a failed append: %m",
				s->root, b->relpath);
	/* Reopening re-checks the tail in case the cut failed. */
	fd_cache_drop(s, b->relpath);
}

/* Takes the queue and writes it, one write per touched file. With own_fds the files are kept
 * open (dups) for the sync thread; without, each is fdatasync'd right after its write. */
static flight *flight_write(store *s, bool own_fds)
{
	flight *f = xcalloc(1, sizeof *f);
	/* Detached first: callbacks may queue the next batch. */
	f->q = TAKE_PTR(s->queue);
	f->n = s->n_queue;
	s->n_queue = s->cap_queue = 0;
	f->files = xcalloc(f->n, sizeof(batch_file));
	f->file_of = xcalloc(f->n, sizeof(size_t));
	f->own_fds = own_fds;

	for (size_t i = 0; i < f->n; i++) {
		if (!f->q[i].line)
			continue;
		size_t j = 0;
		while (j < f->n_files && !STREQ(f->files[j].relpath, f->q[i].relpath))
			j++;
		if (j == f->n_files)
			f->files[f->n_files++] = (batch_file){.relpath = f->q[i].relpath, .fd = -1};
		strbuf_puts(&f->files[j].data, f->q[i].line);
		f->file_of[i] = j;
	}
	for (size_t j = 0; j < f->n_files; j++) {
		batch_file *b = &f->files[j];
		int fd;
		int r = append_fd(s, b->relpath, &fd);
		if (r < 0) {
			b->result = log_error_errno(r, "Failed to open %s/%s for append: %m", s->root,
						    b->relpath);
			continue;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			b->result = -errno;
			fd_cache_drop(s, b->relpath);
			log_error_errno(b->result, "Failed to stat %s/%s: %m", s->root, b->relpath);
			continue;
		}
		b->size = st.st_size;
		if (own_fds && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			b->result = -errno;
			log_error_errno(b->result, "Failed to keep %s/%s open: %m", s->root,
					b->relpath);
			continue;
		}
		b->fd = fd;
		b->result = write_all(fd, b->data.s, b->data.len);
		if (b->result >= 0 && !own_fds) {
			/* At once: a later file's open may evict this one from the cache. */
			b->result = fdatasync(fd) < 0 ? -errno : 0;
			if (b->result >= 0)
				durable_step(s);
		}
		if (b->result < 0)
			cut_back(s, b);
		if (!own_fds)
			b->fd = -1;
		strbuf_done(&b->data);
	}
	return f;
}

/* The syncs' results (results[j] for files[j] that were written). */
static void flight_synced(store *s, flight *f, const int *results)
{
	for (size_t j = 0; j < f->n_files; j++) {
		batch_file *b = &f->files[j];
		if (b->result < 0 || b->fd < 0)
			continue;
		b->result = results[j];
		if (b->result < 0)
			cut_back(s, b);
		else
			durable_step(s);
	}
}

/* Runs the callbacks in append order and frees the flight. */
static int flight_finish(store *s, flight *f)
{
	int first_error = 0;
	for (size_t j = 0; j < f->n_files; j++)
		if (f->files[j].result < 0 && first_error == 0)
			first_error = f->files[j].result;
	/* Which keys made it is for the files to say, not for us to guess. */
	if (first_error < 0)
		keys_invalidate(s);
	/* Appends queued since, whose keys were in this flight: a duplicate if it is on disk,
	 * the record itself if it is not. */
	for (size_t i = 0; i < s->n_queue; i++) {
		pending *p = &s->queue[i];
		if (!p->flight_dup)
			continue;
		p->flight_dup = false;
		if (f->files[f->file_of[p->dup_of]].result >= 0) {
			free(p->line);
			free(p->key);
			p->line = p->key = NULL;
		}
		p->dup_of = -1;
	}

	for (size_t i = 0; i < f->n; i++) {
		pending *p = &f->q[i];
		int result = STORE_DUPLICATE;
		if (p->line)
			result = f->files[f->file_of[i]].result < 0 ? f->files[f->file_of[i]].result
								      : STORE_STORED;
		else if (p->dup_of >= 0 && f->q[p->dup_of].line) {
			int orig = f->files[f->file_of[p->dup_of]].result;
			result = orig < 0 ? orig : STORE_DUPLICATE;
		}
		if (p->cb)
			p->cb(result, p->userdata);
	}
	size_t n = f->n;
	flight_free(f);
	return first_error < 0 ? first_error : (int)n;
}

int store_commit(store *s)
{
	if (!s)
		return -EINVAL;
	/* A started commit first (its synced callback normally finishes it): callbacks run in
	 * append order. */
	store_commit_wait(s);
	int r = s->flight ? flight_finish(s, TAKE_PTR(s->flight)) : 0;
	if (s->n_queue == 0)
		return r;
	int k = flight_finish(s, flight_write(s, false));
	return r < 0 ? r : k < 0 ? k : r + k;
}

static void on_synced(const int *results, size_t n, void *userdata)
{
	store *s = userdata;
	flight *f = s->flight;
	assert(f && n == f->n_files);
	flight_synced(s, f, results);
	if (f->synced)
		f->synced(f->userdata);
}

int store_commit_start(store *s, store_synced_fn synced, void *userdata)
{
	if (!s)
		return -EINVAL;
	if (!s->syncer)
		return -EOPNOTSUPP;
	if (s->flight)
		return -EBUSY;
	if (s->n_queue == 0)
		return 0;
	flight *f = flight_write(s, true);
	f->synced = synced;
	f->userdata = userdata;
	_cleanup_free_ int *fds = xcalloc(f->n_files + 1, sizeof(int));
	for (size_t j = 0; j < f->n_files; j++)
		fds[j] = f->files[j].result < 0 ? -1 : f->files[j].fd;
	s->flight = f;
	int r = syncer_start(s->syncer, fds, f->n_files, on_synced, s);
	assert(r >= 0); /* the syncer is busy exactly while a flight is out */
	return 1;
}

/* A started commit's syncs are done once its syncer is idle again (on_synced() ran). */
static bool flight_synced_done(const store *s)
{
	return s->flight && !syncer_busy(s->syncer);
}

int store_commit_finish(store *s)
{
	if (!s || !flight_synced_done(s))
		return -EINVAL;
	return flight_finish(s, TAKE_PTR(s->flight));
}

bool store_commit_busy(const store *s)
{
	return s && s->flight;
}

void store_commit_wait(store *s)
{
	if (s)
		syncer_wait(s->syncer); /* busy exactly while a started commit syncs */
}

int store_attach_event(store *s, sd_event *event)
{
	if (!s || s->syncer)
		return -EINVAL;
	return syncer_new(event, &s->syncer);
}
