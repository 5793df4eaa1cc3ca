/* Fuzzes the SMTP server engine with arbitrary client bytes, split into reads
 * and answered by a scripted actor chosen by the input.
 *
 * Input: byte 0 = config bits, byte 1 = read size, byte 2 = answer pattern,
 * rest = client bytes. Checks: no crash, the engine never emits a bare CR or LF,
 * the unprocessed input stays bounded between reads. */
#include <stdlib.h>
#include <string.h>

#include "proto/smtp_server_int.h"

static int64_t fz_now(void *ctx)
{
	return 1767225600000LL;
}

static void fz_check_output(struct smtp_server *s)
{
	struct slice o = smtp_server_output(s);
	for (size_t i = 0; i < o.len; i++) {
		if (o.p[i] == '\n' && (i == 0 || o.p[i - 1] != '\r'))
			abort();
		if (o.p[i] == '\r' && (i + 1 >= o.len || o.p[i + 1] != '\n'))
			abort();
	}
	smtp_server_output_consume(s, o.len);
}

static void fz_answer(struct smtp_server *s, enum smtp_server_event ev, unsigned *k, uint8_t pat)
{
	bool yes = (pat >> ((*k)++ % 8)) & 1;
	struct buf m;
	switch (ev) {
	case SMTP_SERVER_HELO:
	case SMTP_SERVER_MAIL:
	case SMTP_SERVER_RCPT:
		if (yes)
			smtp_server_accept(s);
		else
			smtp_server_reply(s, 550, "5.0.0 no");
		break;
	case SMTP_SERVER_MESSAGE:
		buf_init(&m);
		smtp_server_take_message(s, &m);
		buf_free(&m);
		if (yes) {
			smtp_server_accept(s);
		} else {
			const char *lines[] = {"5.1.1 a", "4.2.2 b", "5.0.0 multiple errors"};
			smtp_server_reply_lines(s, 554, lines, 3);
		}
		break;
	case SMTP_SERVER_AUTH:
		if (smtp_server_auth_req(s)->step < 2 && yes)
			smtp_server_auth_challenge(s, "x", 1);
		else if (yes)
			smtp_server_auth_success(s);
		else
			smtp_server_reply(s, 535, "5.7.8 authentication failed");
		break;
	case SMTP_SERVER_STARTTLS:
		smtp_server_tls_started(s);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	static const char *const mechs[] = {"PLAIN", "LOGIN", "CRAM-MD5"};
	uint8_t c = data[0];
	struct smtp_server_cfg cfg = {
		.kind = (c & 1) ? SMTP_SERVER_SUBMISSION : SMTP_SERVER_MX,
		.hostname = "mx.example.test",
		.receivedid = "FUZZ000000000000",
		.tls_active = c & 2,
		.starttls_offered = c & 4,
		.no_requiretls = c & 8,
		.no_require_starttls = c & 16,
		.relay_client = c & 32,
		.max_message_size = (c & 64) ? 100 : 0,
		.rcpt_max = (c & 128) ? 3 : 0,
		.auth_mechs = mechs,
		.n_auth_mechs = 3,
		.now_cb = fz_now,
	};
	size_t rd = data[1] ? data[1] : 256;
	uint8_t pat = data[2];
	data += 3;
	size -= 3;
	struct smtp_server *s = smtp_server_new(&cfg);
	smtp_server_greet(s);
	unsigned k = 0;
	for (size_t i = 0; i < size;) {
		size_t n = size - i < rd ? size - i : rd;
		smtp_server_feed(s, data + i, n);
		i += n;
		enum smtp_server_event ev;
		int guard = 0;
		while ((ev = smtp_server_step(s)) != SMTP_SERVER_NEED_INPUT && ev != SMTP_SERVER_CLOSE) {
			fz_check_output(s);
			fz_answer(s, ev, &k, pat);
			if (++guard > 100000)
				abort();
		}
		fz_check_output(s);
		if (ev == SMTP_SERVER_CLOSE)
			break;
		if (s->in.len - s->in_pos > s->cfg.auth_line_max + rd)
			abort(); /* a partial line never grows past its limit */
		if (k % 3 == 2) {
			struct buf t;
			buf_init(&t);
			smtp_server_data_take(s, &t);
			buf_free(&t);
		}
	}
	if (pat & 1)
		smtp_server_timeout(s);
	else
		smtp_server_shutdown(s);
	fz_check_output(s);
	smtp_server_free(s);
	return 0;
}
