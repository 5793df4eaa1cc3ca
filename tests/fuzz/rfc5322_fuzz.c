/* libFuzzer target for the header section parser and what reads header
 * values: rfc5322 split/iterate/unfold/count/msgid/date, RFC 2047 decoding,
 * X-Tern-Extra and TLS-Required, and DSN composition around a hostile
 * original (its headers and reply lines come from the input).
 *
 * Invariants checked (abort on violation): the split and the fields cover the
 * input exactly; unfolding never grows a value; decoding valid UTF-8 gives
 * valid UTF-8 within 3x the input; a DSN never holds a bare CR or LF or a
 * line over 998 octets. */
#include <stdlib.h>
#include <string.h>

#include "proto/dsn.h"
#include "proto/extra.h"
#include "proto/rfc2047.h"
#include "proto/rfc5322.h"

#define REQUIRE(e) do { if (!(e)) abort(); } while (0)

static void check_fields(struct slice h)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t covered = 0;
	struct buf u, d;
	buf_init(&u);
	buf_init(&d);
	rfc5322_iter_init(&it, h);
	while (rfc5322_iter_next(&it, &f)) {
		REQUIRE(f.raw.p == h.p + covered && f.raw.len > 0);
		covered += f.raw.len;
		REQUIRE(f.malformed || f.name.len > 0);
		buf_reset(&u);
		rfc5322_unfold(f.value, true, &u);
		REQUIRE(u.len <= f.value.len);
		buf_reset(&d);
		rfc2047_decode(buf_slice(&u), &d);
		REQUIRE(d.len <= 3 * u.len);
		if (rfc5322_utf8_valid(buf_slice(&u)))
			REQUIRE(rfc5322_utf8_valid(buf_slice(&d)));
		int64_t ms;
		(void)rfc5322_date_parse(f.value, &ms);
		size_t off = 0;
		struct slice id;
		while (rfc5322_msgid_next(f.value, &off, &id))
			REQUIRE(id.len >= 3 && id.p[0] == '<' && id.p[id.len - 1] == '>');
	}
	REQUIRE(covered == h.len);
	buf_free(&u);
	buf_free(&d);
}

static void check_dsn(struct slice msg)
{
	/* Reply lines: the input cut at every '\n' (at most 8). */
	struct slice lines[8];
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= msg.len && n < 8; i++)
		if (i == msg.len || msg.p[i] == '\n') {
			lines[n++] = slice_of(msg.p + start, i - start);
			start = i + 1;
		}
	char rcpt[64];
	size_t rl = msg.len < sizeof(rcpt) - 1 ? msg.len : sizeof(rcpt) - 1;
	memcpy(rcpt, msg.p, rl);
	rcpt[rl] = 0; /* may hold anything, NULs cut it short */
	struct dsn_rcpt r = {.recipient = rcpt, .orcpt = rcpt, .code = 550, .secode = rcpt,
	                     .error = rcpt, .remote_host = rcpt, .remote_ip = rcpt,
	                     .reply = lines, .nreply = n, .last_attempt_ms = 1};
	int64_t next[2] = {7200000, 21600000};
	struct dsn_msg m = {.kind = (enum dsn_kind)(msg.len % 4), .hostname = "h.example",
	                    .mail_from = rcpt, .message_id = rcpt, .arrival_ms = 1, .envid = rcpt,
	                    .ret_full = msg.len & 1, .smtputf8 = msg.len & 2, .original = msg,
	                    .next_attempts_ms = next, .nnext = 2, .rcpts = &r, .nrcpts = 1,
	                    .dsn_message_id = "<x@h.example>", .boundary = "B"};
	struct buf a, u;
	buf_init(&a);
	buf_init(&u);
	REQUIRE(dsn_compose_pair(&m, &a, &u) == 0);
	for (int k = 0; k < 2; k++) {
		struct buf *b = k ? &u : &a;
		size_t col = 0;
		for (size_t i = 0; i < b->len; i++) {
			if (b->p[i] == '\r')
				REQUIRE(i + 1 < b->len && b->p[i + 1] == '\n');
			if (b->p[i] == '\n')
				REQUIRE(i > 0 && b->p[i - 1] == '\r');
			col = b->p[i] == '\n' ? 0 : col + 1;
			/* Lines of the enclosed original may be long (RET=FULL). */
			REQUIRE(col <= 999 || m.ret_full || msg.len > 998);
		}
	}
	buf_free(&a);
	buf_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice msg = slice_of(data, size);
	struct rfc5322_split sp;
	if (rfc5322_split(msg, &sp) == 0) {
		REQUIRE(sp.header.p == data);
		REQUIRE(sp.header.len + sp.body.len + (sp.has_sep ? 1 : 0) <= size);
		check_fields(sp.header);
		(void)rfc5322_count(sp.header, "Received");
		struct extra e = {0};
		struct buf err;
		buf_init(&err);
		if (extra_parse(sp.header, &e, &err) == EXTRA_EDUP)
			REQUIRE(e.n == 0 && err.len > 0);
		extra_free(&e);
		buf_free(&err);
		int rt;
		(void)extra_require_tls(sp.header, false, &rt);
		REQUIRE(rt == -1 || rt == 0);
	}
	check_fields(msg); /* any bytes, not only a split header */
	check_dsn(msg);
	return 0;
}
