/* util: the small things every module uses — cleanup attributes, logging with journald
 * priority prefixes, a growable string buffer, bounded number parsing, and the check that a
 * name from config or input is safe to use as a file name in the store. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <syslog.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

/* Hand a pointer out of a _cleanup_ scope: returns it and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define STREQ(a, b) (strcmp((a), (b)) == 0)

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

void closep(int *fd);
#define _cleanup_close_ _cleanup_(closep)
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})

/* Aborting allocators: coco treats out-of-memory as fatal, like OpenSMTPD and Redis. */
/* Keeps glibc from handing freed heap back to the system after every large message only
 * to fault it in again for the next (a mail of 40 KB parsed after small ones cost 3× its
 * parse): up to 1 MiB of free heap is kept, blocks from 1 MiB on are mapped on their own.
 * cocod calls it at start, and so do the benchmarks that stand for it. */
void malloc_tune(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Logging. Lines go to stderr prefixed "<N>" (sd-daemon(3)), which journald turns into
 * priorities. log_*_errno() return -|err| so a caller can `return log_error_errno(r, ...)`.
 * `%m` in the format prints strerror(err). */
void log_set_max_level(int level);
int log_get_max_level(void);
/* cocod's loop: one write() per loop turn for its log lines, not one per line (a line an
 * answer is a tenth of a slash command's system calls). From log_hold() on, the calling
 * thread's lines wait in a 64 KiB buffer until log_flush() or until it fills (whole lines
 * only); errors and worse, and any other thread's lines, are written at once, with what
 * waited before them. cocod flushes before it writes a commit's records and right after
 * their callbacks, so a crash loses only lines of work not yet on disk (a replay logs it
 * again) and, as before, those of a commit killed between its sync and its callbacks. */
void log_hold(void);
void log_flush(void);
int log_internal(int level, int err, const char *fmt, ...) _printf_(3, 4);
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

/* Growable byte buffer, always NUL-terminated. */
typedef struct strbuf {
	char *s;
	size_t len, cap;
} strbuf;

void strbuf_add(strbuf *b, const void *p, size_t n);
/* Room for n more bytes (and the NUL) at once: a string whose size is known roughly grows
 * in one allocation instead of doubling from 64 bytes, a realloc() each time. */
void strbuf_reserve(strbuf *b, size_t n);
void strbuf_puts(strbuf *b, const char *s);
void strbuf_putc(strbuf *b, char c);
void strbuf_printf(strbuf *b, const char *fmt, ...) _printf_(2, 3);
char *strbuf_steal(strbuf *b); /* returns the string ("" if empty), leaves b empty */
void strbuf_done(strbuf *b);

/* Bounded conversions: whole string must be a number in range, else -EINVAL / -ERANGE. */
int parse_long(const char *s, long min, long max, long *ret);
int parse_bool(const char *s, bool *ret); /* yes/no/true/false/on/off/1/0 */
/* "90s", "15m", "4h", "2d", "1w", optionally signed ("-2d"), combinations ("1d12h").
 * Result in seconds. */
int parse_duration(const char *s, int64_t *ret_sec);

/* Numbers read back from JSON the daemon wrote (state.json, the spool, answers): an integer
 * in int64_t's range, or an error, never a cast of NaN or 1e300 (undefined behaviour).
 * json_number_to_int64: -EINVAL if v is not a number, -ERANGE if it is not an integer in
 * range. json_get_int64: the same for obj's member key, and -ENOENT if there is none. */
struct cJSON;
int json_number_to_int64(const struct cJSON *v, int64_t *ret);
int json_get_int64(const struct cJSON *obj, const char *key, int64_t *ret);

/* A group: a numeric gid, or a name looked up with getgrnam_r(). -ENOENT if there is no
 * such group, -EINVAL for what cannot be a group name. */
int parse_group(const char *s, gid_t *ret);

/* A name safe as one path component: 1..64 bytes of [A-Za-z0-9._@+=-], not starting with '.'. */
bool name_is_safe(const char *s);

/* Read a whole file (at most max bytes; -EFBIG beyond). */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* The same for a file that must be a regular one, opened without following a symlink or
 * blocking on a FIFO: -ENOTSUP for anything else, -EFBIG past max. */
int read_regular_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* NULL-terminated string vectors. */
void strv_free(char **v);
size_t strv_length(char *const *v);
void strv_push(char ***v, char *s); /* takes ownership of s */

/* Trim ASCII whitespace at both ends, in place; returns s. */
char *strstrip(char *s);
/* One line of s, in place: every run of whitespace (ASCII, and the Unicode line and paragraph
 * separators U+2028, U+2029) becomes one space, none at either end; returns s. For text
 * that must never break a line: an idea on a ballot, a button's label. */
char *strcollapse_ws(char *s);
