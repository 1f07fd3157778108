/* Test data written by others lives beside the checkout, in ../shared/corpus (or where
 * $COCO_CORPUS_DIR says). A clone without it skips the tests that need it, saying which
 * directory is missing; under CI=true its absence is a failure. Include after cmocka.h. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The path of corpus `name` (malloc'd), or NULL after skipping or failing the test. */
static inline char *corpus_dir(const char *name)
{
	const char *base = getenv("COCO_CORPUS_DIR");
	if (!base || !*base)
		base = "../shared/corpus";
	size_t n = strlen(base) + strlen(name) + 2;
	char *path = malloc(n);
	if (!path)
		abort();
	snprintf(path, n, "%s/%s", base, name);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return path;
	const char *ci = getenv("CI");
	bool in_ci = ci && strcmp(ci, "true") == 0;
	printf("%s: %s is missing (a clone without ../shared/corpus?)%s; set COCO_CORPUS_DIR to "
	       "the directory that holds %s/\n",
	       in_ci ? "FAIL" : "SKIP", path, in_ci ? " and CI=true requires it" : "", name);
	free(path);
	if (in_ci)
		fail_msg("corpus %s missing under CI=true", name);
	skip();
	return NULL;
}
