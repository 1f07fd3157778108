/* mime-parts: see mime-parts.h. What libetpan 1.9.4 does with a multipart body, for the form
 * read here: the first delimiter line opens the first part (what is above it is the
 * preamble); a part ends at the next line that starts "--boundary" followed by white space
 * and a line end, the line end before that line not being the part's (RFC 2046 §5.1.1); the
 * last part ends at the line "--boundary--"; a part's header section is its fields up to an
 * empty line, its body the rest. libetpan also reads lines that only start like a delimiter
 * ("--boundaryX", "--boundary  "), blank lines before the first part's header, a missing
 * closing delimiter and empty parts, each its own way: such a body is -EAGAIN here. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"
#include "email/mime-parts.h"

void mail_part_done(struct mail_part *p)
{
	mail_head_done(&p->head);
	*p = (struct mail_part){};
}

/* The line end at b[i..len): its length (1 for LF, 2 for CRLF), 0 when there is none. */
static size_t line_end_at(const char *b, size_t len, size_t i)
{
	if (i < len && b[i] == '\n')
		return 1;
	if (i + 1 < len && b[i] == '\r' && b[i + 1] == '\n')
		return 2;
	return 0;
}

int mail_parts_read(const char *body, size_t len, const char *boundary, struct mail_part *ret_plain,
		    struct mail_part *ret_html)
{
	struct mail_part plain = {}, html = {};
	size_t blen = strlen(boundary);
	if (blen == 0 || blen > 200)
		return -EAGAIN;
	char delim[204];
	delim[0] = delim[1] = '-';
	memcpy(delim + 2, boundary, blen);
	size_t dlen = blen + 2;

	size_t part = 0;	/* where the current part starts, once the first delimiter is seen */
	bool open = false, closed = false;
	size_t pos = 0;
	int r = 0;
	for (;;) {
		const char *d = memmem(body + pos, len - pos, delim, dlen);
		if (!d)
			break;
		size_t at = (size_t)(d - body);
		/* every "--boundary" starts a line and is a whole delimiter line */
		if (closed || (at > 0 && body[at - 1] != '\n')) {
			r = -EAGAIN;
			break;
		}
		size_t after = at + dlen;
		bool closing = after + 1 < len && body[after] == '-' && body[after + 1] == '-';
		if (closing)
			after += 2;
		size_t eol = line_end_at(body, len, after);
		if (!eol || (closing && !open)) {
			r = -EAGAIN;
			break;
		}
		if (open) {
			/* the part before this delimiter, without the line end before it */
			size_t end = at - 1;
			if (end > part && body[end - 1] == '\r')
				end--;
			if (end <= part) { /* an empty part */
				r = -EAGAIN;
				break;
			}
			struct mail_head h;
			r = mail_head_read_part(body + part, end - part, &h);
			if (r < 0)
				break;
			struct mail_part *slot = h.text_html ? &html : h.text_other ? NULL : &plain;
			if (slot && !slot->data)
				*slot = (struct mail_part){
				    .data = body + part + h.body, .len = end - part - h.body, .head = h};
			else
				mail_head_done(&h);
		}
		open = true;
		closed = closing;
		part = after + eol;
		pos = part;
	}
	if (r >= 0 && !closed)
		r = -EAGAIN;
	if (r < 0) {
		mail_part_done(&plain);
		mail_part_done(&html);
		return r;
	}
	*ret_plain = plain;
	*ret_html = html;
	return 0;
}
