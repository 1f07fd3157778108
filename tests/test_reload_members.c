/* A member the admin adds while a round is open, from the admin's side (trial 6): the
 * reload invites them at once, once, and nobody else again; `cococtl remind` does not take
 * them for someone invited at the round's opening. Real core, store, spool and local
 * connector on the injectable clock (tests/sim.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim.h"

#define HEAD "[Campaign]\nId=r\nTitle=Reload\nTimeZone=UTC\nQuietHours=none\n" SIM_MEMBERS
#define ROUNDS                                                                                     \
	"[Round \"pulse\"]\nKind=survey\nTitle=Pulse\nOpen=2026-06-01 09:00\nDuration=3d\n"        \
	"[Question \"pulse/q\"]\nKind=scale\nText=How is it going?\n"                              \
	"[Round \"clientq\"]\nKind=survey\nTitle=Client only\nAudience=client\n"                   \
	"Open=2026-06-01 09:00\nDuration=3d\n"                                                     \
	"[Question \"clientq/q\"]\nKind=scale\nText=How are we doing?\n"
#define LUKAS "[Member \"lukas\"]\nName=Lukas Gross\nSide=client\nEmail=lukas@client.example\n"

static const char before[] = HEAD ROUNDS;
static const char with_lukas[] = HEAD LUKAS ROUNDS;

static void test_member_added_to_open_round_is_invited(void **state)
{
	sim s;
	clock_set_test(JUN1);
	sim_start(&s, before);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "prompt", "pulse", NULL, NULL), 3);
	assert_int_equal(count(&s, "prompt", "clientq", NULL, NULL), 2);

	sim_reload(&s, with_lukas);
	run_until(&s, JUN1 + 11 * HOUR, NULL, NULL);
	/* Lukas: both rounds ask him now (a client); nobody else is asked twice. */
	assert_int_equal(count(&s, "prompt", "pulse", NULL, "lukas"), 1);
	assert_int_equal(count(&s, "prompt", "clientq", NULL, "lukas"), 1);
	assert_int_equal(count(&s, "prompt", "pulse", NULL, NULL), 4);
	assert_int_equal(count(&s, "prompt", "clientq", NULL, NULL), 3);

	/* Another reload, nothing new: nothing sent again. */
	sim_reload(&s, with_lukas);
	run_until(&s, JUN1 + 12 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "prompt", "pulse", NULL, NULL), 4);
	assert_int_equal(count(&s, "prompt", "clientq", NULL, NULL), 3);
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_member_added_to_open_round_is_invited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
