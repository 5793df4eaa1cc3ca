/* ESMTP parameter tokeniser and MAIL/RCPT parameter rules.
 *
 * DESIGN: pass one walks the whole parameter text and checks only the framing
 * (single spaces, non-empty keywords of letters, digits and '-'), so garbage
 * like `X="quoted > value"` is a 501 no matter what comes first; pass two
 * applies the parameters in order through a small table of handlers. Values are
 * slices of the command line; nothing is copied until a value is accepted. */
#include "proto/smtp_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/xtext.h"

struct smtp_param_tok {
	struct slice key;
	struct slice val;
	bool has_val;
};

static void smtp_params_fail(struct smtp_params_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void smtp_params_fail(struct smtp_params_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err->code = code;
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

static bool smtp_params_keychar(uint8_t c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (!first && c == '-');
}

/* Reads the token at in.p[*i] (just after its space). Returns -1 on framing errors. */
static int smtp_params_next(struct slice in, size_t *i, struct smtp_param_tok *t)
{
	size_t j = *i, start = j;
	while (j < in.len && in.p[j] != ' ' && in.p[j] != '=')
		j++;
	t->key = slice_of(in.p + start, j - start);
	if (t->key.len == 0)
		return -1;
	for (size_t k = 0; k < t->key.len; k++)
		if (!smtp_params_keychar(t->key.p[k], k == 0))
			return -1;
	t->has_val = j < in.len && in.p[j] == '=';
	t->val = slice_of(NULL, 0);
	if (t->has_val) {
		size_t vs = ++j;
		while (j < in.len && in.p[j] != ' ')
			j++;
		t->val = slice_of(in.p + vs, j - vs);
		for (size_t k = 0; k < t->val.len; k++)
			if (t->val.p[k] < 33 || t->val.p[k] == 127)
				return -1;
	}
	*i = j;
	return 0;
}

/* Validates the framing of the whole text. */
static int smtp_params_frame(struct slice in, struct smtp_params_err *err)
{
	size_t i = 0;
	struct smtp_param_tok t;
	while (i < in.len) {
		if (in.p[i] != ' ' || i + 1 >= in.len)
			goto bad;
		i++;
		if (smtp_params_next(in, &i, &t) != 0)
			goto bad;
	}
	return 0;
bad:
	smtp_params_fail(err, 501, "5.5.4 bad parameter syntax");
	return -1;
}

static void smtp_params_unknown(struct smtp_params_err *err, struct slice key)
{
	int n = key.len > SMTP_PARAMS_ECHO_MAX ? SMTP_PARAMS_ECHO_MAX : (int)key.len;
	smtp_params_fail(err, 555, "5.5.4 unrecognized parameter \"%.*s\"", n, (const char *)key.p);
}

/* Parses 1..maxd digits into *v without overflow. */
static int smtp_params_digits(struct slice v, size_t maxd, uint64_t *out)
{
	if (v.len == 0 || v.len > maxd)
		return -1;
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		uint64_t d = v.p[i] - '0';
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* Decodes xtext into out and rejects CR, LF and NUL in the result. */
static int smtp_params_xtext_clean(struct slice v, struct buf *out)
{
	if (xtext_decode(v, out) != 0)
		return -1;
	for (size_t i = 0; i < out->len; i++)
		if (out->p[i] == '\r' || out->p[i] == '\n' || out->p[i] == 0)
			return -1;
	return 0;
}

/* HOLDFOR and HOLDUNTIL come last: outside submission only the keys before
 * MK_HOLDFOR are known. */
enum smtp_mail_key {
	MK_SIZE, MK_BODY, MK_SMTPUTF8, MK_AUTH, MK_REQUIRETLS, MK_RET, MK_ENVID, MK_HOLDFOR,
	MK_HOLDUNTIL, MK_COUNT
};
static const char *const smtp_mail_keys[MK_COUNT] = {
	"SIZE", "BODY", "SMTPUTF8", "AUTH", "REQUIRETLS", "RET", "ENVID", "HOLDFOR", "HOLDUNTIL",
};

static int smtp_params_hold(int key, struct slice v, const struct smtp_params_ctx *ctx,
                            struct smtp_mail_params *out, struct smtp_params_err *err)
{
	if (out->has_holdfor || out->has_holduntil) {
		smtp_params_fail(err, 501, "5.5.4 cannot use both HOLDUNTIL and HOLDFOR");
		return -1;
	}
	if (key == MK_HOLDFOR) {
		for (size_t i = 0; i < v.len; i++)
			if (v.p[i] < '0' || v.p[i] > '9')
				goto bad;
		if (v.len == 0)
			goto bad;
		if (smtp_params_digits(v, SMTP_PARAMS_HOLDFOR_DIGITS, &out->holdfor_s) != 0 ||
		    out->holdfor_s > SMTP_PARAMS_HOLD_MAX_S) {
			smtp_params_fail(err, 554, "5.5.4 future release interval too far in the future");
			return -1;
		}
		out->has_holdfor = true;
		return 0;
	}
	char tmp[64];
	if (v.len == 0 || v.len >= sizeof(tmp))
		goto bad;
	memcpy(tmp, v.p, v.len);
	tmp[v.len] = 0;
	if (clock_parse_rfc3339(tmp, &out->holduntil_ms) != 0)
		goto bad;
	if (out->holduntil_ms < ctx->now_ms) {
		smtp_params_fail(err, 554, "5.5.4 requested future release time is in the past");
		return -1;
	}
	if (out->holduntil_ms - ctx->now_ms > (int64_t)SMTP_PARAMS_HOLD_MAX_S * 1000) {
		smtp_params_fail(err, 554, "5.5.4 requested future release time is too far in the future");
		return -1;
	}
	out->has_holduntil = true;
	return 0;
bad:
	smtp_params_fail(err, 501, "5.5.4 bad %s parameter", smtp_mail_keys[key]);
	return -1;
}

/* Applies one known MAIL parameter. */
static int smtp_params_mail_one(int key, const struct smtp_param_tok *t,
                                const struct smtp_params_ctx *ctx, struct smtp_mail_params *out,
                                struct smtp_params_err *err)
{
	struct slice v = t->val;
	switch (key) {
	case MK_SIZE:
		if (smtp_params_digits(v, SMTP_PARAMS_SIZE_DIGITS, &out->size) != 0)
			break;
		if (out->size > ctx->max_size) {
			smtp_params_fail(err, 552, "5.3.4 message too large");
			return -1;
		}
		out->has_size = true;
		return 0;
	case MK_BODY:
		if (slice_eq_str_nocase(v, "7BIT"))
			out->body = SMTP_BODY_7BIT;
		else if (slice_eq_str_nocase(v, "8BITMIME"))
			out->body = SMTP_BODY_8BITMIME;
		else
			break;
		return 0;
	case MK_SMTPUTF8:
		if (t->has_val)
			break;
		out->smtputf8 = true;
		return 0;
	case MK_AUTH:
		if (v.len == 0 || (!slice_eq(v, SLICE_LIT("<>")) && !xtext_valid(v)))
			break;
		return 0; /* validated, then ignored and never stored (smtp.md §3) */
	case MK_REQUIRETLS:
		if (t->has_val)
			break;
		if (!ctx->tls) {
			smtp_params_fail(err, 523, "5.7.10 requiretls only allowed on tls-encrypted connections");
			return -1;
		}
		if (!ctx->requiretls_announced) {
			smtp_params_fail(err, 555, "5.5.4 requiretls not allowed for this connection");
			return -1;
		}
		out->requiretls = true;
		return 0;
	case MK_RET:
		if (slice_eq_str_nocase(v, "FULL"))
			out->ret = SMTP_RET_FULL;
		else if (slice_eq_str_nocase(v, "HDRS"))
			out->ret = SMTP_RET_HDRS;
		else
			break;
		return 0;
	case MK_ENVID:
		if (v.len == 0 || v.len > SMTP_PARAMS_ENVID_MAX ||
		    smtp_params_xtext_clean(v, &out->envid) != 0)
			break;
		out->has_envid = true;
		return 0;
	default:
		return smtp_params_hold(key, v, ctx, out, err);
	}
	smtp_params_fail(err, 501, "5.5.4 bad %s parameter", smtp_mail_keys[key]);
	return -1;
}

/* Finds key in names[0..n); -1 when unknown. */
static int smtp_params_lookup(struct slice key, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (slice_eq_str_nocase(key, names[i]))
			return i;
	return -1;
}

/* Reads the token after the space at in.p[*i] (framing already checked) and
 * finds its keyword in names[0..n). Returns the index, or -1 with err set for
 * an unknown keyword (555) or one already in *seen (501). */
static int smtp_params_take(struct slice in, size_t *i, const char *const *names, int n, unsigned *seen,
                            struct smtp_param_tok *t, struct smtp_params_err *err)
{
	(*i)++;
	smtp_params_next(in, i, t);
	int key = smtp_params_lookup(t->key, names, n);
	if (key < 0) {
		smtp_params_unknown(err, t->key);
		return -1;
	}
	if (*seen & (1u << key)) {
		smtp_params_fail(err, 501, "5.5.4 duplicate parameter \"%s\"", names[key]);
		return -1;
	}
	*seen |= 1u << key;
	return key;
}

int smtp_params_mail(struct slice in, const struct smtp_params_ctx *ctx,
                     struct smtp_mail_params *out, struct smtp_params_err *err)
{
	memset(out, 0, sizeof(*out));
	if (smtp_params_frame(in, err) != 0)
		return -1;
	unsigned seen = 0;
	size_t i = 0;
	while (i < in.len) {
		struct smtp_param_tok t;
		/* HOLDFOR/HOLDUNTIL exist only on submission; elsewhere they are unknown. */
		int known = ctx->submission ? MK_COUNT : MK_HOLDFOR;
		int key = smtp_params_take(in, &i, smtp_mail_keys, known, &seen, &t, err);
		if (key < 0 || smtp_params_mail_one(key, &t, ctx, out, err) != 0)
			goto fail;
	}
	return 0;
fail:
	smtp_mail_params_free(out);
	return -1;
}

static int smtp_params_notify(struct slice v, unsigned *out)
{
	static const char *const names[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
	unsigned bits = 0;
	size_t i = 0;
	if (v.len == 0)
		return -1;
	while (i <= v.len) {
		size_t j = i;
		while (j < v.len && v.p[j] != ',')
			j++;
		int k = smtp_params_lookup(slice_of(v.p + i, j - i), names, 4);
		if (k < 0 || (bits & (1u << k)))
			return -1;
		bits |= 1u << k;
		i = j + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

static int smtp_params_orcpt(struct slice v, struct smtp_rcpt_params *out)
{
	if (v.len == 0 || v.len > SMTP_PARAMS_ORCPT_MAX)
		return -1;
	size_t semi = 0;
	while (semi < v.len && v.p[semi] != ';')
		semi++;
	if (semi == 0 || semi >= v.len - 1)
		return -1;
	for (size_t k = 0; k < semi; k++) /* addr-type = atom */
		if (!smtp_params_keychar(v.p[k], false) && !strchr("!#$%&'*+/=?^_`{|}~", v.p[k]))
			return -1;
	if (smtp_params_xtext_clean(slice_of(v.p + semi + 1, v.len - semi - 1), &out->orcpt) != 0)
		return -1;
	out->orcpt_type = xstrndup((const char *)v.p, semi);
	out->has_orcpt = true;
	return 0;
}

int smtp_params_rcpt(struct slice in, struct smtp_rcpt_params *out, struct smtp_params_err *err)
{
	static const char *const keys[] = {"NOTIFY", "ORCPT"};
	memset(out, 0, sizeof(*out));
	if (smtp_params_frame(in, err) != 0)
		return -1;
	unsigned seen = 0;
	size_t i = 0;
	while (i < in.len) {
		struct smtp_param_tok t;
		int key = smtp_params_take(in, &i, keys, 2, &seen, &t, err);
		if (key < 0)
			goto fail;
		int r = key == 0 ? smtp_params_notify(t.val, &out->notify) : smtp_params_orcpt(t.val, out);
		if (r != 0) {
			smtp_params_fail(err, 501, "5.5.4 bad %s parameter", keys[key]);
			goto fail;
		}
	}
	return 0;
fail:
	smtp_rcpt_params_free(out);
	return -1;
}

void smtp_mail_params_free(struct smtp_mail_params *p)
{
	buf_free(&p->envid);
	memset(p, 0, sizeof(*p));
}

void smtp_rcpt_params_free(struct smtp_rcpt_params *p)
{
	free(p->orcpt_type);
	buf_free(&p->orcpt);
	memset(p, 0, sizeof(*p));
}
