/* Message-IDs and random base64url ids.
 *
 * DESIGN: 16 bytes from getrandom(2) give 128 bits, so ids are unique without
 * any state or coordination between threads; base64url keeps them safe in
 * headers, addresses and URLs. */
#include "proto/msgid.h"

#include <errno.h>
#include <sys/random.h>

#include "core/xmalloc.h"

void msgid_base64url(const uint8_t *p, size_t n, struct buf *out)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63], alpha[v & 63]};
		buf_append(out, q, 4);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		char q[2] = {alpha[v >> 18], alpha[(v >> 12) & 63]};
		buf_append(out, q, 2);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		char q[3] = {alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63]};
		buf_append(out, q, 3);
	}
}

void msgid_random(char out[MSGID_RANDOM_LEN + 1])
{
	uint8_t rnd[MSGID_RANDOM_BYTES];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			panic("getrandom: %s", n < 0 ? "failed" : "returned nothing");
		got += (size_t)n;
	}
	struct buf b;
	buf_init(&b);
	msgid_base64url(rnd, sizeof(rnd), &b);
	ASSERT(b.len == MSGID_RANDOM_LEN);
	memcpy(out, b.p, MSGID_RANDOM_LEN);
	out[MSGID_RANDOM_LEN] = 0;
	buf_free(&b);
}

void msgid_new(const char *hostname, struct buf *out)
{
	char id[MSGID_RANDOM_LEN + 1];
	msgid_random(id);
	buf_printf(out, "<%s@%s>", id, hostname);
}
