/* The process-wide current domains.conf snapshot and the lock that
 * serialises reloads and rewrites.
 *
 * Internal to src/conf; the public side is in conf_domains.h and conf_rewrite.h. */
#ifndef TERN_CONF_SNAPSHOT_H
#define TERN_CONF_SNAPSHOT_H

#include <stdbool.h>

#include "conf/conf.h"
#include "core/buf.h"

/** Takes / drops the lock held for a whole reload or rewrite. */
void conf_snapshot_lock(void);
void conf_snapshot_unlock(void);

/** The body of conf_domains_reload_if_changed, for callers holding the lock. */
int conf_snapshot_reload_locked(const struct conf_static *st, struct buf *err);

/** Whether the newest version of domains.conf on disk failed to load (so a
 * rewrite would overwrite an operator's unfinished edit). */
bool conf_snapshot_disk_invalid(void);

#endif
