/* answer-private: what the parts of the answer module share (answer.c: the parser,
 * answer-text.c: characters and values, answer-mail.c: greetings, sign-offs and bullets,
 * answer-format.c: accessors and output). The body of
 * a parse result lives here so that the parser can build it and the output read it. Not an
 * interface for anything outside the answer module. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "answer.h"

typedef struct answer_entry {
	size_t q; /* index into the round's questions */
	char *qid;
	char *value;
	question_kind kind;
} answer_entry;

typedef struct skip_entry {
	size_t q;
	char *qid;
} skip_entry;

typedef struct vote_entry {
	size_t idea;
	unsigned dots;
} vote_entry;

struct answer_parse {
	answer_entry *answers;
	size_t n_answers, cap_answers;
	skip_entry *skips;
	size_t n_skips, cap_skips;
	char **ideas; /* NULL-terminated once non-empty */
	size_t n_ideas, cap_ideas;
	vote_entry *votes; /* sorted by idea */
	size_t n_votes, cap_votes;
	unsigned total_votes;
	char **errors;
	size_t n_errors, cap_errors;
	size_t *error_questions; /* beside errors: the question (1-based) each is about, or 0 */
	size_t cap_error_questions;
	skip_entry *missing; /* required questions left without an answer, in question order */
	size_t n_missing;
	char *left_out; /* the furniture left out (answer_parse_left_out()), or NULL */
};

/* --- answer-text.c: characters, each on the slice s..e ------------------------------------- */

/* Bytes of one blank at s: ASCII space or tab, NBSP, ideographic space, BOM; else 0. */
size_t answer_ws_len(const char *s, const char *e);
const char *answer_skip_ws(const char *s, const char *e);
const char *answer_trim_end(const char *s, const char *e);
/* Bytes of a colon or a separator at s (ASCII or full-width), else 0. */
size_t answer_colon_len(const char *s, const char *e);
size_t answer_sep_len(const char *s, const char *e);
bool answer_slice_eq_ci(const char *s, const char *e, const char *z);
bool answer_is_ref_char(char c);
bool answer_all_digits(const char *s, const char *e);
/* Saturates at ULLONG_MAX beyond 10^12. */
unsigned long long answer_digits_value(const char *s, const char *e);
/* Valid UTF-8 without control characters (tabs are fine). */
bool answer_line_is_text(const char *s, const char *e);
/* “fragment”, on one line, shortened and cleaned for quoting back. Malloc'd. */
char *answer_quote(const char *s, const char *e);

/* --- answer-mail.c: lines of a mail that are no answer, each a trimmed line s..e -------- */

/* "Hi all,", "Hello team", "Dear Anna", "Hallo zusammen", "Bonjour !": a greeting phrase,
 * optionally followed by a group word or a name, and ',', '!' or '.'. */
bool answer_is_greeting(const char *s, const char *e);
/* Bytes of a greeting ending in ',' or '!' and the blanks after it, when more text follows on
 * the line ("Hi all, 1: 3"); else 0. */
size_t answer_greeting_prefix_len(const char *s, const char *e);
/* "Thanks", "Thank you!", "Cheers, Tom", "Best regards", "Danke", "Kiitos", "Br, Mikko". */
bool answer_is_closing(const char *s, const char *e);
/* A thank-you that opens a mail: "Thank you for organising this!", "Thanks for the survey.",
 * "Vielen Dank für die Umfrage!", "Kiitos kyselystä!": thanks, then "for" (in a language
 * of the closings) or a line ending in '!'; at most WORDS_MAX words. "Thank you notes in
 * every order" is none. */
bool answer_is_thanks_opener(const char *s, const char *e);
/* 1-3 capitalised words (with "von", "de"... between): "Maria", "Tom Becker", "J. Smith". */
bool answer_is_name(const char *s, const char *e);
/* A name, or a whole signature on one line: a name, then "|" or "·" and a role, company... */
bool answer_is_name_line(const char *s, const char *e);
/* Whether the text at s starts with a capital letter (of the scripts cp_fold() knows). */
bool answer_starts_with_capital(const char *s, const char *e);
/* A role/company/phone line under a name; loose also takes a short capitalised phrase. */
bool answer_is_signature_tail(const char *s, const char *e, bool loose);
/* A line under a closing: a name or signature line, a role or a company ("Bergström Retail
 * S.L."). */
bool answer_is_signature_line(const char *s, const char *e);
/* Bytes of a list bullet and the blanks after it ("- ", "* ", "• ", "1. ", "12) "), when text
 * follows; else 0. */
size_t answer_bullet_len(const char *s, const char *e);
bool answer_ends_with_colon(const char *s, const char *e);

/* --- answer-text.c: values ----------------------------------------------------------------- */

/* The index of the option s..e names, or -1. */
long answer_option_match(const coco_question *q, const char *s, const char *e);
/* Normalised values (see answer.h), malloc'd; NULL when s..e is no valid answer. */
char *answer_multi_value(const coco_question *q, const char *s, const char *e);
char *answer_number_value(const char *s, const char *e, long min, long max);
/* "a to d" or "1 to 30", for errors. */
void answer_option_range(const coco_question *q, char *buf, size_t size);
