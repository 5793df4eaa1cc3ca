/* Fuzzes MAIL/RCPT parameter parsing and xtext. Byte 0 = context bits, the
 * rest is the parameter text. Checks: decoded ENVID/ORCPT never hold CR, LF or
 * NUL; xtext encode/decode round-trips; errors carry a 4xx/5xx code. */
#include <stdlib.h>
#include <string.h>

#include "proto/smtp_params.h"
#include "proto/xtext.h"

static void fz_clean(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\r' || b->p[i] == '\n' || b->p[i] == 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t c = data[0];
	struct slice in = slice_of(data + 1, size - 1);
	struct smtp_params_ctx ctx = {
		.submission = c & 1, .tls = c & 2, .requiretls_announced = c & 4,
		.max_size = (c & 8) ? 1000 : UINT64_MAX, .now_ms = 1767225600000LL,
	};
	struct smtp_mail_params mp;
	struct smtp_rcpt_params rp;
	struct smtp_params_err err;
	if (smtp_params_mail(in, &ctx, &mp, &err) == 0) {
		fz_clean(&mp.envid);
		smtp_mail_params_free(&mp);
	} else if (err.code < 400 || err.code > 599) {
		abort();
	}
	if (smtp_params_rcpt(in, &rp, &err) == 0) {
		fz_clean(&rp.orcpt);
		smtp_rcpt_params_free(&rp);
	} else if (err.code < 400 || err.code > 599) {
		abort();
	}
	struct buf e, d;
	buf_init(&e);
	buf_init(&d);
	xtext_encode(in, &e);
	if (!xtext_valid(buf_slice(&e)) || xtext_decode(buf_slice(&e), &d) != 0 ||
	    !slice_eq(buf_slice(&d), in))
		abort();
	buf_reset(&d);
	if (xtext_decode(in, &d) == 0 && !xtext_valid(in))
		abort();
	buf_free(&e);
	buf_free(&d);
	return 0;
}
