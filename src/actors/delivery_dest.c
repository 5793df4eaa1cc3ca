/* Destinations of the delivery router and placing their jobs (queue.md §3).
 *
 * DESIGN: a destination is a host (MX name, IP literal, or a transport's host);
 * it holds its connections and the jobs waiting for one. Pumping a destination
 * places each waiting job, in order, on (1) an idle connection that fits it, (2) a
 * new connection when the per-host and global limits allow, or (3) the queue of a
 * busy connection that fits (at most DELIVERY_CONN_JOBS_MAX jobs per connection,
 * so the next transaction is ready when one ends). A job that fits nowhere waits
 * and is no attempt; jobs with the same needs as one that found nothing are not
 * tried again in the same pass. When a limit blocks, an idle connection that did
 * not fit is closed to make room (per host first, then the least recently used
 * one anywhere), and the destination is remembered until a connection closes.
 * "Fits" is the reuse rule: same target (transport, so same EHLO and source
 * address family), an address the job would dial (the preferred one when the
 * record's DialedIPs named this host), a TLS level at least the job's need, and
 * for REQUIRETLS a verified session that announced it; never for a job that must
 * retry on a new connection, never past Queue.MaxMessagesPerConnection. */
#include "actors/delivery_router_priv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"

/* ---- destinations ---- */

static uint64_t hash_host(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)(*s | 0x20)) * 1099511628211ull;
	return h;
}

static void grow(struct delivery_router *r)
{
	size_t n = r->nbuckets ? r->nbuckets * 2 : 64;
	struct delivery_dest **b = xcalloc(n, sizeof *b);
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct delivery_dest *d = r->buckets[i], *next; d; d = next) {
			next = d->hnext;
			size_t k = hash_host(d->host) & (n - 1);
			d->hnext = b[k];
			b[k] = d;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

struct delivery_dest *delivery_pool_find(struct delivery_router *r, const char *host)
{
	if (r->nbuckets) {
		for (struct delivery_dest *d = r->buckets[hash_host(host) & (r->nbuckets - 1)]; d; d = d->hnext)
			if (strcasecmp(d->host, host) == 0)
				return d;
	}
	return NULL;
}

struct delivery_dest *delivery_pool_dest(struct delivery_router *r, const char *host)
{
	struct delivery_dest *found = delivery_pool_find(r, host);
	if (found)
		return found;
	if (r->ndests >= r->nbuckets)
		grow(r);
	struct delivery_dest *d = xcalloc(1, sizeof *d);
	d->host = xstrdup(host);
	size_t k = hash_host(host) & (r->nbuckets - 1);
	d->hnext = r->buckets[k];
	r->buckets[k] = d;
	r->ndests++;
	return d;
}

static void dest_free(struct delivery_dest *d)
{
	free(d->host);
	free(d->addrs);
	free(d);
}

/* Frees d (NULL is fine) when nothing refers to it any more. */
void delivery_pool_release(struct delivery_router *r, struct delivery_dest *d)
{
	if (!d)
		return;
	if (d->nconns || d->conns || d->whead || d->nacct || d->blocked || r->stopping)
		return;
	struct delivery_dest **pp = &r->buckets[hash_host(d->host) & (r->nbuckets - 1)];
	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = d->hnext;
		r->ndests--;
		dest_free(d);
	}
}

void delivery_pool_enqueue(struct delivery_router *r, struct delivery_job *job, bool front)
{
	if (r->stopping) {
		job->conn = NULL;
		delivery_router_finish(r, job);
		return;
	}
	struct delivery_dest *d = delivery_pool_dest(r, job->hosts[job->host_i]);
	job->dest = d;
	job->state = DJ_WAIT;
	job->conn = NULL;
	if (front) {
		job->next = d->whead;
		d->whead = job;
		if (!d->wtail)
			d->wtail = job;
	} else {
		job->next = NULL;
		if (d->wtail)
			d->wtail->next = job;
		else
			d->whead = job;
		d->wtail = job;
	}
	d->nwait++;
	delivery_pool_pump(r, d);
}

static bool fits(const struct delivery_router *r, const struct delivery_pool_conn *pc, const struct delivery_job *j)
{
	if (pc->state != DPC_READY || pc->target != j->target || j->fresh_conn || pc->handed >= r->max_msgs)
		return false;
	if (pc->tls < j->need)
		return false;
	if (j->requiretls && !(pc->tls == DELIVERY_TLS_VERIFIED && pc->requiretls))
		return false;
	if (j->nips == 0)
		return false;
	if (j->ips_pref)
		return netaddr_eq(&pc->ip, &j->ips[0]);
	for (size_t i = 0; i < j->nips; i++)
		if (netaddr_eq(&pc->ip, &j->ips[i]))
			return true;
	return false;
}

static struct delivery_pool_conn *find_conn(struct delivery_router *r, struct delivery_dest *d,
                                            const struct delivery_job *j, bool busy)
{
	struct delivery_pool_conn *best = NULL;
	for (struct delivery_pool_conn *pc = d->conns; pc; pc = pc->dnext) {
		if (!fits(r, pc, j))
			continue;
		if (!busy && pc->assigned == 0)
			return pc;
		if (busy && pc->assigned < DELIVERY_CONN_JOBS_MAX && (!best || pc->assigned < best->assigned))
			best = pc;
	}
	return best;
}

/* ---- placing jobs ---- */

static void place(struct delivery_router *r, struct delivery_job *j, struct delivery_pool_conn *pc)
{
	j->conn = pc;
	if (pc->state == DPC_PENDING)
		j->fresh_conn = false;
	pc->assigned++;
	pc->handed++;
	delivery_pool_idle_remove(r, pc);
	if (j->accounted) {
		delivery_pool_hand(r, j);
		return;
	}
	pc->acct_refs++;
	j->dest->nacct++;
	delivery_attempt_add(r, j);
}

/* Closes an idle connection to make room for d's waiting jobs, and remembers d. */
static void make_room(struct delivery_router *r, struct delivery_dest *d)
{
	if (d->nconns >= r->max_per_host) {
		for (struct delivery_pool_conn *pc = d->conns; pc; pc = pc->dnext) {
			if (pc->in_idle) {
				delivery_pool_quit(r, pc);
				return;
			}
		}
		return; /* a connection of d will free up or close */
	}
	if (r->nconns < r->max_conns)
		return;
	if (r->idle_head)
		delivery_pool_quit(r, r->idle_head);
	if (!d->blocked) {
		d->blocked = true;
		d->bnext = NULL;
		if (r->blocked_tail)
			r->blocked_tail->bnext = d;
		else
			r->blocked_head = d;
		r->blocked_tail = d;
	}
}

/* Whether b would fit exactly where a did not (same requirements): then b need not be tried. */
static bool same_needs(const struct delivery_job *a, const struct delivery_job *b)
{
	return a->target == b->target && a->need == b->need && a->requiretls == b->requiretls &&
	       a->fresh_conn == b->fresh_conn && a->ips_pref == b->ips_pref && a->nips == b->nips &&
	       (a->nips == 0 || netaddr_eq(&a->ips[0], &b->ips[0]));
}

void delivery_pool_pump(struct delivery_router *r, struct delivery_dest *d)
{
	if (r->stopping)
		return;
	struct delivery_job *prev = NULL, *j = d->whead, *stuck = NULL;
	for (int scanned = 0; j && scanned < DELIVERY_PUMP_SCAN; scanned++) {
		struct delivery_job *next = j->next;
		struct delivery_pool_conn *pc = NULL;
		if (!stuck || !same_needs(stuck, j)) {
			pc = find_conn(r, d, j, false);
			if (!pc)
				pc = delivery_pool_open(r, d, j);
			if (!pc)
				pc = find_conn(r, d, j, true);
			if (!pc)
				stuck = j;
		}
		if (pc) {
			if (prev)
				prev->next = next;
			else
				d->whead = next;
			if (d->wtail == j)
				d->wtail = prev;
			d->nwait--;
			j->next = NULL;
			place(r, j, pc);
		} else {
			prev = j;
		}
		j = next;
	}
	if (d->whead)
		make_room(r, d);
	delivery_attempt_flush(r);
}

