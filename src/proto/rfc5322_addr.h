/* RFC 5322 address lists (From, To, Cc, Reply-To): display names, quoted
 * strings, comments, groups, angle addresses, the obsolete forms, and
 * RFC 6532 UTF-8 addresses when allowed. */
#ifndef TERN_PROTO_RFC5322_ADDR_H
#define TERN_PROTO_RFC5322_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/** Flag: allow non-ASCII (UTF-8) local parts and domains (SMTPUTF8). */
#define RFC5322_ADDR_UTF8 0x1u
/** Flag: a mailbox-list (From, Sender): group syntax is an error. */
#define RFC5322_ADDR_NOGROUP 0x2u

/** Most addresses one call accepts; more is RFC5322_ADDR_ETOOMANY. */
#define RFC5322_ADDR_MAX 10000
/** Longest local part and domain, in octets (smtp.md §11). */
#define RFC5322_ADDR_PART_MAX 255

#define RFC5322_ADDR_ESYNTAX (-1)  /**< not an address list */
#define RFC5322_ADDR_ETOOMANY (-2) /**< more than RFC5322_ADDR_MAX addresses */
#define RFC5322_ADDR_ECOUNT (-3)   /**< not exactly one From field / mailbox */

/** One parsed mailbox. All strings are NUL-terminated and owned by it. */
struct rfc5322_addr {
	/** Display name, unquoted, RFC 2047-decoded, valid UTF-8 (invalid bytes
	 *  become U+FFFD); "" when there is none. */
	char *name;
	/** Local part without quoting or escapes, byte-exact and case kept. */
	char *localpart;
	/** Domain, ASCII letters lower-cased; a domain literal keeps its brackets. */
	char *domain;
	/** `localpart@domain`, the local part re-quoted when it is not a dot-atom. */
	char *address;
	/** Whether the local part or the domain holds non-ASCII bytes. */
	bool utf8;
};

/** A growable array of addresses; owns every entry. Zero-initialise it. */
struct rfc5322_addr_list {
	struct rfc5322_addr *v;
	size_t n;
	size_t cap;
};

/**
 * Parses an address-list field value (folds allowed, as from
 * struct rfc5322_field.value) and appends its mailboxes to out; group members
 * are appended in place of their group, empty groups add nothing. Flags:
 * RFC5322_ADDR_UTF8, RFC5322_ADDR_NOGROUP. Returns the number of mailboxes
 * appended (>= 0) or a negative RFC5322_ADDR_E* code, in which case out
 * holds the same entries as before (its array may have grown). Linear in the
 * input; no recursion.
 */
int rfc5322_addr_list_parse(struct slice value, unsigned flags, struct rfc5322_addr_list *out);

/** Frees every entry and the array; leaves an empty list. */
void rfc5322_addr_list_free(struct rfc5322_addr_list *l);

/** Frees the strings of one address. */
void rfc5322_addr_free(struct rfc5322_addr *a);

/**
 * The submission From check (smtp.md §13 step 2): header (a header section)
 * must have no malformed line and exactly one From field holding exactly one
 * mailbox (no group). On success fills *out (caller frees with
 * rfc5322_addr_free) and returns 0; else RFC5322_ADDR_ESYNTAX (bad header or
 * From syntax) or RFC5322_ADDR_ECOUNT (zero or several From addresses).
 */
int rfc5322_addr_from(struct slice header, unsigned flags, struct rfc5322_addr *out);

/** Appends localpart to out, quoted (`"a b"@`) when it is not a dot-atom. */
void rfc5322_addr_put_localpart(struct buf *out, const char *localpart);

#endif
