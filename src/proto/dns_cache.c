/* A bounded TTL cache of DNS answers keyed by (name, type).
 *
 * DESIGN: chained hash table sized for `max` entries plus an LRU list. Entries
 * hold a reference to a shared, immutable struct dns_answer, so a hit costs no
 * copy and an answer a job still uses survives eviction. Expired entries are
 * removed lazily on lookup and by LRU eviction; the bound is on entries, not on
 * bytes, because every answer is itself bounded by the 64 KiB DNS message size. */
#include "proto/dns_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

struct entry {
	struct entry *hnext;
	struct entry *prev, *next; /* LRU: head is the most recent */
	uint64_t hash;
	uint16_t type;
	int64_t expires_ms;
	struct dns_answer *a;
	char name[];
};

struct dns_cache {
	struct entry **buckets;
	size_t nbuckets, n, max;
	struct entry *head, *tail;
};

static uint64_t key_hash(const char *name, uint16_t type)
{
	uint64_t h = 1469598103934665603ULL ^ type; /* FNV-1a */
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

struct dns_cache *dns_cache_new(size_t max)
{
	struct dns_cache *c = xcalloc(1, sizeof *c);
	c->max = max ? max : 1;
	c->nbuckets = 16;
	while (c->nbuckets < c->max)
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
	return c;
}

static void lru_unlink(struct dns_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct dns_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static struct entry **find_slot(struct dns_cache *c, const char *name, uint16_t type, uint64_t h)
{
	struct entry **pp = &c->buckets[h & (c->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->type == type && strcmp((*pp)->name, name) == 0)
			break;
	return pp;
}

static void remove_entry(struct dns_cache *c, struct entry *e)
{
	struct entry **pp = find_slot(c, e->name, e->type, e->hash);
	*pp = e->hnext;
	lru_unlink(c, e);
	dns_answer_unref(e->a);
	free(e);
	c->n--;
}

struct dns_answer *dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, int64_t now_ms)
{
	struct entry *e = *find_slot(c, name, type, key_hash(name, type));
	if (!e)
		return NULL;
	if (e->expires_ms <= now_ms) {
		remove_entry(c, e);
		return NULL;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	return dns_answer_ref(e->a);
}

void dns_cache_put(struct dns_cache *c, const char *name, uint16_t type, struct dns_answer *a,
                   uint32_t ttl_s, int64_t now_ms)
{
	if (ttl_s == 0)
		return;
	uint64_t h = key_hash(name, type);
	struct entry *old = *find_slot(c, name, type, h);
	if (old)
		remove_entry(c, old);
	while (c->n >= c->max && c->tail)
		remove_entry(c, c->tail);
	size_t len = strlen(name);
	struct entry *e = xcalloc(1, sizeof *e + len + 1);
	memcpy(e->name, name, len + 1);
	e->hash = h;
	e->type = type;
	e->expires_ms = now_ms + (int64_t)ttl_s * 1000;
	e->a = dns_answer_ref(a);
	struct entry **b = &c->buckets[h & (c->nbuckets - 1)];
	e->hnext = *b;
	*b = e;
	lru_push(c, e);
	c->n++;
}

size_t dns_cache_size(const struct dns_cache *c)
{
	return c->n;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	while (c->head)
		remove_entry(c, c->head);
	free(c->buckets);
	free(c);
}
