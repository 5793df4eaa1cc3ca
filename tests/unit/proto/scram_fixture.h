/* Shared fixtures of the SCRAM unit tests: channels with fixed binding
 * data, a server factory and the secrets of "user" / "pencil". Static inline
 * so that each test file uses what it needs without warnings. */
#ifndef TERN_TESTS_SCRAM_FIXTURE_H
#define TERN_TESTS_SCRAM_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/sasl.h"

static const struct sasl_channel no_tls = {0};
static const uint8_t exporter[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t finished[12] = "tls-unique!!";

static inline struct sasl_channel tls13(void)
{
	return (struct sasl_channel){.tls = true, .tls_version = 13,
	                             .cb_data = slice_of(exporter, sizeof exporter)};
}

static inline struct sasl_channel tls12(void)
{
	return (struct sasl_channel){.tls = true, .tls_version = 12,
	                             .cb_data = slice_of(finished, sizeof finished)};
}

static inline struct sasl_server *server(enum sasl_mech m, struct sasl_channel ch)
{
	struct sasl_server_cfg cfg = {.mech = m, .chan = ch, .hostname = SLICE_LIT("mx.example.test"),
	                              .fake_secret = SLICE_LIT("server secret")};
	return sasl_server_new(&cfg);
}

static inline struct buf b64d(const char *s)
{
	struct buf b;
	buf_init(&b);
	if (base64_decode(&b, slice_str(s)) != 0)
		panic("bad base64 in test: %s", s);
	return b;
}

/* Secrets holding only the SCRAM key for h, from password/salt/iterations. */
static inline struct password_secrets scram_secrets(enum sasl_hash h, const char *pw, const char *salt_b64,
                                             uint32_t iter)
{
	struct password_secrets s = {0};
	struct buf salt = b64d(salt_b64);
	password_scram_derive(h, slice_str(pw), buf_slice(&salt), iter,
	                      h == SASL_HASH_SHA1 ? &s.scram_sha1 : &s.scram_sha256);
	s.have = h == SASL_HASH_SHA1 ? PASSWORD_HAVE_SCRAM_SHA1 : PASSWORD_HAVE_SCRAM_SHA256;
	buf_free(&salt);
	return s;
}

static struct password_secrets full; /* "user" / "pencil", every mechanism */

static inline void full_init(void)
{
	if (password_derive(SLICE_LIT("pencil"), 4096, 4, &full) != 0)
		panic("derive");
}

static inline const struct password_secrets *user_secrets(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, full_init);
	return &full;
}

#define CHECK_OUT(st, text) CHECK_MEM((st).out.p, (st).out.len, text)

/* Server result for one client-first message. */
static inline struct sasl_step first(enum sasl_mech m, struct sasl_channel ch, const char *msg, size_t len)
{
	struct sasl_server *s = server(m, ch);
	struct sasl_step st;
	struct slice in = slice_of(msg, len ? len : strlen(msg));
	sasl_server_start(s, &in, &st);
	sasl_server_free(s);
	st.user = slice_of("", 0);
	return st;
}

#define CHECK_FIRST(m, ch, msg, status_, err_) \
	do { \
		struct sasl_step f_ = first(m, ch, msg, 0); \
		if (f_.status != (status_) || f_.err != (err_)) \
			CHECK_FAIL("%s \"%s\": status %d err %d, want %d %d", sasl_mech_name(m), msg, \
			           f_.status, f_.err, status_, err_); \
	} while (0)

#endif
