/* DKIM message handling below signatures: splitting a message into header
 * fields and body, choosing the fields an h= list names, and the simple and
 * relaxed canonicalisations of RFC 6376 §3.4.
 *
 * Messages are CRLF text (Tern's stored form). A bare LF is also taken as a
 * line ending and canonicalised to CRLF, so that signer and verifier agree on
 * any input; a bare CR is ordinary content. */
#ifndef TERN_PROTO_DKIM_CANON_H
#define TERN_PROTO_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/dkim_crypto.h"

/** Most header fields in a message we sign or verify (smtp.md caps the
 *  header section at 1 MB; this bounds the per-message index). */
#define DKIM_MSG_FIELDS_MAX 10000

/** One header field; slices borrow from the message. */
struct dkim_field {
	struct slice raw;   /* the whole field including its final line ending */
	struct slice name;  /* before the colon, trailing WSP removed */
	struct slice value; /* after the colon up to (not incl.) the final line ending */
};

/** A message split for DKIM; fields[] is owned, the slices borrow msg. */
struct dkim_msg {
	struct dkim_field *f;
	size_t n;
	struct slice body; /* after the empty line; empty if none */
};

/**
 * Splits msg into header fields and body. Fields without a colon are kept as
 * fields whose name is the whole field without its final line ending (so only
 * a bare name such as "Subject" matches an h= name; its value is empty).
 * Returns 0, or -1 when there are more than DKIM_MSG_FIELDS_MAX fields.
 * Free with dkim_msg_free; msg must outlive the result.
 */
int dkim_msg_parse(struct slice msg, struct dkim_msg *m);
/** Frees the field index. */
void dkim_msg_free(struct dkim_msg *m);

/**
 * Header selection (RFC 6376 §5.4.2): for each name in names (n of them),
 * the last not yet used field of that name, searching upwards; sel[i] is the
 * field index or -1 when none is left (a non-existent field is signed as
 * empty). used (m->n bools, caller-zeroed) tracks what is taken.
 */
void dkim_msg_select(const struct dkim_msg *m, const struct slice *names, size_t n, long *sel,
                     bool *used);

/**
 * Appends the canonical form of one field (name and value as in struct
 * dkim_field) to out, followed by CRLF when crlf is set.
 */
void dkim_canon_header(bool relaxed, struct slice name, struct slice value, bool crlf, struct buf *out);

/**
 * Canonicalises body and feeds it to h, at most limit octets of canonical
 * output when limit >= 0 (l=). Sets *total to the full canonical length
 * (which may exceed limit). Linear in the body; allocates nothing.
 */
void dkim_canon_body(bool relaxed, struct slice body, int64_t limit, struct dkim_hash *h, uint64_t *total);

#endif
