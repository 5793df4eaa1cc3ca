/* DMARC (RFC 7489): policy record parser, organisational domains from a
 * Public Suffix List, identifier alignment and policy selection, as a
 * resumable engine that asks for TXT records through the mailauth DNS
 * interface. The outcome carries what an aggregate report needs
 * (reporting.md §6): policy domain, published policy, disposition,
 * aligned DKIM/SPF pass, override reason. */
#ifndef TERN_PROTO_DMARC_H
#define TERN_PROTO_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/dkim_verify.h"
#include "proto/mailauth_dns.h"
#include "proto/spf.h"

/** Most rua= / ruf= URIs kept from a record. */
#define DMARC_URIS_MAX 8
/** Longest URI kept. */
#define DMARC_URI_MAX 256
/** Longest DMARC record parsed. */
#define DMARC_RECORD_MAX 4096
/** Debian's publicsuffix package (docs/mailauth.md). */
#define DMARC_PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

/** Name of a policy / disposition ("none", "quarantine", "reject"). */
const char *dmarc_policy_name(enum dmarc_policy p);

struct dmarc_uri {
	char uri[DMARC_URI_MAX + 1];
	uint64_t max_size; /* "!size" in bytes, 0 when absent */
};

/** A parsed record. */
struct dmarc_record {
	enum dmarc_policy p, sp; /* sp defaults to p */
	bool adkim_strict, aspf_strict;
	int pct;          /* 0..100, default 100 */
	uint32_t ri;      /* seconds, default 86400 */
	char fo[16];      /* default "0" */
	struct dmarc_uri rua[DMARC_URIS_MAX], ruf[DMARC_URIS_MAX];
	size_t nrua, nruf;
};

/** Whether txt starts like a DMARC record ("v=DMARC1" then ';', WSP or end). */
bool dmarc_record_is_dmarc(struct slice txt);

/**
 * Parses a DMARC record (RFC 7489 §6.3-6.4). v=DMARC1 must be first. An
 * invalid or missing p= (or invalid sp=) is accepted as p=none only when rua=
 * holds a valid URI (§6.6.3); otherwise -1. Unknown tags are ignored, known
 * tags with bad values are errors. Returns 0, or -1 with *err (static).
 */
int dmarc_record_parse(struct slice txt, struct dmarc_record *r, const char **err);

/* ---- organisational domains ---- */

/** A loaded Public Suffix List; opaque, read-only after loading, shareable. */
struct dmarc_psl;

/** Builds a list from the text of public_suffix_list.dat (ASCII rules are used). */
struct dmarc_psl *dmarc_psl_parse(struct slice text);
/** Reads and parses a list file (start-up time); NULL if unreadable. */
struct dmarc_psl *dmarc_psl_load(const char *path);
/** Number of rules loaded. */
size_t dmarc_psl_count(const struct dmarc_psl *psl);
/** Frees a list (NULL is fine). */
void dmarc_psl_free(struct dmarc_psl *psl);

/**
 * Writes the organisational domain of domain (lower case, no trailing dot)
 * to out (cap >= MAILAUTH_NAME_MAX + 1): the public suffix plus one label,
 * or domain itself when it is a public suffix. With psl NULL, the public
 * suffix is taken to be the last label (so "a.b.example.com" gives
 * "example.com"; wrong for suffixes like co.uk: load the list).
 */
void dmarc_psl_orgdomain(const struct dmarc_psl *psl, const char *domain, char *out, size_t cap);

/* ---- evaluation ---- */

/** DMARC results (RFC 8601 §2.7.6 names). */
enum dmarc_status {
	DMARC_NONE,
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,
	DMARC_PERMERROR,
};

/** Name of a status ("pass", ...). */
const char *dmarc_status_name(enum dmarc_status s);

/** Inputs; everything is borrowed for the life of the evaluation. */
struct dmarc_input {
	const char *from_domain;  /* the single RFC5322.From domain; NULL: none or several (fails) */
	const struct dkim_result *dkim; /* verifier results */
	size_t ndkim;
	enum spf_result spf;      /* SPF result for spf_domain */
	const char *spf_domain;   /* MAIL FROM domain (HELO name for a null path) */
	unsigned pct_roll;        /* uniform random 0..99 from the caller, for pct= */
	const struct dmarc_psl *psl; /* NULL: last-two-labels rule */
};

/** What DMARC decided. */
struct dmarc_outcome {
	enum dmarc_status status;
	const char *reason;        /* static, or NULL */
	bool record_found;
	struct dmarc_record record;   /* valid when record_found */
	char policy_domain[MAILAUTH_NAME_MAX + 1]; /* where the record was found */
	char from_domain[MAILAUTH_NAME_MAX + 1];
	char org_domain[MAILAUTH_NAME_MAX + 1];    /* of from_domain */
	enum dmarc_policy policy;      /* the applicable p= or sp= */
	enum dmarc_policy disposition; /* what to do: policy after pct sampling; none on pass */
	bool sampled_out;              /* pct= lowered the disposition (OverrideReasons "sampled_out") */
	bool aligned_dkim_pass, aligned_spf_pass;
	char dkim_domain[MAILAUTH_NAME_MAX + 1];   /* first aligned passing d= (header.d), or "" */
};

/** An evaluation in progress; opaque. */
struct dmarc_eval;

struct dmarc_eval *dmarc_eval_new(const struct dmarc_input *in);
/** Frees ev (NULL is fine). */
void dmarc_eval_free(struct dmarc_eval *ev);
/** Starts: MAILAUTH_STEP_DNS with *q (TXT _dmarc.<domain>), or MAILAUTH_STEP_DONE. */
int dmarc_eval_start(struct dmarc_eval *ev, struct mailauth_dns_query *q);
/** Resumes with the answer; same convention. At most two lookups are made. */
int dmarc_eval_answer(struct dmarc_eval *ev, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q);
/** The outcome (valid after DONE); borrowed from ev. */
const struct dmarc_outcome *dmarc_eval_outcome(const struct dmarc_eval *ev);

/**
 * Whether two domains align: equal (strict) or with the same organisational
 * domain (relaxed). Case-insensitive.
 */
bool dmarc_aligned(const struct dmarc_psl *psl, const char *a, const char *b, bool strict);

#endif
