/* Strict UTF-8 validation (RFC 3629) for protocol input.
 *
 * Overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points above
 * U+10FFFF, the bytes C0, C1 and F5..FF, and truncated sequences are invalid. */
#ifndef TERN_PROTO_UTF8_H
#define TERN_PROTO_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Decodes one code point at p (n > 0 bytes available). Returns the sequence
 *  length (1..4) and stores the code point in *cp, or -1 when the bytes at p do
 *  not start a valid, complete sequence. */
int utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/** Whether all n bytes are valid UTF-8 (NUL and controls are valid here). */
bool utf8_valid(const uint8_t *p, size_t n);

/** Whether the n bytes are valid UTF-8 and hold no control character:
 *  no C0 (0x00-0x1F), no DEL, no C1 (U+0080..U+009F). */
bool utf8_valid_text(const uint8_t *p, size_t n);

/** Whether all n bytes are ASCII (< 0x80). */
bool utf8_is_ascii(const uint8_t *p, size_t n);

#endif
