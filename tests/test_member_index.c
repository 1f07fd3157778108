/* The configuration's member index (campaign_find_member() by binary search): every member
 * found by id in a campaign loaded from files and in one put together by hand, ids that
 * are no member's not found, and a copy of the campaign with other members (as the core
 * makes to leave forgotten members out) searched by its own list, not the index of the
 * original. The index by address (campaign_find_member_by_address()) answers what the scan
 * with config_member_has_address() answers: emails in any case, Slack and Matrix ids as
 * written, the first member in file order when two share an address. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

#define N 257

/* ASan's allocator interface (Debian's GCC does not install its header); the tests are built
 * with -fsanitize=address. */
size_t __sanitizer_get_current_allocated_bytes(void);

/* A copy of camp (of N members) without member skip: its own list (room for N, malloc'd),
 * the original's indexes. */
static coco_campaign without_member(const coco_campaign *camp, size_t skip)
{
	coco_campaign copy = *camp;
	copy.members = xcalloc(N, sizeof *copy.members);
	copy.n_members = 0;
	for (size_t i = 0; i < camp->n_members; i++)
		if (i != skip)
			copy.members[copy.n_members++] = camp->members[i];
	return copy;
}

static void test_by_hand(void **state)
{
	static coco_member members[N];
	static char ids[N][16];
	/* Ids not in sorted order, so that the index is not the file order. */
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "m%03d", (i * 101) % N);
		members[i] = (coco_member){.id = ids[i], .side = i % 2 ? SIDE_PROVIDER : SIDE_CLIENT};
	}
	coco_campaign camp = {.id = "c", .members = members, .n_members = N};
	/* Without an index: the scan. */
	assert_ptr_equal(campaign_find_member(&camp, ids[5]), &members[5]);
	campaign_index_members(&camp);
	assert_non_null(camp.member_order);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(campaign_find_member(&camp, ids[i]), &members[i]);
	assert_null(campaign_find_member(&camp, "m999"));
	assert_null(campaign_find_member(&camp, ""));
	assert_null(campaign_find_member(&camp, "a"));   /* before the first */
	assert_null(campaign_find_member(&camp, "zzz")); /* after the last */
	assert_null(campaign_find_member(&camp, NULL));
	assert_null(campaign_find_member(NULL, "m001"));

	/* A copy with one member left out: the index is the original's, the lookup scans. */
	coco_campaign copy = without_member(&camp, 7);
	coco_member *fewer = copy.members;
	assert_null(campaign_find_member(&copy, ids[7]));
	for (int i = 0; i < N; i++)
		if (i != 7)
			assert_string_equal(campaign_find_member(&copy, ids[i])->id, ids[i]);
	/* The same count but another list: searched in its own list. */
	fewer[N - 1] = (coco_member){.id = "newcomer"};
	copy.members = fewer;
	copy.n_members = N;
	assert_ptr_equal(campaign_find_member(&copy, "newcomer"), &fewer[N - 1]);
	free(fewer);
	campaign_index_free(&camp);
	assert_null(camp.member_order);
	assert_ptr_equal(campaign_find_member(&camp, ids[9]), &members[9]);
}

static void test_loaded(void **state)
{
	char dir[] = "/tmp/coco-test-member-index.XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *cd = xasprintf("%s/campaigns.d", dir);
	assert_int_equal(mkdir(cd, 0700), 0);
	_cleanup_free_ char *main_conf = xasprintf("%s/coco.conf", dir);
	FILE *f = fopen(main_conf, "w");
	assert_non_null(f);
	fclose(f);
	_cleanup_free_ char *path = xasprintf("%s/big.conf", cd);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[Campaign]\nTitle=Big\n\n");
	for (int i = N - 1; i >= 0; i--)
		fprintf(f, "[Member \"u%03d\"]\nSide=%s\nEmail=u%03d@x.example\n\n", i,
		        i % 2 ? "provider" : "client", i);
	fprintf(f, "[Round \"r\"]\nKind=prompt\nDuration=3d\n");
	fclose(f);
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(dir, &cfg, &errors);
	if (r < 0)
		for (char **e = errors; e && *e; e++)
			fprintf(stderr, "%s\n", *e);
	assert_int_equal(r, 0);
	const coco_campaign *camp = config_find_campaign(cfg, "big");
	assert_non_null(camp);
	assert_int_equal(camp->n_members, N);
	assert_int_equal(camp->n_member_order, N);
	for (int i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof id, "u%03d", i);
		const coco_member *m = campaign_find_member(camp, id);
		assert_non_null(m);
		assert_string_equal(m->id, id);
		assert_int_equal(m->side, i % 2 ? SIDE_PROVIDER : SIDE_CLIENT);
	}
	assert_null(campaign_find_member(camp, "u999"));
	config_free(cfg);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The scan the index replaces. */
static const coco_member *scan_by_address(const coco_campaign *c, const char *address)
{
	for (size_t i = 0; address && i < c->n_members; i++)
		if (config_member_has_address(&c->members[i], address))
			return &c->members[i];
	return NULL;
}

static void test_by_address(void **state)
{
	static coco_member members[N];
	static char ids[N][16], mails[N][2][40], slack[N][16];
	static char *mail_lists[N][2];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "m%03d", i);
		snprintf(mails[i][0], sizeof mails[i][0], "Person.%03d@Example.ORG", i);
		/* Every tenth member shares its second address with the member before. */
		snprintf(mails[i][1], sizeof mails[i][1], "team%03d@example.org", i % 10 ? i : i - 1);
		snprintf(slack[i], sizeof slack[i], "U0M%05d", i);
		mail_lists[i][0] = mails[i][0];
		mail_lists[i][1] = mails[i][1];
		members[i] = (coco_member){.id = ids[i], .emails = mail_lists[i], .n_emails = 2,
		                           .slack_id = i % 3 ? slack[i] : NULL,
		                           .matrix_id = i == 5 ? (char *)"@p:example.org" : NULL};
	}
	/* A Slack id that is also (in another case) someone's email: the first member wins. */
	members[20].slack_id = (char *)"person.030@example.org";
	coco_campaign camp = {.id = "c", .members = members, .n_members = N};
	const char *probe[] = {"person.007@example.org", "PERSON.007@EXAMPLE.ORG", "Person.007@Example.ORG",
	                       "team010@example.org", "team009@example.org", "TEAM009@example.org",
	                       "U0M00004", "u0m00004", "U0M00003", "@p:example.org", "@P:example.org",
	                       "person.030@example.org", "Person.030@Example.ORG", "nobody@example.org",
	                       "", "m001", NULL};
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			/* No copy of any address: 4 bytes a slot, at most 2 slots an address (and
			 * the order by id, 8 bytes a member). A strmap of copies was some 60 bytes
			 * an address. */
			size_t before = __sanitizer_get_current_allocated_bytes();
			campaign_index_members(&camp);
			size_t grew = __sanitizer_get_current_allocated_bytes() - before;
			assert_non_null(camp.member_by_address);
			size_t n_addresses = 0;
			for (int i = 0; i < N; i++)
				n_addresses += members[i].n_emails + (members[i].slack_id != NULL) +
				               (members[i].matrix_id != NULL);
			if (grew > 8 * N + 8 * n_addresses + 64)
				fail_msg("the index took %zu bytes for %zu addresses", grew, n_addresses);
		}
		for (size_t i = 0; i < sizeof probe / sizeof *probe; i++)
			assert_ptr_equal(campaign_find_member_by_address(&camp, probe[i]),
			                 scan_by_address(&camp, probe[i]));
		for (int i = 0; i < N; i++) {
			assert_ptr_equal(campaign_find_member_by_address(&camp, mails[i][0]), &members[i]);
			assert_ptr_equal(campaign_find_member_by_address(&camp, mails[i][1]),
			                 scan_by_address(&camp, mails[i][1]));
			if (members[i].slack_id && i != 20)
				assert_ptr_equal(campaign_find_member_by_address(&camp, slack[i]), &members[i]);
		}
	}
	assert_ptr_equal(campaign_find_member_by_address(&camp, "team009@example.org"), &members[9]);
	assert_ptr_equal(campaign_find_member_by_address(&camp, "U0M00004"), &members[4]);
	assert_null(campaign_find_member_by_address(&camp, "u0m00004")); /* ids keep their case */
	assert_ptr_equal(campaign_find_member_by_address(&camp, "person.030@example.org"), &members[20]);
	assert_ptr_equal(campaign_find_member_by_address(&camp, "PERSON.030@example.org"), &members[30]);
	assert_null(campaign_find_member_by_address(&camp, NULL));
	assert_null(campaign_find_member_by_address(NULL, "x"));

	/* A copy with other members: its own list is scanned, not the original's index. */
	coco_campaign copy = without_member(&camp, 7);
	coco_member *fewer = copy.members;
	assert_null(campaign_find_member_by_address(&copy, mails[7][0]));
	assert_ptr_equal(campaign_find_member_by_address(&copy, mails[8][0]), &fewer[7]);
	free(fewer);
	campaign_index_free(&camp);
	assert_null(camp.member_by_address);
	assert_ptr_equal(campaign_find_member_by_address(&camp, mails[9][0]), &members[9]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_by_address),
		cmocka_unit_test(test_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
