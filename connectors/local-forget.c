/* local-forget: see local-forget.h. */
#define _GNU_SOURCE
#include "local-forget.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "email/mime.h"
#include "util.h"

/* Bigger files are not mail the local connector wrote or read (local.c refuses them). */
#define FORGET_FILE_MAX (16u * 1024 * 1024)

/* memmem, case-insensitive for ASCII. */
static bool contains_nocase(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || n > len)
		return false;
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

static size_t header_length(const char *data, size_t len)
{
	const char *lf = memmem(data, len, "\n\n", 2), *crlf = memmem(data, len, "\r\n\r\n", 4);
	if (!lf || (crlf && crlf < lf))
		lf = crlf;
	return lf ? (size_t)(lf - data) : len;
}

static bool mail_concerns(const char *data, size_t len, const char *const *addresses,
                          const char *const *phrases)
{
	size_t hlen = header_length(data, len);
	for (const char *const *a = addresses; a && *a; a++)
		if (**a && contains_nocase(data, hlen, *a))
			return true;
	if (!phrases || !*phrases)
		return false;
	for (const char *const *p = phrases; *p; p++)
		if (**p && memmem(data, len, *p, strlen(*p)))
			return true;
	/* Quoted-printable or base64 hides the words from a raw search: the decoded text. */
	_cleanup_mail_message_ mail_message *m = NULL;
	if (mail_parse(data, len, &m) < 0)
		return false;
	const char *body = mail_body(m), *subject = mail_subject(m);
	for (const char *const *p = phrases; *p; p++)
		if ((body && strstr(body, *p)) || (subject && strstr(subject, *p)))
			return true;
	return false;
}

static int fsync_path(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* inbox/new/NAME, NAME:1,retry or cur/NAME:2,S: the part before the info suffix. */
static bool is_busy(const char *name, const char *const *busy)
{
	size_t n = strcspn(name, ":");
	for (const char *const *b = busy; b && *b; b++)
		if (strcspn(*b, ":") == n && strncmp(*b, name, n) == 0)
			return true;
	return false;
}

static int forget_dir(const char *dir, const char *const *busy, const char *const *addresses,
                      const char *const *phrases, char ***removed, size_t *erased)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	int err = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&names, xstrdup(de->d_name));
	closedir(d);
	size_t before = *erased;
	for (char **n = names; n && *n; n++) {
		if (is_busy(*n, busy))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, *n);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		int r = read_regular_file(path, FORGET_FILE_MAX, &data, &len);
		if (r < 0) {
			if (r != -ENOENT && err == 0)
				err = r;
			continue;
		}
		if (!mail_concerns(data, len, addresses, phrases))
			continue;
		if (unlink(path) < 0) {
			if (err == 0)
				err = -errno;
			continue;
		}
		strv_push(removed, xstrdup(*n));
		(*erased)++;
	}
	strv_free(names);
	if (*erased > before) {
		int r = fsync_path(dir);
		if (r < 0 && err == 0)
			err = r;
	}
	return err;
}

/* failed.log lines are "<time> failed/<name>: <why>": the lines about removed files, and
 * any naming an address, go. Atomic replace, like every file coco rewrites. */
static int scrub_failed_log(const char *inbox, char *const *removed,
                            const char *const *addresses)
{
	_cleanup_free_ char *path = xasprintf("%s/failed.log", inbox);
	_cleanup_free_ char *tmp = xasprintf("%s/failed.log.tmp", inbox);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_regular_file(path, FORGET_FILE_MAX, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	strbuf out = {0};
	bool changed = false;
	for (char *line = data, *end; line < data + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(data + len - line));
		if (!end)
			end = data + len;
		size_t n = (size_t)(end - line);
		bool drop = false;
		for (const char *const *a = addresses; a && *a && !drop; a++)
			drop = **a && contains_nocase(line, n, *a);
		for (char *const *f = removed; f && *f && !drop; f++) {
			_cleanup_free_ char *needle = xasprintf(" failed/%s: ", *f);
			drop = memmem(line, n, needle, strlen(needle)) != NULL;
		}
		if (drop) {
			changed = true;
			continue;
		}
		strbuf_add(&out, line, n);
		if (end < data + len)
			strbuf_putc(&out, '\n');
	}
	if (!changed) {
		strbuf_done(&out);
		return 0;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		strbuf_done(&out);
		return -errno;
	}
	r = 0;
	for (size_t off = 0; off < out.len;) {
		ssize_t w = write(fd, out.s + off, out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			break;
		}
		off += (size_t)w;
	}
	strbuf_done(&out);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	return fsync_path(inbox);
}

int local_forget_maildirs(const char *outbox, const char *inbox, const char *const *busy,
                          const char *const *addresses, const char *const *phrases,
                          size_t *ret_erased)
{
	static const char *const out_boxes[] = {"new", "cur"};
	static const char *const in_boxes[] = {"new", "cur", "failed"};
	char **removed = NULL;
	size_t erased = 0;
	int err = 0, r;

	for (size_t i = 0; i < ELEMENTSOF(out_boxes); i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", outbox, out_boxes[i]);
		r = forget_dir(dir, NULL, addresses, phrases, &removed, &erased);
		if (r < 0 && err == 0)
			err = r;
	}
	strv_free(removed);
	removed = NULL;
	for (size_t i = 0; i < ELEMENTSOF(in_boxes); i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", inbox, in_boxes[i]);
		/* Mail of others not read yet (new/) goes only if it names an address: their
		 * answer must still be recorded. Read mail (its answer is in the store) that
		 * quotes the member, as a reply quoting a digest does, goes too. */
		bool unread = STREQ(in_boxes[i], "new");
		r = forget_dir(dir, STREQ(in_boxes[i], "failed") ? NULL : busy, addresses,
		               unread ? NULL : phrases, &removed, &erased);
		if (r < 0 && err == 0)
			err = r;
	}
	r = scrub_failed_log(inbox, removed, addresses);
	if (r < 0 && err == 0)
		err = r;
	strv_free(removed);
	*ret_erased = erased;
	return err;
}
