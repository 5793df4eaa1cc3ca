/* DMARC record parser (RFC 7489 §6.3, §6.4, §6.6.3).
 *
 * DESIGN: the record uses DKIM's tag-list grammar, so the DKIM tag parser
 * splits it and this file checks the DMARC tags. Values are
 * case-insensitive. URIs are kept as written (with the size suffix parsed)
 * for the reporter, which only uses mailto: ones. */
#include <stdio.h>
#include <string.h>

#include "proto/dkim_tag.h"
#include "proto/dmarc.h"

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? "reject" : p == DMARC_POLICY_QUARANTINE ? "quarantine" : "none";
}

bool dmarc_record_is_dmarc(struct slice txt)
{
	if (txt.len < 8 || !slice_prefix_nocase(txt, "v=DMARC1"))
		return false;
	return txt.len == 8 || txt.p[8] == ';' || txt.p[8] == ' ' || txt.p[8] == '\t';
}

static bool dmarc_record_policy(struct slice v, enum dmarc_policy *p)
{
	if (slice_eq_str_nocase(v, "none"))
		*p = DMARC_POLICY_NONE;
	else if (slice_eq_str_nocase(v, "quarantine"))
		*p = DMARC_POLICY_QUARANTINE;
	else if (slice_eq_str_nocase(v, "reject"))
		*p = DMARC_POLICY_REJECT;
	else
		return false;
	return true;
}

static bool dmarc_record_number(struct slice v, uint64_t max, uint64_t *out)
{
	if (v.len == 0 || v.len > 10)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	*out = n;
	return n <= max;
}

/* One "uri[!size[kmgt]]"; the URI must have a scheme. */
static bool dmarc_record_uri(struct slice s, struct dmarc_uri *u)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.len--;
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	const uint8_t *bang = memchr(s.p, '!', s.len);
	struct slice uri = bang ? slice_of(s.p, (size_t)(bang - s.p)) : s;
	const uint8_t *colon = memchr(uri.p, ':', uri.len);
	if (!colon || colon == uri.p || uri.len > DMARC_URI_MAX || colon + 1 == uri.p + uri.len)
		return false;
	u->max_size = 0;
	if (bang) {
		struct slice sz = slice_of(bang + 1, s.len - uri.len - 1);
		uint64_t mult = 1;
		if (sz.len > 0) {
			uint8_t c = sz.p[sz.len - 1] | 0x20;
			mult = c == 'k' ? 1ull << 10 : c == 'm' ? 1ull << 20 : c == 'g' ? 1ull << 30 : c == 't' ? 1ull << 40 : 1;
			if (mult > 1)
				sz.len--;
		}
		uint64_t n;
		if (!dmarc_record_number(sz, UINT32_MAX, &n))
			return false;
		u->max_size = n * mult;
	}
	snprintf(u->uri, sizeof u->uri, "%.*s", (int)uri.len, (const char *)uri.p);
	return true;
}

static bool dmarc_record_uris(struct slice v, struct dmarc_uri *out, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i <= v.len;) {
		const uint8_t *c = memchr(v.p + i, ',', v.len - i);
		size_t e = c ? (size_t)(c - v.p) : v.len;
		if (*n < DMARC_URIS_MAX && dmarc_record_uri(slice_of(v.p + i, e - i), &out[*n]))
			(*n)++;
		i = e + 1;
	}
	return *n > 0;
}

static const char *dmarc_record_fill(struct dmarc_record *r, const struct dkim_tags *tags)
{
	const struct dkim_tag *t;
	bool rua_ok = (t = dkim_tags_get(tags, "rua")) && dmarc_record_uris(t->value, r->rua, &r->nrua);
	if ((t = dkim_tags_get(tags, "ruf")))
		dmarc_record_uris(t->value, r->ruf, &r->nruf);
	t = dkim_tags_get(tags, "p");
	bool p_ok = t && dmarc_record_policy(t->value, &r->p);
	r->sp = r->p;
	const struct dkim_tag *sp = dkim_tags_get(tags, "sp");
	bool sp_ok = !sp || dmarc_record_policy(sp->value, &r->sp);
	if (!p_ok || !sp_ok) {
		if (!rua_ok)
			return !p_ok ? "missing or bad p=" : "bad sp=";
		r->p = r->sp = DMARC_POLICY_NONE; /* §6.6.3 */
	}
	uint64_t n;
	if ((t = dkim_tags_get(tags, "adkim"))) {
		if (!slice_eq_str_nocase(t->value, "r") && !slice_eq_str_nocase(t->value, "s"))
			return "bad adkim=";
		r->adkim_strict = slice_eq_str_nocase(t->value, "s");
	}
	if ((t = dkim_tags_get(tags, "aspf"))) {
		if (!slice_eq_str_nocase(t->value, "r") && !slice_eq_str_nocase(t->value, "s"))
			return "bad aspf=";
		r->aspf_strict = slice_eq_str_nocase(t->value, "s");
	}
	if ((t = dkim_tags_get(tags, "pct"))) {
		if (!dmarc_record_number(t->value, 100, &n))
			return "bad pct=";
		r->pct = (int)n;
	}
	if ((t = dkim_tags_get(tags, "ri"))) {
		if (!dmarc_record_number(t->value, UINT32_MAX, &n))
			return "bad ri=";
		r->ri = (uint32_t)n;
	}
	if ((t = dkim_tags_get(tags, "fo")))
		snprintf(r->fo, sizeof r->fo, "%.*s", (int)t->value.len, (const char *)t->value.p);
	return NULL;
}

int dmarc_record_parse(struct slice txt, struct dmarc_record *r, const char **err)
{
	memset(r, 0, sizeof *r);
	r->pct = 100;
	r->ri = 86400;
	snprintf(r->fo, sizeof r->fo, "0");
	struct dkim_tags tags;
	*err = NULL;
	if (txt.len > DMARC_RECORD_MAX)
		*err = "record too long";
	else if (dkim_tags_parse(txt, &tags) != 0)
		*err = "bad tag list";
	else if (tags.n == 0 || !slice_eq(tags.t[0].name, SLICE_LIT("v")) || !slice_eq_str_nocase(tags.t[0].value, "DMARC1"))
		*err = "v=DMARC1 is not first";
	else
		*err = dmarc_record_fill(r, &tags);
	return *err ? -1 : 0;
}
