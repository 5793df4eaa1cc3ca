/* The resolver's getdns thread: one getdns stub context on its own libevent loop.
 *
 * DESIGN: getdns 1.6.0 is driven by libevent on a dedicated thread
 * (notes/dependencies.md §5: a custom io_uring event loop lost read events, and
 * the extension .so files are empty, so the static libgetdns_ex_event.a is
 * linked). The context is created, used and destroyed on that thread only.
 * Submissions arrive on a mutex-protected queue plus an eventfd the loop watches;
 * answers leave on a done list, and the actor is woken once per non-empty
 * transition. getdns' own DNSSEC validation is never enabled (it double-frees
 * under packet loss): queries carry the DO bit, and the AD bit of the reply is
 * recorded only when the reply came from a loopback resolver (or trust_ad_any),
 * i.e. a local validating resolver whose path cannot be spoofed. Replies are
 * converted to struct dns_answer on this thread (dns_resolver_convert.c), so
 * getdns dicts never leave it. */
#include "actors/dns_resolver_loop.h"

#include "actors/dns_resolver_convert.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <getdns/getdns_ext_libevent.h>

#include "core/log.h"
#include "core/xmalloc.h"

struct dns_resolver_loop {
	struct dns_resolver_loop_opts o;
	struct dns_upstream servers[DNS_UPSTREAM_MAX];
	pthread_t thread;
	int efd;
	_Atomic bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;                      /* 0 starting, 1 running, -1 failed */
	char err[160];
	struct dns_fetch *in_head, *in_tail;     /* submitted, not yet given to getdns (mu) */
	struct dns_fetch *done_head, *done_tail; /* answered (mu) */
	bool wake_pending;                       /* (mu) */
	/* loop thread only */
	struct dns_fetch *outstanding;           /* given to getdns */
	struct event_base *base;
	struct event *efd_ev;
	getdns_context *ctx;
};

/* ---- queues ---- */

static void push_done(struct dns_resolver_loop *l, struct dns_fetch *f)
{
	f->next = NULL;
	f->done = true;
	pthread_mutex_lock(&l->mu);
	if (l->done_tail)
		l->done_tail->next = f;
	else
		l->done_head = f;
	l->done_tail = f;
	bool wake = !l->wake_pending;
	l->wake_pending = true;
	pthread_mutex_unlock(&l->mu);
	if (wake && l->o.wake && !atomic_load(&l->stop))
		l->o.wake(l->o.wake_arg);
}

static void outstanding_unlink(struct dns_resolver_loop *l, struct dns_fetch *f)
{
	if (f->oprev)
		f->oprev->onext = f->onext;
	else if (l->outstanding == f)
		l->outstanding = f->onext;
	if (f->onext)
		f->onext->oprev = f->oprev;
	f->oprev = f->onext = NULL;
}

static void query_cb(getdns_context *ctx, getdns_callback_type_t t, getdns_dict *resp, void *arg,
                     getdns_transaction_t tid)
{
	struct dns_fetch *f = arg;
	struct dns_resolver_loop *l = f->loop;
	(void)ctx;
	(void)tid;
	f->answer = dns_resolver_convert(t, resp, l->o.trust_ad_any);
	if (resp)
		getdns_dict_destroy(resp);
	outstanding_unlink(l, f);
	push_done(l, f);
}

static void start_fetch(struct dns_resolver_loop *l, struct dns_fetch *f)
{
	f->loop = l;
	f->done = false;
	f->oprev = NULL;
	f->onext = l->outstanding;
	if (l->outstanding)
		l->outstanding->oprev = f;
	l->outstanding = f;
	getdns_transaction_t tid;
	getdns_return_t r = getdns_general(l->ctx, f->name, f->type, NULL, f, &tid, query_cb);
	if (r != GETDNS_RETURN_GOOD && !f->done) {
		log_debug("dns", "getdns_general failed", "name=%s type=%u err=%d", f->name, f->type, (int)r);
		outstanding_unlink(l, f);
		f->answer = dns_answer_new(DNS_FETCH_ERROR);
		push_done(l, f);
	}
}

static void efd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver_loop *l = arg;
	uint64_t v;
	if (read(l->efd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_error("dns", "eventfd read failed", "err=%d", errno);
	if (atomic_load(&l->stop)) {
		event_base_loopbreak(l->base);
		return;
	}
	pthread_mutex_lock(&l->mu);
	struct dns_fetch *f = l->in_head;
	l->in_head = l->in_tail = NULL;
	pthread_mutex_unlock(&l->mu);
	while (f) {
		struct dns_fetch *next = f->next;
		start_fetch(l, f);
		f = next;
	}
}

/* ---- the thread ---- */

static int context_setup(struct dns_resolver_loop *l)
{
	if (getdns_context_create(&l->ctx, 0) != GETDNS_RETURN_GOOD) {
		l->ctx = NULL;
		snprintf(l->err, sizeof l->err, "getdns_context_create failed");
		return -1;
	}
	getdns_list *ups = getdns_list_create();
	for (size_t i = 0; i < l->o.nservers; i++) {
		const struct dns_upstream *u = &l->servers[i];
		getdns_dict *d = getdns_dict_create();
		getdns_bindata addr = {u->family == AF_INET ? 4 : 16, (uint8_t *)u->addr};
		getdns_dict_util_set_string(d, "address_type", u->family == AF_INET ? "IPv4" : "IPv6");
		getdns_dict_set_bindata(d, "address_data", &addr);
		getdns_dict_set_int(d, "port", u->port);
		getdns_list_set_dict(ups, i, d);
		getdns_dict_destroy(d);
	}
	getdns_return_t r = getdns_context_set_resolution_type(l->ctx, GETDNS_RESOLUTION_STUB);
	if (!r)
		r = getdns_context_set_upstream_recursive_servers(l->ctx, ups);
	getdns_list_destroy(ups);
	if (!r)
		r = getdns_context_set_timeout(l->ctx, (uint64_t)l->o.timeout_ms);
	if (!r)
		r = getdns_context_set_edns_do_bit(l->ctx, 1); /* ask for AD; never validate here */
	if (!r)
		r = getdns_context_set_append_name(l->ctx, GETDNS_APPEND_NAME_NEVER);
	if (!r)
		r = getdns_extension_set_libevent_base(l->ctx, l->base);
	if (r) {
		snprintf(l->err, sizeof l->err, "getdns context setup failed: %s", getdns_get_errorstr_by_id(r));
		return -1;
	}
	return 0;
}

static void set_ready(struct dns_resolver_loop *l, int v)
{
	pthread_mutex_lock(&l->mu);
	l->ready = v;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void *loop_main(void *arg)
{
	struct dns_resolver_loop *l = arg;
	l->base = event_base_new();
	if (!l->base) {
		snprintf(l->err, sizeof l->err, "event_base_new failed");
		set_ready(l, -1);
		return NULL;
	}
	if (context_setup(l) != 0) {
		if (l->ctx)
			getdns_context_destroy(l->ctx);
		event_base_free(l->base);
		set_ready(l, -1);
		return NULL;
	}
	l->efd_ev = event_new(l->base, l->efd, EV_READ | EV_PERSIST, efd_cb, l);
	event_add(l->efd_ev, NULL);
	set_ready(l, 1);
	event_base_dispatch(l->base);
	/* Stopping: getdns may or may not call back for cancelled queries; whatever it
	 * leaves outstanding is answered as an error by dns_resolver_loop_stop(). */
	getdns_context_destroy(l->ctx);
	event_free(l->efd_ev);
	event_base_free(l->base);
	return NULL;
}

struct dns_resolver_loop *dns_resolver_loop_start(const struct dns_resolver_loop_opts *o, char *err, size_t errlen)
{
	if (o->nservers == 0 || o->nservers > DNS_UPSTREAM_MAX) {
		snprintf(err, errlen, "need 1 to %d resolvers", DNS_UPSTREAM_MAX);
		return NULL;
	}
	struct dns_resolver_loop *l = xcalloc(1, sizeof *l);
	l->o = *o;
	memcpy(l->servers, o->servers, o->nservers * sizeof *o->servers);
	l->o.servers = l->servers;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		snprintf(err, errlen, "pthread_create failed");
		close(l->efd);
		free(l);
		return NULL;
	}
	pthread_setname_np(l->thread, "tern-getdns");
	pthread_mutex_lock(&l->mu);
	while (l->ready == 0)
		pthread_cond_wait(&l->cv, &l->mu);
	int ready = l->ready;
	pthread_mutex_unlock(&l->mu);
	if (ready < 0) {
		pthread_join(l->thread, NULL);
		snprintf(err, errlen, "%s", l->err);
		close(l->efd);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		free(l);
		return NULL;
	}
	return l;
}

static void kick(struct dns_resolver_loop *l)
{
	uint64_t one = 1;
	if (write(l->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_error("dns", "eventfd write failed", "err=%d", errno);
}

void dns_resolver_loop_submit(struct dns_resolver_loop *l, struct dns_fetch *f)
{
	f->next = NULL;
	f->answer = NULL;
	pthread_mutex_lock(&l->mu);
	bool was_empty = !l->in_head;
	if (l->in_tail)
		l->in_tail->next = f;
	else
		l->in_head = f;
	l->in_tail = f;
	pthread_mutex_unlock(&l->mu);
	if (was_empty) /* otherwise a kick is already on its way and the loop takes the whole queue */
		kick(l);
}

struct dns_fetch *dns_resolver_loop_take_done(struct dns_resolver_loop *l)
{
	pthread_mutex_lock(&l->mu);
	struct dns_fetch *f = l->done_head;
	l->done_head = l->done_tail = NULL;
	l->wake_pending = false;
	pthread_mutex_unlock(&l->mu);
	return f;
}

struct dns_fetch *dns_resolver_loop_stop(struct dns_resolver_loop *l)
{
	atomic_store(&l->stop, true);
	kick(l);
	pthread_join(l->thread, NULL);
	/* The thread is gone: its lists are ours now. */
	struct dns_fetch *out = dns_resolver_loop_take_done(l), **tail = &out;
	while (*tail)
		tail = &(*tail)->next;
	struct dns_fetch *lists[2] = {l->in_head, l->outstanding};
	for (int k = 0; k < 2; k++) {
		for (struct dns_fetch *f = lists[k], *next; f; f = next) {
			next = k == 0 ? f->next : f->onext;
			f->answer = dns_answer_new(DNS_FETCH_ERROR);
			f->next = NULL;
			*tail = f;
			tail = &f->next;
		}
	}
	close(l->efd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
	return out;
}
