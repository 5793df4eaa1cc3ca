/* Bridges the message-authentication engines' DNS questions (proto/mailauth_dns.h)
 * to the resolver actor's messages, and the resolver's replies back to answers. */
#ifndef TERN_ACTORS_AUTHDNS_H
#define TERN_ACTORS_AUTHDNS_H

#include <stdint.h>

#include "core/actor.h"
#include "proto/mailauth_dns.h"

/** Most records handed to an engine from one reply. */
#define AUTHDNS_RR_MAX 64

/** Storage for one converted answer (the slices borrow from the reply or from here). */
struct authdns_answer {
	struct mailauth_dns_answer a;
	struct slice rr[AUTHDNS_RR_MAX];
	uint8_t ip[AUTHDNS_RR_MAX][16];
};

/** Sends the resolver request that answers q, from self with req_id. The reply is one of
 * DNS_MSG_TXT_RES, DNS_MSG_ADDR_RES, DNS_MSG_MX_RES or DNS_MSG_PTR_RES. Returns 0 or a
 * negative errno (then answer the engine with authdns_tempfail). */
int authdns_send(uint64_t resolver, struct actor *self, const struct mailauth_dns_query *q, uint64_t req_id);

/** Converts a resolver reply (msg m, decoded payload p) for question q. The answer borrows
 * from p: use it before the handler returns. */
void authdns_convert(const struct mailauth_dns_query *q, const struct msg *m, const void *p,
                     struct authdns_answer *out);

/** A TEMPFAIL answer (the request could not be sent). */
void authdns_tempfail(struct authdns_answer *out);

#endif
