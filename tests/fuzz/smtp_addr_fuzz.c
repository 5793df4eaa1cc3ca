/* Fuzzes the RFC 5321 path parser. Byte 0 = flags, the rest is the path text.
 * Checks: a parsed address formats to a path that parses back to the same
 * address (re-quoting is exact), and the localpart never holds CR, LF or NUL. */
#include <stdlib.h>
#include <string.h>

#include "proto/smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0] & 15;
	struct slice in = slice_of(data + 1, size - 1);
	struct smtp_addr a, b;
	size_t used;
	if (smtp_addr_parse_path(in, flags, &a, &used) != 0) {
		smtp_addr_free(&a);
		smtp_addr_domain_valid(in, flags);
		smtp_addr_literal_valid(in);
		return 0;
	}
	if (used > in.len || memchr(a.local, '\r', a.local_len) || memchr(a.local, '\n', a.local_len) ||
	    memchr(a.local, 0, a.local_len))
		abort();
	struct buf f;
	buf_init(&f);
	buf_putc(&f, '<');
	smtp_addr_format(&a, &f);
	buf_putc(&f, '>');
	if (smtp_addr_parse_path(buf_slice(&f), flags, &b, &used) != 0 || used != f.len ||
	    !smtp_addr_same(&a, &b) || a.literal != b.literal)
		abort();
	smtp_addr_free(&a);
	smtp_addr_free(&b);
	buf_free(&f);
	return 0;
}
