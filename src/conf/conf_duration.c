/* Duration parsing and formatting for config values and the queue CLI.
 *
 * DESIGN: the accepted syntax is a strict subset of Go's time.ParseDuration
 * (integers only; units h, m, s, ms in decreasing order, each once), which is
 * what operators know from mox configs, and it is easy to read back exactly.
 * Formatting for people rounds to seconds; formatting for files is exact. */
#include "conf/conf_duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *unit;
	int64_t ms;
} units[] = {
	{"h", 3600000},
	{"m", 60000},
	{"s", 1000},
	{"ms", 1},
};
#define NUNITS (sizeof units / sizeof units[0])

/* Matches the unit at s: "ms" must win over "m". Returns its index or -1. */
static int unit_at(const char *s, size_t *ulen)
{
	if (s[0] == 'm' && s[1] == 's') {
		*ulen = 2;
		return 3;
	}
	for (int i = 0; i < 3; i++) {
		if (s[0] == units[i].unit[0]) {
			*ulen = 1;
			return i;
		}
	}
	return -1;
}

int conf_duration_parse(const char *s, int64_t *ms)
{
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	int64_t total = 0;
	int next_unit = 0; /* units must appear in decreasing order */
	bool any = false;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -1;
		int64_t v = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			if (++digits > 15) /* keeps v * unit far below INT64_MAX */
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		size_t ulen = 0;
		int u = unit_at(s, &ulen);
		if (u < next_unit)
			return -1;
		if (v > INT64_MAX / units[u].ms || total > INT64_MAX - v * units[u].ms)
			return -1;
		total += v * units[u].ms;
		s += ulen;
		next_unit = u + 1;
		any = true;
	}
	if (!any)
		return -1;
	*ms = total;
	return 0;
}

static char *format(int64_t ms, char *out, bool exact)
{
	char *p = out, *end = out + CONF_DURATION_STRLEN;
	uint64_t v;
	if (ms < 0) {
		*p++ = '-';
		v = (uint64_t)0 - (uint64_t)ms;
	} else {
		v = (uint64_t)ms;
	}
	if (!exact)
		v = (v + 500) / 1000 * 1000;
	bool any = false;
	for (size_t i = 0; i < NUNITS; i++) {
		uint64_t n = v / (uint64_t)units[i].ms;
		v %= (uint64_t)units[i].ms;
		if (n == 0)
			continue;
		p += snprintf(p, (size_t)(end - p), "%llu%s", (unsigned long long)n, units[i].unit);
		any = true;
	}
	if (!any)
		snprintf(out, CONF_DURATION_STRLEN, "0s");
	return out;
}

char *conf_duration_format(int64_t ms, char *out)
{
	return format(ms, out, false);
}

char *conf_duration_format_exact(int64_t ms, char *out)
{
	return format(ms, out, true);
}
