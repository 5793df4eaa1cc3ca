/* Text dump of column families: the engine of `tern store dump`.
 *
 * One line per key: `<cf> <key> <value>`, the key as store_key_format()
 * prints it, the value decoded (records as `Name=value ...`, index entries and
 * counters as numbers, message chunks as their length). A record that fails to
 * decode is printed as `CORRUPT reason=... bytes=0x...` and left where it is:
 * dumping never changes the database. */
#ifndef TERN_STORE_STORE_DUMP_H
#define TERN_STORE_STORE_DUMP_H

#include <stddef.h>

#include "store/store.h"

/** Receives one line (without newline; valid during the call). Return 0 to go on, non-zero
 * to stop the dump. */
typedef int (*store_dump_line_cb)(void *arg, const char *line, size_t len);

/** Dumps column family cf, or every column family when cf is -1, calling cb per key. Byte
 * values are shown up to max_bytes each. Returns the number of lines, or -EIO. */
long store_dump(struct store *s, int cf, size_t max_bytes, store_dump_line_cb cb, void *arg);

/** Appends the value rendering used by store_dump for (cf, key, value) to out. */
void store_dump_value(enum store_cf cf, struct slice key, struct slice value, size_t max_bytes, struct buf *out);

#endif
