/* DataDir/spool: created at startup and emptied (badinput.md #69).
 *
 * DESIGN: the spool holds messages being received before their commit; after
 * a restart nothing in it can be committed any more, so everything goes. The
 * walk is depth-first and does not follow symlinks (FTW_PHYS), so a link placed
 * in the spool cannot make us delete files elsewhere. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "store/store_impl.h"

/* nftw has no context argument; startup is single-threaded, guarded anyway. */
static _Thread_local int removed;
static _Thread_local int failed_errno;
static _Thread_local size_t root_len;

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (ftw->level == 0 && strlen(path) == root_len)
		return 0; /* the spool directory itself stays */
	int r = type == FTW_DP ? rmdir(path) : unlink(path);
	if (r != 0 && !failed_errno)
		failed_errno = errno;
	if (r == 0)
		removed++;
	return 0;
}

int store_spool_mkdirs(const char *dir)
{
	char *p = xstrdup(dir);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = 0;
		if (mkdir(p, 0750) != 0 && errno != EEXIST) {
			int e = errno;
			free(p);
			return -e;
		}
		*c = '/';
	}
	int r = mkdir(p, 0750) != 0 && errno != EEXIST ? -errno : 0;
	free(p);
	return r;
}

int store_spool_empty(const char *datadir, char **err)
{
	char *dir = xasprintf("%s/spool", datadir);
	int r = store_spool_mkdirs(dir);
	if (r != 0) {
		*err = xasprintf("cannot create %s: %s", dir, strerror(-r));
		free(dir);
		return r;
	}
	removed = 0;
	failed_errno = 0;
	root_len = strlen(dir);
	if (nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 && !failed_errno)
		failed_errno = errno;
	if (failed_errno) {
		*err = xasprintf("cannot empty %s: %s", dir, strerror(failed_errno));
		free(dir);
		return -failed_errno;
	}
	free(dir);
	return removed;
}
