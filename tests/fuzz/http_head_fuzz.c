/* libFuzzer target: the metrics endpoint's request head (http_head_route).
 * Any bytes: no crash; INCOMPLETE exactly when there is no blank line; HEAD
 * flagged only on a head that is served; and a complete head is judged by its
 * request line alone (the same line followed by nothing else agrees). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool head_only;
	enum http_head_route r = http_head_route(slice_of(data, size), &head_only);
	bool complete = size >= 4 && memmem(data, size, "\r\n\r\n", 4);
	if ((r == HTTP_HEAD_INCOMPLETE) == complete)
		abort();
	if (head_only && (r == HTTP_HEAD_INCOMPLETE || r == HTTP_HEAD_BAD_METHOD))
		abort();
	if (complete) {
		/* The answer depends on the request line only: the head cut after it must agree. */
		const uint8_t *cr = memchr(data, '\r', size);
		size_t ll = (size_t)(cr - data);
		uint8_t *cut = malloc(ll + 4);
		memcpy(cut, data, ll);
		memcpy(cut + ll, "\r\n\r\n", 4);
		bool h2;
		if (http_head_route(slice_of(cut, ll + 4), &h2) != r || h2 != head_only)
			abort();
		free(cut);
	}
	return 0;
}
