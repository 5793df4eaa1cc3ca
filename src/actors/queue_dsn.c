/* DSNs about outgoing mail (queue.md §5): composed from queue records and
 * results, stored as new message data in the caller's batch, delivered into
 * the sender account's mailbox through the mailbox store.
 *
 * DESIGN: DSNs are never mailed. The DSN bytes go into the same batch as the
 * record changes that caused them (new msgdata with one reference, owned by
 * the mailbox entry), and the batch is committed by the mailbox store actor
 * together with the mailbox entry: a DSN exists exactly when its cause was
 * recorded. Where it goes: the Inbox of SenderAccount; Postmaster.Account /
 * Postmaster.Mailbox when that account is gone; `<Postmaster.Mailbox>/dmarc`,
 * seen, for failed DMARC reports. A null sender's records have the postmaster
 * as SenderAccount, so their notices land in the postmaster's Inbox. */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_lookup.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/dsn.h"
#include "store/store_msgdata.h"

/* Whether the comma-separated NOTIFY list has word w. */
static bool notify_has(const char *notify, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = notify; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncasecmp(p, w, n) == 0)
			return true;
		p = e ? e + 1 : p + len;
	}
	return false;
}

bool queue_dsn_wanted(const char *notify, int kind)
{
	bool empty = !notify || !*notify;
	if (!empty && notify_has(notify, "NEVER"))
		return false;
	switch (kind) {
	case DSN_FAILED:
		return empty || notify_has(notify, "FAILURE");
	case DSN_DELAYED:
		return empty || notify_has(notify, "DELAY");
	case DSN_RELAYED:
		return !empty && notify_has(notify, "SUCCESS");
	default:
		return false;
	}
}

/* Appends the original message (prefix + data) to out: all of it when full, else until the end
 * of its header section (at most QUEUE_HEADERS_MAX). Returns 0 or a negative errno. */
static int read_original(struct queue *q, const struct store_queue_rec *r, bool full, struct buf *out)
{
	buf_append(out, r->msg_prefix.p, r->msg_prefix.len);
	if (full)
		return store_msgdata_read_all(q->s, r->data_id, out, DSN_FULL_MAX + 1) < 0 ? -EIO : 0;
	for (uint32_t chunk = 0;; chunk++) {
		size_t before = out->len;
		int rc = store_msgdata_read(q->s, r->data_id, chunk, out);
		if (rc == -ENOENT)
			return chunk == 0 ? -ENOENT : 0;
		if (rc)
			return rc;
		size_t from = before > 3 ? before - 3 : 0;
		if (memmem(out->p + from, out->len - from, "\r\n\r\n", 4) || out->len > QUEUE_HEADERS_MAX)
			return 0;
	}
}

/* Where a DSN about r goes. */
static void destination(struct queue *q, const struct store_queue_rec *r, const struct conf_domains *dc,
                        const char **account, char **mailbox, uint64_t *flags)
{
	const struct conf_postmaster *pm = &q->st->postmaster;
	const struct conf_account *acc = dc && r->sender_account ? conf_account_get(dc, r->sender_account) : NULL;
	*flags = STORE_MF_DSN;
	if (r->is_dmarc_report) {
		*account = pm->account;
		*mailbox = xasprintf("%s/dmarc", pm->mailbox ? pm->mailbox : "Inbox");
		*flags |= STORE_MF_SEEN;
	} else if (acc) {
		*account = acc->name;
		*mailbox = xstrdup("Inbox");
	} else {
		*account = pm->account;
		*mailbox = xstrdup(pm->mailbox ? pm->mailbox : "Inbox");
	}
}

/* The remaining schedule after r's current attempt (delayed DSNs). */
static int64_t *remaining(struct queue *q, const struct store_queue_rec *r, size_t *n)
{
	int max = queue_max_attempts(q, r);
	*n = max > r->attempts ? (size_t)(max - r->attempts) : 0;
	int64_t *t = xmalloc((*n ? *n : 1) * sizeof *t);
	for (size_t i = 0; i < *n; i++)
		t[i] = i == 0 ? r->next_attempt : t[i - 1] + queue_interval(q, r->attempts + (int)i);
	return t;
}

/* Stores bytes as a new message data object with one reference; returns its id. */
static uint64_t put_data(struct queue *q, struct store_batch *b, const struct buf *msg)
{
	uint64_t id = store_next_id(q->s);
	uint32_t chunks = 0;
	for (size_t off = 0; off < msg->len || chunks == 0; off += STORE_CHUNK_SIZE) {
		size_t n = msg->len - off < STORE_CHUNK_SIZE ? msg->len - off : STORE_CHUNK_SIZE;
		store_msgdata_put(b, id, chunks++, slice_of(msg->p + off, n));
	}
	struct store_datameta meta = {.size = (int64_t)msg->len, .chunks = (int32_t)chunks, .refs = 1};
	store_msgdata_commit(b, id, &meta);
	return id;
}

static void add_delivery(struct mailbox_deliveries **mb, const char *account, char *mailbox, uint64_t data_id,
                         int64_t size, uint64_t flags, struct buf *prefix)
{
	if (!*mb)
		*mb = mailbox_deliveries_new(0);
	struct mailbox_deliveries *l = *mb;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	struct mailbox_delivery *d = &l->v[l->n++];
	memset(d, 0, sizeof *d);
	d->account = xstrdup(account ? account : "");
	d->mailbox = mailbox;
	d->data_id = data_id;
	d->size = size;
	d->flags = flags;
	d->prefix = *prefix;
	buf_init(prefix);
}

int queue_dsn_make(struct queue *q, struct store_batch *b, struct mailbox_deliveries **mb, int kind,
                   const struct queue_dsn_rcpt *rcpts, size_t n, int64_t now, const struct conf_domains *dc)
{
	const struct store_queue_rec *r0 = rcpts[0].r;
	const char *host = q->st->hostname;
	bool full = r0->ret && strcasecmp(r0->ret, "FULL") == 0 && (uint64_t)r0->size <= DSN_FULL_MAX &&
	            r0->require_tls != 1;
	struct buf orig, from, out, prefix;
	buf_init(&orig);
	buf_init(&from);
	buf_init(&out);
	buf_init(&prefix);
	if (read_original(q, r0, full, &orig) != 0)
		log_error("queue", "original message data unreadable for a DSN; headers left out", "id=%lld",
		          (long long)r0->id);
	queue_filter_addr(&from, r0->sender_localpart, r0->sender_domain);
	struct dsn_rcpt *dr = xcalloc(n, sizeof *dr);
	struct buf *addrs = xcalloc(n, sizeof *addrs);
	struct slice **replies = xcalloc(n, sizeof *replies);
	for (size_t i = 0; i < n; i++) {
		const struct store_queue_rec *r = rcpts[i].r;
		const struct queue_result *res = rcpts[i].res;
		buf_init(&addrs[i]);
		queue_filter_addr(&addrs[i], r->recipient_localpart, r->recipient_domain);
		dr[i].recipient = buf_cstr(&addrs[i]);
		dr[i].orcpt = r->orcpt && *r->orcpt ? r->orcpt : NULL;
		dr[i].error = rcpts[i].error && *rcpts[i].error ? rcpts[i].error : NULL;
		dr[i].last_attempt_ms = r->last_attempt;
		if (res) {
			dr[i].code = res->code;
			dr[i].secode = res->secode && *res->secode ? res->secode : NULL;
			dr[i].remote_host = res->host && *res->host ? res->host : NULL;
			dr[i].remote_ip = res->ip && *res->ip ? res->ip : NULL;
			replies[i] = xcalloc(res->nreply ? res->nreply : 1, sizeof **replies);
			for (size_t j = 0; j < res->nreply; j++)
				replies[i][j] = slice_str(res->reply[j]);
			dr[i].reply = replies[i];
			dr[i].nreply = res->nreply;
		}
	}
	size_t nnext = 0;
	int64_t *next = kind == DSN_DELAYED ? remaining(q, r0, &nnext) : NULL;
	struct dsn_msg m = {
		.kind = kind, .hostname = host, .now_ms = now, .mail_from = buf_cstr(&from),
		.message_id = r0->message_id && *r0->message_id ? r0->message_id : NULL, .arrival_ms = r0->queued,
		.envid = r0->env_id && *r0->env_id ? r0->env_id : NULL, .ret_full = full, .smtputf8 = r0->smtputf8,
		.requiretls = r0->require_tls == 1,
		.future_release = r0->future_release_request && *r0->future_release_request ? r0->future_release_request : NULL,
		.original = buf_slice(&orig), .original_size = (uint64_t)(r0->size > 0 ? r0->size : 0),
		.next_attempts_ms = next, .nnext = nnext, .rcpts = dr, .nrcpts = n,
	};
	int rc = dsn_compose(&m, dsn_needs_utf8(&m), &out);
	if (rc == 0) {
		const char *account;
		char *mailbox;
		uint64_t flags;
		destination(q, r0, dc, &account, &mailbox, &flags);
		buf_printf(&prefix, "Return-Path: <postmaster@%s>\r\nDelivered-To: <%s>\r\n", host,
		           from.len ? buf_cstr(&from) : "");
		if (!from.len) {
			prefix.len = 0;
			buf_printf(&prefix, "Return-Path: <postmaster@%s>\r\nDelivered-To: <postmaster@%s>\r\n", host, host);
		}
		uint64_t did = put_data(q, b, &out);
		int64_t size = (int64_t)(prefix.len + out.len);
		add_delivery(mb, account, mailbox, did, size, flags, &prefix);
	}
	for (size_t i = 0; i < n; i++) {
		buf_free(&addrs[i]);
		free(replies[i]);
	}
	free(addrs);
	free(replies);
	free(dr);
	free(next);
	buf_free(&orig);
	buf_free(&from);
	buf_free(&out);
	buf_free(&prefix);
	return rc == 0 ? 0 : -EINVAL;
}
