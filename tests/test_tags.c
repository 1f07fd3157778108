/* The reply-tag index (daemon/core-tags.c): every tag coco issues is found and names what it
 * was made for — each member's notice ("none"), digest and unsubscribe tags, each round's
 * tag and its digest's, each round's room tag — in every campaign of a config; a round named
 * "digest" or "none" takes that tag over as it always did; a tag that was never issued, of
 * the wrong length or an unsubscribe token offered as a reply tag is not found. The index
 * keeps only the tags and finds what they name from their place, so this checks the places
 * (two campaigns of different shapes, the second's block after the first's). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "channels.h"
#include "config.h"
#include "core-private.h"
#include "secret.h"
#include "util.h"

static char dir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static coco_config *load(const char *camp_a, const char *camp_b)
{
	snprintf(dir, sizeof dir, "/tmp/coco-tags.XXXXXX");
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *cd = xasprintf("%s/campaigns.d", dir);
	assert_int_equal(mkdir(cd, 0700), 0);
	_cleanup_free_ char *conf = xasprintf("%s/coco.conf", dir);
	write_file(conf, "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n");
	_cleanup_free_ char *a = xasprintf("%s/campaigns.d/a.conf", dir);
	write_file(a, camp_a);
	_cleanup_free_ char *b = xasprintf("%s/campaigns.d/b.conf", dir);
	write_file(b, camp_b);
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(dir, &cfg, &errors);
	for (char **e = errors; e && *e; e++)
		fprintf(stderr, "config: %s\n", *e);
	assert_int_equal(r, 0);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return cfg;
}

static const char camp_a[] =
	"[Campaign]\nTitle=A\nTimeZone=UTC\n"
	"[Member \"ana\"]\nSide=client\nEmail=ana@client.example\n"
	"[Member \"bo\"]\nSide=provider\nEmail=bo@provider.example\n"
	"[Member \"cy\"]\nSide=client\nEmail=cy@client.example\n"
	"[Round \"r1\"]\nKind=prompt\nTitle=R1\nOpen=2030-01-07 09:00\nDuration=2d\n"
	"[Round \"r2\"]\nKind=prompt\nTitle=R2\nOpen=2030-01-14 09:00\nDuration=2d\n";
/* Rounds named as the tags of no round and of the digests. */
static const char camp_b[] =
	"[Campaign]\nTitle=B\nTimeZone=UTC\n"
	"[Member \"dee\"]\nSide=client\nEmail=dee@client.example\n"
	"[Member \"eve\"]\nSide=provider\nEmail=eve@provider.example\n"
	"[Round \"digest\"]\nKind=prompt\nTitle=D\nOpen=2030-01-07 09:00\nDuration=2d\n"
	"[Round \"x\"]\nKind=prompt\nTitle=X\nOpen=2030-01-14 09:00\nDuration=2d\n"
	"[Round \"none\"]\nKind=prompt\nTitle=N\nOpen=2030-01-21 09:00\nDuration=2d\n";

static secret key(void)
{
	secret k = {.len = 32};
	for (size_t i = 0; i < k.len; i++)
		k.key[i] = (unsigned char)(i * 7 + 1);
	return k;
}

static void expect(const core_tags *t, const coco_config *cfg, const char *tag,
                   const coco_campaign *camp, const coco_member *m, const coco_round *r,
                   bool digest)
{
	core_tag found = {0};
	assert_true(core_tags_find(t, cfg, tag, &found));
	assert_ptr_equal(found.camp, camp);
	assert_ptr_equal(found.member, m);
	assert_ptr_equal(found.round, r);
	assert_int_equal(found.digest, digest);
	assert_false(core_tags_find_unsub(t, cfg, tag, &found));
}

static void test_every_tag_found(void **state)
{
	coco_config *cfg = load(camp_a, camp_b);
	secret k = key();
	core_tags *t = core_tags_build(cfg, &k);
	assert_int_equal(cfg->n_campaigns, 2);
	for (size_t ci = 0; ci < cfg->n_campaigns; ci++) {
		const coco_campaign *camp = &cfg->campaigns[ci];
		const coco_round *named_none = campaign_find_round(camp, "none");
		for (size_t mi = 0; mi < camp->n_members; mi++) {
			const coco_member *m = &camp->members[mi];
			char tag[SECRET_TAG_LEN + 1];
			secret_tag(&k, camp->id, "none", m->id, tag);
			/* A round named "none" was added after the notice's tag: it names the round. */
			expect(t, cfg, tag, camp, m, named_none, false);
			secret_tag(&k, camp->id, "digest", m->id, tag);
			expect(t, cfg, tag, camp, m, NULL, true);
			secret_tag(&k, camp->id, CORE_UNSUB_WHAT, m->id, tag);
			core_tag found = {0};
			assert_false(core_tags_find(t, cfg, tag, &found));
			assert_true(core_tags_find_unsub(t, cfg, tag, &found));
			assert_ptr_equal(found.camp, camp);
			assert_ptr_equal(found.member, m);
			for (size_t k2 = 0; k2 < camp->n_rounds; k2++) {
				const coco_round *r = &camp->rounds[k2];
				secret_tag(&k, camp->id, r->id, m->id, tag);
				if (STREQ(r->id, "digest")) /* the campaign's digest, as it always was */
					expect(t, cfg, tag, camp, m, NULL, true);
				else
					expect(t, cfg, tag, camp, m, r, false);
				_cleanup_free_ char *dr = xasprintf("digest:%s", r->id);
				secret_tag(&k, camp->id, dr, m->id, tag);
				expect(t, cfg, tag, camp, m, r, true);
			}
		}
		for (size_t k2 = 0; k2 < camp->n_rounds; k2++) {
			char tag[SECRET_TAG_LEN + 1];
			core_room_tag(&k, camp, &camp->rounds[k2], tag);
			expect(t, cfg, tag, camp, NULL, &camp->rounds[k2], false);
		}
	}
	core_tags_free(t);
	config_free(cfg);
}

static void test_unknown_tags(void **state)
{
	coco_config *cfg = load(camp_a, camp_b);
	secret k = key();
	core_tags *t = core_tags_build(cfg, &k);
	core_tag found = {0};
	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&k, "a", "r1", "nobody", tag); /* no such member */
	assert_false(core_tags_find(t, cfg, tag, &found));
	assert_false(core_tags_find_unsub(t, cfg, tag, &found));
	secret_tag(&k, "a", "r3", "ana", tag); /* no such round */
	assert_false(core_tags_find(t, cfg, tag, &found));
	secret_tag(&k, "a", "r1", "ana", tag);
	assert_true(core_tags_find(t, cfg, tag, &found));
	tag[SECRET_TAG_LEN - 1] = 0; /* one short */
	assert_false(core_tags_find(t, cfg, tag, &found));
	assert_false(core_tags_find(t, cfg, "", &found));
	assert_false(core_tags_find(NULL, cfg, "abcdefghijklmnop", &found));
	secret other = key();
	other.key[0] ^= 1; /* the tag of another key */
	secret_tag(&other, "a", "r1", "ana", tag);
	assert_false(core_tags_find(t, cfg, tag, &found));
	core_tags_free(t);
	config_free(cfg);
}

static void test_no_campaign(void **state)
{
	coco_config cfg = {0};
	secret k = key();
	core_tags *t = core_tags_build(&cfg, &k);
	core_tag found = {0};
	assert_false(core_tags_find(t, &cfg, "abcdefghijklmnop", &found));
	core_tags_free(t);
}

int main(void)
{
	channels_register_config();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_tag_found),
		cmocka_unit_test(test_unknown_tags),
		cmocka_unit_test(test_no_campaign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
