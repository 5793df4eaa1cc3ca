/* Outgoing send limits per account (see sendlimit.h).
 *
 * DESIGN: in memory, like the other limiters (config.md §1.1): a restart
 * resets the windows. Per account: 24 hourly buckets of messages (each
 * recipient counts as a message) and of first-time recipients, plus the set
 * of recipient addresses seen (bounded; when full, the oldest half is
 * dropped, so a long-known recipient may count as new again — the cheaper
 * error). Accounts with both limits at -1 (high-volume senders) skip all of
 * it, including the lock. A message is checked before its commit and counted
 * only after the commit succeeded, so a failed commit (a 4xx the client will
 * retry) uses up nothing; concurrent submissions of one account may overshoot
 * by the number in flight. */
#include "actors/sendlimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/smtp_server.h"

#define BUCKETS 24
#define HOUR_MS (3600 * 1000LL)
#define SEEN_MAX 100000

struct acct {
	struct acct *next;
	char *name;
	int64_t hour[BUCKETS];  /* which hour each bucket holds */
	int64_t msgs[BUCKETS];
	int64_t first[BUCKETS];
	char **seen;
	size_t nseen, capseen;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct acct *accts;

static struct acct *get(const char *name)
{
	for (struct acct *a = accts; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	struct acct *a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->next = accts;
	accts = a;
	return a;
}

static int64_t sum(struct acct *a, const int64_t *v, int64_t now_h)
{
	int64_t n = 0;
	for (int i = 0; i < BUCKETS; i++)
		if (a->hour[i] > now_h - BUCKETS)
			n += v[i];
	return n;
}

static int slot(struct acct *a, int64_t now_h)
{
	int i = (int)(now_h % BUCKETS);
	if (a->hour[i] != now_h) {
		a->hour[i] = now_h;
		a->msgs[i] = a->first[i] = 0;
	}
	return i;
}

static bool seen(struct acct *a, const char *addr)
{
	for (size_t i = 0; i < a->nseen; i++)
		if (strcmp(a->seen[i], addr) == 0)
			return true;
	return false;
}

static void remember(struct acct *a, const char *addr)
{
	if (a->nseen == SEEN_MAX) {
		for (size_t i = 0; i < SEEN_MAX / 2; i++)
			free(a->seen[i]);
		memmove(a->seen, a->seen + SEEN_MAX / 2, (SEEN_MAX - SEEN_MAX / 2) * sizeof *a->seen);
		a->nseen -= SEEN_MAX / 2;
	}
	if (a->nseen == a->capseen) {
		a->capseen = a->capseen ? a->capseen * 2 : 64;
		a->seen = xrealloc(a->seen, a->capseen * sizeof *a->seen);
	}
	a->seen[a->nseen++] = xstrdup(addr);
}

/* "local@domain" with the domain lower-cased (domains are case-insensitive). */
static char *rcpt_key(const struct smtp_server_rcpt *rc)
{
	char *k = xasprintf("%.*s@%.*s", (int)rc->addr.local_len, rc->addr.local, (int)rc->addr.domain_len,
	                    rc->addr.domain);
	for (char *p = k + rc->addr.local_len + 1; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

/* Checks (record false) or counts (record true) the transaction for acc. */
static int tally(const struct conf_account *acc, const struct smtp_server_txn *t, bool record, char *why,
                 size_t whylen)
{
	int64_t maxm = acc->max_outgoing_messages_per_day, maxf = acc->max_first_time_recipients_per_day;
	if (maxm < 0 && maxf < 0)
		return 0;
	int64_t now_h = clock_wall_ms() / HOUR_MS;
	int rc = 0;
	pthread_mutex_lock(&mu);
	struct acct *a = get(acc->name);
	int i = slot(a, now_h);
	char **addrs = xcalloc(t->nrcpt ? t->nrcpt : 1, sizeof *addrs);
	int64_t nfirst = 0;
	for (size_t r = 0; r < t->nrcpt; r++) {
		addrs[r] = rcpt_key(&t->rcpts[r]);
		if (maxf >= 0 && !seen(a, addrs[r]))
			nfirst++;
	}
	if (record) {
		a->msgs[i] += (int64_t)t->nrcpt;
		a->first[i] += nfirst;
		for (size_t r = 0; r < t->nrcpt && maxf >= 0; r++)
			if (!seen(a, addrs[r]))
				remember(a, addrs[r]);
	} else if (maxm >= 0 && sum(a, a->msgs, now_h) + (int64_t)t->nrcpt > maxm) {
		snprintf(why, whylen,
		         "4.7.1 max number of messages (%lld) over past 24h reached, try increasing per-account "
		         "setting MaxOutgoingMessagesPerDay", (long long)maxm);
		rc = -1;
	} else if (maxf >= 0 && sum(a, a->first, now_h) + nfirst > maxf) {
		snprintf(why, whylen,
		         "4.7.1 max number of new/first-time recipients (%lld) over past 24h reached, try increasing "
		         "per-account setting MaxFirstTimeRecipientsPerDay", (long long)maxf);
		rc = -1;
	}
	pthread_mutex_unlock(&mu);
	for (size_t r = 0; r < t->nrcpt; r++)
		free(addrs[r]);
	free(addrs);
	return rc;
}

int sendlimit_check(const struct conf_account *acc, const struct smtp_server_txn *t, char *why, size_t whylen)
{
	return tally(acc, t, false, why, whylen);
}

void sendlimit_record(const struct conf_account *acc, const struct smtp_server_txn *t)
{
	tally(acc, t, true, NULL, 0);
}
