/* Message data reader for DATA and BDAT (smtp.md §5; badinput.md #1, #2, #5-#7,
 * #31, #37, #47, #50).
 *
 * Two layers: the DATA layer finds the end (only CR LF "." CR LF, at the start
 * of a line) and undoes dot-stuffing; the content layer, shared with BDAT, keeps
 * the bytes and watches them as a stream: size limit (then read-and-discard),
 * bare CR / bare LF, NUL, header section size and the number of Received
 * headers. Problems are only remembered; smtp_data_finish() reports the first
 * one in the §5 order once the client has sent the whole message. */
#ifndef TERN_PROTO_SMTP_DATA_H
#define TERN_PROTO_SMTP_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/** Default header section limit (1 MiB). */
#define SMTP_DATA_HEADER_MAX (1024 * 1024)
/** Default most Received headers accepted (50 or more is a loop). */
#define SMTP_DATA_HOPS_MAX 49
/** Longest header name examined for "Received". */
#define SMTP_DATA_NAME_MAX 12

/** Limits of one message. */
struct smtp_data_limits {
	uint64_t max_size;   /**< SMTPMaxMessageSize, content octets */
	uint64_t header_max; /**< header section octets */
	unsigned hops_max;   /**< Received headers */
};

/** Verdicts of smtp_data_finish(), in the order they are checked. */
enum smtp_data_verdict {
	SMTP_DATA_OK = 0,
	SMTP_DATA_TOO_BIG,    /**< 552 5.3.4 message too large */
	SMTP_DATA_BARE_EOL,   /**< 500 5.5.2 invalid bare \r or \n, may be smtp smuggling */
	SMTP_DATA_NUL,        /**< 554 5.6.0 message contains NUL byte */
	SMTP_DATA_HEADER_BIG, /**< 554 5.6.0 header section too large */
	SMTP_DATA_HOPS,       /**< 554 5.4.0 too many hops */
};

/** Reader state. Owns msg. */
struct smtp_data {
	struct smtp_data_limits lim;
	struct buf msg;       /**< content kept so far (not yet taken) */
	uint64_t size;        /**< content octets seen, kept or not */
	bool too_big, bare_eol, nul, header_big;
	bool discard;         /**< keep nothing (after a failure) */
	/* content layer */
	bool cr;              /**< last content byte was CR */
	bool line_start;      /**< next content byte starts a line */
	bool blank_cr;        /**< line started with CR: maybe the header/body separator */
	bool in_header;
	uint64_t header_len;
	unsigned received;
	uint8_t name[SMTP_DATA_NAME_MAX];
	uint8_t name_len;
	uint8_t name_state;   /**< 0 reading name, 1 "Received" + WSP, 2 done */
	/* DATA layer */
	uint8_t dot_state;
	bool dot_cr;          /**< last DATA octet passed on was CR */
};

/** Starts a message with the given limits (copied). */
void smtp_data_init(struct smtp_data *d, const struct smtp_data_limits *lim);

/** Frees kept data; d can be initialised again. */
void smtp_data_free(struct smtp_data *d);

/** DATA layer: reads up to n octets of dot-stuffed data at p. Returns how many
 *  were consumed; sets *done when the terminating CR LF . CR LF was consumed
 *  (octets after it are not consumed and belong to the next command). */
size_t smtp_data_dot(struct smtp_data *d, const uint8_t *p, size_t n, bool *done);

/** Content layer: n more raw octets (a BDAT chunk, or unstuffed DATA). */
void smtp_data_content(struct smtp_data *d, const uint8_t *p, size_t n);

/** Whether n more octets would exceed the size limit (overflow-safe). */
bool smtp_data_would_exceed(const struct smtp_data *d, uint64_t n);

/** Marks the message too large and stops keeping data (BDAT chunk over the limit). */
void smtp_data_set_too_big(struct smtp_data *d);

/** Ends the message: the first failed check in smtp.md §5 order, or SMTP_DATA_OK. */
enum smtp_data_verdict smtp_data_finish(struct smtp_data *d);

/** Moves the kept content out: appended to out if out is non-empty, else
 *  swapped in (no copy). The reader keeps going with an empty buffer, so a
 *  caller may spool a large message as it arrives. */
void smtp_data_take(struct smtp_data *d, struct buf *out);

/** The SMTP reply "code x.y.z text" for a failed verdict (static string). */
const char *smtp_data_verdict_reply(enum smtp_data_verdict v, int *code);

#endif
