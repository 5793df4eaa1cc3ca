/* The mailbox store actor: the only writer of mailbox entries and their uid
 * counters (accounts column family).
 *
 * DESIGN: mailboxes are found by (account, name) in an in-memory table filled
 * on first use from the `b` key (docs/store.md: a versioned record with the
 * mailbox id, UIDVALIDITY and UIDNEXT); a missing one is created with a new
 * id. Uids come from that in-memory counter and the new UIDNEXT is written in
 * the same batch as the entries, so entries and counter commit together.
 * Batches go to the committer in the order their uids were assigned, and the
 * committer keeps that order, so uids become visible in increasing order. If a
 * commit fails, the in-memory counters may be ahead of (or describe mailboxes
 * missing from) the store: new requests then wait until every outstanding
 * commit has answered, the table is dropped and reloaded from the store.
 * The per-account stored-bytes counters follow the same rules (loaded on first
 * use, written in the batch of the entries that grow them, reloaded after a
 * failure). A list with queue records (DSNs about incoming mail) commits
 * through the queue, which adds its records to the batch; because that batch
 * reaches the committer later, requests arriving meanwhile are parked until it
 * has answered, so uids still become visible in order. */
#include "actors/mailbox_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "actors/queue.h"
#include "actors/queue_idmap.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_rec.h"

/* Largest IMAP uid. */
#define MAILBOX_UID_MAX 0xffffffffu
/* Buckets of the mailbox table (chained). */
#define MAILBOX_BUCKETS 4096

/** The value of an accounts `b` key: one mailbox. */
struct mailbox_rec {
	uint64_t id;
	char *name;
	uint64_t uidvalidity;
	uint64_t uidnext;
	int64_t created;
};

#define F(num, T, cap, member, name) {num, STORE_FT_##T, cap, offsetof(struct mailbox_rec, member), name, NULL}
static const struct store_field mailbox_fields[] = {
	F(1, U64, 0, id, "ID"),
	F(2, STR, STORE_CAP_NAME, name, "Name"),
	F(3, U64, 0, uidvalidity, "UIDValidity"),
	F(4, U64, 0, uidnext, "UIDNext"),
	F(5, TIME, 0, created, "Created"),
};
#undef F
static const struct store_schema mailbox_schema = {
	"mailbox", 1, sizeof(struct mailbox_rec), mailbox_fields, 5, 0,
};

struct mbox {
	char *account;
	struct mailbox_rec r;
	bool dirty;           /* changed in the batch being built */
	struct mbox *next;
};

/* An account's stored-bytes counter (MAILBOX_STORE_USAGE_COUNTER). */
struct usage {
	char *account;
	int64_t bytes;
	bool dirty;
	struct usage *next;
};

struct parked {
	uint64_t from, req_id;
	struct store_batch *batch;
	struct mailbox_deliveries *list;
	struct parked *next;
};

struct pending {
	uint64_t from, req_id;
	bool via_queue;
};

struct mailbox_store {
	struct actor a;
	struct store *s;
	uint64_t committer;
	struct mbox *buckets[MAILBOX_BUCKETS];
	struct usage *usage[MAILBOX_BUCKETS];
	uint64_t next_req;
	struct queue_idmap pending; /* req -> struct pending */
	bool stopping;              /* stop once no commit is outstanding */
	bool reload;                /* a commit failed: reload the table once none is outstanding */
	int via_queue;              /* commits outstanding through the queue: park new requests */
	struct parked *parked, **parked_tail;
};

struct mailbox_deliveries *mailbox_deliveries_new(size_t n)
{
	struct mailbox_deliveries *l = xcalloc(1, sizeof *l);
	l->v = n ? xcalloc(n, sizeof *l->v) : NULL;
	l->n = n;
	return l;
}

void mailbox_deliveries_free(struct mailbox_deliveries *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].account);
		free(l->v[i].mailbox);
		buf_free(&l->v[i].prefix);
	}
	free(l->v);
	queue_add_free(l->queue);
	free(l);
}

static uint32_t bucket(const char *account, const char *name)
{
	uint32_t h = 2166136261u;
	for (const char *p = account; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % MAILBOX_BUCKETS;
}

static void table_clear(struct mailbox_store *ms)
{
	for (int i = 0; i < MAILBOX_BUCKETS; i++) {
		struct mbox *m = ms->buckets[i];
		while (m) {
			struct mbox *next = m->next;
			free(m->account);
			store_codec_free(&mailbox_schema, &m->r);
			free(m);
			m = next;
		}
		ms->buckets[i] = NULL;
		struct usage *u = ms->usage[i];
		while (u) {
			struct usage *next = u->next;
			free(u->account);
			free(u);
			u = next;
		}
		ms->usage[i] = NULL;
	}
}

/* Reads the committed counter into *bytes (0 when absent); returns 0 or a negative errno. */
static int usage_load(struct store *s, const char *account, int64_t *bytes)
{
	struct store_key k;
	*bytes = 0;
	if (store_key_account_counter(&k, slice_str(account), slice_str(MAILBOX_STORE_USAGE_COUNTER)) != 0)
		return -EINVAL;
	struct buf v;
	buf_init(&v);
	int rc = store_get(s, STORE_CF_ACCOUNTS, store_key_slice(&k), &v);
	if (rc == 0 && v.len == 8)
		*bytes = (int64_t)be64_get(v.p);
	else if (rc == 0)
		rc = -EIO;
	buf_free(&v);
	return rc == -ENOENT ? 0 : rc;
}

int64_t mailbox_store_usage(struct store *s, const char *account)
{
	int64_t b;
	return usage_load(s, account, &b) == 0 ? b : 0;
}

/* The account's counter, loaded on first use; NULL with *err set when unreadable. */
static struct usage *usage_get(struct mailbox_store *ms, const char *account, int *err)
{
	uint32_t h = bucket(account, "");
	for (struct usage *u = ms->usage[h]; u; u = u->next)
		if (strcmp(u->account, account) == 0)
			return u;
	int64_t bytes;
	int rc = usage_load(ms->s, account, &bytes);
	if (rc != 0) {
		*err = rc;
		return NULL;
	}
	struct usage *u = xcalloc(1, sizeof *u);
	u->account = xstrdup(account);
	u->bytes = bytes;
	u->next = ms->usage[h];
	ms->usage[h] = u;
	return u;
}

/* Writes every changed counter into b. */
static void usage_flush(struct mailbox_store *ms, struct store_batch *b, struct usage **touched, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct usage *u = touched[i];
		if (!u || !u->dirty)
			continue;
		u->dirty = false;
		struct store_key k;
		uint8_t v[8];
		be64_put(v, (uint64_t)u->bytes);
		store_key_account_counter(&k, slice_str(u->account), slice_str(MAILBOX_STORE_USAGE_COUNTER));
		store_batch_put(b, STORE_CF_ACCOUNTS, store_key_slice(&k), slice_of(v, sizeof v));
	}
}

/* The mailbox, loaded or created. Returns NULL with *err set on failure. */
static struct mbox *mbox_get(struct mailbox_store *ms, const char *account, const char *name, int *err)
{
	uint32_t h = bucket(account, name);
	for (struct mbox *m = ms->buckets[h]; m; m = m->next)
		if (strcmp(m->account, account) == 0 && strcmp(m->r.name, name) == 0)
			return m;
	struct store_key k;
	if (!*account || !*name || store_key_mailbox(&k, slice_str(account), slice_str(name)) != 0) {
		*err = -EINVAL;
		return NULL;
	}
	struct mbox *m = xcalloc(1, sizeof *m);
	int rc = store_load(ms->s, STORE_CF_ACCOUNTS, store_key_slice(&k), &mailbox_schema, &m->r);
	if (rc == -ENOENT) {
		m->r.id = store_next_id(ms->s);
		m->r.name = xstrdup(name);
		m->r.uidvalidity = (uint64_t)(clock_wall_ms() / 1000) & MAILBOX_UID_MAX;
		m->r.uidnext = 1;
		m->r.created = clock_wall_ms();
		m->dirty = true;
	} else if (rc != 0) {
		free(m);
		*err = rc == -EBADMSG ? -EIO : rc;
		return NULL;
	}
	m->account = xstrdup(account);
	m->next = ms->buckets[h];
	ms->buckets[h] = m;
	return m;
}

static void reply(struct mailbox_store *ms, uint64_t to, uint64_t req_id, int64_t code, const char *err)
{
	if (!to)
		return;
	struct store_commit_res res = {.code = code, .error = slice_str(err ? err : "")};
	MAILBOX_MSG_DELIVER_RES_send(to, &ms->a, &res, &(struct actor_send_opts){.req_id = req_id, .force = true});
}

/* Adds the entries of l to b; returns 0 or a negative errno (then b must not be committed). */
static int add_entries(struct mailbox_store *ms, struct store_batch *b, struct mailbox_deliveries *l)
{
	int64_t now = clock_wall_ms();
	struct mbox **touched = xcalloc(l->n ? l->n : 1, sizeof *touched);
	struct usage **used = xcalloc(l->n ? l->n : 1, sizeof *used);
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		struct mailbox_delivery *d = &l->v[i];
		struct mbox *m = mbox_get(ms, d->account ? d->account : "", d->mailbox ? d->mailbox : "", &rc);
		if (!m)
			break;
		if (m->r.uidnext > MAILBOX_UID_MAX) {
			rc = -EOVERFLOW;
			break;
		}
		struct store_mailmsg e = {.account = d->account, .mailbox_id = m->r.id, .uid = m->r.uidnext,
		                          .data_id = d->data_id, .size = d->size, .received = now, .flags = d->flags,
		                          .prefix = d->prefix};
		struct store_key k;
		if (store_key_mailmsg(&k, slice_str(d->account), m->r.id, (uint32_t)m->r.uidnext) != 0 ||
		    store_batch_put_rec(b, STORE_CF_ACCOUNTS, store_key_slice(&k), &store_rec_mailmsg, &e) != 0) {
			rc = -E2BIG;
			break;
		}
		struct usage *u = usage_get(ms, d->account, &rc);
		if (!u)
			break;
		if (d->size > 0 && __builtin_add_overflow(u->bytes, d->size, &u->bytes))
			u->bytes = INT64_MAX;
		u->dirty = true;
		used[i] = u;
		m->r.uidnext++;
		m->dirty = true;
		touched[i] = m;
	}
	usage_flush(ms, b, used, l->n);
	free(used);
	for (size_t i = 0; i < l->n; i++) {
		struct mbox *m = touched[i];
		if (!m || !m->dirty)
			continue;
		m->dirty = false;
		struct store_key k;
		store_key_mailbox(&k, slice_str(m->account), slice_str(m->r.name));
		store_batch_put_rec(b, STORE_CF_ACCOUNTS, store_key_slice(&k), &mailbox_schema, &m->r);
	}
	free(touched);
	if (rc != 0)
		ms->reload = true; /* counters may have moved for entries that will not be written */
	return rc;
}

/* Hands b to the committer, or with queue records to the queue; the answer comes as
 * STORE_MSG_COMMIT_RES or QUEUE_MSG_ADD_RES with req. */
static void send_commit(struct mailbox_store *ms, uint64_t req, struct store_batch *b, struct queue_add *q)
{
	struct actor_send_opts o = {.req_id = req, .force = true};
	int rc;
	if (q) {
		uint64_t queue = queue_actor_id();
		rc = queue ? QUEUE_MSG_ADD_REQ_send(queue, &ms->a, &(struct queue_add_req){.batch = b, .recs = q}, &o)
		           : -ESRCH;
		if (rc != 0)
			queue_add_free(q);
	} else {
		rc = STORE_MSG_COMMIT_REQ_send(ms->committer, &ms->a, &(struct store_commit_req){.batch = b}, &o);
	}
	if (rc != 0) {
		store_batch_free(b);
		struct store_commit_res res = {.code = -EIO, .error = slice_str("commit request not sent")};
		STORE_MSG_COMMIT_RES_send(ms->a.id, &ms->a, &res, &o);
	}
}

static void deliver_now(struct mailbox_store *ms, uint64_t from, uint64_t req_id, struct store_batch *b,
                        struct mailbox_deliveries *l)
{
	if (ms->reload) {
		table_clear(ms);
		ms->reload = false;
	}
	if (!b || !l) {
		reply(ms, from, req_id, -EINVAL, "no batch or no list");
		store_batch_free(b);
		mailbox_deliveries_free(l);
		return;
	}
	int rc = add_entries(ms, b, l);
	struct queue_add *q = l->queue;
	l->queue = NULL;
	mailbox_deliveries_free(l);
	if (rc != 0) {
		log_error("mailbox", "cannot add mailbox entries", "err=%d", rc);
		reply(ms, from, req_id, rc, "cannot add mailbox entries");
		store_batch_free(b);
		queue_add_free(q);
		return;
	}
	uint64_t req = ++ms->next_req;
	struct pending *p = xcalloc(1, sizeof *p);
	p->from = from;
	p->req_id = req_id;
	p->via_queue = q != NULL;
	if (q)
		ms->via_queue++;
	queue_idmap_put(&ms->pending, req, p);
	send_commit(ms, req, b, q);
}

/* Whether a new request must wait: after a failure until the table can be reloaded, and
 * while a batch is on its way through the queue (uid order). */
static bool must_park(const struct mailbox_store *ms)
{
	return (ms->reload && ms->pending.n > 0) || ms->via_queue > 0;
}

static void deliver_req(struct actor *self, const struct msg *m, const struct mailbox_deliver_req *p)
{
	struct mailbox_store *ms = (struct mailbox_store *)self;
	if (must_park(ms) || ms->parked) {
		struct parked *pk = xcalloc(1, sizeof *pk);
		*pk = (struct parked){m->from, m->req_id, p->batch, p->list, NULL};
		*ms->parked_tail = pk;
		ms->parked_tail = &pk->next;
		return;
	}
	deliver_now(ms, m->from, m->req_id, p->batch, p->list);
}

/* A commit (direct or through the queue) answered. */
static void committed(struct mailbox_store *ms, uint64_t req, int64_t code, struct slice error)
{
	struct pending *pd = queue_idmap_del(&ms->pending, req);
	if (!pd)
		return;
	if (code != 0)
		ms->reload = true;
	if (pd->via_queue)
		ms->via_queue--;
	struct store_commit_res res = {.code = code, .error = error};
	if (pd->from)
		MAILBOX_MSG_DELIVER_RES_send(pd->from, &ms->a, &res,
		                             &(struct actor_send_opts){.req_id = pd->req_id, .force = true});
	free(pd);
	while (ms->parked && !must_park(ms)) {
		struct parked *pk = ms->parked;
		ms->parked = pk->next;
		if (!ms->parked)
			ms->parked_tail = &ms->parked;
		deliver_now(ms, pk->from, pk->req_id, pk->batch, pk->list);
		free(pk);
	}
	if (ms->stopping && ms->pending.n == 0)
		actor_stop(&ms->a);
}

static void commit_res(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	committed((struct mailbox_store *)self, m->req_id, p->code, p->error);
}

static void add_res(struct actor *self, const struct msg *m, const struct queue_add_res *p)
{
	committed((struct mailbox_store *)self, m->req_id, p->code, p->error);
}

static void ms_free(struct actor *self)
{
	struct mailbox_store *ms = (struct mailbox_store *)self;
	table_clear(ms);
	queue_idmap_free(&ms->pending);
	free(ms);
}

static void stop_cmd(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct mailbox_store *ms = (struct mailbox_store *)self;
	ms->stopping = true;
	if (ms->pending.n == 0)
		actor_stop(self);
}

static const struct actor_kind mailbox_kind = {
	.name = "mailbox_store",
	.free_fn = ms_free,
	.on =
		{
			ACTOR_ON(MAILBOX_MSG_DELIVER_REQ, deliver_req),
			ACTOR_ON(STORE_MSG_COMMIT_RES, commit_res),
			ACTOR_ON(QUEUE_MSG_ADD_RES, add_res),
			ACTOR_ON(CORE_MSG_STOP_CMD, stop_cmd),
		},
};

uint64_t mailbox_store_start(struct store *s, uint64_t committer, struct worker *w)
{
	struct mailbox_store *ms = xcalloc(1, sizeof *ms);
	ms->s = s;
	ms->committer = committer;
	ms->parked_tail = &ms->parked;
	actor_set_mailbox_cap(&ms->a, 1u << 20);
	return actor_spawn(&ms->a, &mailbox_kind, w ? w : worker_spawn_dedicated("tern-mailbox"));
}
