/* Authentication-Results composition (RFC 8601 §2.2) and recognition of our
 * own authserv-id in incoming fields (§5).
 *
 * DESIGN: each resinfo starts on a folded line of its own (`;` CRLF TAB), and
 * properties fold again when a line would pass AUTHRES_LINE_MAX, so the field
 * stays readable and within the 998-octet line limit whatever the values.
 * Values come partly from the network (d=, s=, MAIL FROM), so everything is
 * quoted or escaped as the grammar needs; nothing is copied raw. */
#include <stdio.h>
#include <string.h>

#include "proto/authres.h"

static bool authres_tspecial(uint8_t c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool authres_is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		uint8_t c = (uint8_t)*s;
		if (c <= 0x20 || c >= 0x7f || authres_tspecial(c))
			return false;
	}
	return true;
}

/* [dot-atom-local] "@" domain: written bare (RFC 8601 pvalue). */
static bool authres_is_addr(const char *s)
{
	const char *at = strrchr(s, '@');
	if (!at || !authres_is_token(at + 1))
		return false;
	for (const char *p = s; p < at; p++) {
		uint8_t c = (uint8_t)*p;
		if (c <= 0x20 || c >= 0x7f || (authres_tspecial(c) && c != '/' && c != '=' && c != '?'))
			return false;
		if (c == '.' && (p == s || p + 1 == at || p[1] == '.'))
			return false;
	}
	return true;
}

static void authres_value(struct buf *b, const char *v)
{
	if (authres_is_token(v) || authres_is_addr(v)) {
		buf_puts(b, v);
		return;
	}
	buf_putc(b, '"');
	for (; *v; v++) {
		uint8_t c = (uint8_t)*v;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			buf_putc(b, '\\');
		buf_putc(b, c);
	}
	buf_putc(b, '"');
}

static void authres_comment(struct buf *b, const char *c)
{
	buf_putc(b, '(');
	for (size_t n = 0; *c && n < AUTHRES_COMMENT_MAX; c++, n++) {
		uint8_t ch = (uint8_t)*c;
		if (ch < 0x20 || ch >= 0x7f)
			continue;
		if (ch == '(' || ch == ')' || ch == '\\')
			buf_putc(b, '\\');
		buf_putc(b, ch);
	}
	buf_putc(b, ')');
}

/* Appends a piece, folding first when the line would get too long. */
static void authres_piece(struct authres *ar, const struct buf *piece)
{
	if (ar->col + 1 + piece->len > AUTHRES_LINE_MAX && ar->col > 8) {
		buf_puts(&ar->b, "\r\n\t");
		ar->col = 8;
	} else {
		buf_putc(&ar->b, ' ');
		ar->col++;
	}
	buf_append(&ar->b, piece->p, piece->len);
	ar->col += piece->len;
}

void authres_init(struct authres *ar, const char *authserv_id)
{
	buf_init(&ar->b);
	buf_puts(&ar->b, "Authentication-Results: ");
	authres_value(&ar->b, authserv_id && *authserv_id ? authserv_id : "localhost");
	ar->col = ar->b.len;
	ar->n = 0;
}

void authres_add(struct authres *ar, const char *method, const char *result, const char *comment,
                 const struct authres_prop *props, size_t nprops)
{
	struct buf piece;
	buf_init(&piece);
	buf_puts(&ar->b, ";\r\n\t");
	ar->col = 8;
	buf_printf(&ar->b, "%s=%s", method, result);
	ar->col += strlen(method) + 1 + strlen(result);
	if (comment && *comment) {
		authres_comment(&piece, comment);
		authres_piece(ar, &piece);
	}
	for (size_t i = 0; i < nprops; i++) {
		if (!props[i].value || !*props[i].value)
			continue;
		buf_reset(&piece);
		buf_printf(&piece, "%s.%s=", props[i].ptype, props[i].name);
		authres_value(&piece, props[i].value);
		authres_piece(ar, &piece);
	}
	buf_free(&piece);
	ar->n++;
}

void authres_add_dkim(struct authres *ar, const struct dkim_result *r)
{
	char comment[AUTHRES_COMMENT_MAX];
	comment[0] = 0;
	if (r->status == DKIM_PASS && r->key_bits)
		snprintf(comment, sizeof comment, "%u-bit %s key%s", r->key_bits,
		         strncmp(r->algo, "ed25519", 7) == 0 ? "ed25519" : "rsa", r->testing ? ", testing" : "");
	else if (r->reason)
		snprintf(comment, sizeof comment, "%s", r->reason);
	if (r->l >= 0 && (uint64_t)r->l < r->body_len) {
		size_t n = strlen(comment);
		snprintf(comment + n, sizeof comment - n, "%sbody signed only up to l=%lld of %llu octets",
		         n ? "; " : "", (long long)r->l, (unsigned long long)r->body_len);
	}
	const struct authres_prop props[] = {
		{"header", "d", r->domain}, {"header", "s", r->selector}, {"header", "i", r->auid},
		{"header", "a", r->algo},   {"header", "b", r->b_prefix},
	};
	authres_add(ar, "dkim", dkim_status_name(r->status), comment, props, r->domain[0] ? 5 : 0);
}

void authres_add_spf(struct authres *ar, enum spf_result r, const char *mailfrom, const char *helo,
                     const char *comment)
{
	bool mf = mailfrom && *mailfrom;
	const struct authres_prop p = {"smtp", mf ? "mailfrom" : "helo", mf ? mailfrom : helo};
	authres_add(ar, "spf", spf_result_name(r), comment, &p, 1);
}

void authres_add_dmarc(struct authres *ar, const struct dmarc_outcome *o)
{
	char comment[AUTHRES_COMMENT_MAX];
	if (o->record_found)
		snprintf(comment, sizeof comment, "p=%s dis=%s%s", dmarc_policy_name(o->policy),
		         dmarc_policy_name(o->disposition), o->sampled_out ? " sampled_out" : "");
	else
		snprintf(comment, sizeof comment, "%s", o->reason ? o->reason : "");
	const struct authres_prop p = {"header", "from", o->from_domain};
	authres_add(ar, "dmarc", dmarc_status_name(o->status), comment, &p, 1);
}

void authres_add_iprev(struct authres *ar, const char *result, const char *ip, const char *name)
{
	const struct authres_prop p = {"policy", "iprev", ip};
	authres_add(ar, "iprev", result, name, &p, 1);
}

void authres_finish(struct authres *ar, struct buf *out)
{
	if (ar->n == 0)
		buf_puts(&ar->b, "; none");
	buf_puts(&ar->b, "\r\n");
	buf_append(out, ar->b.p, ar->b.len);
	buf_free(&ar->b);
}

/* Skips WSP, folds and (nested) comments. */
static size_t authres_skip_cfws(struct slice v, size_t i)
{
	int depth = 0;
	for (; i < v.len; i++) {
		uint8_t c = v.p[i];
		if (depth > 0 && c == '\\') {
			i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
	}
	return i;
}

bool authres_is_ours(struct slice value, const char *authserv_id)
{
	size_t i = authres_skip_cfws(value, 0), s = i;
	if (i < value.len && value.p[i] == '"') { /* quoted authserv-id */
		s = ++i;
		while (i < value.len && value.p[i] != '"' && value.p[i] != '\\')
			i++;
		return i < value.len && value.p[i] == '"' && slice_eq_nocase(slice_of(value.p + s, i - s), slice_str(authserv_id));
	}
	while (i < value.len && value.p[i] > 0x20 && value.p[i] < 0x7f && value.p[i] != ';' && value.p[i] != '(')
		i++;
	return i > s && slice_eq_nocase(slice_of(value.p + s, i - s), slice_str(authserv_id));
}
