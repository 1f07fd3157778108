/* fuzz-common: small helpers shared by the libFuzzer targets in fuzz/ (header-only, so each
 * target stays one file): quiet logs, a scratch directory on tmpfs, writing and removing files.
 * A target that touches files makes one scratch directory per process in fuzz_init() and
 * empties it after every input, so inputs never see each other's leftovers. */
#pragma once

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Logs are noise at millions of inputs; COCO_FUZZ_LOG=1 brings them back for a reproducer. */
static inline void fuzz_quiet_logs(void)
{
	if (!getenv("COCO_FUZZ_LOG"))
		log_set_max_level(LOG_EMERG - 1);
}

/* fsync on tmpfs is free, so the store's durable writes do not slow the fuzzer down.
 * $COCO_FUZZ_TMP overrides where (t-fuzz.sh points it at a directory it removes: a crashing
 * input leaves its scratch directory behind). */
static inline char *fuzz_scratch_dir(const char *target)
{
	const char *base = getenv("COCO_FUZZ_TMP");
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char *d = xasprintf("%s/coco-fuzz-%s.XXXXXX", base, target);
	if (!mkdtemp(d)) {
		perror("mkdtemp");
		abort();
	}
	return d;
}

static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	remove(path);
	return 0;
}

/* Removes everything below dir, keeps dir. */
static inline void fuzz_empty_dir(const char *dir)
{
	nftw(dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(dir, 0700);
}

static inline void fuzz_mkdirs(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0700);
			*s = '/';
		}
	mkdir(p, 0700);
	free(p);
}

static inline void fuzz_write(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	const char *p = data;
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n <= 0) {
			perror(path);
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
	close(fd);
}
