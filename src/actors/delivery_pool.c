/* The connection pool of the delivery router: connection handles, the idle list,
 * handing jobs over, and what connections report (queue.md §3).
 *
 * DESIGN: the router keeps one struct delivery_pool_conn per connection actor. A
 * handle is reserved (PENDING) when a job is placed on a new connection and only
 * spawns the actor once the job's attempt is accounted. Connections that have
 * nothing to do go on an idle list (least recently used first) with a
 * ConnectionIdleTimeout timer, and are asked to QUIT when it fires, when they are
 * spent (Queue.MaxMessagesPerConnection) or to make room. Every job handed to a
 * connection comes back exactly once in an event (finished, handed back, or with
 * CLOSED), which keeps the count of jobs out and lets the router stop cleanly. A
 * handle outlives its connection while accounted jobs still point at it. */
#include "actors/delivery_router_priv.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xmalloc.h"

/* ---- connections ---- */

void delivery_pool_idle_remove(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	if (!pc->in_idle)
		return;
	if (pc->iprev)
		pc->iprev->inext = pc->inext;
	else
		r->idle_head = pc->inext;
	if (pc->inext)
		pc->inext->iprev = pc->iprev;
	else
		r->idle_tail = pc->iprev;
	pc->inext = pc->iprev = NULL;
	pc->in_idle = false;
	timer_stop(&pc->idle);
}

void delivery_pool_quit(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	delivery_pool_idle_remove(r, pc);
	pc->state = DPC_CLOSING;
	DELIVERY_MSG_CONN_QUIT_CMD_send(pc->actor, &r->a, &(struct msg_empty){0},
	                                &(struct actor_send_opts){.force = true});
}

static void idle_cb(struct timer *t)
{
	struct delivery_pool_conn *pc = t->ctx;
	if (pc->state == DPC_READY && pc->assigned == 0)
		delivery_pool_quit(pc->r, pc);
}

/* pc has nothing to do: QUIT it when it is spent, else park it on the idle list. */
static void idle_add(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	if (pc->state != DPC_READY || pc->assigned > 0 || pc->in_idle)
		return;
	if (r->stopping || pc->handed >= r->max_msgs) {
		delivery_pool_quit(r, pc);
		return;
	}
	pc->iprev = r->idle_tail;
	pc->inext = NULL;
	if (r->idle_tail)
		r->idle_tail->inext = pc;
	else
		r->idle_head = pc;
	r->idle_tail = pc;
	pc->in_idle = true;
	timer_start(&pc->idle, r->idle_ms);
}

struct delivery_pool_conn *delivery_pool_open(struct delivery_router *r, struct delivery_dest *d,
                                            const struct delivery_job *j)
{
	if (d->nconns >= r->max_per_host || r->nconns >= r->max_conns)
		return NULL;
	struct delivery_pool_conn *pc = xcalloc(1, sizeof *pc);
	pc->r = r;
	pc->dest = d;
	pc->target = j->target;
	pc->state = DPC_PENDING;
	timer_init(&pc->idle, idle_cb, pc);
	pc->dnext = d->conns;
	if (d->conns)
		d->conns->dprev = pc;
	d->conns = pc;
	d->nconns++;
	r->nconns++;
	return pc;
}

/* Removes pc from its destination and the counts; frees it unless accounted jobs point at it. */
static void conn_gone(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	struct delivery_dest *d = pc->dest;
	delivery_pool_idle_remove(r, pc);
	if (pc->state != DPC_DEAD) {
		if (pc->dprev)
			pc->dprev->dnext = pc->dnext;
		else
			d->conns = pc->dnext;
		if (pc->dnext)
			pc->dnext->dprev = pc->dprev;
		pc->dnext = pc->dprev = NULL;
		d->nconns--;
		r->nconns--;
		pc->state = DPC_DEAD;
	}
	if (pc->acct_refs == 0)
		free(pc);
}

/* A slot was freed somewhere: pump d, then destinations waiting for a global slot. */
static void slot_freed(struct delivery_router *r, struct delivery_dest *d)
{
	delivery_pool_pump(r, d);
	while (r->blocked_head && r->nconns < r->max_conns) {
		struct delivery_dest *b = r->blocked_head;
		r->blocked_head = b->bnext;
		if (!r->blocked_head)
			r->blocked_tail = NULL;
		b->bnext = NULL;
		b->blocked = false;
		delivery_pool_pump(r, b);
		delivery_pool_release(r, b);
	}
	delivery_pool_release(r, d);
}

void delivery_pool_unclaim(struct delivery_router *r, struct delivery_job *job)
{
	struct delivery_pool_conn *pc = job->conn;
	job->conn = NULL;
	if (!pc)
		return;
	struct delivery_dest *d = pc->dest;
	pc->assigned--;
	pc->acct_refs--;
	d->nacct--;
	if (pc->state == DPC_PENDING) {
		if (pc->assigned == 0) {
			conn_gone(r, pc);
			slot_freed(r, d);
		}
		return;
	}
	if (pc->state == DPC_DEAD) {
		if (pc->acct_refs == 0)
			free(pc);
		return;
	}
	idle_add(r, pc);
	delivery_pool_pump(r, d);
}

void delivery_pool_hand(struct delivery_router *r, struct delivery_job *j)
{
	struct delivery_pool_conn *pc = j->conn;
	struct delivery_dest *d = j->dest;
	bool was_acct = j->state == DJ_ACCT;
	if (was_acct) {
		pc->acct_refs--;
		d->nacct--;
	}
	if (pc->state == DPC_DEAD || pc->state == DPC_CLOSING) {
		pc->assigned--;
		if (pc->state == DPC_DEAD && pc->acct_refs == 0)
			free(pc);
		delivery_pool_enqueue(r, j, true); /* accounted already: goes on at once elsewhere */
		return;
	}
	j->state = DJ_CONN;
	r->out++;
	if (pc->state == DPC_PENDING) {
		struct delivery_conn_params p = {
		    .router = r->a.id, .ref = pc, .queue = delivery_router_queue(r), .store = r->env.store,
		    .tls = r->env.tls, .st = r->env.st, .target = j->target, .host = d->host,
		    .nips = j->nips, .port = j->target->port, .need = j->need, .plain_ok = j->plain_ok,
		};
		memcpy(p.ips, j->ips, j->nips * sizeof j->ips[0]);
		pc->state = DPC_CONNECTING;
		pc->actor = delivery_conn_spawn(&p, j, NULL);
		return;
	}
	int rc = DELIVERY_MSG_CONN_JOB_CMD_send(pc->actor, &r->a, &(struct delivery_conn_job_cmd){.job = j},
	                                        &(struct actor_send_opts){.force = true});
	if (rc != 0) {
		log_error("delivery", "job not sent to connection", "rc=%d", rc);
		r->out--;
		pc->assigned--;
		delivery_pool_enqueue(r, j, true);
	}
}

/* ---- connection events ---- */

static void take_back(struct delivery_router *r, struct delivery_job *j)
{
	j->conn = NULL;
	if (r->stopping) {
		delivery_router_finish(r, j);
		return;
	}
	switch (j->disp) {
	case DELIVERY_DISP_NEXT_HOST:
		j->host_i++;
		j->fresh_conn = false;
		j->dest = NULL;
		delivery_router_host_begin(r, j);
		break;
	default: /* UNSTARTED, RETRY (fresh_conn is set) */
		delivery_pool_enqueue(r, j, true);
		break;
	}
}

void delivery_pool_conn_evt(struct delivery_router *r, const struct delivery_conn_evt *ev)
{
	struct delivery_pool_conn *pc = ev->ref;
	int64_t over = (int64_t)ev->finished;
	for (struct delivery_job *j = ev->jobs; j; j = j->next)
		over++;
	r->out -= over;
	struct delivery_dest *d = pc ? pc->dest : NULL;
	if (pc)
		pc->assigned -= (int)over;
	switch (ev->kind) {
	case DELIVERY_CONN_READY:
		if (pc->state == DPC_CONNECTING)
			pc->state = DPC_READY;
		pc->tls = (enum delivery_tls)ev->tls;
		pc->requiretls = ev->requiretls;
		if (netaddr_parse(ev->remote_ip, &pc->ip) != 0)
			pc->ip.family = 0;
		if (r->stopping)
			delivery_pool_quit(r, pc);
		break;
	case DELIVERY_CONN_CLOSED:
		DELIVERY_MSG_CONN_RELEASE_CMD_send(pc->actor, &r->a, &(struct msg_empty){0},
		                                   &(struct actor_send_opts){.force = true});
		conn_gone(r, pc);
		pc = NULL;
		break;
	default:
		break;
	}
	for (struct delivery_job *j = ev->jobs, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		take_back(r, j);
	}
	if (d && pc) {
		if (pc->assigned == 0)
			idle_add(r, pc); /* first: pumping may reuse it, or close it to make room */
		delivery_pool_pump(r, d);
		delivery_pool_release(r, d);
	} else if (d) {
		slot_freed(r, d);
	}
	delivery_attempt_flush(r);
	delivery_router_maybe_stopped(r);
}

/* ---- stop ---- */

void delivery_pool_stop(struct delivery_router *r)
{
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct delivery_dest *d = r->buckets[i]; d; d = d->hnext) {
			for (struct delivery_job *j = d->whead, *next; j; j = next) {
				next = j->next;
				delivery_router_finish(r, j);
			}
			d->whead = d->wtail = NULL;
			d->nwait = 0;
			for (struct delivery_pool_conn *pc = d->conns, *next; pc; pc = next) {
				next = pc->dnext;
				if (pc->state == DPC_READY)
					delivery_pool_quit(r, pc); /* connecting ones QUIT at READY */
			}
		}
	}
}

void delivery_pool_free(struct delivery_router *r)
{
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct delivery_dest *d = r->buckets[i], *next; d; d = next) {
			next = d->hnext;
			for (struct delivery_pool_conn *pc = d->conns, *pn; pc; pc = pn) {
				pn = pc->dnext;
				timer_stop(&pc->idle);
				free(pc);
			}
			free(d->host);
			free(d->addrs);
			free(d);
		}
	}
	free(r->buckets);
	r->buckets = NULL;
	r->nbuckets = r->ndests = 0;
}
