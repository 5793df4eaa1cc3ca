/* DataDir/db.lock: one server per DataDir, with a message that names the holder.
 *
 * DESIGN: RocksDB's own LOCK file refuses a second opener with a cryptic
 * "IO error: lock ... Resource temporarily unavailable". Before RocksDB is
 * touched we take an flock(2) on DataDir/db.lock and write our pid into it; a
 * second process (or a second open in the same process: flock conflicts per
 * open file description) reads the pid back and reports it. flock locks die
 * with their holder, so a kill -9 leaves nothing stale to clean up; the fd is
 * close-on-exec so a child we exec does not inherit the lock. */
#include "store/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/xmalloc.h"

/* Reads the pid written by the holder; 0 when unreadable. */
static long holder_pid(int fd)
{
	char b[32];
	ssize_t n = pread(fd, b, sizeof b - 1, 0);
	if (n <= 0)
		return 0;
	b[n] = 0;
	return strtol(b, NULL, 10);
}

int store_lock_take(const char *datadir, const char *dbpath, int *fd_out, char **err)
{
	char *path = xasprintf("%s/db.lock", datadir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err = xasprintf("cannot open lock file %s: %s", path, strerror(errno));
		free(path);
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		long pid = holder_pid(fd);
		if (e == EWOULDBLOCK && pid > 0)
			*err = xasprintf("database %s is in use by another tern process (pid %ld, lock %s); "
			                 "stop it or use another DataDir", dbpath, pid, path);
		else if (e == EWOULDBLOCK)
			*err = xasprintf("database %s is in use by another tern process (lock %s); "
			                 "stop it or use another DataDir", dbpath, path);
		else
			*err = xasprintf("cannot lock %s: %s", path, strerror(e));
		close(fd);
		free(path);
		return -EBUSY;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		*err = xasprintf("cannot write %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -EIO;
	}
	free(path);
	*fd_out = fd;
	return 0;
}

void store_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* The pid is left in the file: truncating after unlocking would race a new holder. */
	flock(fd, LOCK_UN);
	close(fd);
}

int store_lock_probe(const char *datadir, char **err)
{
	char *path = xasprintf("%s/db.lock", datadir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0; /* no lock file: nobody ran here yet */
	close(fd);
	char *db = xasprintf("%s/db", datadir);
	int lfd = -1;
	int r = store_lock_take(datadir, db, &lfd, err);
	free(db);
	if (r == 0)
		store_lock_release(lfd);
	return r;
}
