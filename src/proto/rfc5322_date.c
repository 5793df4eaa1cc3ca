/* RFC 5322 §3.3 date-time parsing (with the obsolete forms of §4.3), for the
 * Date header that webhooks report as RFC 3339 (webhooks.md §3).
 *
 * DESIGN: a cursor over the value that skips CFWS between tokens; each token
 * is bounded (at most 9 digits, 3-letter names), so the parse is linear and
 * cannot overflow. Dates are checked (day within its month, hour <= 23, ...)
 * and converted with timegm; anything else is an invalid date (-1), which the
 * caller reports as null. */
#include "proto/rfc5322.h"

#include <string.h>
#include <strings.h>
#include <time.h>

struct cur {
	struct slice s;
	size_t i;
};

static void skip_cfws(struct cur *c)
{
	size_t depth = 0;
	for (; c->i < c->s.len; c->i++) {
		uint8_t ch = c->s.p[c->i];
		if (depth) {
			if (ch == '\\')
				c->i++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
		} else if (ch == '(') {
			depth = 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
			return;
		}
	}
}

/* 1..maxd digits; returns the count read (0 if none) and the value. */
static int digits(struct cur *c, int maxd, long *v)
{
	int n = 0;
	*v = 0;
	while (c->i < c->s.len && n < maxd && c->s.p[c->i] >= '0' && c->s.p[c->i] <= '9') {
		*v = *v * 10 + (c->s.p[c->i++] - '0');
		n++;
	}
	return n;
}

/* A run of letters (at most 9), copied NUL-terminated into w. */
static size_t word(struct cur *c, char w[10])
{
	size_t n = 0;
	while (c->i < c->s.len && n < 9 &&
	       ((c->s.p[c->i] | 0x20) >= 'a' && (c->s.p[c->i] | 0x20) <= 'z'))
		w[n++] = (char)c->s.p[c->i++];
	w[n] = 0;
	return n;
}

static bool lit(struct cur *c, char ch)
{
	skip_cfws(c);
	if (c->i < c->s.len && c->s.p[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

/* Zone offset in minutes east of UTC. */
static bool zone(struct cur *c, long *off)
{
	static const struct { const char *n; int h; } obs[] = {
	    {"UT", 0}, {"GMT", 0}, {"EST", -5}, {"EDT", -4}, {"CST", -6},
	    {"CDT", -5}, {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
	skip_cfws(c);
	if (c->i < c->s.len && (c->s.p[c->i] == '+' || c->s.p[c->i] == '-')) {
		bool neg = c->s.p[c->i++] == '-';
		long v;
		if (digits(c, 4, &v) != 4 || v % 100 > 59)
			return false;
		*off = (v / 100 * 60 + v % 100) * (neg ? -1 : 1);
		return true;
	}
	char w[10];
	size_t n = word(c, w);
	for (size_t k = 0; k < sizeof(obs) / sizeof(obs[0]); k++)
		if (strcasecmp(w, obs[k].n) == 0) {
			*off = obs[k].h * 60;
			return true;
		}
	*off = 0; /* military zones carry no information (RFC 5322 §4.3) */
	return n == 1 && (w[0] | 0x20) != 'j';
}

int rfc5322_date_parse(struct slice v, int64_t *unix_ms)
{
	static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
	                                     "jul", "aug", "sep", "oct", "nov", "dec"};
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct cur c = {v, 0};
	char w[10];
	long day, year, hour, min, sec = 0, off;
	skip_cfws(&c);
	size_t save = c.i;
	if (word(&c, w) == 3 && lit(&c, ','))
		skip_cfws(&c);
	else
		c.i = save; /* no day-of-week */
	if (!digits(&c, 2, &day))
		return -1;
	skip_cfws(&c);
	int mon = -1;
	if (word(&c, w) == 3)
		for (int k = 0; k < 12; k++)
			if (strcasecmp(w, months[k]) == 0)
				mon = k;
	skip_cfws(&c);
	int yd = digits(&c, 9, &year);
	if (mon < 0 || yd < 2)
		return -1;
	if (yd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (yd == 3)
		year += 1900;
	skip_cfws(&c);
	if (!digits(&c, 2, &hour) || !lit(&c, ':'))
		return -1;
	skip_cfws(&c);
	if (!digits(&c, 2, &min))
		return -1;
	if (lit(&c, ':')) {
		skip_cfws(&c);
		if (!digits(&c, 2, &sec))
			return -1;
	}
	if (!zone(&c, &off))
		return -1;
	skip_cfws(&c);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (c.i != v.len || year < 1900 || year > 9999 || day < 1 || day > mdays[mon] ||
	    (mon == 1 && day == 29 && !leap) || hour > 23 || min > 59 || sec > 60)
		return -1;
	struct tm tm = {.tm_year = (int)(year - 1900), .tm_mon = mon, .tm_mday = (int)day,
	                .tm_hour = (int)hour, .tm_min = (int)min, .tm_sec = (int)sec};
	*unix_ms = ((int64_t)timegm(&tm) - off * 60) * 1000;
	return 0;
}
