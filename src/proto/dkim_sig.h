/* DKIM-Signature header field values (RFC 6376 §3.5) and DKIM key records
 * (§3.6.1, RFC 8463): strict parsers into owned structs.
 *
 * Both parsers take untrusted bytes from the network and never fail hard;
 * an error is a DKIM permerror with a short static reason. */
#ifndef TERN_PROTO_DKIM_SIG_H
#define TERN_PROTO_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/dkim_crypto.h"
#include "proto/mailauth_dns.h"

/** Most names in h= (badinput.md #51 "h= with 1000 names": permerror). */
#define DKIM_SIG_H_MAX 128
/** Longest selector (a sub-domain, so at most a domain name). */
#define DKIM_SELECTOR_MAX MAILAUTH_NAME_MAX
/** Longest i= value we keep (local part 64 + @ + domain). */
#define DKIM_AUID_MAX (64 + 1 + MAILAUTH_NAME_MAX)
/** Longest header value we parse as a DKIM-Signature (a 4096-bit b= is 684 chars). */
#define DKIM_SIG_VALUE_MAX (64 * 1024)

/** A parsed DKIM-Signature. Strings are NUL-terminated copies. */
struct dkim_sig {
	enum dkim_key_type kt;
	enum dkim_hash_alg alg;
	char algo_name[16];               /* a= as given, lower case ("rsa-sha256") */
	bool header_relaxed, body_relaxed;
	char domain[MAILAUTH_NAME_MAX + 1];  /* d=, lower case */
	char selector[DKIM_SELECTOR_MAX + 1]; /* s=, lower case */
	char auid[DKIM_AUID_MAX + 1];     /* i=, or "@" + d= when absent */
	struct slice h[DKIM_SIG_H_MAX];   /* h= names, borrowed from the parsed value */
	size_t nh;
	int64_t l;                        /* l= or -1 */
	int64_t t, x;                     /* t=, x= or -1 */
	struct buf b, bh;                 /* decoded b= and bh= */
	size_t b_raw_start, b_raw_end;    /* bytes of the b= value (with FWS) in the value */
};

/**
 * Parses and validates a DKIM-Signature value (after the colon). Checks:
 * v=1; a= rsa-sha256, rsa-sha1 or ed25519-sha256; b= and bh= strict base64;
 * c= simple|relaxed[/simple|relaxed]; d= and s= domain-name syntax; h=
 * non-empty, includes From, at most DKIM_SIG_H_MAX names; i= domain equal to
 * or below d=; l=, t=, x= decimal (at most 76/12/12 digits, l= must fit
 * int64); x= not before t=; q= if present includes dns/txt.
 * On success returns 0 (free with dkim_sig_free; h[] borrows value).
 * Otherwise -1 with *err a static reason.
 */
int dkim_sig_parse(struct slice value, struct dkim_sig *sig, const char **err);
/** Frees the decoded buffers. */
void dkim_sig_free(struct dkim_sig *sig);

/** A parsed key record (TXT at <s>._domainkey.<d>). */
struct dkim_key {
	enum dkim_key_type kt;
	struct buf p;       /* decoded public key; empty means revoked */
	bool sha1_ok, sha256_ok; /* h= (both when absent) */
	bool testing;       /* t=y */
	bool strict;        /* t=s: i= domain must equal d= */
};

/**
 * Parses a key record: v= (if present, first, "DKIM1"), k= rsa|ed25519
 * (default rsa; others are an error), h= hash list, s= service list (must
 * allow "email" or "*"), t= flags, p= required strict base64 (may be empty:
 * revoked). Returns 0 (free with dkim_key_free) or -1 with *err.
 */
int dkim_key_parse(struct slice txt, struct dkim_key *key, const char **err);
/** Frees the key bytes. */
void dkim_key_free(struct dkim_key *key);

/** Whether s is a syntactically valid domain name (LDH labels of 1-63, total <= 253, no trailing dot). */
bool dkim_sig_domain_valid(struct slice s);

#endif
