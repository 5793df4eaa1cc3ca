/* Reading config files and replacing domains.conf atomically.
 *
 * DESIGN: a rewrite must never leave a half-written domains.conf, even on a
 * crash or power loss: the new content is written to a temp file in the same
 * directory (same file system, so rename is atomic), flushed with fsync, and
 * renamed over the old file; the directory is fsynced so the rename itself is
 * durable. Change detection compares inode, size and mtime (ns), so both an
 * in-place edit and a rename-over are noticed. */
#include "conf/conf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_yaml.h"
#include "core/xmalloc.h"

int conf_file_read(const char *path, struct buf *data, struct stat *sb, struct buf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_printf(err, "%s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "%s: not a regular file\n", path);
		close(fd);
		return -1;
	}
	if (st.st_size > (off_t)CONF_YAML_MAX_BYTES) {
		buf_printf(err, "%s: file too large (%lld bytes)\n", path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	for (;;) {
		buf_reserve(data, 65536);
		ssize_t n = read(fd, data->p + data->len, data->cap - data->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_printf(err, "%s: read: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		data->len += (size_t)n;
		if (data->len > CONF_YAML_MAX_BYTES) {
			buf_printf(err, "%s: file too large\n", path);
			close(fd);
			return -1;
		}
	}
	close(fd);
	if (sb)
		*sb = st;
	return 0;
}

char *conf_file_dir(const char *path)
{
	char *copy = xstrdup(path);
	char *dir = dirname(copy);
	char *abs = realpath(dir, NULL);
	char *r = abs ? xstrdup(abs) : xstrdup(dir);
	free(abs);
	free(copy);
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int conf_file_replace(const char *path, const void *data, size_t len, struct buf *err)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		buf_printf(err, "%s: cannot create: %s\n", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	struct stat old;
	if (stat(path, &old) == 0) /* keep the mode of the file being replaced */
		fchmod(fd, old.st_mode & 07777);
	const char *step = "write";
	int r = write_all(fd, data, len);
	if (r == 0 && (step = "fsync", fsync(fd) < 0))
		r = -1;
	if (close(fd) < 0 && r == 0)
		step = "close", r = -1;
	if (r == 0 && (step = "rename", rename(tmp, path) < 0))
		r = -1;
	if (r < 0) {
		buf_printf(err, "%s: %s: %s\n", tmp, step, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	char *dir = conf_file_dir(path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		buf_printf(err, "%s: fsync directory: %s\n", dir, strerror(errno));
		r = -1;
	}
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return r;
}

bool conf_file_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}
