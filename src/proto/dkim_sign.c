/* DKIM signer: builds DKIM-Signature fields for a message and a list of
 * selectors.
 *
 * DESIGN: the field is written exactly as it will be sent, folded at about
 * 78 columns, with b= last and empty; that text (without the final CRLF) is
 * what gets canonicalised and hashed, so simple header canonicalisation sees
 * the same bytes a verifier sees after deleting the b= value. The signature
 * is then appended after "b=", folded. The message is split once and the
 * body hash is shared between selectors with the same body canonicalisation
 * and hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/dkim_canon.h"
#include "proto/dkim_sig.h"
#include "proto/dkim_sign.h"

/* Fold before a token when the line would pass this many columns. */
#define DKIM_SIGN_LINE_MAX 78

const char *const dkim_sign_default_headers[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From", "Resent-To",
	"Resent-Cc", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Message-ID", "Content-Type",
	"Content-Transfer-Encoding", "MIME-Version", NULL,
};

/* Appends tok, folding first if the current line would get too long.
 * *col is the current column. */
static void dkim_sign_put(struct buf *out, size_t *col, const char *tok, size_t len, bool space)
{
	if (*col + len + (space ? 1 : 0) > DKIM_SIGN_LINE_MAX && *col > 1) {
		buf_puts(out, "\r\n\t");
		*col = 1;
	} else if (space) {
		buf_putc(out, ' ');
		(*col)++;
	}
	buf_append(out, tok, len);
	*col += len;
}

static void dkim_sign_tag(struct buf *out, size_t *col, const char *fmt, const char *val)
{
	char tmp[MAILAUTH_NAME_MAX + 64];
	snprintf(tmp, sizeof tmp, fmt, val);
	dkim_sign_put(out, col, tmp, strlen(tmp), true);
}

/* h=: configured names, each as often as it occurs (plus one when sealing). */
static const char *dkim_sign_hlist(const struct dkim_signer *s, const struct dkim_msg *m, struct buf *out,
                                   size_t *col, struct slice *names, size_t *nnames)
{
	const char *const *hs = s->headers && s->nheaders ? s->headers : dkim_sign_default_headers;
	size_t nh = s->headers && s->nheaders ? s->nheaders : SIZE_MAX;
	bool first = true, from = false;
	*nnames = 0;
	for (size_t i = 0; i < nh && hs[i] && i < DKIM_SIGN_HEADERS_MAX; i++) {
		struct slice name = slice_str(hs[i]);
		if (name.len == 0)
			return "empty header name";
		for (size_t k = 0; k < name.len; k++)
			if (name.p[k] <= 0x20 || name.p[k] >= 0x7f || name.p[k] == ':' || name.p[k] == ';')
				return "bad header name";
		size_t count = 0;
		for (size_t k = 0; k < m->n; k++)
			count += slice_eq_nocase(m->f[k].name, name);
		if (slice_eq_str_nocase(name, "from"))
			from = count > 0;
		size_t times = count + (s->dont_seal ? 0 : 1);
		for (size_t t = 0; t < times && *nnames < DKIM_SIG_H_MAX; t++) {
			char tok[128];
			int tl = snprintf(tok, sizeof tok, "%s%s%s", first ? "h=" : "", hs[i],
			                  ":");
			if (tl < 0 || (size_t)tl >= sizeof tok)
				return "header name too long";
			dkim_sign_put(out, col, tok, (size_t)tl, first);
			names[(*nnames)++] = name;
			first = false;
		}
	}
	if (!from)
		return "message has no From header";
	out->len--; /* the last ':' becomes ';' */
	buf_putc(out, ';');
	return NULL;
}

/* The field up to "b=" (no CRLF), and the names it signs. */
static const char *dkim_sign_field(const struct dkim_signer *s, const struct dkim_msg *m, const char *bh,
                                   int64_t now_s, struct buf *f, struct slice *names, size_t *nnames)
{
	bool ed = dkim_privkey_type(s->key) == DKIM_KEY_ED25519;
	size_t col;
	buf_puts(f, "DKIM-Signature: v=1;");
	col = f->len;
	dkim_sign_tag(f, &col, "a=%s;", ed ? "ed25519-sha256" : "rsa-sha256");
	dkim_sign_tag(f, &col, "d=%s;", s->domain);
	dkim_sign_tag(f, &col, "s=%s;", s->selector);
	char c[32];
	snprintf(c, sizeof c, "%s/%s", s->header_relaxed ? "relaxed" : "simple", s->body_relaxed ? "relaxed" : "simple");
	dkim_sign_tag(f, &col, "c=%s;", c);
	char num[32];
	snprintf(num, sizeof num, "%lld", (long long)now_s);
	dkim_sign_tag(f, &col, "t=%s;", num);
	if (s->expiration_s > 0) {
		snprintf(num, sizeof num, "%lld", (long long)(now_s + s->expiration_s));
		dkim_sign_tag(f, &col, "x=%s;", num);
	}
	const char *err = dkim_sign_hlist(s, m, f, &col, names, nnames);
	if (err)
		return err;
	buf_puts(f, "\r\n\tbh=");
	buf_puts(f, bh);
	buf_puts(f, ";\r\n\tb=");
	return NULL;
}

static void dkim_sign_body_hash(const struct dkim_signer *s, const struct dkim_msg *m, char *out, size_t cap)
{
	uint8_t d[DKIM_DIGEST_MAX];
	uint64_t total;
	struct dkim_hash *h = dkim_hash_new(s->alg);
	dkim_canon_body(s->body_relaxed, m->body, -1, h, &total);
	dkim_hash_final(h, d);
	dkim_hash_free(h);
	struct buf b;
	buf_init(&b);
	base64_encode(&b, slice_of(d, dkim_hash_len(s->alg)));
	snprintf(out, cap, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* Hashes the selected fields and the new field, signs, appends b=. */
static const char *dkim_sign_one(const struct dkim_signer *s, const struct dkim_msg *m, int64_t now_s, struct buf *out)
{
	if (s->alg != DKIM_HASH_SHA256)
		return "only sha256 signs (rsa-sha1 is verify-only, RFC 8301)";
	char bh[64];
	dkim_sign_body_hash(s, m, bh, sizeof bh);
	struct buf f, data, sig;
	buf_init(&f);
	buf_init(&data);
	buf_init(&sig);
	struct slice names[DKIM_SIG_H_MAX];
	long sel[DKIM_SIG_H_MAX];
	size_t nnames = 0;
	const char *err = dkim_sign_field(s, m, bh, now_s, &f, names, &nnames);
	if (!err) {
		bool *used = xcalloc(m->n + 1, sizeof *used);
		dkim_msg_select(m, names, nnames, sel, used);
		free(used);
		for (size_t i = 0; i < nnames; i++)
			if (sel[i] >= 0)
				dkim_canon_header(s->header_relaxed, m->f[sel[i]].name, m->f[sel[i]].value, true, &data);
		size_t colon = strlen("DKIM-Signature");
		dkim_canon_header(s->header_relaxed, slice_of(f.p, colon), slice_of(f.p + colon + 1, f.len - colon - 1),
		                  false, &data);
		uint8_t d[DKIM_DIGEST_MAX];
		struct dkim_hash *h = dkim_hash_new(s->alg);
		dkim_hash_update(h, data.p, data.len);
		dkim_hash_final(h, d);
		dkim_hash_free(h);
		if (dkim_privkey_sign(s->key, s->alg, d, &sig) != 0)
			err = "signing failed";
	}
	if (!err) {
		struct buf b64;
		buf_init(&b64);
		base64_encode(&b64, buf_slice(&sig));
		for (size_t i = 0; i < b64.len; i += 72) {
			if (i > 0)
				buf_puts(&f, "\r\n\t ");
			buf_append(&f, b64.p + i, b64.len - i < 72 ? b64.len - i : 72);
		}
		buf_puts(&f, "\r\n");
		buf_append(out, f.p, f.len);
		buf_free(&b64);
	}
	buf_free(&f);
	buf_free(&data);
	buf_free(&sig);
	return err;
}

int dkim_sign(const struct dkim_signer *signers, size_t n, struct slice msg, int64_t now_s, struct buf *out,
              const char **err)
{
	struct dkim_msg m;
	*err = NULL;
	if (dkim_msg_parse(msg, &m) != 0) {
		*err = "too many header fields";
		return -1;
	}
	size_t start = out->len;
	for (size_t i = 0; i < n && !*err; i++) {
		const struct dkim_signer *s = &signers[i];
		if (!s->key || !s->domain || !s->selector || !dkim_sig_domain_valid(slice_str(s->domain)) ||
		    !dkim_sig_domain_valid(slice_str(s->selector)))
			*err = "bad signer domain, selector or key";
		else
			*err = dkim_sign_one(s, &m, now_s, out);
	}
	dkim_msg_free(&m);
	if (*err) {
		out->len = start;
		return -1;
	}
	return 0;
}

void dkim_sign_dns_record(const struct dkim_privkey *key, struct buf *out)
{
	struct buf pub;
	buf_init(&pub);
	dkim_privkey_public(key, &pub);
	buf_puts(out, dkim_privkey_type(key) == DKIM_KEY_ED25519 ? "v=DKIM1; k=ed25519; p=" : "v=DKIM1; k=rsa; p=");
	base64_encode(out, buf_slice(&pub));
	buf_free(&pub);
}
