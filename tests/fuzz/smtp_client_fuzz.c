/* libFuzzer target: the SMTP client engine driven by arbitrary server bytes. The first
 * bytes pick the configuration (TLS mode, AUTH, recipient cap, transaction flags), the
 * rest is what the "server" says, fed in pieces at each NEED_INPUT (and sometimes
 * during SEND). Checks: no crash or leak, bounded steps, and every recipient ends with
 * a sane result: success only with a 2xx after the data went out, else 4xx/5xx. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/smtp_client.h"

#define NRCPT 5

static const char body[] = "Subject: fuzz\r\n\r\n.dot\r\nline\r\n";

static int read_cb(void *ctx, uint64_t off, struct slice *out)
{
	*out = slice_of(body + off, sizeof body - 1 - (size_t)off);
	return 0;
}

static const char *choose_cb(void *ctx, const char *const *offered, size_t n, bool tls)
{
	return n ? offered[n - 1] : NULL;
}

static int step_cb(void *ctx, bool first, struct slice chal, struct buf *out)
{
	if (first && chal.len == 0 && ((uintptr_t)ctx & 1))
		return SMTP_CLIENT_SASL_NO_IR;
	buf_append(out, chal.p, chal.len);
	return chal.len > 40 ? SMTP_CLIENT_SASL_FAIL : SMTP_CLIENT_SASL_OK;
}

static const struct smtp_client_auth_ops ops = {choose_cb, step_cb, NULL};

static void check_results(const struct smtp_client_txn *t)
{
	for (size_t i = 0; i < t->nrcpts; i++) {
		const struct smtp_client_result *r = &t->rcpts[i].result;
		if (r->err == SMTP_CLIENT_OK)
			ASSERT(r->code / 100 == 2 && r->data_sent && r->reply);
		else
			ASSERT(r->code / 100 == 4 || r->code / 100 == 5);
		ASSERT(r->reply || r->text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint8_t f0 = data[0], f1 = data[1], piece = data[2];
	data += 3, size -= 3;
	struct smtp_client_config cfg = {.ehlo_name = "fuzz.example", .tls = f0 & 3,
	                                 .implicit_verified = f0 & 4,
	                                 .auth = (f0 & 8) ? &ops : NULL,
	                                 .auth_ctx = (void *)(uintptr_t)(f0 >> 7),
	                                 .rcpt_max = (f0 >> 4) & 3};
	struct smtp_client *c = smtp_client_new(&cfg);
	struct smtp_client_rcpt rc[2][NRCPT];
	struct smtp_client_txn txn[2];
	static const char *const addrs[NRCPT] = {"a@d.example", "b@d.example", "j\xc3\xb6@d.example",
	                                         "c@d.example", "e@d.example"};
	for (int k = 0; k < 2; k++) {
		memset(rc[k], 0, sizeof rc[k]);
		for (int i = 0; i < NRCPT; i++)
			rc[k][i] = (struct smtp_client_rcpt){.addr = addrs[i],
			                                     .notify = (f1 & 1) ? "SUCCESS" : NULL,
			                                     .orcpt = (f1 & 2) ? "rfc822;x+y@z" : NULL};
		txn[k] = (struct smtp_client_txn){
		    .mail_from = (f1 & 4) ? "" : "s@x.example", .rcpts = rc[k],
		    .nrcpts = (size_t)(1 + ((f1 >> 3) & 3) + k), .data_size = sizeof body - 1,
		    .read_cb = read_cb, .has8bit = f1 & 32, .smtputf8 = f1 & 64,
		    .requiretls = f1 & 128, .ret = "FULL", .envid = "e=1"};
	}
	size_t off = 0, step = (size_t)piece % 64 + 1;
	int begun = 0;
	for (int i = 0; i < 100000; i++) {
		enum smtp_client_event ev = smtp_client_step(c);
		smtp_client_output_consumed(c, smtp_client_output(c).len);
		if (ev == SMTP_CLIENT_EV_CLOSED)
			break;
		if (ev == SMTP_CLIENT_EV_NEED_INPUT || (ev == SMTP_CLIENT_EV_SEND && (piece & 128))) {
			if (off >= size) {
				if (ev == SMTP_CLIENT_EV_NEED_INPUT)
					smtp_client_io_error(c, "eof");
				continue;
			}
			size_t n = size - off < step ? size - off : step;
			if (data[off] == 0xff && ev == SMTP_CLIENT_EV_NEED_INPUT)
				smtp_client_timeout(c), n = 1;
			else
				smtp_client_feed(c, data + off, n);
			off += n;
		} else if (ev == SMTP_CLIENT_EV_STARTTLS) {
			smtp_client_tls_started(c, piece & 64);
		} else if (ev == SMTP_CLIENT_EV_READY) {
			if (begun < 2)
				smtp_client_begin(c, &txn[begun++]);
			else
				smtp_client_quit(c);
		} else if (ev == SMTP_CLIENT_EV_TXN_DONE) {
			check_results(&txn[begun - 1]);
		}
	}
	for (int k = 0; k < 2; k++)
		smtp_client_txn_clear(&txn[k]);
	smtp_client_free(c);
	return 0;
}
