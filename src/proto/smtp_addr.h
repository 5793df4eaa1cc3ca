/* RFC 5321 envelope paths and mailboxes (with RFC 6531 SMTPUTF8 extensions).
 *
 * A parsed address keeps the localpart decoded (quotes and quoted-pairs
 * removed) but otherwise byte-exact, case preserved; the domain is kept as sent
 * (address literals with their brackets). Output re-quotes the localpart when it
 * is not a dot-string, so "a@b"@c never turns into another address or a route. */
#ifndef TERN_PROTO_SMTP_ADDR_H
#define TERN_PROTO_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/** Longest accepted localpart, in octets as sent (quotes included). */
#define SMTP_ADDR_LOCAL_MAX 255
/** Longest accepted domain or address literal, in octets. */
#define SMTP_ADDR_DOMAIN_MAX 255
/** Longest domain label, in octets. */
#define SMTP_ADDR_LABEL_MAX 63

/** Parse results (0 is success). */
enum smtp_addr_err {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ESYNTAX = -1, /**< no '<' or no '>' where the path should end: 501 5.5.4 */
	SMTP_ADDR_EBAD = -2,    /**< bad address inside the brackets: 501 5.1.7 / 5.1.3 */
	SMTP_ADDR_ELONG = -3,   /**< localpart or domain over 255 octets, label over 63 */
};

/** Flags for smtp_addr_parse_path() and smtp_addr_domain_valid(). */
enum smtp_addr_flags {
	SMTP_ADDR_ALLOW_NULL = 1,       /**< accept "<>" (MAIL FROM) */
	SMTP_ADDR_ALLOW_POSTMASTER = 2, /**< accept "<postmaster>" without domain (RCPT TO) */
	SMTP_ADDR_ALLOW_UNDERSCORE = 4, /**< domain labels may hold '_' (EHLO names) */
	SMTP_ADDR_ASCII_ONLY = 8,       /**< domain must be ASCII */
};

/** A parsed address. Owns local and domain (NUL-terminated copies; the
 *  lengths are authoritative). A null path has null=true and empty strings. */
struct smtp_addr {
	bool null;      /**< the null path <> */
	bool literal;   /**< domain is an address literal ([IPv4] or [IPv6:...]) */
	bool utf8;      /**< localpart or domain holds non-ASCII bytes */
	bool quoted;    /**< localpart was sent as a quoted-string */
	char *local;    /**< decoded localpart */
	size_t local_len;
	char *domain;   /**< domain as sent; "" for a bare <postmaster> */
	size_t domain_len;
};

/** Parses a path "<...>" at the start of in (source routes accepted and
 *  dropped). On success fills *out (caller frees with smtp_addr_free) and sets
 *  *used to the octets consumed, up to and including '>'. On error *out is left
 *  empty (freeable). Non-ASCII is accepted (valid UTF-8, no controls) and flagged
 *  in out->utf8 so the caller can apply SMTPUTF8 rules. */
int smtp_addr_parse_path(struct slice in, unsigned flags, struct smtp_addr *out, size_t *used);

/** Whether in is a valid domain name: LDH labels of 1..63 octets (UTF-8
 *  U-label bytes allowed unless SMTP_ADDR_ASCII_ONLY), at most 255 octets, no
 *  trailing dot. */
bool smtp_addr_domain_valid(struct slice in, unsigned flags);

/** Whether in is a valid address literal "[a.b.c.d]" or "[IPv6:...]". */
bool smtp_addr_literal_valid(struct slice in);

/** Whether the localpart can be written without quotes (a dot-string). */
bool smtp_addr_local_is_dotstring(const char *local, size_t len);

/** Appends "local@domain" to out, quoting the localpart when needed; a null
 *  path appends nothing, a bare postmaster appends just the localpart. */
void smtp_addr_format(const struct smtp_addr *a, struct buf *out);

/** Same address: byte-equal localparts, ASCII case-insensitive domains. */
bool smtp_addr_same(const struct smtp_addr *a, const struct smtp_addr *b);

/** Deep copy of src into *dst (caller frees dst). */
void smtp_addr_copy(struct smtp_addr *dst, const struct smtp_addr *src);

/** Frees the strings and leaves an empty address. */
void smtp_addr_free(struct smtp_addr *a);

#endif
