/* libFuzzer target: the SMTP reply parser and EHLO capability parsing on arbitrary
 * server bytes, fed in pieces whose sizes the input picks. Checks the invariants the
 * rest of Tern relies on: bounded lines and line counts, printable text, valid codes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/smtp_caps.h"
#include "proto/smtp_reply.h"

static void check_reply(const struct smtp_reply *r)
{
	ASSERT(r->code >= 200 && r->code <= 559);
	ASSERT(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
	for (size_t i = 0; i < r->nlines; i++) {
		size_t n = strlen(r->lines[i]);
		ASSERT(n >= 3 && n <= SMTP_REPLY_LINE_MAX);
		for (size_t k = 0; k < n; k++)
			ASSERT(r->lines[i][k] >= 0x20 && r->lines[i][k] <= 0x7e);
	}
	struct buf b;
	buf_init(&b);
	smtp_reply_summary(r, &b);
	ASSERT(b.len <= SMTP_REPLY_SUMMARY_MAX);
	buf_free(&b);
	struct smtp_caps caps;
	smtp_caps_parse(&caps, r);
	ASSERT(caps.nauth <= SMTP_CAPS_AUTH_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] + 1;
	data++, size--;
	struct smtp_reply_parser p;
	smtp_reply_parser_init(&p);
	size_t off = 0;
	while (off < size) {
		size_t len = size - off < piece ? size - off : piece, used = 0;
		struct smtp_reply *r = NULL;
		int rc = smtp_reply_parse(&p, data + off, len, &used, &r);
		if (rc < 0) {
			ASSERT(p.err != NULL);
			break;
		}
		ASSERT(used <= len && (rc == 1 || used == len));
		off += used;
		if (rc == 1) {
			check_reply(r);
			smtp_reply_unref(r);
		}
	}
	smtp_reply_parser_free(&p);
	return 0;
}
