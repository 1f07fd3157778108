/* A campaign of 20,000 members loads, and loads right: every member is there and found by
 * id, every address by its member, and a duplicate id or address at the very end is still
 * reported at its line. (Loading was quadratic: each member's id and each address was
 * checked against every member before it. No time is asserted here: the time is
 * bench/config-load's.) And it loads in little memory (issue 9.7): the file is read a line
 * at a time and each section handed on and freed as it ends, so reading 20,000 sections
 * holds what one does; the loaded members hold their strings in one block each, in an array
 * of their number; the heap's peak while loading stays within 2.5 times what the loaded
 * configuration keeps (2.1 here; every raw section and the whole file held until the end
 * were some 7 MiB more). Heap sizes come from ASan's allocator, which counts what is asked
 * for (and a realloc() as a new block and the old one). */
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
#include "config-private.h"
#include "config.h"
#include "util.h"

#define N 20000

/* ASan's allocator interface (its <sanitizer/allocator_interface.h>, which Debian's GCC does
 * not install): the tests are built with -fsanitize=address. */
size_t __sanitizer_get_current_allocated_bytes(void);
size_t __sanitizer_get_allocated_size(const volatile void *p);
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

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

static size_t n_sections, at_tenth, at_last;

static void count_section(ctx *c, void *data, const raw_section *s)
{
	(void)c;
	(void)data;
	assert_non_null(s->head);
	if (++n_sections == 10)
		at_tenth = __sanitizer_get_current_allocated_bytes();
	at_last = __sanitizer_get_current_allocated_bytes();
}

static void test_read_one_section_at_a_time(void **state)
{
	make_config(NULL);
	_cleanup_free_ char *path = xasprintf("%s/campaigns.d/big.conf", dir);
	coco_config cfg = {0};
	char *file = path;
	ctx c = {.cfg = &cfg, .files = &file, .n_files = 1};
	n_sections = 0;
	assert_int_equal(config_read_each_section(&c, path, count_section, NULL), 0);
	assert_int_equal(c.n_errors, 0);
	assert_int_equal(n_sections, 1 + N + 2); /* [Campaign], the members, a round, a question */
	/* Reading 20,000 more sections held nothing more (held, they were some 6 MiB). */
	if (at_last > at_tenth + 64 * 1024)
		fail_msg("the heap grew by %zu bytes over %zu sections", at_last - at_tenth,
		         n_sections);
	remove_config();
}

/* The heap's peak, followed through ASan's hooks (installed once: they cannot be removed). */
static bool counting;
static size_t heap_now, heap_peak;

static void on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	if (!counting)
		return;
	heap_now += size;
	if (heap_now > heap_peak)
		heap_peak = heap_now;
}

static void on_free(const volatile void *p)
{
	if (counting)
		heap_now -= __sanitizer_get_allocated_size((const void *)p);
}

static void test_loads_in_little_memory(void **state)
{
	make_config(NULL);
	assert_int_equal(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free), 1);
	heap_now = heap_peak = 0;
	coco_config *cfg = NULL;
	char **errors = NULL;
	counting = true;
	int r = config_load(dir, &cfg, &errors);
	counting = false;
	assert_int_equal(r, 0);
	size_t kept = heap_now, peak = heap_peak;
	fprintf(stderr, "heap: %zu bytes kept, %zu at the peak\n", kept, peak);
	if (2 * peak > 5 * kept)
		fail_msg("loading peaked at %zu bytes of heap for %zu kept", peak, kept);

	const coco_campaign *camp = config_find_campaign(cfg, "big");
	assert_non_null(camp);
	/* The member array is cut to its size. */
	assert_int_equal(__sanitizer_get_allocated_size(camp->members),
	                 camp->n_members * sizeof(coco_member));
	/* Each member's strings and lists in its block, whole. */
	for (size_t i = 0; i < camp->n_members; i++) {
		const coco_member *m = &camp->members[i];
		assert_non_null(m->block);
		const char *lo = m->block, *hi = lo + __sanitizer_get_allocated_size(m->block);
		const char *in[] = {m->id, m->name, (const char *)m->emails, m->emails[0],
		                    m->emails[1]};
		for (size_t k = 0; k < ELEMENTSOF(in); k++)
			assert_true(in[k] >= lo && in[k] + strlen(in[k]) < hi);
		assert_int_equal(m->n_emails, 2);
		assert_null(m->emails[2]);
		assert_ptr_equal(m->timezone, camp->timezone); /* the default: the campaign's */
		char name[32];
		snprintf(name, sizeof name, "Member %zu", i);
		assert_string_equal(m->name, name);
	}
	config_free(cfg);
	remove_config();
}

int main(void)
{
	channels_register_config();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_twenty_thousand_members),
		cmocka_unit_test(test_duplicates_after_twenty_thousand),
		cmocka_unit_test(test_read_one_section_at_a_time),
		cmocka_unit_test(test_loads_in_little_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
