/* Tests for RFC 2047 encoded-word decoding and encoding, including the
 * examples of RFC 2047 §8 and hostile inputs. */
#include "check.h"

#include "core/xmalloc.h"
#include "proto/rfc2047.h"
#include "proto/rfc5322.h"

static void dec(const char *in, const char *want)
{
	struct buf b;
	buf_init(&b);
	rfc2047_decode(slice_str(in), &b);
	CHECK_MEM(b.p, b.len, want);
	buf_free(&b);
}

TEST(rfc2047_section8_examples)
{
	/* RFC 2047 §8, with the charsets this decoder knows. */
	dec("(=?ISO-8859-1?Q?a?=)", "(a)");
	dec("(=?ISO-8859-1?Q?a?= b)", "(a b)");
	dec("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	dec("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)");
	dec("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)");
	dec("(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	dec("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a =?ISO-8859-2?Q?_b?=)");
	dec("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld J\xc3\xb8rn Simonsen");
	dec("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard");
}

TEST(decode_charsets)
{
	dec("=?utf-8?b?Y2Fmw6k=?=", "caf\xc3\xa9");
	dec("=?UTF-8?B?Y2Fmw6k?=", "caf\xc3\xa9"); /* padding left out */
	dec("=?utf-8?q?=E2=82=AC_5?=", "\xe2\x82\xac 5");
	dec("=?us-ascii?q?plain=E9?=", "plain\xef\xbf\xbd");
	dec("=?windows-1252?q?=80=96?=", "\xe2\x82\xac\xe2\x80\x93");
	dec("=?utf-8*en?q?lang?=", "lang"); /* RFC 2231 language suffix */
	/* Unknown charset: left as is. */
	dec("=?koi8-r?q?=F0?= x", "=?koi8-r?q?=F0?= x");
	/* Invalid UTF-8 in a word becomes U+FFFD. */
	dec("=?utf-8?q?=C0=AF?=", "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(decode_split_utf8_across_words)
{
	/* "é" split in two B-words: the bytes are joined before conversion. */
	dec("=?utf-8?b?w6=?= =?utf-8?b?qQ==?=", "\xc3\xa9");
	dec("=?utf-8?q?caf=C3?= =?utf-8?q?=A9!?=", "caf\xc3\xa9!");
}

TEST(decode_malformed_left_alone)
{
	dec("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	dec("=?utf-8?q?a b?=", "=?utf-8?q?a b?=");
	dec("=?utf-8?q?=ZZ?=", "=?utf-8?q?=ZZ?=");
	dec("=?utf-8?b?***?=", "=?utf-8?b?***?=");
	dec("=?", "=?");
	dec("=?=?=?=?", "=?=?=?=?");
	dec("a =?utf-8?q?b", "a =?utf-8?q?b");
	dec("8-bit caf\xc3\xa9 kept", "8-bit caf\xc3\xa9 kept");
	/* Whitespace between a word and plain text stays. */
	dec("=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c");
}

TEST(decode_no_header_injection)
{
	dec("=?utf-8?q?a=0D=0ABcc:_x=00?=", "a  Bcc: x ");
}

TEST(decode_hostile_linear)
{
	/* 1 MB of "=?" and of a never-closed word: bounded output, no crash. */
	size_t n = 1 << 20;
	char *s = xmalloc(n + 1);
	for (size_t i = 0; i < n; i += 2)
		memcpy(s + i, "=?", 2);
	s[n] = 0;
	struct buf b;
	buf_init(&b);
	rfc2047_decode(slice_of(s, n), &b);
	CHECK_INT(b.len, n);
	buf_reset(&b);
	memcpy(s, "=?utf-8?q?", 10);
	memset(s + 10, 'a', n - 10);
	rfc2047_decode(slice_of(s, n), &b);
	CHECK_INT(b.len, n);
	buf_free(&b);
	free(s);
}

TEST(encode)
{
	struct buf b;
	buf_init(&b);
	rfc2047_encode(slice_str("plain ascii"), &b);
	CHECK_MEM(b.p, b.len, "plain ascii");
	buf_reset(&b);
	rfc2047_encode(slice_str("caf\xc3\xa9 ol\xc3\xa9"), &b);
	CHECK_MEM(b.p, b.len, "=?utf-8?q?caf=C3=A9_ol=C3=A9?=");
	/* Round trip of a long text: words of at most 75 characters, folded. */
	struct buf in;
	buf_init(&in);
	for (int i = 0; i < 40; i++)
		buf_puts(&in, "\xe2\x82\xac? ");
	buf_reset(&b);
	rfc2047_encode(buf_slice(&in), &b);
	size_t start = 0;
	for (size_t i = 0; i + 1 < b.len; i++) {
		if (b.p[i] == '\r') {
			CHECK(b.p[i + 1] == '\n');
			CHECK(i - start <= 75);
			start = i + 3;
		}
	}
	CHECK(b.len - start <= 75);
	struct buf back;
	buf_init(&back);
	rfc2047_decode(buf_slice(&b), &back);
	CHECK(back.len == in.len && memcmp(back.p, in.p, in.len) == 0);
	buf_free(&back);
	buf_free(&in);
	buf_free(&b);
}

TEST_MAIN()
