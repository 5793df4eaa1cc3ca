/* Failed-authentication limiter per IP mask level (smtp.md §12).
 *
 * DESIGN: each (level, key) entry holds two "theoretical arrival times"
 * (the generic cell rate algorithm): a failure moves an entry's time to
 * max(time, now) + window/limit, and an attempt is allowed while one more
 * failure would still end within one window of now. This is an exact
 * "limit per window" with continuous refill in two integers per window, no
 * per-failure history. Times are kept in microseconds so that 450 per day or
 * 90 per minute divide without drift worth noticing.
 *
 * Entries live in one preallocated array (bounded memory), found through a
 * chained hash table keyed with SipHash-2-4 under a random key (so that
 * clients choosing their addresses cannot flood one bucket), and kept on an
 * LRU list: when the array is full, the entry that failed least recently is
 * reused. An entry whose times are both in the past is equivalent to none. */
#include "proto/authlimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/sasl_crypto.h"

#define AUTHLIMIT_MINUTE_US (60 * 1000000LL)
#define AUTHLIMIT_DAY_US (86400 * 1000000LL)

struct authlimit_entry {
	struct authlimit_entry *hnext;            /* bucket chain */
	struct authlimit_entry *lru_prev, *lru_next;
	uint64_t hash;
	int64_t tat_us[2];                        /* minute, day */
	uint8_t level;
	uint8_t key_len;
	uint8_t key[AUTHLIMIT_KEY_MAX];
};

struct authlimit {
	pthread_mutex_t mu;
	struct authlimit_cfg cfg;
	uint64_t sip[2];
	size_t nbuckets;                          /* power of two */
	struct authlimit_entry **buckets;
	struct authlimit_entry *entries;
	size_t nused;
	struct authlimit_entry *lru_head, *lru_tail; /* head = most recent */
};

void authlimit_cfg_default(struct authlimit_cfg *cfg)
{
	static const uint32_t per_minute[AUTHLIMIT_LEVELS] = {10, 30, 90};
	static const uint32_t per_day[AUTHLIMIT_LEVELS] = {50, 150, 450};
	memcpy(cfg->per_minute, per_minute, sizeof per_minute);
	memcpy(cfg->per_day, per_day, sizeof per_day);
	cfg->max_entries = AUTHLIMIT_ENTRIES_DEFAULT;
}

#define AUTHLIMIT_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define AUTHLIMIT_SIPROUND(v0, v1, v2, v3) \
	do { \
		v0 += v1; v1 = AUTHLIMIT_ROTL(v1, 13); v1 ^= v0; v0 = AUTHLIMIT_ROTL(v0, 32); \
		v2 += v3; v3 = AUTHLIMIT_ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = AUTHLIMIT_ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = AUTHLIMIT_ROTL(v1, 17); v1 ^= v2; v2 = AUTHLIMIT_ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of in under key k. */
static uint64_t authlimit_siphash(const uint64_t k[2], const uint8_t *in, size_t n)
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL, v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL, v3 = k[1] ^ 0x7465646279746573ULL;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t m = 0;
		for (int b = 7; b >= 0; b--)
			m = m << 8 | in[i + (size_t)b];
		v3 ^= m;
		AUTHLIMIT_SIPROUND(v0, v1, v2, v3);
		AUTHLIMIT_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	uint64_t last = (uint64_t)n << 56;
	for (size_t b = 0; i + b < n; b++)
		last |= (uint64_t)in[i + b] << (8 * b);
	v3 ^= last;
	AUTHLIMIT_SIPROUND(v0, v1, v2, v3);
	AUTHLIMIT_SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		AUTHLIMIT_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

struct authlimit *authlimit_new(const struct authlimit_cfg *cfg)
{
	struct authlimit *l = xcalloc(1, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
	l->cfg = *cfg;
	if (l->cfg.max_entries == 0)
		l->cfg.max_entries = AUTHLIMIT_ENTRIES_DEFAULT;
	l->nbuckets = 16;
	while (l->nbuckets < l->cfg.max_entries)
		l->nbuckets <<= 1;
	l->buckets = xcalloc(l->nbuckets, sizeof *l->buckets);
	l->entries = xcalloc(l->cfg.max_entries, sizeof *l->entries);
	sasl_crypto_random(l->sip, sizeof l->sip);
	return l;
}

void authlimit_free(struct authlimit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->buckets);
	free(l->entries);
	free(l);
}

static uint64_t authlimit_hash(const struct authlimit *l, int level, struct slice key)
{
	return authlimit_siphash(l->sip, key.p, key.len) ^ ((uint64_t)level * 0x9e3779b97f4a7c15ULL);
}

static struct authlimit_entry *authlimit_find(struct authlimit *l, int level, struct slice key,
                                              uint64_t h)
{
	for (struct authlimit_entry *e = l->buckets[h & (l->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->level == level && e->key_len == key.len &&
		    memcmp(e->key, key.p, key.len) == 0)
			return e;
	return NULL;
}

static void authlimit_lru_unlink(struct authlimit *l, struct authlimit_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		l->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		l->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void authlimit_lru_push(struct authlimit *l, struct authlimit_entry *e)
{
	e->lru_next = l->lru_head;
	e->lru_prev = NULL;
	if (l->lru_head)
		l->lru_head->lru_prev = e;
	l->lru_head = e;
	if (!l->lru_tail)
		l->lru_tail = e;
}

/* Takes the least recently failed entry out of the table for reuse. */
static struct authlimit_entry *authlimit_evict(struct authlimit *l)
{
	struct authlimit_entry *e = l->lru_tail;
	ASSERT(e);
	authlimit_lru_unlink(l, e);
	struct authlimit_entry **pp = &l->buckets[e->hash & (l->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	return e;
}

static struct authlimit_entry *authlimit_insert(struct authlimit *l, int level, struct slice key,
                                                uint64_t h)
{
	struct authlimit_entry *e =
	    l->nused < l->cfg.max_entries ? &l->entries[l->nused++] : authlimit_evict(l);
	memset(e, 0, sizeof *e);
	e->hash = h;
	e->level = (uint8_t)level;
	e->key_len = (uint8_t)key.len;
	memcpy(e->key, key.p, key.len);
	struct authlimit_entry **b = &l->buckets[h & (l->nbuckets - 1)];
	e->hnext = *b;
	*b = e;
	authlimit_lru_push(l, e);
	return e;
}

/* Window length and per-failure increment (µs) of window w (0 minute, 1 day) at level. */
static bool authlimit_window(const struct authlimit *l, int level, int w, int64_t *win,
                             int64_t *inc)
{
	uint32_t limit = w == 0 ? l->cfg.per_minute[level] : l->cfg.per_day[level];
	if (limit == 0)
		return false;
	*win = w == 0 ? AUTHLIMIT_MINUTE_US : AUTHLIMIT_DAY_US;
	*inc = *win / limit;
	return true;
}

static void authlimit_check_key(struct slice key)
{
	if (key.len > AUTHLIMIT_KEY_MAX)
		panic("authlimit: key of %zu octets", key.len);
}

bool authlimit_allowed(struct authlimit *l, const struct slice keys[AUTHLIMIT_LEVELS],
                       int64_t now_ms)
{
	int64_t now = now_ms * 1000;
	bool ok = true;
	pthread_mutex_lock(&l->mu);
	for (int lv = 0; lv < AUTHLIMIT_LEVELS && ok; lv++) {
		authlimit_check_key(keys[lv]);
		if (keys[lv].len == 0)
			continue;
		struct authlimit_entry *e = authlimit_find(l, lv, keys[lv], authlimit_hash(l, lv, keys[lv]));
		for (int w = 0; e && w < 2 && ok; w++) {
			int64_t win, inc;
			if (authlimit_window(l, lv, w, &win, &inc) && e->tat_us[w] - now > win - inc)
				ok = false;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void authlimit_failed(struct authlimit *l, const struct slice keys[AUTHLIMIT_LEVELS],
                      int64_t now_ms)
{
	int64_t now = now_ms * 1000;
	pthread_mutex_lock(&l->mu);
	for (int lv = 0; lv < AUTHLIMIT_LEVELS; lv++) {
		authlimit_check_key(keys[lv]);
		if (keys[lv].len == 0)
			continue;
		uint64_t h = authlimit_hash(l, lv, keys[lv]);
		struct authlimit_entry *e = authlimit_find(l, lv, keys[lv], h);
		if (e) {
			authlimit_lru_unlink(l, e);
			authlimit_lru_push(l, e);
		} else {
			e = authlimit_insert(l, lv, keys[lv], h);
		}
		for (int w = 0; w < 2; w++) {
			int64_t win, inc;
			if (!authlimit_window(l, lv, w, &win, &inc))
				continue;
			int64_t base = e->tat_us[w] > now ? e->tat_us[w] : now;
			/* At most `limit` failures outstanding: a client that keeps failing
			 * while refused (where a caller did not ask first) ends up like one
			 * that stopped at the limit, not locked out for ever longer. */
			e->tat_us[w] = base + inc > now + win ? now + win : base + inc;
		}
	}
	pthread_mutex_unlock(&l->mu);
}

size_t authlimit_count(struct authlimit *l)
{
	pthread_mutex_lock(&l->mu);
	size_t n = l->nused;
	pthread_mutex_unlock(&l->mu);
	return n;
}
