/* mime-parts: the parts of a multipart/alternative body read without libetpan (issue 10.8).
 * Most replies from Gmail, Outlook and Apple Mail are a text/plain and a text/html part under
 * multipart/alternative, and libetpan's parse of that tree cost more than everything else on
 * such a mail. This file reads only a body whose split is known to be libetpan's (1.9.4,
 * mailmime_multipart_body_parse()): every "--boundary" in it starts a line and is a whole
 * delimiter line, the closing one ends it, each part starts with a header of Content-Type
 * (a text type) and Content-Transfer-Encoding only (mail_head_read_part()). Anything else is
 * -EAGAIN and goes to libetpan. bench/parse-diff.c checks both readings agree. */
#pragma once

#include <stddef.h>

#include "email/mime-head.h"

struct mail_part {
	const char *data; /* the part's body (after its header), NULL when there is none */
	size_t len;
	struct mail_head head; /* its Content-Type and Content-Transfer-Encoding */
};

/* body[0..len): the body of a multipart/alternative with this boundary. Finds the first
 * text/plain and the first text/html part (either may be missing: data NULL). Returns 0, or
 * -EAGAIN when the body is not in the form read here (the parts are then empty). */
int mail_parts_read(const char *body, size_t len, const char *boundary, struct mail_part *ret_plain,
		    struct mail_part *ret_html);
void mail_part_done(struct mail_part *p);
