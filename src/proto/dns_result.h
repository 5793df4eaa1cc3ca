/* DNS answers and their classification: statuses, CNAME chasing, MX lists.
 *
 * Pure code: no I/O, no getdns, no actors. The resolver loop turns a getdns reply
 * into a struct dns_answer; the resolver actor chases CNAMEs with dns_chase_step()
 * and shapes replies with dns_result_mx()/_addrs()/_texts()/_names(). */
#ifndef TERN_PROTO_DNS_RESULT_H
#define TERN_PROTO_DNS_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Longest domain name in text form, without the trailing dot (RFC 1035 §3.1). */
#define DNS_NAME_MAX 253
/** Most CNAMEs followed for one lookup (queue.md §11.1); one more is DNS_CNAME_LOOP. */
#define DNS_CNAME_MAX 10
/** Most MX hosts in a reply (more preferred ones are kept). */
#define DNS_MX_MAX 32
/** Most addresses in a reply (per reply, both families together). */
#define DNS_ADDR_MAX 64
/** Most TXT records in a reply. */
#define DNS_TXT_MAX 64
/** Most PTR names in a reply. */
#define DNS_PTR_MAX 16

/** RR types Tern asks for. */
enum {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52,
};

/** Address families of DNS_MSG_ADDR_REQ. */
enum { DNS_FAMILY_V4 = 1, DNS_FAMILY_V6 = 2 };

/** Outcome of a lookup, as sent in every DNS_MSG_*_RES `status` field. Values are stable. */
enum dns_status {
	DNS_OK = 0,         /* records found (MX: also the implicit MX) */
	DNS_NXDOMAIN = 1,   /* permanent: the name (after CNAMEs) does not exist */
	DNS_NODATA = 2,     /* the name exists without records of the type (never for MX) */
	DNS_NULLMX = 3,     /* permanent: RFC 7505 null MX (`0 .`) */
	DNS_SERVFAIL = 4,   /* temporary: SERVFAIL, REFUSED or another error rcode, or no usable reply */
	DNS_TIMEOUT = 5,    /* temporary: no resolver answered in time */
	DNS_CNAME_LOOP = 6, /* temporary: CNAME loop or more than DNS_CNAME_MAX CNAMEs */
	DNS_BADNAME = 7,    /* permanent: the request's name is not a valid domain name */
	DNS_OVERLOAD = 8,   /* temporary: the resolver's queue of pending queries is full */
	DNS_STATUS_COUNT
};

/** Short lowercase name of a status ("ok", "nxdomain", ...; "?" if unknown). */
const char *dns_status_name(uint64_t st);
/** Whether a status is a temporary failure (retry later). */
bool dns_status_is_temp(uint64_t st);

/** One resource record of an answer section. Strings are owned by the record. */
struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	char *owner;      /* lowercase, no trailing dot */
	char *target;     /* CNAME/MX/PTR target, lowercase, no trailing dot; "" for the root */
	uint16_t pref;    /* MX preference */
	uint8_t addr[16]; /* A: 4 bytes, AAAA: 16 */
	char *txt;        /* TXT: the character-strings joined (NUL-terminated, may contain NUL) */
	size_t txtlen;
};

/** How a fetch ended. */
enum dns_fetch_result { DNS_FETCH_REPLY = 0, DNS_FETCH_TIMEOUT, DNS_FETCH_ERROR, DNS_FETCH_OVERLOAD };

/** One reply from the resolver, reference-counted (single thread at a time). */
struct dns_answer {
	int refs;
	int fetch;         /* enum dns_fetch_result */
	int rcode;         /* DNS rcode when fetch == DNS_FETCH_REPLY */
	bool ad;           /* AD bit set by a trusted resolver */
	uint32_t neg_ttl;  /* negative-caching TTL from the SOA (0 when absent) */
	struct dns_rr *rr; /* answer section */
	size_t n, cap;
};

/** A new answer with one reference. */
struct dns_answer *dns_answer_new(int fetch);
/** Appends a zeroed record and returns it (strings to be set by the caller, owned by the answer). */
struct dns_rr *dns_answer_add(struct dns_answer *a);
/** Takes a reference. */
struct dns_answer *dns_answer_ref(struct dns_answer *a);
/** Drops a reference; frees at zero. NULL is ignored. */
void dns_answer_unref(struct dns_answer *a);
/** Seconds this answer may be cached: 0 for failures (timeouts, error rcodes);
 * else the least of the record TTLs and neg_ttl, DNS_NEG_TTL_DEFAULT for an empty
 * answer without SOA; capped at max_s. */
uint32_t dns_answer_cache_ttl(const struct dns_answer *a, uint32_t max_s);
/** Negative-caching TTL when an answer has no SOA. */
#define DNS_NEG_TTL_DEFAULT 60

/** Normalises a query name into out (DNS_NAME_MAX + 1 bytes): lowercase, no trailing dot.
 * Labels of 1..63 bytes of letters, digits, '-', '_' or '/'. Returns 0 or -1 when invalid. */
int dns_name_norm(struct slice in, char *out);
/** Decodes an uncompressed wire-format name (as getdns hands them out) into out
 * (DNS_NAME_MAX + 1 bytes), normalised like dns_name_norm; the root is "".
 * Returns the bytes consumed, or -1 when malformed or not a host-style name. */
int dns_name_from_wire(const uint8_t *p, size_t n, char *out);
/** Whether a name (normalised) is an IPv4 or IPv6 literal, e.g. an MX target "192.0.2.1". */
bool dns_name_is_ip(const char *name);
/** The reverse-lookup name of a 4- or 16-byte address into out (DNS_NAME_MAX + 1). Returns 0 or -1. */
int dns_name_reverse(const uint8_t *ip, size_t len, char *out);

/** State of one lookup across CNAMEs and follow-up queries. */
struct dns_chase {
	char name[DNS_NAME_MAX + 1];            /* name to ask for now; the final name when done */
	char seen[DNS_CNAME_MAX + 1][DNS_NAME_MAX + 1];
	int nseen;                               /* names visited, the query name included */
	bool secure;                             /* every answer so far had AD */
	int answers;                             /* answers consumed */
};

/** Result of one chase step. */
enum dns_chase_next { DNS_CHASE_DONE = 0, DNS_CHASE_MORE = 1 };

/** Starts a chase at name (normalised). */
void dns_chase_init(struct dns_chase *c, const char *name);
/** Consumes answer a for (c->name, qtype): follows CNAMEs in it, detects loops and
 * over-long chains. Returns DNS_CHASE_MORE when the chain ends at a name without
 * records in this answer (ask again for c->name), else DNS_CHASE_DONE with *st set;
 * for DNS_OK the records of qtype owned by c->name are in a. */
int dns_chase_step(struct dns_chase *c, const struct dns_answer *a, uint16_t qtype, enum dns_status *st);

/** One MX host. host points into the answer (valid while it lives). */
struct dns_mx {
	const char *host;
	uint16_t pref;
};

/** Builds the MX list for name from answer a (after a DNS_OK chase): sorted by
 * preference, runs of equal preference shuffled with *rng (xorshift state, non-zero),
 * IP-literal targets dropped and counted in *ignored. Returns DNS_OK (out[0..*n),
 * possibly empty) or DNS_NULLMX. */
enum dns_status dns_result_mx(const struct dns_answer *a, const char *name, struct dns_mx *out,
                              size_t max, size_t *n, size_t *ignored, uint64_t *rng);
/** Appends the addresses of type qtype (A or AAAA) owned by name as 16-byte entries
 * (A as ::ffff:a.b.c.d) to out, at most max entries in out in total. Returns the number appended. */
size_t dns_result_addrs(const struct dns_answer *a, const char *name, uint16_t qtype, struct buf *out, size_t max);
/** Fills out with the TXT records (joined strings) owned by name; returns the count (<= max). */
size_t dns_result_texts(const struct dns_answer *a, const char *name, struct slice *out, size_t max);
/** Fills out with the PTR targets owned by name; returns the count (<= max). */
size_t dns_result_names(const struct dns_answer *a, const char *name, struct slice *out, size_t max);
/** Next value of a xorshift64 generator (state must be non-zero). */
uint64_t dns_result_rand(uint64_t *state);

#endif
