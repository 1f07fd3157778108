/* web-form: what the web view says about a form that was sent. Before anything goes to the
 * core, each field is checked (web_form_check()): a value the round cannot take, a text
 * too long, dots past the member's budget or on a withdrawn idea are errors at their
 * field, said in the form's own words, and nothing is handed on; the form is shown again
 * with what they entered. After the core said the answer is durable, the member's
 * current answers are read back and set against what was sent (web_done_data()): the
 * page lists what was recorded and, should the core have taken less, what was not. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "digest.h"
#include "util.h"
#include "web-private.h"

void web_form_errors_done(web_form_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->fields[i]);
		free(e->messages[i]);
	}
	free(e->fields);
	free(e->messages);
	*e = (web_form_errors){0};
}

void web_form_errors_add(web_form_errors *e, const char *field, char *message)
{
	e->fields = xrealloc(e->fields, (e->n + 1) * sizeof *e->fields);
	e->messages = xrealloc(e->messages, (e->n + 1) * sizeof *e->messages);
	e->fields[e->n] = xstrdup(field);
	e->messages[e->n] = message;
	e->n++;
}

const char *web_form_error(const web_form_errors *e, const char *field)
{
	for (size_t i = 0; e && i < e->n; i++)
		if (STREQ(e->fields[i], field))
			return e->messages[i];
	return NULL;
}

/* A text as the grammar gets it: one line, outer blanks gone. */
static size_t one_line_len(const char *s)
{
	_cleanup_free_ char *v = xstrdup(s);
	for (char *p = v; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	strstrip(v);
	return strlen(v);
}

static char *too_long(size_t len)
{
	return xasprintf("This is too long for coco: %zu bytes, at most %d (a letter with an "
	                 "accent takes two, other scripts up to four). Please shorten it.",
	                 len, ANSWER_TEXT_MAX);
}

static void check_question(const coco_question *q, const char *name, const web_form *f,
                           web_form_errors *e)
{
	for (size_t k = 0; k < f->n; k++) {
		if (!STREQ(f->names[k], name))
			continue;
		_cleanup_free_ char *v = xstrdup(f->values[k]);
		strstrip(v);
		if (!*v)
			continue;
		long n;
		switch (q->kind) {
		case QUESTION_SCALE:
		case QUESTION_NPS: {
			long lo = q->kind == QUESTION_NPS ? 0 : q->min, hi = q->kind == QUESTION_NPS ? 10 : q->max;
			if (parse_long(v, lo, hi, &n) < 0) {
				web_form_errors_add(e, name, xasprintf("Choose one of the values from %ld to %ld.", lo, hi));
				return;
			}
			break;
		}
		case QUESTION_CHOICE:
		case QUESTION_MULTI:
			if (strlen(v) != 1 || v[0] < 'a' || (size_t)(v[0] - 'a') >= q->n_options ||
			    v[0] - 'a' >= 26) {
				web_form_errors_add(e, name, xstrdup("Choose from the options shown."));
				return;
			}
			break;
		default:
			if (one_line_len(v) > ANSWER_TEXT_MAX) {
				web_form_errors_add(e, name, too_long(one_line_len(v)));
				return;
			}
		}
	}
}

int web_form_check(const coco_round *r, char *const *ballot, const web_form *f,
                   web_form_errors *ret)
{
	web_form_errors e = {0};
	for (size_t i = 0; i < r->n_questions; i++) {
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		check_question(&r->questions[i], name, f, &e);
	}
	const char *ideas = web_form_get(f, "ideas");
	if (r->kind == ROUND_PROMPT && ideas) {
		size_t line = 0, n = 0;
		for (const char *p = ideas; *p;) {
			size_t len = strcspn(p, "\r\n");
			_cleanup_free_ char *one = xstrndup(p, len);
			strstrip(one);
			line++;
			if (*one)
				n++;
			if (strlen(one) > ANSWER_TEXT_MAX && !web_form_error(&e, "ideas")) {
				_cleanup_free_ char *why = too_long(strlen(one));
				web_form_errors_add(&e, "ideas", xasprintf("The idea on line %zu: %s", line, why));
			}
			p += len;
			if (*p == '\r' && p[1] == '\n')
				p++;
			if (*p)
				p++;
		}
		if (n + r->n_questions > ANSWER_ITEMS_MAX && !web_form_error(&e, "ideas"))
			web_form_errors_add(&e, "ideas", xasprintf("That is %zu ideas: coco takes at most %zu in one "
			                               "go. Please send the rest in a second form.", n,
			                               ANSWER_ITEMS_MAX - r->n_questions));
	}
	if (r->kind == ROUND_VOTE) {
		unsigned budget = r->votes ? r->votes : 3;
		size_t n_ballot = strv_length((char **)ballot);
		long total = 0;
		for (size_t k = 0; k < f->n; k++) {
			long idea, dots;
			if (strncmp(f->names[k], "vote-", 5) != 0)
				continue;
			_cleanup_free_ char *v = xstrdup(f->values[k]);
			strstrip(v);
			if (parse_long(f->names[k] + 5, 1, 100000, &idea) < 0 || (size_t)idea > n_ballot) {
				web_form_errors_add(&e, "votes", xstrdup("The form named an idea that is not on the "
				                             "ballot. Please use the form as it is now."));
				continue;
			}
			if (!*v)
				continue;
			if (parse_long(v, 0, budget, &dots) < 0) {
				web_form_errors_add(&e, f->names[k], xasprintf("Give a whole number of dots, from 0 to "
				                                   "%u.", budget));
				continue;
			}
			if (dots > 0 && STREQ(ballot[idea - 1], DIGEST_IDEA_WITHDRAWN)) {
				web_form_errors_add(&e, f->names[k], xstrdup("This idea was withdrawn by its author: "
				                                 "it takes no dots."));
				continue;
			}
			total += dots;
		}
		if (total > (long)budget)
			web_form_errors_add(&e, "votes", xasprintf("You gave %ld dots, but you have %u: please take "
			                               "%ld away.", total, budget, total - (long)budget));
	}
	*ret = e;
	return e.n ? -EINVAL : 0;
}

/* ---- what was recorded ---- */

static char *value_words(const char *v)
{
	/* A multi choice comes as "Phone|Laptop". */
	strbuf b = {0};
	for (const char *p = v; *p; p++)
		if (*p == '|')
			strbuf_puts(&b, ", ");
		else
			strbuf_putc(&b, *p);
	return strbuf_steal(&b);
}

static bool stored_equals(const cJSON *stored, const char *value)
{
	if (cJSON_IsString(stored))
		return STREQ(stored->valuestring, value);
	if (!cJSON_IsArray(stored))
		return false;
	strbuf b = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, stored)
	strbuf_printf(&b, "%s%s", b.len ? "|" : "", cJSON_IsString(it) ? it->valuestring : "");
	bool eq = STREQ(b.s ? b.s : "", value);
	strbuf_done(&b);
	return eq;
}

static void add_item(cJSON *list, const char *label, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "label", label);
	cJSON_AddStringToObject(o, "value", value);
	cJSON_AddItemToArray(list, o);
}

cJSON *web_done_data(channel *c, const coco_campaign *camp, const coco_round *r,
                     const coco_member *mb, const char *occ, const char *text)
{
	char **ballot = web_ballot(c, camp, r);
	size_t n_ballot = strv_length(ballot);
	_cleanup_answer_parse_ answer_parse *ap = NULL;
	if (answer_parse_text(r, n_ballot, text, &ap) < 0) {
		strv_free(ballot);
		return NULL;
	}
	cJSON *cur = web_member_current(c, camp, r, mb, occ);
	const cJSON *answers = cJSON_GetObjectItemCaseSensitive(cur, "answers");
	const cJSON *votes = cJSON_GetObjectItemCaseSensitive(cur, "votes");
	const cJSON *ideas = cJSON_GetObjectItemCaseSensitive(cur, "ideas");
	cJSON *d = cJSON_CreateObject();
	cJSON *rec = cJSON_AddArrayToObject(d, "recorded");
	cJSON *not = cJSON_AddArrayToObject(d, "not_recorded");

	for (size_t i = 0; i < answer_parse_n_answers(ap); i++) {
		const char *qid = answer_parse_answer_question(ap, i);
		const char *v = answer_parse_answer_value(ap, i);
		const coco_question *q = NULL;
		for (size_t k = 0; k < r->n_questions && !q; k++)
			if (STREQ(r->questions[k].id, qid))
				q = &r->questions[k];
		_cleanup_free_ char *label = xasprintf("%zu. %s", answer_parse_answer_number(ap, i),
		                                       q && q->text ? q->text : qid);
		_cleanup_free_ char *words = q && q->kind == QUESTION_MULTI ? value_words(v) : xstrdup(v);
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(answers, qid);
		add_item(stored_equals(s, v) ? rec : not, label, words);
	}
	char *const *new_ideas = answer_parse_ideas(ap);
	for (size_t i = 0; new_ideas[i]; i++) {
		bool found = false;
		const cJSON *it;
		cJSON_ArrayForEach(it, ideas)
		found = found || (cJSON_IsString(it) && STREQ(it->valuestring, new_ideas[i]));
		add_item(found ? rec : not, "Idea", new_ideas[i]);
	}
	if (r->kind == ROUND_VOTE && answer_parse_total_votes(ap) > 0) {
		for (size_t i = 1; i <= n_ballot; i++) {
			unsigned dots = answer_parse_votes_for(ap, i);
			if (!dots)
				continue;
			char num[24];
			snprintf(num, sizeof num, "%zu", i);
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(votes, num);
			bool stored = cJSON_IsNumber(v) && (unsigned)v->valuedouble == dots;
			_cleanup_free_ char *label = xasprintf("Idea %zu, %s", i, ballot[i - 1]);
			_cleanup_free_ char *value = xasprintf("%u dot%s", dots, dots == 1 ? "" : "s");
			add_item(stored ? rec : not, label, value);
		}
	}
	/* Required questions still without an answer, this form and earlier answers together. */
	cJSON *missing = cJSON_AddArrayToObject(d, "missing");
	for (size_t k = 0; k < r->n_questions; k++) {
		const coco_question *q = &r->questions[k];
		if (q->required && !cJSON_GetObjectItemCaseSensitive(answers, q->id)) {
			_cleanup_free_ char *label = xasprintf("%zu. %s", k + 1, q->text ? q->text : q->id);
			cJSON_AddItemToArray(missing, cJSON_CreateString(label));
		}
	}
	size_t n_rec = (size_t)cJSON_GetArraySize(rec), n_not = (size_t)cJSON_GetArraySize(not);
	cJSON_AddBoolToObject(d, "all_recorded", n_not == 0 && n_rec > 0);
	cJSON_AddBoolToObject(d, "partly_recorded", n_not > 0 && n_rec > 0);
	cJSON_AddBoolToObject(d, "none_recorded", n_rec == 0);
	cJSON_Delete(cur);
	strv_free(ballot);
	return d;
}
