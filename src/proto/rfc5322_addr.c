/* RFC 5322 §3.4 address lists, with the obsolete syntax of §4.4 and the UTF-8
 * of RFC 6532, for From/To/Cc parsing (submission From check, webhooks).
 *
 * DESIGN: a small lexer (atoms, quoted strings, domain literals, specials;
 * whitespace, folds and comments skipped and remembered as "space before")
 * feeds a flat parser: one address is a run of words, then '<' (name-addr),
 * ':' (group, one level only) or '@' (addr-spec). Comments nest through a
 * depth counter, not recursion, and every step consumes input, so the work is
 * linear. The words of one address are kept in a reused token array so the
 * same run can become a display name or a local part. Display names are
 * RFC 2047-decoded and made valid UTF-8; local parts and domains must be
 * ASCII unless RFC5322_ADDR_UTF8 is given, and then valid UTF-8. */
#include "proto/rfc5322_addr.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/rfc2047.h"
#include "proto/rfc5322.h"

enum tok_kind { T_END, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL, T_ERR };

struct tok {
	enum tok_kind k;
	uint8_t c;          /* the special character */
	struct slice raw;   /* atom text; quoted/literal content without delimiters */
	bool space_before;  /* whitespace or a comment came before it */
};

struct lex {
	struct slice s;
	size_t i;
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

static bool is_atext(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != 0;
}

/* Skips whitespace and comments; false on an unterminated comment. */
static bool skip_cfws(struct lex *lx, bool *skipped)
{
	struct slice s = lx->s;
	size_t depth = 0;
	for (; lx->i < s.len; lx->i++) {
		uint8_t c = s.p[lx->i];
		if (depth) {
			if (c == '\\')
				lx->i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
		*skipped = true;
	}
	return depth == 0 && lx->i <= s.len;
}

/* Scans to the closing delimiter; returns the content or T_ERR. */
static struct tok scan_delimited(struct lex *lx, uint8_t close, enum tok_kind k)
{
	struct slice s = lx->s;
	struct tok t = {.k = T_ERR};
	size_t start = ++lx->i;
	for (; lx->i < s.len; lx->i++) {
		uint8_t c = s.p[lx->i];
		if (c == 0 || (k == T_DLIT && c == '['))
			return t;
		if (c == '\\') {
			lx->i++;
		} else if (c == close) {
			t.k = k;
			t.raw = slice_of(s.p + start, lx->i - start);
			lx->i++;
			return t;
		}
	}
	return t;
}

static struct tok lex_next(struct lex *lx)
{
	bool sp = false;
	struct tok t = {.k = T_ERR};
	if (!skip_cfws(lx, &sp))
		return t;
	struct slice s = lx->s;
	if (lx->i >= s.len) {
		t.k = T_END;
	} else if (s.p[lx->i] == '"') {
		t = scan_delimited(lx, '"', T_QSTR);
	} else if (s.p[lx->i] == '[') {
		t = scan_delimited(lx, ']', T_DLIT);
	} else if (strchr("<>:;@,.", s.p[lx->i]) && s.p[lx->i]) {
		t.k = T_SPECIAL;
		t.c = s.p[lx->i++];
	} else if (is_atext(s.p[lx->i])) {
		size_t start = lx->i;
		while (lx->i < s.len && is_atext(s.p[lx->i]))
			lx->i++;
		t.k = T_ATOM;
		t.raw = slice_of(s.p + start, lx->i - start);
	}
	t.space_before = sp;
	return t;
}

static struct tok lex_peek(struct lex *lx)
{
	struct lex save = *lx;
	struct tok t = lex_next(&save);
	return t;
}

static bool is_special(struct tok t, uint8_t c)
{
	return t.k == T_SPECIAL && t.c == c;
}

/* Appends quoted-string or literal content without backslashes and folds. */
static void unescape(struct buf *out, struct slice raw)
{
	for (size_t i = 0; i < raw.len; i++) {
		uint8_t c = raw.p[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\' && i + 1 < raw.len)
			c = raw.p[++i];
		buf_putc(out, c);
	}
}

static void toks_push(struct toks *ts, struct tok t)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 16;
		ts->v = xrealloc(ts->v, ts->cap * sizeof(*ts->v));
	}
	ts->v[ts->n++] = t;
}

/* Display name from words: single spaces, RFC 2047 decoding, valid UTF-8. */
static char *make_name(const struct toks *ts)
{
	struct buf raw, dec, out;
	buf_init(&raw);
	buf_init(&dec);
	buf_init(&out);
	for (size_t i = 0; i < ts->n; i++) {
		const struct tok *t = &ts->v[i];
		if (i > 0 && t->space_before)
			buf_putc(&raw, ' ');
		if (t->k == T_SPECIAL)
			buf_putc(&raw, t->c);
		else if (t->k == T_QSTR)
			unescape(&raw, t->raw);
		else
			buf_append(&raw, t->raw.p, t->raw.len);
	}
	rfc2047_decode(buf_slice(&raw), &dec);
	for (size_t i = 0; i < dec.len;) {
		uint32_t cp;
		size_t n = rfc5322_utf8_next(dec.p + i, dec.len - i, &cp);
		if (!n || cp < 0x20 || cp == 0x7f)
			cp = n ? ' ' : 0xfffd;
		rfc5322_utf8_put(&out, cp);
		i += n ? n : 1;
	}
	buf_free(&raw);
	buf_free(&dec);
	char *s = xstrdup(buf_cstr(&out));
	buf_free(&out);
	return s;
}

/* Whether s (ASCII or UTF-8 per utf8) is acceptable in a local part/domain. */
static bool part_ok(struct slice s, unsigned flags, bool *utf8)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] >= 0x80)
			*utf8 = true;
	if (*utf8 && (!(flags & RFC5322_ADDR_UTF8) || !rfc5322_utf8_valid(s)))
		return false;
	return s.len <= RFC5322_ADDR_PART_MAX;
}

/* Local part from words: word *("." word), obs-local-part spacing allowed. */
static int make_localpart(const struct toks *ts, unsigned flags, struct rfc5322_addr *a)
{
	struct buf lp;
	buf_init(&lp);
	int rc = ts->n ? 0 : RFC5322_ADDR_ESYNTAX;
	for (size_t i = 0; i < ts->n && rc == 0; i++) {
		const struct tok *t = &ts->v[i];
		bool want_word = (i % 2) == 0;
		if (want_word != (t->k != T_SPECIAL) || (!want_word && t->c != '.'))
			rc = RFC5322_ADDR_ESYNTAX;
		else if (t->k == T_QSTR)
			unescape(&lp, t->raw);
		else if (t->k == T_ATOM)
			buf_append(&lp, t->raw.p, t->raw.len);
		else
			buf_putc(&lp, '.');
	}
	if (rc == 0 && ts->n % 2 == 0)
		rc = RFC5322_ADDR_ESYNTAX; /* ends with a dot */
	for (size_t i = 0; rc == 0 && i < lp.len; i++)
		if (lp.p[i] < 0x20 || lp.p[i] == 0x7f)
			rc = RFC5322_ADDR_ESYNTAX;
	if (rc == 0 && !part_ok(buf_slice(&lp), flags, &a->utf8))
		rc = RFC5322_ADDR_ESYNTAX;
	if (rc == 0)
		a->localpart = xstrdup(buf_cstr(&lp));
	buf_free(&lp);
	return rc;
}

static bool label_ok(struct slice l)
{
	if (l.len == 0 || l.len > 63)
		return false;
	for (size_t i = 0; i < l.len; i++) {
		uint8_t c = l.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c >= 0x80))
			return false;
	}
	return true;
}

/* Parses a domain (dot-atom or literal) after '@'. */
static int parse_domain(struct lex *lx, unsigned flags, struct rfc5322_addr *a)
{
	struct buf d;
	buf_init(&d);
	int rc = 0;
	struct tok t = lex_next(lx);
	if (t.k == T_DLIT) {
		/* dtext only: no quoted-pairs or whitespace inside an address literal. */
		for (size_t i = 0; i < t.raw.len; i++)
			if (t.raw.p[i] < 33 || t.raw.p[i] > 126 || t.raw.p[i] == '\\')
				rc = RFC5322_ADDR_ESYNTAX;
		buf_putc(&d, '[');
		buf_append(&d, t.raw.p, t.raw.len);
		buf_putc(&d, ']');
	} else {
		for (;;) {
			if (t.k != T_ATOM || !label_ok(t.raw)) {
				rc = RFC5322_ADDR_ESYNTAX;
				break;
			}
			for (size_t i = 0; i < t.raw.len; i++) {
				uint8_t c = t.raw.p[i];
				buf_putc(&d, (c >= 'A' && c <= 'Z') ? c + 32 : c);
			}
			if (!is_special(lex_peek(lx), '.'))
				break;
			lex_next(lx);
			buf_putc(&d, '.');
			t = lex_next(lx);
		}
	}
	for (size_t i = 0; rc == 0 && i < d.len; i++)
		if (d.p[i] < 0x20 || d.p[i] == 0x7f)
			rc = RFC5322_ADDR_ESYNTAX;
	if (rc == 0 && !part_ok(buf_slice(&d), flags, &a->utf8))
		rc = RFC5322_ADDR_ESYNTAX;
	if (rc == 0)
		a->domain = xstrdup(buf_cstr(&d));
	buf_free(&d);
	return rc;
}

/* Collects words (atoms, quoted strings, dots) of one address into ts. */
static int collect_words(struct lex *lx, struct toks *ts)
{
	ts->n = 0;
	for (;;) {
		struct tok t = lex_peek(lx);
		if (t.k == T_ERR)
			return RFC5322_ADDR_ESYNTAX;
		if (t.k != T_ATOM && t.k != T_QSTR && !is_special(t, '.'))
			return 0;
		toks_push(ts, lex_next(lx));
	}
}

void rfc5322_addr_put_localpart(struct buf *out, const char *lp)
{
	bool atom = lp[0] != 0 && lp[0] != '.';
	for (size_t i = 0; atom && lp[i]; i++)
		if (!is_atext((uint8_t)lp[i]) && !(lp[i] == '.' && lp[i + 1] != '.' && lp[i + 1]))
			atom = false;
	if (atom) {
		buf_puts(out, lp);
		return;
	}
	buf_putc(out, '"');
	for (size_t i = 0; lp[i]; i++) {
		if (lp[i] == '"' || lp[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, (uint8_t)lp[i]);
	}
	buf_putc(out, '"');
}

/* addr-spec after the words of the local part, with the '@' next. */
static int finish_mailbox(struct lex *lx, const struct toks *lpw, char *name, unsigned flags,
                          struct rfc5322_addr_list *out)
{
	struct rfc5322_addr a = {.name = name};
	int rc = RFC5322_ADDR_ESYNTAX;
	if (is_special(lex_next(lx), '@') && make_localpart(lpw, flags, &a) == 0 &&
	    parse_domain(lx, flags, &a) == 0)
		rc = 0;
	if (rc == 0 && out->n >= RFC5322_ADDR_MAX)
		rc = RFC5322_ADDR_ETOOMANY;
	if (rc) {
		rfc5322_addr_free(&a);
		return rc;
	}
	struct buf b;
	buf_init(&b);
	rfc5322_addr_put_localpart(&b, a.localpart);
	buf_printf(&b, "@%s", a.domain);
	a.address = xstrdup(buf_cstr(&b));
	buf_free(&b);
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 4;
		out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
	}
	out->v[out->n++] = a;
	return 0;
}

/* angle-addr after '<': [obs-route] addr-spec '>'. Takes ownership of name. */
static int parse_angle(struct lex *lx, struct toks *ts, char *name, unsigned flags,
                       struct rfc5322_addr_list *out)
{
	if (is_special(lex_peek(lx), '@')) { /* obs-route: @a,@b: */
		for (;;) {
			struct tok t = lex_next(lx);
			if (is_special(t, ':'))
				break;
			if (!is_special(t, '@') && !is_special(t, ',') && t.k != T_ATOM &&
			    !is_special(t, '.') && t.k != T_DLIT) {
				free(name);
				return RFC5322_ADDR_ESYNTAX;
			}
		}
	}
	int rc = collect_words(lx, ts);
	if (rc == 0)
		rc = finish_mailbox(lx, ts, name, flags, out);
	else
		free(name);
	if (rc == 0 && !is_special(lex_next(lx), '>'))
		rc = RFC5322_ADDR_ESYNTAX;
	return rc;
}

/* One list element: mailbox, group (when allowed) or an empty obs element. */
static int parse_element(struct lex *lx, struct toks *ts, unsigned flags, bool in_group,
                         struct rfc5322_addr_list *out)
{
	if (collect_words(lx, ts))
		return RFC5322_ADDR_ESYNTAX;
	struct tok t = lex_peek(lx);
	if (is_special(t, '<')) {
		lex_next(lx);
		return parse_angle(lx, ts, make_name(ts), flags, out);
	}
	if (is_special(t, '@'))
		return finish_mailbox(lx, ts, xstrdup(""), flags, out);
	if (is_special(t, ':') && !in_group && ts->n && !(flags & RFC5322_ADDR_NOGROUP)) {
		lex_next(lx);
		for (;;) {
			int rc = parse_element(lx, ts, flags, true, out);
			if (rc)
				return rc;
			t = lex_next(lx);
			if (is_special(t, ';'))
				return 0;
			if (!is_special(t, ','))
				return RFC5322_ADDR_ESYNTAX;
		}
	}
	/* Empty element (obs-addr-list): nothing before ',', ';' or the end. */
	if (ts->n == 0 && (t.k == T_END || is_special(t, ',') || (in_group && is_special(t, ';'))))
		return 0;
	return RFC5322_ADDR_ESYNTAX;
}

int rfc5322_addr_list_parse(struct slice value, unsigned flags, struct rfc5322_addr_list *out)
{
	struct lex lx = {value, 0};
	struct toks ts = {0};
	size_t n0 = out->n;
	int rc = 0;
	for (;;) {
		rc = parse_element(&lx, &ts, flags, false, out);
		if (rc)
			break;
		struct tok t = lex_next(&lx);
		if (t.k == T_END)
			break;
		if (!is_special(t, ',')) {
			rc = RFC5322_ADDR_ESYNTAX;
			break;
		}
	}
	free(ts.v);
	if (rc) {
		while (out->n > n0)
			rfc5322_addr_free(&out->v[--out->n]);
		return rc;
	}
	return (int)(out->n - n0);
}

void rfc5322_addr_free(struct rfc5322_addr *a)
{
	free(a->name);
	free(a->localpart);
	free(a->domain);
	free(a->address);
	memset(a, 0, sizeof(*a));
}

void rfc5322_addr_list_free(struct rfc5322_addr_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		rfc5322_addr_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int rfc5322_addr_from(struct slice header, unsigned flags, struct rfc5322_addr *out)
{
	struct rfc5322_iter it;
	struct rfc5322_field f, from = {0};
	size_t nfrom = 0;
	rfc5322_iter_init(&it, header);
	while (rfc5322_iter_next(&it, &f)) {
		if (f.malformed)
			return RFC5322_ADDR_ESYNTAX;
		if (slice_eq_str_nocase(f.name, "From") && nfrom++ == 0)
			from = f;
	}
	if (nfrom != 1)
		return RFC5322_ADDR_ECOUNT;
	struct rfc5322_addr_list l = {0};
	int rc = rfc5322_addr_list_parse(from.value, flags | RFC5322_ADDR_NOGROUP, &l);
	if (rc < 0) {
		rfc5322_addr_list_free(&l); /* the array may have grown */
		return rc == RFC5322_ADDR_ETOOMANY ? RFC5322_ADDR_ECOUNT : rc;
	}
	if (rc != 1) {
		rfc5322_addr_list_free(&l);
		return RFC5322_ADDR_ECOUNT;
	}
	*out = l.v[0];
	free(l.v);
	return 0;
}
