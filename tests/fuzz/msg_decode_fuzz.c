/* libFuzzer target: the message registry's strict decoder.
 * Input: 2 bytes of message id (big-endian) + msgpack payload bytes. Every
 * outcome must be a clean accept or reject; accepted payloads must re-encode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint16_t id = (uint16_t)(data[0] << 8 | data[1]) % MSG_ID_MAX;
	size_t n = size - 2;
	struct msg *m = malloc(offsetof(struct msg, data) + n + 1);
	memset(m, 0, offsetof(struct msg, data));
	m->type = id;
	m->len = (uint32_t)n;
	memcpy(m->data, data + 2, n);
	_Alignas(16) uint8_t out[MSG_PAYLOAD_MAX];
	struct msg_arena a = {0};
	msgpack_unpacked up;
	if (msg_decode(m, out, &a, &up) == 0) {
		/* PTR fields would be dereferenced by a real receiver; the fuzzer only re-encodes. */
		struct msg *again = msg_new(id, out);
		if (!again)
			abort();
		free(again);
	}
	msgpack_unpacked_destroy(&up);
	msg_arena_free(&a);
	free(m);
	return 0;
}
