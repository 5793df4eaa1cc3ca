/* String-keyed hash table used for domain, account and address lookups.
 *
 * DESIGN: configs are trusted input and built once per load, so FNV-1a with
 * linear probing is enough; the table grows by rehashing at half full, so a
 * probe sequence always ends at an empty slot. */
#include "conf/conf_map.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

static uint64_t hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 1099511628211ULL;
	return h ^ (h >> 32);
}

static void alloc_slots(struct conf_map *m, size_t cap)
{
	m->slots = xcalloc(cap, sizeof *m->slots);
	m->cap = cap;
}

void conf_map_init(struct conf_map *m, size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2)
		cap *= 2;
	m->n = 0;
	alloc_slots(m, cap);
}

void conf_map_free(struct conf_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof *m);
}

static struct conf_map_slot *find(const struct conf_map *m, const char *key, size_t klen, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct conf_map_slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0))
			return s;
	}
}

static void grow(struct conf_map *m)
{
	struct conf_map_slot *old = m->slots;
	size_t oldcap = m->cap;
	alloc_slots(m, oldcap * 2);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].klen, old[i].hash) = old[i];
	free(old);
}

int conf_map_put(struct conf_map *m, const char *key, size_t klen, void *val, void **old)
{
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	uint64_t h = hash(key, klen);
	struct conf_map_slot *s = find(m, key, klen, h);
	if (s->key) {
		if (old)
			*old = s->val;
		return -1;
	}
	s->key = xstrndup(key, klen);
	s->klen = klen;
	s->hash = h;
	s->val = val;
	m->n++;
	return 0;
}

void *conf_map_get(const struct conf_map *m, const char *key, size_t klen)
{
	if (!m->cap)
		return NULL;
	struct conf_map_slot *s = find(m, key, klen, hash(key, klen));
	return s->key ? s->val : NULL;
}
