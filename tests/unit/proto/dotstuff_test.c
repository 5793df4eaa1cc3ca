/* DATA dot-stuffing and the bare CR/LF rule (queue.md §11.4). */
#include "check.h"

#include "proto/dotstuff.h"

/* Encodes s split into pieces of `step` bytes; returns the output or NULL on error. */
static char *encode(const char *s, size_t step)
{
	struct dotstuff d;
	struct buf out;
	size_t n = strlen(s);
	dotstuff_init(&d);
	buf_init(&out);
	for (size_t off = 0; off < n; off += step) {
		size_t len = n - off < step ? n - off : step;
		if (dotstuff_encode(&d, slice_of(s + off, len), &out) < 0) {
			buf_free(&out);
			return NULL;
		}
	}
	if (dotstuff_finish(&d, &out) < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_cstr(&out);
}

static void check_all_splits(const char *in, const char *want)
{
	for (size_t step = 1; step <= strlen(in) + 1; step++) {
		char *got = encode(in, step);
		if (!want) {
			if (got)
				CHECK_FAIL("step %zu: accepted %s", step, in);
		} else if (!got || strcmp(got, want) != 0) {
			CHECK_FAIL("step %zu: got %s want %s", step, got ? got : "(error)", want);
		}
		free(got);
	}
}

TEST(stuffing)
{
	check_all_splits("a\r\n.b\r\n..c\r\n.\r\nd\r\n", "a\r\n..b\r\n...c\r\n..\r\nd\r\n.\r\n");
	check_all_splits(".first\r\n", "..first\r\n.\r\n");
	check_all_splits("", ".\r\n");
	check_all_splits("x.y\r\n", "x.y\r\n.\r\n");
}

TEST(missing_final_crlf_is_added)
{
	check_all_splits("a\r\nno end", "a\r\nno end\r\n.\r\n");
	check_all_splits(".", "..\r\n.\r\n");
}

TEST(bare_cr_lf_refused)
{
	check_all_splits("a\nb\r\n", NULL);
	check_all_splits("a\rb\r\n", NULL);
	check_all_splits("a\r\n\n", NULL);
	check_all_splits("\n", NULL);
	check_all_splits("a\r", NULL);
	check_all_splits("a\r\r\n", NULL);
}

TEST(check_mode)
{
	struct dotstuff d;
	dotstuff_init(&d);
	CHECK_INT(dotstuff_check(&d, SLICE_LIT(".x\r")), 0);
	CHECK_INT(dotstuff_check(&d, SLICE_LIT("\nno end")), 0);
	CHECK_INT(dotstuff_check_end(&d), 0);
	CHECK_INT(dotstuff_check(&d, SLICE_LIT("\r")), 0);
	CHECK_INT(dotstuff_check_end(&d), -1);
	dotstuff_init(&d);
	CHECK_INT(dotstuff_check(&d, SLICE_LIT("x\ny")), -1);
	CHECK_INT(dotstuff_check(&d, SLICE_LIT("fine\r\n")), -1); /* stays failed */
	CHECK_INT(dotstuff_check_end(&d), -1);
}

TEST(big_random_roundtrip)
{
	/* Every line gets one '.' more iff it starts with '.', nothing else changes. */
	struct buf in, out;
	struct dotstuff d;
	buf_init(&in);
	buf_init(&out);
	unsigned seed = 12345;
	for (int line = 0; line < 5000; line++) {
		int len = (int)((seed = seed * 1103515245 + 12345) >> 16) % 80;
		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf_putc(&in, (seed >> 16) % 4 == 0 ? '.' : (uint8_t)('a' + (seed >> 16) % 26));
		}
		buf_puts(&in, "\r\n");
	}
	dotstuff_init(&d);
	for (size_t off = 0; off < in.len; off += 997)
		CHECK_INT(dotstuff_encode(&d, slice_of(in.p + off, in.len - off < 997 ? in.len - off : 997), &out), 0);
	CHECK_INT(dotstuff_finish(&d, &out), 0);
	/* decode: drop a leading '.' of every line, strip the final ".\r\n" */
	struct buf dec;
	buf_init(&dec);
	size_t i = 0;
	while (i < out.len) {
		const uint8_t *lf = memchr(out.p + i, '\n', out.len - i);
		size_t end = (size_t)(lf - out.p) + 1;
		if (end - i == 3 && out.p[i] == '.') {
			CHECK_INT(end, out.len);
			break;
		}
		size_t s = i + (out.p[i] == '.');
		buf_append(&dec, out.p + s, end - s);
		i = end;
	}
	CHECK_INT(dec.len, in.len);
	CHECK(memcmp(dec.p, in.p, in.len) == 0);
	buf_free(&in);
	buf_free(&out);
	buf_free(&dec);
}

TEST_MAIN()
