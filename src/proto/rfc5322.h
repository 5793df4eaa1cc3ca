/* RFC 5322 header section: split a message into header and body, iterate the
 * fields, unfold values, count and find fields, pull out message IDs.
 *
 * Everything works on borrowed, length-delimited bytes (struct slice); nothing
 * is allocated except where a struct buf is passed in. Line endings are CRLF
 * in Tern's stored data; a lone LF is also accepted as a line ending so that
 * the parser can be used on any bytes without surprises. */
#ifndef TERN_PROTO_RFC5322_H
#define TERN_PROTO_RFC5322_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Header section cap (smtp.md §11): bytes before the empty line. */
#define RFC5322_HEADER_MAX ((size_t)1024 * 1024)

/** Return code of rfc5322_split: header section over RFC5322_HEADER_MAX. */
#define RFC5322_ETOOLARGE (-1)

/** A message split at the first empty line. Both slices borrow from the message. */
struct rfc5322_split {
	/** The fields, each with its line ending; the empty line is not included. */
	struct slice header;
	/** Everything after the empty line; empty when there is no body. */
	struct slice body;
	/** Whether an empty line was found (a message may have no body at all). */
	bool has_sep;
};

/**
 * Splits msg at the first empty line (CRLF CRLF, or a message that starts
 * with CRLF). Without an empty line the whole message is header.
 * Returns 0, or RFC5322_ETOOLARGE when the header section exceeds
 * RFC5322_HEADER_MAX; only about that many bytes are ever examined.
 */
int rfc5322_split(struct slice msg, struct rfc5322_split *out);

/** One header field; every slice borrows from the header section. */
struct rfc5322_field {
	/** The name before the colon, trailing WSP removed (`Subject : x` gives
	 *  `Subject`). For a malformed line without colon: the whole first line. */
	struct slice name;
	/** Everything after the colon up to the field's final line ending, folds
	 *  (line ending + WSP) included. Empty for a malformed line. */
	struct slice value;
	/** The whole field: first line, continuation lines, final line ending. */
	struct slice raw;
	/** No colon on the first line, an empty name, a name with bytes outside
	 *  printable ASCII, or continuation lines before the first field. */
	bool malformed;
};

/** Iterator over the fields of a header section (no allocation). */
struct rfc5322_iter {
	struct slice hdr;
	size_t off;
};

/** Starts iterating header (as from rfc5322_split, borrowed for the iteration). */
void rfc5322_iter_init(struct rfc5322_iter *it, struct slice header);

/** Sets *f to the next field; returns false at the end. Linear in the input. */
bool rfc5322_iter_next(struct rfc5322_iter *it, struct rfc5322_field *f);

/**
 * Appends value to out with folds removed (a line ending followed by WSP
 * loses the line ending, the WSP stays). With trim, leading and trailing WSP
 * are dropped as well. Stray line endings are removed too.
 */
void rfc5322_unfold(struct slice value, bool trim, struct buf *out);

/** Number of well-formed fields named name (ASCII case-insensitive). */
size_t rfc5322_count(struct slice header, const char *name);

/** Finds the first well-formed field named name; returns whether found. */
bool rfc5322_find(struct slice header, const char *name, struct rfc5322_field *f);

/**
 * Next `<...>` message ID in a Message-ID / References / In-Reply-To value,
 * starting at *off; comments and whitespace between IDs are skipped. Sets
 * *id (with the angle brackets, borrowed) and advances *off. Returns false
 * when there are no more. IDs containing whitespace or line breaks are skipped.
 */
bool rfc5322_msgid_next(struct slice value, size_t *off, struct slice *id);

/**
 * Parses an RFC 5322 date-time (Date header value; day-of-week optional,
 * obsolete 2/3-digit years and named zones accepted, comments skipped) into
 * Unix ms. Returns 0, or -1 for anything that is not a valid date (the
 * webhook then reports null). Implemented in rfc5322_date.c.
 */
int rfc5322_date_parse(struct slice value, int64_t *unix_ms);

/**
 * Decodes one UTF-8 sequence at p (n > 0 bytes available) into *cp and
 * returns its length (1-4), or 0 when the bytes are not valid UTF-8
 * (overlong, surrogate, above U+10FFFF, truncated, stray continuation).
 * RFC 6532 headers and SMTPUTF8 addresses are checked with this.
 */
size_t rfc5322_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

/** Whether s is entirely valid UTF-8 (ASCII included). */
bool rfc5322_utf8_valid(struct slice s);

/** Appends code point cp (<= 0x10FFFF, not a surrogate) as UTF-8. */
void rfc5322_utf8_put(struct buf *out, uint32_t cp);

#endif
