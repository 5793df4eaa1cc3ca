/* Durations: the config syntax and both formatters. */
#include "check.h"

#include "conf/conf_duration.h"

static int64_t p(const char *s)
{
	int64_t v;
	return conf_duration_parse(s, &v) == 0 ? v : -1;
}

TEST(parse)
{
	CHECK_INT(p("30s"), 30000);
	CHECK_INT(p("7m30s"), 450000);
	CHECK_INT(p("72h"), 259200000);
	CHECK_INT(p("1h58m3s"), 7083000);
	CHECK_INT(p("1h500ms"), 3600500);
	CHECK_INT(p("0"), 0);
	CHECK_INT(p("0s"), 0);
	CHECK_INT(p("90m"), 5400000);
	CHECK_INT(p(""), -1);
	CHECK_INT(p("30"), -1);
	CHECK_INT(p("30x"), -1);
	CHECK_INT(p("1s1m"), -1);
	CHECK_INT(p("1h1h"), -1);
	CHECK_INT(p("-5s"), -1);
	CHECK_INT(p("1.5h"), -1);
	CHECK_INT(p("7d"), -1);
	CHECK_INT(p("h"), -1);
	CHECK_INT(p(" 5s"), -1);
	CHECK_INT(p("9999999999999999h"), -1);
	CHECK_INT(p("999999999999999h"), -1); /* overflows int64 ms */
}

TEST(format)
{
	char b[CONF_DURATION_STRLEN];
	CHECK_STR(conf_duration_format(449000, b), "7m29s");
	CHECK_STR(conf_duration_format(7083000, b), "1h58m3s");
	CHECK_STR(conf_duration_format(7200000, b), "2h");
	CHECK_STR(conf_duration_format(0, b), "0s");
	CHECK_STR(conf_duration_format(499, b), "0s");
	CHECK_STR(conf_duration_format(500, b), "1s");
	CHECK_STR(conf_duration_format(449600, b), "7m30s");
	CHECK_STR(conf_duration_format(-61000, b), "-1m1s");
	CHECK_STR(conf_duration_format(259200000, b), "72h");
	CHECK_STR(conf_duration_format_exact(60500, b), "1m500ms");
	CHECK_STR(conf_duration_format_exact(0, b), "0s");
	CHECK_STR(conf_duration_format_exact(INT64_MAX, b), "2562047788015h12m55s807ms");
	int64_t v;
	const int64_t samples[] = {1, 999, 1000, 60001, 450000, 7083000, 86400000, 123456789012};
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		CHECK_INT(conf_duration_parse(conf_duration_format_exact(samples[i], b), &v), 0);
		CHECK_INT(v, samples[i]);
	}
}

TEST_MAIN()
