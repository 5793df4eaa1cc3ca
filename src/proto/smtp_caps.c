/* EHLO capability parsing for the outbound client.
 *
 * DESIGN: one table maps keywords to handlers; each handler reads its own parameters.
 * The reply lines are already sanitised printable ASCII (smtp_reply.c), so this code
 * only has to split on spaces. Keywords match case-insensitively (RFC 5321 §2.4).
 * "AUTH=LOGIN PLAIN" (an old Microsoft form) counts as AUTH. Numbers are strict
 * decimal; an overflowing or zero limit is ignored, SIZE's overflow means no limit
 * we could honour, so it is kept as "announced, no limit". */
#include "proto/smtp_caps.h"

#include <string.h>
#include <strings.h>

/* Parses an unsigned decimal of [p, p+n); false on empty, junk or overflow. */
static bool parse_u64(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return true;
}

/* Next space-separated word of *s; returns its length (0 at the end). */
static size_t next_word(const char **s, const char **w)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	*w = p;
	while (*p && *p != ' ')
		p++;
	*s = p;
	return (size_t)(p - *w);
}

static void on_size(struct smtp_caps *c, const char *args)
{
	const char *w;
	size_t n = next_word(&args, &w);
	uint64_t v;
	c->size = true;
	c->size_max = (n && parse_u64(w, n, &v)) ? v : 0;
}

static bool mech_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

static void on_auth(struct smtp_caps *c, const char *args)
{
	const char *w;
	size_t n;
	while ((n = next_word(&args, &w)) > 0) {
		bool ok = n <= SMTP_CAPS_MECH_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = mech_char(w[i]);
		if (!ok || c->nauth == SMTP_CAPS_AUTH_MAX)
			continue;
		char m[SMTP_CAPS_MECH_MAX + 1];
		for (size_t i = 0; i < n; i++)
			m[i] = (w[i] >= 'a' && w[i] <= 'z') ? (char)(w[i] - 32) : w[i];
		m[n] = '\0';
		if (smtp_caps_has_mech(c, m))
			continue;
		memcpy(c->mechs[c->nauth++], m, n + 1);
	}
}

static void on_limits(struct smtp_caps *c, const char *args)
{
	static const struct {
		const char *name;
		size_t off;
	} limits[] = {
		{"RCPTMAX", offsetof(struct smtp_caps, rcptmax)},
		{"MAILMAX", offsetof(struct smtp_caps, mailmax)},
		{"RCPTDOMAINMAX", offsetof(struct smtp_caps, rcptdomainmax)},
	};
	const char *w;
	size_t n;
	while ((n = next_word(&args, &w)) > 0) {
		const char *eq = memchr(w, '=', n);
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - w);
		uint64_t v;
		if (!parse_u64(eq + 1, n - klen - 1, &v) || v == 0 || v > UINT32_MAX)
			continue;
		for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
			if (strlen(limits[i].name) == klen && strncasecmp(w, limits[i].name, klen) == 0)
				*(uint32_t *)((char *)c + limits[i].off) = (uint32_t)v;
	}
}

#define FLAG(f) offsetof(struct smtp_caps, f)
static const struct {
	const char *kw;
	size_t flag; /* offset of a bool, or SIZE_MAX when fn handles it */
	void (*fn)(struct smtp_caps *, const char *args);
} keywords[] = {
	{"PIPELINING", FLAG(pipelining), NULL},
	{"STARTTLS", FLAG(starttls), NULL},
	{"8BITMIME", FLAG(eightbitmime), NULL},
	{"SMTPUTF8", FLAG(smtputf8), NULL},
	{"DSN", FLAG(dsn), NULL},
	{"CHUNKING", FLAG(chunking), NULL},
	{"REQUIRETLS", FLAG(requiretls), NULL},
	{"ENHANCEDSTATUSCODES", FLAG(enhancedstatuscodes), NULL},
	{"SIZE", SIZE_MAX, on_size},
	{"AUTH", SIZE_MAX, on_auth},
	{"LIMITS", SIZE_MAX, on_limits},
};

void smtp_caps_parse(struct smtp_caps *caps, const struct smtp_reply *r)
{
	memset(caps, 0, sizeof *caps);
	for (size_t i = 1; i < r->nlines; i++) {
		const char *line = smtp_reply_text(r, i);
		size_t klen = strcspn(line, " =");
		bool is_auth_eq = line[klen] == '=';
		for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
			if (strlen(keywords[k].kw) != klen || strncasecmp(line, keywords[k].kw, klen) != 0)
				continue;
			if (is_auth_eq && keywords[k].fn != on_auth)
				break;
			if (keywords[k].fn)
				keywords[k].fn(caps, line + klen + (line[klen] != '\0'));
			else
				*(bool *)((char *)caps + keywords[k].flag) = true;
			break;
		}
	}
}

bool smtp_caps_has_mech(const struct smtp_caps *caps, const char *mech)
{
	for (size_t i = 0; i < caps->nauth; i++)
		if (strcasecmp(caps->mechs[i], mech) == 0)
			return true;
	return false;
}
