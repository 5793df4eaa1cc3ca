/* RFC 3461 §4 xtext: the encoding of DSN ENVID/ORCPT values and of the MAIL
 * AUTH= parameter.
 *
 * xtext = *( xchar / hexchar ); xchar is any byte 33..126 except '+' and '=';
 * hexchar is '+' followed by exactly two UPPER-case hex digits. Anything else
 * (bytes outside 33..126, a raw '=', '+' not followed by two upper-case hex
 * digits, a trailing '+') is invalid. */
#ifndef TERN_PROTO_XTEXT_H
#define TERN_PROTO_XTEXT_H

#include <stdbool.h>

#include "core/buf.h"

/** Whether in is valid xtext (the empty string is valid). */
bool xtext_valid(struct slice in);

/** Decodes valid xtext in, appending the decoded bytes to out (which the caller
 *  owns). Returns 0, or -1 on invalid xtext (out then holds a partial value the
 *  caller discards). The decoded value may hold any byte, NUL included. */
int xtext_decode(struct slice in, struct buf *out);

/** Appends the xtext encoding of in to out: bytes 33..126 other than '+' and
 *  '=' as-is, everything else as '+' and two upper-case hex digits. */
void xtext_encode(struct slice in, struct buf *out);

#endif
