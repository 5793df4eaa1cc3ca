/* libFuzzer target: the strict base64 / base64url decoders (badinput.md #39).
 * Whatever decodes must re-encode to exactly the input (one accepted encoding
 * per byte string), failures must leave the output untouched, and the
 * fixed-array decoder must agree with the buffer decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice in = slice_of(data, size);
	struct buf d, e;
	buf_init(&d);
	buf_init(&e);
	int rc = base64_decode(&d, in);
	if (rc == 0) {
		base64_encode(&e, buf_slice(&d));
		if (!slice_eq(buf_slice(&e), in))
			abort();
	} else if (d.len != 0) {
		abort();
	}
	uint8_t arr[64];
	size_t n = 0;
	int rc2 = base64_decode_to(arr, sizeof arr, &n, in);
	if (rc == 0 && d.len <= sizeof arr && (rc2 != 0 || n != d.len || memcmp(arr, d.p, n) != 0))
		abort();
	if (rc != 0 && rc2 != rc)
		abort();
	buf_reset(&d);
	buf_reset(&e);
	if (base64url_decode(&d, in) == 0) {
		base64url_encode(&e, buf_slice(&d));
		if (!slice_eq(buf_slice(&e), in))
			abort();
	}
	buf_free(&d);
	buf_free(&e);
	return 0;
}
