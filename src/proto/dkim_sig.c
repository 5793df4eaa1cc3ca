/* DKIM-Signature value parser with the validation of RFC 6376 §6.1.1.
 *
 * DESIGN: the tag-list parser gives borrowed slices; this file checks each
 * tag's grammar and copies what the verifier needs into fixed-size fields
 * (every size is named in dkim_sig.h), so a signature never allocates more
 * than its decoded b= and bh=. Anything unexpected is a permerror with a
 * short reason, never a crash: these bytes come from any sender. */
#include <stdio.h>
#include <string.h>

#include "proto/base64.h"
#include "proto/dkim_sig.h"
#include "proto/dkim_tag.h"

/* Longest l= in digits (RFC 6376 §3.5: 76) and t=/x= (12). */
#define DKIM_SIG_L_DIGITS 76
#define DKIM_SIG_T_DIGITS 12

bool dkim_sig_domain_valid(struct slice s)
{
	if (s.len == 0 || s.len > MAILAUTH_NAME_MAX)
		return false;
	size_t lab = 0;
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];
		if (c == '.') {
			if (lab == 0 || s.p[i - 1] == '-')
				return false;
			lab = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		          (c == '-' && lab > 0);
		if (!ok || ++lab > 63)
			return false;
	}
	return lab > 0 && s.p[s.len - 1] != '-';
}

static void dkim_sig_copy_lower(char *dst, size_t cap, struct slice s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s.p[i];
		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	dst[n] = 0;
}

/* Decimal of at most maxd digits into *v (saturating at INT64_MAX for l=). */
static bool dkim_sig_number(struct slice s, size_t maxd, int64_t *v)
{
	if (s.len == 0 || s.len > maxd)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		if (n <= (uint64_t)INT64_MAX / 10)
			n = n * 10 + (uint64_t)(s.p[i] - '0');
		else
			n = (uint64_t)INT64_MAX;
	}
	*v = n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n;
	return true;
}

static bool dkim_sig_b64(struct slice v, struct buf *out)
{
	struct buf tmp;
	buf_init(&tmp);
	dkim_tags_strip_ws(v, &tmp);
	int rc = base64_decode(out, buf_slice(&tmp));
	buf_free(&tmp);
	return rc == 0;
}

static bool dkim_sig_algo(struct dkim_sig *sig, struct slice a)
{
	dkim_sig_copy_lower(sig->algo_name, sizeof sig->algo_name, a);
	if (slice_eq_str_nocase(a, "rsa-sha256")) {
		sig->kt = DKIM_KEY_RSA, sig->alg = DKIM_HASH_SHA256;
	} else if (slice_eq_str_nocase(a, "rsa-sha1")) {
		sig->kt = DKIM_KEY_RSA, sig->alg = DKIM_HASH_SHA1;
	} else if (slice_eq_str_nocase(a, "ed25519-sha256")) {
		sig->kt = DKIM_KEY_ED25519, sig->alg = DKIM_HASH_SHA256;
	} else {
		return false;
	}
	return true;
}

static bool dkim_sig_canon(struct dkim_sig *sig, struct slice c)
{
	const uint8_t *slash = memchr(c.p, '/', c.len);
	struct slice hc = slash ? slice_of(c.p, (size_t)(slash - c.p)) : c;
	struct slice bc = slash ? slice_of(slash + 1, c.len - hc.len - 1) : SLICE_LIT("simple");
	if (!slice_eq_str_nocase(hc, "simple") && !slice_eq_str_nocase(hc, "relaxed"))
		return false;
	if (!slice_eq_str_nocase(bc, "simple") && !slice_eq_str_nocase(bc, "relaxed"))
		return false;
	sig->header_relaxed = slice_eq_str_nocase(hc, "relaxed");
	sig->body_relaxed = slice_eq_str_nocase(bc, "relaxed");
	return true;
}

/* h=: colon-separated header names with FWS around them; must include From. */
static const char *dkim_sig_hlist(struct dkim_sig *sig, struct slice v)
{
	bool from = false;
	size_t i = 0;
	while (i <= v.len) {
		const uint8_t *c = memchr(v.p + i, ':', v.len - i);
		size_t e = c ? (size_t)(c - v.p) : v.len;
		size_t s = i, t = e;
		while (s < t && (v.p[s] == ' ' || v.p[s] == '\t' || v.p[s] == '\r' || v.p[s] == '\n'))
			s++;
		while (t > s && (v.p[t - 1] == ' ' || v.p[t - 1] == '\t' || v.p[t - 1] == '\r' || v.p[t - 1] == '\n'))
			t--;
		if (t == s)
			return "empty name in h=";
		for (size_t k = s; k < t; k++)
			if (v.p[k] <= 0x20 || v.p[k] >= 0x7f)
				return "bad header name in h=";
		if (sig->nh == DKIM_SIG_H_MAX)
			return "too many names in h=";
		sig->h[sig->nh] = slice_of(v.p + s, t - s);
		from |= slice_eq_str_nocase(sig->h[sig->nh], "from");
		sig->nh++;
		i = e + 1;
	}
	return from ? NULL : "h= does not include From";
}

/* i=: [local-part] "@" domain, domain equal to or a subdomain of d=. */
static const char *dkim_sig_auid(struct dkim_sig *sig, struct slice v)
{
	if (v.len > DKIM_AUID_MAX)
		return "i= too long";
	const uint8_t *at = NULL;
	for (size_t k = v.len; k-- > 0;)
		if (v.p[k] == '@') {
			at = v.p + k;
			break;
		}
	if (!at)
		return "i= without @";
	struct slice dom = slice_of(at + 1, v.len - (size_t)(at + 1 - v.p));
	if (!dkim_sig_domain_valid(dom))
		return "bad domain in i=";
	size_t dl = strlen(sig->domain);
	struct slice d = slice_of(sig->domain, dl);
	bool sub = dom.len > dl && dom.p[dom.len - dl - 1] == '.' &&
	           slice_eq_nocase(slice_of(dom.p + dom.len - dl, dl), d);
	if (!slice_eq_nocase(dom, d) && !sub)
		return "i= domain not within d=";
	memcpy(sig->auid, v.p, v.len);
	sig->auid[v.len] = 0;
	return NULL;
}

static const char *dkim_sig_required(const struct dkim_tags *tags)
{
	static const char *const req[] = {"v", "a", "b", "bh", "d", "h", "s"};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
		if (!dkim_tags_get(tags, req[i]))
			return "missing required tag";
	if (!slice_eq(dkim_tags_get(tags, "v")->value, SLICE_LIT("1")))
		return "v= is not 1";
	return NULL;
}

static const char *dkim_sig_times(struct dkim_sig *sig, const struct dkim_tags *tags)
{
	const struct dkim_tag *t;
	if ((t = dkim_tags_get(tags, "l")) && !dkim_sig_number(t->value, DKIM_SIG_L_DIGITS, &sig->l))
		return "bad l=";
	if ((t = dkim_tags_get(tags, "t")) && !dkim_sig_number(t->value, DKIM_SIG_T_DIGITS, &sig->t))
		return "bad t=";
	if ((t = dkim_tags_get(tags, "x")) && !dkim_sig_number(t->value, DKIM_SIG_T_DIGITS, &sig->x))
		return "bad x=";
	if (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t)
		return "x= before t=";
	if ((t = dkim_tags_get(tags, "q"))) {
		bool dns = false;
		struct slice q = t->value;
		for (size_t i = 0; i <= q.len;) {
			const uint8_t *c = memchr(q.p + i, ':', q.len - i);
			size_t e = c ? (size_t)(c - q.p) : q.len;
			dns |= slice_eq_str_nocase(slice_of(q.p + i, e - i), "dns/txt");
			i = e + 1;
		}
		if (!dns)
			return "q= without dns/txt";
	}
	return NULL;
}

static const char *dkim_sig_fill(struct dkim_sig *sig, const struct dkim_tags *tags)
{
	const char *e = dkim_sig_required(tags);
	if (e)
		return e;
	if (!dkim_sig_algo(sig, dkim_tags_get(tags, "a")->value))
		return "unknown algorithm";
	const struct dkim_tag *b = dkim_tags_get(tags, "b");
	if (!dkim_sig_b64(b->value, &sig->b) || sig->b.len == 0)
		return "bad b=";
	sig->b_raw_start = b->raw_start;
	sig->b_raw_end = b->raw_end;
	if (!dkim_sig_b64(dkim_tags_get(tags, "bh")->value, &sig->bh) || sig->bh.len != dkim_hash_len(sig->alg))
		return "bad bh=";
	const struct dkim_tag *c = dkim_tags_get(tags, "c");
	if (c && !dkim_sig_canon(sig, c->value))
		return "bad c=";
	struct slice d = dkim_tags_get(tags, "d")->value, s = dkim_tags_get(tags, "s")->value;
	if (!dkim_sig_domain_valid(d))
		return "bad d=";
	if (!dkim_sig_domain_valid(s))
		return "bad s=";
	dkim_sig_copy_lower(sig->domain, sizeof sig->domain, d);
	dkim_sig_copy_lower(sig->selector, sizeof sig->selector, s);
	if ((e = dkim_sig_hlist(sig, dkim_tags_get(tags, "h")->value)))
		return e;
	const struct dkim_tag *i = dkim_tags_get(tags, "i");
	if (i && (e = dkim_sig_auid(sig, i->value)))
		return e;
	if (!i)
		snprintf(sig->auid, sizeof sig->auid, "@%s", sig->domain);
	return dkim_sig_times(sig, tags);
}

int dkim_sig_parse(struct slice value, struct dkim_sig *sig, const char **err)
{
	memset(sig, 0, sizeof *sig);
	sig->l = sig->t = sig->x = -1;
	buf_init(&sig->b);
	buf_init(&sig->bh);
	*err = NULL;
	struct dkim_tags tags;
	if (value.len > DKIM_SIG_VALUE_MAX)
		*err = "signature too long";
	else if (dkim_tags_parse(value, &tags) != 0)
		*err = "bad tag list";
	else
		*err = dkim_sig_fill(sig, &tags);
	if (*err) {
		dkim_sig_free(sig);
		return -1;
	}
	return 0;
}

void dkim_sig_free(struct dkim_sig *sig)
{
	buf_free(&sig->b);
	buf_free(&sig->bh);
}
