/* Protocol transcripts of SMTP sessions at the trace log levels (config.md LogLevel).
 *
 * DESIGN: client input is logged as it arrives, before the engine parses it, so
 * this file finds what must stay out of lower levels by itself: `trace` shows
 * commands but neither credentials (AUTH initial responses and the response
 * lines after a 334, shown at `traceauth`) nor message data (DATA content and
 * BDAT chunks, shown at `tracedata`); those become placeholders with their
 * size. Input that arrives while the engine reads message data is all data,
 * including any command pipelined after its end: the cheaper mistake. */
#include "actors/smtp_session_int.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

static bool starts_nocase(struct slice line, const char *word)
{
	size_t n = strlen(word);
	return line.len >= n && slice_eq_nocase(slice_of(line.p, n), slice_of(word, n));
}

/* Appends the AUTH command line with its initial response (if any) replaced. */
static void put_auth_line(struct buf *out, struct slice line)
{
	size_t i = 5; /* "AUTH " */
	while (i < line.len && line.p[i] != ' ' && line.p[i] != '\r' && line.p[i] != '\n')
		i++;
	buf_append(out, line.p, i);
	if (i < line.len && line.p[i] == ' ')
		buf_puts(out, " <initial response>");
	buf_puts(out, "\r\n");
}

/* The octet count of a "BDAT <n>[ LAST]" line (0 when it does not parse). */
static uint64_t bdat_size(struct slice line)
{
	uint64_t n = 0;
	for (size_t i = 5; i < line.len && line.p[i] >= '0' && line.p[i] <= '9' && n < UINT64_MAX / 10; i++)
		n = n * 10 + (uint64_t)(line.p[i] - '0');
	return n;
}

void smtp_session_trace_input(struct smtp_session *s, struct slice in)
{
	if (!log_enabled(LOG_TRACE) || in.len == 0)
		return;
	bool auth = log_enabled(LOG_TRACEAUTH), data = log_enabled(LOG_TRACEDATA);
	struct buf out;
	buf_init(&out);
	if (smtp_server_in_data(s->eng) && !data) {
		buf_printf(&out, "<%zu octets of message data>", in.len);
	} else {
		bool auth_line = s->auth_response_due;
		uint64_t skip = 0;
		for (size_t off = 0; off < in.len;) {
			if (skip && !data) {
				size_t n = skip < in.len - off ? (size_t)skip : in.len - off;
				buf_printf(&out, "<%zu octets of message data>", n);
				skip -= n;
				off += n;
				continue;
			}
			const uint8_t *lf = memchr(in.p + off, '\n', in.len - off);
			size_t n = lf ? (size_t)(lf - (in.p + off)) + 1 : in.len - off;
			struct slice line = slice_of(in.p + off, n);
			off += n;
			if (auth_line && !auth)
				buf_puts(&out, "<authentication response>\r\n");
			else if (!auth && starts_nocase(line, "AUTH "))
				put_auth_line(&out, line);
			else
				buf_append(&out, line.p, line.len);
			auth_line = false;
			if (starts_nocase(line, "BDAT "))
				skip = bdat_size(line);
		}
	}
	char q[2048];
	log_write(LOG_TRACE, "smtp", "command", "cid=%s data=%s", s->rid, log_quote(q, sizeof q, buf_slice(&out)));
	buf_free(&out);
}
