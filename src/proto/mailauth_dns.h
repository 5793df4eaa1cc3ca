/* The DNS interface shared by the message-authentication engines (DKIM
 * verification, SPF, DMARC): an engine that needs DNS returns a query and is
 * resumed with the answer, so that an actor can run it asynchronously with the
 * resolver actor, and tests can feed it from a lookup table.
 *
 * Conventions for answers (the resolver side must follow them):
 *  - names are presentation form, ASCII, no trailing dot (one is tolerated);
 *  - TXT: one slice per TXT RR, its character-strings concatenated;
 *  - A: 4 bytes per RR, AAAA: 16 bytes per RR (network order);
 *  - MX: the exchange name of each RR (preference dropped: SPF ignores it);
 *  - PTR: the target name of each RR.
 * Every slice of an answer is borrowed for the duration of the *_answer call;
 * the engines copy what they keep. */
#ifndef TERN_PROTO_MAILAUTH_DNS_H
#define TERN_PROTO_MAILAUTH_DNS_H

#include <stddef.h>

#include "core/buf.h"

/** Longest domain name in presentation form, without trailing dot (RFC 1035). */
#define MAILAUTH_NAME_MAX 253

/** Record types the engines ask for (values are the DNS RR type numbers). */
enum mailauth_dns_type {
	MAILAUTH_DNS_A = 1,
	MAILAUTH_DNS_PTR = 12,
	MAILAUTH_DNS_MX = 15,
	MAILAUTH_DNS_TXT = 16,
	MAILAUTH_DNS_AAAA = 28,
};

/** Outcome of one lookup. */
enum mailauth_dns_status {
	MAILAUTH_DNS_OK,       /* the name exists; nrr may be 0 (NODATA) */
	MAILAUTH_DNS_NXDOMAIN, /* the name does not exist */
	MAILAUTH_DNS_TEMPFAIL, /* SERVFAIL, timeout, network error: try again later */
	MAILAUTH_DNS_PERMFAIL, /* any other failure that will not go away (e.g. a bad name) */
};

/** A question from an engine. name is NUL-terminated. */
struct mailauth_dns_query {
	enum mailauth_dns_type type;
	char name[MAILAUTH_NAME_MAX + 2];
};

/** An answer handed to an engine; rr[] and its bytes are borrowed for the call. */
struct mailauth_dns_answer {
	enum mailauth_dns_status status;
	const struct slice *rr;
	size_t nrr;
};

/** What an engine step returns: a query to resolve, or the end. */
enum mailauth_step {
	MAILAUTH_STEP_DONE = 0,
	MAILAUTH_STEP_DNS = 1,
};

#endif
