/* DKIM tag-list parser (RFC 6376 §3.2).
 *
 * DESIGN: one pass over the bytes with an index; folding whitespace is a
 * WSP, or a line break (CRLF or bare LF) that is followed by WSP. A line
 * break not followed by WSP cannot occur inside an unfolded header field and
 * is a syntax error. Duplicate tag names make the whole list invalid, as the
 * RFC requires; this matters for signatures (two d= would let an attacker
 * choose which one a verifier uses). */
#include <string.h>

#include "proto/dkim_tag.h"

static bool dkim_tag_is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Skips FWS at *i; returns false on a line break not followed by WSP. */
static bool dkim_tag_skip_fws(struct slice in, size_t *i)
{
	for (;;) {
		if (*i < in.len && dkim_tag_is_wsp(in.p[*i])) {
			(*i)++;
			continue;
		}
		size_t j = *i;
		if (j < in.len && in.p[j] == '\r')
			j++;
		if (j < in.len && in.p[j] == '\n') {
			j++;
			if (j < in.len && dkim_tag_is_wsp(in.p[j])) {
				*i = j;
				continue;
			}
			return false;
		}
		if (j != *i)
			return false; /* bare CR */
		return true;
	}
}

static bool dkim_tag_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool dkim_tag_valchar(uint8_t c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/* Parses one tag-value at *i: VALCHAR runs separated by FWS. Ends before the
 * trailing FWS; sets *end to the end of the last run. */
static bool dkim_tag_value(struct slice in, size_t *i, size_t *end)
{
	*end = *i;
	for (;;) {
		while (*i < in.len && dkim_tag_valchar(in.p[*i]))
			(*i)++;
		*end = *i;
		size_t j = *i;
		if (!dkim_tag_skip_fws(in, &j))
			return false;
		if (j == in.len || in.p[j] == ';' || j == *i) {
			*i = j;
			return true;
		}
		*i = j;
	}
}

static int dkim_tag_one(struct slice in, size_t *i, struct dkim_tags *out)
{
	if (!dkim_tag_skip_fws(in, i) || *i >= in.len || !dkim_tag_alpha(in.p[*i]))
		return DKIM_TAGS_ESYNTAX;
	size_t ns = *i;
	while (*i < in.len && (dkim_tag_alpha(in.p[*i]) || (in.p[*i] >= '0' && in.p[*i] <= '9') || in.p[*i] == '_'))
		(*i)++;
	struct slice name = slice_of(in.p + ns, *i - ns);
	if (!dkim_tag_skip_fws(in, i) || *i >= in.len || in.p[*i] != '=')
		return DKIM_TAGS_ESYNTAX;
	(*i)++;
	size_t raw_start = *i;
	if (!dkim_tag_skip_fws(in, i))
		return DKIM_TAGS_ESYNTAX;
	size_t vs = *i, ve;
	if (!dkim_tag_value(in, i, &ve))
		return DKIM_TAGS_ESYNTAX;
	if (*i < in.len && in.p[*i] != ';')
		return DKIM_TAGS_ESYNTAX;
	for (size_t k = 0; k < out->n; k++)
		if (slice_eq(out->t[k].name, name))
			return DKIM_TAGS_EDUP;
	if (out->n == DKIM_TAGS_MAX)
		return DKIM_TAGS_ETOOMANY;
	out->t[out->n++] = (struct dkim_tag){name, slice_of(in.p + vs, ve - vs), raw_start, *i};
	return 0;
}

int dkim_tags_parse(struct slice in, struct dkim_tags *out)
{
	out->n = 0;
	size_t i = 0;
	for (;;) {
		int rc = dkim_tag_one(in, &i, out);
		if (rc != 0)
			return rc;
		if (i == in.len)
			return 0;
		i++; /* ';' */
		size_t j = i;
		if (!dkim_tag_skip_fws(in, &j))
			return DKIM_TAGS_ESYNTAX;
		if (j == in.len)
			return 0; /* trailing ';' */
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_tags *tags, const char *name)
{
	struct slice n = slice_str(name);
	for (size_t i = 0; i < tags->n; i++)
		if (slice_eq(tags->t[i].name, n))
			return &tags->t[i];
	return NULL;
}

void dkim_tags_strip_ws(struct slice value, struct buf *out)
{
	for (size_t i = 0; i < value.len; i++) {
		uint8_t c = value.p[i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			buf_putc(out, c);
	}
}
