/* SPF record parser (RFC 7208 §4.5, §5, §6, §12).
 *
 * DESIGN: the whole record is parsed before evaluation starts, because a
 * syntax error anywhere makes the result permerror even when an earlier
 * mechanism would have matched (§4.6). Terms keep slices into the record
 * text; macros are syntax-checked here (spf_macro_expand with no environment)
 * and expanded only when the engine reaches the term. */
#include <arpa/inet.h>
#include <string.h>

#include "proto/spf.h"

static bool spf_record_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool spf_record_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

bool spf_record_is_spf(struct slice txt)
{
	return txt.len >= 6 && slice_prefix_nocase(txt, "v=spf1") && (txt.len == 6 || txt.p[6] == ' ');
}

int spf_ip_parse(const char *s, struct spf_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, s, ip->a) == 1)
		return 0;
	if (inet_pton(AF_INET6, s, ip->a) != 1)
		return -1;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(ip->a, mapped, 12) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		return 0;
	}
	ip->v6 = true;
	return 0;
}

/* ip4-cidr-length / ip6-cidr-length digits: no leading zero, <= max. */
static bool spf_record_cidr(struct slice s, int max, int *out)
{
	if (s.len == 0 || s.len > 3 || (s.len > 1 && s.p[0] == '0'))
		return false;
	int v = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (!spf_record_digit(s.p[i]))
			return false;
		v = v * 10 + (s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Strict dotted quad (qnum has no leading zeros). */
static bool spf_record_ip4(struct slice s, uint8_t *out)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		size_t st = i;
		int v = 0;
		while (i < s.len && spf_record_digit(s.p[i]) && i - st < 3)
			v = v * 10 + (s.p[i++] - '0');
		if (i == st || v > 255 || (i - st > 1 && s.p[st] == '0'))
			return false;
		out[part] = (uint8_t)v;
		if (part < 3 && (i >= s.len || s.p[i++] != '.'))
			return false;
	}
	return i == s.len;
}

static bool spf_record_ip6(struct slice s, uint8_t *out)
{
	char tmp[64];
	if (s.len == 0 || s.len >= sizeof tmp)
		return false;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = 0;
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* domain-end: a macro at the end, or "." toplabel ["."] with a toplabel that
 * is not all digits (so "a:192.0.2.1" is an error, RFC 7208 §7.1). */
static bool spf_record_domain_end(struct slice s)
{
	if (s.len > 0 && s.p[s.len - 1] == '.')
		s.len--;
	if (s.len > 0 && s.p[s.len - 1] == '}')
		return true;
	if (s.len >= 2 && s.p[s.len - 2] == '%')
		return true; /* %% %_ %- */
	size_t i = s.len;
	while (i > 0 && s.p[i - 1] != '.')
		i--;
	if (i == 0 || i == s.len)
		return false;
	bool alpha = false;
	for (size_t k = i; k < s.len; k++) {
		uint8_t c = s.p[k];
		if (!spf_record_alpha(c) && !spf_record_digit(c) && c != '-')
			return false;
		alpha |= spf_record_alpha(c);
	}
	return alpha && s.p[i] != '-' && s.p[s.len - 1] != '-';
}

static bool spf_record_spec(struct slice spec)
{
	return spf_macro_expand(spec, NULL, false, NULL) == 0 && spf_record_domain_end(spec);
}

/* Splits arg at its first '/' outside %{...}: domain-spec and cidr part. */
static void spf_record_split_cidr(struct slice arg, struct slice *spec, struct slice *cidr)
{
	int depth = 0;
	for (size_t i = 0; i < arg.len; i++) {
		if (arg.p[i] == '{')
			depth++;
		else if (arg.p[i] == '}' && depth > 0)
			depth--;
		else if (arg.p[i] == '/' && depth == 0) {
			*spec = slice_of(arg.p, i);
			*cidr = slice_of(arg.p + i, arg.len - i);
			return;
		}
	}
	*spec = arg;
	*cidr = slice_of(arg.p + arg.len, 0);
}

/* dual-cidr-length = [ "/" ip4 ] [ "//" ip6 ] */
static bool spf_record_dual(struct slice c, struct spf_term *t)
{
	if (c.len == 0)
		return true;
	if (c.p[0] != '/')
		return false;
	const uint8_t *dd = NULL;
	for (size_t i = 0; i + 1 < c.len; i++)
		if (c.p[i] == '/' && c.p[i + 1] == '/') {
			dd = c.p + i;
			break;
		}
	if (dd != c.p) {
		size_t end = dd ? (size_t)(dd - c.p) : c.len;
		if (!spf_record_cidr(slice_of(c.p + 1, end - 1), 32, &t->cidr4))
			return false;
	}
	return !dd || spf_record_cidr(slice_of(dd + 2, c.len - (size_t)(dd + 2 - c.p)), 128, &t->cidr6);
}

static const struct {
	const char *name;
	enum spf_kind kind;
} spf_record_mechs[] = {
	{"all", SPF_ALL}, {"include", SPF_INCLUDE}, {"a", SPF_A},   {"mx", SPF_MX},
	{"ptr", SPF_PTR}, {"ip4", SPF_IP4},         {"ip6", SPF_IP6}, {"exists", SPF_EXISTS},
};

static const char *spf_record_mech_args(struct spf_term *t, struct slice arg, bool colon)
{
	struct slice spec, cidr;
	switch (t->kind) {
	case SPF_ALL:
		return arg.len == 0 && !colon ? NULL : "arguments to all";
	case SPF_INCLUDE:
	case SPF_EXISTS:
		t->spec = arg;
		return colon && spf_record_spec(arg) ? NULL : "bad domain-spec";
	case SPF_A:
	case SPF_MX:
	case SPF_PTR:
		if (!colon && arg.len > 0 && arg.p[0] != '/')
			return "bad mechanism";
		spf_record_split_cidr(arg, &spec, &cidr);
		t->spec = spec;
		if ((colon || spec.len > 0) && !spf_record_spec(spec))
			return "bad domain-spec";
		if (t->kind == SPF_PTR)
			return cidr.len == 0 ? NULL : "cidr on ptr";
		return spf_record_dual(cidr, t) ? NULL : "bad cidr length";
	case SPF_IP4:
	case SPF_IP6:
		spf_record_split_cidr(arg, &spec, &cidr);
		if (!colon)
			return "missing address";
		if (t->kind == SPF_IP4 ? !spf_record_ip4(spec, t->net) : !spf_record_ip6(spec, t->net))
			return "bad address";
		if (cidr.len == 0)
			return NULL;
		return spf_record_cidr(slice_of(cidr.p + 1, cidr.len - 1), t->kind == SPF_IP4 ? 32 : 128,
		                       t->kind == SPF_IP4 ? &t->cidr4 : &t->cidr6)
		               ? NULL
		               : "bad cidr length";
	default:
		return "bad mechanism";
	}
}

static const char *spf_record_term(struct slice term, struct spf_term *t, struct spf_record *r, size_t idx)
{
	memset(t, 0, sizeof *t);
	t->text = term;
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qual = '+';
	size_t i = 0;
	if (term.p[0] == '+' || term.p[0] == '-' || term.p[0] == '~' || term.p[0] == '?')
		t->qual = (char)term.p[i++];
	size_t ns = i;
	if (i >= term.len || !spf_record_alpha(term.p[i]))
		return "bad term";
	while (i < term.len && (spf_record_alpha(term.p[i]) || spf_record_digit(term.p[i]) || term.p[i] == '-' ||
	                        term.p[i] == '_' || term.p[i] == '.'))
		i++;
	struct slice name = slice_of(term.p + ns, i - ns);
	if (i < term.len && term.p[i] == '=') {
		if (ns != 0)
			return "qualifier on modifier";
		t->spec = slice_of(term.p + i + 1, term.len - i - 1);
		t->kind = slice_eq_str_nocase(name, "redirect") ? SPF_REDIRECT
		          : slice_eq_str_nocase(name, "exp")    ? SPF_EXP
		                                                : SPF_UNKNOWN_MOD;
		if (t->kind == SPF_UNKNOWN_MOD)
			return spf_macro_expand(t->spec, NULL, false, NULL) == 0 ? NULL : "bad macro in modifier";
		int *slot = t->kind == SPF_REDIRECT ? &r->redirect : &r->exp;
		if (*slot >= 0)
			return "duplicate modifier";
		*slot = (int)idx;
		return spf_record_spec(t->spec) ? NULL : "bad domain-spec";
	}
	for (size_t k = 0; k < sizeof spf_record_mechs / sizeof spf_record_mechs[0]; k++) {
		if (!slice_eq_str_nocase(name, spf_record_mechs[k].name))
			continue;
		t->kind = spf_record_mechs[k].kind;
		bool colon = i < term.len && term.p[i] == ':';
		struct slice arg = slice_of(term.p + i + colon, term.len - i - colon);
		return spf_record_mech_args(t, arg, colon);
	}
	return "unknown mechanism";
}

int spf_record_parse(struct slice txt, struct spf_record *r, const char **err)
{
	r->n = 0;
	r->redirect = r->exp = -1;
	*err = NULL;
	if (txt.len > SPF_RECORD_MAX) {
		*err = "record too long";
		return -1;
	}
	if (!spf_record_is_spf(txt)) {
		*err = "not an SPF record";
		return -1;
	}
	size_t i = 6;
	while (i < txt.len) {
		if (txt.p[i] == ' ') {
			i++;
			continue;
		}
		size_t s = i;
		while (i < txt.len && txt.p[i] != ' ')
			i++;
		if (r->n == SPF_TERMS_MAX) {
			*err = "too many terms";
			return -1;
		}
		*err = spf_record_term(slice_of(txt.p + s, i - s), &r->t[r->n], r, r->n);
		if (*err)
			return -1;
		r->n++;
	}
	return 0;
}
