/* DKIM verification engine.
 *
 * DESIGN: dkim_verify_start does all the work that needs no DNS at once:
 * split the message, parse at most DKIM_VERIFY_SIGS_MAX signatures, check
 * times and body hashes. Signatures still alive then wait for their key, one
 * query at a time, in header order; each answer finishes one signature
 * (header hash and public-key check) and the engine asks for the next. So the
 * number of lookups, hashes and public-key operations per message is bounded
 * by DKIM_VERIFY_SIGS_MAX whatever the sender puts in the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/dkim_canon.h"
#include "proto/dkim_verify.h"

struct dkim_verify_sig {
	struct dkim_sig sig;
	bool parsed;
	size_t field;  /* index into msg fields */
	bool need_key; /* waiting for DNS */
};

struct dkim_verify {
	int64_t now_s;
	struct dkim_msg msg;
	size_t n, skipped, cur;
	struct dkim_verify_sig s[DKIM_VERIFY_SIGS_MAX];
	struct dkim_result r[DKIM_VERIFY_SIGS_MAX];
};

const char *dkim_status_name(enum dkim_status s)
{
	static const char *const names[] = {"none", "pass", "fail", "neutral", "policy", "temperror", "permerror"};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "none";
}

struct dkim_verify *dkim_verify_new(int64_t now_s)
{
	struct dkim_verify *v = xcalloc(1, sizeof *v);
	v->now_s = now_s;
	return v;
}

void dkim_verify_free(struct dkim_verify *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (v->s[i].parsed)
			dkim_sig_free(&v->s[i].sig);
	dkim_msg_free(&v->msg);
	free(v);
}

size_t dkim_verify_count(const struct dkim_verify *v)
{
	return v->n;
}

const struct dkim_result *dkim_verify_result(const struct dkim_verify *v, size_t i)
{
	return i < v->n ? &v->r[i] : NULL;
}

size_t dkim_verify_skipped(const struct dkim_verify *v)
{
	return v->skipped;
}

static void dkim_verify_set(struct dkim_result *r, enum dkim_status st, const char *reason)
{
	r->status = st;
	r->reason = reason;
}

/* The raw b= value of the field, without whitespace, for header.b. */
static void dkim_verify_bprefix(const struct dkim_field *f, const struct dkim_sig *sig, struct dkim_result *r)
{
	size_t k = 0;
	for (size_t i = sig->b_raw_start; i < sig->b_raw_end && k < DKIM_VERIFY_BPREFIX; i++) {
		uint8_t c = f->value.p[i];
		if (c > 0x20 && c < 0x7f)
			r->b_prefix[k++] = (char)c;
	}
	r->b_prefix[k] = 0;
}

static void dkim_verify_fill(struct dkim_result *r, const struct dkim_sig *sig)
{
	snprintf(r->domain, sizeof r->domain, "%s", sig->domain);
	snprintf(r->selector, sizeof r->selector, "%s", sig->selector);
	snprintf(r->auid, sizeof r->auid, "%s", sig->auid);
	snprintf(r->algo, sizeof r->algo, "%s", sig->algo_name);
	r->l = sig->l;
}

/* Everything before DNS: parse, times, body hash. Returns whether a key is needed. */
static bool dkim_verify_prepare(struct dkim_verify *v, size_t i)
{
	struct dkim_verify_sig *s = &v->s[i];
	struct dkim_result *r = &v->r[i];
	const struct dkim_field *f = &v->msg.f[s->field];
	const char *err;
	r->l = -1;
	if (dkim_sig_parse(f->value, &s->sig, &err) != 0) {
		dkim_verify_set(r, DKIM_PERMERROR, err);
		return false;
	}
	s->parsed = true;
	dkim_verify_fill(r, &s->sig);
	dkim_verify_bprefix(f, &s->sig, r);
	if (s->sig.x >= 0 && s->sig.x < v->now_s) {
		dkim_verify_set(r, DKIM_PERMERROR, "signature expired");
		return false;
	}
	if (s->sig.t > v->now_s + DKIM_VERIFY_SKEW_S) {
		dkim_verify_set(r, DKIM_PERMERROR, "signature timestamp in the future");
		return false;
	}
	uint8_t d[DKIM_DIGEST_MAX];
	struct dkim_hash *h = dkim_hash_new(s->sig.alg);
	dkim_canon_body(s->sig.body_relaxed, v->msg.body, s->sig.l, h, &r->body_len);
	dkim_hash_final(h, d);
	dkim_hash_free(h);
	if (s->sig.l >= 0 && (uint64_t)s->sig.l > r->body_len) {
		dkim_verify_set(r, DKIM_PERMERROR, "l= exceeds body length");
		return false;
	}
	if (memcmp(d, s->sig.bh.p, s->sig.bh.len) != 0) {
		dkim_verify_set(r, DKIM_FAIL, "body hash mismatch");
		return false;
	}
	if (strlen(s->sig.selector) + strlen("._domainkey.") + strlen(s->sig.domain) > MAILAUTH_NAME_MAX) {
		dkim_verify_set(r, DKIM_PERMERROR, "key name too long");
		return false;
	}
	return true;
}

/* The data-hash input: selected fields, then this field with b= emptied. */
static void dkim_verify_header_data(const struct dkim_verify *v, const struct dkim_verify_sig *s, struct buf *data)
{
	long sel[DKIM_SIG_H_MAX];
	bool *used = xcalloc(v->msg.n + 1, sizeof *used);
	used[s->field] = true; /* the signature never signs itself */
	dkim_msg_select(&v->msg, s->sig.h, s->sig.nh, sel, used);
	free(used);
	bool relaxed = s->sig.header_relaxed;
	for (size_t i = 0; i < s->sig.nh; i++)
		if (sel[i] >= 0)
			dkim_canon_header(relaxed, v->msg.f[sel[i]].name, v->msg.f[sel[i]].value, true, data);
	const struct dkim_field *f = &v->msg.f[s->field];
	struct buf self;
	buf_init(&self);
	buf_append(&self, f->name.p, (size_t)(f->value.p - f->name.p)); /* name, WSP, colon */
	size_t nlen = f->name.len, vstart = self.len;
	buf_append(&self, f->value.p, s->sig.b_raw_start);
	buf_append(&self, f->value.p + s->sig.b_raw_end, f->value.len - s->sig.b_raw_end);
	dkim_canon_header(relaxed, slice_of(self.p, nlen), slice_of(self.p + vstart, self.len - vstart), false, data);
	buf_free(&self);
}

static void dkim_verify_with_key(struct dkim_verify *v, size_t i, const struct dkim_key *key)
{
	struct dkim_verify_sig *s = &v->s[i];
	struct dkim_result *r = &v->r[i];
	r->testing = key->testing;
	if (key->p.len == 0) {
		dkim_verify_set(r, DKIM_PERMERROR, "key revoked");
		return;
	}
	if (key->kt != s->sig.kt) {
		dkim_verify_set(r, DKIM_PERMERROR, "key type does not match a=");
		return;
	}
	if ((s->sig.alg == DKIM_HASH_SHA1 && !key->sha1_ok) || (s->sig.alg == DKIM_HASH_SHA256 && !key->sha256_ok)) {
		dkim_verify_set(r, DKIM_PERMERROR, "hash not allowed by key");
		return;
	}
	const char *at = strrchr(s->sig.auid, '@');
	if (key->strict && (!at || strcasecmp(at + 1, s->sig.domain) != 0)) {
		dkim_verify_set(r, DKIM_PERMERROR, "key t=s forbids i= subdomain");
		return;
	}
	struct buf data;
	buf_init(&data);
	dkim_verify_header_data(v, s, &data);
	uint8_t d[DKIM_DIGEST_MAX];
	struct dkim_hash *h = dkim_hash_new(s->sig.alg);
	dkim_hash_update(h, data.p, data.len);
	dkim_hash_final(h, d);
	dkim_hash_free(h);
	buf_free(&data);
	int rc = dkim_crypto_verify(key->kt, buf_slice(&key->p), s->sig.alg, d, buf_slice(&s->sig.b), &r->key_bits);
	if (rc == 0)
		dkim_verify_set(r, DKIM_PASS, NULL);
	else if (rc == DKIM_CRYPTO_KEYSIZE)
		dkim_verify_set(r, DKIM_PERMERROR, "RSA key size outside 1024-4096 bits");
	else if (rc == DKIM_CRYPTO_BADKEY)
		dkim_verify_set(r, DKIM_PERMERROR, "bad public key");
	else
		dkim_verify_set(r, DKIM_FAIL, "signature verification failed");
}

/* Emits the query of the next signature waiting for its key. */
static int dkim_verify_next(struct dkim_verify *v, struct mailauth_dns_query *q)
{
	while (v->cur < v->n && !v->s[v->cur].need_key)
		v->cur++;
	if (v->cur == v->n)
		return MAILAUTH_STEP_DONE;
	const struct dkim_sig *sig = &v->s[v->cur].sig;
	q->type = MAILAUTH_DNS_TXT;
	snprintf(q->name, sizeof q->name, "%s._domainkey.%s", sig->selector, sig->domain);
	return MAILAUTH_STEP_DNS;
}

int dkim_verify_start(struct dkim_verify *v, struct slice msg, struct mailauth_dns_query *q)
{
	if (dkim_msg_parse(msg, &v->msg) != 0)
		return MAILAUTH_STEP_DONE; /* too many fields: treated as unsigned */
	for (size_t k = 0; k < v->msg.n; k++) {
		if (!slice_eq_str_nocase(v->msg.f[k].name, "DKIM-Signature"))
			continue;
		if (v->n == DKIM_VERIFY_SIGS_MAX) {
			v->skipped++;
			continue;
		}
		v->s[v->n].field = k;
		v->n++;
	}
	for (size_t i = 0; i < v->n; i++)
		v->s[i].need_key = dkim_verify_prepare(v, i);
	v->cur = 0;
	return dkim_verify_next(v, q);
}

int dkim_verify_answer(struct dkim_verify *v, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q)
{
	if (v->cur >= v->n)
		return MAILAUTH_STEP_DONE;
	size_t i = v->cur;
	struct dkim_result *r = &v->r[i];
	v->s[i].need_key = false;
	if (a->status == MAILAUTH_DNS_TEMPFAIL) {
		dkim_verify_set(r, DKIM_TEMPERROR, "key lookup failed");
	} else if (a->status != MAILAUTH_DNS_OK || a->nrr == 0) {
		dkim_verify_set(r, DKIM_PERMERROR, "no key for signature");
	} else {
		/* Several TXT records: the first that parses as a key is used. */
		const char *err = "bad key record";
		struct dkim_key key;
		size_t k;
		for (k = 0; k < a->nrr; k++)
			if (dkim_key_parse(a->rr[k], &key, &err) == 0)
				break;
		if (k == a->nrr) {
			dkim_verify_set(r, DKIM_PERMERROR, err);
		} else {
			dkim_verify_with_key(v, i, &key);
			dkim_key_free(&key);
		}
	}
	return dkim_verify_next(v, q);
}
