/* Atomic, validated rewrites of domains.conf (spec/config.md §3).
 *
 * DESIGN: the change is applied to a deep copy, the copy is turned into YAML,
 * and that exact text is loaded and validated before anything touches the
 * disk, so what is written is what was validated and what gets installed.
 * The whole sequence holds the snapshot change lock, which also serialises
 * the once-a-second reload: a reload cannot slip in an older file version
 * between our rename and our install. */
#include "conf/conf_rewrite.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "conf/conf_domains.h"
#include "conf/conf_file.h"
#include "conf/conf_snapshot.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"

static int rewrite_locked(const struct conf_static *st, conf_change_cb cb, void *arg, struct buf *err)
{
	/* pick up an edit made on disk since the last reload, so it is not lost,
	 * and refuse to overwrite one that does not load */
	struct buf rerr;
	buf_init(&rerr);
	conf_snapshot_reload_locked(st, &rerr);
	if (conf_snapshot_disk_invalid()) {
		buf_append(err, rerr.p, rerr.len);
		buf_printf(err, "%s: the file on disk is invalid; fix or restore it before changing the configuration\n",
			   st->domains_path);
		buf_free(&rerr);
		return -1;
	}
	buf_free(&rerr);
	struct conf_domains *cur = conf_domains_acquire();
	if (!cur) {
		buf_printf(err, "%s: no configuration loaded\n", st->domains_path);
		return -1;
	}
	struct conf_domains *copy = conf_domains_copy(cur);
	conf_domains_release(cur);
	int r = cb(copy, arg, err);
	struct buf yaml;
	buf_init(&yaml);
	if (r == 0)
		conf_domains_write(copy, &yaml);
	conf_domains_release(copy);
	struct conf_domains *next = NULL;
	if (r == 0) {
		char *name = xasprintf("%s (new version)", st->domains_path);
		r = conf_domains_parse(name, yaml.p, yaml.len, st, st->config_dir, &next, err);
		free(name);
	}
	if (r == 0)
		r = conf_file_replace(st->domains_path, yaml.p, yaml.len, err);
	buf_free(&yaml);
	if (r < 0) {
		conf_domains_release(next);
		return -1;
	}
	struct stat sb;
	if (stat(st->domains_path, &sb) == 0) {
		next->file_dev = sb.st_dev;
		next->file_ino = sb.st_ino;
		next->file_size = sb.st_size;
		next->file_mtime = sb.st_mtim;
	}
	conf_domains_install(next);
	return 0;
}

int conf_rewrite(const struct conf_static *st, conf_change_cb cb, void *arg, struct buf *err)
{
	conf_snapshot_lock();
	int r = rewrite_locked(st, cb, arg, err);
	conf_snapshot_unlock();
	return r;
}

int conf_rewrite_domain_add(const struct conf_static *st, const struct conf_domain_add *a, struct buf *err)
{
	return conf_rewrite(st, conf_change_domain_add, (void *)a, err);
}

int conf_rewrite_domain_rm(const struct conf_static *st, const char *domain, struct buf *err)
{
	return conf_rewrite(st, conf_change_domain_rm, (void *)domain, err);
}

int conf_rewrite_domain_disable(const struct conf_static *st, const char *domain, bool disabled, struct buf *err)
{
	return conf_rewrite(st, disabled ? conf_change_domain_disable : conf_change_domain_enable, (void *)domain, err);
}

int conf_rewrite_account_add(const struct conf_static *st, const char *account, const char *address,
                             struct buf *err)
{
	struct conf_account_arg a = {account, address};
	return conf_rewrite(st, conf_change_account_add, &a, err);
}

int conf_rewrite_account_rm(const struct conf_static *st, const char *account, struct buf *err)
{
	return conf_rewrite(st, conf_change_account_rm, (void *)account, err);
}

int conf_rewrite_account_disable(const struct conf_static *st, const char *account, const char *message,
                                 struct buf *err)
{
	struct conf_account_arg a = {account, message};
	return conf_rewrite(st, conf_change_account_disable, &a, err);
}

int conf_rewrite_account_enable(const struct conf_static *st, const char *account, struct buf *err)
{
	return conf_rewrite(st, conf_change_account_enable, (void *)account, err);
}
