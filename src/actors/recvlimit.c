/* Incoming per-account rate limits (see recvlimit.h).
 *
 * DESIGN: like connlimit, one open-addressing table under one mutex, keyed by
 * the sending address prefix at a mask level plus a 64-bit hash of the
 * account name (account names come from the config, not from the network,
 * so the hash is not attacker-chosen). Each entry has two sliding windows,
 * a minute and a day, each made of two buckets: the previous bucket counts
 * with the share of it that still overlaps the window. A delivery is checked
 * before its commit and counted after it, as the send limits are; concurrent
 * deliveries to one account may overshoot by the number in flight. */
#include "actors/recvlimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/xmalloc.h"

#define MINUTE_MS 60000LL
#define DAY_MS (24 * 3600 * 1000LL)
/* Probes before giving up on finding a key (the table is at most half full). */
#define PROBE_MAX 64

/* A two-bucket sliding window over len ms, for messages and bytes. */
struct window {
	int64_t start;          /* start of the current bucket */
	int64_t msgs, prev_msgs;
	int64_t bytes, prev_bytes;
};

struct entry {
	bool used;
	struct netaddr_key key;
	uint64_t account;       /* hash of the account name */
	int64_t last;
	struct window minute, day;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *tab;
static const size_t cap = RECVLIMIT_ENTRIES * 2;
static size_t nused;

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static void roll(struct window *w, int64_t len, int64_t now)
{
	int64_t age = now - w->start;
	if (age < len)
		return;
	bool adjacent = age < 2 * len;
	w->prev_msgs = adjacent ? w->msgs : 0;
	w->prev_bytes = adjacent ? w->bytes : 0;
	w->msgs = w->bytes = 0;
	w->start = now - age % len;
}

/* The estimated count over the last len ms of the current and previous buckets. */
static int64_t estimate(int64_t cur, int64_t prev, const struct window *w, int64_t len, int64_t now)
{
	int64_t into = now - w->start;
	if (into < 0 || into > len)
		into = len;
	/* prev * (len - into) / len, rounded up, without overflow for byte counts near INT64_MAX */
	__int128 p = ((__int128)prev * (len - into) + len - 1) / len, sum = (__int128)cur + p;
	return sum > INT64_MAX ? INT64_MAX : (int64_t)sum;
}

static struct entry *get(const struct netaddr_key *k, uint64_t account, int64_t now, bool create)
{
	if (!tab)
		tab = xcalloc(cap, sizeof *tab);
	size_t h = (netaddr_key_hash(k) ^ account) % cap, victim = cap;
	for (size_t i = 0; i < cap; i++, h = (h + 1) % cap) {
		struct entry *e = &tab[h];
		if (!e->used)
			break;
		if (e->account == account && memcmp(e->key.b, k->b, sizeof k->b) == 0)
			return e;
		if (victim == cap || tab[victim].last > e->last)
			victim = h;
		if (i > PROBE_MAX)
			break;
	}
	if (!create)
		return NULL;
	if (!tab[h].used && nused < RECVLIMIT_ENTRIES)
		nused++;
	else if (victim != cap)
		h = victim;
	else
		return NULL;
	struct entry *e = &tab[h];
	memset(e, 0, sizeof *e);
	e->used = true;
	e->key = *k;
	e->account = account;
	e->minute.start = e->day.start = now;
	return e;
}

/* Whether adding n to the estimate stays within limit (<= 0: no limit). */
static bool within(int64_t est, int64_t n, int64_t limit)
{
	int64_t sum;
	return limit <= 0 || (!__builtin_add_overflow(est, n, &sum) && sum <= limit);
}

bool recvlimit_allowed(const struct conf_limits *lim, const char *account, const struct netaddr *ip,
                       int64_t size, int64_t now_ms)
{
	uint64_t acc = name_hash(account);
	bool ok = true;
	pthread_mutex_lock(&mu);
	for (int l = 0; l < 3 && ok; l++) {
		struct netaddr_key k = netaddr_level_key(ip, l + 1);
		struct entry *e = get(&k, acc, now_ms, false);
		struct window none = {.start = now_ms};
		struct window *m = e ? &e->minute : &none, *d = e ? &e->day : &none;
		if (e) {
			roll(m, MINUTE_MS, now_ms);
			roll(d, DAY_MS, now_ms);
		}
		ok = within(estimate(m->msgs, m->prev_msgs, m, MINUTE_MS, now_ms), 1, lim->incoming_messages_per_minute[l]) &&
		     within(estimate(d->msgs, d->prev_msgs, d, DAY_MS, now_ms), 1, lim->incoming_messages_per_day[l]) &&
		     within(estimate(m->bytes, m->prev_bytes, m, MINUTE_MS, now_ms), size, lim->incoming_bytes_per_minute[l]) &&
		     within(estimate(d->bytes, d->prev_bytes, d, DAY_MS, now_ms), size, lim->incoming_bytes_per_day[l]);
	}
	pthread_mutex_unlock(&mu);
	return ok;
}

static void add(struct window *w, int64_t size)
{
	w->msgs++;
	if (__builtin_add_overflow(w->bytes, size, &w->bytes))
		w->bytes = INT64_MAX;
}

void recvlimit_record(const char *account, const struct netaddr *ip, int64_t size, int64_t now_ms)
{
	uint64_t acc = name_hash(account);
	pthread_mutex_lock(&mu);
	for (int l = 0; l < 3; l++) {
		struct netaddr_key k = netaddr_level_key(ip, l + 1);
		struct entry *e = get(&k, acc, now_ms, true);
		if (!e)
			continue;
		roll(&e->minute, MINUTE_MS, now_ms);
		roll(&e->day, DAY_MS, now_ms);
		e->last = now_ms;
		add(&e->minute, size);
		add(&e->day, size);
	}
	pthread_mutex_unlock(&mu);
}

void recvlimit_reset(void)
{
	pthread_mutex_lock(&mu);
	free(tab);
	tab = NULL;
	nused = 0;
	pthread_mutex_unlock(&mu);
}
