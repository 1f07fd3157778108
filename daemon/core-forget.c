/* core-forget: `cococtl forget MEMBER`, erasing every copy coco holds of what a member
 * wrote and of what was sent to them:
 *  - their answers and comments (by member id, or by their pseudonym in anonymous rounds)
 *    rejected messages (by member id or by one of their addresses) and bounces of mail to
 *    them (bounces.jsonl): each record is
 *    replaced by {"key":…,"v":1,"erased":true}, so the same input replayed later is still
 *    known as recorded and is not stored again;
 *  - the compiled digests that held them: a round digest of an occurrence that is no
 *    longer open is computed again from the store without the member (comments shown in
 *    it are taken back from its old text, minus theirs); any other digest (periodic ones,
 *    the digest of an occurrence still open) loses every line naming or quoting them,
 *    except that a list of proposers naming others too only loses their name;
 *  - spooled messages: those addressed to them become tombstones (spool_forget), those to
 *    others that quote them are given the new digest text, or lose the lines that quote;
 *  - copies the connectors keep (the local connector's maildirs), through a hook the
 *    daemon registers (core_set_forget_hook): the core never names a connector.
 * "Naming or quoting" is decided by phrases gathered from what is erased: the member's
 * name, addresses, and the free text, ideas and comments they wrote (FORGET_PHRASE_MIN
 * bytes or more, as written and as placed in Markdown). The audit log gets one line per
 * campaign with the counts and the member's pseudonym, not their id or name. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "core-private.h"
#include "digest.h"
#include "mdtext.h"
#include "util.h"

/* Shorter texts ("yes", "4") are in too many other people's lines to say who wrote them. */
#define FORGET_PHRASE_MIN 5
#define FORGET_DIGEST_MAX (16u * 1024 * 1024)

typedef struct forget_counts {
	size_t answers, comments, rejected, bounces, digests, spool_erased, spool_scrubbed, mail;
	size_t quotes; /* others' records whose kept quote (trimmed) held their words */
	size_t audiences; /* closed occurrences' lists of whom they asked */
} forget_counts;

typedef struct forget_job {
	core *c;
	const coco_campaign *camp;
	const coco_member *m;
	char pseudo[SECRET_PSEUDO_LEN + 1];
	const coco_round *round; /* while an answers file is rewritten */
	char **phrases;          /* what a line naming or quoting the member holds */
	char **names;            /* those of phrases that name them (name, addresses) */
	char **addresses;        /* e-mail addresses and chat ids, for rejected mail and connectors */
	cJSON *touched;          /* {"round/occurrence": true}: occurrences that held their records */
	cJSON *digests;          /* spool id of a digest to someone else → its new Markdown */
	cJSON *others_ideas;     /* while an answers file is rewritten: hashes of others' ideas */
	forget_counts n;
} forget_job;

void core_set_forget_hook(core *c, core_forget_fn fn, void *userdata)
{
	c->forget_hook = fn;
	c->forget_userdata = userdata;
}

static void add_phrase(char ***v, const char *s)
{
	if (!s || strlen(s) < FORGET_PHRASE_MIN)
		return;
	for (char **p = *v; p && *p; p++)
		if (STREQ(*p, s))
			return;
	strv_push(v, xstrdup(s));
	_cleanup_free_ char *md = md_text(s);
	if (md && !STREQ(md, s) && strlen(md) >= FORGET_PHRASE_MIN)
		add_phrase(v, md);
}

static bool strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (STREQ(*v, s))
			return true;
	return false;
}

static bool has_phrase(char *const *phrases, char *const *except, const char *line, size_t len)
{
	for (char *const *p = phrases; p && *p; p++) {
		if (strv_has(except, *p))
			continue;
		size_t n = strlen(*p);
		for (size_t i = 0; i + n <= len; i++)
			if (strncasecmp(line + i, *p, n) == 0)
				return true;
	}
	return false;
}

static bool line_has(const forget_job *j, const char *line, size_t len)
{
	return has_phrase(j->phrases, NULL, line, len);
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (unsigned char)ch >= 0x80;
}

static bool starts_with(const char *s, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);
	return (size_t)(end - s) >= n && strncmp(s, prefix, n) == 0;
}

static bool ends_with(const char *start, const char *s, const char *suffix)
{
	size_t n = strlen(suffix);
	return (size_t)(s - start) >= n && strncmp(s - n, suffix, n) == 0;
}

/* A digest names everyone who proposed an idea in one list ("A and B", "A, B and C",
 * digest.c's idea_names()): a line whose only trace of the member is their name in such a
 * list keeps the line and the others' names, without theirs ("B", "B and C"). The line
 * without that name, or NULL when their name stands alone there (the line is theirs). */
static char *drop_name_from_list(const forget_job *j, const char *line, size_t len)
{
	_cleanup_free_ char *cur = xstrndup(line, len);
	for (char **p = j->names; p && *p; p++) {
		size_t n = strlen(*p);
		for (;;) {
			char *end = cur + strlen(cur), *hit = NULL;
			for (char *q = cur; q + n <= end; q++)
				if (strncasecmp(q, *p, n) == 0 && (q == cur || !is_name_char(q[-1])) &&
				    !is_name_char(q[n])) {
					hit = q;
					break;
				}
			if (!hit)
				break;
			char *after = hit + n;
			strbuf b = {0};
			if (starts_with(after, end, ", ")) {
				/* "A, B and C" → "B and C"; "X, A, B" → "X, B" */
				strbuf_add(&b, cur, (size_t)(hit - cur));
				strbuf_puts(&b, after + 2);
			} else if (starts_with(after, end, " and ") && ends_with(cur, hit, ", ")) {
				/* "X, A and B" → "X and B" */
				strbuf_add(&b, cur, (size_t)(hit - 2 - cur));
				strbuf_puts(&b, after);
			} else if (starts_with(after, end, " and ")) {
				/* "A and B" → "B" */
				strbuf_add(&b, cur, (size_t)(hit - cur));
				strbuf_puts(&b, after + 5);
			} else if (ends_with(cur, hit, " and ")) {
				/* "B and A" → "B"; "X, B and A" → "X and B" */
				char *start = hit - 5, *comma = NULL;
				for (char *q = start; q > cur && !comma; q--)
					if (q[-1] == ',' && q[0] == ' ')
						comma = q - 1;
					else if (!is_name_char(q[-1]) && q[-1] != ' ' && q[-1] != '.' &&
					         q[-1] != '-' && q[-1] != '\'')
						break;
				if (comma) {
					strbuf_add(&b, cur, (size_t)(comma - cur));
					strbuf_puts(&b, " and ");
					strbuf_add(&b, comma + 2, (size_t)(start - comma - 2));
				} else
					strbuf_add(&b, cur, (size_t)(start - cur));
				strbuf_puts(&b, after);
			} else
				return NULL; /* their name alone: the line is about them */
			free(cur);
			cur = strbuf_steal(&b);
		}
	}
	return TAKE_PTR(cur);
}

/* The text an HTML line shows: tags out, the entities the templates and cmark write
 * decoded. */
static char *html_line_text(const char *line, size_t len)
{
	static const struct {
		const char *ent, *ch;
	} ents[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
	            {"&#39;", "'"}, {"&#x27;", "'"}, {"&nbsp;", " "}};
	strbuf b = {0};
	bool tag = false;
	for (size_t i = 0; i < len; i++) {
		if (tag) {
			tag = line[i] != '>';
			continue;
		}
		if (line[i] == '<') {
			tag = true;
			continue;
		}
		size_t k = 0;
		for (size_t e = 0; line[i] == '&' && e < ELEMENTSOF(ents) && !k; e++)
			if (starts_with(line + i, line + len, ents[e].ent)) {
				strbuf_puts(&b, ents[e].ch);
				k = strlen(ents[e].ent);
			}
		if (k)
			i += k - 1;
		else
			strbuf_putc(&b, line[i]);
	}
	return strbuf_steal(&b);
}

/* Text without the lines that name or quote the member (and with their name taken out of
 * the lists of proposers that name others too); NULL if nothing changed. With html, a line
 * is judged by the text it shows (an HTML digest's templates give every row that can name
 * or quote a member a line of its own). */
static char *filter_lines(const forget_job *j, const char *text, bool html)
{
	strbuf out = {0};
	bool changed = false;
	for (const char *line = text, *end; *line; line = end + (*end ? 1 : 0)) {
		end = strchrnul(line, '\n');
		size_t len = (size_t)(end - line);
		_cleanup_free_ char *shown_html = html ? html_line_text(line, len) : NULL;
		const char *shown = html ? shown_html : line;
		size_t shown_len = html ? strlen(shown_html) : len;
		if (line_has(j, shown, shown_len)) {
			changed = true;
			/* Their words, or their name on its own: the line goes. */
			_cleanup_free_ char *rest = has_phrase(j->phrases, j->names, shown, shown_len)
			                                    ? NULL : drop_name_from_list(j, line, len);
			_cleanup_free_ char *rest_html =
				rest && html ? html_line_text(rest, strlen(rest)) : NULL;
			const char *rest_shown = html ? rest_html : rest;
			if (!rest || line_has(j, rest_shown, strlen(rest_shown)))
				continue;
			strbuf_puts(&out, rest);
		} else
			strbuf_add(&out, line, len);
		if (*end)
			strbuf_putc(&out, '\n');
	}
	if (!changed) {
		strbuf_done(&out);
		return NULL;
	}
	return strbuf_steal(&out);
}

/* ---- records ---------------------------------------------------------------------- */

/* What the record says in the member's own words, to recognise it in digests. */
static void collect_phrases(forget_job *j, const cJSON *rec)
{
	const cJSON *it;
	char h[17];
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "ideas"))
	/* An idea someone else wrote too is theirs as well: lines showing it stay. */
	if (cJSON_IsString(it) &&
	    !(j->others_ideas && digest_idea_hash(it->valuestring, h) >= 0 &&
	      cJSON_GetObjectItemCaseSensitive(j->others_ideas, h)))
		add_phrase(&j->phrases, it->valuestring);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "answers"))
	{
		/* Free text only: a choice's label is everyone's. */
		for (size_t q = 0; j->round && q < j->round->n_questions; q++)
			if (STREQ(j->round->questions[q].id, it->string) &&
			    j->round->questions[q].kind == QUESTION_TEXT && cJSON_IsString(it))
				add_phrase(&j->phrases, it->valuestring);
	}
	add_phrase(&j->phrases, core_json_str(rec, "text"));
}

typedef bool (*record_match_fn)(const forget_job *j, const cJSON *rec);

static bool is_theirs(const forget_job *j, const cJSON *rec)
{
	const char *m = core_json_str(rec, "member"), *p = core_json_str(rec, "pseudo");
	return (m && STREQ(m, j->m->id)) || (p && STREQ(p, j->pseudo));
}

static bool is_their_rejected(const forget_job *j, const cJSON *rec)
{
	const char *m = core_json_str(rec, "member"), *camp = core_json_str(rec, "campaign");
	const char *from = core_json_str(rec, "from"), *p = core_json_str(rec, "pseudo");
	if (m && STREQ(m, j->m->id) && (!camp || STREQ(camp, j->camp->id)))
		return true;
	/* A message about an anonymous round that could not be recorded names only the
	 * pseudonym (core-inbound.c). */
	if (p && STREQ(p, j->pseudo) && camp && STREQ(camp, j->camp->id))
		return true;
	/* Any of their addresses: Email= (case-insensitively), Slack=, Matrix=. */
	return config_member_has_address(j->m, from);
}

typedef struct rewrite {
	forget_job *j;
	record_match_fn match;
	strbuf out;
	size_t erased, line;
	cJSON *slots; /* "<line>" → the ballot slots that record's ideas hold (see plan_slots) */
} rewrite;

/* ---- ballot slots ------------------------------------------------------------------ */

/* A vote round's ballot numbers the ideas of its source occurrence in first-seen order,
 * the same idea from two people once (digest_collect_ideas). A forgotten record keeps how
 * many slots its ideas opened ("ideas_n"), so no number after them moves; a slot whose idea
 * someone else wrote later keeps the hash of the idea ("ideas_h"), and the later writer's
 * words take the slot, as they counted on it before. */
typedef struct slot_plan {
	forget_job *j;
	size_t line;
	cJSON *seen;  /* idea hash → [line, slot] of the record that opened it (line -1: not theirs) */
	cJSON *slots; /* "<line>" → ["" or the hash, …], one per slot their record opened */
	cJSON *others; /* hashes of the ideas others wrote */
} slot_plan;

static void plan_record(slot_plan *p, const cJSON *rec, size_t no)
{
	const cJSON *it;
	char h[17];
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "erased"))) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "ideas_h"))
			if (cJSON_IsString(it) && *it->valuestring &&
			    !cJSON_GetObjectItemCaseSensitive(p->seen, it->valuestring)) {
				cJSON *o = cJSON_AddArrayToObject(p->seen, it->valuestring);
				cJSON_AddItemToArray(o, cJSON_CreateNumber(-1));
			}
		return;
	}
	bool theirs = is_theirs(p->j, rec);
	_cleanup_free_ char *key = xasprintf("%zu", no);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "ideas")) {
		if (!cJSON_IsString(it) || digest_idea_hash(it->valuestring, h) < 0)
			continue;
		if (!theirs && !cJSON_GetObjectItemCaseSensitive(p->others, h))
			cJSON_AddTrueToObject(p->others, h);
		const cJSON *first = cJSON_GetObjectItemCaseSensitive(p->seen, h);
		if (first) {
			/* Someone else's later copy of their idea: the slot is shared. */
			double owner = cJSON_GetArrayItem(first, 0)->valuedouble;
			if (!theirs && owner >= 0) {
				_cleanup_free_ char *ok = xasprintf("%.0f", owner);
				cJSON *arr = cJSON_GetObjectItemCaseSensitive(p->slots, ok);
				int slot = (int)cJSON_GetArrayItem(first, 1)->valuedouble;
				cJSON_ReplaceItemInArray(arr, slot, cJSON_CreateString(h));
			}
			continue;
		}
		cJSON *o = cJSON_AddArrayToObject(p->seen, h);
		cJSON_AddItemToArray(o, cJSON_CreateNumber(theirs ? (double)no : -1));
		if (!theirs)
			continue;
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(p->slots, key);
		if (!arr)
			arr = cJSON_AddArrayToObject(p->slots, key);
		cJSON_AddItemToArray(o, cJSON_CreateNumber(cJSON_GetArraySize(arr)));
		cJSON_AddItemToArray(arr, cJSON_CreateString(""));
	}
}

static int on_plan_line(const char *line, size_t len, void *userdata)
{
	slot_plan *p = userdata;
	size_t no = p->line++;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (!rec)
		return 0;
	plan_record(p, rec, no);
	cJSON_Delete(rec);
	return 0;
}

/* The tombstone's share of the ballot: "ideas_n", and "ideas_h" if a slot is shared. */
static void add_slots(cJSON *t, const cJSON *slots)
{
	int n = cJSON_GetArraySize(slots);
	bool shared = false;
	const cJSON *it;
	if (n == 0)
		return;
	cJSON_AddNumberToObject(t, "ideas_n", n);
	cJSON_ArrayForEach(it, slots)
		shared |= *it->valuestring != '\0';
	if (shared)
		cJSON_AddItemToObject(t, "ideas_h", cJSON_Duplicate(slots, 1));
}

/* A forgotten record keeps only its key, so the same input replayed later is still known
 * as recorded and is not stored again. Lines keep their places (comments are counted by
 * line). */
static int on_forget_line(const char *line, size_t len, void *userdata)
{
	rewrite *x = userdata;
	size_t no = x->line++;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (rec && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "erased")) &&
	    x->match(x->j, rec)) {
		collect_phrases(x->j, rec);
		cJSON *t = cJSON_CreateObject();
		const char *key = core_json_str(rec, "key");
		if (key)
			cJSON_AddStringToObject(t, "key", key);
		cJSON_AddNumberToObject(t, "v", 1);
		cJSON_AddBoolToObject(t, "erased", 1);
		/* In an answers file, their pseudonym, as in the audit log (a digest computed
		 * again from the file leaves them out, "Not heard from yet" included), and the
		 * ballot slots their ideas held. */
		if (x->slots) {
			cJSON_AddStringToObject(t, "forgotten", x->j->pseudo);
			_cleanup_free_ char *k = xasprintf("%zu", no);
			add_slots(t, cJSON_GetObjectItemCaseSensitive(x->slots, k));
		}
		char *s = cJSON_PrintUnformatted(t);
		strbuf_puts(&x->out, s);
		free(s);
		cJSON_Delete(t);
		x->erased++;
	} else
		strbuf_add(&x->out, line, len);
	strbuf_putc(&x->out, '\n');
	cJSON_Delete(rec);
	return 0;
}

static int forget_jsonl(forget_job *j, const char *path, record_match_fn match, cJSON *slots,
                        size_t *count, size_t *ret_erased)
{
	rewrite x = {.j = j, .match = match, .slots = slots};
	int r = store_scan(j->c->st, path, on_forget_line, &x);
	if (r >= 0 && x.erased > 0)
		r = store_replace(j->c->st, path, x.out.s, x.out.len);
	strbuf_done(&x.out);
	if (r >= 0) {
		*count += x.erased;
		if (ret_erased)
			*ret_erased = x.erased;
	}
	return r == -ENOENT ? 0 : r;
}

/* The audience of a closed occurrence lists their pseudonym, the one of their anonymous
 * answers: it goes, so an export made before cannot show them asked, and the occurrence
 * counts the members it asked less them, as its digest computed again does. */
static int forget_audience(core *c, const char *round, const char *occ, void *userdata)
{
	forget_job *j = userdata;
	int r = core_audience_drop(c, j->camp, round, occ, j->pseudo);
	if (r > 0)
		j->n.audiences++;
	return r < 0 ? r : 0;
}

static int forget_answers(core *c, const char *round, const char *occ, void *userdata)
{
	forget_job *j = userdata;
	_cleanup_free_ char *path = core_answers_path(j->camp->id, round, occ);
	size_t erased = 0;
	j->round = campaign_find_round(j->camp, round);
	slot_plan p = {.j = j, .seen = cJSON_CreateObject(), .slots = cJSON_CreateObject(),
	               .others = cJSON_CreateObject()};
	int r = store_scan(j->c->st, path, on_plan_line, &p);
	j->others_ideas = p.others;
	if (r >= 0 || r == -ENOENT)
		r = forget_jsonl(j, path, is_theirs, p.slots, &j->n.answers, &erased);
	j->others_ideas = NULL;
	cJSON_Delete(p.seen);
	cJSON_Delete(p.slots);
	cJSON_Delete(p.others);
	j->round = NULL;
	if (r >= 0 && erased > 0) {
		_cleanup_free_ char *k = xasprintf("%s/%s", round, occ);
		cJSON_AddTrueToObject(j->touched, k);
	}
	return r;
}

/* Others' records keep what was cut off their replies (`trimmed`): the quoted ballot or
 * digest may show the member's ideas or name. Once every record of theirs has given its
 * phrases, those lines go from the others' quotes too. */
typedef struct quote_scrub {
	forget_job *j;
	const char *field; /* "trimmed" in answers, "text" in others' comments */
	strbuf out;
	size_t changed;
} quote_scrub;

static int on_quote_line(const char *line, size_t len, void *userdata)
{
	quote_scrub *x = userdata;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	const char *t = rec ? core_json_str(rec, x->field) : NULL;
	_cleanup_free_ char *kept = t ? filter_lines(x->j, t, false) : NULL;
	if (kept && !*kept && STREQ(x->field, "text")) {
		/* A comment that was all about them goes whole, as their own do. */
		cJSON *tomb = cJSON_CreateObject();
		const char *key = core_json_str(rec, "key");
		if (key)
			cJSON_AddStringToObject(tomb, "key", key);
		cJSON_AddNumberToObject(tomb, "v", 1);
		cJSON_AddBoolToObject(tomb, "erased", 1);
		cJSON_Delete(rec);
		rec = tomb;
	} else if (kept)
		cJSON_ReplaceItemInObjectCaseSensitive(rec, x->field, cJSON_CreateString(kept));
	if (kept) {
		char *o = cJSON_PrintUnformatted(rec);
		strbuf_puts(&x->out, o);
		free(o);
		x->changed++;
	} else
		strbuf_add(&x->out, line, len);
	strbuf_putc(&x->out, '\n');
	cJSON_Delete(rec);
	return 0;
}

static int scrub_file(forget_job *j, const char *path, const char *field)
{
	quote_scrub x = {.j = j, .field = field};
	int r = store_scan(j->c->st, path, on_quote_line, &x);
	if (r >= 0 && x.changed > 0)
		r = store_replace(j->c->st, path, x.out.s, x.out.len);
	strbuf_done(&x.out);
	if (r >= 0)
		j->n.quotes += x.changed;
	return r == -ENOENT ? 0 : r;
}

static int scrub_quotes(core *c, const char *round, const char *occ, void *userdata)
{
	forget_job *j = userdata;
	_cleanup_free_ char *path = core_answers_path(j->camp->id, round, occ);
	return scrub_file(j, path, "trimmed");
}

/* ---- digests ---------------------------------------------------------------------- */

/* "\*" → "*": md_text() undone, for comments read back from a digest. */
static char *md_unescape(const char *s, size_t len)
{
	strbuf b = {0};
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && strchr("\\`*_[]<>", s[i + 1]))
			i++;
		strbuf_putc(&b, s[i]);
	}
	return strbuf_steal(&b);
}

/* The comments a round digest showed (the "## Comments" list of templates/digest.md),
 * without the member's: they are not in the store in a form that says which digest
 * showed them. */
static char **old_comments(const forget_job *j, const char *md)
{
	static const char head[] = "\n## Comments\n";
	const char *p = strstr(md, head);
	char **v = NULL;
	if (!p)
		return NULL;
	p += sizeof(head) - 1;
	while (*p == '\n')
		p++;
	while (p[0] == '-' && p[1] == ' ') {
		const char *end = strchrnul(p, '\n');
		if (!line_has(j, p, (size_t)(end - p)))
			strv_push(&v, md_unescape(p + 2, (size_t)(end - p - 2)));
		p = *end ? end + 1 : end;
	}
	return v;
}

/* The occurrence before `occ` that has answers (for the trend), or NULL. */
static char *previous_occurrence(core *c, const coco_campaign *camp, const char *round,
                                 const char *occ)
{
	_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s", camp->id, round);
	char **occs = NULL, *prev = NULL;
	if (STREQ(occ, "once") || store_list(c->st, dir, &occs) < 0)
		return NULL;
	for (char **o = occs; *o && strcmp(*o, occ) < 0; o++)
		prev = *o;
	prev = prev ? xstrdup(prev) : NULL;
	strv_free(occs);
	return prev;
}

/* A round digest computed again from the store, without the member (not even in the list
 * of who has not answered). */
static int recompute_digest(forget_job *j, const coco_round *r, round_rt *cur, const char *occ,
                            const char *old_md, char **ret_md, char **ret_html)
{
	core *c = j->c;
	coco_campaign copy = *j->camp;
	coco_member *members = xcalloc(j->camp->n_members + 1, sizeof(*members));
	size_t n = 0;
	for (size_t i = 0; i < j->camp->n_members; i++)
		if (&j->camp->members[i] != j->m)
			members[n++] = j->camp->members[i];
	copy.members = members;
	copy.n_members = n;
	_cleanup_free_ char *prev = previous_occurrence(c, j->camp, r->id, occ);
	round_rt tmp = *cur;
	tmp.occurrence = (char *)occ;
	tmp.prev_occurrence = prev;
	tmp.state = RS_DIGESTED;
	tmp.answered = NULL;
	tmp.complete = NULL;
	char **comments = old_comments(j, old_md);
	int k = compile_round_digest(c, &copy, ct_find(c, j->camp->id), &tmp, comments, ret_md,
	                             ret_html, NULL);
	strv_free(comments);
	free(members);
	return k;
}

/* "<round>-<occurrence>" of a round digest whose occurrence is no longer open. */
static const coco_round *recomputable(forget_job *j, const char *name, round_rt **ret_rt,
                                      const char **ret_occ)
{
	campaign_rt *ct = ct_find(j->c, j->camp->id);
	for (size_t i = 0; ct && i < j->camp->n_rounds; i++) {
		const coco_round *r = &j->camp->rounds[i];
		size_t n = strlen(r->id);
		if (strncmp(name, r->id, n) != 0 || name[n] != '-' || r->kind == ROUND_ANNOUNCE)
			continue;
		const char *occ = name + n + 1;
		_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s/%s", j->camp->id, r->id,
		                                     occ);
		round_rt *rt = rt_find(ct, r->id);
		if (!rt || !name_is_safe(occ) || store_exists(j->c->st, dir) <= 0)
			continue;
		if (rt->state == RS_OPEN && rt->occurrence && STREQ(rt->occurrence, occ))
			return NULL; /* still collecting: its figures are not final */
		*ret_rt = rt;
		*ret_occ = occ;
		return r;
	}
	return NULL;
}

static int forget_digest(forget_job *j, const char *name)
{
	core *c = j->c;
	_cleanup_free_ char *path = xasprintf("campaigns/%s/digests/%s.md", j->camp->id, name);
	_cleanup_free_ char *old = NULL, *md = NULL;
	size_t len;
	int r = store_read(c->st, path, FORGET_DIGEST_MAX, &old, &len);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	/* Its HTML part (templates/digest.html), kept as such: computed again, or filtered as
	 * the Markdown is; without one, cmark renders the Markdown. */
	_cleanup_free_ char *html_path = xasprintf("campaigns/%s/digests/%s.html", j->camp->id, name);
	_cleanup_free_ char *old_html = NULL, *html = NULL;
	if (store_read(c->st, html_path, FORGET_DIGEST_MAX, &old_html, NULL) < 0)
		old_html = NULL;
	round_rt *rt = NULL;
	const char *occ = NULL;
	const coco_round *rd = recomputable(j, name, &rt, &occ);
	bool held = false;
	if (rd) {
		_cleanup_free_ char *k = xasprintf("%s/%s", rd->id, occ);
		held = cJSON_GetObjectItemCaseSensitive(j->touched, k) != NULL;
	}
	if (!held && !line_has(j, old, len))
		return 0;
	if (rd && recompute_digest(j, rd, rt, occ, old, &md, &html) < 0) {
		log_warning("%s: digest %s cannot be computed again; removing the lines about the "
		            "forgotten member instead", j->camp->id, name);
		free(html);
		html = NULL;
	}
	/* Whatever the computation still shows of them (a ballot idea) goes too. */
	char *filtered = filter_lines(j, md ? md : old, false);
	if (filtered) {
		free(md);
		md = filtered;
	}
	if (!md)
		return 0;
	const char *html_base = html ? html : old_html;
	char *html_filtered = html_base ? filter_lines(j, html_base, true) : NULL;
	if (html_filtered) {
		free(html);
		html = html_filtered;
	} else if (!html && old_html)
		html = TAKE_PTR(old_html);
	r = digest_write(c->st, j->camp->id, name, md, html);
	if (r < 0)
		return r;
	j->n.digests++;
	for (size_t i = 0; i < j->camp->n_members; i++) {
		const coco_member *o = &j->camp->members[i];
		if (o == j->m)
			continue;
		_cleanup_free_ char *id = core_message_id(c, "digest", j->camp->id, name, o->id);
		_cleanup_free_ char *mine = core_digest_personal(c, j->camp, o, md, false);
		cJSON_DeleteItemFromObjectCaseSensitive(j->digests, id);
		cJSON_AddStringToObject(j->digests, id, mine ? mine : md);
	}
	return 0;
}

static int forget_digests(forget_job *j)
{
	_cleanup_free_ char *dir = xasprintf("campaigns/%s/digests", j->camp->id);
	char **names = NULL;
	int err = 0;
	if (store_list(j->c->st, dir, &names) < 0)
		return 0;
	for (char **n = names; *n; n++) {
		size_t l = strlen(*n);
		if (l <= 3 || !STREQ(*n + l - 3, ".md"))
			continue;
		_cleanup_free_ char *name = xstrndup(*n, l - 3);
		int r = forget_digest(j, name);
		if (r < 0 && err == 0)
			err = log_error_errno(r, "%s: cannot rewrite digest %s: %m", j->camp->id, name);
	}
	strv_free(names);
	return err;
}

/* ---- spool ------------------------------------------------------------------------ */

static void set_markdown(cJSON *msg, const char *md)
{
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "markdown");
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "html");
	cJSON_AddStringToObject(msg, "markdown", md);
	_cleanup_free_ char *html = NULL;
	if (digest_markdown_to_html(md, &html) >= 0)
		cJSON_AddStringToObject(msg, "html", html);
}

/* The prompt's data (channel_msg.prompt) holds a vote's ballot in the members' words: an
 * idea of theirs keeps its slot, as "(idea withdrawn)", as on the ballot of a digest.
 * Whether anything changed. */
static bool scrub_prompt(forget_job *j, cJSON *msg)
{
	cJSON *prompt = cJSON_GetObjectItemCaseSensitive(msg, "prompt");
	cJSON *io;
	bool changed = false;
	cJSON_ArrayForEach(io, cJSON_GetObjectItemCaseSensitive(prompt, "ideas"))
	{
		const char *t = core_json_str(io, "text");
		if (t && line_has(j, t, strlen(t))) {
			cJSON_ReplaceItemInObjectCaseSensitive(io, "text",
			                                       cJSON_CreateString("(idea withdrawn)"));
			changed = true;
		}
	}
	return changed;
}

static spool_verdict on_spooled(cJSON *msg, void *userdata)
{
	forget_job *j = userdata;
	const char *camp = core_json_str(msg, "campaign"), *id = core_json_str(msg, "id");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "to");
	const char *member = core_json_str(to, "member");
	/* "address" in typed messages (version 2), "email" in version 1. */
	const char *email = core_json_str(to, "address") ?: core_json_str(to, "email");
	if (!camp || !STREQ(camp, j->camp->id))
		return SPOOL_KEEP;
	if (member && STREQ(member, j->m->id))
		return SPOOL_ERASE;
	for (size_t i = 0; email && i < j->m->n_emails; i++)
		if (strcasecmp(email, j->m->emails[i]) == 0)
			return SPOOL_ERASE;
	const char *md = id ? core_json_str(j->digests, id) : NULL;
	if (md) {
		set_markdown(msg, md);
		return SPOOL_REWRITE;
	}
	const char *old = core_json_str(msg, "markdown");
	_cleanup_free_ char *filtered = old ? filter_lines(j, old, false) : NULL;
	bool subject = core_json_str(msg, "subject") &&
	               line_has(j, core_json_str(msg, "subject"),
	                        strlen(core_json_str(msg, "subject")));
	bool prompt = scrub_prompt(j, msg);
	if (!filtered && !subject && !prompt)
		return SPOOL_KEEP;
	if (filtered)
		set_markdown(msg, filtered);
	if (subject) {
		cJSON_DeleteItemFromObjectCaseSensitive(msg, "subject");
		cJSON_AddStringToObject(msg, "subject", "(erased)");
	}
	return SPOOL_REWRITE;
}

/* ---- the command ------------------------------------------------------------------ */

static int forget_campaign(forget_job *j)
{
	core *c = j->c;
	const coco_member *m = j->m;
	secret_pseudonym(&c->key, j->camp->id, m->id, j->pseudo);
	add_phrase(&j->phrases, m->name ? m->name : m->id);
	for (size_t i = 0; i < m->n_emails; i++)
		add_phrase(&j->phrases, m->emails[i]);
	/* Everything so far names them (the name as written and as in Markdown). */
	for (char **p = j->phrases; p && *p; p++)
		strv_push(&j->names, xstrdup(*p));
	for (size_t i = 0; i < m->n_emails; i++) {
		strv_push(&j->addresses, xstrdup(m->emails[i]));
	}
	if (m->slack_id)
		strv_push(&j->addresses, xstrdup(m->slack_id));
	if (m->matrix_id)
		strv_push(&j->addresses, xstrdup(m->matrix_id));

	int r = core_for_each_answers_file(c, j->camp, forget_answers, j);
	if (r >= 0)
		r = core_for_each_answers_file(c, j->camp, scrub_quotes, j);
	if (r >= 0)
		r = core_for_each_answers_file(c, j->camp, forget_audience, j);
	_cleanup_free_ char *cpath = xasprintf("campaigns/%s/comments.jsonl", j->camp->id);
	if (r >= 0)
		r = forget_jsonl(j, cpath, is_theirs, NULL, &j->n.comments, NULL);
	/* Others' comments lose the lines that name or quote them, as the digests do. */
	if (r >= 0)
		r = scrub_file(j, cpath, "text");
	if (r >= 0)
		r = forget_jsonl(j, "rejected/messages.jsonl", is_their_rejected, NULL,
		                 &j->n.rejected, NULL);
	/* Bounces of mail to them name their id and address (core-bounce.c). */
	if (r >= 0)
		r = forget_jsonl(j, "bounces.jsonl", is_their_rejected, NULL, &j->n.bounces, NULL);
	if (r < 0)
		return r;
	campaign_rt *ct = ct_find(c, j->camp->id);
	for (size_t k = 0; ct && k < ct->n_rounds; k++) {
		ct->rounds[k].answered = strmap_free(ct->rounds[k].answered);
		ct->rounds[k].complete = strmap_free(ct->rounds[k].complete);
	}
	r = forget_digests(j);
	size_t erased = 0, scrubbed = 0;
	int k = spool_forget(c->sp, on_spooled, j, &erased, &scrubbed);
	j->n.spool_erased += erased;
	j->n.spool_scrubbed += scrubbed;
	return r < 0 ? r : k;
}

static void counts_to_json(cJSON *o, const forget_counts *n)
{
	cJSON_AddNumberToObject(o, "answers", (double)n->answers);
	cJSON_AddNumberToObject(o, "comments", (double)n->comments);
	cJSON_AddNumberToObject(o, "rejected", (double)n->rejected);
	cJSON_AddNumberToObject(o, "bounces", (double)n->bounces);
	cJSON_AddNumberToObject(o, "digests", (double)n->digests);
	cJSON_AddNumberToObject(o, "spool_erased", (double)n->spool_erased);
	cJSON_AddNumberToObject(o, "spool_scrubbed", (double)n->spool_scrubbed);
	cJSON_AddNumberToObject(o, "mail", (double)n->mail);
	cJSON_AddNumberToObject(o, "quotes", (double)n->quotes);
	cJSON_AddNumberToObject(o, "audiences", (double)n->audiences);
}

static void counts_add(forget_counts *a, const forget_counts *b)
{
	a->answers += b->answers;
	a->comments += b->comments;
	a->rejected += b->rejected;
	a->bounces += b->bounces;
	a->digests += b->digests;
	a->spool_erased += b->spool_erased;
	a->spool_scrubbed += b->spool_scrubbed;
	a->mail += b->mail;
	a->quotes += b->quotes;
	a->audiences += b->audiences;
}

int core_forget(core *c, const char *who, cJSON **ret, char **ret_error)
{
	forget_counts total = {0};
	char **phrases = NULL, **addresses = NULL;
	unsigned found = 0;
	int r = 0;
	if (!who) {
		*ret_error = xstrdup("which member? give a member id");
		return -EINVAL;
	}
	/* Everything pending is made durable first, so the rewrite sees every record. */
	(void)core_commit(c);
	for (size_t i = 0; i < c->cfg->n_campaigns && r >= 0; i++) {
		const coco_campaign *camp = &c->cfg->campaigns[i];
		const coco_member *m = campaign_find_member(camp, who);
		if (!m)
			continue;
		found++;
		forget_job j = {.c = c, .camp = camp, .m = m, .touched = cJSON_CreateObject(),
		                .digests = cJSON_CreateObject()};
		r = forget_campaign(&j);
		counts_add(&total, &j.n);
		for (char **p = j.phrases; p && *p; p++)
			strv_push(&phrases, xstrdup(*p));
		for (char **p = j.addresses; p && *p; p++)
			strv_push(&addresses, xstrdup(*p));
		/* A pseudonym, not the id: the audit log outlives the erasure, and only the
		 * holder of the key can tell whose it is. Not the one of their anonymous answers
		 * (an export made before would match the two): one of its own. */
		_cleanup_free_ char *label = xasprintf("forget/%s", camp->id);
		char audit_pseudo[SECRET_PSEUDO_LEN + 1];
		secret_pseudonym(&c->key, label, m->id, audit_pseudo);
		_cleanup_free_ char *detail = xasprintf(
			"member pseudonym %s: %zu answers, %zu comments, %zu rejected, %zu bounces, "
			"%zu digests, %zu spool erased, %zu spool scrubbed, %zu quotes%s", audit_pseudo,
			j.n.answers, j.n.comments, j.n.rejected, j.n.bounces, j.n.digests,
			j.n.spool_erased, j.n.spool_scrubbed, j.n.quotes,
			r < 0 ? " (failed half-way)" : "");
		core_audit(c, "forget", camp->id, NULL, detail);
		log_notice("%s: forget: %s", camp->id, detail);
		if (r < 0)
			*ret_error = xasprintf("erasing %s in %s failed half-way (%s); run it again",
			                       who, camp->id, strerror(-r));
		strv_free(j.phrases);
		strv_free(j.names);
		strv_free(j.addresses);
		cJSON_Delete(j.touched);
		cJSON_Delete(j.digests);
	}
	if (found == 0) {
		*ret_error = xasprintf("no member \"%s\" in any campaign", who);
		r = -ENOENT;
	}
	if (r >= 0 && c->forget_hook) {
		r = c->forget_hook((const char *const *)addresses, (const char *const *)phrases,
		                   &total.mail, c->forget_userdata);
		if (r < 0)
			*ret_error = xasprintf("the records of %s are erased, but a connector could not "
			                       "erase its copies (%s); run it again", who, strerror(-r));
	}
	(void)store_commit(c->st); /* the audit lines */
	strv_free(phrases);
	strv_free(addresses);
	if (r < 0)
		return r;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "member", who);
	counts_to_json(o, &total);
	/* The channels whose own mail files "mail" counts (the local channel's maildirs): with
	 * none running, there is no such count to give, not a zero (trial 6: "0 mail files"
	 * read as if the email channel had none). */
	cJSON *mail_of = cJSON_AddArrayToObject(o, "mail_channels");
	for (size_t i = 0; i < c->n_channels; i++)
		if (c->channels[i]->forget)
			cJSON_AddItemToArray(mail_of, cJSON_CreateString(c->channels[i]->name));
	/* What no connector could erase: copies on servers coco only reads or posts to. */
	cJSON *elsewhere = cJSON_AddArrayToObject(o, "kept_elsewhere");
	for (size_t i = 0; i < c->n_channels; i++)
		if (c->channels[i]->kept_elsewhere)
			cJSON_AddItemToArray(elsewhere,
			                     cJSON_CreateString(c->channels[i]->kept_elsewhere));
	*ret = o;
	return 0;
}
