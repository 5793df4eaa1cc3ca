/* The process-wide current domains.conf snapshot and the lock that
 * serialises reloads and rewrites.
 *
 * Internal to src/conf; the public side is in conf_domains.h and conf_rewrite.h. */
#ifndef TERN_CONF_SNAPSHOT_H
#define TERN_CONF_SNAPSHOT_H

#include "conf/conf.h"

/** Takes / drops the lock held for a whole reload or rewrite. */
void conf_snapshot_lock(void);
void conf_snapshot_unlock(void);

#endif
