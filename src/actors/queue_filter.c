/* Record filters for queue and retired listings and operations (queue.md §7, §8).
 *
 * DESIGN: a filter is plain data, so the control thread (listings) and the
 * queue actor (operations) use the same matching. Relative times are resolved
 * once per listing or operation, so a long operation sees one "now". */
#include "actors/queue_filter.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf_duration.h"
#include "core/buf.h"
#include "core/xmalloc.h"

/* Most ids one -ids flag may list. */
#define QUEUE_FILTER_IDS_MAX 100000

void queue_filter_init(struct queue_filter *f)
{
	memset(f, 0, sizeof *f);
	f->hold = -1;
	f->success = -1;
}

void queue_filter_free(struct queue_filter *f)
{
	free(f->ids);
	free(f->account);
	free(f->from);
	free(f->to);
	free(f->transport);
	queue_filter_init(f);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void queue_filter_copy(struct queue_filter *dst, const struct queue_filter *src)
{
	*dst = *src;
	dst->ids = src->nids ? xmemdup(src->ids, src->nids * sizeof *src->ids) : NULL;
	dst->account = dup_or_null(src->account);
	dst->from = dup_or_null(src->from);
	dst->to = dup_or_null(src->to);
	dst->transport = dup_or_null(src->transport);
}

int queue_filter_parse_time(const char *s, struct queue_filter_time *t)
{
	if (!s || (s[0] != '<' && s[0] != '>'))
		return -1;
	int64_t d = 0;
	if (strcmp(s + 1, "now") != 0 && conf_duration_parse(s + 1, &d) != 0)
		return -1;
	t->op = s[0];
	t->dur_ms = d;
	t->at_ms = 0;
	return 0;
}

int queue_filter_parse_ids(const char *s, struct queue_filter *f)
{
	size_t cap = 8, n = 0;
	uint64_t *v = xmalloc(cap * sizeof *v);
	const char *p = s;
	while (*p) {
		char *end;
		if (*p < '0' || *p > '9')
			goto bad;
		unsigned long long x = strtoull(p, &end, 10);
		if (x == 0 || (*end && *end != ',') || n == QUEUE_FILTER_IDS_MAX)
			goto bad;
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		v[n++] = x;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			goto bad; /* trailing comma */
	}
	if (n == 0)
		goto bad;
	free(f->ids);
	f->ids = v;
	f->nids = n;
	return 0;
bad:
	free(v);
	return -1;
}

static void resolve(struct queue_filter_time *t, int64_t now, int sign)
{
	if (t->op)
		t->at_ms = now + sign * t->dur_ms;
}

void queue_filter_resolve(struct queue_filter *f, int64_t now_ms, bool retired)
{
	resolve(&f->submitted, now_ms, -1);
	resolve(&f->next, now_ms, retired ? -1 : 1);
}

bool queue_filter_has_id(const struct queue_filter *f, uint64_t id)
{
	if (!f->ids)
		return true;
	for (size_t i = 0; i < f->nids; i++)
		if (f->ids[i] == id)
			return true;
	return false;
}

static bool time_ok(const struct queue_filter_time *t, int64_t v)
{
	if (!t->op)
		return true;
	return t->op == '<' ? v < t->at_ms : v > t->at_ms;
}

void queue_filter_addr(struct buf *out, const char *localpart, const char *domain)
{
	bool lp = localpart && *localpart, dom = domain && *domain;
	if (lp)
		buf_puts(out, localpart);
	if (lp || dom)
		buf_putc(out, '@');
	if (dom)
		buf_puts(out, domain);
	buf_cstr(out);
}

static bool addr_contains(const char *lp, const char *dom, const char *sub)
{
	if (!sub)
		return true;
	struct buf a;
	buf_init(&a);
	queue_filter_addr(&a, lp, dom);
	bool ok = strcasestr(buf_cstr(&a), sub) != NULL;
	buf_free(&a);
	return ok;
}

static bool common_match(const struct queue_filter *f, const struct store_queue_rec *r)
{
	if (!queue_filter_has_id(f, (uint64_t)r->id))
		return false;
	if (f->account && strcmp(f->account, r->sender_account ? r->sender_account : "") != 0)
		return false;
	if (!time_ok(&f->submitted, r->queued))
		return false;
	if (f->transport && strcmp(f->transport, r->transport ? r->transport : "") != 0)
		return false;
	return addr_contains(r->sender_localpart, r->sender_domain, f->from) &&
	       addr_contains(r->recipient_localpart, r->recipient_domain, f->to);
}

bool queue_filter_match(const struct queue_filter *f, const struct store_queue_rec *r)
{
	if (f->hold >= 0 && (int)r->hold != f->hold)
		return false;
	if (!time_ok(&f->next, r->next_attempt))
		return false;
	return common_match(f, r);
}

bool queue_filter_match_retired(const struct queue_filter *f, const struct store_retired_rec *r)
{
	if (f->success >= 0 && (int)r->success != f->success)
		return false;
	if (!time_ok(&f->next, r->last_activity))
		return false;
	return common_match(f, &r->q);
}
