/* core-tags: the reply-tag index, tag → (campaign, member, what it answers).
 *
 * Every member has one tag for the campaign's digests, one for messages about no round (the
 * notices of core-inbound.c, round "none": a reply to one proves the mailbox and the core
 * finds the round itself), one to unsubscribe from the campaign (core-unsub.c) and two per
 * round (the round, its digest): members × (3 + 2 ×
 * rounds) entries. It used to be a cJSON object, about 450 bytes
 * an entry and a linear scan per lookup (and per insert: building it was quadratic). Here an
 * entry is 32 bytes in one array, found through an open-addressing table of indices.
 *
 * A round also has one room tag, issued with what is posted to a campaign's room (a Slack
 * channel): it names the round and no member, so a button pressed there answers that round
 * for whoever the channel vouches pressed it. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "core-private.h"

#define ROOM_MEMBER UINT32_MAX /* tag_entry.member of a room tag */

typedef struct tag_entry {
	char tag[SECRET_TAG_LEN]; /* no NUL */
	uint32_t camp, member; /* member: ROOM_MEMBER for a room tag */
	int32_t round; /* index in the campaign's rounds, or -1: the campaign's digest (digest
	                * set), the unsubscribe token (unsub set) or no round (a notice) */
	bool digest;   /* a reply to a digest ("digest", "digest:ROUND"), not an answer */
	bool unsub;    /* the unsubscribe token (CORE_UNSUB_WHAT): never a reply's tag */
} tag_entry;

struct core_tags {
	tag_entry *e;
	size_t n;
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
		if (!s || memcmp(t->e[s - 1].tag, tag, SECRET_TAG_LEN) == 0)
			return &t->slots[i];
	}
}

/* As the cJSON object did: a tag made twice (a round named "digest" has the campaign
 * digest's tag) names what was added last. */
static void tags_add(core_tags *t, const secret *key, const coco_campaign *camp, uint32_t ci,
                     uint32_t mi, int32_t ri, bool digest, bool unsub)
{
	tag_entry e = {.camp = ci, .member = mi, .round = ri, .digest = digest};
	char tag[SECRET_TAG_LEN + 1];
	const char *member = camp->members[mi].id;
	if (unsub) {
		e.unsub = true;
		secret_tag(key, camp->id, CORE_UNSUB_WHAT, member, tag);
	} else if (ri < 0)
		secret_tag(key, camp->id, digest ? "digest" : "none", member, tag);
	else if (digest) {
		_cleanup_free_ char *dr = xasprintf("digest:%s", camp->rounds[ri].id);
		secret_tag(key, camp->id, dr, member, tag);
	} else {
		secret_tag(key, camp->id, camp->rounds[ri].id, member, tag);
		if (STREQ(camp->rounds[ri].id, "digest")) /* the old "r" said "digest": a comment */
			e = (tag_entry){.camp = ci, .member = mi, .round = -1, .digest = true};
	}
	memcpy(e.tag, tag, SECRET_TAG_LEN);
	uint32_t *slot = tags_slot(t, e.tag);
	if (*slot) {
		t->e[*slot - 1] = e;
		return;
	}
	t->e[t->n] = e;
	*slot = (uint32_t)++t->n;
}

void core_room_tag(const secret *key, const coco_campaign *camp, const coco_round *r,
                   char tag[SECRET_TAG_LEN + 1])
{
	_cleanup_free_ char *what = xasprintf("room:%s", r->id);
	secret_tag(key, camp->id, what, "", tag);
}

static void tags_add_room(core_tags *t, const secret *key, const coco_campaign *camp,
                          uint32_t ci, int32_t ri)
{
	char tag[SECRET_TAG_LEN + 1];
	core_room_tag(key, camp, &camp->rounds[ri], tag);
	tag_entry e = {.camp = ci, .member = ROOM_MEMBER, .round = ri};
	memcpy(e.tag, tag, SECRET_TAG_LEN);
	uint32_t *slot = tags_slot(t, e.tag);
	if (*slot) {
		t->e[*slot - 1] = e;
		return;
	}
	t->e[t->n] = e;
	*slot = (uint32_t)++t->n;
}

core_tags *core_tags_free(core_tags *t)
{
	if (!t)
		return NULL;
	free(t->e);
	free(t->slots);
	free(t);
	return NULL;
}

core_tags *core_tags_build(const coco_config *cfg, const secret *key)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_campaigns; i++)
		n += cfg->campaigns[i].n_members * (3 + 2 * cfg->campaigns[i].n_rounds) +
		     cfg->campaigns[i].n_rounds;
	if (n >= UINT32_MAX / 4) { /* some 10^9 members: the config could not be loaded */
		log_error("%zu reply tags: more than the tag index holds", n);
		abort();
	}
	core_tags *t = xcalloc(1, sizeof *t);
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	t->e = xcalloc(n ? n : 1, sizeof *t->e);
	t->slots = xcalloc(cap, sizeof *t->slots);
	t->mask = cap - 1;
	for (size_t i = 0; i < cfg->n_campaigns; i++) {
		const coco_campaign *camp = &cfg->campaigns[i];
		for (size_t m = 0; m < camp->n_members; m++) {
			/* First: a round named "none" or "digest" wins its tag. */
			tags_add(t, key, camp, (uint32_t)i, (uint32_t)m, -1, false, false);
			tags_add(t, key, camp, (uint32_t)i, (uint32_t)m, -1, true, false);
			tags_add(t, key, camp, (uint32_t)i, (uint32_t)m, -1, false, true);
			for (size_t k = 0; k < camp->n_rounds; k++) {
				tags_add(t, key, camp, (uint32_t)i, (uint32_t)m, (int32_t)k, false, false);
				tags_add(t, key, camp, (uint32_t)i, (uint32_t)m, (int32_t)k, true, false);
			}
		}
		for (size_t k = 0; k < camp->n_rounds; k++)
			tags_add_room(t, key, camp, (uint32_t)i, (int32_t)k);
	}
	return t;
}

static const tag_entry *tags_get(const core_tags *t, const char *tag)
{
	if (!t || strlen(tag) != SECRET_TAG_LEN)
		return NULL;
	uint32_t s = *tags_slot(t, tag);
	return s ? &t->e[s - 1] : NULL;
}

bool core_tags_find_unsub(const core_tags *t, const coco_config *cfg, const char *token,
                          core_tag *ret)
{
	const tag_entry *e = tags_get(t, token);
	if (!e || !e->unsub)
		return false;
	const coco_campaign *camp = &cfg->campaigns[e->camp];
	*ret = (core_tag){.camp = camp, .member = &camp->members[e->member]};
	return true;
}

bool core_tags_find(const core_tags *t, const coco_config *cfg, const char *tag,
                    core_tag *ret)
{
	const tag_entry *e = tags_get(t, tag);
	if (!e || e->unsub)
		return false;
	const coco_campaign *camp = &cfg->campaigns[e->camp];
	*ret = (core_tag){
		.camp = camp,
		.member = e->member == ROOM_MEMBER ? NULL : &camp->members[e->member],
		.round = e->round >= 0 ? &camp->rounds[e->round] : NULL,
		.digest = e->digest,
	};
	return true;
}
