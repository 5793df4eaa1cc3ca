/* Domain name validation and normal forms, with libidn2 for IDNs.
 *
 * DESIGN: config loading normalises every domain once (conf_dname_norm);
 * lookups on the hot path (one per RCPT) take the ASCII fast path, which
 * only lower-cases into a caller buffer. IDNA2008 with UTS #46
 * non-transitional mapping is what browsers and mail software use today. */
#include "conf/conf_dname.h"

#include <idn2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

static bool ldh_ok(const char *s, const char **why)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > CONF_DNAME_MAX) {
		*why = len ? "name too long" : "empty name";
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == 0) {
			if (label == 0) {
				*why = "empty label";
				return false;
			}
			if (s[i - 1] == '-' || s[i - label] == '-') {
				*why = "label starts or ends with a hyphen";
				return false;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			*why = "invalid character in name";
			return false;
		}
		if (++label > 63) {
			*why = "label longer than 63 characters";
			return false;
		}
	}
	return true;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 32;
}

int conf_dname_norm(const char *in, char **ascii, char **unicode, const char **why)
{
	char *a = NULL, *u = NULL;
	bool is_ascii = true;
	for (const char *p = in; *p; p++)
		if ((unsigned char)*p >= 0x80)
			is_ascii = false;
	if (is_ascii) {
		a = xstrdup(in);
		lower(a);
	} else if (idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK) {
		*why = "invalid internationalized domain name";
		return -1;
	}
	if (!ldh_ok(a, why)) {
		free(a);
		return -1;
	}
	if (strstr(a, "xn--") && idn2_to_unicode_8z8z(a, &u, 0) != IDN2_OK) {
		*why = "invalid A-label (xn--)";
		free(a);
		return -1;
	}
	if (unicode)
		*unicode = u ? u : xstrdup(a);
	else
		free(u);
	if (ascii)
		*ascii = a;
	else
		free(a);
	return 0;
}

int conf_dname_key(const char *in, size_t len, char *out, size_t cap)
{
	bool is_ascii = true;
	if (len == 0 || len >= cap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x80 || c == 0)
			is_ascii = false;
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	out[len] = 0;
	if (is_ascii)
		return (int)len;
	if (memchr(in, 0, len))
		return -1;
	char *a = NULL;
	if (idn2_to_ascii_8z(out, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK)
		return -1;
	size_t n = strlen(a);
	if (n >= cap) {
		free(a);
		return -1;
	}
	memcpy(out, a, n + 1);
	free(a);
	lower(out);
	return (int)n;
}
