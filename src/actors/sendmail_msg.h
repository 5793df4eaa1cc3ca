/* The message `tern sendmail` submits: stdin turned into a CRLF message with
 * the configured From: (README "The binary"). Pure functions, no I/O. */
#ifndef TERN_ACTORS_SENDMAIL_MSG_H
#define TERN_ACTORS_SENDMAIL_MSG_H

#include <stdbool.h>

#include "core/buf.h"
#include "proto/rfc5322_addr.h"

/** What to do to the message. Strings are borrowed. */
struct sendmail_msg_opts {
	const char *from;      /* address for From: (localpart@domain) */
	const char *from_name; /* -F display name, NULL or "" for none */
	bool tls_required_no;  /* add `TLS-Required: No` (RequireTLS: no) */
	bool collect_to;       /* -t: return the To: addresses */
};

/** Appends the submission form of in to out:
 *  - line endings become CRLF (LF and lone CR alike);
 *  - a leading mbox `From ` line is dropped;
 *  - the header ends at the first empty line or at the first line that is not
 *    a header field (then an empty line is inserted before it), so input
 *    without any header is all body;
 *  - every From: field is removed and `From: [name] <from>` put first (a
 *    non-ASCII name RFC 2047-encoded, others quoted);
 *  - with tls_required_no, TLS-Required fields are replaced by `TLS-Required: No`.
 * With collect_to, the mailboxes of every To: field are appended to to; a
 * field of bare local names (`To: root`) gives entries with an empty domain.
 * *has8bit (may be NULL) is set when the result holds a byte >= 0x80.
 * Returns 0, or -1 with a message in err (a To: that does not parse). */
int sendmail_msg_prepare(struct slice in, const struct sendmail_msg_opts *o, struct buf *out,
                         struct rfc5322_addr_list *to, bool *has8bit, struct buf *err);

#endif
