/* Exact-text tests of the Received header (smtp.md §15) and of Message-IDs. */
#include "check.h"

#include "proto/base64.h"
#include "proto/msgid.h"
#include "proto/received.h"

/* Tue, 24 Nov 2026 22:44:47 +0000 */
#define NOW_MS 1795560287000LL

static void check_received(const struct received_info *ri, const char *want)
{
	struct buf b;
	buf_init(&b);
	received_compose(ri, &b);
	CHECK_STR(buf_cstr(&b), want);
	for (size_t i = 0; i < b.len; i++) /* no bare CR or LF */
		if ((b.p[i] == '\r') != (i + 1 < b.len && b.p[i + 1] == '\n') ||
		    (b.p[i] == '\n' && (i == 0 || b.p[i - 1] != '\r')))
			CHECK_FAIL("bare CR/LF at %zu", i);
	buf_free(&b);
}

TEST(mx_full)
{
	struct received_info ri = {
	    .kind = RECEIVED_MX, .hostname = {"mail.example.com"}, .ehlo = {"client.example.org"},
	    .ptr = "host-7.isp.example", .client_ip = "198.51.100.7", .local_ip = "192.0.2.10",
	    .tls = true, .requiretls = true, .tls_version = "TLS1.3", .tls_cipher = "TLS_AES_128_GCM_SHA256",
	    .id = "AbCdEfGhIjKlMnOp", .rcpt = "bob@example.com", .now_ms = NOW_MS};
	check_received(&ri,
	    "Received: from client.example.org (host-7.isp.example [198.51.100.7]) by mail.example.com ([192.0.2.10])\r\n"
	    "\tvia tcp with ESMTPS (requiretls) id AbCdEfGhIjKlMnOp\r\n"
	    "\t(TLS1.3 TLS_AES_128_GCM_SHA256) for <bob@example.com>; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
}

TEST(mx_plain_no_ptr_multi_rcpt)
{
	/* PTR equal to the EHLO name is left out; no TLS and several recipients:
	 * the date ends line 2. HELO gives protocol SMTP. */
	struct received_info ri = {
	    .kind = RECEIVED_MX, .hostname = {"mail.example.com"}, .ehlo = {"Client.Example.org"},
	    .ptr = "client.example.org", .client_ip = "2001:db8::7", .local_ip = "2001:db8::1",
	    .helo = true, .id = "id1", .now_ms = NOW_MS};
	check_received(&ri,
	    "Received: from Client.Example.org ([IPv6:2001:db8::7]) by mail.example.com ([IPv6:2001:db8::1])\r\n"
	    "\tvia tcp with SMTP id id1; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
	ri.ptr = NULL;
	ri.helo = false;
	ri.rcpt = "a@b.example";
	check_received(&ri,
	    "Received: from Client.Example.org ([IPv6:2001:db8::7]) by mail.example.com ([IPv6:2001:db8::1])\r\n"
	    "\tvia tcp with ESMTP id id1\r\n"
	    "\tfor <a@b.example>; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
}

TEST(mx_smtputf8_idn)
{
	struct received_info ri = {
	    .kind = RECEIVED_MX, .hostname = {"xn--mal-bpa.example", "m\xc3\xa0l.example"},
	    .ehlo = {"xn--caf-dma.example", "caf\xc3\xa9.example"}, .client_ip = "198.51.100.7",
	    .local_ip = "192.0.2.10", .smtputf8 = true, .tls = true, .tls_version = "TLS1.2",
	    .tls_cipher = "ECDHE-RSA-AES128-GCM-SHA256", .id = "x", .rcpt = "j\xc3\xb8@caf\xc3\xa9.example",
	    .now_ms = NOW_MS};
	check_received(&ri,
	    "Received: from caf\xc3\xa9.example (xn--caf-dma.example) ([198.51.100.7]) by m\xc3\xa0l.example (xn--mal-bpa.example) ([192.0.2.10])\r\n"
	    "\tvia tcp with UTF8SMTPS id x\r\n"
	    "\t(TLS1.2 ECDHE-RSA-AES128-GCM-SHA256) for <j\xc3\xb8@caf\xc3\xa9.example>; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
	/* Without SMTPUTF8 the ASCII forms are used. */
	ri.smtputf8 = false;
	ri.rcpt = NULL;
	ri.tls = false;
	check_received(&ri,
	    "Received: from xn--caf-dma.example ([198.51.100.7]) by xn--mal-bpa.example ([192.0.2.10])\r\n"
	    "\tvia tcp with ESMTP id x; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
}

TEST(submission_hides_client)
{
	struct received_info ri = {
	    .kind = RECEIVED_SUBMISSION, .hostname = {"mail.example.com"},
	    .ehlo = {"laptop.local"}, .client_ip = "203.0.113.9", .local_ip = "192.0.2.10",
	    .tls = true, .auth = true, .tls_version = "TLS1.3", .tls_cipher = "TLS_AES_256_GCM_SHA384",
	    .id = "sub1", .rcpt = "\"a b\"@example.org", .now_ms = NOW_MS};
	struct buf b;
	buf_init(&b);
	received_compose(&ri, &b);
	CHECK_STR(buf_cstr(&b),
	    "Received: from mail.example.com by mail.example.com ([192.0.2.10])\r\n"
	    "\tvia tcp with ESMTPSA id sub1\r\n"
	    "\t(TLS1.3 TLS_AES_256_GCM_SHA384) for <\"a b\"@example.org>; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
	CHECK(strstr(buf_cstr(&b), "203.0.113.9") == NULL);
	CHECK(strstr(buf_cstr(&b), "laptop") == NULL);
	buf_free(&b);
	ri.smtputf8 = true;
	ri.rcpt = NULL;
	ri.local_ip = NULL;
	check_received(&ri,
	    "Received: from mail.example.com by mail.example.com\r\n"
	    "\tvia tcp with UTF8SMTPSA id sub1\r\n"
	    "\t(TLS1.3 TLS_AES_256_GCM_SHA384); Tue, 24 Nov 2026 22:44:47 +0000\r\n");
}

TEST(webapi)
{
	struct received_info ri = {.kind = RECEIVED_WEBAPI, .hostname = {"mail.example.com"},
	                           .id = "12345", .rcpt = "bob@example.org", .now_ms = NOW_MS};
	check_received(&ri, "Received: from mail.example.com by mail.example.com id 12345 for "
	                    "<bob@example.org>; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
	ri.tls = true;
	ri.tls_version = "TLS1.3";
	ri.tls_cipher = "TLS_AES_128_GCM_SHA256";
	ri.rcpt = NULL;
	check_received(&ri, "Received: from mail.example.com by mail.example.com id 12345 "
	                    "(TLS1.3 TLS_AES_128_GCM_SHA256); Tue, 24 Nov 2026 22:44:47 +0000\r\n");
}

TEST(hostile_names_are_fenced)
{
	struct received_info ri = {.kind = RECEIVED_MX, .hostname = {"h"},
	                           .ehlo = {"evil\r\nBcc: x (y); z\xff"}, .client_ip = "1.2.3.4",
	                           .id = "i", .rcpt = "a\r\nb@c", .now_ms = NOW_MS};
	check_received(&ri, "Received: from evil??Bcc:?x??y???z? ([1.2.3.4]) by h\r\n"
	                    "\tvia tcp with ESMTP id i\r\n"
	                    "\tfor <a??b@c>; Tue, 24 Nov 2026 22:44:47 +0000\r\n");
}

TEST(protocol_names)
{
	const char *want[] = {"ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA", "UTF8SMTP", "UTF8SMTPA",
	                      "UTF8SMTPS", "UTF8SMTPSA"};
	for (int i = 0; i < 8; i++) {
		struct received_info ri = {.smtputf8 = i & 4, .tls = i & 2, .auth = i & 1};
		struct buf b;
		buf_init(&b);
		received_protocol(&ri, &b);
		CHECK_STR(buf_cstr(&b), want[i]);
		buf_free(&b);
	}
}

TEST(msgid_format)
{
	/* RFC 4648 §10 vectors, in the url alphabet without padding (base64url_encode). */
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff"};
	const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy", "-_8"};
	for (int i = 0; i < 8; i++) {
		struct buf b;
		buf_init(&b);
		base64url_encode(&b, slice_str(in[i])); /* what msgid_random encodes with */
		CHECK_STR(buf_cstr(&b), out[i]);
		buf_free(&b);
	}
	char a[MSGID_RANDOM_LEN + 1], c[MSGID_RANDOM_LEN + 1];
	msgid_random(a);
	msgid_random(c);
	CHECK_INT(strlen(a), 22);
	CHECK(strcmp(a, c) != 0);
	for (int i = 0; i < 22; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
	struct buf b;
	buf_init(&b);
	msgid_new("mail.example.com", &b);
	CHECK_INT(b.len, 1 + 22 + 1 + 16 + 1);
	CHECK(b.p[0] == '<' && b.p[b.len - 1] == '>' && b.p[23] == '@');
	CHECK_MEM(b.p + 24, 16, "mail.example.com");
	buf_free(&b);
}

TEST_MAIN()
