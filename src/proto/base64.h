/* Base64 (RFC 4648 §4) and base64url (§5) with a strict decoder.
 *
 * Used by AUTH (SMTP 334 / IMAP "+" lines, SCRAM attributes), received IDs and
 * stored-secret dumps. The decoder accepts exactly one encoding per byte string
 * (badinput.md #39), so it can sit directly on network input. */
#ifndef TERN_PROTO_BASE64_H
#define TERN_PROTO_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Errors returned by the decoders (0 is success). */
enum {
	BASE64_ERR_CHAR = -1,    /* a byte outside the alphabet (space, CR, NUL, ...) */
	BASE64_ERR_LENGTH = -2,  /* impossible length (4n+1, or unpadded where padding is required) */
	BASE64_ERR_PADDING = -3, /* '=' in the wrong place or count, or padding where none is allowed */
	BASE64_ERR_BITS = -4,    /* the unused low bits of the last symbol are not zero */
	BASE64_ERR_SPACE = -5,   /* the output does not fit the caller's array */
};

/** Length of the padded standard encoding of n bytes. */
size_t base64_encoded_len(size_t n);
/** Upper bound of the decoded length of an n-character input. */
size_t base64_decoded_max(size_t n);

/** Appends the standard, padded encoding of in to out. */
void base64_encode(struct buf *out, struct slice in);
/** Appends the base64url encoding of in to out, without padding. */
void base64url_encode(struct buf *out, struct slice in);

/**
 * Strictly decodes standard, padded base64 and appends the bytes to out.
 * Rejects characters outside the alphabet (including spaces and line breaks),
 * lengths that are not a multiple of 4, misplaced or excess '=' (`QQ=`, `====`,
 * `Q===`) and non-zero padding bits. The empty input decodes to nothing.
 * Returns 0 or a BASE64_ERR_*; on error out->len is unchanged.
 */
int base64_decode(struct buf *out, struct slice in);
/** Like base64_decode for base64url without padding (length 4n+1 and any '=' rejected). */
int base64url_decode(struct buf *out, struct slice in);

/**
 * Strict standard decode into a caller array of cap bytes (for fixed-size
 * values such as SCRAM proofs). On success sets *outlen and returns 0;
 * BASE64_ERR_SPACE when the result would not fit. The array is untouched on error.
 */
int base64_decode_to(uint8_t *out, size_t cap, size_t *outlen, struct slice in);

#endif
