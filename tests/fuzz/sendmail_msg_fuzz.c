/* Fuzzes `tern sendmail` message preparation (arbitrary stdin bytes). Byte 0
 * = options. Checks: the result has CRLF line endings only, starts with the
 * configured From: field, holds exactly one From: field in its header, and the
 * To: list is consistent. */
#include <stdlib.h>
#include <string.h>

#include "actors/sendmail_msg.h"
#include "proto/rfc5322.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct sendmail_msg_opts o = {.from = "app@example.com", .from_name = data[0] & 1 ? "Caf\xc3\xa9 Bot" : NULL,
	                              .tls_required_no = data[0] & 2, .collect_to = data[0] & 4};
	struct buf out, err;
	buf_init(&out);
	buf_init(&err);
	struct rfc5322_addr_list to = {0};
	bool has8;
	sendmail_msg_prepare(slice_of(data + 1, size - 1), &o, &out, &to, &has8, &err);
	for (size_t i = 0; i < out.len; i++) {
		if (out.p[i] == '\n' && (i == 0 || out.p[i - 1] != '\r'))
			abort();
		if (out.p[i] == '\r' && (i + 1 >= out.len || out.p[i + 1] != '\n'))
			abort();
	}
	static const char want[] = "From: ";
	if (out.len < sizeof want - 1 || memcmp(out.p, want, sizeof want - 1) != 0)
		abort();
	struct rfc5322_split sp;
	if (rfc5322_split(buf_slice(&out), &sp) == 0 && rfc5322_count(sp.header, "From") != 1)
		abort();
	for (size_t i = 0; i < to.n; i++)
		if (!to.v[i].address || !to.v[i].localpart)
			abort();
	rfc5322_addr_list_free(&to);
	buf_free(&out);
	buf_free(&err);
	return 0;
}
