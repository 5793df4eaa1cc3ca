/* Authentication-Results header composition (RFC 8601) from the results of
 * the DKIM, SPF and DMARC engines and iprev, plus recognising our own
 * (possibly forged) Authentication-Results fields in incoming mail. */
#ifndef TERN_PROTO_AUTHRES_H
#define TERN_PROTO_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "proto/dkim_verify.h"
#include "proto/dmarc.h"
#include "proto/spf.h"

/** Fold lines before they pass this many columns. */
#define AUTHRES_LINE_MAX 78
/** Longest comment kept (longer ones are cut). */
#define AUTHRES_COMMENT_MAX 200

/** One property: ptype.property=value (e.g. "header", "d", "example.com"). */
struct authres_prop {
	const char *ptype;
	const char *name;
	const char *value;
};

/** A header being built; owns its buffer. */
struct authres {
	struct buf b;
	size_t col;
	size_t n; /* resinfo entries added */
};

/** Starts `Authentication-Results: <authserv_id>;` (authserv_id is our host name). */
void authres_init(struct authres *ar, const char *authserv_id);
/**
 * Adds one resinfo: method=result [(comment)] props... Values that are not
 * RFC 2045 tokens or addresses are written as quoted strings; comments have
 * (, ) and \ escaped and non-printable bytes dropped. Any string may be NULL
 * except method and result.
 */
void authres_add(struct authres *ar, const char *method, const char *result, const char *comment,
                 const struct authres_prop *props, size_t nprops);
/** dkim=<result> with header.d/.s/.i/.a/.b; l= content beyond the signed length is noted in the comment. */
void authres_add_dkim(struct authres *ar, const struct dkim_result *r);
/** spf=<result> with smtp.mailfrom (or smtp.helo when mailfrom is NULL or empty). */
void authres_add_spf(struct authres *ar, enum spf_result r, const char *mailfrom, const char *helo,
                     const char *comment);
/** dmarc=<result> (p=.. dis=..) header.from=<domain>. */
void authres_add_dmarc(struct authres *ar, const struct dmarc_outcome *o);
/** iprev=<result> policy.iprev=<ip> (<name>). */
void authres_add_iprev(struct authres *ar, const char *result, const char *ip, const char *name);
/** Appends the finished field with CRLF to out (`none` when nothing was added) and frees ar. */
void authres_finish(struct authres *ar, struct buf *out);

/**
 * Whether an Authentication-Results field value (after the colon) names
 * authserv_id (ASCII case-insensitive), i.e. claims to come from us: such
 * fields in incoming mail must be removed (RFC 8601 §5).
 */
bool authres_is_ours(struct slice value, const char *authserv_id);

#endif
