/* digest-read: the reading half of the digest module (see digest.h and digest-private.h).
 * It owns the answers.jsonl record scanner (a fast in-place scanner for the shape store.c
 * writes, with cJSON as the fallback) and the tally: one entry per member (or pseudonym) with
 * their latest values, plus the ideas and votes. The figures are built from the tally in
 * digest.c. */
#define _GNU_SOURCE
#include "digest-private.h"

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"

#define BAD_LINES_LOGGED 5 /* per file; the rest are only counted */
#define NESTING_MAX 32     /* JSON depth the scanner follows in values it skips */

/* ---- the string → index hash map (the rest of it is in digest-private.h) ---- */

static void smap_put_slot(smap_slot *slots, size_t cap, smap_slot v)
{
	size_t i = v.hash & (cap - 1);
	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i] = v;
}

/* Takes ownership of key; the caller checked it is absent. */
static void smap_add(smap *m, char *key, size_t len, uint64_t hash, size_t idx)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		smap_slot *slots = xcalloc(cap, sizeof *slots);
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].key)
				smap_put_slot(slots, cap, m->slots[i]);
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	smap_put_slot(m->slots, m->cap, (smap_slot){key, len, idx, hash});
	m->n++;
}

static void smap_done(smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	*m = (smap){0};
}

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) >= (cap)) {                                                                \
			(cap) = (cap) ? (cap) * 2 : 8;                                             \
			(arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                           \
		}                                                                                  \
	} while (0)

static void record_reset(record *r)
{
	r->has_v = r->erased = false;
	r->ideas_n = 0;
	r->member = r->pseudo = r->side = r->forgotten = (sv){0};
	r->n_answers = r->n_items = r->n_ideas = r->n_skips = r->n_votes = r->n_ideas_h = 0;
}

static void record_done(record *r)
{
	free(r->answers);
	free(r->items);
	free(r->ideas);
	free(r->skips);
	free(r->votes);
	free(r->ideas_h);
}

/* The fast path: a scanner for the one shape store.c writes, decoding strings in place in a
 * private copy of the line. Whatever it does not expect (numbers with fractions, \u0000,
 * numbers as answer values) makes it give up, and cJSON gets the line instead. */

static char *ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* p at '"'. Decodes into the same buffer (the output is never longer than the input). */
static char *scan_string(char *p, sv *ret)
{
	char *src = p + 1, *dst = src, *start = src;
	for (;;) {
		unsigned char c = (unsigned char)*src;
		if (c == '"')
			break;
		if (c < 0x20)
			return NULL; /* control byte or the end of the line */
		if (c != '\\') {
			*dst++ = *src++;
			continue;
		}
		src++;
		switch (*src++) {
		case '"': *dst++ = '"'; break;
		case '\\': *dst++ = '\\'; break;
		case '/': *dst++ = '/'; break;
		case 'b': *dst++ = '\b'; break;
		case 'f': *dst++ = '\f'; break;
		case 'n': *dst++ = '\n'; break;
		case 'r': *dst++ = '\r'; break;
		case 't': *dst++ = '\t'; break;
		case 'u': {
			long cp = hex4(src);
			if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return NULL;
			src += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				int lo = src[0] == '\\' && src[1] == 'u' ? hex4(src + 2) : -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return NULL;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				src += 6;
			}
			if (cp < 0x80)
				*dst++ = (char)cp;
			else if (cp < 0x800) {
				*dst++ = (char)(0xc0 | (cp >> 6));
				*dst++ = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				*dst++ = (char)(0xe0 | (cp >> 12));
				*dst++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*dst++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*dst++ = (char)(0xf0 | (cp >> 18));
				*dst++ = (char)(0x80 | ((cp >> 12) & 0x3f));
				*dst++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*dst++ = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		default:
			return NULL;
		}
	}
	*dst = '\0';
	*ret = (sv){start, (size_t)(dst - start)};
	return src + 1;
}

static char *scan_long(char *p, long *ret)
{
	bool neg = *p == '-';
	char *q = p + neg;
	long v = 0;
	int digits = 0;
	while (*q >= '0' && *q <= '9' && digits < 18) {
		v = v * 10 + (*q++ - '0');
		digits++;
	}
	if (!digits || (*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E')
		return NULL;
	*ret = neg ? -v : v;
	return q;
}

static char *skip_value(char *p, int depth)
{
	sv dummy;
	if (depth > NESTING_MAX)
		return NULL;
	switch (*p) {
	case '"':
		return scan_string(p, &dummy);
	case '{':
	case '[': {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (*p != '"' || !(p = scan_string(p, &dummy)))
					return NULL;
				p = ws(p);
				if (*p != ':')
					return NULL;
				p = ws(p + 1);
			}
			if (!(p = skip_value(p, depth + 1)))
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = ws(p + 1);
		}
	}
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		if (*p != '-' && (*p < '0' || *p > '9'))
			return NULL;
		p++;
		while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
		       *p == '+' || *p == '-')
			p++;
		return p;
	}
}

/* An array of strings, appended to *arr. */
static char *scan_strings(char *p, sv **arr, size_t *n, size_t *cap)
{
	if (*p != '[')
		return NULL;
	p = ws(p + 1);
	if (*p == ']')
		return p + 1;
	for (;;) {
		GROW(*arr, *n, *cap);
		if (*p != '"' || !(p = scan_string(p, &(*arr)[*n])))
			return NULL;
		(*n)++;
		p = ws(p);
		if (*p == ']')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = ws(p + 1);
	}
}

/* {"key": value, …}: calls member() for each, with p at the value. */
typedef char *(*member_fn)(record *r, const sv *key, char *p);

static char *scan_object(char *p, record *r, member_fn member)
{
	if (*p != '{')
		return NULL;
	p = ws(p + 1);
	if (*p == '}')
		return p + 1;
	for (;;) {
		sv key;
		if (*p != '"' || !(p = scan_string(p, &key)))
			return NULL;
		p = ws(p);
		if (*p != ':')
			return NULL;
		if (!(p = member(r, &key, ws(p + 1))))
			return NULL;
		p = ws(p);
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = ws(p + 1);
	}
}

static char *answer_member(record *r, const sv *key, char *p)
{
	GROW(r->answers, r->n_answers, r->cap_answers);
	rec_answer *a = &r->answers[r->n_answers];
	*a = (rec_answer){.qid = *key};
	if (*p == '"')
		p = scan_string(p, &a->value);
	else if (*p == '[') {
		a->array = true;
		a->first = r->n_items;
		p = scan_strings(p, &r->items, &r->n_items, &r->cap_items);
		a->n = r->n_items - a->first;
	} else
		return NULL;
	if (p)
		r->n_answers++;
	return p;
}

static char *vote_member(record *r, const sv *key, char *p)
{
	long number, dots;
	char *end = scan_long((char *)key->s, &number);
	if (!end || *end || !(p = scan_long(p, &dots)))
		return NULL;
	GROW(r->votes, r->n_votes, r->cap_votes);
	r->votes[r->n_votes++] = (rec_vote){number, dots};
	return p;
}

#define KEY_IS(k, lit) ((k)->len == sizeof(lit) - 1 && memcmp((k)->s, lit, sizeof(lit) - 1) == 0)

static char *record_member(record *r, const sv *key, char *p)
{
	if (KEY_IS(key, "v")) {
		r->has_v = true;
		return scan_long(p, &r->v);
	}
	if (KEY_IS(key, "member"))
		return *p == '"' ? scan_string(p, &r->member) : NULL;
	if (KEY_IS(key, "pseudo"))
		return *p == '"' ? scan_string(p, &r->pseudo) : NULL;
	if (KEY_IS(key, "side"))
		return *p == '"' ? scan_string(p, &r->side) : NULL;
	if (KEY_IS(key, "answers")) {
		r->n_answers = r->n_items = 0;
		return scan_object(p, r, answer_member);
	}
	if (KEY_IS(key, "votes")) {
		r->n_votes = 0;
		return scan_object(p, r, vote_member);
	}
	if (KEY_IS(key, "ideas")) {
		r->n_ideas = 0;
		return scan_strings(p, &r->ideas, &r->n_ideas, &r->cap_ideas);
	}
	if (KEY_IS(key, "skips")) {
		r->n_skips = 0;
		return scan_strings(p, &r->skips, &r->n_skips, &r->cap_skips);
	}
	if (KEY_IS(key, "erased")) {
		char *q = skip_value(p, 0);
		r->erased = q && strncmp(p, "true", 4) == 0;
		return q;
	}
	if (KEY_IS(key, "ideas_n"))
		return scan_long(p, &r->ideas_n);
	if (KEY_IS(key, "ideas_h")) {
		r->n_ideas_h = 0;
		return scan_strings(p, &r->ideas_h, &r->n_ideas_h, &r->cap_ideas_h);
	}
	if (KEY_IS(key, "forgotten"))
		return *p == '"' ? scan_string(p, &r->forgotten) : NULL;
	return skip_value(p, 0); /* key, at, via, and whatever a later version adds */
}

static bool record_scan(char *line, record *r)
{
	record_reset(r);
	char *p = scan_object(ws(line), r, record_member);
	return p && *ws(p) == '\0';
}

static sv sv_of(const cJSON *j)
{
	return cJSON_IsString(j) ? (sv){j->valuestring, strlen(j->valuestring)} : (sv){0};
}

static void strings_from_cjson(const cJSON *arr, sv **out, size_t *n, size_t *cap)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it)) {
			GROW(*out, *n, *cap);
			(*out)[(*n)++] = sv_of(it);
		}
}

/* The slow path: anything valid JSON. The record points into root, which the caller frees
 * after applying it. Values of the wrong type are left out, as if absent. */
static bool record_from_cjson(const cJSON *root, record *r)
{
	record_reset(r);
	if (!cJSON_IsObject(root))
		return false;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v"), *it;
	int64_t n;
	if (json_number_to_int64(v, &n) >= 0 && n >= LONG_MIN && n <= LONG_MAX) {
		r->has_v = true;
		r->v = (long)n;
	}
	r->member = sv_of(cJSON_GetObjectItemCaseSensitive(root, "member"));
	r->pseudo = sv_of(cJSON_GetObjectItemCaseSensitive(root, "pseudo"));
	r->side = sv_of(cJSON_GetObjectItemCaseSensitive(root, "side"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "answers")) {
		if (!it->string) /* "answers" written as an array, not an object */
			continue;
		rec_answer a = {.qid = {it->string, strlen(it->string)}};
		if (cJSON_IsString(it))
			a.value = sv_of(it);
		else if (cJSON_IsArray(it)) {
			a.array = true;
			a.first = r->n_items;
			strings_from_cjson(it, &r->items, &r->n_items, &r->cap_items);
			a.n = r->n_items - a.first;
		} else
			continue;
		GROW(r->answers, r->n_answers, r->cap_answers);
		r->answers[r->n_answers++] = a;
	}
	strings_from_cjson(cJSON_GetObjectItemCaseSensitive(root, "ideas"), &r->ideas,
	                   &r->n_ideas, &r->cap_ideas);
	strings_from_cjson(cJSON_GetObjectItemCaseSensitive(root, "skips"), &r->skips,
	                   &r->n_skips, &r->cap_skips);
	r->erased = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "erased"));
	if (json_number_to_int64(cJSON_GetObjectItemCaseSensitive(root, "ideas_n"), &n) >= 0 &&
	    n >= 0 && n <= LONG_MAX)
		r->ideas_n = (long)n;
	strings_from_cjson(cJSON_GetObjectItemCaseSensitive(root, "ideas_h"), &r->ideas_h,
	                   &r->n_ideas_h, &r->cap_ideas_h);
	r->forgotten = sv_of(cJSON_GetObjectItemCaseSensitive(root, "forgotten"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "votes")) {
		long number;
		int64_t dots;
		if (json_number_to_int64(it, &dots) < 0 || dots < LONG_MIN || dots > LONG_MAX ||
		    parse_long(it->string, 1, LONG_MAX, &number) < 0)
			continue;
		GROW(r->votes, r->n_votes, r->cap_votes);
		r->votes[r->n_votes++] = (rec_vote){number, (long)dots};
	}
	return true;
}


void tally_init(tally *t, const coco_campaign *c, const coco_round *round)
{
	*t = (tally){.campaign = c, .round = round, .n_questions = round ? round->n_questions : 0};
}

void tally_done(tally *t)
{
	for (size_t i = 0; i < t->n_entries; i++) {
		entry *e = &t->entries[i];
		for (size_t q = 0; q < t->n_questions; q++)
			free(e->slots[q].text);
		free(e->slots);
		free(e->votes);
	}
	free(t->entries);
	smap_done(&t->entry_map); /* owns the entry keys */
	for (size_t i = 0; i < t->n_ideas; i++) {
		free(t->ideas[i].text);
		free(t->ideas[i].others);
	}
	free(t->ideas);
	smap_done(&t->idea_map);
	strv_free(t->forgotten);
	record_done(&t->rec);
	free(t->scratch);
}

static entry *tally_entry(tally *t, const sv *key, bool is_member_id, const sv *side)
{
	uint64_t h = fnv1a(FNV_SEED, key->s, key->len);
	size_t i = smap_find(&t->entry_map, key->s, key->len, h);
	if (i != SIZE_MAX)
		return &t->entries[i];
	GROW(t->entries, t->n_entries, t->cap_entries);
	entry *e = &t->entries[t->n_entries];
	*e = (entry){.key = xstrndup(key->s, key->len), .side = _SIDE_INVALID,
	             .is_member_id = is_member_id};
	e->slots = xcalloc(t->n_questions, sizeof(slot));
	if (t->campaign && (!t->round || !t->round->anonymous))
		e->member = campaign_find_member(t->campaign, e->key);
	if (e->member)
		e->side = e->member->side; /* the config knows better than an old record */
	else if (side->s)
		e->side = side_from_string(side->s);
	smap_add(&t->entry_map, e->key, key->len, h, t->n_entries);
	return &t->entries[t->n_entries++];
}

static bool parse_whole_long(const char *s, long *ret)
{
	char *end = scan_long((char *)s, ret);
	return end && *end == '\0';
}

static long option_index(const coco_question *q, const char *s, size_t len)
{
	for (size_t i = 0; i < q->n_options; i++)
		if (strlen(q->options[i]) == len && memcmp(q->options[i], s, len) == 0)
			return (long)i;
	for (size_t i = 0; i < q->n_options; i++)
		if (strlen(q->options[i]) == len && strncasecmp(q->options[i], s, len) == 0)
			return (long)i;
	return -1;
}

static uint64_t option_bit(const coco_question *q, const char *s, size_t len)
{
	long i = option_index(q, s, len);
	return i >= 0 && i < 64 ? 1ULL << i : 0;
}

static size_t question_index(const tally *t, const sv *qid)
{
	for (size_t i = 0; i < t->n_questions; i++) {
		const char *id = t->round->questions[i].id;
		if (id[0] == qid->s[0] && strcmp(id, qid->s) == 0)
			return i;
	}
	return SIZE_MAX;
}

static void apply_answer(tally *t, entry *e, const rec_answer *a)
{
	size_t qi = question_index(t, &a->qid);
	if (qi == SIZE_MAX)
		return; /* a question since removed from the config */
	const coco_question *q = &t->round->questions[qi];
	slot *s = &e->slots[qi];
	long v;
	switch (q->kind) {
	case QUESTION_SCALE:
	case QUESTION_NPS:
		if (!a->value.s || !parse_whole_long(a->value.s, &v) || v < q->min || v > q->max)
			return;
		s->num = v;
		break;
	case QUESTION_CHOICE:
		if (!a->value.s || (v = option_index(q, a->value.s, a->value.len)) < 0)
			return;
		s->num = v;
		break;
	case QUESTION_MULTI: {
		uint64_t mask = 0;
		if (a->array)
			for (size_t i = 0; i < a->n; i++)
				mask |= option_bit(q, t->rec.items[a->first + i].s,
				                   t->rec.items[a->first + i].len);
		else if (a->value.s) /* "a|b", as answer_parse_answer_value() puts it */
			for (const char *p = a->value.s, *bar;; p = bar + 1) {
				bar = strchrnul(p, '|');
				mask |= option_bit(q, p, (size_t)(bar - p));
				if (!*bar)
					break;
			}
		s->mask = mask;
		break;
	}
	case QUESTION_TEXT:
		if (!a->value.s || !a->value.len)
			return;
		if (a->value.len + 1 > s->text_cap) {
			s->text_cap = a->value.len + 1;
			s->text = xrealloc(s->text, s->text_cap);
		}
		memcpy(s->text, a->value.s, a->value.len + 1);
		break;
	default:
		return;
	}
	s->state = SLOT_VALUE;
}

/* An idea as the ballot shows it: whitespace collapsed, so that an idea stored over two lines
 * (by an older coco) is one line on the ballot and on a button. NULL if nothing is left. */
static char *idea_text(const char *s, size_t len)
{
	char *t = strcollapse_ws(xstrndup(s, len));
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

/* An idea as the ballot compares it: as shown, ASCII lower case. NULL if nothing is left. */
static char *idea_norm(const char *s, size_t len)
{
	char *norm = idea_text(s, len);
	for (char *p = norm; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return norm;
}

/* The key under which an erased idea that others also wrote keeps its ballot slot:
 * "\x01h:" and the hash of the idea as compared. */
static char *hash_key(uint64_t h)
{
	return xasprintf("\x01h:%016llx", (unsigned long long)h);
}

int digest_idea_hash(const char *text, char ret[static 17])
{
	if (!text)
		return -EINVAL;
	_cleanup_free_ char *norm = idea_norm(text, strlen(text));
	if (!norm)
		return -ENODATA;
	snprintf(ret, 17, "%016llx", (unsigned long long)fnv1a(FNV_SEED, norm, strlen(norm)));
	return 0;
}

static void add_idea(tally *t, size_t author, const sv *raw)
{
	char *norm = idea_norm(raw->s, raw->len);
	if (!norm)
		return;
	size_t len = strlen(norm);
	uint64_t h = fnv1a(FNV_SEED, norm, len);
	size_t i = smap_find(&t->idea_map, norm, len, h);
	if (i == SIZE_MAX) {
		/* The same idea from someone forgotten since: it keeps their slot, in this
		 * member's words. */
		_cleanup_free_ char *hk = hash_key(h);
		i = smap_find(&t->idea_map, hk, strlen(hk), fnv1a(FNV_SEED, hk, strlen(hk)));
		if (i != SIZE_MAX && t->ideas[i].author == SIZE_MAX) {
			free(t->ideas[i].text);
			t->ideas[i].text = idea_text(raw->s, raw->len);
			t->ideas[i].author = author;
			smap_add(&t->idea_map, norm, len, h, i);
			t->ideas[i].count++;
			return;
		}
	}
	if (i != SIZE_MAX) {
		idea *x = &t->ideas[i];
		x->count++;
		free(norm);
		/* A second proposer is kept, not lost (an idea withdrawn has no author). */
		bool known = x->author == author || x->author == SIZE_MAX;
		for (size_t k = 0; k < x->n_others && !known; k++)
			known = x->others[k] == author;
		if (!known) {
			GROW(x->others, x->n_others, x->cap_others);
			x->others[x->n_others++] = author;
		}
		return;
	}
	GROW(t->ideas, t->n_ideas, t->cap_ideas);
	t->ideas[t->n_ideas] = (idea){idea_text(raw->s, raw->len), author, 1, NULL, 0, 0};
	smap_add(&t->idea_map, norm, len, h, t->n_ideas++);
}

/* A forgotten record keeps the ballot slots its ideas held (see core-forget.c), so the
 * numbering of the ideas after them does not move. */
static void add_withdrawn(tally *t)
{
	const record *r = &t->rec;
	for (long k = 0; k < r->ideas_n && k < 100000; k++) {
		const sv *hs = (size_t)k < r->n_ideas_h ? &r->ideas_h[k] : NULL;
		char *key = hs && hs->len ? xasprintf("\x01h:%s", hs->s)
		                          : xasprintf("\x01#%zu", t->n_ideas);
		size_t len = strlen(key);
		uint64_t h = fnv1a(FNV_SEED, key, len);
		if (smap_find(&t->idea_map, key, len, h) != SIZE_MAX) {
			free(key);
			continue;
		}
		GROW(t->ideas, t->n_ideas, t->cap_ideas);
		t->ideas[t->n_ideas] = (idea){xstrdup(DIGEST_IDEA_WITHDRAWN), SIZE_MAX, 1, NULL, 0, 0};
		smap_add(&t->idea_map, key, len, h, t->n_ideas++);
	}
	if (!r->forgotten.len)
		return;
	for (char **p = t->forgotten; p && *p; p++)
		if (STREQ(*p, r->forgotten.s))
			return;
	strv_push(&t->forgotten, xstrndup(r->forgotten.s, r->forgotten.len));
}

static void tally_apply(tally *t)
{
	record *r = &t->rec;
	bool anon = t->round && t->round->anonymous;
	const sv *key = anon ? (r->pseudo.s ? &r->pseudo : &r->member)
	                     : (r->member.s ? &r->member : &r->pseudo);
	entry *e = tally_entry(t, key, !anon && key == &r->member, &r->side);
	size_t ei = (size_t)(e - t->entries);
	for (size_t i = 0; i < r->n_answers; i++)
		apply_answer(t, e, &r->answers[i]);
	for (size_t i = 0; i < r->n_skips; i++) {
		size_t qi = question_index(t, &r->skips[i]);
		if (qi != SIZE_MAX) {
			e->slots[qi].state = SLOT_SKIP;
			e->slots[qi].mask = 0;
		}
	}
	for (size_t i = 0; i < r->n_ideas; i++)
		add_idea(t, ei, &r->ideas[i]);
	/* Every record carries "votes", often empty: only a record that votes replaces the
	 * member's earlier votes. */
	if (r->n_votes) {
		e->n_votes = 0;
		for (size_t i = 0; i < r->n_votes; i++) {
			GROW(e->votes, e->n_votes, e->cap_votes);
			e->votes[e->n_votes++] = r->votes[i];
		}
	}
}

static void tally_bad(tally *t, const char *why)
{
	if (++t->n_bad <= BAD_LINES_LOGGED)
		log_warning("%s: skipping a record: %s", t->relpath, why);
}

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}

static int tally_line(const char *line, size_t len, void *userdata)
{
	tally *t = userdata;
	if (len + 1 > t->scratch_cap) {
		t->scratch_cap = len + 1 > 4096 ? len + 1 : 4096;
		t->scratch = xrealloc(t->scratch, t->scratch_cap);
	}
	memcpy(t->scratch, line, len + 1);
	_cleanup_(cjson_deletep) cJSON *root = NULL;
	if (!record_scan(t->scratch, &t->rec)) {
		root = cJSON_ParseWithLengthOpts(line, len + 1, NULL, true); /* with the NUL */
		if (!root || !record_from_cjson(root, &t->rec)) {
			if (len && strspn(line, " \t\r") != len) /* blank lines are harmless */
				tally_bad(t, "not a JSON object");
			return 0;
		}
	}
	if (!t->rec.has_v || t->rec.v != 1)
		tally_bad(t, "unknown record version");
	else if (t->rec.erased)
		add_withdrawn(t);
	else if (!(t->rec.member.s && t->rec.member.len) && !(t->rec.pseudo.s && t->rec.pseudo.len))
		tally_bad(t, "neither member nor pseudo");
	else {
		t->n_records++;
		tally_apply(t);
	}
	return 0;
}

int tally_scan(tally *t, store *st, const char *campaign, const char *round,
               const char *occurrence)
{
	if (!st || !campaign || !round || !occurrence || !name_is_safe(campaign) ||
	    !name_is_safe(round) || !name_is_safe(occurrence))
		return -EINVAL;
	_cleanup_free_ char *path = xasprintf("campaigns/%s/rounds/%s/%s/answers.jsonl", campaign,
	                                      round, occurrence);
	t->relpath = path;
	int r = store_scan(st, path, tally_line, t);
	if (t->n_bad > BAD_LINES_LOGGED)
		log_warning("%s: %zu records skipped in all", path, t->n_bad);
	t->relpath = NULL;
	return r == -ENOENT ? 0 : r;
}

