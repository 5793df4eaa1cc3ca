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
 * commit has answered, the table is dropped and reloaded from the store. */
#include "actors/mailbox_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

struct parked {
	uint64_t from, req_id;
	struct store_batch *batch;
	struct mailbox_deliveries *list;
	struct parked *next;
};

struct pending {
	uint64_t from, req_id;
};

struct mailbox_store {
	struct actor a;
	struct store *s;
	uint64_t committer;
	struct mbox *buckets[MAILBOX_BUCKETS];
	uint64_t next_req;
	struct queue_idmap pending; /* req -> struct pending */
	bool stopping;              /* stop once no commit is outstanding */
	bool reload;                /* a commit failed: reload the table once none is outstanding */
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
		m->r.uidnext++;
		m->dirty = true;
		touched[i] = m;
	}
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

static void deliver(struct mailbox_store *ms, uint64_t from, uint64_t req_id, struct store_batch *b,
                    struct mailbox_deliveries *l)
{
	if (ms->reload && ms->pending.n > 0) {
		struct parked *p = xcalloc(1, sizeof *p);
		*p = (struct parked){from, req_id, b, l, NULL};
		*ms->parked_tail = p;
		ms->parked_tail = &p->next;
		return;
	}
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
	mailbox_deliveries_free(l);
	if (rc != 0) {
		log_error("mailbox", "cannot add mailbox entries", "err=%d", rc);
		reply(ms, from, req_id, rc, "cannot add mailbox entries");
		store_batch_free(b);
		return;
	}
	uint64_t req = ++ms->next_req;
	struct pending *p = xcalloc(1, sizeof *p);
	p->from = from;
	p->req_id = req_id;
	queue_idmap_put(&ms->pending, req, p);
	struct store_commit_req c = {.batch = b};
	if (STORE_MSG_COMMIT_REQ_send(ms->committer, &ms->a, &c, &(struct actor_send_opts){.req_id = req, .force = true}) != 0) {
		store_batch_free(b);
		struct store_commit_res res = {.code = -EIO, .error = slice_str("commit request not sent")};
		STORE_MSG_COMMIT_RES_send(ms->a.id, &ms->a, &res, &(struct actor_send_opts){.req_id = req, .force = true});
	}
}

static void deliver_req(struct actor *self, const struct msg *m, const struct mailbox_deliver_req *p)
{
	deliver((struct mailbox_store *)self, m->from, m->req_id, p->batch, p->list);
}

static void commit_res(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	struct mailbox_store *ms = (struct mailbox_store *)self;
	struct pending *pd = queue_idmap_del(&ms->pending, m->req_id);
	if (!pd)
		return;
	if (p->code != 0)
		ms->reload = true;
	struct store_commit_res res = *p;
	if (pd->from)
		MAILBOX_MSG_DELIVER_RES_send(pd->from, &ms->a, &res,
		                             &(struct actor_send_opts){.req_id = pd->req_id, .force = true});
	free(pd);
	while (ms->pending.n == 0 && ms->parked) {
		struct parked *pk = ms->parked;
		ms->parked = pk->next;
		if (!ms->parked)
			ms->parked_tail = &ms->parked;
		deliver(ms, pk->from, pk->req_id, pk->batch, pk->list);
		free(pk);
	}
	if (ms->stopping && ms->pending.n == 0)
		actor_stop(&ms->a);
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
