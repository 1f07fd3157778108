/* answer-format: reading a parse result and saying it back. It owns the accessors of answer.h,
 * the confirmation echo, the help line for a round and the JSON record for answers.jsonl. The
 * result itself is built by the parser in answer.c; see answer-private.h. */
#define _GNU_SOURCE
#include "answer-private.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static char *const empty_strv[] = {NULL};

/* --- accessors ------------------------------------------------------------------------------ */

size_t answer_parse_n_items(const answer_parse *p)
{
	return p->n_answers + p->n_skips + p->n_ideas + p->n_votes;
}

size_t answer_parse_n_answers(const answer_parse *p)
{
	return p->n_answers;
}

const char *answer_parse_answer_question(const answer_parse *p, size_t i)
{
	return i < p->n_answers ? p->answers[i].qid : NULL;
}

size_t answer_parse_answer_number(const answer_parse *p, size_t i)
{
	return i < p->n_answers ? p->answers[i].q + 1 : 0;
}

const char *answer_parse_answer_value(const answer_parse *p, size_t i)
{
	return i < p->n_answers ? p->answers[i].value : NULL;
}

size_t answer_parse_n_skips(const answer_parse *p)
{
	return p->n_skips;
}

const char *answer_parse_skip_question(const answer_parse *p, size_t i)
{
	return i < p->n_skips ? p->skips[i].qid : NULL;
}

size_t answer_parse_skip_number(const answer_parse *p, size_t i)
{
	return i < p->n_skips ? p->skips[i].q + 1 : 0;
}

size_t answer_parse_n_missing(const answer_parse *p)
{
	return p->n_missing;
}

const char *answer_parse_missing_question(const answer_parse *p, size_t i)
{
	return i < p->n_missing ? p->missing[i].qid : NULL;
}

size_t answer_parse_missing_number(const answer_parse *p, size_t i)
{
	return i < p->n_missing ? p->missing[i].q + 1 : 0;
}

char *const *answer_parse_ideas(const answer_parse *p)
{
	return p->ideas ? p->ideas : empty_strv;
}

bool answer_parse_drop_idea(answer_parse *p, size_t i)
{
	if (!p || i >= p->n_ideas)
		return false;
	char *idea = p->ideas[i];
	memmove(p->ideas + i, p->ideas + i + 1, (p->n_ideas - i) * sizeof(char *));
	p->n_ideas--;
	char *lo = p->left_out && *p->left_out ? xasprintf("%s\n\n%s", p->left_out, idea)
					       : xstrdup(idea);
	free(p->left_out);
	p->left_out = lo;
	free(idea);
	return true;
}

size_t answer_parse_n_ideas(const answer_parse *p)
{
	return p->n_ideas;
}

unsigned answer_parse_votes_for(const answer_parse *p, size_t idea)
{
	for (size_t i = 0; i < p->n_votes; i++)
		if (p->votes[i].idea == idea)
			return p->votes[i].dots;
	return 0;
}

unsigned answer_parse_total_votes(const answer_parse *p)
{
	return p->total_votes;
}

char *const *answer_parse_errors(const answer_parse *p)
{
	return p->errors ? p->errors : empty_strv;
}

size_t answer_parse_n_errors(const answer_parse *p)
{
	return p->n_errors;
}

size_t answer_parse_error_question(const answer_parse *p, size_t i)
{
	return i < p->n_errors && p->error_questions ? p->error_questions[i] : 0;
}

/* --- output --------------------------------------------------------------------------------- */

static void sep_item(strbuf *b)
{
	strbuf_puts(b, b->len ? ", " : "We recorded: ");
}

char *answer_confirmation(const answer_parse *p)
{
	strbuf b = {0};
	for (size_t i = 0; i < p->n_answers; i++) {
		const answer_entry *a = &p->answers[i];
		sep_item(&b);
		strbuf_printf(&b, "%zu → ", a->q + 1);
		if (a->kind == QUESTION_TEXT) {
			_cleanup_free_ char *q =
			    answer_quote(a->value, a->value + strlen(a->value));
			strbuf_puts(&b, q);
		} else
			for (const char *v = a->value; *v; v++)
				if (*v == '|')
					strbuf_puts(&b, " + ");
				else
					strbuf_putc(&b, *v);
	}
	for (size_t i = 0; i < p->n_skips; i++) {
		sep_item(&b);
		strbuf_printf(&b, "skipped %zu", p->skips[i].q + 1);
	}
	for (size_t i = 0; i < p->n_ideas; i++) {
		_cleanup_free_ char *q =
		    answer_quote(p->ideas[i], p->ideas[i] + strlen(p->ideas[i]));
		sep_item(&b);
		strbuf_printf(&b, "idea %s", q);
	}
	for (size_t i = 0; i < p->n_votes; i++) {
		if (i == 0) {
			sep_item(&b);
			strbuf_puts(&b, "votes ");
		} else
			strbuf_puts(&b, ", ");
		strbuf_printf(&b, "%zu×%u", p->votes[i].idea, p->votes[i].dots);
	}
	if (!b.len)
		strbuf_puts(&b, "We recorded nothing");
	return strbuf_steal(&b);
}

char *answer_missing_required(const answer_parse *p, char *const *answered_before)
{
	size_t n = 0, *nums = xcalloc(p->n_missing + 1, sizeof(size_t));
	for (size_t i = 0; i < p->n_missing; i++) {
		bool before = false;
		for (char *const *a = answered_before; a && *a && !before; a++)
			before = STREQ(*a, p->missing[i].qid);
		if (!before)
			nums[n++] = p->missing[i].q + 1;
	}
	if (n == 0) {
		free(nums);
		return NULL;
	}
	strbuf b = {0};
	strbuf_puts(&b, n == 1 ? "Question " : "Questions ");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&b, "%s%zu", i == 0 ? "" : i == n - 1 ? " and " : ", ", nums[i]);
	strbuf_puts(&b, n == 1 ? " is required and still has no answer"
			       : " are required and still have no answer");
	free(nums);
	return strbuf_steal(&b);
}

static void example_value(strbuf *b, const coco_question *q)
{
	switch (q->kind) {
	case QUESTION_SCALE:
		strbuf_printf(b, "%ld", q->max - q->min >= 2 ? q->max - 1 : q->max);
		break;
	case QUESTION_NPS:
		strbuf_puts(b, "9");
		break;
	case QUESTION_CHOICE:
		strbuf_puts(b, q->n_options > 26 ? "2" : q->n_options >= 2 ? "b" : "a");
		break;
	case QUESTION_MULTI:
		strbuf_puts(b, q->n_options > 26   ? "1 3"
			       : q->n_options >= 3 ? "a c"
			       : q->n_options == 2 ? "a b"
						   : "a");
		break;
	default:
		strbuf_puts(b, "your words");
		break;
	}
}

char **answer_examples(const coco_round *round, size_t n_ideas)
{
	char **v = xcalloc(1, sizeof(char *)); /* an empty list for a round needing no reply */
	if (round->kind == ROUND_PROMPT) {
		strv_push(&v, xstrdup("idea: your first idea"));
		strv_push(&v, xstrdup("idea: another idea"));
		return v;
	}
	if (round->kind == ROUND_VOTE) {
		/* Only ideas that are on the ballot; n_ideas 0 means it is not known here. */
		unsigned k = round->votes ? round->votes : 3;
		const char *ex = k == 1 || n_ideas == 1 ? "vote 1"
				 : n_ideas == 2		 ? "vote 1 2"
							 : "vote 1 3";
		strv_push(&v, xstrdup(ex));
		return v;
	}
	/* One line per question, in question order: a text answer runs to the end of its line
	 * (and on below it, until the next statement), so each answer gets a line of its own. */
	for (size_t i = 0; i < round->n_questions; i++) {
		strbuf b = {0};
		strbuf_printf(&b, "%zu: ", i + 1);
		example_value(&b, &round->questions[i]);
		strv_push(&v, strbuf_steal(&b));
	}
	return v;
}

char *answer_skip_example(const coco_round *round)
{
	if (round->kind != ROUND_SURVEY)
		return NULL;
	for (size_t i = 0; i < round->n_questions; i++)
		if (!round->questions[i].required)
			return xasprintf("skip %zu", i + 1);
	return NULL;
}

char *answer_help(const coco_round *round)
{
	strbuf b = {0};
	if (round->kind == ROUND_PROMPT)
		return xstrdup(
		    "Reply like this: idea: your idea (one idea a line, or one a paragraph)");
	if (round->kind == ROUND_VOTE) {
		unsigned k = round->votes ? round->votes : 3;
		strbuf_printf(&b, "Reply like this: vote %s (%u dot%s in all",
			      k >= 3   ? "1 2 2"
			      : k == 2 ? "1 2"
				       : "1",
			      k, k == 1 ? "" : "s");
		if (k > 1)
			strbuf_puts(&b, "; repeat a number to give an idea more than one");
		strbuf_puts(&b, ")");
		return strbuf_steal(&b);
	}
	if (round->n_questions == 0)
		return xstrdup("This message needs no reply");

	/* The same lines as answer_examples(): one answer a line, whatever the questions. */
	char **ex = answer_examples(round, 0);
	strbuf_puts(&b, "Reply like this, one answer a line:");
	for (char **e = ex; *e; e++) {
		strbuf_putc(&b, '\n');
		strbuf_puts(&b, *e);
	}
	strv_free(ex);
	_cleanup_free_ char *skip = answer_skip_example(round);
	if (skip)
		strbuf_printf(&b, "\nTo leave out a question that is not required: %s", skip);
	return strbuf_steal(&b);
}

int answer_parse_to_json(const answer_parse *p, cJSON **ret)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *answers = cJSON_AddObjectToObject(o, "answers");
	cJSON *ideas = cJSON_AddArrayToObject(o, "ideas");
	cJSON *votes = cJSON_AddObjectToObject(o, "votes");
	cJSON *skips = cJSON_AddArrayToObject(o, "skips");
	bool ok = o && answers && ideas && votes && skips;
	for (size_t i = 0; ok && i < p->n_answers; i++) {
		const answer_entry *a = &p->answers[i];
		if (a->kind != QUESTION_MULTI) {
			ok = cJSON_AddStringToObject(answers, a->qid, a->value);
			continue;
		}
		cJSON *list = cJSON_AddArrayToObject(answers, a->qid);
		ok = list;
		for (const char *v = a->value; ok && *v;) {
			size_t n = strcspn(v, "|");
			_cleanup_free_ char *opt = xstrndup(v, n);
			cJSON *s = cJSON_CreateString(opt);
			ok = s && cJSON_AddItemToArray(list, s);
			v += n + (v[n] == '|');
		}
	}
	for (size_t i = 0; ok && i < p->n_ideas; i++) {
		cJSON *s = cJSON_CreateString(p->ideas[i]);
		ok = s && cJSON_AddItemToArray(ideas, s);
	}
	for (size_t i = 0; ok && i < p->n_votes; i++) {
		char key[32];
		snprintf(key, sizeof key, "%zu", p->votes[i].idea);
		ok = cJSON_AddNumberToObject(votes, key, p->votes[i].dots);
	}
	for (size_t i = 0; ok && i < p->n_skips; i++) {
		cJSON *s = cJSON_CreateString(p->skips[i].qid);
		ok = s && cJSON_AddItemToArray(skips, s);
	}
	if (!ok) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}
