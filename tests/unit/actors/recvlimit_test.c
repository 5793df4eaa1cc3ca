/* Incoming per-account rate limits: messages and bytes per minute and per day, per
 * account and sending IP mask level (config.md §1.1). Times are passed in. */
#include "check.h"
#include "actors/recvlimit.h"
#include "conf/conf.h"

static struct netaddr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct netaddr n = {.family = 4, .a = {a, b, c, d}};
	return n;
}

static struct conf_limits lim(int64_t mmin, int64_t mday, int64_t bmin, int64_t bday)
{
	struct conf_limits l = {0};
	for (int i = 0; i < 3; i++) {
		l.incoming_messages_per_minute[i] = mmin * (i + 1);
		l.incoming_messages_per_day[i] = mday * (i + 1);
		l.incoming_bytes_per_minute[i] = bmin * (i + 1);
		l.incoming_bytes_per_day[i] = bday * (i + 1);
	}
	return l;
}

TEST(messages_per_minute_per_account_and_ip)
{
	recvlimit_reset();
	struct conf_limits l = lim(3, 0, 0, 0);
	struct netaddr a = ip4(192, 0, 2, 1), b = ip4(198, 51, 100, 1);
	int64_t t = 1000000;
	for (int i = 0; i < 3; i++) {
		CHECK(recvlimit_allowed(&l, "acc", &a, 10, t));
		recvlimit_record("acc", &a, 10, t);
	}
	CHECK(!recvlimit_allowed(&l, "acc", &a, 10, t));
	CHECK(recvlimit_allowed(&l, "other", &a, 10, t));  /* another account */
	CHECK(recvlimit_allowed(&l, "acc", &b, 10, t));    /* another network */
	/* Same /26 (level 2, limit 6): three more from a neighbour, then level 2 is full. */
	struct netaddr n = ip4(192, 0, 2, 2);
	for (int i = 0; i < 3; i++) {
		CHECK(recvlimit_allowed(&l, "acc", &n, 10, t));
		recvlimit_record("acc", &n, 10, t);
	}
	struct netaddr n2 = ip4(192, 0, 2, 3);
	CHECK(!recvlimit_allowed(&l, "acc", &n2, 10, t));
	/* The window slides: two minutes later everything is forgotten, half way partly. */
	CHECK(!recvlimit_allowed(&l, "acc", &a, 10, t + 60000 + 10000));
	CHECK(recvlimit_allowed(&l, "acc", &a, 10, t + 60000 + 40000));
	CHECK(recvlimit_allowed(&l, "acc", &a, 10, t + 120001));
}

TEST(bytes_and_days)
{
	recvlimit_reset();
	struct conf_limits l = lim(0, 2, 1000, 0);
	struct netaddr a = ip4(203, 0, 113, 9);
	int64_t t = 5000000;
	CHECK(recvlimit_allowed(&l, "acc", &a, 1000, t));
	CHECK(!recvlimit_allowed(&l, "acc", &a, 1001, t));
	recvlimit_record("acc", &a, 600, t);
	CHECK(!recvlimit_allowed(&l, "acc", &a, 600, t));
	CHECK(recvlimit_allowed(&l, "acc", &a, 400, t));
	recvlimit_record("acc", &a, 1, t + 180000);
	/* two messages today: the day limit holds an hour later, not two days later */
	CHECK(!recvlimit_allowed(&l, "acc", &a, 1, t + 3600000));
	CHECK(recvlimit_allowed(&l, "acc", &a, 1, t + 2 * 86400000LL + 1));
}

TEST(no_limits_and_huge_sizes)
{
	recvlimit_reset();
	struct conf_limits l = lim(0, 0, 0, 0);
	struct netaddr a = {.family = 6, .a = {0x20, 0x01, 0x0d, 0xb8}};
	for (int i = 0; i < 100; i++)
		recvlimit_record("acc", &a, INT64_MAX / 2, 1000);
	CHECK(recvlimit_allowed(&l, "acc", &a, INT64_MAX, 1000));
	struct conf_limits b = lim(0, 0, 0, 1000);
	CHECK(!recvlimit_allowed(&b, "acc", &a, 1, 1000));
	recvlimit_reset();
}

TEST_MAIN()
