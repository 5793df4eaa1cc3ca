/* SPF (RFC 7208): record parser, macro expansion and a resumable check_host()
 * engine that asks for DNS through the mailauth DNS interface.
 *
 * Limits (RFC 7208 §4.6.4, badinput.md #52): at most SPF_DNS_TERMS_MAX terms
 * that query DNS, SPF_VOID_MAX void lookups, SPF_MX_NAMES_MAX names per mx,
 * SPF_PTR_NAMES_MAX names per ptr; exceeding any is permerror. Macro-expanded
 * domains are cut to SPF_DOMAIN_MAX octets by dropping labels on the left. */
#ifndef TERN_PROTO_SPF_H
#define TERN_PROTO_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/mailauth_dns.h"

#define SPF_DNS_TERMS_MAX 10
#define SPF_VOID_MAX 2
#define SPF_MX_NAMES_MAX 10
#define SPF_PTR_NAMES_MAX 10
/** Longest expanded domain (RFC 7208 §7.3: 253 octets). */
#define SPF_DOMAIN_MAX 253
/** Longest raw macro expansion before truncation, and longest explanation. */
#define SPF_EXPAND_MAX 1024
/** Longest SPF record we parse (joined TXT strings). */
#define SPF_RECORD_MAX 4096
/** Most terms in one record. */
#define SPF_TERMS_MAX 128
/** Deepest include/redirect nesting (bounded by the DNS term limit anyway). */
#define SPF_DEPTH_MAX (SPF_DNS_TERMS_MAX + 1)

/** check_host() results (RFC 7208 §2.6). */
enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/** Lower-case name of r ("pass", "softfail", ...), as in Authentication-Results. */
const char *spf_result_name(enum spf_result r);

/** An IP address; IPv4-mapped IPv6 addresses are stored as IPv4. */
struct spf_ip {
	bool v6;
	uint8_t a[16]; /* IPv4 in a[0..3] */
};

/** Parses a textual IPv4 or IPv6 address; returns 0 or -1. */
int spf_ip_parse(const char *s, struct spf_ip *ip);

/* ---- records ---- */

enum spf_kind {
	SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS,
	SPF_REDIRECT, SPF_EXP, SPF_UNKNOWN_MOD,
};

/** One term; slices borrow from the record text. */
struct spf_term {
	enum spf_kind kind;
	char qual;            /* '+', '-', '~', '?' (mechanisms) */
	struct slice text;    /* the whole term as written */
	struct slice spec;    /* domain-spec / macro-string; empty if none */
	int cidr4, cidr6;     /* prefix lengths (32/128 when absent) */
	uint8_t net[16];      /* ip4/ip6 network */
};

/** A parsed record. */
struct spf_record {
	struct spf_term t[SPF_TERMS_MAX];
	size_t n;
	int redirect, exp; /* indexes of the modifiers or -1 */
};

/** Whether txt is an SPF record: "v=spf1" (any case) then a space or the end. */
bool spf_record_is_spf(struct slice txt);

/**
 * Parses an SPF record (RFC 7208 §4.5, §12 grammar) strictly: unknown
 * mechanisms, bad macros, bad CIDR lengths or addresses, duplicate
 * redirect/exp are errors. Returns 0, or -1 with *err a static reason.
 * r borrows txt.
 */
int spf_record_parse(struct slice txt, struct spf_record *r, const char **err);

/* ---- macros ---- */

/** Values macros expand to (RFC 7208 §7.2); strings borrowed. */
struct spf_macro_env {
	const char *sender;   /* <sender> local@domain */
	const char *domain;   /* <domain> being checked */
	const struct spf_ip *ip;
	const char *helo;
	const char *receiver; /* %{r}; "unknown" when NULL */
	int64_t now;          /* %{t} */
};

/**
 * Expands a macro-string into out (appending). exp allows the c, r, t macros
 * (explanations only). %{p} expands to "unknown" (no PTR validation is done
 * for it; RFC 7208 §5.5 discourages its use). Output beyond SPF_EXPAND_MAX is
 * an error. Returns 0 or -1 (syntax or size).
 */
int spf_macro_expand(struct slice in, const struct spf_macro_env *env, bool exp, struct buf *out);

/**
 * Turns an expanded domain-spec into a query name: drops a trailing dot and
 * removes labels on the left until it fits SPF_DOMAIN_MAX. Returns 0, or -1
 * when no valid name remains (empty label, label over 63 octets).
 */
int spf_macro_domain(struct buf *name);

/* ---- evaluation ---- */

/** Inputs of one check_host(); strings are copied by spf_eval_new. */
struct spf_request {
	struct spf_ip ip;
	const char *domain;   /* MAIL FROM domain, or the HELO name for a null path */
	const char *sender;   /* MAIL FROM address, or postmaster@<helo> */
	const char *helo;
	const char *receiver; /* our host name, for %{r} in explanations */
	int64_t now;          /* Unix seconds, for %{t} */
};

/** An evaluation in progress; opaque. */
struct spf_eval;

/** A new evaluation of req. */
struct spf_eval *spf_eval_new(const struct spf_request *req);
/** Frees ev (NULL is fine). */
void spf_eval_free(struct spf_eval *ev);
/** Starts: MAILAUTH_STEP_DNS with *q filled, or MAILAUTH_STEP_DONE. */
int spf_eval_start(struct spf_eval *ev, struct mailauth_dns_query *q);
/** Resumes with the answer to the last query; same convention. */
int spf_eval_answer(struct spf_eval *ev, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q);
/** The result (valid after DONE). */
enum spf_result spf_eval_result(const struct spf_eval *ev);
/** Why an error or none came about (static text), or NULL. */
const char *spf_eval_reason(const struct spf_eval *ev);
/** The matched mechanism as written in the top-level record, or "" (borrowed). */
const char *spf_eval_mechanism(const struct spf_eval *ev);
/** The expanded exp= explanation for a fail, or NULL (borrowed). */
const char *spf_eval_explanation(const struct spf_eval *ev);
/** DNS queries made, for metrics and tests. */
unsigned spf_eval_queries(const struct spf_eval *ev);

#endif
