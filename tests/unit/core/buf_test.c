/* buf_read_stream: whole files, the size cap, empty input, read errors. */
#include "check.h"

#include <stdio.h>

#include "core/buf.h"

static FILE *file_of(size_t n)
{
	FILE *f = tmpfile();
	for (size_t i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), f);
	rewind(f);
	return f;
}

TEST(reads_whole_file)
{
	FILE *f = file_of(10000);
	struct buf b;
	buf_init(&b);
	CHECK_INT(buf_read_stream(&b, f, 1 << 20), 0);
	CHECK_INT(b.len, 10000);
	CHECK(b.p[0] == 'a' && b.p[9999] == 'a' + 9999 % 26);
	buf_free(&b);
	fclose(f);
}

TEST(stops_after_the_cap)
{
	FILE *f = file_of(100000);
	struct buf b;
	buf_init(&b);
	CHECK_INT(buf_read_stream(&b, f, 5000), 0);
	CHECK(b.len >= 5000 && b.len < 5000 + 4096);
	buf_free(&b);
	fclose(f);
}

TEST(empty_and_error)
{
	FILE *f = file_of(0);
	struct buf b;
	buf_init(&b);
	CHECK_INT(buf_read_stream(&b, f, 100), 0);
	CHECK_INT(b.len, 0);
	fclose(f);
	FILE *w = fopen("/dev/null", "w"); /* reading a write-only stream fails */
	CHECK_INT(buf_read_stream(&b, w, 100), -1);
	fclose(w);
	buf_free(&b);
}

TEST_MAIN()
