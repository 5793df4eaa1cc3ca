/* RFC 2047 encoded-words (`=?utf-8?q?caf=C3=A9?=`) in Subject and display names.
 *
 * Decoding turns encoded-words in the utf-8, us-ascii, iso-8859-1 (latin1) and
 * windows-1252 charsets into UTF-8; words in other charsets, and malformed
 * words, stay as they were. Encoding writes UTF-8 as Q-encoded words. */
#ifndef TERN_PROTO_RFC2047_H
#define TERN_PROTO_RFC2047_H

#include "core/buf.h"

/** Longest encoded-word the decoder accepts (RFC 2047 says 75; real mail is
 *  sloppier). Longer `=?...?=` runs are copied verbatim. */
#define RFC2047_WORD_MAX 4096

/**
 * Appends in to out with encoded-words decoded to UTF-8. Whitespace (folds
 * included) between two adjacent encoded-words is dropped, as RFC 2047 §6.2
 * says. Bytes of a decoded word that are not valid in its charset become
 * U+FFFD, so decoded text is valid UTF-8; text outside encoded-words is copied
 * unchanged. Appends at most 3 * in.len bytes. Linear time.
 */
void rfc2047_decode(struct slice in, struct buf *out);

/**
 * Appends text (UTF-8) to out for an unstructured header value or a display
 * name: verbatim when it is printable ASCII, otherwise as `=?utf-8?q?...?=`
 * words of at most 75 characters joined by CRLF SP (a fold). Multi-byte
 * characters are never split between words.
 */
void rfc2047_encode(struct slice text, struct buf *out);

#endif
