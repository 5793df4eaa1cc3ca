/* Fuzzes the special-localpart classifier (localpart bytes come from SMTP
 * clients). Byte 0 picks the role and the reply context. Checks: a hit has a
 * stage that fits the role, a code in 400..600 (451 for timeouts), and a reply
 * text that starts with the code's class and fits the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/localserve_special.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum localserve_role role = data[0] & 1 ? LOCALSERVE_RCPT : LOCALSERVE_MAILFROM;
	enum localserve_reply_ctx ctx = (enum localserve_reply_ctx)((data[0] >> 1) % 3);
	struct localserve_special s;
	bool hit = localserve_special_parse((const char *)data + 1, size - 1, role, &s);
	char text[LOCALSERVE_SPECIAL_TEXT_MAX];
	int code = localserve_special_reply(&s, ctx, text);
	if (!hit) {
		if (s.outcome != LOCALSERVE_NORMAL || s.stage != LOCALSERVE_AT_NONE || code != 0 || text[0])
			abort();
		return 0;
	}
	if (role == LOCALSERVE_MAILFROM ? s.stage != LOCALSERVE_AT_MAIL : s.stage == LOCALSERVE_AT_MAIL)
		abort();
	if (code < LOCALSERVE_SPECIAL_CODE_MIN || code > LOCALSERVE_SPECIAL_CODE_MAX || code != s.code)
		abort();
	if (s.outcome == LOCALSERVE_TIMEOUT && code != 451)
		abort();
	if (strlen(text) + 1 >= sizeof text || text[0] != (char)('0' + code / 100) || text[1] != '.')
		abort();
	return 0;
}
