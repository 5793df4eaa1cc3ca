/* Iterative msgpack structure walk (see mpcheck.h).
 *
 * DESIGN: one pass, no recursion: `todo` counts objects still to read; a
 * container adds its element count (maps twice). Since every object is at
 * least one byte, todo may never exceed the bytes left — that bound is what
 * keeps msgpack-c's allocation proportional to the input size. */
#include "core/mpcheck.h"

static uint64_t be(const uint8_t *p, int k)
{
	uint64_t v = 0;
	for (int i = 0; i < k; i++)
		v = v << 8 | p[i];
	return v;
}

int mpcheck_one(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t todo = 1;
	while (todo) {
		if (i >= n)
			return -1;
		uint8_t c = p[i++];
		todo--;
		uint64_t add = 0, skip = 0;
		int lk = 0; /* bytes of length field */
		int kind = 0; /* 0 scalar with skip, 1 array count, 2 map count, 3 length-prefixed body */
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
		} else if (c >= 0x80 && c <= 0x8f) {
			add = (uint64_t)(c & 15) * 2;
		} else if (c >= 0x90 && c <= 0x9f) {
			add = c & 15;
		} else if (c >= 0xa0 && c <= 0xbf) {
			skip = c & 31;
		} else {
			switch (c) {
			case 0xc4: case 0xd9: lk = 1; kind = 3; break;
			case 0xc5: case 0xda: lk = 2; kind = 3; break;
			case 0xc6: case 0xdb: lk = 4; kind = 3; break;
			case 0xc7: lk = 1; kind = 3; skip = 1; break;
			case 0xc8: lk = 2; kind = 3; skip = 1; break;
			case 0xc9: lk = 4; kind = 3; skip = 1; break;
			case 0xca: skip = 4; break;
			case 0xcb: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xd4: skip = 2; break;
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: lk = 2; kind = 1; break;
			case 0xdd: lk = 4; kind = 1; break;
			case 0xde: lk = 2; kind = 2; break;
			case 0xdf: lk = 4; kind = 2; break;
			default: return -1; /* 0xc1 */
			}
		}
		if (lk) {
			if (n - i < (size_t)lk)
				return -1;
			uint64_t v = be(p + i, lk);
			i += (size_t)lk;
			if (kind == 1)
				add = v;
			else if (kind == 2)
				add = v * 2;
			else
				skip += v;
		}
		if (skip > n - i)
			return -1;
		i += (size_t)skip;
		if (add > n - i || todo + add > n - i + 1)
			return -1;
		todo += add;
	}
	return i == n ? 0 : -1;
}
