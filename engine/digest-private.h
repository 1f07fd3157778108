/* digest-private: what the two halves of the digest module share — the reader
 * (digest-read.c: the answers.jsonl record scanner and the per-member tally) and the
 * figures (digest.c: figures, template JSON, rendering and writing). Not an interface for
 * anything outside the digest module; see digest.h for that. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "digest.h"

/* ---- a small string → index hash map (open addressing; the audience is small) ---- */

/* Inline: the tally hashes every record's key, and the figures hash member ids and quotes. */
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV_SEED 0xcbf29ce484222325ULL

typedef struct smap_slot {
	char *key; /* owned; NULL = empty */
	size_t len, idx;
	uint64_t hash;
} smap_slot;

typedef struct smap {
	smap_slot *slots;
	size_t cap, n;
} smap;

/* The index stored under key, or SIZE_MAX. */
static inline size_t smap_find(const smap *m, const char *key, size_t len, uint64_t hash)
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
	bool has_v, erased;
	long v;
	long ideas_n;  /* a tombstone: the ballot slots its ideas held */
	sv forgotten;  /* a tombstone: the forgotten member's pseudonym */
	sv member, pseudo, side;
	rec_answer *answers;
	size_t n_answers, cap_answers;
	sv *items, *ideas, *skips, *ideas_h;
	size_t n_items, cap_items, n_ideas, cap_ideas, n_skips, cap_skips, n_ideas_h, cap_ideas_h;
	rec_vote *votes;
	size_t n_votes, cap_votes;
} record;

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
	char *text; /* the first spelling, trimmed; DIGEST_IDEA_WITHDRAWN for an erased one */
	size_t author; /* entry index; SIZE_MAX for an erased idea */
	unsigned count;
	/* Who else wrote the same idea (entry indexes, first-seen order, each once): a shared
	 * idea is everyone's who proposed it, and the digest says so. */
	size_t *others;
	size_t n_others, cap_others;
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
	char **forgotten;    /* pseudonyms of members whose records here were erased */
	const char *relpath; /* for warnings */
} tally;

/* round may be NULL (digest_collect_ideas & co): then no answers are tallied, only ideas,
 * votes and who answered. c may be NULL too: then no entry is matched to a member. */
void tally_init(tally *t, const coco_campaign *c, const coco_round *round);
void tally_done(tally *t);
/* Streams campaigns/<campaign>/rounds/<round>/<occurrence>/answers.jsonl into t; a missing
 * file is an empty one, an unsafe name -EINVAL. Unreadable records are counted in t->n_bad. */
int tally_scan(tally *t, store *st, const char *campaign, const char *round,
               const char *occurrence);

/* ---- helpers of the figures (digest.c), shared with digest-sides.c ---- */

#include <cjson/cJSON.h>

#define BAR_WIDTH 20 /* bars longer than this are scaled down */

int64_t dg_div_round(int64_t num, int64_t den); /* rounded, halves away from zero */
char *dg_tenths(int64_t t, bool sign);          /* 38 → "3.8"; with sign "+0.4", "±0.0" */
void dg_add_string(cJSON *o, const char *name, char *s); /* takes s */
char *dg_bar(size_t count, size_t max);         /* "█" per unit, scaled to BAR_WIDTH */
size_t dg_text_width(const char *s);            /* code points */
int64_t dg_mean10(int64_t sum, size_t n);       /* the mean in tenths */
char *dg_median(const long *sorted, size_t n);  /* "4" or "3.5" */
/* pct (clamped to 0–100), rest = 100 - pct, has_pct, has_rest: an HTML bar's two cells. */
void dg_add_pct(cJSON *o, int64_t pct);
void dg_add_text(cJSON *o, const char *name, const char *raw);

/* ---- each side apart (digest-sides.c) ---- */

/* What the split by side needs to know besides the tally. */
typedef struct split_ctx {
	const char *name[_SIDE_MAX]; /* the organisations' names */
	unsigned min_group;          /* MinGroupSize= */
	unsigned gap_tenths;         /* GapThreshold= in tenths */
	bool anonymous;
	bool both_sides;             /* the round's audience has members on both sides */
	/* Earlier occurrences of a repeating round, oldest first, for the sparklines and the
	 * trend chart, with their names; occurrence is t's. */
	const tally *history;
	char *const *history_names;
	size_t n_history;
	const char *occurrence;
} split_ctx;

/* Per-side figures of question qi into o: "split_shown", "sides" or "split_withheld",
 * the gap, and for scales and NPS the per-side sparklines over x->history and t. */
void split_question(cJSON *o, const split_ctx *x, const tally *t, size_t qi);

/* The overall NPS of sorted 0–10 values: "+33", "-20", "0"; promoters 9–10 and detractors
 * 0–6, as a share of all answers, in percent. */
char *dg_nps(const long *values, size_t n);

/* The side-by-side of a vote: per ranked idea (ranked[i] = idea number) "client_votes",
 * "provider_votes" and "dots", or a note why not. */
void split_votes(cJSON *data, cJSON *ranked_arr, const split_ctx *x, const tally *t,
                 size_t n_ideas);
