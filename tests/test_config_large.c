/* A campaign of 20,000 members loads, and loads right: every member is there and found by
 * id, every address by its member, and a duplicate id or address at the very end is still
 * reported at its line. (Loading was quadratic: each member's id and each address was
 * checked against every member before it. No figure is asserted here: the time is
 * bench/config-load's.) */
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
#include "util.h"

#define N 20000

static char dir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* etc/coco.conf and etc/campaigns.d/big.conf with N members (and `extra` after them). */
static void make_config(const char *extra)
{
	snprintf(dir, sizeof dir, "/tmp/coco-cfgbig.XXXXXX");
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *cd = xasprintf("%s/campaigns.d", dir);
	assert_int_equal(mkdir(cd, 0700), 0);
	_cleanup_free_ char *conf = xasprintf("%s/coco.conf", dir);
	write_file(conf, "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n");
	strbuf b = {0};
	strbuf_puts(&b, "[Campaign]\nId=big\nTitle=Big\nTimeZone=UTC\nClient=C\nProvider=P\n\n");
	for (unsigned i = 0; i < N; i++)
		strbuf_printf(&b, "[Member \"m%05u\"]\nName=Member %u\nSide=%s\n"
		                  "Email=m%05u@client.example m%05u@home.example\n\n",
		              i, i, i % 2 ? "client" : "provider", i, i);
	strbuf_puts(&b, "[Round \"s\"]\nKind=survey\nTitle=S\nOpen=2030-01-07 09:00\nDuration=2d\n"
	                "[Question \"s/q\"]\nKind=scale\nText=How?\n");
	if (extra)
		strbuf_puts(&b, extra);
	_cleanup_free_ char *camp = xasprintf("%s/campaigns.d/big.conf", dir);
	_cleanup_free_ char *text = strbuf_steal(&b);
	write_file(camp, text);
}

static void remove_config(void)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_twenty_thousand_members(void **state)
{
	make_config(NULL);
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(dir, &cfg, &errors);
	for (char **e = errors; e && *e; e++)
		fprintf(stderr, "config: %s\n", *e);
	assert_int_equal(r, 0);
	assert_null(errors);
	const coco_campaign *camp = config_find_campaign(cfg, "big");
	assert_non_null(camp);
	assert_int_equal(camp->n_members, N);
	for (unsigned i = 0; i < N; i += 997) {
		char id[16], mail[64], home[64];
		snprintf(id, sizeof id, "m%05u", i);
		snprintf(mail, sizeof mail, "m%05u@client.example", i);
		snprintf(home, sizeof home, "m%05u@home.example", i);
		const coco_member *m = campaign_find_member(camp, id);
		assert_non_null(m);
		assert_string_equal(m->id, id);
		assert_int_equal(m->n_emails, 2);
		assert_true(config_member_has_address(m, mail));
		assert_true(config_member_has_address(m, home));
		assert_int_equal(m->side, i % 2 ? SIDE_CLIENT : SIDE_PROVIDER);
	}
	assert_string_equal(camp->members[N - 1].id, "m19999"); /* in the file's order */
	assert_null(campaign_find_member(camp, "m20000"));
	config_free(cfg);
	remove_config();
}

static void test_duplicates_after_twenty_thousand(void **state)
{
	/* An id used before, and an address of the first member given to a new one. */
	make_config("[Member \"m00042\"]\nSide=client\nEmail=again@client.example\n"
	            "[Member \"late\"]\nSide=client\nEmail=late@client.example M00000@Client.example\n");
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(dir, &cfg, &errors);
	assert_true(r < 0);
	strbuf all = {0};
	for (char **e = errors; e && *e; e++)
		strbuf_printf(&all, "%s\n", *e);
	_cleanup_free_ char *text = strbuf_steal(&all);
	if (!strstr(text, "duplicate member \"m00042\": expected each id once (first at line") ||
	    !strstr(text, "Email=m00000@client.example: already used by member m00000"))
		fail_msg("the duplicates are not reported:\n%s", text);
	strv_free(errors);
	config_free(cfg);
	remove_config();
}

int main(void)
{
	channels_register_config();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_twenty_thousand_members),
		cmocka_unit_test(test_duplicates_after_twenty_thousand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
