/* SMTP replies as an outbound client reads them (queue.md §11.7, badinput.md #53, #61).
 *
 * A streaming, strict parser: bytes go in as they arrive, whole replies come out.
 * Memory is bounded whatever the server sends: each line keeps at most
 * SMTP_REPLY_LINE_MAX octets (the rest is dropped), a reply has at most
 * SMTP_REPLY_LINES_MAX lines, and a single line longer than SMTP_REPLY_RAW_LINE_MAX
 * octets is an error rather than an endless discard. Every kept byte outside
 * printable ASCII (0x20-0x7e) is replaced by '?', so reply text can go into logs,
 * JSON, DSNs and MsgResult.Error as is. */
#ifndef TERN_PROTO_SMTP_REPLY_H
#define TERN_PROTO_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Octets kept per reply line, code included, CRLF excluded; longer lines are truncated. */
#define SMTP_REPLY_LINE_MAX 2048
/** Lines per reply; one more is a malformed reply. */
#define SMTP_REPLY_LINES_MAX 100
/** Octets of one line (before truncation) beyond which the reply is malformed. */
#define SMTP_REPLY_RAW_LINE_MAX (1024 * 1024)
/** Size of an enhanced status code buffer: "5.123.123" plus NUL. */
#define SMTP_REPLY_ECODE_MAX 10
/** Octets of the one-line summary (smtp_reply_summary) before it is cut with "...". */
#define SMTP_REPLY_SUMMARY_MAX 2048

/** One complete reply. Reference counted so that one reply can be the result of many
 * recipients; single-threaded use only. */
struct smtp_reply {
	int code;                         /* 200..559 */
	char ecode[SMTP_REPLY_ECODE_MAX]; /* enhanced status code of the first line, or "" */
	size_t nlines;                    /* 1..SMTP_REPLY_LINES_MAX */
	char **lines;                     /* sanitised full lines ("250-text"), no CRLF, NUL-terminated */
	unsigned refs;
};

/** Incremental parser state; embed it and use smtp_reply_parser_init. */
struct smtp_reply_parser {
	struct smtp_reply *cur; /* reply being assembled, or NULL */
	size_t linelen;         /* octets kept in line[] */
	size_t rawlen;          /* octets seen in the current line */
	bool cr;                /* a CR was seen and not yet matched with LF */
	const char *err;        /* static description after a parse error */
	char line[SMTP_REPLY_LINE_MAX + 1];
};

/** Initialises an empty parser (no allocation). */
void smtp_reply_parser_init(struct smtp_reply_parser *p);
/** Drops any partial reply and error, ready for a fresh stream (e.g. after STARTTLS). */
void smtp_reply_parser_reset(struct smtp_reply_parser *p);
/** Frees the partial reply, if any. */
void smtp_reply_parser_free(struct smtp_reply_parser *p);
/** Whether no byte of an unfinished reply is held. */
bool smtp_reply_parser_idle(const struct smtp_reply_parser *p);

/** Consumes bytes from in[0..len) up to the end of at most one reply.
 * Returns 1 when a reply completed: *out is a new reply with one reference, owned by the
 * caller, and *used says how many bytes were consumed (the rest belongs to later replies).
 * Returns 0 when all len bytes were consumed without completing a reply.
 * Returns -1 on a malformed reply (bad code, mixed codes, bare LF, too many lines, endless
 * line): p->err describes it, *used is unspecified, and the parser must be reset before reuse. */
int smtp_reply_parse(struct smtp_reply_parser *p, const uint8_t *in, size_t len, size_t *used,
                     struct smtp_reply **out);

/** Parses a whole string that must hold exactly one complete reply (tests, fixed texts).
 * Returns the reply (caller owns one reference) or NULL. */
struct smtp_reply *smtp_reply_parse_str(const char *s);

/** Adds a reference; returns r. */
struct smtp_reply *smtp_reply_ref(struct smtp_reply *r);
/** Drops a reference and frees the reply with the last one. NULL is ignored. */
void smtp_reply_unref(struct smtp_reply *r);

/** Text of line i after "NNN-"/"NNN " ("" for a bare "NNN"). Borrowed from r. */
const char *smtp_reply_text(const struct smtp_reply *r, size_t i);

/** Appends "<code> [<ecode> ]<text>" to out: the text of every line joined with spaces,
 * each line's repeated enhanced code dropped, at most SMTP_REPLY_SUMMARY_MAX octets
 * (then ending in "..."). This is the form MsgResult.Error uses after "remote: ". */
void smtp_reply_summary(const struct smtp_reply *r, struct buf *out);

/** Whether s starts with an enhanced status code "c.s.d" of class `cls` ('2', '4', '5')
 * followed by a space or the end; *n gets its length. */
bool smtp_reply_ecode_at(const char *s, char cls, size_t *n);

#endif
