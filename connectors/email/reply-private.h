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

/* reply-inline.c: the number N of a quoted question heading as coco's survey mail writes it
 * ("> **N. How urgent is it?**": the opening "**N. " and words), else 0. s is the whole line,
 * quote marks included. */
size_t reply_quoted_question(const char *s, size_t len);

/* A line that says itself which question it answers ("2: b", "1) 4", "q2 = 9", "skip 3"): an
 * inline answer of that form needs no number from the quote above it. */
bool reply_names_its_question(const char *s, size_t len);

/* A line that may follow a sign-off as the writer's name, role or company: short, and not
 * answer-like or a "Label: value" line. */
bool reply_is_name_line(const char *s, size_t len);

/* Whether s[0..len) starts with word (equals it, with whole), ignoring case in ASCII, Latin-1
 * letters (À → à) and Cyrillic (О → о), the capitals that start a line in the languages the
 * trimmer knows. Lower and upper case of these take the same number of bytes in UTF-8. */
bool reply_prefix_fold(const char *s, size_t len, const char *word);
bool reply_equal_fold(const char *s, size_t len, const char *word);

/* A word of the lists lines are compared with, its length known at compile time: the
 * classifier runs every list on every line, so no strlen() per word and per line. Words are
 * lower case: reply_prefix_word() and reply_equal_word() rule a word out by its first byte. */
struct reply_word {
	const char *s;
	size_t len;
};
#define REPLY_WORD(w) {w, sizeof(w) - 1}

/* The first byte of s[0..len) as reply_prefix_fold() compares it: an ASCII capital lowered,
 * the lead byte of a Cyrillic capital made that of its small letter (a Latin-1 capital keeps
 * its lead byte); 0 for an empty s. A word (lower case) can match s only when its first byte
 * is this: one compare rules out most of a list. */
static inline unsigned char reply_fold_lead(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	unsigned char c = (unsigned char)s[0];
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 0x20);
	if (c == 0xd0 && len >= 2) {
		unsigned char d = (unsigned char)s[1];
		if ((d >= 0xa0 && d <= 0xaf) || (d >= 0x80 && d <= 0x8f))
			return 0xd1;
	}
	return c;
}

/* reply_prefix_fold() and reply_equal_fold() for a word whose length and folded first byte
 * are known (lead: reply_fold_lead(s, len), computed once per line). */
bool reply_prefix_fold_n(const char *s, size_t len, const struct reply_word *w);
static inline bool reply_prefix_word(const char *s, size_t len, unsigned char lead,
                                     const struct reply_word *w)
{
	return len >= w->len && (unsigned char)w->s[0] == lead && reply_prefix_fold_n(s, len, w);
}
static inline bool reply_equal_word(const char *s, size_t len, unsigned char lead,
                                    const struct reply_word *w)
{
	return len == w->len && (unsigned char)w->s[0] == lead && reply_prefix_fold_n(s, len, w);
}
