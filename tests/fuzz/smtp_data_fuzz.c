/* Fuzzes the DATA/BDAT reader. Byte 0 = read size, byte 1 = limits, the rest
 * is message data. Checks: consuming the data in pieces gives the same result
 * (end position, verdict, kept bytes) as consuming it at once; the end is only
 * ever found right after CR LF . CR LF; nothing is kept past the size limit. */
#include <stdlib.h>
#include <string.h>

#include "proto/smtp_data.h"

struct fz_run {
	size_t used;
	bool done;
	int verdict;
	struct buf kept;
};

static void fz_run(const uint8_t *p, size_t n, size_t rd, const struct smtp_data_limits *lim,
                   struct fz_run *r)
{
	struct smtp_data d;
	smtp_data_init(&d, lim);
	buf_init(&r->kept);
	r->used = 0;
	r->done = false;
	while (r->used < n && !r->done) {
		size_t k = n - r->used < rd ? n - r->used : rd;
		r->used += smtp_data_dot(&d, p + r->used, k, &r->done);
		if (d.msg.len > lim->max_size)
			abort();
	}
	r->verdict = r->done ? (int)smtp_data_finish(&d) : -1;
	smtp_data_take(&d, &r->kept);
	smtp_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t rd = data[0] ? data[0] : 1;
	struct smtp_data_limits lim = {
		.max_size = (data[1] & 1) ? 64 : 1 << 20,
		.header_max = (data[1] & 2) ? 32 : 1 << 20,
		.hops_max = data[1] >> 4,
	};
	data += 2;
	size -= 2;
	struct fz_run a, b;
	fz_run(data, size, size ? size : 1, &lim, &a);
	fz_run(data, size, rd, &lim, &b);
	if (a.used != b.used || a.done != b.done || a.verdict != b.verdict ||
	    !slice_eq(buf_slice(&a.kept), buf_slice(&b.kept)))
		abort();
	if (a.done && (a.used < 3 || memcmp(data + a.used - 3, ".\r\n", 3) != 0))
		abort();
	if (a.done && a.used > 3 && (a.used < 5 || memcmp(data + a.used - 5, "\r\n", 2) != 0))
		abort();
	/* BDAT path: the same bytes as raw content. */
	struct smtp_data d;
	smtp_data_init(&d, &lim);
	for (size_t i = 0; i < size; i += rd)
		smtp_data_content(&d, data + i, size - i < rd ? size - i : rd);
	smtp_data_finish(&d);
	smtp_data_free(&d);
	buf_free(&a.kept);
	buf_free(&b.kept);
	return 0;
}
