/* Minimal unit-test harness: TEST(name) functions, CHECK macros, and a main
 * that runs them all and exits non-zero on any failure.
 *
 * Usage: #include "check.h"; TEST(foo) { CHECK(1 + 1 == 2); } ... TEST_MAIN()
 * A test file may #include the .c under test to reach its statics. */
#ifndef TERN_TESTS_CHECK_H
#define TERN_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check_test {
	const char *name;
	void (*fn)(void);
	struct check_test *next;
};

static struct check_test *check_head, **check_tail = &check_head;
static int check_failures, check_current_failed;

#define TEST(name) \
	static void test_##name(void); \
	__attribute__((constructor)) static void test_reg_##name(void) \
	{ \
		static struct check_test t = {#name, test_##name, NULL}; \
		*check_tail = &t; \
		check_tail = &t.next; \
	} \
	static void test_##name(void)

#define CHECK_FAIL(...) \
	do { \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		check_current_failed = 1; \
	} while (0)

#define CHECK(e) \
	do { if (!(e)) CHECK_FAIL("CHECK(%s) failed", #e); } while (0)

#define CHECK_INT(a, b) \
	do { \
		long long a_ = (long long)(a), b_ = (long long)(b); \
		if (a_ != b_) CHECK_FAIL("%s == %lld, want %s == %lld", #a, a_, #b, b_); \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *a_ = (a), *b_ = (b); \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) \
			CHECK_FAIL("%s == \"%s\", want \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

/* Compares a length-delimited value with a C string. */
#define CHECK_MEM(p, n, s) \
	do { \
		const char *s_ = (s); size_t n_ = (n); \
		if (n_ != strlen(s_) || memcmp((p), s_, n_) != 0) \
			CHECK_FAIL("%s == \"%.*s\", want \"%s\"", #p, (int)n_, (const char *)(p), s_); \
	} while (0)

#define TEST_MAIN() \
	int main(int argc, char **argv) \
	{ \
		int n = 0, failed = 0; \
		for (struct check_test *t = check_head; t; t = t->next) { \
			if (argc > 1 && strcmp(argv[1], t->name) != 0) \
				continue; \
			check_current_failed = 0; \
			t->fn(); \
			n++; \
			if (check_current_failed) { \
				failed++; \
				fprintf(stderr, "FAIL %s\n", t->name); \
			} else { \
				fprintf(stderr, "ok   %s\n", t->name); \
			} \
		} \
		fprintf(stderr, "%d passed, %d failed\n", n - failed, failed); \
		check_failures = failed; \
		return failed ? 1 : 0; \
	}

#endif
