/* local-forget: the local connector's part of `cococtl forget` (connector_ops.forget):
 * removes mail files of its maildirs that concern a forgotten member. Kept apart from
 * local.c, which owns delivery and reading; this only deletes. */
#pragma once

#include <stddef.h>

/* Removes from outbox/{new,cur} and inbox/{new,cur,failed} every mail whose header section
 * names one of `addresses` (From, To, Cc, Delivered-To, ...: compared case-insensitively),
 * and every mail whose text (raw or decoded) holds one of `phrases` (except unread mail in
 * inbox/new, whose answer is still to be recorded); then drops the lines
 * of inbox/failed.log about removed files or naming an address. Files in inbox/new and
 * inbox/cur whose name (without its info part) is in `busy` (being handled by the core
 * right now: in new/ until it is done) are left alone. NULL-terminated
 * lists. *ret_erased counts the files removed; returns the first error, after going on. */
int local_forget_maildirs(const char *outbox, const char *inbox, const char *const *busy,
                          const char *const *addresses, const char *const *phrases,
                          size_t *ret_erased);
