/* libFuzzer target: arbitrary bytes from a client fed to a server-side TLS
 * connection (SNI pre-parse, wolfSSL record and handshake parsing, reads
 * after a handshake). The first input byte chooses how the rest is cut
 * into feeds, so records split across reads are covered too. Never crashes,
 * never leaks, whatever the bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

#define FUZZ_STEPS_MAX 64 /* feeds per input */

static struct tls_ctx *fuzz_ctx;

static void fuzz_write(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "w");
	if (!f || fwrite(b->p, 1, b->len, f) != b->len)
		panic("cannot write %s", path);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/tern-tls-fuzz-XXXXXX", crt[64], key[64], err[TLS_ERR_MAX];
	struct buf c, k;

	if (!mkdtemp(dir))
		panic("mkdtemp");
	buf_init(&c);
	buf_init(&k);
	if (tls_cert_selfsigned("fuzz.example.test", 30, &c, &k, err) != 0)
		panic("tls_cert_selfsigned: %s", err);
	snprintf(crt, sizeof crt, "%s/c.pem", dir);
	snprintf(key, sizeof key, "%s/k.pem", dir);
	fuzz_write(crt, &c);
	fuzz_write(key, &k);
	struct tls_keycert kc = {crt, key};
	fuzz_ctx = tls_ctx_server_new(&kc, 1, TLS_V12, err);
	if (!fuzz_ctx)
		panic("server ctx: %s", err);
	unlink(crt);
	unlink(key);
	rmdir(dir);
	buf_free(&c);
	buf_free(&k);
	return 0;
}

/* Handshake or read, as the engine's state allows; drops the output. */
static void fuzz_step(struct tls_conn *c, struct buf *plain, struct buf *out)
{
	if (tls_conn_handshake(c) == TLS_OK) {
		for (int i = 0; i < 8 && tls_conn_read(c, plain, 65536) == TLS_OK; i++)
			buf_reset(plain);
	}
	tls_conn_out_take(c, out);
	buf_reset(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf plain, out;
	if (size == 0)
		return 0;
	size_t chunk = (size_t)data[0] * 16 + 1;
	data++;
	size--;
	buf_init(&plain);
	buf_init(&out);
	struct tls_conn *c = tls_conn_server_new(fuzz_ctx);
	for (int i = 0; i < FUZZ_STEPS_MAX && size > 0; i++) {
		size_t n = size < chunk ? size : chunk;
		if (tls_conn_feed(c, slice_of(data, n)) != TLS_OK)
			break;
		data += n;
		size -= n;
		fuzz_step(c, &plain, &out);
	}
	tls_conn_feed_eof(c);
	fuzz_step(c, &plain, &out);
	tls_conn_close_notify(c);
	tls_conn_free(&c);
	buf_free(&plain);
	buf_free(&out);
	return 0;
}
