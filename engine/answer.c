/* answer: see answer.h. This file owns the parser: a message in, an answer_parse out. It works
 * on (start, end) slices of the message, one line at a time; a line is either free text or a
 * run of statements, each statement ending where the next one starts. Text answers and ideas
 * stay "open" so the lines below can continue them. Before that, a first pass over the lines
 * marks the mail furniture to leave out (the greeting, the closing and signature); intros and
 * bullets are decided line by line. The character level and the values live in answer-text.c,
 * what a greeting, closing, name or bullet looks like in answer-mail.c, reading and printing a
 * result in answer-format.c; answer-private.h is what they share. */
#define _GNU_SOURCE
#include "answer-private.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

typedef enum open_kind {
	OPEN_NONE,
	OPEN_ANSWER,  /* a text answer the next lines may continue */
	OPEN_IDEA,    /* an idea, likewise */
	OPEN_FREE,    /* a paragraph of free text */
	OPEN_DISCARD, /* continuation of something already rejected */
} open_kind;

typedef enum stmt_kind {
	STMT_NONE,
	STMT_ANSWER,
	STMT_IDEA,
	STMT_VOTE,
	STMT_SKIP,
} stmt_kind;

typedef struct stmt {
	stmt_kind kind;
	long q; /* STMT_ANSWER: question index, or -1 for a number with no such question */
	const char *ref, *ref_end;
	const char *body; /* after the colon or keyword */
	bool dot;	  /* "1. 4": numbered with a dot (numbered_answers()) */
} stmt;

typedef enum line_mark {
	LINE_KEEP,
	LINE_DROP,	   /* greeting, closing, signature: left out, said nothing about */
	LINE_NAME_SIGNOFF, /* a bare name under the text: left out unless it continues a paragraph */
} line_mark;

typedef struct msg_line {
	const char *s, *e; /* trimmed */
	const char *cut;   /* a greeting cut off the start ("Hi all, 1: 3"): cut..s, else NULL */
	line_mark mark;
} msg_line;

typedef struct parser {
	const coco_round *round;
	msg_line *lines;
	size_t n_lines;
	size_t n_statement_lines; /* lines with statements, understood or not */
	size_t n_ideas; /* on the ballot */
	const bool *withdrawn; /* n_ideas flags, or NULL: ideas withdrawn since (forget) */
	const coco_member *writer; /* who wrote the message, or NULL: their name signs it */
	bool dot_numbers; /* "N. value" lines are answers (numbered_answers()) */
	bool single_tried; /* a one-question survey's first content line was looked at */
	unsigned max_votes;
	answer_parse *res;
	size_t n_statements;
	size_t errors_dropped;
	size_t error_q; /* the question (1-based) the next add_error() is about, or 0 */
	open_kind open;
	bool open_idea_line; /* the open idea is an `idea:` line's */
	bool open_dot; /* the open text answer is a "N. …" line's: "N. …" under it is no list */
	size_t open_q;
	strbuf open_text;
	char *open_quote; /* the line that opened it, quoted in errors */
	char **free_paras;
	size_t n_free, cap_free;
	char *empty_idea; /* the first `idea:` line with nothing after it ("Ideas:"), quoted */
	strbuf left_out; /* answer_parse_left_out() */
	size_t left_out_last; /* the line last put there, + 1 (0: none yet) */
} parser;

/* Room for one more element (and a NULL after it) in an array grown by doubling. Sizes are
 * bounded by the message limit, so the multiplication cannot overflow. */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n + 1 < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	return xrealloc(p, *cap * size);
}

static void push_strv(char ***v, size_t *n, size_t *cap, char *s)
{
	*v = grow(*v, *n, cap, sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* --- results ----------------------------------------------------------------------------- */

/* An error line, and the question (1-based) it is about or 0. */
static void push_error(answer_parse *r, char *msg, size_t q)
{
	size_t n = r->n_errors;
	push_strv(&r->errors, &r->n_errors, &r->cap_errors, msg);
	r->error_questions = grow(r->error_questions, n, &r->cap_error_questions,
	                          sizeof *r->error_questions);
	r->error_questions[n] = q;
}

static void add_error(parser *ps, const char *s, const char *e, const char *fmt, ...)
    _printf_(4, 5);
static void add_error(parser *ps, const char *s, const char *e, const char *fmt, ...)
{
	answer_parse *r = ps->res;
	if (r->n_errors >= ANSWER_ERRORS_MAX) {
		ps->errors_dropped++;
		ps->error_q = 0;
		return;
	}
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	char *msg;
	if (s) {
		_cleanup_free_ char *q = answer_quote(s, e);
		msg = xasprintf("%s: %s", q, reason);
	} else
		msg = xstrdup(reason);
	push_error(r, msg, ps->error_q);
	ps->error_q = 0;
}

static void remove_skip(answer_parse *r, size_t q)
{
	for (size_t i = 0; i < r->n_skips; i++)
		if (r->skips[i].q == q) {
			free(r->skips[i].qid);
			memmove(r->skips + i, r->skips + i + 1,
				(r->n_skips - i - 1) * sizeof *r->skips);
			r->n_skips--;
			return;
		}
}

static void remove_answer(answer_parse *r, size_t q)
{
	for (size_t i = 0; i < r->n_answers; i++)
		if (r->answers[i].q == q) {
			free(r->answers[i].qid);
			free(r->answers[i].value);
			memmove(r->answers + i, r->answers + i + 1,
				(r->n_answers - i - 1) * sizeof *r->answers);
			r->n_answers--;
			return;
		}
}

/* Takes value. A later answer to the same question replaces the earlier one (and a skip). */
static void record_answer(parser *ps, size_t q, char *value)
{
	answer_parse *r = ps->res;
	ps->n_statements++;
	remove_skip(r, q);
	remove_answer(r, q);
	r->answers = grow(r->answers, r->n_answers, &r->cap_answers, sizeof *r->answers);
	size_t i = r->n_answers;
	while (i > 0 && r->answers[i - 1].q > q)
		i--;
	memmove(r->answers + i + 1, r->answers + i, (r->n_answers - i) * sizeof *r->answers);
	r->answers[i] = (answer_entry){
	    .q = q,
	    .qid = xstrdup(ps->round->questions[q].id),
	    .value = value,
	    .kind = ps->round->questions[q].kind,
	};
	r->n_answers++;
}

static void record_skip(parser *ps, size_t q)
{
	answer_parse *r = ps->res;
	ps->n_statements++;
	remove_answer(r, q);
	remove_skip(r, q);
	r->skips = grow(r->skips, r->n_skips, &r->cap_skips, sizeof *r->skips);
	size_t i = r->n_skips;
	while (i > 0 && r->skips[i - 1].q > q)
		i--;
	memmove(r->skips + i + 1, r->skips + i, (r->n_skips - i) * sizeof *r->skips);
	r->skips[i] = (skip_entry){.q = q, .qid = xstrdup(ps->round->questions[q].id)};
	r->n_skips++;
}

/* An idea is one line wherever it goes (a ballot, a confirmation, a Slack button's label): a
 * paragraph of two lines is one idea in the words of both, joined by a space. */
static void record_idea(parser *ps, char *text)
{
	answer_parse *r = ps->res;
	ps->n_statements++;
	strcollapse_ws(text);
	push_strv(&r->ideas, &r->n_ideas, &r->cap_ideas, text);
}

static void record_vote(answer_parse *r, size_t idea, unsigned dots)
{
	size_t i = 0;
	while (i < r->n_votes && r->votes[i].idea < idea)
		i++;
	if (i < r->n_votes && r->votes[i].idea == idea) {
		r->votes[i].dots += dots;
	} else {
		r->votes = grow(r->votes, r->n_votes, &r->cap_votes, sizeof *r->votes);
		memmove(r->votes + i + 1, r->votes + i, (r->n_votes - i) * sizeof *r->votes);
		r->votes[i] = (vote_entry){.idea = idea, .dots = dots};
		r->n_votes++;
	}
	r->total_votes += dots;
}

static void result_clear_items(answer_parse *r)
{
	for (size_t i = 0; i < r->n_answers; i++) {
		free(r->answers[i].qid);
		free(r->answers[i].value);
	}
	for (size_t i = 0; i < r->n_skips; i++)
		free(r->skips[i].qid);
	strv_free(r->ideas);
	r->ideas = NULL;
	r->n_answers = r->n_skips = r->n_ideas = r->cap_ideas = r->n_votes = 0;
	r->total_votes = 0;
}

/* --- references and statements ------------------------------------------------------------- */

/* A question by id (any case; ids win), or by 1-based number written N, qN or #N.
 * Returns the index, -ENOENT for a number with no such question, -EINVAL for no reference. */
static long ref_resolve(const coco_round *round, const char *s, const char *e)
{
	for (size_t i = 0; i < round->n_questions; i++)
		if (answer_slice_eq_ci(s, e, round->questions[i].id))
			return (long)i;
	if (round->n_questions == 0)
		return -EINVAL; /* "1: …" in a round without questions is plain text */
	if (s < e && (*s == 'q' || *s == 'Q' || *s == '#'))
		s++;
	if (!answer_all_digits(s, e))
		return -EINVAL;
	unsigned long long n = answer_digits_value(s, e);
	if (n < 1 || n > round->n_questions)
		return -ENOENT;
	return (long)(n - 1);
}

static bool is_vote_token_start(const char *s, const char *e)
{
	return s < e && (isdigit((unsigned char)*s) || *s == '#');
}

/* One vote token: [#]IDEA[(x|X|*|×)DOTS]. Returns 1 with a token, 0 at the end, -EINVAL for
 * something else (ret_tok_end then marks the bad token). */
static int next_vote_token(const char **p, const char *e, unsigned long long *ret_idea,
			   unsigned long long *ret_dots, const char **ret_tok)
{
	const char *s = *p;
	for (;;) {
		size_t k = answer_ws_len(s, e);
		if (!k)
			k = answer_sep_len(s, e);
		if (!k)
			break;
		s += k;
	}
	if (s >= e)
		return 0;
	const char *t = s;
	while (t < e && !answer_ws_len(t, e) && !answer_sep_len(t, e))
		t++;
	*ret_tok = s;
	*p = t;
	const char *d = s;
	if (*d == '#')
		d++;
	const char *n = d;
	while (n < t && isdigit((unsigned char)*n))
		n++;
	if (n == d)
		return -EINVAL;
	*ret_idea = answer_digits_value(d, n);
	*ret_dots = 1;
	if (n == t)
		return 1;
	if (*n == 'x' || *n == 'X' || *n == '*')
		n++;
	else if (t - n >= 2 && memcmp(n, "×", 2) == 0)
		n += 2;
	else
		return -EINVAL;
	if (!answer_all_digits(n, t))
		return -EINVAL;
	*ret_dots = answer_digits_value(n, t);
	return 1;
}

/* In a vote round people write "3 7 7" without the keyword. */
static bool looks_like_vote_list(const char *s, const char *e)
{
	unsigned long long idea, dots;
	const char *tok;
	int r, n = 0;
	while ((r = next_vote_token(&s, e, &idea, &dots, &tok)) > 0)
		n++;
	return r == 0 && n > 0;
}

/* "1. 4" at s: the index of an existing question numbered with a dot and a blank (up to three
 * digits, a question id wins), else -1; *ret_body is where its value starts. In a survey
 * only: in an idea round "1. " is a bullet. */
static long dot_number_at(const coco_round *round, const char *s, const char *e,
			  const char **ret_body)
{
	const char *d = s;
	while (d < e && d - s < 4 && isdigit((unsigned char)*d))
		d++;
	if (round->kind != ROUND_SURVEY || d == s || d - s > 3 || d + 1 >= e || *d != '.' ||
	    !answer_ws_len(d + 1, e))
		return -1;
	for (size_t i = 0; i < round->n_questions; i++)
		if (answer_slice_eq_ci(s, d + 1, round->questions[i].id))
			return -1;
	long q = ref_resolve(round, s, d);
	if (q < 0)
		return -1;
	if (ret_body)
		*ret_body = answer_skip_ws(d + 1, e);
	return q;
}

static stmt_kind statement_at(const parser *ps, const char *s, const char *e, bool line_start,
			      stmt *ret)
{
	*ret = (stmt){.kind = STMT_NONE, .q = -1};
	long dq = line_start && ps->dot_numbers ? dot_number_at(ps->round, s, e, NULL) : -1;
	if (dq >= 0) {
		const char *d = s + strspn(s, "0123456789");
		*ret = (stmt){.kind = STMT_ANSWER, .q = dq, .ref = s, .ref_end = d,
			      .body = answer_skip_ws(d + 1, e), .dot = true};
		return ret->kind;
	}
	const char *t = s;
	while (t < e && answer_is_ref_char(*t))
		t++;
	if (t > s) {
		const char *c = answer_skip_ws(t, e);
		size_t cl = answer_colon_len(c, e);
		/* At the start of a line in a survey, "1) 4" and "Q2 = 9" are what people write
		 * for "1: 4" and "2: 9". Only there: "=" in the middle of a text answer is prose,
		 * and in an idea round "1) " is a bullet. */
		if (!cl && line_start && ps->round->kind == ROUND_SURVEY && c < e &&
		    ((*c == ')' && c == t && answer_all_digits(s, t)) || *c == '=') &&
		    ref_resolve(ps->round, s, t) != -EINVAL)
			cl = 1;
		if (cl) {
			long q = ref_resolve(ps->round, s, t);
			stmt_kind k = STMT_NONE;
			if (q >= 0 || q == -ENOENT)
				k = STMT_ANSWER;
			else if (answer_slice_eq_ci(s, t, "idea") ||
				 answer_slice_eq_ci(s, t, "ideas"))
				k = STMT_IDEA;
			else if (answer_slice_eq_ci(s, t, "vote") ||
				 answer_slice_eq_ci(s, t, "votes"))
				k = STMT_VOTE;
			else if (answer_slice_eq_ci(s, t, "skip"))
				k = STMT_SKIP;
			if (k != STMT_NONE)
				*ret = (stmt){.kind = k,
					      .q = q >= 0 ? q : -1,
					      .ref = s,
					      .ref_end = t,
					      .body = answer_skip_ws(c + cl, e)};
			return ret->kind;
		}
		/* Keywords without a colon, only where what follows fits, so that prose such as
		 * "skip the intro" or "vote early" stays prose. */
		const char *a = answer_skip_ws(t, e);
		bool gap = a > t, end = a >= e;
		if (answer_slice_eq_ci(s, t, "skip") && (end || gap)) {
			const char *u = a;
			while (u < e && answer_is_ref_char(*u))
				u++;
			if (end || ref_resolve(ps->round, a, u) != -EINVAL)
				*ret = (stmt){.kind = STMT_SKIP, .q = -1, .body = a};
		} else if ((answer_slice_eq_ci(s, t, "vote") ||
			    answer_slice_eq_ci(s, t, "votes")) &&
			   (end || (gap && is_vote_token_start(a, e)))) {
			*ret = (stmt){.kind = STMT_VOTE, .q = -1, .body = a};
		} else if (line_start && answer_slice_eq_ci(s, t, "idea") && (end || gap)) {
			*ret = (stmt){.kind = STMT_IDEA, .q = -1, .body = a};
		}
		if (ret->kind != STMT_NONE)
			return ret->kind;
	}
	if (line_start && ps->round->kind == ROUND_VOTE && looks_like_vote_list(s, e))
		*ret = (stmt){.kind = STMT_VOTE, .q = -1, .body = s};
	return ret->kind;
}

/* Where the statement whose value starts at s ends: at the first separator followed by another
 * statement, or a blank followed by another "N:" answer; else at the end of the line. */
static const char *statement_end(const parser *ps, const char *s, const char *e,
				 const char **ret_next)
{
	stmt st;
	for (const char *p = s; p < e;) {
		size_t k = answer_sep_len(p, e);
		if (k) {
			const char *n = answer_skip_ws(p + k, e);
			/* "1: 4, 2: b," — a separator at the end of the line ends the statement */
			if (n >= e || statement_at(ps, n, e, false, &st) != STMT_NONE) {
				*ret_next = n;
				return answer_trim_end(s, p);
			}
			p += k;
			continue;
		}
		k = answer_ws_len(p, e);
		if (k) {
			const char *n = answer_skip_ws(p, e);
			if (p > s && n < e && statement_at(ps, n, e, false, &st) == STMT_ANSWER) {
				*ret_next = n;
				return answer_trim_end(s, p);
			}
			p = n;
			continue;
		}
		p++;
	}
	*ret_next = e;
	return answer_trim_end(s, e);
}

/* --- values ------------------------------------------------------------------------------- */

static void handle_answer(parser *ps, const stmt *st, const char *s, const char *e)
{
	const coco_round *round = ps->round;
	if (st->q < 0) {
		add_error(ps, s, e, "there is no question %.*s (questions are numbered 1 to %zu)",
			  (int)(st->ref_end - st->ref), st->ref, round->n_questions);
		return;
	}
	const coco_question *q = &round->questions[st->q];
	size_t num = (size_t)st->q + 1;
	ps->error_q = num; /* whatever goes wrong below is about question num */
	if (st->body >= e) {
		add_error(ps, s, e, "no answer after the colon");
		return;
	}
	char *v = NULL;
	char range[64];
	switch (q->kind) {
	case QUESTION_SCALE:
		v = answer_number_value(st->body, e, q->min, q->max);
		if (!v)
			add_error(ps, s, e, "question %zu takes a whole number from %ld to %ld",
				  num, q->min, q->max);
		break;
	case QUESTION_NPS:
		v = answer_number_value(st->body, e, 0, 10);
		if (!v)
			add_error(ps, s, e, "question %zu takes a whole number from 0 to 10", num);
		break;
	case QUESTION_CHOICE: {
		long i = answer_option_match(q, st->body, e);
		if (i >= 0)
			v = xstrdup(q->options[i]);
		else {
			answer_option_range(q, range, sizeof range);
			add_error(ps, s, e,
				  "question %zu takes one of the options %s (or the option's text)",
				  num, range);
		}
		break;
	}
	case QUESTION_MULTI:
		v = answer_multi_value(q, st->body, e);
		if (!v) {
			answer_option_range(q, range, sizeof range);
			add_error(ps, s, e,
				  "question %zu takes one or more of the options %s, like “a c”",
				  num, range);
		}
		break;
	default: /* text answers are opened by the caller, never reach here */
		add_error(ps, s, e, "question %zu cannot be answered this way", num);
		break;
	}
	ps->error_q = 0;
	if (v)
		record_answer(ps, (size_t)st->q, v);
}

static void handle_vote(parser *ps, const char *s, const char *e, const char *body)
{
	if (ps->round->kind != ROUND_VOTE) {
		add_error(ps, s, e, "this round is not a vote");
		return;
	}
	unsigned long long idea, dots, sum = 0;
	const char *p = body, *tok = NULL;
	strbuf gone = {0}; /* withdrawn ideas voted for: refused, the other dots taken */
	size_t n_gone = 0;
	int r;
	/* Check the whole statement first: a vote is taken entirely or not at all, but for
	 * dots on withdrawn ideas, which are said back and left out. */
	while ((r = next_vote_token(&p, e, &idea, &dots, &tok)) > 0) {
		if (idea < 1 || idea > ps->n_ideas) {
			if (ps->n_ideas == 0)
				add_error(ps, s, e, "there are no ideas to vote for");
			else
				add_error(ps, s, e,
					  "there is no idea %.*s (ideas are numbered 1 to %zu)",
					  (int)(p - tok), tok, ps->n_ideas);
			return;
		}
		if (dots == 0) {
			add_error(ps, s, e, "“%.*s” gives no dots", (int)(p - tok), tok);
			strbuf_done(&gone);
			return;
		}
		if (ps->withdrawn && ps->withdrawn[idea - 1]) {
			/* Each withdrawn idea named once, however many dots it was given. */
			const char *q = body, *t2 = NULL;
			unsigned long long i2, d2;
			bool before = false;
			while (!before && q < tok && next_vote_token(&q, e, &i2, &d2, &t2) > 0)
				before = t2 < tok && i2 == idea;
			if (!before)
				strbuf_printf(&gone, "%s%llu", n_gone++ ? " and " : "", idea);
			continue;
		}
		sum = dots > ULLONG_MAX / 2 || sum > ULLONG_MAX / 2 ? ULLONG_MAX / 2 : sum + dots;
	}
	_cleanup_free_ char *gone_list = gone.s ? strbuf_steal(&gone) : NULL;
	if (r < 0) {
		add_error(ps, s, e, "“%.*s” is not an idea number", (int)(p - tok), tok);
		return;
	}
	if (sum == 0 && gone_list) {
		add_error(ps, s, e, "idea%s %s %s withdrawn by %s author%s; give your dots to "
			  "another idea", n_gone == 1 ? "" : "s", gone_list,
			  n_gone == 1 ? "was" : "were", n_gone == 1 ? "its" : "their",
			  n_gone == 1 ? "" : "s");
		return;
	}
	if (sum == 0) {
		add_error(ps, s, e, "say which ideas you vote for, like “vote 1 2 2”");
		return;
	}
	if (ps->res->total_votes + sum > ps->max_votes) {
		add_error(ps, s, e, "too many votes (%llu dots, at most %u)",
			  ps->res->total_votes + sum, ps->max_votes);
		return;
	}
	p = body;
	while (next_vote_token(&p, e, &idea, &dots, &tok) > 0)
		if (!ps->withdrawn || !ps->withdrawn[idea - 1])
			record_vote(ps->res, (size_t)idea, (unsigned)dots);
	ps->n_statements++;
	if (gone_list)
		add_error(ps, s, e, "idea%s %s %s withdrawn by %s author%s, so no dots went to %s; "
			  "your other dots were recorded", n_gone == 1 ? "" : "s", gone_list,
			  n_gone == 1 ? "was" : "were", n_gone == 1 ? "its" : "their",
			  n_gone == 1 ? "" : "s", n_gone == 1 ? "it" : "them");
}

static void handle_skip(parser *ps, const char *s, const char *e, const char *body)
{
	const char *p = body;
	bool any = false;
	for (;;) {
		while (p < e && (answer_ws_len(p, e) || answer_sep_len(p, e)))
			p += answer_ws_len(p, e) ? answer_ws_len(p, e) : answer_sep_len(p, e);
		if (p >= e)
			break;
		const char *t = p;
		while (t < e && !answer_ws_len(t, e) && !answer_sep_len(t, e))
			t++;
		any = true;
		long q = ref_resolve(ps->round, p, t);
		if (q < 0)
			add_error(ps, s, e, "there is no question %.*s to skip", (int)(t - p), p);
		else if (ps->round->questions[q].required)
			add_error(ps, s, e, "question %ld is required and cannot be skipped",
				  q + 1);
		else
			record_skip(ps, (size_t)q);
		p = t;
	}
	if (!any)
		add_error(ps, s, e, "say which question to skip, like “skip 2”");
}

/* Whether s..e is a value question q takes; never for a text question. */
static bool value_fits(const coco_question *q, const char *s, const char *e)
{
	_cleanup_free_ char *v = NULL;
	switch (q->kind) {
	case QUESTION_SCALE:
		v = answer_number_value(s, e, q->min, q->max);
		break;
	case QUESTION_NPS:
		v = answer_number_value(s, e, 0, 10);
		break;
	case QUESTION_CHOICE:
		return s < e && answer_option_match(q, s, e) >= 0;
	case QUESTION_MULTI:
		v = s < e ? answer_multi_value(q, s, e) : NULL;
		break;
	default:
		return false;
	}
	return v != NULL;
}

/* "1. 4" ⏎ "2. b": numbering with a dot is what people type most for "1: 4" (trial 7: it was
 * stored as the text answer). Such lines are answers when at least one of them holds a value
 * its (scale, NPS or choice) question takes; then every "N. …" at the start of a line is an
 * answer like "N) …" (a wrong value refused with its question's rule), but under an open text
 * answer, where it is a line of a numbered list. Else they are text: a numbered list of words
 * ("1. the food" ⏎ "2. the venue") answers the text question as any free text does. */
static bool numbered_answers(const parser *ps)
{
	for (size_t i = 0; i < ps->n_lines; i++) {
		const msg_line *l = &ps->lines[i];
		const char *body, *next;
		long q = dot_number_at(ps->round, l->s, l->e, &body);
		if (q >= 0 && value_fits(&ps->round->questions[q], body,
					 statement_end(ps, body, l->e, &next)))
			return true;
	}
	return false;
}

/* A survey of one question that is no text question. */
static bool one_value_question(const coco_round *r)
{
	return r->kind == ROUND_SURVEY && r->n_questions == 1 &&
	       r->questions[0].kind != QUESTION_TEXT;
}

/* In a one-question survey people answer with the value alone: "4", "4/5", "5 (super
 * semaine)", "3 - tired, but OK" (trial 7: all refused, every member wrote twice). With one
 * question there is no doubt what it answers: a line that is a value it takes, or (a scale or
 * NPS) starts with a digit, answers it as "1: …" would, asides and errors alike. */
static bool single_answer_line(const parser *ps, const char *s, const char *e)
{
	const coco_round *r = ps->round;
	if (!one_value_question(r) || s >= e)
		return false;
	bool number = r->questions[0].kind == QUESTION_SCALE || r->questions[0].kind == QUESTION_NPS;
	return (number && isdigit((unsigned char)*s)) || value_fits(&r->questions[0], s, e);
}

/* --- lines ---------------------------------------------------------------------------------- */

static void open_text(parser *ps, open_kind kind, size_t q, const char *line, const char *line_end,
		      const char *text)
{
	ps->open = kind;
	ps->open_idea_line = false;
	ps->open_dot = false;
	ps->open_q = q;
	ps->open_quote = xstrndup(line, (size_t)(line_end - line));
	strbuf_done(&ps->open_text);
	strbuf_add(&ps->open_text, text, (size_t)(line_end - text));
}

/* After the last line: an empty `idea:` line was a heading when ideas came with it (left
 * out), else a mistake. */
static void empty_idea_done(parser *ps)
{
	_cleanup_free_ char *q = TAKE_PTR(ps->empty_idea);
	if (!q)
		return;
	if (ps->res->n_ideas == 0) {
		add_error(ps, q, q + strlen(q), "no idea after “idea”");
		return;
	}
	if (ps->left_out.len > 0)
		strbuf_puts(&ps->left_out, "\n\n");
	strbuf_puts(&ps->left_out, q);
}

static void close_open(parser *ps)
{
	open_kind kind = ps->open;
	_cleanup_free_ char *quoted = TAKE_PTR(ps->open_quote);
	const char *qs = quoted, *qe = quoted ? quoted + strlen(quoted) : NULL;
	size_t len = ps->open_text.len;
	ps->open = OPEN_NONE;
	if (kind == OPEN_NONE || kind == OPEN_DISCARD) {
		strbuf_done(&ps->open_text);
		return;
	}
	char *text = strbuf_steal(&ps->open_text);
	if (kind == OPEN_FREE) {
		push_strv(&ps->free_paras, &ps->n_free, &ps->cap_free, text);
		return;
	}
	if (len == 0 && kind == OPEN_IDEA && !ps->empty_idea) {
		/* "Ideas:" over a list of them is a heading: said wrong only if no idea follows
		 * (empty_idea_done()) */
		ps->empty_idea = TAKE_PTR(quoted);
		free(text);
	} else if (len == 0) {
		_cleanup_free_ char *before = TAKE_PTR(ps->empty_idea); /* a second one: both said */
		if (before)
			add_error(ps, before, before + strlen(before), "no idea after “idea”");
		add_error(ps, qs, qe, "%s",
			  kind == OPEN_IDEA ? "no idea after “idea”" : "no answer after the colon");
		free(text);
	} else if (len > ANSWER_TEXT_MAX) {
		add_error(ps, qs, qe, "%s too long (%zu bytes, at most %d)",
			  kind == OPEN_IDEA ? "idea" : "answer", len, ANSWER_TEXT_MAX);
		free(text);
	} else if (kind == OPEN_IDEA)
		record_idea(ps, text);
	else
		record_answer(ps, ps->open_q, text);
}

/* Whether the value at body is the word "skip" alone (any case, a full stop or "!" after
 * it), up to the end of its statement; then *ret_end and *ret_next are statement_end()'s. */
static bool answer_is_skip_word(const parser *ps, const char *body, const char *e,
				const char **ret_end, const char **ret_next)
{
	const char *end = statement_end(ps, body, e, ret_next);
	const char *t = end;
	while (t > body && (answer_ws_len(t - 1, end) || t[-1] == '.' || t[-1] == '!'))
		t--;
	*ret_end = end;
	return t - body == 4 && answer_slice_eq_ci(body, t, "skip");
}

static void parse_statements(parser *ps, const char *s, const char *e)
{
	const char *p = s;
	bool first = true;
	while (p < e) {
		stmt st;
		const char *end, *next;
		stmt_kind k = statement_at(ps, p, e, first, &st);
		first = false;
		switch (k) {
		case STMT_ANSWER:
			if (st.q >= 0 && answer_is_skip_word(ps, st.body, e, &end, &next)) {
				/* "5: skip" is what people write for "skip 5" (trial 6: stored as the
				 * text "skip") */
				if (ps->round->questions[st.q].required)
					add_error(ps, p, end, "question %ld is required and cannot be skipped",
						  (long)st.q + 1);
				else
					record_skip(ps, (size_t)st.q);
				break;
			}
			if (st.q >= 0 && ps->round->questions[st.q].kind == QUESTION_TEXT) {
				/* Free text runs to the end of the line, commas and all. */
				open_text(ps, OPEN_ANSWER, (size_t)st.q, p, e, st.body);
				ps->open_dot = st.dot;
				return;
			}
			end = statement_end(ps, st.body, e, &next);
			handle_answer(ps, &st, p, end);
			break;
		case STMT_IDEA:
			if (ps->round->kind != ROUND_PROMPT) {
				add_error(ps, p, e, "this round does not collect ideas");
				open_text(ps, OPEN_DISCARD, 0, p, e, e);
			} else {
				open_text(ps, OPEN_IDEA, 0, p, e, st.body);
				ps->open_idea_line = true;
			}
			return;
		case STMT_VOTE:
			end = statement_end(ps, st.body, e, &next);
			handle_vote(ps, p, end, st.body);
			break;
		case STMT_SKIP:
			end = statement_end(ps, st.body, e, &next);
			handle_skip(ps, p, end, st.body);
			break;
		default: /* cannot happen: statements end only where another one starts */
			add_error(ps, p, e, "not understood");
			return;
		}
		p = next;
	}
}

/* --- mail furniture: greeting, intro, closing, signature ------------------------------------ */

#define SIGNOFF_LINES_MAX 5  /* lines of one closing or signature block */
#define SIGNOFF_BLOCKS_MAX 3 /* "Thanks!" ⏎⏎ "Cheers," "Tom": blocks looked for from the end */
#define SIGNATURE_TAIL_MAX 3 /* lines under a bare name */
#define AFTER_CLOSING_MAX 6  /* lines of a signature under a closing, blank lines apart */

static bool line_is_blank(const msg_line *l)
{
	return l->s == l->e;
}

static bool line_is_statement(const parser *ps, const msg_line *l)
{
	stmt st;
	return l->s < l->e && statement_at(ps, l->s, l->e, true, &st) != STMT_NONE;
}

/* A line that may be furniture: readable text, no statement. */
static bool line_is_plain(const parser *ps, const msg_line *l)
{
	return !line_is_blank(l) && answer_line_is_text(l->s, l->e) && !line_is_statement(ps, l);
}

static bool line_is_intro_like(const parser *ps, const msg_line *l)
{
	return answer_ends_with_colon(l->s, l->e) && !line_is_statement(ps, l);
}

/* Something above line k that is neither furniture nor an intro: what a bare name can sign. */
static bool content_before(const parser *ps, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		const msg_line *l = &ps->lines[i];
		if (!line_is_blank(l) && l->mark == LINE_KEEP && !line_is_intro_like(ps, l))
			return true;
	}
	return false;
}

/* A name over up to SIGNATURE_TAIL_MAX signature lines at k..end-1. */
static bool is_name_block(const parser *ps, size_t k, size_t end)
{
	const msg_line *L = ps->lines;
	if (end - k > 1 + SIGNATURE_TAIL_MAX || !answer_is_name_line(L[k].s, L[k].e))
		return false;
	for (size_t j = k + 1; j < end; j++)
		if (!answer_is_signature_tail(L[j].s, L[j].e, ps->round->kind != ROUND_PROMPT))
			return false;
	return true;
}

/* Everything after a recognised closing is its signature, blank lines and all: a closing
 * with content above it, then up to AFTER_CLOSING_MAX signature lines down to end (trial 7:
 * "Saludos cordiales," ⏎⏎ "Anna López García" / "Directora de Marketing" / "Bergström Retail
 * S.L." under an idea). Returns the closing's line, or SIZE_MAX. */
static size_t closing_above(const parser *ps, size_t end)
{
	const msg_line *L = ps->lines;
	size_t n = 0;
	for (size_t k = end; k-- > 0;) {
		if (line_is_blank(&L[k]))
			continue;
		if (L[k].mark != LINE_KEEP || !line_is_plain(ps, &L[k]))
			return SIZE_MAX;
		if (answer_is_closing(L[k].s, L[k].e))
			return n > 0 && content_before(ps, k) ? k : SIZE_MAX;
		if (++n > AFTER_CLOSING_MAX || !answer_is_signature_line(L[k].s, L[k].e))
			return SIZE_MAX;
	}
	return SIZE_MAX;
}

/* The writer's own name (or a fuller form of it) among lines r0..end-1, over signature lines
 * only, below other content: a signature, even right under a line of text ("Anna" under a
 * paragraph, which a bare name of someone else would continue). Returns its line, or
 * SIZE_MAX. */
static size_t own_name_at(const parser *ps, size_t r0, size_t end)
{
	const msg_line *L = ps->lines;
	for (size_t k = r0; k < end && ps->writer; k++) {
		if (!answer_is_own_name(L[k].s, L[k].e, ps->writer))
			continue;
		bool ok = end - k <= 1 + SIGNATURE_TAIL_MAX;
		for (size_t j = k + 1; j < end && ok; j++)
			ok = answer_is_signature_line(L[j].s, L[j].e);
		if (ok && content_before(ps, k))
			return k;
	}
	return SIZE_MAX;
}

/* Line k a thank-you of its own ("Thank you for organising this!"), a blank line and more
 * under it: it opens the mail, as a greeting does (it became an idea on the ballot, or a
 * line "not understood" in a survey). */
static bool thanks_paragraph(const parser *ps, size_t k)
{
	const msg_line *L = ps->lines;
	if (k + 2 >= ps->n_lines || !line_is_blank(&L[k + 1]) ||
	    !answer_is_thanks_opener(L[k].s, L[k].e))
		return false;
	for (size_t j = k + 2; j < ps->n_lines; j++)
		if (!line_is_blank(&L[j]) && L[j].mark == LINE_KEEP)
			return true;
	return false;
}

/* The first pass: marks the greeting (the first line, or its start before a statement) and,
 * from the end, closing and signature blocks. A closing ("Thanks,") is followed only by names and signature lines. A block without
 * a closing is a bare name, or a name over signature lines after a blank line; it needs other
 * content above it, so that a one-line idea "Dark Mode" stays an idea. A bare name right under
 * a line of text is marked LINE_NAME_SIGNOFF: parse_line() keeps it when it continues an open
 * text answer, idea or paragraph. */
static void mark_furniture(parser *ps)
{
	msg_line *L = ps->lines;
	/* A quoted line ("> …", left between answers typed inline) is the message replied to,
	 * never the member's: coco's own text, personal link included. */
	for (size_t i = 0; i < ps->n_lines; i++) {
		const char *t = answer_skip_ws(L[i].s, L[i].e);
		if (t < L[i].e && *t == '>')
			L[i].mark = LINE_DROP;
	}
	size_t first = 0;
	while (first < ps->n_lines && line_is_blank(&L[first]))
		first++;
	if (first < ps->n_lines && line_is_plain(ps, &L[first])) {
		size_t g = answer_greeting_prefix_len(L[first].s, L[first].e);
		stmt st;
		/* A closing on the first line opens the mail ("Thanks!", "Grüße aus Berlin" over
		 * the ideas): furniture too, and no content that a short line under it could sign
		 * as a bare name (both were taken for signatures, the ideas lost). */
		if (answer_is_greeting(L[first].s, L[first].e) ||
		    answer_is_closing(L[first].s, L[first].e) || thanks_paragraph(ps, first))
			L[first].mark = LINE_DROP;
		else if (g > 0 && statement_at(ps, L[first].s + g, L[first].e, true, &st) != STMT_NONE) {
			L[first].cut = L[first].s;
			L[first].s += g; /* "Hi all, 1: 3" */
		}
	}

	size_t end = ps->n_lines; /* one past the last line left to look at */
	for (int blocks = 0; blocks < SIGNOFF_BLOCKS_MAX; blocks++) {
		while (end > 0 && line_is_blank(&L[end - 1]))
			end--;
		if (end == 0 || L[end - 1].mark != LINE_KEEP || !line_is_plain(ps, &L[end - 1]))
			return;
		size_t r0 = end - 1; /* the plain lines above, up to a blank line */
		while (r0 > 0 && end - r0 < SIGNOFF_LINES_MAX && L[r0 - 1].mark == LINE_KEEP &&
		       line_is_plain(ps, &L[r0 - 1]))
			r0--;
		size_t found = SIZE_MAX;
		line_mark mark = LINE_DROP;
		for (size_t k = r0; k < end && found == SIZE_MAX; k++) {
			if (!answer_is_closing(L[k].s, L[k].e))
				continue;
			bool ok = true;
			for (size_t j = k + 1; j < end && ok; j++)
				ok = answer_is_name(L[j].s, L[j].e) ||
				     answer_is_signature_tail(L[j].s, L[j].e,
							      ps->round->kind != ROUND_PROMPT);
			if (ok)
				found = k;
		}
		if (found == SIZE_MAX)
			found = closing_above(ps, end);
		if (found == SIZE_MAX)
			found = own_name_at(ps, r0, end);
		if (found == SIZE_MAX) {
			bool blank_above = r0 == 0 || line_is_blank(&L[r0 - 1]);
			if (blank_above && is_name_block(ps, r0, end) && content_before(ps, r0))
				found = r0;
			else if (is_name_block(ps, end - 1, end) && content_before(ps, end - 1)) {
				found = end - 1;
				if (found > 0 && !line_is_blank(&L[found - 1]))
					mark = LINE_NAME_SIGNOFF;
			}
		}
		if (found == SIZE_MAX)
			return;
		for (size_t k = found; k < end; k++)
			L[k].mark = mark;
		end = found;
	}
}

/* An intro: "Oops, sorry:", "A few from my side:" — a line ending in ':' that starts a
 * paragraph and leads into statements; in an idea round also into bullets, or into the ideas
 * below when it is a paragraph of its own. */
static bool is_intro(const parser *ps, size_t i)
{
	const msg_line *L = ps->lines;
	if (ps->open != OPEN_NONE || !answer_ends_with_colon(L[i].s, L[i].e))
		return false;
	size_t j = i + 1;
	while (j < ps->n_lines && (line_is_blank(&L[j]) || L[j].mark == LINE_DROP))
		j++;
	if (j >= ps->n_lines || L[j].mark != LINE_KEEP)
		return false;
	if (line_is_statement(ps, &L[j]) ||
	    (!ps->single_tried && single_answer_line(ps, L[j].s, L[j].e)))
		return true;
	if (ps->round->kind != ROUND_PROMPT)
		return false;
	return answer_bullet_len(L[j].s, L[j].e) > 0 || line_is_blank(&L[i + 1]);
}

/* --- a line --------------------------------------------------------------------------------- */

/* Line i (s..e of it) goes to answer_parse_left_out(). */
static void leave_out(parser *ps, size_t i, const char *s, const char *e)
{
	const char *t = answer_trim_end(s, e);
	if (t == s)
		return;
	if (ps->left_out.len > 0)
		strbuf_puts(&ps->left_out, ps->left_out_last == i ? "\n" : "\n\n");
	strbuf_add(&ps->left_out, s, (size_t)(t - s));
	ps->left_out_last = i + 1;
}

/* Whether the line s..e carries on the `idea:` line's idea above it (a sentence the mail client
 * wrapped): the idea so far does not end a sentence, and the line does not start with a
 * capital. Anything else under an `idea:` line is an idea of its own (trial 6: a new
 * sentence on the next line was merged into the idea above). */
static bool idea_continues(const parser *ps, const char *s, const char *e)
{
	const strbuf *t = &ps->open_text;
	char last = t->len > 0 ? t->s[t->len - 1] : 0;
	return last != '.' && last != '!' && last != '?' && !answer_starts_with_capital(s, e);
}

static void parse_line(parser *ps, size_t i)
{
	const msg_line *l = &ps->lines[i];
	const char *s = l->s, *e = l->e;
	if (l->cut)
		leave_out(ps, i, l->cut, s);
	if (s == e) {
		close_open(ps);
		return;
	}
	if (!answer_line_is_text(s, e)) {
		close_open(ps);
		add_error(ps, s, e, "not readable text (binary data or a broken encoding)");
		return;
	}
	if (l->mark == LINE_DROP || (l->mark == LINE_NAME_SIGNOFF && ps->open == OPEN_NONE)) {
		close_open(ps);
		leave_out(ps, i, s, e);
		return;
	}
	stmt st;
	/* "1. …" under a text answer ("3: two things:") is a line of a numbered list in it;
	 * under one numbered so itself ("3. too long"), the next answer */
	if (statement_at(ps, s, e, true, &st) != STMT_NONE &&
	    !(st.dot && ps->open == OPEN_ANSWER && !ps->open_dot)) {
		close_open(ps);
		ps->n_statement_lines++;
		parse_statements(ps, s, e);
		return;
	}
	size_t b = ps->round->kind == ROUND_PROMPT ? answer_bullet_len(s, e) : 0;
	if (b > 0) {
		/* Each bullet is an idea of its own; "- idea: …" is one too. */
		close_open(ps);
		if (statement_at(ps, s + b, e, true, &st) != STMT_NONE) {
			ps->n_statement_lines++;
			parse_statements(ps, s + b, e);
		} else
			open_text(ps, OPEN_IDEA, 0, s, e, s + b);
		return;
	}
	if (is_intro(ps, i))
		return;
	/* The first line of the member's own in a one-question survey. */
	if (ps->open == OPEN_NONE && !ps->single_tried && one_value_question(ps->round)) {
		ps->single_tried = true;
		if (ps->n_statement_lines == 0 && single_answer_line(ps, s, e)) {
			stmt one = {.kind = STMT_ANSWER, .q = 0, .ref = s, .ref_end = s, .body = s};
			ps->n_statement_lines++;
			handle_answer(ps, &one, s, e);
			return;
		}
	}
	if (ps->open == OPEN_IDEA && ps->open_idea_line && !idea_continues(ps, s, e)) {
		/* A new sentence under an `idea:` line: an idea of its own, even one that looks
		 * like a name ("Offline Sync"); the member's own name under it is taken off by
		 * the grammar when it knows the writer (answer_is_own_name()). */
		close_open(ps);
		open_text(ps, OPEN_IDEA, 0, s, e, s);
		return;
	}
	if (ps->open != OPEN_NONE) {
		if (ps->open_text.len > 0)
			strbuf_putc(&ps->open_text, '\n');
		strbuf_add(&ps->open_text, s, (size_t)(e - s));
		return;
	}
	open_text(ps, ps->round->kind == ROUND_PROMPT ? OPEN_IDEA : OPEN_FREE, 0, s, e, s);
}

static bool is_answered(const answer_parse *r, size_t q)
{
	for (size_t j = 0; j < r->n_answers; j++)
		if (r->answers[j].q == q)
			return true;
	for (size_t j = 0; j < r->n_skips; j++)
		if (r->skips[j].q == q)
			return true;
	return false;
}

/* Free text answers the text question only in a reply of nothing but free text, to a round
 * with exactly one text question: then there is no doubt what it answers, and it replaces no
 * answer given in the same message. Anywhere else it is not understood, never stored. */
static void route_free_text(parser *ps)
{
	const coco_round *round = ps->round;
	answer_parse *r = ps->res;
	size_t first_open = 0, target = 0, n_open = 0;
	for (size_t i = 0; i < round->n_questions && ps->n_free > 0; i++) {
		if (round->questions[i].kind != QUESTION_TEXT || is_answered(r, i))
			continue;
		if (n_open++ == 0)
			first_open = i;
		target = i;
	}
	if (n_open == 1 && ps->n_statement_lines == 0) {
		strbuf b = {0};
		for (size_t i = 0; i < ps->n_free; i++) {
			strbuf_puts(&b, i > 0 ? "\n\n" : "");
			strbuf_puts(&b, ps->free_paras[i]);
		}
		if (b.len <= ANSWER_TEXT_MAX) {
			record_answer(ps, target, strbuf_steal(&b));
			return;
		}
		const char *s = ps->free_paras[0];
		add_error(ps, s, s + strlen(s),
			  "answer to question %zu too long (%zu bytes, at most %d)", target + 1,
			  b.len, ANSWER_TEXT_MAX);
		strbuf_done(&b);
		return;
	}
	/* Each line as the member wrote it: two lines quoted as one would be a line they
	 * never wrote. With the line to write where it is clear which. */
	char **ex = answer_examples(round, 0);
	for (size_t i = 0; i < ps->n_free; i++)
		for (const char *s = ps->free_paras[i]; *s;) {
			const char *e = s + strcspn(s, "\n");
			long dq = dot_number_at(round, s, e, NULL);
			if (e > s) {
				if (dq >= 0 && (size_t)dq < strv_length(ex))
					add_error(ps, s, e,
						  "not understood; to answer question %ld, start "
						  "with its number and a colon, like “%s”",
						  dq + 1, ex[dq]);
				else if (one_value_question(round) && ex[0])
					add_error(ps, s, e,
						  "not understood; start with the question's "
						  "number, like “%s”", ex[0]);
				else if (n_open > 0)
					add_error(ps, s, e,
						  "not understood; to answer a question in words, "
						  "start with its number, like “%zu: …”",
						  first_open + 1);
				else
					add_error(ps, s, e, "not understood");
			}
			s = *e ? e + 1 : e;
		}
	strv_free(ex);
}

/* Required questions the message left without an answer (a required one cannot be skipped). */
static void note_missing(parser *ps)
{
	answer_parse *r = ps->res;
	for (size_t q = 0; q < ps->round->n_questions; q++) {
		if (!ps->round->questions[q].required || is_answered(r, q))
			continue;
		r->missing = xrealloc(r->missing, (r->n_missing + 1) * sizeof *r->missing);
		r->missing[r->n_missing++] =
		    (skip_entry){.q = q, .qid = xstrdup(ps->round->questions[q].id)};
	}
}

/* Splits the message into trimmed lines at LF, CRLF or a lone CR. */
static void split_lines(parser *ps, const char *s, const char *e)
{
	size_t cap = 1;
	for (const char *p = s; p < e; p++)
		cap += *p == '\n' || *p == '\r';
	ps->lines = xcalloc(cap, sizeof(msg_line));
	while (s < e) {
		const char *nl = s;
		while (nl < e && *nl != '\n' && *nl != '\r')
			nl++;
		const char *a = answer_skip_ws(s, nl);
		ps->lines[ps->n_lines++] = (msg_line){.s = a, .e = answer_trim_end(a, nl)};
		if (nl < e && *nl == '\r' && nl + 1 < e && nl[1] == '\n')
			nl++;
		s = nl + 1;
	}
}

int answer_parse_mem(const coco_round *round, size_t n_ideas, const void *data, size_t size,
		     answer_parse **ret)
{
	return answer_parse_ballot(round, n_ideas, NULL, NULL, data, size, ret);
}

int answer_parse_ballot(const coco_round *round, size_t n_ideas, const bool *withdrawn,
			const coco_member *writer, const void *data, size_t size,
			answer_parse **ret)
{
	if (!round || (!data && size > 0) || !ret)
		return -EINVAL;
	parser ps = {
	    .round = round,
	    .n_ideas = n_ideas,
	    .withdrawn = withdrawn,
	    .writer = writer,
	    /* config fills in the default; a hand-built round may leave it 0 */
	    .max_votes = round->votes ? round->votes : 3,
	    .res = xcalloc(1, sizeof(answer_parse)),
	};
	if (size > ANSWER_MESSAGE_MAX) {
		add_error(&ps, NULL, NULL, "message too long (%zu bytes, at most %d)", size,
			  ANSWER_MESSAGE_MAX);
		note_missing(&ps);
		*ret = ps.res;
		return 0;
	}
	split_lines(&ps, data, (const char *)data + size);
	ps.dot_numbers = numbered_answers(&ps);
	mark_furniture(&ps);
	for (size_t i = 0; i < ps.n_lines; i++)
		parse_line(&ps, i);
	close_open(&ps);
	empty_idea_done(&ps);
	route_free_text(&ps);
	for (size_t i = 0; i < ps.n_free; i++)
		free(ps.free_paras[i]);
	free(ps.free_paras);
	free(ps.lines);

	answer_parse *r = ps.res;
	if (ps.left_out.len > 0)
		r->left_out = strbuf_steal(&ps.left_out);
	if (ps.n_statements > ANSWER_ITEMS_MAX) {
		/* Nobody answers 200 things in one mail; take none of it rather than guess. */
		result_clear_items(r);
		strv_free(r->errors);
		r->errors = NULL;
		r->n_errors = r->cap_errors = 0;
		ps.errors_dropped = 0;
		add_error(&ps, NULL, NULL, "too many answers in one message (%zu, at most %d)",
			  ps.n_statements, ANSWER_ITEMS_MAX);
	}
	if (ps.errors_dropped > 0) {
		/* The cap is on listed errors; this summary line goes past it on purpose. */
		push_error(r, xasprintf("…and %zu more not understood", ps.errors_dropped), 0);
	}
	note_missing(&ps);
	*ret = r;
	return 0;
}

int answer_parse_text(const coco_round *round, size_t n_ideas, const char *text, answer_parse **ret)
{
	if (!text)
		return -EINVAL;
	return answer_parse_mem(round, n_ideas, text, strlen(text), ret);
}

answer_parse *answer_parse_free(answer_parse *p)
{
	if (!p)
		return NULL;
	result_clear_items(p);
	for (size_t i = 0; i < p->n_missing; i++)
		free(p->missing[i].qid);
	free(p->missing);
	free(p->answers);
	free(p->skips);
	free(p->votes);
	strv_free(p->errors);
	free(p->error_questions);
	free(p->left_out);
	free(p);
	return NULL;
}

const char *answer_parse_left_out(const answer_parse *p)
{
	return p && p->left_out ? p->left_out : "";
}

void answer_parse_freep(answer_parse **p)
{
	*p = answer_parse_free(*p);
}
