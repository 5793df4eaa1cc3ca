/* DKIM key record parser (RFC 6376 §3.6.1, k=ed25519 from RFC 8463).
 *
 * DESIGN: the record is a tag-list like a signature. Unknown tags are ignored
 * as the RFC asks, but every tag we use is checked strictly; a key that is
 * not usable (unknown k=, service list without email, bad base64) is an error,
 * which the verifier reports as permerror. The key bytes themselves are only
 * decoded by dkim_crypto when a signature is checked. */
#include <string.h>

#include "proto/base64.h"
#include "proto/dkim_sig.h"
#include "proto/dkim_tag.h"

/* Largest TXT key record we parse (a 4096-bit RSA p= is about 740 chars). */
#define DKIM_KEY_RECORD_MAX 8192

/* Calls fn for each colon-separated item of v, trimmed of FWS; stops on true. */
static bool dkim_key_any(struct slice v, bool (*fn)(struct slice item, void *arg), void *arg)
{
	for (size_t i = 0; i <= v.len;) {
		const uint8_t *c = memchr(v.p + i, ':', v.len - i);
		size_t e = c ? (size_t)(c - v.p) : v.len, s = i, t = e;
		while (s < t && (v.p[s] == ' ' || v.p[s] == '\t' || v.p[s] == '\r' || v.p[s] == '\n'))
			s++;
		while (t > s && (v.p[t - 1] == ' ' || v.p[t - 1] == '\t' || v.p[t - 1] == '\r' || v.p[t - 1] == '\n'))
			t--;
		if (fn(slice_of(v.p + s, t - s), arg))
			return true;
		i = e + 1;
	}
	return false;
}

static bool dkim_key_hash_cb(struct slice item, void *arg)
{
	struct dkim_key *k = arg;
	if (slice_eq_str_nocase(item, "sha1"))
		k->sha1_ok = true;
	if (slice_eq_str_nocase(item, "sha256"))
		k->sha256_ok = true;
	return false;
}

static bool dkim_key_service_cb(struct slice item, void *arg)
{
	return slice_eq(item, SLICE_LIT("*")) || slice_eq_str_nocase(item, "email");
}

static bool dkim_key_flag_cb(struct slice item, void *arg)
{
	struct dkim_key *k = arg;
	if (slice_eq_str_nocase(item, "y"))
		k->testing = true;
	if (slice_eq_str_nocase(item, "s"))
		k->strict = true;
	return false;
}

static const char *dkim_key_fill(struct dkim_key *key, const struct dkim_tags *tags)
{
	const struct dkim_tag *t = dkim_tags_get(tags, "v");
	if (t && (t != &tags->t[0] || !slice_eq(t->value, SLICE_LIT("DKIM1"))))
		return "bad v= in key record";
	t = dkim_tags_get(tags, "k");
	if (!t || slice_eq_str_nocase(t->value, "rsa"))
		key->kt = DKIM_KEY_RSA;
	else if (slice_eq_str_nocase(t->value, "ed25519"))
		key->kt = DKIM_KEY_ED25519;
	else
		return "unknown key type";
	if ((t = dkim_tags_get(tags, "h"))) {
		dkim_key_any(t->value, dkim_key_hash_cb, key);
	} else {
		key->sha1_ok = key->sha256_ok = true;
	}
	if ((t = dkim_tags_get(tags, "s")) && !dkim_key_any(t->value, dkim_key_service_cb, NULL))
		return "key not for email";
	if ((t = dkim_tags_get(tags, "t")))
		dkim_key_any(t->value, dkim_key_flag_cb, key);
	if (!(t = dkim_tags_get(tags, "p")))
		return "key record without p=";
	struct buf tmp;
	buf_init(&tmp);
	dkim_tags_strip_ws(t->value, &tmp);
	int rc = base64_decode(&key->p, buf_slice(&tmp));
	buf_free(&tmp);
	return rc == 0 ? NULL : "bad base64 in p=";
}

int dkim_key_parse(struct slice txt, struct dkim_key *key, const char **err)
{
	memset(key, 0, sizeof *key);
	buf_init(&key->p);
	struct dkim_tags tags;
	*err = NULL;
	if (txt.len > DKIM_KEY_RECORD_MAX)
		*err = "key record too long";
	else if (dkim_tags_parse(txt, &tags) != 0)
		*err = "bad key record";
	else
		*err = dkim_key_fill(key, &tags);
	if (*err) {
		dkim_key_free(key);
		return -1;
	}
	return 0;
}

void dkim_key_free(struct dkim_key *key)
{
	buf_free(&key->p);
}
