/* The Received header that Tern prepends to mail it accepts (smtp.md §15):
 * MX, submission and webapi forms. */
#ifndef TERN_PROTO_RECEIVED_H
#define TERN_PROTO_RECEIVED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

enum received_kind {
	RECEIVED_MX,         /**< from <ehlo> (<ptr> [<ip>]) by <hostname> ([<local-ip>]) */
	RECEIVED_SUBMISSION, /**< from <hostname> by <hostname> ([<local-ip>]); client hidden */
	RECEIVED_WEBAPI,     /**< from <hostname> by <hostname> id <id> [(TLS ...)] [for <rcpt>]; <date> */
};

/** A host name in both forms. unicode is NULL unless the name is an IDN. */
struct received_name {
	const char *ascii;
	const char *unicode;
};

/** Everything the header says. Strings are borrowed; NULL means absent. */
struct received_info {
	enum received_kind kind;
	struct received_name hostname; /**< our Hostname (by, and from on submission/webapi) */
	struct received_name ehlo;     /**< MX: the EHLO/HELO argument (domain or literal) */
	const char *ptr;               /**< MX: verified reverse name, or NULL */
	const char *client_ip;         /**< MX: textual client IP */
	const char *local_ip;          /**< SMTP: textual local IP, or NULL to leave out */
	bool helo;                     /**< HELO rather than EHLO: protocol SMTP */
	bool smtputf8;                 /**< SMTPUTF8 used: UTF8SMTP, IDN names in unicode */
	bool tls;                      /**< on TLS: protocol +S and the TLS comment */
	bool auth;                     /**< authenticated: protocol +A */
	bool requiretls;               /**< REQUIRETLS used: " (requiretls)" before id */
	const char *tls_version;       /**< e.g. "TLS1.3" (with tls) */
	const char *tls_cipher;        /**< e.g. "TLS_AES_128_GCM_SHA256" (with tls) */
	const char *id;                /**< the receivedid (SMTP) or queue/message id (webapi) */
	const char *rcpt;              /**< the recipient when there is exactly one, else NULL */
	int64_t now_ms;                /**< Unix ms for the date */
};

/**
 * Appends the complete `Received: ...` field, folded with CRLF TAB as in
 * smtp.md §15 and ending in CRLF. Names are written as given except that
 * bytes that could break the field (controls, space, parentheses, ';', '\\',
 * and non-ASCII unless smtputf8) become '?'; in the recipient (inside <>,
 * possibly a quoted local part) only controls and unexpected 8-bit bytes do. An IPv6 address is written
 * as an RFC 5321 literal `[IPv6:...]`.
 */
void received_compose(const struct received_info *ri, struct buf *out);

/** Appends the protocol keyword of RFC 3848/6531: SMTP|ESMTP|UTF8SMTP + S + A. */
void received_protocol(const struct received_info *ri, struct buf *out);

#endif
