/* mime-reason: see mime-reason.h. A plain scan of the header section, the way mail_parse()
 * would see it: the mbox line skipped, folded lines joined, the section ending at the first
 * empty line or at the end of the input. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/mime.h"
#include "email/mime-bounds.h"
#include "email/mime-reason.h"

size_t mail_mbox_line(const char *msg, size_t len)
{
	if (len < 5 || memcmp(msg, "From ", 5) != 0)
		return 0;
	const char *nl = memchr(msg, '\n', len);
	return nl ? (size_t)(nl - msg) + 1 : len;
}

/* Where the header section ends: at its empty line, or at len. *ret_closed says whether an
 * empty line closed it. */
static size_t header_end(const char *msg, size_t len, bool *ret_closed)
{
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if ((i + 1 < len && msg[i + 1] == '\n') ||
		    (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')) {
			*ret_closed = true;
			return i + 1;
		}
	}
	*ret_closed = false;
	return len;
}

/* The value of the first From: field (unfolded, malloc'd), or NULL if there is none. */
static char *find_from(const char *h, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(h + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - h) : len;
		if (end - i >= 5 && strncasecmp(h + i, "From:", 5) == 0) {
			strbuf b = {};
			strbuf_add(&b, h + i + 5, end - i - 5);
			/* continuation lines start with a space or a tab */
			for (size_t k = end + 1; k < len && (h[k] == ' ' || h[k] == '\t');) {
				const char *n2 = memchr(h + k, '\n', len - k);
				size_t e2 = n2 ? (size_t)(n2 - h) : len;
				strbuf_putc(&b, ' ');
				strbuf_add(&b, h + k, e2 - k);
				k = e2 + 1;
			}
			return strbuf_steal(&b);
		}
		i = end + 1;
	}
	return NULL;
}

/* Does the first line look like a header field ("Name: value", a name of printable ASCII
 * without spaces)? Garbage and plain text do not. */
static bool starts_like_header(const char *msg, size_t len)
{
	size_t i = 0;
	while (i < len && msg[i] > ' ' && msg[i] < 127 && msg[i] != ':')
		i++;
	return i > 0 && i < len && msg[i] == ':';
}

char *mail_parse_reason(const char *msg, size_t len, int r)
{
	if (r == -EFBIG)
		return xasprintf("too big: more than the %zu MiB a reply may have",
				 MAIL_MESSAGE_MAX / (1024 * 1024));
	if (r == -E2BIG) {
		_cleanup_free_ char *why = NULL;
		if (mail_bounds_check(msg, len, &why) < 0 && why)
			return xasprintf("%s: %s",
					 strstr(why, "nested") ? "too deeply nested" : "too complex",
					 why);
		return xstrdup("too complex: beyond the bounds of a mail coco reads");
	}
	if (r != -EBADMSG)
		return xasprintf("not read: %s", strerror(r < 0 ? -r : r));

	size_t skip = mail_mbox_line(msg, len);
	msg += skip;
	len -= skip;
	if (len == 0)
		return xstrdup(skip ? "not a mail: only an mbox From line"
				    : "not a mail: the file is empty");
	bool closed;
	size_t hlen = header_end(msg, len, &closed);
	if (memchr(msg, '\0', hlen))
		return xstrdup("not a mail: a NUL byte in the header section");
	if (!starts_like_header(msg, hlen))
		return xstrdup("not a mail: it does not start with a header field");
	if (!closed && msg[len - 1] != '\n')
		return xstrdup("not a mail: it ends inside its header section (cut short?)");
	_cleanup_free_ char *from = find_from(msg, hlen);
	if (!from)
		return xstrdup("no From:");
	if (!strchr(from, '@'))
		return xstrdup("From has no address");
	return xstrdup("From cannot be read: expected an address like name@example.org");
}
