/* Connection limiter (see connlimit.h).
 *
 * DESIGN: one open-addressing table of entries keyed by netaddr_key (address
 * prefix at a mask level), under one mutex — a connect costs three short
 * lookups, far below the cost of the TCP handshake it guards. Each entry holds
 * the open count and a two-bucket sliding minute window (the previous minute's
 * count weighted by how much of it still overlaps). Entries with no open
 * connection are reused when the table is full (oldest first). */
#include "actors/connlimit.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/xmalloc.h"

struct entry {
	struct netaddr_key key;
	bool used;
	int64_t open;
	int64_t win_start;   /* start of the current minute bucket */
	int64_t cur, prev;   /* connections in the current and previous bucket */
	int64_t last;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *tab;
static size_t cap = CONNLIMIT_ENTRIES * 2, nused;
static int64_t lim_conc[3] = {30, 90, 270}, lim_rate[3] = {300, 900, 2700};

void connlimit_configure(const int64_t concurrent[3], const int64_t per_minute[3])
{
	pthread_mutex_lock(&mu);
	memcpy(lim_conc, concurrent, sizeof lim_conc);
	memcpy(lim_rate, per_minute, sizeof lim_rate);
	pthread_mutex_unlock(&mu);
}

static void roll(struct entry *e, int64_t now)
{
	int64_t age = now - e->win_start;
	if (age < 60000)
		return;
	e->prev = age < 120000 ? e->cur : 0;
	e->cur = 0;
	e->win_start = now - (age % 60000);
}

static int64_t rate(const struct entry *e, int64_t now)
{
	int64_t into = now - e->win_start;
	return e->cur + e->prev * (60000 - into) / 60000;
}

/* Finds or makes the entry of k; NULL when the table is full of open connections. */
static struct entry *get(const struct netaddr_key *k, int64_t now, bool create)
{
	if (!tab)
		tab = xcalloc(cap, sizeof *tab);
	size_t h = netaddr_key_hash(k) % cap, victim = cap;
	for (size_t i = 0; i < cap; i++, h = (h + 1) % cap) {
		struct entry *e = &tab[h];
		if (!e->used)
			break;
		if (memcmp(e->key.b, k->b, sizeof k->b) == 0)
			return e;
		if (i > 64)
			break;
		if (e->open == 0 && (victim == cap || tab[victim].last > e->last))
			victim = h;
	}
	if (!create)
		return NULL;
	if (!tab[h].used && nused < CONNLIMIT_ENTRIES) {
		nused++;
	} else if (victim != cap) {
		h = victim;
	} else {
		return NULL;
	}
	struct entry *e = &tab[h];
	memset(e, 0, sizeof *e);
	e->used = true;
	e->key = *k;
	e->win_start = now;
	return e;
}

enum connlimit_verdict connlimit_open(const struct netaddr *a, int64_t now_ms)
{
	struct entry *es[3];
	enum connlimit_verdict v = CONNLIMIT_OK;
	pthread_mutex_lock(&mu);
	for (int l = 0; l < 3; l++) {
		struct netaddr_key k = netaddr_level_key(a, l + 1);
		es[l] = get(&k, now_ms, true);
		if (!es[l])
			continue; /* table full of live connections: do not limit what cannot be tracked */
		roll(es[l], now_ms);
		es[l]->last = now_ms;
		if (lim_conc[l] > 0 && es[l]->open >= lim_conc[l] && v == CONNLIMIT_OK)
			v = CONNLIMIT_TOO_MANY;
		if (lim_rate[l] > 0 && rate(es[l], now_ms) >= lim_rate[l] && v == CONNLIMIT_OK)
			v = CONNLIMIT_TOO_FAST;
	}
	for (int l = 0; l < 3; l++) {
		if (!es[l])
			continue;
		es[l]->cur++; /* refused attempts count toward the rate too */
		if (v == CONNLIMIT_OK)
			es[l]->open++;
	}
	pthread_mutex_unlock(&mu);
	return v;
}

void connlimit_close(const struct netaddr *a)
{
	pthread_mutex_lock(&mu);
	for (int l = 0; l < 3; l++) {
		struct netaddr_key k = netaddr_level_key(a, l + 1);
		struct entry *e = get(&k, 0, false);
		if (e && e->open > 0)
			e->open--;
	}
	pthread_mutex_unlock(&mu);
}
