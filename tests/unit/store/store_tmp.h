/* Helpers for store tests: a fresh DataDir under /tmp, removed afterwards. */
#ifndef TERN_TESTS_STORE_TMP_H
#define TERN_TESTS_STORE_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int store_tmp_rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes dir and everything below it. */
static inline void store_tmp_rm(const char *dir)
{
	nftw(dir, store_tmp_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates a new empty directory /tmp/tern-store-XXXXXX into out (>= 64 bytes). */
static inline const char *store_tmp_dir(char *out)
{
	strcpy(out, "/tmp/tern-store-XXXXXX");
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		exit(1);
	}
	return out;
}

#endif
