/* A string-keyed hash table for the lookups built when a config is loaded.
 *
 * Internal to src/conf. Built once, then only read (possibly by many threads
 * at once, which is safe because nothing changes after the build). */
#ifndef TERN_CONF_MAP_H
#define TERN_CONF_MAP_H

#include <stddef.h>
#include <stdint.h>

struct conf_map_slot {
	char *key; /* owned copy, NUL-terminated; NULL = empty slot */
	size_t klen;
	uint64_t hash;
	void *val; /* borrowed */
};

/** Open addressing with linear probing; load factor at most 1/2. */
struct conf_map {
	struct conf_map_slot *slots;
	size_t cap; /* power of two */
	size_t n;
};

/** Sets up an empty table sized for `expected` entries. */
void conf_map_init(struct conf_map *m, size_t expected);
/** Frees the table and its key copies (not the values). */
void conf_map_free(struct conf_map *m);
/** Adds key -> val. Returns 0, or -1 (and leaves the table unchanged) when the
 * key is already present; then *old (if not NULL) gets the existing value. */
int conf_map_put(struct conf_map *m, const char *key, size_t klen, void *val, void **old);
/** The value for key, or NULL. */
void *conf_map_get(const struct conf_map *m, const char *key, size_t klen);

#endif
