/* Outbound message data framing: DATA dot-stuffing and the CRLF check shared with BDAT.
 *
 * Tern stores messages with CRLF line endings only (smtp.md §5 normalises on the way
 * in), and queue.md §11.4 says Tern never sends a bare CR or LF. So a bare CR or LF in
 * stored data is an internal error here, not something to repair: repairing would
 * change the bytes that DKIM signed. The caller fails the delivery temporarily (the
 * data is not sent, or, if part of it was, the connection is dropped without the
 * final dot so the remote never accepts a truncated message). */
#ifndef TERN_PROTO_DOTSTUFF_H
#define TERN_PROTO_DOTSTUFF_H

#include <stdbool.h>

#include "core/buf.h"

/** Encoder state carried across slices; the message may arrive in any pieces. */
struct dotstuff {
	bool bol;  /* at the beginning of a line */
	bool cr;   /* the previous byte was CR */
	bool bad;  /* a bare CR or LF was seen */
};

/** Starts a message (at the beginning of a line). */
void dotstuff_init(struct dotstuff *d);

/** Appends `in` to out with a '.' added before every line that starts with '.'.
 * Returns 0, or -1 when `in` holds a bare CR or LF (out then holds a partial
 * encoding that must not be sent as a complete message). */
int dotstuff_encode(struct dotstuff *d, struct slice in, struct buf *out);

/** Checks `in` for bare CR or LF without encoding (BDAT sends the data as is).
 * Returns 0 or -1 like dotstuff_encode. */
int dotstuff_check(struct dotstuff *d, struct slice in);

/** Appends the end-of-data marker: ".\r\n" after a complete last line, or
 * "\r\n.\r\n" when the data did not end with CRLF. Returns -1 (nothing appended)
 * when the data ended with a bare CR or an earlier bare CR/LF was seen. */
int dotstuff_finish(struct dotstuff *d, struct buf *out);

/** Ends a checked (BDAT) message: returns -1 when it ended with a bare CR or held a
 * bare CR/LF, else 0. Data that does not end with CRLF is sent as is over BDAT (the
 * chunk sizes are fixed before the last bytes are seen). */
int dotstuff_check_end(const struct dotstuff *d);

#endif
