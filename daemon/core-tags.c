/* core-tags: the reply-tag index, tag → (campaign, member, what it answers).
 *
 * Every member has one tag for the campaign's digests, one for messages about no round (the
 * notices of core-inbound.c, round "none": a reply to one proves the mailbox and the core
 * finds the round itself), one to unsubscribe from the campaign (core-unsub.c) and two per
 * round (the round, its digest): members × (3 + 2 × rounds) entries. It used to be a cJSON
 * object, about 450 bytes an entry and a linear scan per lookup (and per insert: building
 * it was quadratic); then 32 bytes an entry (the tag and what it names). Now an entry is the
 * tag alone, 16 bytes: what it names follows from its place in the array, a campaign's block
 * being its members' tags in file order, each member's in a fixed order (KIND_* below), then
 * one room tag per round. The entries are found through an open-addressing table of 4-byte
 * indices, filled to at most 80 % (a lookup is one reply's: a few probes more cost nothing).
 * At 20,000 members and one round: 1.6 MiB of tags and 0.5 MiB of table (3.2 and 1 before).
 *
 * A round also has one room tag, issued with what is posted to a campaign's room (a Slack
 * channel): it names the round and no member, so a button pressed there answers that round
 * for whoever the channel vouches pressed it. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "core-private.h"

/* A member's tags, in this order: */
enum {
	KIND_NONE,   /* messages about no round (a notice) */
	KIND_DIGEST, /* the campaign's digests */
	KIND_UNSUB,  /* the unsubscribe token (CORE_UNSUB_WHAT): never a reply's tag */
	KIND_ROUNDS, /* then, per round k: KIND_ROUNDS + 2k the round, + 2k + 1 its digest */
};

typedef struct tags_camp {
	size_t base;      /* its first entry */
	size_t n_members; /* then n_members × per, then n_rounds room tags */
	size_t n_rounds;
	size_t per;       /* KIND_ROUNDS + 2 × n_rounds */
} tags_camp;

struct core_tags {
	char (*tag)[SECRET_TAG_LEN]; /* no NUL */
	size_t n;
	tags_camp *camps; /* parallel to cfg->campaigns */
	size_t n_camps;
	uint32_t *slots; /* entry index + 1; 0 = free */
	size_t mask;
};

static uint64_t tag_hash(const char *t)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < SECRET_TAG_LEN; i++)
		h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
	return h;
}

static uint32_t *tags_slot(const core_tags *t, const char *tag)
{
	for (size_t i = tag_hash(tag) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slots[i];
		if (!s || memcmp(t->tag[s - 1], tag, SECRET_TAG_LEN) == 0)
			return &t->slots[i];
	}
}

/* Entry t->n gets tag. As the cJSON object did, a tag made twice (a round named "digest" has
 * the campaign digest's tag) names what was added last. */
static void tags_push(core_tags *t, const char tag[SECRET_TAG_LEN])
{
	memcpy(t->tag[t->n], tag, SECRET_TAG_LEN);
	*tags_slot(t, tag) = (uint32_t)++t->n;
}

static void tags_add_member(core_tags *t, const secret *key, const coco_campaign *camp,
                            size_t mi)
{
	char tag[SECRET_TAG_LEN + 1];
	const char *member = camp->members[mi].id;
	secret_tag(key, camp->id, "none", member, tag);
	tags_push(t, tag);
	secret_tag(key, camp->id, "digest", member, tag);
	tags_push(t, tag);
	secret_tag(key, camp->id, CORE_UNSUB_WHAT, member, tag);
	tags_push(t, tag);
	for (size_t k = 0; k < camp->n_rounds; k++) {
		secret_tag(key, camp->id, camp->rounds[k].id, member, tag);
		tags_push(t, tag);
		_cleanup_free_ char *dr = xasprintf("digest:%s", camp->rounds[k].id);
		secret_tag(key, camp->id, dr, member, tag);
		tags_push(t, tag);
	}
}

void core_room_tag(const secret *key, const coco_campaign *camp, const coco_round *r,
                   char tag[SECRET_TAG_LEN + 1])
{
	_cleanup_free_ char *what = xasprintf("room:%s", r->id);
	secret_tag(key, camp->id, what, "", tag);
}

core_tags *core_tags_free(core_tags *t)
{
	if (!t)
		return NULL;
	free(t->tag);
	free(t->camps);
	free(t->slots);
	free(t);
	return NULL;
}

core_tags *core_tags_build(const coco_config *cfg, const secret *key)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_campaigns; i++)
		n += cfg->campaigns[i].n_members * (KIND_ROUNDS + 2 * cfg->campaigns[i].n_rounds) +
		     cfg->campaigns[i].n_rounds;
	if (n >= UINT32_MAX / 4) { /* some 10^9 members: the config could not be loaded */
		log_error("%zu reply tags: more than the tag index holds", n);
		abort();
	}
	core_tags *t = xcalloc(1, sizeof *t);
	size_t cap = 16;
	while (cap * 4 < n * 5) /* at most 80 % full */
		cap *= 2;
	t->tag = xcalloc(n ? n : 1, sizeof *t->tag);
	t->slots = xcalloc(cap, sizeof *t->slots);
	t->mask = cap - 1;
	t->camps = xcalloc(cfg->n_campaigns ? cfg->n_campaigns : 1, sizeof *t->camps);
	t->n_camps = cfg->n_campaigns;
	for (size_t i = 0; i < cfg->n_campaigns; i++) {
		const coco_campaign *camp = &cfg->campaigns[i];
		t->camps[i] = (tags_camp){.base = t->n, .n_members = camp->n_members,
		                          .n_rounds = camp->n_rounds,
		                          .per = KIND_ROUNDS + 2 * camp->n_rounds};
		/* Per member first: a round named "none" or "digest" wins its tag. */
		for (size_t m = 0; m < camp->n_members; m++)
			tags_add_member(t, key, camp, m);
		for (size_t k = 0; k < camp->n_rounds; k++) {
			char tag[SECRET_TAG_LEN + 1];
			core_room_tag(key, camp, &camp->rounds[k], tag);
			tags_push(t, tag);
		}
	}
	return t;
}

/* What the entry of tag names: *ret as core_tags_find() gives it, and whether it is an
 * unsubscribe token. */
static bool tags_get(const core_tags *t, const coco_config *cfg, const char *tag, core_tag *ret,
                     bool *ret_unsub)
{
	if (!t || strlen(tag) != SECRET_TAG_LEN)
		return false;
	uint32_t s = *tags_slot(t, tag);
	if (!s)
		return false;
	size_t e = s - 1, ci = 0;
	while (ci + 1 < t->n_camps && t->camps[ci + 1].base <= e)
		ci++;
	const tags_camp *tc = &t->camps[ci];
	const coco_campaign *camp = &cfg->campaigns[ci];
	size_t off = e - tc->base;
	*ret_unsub = false;
	if (off >= tc->n_members * tc->per) { /* a room tag */
		*ret = (core_tag){.camp = camp, .round = &camp->rounds[off - tc->n_members * tc->per]};
		return true;
	}
	size_t kind = off % tc->per;
	*ret = (core_tag){.camp = camp, .member = &camp->members[off / tc->per]};
	if (kind == KIND_DIGEST)
		ret->digest = true;
	else if (kind == KIND_UNSUB)
		*ret_unsub = true;
	else if (kind >= KIND_ROUNDS) {
		const coco_round *r = &camp->rounds[(kind - KIND_ROUNDS) / 2];
		if ((kind - KIND_ROUNDS) % 2) { /* the round's digest */
			ret->round = r;
			ret->digest = true;
		} else if (STREQ(r->id, "digest")) /* the old "r" said "digest": a comment */
			ret->digest = true;
		else
			ret->round = r;
	}
	return true;
}

bool core_tags_find_unsub(const core_tags *t, const coco_config *cfg, const char *token,
                          core_tag *ret)
{
	core_tag found;
	bool unsub;
	if (!tags_get(t, cfg, token, &found, &unsub) || !unsub)
		return false;
	*ret = (core_tag){.camp = found.camp, .member = found.member};
	return true;
}

bool core_tags_find(const core_tags *t, const coco_config *cfg, const char *tag,
                    core_tag *ret)
{
	core_tag found;
	bool unsub;
	if (!tags_get(t, cfg, tag, &found, &unsub) || unsub)
		return false;
	*ret = found;
	return true;
}
