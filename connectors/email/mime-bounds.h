/* mime-bounds: a cheap, linear pre-scan of an inbound message's MIME structure, run before
 * libetpan sees it. libetpan's parser recurses once per nesting level and rescans the body at
 * each level: a 3.6 MB mail nested 50 000 levels deep overflows the stack, 10 000 levels take
 * seconds. This file owns the limits that keep every message coco hands to libetpan small in
 * structure, and the reason given when one is refused. */
#pragma once

#include <stddef.h>

/* Nesting levels: each multipart and each message/rfc822 part below the top-level message. */
#define MAIL_DEPTH_MAX 16
/* Body parts, counted at every level (each boundary line that opens a part). */
#define MAIL_PARTS_MAX 256
/* Header fields in one header section (the message's or a part's). */
#define MAIL_FIELDS_MAX 500
/* Bytes in one header section. */
#define MAIL_HEADER_MAX ((size_t)256 * 1024)
/* Lines starting with "Content-Type:" anywhere in the message. A second, cruder bound that
 * holds even where this scan and libetpan read a header differently: every nesting level
 * needs one, so libetpan never sees more than this many levels. */
#define MAIL_CONTENT_TYPES_MAX (2 * MAIL_PARTS_MAX)

/* Scans msg[0..len). Returns 0 when the message is within every bound above, or -E2BIG and
 * (when ret_reason is not NULL) a malloc'd sentence saying which bound and where. Never
 * recurses; time linear in len (times MAIL_DEPTH_MAX at worst). */
int mail_bounds_check(const char *msg, size_t len, char **ret_reason);
