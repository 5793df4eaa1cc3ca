/* Key layout: bytewise order of built keys is the order Tern relies on
 * (ids, next-attempt time then id, uids within a mailbox), names cannot alias
 * each other's ranges, oversize names are refused, and keys print readably. */
#include "check.h"

#include <errno.h>

#include "store/store_keys.h"

static int cmp(const struct store_key *a, const struct store_key *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->b, b->b, n);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void fmt(enum store_cf cf, const struct store_key *k, char *out, size_t n)
{
	struct buf b;
	buf_init(&b);
	store_key_format(cf, store_key_slice(k), &b);
	snprintf(out, n, "%s", buf_cstr(&b));
	buf_free(&b);
}

TEST(ids_sort_numerically)
{
	uint64_t ids[] = {1, 2, 255, 256, 65535, 65536, 1ull << 32, (1ull << 32) + 1, UINT64_MAX - 1};
	for (size_t i = 0; i + 1 < sizeof ids / sizeof ids[0]; i++) {
		struct store_key a, b;
		store_key_qrec(&a, ids[i]);
		store_key_qrec(&b, ids[i + 1]);
		CHECK(cmp(&a, &b) < 0);
		store_key_rrec(&a, ids[i]);
		store_key_rrec(&b, ids[i + 1]);
		CHECK(cmp(&a, &b) < 0);
		store_key_chunk(&a, ids[i], 7);
		store_key_chunk(&b, ids[i + 1], 0);
		CHECK(cmp(&a, &b) < 0);
	}
}

TEST(next_attempt_index_sorts_by_time_then_id)
{
	struct store_key a, b, c, d;
	store_key_qdue(&a, 1000, 99);
	store_key_qdue(&b, 1000, 100);
	store_key_qdue(&c, 1001, 1);
	store_key_qdue(&d, 1711533602000, 0);
	CHECK(cmp(&a, &b) < 0);
	CHECK(cmp(&b, &c) < 0);
	CHECK(cmp(&c, &d) < 0);
	/* A negative time is clamped to 0, so it sorts first instead of last. */
	store_key_qdue(&d, -5, 1);
	CHECK(cmp(&d, &a) < 0);
	CHECK_INT(d.len, 17);
	store_key_rkeep(&a, 5000, 2);
	store_key_rkeep(&b, 5001, 1);
	CHECK(cmp(&a, &b) < 0);
}

TEST(chunks_follow_their_meta_and_stay_inside_the_data_range)
{
	struct store_key meta, c0, c1, cmax, next;
	store_key_datameta(&meta, 42);
	store_key_chunk(&c0, 42, 0);
	store_key_chunk(&c1, 42, 1);
	store_key_chunk(&cmax, 42, UINT32_MAX);
	store_key_datameta(&next, 43);
	CHECK(cmp(&meta, &c0) < 0);
	CHECK(cmp(&c0, &c1) < 0);
	CHECK(cmp(&c1, &cmax) < 0);
	CHECK(cmp(&cmax, &next) < 0);
	CHECK_INT(meta.len, 8);
	CHECK_INT(c0.len, 12);
}

TEST(mailbox_messages_sort_by_uid_and_accounts_do_not_alias)
{
	struct store_key a, b, pre, end;
	CHECK_INT(store_key_mailmsg(&a, SLICE_LIT("mjl"), 3, 9), 0);
	CHECK_INT(store_key_mailmsg(&b, SLICE_LIT("mjl"), 3, 10), 0);
	CHECK(cmp(&a, &b) < 0);
	CHECK_INT(store_key_mailmsg(&b, SLICE_LIT("mjl"), 3, 256), 0);
	CHECK(cmp(&a, &b) < 0);
	/* Everything of account "a" lies in ['a' "a" 0, end); "ab" is outside. */
	CHECK_INT(store_key_account(&pre, SLICE_LIT("a")), 0);
	CHECK_INT(store_key_prefix_end(store_key_slice(&pre), &end), 0);
	CHECK_INT(store_key_mailmsg(&a, SLICE_LIT("a"), UINT64_MAX, UINT32_MAX), 0);
	CHECK_INT(store_key_mailmsg(&b, SLICE_LIT("ab"), 0, 0), 0);
	CHECK(cmp(&pre, &a) < 0 && cmp(&a, &end) < 0);
	CHECK(cmp(&b, &end) >= 0);
	/* The mailbox prefix covers its uids and nothing of the next mailbox. */
	CHECK_INT(store_key_mailmsg_prefix(&pre, SLICE_LIT("a"), 5), 0);
	CHECK_INT(store_key_prefix_end(store_key_slice(&pre), &end), 0);
	CHECK_INT(store_key_mailmsg(&a, SLICE_LIT("a"), 5, UINT32_MAX), 0);
	CHECK_INT(store_key_mailmsg(&b, SLICE_LIT("a"), 6, 0), 0);
	CHECK(cmp(&a, &end) < 0);
	CHECK(cmp(&b, &end) >= 0);
}

TEST(oversize_and_nul_names_are_refused)
{
	char big[STORE_KEY_NAME_MAX + 2];
	memset(big, 'x', sizeof big);
	struct store_key k;
	CHECK_INT(store_key_account(&k, slice_of(big, STORE_KEY_NAME_MAX)), 0);
	CHECK_INT(store_key_account(&k, slice_of(big, STORE_KEY_NAME_MAX + 1)), -E2BIG);
	CHECK_INT(store_key_mailbox(&k, slice_of(big, STORE_KEY_NAME_MAX), slice_of(big, STORE_KEY_NAME_MAX)), 0);
	CHECK(k.len <= STORE_KEY_MAX);
	CHECK_INT(store_key_fromid(&k, slice_of(big, STORE_KEY_FROMID_MAX + 1)), -E2BIG);
	CHECK_INT(store_key_account(&k, slice_of("a\0b", 3)), -EINVAL);
}

TEST(prefix_end)
{
	struct store_key end;
	CHECK_INT(store_key_prefix_end(slice_of("ab", 2), &end), 0);
	CHECK_MEM(end.b, end.len, "ac");
	CHECK_INT(store_key_prefix_end(slice_of("a\xff\xff", 3), &end), 0);
	CHECK_MEM(end.b, end.len, "b");
	CHECK_INT(store_key_prefix_end(slice_of("\xff\xff", 2), &end), -1);
	CHECK_INT(store_key_prefix_end(slice_of("", 0), &end), -1);
}

TEST(column_family_names)
{
	CHECK_INT(STORE_CF_N, 12);
	const char *want[] = {"default", "msgdata", "queue", "retired", "holdrules", "suppression",
	                      "hooks", "hooksretired", "accounts", "reports", "mtasts", "quarantine"};
	for (int i = 0; i < STORE_CF_N; i++) {
		CHECK_STR(store_cf_name((enum store_cf)i), want[i]);
		CHECK_INT(store_cf_parse(want[i]), i);
	}
	CHECK_INT(store_cf_parse("nosuch"), -1);
}

TEST(keys_print_readably)
{
	struct store_key k;
	char s[256];
	store_key_qrec(&k, 42);
	fmt(STORE_CF_QUEUE, &k, s, sizeof s);
	CHECK_STR(s, "q/42");
	store_key_qdue(&k, 1711533602123, 7);
	fmt(STORE_CF_QUEUE, &k, s, sizeof s);
	CHECK_STR(s, "n/2024-03-27T10:00:02.123Z/7");
	store_key_chunk(&k, 5, 3);
	fmt(STORE_CF_MSGDATA, &k, s, sizeof s);
	CHECK_STR(s, "chunk/5/3");
	store_key_datameta(&k, 5);
	fmt(STORE_CF_MSGDATA, &k, s, sizeof s);
	CHECK_STR(s, "meta/5");
	store_key_fromid(&k, SLICE_LIT("abc123"));
	fmt(STORE_CF_QUEUE, &k, s, sizeof s);
	CHECK_STR(s, "f/abc123");
	store_key_mailmsg(&k, SLICE_LIT("mjl"), 2, 17);
	fmt(STORE_CF_ACCOUNTS, &k, s, sizeof s);
	CHECK_STR(s, "a/mjl/m/2/17");
	store_key_pending(&k, 9);
	fmt(STORE_CF_DEFAULT, &k, s, sizeof s);
	CHECK_STR(s, "p/9");
	/* A key of an unknown shape is shown as hex, not misread. */
	store_key_qrec(&k, 42);
	k.len = 5;
	fmt(STORE_CF_QUEUE, &k, s, sizeof s);
	CHECK_STR(s, "0x7100000000");
}

TEST_MAIN()
