/* email/mime-charset: charset conversion for libetpan without a dlopen per mail.
 * libetpan converts with iconv_open()/iconv_close() around every buffer, and glibc loads and
 * unloads the charset's gconv module each time (dlopen, mmap, munmap: most of the time spent
 * on a small mail in another charset). mail_charset_init() installs libetpan's
 * extended_charconv hook with a small cache of open converters instead; the results are the
 * same (an invalid byte becomes '?', as libetpan's own conversion writes it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Installs the hook once per process; cheap to call again. mail_parse() calls it. */
void mail_charset_init(void);
/* s[0..len) is valid UTF-8: no overlong form, no surrogate, nothing past U+10FFFF. */
bool mail_utf8_valid(const char *s, size_t len);
