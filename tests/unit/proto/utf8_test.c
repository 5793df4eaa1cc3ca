/* Strict UTF-8 validation: RFC 3629 well-formed sequences only (badinput #10, #26). */
#include "check.h"
#include "proto/utf8.h"

#define V(s) utf8_valid((const uint8_t *)(s), sizeof(s) - 1)
#define T(s) utf8_valid_text((const uint8_t *)(s), sizeof(s) - 1)

TEST(valid_sequences)
{
	CHECK(V(""));
	CHECK(V("plain ascii"));
	CHECK(V("caf\xc3\xa9"));
	CHECK(V("\xe2\x82\xac"));          /* U+20AC */
	CHECK(V("\xf0\x9f\x98\x80"));      /* U+1F600 */
	CHECK(V("\xf4\x8f\xbf\xbf"));      /* U+10FFFF */
	CHECK(V("\xed\x9f\xbf"));          /* U+D7FF, just below the surrogates */
	CHECK(V("\xee\x80\x80"));          /* U+E000, just above */
	CHECK(V("a\0b"));                  /* NUL is valid UTF-8; callers reject it */
}

TEST(invalid_sequences)
{
	CHECK(!V("\xc0\xaf"));             /* overlong '/' */
	CHECK(!V("\xc1\xbf"));
	CHECK(!V("\xe0\x80\xaf"));         /* overlong 3-byte */
	CHECK(!V("\xf0\x80\x80\xaf"));     /* overlong 4-byte */
	CHECK(!V("\xed\xa0\x80"));         /* surrogate U+D800 */
	CHECK(!V("\xed\xbf\xbf"));         /* surrogate U+DFFF */
	CHECK(!V("\xf4\x90\x80\x80"));     /* above U+10FFFF */
	for (int b = 0xf5; b <= 0xff; b++) {
		uint8_t x[4] = {(uint8_t)b, 0x80, 0x80, 0x80};
		CHECK(!utf8_valid(x, 4));
	}
	CHECK(!V("\xc3"));                 /* truncated */
	CHECK(!V("\xe2\x82"));
	CHECK(!V("\xf0\x9f\x98"));
	CHECK(!V("abc\xe2"));
	CHECK(!V("\x80"));                 /* lone continuation */
	CHECK(!V("\xc3\x28"));             /* bad continuation */
	CHECK(!V("\xe2\x28\xa1"));
}

TEST(decode_values)
{
	uint32_t cp = 0;
	CHECK_INT(utf8_decode((const uint8_t *)"\xc3\xa9", 2, &cp), 2);
	CHECK_INT(cp, 0xe9);
	CHECK_INT(utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	CHECK_INT(cp, 0x1f600);
	CHECK_INT(utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 3, &cp), -1);
	CHECK_INT(utf8_decode((const uint8_t *)"A", 1, &cp), 1);
	CHECK_INT(cp, 'A');
}

TEST(text_rejects_controls)
{
	CHECK(T("user\xc3\xa9"));
	CHECK(!T("a\tb"));
	CHECK(!T("a\x7f"));
	CHECK(!T("a\0"));
	CHECK(!T("\xc2\x80"));             /* C1 control U+0080 */
	CHECK(!T("\xc2\x9f"));             /* U+009F */
	CHECK(T("\xc2\xa0"));              /* U+00A0 is fine */
	CHECK(!T("\xc0\xaf"));
}

TEST(ascii)
{
	CHECK(utf8_is_ascii((const uint8_t *)"abc", 3));
	CHECK(!utf8_is_ascii((const uint8_t *)"a\xc3\xa9", 3));
}

TEST_MAIN()
