/* mime-reason: the leniencies at the entry of mail_parse() that are shared with the tools
 * reporting on it, and why mail_parse() refused a message, in words for the person who gave
 * it the file (cococtl mail-parse). mail_parse() itself answers with an errno only. */
#pragma once

#include <stddef.h>

/* Length of an mbox "From " separator line at msg (with its line end), or 0 when msg does
 * not start with one. A message saved from an mbox keeps it; it is no header field. */
size_t mail_mbox_line(const char *msg, size_t len);

/* Why mail_parse(msg, len) returned r (< 0), as a short phrase starting with what went wrong:
 * "too big: …", "too deeply nested: …", "not a mail: …", "no From:", "From has no
 * address", "From cannot be read". Malloc'd. Linear in len. */
char *mail_parse_reason(const char *msg, size_t len, int r);
