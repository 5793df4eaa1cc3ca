/* DKIM signer (RFC 6376 §5, RFC 8463): DKIM-Signature header fields for a
 * message, one per configured selector (config.md §4.1 DKIM.Selectors). */
#ifndef TERN_PROTO_DKIM_SIGN_H
#define TERN_PROTO_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/dkim_crypto.h"

/** Most configured header names per selector. */
#define DKIM_SIGN_HEADERS_MAX 64

/** One selector's signing parameters; everything is borrowed by dkim_sign. */
struct dkim_signer {
	const char *domain;   /* d=, the From domain */
	const char *selector; /* s= */
	enum dkim_hash_alg alg; /* must be DKIM_HASH_SHA256: rsa-sha1 is verify-only (RFC 8301) */
	bool header_relaxed, body_relaxed; /* Canonicalization; config default true/true */
	const char *const *headers; /* Headers; NULL or nheaders 0: dkim_sign_default_headers */
	size_t nheaders;
	bool dont_seal;     /* DontSealHeaders: sign only present instances */
	int64_t expiration_s; /* Expiration; > 0 adds x= = t= + this */
	struct dkim_privkey *key;
};

/** The default header set (RFC 6376 §5.4.1 list plus the MIME and Message-ID fields), NULL-terminated. */
extern const char *const dkim_sign_default_headers[];

/**
 * Signs msg (CRLF message, header and body) with each of the n signers and
 * appends one `DKIM-Signature: ...\r\n` field per signer, in order, to out;
 * the caller prepends them to the message. now_s is the t= value (Unix s).
 * Sealing (the default) lists each configured header once more than it
 * occurs, so that added instances break the signature. The message must have
 * a From field. Returns 0, or -1 with *err (static) and out unchanged.
 */
int dkim_sign(const struct dkim_signer *signers, size_t n, struct slice msg, int64_t now_s, struct buf *out,
              const char **err);

/**
 * Appends the TXT record to publish at <selector>._domainkey.<domain> for
 * key: `v=DKIM1; k=ed25519; p=...` or `v=DKIM1; k=rsa; p=...`.
 */
void dkim_sign_dns_record(const struct dkim_privkey *key, struct buf *out);

#endif
