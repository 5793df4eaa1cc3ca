/* DKIM verifier (RFC 6376 §6, RFC 8463, RFC 8301) as a resumable engine:
 * it asks for key records through the mailauth DNS interface and is resumed
 * with the answers, so the MX can run it on the resolver actor's replies. */
#ifndef TERN_PROTO_DKIM_VERIFY_H
#define TERN_PROTO_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/dkim_sig.h"
#include "proto/mailauth_dns.h"

/** Signatures verified per message (smtp.md §14, badinput.md #51); later ones are skipped. */
#define DKIM_VERIFY_SIGS_MAX 5
/** Tolerated clock skew for t= in the future, seconds. */
#define DKIM_VERIFY_SKEW_S 300
/** header.b prefix length in Authentication-Results (RFC 6008 suggests >= 8). */
#define DKIM_VERIFY_BPREFIX 12

/** Result of one signature (RFC 8601 §2.7.1 names). */
enum dkim_status {
	DKIM_NONE,
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_NEUTRAL,
	DKIM_POLICY,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

/** One verified (or not) signature, for Authentication-Results, DMARC and reports. */
struct dkim_result {
	enum dkim_status status;
	const char *reason;   /* static text; NULL on pass */
	char domain[MAILAUTH_NAME_MAX + 1];   /* d=; empty when the signature did not parse */
	char selector[DKIM_SELECTOR_MAX + 1]; /* s= */
	char auid[DKIM_AUID_MAX + 1];         /* i= (or @d) */
	char algo[16];                        /* a= */
	char b_prefix[DKIM_VERIFY_BPREFIX + 1]; /* first characters of b= (header.b) */
	unsigned key_bits;    /* key size once the key was read */
	bool testing;         /* key has t=y */
	int64_t l;            /* l= or -1 */
	uint64_t body_len;    /* canonical body length, to tell whether l= left content unsigned */
};

/** A verification in progress; opaque. */
struct dkim_verify;

/** Names of the statuses as in Authentication-Results ("pass", "permerror", ...). */
const char *dkim_status_name(enum dkim_status s);

/** A new verifier; now_s is the current time (Unix s) for t=/x= checks. */
struct dkim_verify *dkim_verify_new(int64_t now_s);
/** Frees v and its results. */
void dkim_verify_free(struct dkim_verify *v);

/**
 * Starts verifying msg (CRLF message). msg is borrowed until the engine is
 * done or freed. Parses up to DKIM_VERIFY_SIGS_MAX DKIM-Signature fields
 * (top down), checks body hashes, then asks for the first key: returns
 * MAILAUTH_STEP_DNS with *q filled, or MAILAUTH_STEP_DONE.
 */
int dkim_verify_start(struct dkim_verify *v, struct slice msg, struct mailauth_dns_query *q);
/** Resumes with the answer to the last query; same return convention. */
int dkim_verify_answer(struct dkim_verify *v, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q);

/** Number of results (signatures looked at, at most DKIM_VERIFY_SIGS_MAX). */
size_t dkim_verify_count(const struct dkim_verify *v);
/** Result i (< count); borrowed from v. */
const struct dkim_result *dkim_verify_result(const struct dkim_verify *v, size_t i);
/** DKIM-Signature fields beyond DKIM_VERIFY_SIGS_MAX that were not looked at. */
size_t dkim_verify_skipped(const struct dkim_verify *v);

#endif
