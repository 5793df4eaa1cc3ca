/* Random identifiers for composed mail: Message-IDs
 * (`<base64url(16 random bytes)@hostname>`, smtp.md §13 step 9, webapi.md)
 * and the 22-character base64url ids used for FromIDs and MIME boundaries. */
#ifndef TERN_PROTO_MSGID_H
#define TERN_PROTO_MSGID_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Bytes of randomness in an id, and the length of its base64url text. */
#define MSGID_RANDOM_BYTES 16
#define MSGID_RANDOM_LEN 22

/**
 * Writes MSGID_RANDOM_LEN base64url characters of MSGID_RANDOM_BYTES bytes
 * from getrandom(2), and a NUL, into out. Panics if the kernel has no
 * randomness to give (it always has after boot).
 */
void msgid_random(char out[MSGID_RANDOM_LEN + 1]);

/** Appends a new `<random@hostname>` Message-ID (with the angle brackets). */
void msgid_new(const char *hostname, struct buf *out);

#endif
