/* Private to src/store: the store's RocksDB handles, shared by store*.c.
 *
 * Nothing outside src/store includes this file; the rest of Tern sees only
 * `struct store *` through store.h. */
#ifndef TERN_STORE_STORE_IMPL_H
#define TERN_STORE_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "store/store_keys.h"

struct metric;
struct store_batch;

struct store {
	char *datadir;
	char *dbpath;
	int lockfd;
	rocksdb_t *db;
	rocksdb_options_t *dbopt;
	rocksdb_options_t *cfopt[STORE_CF_N];
	rocksdb_column_family_handle_t *cf[STORE_CF_N];
	/* Column families found on disk that this version does not know (kept open, unused). */
	rocksdb_column_family_handle_t **extra_cf;
	int n_extra_cf;
	rocksdb_block_based_table_options_t *bbto;
	rocksdb_cache_t *cache;
	rocksdb_filterpolicy_t *bloom;
	rocksdb_writeoptions_t *wsync, *wnosync;
	rocksdb_readoptions_t *ro;
	/* Ids: next to hand out, and the persisted reservation (ids < hwm may be in use). */
	_Atomic uint64_t next_id;
	_Atomic uint64_t id_hwm;
	_Atomic uint64_t id_owed; /* a mark that could not be written yet (0: none); see store.c */
	pthread_mutex_t id_lock;
	struct metric *m_writes, *m_sync_writes, *m_write_errors, *m_sync_seconds, *m_corrupt;
};

/** Adds every op of b to wb (the caller writes wb). */
void store_batch_apply(const struct store_batch *b, struct store *s, rocksdb_writebatch_t *wb);

/** Turns a RocksDB error text into a negative errno: -ENOSPC, -EROFS or -EIO. */
int store_errno(const char *rocksdb_err);

/** Writes wb (sync or not), counting metrics; error text (if any) appended to err. */
int store_write_wb(struct store *s, rocksdb_writebatch_t *wb, bool sync, struct buf *err);

/** Removes message data whose commit never happened (pending markers). Returns the count or
 * a negative errno. Called by store_open. */
int store_msgdata_cleanup(struct store *s, struct buf *err);

/** Takes DataDir/db.lock and writes our pid into it (store_lock.c). Returns 0 with *fd_out set,
 * or a negative errno with *err a malloc'd message naming dbpath and, when known, the holder's pid. */
int store_lock_take(const char *datadir, const char *dbpath, int *fd_out, char **err);
/** Releases a lock taken by store_lock_take (fd < 0 is ignored). */
void store_lock_release(int fd);

/** Creates DataDir/spool if needed and removes everything in it (store_spool.c). Returns the
 * number of entries removed, or a negative errno with *err a malloc'd message. */
int store_spool_empty(const char *datadir, char **err);

/** Creates dir (and missing parents) with mode 0750. Returns 0 or a negative errno. */
int store_spool_mkdirs(const char *dir);

#endif
