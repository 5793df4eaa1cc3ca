/* RFC 5321 §4.1.2 path/mailbox parser with RFC 6531 UTF-8 rules (badinput.md
 * #18-#26).
 *
 * DESIGN: a forward scanner over a length-delimited slice with one index; every
 * read is checked against in.len, nothing is NUL-terminated on input. Framing
 * errors (no '<', input ending before '>') are told apart from bad addresses
 * because SMTP replies differ (501 5.5.4 vs 501 5.1.7/5.1.3). The decoded
 * localpart can never contain CR, LF or NUL (quoted-pairs are limited to
 * 32..126), and unquoted output is produced only for valid dot-strings. */
#include "proto/smtp_addr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/utf8.h"

static bool smtp_addr_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool smtp_addr_atext(uint8_t c)
{
	return smtp_addr_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Length of a valid non-ASCII UTF-8 sequence (no C1 controls) at p, or 0. */
static size_t smtp_addr_utf8_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	int l = utf8_decode(p, n, &cp);
	if (l < 2 || cp <= 0x9F)
		return 0;
	return (size_t)l;
}

bool smtp_addr_local_is_dotstring(const char *local, size_t len)
{
	const uint8_t *p = (const uint8_t *)local;
	if (len == 0 || p[0] == '.' || p[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '.') {
			if (p[i - 1] == '.')
				return false;
		} else if (p[i] >= 0x80) {
			size_t l = smtp_addr_utf8_len(p + i, len - i);
			if (!l)
				return false;
			i += l - 1;
		} else if (!smtp_addr_atext(p[i])) {
			return false;
		}
	}
	return true;
}

bool smtp_addr_domain_valid(struct slice in, unsigned flags)
{
	if (in.len == 0 || in.len > SMTP_ADDR_DOMAIN_MAX)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= in.len; i++) {
		if (i < in.len && in.p[i] != '.') {
			uint8_t c = in.p[i];
			if (c >= 0x80) {
				size_t l = (flags & SMTP_ADDR_ASCII_ONLY) ? 0 : smtp_addr_utf8_len(in.p + i, in.len - i);
				if (!l)
					return false;
				i += l - 1;
			} else if (!smtp_addr_alnum(c) && c != '-' &&
			           !(c == '_' && (flags & SMTP_ADDR_ALLOW_UNDERSCORE))) {
				return false;
			}
			continue;
		}
		size_t n = i - start; /* label in.p[start..i) */
		if (n == 0 || n > SMTP_ADDR_LABEL_MAX || in.p[start] == '-' || in.p[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* RFC 5321 IPv4-address-literal: four Snum (1-3 digits, 0..255). */
static bool smtp_addr_ipv4_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || p[i] != '.')
				return false;
			i++;
		}
		unsigned v = 0, nd = 0;
		while (i < n && p[i] >= '0' && p[i] <= '9' && nd < 4) {
			v = v * 10 + (p[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || nd > 3 || v > 255)
			return false;
	}
	return i == n;
}

bool smtp_addr_literal_valid(struct slice in)
{
	if (in.len < 3 || in.len > SMTP_ADDR_DOMAIN_MAX || in.p[0] != '[' || in.p[in.len - 1] != ']')
		return false;
	const uint8_t *p = in.p + 1;
	size_t n = in.len - 2;
	if (n > 5 && slice_prefix_nocase(slice_of(p, n), "IPv6:")) {
		char tmp[64];
		struct in6_addr a6;
		if (n - 5 >= sizeof(tmp))
			return false;
		memcpy(tmp, p + 5, n - 5);
		tmp[n - 5] = 0;
		for (size_t i = 0; i < n - 5; i++)
			if (!((tmp[i] >= '0' && tmp[i] <= '9') || (tmp[i] >= 'a' && tmp[i] <= 'f') ||
			      (tmp[i] >= 'A' && tmp[i] <= 'F') || tmp[i] == ':' || tmp[i] == '.'))
				return false;
		return inet_pton(AF_INET6, tmp, &a6) == 1;
	}
	return smtp_addr_ipv4_valid(p, n);
}

/* Scans a dot-string localpart at in.p[*i]; appends it to out. */
static int smtp_addr_scan_dotstring(struct slice in, size_t *i, struct buf *out)
{
	size_t start = *i, j = *i;
	while (j < in.len) {
		uint8_t c = in.p[j];
		if (c >= 0x80) {
			size_t l = smtp_addr_utf8_len(in.p + j, in.len - j);
			if (!l)
				return SMTP_ADDR_EBAD;
			j += l;
		} else if (smtp_addr_atext(c) || c == '.') {
			j++;
		} else {
			break;
		}
	}
	buf_append(out, in.p + start, j - start);
	*i = j;
	if (j - start > SMTP_ADDR_LOCAL_MAX)
		return SMTP_ADDR_ELONG;
	if (!smtp_addr_local_is_dotstring((const char *)in.p + start, j - start))
		return SMTP_ADDR_EBAD;
	return 0;
}

/* Scans a quoted-string localpart starting at the opening quote. */
static int smtp_addr_scan_quoted(struct slice in, size_t *i, struct buf *out)
{
	size_t start = *i, j = *i + 1;
	for (;;) {
		if (j >= in.len)
			return SMTP_ADDR_EBAD; /* unterminated: <"a@b> */
		uint8_t c = in.p[j];
		if (c == '"') {
			j++;
			break;
		}
		if (c == '\\') {
			if (j + 1 >= in.len || in.p[j + 1] < 32 || in.p[j + 1] > 126)
				return SMTP_ADDR_EBAD;
			buf_putc(out, in.p[j + 1]);
			j += 2;
		} else if (c >= 0x80) {
			size_t l = smtp_addr_utf8_len(in.p + j, in.len - j);
			if (!l)
				return SMTP_ADDR_EBAD;
			buf_append(out, in.p + j, l);
			j += l;
		} else if (c >= 32 && c <= 126) {
			buf_putc(out, c);
			j++;
		} else {
			return SMTP_ADDR_EBAD;
		}
	}
	*i = j;
	return j - start > SMTP_ADDR_LOCAL_MAX ? SMTP_ADDR_ELONG : 0;
}

/* Scans a domain or address literal at in.p[*i], ending before '>', ',' or ':'. */
static int smtp_addr_scan_domain(struct slice in, size_t *i, bool allow_literal, unsigned flags,
                                 bool *literal)
{
	size_t start = *i, j = *i;
	*literal = false;
	if (allow_literal && j < in.len && in.p[j] == '[') {
		while (j < in.len && in.p[j] != ']' && in.p[j] != '>')
			j++;
		if (j < in.len && in.p[j] == ']')
			j++;
		*i = j;
		*literal = true;
		if (j - start > SMTP_ADDR_DOMAIN_MAX)
			return SMTP_ADDR_ELONG;
		return smtp_addr_literal_valid(slice_of(in.p + start, j - start)) ? 0 : SMTP_ADDR_EBAD;
	}
	while (j < in.len && in.p[j] != '>' && in.p[j] != ',' && in.p[j] != ':' && in.p[j] != ' ')
		j++;
	*i = j;
	struct slice d = slice_of(in.p + start, j - start);
	if (d.len > SMTP_ADDR_DOMAIN_MAX)
		return SMTP_ADDR_ELONG;
	if (smtp_addr_domain_valid(d, flags & SMTP_ADDR_ASCII_ONLY))
		return 0;
	/* A long label is "too long", anything else is bad syntax. */
	size_t lab = 0;
	for (size_t k = 0; k < d.len; k++) {
		lab = d.p[k] == '.' ? 0 : lab + 1;
		if (lab > SMTP_ADDR_LABEL_MAX)
			return SMTP_ADDR_ELONG;
	}
	return SMTP_ADDR_EBAD;
}

/* Skips "@dom,@dom:" source routes. */
static int smtp_addr_skip_route(struct slice in, size_t *i)
{
	for (;;) {
		if (*i >= in.len || in.p[*i] != '@')
			return SMTP_ADDR_EBAD;
		(*i)++;
		bool lit;
		int r = smtp_addr_scan_domain(in, i, false, 0, &lit);
		if (r)
			return r;
		if (*i >= in.len)
			return SMTP_ADDR_ESYNTAX;
		if (in.p[*i] == ':') {
			(*i)++;
			return 0;
		}
		if (in.p[*i] != ',')
			return SMTP_ADDR_EBAD;
		(*i)++;
	}
}

static int smtp_addr_parse_inner(struct slice in, unsigned flags, struct smtp_addr *out,
                                 size_t *used, struct buf *local)
{
	size_t i = 1;
	if (in.len < 1 || in.p[0] != '<')
		return SMTP_ADDR_ESYNTAX;
	if (in.len < 2)
		return SMTP_ADDR_ESYNTAX;
	if (in.p[1] == '>') {
		if (!(flags & SMTP_ADDR_ALLOW_NULL))
			return SMTP_ADDR_EBAD;
		out->null = true;
		*used = 2;
		return 0;
	}
	int r;
	if (in.p[1] == '@' && (r = smtp_addr_skip_route(in, &i)) != 0)
		return r;
	if (i >= in.len)
		return SMTP_ADDR_ESYNTAX;
	out->quoted = in.p[i] == '"';
	r = out->quoted ? smtp_addr_scan_quoted(in, &i, local) : smtp_addr_scan_dotstring(in, &i, local);
	if (r)
		return r;
	if (i >= in.len)
		return SMTP_ADDR_ESYNTAX;
	if (in.p[i] == '>' && (flags & SMTP_ADDR_ALLOW_POSTMASTER) && !out->quoted &&
	    slice_eq_str_nocase(buf_slice(local), "postmaster")) {
		*used = i + 1;
		return 0;
	}
	if (in.p[i] != '@')
		return SMTP_ADDR_EBAD;
	i++;
	size_t dstart = i;
	if ((r = smtp_addr_scan_domain(in, &i, true, 0, &out->literal)) != 0)
		return r;
	if (i >= in.len)
		return SMTP_ADDR_ESYNTAX;
	if (in.p[i] != '>')
		return SMTP_ADDR_EBAD;
	out->domain_len = i - dstart;
	out->domain = xstrndup((const char *)in.p + dstart, out->domain_len);
	*used = i + 1;
	return 0;
}

int smtp_addr_parse_path(struct slice in, unsigned flags, struct smtp_addr *out, size_t *used)
{
	struct buf local;
	buf_init(&local);
	memset(out, 0, sizeof(*out));
	*used = 0;
	int r = smtp_addr_parse_inner(in, flags, out, used, &local);
	if (r) {
		buf_free(&local);
		smtp_addr_free(out);
		*used = 0;
		return r;
	}
	out->local_len = local.len;
	out->local = local.len ? slice_strdup(buf_slice(&local)) : xstrdup("");
	buf_free(&local);
	if (!out->domain)
		out->domain = xstrdup("");
	out->utf8 = !utf8_is_ascii((const uint8_t *)out->local, out->local_len) ||
	            !utf8_is_ascii((const uint8_t *)out->domain, out->domain_len);
	return 0;
}

void smtp_addr_format(const struct smtp_addr *a, struct buf *out)
{
	if (a->null)
		return;
	if (smtp_addr_local_is_dotstring(a->local, a->local_len)) {
		buf_append(out, a->local, a->local_len);
	} else {
		buf_putc(out, '"');
		for (size_t i = 0; i < a->local_len; i++) {
			if (a->local[i] == '"' || a->local[i] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, (uint8_t)a->local[i]);
		}
		buf_putc(out, '"');
	}
	if (a->domain_len) {
		buf_putc(out, '@');
		buf_append(out, a->domain, a->domain_len);
	}
}

bool smtp_addr_same(const struct smtp_addr *a, const struct smtp_addr *b)
{
	return a->null == b->null &&
	       slice_eq(slice_of(a->local, a->local_len), slice_of(b->local, b->local_len)) &&
	       slice_eq_nocase(slice_of(a->domain, a->domain_len), slice_of(b->domain, b->domain_len));
}

void smtp_addr_copy(struct smtp_addr *dst, const struct smtp_addr *src)
{
	*dst = *src;
	dst->local = src->local ? xmemdup(src->local, src->local_len + 1) : NULL;
	dst->domain = src->domain ? xmemdup(src->domain, src->domain_len + 1) : NULL;
}

void smtp_addr_free(struct smtp_addr *a)
{
	free(a->local);
	free(a->domain);
	memset(a, 0, sizeof(*a));
}
