/* Special localparts of localserve (see localserve_special.h, localserve.md §5).
 *
 * DESIGN: classification and texts are separate from the SMTP session so
 * that the rules and the exact reply strings are tested in one place; the
 * session only asks at MAIL, RCPT and end of data and, for a timeout, waits
 * LocalserveTimeout before answering. */
#include "proto/localserve_special.h"

#include <stdio.h>
#include <strings.h>

static bool ends_with(const char *lp, size_t len, const char *word, size_t wlen)
{
	return len >= wlen && strncasecmp(lp + len - wlen, word, wlen) == 0;
}

static bool starts_with(const char *lp, size_t len, const char *word, size_t wlen)
{
	return len >= wlen && strncasecmp(lp, word, wlen) == 0;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

bool localserve_special_parse(const char *lp, size_t len, enum localserve_role role, struct localserve_special *out)
{
	*out = (struct localserve_special){0};
	if (ends_with(lp, len, "temperror", 9)) {
		out->outcome = LOCALSERVE_CODE;
		out->code = 451;
	} else if (ends_with(lp, len, "permerror", 9)) {
		out->outcome = LOCALSERVE_CODE;
		out->code = 550;
	} else if (ends_with(lp, len, "timeout", 7)) {
		out->outcome = LOCALSERVE_TIMEOUT;
		out->code = 451;
	} else if (len >= 3 && digit(lp[len - 3]) && digit(lp[len - 2]) && digit(lp[len - 1])) {
		int code = (lp[len - 3] - '0') * 100 + (lp[len - 2] - '0') * 10 + (lp[len - 1] - '0');
		if (code >= LOCALSERVE_SPECIAL_CODE_MIN && code <= LOCALSERVE_SPECIAL_CODE_MAX) {
			out->outcome = LOCALSERVE_CODE;
			out->code = code;
		}
	}
	if (out->outcome == LOCALSERVE_NORMAL)
		return false;
	if (role == LOCALSERVE_MAILFROM)
		out->stage = starts_with(lp, len, "mailfrom", 8) ? LOCALSERVE_AT_MAIL : LOCALSERVE_AT_NONE;
	else
		out->stage = starts_with(lp, len, "rcptto", 6) ? LOCALSERVE_AT_RCPT : LOCALSERVE_AT_DATA;
	if (out->stage == LOCALSERVE_AT_NONE) {
		*out = (struct localserve_special){0};
		return false;
	}
	return true;
}

int localserve_special_reply(const struct localserve_special *s, enum localserve_reply_ctx ctx,
                             char text[LOCALSERVE_SPECIAL_TEXT_MAX])
{
	text[0] = 0;
	if (s->outcome == LOCALSERVE_CODE) {
		snprintf(text, LOCALSERVE_SPECIAL_TEXT_MAX, "%d.0.0 failure with code %d due to special localpart",
		         s->code / 100, s->code);
		return s->code;
	}
	if (s->outcome != LOCALSERVE_TIMEOUT)
		return 0;
	const char *what = ctx == LOCALSERVE_REPLY_COMMAND      ? "4.3.0 timing out command"
	                   : ctx == LOCALSERVE_REPLY_SUBMISSION ? "4.3.0 timing out submission"
	                                                        : "4.0.0 timing out delivery";
	snprintf(text, LOCALSERVE_SPECIAL_TEXT_MAX, "%s due to special localpart", what);
	return 451;
}
