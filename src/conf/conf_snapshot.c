/* The current domains.conf snapshot: acquire, release, install, reload.
 *
 * DESIGN: readers take the current pointer and a reference under a mutex held
 * for two instructions, which is cheap and simple to prove correct (a lock-free
 * load+increment would race with the last release). Reload and rewrite hold a
 * second, long-held mutex for their whole read-parse-install sequence, so a
 * reload can never install a file version older than what a concurrent
 * rewrite just installed. The identity of the last version seen (loaded or
 * failed) is remembered, so a bad file is reported once, not every second. */
#include "conf/conf_snapshot.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "conf/conf_domains.h"
#include "conf/conf_file.h"

static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;
static struct conf_domains *cur;
static pthread_mutex_t change_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stat seen; /* last version loaded or tried; guarded by cur_mu */
static bool seen_valid;
static bool seen_failed; /* the version in seen did not load */

void conf_snapshot_lock(void)
{
	pthread_mutex_lock(&change_mu);
}

void conf_snapshot_unlock(void)
{
	pthread_mutex_unlock(&change_mu);
}

struct conf_domains *conf_domains_acquire(void)
{
	pthread_mutex_lock(&cur_mu);
	struct conf_domains *dc = cur;
	if (dc)
		atomic_fetch_add_explicit(&dc->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&cur_mu);
	return dc;
}

void conf_domains_install(struct conf_domains *dc)
{
	pthread_mutex_lock(&cur_mu);
	struct conf_domains *old = cur;
	cur = dc;
	if (dc && dc->file_ino) {
		struct stat sb = {0};
		sb.st_dev = dc->file_dev;
		sb.st_ino = dc->file_ino;
		sb.st_size = dc->file_size;
		sb.st_mtim = dc->file_mtime;
		seen = sb;
		seen_valid = true;
		seen_failed = false;
	}
	pthread_mutex_unlock(&cur_mu);
	conf_domains_release(old);
}

int conf_snapshot_reload_locked(const struct conf_static *st, struct buf *err)
{
	int r = 0;
	struct stat sb;
	pthread_mutex_lock(&cur_mu);
	bool known = seen_valid;
	struct stat last = seen;
	pthread_mutex_unlock(&cur_mu);
	if (stat(st->domains_path, &sb) < 0) {
		/* a missing file is reported once, like an invalid one */
		if (known) {
			buf_printf(err, "%s: cannot stat: file missing or unreadable\n", st->domains_path);
			pthread_mutex_lock(&cur_mu);
			seen_valid = false;
			pthread_mutex_unlock(&cur_mu);
			r = -1;
		}
	} else if (!known || !conf_file_same(&sb, &last)) {
		struct conf_domains *dc;
		if (conf_domains_load(st->domains_path, st, &dc, err) == 0) {
			conf_domains_install(dc);
			r = 1;
		} else {
			pthread_mutex_lock(&cur_mu);
			seen = sb;
			seen_valid = true;
			seen_failed = true;
			pthread_mutex_unlock(&cur_mu);
			r = -1;
		}
	}
	return r;
}

bool conf_snapshot_disk_invalid(void)
{
	pthread_mutex_lock(&cur_mu);
	bool r = seen_valid && seen_failed;
	pthread_mutex_unlock(&cur_mu);
	return r;
}

int conf_domains_reload_if_changed(const struct conf_static *st, struct buf *err)
{
	conf_snapshot_lock();
	int r = conf_snapshot_reload_locked(st, err);
	conf_snapshot_unlock();
	return r;
}
