/* store-sweep: removes the temporaries a crash left in the store (see store.h). Only names
 * store_replace() makes (NAME.tmp, NAME a safe name) under the store's own trees
 * (campaigns/, spool/ and the root's files): the local connector's maildirs under the same
 * state directory follow their own rules and are not touched. Directories are opened
 * O_NOFOLLOW and only regular files are removed, so a planted symlink leads nowhere. */
#define _GNU_SOURCE
#include "store.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SWEEP_DEPTH_MAX 16

static bool is_store_tmp(const char *name)
{
	size_t n = strlen(name);
	if (n <= 4 || n - 4 > 64 || strcmp(name + n - 4, ".tmp") != 0)
		return false;
	char stem[65];
	memcpy(stem, name, n - 4);
	stem[n - 4] = 0;
	return name_is_safe(stem);
}

static bool older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Takes dfd. Recurses only when `recurse`. */
static int sweep_dir(int dfd, const char *where, bool recurse, int depth,
                     const struct timespec *before, unsigned *n)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	int ret = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		if (STREQ(name, ".") || STREQ(name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && recurse && depth < SWEEP_DEPTH_MAX && name_is_safe(name)) {
			int sub = openat(dirfd(d), name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_free_ char *path = xasprintf("%s/%s", where, name);
			int r = sub < 0 ? -errno : sweep_dir(sub, path, true, depth + 1, before, n);
			if (r < 0 && ret == 0)
				ret = r;
		} else if (S_ISREG(st.st_mode) && is_store_tmp(name) && older(&st.st_mtim, before)) {
			if (unlinkat(dirfd(d), name, 0) < 0) {
				if (ret == 0)
					ret = -errno;
				continue;
			}
			log_debug("store: removed %s/%s, left by an interrupted write", where, name);
			(*n)++;
		}
	}
	if (errno > 0 && ret == 0)
		ret = -errno;
	closedir(d);
	return ret;
}

int store_sweep_tmp(store *s, const struct timespec *before, unsigned *ret_removed)
{
	static const char *const trees[] = {"campaigns", "spool"};
	unsigned n = 0;
	int ret = 0, r;
	int fd = open(store_root(s), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < ELEMENTSOF(trees); i++) {
		int sub = openat(fd, trees[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno != ENOENT && ret == 0)
				ret = -errno;
			continue;
		}
		r = sweep_dir(sub, trees[i], true, 1, before, &n);
		if (r < 0 && ret == 0)
			ret = r;
	}
	/* The root's own files (audit.jsonl.tmp), not its other directories. */
	r = sweep_dir(fd, ".", false, 0, before, &n);
	if (r < 0 && ret == 0)
		ret = r;
	if (ret_removed)
		*ret_removed = n;
	return ret;
}
