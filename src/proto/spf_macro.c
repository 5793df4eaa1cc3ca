/* SPF macro expansion (RFC 7208 §7).
 *
 * DESIGN: one pass over the macro-string; each %{...} is expanded into a
 * scratch buffer, split on its delimiters, optionally reversed and cut to
 * the rightmost N parts, then joined with dots (URL-escaped for upper-case
 * letters). With no environment the same pass only checks syntax, so the
 * record parser and the expander cannot disagree. Every output is bounded by
 * SPF_EXPAND_MAX, so a record full of %{s} cannot blow up (badinput.md #52). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proto/spf.h"

/* Most parts a macro value is split into (a 253-octet name has < 128 labels;
 * an IPv6 %{i} has 32). */
#define SPF_MACRO_PARTS_MAX 160

static bool spf_macro_delim(uint8_t c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static void spf_macro_ip(const struct spf_ip *ip, bool dotted_v6, struct buf *out)
{
	char tmp[INET6_ADDRSTRLEN];
	if (!ip->v6) {
		buf_printf(out, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
	} else if (dotted_v6) {
		for (int i = 0; i < 16; i++)
			buf_printf(out, "%s%x.%x", i ? "." : "", ip->a[i] >> 4, ip->a[i] & 15);
	} else {
		inet_ntop(AF_INET6, ip->a, tmp, sizeof tmp);
		buf_puts(out, tmp);
	}
}

/* The raw value of one macro letter. */
static bool spf_macro_value(uint8_t letter, const struct spf_macro_env *env, struct buf *v)
{
	const char *at = env->sender ? strrchr(env->sender, '@') : NULL;
	switch (letter) {
	case 's': buf_puts(v, env->sender ? env->sender : ""); break;
	case 'l':
		if (at && at != env->sender)
			buf_append(v, env->sender, (size_t)(at - env->sender));
		else
			buf_puts(v, "postmaster");
		break;
	case 'o': buf_puts(v, at ? at + 1 : (env->sender ? env->sender : "")); break;
	case 'd': buf_puts(v, env->domain ? env->domain : ""); break;
	case 'i': spf_macro_ip(env->ip, true, v); break;
	case 'c': spf_macro_ip(env->ip, false, v); break;
	case 'p': buf_puts(v, "unknown"); break;
	case 'v': buf_puts(v, env->ip->v6 ? "ip6" : "in-addr"); break;
	case 'h': buf_puts(v, env->helo ? env->helo : ""); break;
	case 'r': buf_puts(v, env->receiver ? env->receiver : "unknown"); break;
	case 't': buf_printf(v, "%lld", (long long)env->now); break;
	default: return false;
	}
	return true;
}

static void spf_macro_escape(struct buf *out, const uint8_t *p, size_t n, bool url)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		                  c == '.' || c == '_' || c == '~';
		if (url && !unreserved)
			buf_printf(out, "%%%02X", c);
		else
			buf_putc(out, c);
	}
}

/* Splits v on delims, applies digits/reverse, joins with '.' into out. */
static void spf_macro_transform(struct slice v, const char *delims, size_t ndelims, unsigned keep, bool rev,
                                bool url, struct buf *out)
{
	struct slice parts[SPF_MACRO_PARTS_MAX];
	size_t n = 0, s = 0;
	for (size_t i = 0; i <= v.len && n < SPF_MACRO_PARTS_MAX; i++) {
		bool d = i == v.len;
		for (size_t k = 0; !d && k < ndelims; k++)
			d = v.p[i] == (uint8_t)delims[k];
		if (d) {
			parts[n++] = slice_of(v.p + s, i - s);
			s = i + 1;
		}
	}
	if (rev)
		for (size_t i = 0; i < n / 2; i++) {
			struct slice t = parts[i];
			parts[i] = parts[n - 1 - i];
			parts[n - 1 - i] = t;
		}
	size_t first = keep && keep < n ? n - keep : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			buf_putc(out, '.');
		spf_macro_escape(out, parts[i].p, parts[i].len, url);
	}
}

/* Parses and (with env) expands one "%{...}" starting at in.p[*i] == '{'. */
static int spf_macro_one(struct slice in, size_t *i, const struct spf_macro_env *env, bool exp, struct buf *out)
{
	size_t k = *i + 1;
	if (k >= in.len)
		return -1;
	uint8_t letter = in.p[k++];
	bool url = letter >= 'A' && letter <= 'Z';
	uint8_t lower = url ? (uint8_t)(letter + 32) : letter;
	if (!strchr("slodipvhcrt", lower) || lower == 0 || (!exp && strchr("crt", lower)))
		return -1;
	unsigned keep = 0;
	size_t ds = k;
	while (k < in.len && in.p[k] >= '0' && in.p[k] <= '9' && k - ds < 3)
		keep = keep * 10 + (unsigned)(in.p[k++] - '0');
	if (k > ds && keep == 0)
		return -1; /* a DIGIT transformer must be non-zero */
	bool rev = k < in.len && (in.p[k] == 'r' || in.p[k] == 'R');
	k += rev;
	char delims[8];
	size_t nd = 0;
	while (k < in.len && spf_macro_delim(in.p[k])) {
		if (nd < sizeof delims && !memchr(delims, in.p[k], nd))
			delims[nd++] = (char)in.p[k];
		k++;
	}
	if (k >= in.len || in.p[k] != '}')
		return -1;
	*i = k + 1;
	if (!env)
		return 0;
	if (nd == 0)
		delims[nd++] = '.';
	struct buf v;
	buf_init(&v);
	spf_macro_value(lower, env, &v);
	spf_macro_transform(buf_slice(&v), delims, nd, keep, rev, url, out);
	buf_free(&v);
	return 0;
}

int spf_macro_expand(struct slice in, const struct spf_macro_env *env, bool exp, struct buf *out)
{
	size_t start = out ? out->len : 0;
	for (size_t i = 0; i < in.len;) {
		uint8_t c = in.p[i];
		if (c < 0x21 || c > 0x7e) {
			if (!(exp && c == ' '))
				return -1;
		}
		if (c != '%') {
			if (env)
				buf_putc(out, c);
			i++;
		} else if (i + 1 >= in.len) {
			return -1;
		} else if (in.p[i + 1] == '{') {
			i++;
			if (spf_macro_one(in, &i, env, exp, out) != 0)
				return -1;
		} else {
			const char *rep = in.p[i + 1] == '%' ? "%" : in.p[i + 1] == '_' ? " " : in.p[i + 1] == '-' ? "%20" : NULL;
			if (!rep)
				return -1;
			if (env)
				buf_puts(out, rep);
			i += 2;
		}
		if (env && out->len - start > SPF_EXPAND_MAX)
			return -1;
	}
	return 0;
}

int spf_macro_domain(struct buf *name)
{
	if (name->len > 0 && name->p[name->len - 1] == '.')
		name->len--;
	size_t off = 0;
	while (name->len - off > SPF_DOMAIN_MAX) {
		const uint8_t *dot = memchr(name->p + off, '.', name->len - off);
		if (!dot)
			return -1;
		off = (size_t)(dot - name->p) + 1;
	}
	buf_consume(name, off);
	if (name->len == 0)
		return -1;
	size_t lab = 0;
	for (size_t i = 0; i < name->len; i++) {
		if (name->p[i] == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
		} else if (++lab > 63) {
			return -1;
		}
	}
	return lab == 0 ? -1 : 0;
}
