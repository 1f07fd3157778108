/* The trial of December 2026 (trial 7), item 3, written from the members'
 * side: what their mail client showed them, and what the admin read back. The real core,
 * store, spool and local channel on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define SHOP_HEAD                                                                              \
	"[Campaign]\nId=t\nTitle=New shop\nTimeZone=UTC\nQuietHours=none\n"                     \
	"Client=Bergström Retail\nProvider=Lumen Digital\n"
#define SHOP_ROUND                                                                             \
	"[Round \"kickoff\"]\nKind=survey\nTitle=Kickoff\nOpen=2026-06-01 09:00\nDuration=4d\n" \
	"[Question \"kickoff/clarity\"]\nKind=scale\nText=How clear are the goals?\nMin=1\n"   \
	"Max=5\nMinLabel=not clear at all\nMaxLabel=crystal clear\nRequired=yes\n"             \
	"[Question \"kickoff/format\"]\nKind=choice\nText=Which format next time?\n"           \
	"Options=On site|Remote|Hybrid\n"                                                      \
	"[Question \"kickoff/comment\"]\nKind=text\nText=Anything else?\n"

static const char shop_conf[] = SHOP_HEAD SIM_MEMBERS SHOP_ROUND;
/* bob's section removed (trial 7: Tom's) */
static const char shop_without_bob[] =
	SHOP_HEAD "[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"
	          "[Member \"pia\"]\nName=Pia Provider\nSide=provider\nEmail=pia@provider.example\n"
	          SHOP_ROUND;

/* ---- 3. A removed member: the digest's "Who answered" adds up to its figures ---------- */

static void test_removed_member_counts_apart(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, shop_conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	answer(&s, "ann", "kickoff", "once", "1: 4\n2: a");
	answer(&s, "bob", "kickoff", "once", "1: 5\n2: b\n3: one-click reorder");
	answer(&s, "pia", "kickoff", "once", "1: 3\n2: c");
	/* The admin removes bob's section and reloads. */
	sim_reload(&s, shop_without_bob);

	/* cococtl rounds: the two members, and one former member beside them. */
	char *err = NULL;
	cJSON *o = cococtl(&s, "rounds", NULL, false, &err);
	assert_non_null(o);
	const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "rounds"), 0);
	assert_non_null(row);
	assert_int_equal(cJSON_GetObjectItem(row, "answered")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(row, "total")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(row, "former")->valueint, 1);
	cJSON_Delete(o);

	run_until(&s, JUN1 + 5 * DAY, NULL, NULL);
	/* The digest Ann reads: three answers to question 1, and "Who answered" says whose. */
	_cleanup_free_ char *md = last_markdown(&s, "digest", "ann");
	assert_non_null(md);
	expect_in(md, "**Who answered:** Bergström Retail 1 of 1 and 1 former member, Lumen "
	              "Digital 1 of 1.\n");
	expect_in(md, "Answered by 3 ");
	/* What bob wrote is a former member's, not "bob"'s. */
	expect_in(md, "- “one-click reorder” (_a former member_)");
	expect_not_in(md, "(_bob_)");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_removed_member_counts_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
