/* answer: the one answer grammar every channel shares. It owns turning the text of a member's
 * reply into validated, normalised items for one round — answers to questions, ideas, dot
 * votes, skips — and everything said back about it: the errors for what was not understood,
 * the confirmation echo, the help line, and the JSON record stored in answers.jsonl.
 * It knows rounds and questions, nothing of protocols or of the store.
 *
 * The grammar (keywords and references case-insensitive, text kept as written):
 *   1: 4            answer question 1 (also q1:, #1:, or the question id "mood:");
 *   1: 4, 2: b      several on a line, separated by ',' or ';' (or a space before "N:");
 *   1) 4, q2 = 9    in a survey, at the start of a line, ')' after a number or '=' after a
 *                   reference stand for the colon (not elsewhere: "=" in a text answer is
 *                   prose, and "1) " in an idea round is a bullet);
 *   1. 4            likewise "N. " for an existing question N, when at least one such line of
 *                   the message holds a value its scale, NPS or choice question takes (else
 *                   they are free text: a numbered list of words); under a text answer
 *                   opened with a colon a numbered line continues it (a list in the answer);
 *   4               in a survey of one question that is no text question, the first line of
 *                   the member's own answers it when it starts with a digit (scale, NPS) or
 *                   is a value it takes, as "1: 4" would;
 *   3: free words   a text answer runs to the end of the line, and on over the following
 *                   lines until a blank line or the next statement; "3:" alone on a line
 *                   takes the lines below it;
 *   idea: …         an idea (prompt rounds), continued like a text answer; also "idea …";
 *   vote 3 7 7      dot votes (vote rounds); 7×2 (or 7x2) gives idea 7 two dots; in a vote
 *                   round a line of only numbers is a vote too;
 *   skip 2          leave out an optional question.
 *   - idea          in an idea (prompt) round each bullet is an idea of its own: "- ", "* ",
 *                   "+ ", "• ", "– ", "1. ", "1) " (up to three digits), continued like one.
 * What a mail carries besides answers is left out, and said nothing about:
 *   a greeting      the first line, when it is a greeting ("Hi", "Hello team", "Dear Anna,",
 *                   "Good morning", "Hallo zusammen", "Hej", "Bonjour", "Здравствуйте"…),
 *                   optionally with a name or a group word ("all", "team") and ',' '!' '.',
 *                   or greetings one after the other ("Hi Dr. Weber, hi all,");
 *   an intro        a line ending in ':' that starts a paragraph and leads into statements
 *                   ("Oops, sorry:" ⏎ "1: 4"), blank lines between or not; in an idea round
 *                   also into bullets, or into the ideas below it when it stands alone;
 *   a closing       at the end, a thanks or closing phrase ("Thanks", "Thank you", "Cheers",
 *                   "Best regards", "Danke", "Kiitos", "Tack", "Merci"…), optionally with a
 *                   name or a place ("Grüße aus Berlin"), two joined ("Ystävällisin terveisin
 *                   / Best regards"), and the name and signature lines under it (even right
 *                   under a text answer: "4: slow" ⏎ "Thanks, Raj" answers "slow"); below
 *                   other content, everything under it, blank lines apart, up to 6 short
 *                   lines (a name, a role, "Bergström Retail S.L.");
 *   a signature     at the end, a bare name (1-3 capitalised words: "Maria", "Tom Becker"),
 *                   or after a blank line a name over up to 3 signature lines (with '|', '·',
 *                   '@', a web address or a phone number; outside idea rounds also a short
 *                   capitalised line like "Head of Online"). Only when something else is above
 *                   it — a reply of just "Dark Mode" is that idea — and a bare name right
 *                   under a text answer, idea or paragraph still belongs to it, unless it is
 *                   the writer's own (answer_parse_ballot()'s writer, answer_is_own_name()).
 * The phrase lists live in answer-mail.c.
 * Other lines that follow no grammar are free text. In an idea round each paragraph is an
 * idea. In a survey the paragraphs answer the text question only when the message is nothing
 * but free text and the round has exactly one text question (so free text never replaces an
 * answer, nor becomes one beside statements); anywhere else each line of it is an error (as
 * written: two lines quoted as one would be a line nobody wrote), which
 * in a survey with a text question left open says to start with its number ("5: …"), for a
 * line "N. …" gives question N's example line, and in a one-question survey its example. Within
 * one message a later answer to the same question replaces an earlier one, and an answer and a
 * skip of the same question replace each other. Full-width ':' '，' '、' '；' (Japanese input
 * methods) count as their ASCII forms; NBSP and U+3000 count as spaces.
 *
 * A result never refers to the round it was parsed against (config reloads swap rounds), so it
 * may outlive it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "config.h"

#define ANSWER_MESSAGE_MAX 65536 /* bytes in one message */
#define ANSWER_ITEMS_MAX 200	 /* statements in one message */
#define ANSWER_TEXT_MAX 2000	 /* bytes in one text answer or idea */
#define ANSWER_ERRORS_MAX 20	 /* errors listed one by one; the rest are counted */

typedef struct answer_parse answer_parse;

/* Parses a reply to round. n_ideas is the number of ideas on the ballot of a vote round (ideas
 * are numbered 1..n_ideas), 0 otherwise. Text that is not understood is no failure: the result
 * then carries errors (and possibly no items). Returns 0, or -EINVAL for missing arguments.
 * answer_parse_mem() takes bytes that may hold NULs or anything else (such lines are errors). */
int answer_parse_text(const coco_round *round, size_t n_ideas, const char *text,
		      answer_parse **ret);
int answer_parse_mem(const coco_round *round, size_t n_ideas, const void *data, size_t size,
		     answer_parse **ret);
/* answer_parse_mem() for a member's reply as the core has it. writer (or NULL) is who wrote
 * it: a last line or paragraph that is their own name (answer_is_own_name()) is a signature,
 * left out, also where someone else's bare name would belong to the text above it. For a vote
 * round whose ballot has ideas withdrawn since it was sent (`cococtl forget`): withdrawn[i]
 * (n_ideas flags, or NULL for none) for idea i + 1. Dots for a withdrawn idea are not taken,
 * and said so ("idea 1 was withdrawn by its author…"); the other dots of the same line are. */
int answer_parse_ballot(const coco_round *round, size_t n_ideas, const bool *withdrawn,
			const coco_member *writer, const void *data, size_t size,
			answer_parse **ret);
/* Takes idea i (0-based) out of the result: it is neither recorded nor confirmed, and its
 * text goes to answer_parse_left_out(). For the core's own rules (an anonymous round never
 * publishes an idea that names its writer). Returns false if there is no idea i. */
bool answer_parse_drop_idea(answer_parse *p, size_t i);
answer_parse *answer_parse_free(answer_parse *p);
void answer_parse_freep(answer_parse **p);
#define _cleanup_answer_parse_ __attribute__((cleanup(answer_parse_freep)))

/* The lines left out as mail furniture, as written: the greeting (or a greeting before a
 * statement on its line, "Hi all,"), the closing and signature, a bare name under the text,
 * and quoted lines; joined by "\n", with an empty line where other lines stood between two.
 * "" when nothing was left out. A channel keeps it beside what it cut itself (the email
 * channel's `trimmed`), so that all that was not read as the answer can be seen. */
const char *answer_parse_left_out(const answer_parse *p);

/* Everything understood: answers + skips + ideas + ideas voted for. */
size_t answer_parse_n_items(const answer_parse *p);

/* Answers, in question order. The strings live as long as p. */
size_t answer_parse_n_answers(const answer_parse *p);
const char *answer_parse_answer_question(const answer_parse *p, size_t i); /* question id */
size_t answer_parse_answer_number(const answer_parse *p, size_t i);	   /* 1-based */
/* Normalised: scale/nps the integer ("4"), choice the option text, multi the option texts in
 * option order joined by '|', text as written (lines joined by "\n", outer blanks trimmed). */
const char *answer_parse_answer_value(const answer_parse *p, size_t i);

/* Skipped questions, in question order. */
size_t answer_parse_n_skips(const answer_parse *p);
const char *answer_parse_skip_question(const answer_parse *p, size_t i);
size_t answer_parse_skip_number(const answer_parse *p, size_t i);

/* Required questions this message left without a valid answer, in question order (a required
 * question cannot be skipped, and a wrong value is no answer). A correction reply leaves out
 * what an earlier reply answered: answer_missing_required() takes those away. */
size_t answer_parse_n_missing(const answer_parse *p);
const char *answer_parse_missing_question(const answer_parse *p, size_t i); /* question id */
size_t answer_parse_missing_number(const answer_parse *p, size_t i);	     /* 1-based */

/* Ideas in message order; NULL-terminated, never NULL. */
char *const *answer_parse_ideas(const answer_parse *p);
size_t answer_parse_n_ideas(const answer_parse *p);

/* Dots given to idea number idea (1-based), and in all. */
unsigned answer_parse_votes_for(const answer_parse *p, size_t idea);
unsigned answer_parse_total_votes(const answer_parse *p);

/* Human sentences, one per thing not understood: "“1: 9”: question 1 takes a whole number
 * from 1 to 5". NULL-terminated, never NULL. */
char *const *answer_parse_errors(const answer_parse *p);
size_t answer_parse_n_errors(const answer_parse *p);
/* The question (1-based) error i is about, when it is a value that question does not take
 * ("2: 0" on a 1–10 scale, "2:" with nothing after it); else 0. */
size_t answer_parse_error_question(const answer_parse *p, size_t i);

/* "We recorded: 1 → 4, 2 → Blue, 3 → “so-so”, skipped 4, idea “…”, votes 3×1, 7×2", or
 * "We recorded nothing". Malloc'd. */
char *answer_confirmation(const answer_parse *p);

/* "Question 2 is required and still has no answer", or "Questions 1 and 2 are required and
 * still have no answer", for the missing required questions whose ids are not in
 * answered_before (the questions earlier replies of the member answered; NULL-terminated, may
 * be NULL). NULL when nothing required is missing. Malloc'd. */
char *answer_missing_required(const answer_parse *p, char *const *answered_before);

/* Whether the line s..e is the member signing: their Name=, first name or id, or a fuller
 * form of the name (the first name, then more capitalised words: "Anna López García" for
 * Name=Anna López, "Dr. Anna Schmidt"), maybe after a dash ("- Anna") and before '.' ',' '!'.
 * mb may be NULL (false). */
bool answer_is_own_name(const char *s, const char *e, const coco_member *mb);

/* Free text (a comment on a digest) without what a mail carries besides it: a first-line
 * greeting, and closings or a bare name at the end (only below other content). Malloc'd. */
char *answer_plain_text(const char *text);

/* A short example of how to answer round, for replies that carry errors: for a survey
 * "Reply like this, one answer a line:\n1: 4\n2: b\n3: your words" (the lines of
 * answer_examples()), then the skip hint if a question is optional. Malloc'd. */
char *answer_help(const coco_round *round);

/* Example reply lines that fit round, one statement a line, for messages to show as lines:
 * a survey gets one line per question in question order, each with a value its question
 * takes ("1: 4", "2: b", "3: a c", "4: your words"); a prompt "idea: your first idea",
 * "idea: another idea"; a vote "vote 1 3", using only ideas 1..n_ideas of the ballot (0: not
 * known). NULL-terminated and malloc'd (strv_free), empty for a round that needs no reply. */
char **answer_examples(const coco_round *round, size_t n_ideas);

/* "skip N" for the first question of a survey that is not required, else NULL. Malloc'd. */
char *answer_skip_example(const coco_round *round);

/* The record stored in answers.jsonl:
 * {"answers":{"<qid>":"<value>" or ["<option>",…] for multi},"ideas":[…],
 *  "votes":{"<idea number>":<dots>},"skips":["<qid>",…]}
 * All four members are always present. Returns 0 or -ENOMEM. */
int answer_parse_to_json(const answer_parse *p, cJSON **ret);
