/* util: see util.h. */
#define _GNU_SOURCE
#include "util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int max_level = LOG_INFO;
/* log_hold(): the loop thread's lines below LOG_ERR wait in `held` for log_flush(), whole
 * lines only (a full buffer is written before a line that does not fit), so a kill never
 * leaves half a line. Guarded by log_lock, as other threads log too. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool log_held;
static pthread_t log_holder;
static char held[64 * 1024];
static size_t held_len;

static void write_stderr(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(STDERR_FILENO, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* nowhere to say it */
		p += k;
		n -= (size_t)k;
	}
}

static void held_write(void)
{
	write_stderr(held, held_len);
	held_len = 0;
}

static void log_put(const char *line, size_t n, bool urgent)
{
	pthread_mutex_lock(&log_lock);
	bool hold = log_held && !urgent && pthread_equal(pthread_self(), log_holder);
	if (!hold || held_len + n > sizeof held)
		held_write(); /* what waited goes first, in order */
	if (hold && n <= sizeof held) {
		memcpy(held + held_len, line, n);
		held_len += n;
	} else
		write_stderr(line, n);
	pthread_mutex_unlock(&log_lock);
}

void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void oom(void)
{
	log_flush();
	fputs("<2>out of memory\n", stderr);
	abort();
}

void malloc_tune(void)
{
	(void)mallopt(M_TRIM_THRESHOLD, 1 << 20);
	(void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	n = n ? n : 1;
	size = size ? size : 1;
	/* A small block from malloc(), zeroed here: glibc 2.36's calloc() never takes a block
	 * from the thread's cache (tcache) and goes to the arena, locked, every time (5 or 6
	 * small structures a slash command: bench/slack-ingress). A large one from calloc(),
	 * which knows when fresh pages are zero already. */
	size_t total;
	if (!__builtin_mul_overflow(n, size, &total) && total <= 1024) {
		void *p = malloc(total);
		if (!p)
			oom();
		/* Else GCC makes malloc() and memset() one calloc() again. */
		__asm__ volatile("" : : "r"(p) : "memory");
		return memset(p, 0, total);
	}
	void *p = calloc(n, size);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_internal(int level, int err, const char *fmt, ...)
{
	if (err < 0)
		err = -err;
	if (level <= max_level) {
		char buf[2048];
		va_list ap;
		errno = err; /* for %m */
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
		/* One line per message: journald would otherwise split it without a priority. */
		for (char *p = buf; *p; p++)
			if (*p == '\n')
				*p = ' ';
		char line[2048 + 16];
		int n = snprintf(line, sizeof line, "<%d>%s\n", level, buf);
		if (n < 0)
			return -err;
		log_put(line, (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n,
			level <= LOG_ERR);
	}
	return -err;
}

void log_hold(void)
{
	pthread_mutex_lock(&log_lock);
	log_holder = pthread_self();
	log_held = true;
	pthread_mutex_unlock(&log_lock);
}

void log_flush(void)
{
	pthread_mutex_lock(&log_lock);
	held_write();
	pthread_mutex_unlock(&log_lock);
}

static void strbuf_grow(strbuf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void strbuf_reserve(strbuf *b, size_t n)
{
	strbuf_grow(b, n);
	b->s[b->len] = 0; /* a new buffer is a string too */
}

void strbuf_add(strbuf *b, const void *p, size_t n)
{
	strbuf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void strbuf_puts(strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void strbuf_putc(strbuf *b, char c)
{
	strbuf_add(b, &c, 1);
}

void strbuf_printf(strbuf *b, const char *fmt, ...)
{
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(aq);
		return;
	}
	strbuf_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, aq);
	va_end(aq);
	b->len += (size_t)n;
}

char *strbuf_steal(strbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	*b = (strbuf){0};
	return s;
}

void strbuf_done(strbuf *b)
{
	free(b->s);
	*b = (strbuf){0};
}

int parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration(const char *s, int64_t *ret_sec)
{
	int64_t total = 0;
	int sign = 1;
	if (*s == '-' || *s == '+') {
		sign = *s == '-' ? -1 : 1;
		s++;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		int64_t v = 0;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s - '0');
			if (v > 100000000)
				return -ERANGE;
			s++;
		}
		int64_t unit;
		switch (*s) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -EINVAL;
		}
		s++;
		total += v * unit;
		if (total > (int64_t)400 * 86400 * 100)
			return -ERANGE;
	}
	*ret_sec = sign * total;
	return 0;
}

int json_number_to_int64(const cJSON *v, int64_t *ret)
{
	if (!cJSON_IsNumber(v))
		return -EINVAL;
	double d = v->valuedouble;
	/* -2^63 is a double exactly; 2^63 is the first double past INT64_MAX. */
	if (!isfinite(d) || d != trunc(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return -ERANGE;
	*ret = (int64_t)d;
	return 0;
}

int json_get_int64(const cJSON *obj, const char *key, int64_t *ret)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	if (!v)
		return -ENOENT;
	return json_number_to_int64(v, ret);
}

int parse_group(const char *s, gid_t *ret)
{
	long n;
	if (!s || !*s || strlen(s) > 256 || strpbrk(s, " \t:/\n"))
		return -EINVAL;
	if (parse_long(s, 0, (long)UINT32_MAX - 1, &n) == 0) {
		*ret = (gid_t)n;
		return 0;
	}
	char buf[16384];
	struct group g, *found = NULL;
	int r = getgrnam_r(s, &g, buf, sizeof buf, &found);
	if (r != 0)
		return -r;
	if (!found)
		return -ENOENT;
	*ret = found->gr_gid;
	return 0;
}

bool name_is_safe(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._@+=-", *p))
			return false;
	return true;
}

static int read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	strbuf b = {0};
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			strbuf_done(&b);
			return r;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			strbuf_done(&b);
			return -EFBIG;
		}
		strbuf_add(&b, chunk, (size_t)n);
	}
	if (ret_len)
		*ret_len = b.len;
	*ret = strbuf_steal(&b);
	return 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_fd(fd, max, ret, ret_len);
}

int read_regular_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return errno == ELOOP ? -ENOTSUP : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOTSUP;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	return read_fd(fd, max, ret, ret_len);
}

char *strstrip(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

char *strcollapse_ws(char *s)
{
	size_t w = 0;
	bool gap = false;
	for (size_t r = 0; s[r];) {
		size_t n = isspace((unsigned char)s[r]) ? 1
		           : (unsigned char)s[r] == 0xe2 && (unsigned char)s[r + 1] == 0x80 &&
		                     ((unsigned char)s[r + 2] == 0xa8 || (unsigned char)s[r + 2] == 0xa9)
		               ? 3
		               : 0;
		if (n) {
			gap = true;
			r += n;
			continue;
		}
		if (gap && w > 0)
			s[w++] = ' ';
		gap = false;
		s[w++] = s[r++];
	}
	s[w] = '\0';
	return s;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void strv_push(char ***v, char *s)
{
	size_t n = strv_length(*v);
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}
