/* mime-flowed: a text/plain part sent with format=flowed (RFC 3676), as Thunderbird, Apple
 * Mail and K-9 write them, read back as its writer typed it: a line ending in a space is a
 * soft break, joined with the next line. mail_parse() calls it on a decoded part. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Joins the soft line breaks of s[0..len) (UTF-8, LF line ends) in place and returns the new
 * length (never more than len; s is not NUL-terminated here). A line ending in a space is
 * joined with the next one when that one has as many quote marks ('>' at the start) and is
 * not empty; with delsp (DelSp=yes) the space goes, else it stays. The next line's quote
 * marks and one space-stuffing space after them go; an unquoted line's stuffing space
 * (" From", " >") goes too. The signature separator "-- " is never a soft break. A quoted
 * paragraph keeps the quote marks of its first line as they were written. */
size_t mail_flowed_unwrap(char *s, size_t len, bool delsp);
