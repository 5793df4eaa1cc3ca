/* Message-IDs and random base64url ids.
 *
 * DESIGN: 16 bytes from getrandom(2) give 128 bits, so ids are unique without
 * any state or coordination between threads; base64url keeps them safe in
 * headers, addresses and URLs. */
#include "proto/msgid.h"

#include <errno.h>
#include <sys/random.h>

#include "core/xmalloc.h"
#include "proto/base64.h"

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
	base64url_encode(&b, slice_of(rnd, sizeof(rnd)));
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
