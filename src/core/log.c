/* logfmt logging.
 *
 * DESIGN: a global atomic level checked before any formatting, a stack buffer of
 * 4 KiB per line and a single write(2) to fd 2. Values from the network are
 * passed through log_quote() by callers so a peer cannot forge log fields. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic int log_level_cur = LOG_INFO;

static const char *const names[] = {"error", "info", "debug", "trace", "traceauth", "tracedata"};

void log_set_level(enum log_level l)
{
	atomic_store(&log_level_cur, (int)l);
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < sizeof names / sizeof names[0] ? names[l] : "?";
}

char *log_quote(char *dst, size_t n, struct slice s)
{
	static const char hex[] = "0123456789abcdef";
	bool plain = s.len > 0;
	for (size_t i = 0; i < s.len && plain; i++)
		if (s.p[i] <= ' ' || s.p[i] == '"' || s.p[i] == '=' || s.p[i] == '\\' || s.p[i] >= 0x7f)
			plain = false;
	size_t o = 0;
	if (n < 4) {
		if (n)
			dst[0] = 0;
		return dst;
	}
	if (!plain)
		dst[o++] = '"';
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];
		char tmp[5];
		size_t k = 0;
		if (c == '"' || c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = (char)c;
		} else if (c < ' ' || c >= 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		} else {
			tmp[k++] = (char)c;
		}
		if (o + k + 2 >= n)
			break;
		memcpy(dst + o, tmp, k);
		o += k;
	}
	if (!plain)
		dst[o++] = '"';
	dst[o] = 0;
	return dst;
}

void log_write(enum log_level l, const char *pkg, const char *msg, const char *kvfmt, ...)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char qmsg[1024];
	log_quote(qmsg, sizeof qmsg, slice_str(msg));
	int n = snprintf(line, sizeof line,
	                 "t=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s pkg=%s msg=%s",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(l), pkg, qmsg);
	if (n < 0)
		return;
	if (kvfmt && *kvfmt && (size_t)n < sizeof line - 2) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, kvfmt);
		int k = vsnprintf(line + n, sizeof line - (size_t)n - 1, kvfmt, ap);
		va_end(ap);
		if (k > 0)
			n += k;
	}
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(2, line, (size_t)n);
	(void)w;
}
