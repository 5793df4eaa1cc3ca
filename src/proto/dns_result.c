/* DNS answers and their classification (see dns_result.h).
 *
 * DESIGN: an answer is the parsed answer section of one reply plus the few
 * header facts Tern uses (rcode, AD from a trusted resolver, the SOA's negative
 * TTL). Classification never trusts the upstream to have chased CNAMEs: the
 * chase walks the CNAMEs present in the answer from the name asked, counting
 * every name visited across follow-up queries, so a loop or a chain longer than
 * DNS_CNAME_MAX ends the lookup however the upstream split it. A chain that ends
 * without records and without NXDOMAIN is asked again for its last name
 * (an authoritative-only upstream does not chase out of its zones); NODATA is
 * only concluded from an answer that holds no CNAME for the name asked. */
#include "proto/dns_result.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

static const char *const status_names[DNS_STATUS_COUNT] = {
	[DNS_OK] = "ok",           [DNS_NXDOMAIN] = "nxdomain", [DNS_NODATA] = "nodata",
	[DNS_NULLMX] = "nullmx",   [DNS_SERVFAIL] = "servfail", [DNS_TIMEOUT] = "timeout",
	[DNS_CNAME_LOOP] = "cname_loop", [DNS_BADNAME] = "badname", [DNS_OVERLOAD] = "overload",
};

const char *dns_status_name(uint64_t st)
{
	return st < DNS_STATUS_COUNT ? status_names[st] : "?";
}

bool dns_status_is_temp(uint64_t st)
{
	return st == DNS_SERVFAIL || st == DNS_TIMEOUT || st == DNS_CNAME_LOOP || st == DNS_OVERLOAD;
}

/* ---- answers ---- */

struct dns_answer *dns_answer_new(int fetch)
{
	struct dns_answer *a = xcalloc(1, sizeof *a);
	a->refs = 1;
	a->fetch = fetch;
	return a;
}

struct dns_rr *dns_answer_add(struct dns_answer *a)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->rr = xrealloc(a->rr, a->cap * sizeof *a->rr);
	}
	struct dns_rr *r = &a->rr[a->n++];
	memset(r, 0, sizeof *r);
	return r;
}

struct dns_answer *dns_answer_ref(struct dns_answer *a)
{
	a->refs++;
	return a;
}

void dns_answer_unref(struct dns_answer *a)
{
	if (!a || --a->refs > 0)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->rr[i].owner);
		free(a->rr[i].target);
		free(a->rr[i].txt);
	}
	free(a->rr);
	free(a);
}

uint32_t dns_answer_cache_ttl(const struct dns_answer *a, uint32_t max_s)
{
	if (a->fetch != DNS_FETCH_REPLY || (a->rcode != 0 && a->rcode != 3))
		return 0;
	/* An SOA in the reply means a negative answer (a CNAME chain may precede it). */
	uint32_t ttl = a->neg_ttl ? a->neg_ttl : (a->n ? UINT32_MAX : DNS_NEG_TTL_DEFAULT);
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].ttl < ttl)
			ttl = a->rr[i].ttl;
	return ttl < max_s ? ttl : max_s;
}

/* ---- names ---- */

static bool name_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '/';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int dns_name_norm(struct slice in, char *out)
{
	size_t n = in.len;
	if (n > 0 && in.p[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX)
		return -1;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in.p[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!name_char_ok(c) || ++label > 63) {
			return -1;
		}
		out[i] = (char)lower(c);
	}
	if (label == 0)
		return -1;
	out[n] = 0;
	return 0;
}

int dns_name_from_wire(const uint8_t *p, size_t n, char *out)
{
	size_t i = 0, o = 0;
	for (;;) {
		if (i >= n)
			return -1;
		uint8_t len = p[i++];
		if (len == 0)
			break;
		if (len > 63 || i + len > n) /* compression pointers never reach us: malformed */
			return -1;
		if (o + (o ? 1 : 0) + len > DNS_NAME_MAX)
			return -1;
		if (o)
			out[o++] = '.';
		for (uint8_t k = 0; k < len; k++) {
			uint8_t c = p[i + k];
			if (!name_char_ok(c))
				return -1;
			out[o++] = (char)lower(c);
		}
		i += len;
	}
	out[o] = 0;
	return (int)i;
}

bool dns_name_is_ip(const char *name)
{
	uint8_t buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int dns_name_reverse(const uint8_t *ip, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	if (len == 4) {
		snprintf(out, DNS_NAME_MAX + 1, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
		return 0;
	}
	if (len != 16)
		return -1;
	char *o = out;
	for (int i = 15; i >= 0; i--) {
		*o++ = hex[ip[i] & 15];
		*o++ = '.';
		*o++ = hex[ip[i] >> 4];
		*o++ = '.';
	}
	strcpy(o, "ip6.arpa");
	return 0;
}

/* ---- chasing ---- */

void dns_chase_init(struct dns_chase *c, const char *name)
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->seen[0], sizeof c->seen[0], "%s", name);
	c->nseen = 1;
	c->secure = true;
}

static const struct dns_rr *find_rr(const struct dns_answer *a, const char *owner, uint16_t type)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].type == type && strcmp(a->rr[i].owner, owner) == 0)
			return &a->rr[i];
	return NULL;
}

/* Follows one CNAME from c->name; 1 followed, 0 none, -1 loop or too long. */
static int chase_cname(struct dns_chase *c, const struct dns_answer *a)
{
	const struct dns_rr *r = find_rr(a, c->name, DNS_T_CNAME);
	if (!r)
		return 0;
	if (c->nseen > DNS_CNAME_MAX || r->target[0] == 0)
		return -1;
	for (int i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i], r->target) == 0)
			return -1;
	snprintf(c->seen[c->nseen++], sizeof c->seen[0], "%s", r->target);
	snprintf(c->name, sizeof c->name, "%s", r->target);
	return 1;
}

int dns_chase_step(struct dns_chase *c, const struct dns_answer *a, uint16_t qtype, enum dns_status *st)
{
	c->answers++;
	c->secure = c->secure && a->ad;
	switch (a->fetch) {
	case DNS_FETCH_REPLY: break;
	case DNS_FETCH_TIMEOUT: *st = DNS_TIMEOUT; return DNS_CHASE_DONE;
	case DNS_FETCH_OVERLOAD: *st = DNS_OVERLOAD; return DNS_CHASE_DONE;
	default: *st = DNS_SERVFAIL; return DNS_CHASE_DONE;
	}
	if (a->rcode != 0 && a->rcode != 3) {
		*st = DNS_SERVFAIL;
		return DNS_CHASE_DONE;
	}
	int followed = 0, r;
	/* Each pass consumes one CNAME; the loop is bounded by the answer size. */
	for (size_t pass = 0; pass <= a->n && (r = chase_cname(c, a)) != 0; pass++) {
		if (r < 0) {
			*st = DNS_CNAME_LOOP;
			return DNS_CHASE_DONE;
		}
		followed++;
	}
	if (qtype != DNS_T_CNAME && find_rr(a, c->name, qtype)) {
		*st = DNS_OK;
		return DNS_CHASE_DONE;
	}
	if (a->rcode == 3) {
		*st = DNS_NXDOMAIN;
		return DNS_CHASE_DONE;
	}
	if (followed)
		return DNS_CHASE_MORE;
	*st = DNS_NODATA;
	return DNS_CHASE_DONE;
}

/* ---- shaping replies ---- */

uint64_t dns_result_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int mx_cmp(const void *x, const void *y)
{
	const struct dns_mx *a = x, *b = y;
	return (int)a->pref - (int)b->pref;
}

enum dns_status dns_result_mx(const struct dns_answer *a, const char *name, struct dns_mx *out,
                              size_t max, size_t *n, size_t *ignored, uint64_t *rng)
{
	size_t total = 0, k = 0, ign = 0, roots = 0;
	struct dns_mx *all = xcalloc(a->n + 1, sizeof *all);
	for (size_t i = 0; i < a->n; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (r->type != DNS_T_MX || strcmp(r->owner, name) != 0)
			continue;
		total++;
		if (r->target[0] == 0)
			roots++;
		else if (dns_name_is_ip(r->target))
			ign++;
		else
			all[k++] = (struct dns_mx){r->target, r->pref};
	}
	*n = 0;
	*ignored = ign + (total > 1 ? roots : 0);
	if (total == 1 && roots == 1) {
		free(all);
		return DNS_NULLMX;
	}
	/* qsort is not stable, but equal preferences are shuffled anyway. */
	qsort(all, k, sizeof *all, mx_cmp);
	for (size_t i = 0; i < k;) {
		size_t j = i;
		while (j < k && all[j].pref == all[i].pref)
			j++;
		for (size_t m = j - i; m > 1; m--) { /* Fisher-Yates over all[i..j) */
			size_t pick = (size_t)(dns_result_rand(rng) % m);
			struct dns_mx t = all[i + m - 1];
			all[i + m - 1] = all[i + pick];
			all[i + pick] = t;
		}
		i = j;
	}
	*n = k < max ? k : max;
	memcpy(out, all, *n * sizeof *out);
	free(all);
	return DNS_OK;
}

size_t dns_result_addrs(const struct dns_answer *a, const char *name, uint16_t qtype, struct buf *out, size_t max)
{
	size_t added = 0;
	for (size_t i = 0; i < a->n && out->len / 16 < max; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (r->type != qtype || strcmp(r->owner, name) != 0)
			continue;
		uint8_t v6[16] = {0};
		if (qtype == DNS_T_A) {
			v6[10] = v6[11] = 0xff;
			memcpy(v6 + 12, r->addr, 4);
		} else {
			memcpy(v6, r->addr, 16);
		}
		buf_append(out, v6, 16);
		added++;
	}
	return added;
}

size_t dns_result_texts(const struct dns_answer *a, const char *name, struct slice *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n && k < max; i++)
		if (a->rr[i].type == DNS_T_TXT && strcmp(a->rr[i].owner, name) == 0)
			out[k++] = slice_of(a->rr[i].txt, a->rr[i].txtlen);
	return k;
}

size_t dns_result_names(const struct dns_answer *a, const char *name, struct slice *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n && k < max; i++)
		if (a->rr[i].type == DNS_T_PTR && strcmp(a->rr[i].owner, name) == 0 && a->rr[i].target[0])
			out[k++] = slice_str(a->rr[i].target);
	return k;
}
