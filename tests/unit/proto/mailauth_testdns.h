/* A fixed DNS table for the mail-authentication engine tests: a lookup table
 * that answers the engines' queries (not a mock of a running service). */
#ifndef TERN_TESTS_MAILAUTH_TESTDNS_H
#define TERN_TESTS_MAILAUTH_TESTDNS_H

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "proto/mailauth_dns.h"

/* Up to 8 records per row (several rows may share a name); type 0 ends a table. Records are text for
 * TXT/MX/PTR and address text ("192.0.2.1", "2001:db8::1") for A/AAAA.
 * status: MAILAUTH_DNS_OK unless set; a name absent from the table is NXDOMAIN. */
struct testdns_rr {
	enum mailauth_dns_type type;
	const char *name;
	const char *rr[8];
	enum mailauth_dns_status status;
};

struct testdns_state {
	struct slice rr[32]; /* rows with the same name and type add up */
	uint8_t addr[32][16];
	size_t queries;
};

/* Answers q from table into a (slices borrow the table or st). */
static inline void testdns_answer(const struct testdns_rr *table, const struct mailauth_dns_query *q,
                                  struct testdns_state *st, struct mailauth_dns_answer *a)
{
	st->queries++;
	a->status = MAILAUTH_DNS_NXDOMAIN;
	a->rr = st->rr;
	a->nrr = 0;
	for (const struct testdns_rr *t = table; t && t->type; t++) {
		if (strcasecmp(t->name, q->name) != 0)
			continue;
		if (a->status == MAILAUTH_DNS_NXDOMAIN)
			a->status = MAILAUTH_DNS_OK; /* the name exists */
		if (t->status != MAILAUTH_DNS_OK) {
			a->status = t->status;
			return;
		}
		if (t->type != q->type)
			continue;
		for (size_t i = 0; i < 8 && t->rr[i] && a->nrr < 32; i++) {
			if (q->type == MAILAUTH_DNS_A || q->type == MAILAUTH_DNS_AAAA) {
				int af = q->type == MAILAUTH_DNS_A ? AF_INET : AF_INET6;
				if (inet_pton(af, t->rr[i], st->addr[a->nrr]) != 1)
					continue;
				st->rr[a->nrr] = slice_of(st->addr[a->nrr], af == AF_INET ? 4 : 16);
			} else {
				st->rr[a->nrr] = slice_str(t->rr[i]);
			}
			a->nrr++;
		}
	}
}

#endif
