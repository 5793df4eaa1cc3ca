/* SCRAM message parsing and saslname coding (RFC 5802 §5.1, §7).
 *
 * DESIGN: every message is first split into `x=value` attributes; the
 * message parsers then check attribute order as the grammar fixes it
 * (mandatory attributes first, extensions after), and leave semantic checks
 * (nonces, proofs, channel binding) to the engines. Nothing is copied:
 * results are views into the message. Grammar violations below the
 * attribute level are SYNTAX (malformed); faults in the SCRAM attributes
 * themselves are the ENCODING/EXTENSION failures of badinput.md #44. */
#include "proto/sasl_scram_msg.h"

#include <string.h>

static bool sasl_scram_msg_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

enum sasl_err sasl_scram_msg_split(struct slice msg, struct sasl_scram_attrs *out)
{
	out->n = 0;
	if (msg.len == 0 || memchr(msg.p, 0, msg.len))
		return SASL_ERR_SYNTAX;
	if (msg.len > SASL_MSG_MAX)
		return SASL_ERR_TOO_LONG;
	size_t start = 0;
	while (start <= msg.len) {
		const uint8_t *comma = memchr(msg.p + start, ',', msg.len - start);
		size_t end = comma ? (size_t)(comma - msg.p) : msg.len;
		struct slice raw = slice_of(msg.p + start, end - start);
		if (raw.len < 3 || !sasl_scram_msg_alpha(raw.p[0]) || raw.p[1] != '=')
			return SASL_ERR_SYNTAX;
		if (out->n == SASL_SCRAM_ATTRS_MAX)
			return SASL_ERR_TOO_LONG;
		struct sasl_scram_attr *a = &out->a[out->n++];
		a->name = raw.p[0];
		a->value = slice_of(raw.p + 2, raw.len - 2);
		a->raw = raw;
		if (!comma)
			break;
		start = end + 1;
	}
	return SASL_ERR_NONE;
}

enum sasl_err sasl_scram_msg_name_decode(struct slice in, struct buf *out)
{
	for (size_t i = 0; i < in.len; i++) {
		uint8_t c = in.p[i];
		if (c == ',' || c == 0)
			return SASL_ERR_ENCODING;
		if (c == '=') {
			if (in.len - i < 3)
				return SASL_ERR_ENCODING;
			if (in.p[i + 1] == '2' && in.p[i + 2] == 'C')
				c = ',';
			else if (in.p[i + 1] == '3' && in.p[i + 2] == 'D')
				c = '=';
			else
				return SASL_ERR_ENCODING;
			i += 2;
		}
		buf_putc(out, c);
	}
	return SASL_ERR_NONE;
}

void sasl_scram_msg_name_encode(struct slice in, struct buf *out)
{
	for (size_t i = 0; i < in.len; i++) {
		if (in.p[i] == ',')
			buf_puts(out, "=2C");
		else if (in.p[i] == '=')
			buf_puts(out, "=3D");
		else
			buf_putc(out, in.p[i]);
	}
}

bool sasl_scram_msg_printable(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < 0x21 || s.p[i] > 0x7e || s.p[i] == ',')
			return false;
	return true;
}

/* gs2-header = gs2-cbind-flag "," [ authzid ] ","; sets out->gs2_header. */
static enum sasl_err sasl_scram_msg_gs2(struct slice msg, struct sasl_scram_client_first *out)
{
	size_t pos;
	if (msg.len < 3)
		return SASL_ERR_SYNTAX;
	out->cbflag = msg.p[0];
	if ((msg.p[0] == 'n' || msg.p[0] == 'y') && msg.p[1] == ',') {
		pos = 2;
	} else if (msg.p[0] == 'p' && msg.p[1] == '=') {
		pos = 2;
		while (pos < msg.len && msg.p[pos] != ',') {
			uint8_t c = msg.p[pos];
			if (!sasl_scram_msg_alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-')
				return SASL_ERR_SYNTAX;
			pos++;
		}
		if (pos == 2 || pos == msg.len)
			return SASL_ERR_SYNTAX;
		out->cbname = slice_of(msg.p + 2, pos - 2);
		pos++;
	} else {
		return SASL_ERR_SYNTAX;
	}
	if (pos < msg.len && msg.p[pos] == ',') {
		pos++;
	} else if (msg.len - pos >= 2 && msg.p[pos] == 'a' && msg.p[pos + 1] == '=') {
		const uint8_t *comma = memchr(msg.p + pos, ',', msg.len - pos);
		if (!comma || comma == msg.p + pos + 2)
			return SASL_ERR_SYNTAX;
		out->has_authzid = true;
		out->authzid = slice_of(msg.p + pos + 2, (size_t)(comma - msg.p) - pos - 2);
		pos = (size_t)(comma - msg.p) + 1;
	} else {
		return SASL_ERR_SYNTAX;
	}
	out->gs2_header = slice_of(msg.p, pos);
	return SASL_ERR_NONE;
}

enum sasl_err sasl_scram_msg_client_first(struct slice msg, struct sasl_scram_client_first *out)
{
	memset(out, 0, sizeof *out);
	if (msg.len > SASL_MSG_MAX)
		return SASL_ERR_TOO_LONG;
	if (memchr(msg.p, 0, msg.len))
		return SASL_ERR_SYNTAX;
	enum sasl_err e = sasl_scram_msg_gs2(msg, out);
	if (e != SASL_ERR_NONE)
		return e;
	out->bare = slice_of(msg.p + out->gs2_header.len, msg.len - out->gs2_header.len);
	struct sasl_scram_attrs at;
	e = sasl_scram_msg_split(out->bare, &at);
	if (e != SASL_ERR_NONE)
		return e;
	if (at.a[0].name == 'm')
		return SASL_ERR_EXTENSION;
	if (at.a[0].name != 'n' || at.n < 2 || at.a[1].name != 'r')
		return SASL_ERR_ENCODING;
	out->username = at.a[0].value;
	out->nonce = at.a[1].value;
	if (out->nonce.len > SASL_NONCE_MAX)
		return SASL_ERR_TOO_LONG;
	if (!sasl_scram_msg_printable(out->nonce))
		return SASL_ERR_SYNTAX;
	return SASL_ERR_NONE;
}

enum sasl_err sasl_scram_msg_client_final(struct slice msg, struct sasl_scram_client_final *out)
{
	memset(out, 0, sizeof *out);
	struct sasl_scram_attrs at;
	enum sasl_err e = sasl_scram_msg_split(msg, &at);
	if (e != SASL_ERR_NONE)
		return e;
	if (at.n < 3 || at.a[0].name != 'c' || at.a[1].name != 'r' || at.a[at.n - 1].name != 'p')
		return SASL_ERR_ENCODING;
	out->cbind = at.a[0].value;
	out->nonce = at.a[1].value;
	out->proof = at.a[at.n - 1].value;
	out->without_proof = slice_of(msg.p, (size_t)(at.a[at.n - 1].raw.p - msg.p) - 1);
	if (!sasl_scram_msg_printable(out->nonce))
		return SASL_ERR_SYNTAX;
	return SASL_ERR_NONE;
}

/* posit-number = %x31-39 *DIGIT, kept below 2^31. */
static bool sasl_scram_msg_number(struct slice s, uint32_t *v)
{
	if (s.len == 0 || s.len > 10 || s.p[0] < '1' || s.p[0] > '9')
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (n > 0x7fffffff)
		return false;
	*v = (uint32_t)n;
	return true;
}

enum sasl_err sasl_scram_msg_server_first(struct slice msg, struct sasl_scram_server_first *out)
{
	memset(out, 0, sizeof *out);
	struct sasl_scram_attrs at;
	enum sasl_err e = sasl_scram_msg_split(msg, &at);
	if (e != SASL_ERR_NONE)
		return e;
	if (at.a[0].name == 'm')
		return SASL_ERR_EXTENSION;
	if (at.n < 3 || at.a[0].name != 'r' || at.a[1].name != 's' || at.a[2].name != 'i')
		return SASL_ERR_ENCODING;
	out->nonce = at.a[0].value;
	out->salt = at.a[1].value;
	if (!sasl_scram_msg_number(at.a[2].value, &out->iterations))
		return SASL_ERR_ENCODING;
	if (out->nonce.len > 2 * SASL_NONCE_MAX)
		return SASL_ERR_TOO_LONG;
	if (!sasl_scram_msg_printable(out->nonce))
		return SASL_ERR_SYNTAX;
	return SASL_ERR_NONE;
}

enum sasl_err sasl_scram_msg_server_final(struct slice msg, struct sasl_scram_server_final *out)
{
	memset(out, 0, sizeof *out);
	struct sasl_scram_attrs at;
	enum sasl_err e = sasl_scram_msg_split(msg, &at);
	if (e != SASL_ERR_NONE)
		return e;
	if (at.a[0].name != 'e' && at.a[0].name != 'v')
		return SASL_ERR_ENCODING;
	out->error = at.a[0].name == 'e';
	out->value = at.a[0].value;
	return SASL_ERR_NONE;
}
