/* Issue 8.4 with the real core, store, spool and local connector (tests/sim.h): a reply
 * whose recording fails for now (the store cannot write the answers file) stays in the
 * inbox and is recorded and confirmed by itself once the obstacle is gone, without any
 * `cococtl poll`. The connector's first retry delay is shortened to 20 ms through
 * COCO_LOCAL_RETRY_MSEC (a test-build hook); the loop runs until a generous deadline. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "sim.h"

static const char conf[] =
	"[Campaign]\nId=t\nTitle=Trust\nTimeZone=UTC\nQuietHours=none\nClient=Client Co\n"
	"Provider=Provider Co\n"
	"[Member \"ann\"]\nName=Ann Client\nSide=client\nEmail=ann@client.example\n"
	"[Member \"bob\"]\nName=Bob Client\nSide=client\nEmail=bob@client.example\n"
	"[Round \"s\"]\nKind=survey\nTitle=Survey\nOpen=2026-06-01 09:00\nDuration=3d\n"
	"[Question \"s/q\"]\nKind=scale\nText=Rate it\n";

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t lines_in(sim *s, const char *path)
{
	_cleanup_free_ char *a = NULL;
	if (store_read(s->st, path, 1 << 20, &a, NULL) < 0)
		return 0;
	size_t n = 0;
	for (const char *p = a; *p; p++)
		n += *p == '\n';
	return n;
}

static size_t files_in(const char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned long n = 0;
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%lu", &n), 1);
	pclose(p);
	return n;
}

static void test_held_mail_is_recorded_by_itself(void **state)
{
	sim s;
	clock_set_test(JUN1);
	setenv("COCO_LOCAL_RETRY_MSEC", "20", 1);
	sim_start(&s, conf);
	run_until(&s, JUN1 + 10 * HOUR, NULL, NULL);
	assert_int_equal(count(&s, "prompt", "s", NULL, NULL), 2);

	/* The occurrence's folder is a file: appending answers fails with ENOTDIR (as root
	 * too), the core answers "keep it, try later". */
	_cleanup_free_ char *occ = xasprintf("%s/campaigns/t/rounds/s/once", s.state);
	_cleanup_free_ char *rounds = xasprintf("%s/campaigns/t/rounds/s", s.state);
	_cleanup_free_ char *mk = xasprintf("mkdir -p '%s'", rounds);
	assert_int_equal(system(mk), 0);
	write_text(occ, "in the way\n");

	answer(&s, "ann", "s", NULL, "1: 4");
	answer(&s, "bob", "s", NULL, "1: 2");
	_cleanup_free_ char *newdir = xasprintf("%s/local/inbox/new", s.state);
	assert_int_equal(files_in(newdir), 2);
	assert_int_equal(count(&s, "confirmation", NULL, NULL, NULL), 0);

	/* A few retries go by while the obstacle is there; the mails stay. */
	uint64_t end = mono_ms() + 200;
	while (mono_ms() < end) {
		assert_true(sd_event_run(s.loop, 20 * 1000) >= 0);
		settle(&s);
	}
	assert_int_equal(count(&s, "confirmation", NULL, NULL, NULL), 0);

	/* The admin removes it; nobody polls. */
	assert_int_equal(unlink(occ), 0);
	uint64_t t0 = mono_ms();
	end = t0 + 30 * 1000;
	while (count(&s, "confirmation", NULL, NULL, NULL) < 2 && mono_ms() < end) {
		assert_true(sd_event_run(s.loop, 50 * 1000) >= 0);
		settle(&s);
	}
	printf("recorded %llu ms after the obstacle went (backoff from 20 ms, doubling)\n",
	       (unsigned long long)(mono_ms() - t0));
	assert_int_equal(lines_in(&s, "campaigns/t/rounds/s/once/answers.jsonl"), 2);
	assert_int_equal(count(&s, "confirmation", NULL, NULL, "ann"), 1);
	assert_int_equal(count(&s, "confirmation", NULL, NULL, "bob"), 1);
	assert_int_equal(files_in(newdir), 0);
	unsetenv("COCO_LOCAL_RETRY_MSEC");
	sim_finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_mail_is_recorded_by_itself),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
