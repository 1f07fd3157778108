/* reply-private: line tests shared by the reply trimmer's files (reply.c, reply-signoff.c).
 * Nothing outside connectors/email/reply*.c and auto-reply.c uses it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A closing formula on a line of its own ("Best regards,", "Mit freundlichen Grüßen",
 * "Cordialement", "С уважением"), possibly with the name after a comma on the same line. */
bool reply_is_signoff(const char *s, size_t len);

/* A line that starts like a statement of the answer grammar (engine/answer.h): "1: 4",
 * "q2: b", "#3: x", "idea: …", "vote 3 7", "skip 2". The trimmer never cuts one of these
 * as part of a quote, a wrapped attribution or a signature. */
bool reply_is_answer_like(const char *s, size_t len);

/* A line that may follow a sign-off as the writer's name, role or company: short, and not
 * answer-like or a "Label: value" line. */
bool reply_is_name_line(const char *s, size_t len);

/* Whether s[0..len) starts with word (equals it, with whole), ignoring case in ASCII, Latin-1
 * letters (À → à) and Cyrillic (О → о), the capitals that start a line in the languages the
 * trimmer knows. Lower and upper case of these take the same number of bytes in UTF-8. */
bool reply_prefix_fold(const char *s, size_t len, const char *word);
bool reply_equal_fold(const char *s, size_t len, const char *word);
