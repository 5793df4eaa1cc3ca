/* Tests for base64.c: RFC 4648 §10 vectors, every bad form of badinput.md
 * #39, base64url, fixed-size decoding and encode/decode round trips. */
#include "check.h"

#include "proto/base64.h"
#include "proto/sasl_crypto.h"

static const char *const vectors[][2] = {
	{"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		struct buf b;
		buf_init(&b);
		base64_encode(&b, slice_str(vectors[i][0]));
		CHECK_MEM(b.p, b.len, vectors[i][1]);
		CHECK_INT(b.len, base64_encoded_len(strlen(vectors[i][0])));
		buf_reset(&b);
		CHECK_INT(base64_decode(&b, slice_str(vectors[i][1])), 0);
		CHECK_MEM(b.p, b.len, vectors[i][0]);
		buf_free(&b);
	}
}

TEST(rfc4648_vectors_url_unpadded)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		char want[16];
		snprintf(want, sizeof want, "%s", vectors[i][1]);
		char *eq = strchr(want, '=');
		if (eq)
			*eq = 0;
		struct buf b;
		buf_init(&b);
		base64url_encode(&b, slice_str(vectors[i][0]));
		CHECK_MEM(b.p, b.len, want);
		buf_reset(&b);
		CHECK_INT(base64url_decode(&b, slice_str(want)), 0);
		CHECK_MEM(b.p, b.len, vectors[i][0]);
		buf_free(&b);
	}
}

struct bad {
	const char *in;
	size_t len; /* 0: strlen */
	int err;
};

/* badinput.md #39: bad characters, QQ=, ====, Q===, spaces or CR, lengths
 * 4n+1 / 4n+3, non-zero padding bits; plus misplaced padding. */
static const struct bad bad_std[] = {
	{"QQ=", 0, BASE64_ERR_LENGTH},     {"====", 0, BASE64_ERR_PADDING},
	{"Q===", 0, BASE64_ERR_PADDING},   {"Q", 0, BASE64_ERR_LENGTH},
	{"QUJDR", 0, BASE64_ERR_LENGTH},   {"QUJ", 0, BASE64_ERR_LENGTH},
	{"QQ", 0, BASE64_ERR_LENGTH},      {"QUJDRUZ", 0, BASE64_ERR_LENGTH},
	{"QQ==\r", 0, BASE64_ERR_LENGTH},  {"QUI=\r\n", 0, BASE64_ERR_LENGTH},
	{"QUJD\r\nRA", 0, BASE64_ERR_CHAR}, {"QU D", 0, BASE64_ERR_CHAR},
	{" QUJ", 0, BASE64_ERR_CHAR},      {"QUJ\r", 0, BASE64_ERR_CHAR},
	{"QU\tD", 0, BASE64_ERR_CHAR},     {"Q!==", 0, BASE64_ERR_CHAR},
	{"QU\0D", 4, BASE64_ERR_CHAR},     {"QUJ\xc3", 0, BASE64_ERR_CHAR},
	{"Zm9-", 0, BASE64_ERR_CHAR},      {"Zm9_", 0, BASE64_ERR_CHAR},
	{"QR==", 0, BASE64_ERR_BITS},      {"QUJ=", 0, BASE64_ERR_BITS},
	{"Zh==", 0, BASE64_ERR_BITS},      {"Zm9=", 0, BASE64_ERR_BITS},
	{"QQ==QQ==", 0, BASE64_ERR_PADDING}, {"QQ=A", 0, BASE64_ERR_PADDING},
	{"=QUJ", 0, BASE64_ERR_PADDING},   {"QUJD====", 0, BASE64_ERR_PADDING},
	{"QUJDR===", 0, BASE64_ERR_PADDING}, {"Q=Q=", 0, BASE64_ERR_PADDING},
};

TEST(strict_rejects_every_bad_form)
{
	for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
		struct buf b;
		buf_init(&b);
		buf_puts(&b, "keep");
		size_t n = bad_std[i].len ? bad_std[i].len : strlen(bad_std[i].in);
		int rc = base64_decode(&b, slice_of(bad_std[i].in, n));
		if (rc != bad_std[i].err)
			CHECK_FAIL("decode(\"%s\") = %d, want %d", bad_std[i].in, rc, bad_std[i].err);
		CHECK_MEM(b.p, b.len, "keep"); /* untouched on error */
		uint8_t arr[8];
		size_t got = 99;
		CHECK(base64_decode_to(arr, sizeof arr, &got, slice_of(bad_std[i].in, n)) < 0);
		CHECK_INT(got, 99);
		buf_free(&b);
	}
}

TEST(url_rejects_padding_std_chars_and_4n1)
{
	static const char *const bad[] = {"Zg==", "Zm8=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zh", "Zm9",
	                                  "Zm 9", "="};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf b;
		buf_init(&b);
		if (base64url_decode(&b, slice_str(bad[i])) == 0)
			CHECK_FAIL("base64url accepted \"%s\"", bad[i]);
		CHECK_INT(b.len, 0);
		buf_free(&b);
	}
	struct buf b;
	buf_init(&b);
	CHECK_INT(base64url_decode(&b, SLICE_LIT("-_8")), 0);
	CHECK_INT(b.len, 2);
	CHECK(b.p[0] == 0xfb && b.p[1] == 0xff);
	buf_reset(&b);
	base64_encode(&b, slice_of("\xfb\xff", 2));
	CHECK_MEM(b.p, b.len, "+/8=");
	buf_free(&b);
}

TEST(decode_to_fixed_array)
{
	uint8_t arr[6];
	size_t n = 0;
	CHECK_INT(base64_decode_to(arr, sizeof arr, &n, SLICE_LIT("Zm9vYmFy")), 0);
	CHECK_MEM(arr, n, "foobar");
	memset(arr, 'x', sizeof arr);
	CHECK_INT(base64_decode_to(arr, 5, &n, SLICE_LIT("Zm9vYmFy")), BASE64_ERR_SPACE);
	CHECK(arr[0] == 'x');
	CHECK_INT(base64_decode_to(arr, 0, &n, SLICE_LIT("")), 0);
	CHECK_INT(n, 0);
}

TEST(round_trip_random_lengths)
{
	uint8_t data[200];
	for (size_t len = 0; len <= sizeof data; len++) {
		sasl_crypto_random(data, len);
		struct buf e, d, u, du;
		buf_init(&e);
		buf_init(&d);
		buf_init(&u);
		buf_init(&du);
		base64_encode(&e, slice_of(data, len));
		base64url_encode(&u, slice_of(data, len));
		CHECK_INT(base64_decode(&d, buf_slice(&e)), 0);
		CHECK_INT(base64url_decode(&du, buf_slice(&u)), 0);
		CHECK(d.len == len && (len == 0 || memcmp(d.p, data, len) == 0));
		CHECK(du.len == len && (len == 0 || memcmp(du.p, data, len) == 0));
		CHECK(d.len <= base64_decoded_max(e.len));
		buf_free(&e);
		buf_free(&d);
		buf_free(&u);
		buf_free(&du);
	}
}

TEST(appends_to_existing_content)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "x:");
	CHECK_INT(base64_decode(&b, SLICE_LIT("Zm9v")), 0);
	base64_encode(&b, SLICE_LIT("a"));
	CHECK_MEM(b.p, b.len, "x:fooYQ==");
	buf_free(&b);
}

TEST_MAIN()
