/* digest: see digest.h. Reading (the record scanner and the per-member tally) is here; the
 * figures and the template data are built at the end of digest_compute(). */
#define _GNU_SOURCE
#include "digest.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmark.h>

#include "template.h"
#include "util.h"

#define BAR_WIDTH 20       /* bars longer than this are scaled down */
#define GAP_MIN_ANSWERS 3  /* per side, before a client–provider gap is shown */
#define BAD_LINES_LOGGED 5 /* per file; the rest are only counted */
#define NESTING_MAX 32     /* JSON depth the scanner follows in values it skips */

/* ---- a small string → index hash map (open addressing; the audience is small) ---- */

typedef struct smap_slot {
	char *key; /* owned; NULL = empty */
	size_t len, idx;
	uint64_t hash;
} smap_slot;

typedef struct smap {
	smap_slot *slots;
	size_t cap, n;
} smap;

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV_SEED 0xcbf29ce484222325ULL

static size_t smap_find(const smap *m, const char *key, size_t len, uint64_t hash)
{
	if (!m->cap)
		return SIZE_MAX;
	for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const smap_slot *s = &m->slots[i];
		if (!s->key)
			return SIZE_MAX;
		if (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0)
			return s->idx;
	}
}

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

/* ---- one answers.jsonl record, as read ---- */

typedef struct sv {
	const char *s; /* NUL-terminated */
	size_t len;
} sv;

typedef struct rec_answer {
	sv qid, value;     /* value.s is NULL for an array (multi) or a non-string */
	size_t first, n;   /* array items: rec->items[first .. first + n) */
	bool array;
} rec_answer;

typedef struct rec_vote {
	long idea, dots;
} rec_vote;

typedef struct record {
	bool has_v;
	long v;
	sv member, pseudo, side;
	rec_answer *answers;
	size_t n_answers, cap_answers;
	sv *items, *ideas, *skips;
	size_t n_items, cap_items, n_ideas, cap_ideas, n_skips, cap_skips;
	rec_vote *votes;
	size_t n_votes, cap_votes;
} record;

static void record_reset(record *r)
{
	r->has_v = false;
	r->member = r->pseudo = r->side = (sv){0};
	r->n_answers = r->n_items = r->n_ideas = r->n_skips = r->n_votes = 0;
}

static void record_done(record *r)
{
	free(r->answers);
	free(r->items);
	free(r->ideas);
	free(r->skips);
	free(r->votes);
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
	long idea, dots;
	char *end = scan_long((char *)key->s, &idea);
	if (!end || *end || !(p = scan_long(p, &dots)))
		return NULL;
	GROW(r->votes, r->n_votes, r->cap_votes);
	r->votes[r->n_votes++] = (rec_vote){idea, dots};
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
	if (cJSON_IsNumber(v) && v->valuedouble == (double)(long)v->valuedouble) {
		r->has_v = true;
		r->v = (long)v->valuedouble;
	}
	r->member = sv_of(cJSON_GetObjectItemCaseSensitive(root, "member"));
	r->pseudo = sv_of(cJSON_GetObjectItemCaseSensitive(root, "pseudo"));
	r->side = sv_of(cJSON_GetObjectItemCaseSensitive(root, "side"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "answers")) {
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
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "votes")) {
		long idea;
		if (!cJSON_IsNumber(it) || parse_long(it->string, 1, LONG_MAX, &idea) < 0)
			continue;
		GROW(r->votes, r->n_votes, r->cap_votes);
		r->votes[r->n_votes++] = (rec_vote){idea, (long)it->valuedouble};
	}
	return true;
}

/* ---- the tally: one entry per member (or pseudonym) with their latest values ---- */

enum { SLOT_NONE, SLOT_VALUE, SLOT_SKIP };

typedef struct slot {
	unsigned char state;
	long num;      /* scale/nps value, choice option index */
	uint64_t mask; /* multi: chosen options (the first 64) */
	char *text;    /* text answers, the buffer reused by later answers */
	size_t text_cap;
} slot;

typedef struct entry {
	char *key; /* member id or pseudonym */
	bool is_member_id;
	const coco_member *member;
	coco_side side;
	slot *slots; /* one per question of the round */
	rec_vote *votes;
	size_t n_votes, cap_votes;
} entry;

typedef struct idea {
	char *text; /* the first spelling, trimmed */
	size_t author; /* entry index */
	unsigned count;
} idea;

typedef struct tally {
	const coco_campaign *campaign; /* may be NULL (digest_collect_ideas & co) */
	const coco_round *round;       /* may be NULL */
	size_t n_questions;
	entry *entries;
	size_t n_entries, cap_entries;
	smap entry_map;
	idea *ideas;
	size_t n_ideas, cap_ideas;
	smap idea_map;
	record rec;
	char *scratch;
	size_t scratch_cap;
	size_t n_records, n_bad;
	const char *relpath; /* for warnings */
} tally;

static void tally_init(tally *t, const coco_campaign *c, const coco_round *round)
{
	*t = (tally){.campaign = c, .round = round, .n_questions = round ? round->n_questions : 0};
}

static void tally_done(tally *t)
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
	for (size_t i = 0; i < t->n_ideas; i++)
		free(t->ideas[i].text);
	free(t->ideas);
	smap_done(&t->idea_map);
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

static void add_idea(tally *t, size_t author, const sv *raw)
{
	const char *s = raw->s;
	size_t len = raw->len;
	while (len && strchr(" \t\r\n\f\v", s[0]))
		s++, len--;
	while (len && strchr(" \t\r\n\f\v", s[len - 1]))
		len--;
	if (!len)
		return;
	char *norm = xstrndup(s, len);
	for (char *p = norm; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	uint64_t h = fnv1a(FNV_SEED, norm, len);
	size_t i = smap_find(&t->idea_map, norm, len, h);
	if (i != SIZE_MAX) {
		t->ideas[i].count++;
		free(norm);
		return;
	}
	GROW(t->ideas, t->n_ideas, t->cap_ideas);
	t->ideas[t->n_ideas] = (idea){xstrndup(s, len), author, 1};
	smap_add(&t->idea_map, norm, len, h, t->n_ideas++);
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
	else if (!(t->rec.member.s && t->rec.member.len) && !(t->rec.pseudo.s && t->rec.pseudo.len))
		tally_bad(t, "neither member nor pseudo");
	else {
		t->n_records++;
		tally_apply(t);
	}
	return 0;
}

static int tally_scan(tally *t, store *st, const char *campaign, const char *round,
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

/* ---- figures ---- */

struct digest {
	cJSON *data; /* the template data, built once */
	size_t n_records, n_bad;
	unsigned answered[_SIDE_MAX], audience[_SIDE_MAX];
};

/* num/den rounded to the nearest integer, halves away from zero. */
static int64_t div_round(int64_t num, int64_t den)
{
	if (den < 0)
		num = -num, den = -den;
	return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

/* Tenths as text: 38 → "3.8"; with sign, "+0.4" / "-1.2" / "±0.0". */
static char *tenths(int64_t t, bool sign)
{
	const char *s = t < 0 ? "-" : !sign ? "" : t > 0 ? "+" : "±";
	int64_t a = t < 0 ? -t : t;
	return xasprintf("%s%lld.%lld", s, (long long)(a / 10), (long long)(a % 10));
}

static void add_owned_string(cJSON *o, const char *name, char *s)
{
	cJSON_AddStringToObject(o, name, s);
	free(s);
}

/* One "█" per answer, scaled to BAR_WIDTH when the largest count is wider. */
static char *bar(size_t count, size_t max)
{
	size_t w = count;
	if (max > BAR_WIDTH) {
		w = (size_t)div_round((int64_t)count * BAR_WIDTH, (int64_t)max);
		if (count && !w)
			w = 1;
	}
	strbuf b = {0};
	for (size_t i = 0; i < w; i++)
		strbuf_puts(&b, "█");
	return strbuf_steal(&b);
}

/* Characters, near enough for padding: UTF-8 bytes that start a code point. */
static size_t text_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A row {value, label, count, bar, line}: label is value padded to width (numbers to the
 * right, words to the left) so that the bars line up in a code block. */
static void add_bar_row(cJSON *arr, const char *value, size_t width, bool right, size_t count,
                        size_t max)
{
	cJSON *row = cJSON_CreateObject();
	_cleanup_free_ char *b = bar(count, max);
	size_t w = text_width(value), pad = w < width ? width - w : 0;
	_cleanup_free_ char *label = xasprintf("%*s%s%*s", right ? (int)pad : 0, "", value,
	                                       right ? 0 : (int)pad, "");
	cJSON_AddStringToObject(row, "value", value);
	cJSON_AddStringToObject(row, "label", label);
	cJSON_AddNumberToObject(row, "count", (double)count);
	cJSON_AddStringToObject(row, "bar", b);
	add_owned_string(row, "line", xasprintf("%s %s %zu", label, b, count));
	cJSON_AddItemToArray(arr, row);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* The latest numeric values of one question, overall and by side. */
typedef struct numstats {
	size_t n, n_side[_SIDE_MAX];
	int64_t sum, sum_side[_SIDE_MAX];
	long *values; /* sorted */
} numstats;

static void numstats_of(const tally *t, size_t qi, numstats *ret)
{
	numstats ns = {.values = xmalloc((t->n_entries + 1) * sizeof(long))};
	for (size_t i = 0; i < t->n_entries; i++) {
		const entry *e = &t->entries[i];
		if (e->slots[qi].state != SLOT_VALUE)
			continue;
		long v = e->slots[qi].num;
		ns.values[ns.n++] = v;
		ns.sum += v;
		if (e->side >= 0 && e->side < _SIDE_MAX) {
			ns.n_side[e->side]++;
			ns.sum_side[e->side] += v;
		}
	}
	qsort(ns.values, ns.n, sizeof(long), cmp_long);
	*ret = ns;
}

static int64_t mean10(int64_t sum, size_t n)
{
	return div_round(sum * 10, (int64_t)n);
}

static void add_numeric(cJSON *o, const coco_question *q, const numstats *ns, const tally *prev,
                        size_t qi, strbuf *trend)
{
	if (ns->n) {
		size_t m = ns->n / 2;
		int64_t med10 = ns->n % 2 ? (int64_t)ns->values[m] * 10
		                          : ((int64_t)ns->values[m - 1] + ns->values[m]) * 5;
		add_owned_string(o, "median", tenths(med10, false));
		if (med10 % 10 == 0) { /* a median that is an answer reads better without ".0" */
			cJSON_DeleteItemFromObject(o, "median");
			add_owned_string(o, "median", xasprintf("%lld", (long long)(med10 / 10)));
		}
		add_owned_string(o, "mean", tenths(mean10(ns->sum, ns->n), false));
	}

	/* Distribution, highest value first; every value of a short scale, else those given. */
	cJSON *dist = cJSON_AddArrayToObject(o, "bars");
	size_t maxc = 0;
	for (size_t i = 0, run; i < ns->n; i += run) {
		for (run = 1; i + run < ns->n && ns->values[i + run] == ns->values[i]; run++)
			;
		if (run > maxc)
			maxc = run;
	}
	bool every = q->max - q->min <= BAR_WIDTH;
	char label[24];
	int width = snprintf(label, sizeof label, "%ld", q->max);
	int w2 = snprintf(label, sizeof label, "%ld", q->min);
	width = w2 > width ? w2 : width;
	size_t hi = ns->n;
	for (long v = q->max; v >= q->min && (every || hi > 0); v--) {
		size_t c = 0;
		while (hi > 0 && ns->values[hi - 1] == v)
			hi--, c++;
		if (!every && !c) {
			if (hi > 0 && ns->values[hi - 1] < v)
				v = ns->values[hi - 1] + 1; /* jump to the next value given */
			continue;
		}
		snprintf(label, sizeof label, "%ld", v);
		add_bar_row(dist, label, (size_t)width, true, c, maxc);
	}

	/* The client–provider gap. Flagged on the value as shown (one decimal), so that a
	 * "+1.0" is always flagged. */
	size_t nc = ns->n_side[SIDE_CLIENT], np = ns->n_side[SIDE_PROVIDER];
	if (nc >= GAP_MIN_ANSWERS && np >= GAP_MIN_ANSWERS) {
		int64_t num = (ns->sum_side[SIDE_CLIENT] * (int64_t)np -
		               ns->sum_side[SIDE_PROVIDER] * (int64_t)nc) * 10;
		int64_t g10 = div_round(num, (int64_t)(nc * np));
		cJSON_AddBoolToObject(o, "gap_shown", true);
		add_owned_string(o, "gap", tenths(g10, true));
		add_owned_string(o, "client_mean", tenths(mean10(ns->sum_side[SIDE_CLIENT], nc), false));
		add_owned_string(o, "provider_mean",
		                 tenths(mean10(ns->sum_side[SIDE_PROVIDER], np), false));
		cJSON_AddBoolToObject(o, "gap_flag", g10 >= 10 || g10 <= -10);
	} else {
		cJSON_AddBoolToObject(o, "gap_shown", false);
		cJSON_AddBoolToObject(o, "gap_flag", false);
		cJSON_AddStringToObject(o, "gap_note", "not shown: fewer than 3 answers on a side");
	}

	if (!prev || !ns->n)
		return;
	numstats pv;
	numstats_of(prev, qi, &pv);
	if (pv.n) {
		int64_t a = mean10(pv.sum, pv.n), b = mean10(ns->sum, ns->n);
		_cleanup_free_ char *sa = tenths(a, false), *sb = tenths(b, false),
		                    *d = tenths(b - a, true);
		_cleanup_free_ char *text = xasprintf("mean %s → %s (%s)", sa, sb, d);
		cJSON_AddStringToObject(o, "prev_mean", sa);
		cJSON_AddStringToObject(o, "delta", d);
		cJSON_AddStringToObject(o, "trend_text", text);
		strbuf_printf(trend, "%s- %s — %s", trend->len ? "\n" : "",
		              q->text ? q->text : q->id, text);
	}
	free(pv.values);
}

typedef struct quote {
	char *text;       /* owned, on one line */
	const char *name; /* NULL in anonymous rounds */
	uint64_t order;
} quote;

static int cmp_quote(const void *a, const void *b)
{
	const quote *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* Quotes go into Markdown lists and blockquotes, where a newline would end them. */
static char *one_line(const char *s)
{
	strbuf b = {0};
	bool space = false;
	for (; *s; s++) {
		if (strchr(" \t\r\n\f\v", *s)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			strbuf_putc(&b, ' ');
		space = false;
		strbuf_putc(&b, *s);
	}
	return strbuf_steal(&b);
}

static const char *entry_name(const tally *t, const entry *e)
{
	if (t->round && t->round->anonymous)
		return NULL;
	if (e->member)
		return e->member->name ? e->member->name : e->member->id;
	return e->is_member_id ? e->key : NULL; /* a pseudonym is no name */
}

/* Adds quotes (sorted by a keyed hash of their text in anonymous rounds, so the order says
 * nothing of who wrote what) as {text, who, question}; frees the texts. question is the
 * question number, 0 for ideas. */
static void add_quotes(cJSON *arr, quote *qs, size_t n, uint64_t seed, bool anon, size_t question)
{
	if (anon) {
		for (size_t i = 0; i < n; i++)
			qs[i].order = fnv1a(seed, qs[i].text, strlen(qs[i].text));
		qsort(qs, n, sizeof *qs, cmp_quote);
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *q = cJSON_CreateObject();
		cJSON_AddStringToObject(q, "text", qs[i].text);
		if (qs[i].name && !anon)
			cJSON_AddStringToObject(q, "who", qs[i].name);
		cJSON_AddNumberToObject(q, "question", (double)question);
		cJSON_AddItemToArray(arr, q);
		free(qs[i].text);
	}
}

static void add_question(cJSON *arr, cJSON *quotes, strbuf *trend, const tally *t,
                         const tally *prev, size_t qi, uint64_t seed)
{
	const coco_question *q = &t->round->questions[qi];
	bool numeric = q->kind == QUESTION_SCALE || q->kind == QUESTION_NPS;
	bool choice = q->kind == QUESTION_CHOICE || q->kind == QUESTION_MULTI;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, o);
	cJSON_AddStringToObject(o, "id", q->id);
	cJSON_AddNumberToObject(o, "number", (double)(qi + 1));
	cJSON_AddStringToObject(o, "text", q->text ? q->text : q->id);
	cJSON_AddStringToObject(o, "kind", question_kind_to_string(q->kind));
	cJSON_AddBoolToObject(o, "is_scale", numeric);
	cJSON_AddBoolToObject(o, "is_nps", q->kind == QUESTION_NPS);
	cJSON_AddBoolToObject(o, "is_choice", choice);
	cJSON_AddBoolToObject(o, "is_multi", q->kind == QUESTION_MULTI);
	cJSON_AddBoolToObject(o, "is_text", q->kind == QUESTION_TEXT);

	size_t n = 0, skipped = 0;
	for (size_t i = 0; i < t->n_entries; i++) {
		n += t->entries[i].slots[qi].state == SLOT_VALUE;
		skipped += t->entries[i].slots[qi].state == SLOT_SKIP;
	}
	cJSON_AddNumberToObject(o, "n", (double)n);
	cJSON_AddNumberToObject(o, "skipped", (double)skipped);

	if (numeric) {
		numstats ns;
		numstats_of(t, qi, &ns);
		add_numeric(o, q, &ns, prev, qi, trend);
		free(ns.values);
	} else if (choice) {
		size_t *counts = xcalloc(q->n_options, sizeof(size_t)), maxc = 0;
		for (size_t i = 0; i < t->n_entries; i++) {
			const slot *s = &t->entries[i].slots[qi];
			for (size_t k = 0; s->state == SLOT_VALUE && k < q->n_options; k++)
				counts[k] += q->kind == QUESTION_CHOICE ? (size_t)s->num == k
				                                         : k < 64 && (s->mask >> k & 1);
		}
		size_t width = 0;
		for (size_t k = 0; k < q->n_options; k++) {
			maxc = counts[k] > maxc ? counts[k] : maxc;
			width = text_width(q->options[k]) > width ? text_width(q->options[k]) : width;
		}
		cJSON *dist = cJSON_AddArrayToObject(o, "bars");
		for (size_t k = 0; k < q->n_options; k++)
			add_bar_row(dist, q->options[k], width, false, counts[k], maxc);
		free(counts);
	} else if (q->kind == QUESTION_TEXT) {
		quote *qs = xcalloc(n + 1, sizeof(quote));
		size_t nq = 0;
		for (size_t i = 0; i < t->n_entries; i++) {
			const entry *e = &t->entries[i];
			if (e->slots[qi].state == SLOT_VALUE)
				qs[nq++] = (quote){one_line(e->slots[qi].text), entry_name(t, e), 0};
		}
		add_quotes(quotes, qs, nq, seed, t->round->anonymous, qi + 1);
		free(qs);
	}
}

static bool in_audience(const coco_round *r, const coco_member *m)
{
	switch (r->audience) {
	case AUDIENCE_CLIENT:
		return m->side == SIDE_CLIENT;
	case AUDIENCE_PROVIDER:
		return m->side == SIDE_PROVIDER;
	case AUDIENCE_MEMBERS:
		for (size_t i = 0; i < r->n_audience_members; i++)
			if (STREQ(r->audience_members[i], m->id))
				return true;
		return false;
	default:
		return true;
	}
}

static unsigned percent(unsigned a, unsigned total)
{
	return total ? (unsigned)div_round((int64_t)a * 100, total) : 0;
}

static void add_participation(cJSON *data, digest *d, const tally *t)
{
	const coco_campaign *c = t->campaign;
	const coco_round *r = t->round;
	cJSON *missing = cJSON_CreateArray();
	for (size_t i = 0; i < c->n_members; i++) {
		const coco_member *m = &c->members[i];
		if (!in_audience(r, m) || m->side < 0 || m->side >= _SIDE_MAX)
			continue;
		d->audience[m->side]++;
		if (r->anonymous)
			continue;
		if (smap_find(&t->entry_map, m->id, strlen(m->id),
		              fnv1a(FNV_SEED, m->id, strlen(m->id))) != SIZE_MAX) {
			d->answered[m->side]++;
			continue;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", m->id);
		cJSON_AddStringToObject(o, "name", m->name ? m->name : m->id);
		cJSON_AddStringToObject(o, "side", side_to_string(m->side));
		cJSON_AddItemToArray(missing, o);
	}
	if (r->anonymous) {
		/* Pseudonyms cannot be matched to members: count them by the side they carry. */
		unsigned seen[_SIDE_MAX] = {0};
		for (size_t i = 0; i < t->n_entries; i++)
			if (t->entries[i].side >= 0 && t->entries[i].side < _SIDE_MAX)
				seen[t->entries[i].side]++;
		for (int s = 0; s < _SIDE_MAX; s++)
			d->answered[s] = seen[s] < d->audience[s] ? seen[s] : d->audience[s];
	}
	cJSON_AddBoolToObject(data, "has_missing", cJSON_GetArraySize(missing) > 0);
	cJSON_AddItemToObject(data, "missing", missing);

	cJSON *p = cJSON_AddObjectToObject(data, "participation");
	unsigned a = d->answered[SIDE_CLIENT] + d->answered[SIDE_PROVIDER];
	unsigned n = d->audience[SIDE_CLIENT] + d->audience[SIDE_PROVIDER];
	cJSON_AddNumberToObject(p, "answered", a);
	cJSON_AddNumberToObject(p, "total", n);
	cJSON_AddNumberToObject(p, "percent", percent(a, n));
	cJSON_AddNumberToObject(p, "client_answered", d->answered[SIDE_CLIENT]);
	cJSON_AddNumberToObject(p, "client_total", d->audience[SIDE_CLIENT]);
	cJSON_AddNumberToObject(p, "provider_answered", d->answered[SIDE_PROVIDER]);
	cJSON_AddNumberToObject(p, "provider_total", d->audience[SIDE_PROVIDER]);
	cJSON *sides = cJSON_AddArrayToObject(p, "sides");
	for (int s = 0; s < _SIDE_MAX; s++) {
		if (!d->audience[s])
			continue;
		const char *org = s == SIDE_CLIENT ? c->client_name : c->provider_name;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "side", side_to_string(s));
		cJSON_AddStringToObject(o, "name", org ? org : s == SIDE_CLIENT ? "Client" : "Provider");
		cJSON_AddNumberToObject(o, "answered", d->answered[s]);
		cJSON_AddNumberToObject(o, "total", d->audience[s]);
		cJSON_AddNumberToObject(o, "percent", percent(d->answered[s], d->audience[s]));
		cJSON_AddItemToArray(sides, o);
	}
}

/* Ideas are quotes too; non-anonymous rounds also get them listed with their ballot
 * numbers. */
static void add_ideas(cJSON *data, cJSON *quotes, const tally *t, uint64_t seed)
{
	bool anon = t->round->anonymous;
	cJSON *arr = cJSON_CreateArray();
	quote *qs = xcalloc(t->n_ideas + 1, sizeof(quote));
	for (size_t i = 0; i < t->n_ideas; i++)
		qs[i] = (quote){one_line(t->ideas[i].text),
		                entry_name(t, &t->entries[t->ideas[i].author]), 0};
	add_quotes(quotes, qs, t->n_ideas, seed, anon, 0);
	free(qs);
	if (!anon)
		for (size_t i = 0; i < t->n_ideas; i++) {
			const idea *x = &t->ideas[i];
			cJSON *o = cJSON_CreateObject();
			const char *name = entry_name(t, &t->entries[x->author]);
			cJSON_AddNumberToObject(o, "number", (double)(i + 1)); /* = the ballot's */
			add_owned_string(o, "text", one_line(x->text));
			if (name)
				cJSON_AddStringToObject(o, "who", name);
			cJSON_AddNumberToObject(o, "count", x->count);
			cJSON_AddItemToArray(arr, o);
		}
	cJSON_AddBoolToObject(data, "has_ideas", t->n_ideas > 0 && !anon);
	cJSON_AddItemToObject(data, "ideas", arr);
}

typedef struct ranked {
	size_t number;
	long dots;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->dots != y->dots)
		return x->dots > y->dots ? -1 : 1;
	return (x->number > y->number) - (x->number < y->number);
}

static void add_ranking(cJSON *data, const tally *t, const digest_input *in)
{
	ranked *rk = xcalloc(in->n_ideas + 1, sizeof(ranked));
	long maxd = 0, total = 0;
	for (size_t i = 0; i < in->n_ideas; i++)
		rk[i].number = i + 1;
	for (size_t i = 0; i < t->n_entries; i++)
		for (size_t k = 0; k < t->entries[i].n_votes; k++) {
			const rec_vote *v = &t->entries[i].votes[k];
			if (v->idea >= 1 && (size_t)v->idea <= in->n_ideas && v->dots > 0) {
				rk[v->idea - 1].dots += v->dots;
				total += v->dots;
			}
		}
	qsort(rk, in->n_ideas, sizeof *rk, cmp_ranked);
	maxd = in->n_ideas ? rk[0].dots : 0;
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < in->n_ideas; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "rank", (double)(i + 1));
		cJSON_AddNumberToObject(o, "number", (double)rk[i].number);
		add_owned_string(o, "text", one_line(in->idea_texts[rk[i].number - 1]));
		cJSON_AddNumberToObject(o, "votes", (double)rk[i].dots);
		add_owned_string(o, "bar", bar((size_t)rk[i].dots, (size_t)maxd));
		cJSON_AddItemToArray(arr, o);
	}
	free(rk);
	cJSON_AddItemToObject(data, "ideas_ranked", arr);
	cJSON_AddNumberToObject(data, "dots_total", (double)total);
}

static cJSON *build_data(digest *d, const digest_input *in, const tally *t, const tally *prev)
{
	const coco_campaign *c = in->campaign;
	const coco_round *r = in->round;
	cJSON *data = cJSON_CreateObject();
	cJSON *co = cJSON_AddObjectToObject(data, "campaign");
	cJSON_AddStringToObject(co, "id", c->id);
	cJSON_AddStringToObject(co, "title", c->title ? c->title : c->id);
	cJSON_AddStringToObject(co, "client_name", c->client_name ? c->client_name : "Client");
	cJSON_AddStringToObject(co, "provider_name",
	                        c->provider_name ? c->provider_name : "Provider");
	cJSON *ro = cJSON_AddObjectToObject(data, "round");
	cJSON_AddStringToObject(ro, "id", r->id);
	cJSON_AddStringToObject(ro, "title", r->title ? r->title : r->id);
	cJSON_AddStringToObject(ro, "kind", round_kind_to_string(r->kind));
	cJSON_AddBoolToObject(ro, "anonymous", r->anonymous);
	cJSON_AddBoolToObject(ro, "is_prompt", r->kind == ROUND_PROMPT);
	cJSON_AddBoolToObject(ro, "is_survey", r->kind == ROUND_SURVEY);
	cJSON_AddBoolToObject(ro, "is_vote", r->kind == ROUND_VOTE);
	cJSON_AddStringToObject(data, "occurrence", in->occurrence);
	if (in->prev_occurrence)
		cJSON_AddStringToObject(data, "prev_occurrence", in->prev_occurrence);
	char date[32];
	struct tm tm;
	time_t now = (time_t)in->now;
	if (gmtime_r(&now, &tm) && strftime(date, sizeof date, "%Y-%m-%d", &tm))
		cJSON_AddStringToObject(data, "date", date);
	cJSON_AddNumberToObject(data, "records", (double)t->n_records);
	cJSON_AddNumberToObject(data, "bad_lines", (double)t->n_bad);

	add_participation(data, d, t);

	/* The seed of the quote order: fixed per occurrence, unknown to nobody, and enough to
	 * break the link between file order (who answered when) and list order. */
	uint64_t seed = fnv1a(FNV_SEED, c->id, strlen(c->id) + 1);
	seed = fnv1a(seed, r->id, strlen(r->id) + 1);
	seed = fnv1a(seed, in->occurrence, strlen(in->occurrence));
	cJSON *qs = cJSON_AddArrayToObject(data, "questions");
	cJSON *quotes = cJSON_CreateArray();
	strbuf trend = {0};
	for (size_t i = 0; i < r->n_questions; i++)
		add_question(qs, quotes, &trend, t, prev, i, seed);
	add_ideas(data, quotes, t, seed);
	cJSON_AddItemToObject(data, "quotes", quotes);
	add_ranking(data, t, in);
	if (trend.len)
		cJSON_AddStringToObject(data, "trend", trend.s);
	strbuf_done(&trend);

	if (in->still_open_note)
		cJSON_AddStringToObject(data, "still_open", in->still_open_note);
	cJSON *cm = cJSON_CreateArray();
	for (size_t i = 0; i < in->n_comments; i++) {
		cJSON *o = cJSON_CreateObject();
		add_owned_string(o, "text", one_line(in->comments[i]));
		cJSON_AddItemToArray(cm, o);
	}
	cJSON_AddBoolToObject(data, "has_comments", in->n_comments > 0);
	cJSON_AddItemToObject(data, "comments", cm);
	return data;
}

/* ---- public API ---- */

int digest_compute(const digest_input *in, digest **ret)
{
	if (!in || !in->store || !in->campaign || !in->round || !in->occurrence || !ret ||
	    (in->n_ideas && !in->idea_texts) || (in->n_comments && !in->comments))
		return -EINVAL;
	_cleanup_(tally_done) tally cur, prev;
	tally_init(&cur, in->campaign, in->round);
	tally_init(&prev, in->campaign, in->round);
	int r = tally_scan(&cur, in->store, in->campaign->id, in->round->id, in->occurrence);
	if (r < 0)
		return r;
	if (in->prev_occurrence) {
		r = tally_scan(&prev, in->store, in->campaign->id, in->round->id,
		               in->prev_occurrence);
		if (r < 0)
			return r;
	}
	digest *d = xcalloc(1, sizeof *d);
	d->n_records = cur.n_records;
	d->n_bad = cur.n_bad;
	d->data = build_data(d, in, &cur, in->prev_occurrence ? &prev : NULL);
	if (!d->data) {
		free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

digest *digest_free(digest *d)
{
	if (d) {
		cJSON_Delete(d->data);
		free(d);
	}
	return NULL;
}

void digest_freep(digest **d)
{
	digest_free(*d);
}

size_t digest_n_records(const digest *d)
{
	return d ? d->n_records : 0;
}

size_t digest_n_bad_lines(const digest *d)
{
	return d ? d->n_bad : 0;
}

unsigned digest_answered(const digest *d, coco_side side)
{
	return d && side >= 0 && side < _SIDE_MAX ? d->answered[side] : 0;
}

unsigned digest_audience(const digest *d, coco_side side)
{
	return d && side >= 0 && side < _SIDE_MAX ? d->audience[side] : 0;
}

int digest_to_json(const digest *d, cJSON **ret)
{
	if (!d || !ret)
		return -EINVAL;
	cJSON *j = cJSON_Duplicate(d->data, true);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

int digest_render(const digest *d, const char *const *template_dirs, char **ret_markdown)
{
	if (!d || !template_dirs || !ret_markdown)
		return -EINVAL;
	_cleanup_free_ char *text = NULL, *out = NULL, *error = NULL;
	int r = template_dirs_partial("digest.md", &text, (void *)template_dirs);
	if (r < 0)
		return log_error_errno(r, "Cannot find the template digest.md: %m");
	r = template_render("digest.md", text, d->data, template_dirs_partial,
	                    (void *)template_dirs, &out, &error);
	if (r < 0)
		return log_error_errno(r, "%s", error ? error : "digest.md: cannot render");
	*ret_markdown = TAKE_PTR(out);
	return 0;
}

int digest_markdown_to_html(const char *md, char **ret_html)
{
	if (!md || !ret_html)
		return -EINVAL;
	char *html = cmark_markdown_to_html(md, strlen(md), CMARK_OPT_DEFAULT | CMARK_OPT_SAFE);
	if (!html)
		return -ENOMEM;
	*ret_html = html;
	return 0;
}

int digest_write(store *st, const char *campaign, const char *name, const char *md)
{
	if (!st || !campaign || !name || !md || !name_is_safe(campaign) || !name_is_safe(name))
		return -EINVAL;
	_cleanup_free_ char *html = NULL;
	int r = digest_markdown_to_html(md, &html);
	if (r < 0)
		return r;
	_cleanup_free_ char *p_md = xasprintf("campaigns/%s/digests/%s.md", campaign, name);
	_cleanup_free_ char *p_html = xasprintf("campaigns/%s/digests/%s.html", campaign, name);
	/* The HTML first: whoever sees the .md may expect its .html beside it. */
	r = store_replace(st, p_html, html, strlen(html));
	if (r < 0)
		return r;
	return store_replace(st, p_md, md, strlen(md));
}

int digest_collect_ideas(store *st, const char *campaign, const char *round,
                         const char *occurrence, char ***ret_ideas)
{
	if (!ret_ideas)
		return -EINVAL;
	_cleanup_(tally_done) tally t;
	tally_init(&t, NULL, NULL);
	int r = tally_scan(&t, st, campaign, round, occurrence);
	if (r < 0)
		return r;
	char **v = xcalloc(t.n_ideas + 1, sizeof(char *));
	for (size_t i = 0; i < t.n_ideas; i++)
		v[i] = TAKE_PTR(t.ideas[i].text);
	*ret_ideas = v;
	return 0;
}

int digest_answered_members(store *st, const char *campaign, const char *round,
                            const char *occurrence, char ***ret_member_ids)
{
	if (!ret_member_ids)
		return -EINVAL;
	_cleanup_(tally_done) tally t;
	tally_init(&t, NULL, NULL);
	int r = tally_scan(&t, st, campaign, round, occurrence);
	if (r < 0)
		return r;
	char **v = xcalloc(t.n_entries + 1, sizeof(char *));
	for (size_t i = 0; i < t.n_entries; i++)
		v[i] = xstrdup(t.entries[i].key);
	*ret_member_ids = v;
	return 0;
}
