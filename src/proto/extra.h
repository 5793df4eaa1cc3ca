/* Submission header rules of smtp.md §13: X-Tern-Extra-<Key> application data
 * (step 6) and the TLS-Required header (step 8). */
#ifndef TERN_PROTO_EXTRA_H
#define TERN_PROTO_EXTRA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/** Header name prefix of extra data (matched case-insensitively). */
#define EXTRA_PREFIX "X-Tern-Extra-"

/** Duplicate key; the reply is `554 5.6.0 <err_desc>`. */
#define EXTRA_EDUP (-1)
/** A TLS-Required header with a value other than `no`. */
#define EXTRA_TLSREQ_EINVAL (-2)

/** One key/value pair; both strings owned by the enclosing struct extra. */
struct extra_item {
	char *key;
	char *value;
};

/** Extra data in header order. Zero-initialise; free with extra_free. */
struct extra {
	struct extra_item *v;
	size_t n;
	size_t cap;
};

/**
 * Collects every well-formed `X-Tern-Extra-<Key>` field of header (a header
 * section) into out, in order: the key canonicalised (extra_canon), the value
 * unfolded and trimmed. Fields with an empty key are ignored. Returns 0, or
 * EXTRA_EDUP when two fields give the same key: then err_desc gets
 * `duplicate x-tern-extra- key "<Key>"` (for `554 5.6.0 ...`), naming the key
 * of the earliest field that repeats an earlier one, and out is emptied.
 * O(n log n) in the number of extra fields.
 */
int extra_parse(struct slice header, struct extra *out, struct buf *err_desc);

/** Frees all items; leaves an empty struct. */
void extra_free(struct extra *e);

/** The value for key (exact match on the canonical key), or NULL. */
const char *extra_get(const struct extra *e, const char *key);

/**
 * Appends name canonicalised: the first letter and every letter after a '-'
 * upper case, all other letters lower case (`user-id` -> `User-Id`).
 */
void extra_canon(struct slice name, struct buf *out);

/**
 * RequireTLS of smtp.md §13 step 8 from the header and the MAIL parameter:
 * *require_tls = 1 with REQUIRETLS; else 0 when TLS-Required headers are
 * present (all `no`, case-insensitive, trimmed); else -1 (null: follow the
 * recipient domain's policy). Returns 0, or EXTRA_TLSREQ_EINVAL when any
 * TLS-Required header has another value (*require_tls is then set as if there
 * were no TLS-Required header at all). smtp.md gives no reply text for that case.
 */
int extra_require_tls(struct slice header, bool mail_requiretls, int *require_tls);

#endif
