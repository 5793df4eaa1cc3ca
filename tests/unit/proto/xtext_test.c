/* RFC 3461 xtext (badinput #32, #33, #36). */
#include <stdlib.h>

#include "check.h"
#include "proto/xtext.h"

static int dec(const char *in, struct buf *out)
{
	buf_reset(out);
	return xtext_decode(slice_str(in), out);
}

TEST(decode_valid)
{
	struct buf b;
	buf_init(&b);
	CHECK_INT(dec("", &b), 0);
	CHECK_INT(b.len, 0);
	CHECK_INT(dec("abc", &b), 0);
	CHECK_MEM(b.p, b.len, "abc");
	CHECK_INT(dec("e+3Dmc2@example.com", &b), 0);
	CHECK_MEM(b.p, b.len, "e=mc2@example.com");
	CHECK_INT(dec("+2B+3D", &b), 0);
	CHECK_MEM(b.p, b.len, "+=");
	CHECK_INT(dec("a+00b", &b), 0); /* valid xtext; NUL is rejected by the DSN rules */
	CHECK_INT(b.len, 3);
	CHECK_INT(b.p[1], 0);
	buf_free(&b);
}

TEST(decode_invalid)
{
	static const char *bad[] = {
		"+ZZ", "+2", "+", "a+", "a=b", "a b", "+0a", "+a0", "\x7f", "\xc3\xa9", "+2G", "tab\there",
	};
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dec(bad[i], &b) != -1)
			CHECK_FAIL("xtext \"%s\" accepted", bad[i]);
		CHECK(!xtext_valid(slice_str(bad[i])));
	}
	buf_free(&b);
}

TEST(encode_roundtrip)
{
	struct buf e, d;
	buf_init(&e);
	buf_init(&d);
	xtext_encode(SLICE_LIT("a+b=c d\r\n\x01\xff~!"), &e);
	CHECK_MEM(e.p, e.len, "a+2Bb+3Dc+20d+0D+0A+01+FF~!");
	CHECK(xtext_valid(buf_slice(&e)));
	CHECK_INT(xtext_decode(buf_slice(&e), &d), 0);
	CHECK_MEM(d.p, d.len, "a+b=c d\r\n\x01\xff~!");
	/* Every byte value survives encode + decode. */
	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	buf_reset(&e);
	buf_reset(&d);
	xtext_encode(slice_of(all, 256), &e);
	CHECK_INT(xtext_decode(buf_slice(&e), &d), 0);
	CHECK_INT(d.len, 256);
	CHECK(memcmp(d.p, all, 256) == 0);
	buf_free(&e);
	buf_free(&d);
}

TEST_MAIN()
