/* How long cocod takes to load a campaign of N members (each with a name, a side and two
 * addresses) with config_load(), as at start and on every reload. Loading checks each id and
 * each address for duplicates: with hashes that is linear, where a scan of the members
 * before was quadratic (20,000 members took minutes). Prints one line per N; never fails on
 * a figure.
 *
 * Usage: build/bench/config-load [N...] (default 2000 20000 100000). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "channels.h"
#include "config.h"
#include "util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int run(unsigned n)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/tmp/coco-bench-config.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	_cleanup_free_ char *cd = xasprintf("%s/campaigns.d", dir);
	_cleanup_free_ char *conf = xasprintf("%s/coco.conf", dir);
	_cleanup_free_ char *camp = xasprintf("%s/campaigns.d/big.conf", dir);
	strbuf b = {0};
	strbuf_puts(&b, "[Campaign]\nId=big\nTitle=Big\nTimeZone=UTC\n\n");
	for (unsigned i = 0; i < n; i++)
		strbuf_printf(&b, "[Member \"m%06u\"]\nName=Member %u\nSide=%s\n"
		                  "Email=m%06u@client.example m%06u@home.example\n\n",
		              i, i, i % 2 ? "client" : "provider", i, i);
	strbuf_puts(&b, "[Round \"s\"]\nKind=survey\nTitle=S\nOpen=2030-01-07 09:00\nDuration=2d\n"
	                "[Question \"s/q\"]\nKind=scale\nText=How?\n");
	_cleanup_free_ char *text = strbuf_steal(&b);
	int r = mkdir(cd, 0700);
	if (r >= 0)
		r = write_file(conf, "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n");
	if (r >= 0)
		r = write_file(camp, text);
	coco_config *cfg = NULL;
	char **errors = NULL;
	double t0 = now_s();
	if (r >= 0)
		r = config_load(dir, &cfg, &errors);
	double t = now_s() - t0;
	if (r >= 0)
		printf("config-load: %u members loaded in %.3f s (%.1f µs a member)\n", n, t,
		       t * 1e6 / n);
	else
		fprintf(stderr, "config-load: %u members: loading failed (%s)\n", n,
		        errors && errors[0] ? errors[0] : "cannot write the files");
	strv_free(errors);
	config_free(cfg);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "config-load: could not remove %s\n", dir);
	return r;
}

int main(int argc, char **argv)
{
	channels_register_config();
	static const unsigned defaults[] = {2000, 20000, 100000};
	int failed = 0;
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			failed |= run((unsigned)strtoul(argv[i], NULL, 10)) < 0;
	else
		for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
			failed |= run(defaults[i]) < 0;
	return failed ? 1 : 0;
}
