/* DKIM tag=value lists (RFC 6376 §3.2), shared by signatures, key records and
 * (with the same grammar) DMARC records.
 *
 * The parser borrows: every slice points into the input. */
#ifndef TERN_PROTO_DKIM_TAG_H
#define TERN_PROTO_DKIM_TAG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/** Most tags in one list; more is an error (no real record comes close). */
#define DKIM_TAGS_MAX 48

/** Errors of dkim_tags_parse. */
enum {
	DKIM_TAGS_ESYNTAX = -1,  /* not a tag-list */
	DKIM_TAGS_EDUP = -2,     /* a tag appears twice (RFC 6376 §3.2: invalid) */
	DKIM_TAGS_ETOOMANY = -3, /* more than DKIM_TAGS_MAX tags */
};

/** One tag. value has surrounding FWS removed; raw_* delimit everything
 *  between '=' and the ';' (or end), surrounding FWS included, as offsets
 *  into the parsed input. */
struct dkim_tag {
	struct slice name;
	struct slice value;
	size_t raw_start, raw_end;
};

/** A parsed list; t[0..n) in input order. */
struct dkim_tags {
	size_t n;
	struct dkim_tag t[DKIM_TAGS_MAX];
};

/**
 * Parses in (a header field value or a TXT record) as a tag-list: FWS
 * (WSP, or CRLF/LF followed by WSP) allowed around names, '=' and values,
 * tag names ALPHA *(ALPHA / DIGIT / "_"), values of VALCHAR (%x21-3A /
 * %x3C-7E) runs separated by FWS, optional trailing ';'.
 * Returns 0 or a DKIM_TAGS_E* error.
 */
int dkim_tags_parse(struct slice in, struct dkim_tags *out);

/** The tag named name (case-sensitive, as RFC 6376 says), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *tags, const char *name);

/** Appends value to out with all whitespace (WSP, CR, LF) removed: for base64 and h= values. */
void dkim_tags_strip_ws(struct slice value, struct buf *out);

#endif
