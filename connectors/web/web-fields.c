/* web-fields: the answer form's side of the web view: a form body decoded, the form's data
 * (prefilled with the member's current answers, or with what they sent and the errors at
 * their fields), and its fields turned into the answer grammar's text, what a member would
 * have typed in a mail. Reads the store, never writes it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "util.h"
#include "web-private.h"

/* ---- forms ---- */

static int hexval(int ch)
{
	return isdigit(ch) ? ch - '0' : isxdigit(ch) ? (tolower(ch) - 'a' + 10) : -1;
}

static char *form_decode(const char *s, size_t n)
{
	strbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			strbuf_putc(&b, ' ');
		else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		         hexval((unsigned char)s[i + 2]) >= 0) {
			char ch = (char)(hexval((unsigned char)s[i + 1]) * 16 +
			                 hexval((unsigned char)s[i + 2]));
			strbuf_putc(&b, ch ? ch : ' '); /* no NUL inside a C string */
			i += 2;
		} else
			strbuf_putc(&b, s[i]);
	}
	return strbuf_steal(&b);
}

int web_form_parse(const char *body, size_t len, web_form *ret)
{
	web_form f = {0};
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && body[j] != '&')
			j++;
		const char *eq = memchr(body + i, '=', j - i);
		if (j > i) {
			if (f.n >= 1000) {
				web_form_done(&f);
				return -E2BIG;
			}
			size_t nl = eq ? (size_t)(eq - (body + i)) : j - i;
			f.names = xrealloc(f.names, (f.n + 1) * sizeof *f.names);
			f.values = xrealloc(f.values, (f.n + 1) * sizeof *f.values);
			f.names[f.n] = form_decode(body + i, nl);
			f.values[f.n] = eq ? form_decode(eq + 1, (size_t)(body + j - eq - 1)) : xstrdup("");
			f.n++;
		}
		i = j + 1;
	}
	*ret = f;
	return 0;
}

void web_form_done(web_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->names[i]);
		free(f->values[i]);
	}
	free(f->names);
	free(f->values);
	*f = (web_form){0};
}

const char *web_form_get(const web_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (STREQ(f->names[i], name))
			return f->values[i];
	return NULL;
}


/* ---- the form ---- */

typedef struct prefill {
	const char *member, *pseudo;
	cJSON *answers; /* question id → the current value */
	cJSON *votes;   /* the latest votes */
	cJSON *ideas;   /* every idea, in file order */
} prefill;

static int on_prefill_line(const char *line, size_t len, void *userdata)
{
	prefill *p = userdata;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "member"));
	const char *ps = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "pseudo"));
	if (!rec || !((m && STREQ(m, p->member)) || (ps && p->pseudo && STREQ(ps, p->pseudo)))) {
		cJSON_Delete(rec);
		return 0;
	}
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "answers"))
	{
		cJSON_DeleteItemFromObjectCaseSensitive(p->answers, it->string);
		cJSON_AddItemToObject(p->answers, it->string, cJSON_Duplicate(it, 1));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "skips"))
	if (cJSON_IsString(it))
		cJSON_DeleteItemFromObjectCaseSensitive(p->answers, it->valuestring);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "ideas"))
	if (cJSON_IsString(it))
		cJSON_AddItemToArray(p->ideas, cJSON_CreateString(it->valuestring));
	cJSON *v = cJSON_GetObjectItem(rec, "votes");
	if (cJSON_GetArraySize(v) > 0) {
		cJSON_Delete(p->votes);
		p->votes = cJSON_Duplicate(v, 1);
	}
	cJSON_Delete(rec);
	return 0;
}

static bool value_has(const cJSON *v, const char *option)
{
	if (cJSON_IsString(v))
		return strcasecmp(v->valuestring, option) == 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	if (cJSON_IsString(e) && strcasecmp(e->valuestring, option) == 0)
		return true;
	return false;
}

static void add_choice(cJSON *list, const char *qname, const char *value, const char *label,
                       bool checked)
{
	cJSON *o = cJSON_CreateObject();
	_cleanup_free_ char *id = xasprintf("%s-%s", qname, value);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "value", value);
	cJSON_AddStringToObject(o, "label", label);
	cJSON_AddBoolToObject(o, "checked", checked);
	cJSON_AddItemToArray(list, o);
}

cJSON *web_member_current(channel *c, const coco_campaign *camp, const coco_round *r,
                          const coco_member *mb, const char *occ)
{
	char pseudo[SECRET_PSEUDO_LEN + 1];
	secret_pseudonym(&c->key, camp->id, mb->id, pseudo);
	prefill p = {.member = mb->id, .pseudo = r->anonymous ? pseudo : NULL,
	             .answers = cJSON_CreateObject(), .ideas = cJSON_CreateArray()};
	_cleanup_free_ char *path = xasprintf("campaigns/%s/rounds/%s/%s/answers.jsonl", camp->id,
	                                      r->id, occ);
	(void)store_scan(c->st, path, on_prefill_line, &p);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "answers", p.answers);
	cJSON_AddItemToObject(o, "votes", p.votes ? p.votes : cJSON_CreateObject());
	cJSON_AddItemToObject(o, "ideas", p.ideas);
	return o;
}

/* What a member sent, in the shape of stored answers (as web_member_current() gives them),
 * so the form shows it again: a scale's number, a choice's option, a multi's options. */
static cJSON *entered_answers(const coco_round *r, const web_form *f)
{
	cJSON *a = cJSON_CreateObject();
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		cJSON *multi = q->kind == QUESTION_MULTI ? cJSON_CreateArray() : NULL;
		for (size_t k = 0; k < f->n; k++) {
			if (!STREQ(f->names[k], name))
				continue;
			const char *v = f->values[k];
			const char *opt = NULL;
			if ((q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI) && strlen(v) == 1 &&
			    v[0] >= 'a' && (size_t)(v[0] - 'a') < q->n_options)
				opt = q->options[v[0] - 'a'];
			if (multi) {
				if (opt)
					cJSON_AddItemToArray(multi, cJSON_CreateString(opt));
				continue;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(a, q->id);
			cJSON_AddStringToObject(a, q->id, opt ? opt : v);
		}
		if (multi)
			cJSON_AddItemToObject(a, q->id, multi);
	}
	return a;
}

cJSON *web_form_data(channel *c, const coco_campaign *camp, const coco_round *r,
                     const coco_member *mb, const char *occ, const web_form *entered,
                     const web_form_errors *errs)
{
	cJSON *current = web_member_current(c, camp, r, mb, occ);
	prefill p = {0};
	if (entered)
		p.answers = entered_answers(r, entered);
	else
		p.answers = cJSON_DetachItemFromObjectCaseSensitive(current, "answers");
	p.votes = cJSON_DetachItemFromObjectCaseSensitive(current, "votes");
	cJSON_Delete(current);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "occurrence", occ);
	cJSON *rj = cJSON_AddObjectToObject(o, "round");
	cJSON_AddStringToObject(rj, "id", r->id);
	cJSON_AddStringToObject(rj, "title", r->title ? r->title : r->id);
	if (r->text)
		cJSON_AddStringToObject(rj, "text", r->text);
	cJSON_AddBoolToObject(rj, "anonymous", r->anonymous);
	cJSON_AddBoolToObject(o, "is_survey", r->kind == ROUND_SURVEY);
	cJSON_AddBoolToObject(o, "is_prompt", r->kind == ROUND_PROMPT);
	cJSON_AddBoolToObject(o, "is_vote", r->kind == ROUND_VOTE);
	cJSON *qs = cJSON_AddArrayToObject(o, "questions");
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(p.answers, q->id);
		cJSON *qj = cJSON_CreateObject();
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		cJSON_AddNumberToObject(qj, "number", (double)(i + 1));
		cJSON_AddStringToObject(qj, "name", name);
		cJSON_AddStringToObject(qj, "text", q->text ? q->text : q->id);
		cJSON_AddBoolToObject(qj, "required", q->required);
		const char *err = web_form_error(errs, name);
		if (err)
			cJSON_AddStringToObject(qj, "error", err);
		cJSON *choices = cJSON_AddArrayToObject(qj, "choices");
		switch (q->kind) {
		case QUESTION_SCALE:
		case QUESTION_NPS: {
			long lo = q->kind == QUESTION_NPS ? 0 : q->min, hi = q->kind == QUESTION_NPS ? 10 : q->max;
			for (long v = lo; v <= hi && v - lo < 101; v++) {
				char s[24];
				snprintf(s, sizeof s, "%ld", v);
				add_choice(choices, name, s, s, value_has(cur, s));
			}
			cJSON_AddBoolToObject(qj, "is_radio", true);
			/* The labels' numbers, as the mail has them ("1 = …, 5 = …"). */
			cJSON_AddNumberToObject(qj, "min", (double)lo);
			cJSON_AddNumberToObject(qj, "max", (double)hi);
			if (q->min_label)
				cJSON_AddStringToObject(qj, "min_label", q->min_label);
			if (q->max_label)
				cJSON_AddStringToObject(qj, "max_label", q->max_label);
			break;
		}
		case QUESTION_CHOICE:
		case QUESTION_MULTI:
			for (size_t k = 0; k < q->n_options && k < 26; k++) {
				char s[2] = {(char)('a' + k), 0};
				add_choice(choices, name, s, q->options[k], value_has(cur, q->options[k]));
			}
			cJSON_AddBoolToObject(qj, q->kind == QUESTION_MULTI ? "is_check" : "is_radio", true);
			break;
		default:
			cJSON_AddBoolToObject(qj, "is_text", true);
			if (cJSON_IsString(cur))
				cJSON_AddStringToObject(qj, "value", cur->valuestring);
		}
		cJSON_AddItemToArray(qs, qj);
	}
	if (r->kind == ROUND_PROMPT && entered) {
		const char *ideas = web_form_get(entered, "ideas");
		if (ideas)
			cJSON_AddStringToObject(o, "ideas_text", ideas);
	}
	if (web_form_error(errs, "ideas"))
		cJSON_AddStringToObject(o, "ideas_error", web_form_error(errs, "ideas"));
	if (r->kind == ROUND_VOTE) {
		char **ballot = web_ballot(c, camp, r);
		cJSON *ideas = cJSON_AddArrayToObject(o, "ideas");
		for (size_t i = 0; ballot && ballot[i]; i++) {
			cJSON *ij = cJSON_CreateObject();
			char num[24];
			snprintf(num, sizeof num, "%zu", i + 1);
			_cleanup_free_ char *name = xasprintf("vote-%zu", i + 1);
			cJSON_AddStringToObject(ij, "number", num);
			cJSON_AddStringToObject(ij, "name", name);
			cJSON_AddStringToObject(ij, "text", ballot[i]);
			/* A withdrawn idea keeps its number (the others' stay) but takes no dots. */
			if (STREQ(ballot[i], DIGEST_IDEA_WITHDRAWN))
				cJSON_AddBoolToObject(ij, "withdrawn", true);
			const char *typed = entered ? web_form_get(entered, name) : NULL;
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(p.votes, num);
			if (typed)
				cJSON_AddStringToObject(ij, "dots", typed);
			else
				cJSON_AddNumberToObject(ij, "dots", cJSON_IsNumber(v) ? v->valuedouble : 0);
			const char *err = web_form_error(errs, name);
			if (err)
				cJSON_AddStringToObject(ij, "error", err);
			cJSON_AddItemToArray(ideas, ij);
		}
		strv_free(ballot);
		unsigned budget = r->votes ? r->votes : 3;
		cJSON_AddNumberToObject(o, "votes", budget);
		cJSON_AddStringToObject(o, "votes_word", budget == 1 ? "dot" : "dots");
		if (web_form_error(errs, "votes"))
			cJSON_AddStringToObject(o, "votes_error", web_form_error(errs, "votes"));
	}
	/* The errors together at the top, each linking to its field. */
	if (errs && errs->n) {
		cJSON *list = cJSON_AddArrayToObject(o, "errors");
		for (size_t i = 0; i < errs->n; i++) {
			cJSON *e = cJSON_CreateObject();
			const char *f = errs->fields[i];
			/* The field's id: a question's fieldset, an idea's input, the vote's or the
			 * ideas' field, or the form as a whole (what the grammar said). */
			_cleanup_free_ char *anchor = f[0] == 'q' ? xasprintf("%s-field", f) : xstrdup(f);
			cJSON_AddStringToObject(e, "anchor", anchor);
			cJSON_AddStringToObject(e, "text", errs->messages[i]);
			/* Which field, in the form's words. */
			long n;
			_cleanup_free_ char *label = NULL;
			if (f[0] == 'q' && parse_long(f + 1, 1, (long)r->n_questions, &n) >= 0)
				label = xasprintf("%ld. %s", n, r->questions[n - 1].text ? r->questions[n - 1].text
				                                                          : r->questions[n - 1].id);
			else if (strncmp(f, "vote-", 5) == 0)
				label = xasprintf("Idea %s", f + 5);
			else if (STREQ(f, "votes"))
				label = xstrdup("Your votes");
			else if (STREQ(f, "ideas"))
				label = xstrdup("Your ideas");
			if (label)
				cJSON_AddStringToObject(e, "label", label);
			cJSON_AddItemToArray(list, e);
		}
	}
	cJSON_Delete(p.answers);
	cJSON_Delete(p.votes);
	return o;
}

/* A form value as a single line of the grammar: line breaks become spaces. */
static void put_line(strbuf *b, const char *s)
{
	for (; *s; s++)
		strbuf_putc(b, *s == '\r' || *s == '\n' ? ' ' : *s);
}

static bool word_ok(const char *s)
{
	return *s && strlen(s) <= 3 && s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789")] == 0;
}

char *web_form_answer_text(const coco_round *r, const web_form *f)
{
	strbuf b = {0};
	for (size_t i = 0; i < r->n_questions; i++) {
		const coco_question *q = &r->questions[i];
		_cleanup_free_ char *name = xasprintf("q%zu", i + 1);
		strbuf v = {0};
		for (size_t k = 0; k < f->n; k++) {
			if (!STREQ(f->names[k], name))
				continue;
			_cleanup_free_ char *val = xstrdup(f->values[k]);
			strstrip(val);
			if (!*val)
				continue;
			if (q->kind == QUESTION_TEXT) {
				strbuf_done(&v);
				put_line(&v, val);
			} else if (word_ok(val)) {
				if (q->kind != QUESTION_MULTI)
					strbuf_done(&v);
				else if (v.len)
					strbuf_putc(&v, ' ');
				strbuf_puts(&v, val);
			}
		}
		if (v.len)
			strbuf_printf(&b, "%s%zu: %s\n", b.len ? "\n" : "", i + 1, v.s);
		strbuf_done(&v);
	}
	const char *ideas = web_form_get(f, "ideas");
	if (r->kind == ROUND_PROMPT && ideas) {
		/* One idea a line. */
		for (const char *p = ideas; *p;) {
			size_t n = strcspn(p, "\r\n");
			_cleanup_free_ char *line = xstrndup(p, n);
			strstrip(line);
			if (*line)
				strbuf_printf(&b, "%sidea: %s\n", b.len ? "\n" : "", line);
			p += n;
			p += strspn(p, "\r\n");
		}
	}
	if (r->kind == ROUND_VOTE) {
		strbuf v = {0};
		for (size_t k = 0; k < f->n; k++) {
			long n, dots;
			if (strncmp(f->names[k], "vote-", 5) != 0 ||
			    parse_long(f->names[k] + 5, 1, 100000, &n) < 0 ||
			    parse_long(f->values[k], 0, 1000, &dots) < 0 || dots == 0)
				continue;
			strbuf_printf(&v, " %ldx%ld", n, dots);
		}
		if (v.len)
			strbuf_printf(&b, "%svote%s\n", b.len ? "\n" : "", v.s);
		strbuf_done(&v);
	}
	return b.s ? strbuf_steal(&b) : xstrdup("");
}
