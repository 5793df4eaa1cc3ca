/* Key and certificate generation (checked by the openssl tool and by our
 * own server), SPKI extraction and DANE matching against digests computed
 * by openssl, and malformed DER. */
#include "check.h"

#include "tls_testlib.h"

static void read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "r");
	ASSERT(f);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(out, tmp, n);
	fclose(f);
}

/* DER of a PEM certificate file, via openssl. */
static void cert_der(const char *pem, struct buf *out)
{
	char der[300];
	snprintf(der, sizeof der, "%s.der", pem);
	ASSERT(tls_test_sh("openssl x509 -in '%s' -outform DER -out '%s'", pem, der) == 0);
	read_file(der, out);
}

/* Hex digest (sha256/sha512) of the certificate (sel 0) or its public key (sel 1), by openssl. */
static void openssl_assoc_hex(const char *pem, int sel, const char *md, char *hex, size_t cap)
{
	struct buf o;
	buf_init(&o);
	if (sel == 0)
		tls_test_capture(&o, "openssl x509 -in '%s' -outform DER | openssl dgst -%s -r", pem, md);
	else
		tls_test_capture(&o, "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER | "
				     "openssl dgst -%s -r", pem, md);
	size_t n = strcspn((char *)o.p, " \n");
	ASSERT(n < cap);
	memcpy(hex, o.p, n);
	hex[n] = 0;
	buf_free(&o);
}

TEST(setup)
{
	tls_test_setup();
}

TEST(selfsigned_accepted_by_openssl_and_our_server)
{
	struct buf c, k, o;
	char err[TLS_ERR_MAX] = "";
	buf_init(&c);
	buf_init(&k);
	buf_init(&o);
	CHECK_INT(tls_cert_selfsigned("localhost", 1461, &c, &k, err), 0);
	CHECK(strncmp((char *)c.p, "-----BEGIN CERTIFICATE-----", 27) == 0);
	CHECK(strncmp((char *)k.p, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	tls_test_write_file(tls_test_path("lh.crt"), buf_slice(&c));
	tls_test_write_file(tls_test_path("lh.key"), buf_slice(&k));
	CHECK_INT(tls_test_capture(&o, "openssl x509 -in '%s' -noout -text", tls_test_path("lh.crt")), 0);
	CHECK(strstr((char *)o.p, "DNS:localhost") != NULL);
	CHECK(strstr((char *)o.p, "Subject: CN = localhost") != NULL);
	CHECK(strstr((char *)o.p, "CA:TRUE") != NULL);
	CHECK(strstr((char *)o.p, "prime256v1") != NULL);
	CHECK(strstr((char *)o.p, "ecdsa-with-SHA256") != NULL);
	/* valid 4 years: still valid in 1460 days, not in 1462 */
	CHECK_INT(tls_test_sh("openssl x509 -in '%s' -noout -checkend %d >/dev/null", tls_test_path("lh.crt"),
			      1460 * 86400), 0);
	CHECK_INT(tls_test_sh("openssl x509 -in '%s' -noout -checkend %d >/dev/null", tls_test_path("lh.crt"),
			      1462 * 86400), 1);
	CHECK_INT(tls_test_sh("openssl verify -CAfile '%s' '%s' >/dev/null", tls_test_path("lh.crt"),
			      tls_test_path("lh.crt")), 0);
	CHECK_INT(tls_test_sh("openssl pkey -in '%s' -noout", tls_test_path("lh.key")), 0);

	/* our server serves it and our PKIX client trusts it as a CA file */
	struct tls_keycert kc = {tls_test_path("lh.crt"), tls_test_path("lh.key")};
	struct tls_ctx *s = tls_ctx_server_new(&kc, 1, TLS_V12, err);
	CHECK(s != NULL);
	const char *files[] = {tls_test_path("lh.crt")};
	struct tls_client_opts co = {.ca_files = files, .n_ca_files = 1, .ca_additional_to_system = true};
	struct tls_ctx *cc = tls_ctx_client_new(&co, err);
	CHECK(cc != NULL);
	if (s && cc) {
		struct tls_conn *cli = tls_conn_client_new(cc, "localhost", TLS_VERIFY_PKIX);
		struct tls_conn *srv = tls_conn_server_new(s);
		int rs, rc = tls_test_pump(cli, srv, &rs);
		CHECK_INT(rc, TLS_OK);
		CHECK_INT(rs, TLS_OK);
		CHECK(tls_conn_peer_verified(cli));
		CHECK(tls_conn_peer_name_ok(cli));
		tls_conn_free(&cli);
		tls_conn_free(&srv);
	}
	tls_ctx_free(&s);
	tls_ctx_free(&cc);
	buf_free(&c);
	buf_free(&k);
	buf_free(&o);
}

TEST(selfsigned_bad_arguments)
{
	struct buf c, k;
	char err[TLS_ERR_MAX] = "";
	buf_init(&c);
	buf_init(&k);
	CHECK_INT(tls_cert_selfsigned("", 10, &c, &k, err), -1);
	CHECK(err[0] != 0);
	CHECK_INT(tls_cert_selfsigned("bad name", 10, &c, &k, err), -1);
	CHECK_INT(tls_cert_selfsigned("localhost", 0, &c, &k, err), -1);
	CHECK_INT(tls_cert_selfsigned("localhost", TLS_CERT_DAYS_MAX + 1, &c, &k, err), -1);
	CHECK_INT(c.len + k.len, 0);
	buf_free(&c);
	buf_free(&k);
}

TEST(ed25519_key_pkcs8)
{
	struct buf k, o;
	uint8_t pub[32];
	buf_init(&k);
	buf_init(&o);
	CHECK_INT(tls_cert_ed25519_key(&k, pub), 0);
	CHECK(strncmp((char *)k.p, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	tls_test_write_file(tls_test_path("dkim-ed.key"), buf_slice(&k));
	/* openssl derives the same public key: SPKI DER ends with the raw 32 bytes */
	CHECK_INT(tls_test_capture(&o, "openssl pkey -in '%s' -pubout -outform DER | od -An -v -tx1 | tr -d ' \\n'",
				   tls_test_path("dkim-ed.key")),
		  0);
	CHECK_INT(o.len, 2 * 44);
	CHECK(o.len == 88 && strcmp((char *)o.p + 24, tls_test_hex(pub, 32)) == 0);
	buf_free(&k);
	buf_free(&o);
}

TEST(rsa_key_pkcs8_and_spki)
{
	struct buf k, spki, o;
	buf_init(&k);
	buf_init(&spki);
	buf_init(&o);
	CHECK_INT(tls_cert_rsa_key(1024, &k, NULL), -1);
	CHECK_INT(tls_cert_rsa_key(2048, &k, &spki), 0);
	CHECK(strncmp((char *)k.p, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	tls_test_write_file(tls_test_path("dkim-rsa.key"), buf_slice(&k));
	CHECK_INT(tls_test_capture(&o, "openssl pkey -in '%s' -noout -text | head -1", tls_test_path("dkim-rsa.key")), 0);
	CHECK(strstr((char *)o.p, "2048 bit") != NULL);
	buf_reset(&o);
	CHECK_INT(tls_test_capture(&o, "openssl pkey -in '%s' -pubout -outform DER | od -An -v -tx1 | tr -d ' \\n'",
				   tls_test_path("dkim-rsa.key")),
		  0);
	CHECK_STR((char *)o.p, tls_test_hex(spki.p, spki.len));
	CHECK_INT(spki.len, 294);
	buf_free(&k);
	buf_free(&spki);
	buf_free(&o);
}

TEST(spki_and_assoc_match_openssl)
{
	const char *certs[] = {"rsa.crt", "ec.crt", "leaf.crt", "ca.crt", "ed.crt"};
	for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
		const char *pem = tls_test_path(certs[i]);
		struct buf der, a, o;
		buf_init(&der);
		buf_init(&a);
		buf_init(&o);
		cert_der(pem, &der);
		/* SPKI: byte-equal with openssl's public key DER */
		struct slice spki;
		CHECK_INT(tls_cert_spki(buf_slice(&der), &spki), 0);
		tls_test_capture(&o, "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER | "
				     "od -An -v -tx1 | tr -d ' \\n'", pem);
		CHECK_STR((char *)o.p, tls_test_hex(spki.p, spki.len));
		/* association data for selector 0/1 x SHA-256/SHA-512 */
		for (int sel = 0; sel <= 1; sel++) {
			for (int mt = 1; mt <= 2; mt++) {
				char want[200];
				openssl_assoc_hex(pem, sel, mt == 1 ? "sha256" : "sha512", want, sizeof want);
				buf_reset(&a);
				CHECK_INT(tls_cert_assoc(buf_slice(&der), (uint8_t)sel, (uint8_t)mt, &a), 0);
				CHECK_STR(tls_test_hex(a.p, a.len), want);
			}
		}
		buf_reset(&a);
		CHECK_INT(tls_cert_assoc(buf_slice(&der), 0, 0, &a), 0);
		CHECK(slice_eq(buf_slice(&a), buf_slice(&der)));
		CHECK_INT(tls_cert_assoc(buf_slice(&der), 2, 1, &a), -1);
		CHECK_INT(tls_cert_assoc(buf_slice(&der), 1, 3, &a), -1);
		buf_free(&der);
		buf_free(&a);
		buf_free(&o);
	}
}

TEST(malformed_der_never_crashes)
{
	struct buf der, a;
	buf_init(&der);
	buf_init(&a);
	cert_der(tls_test_path("rsa.crt"), &der);
	struct slice spki;
	/* every truncation fails cleanly (ASan checks the reads) */
	for (size_t n = 0; n < der.len; n++) {
		uint8_t *copy = xmemdup(der.p, n ? n : 1);
		CHECK_INT(tls_cert_spki(slice_of(copy, n), &spki), -1);
		free(copy);
	}
	/* length bytes set to extremes */
	for (size_t pos = 0; pos < 40 && pos < der.len; pos++) {
		uint8_t *copy = xmemdup(der.p, der.len);
		copy[pos] = 0xff;
		if (tls_cert_spki(slice_of(copy, der.len), &spki) == 0)
			CHECK(spki.p >= copy && spki.p + spki.len <= copy + der.len);
		buf_reset(&a);
		tls_cert_assoc(slice_of(copy, der.len), 1, 1, &a);
		free(copy);
	}
	CHECK_INT(tls_cert_spki((struct slice){NULL, 0}, &spki), -1);
	buf_free(&der);
	buf_free(&a);
}

static void hexbin(const char *hex, uint8_t *out, size_t *n)
{
	*n = strlen(hex) / 2;
	for (size_t i = 0; i < *n; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

TEST(dane_match)
{
	struct buf leaf, ca, ec, ed;
	buf_init(&leaf);
	buf_init(&ca);
	buf_init(&ec);
	buf_init(&ed);
	cert_der(tls_test_path("leaf.crt"), &leaf);
	cert_der(tls_test_path("ca.crt"), &ca);
	cert_der(tls_test_path("ec.crt"), &ec);
	cert_der(tls_test_path("ed.crt"), &ed);
	struct slice chain[] = {buf_slice(&leaf), buf_slice(&ca)};
	struct slice bad_chain[] = {buf_slice(&ec), buf_slice(&ca)};
	struct slice ed_chain[] = {buf_slice(&ed)};
	const char *names[] = {"example.test", "mx.example.test"};
	const char *other[] = {"other.test"};

	char hex[200];
	uint8_t ee311[64], ta201[64], ta302[64], ed311[64], junk[32] = {1};
	size_t n1, n2, n3, n4;
	openssl_assoc_hex(tls_test_path("leaf.crt"), 1, "sha256", hex, sizeof hex);
	hexbin(hex, ee311, &n1);
	openssl_assoc_hex(tls_test_path("ca.crt"), 0, "sha256", hex, sizeof hex);
	hexbin(hex, ta201, &n2);
	openssl_assoc_hex(tls_test_path("leaf.crt"), 0, "sha512", hex, sizeof hex);
	hexbin(hex, ta302, &n3);
	openssl_assoc_hex(tls_test_path("ed.crt"), 1, "sha256", hex, sizeof hex);
	hexbin(hex, ed311, &n4);

	struct tls_tlsa recs[] = {
	    {1, 1, 1, {ee311, n1}},    /* PKIX-EE: unusable for Tern */
	    {3, 1, 1, {junk, 32}},     /* no match */
	    {3, 1, 1, {ee311, n1}},    /* DANE-EE SPKI SHA-256 */
	};
	size_t m = 99;
	CHECK_INT(tls_dane_match(recs, 3, chain, 2, NULL, 0, &m), TLS_DANE_MATCH);
	CHECK_INT(m, 2);
	CHECK_INT(tls_dane_match(recs, 2, chain, 2, NULL, 0, &m), TLS_DANE_NO_MATCH);
	CHECK_INT(tls_dane_match(recs, 1, chain, 2, NULL, 0, &m), TLS_DANE_UNUSABLE);
	CHECK_INT(tls_dane_match(recs + 2, 1, bad_chain, 2, NULL, 0, &m), TLS_DANE_NO_MATCH);
	CHECK_INT(tls_dane_match(recs + 2, 1, chain, 0, NULL, 0, &m), TLS_DANE_NO_MATCH);

	struct tls_tlsa ee_full = {3, 0, 2, {ta302, n3}};
	CHECK_INT(tls_dane_match(&ee_full, 1, chain, 1, NULL, 0, NULL), TLS_DANE_MATCH);
	struct tls_tlsa ed_rec = {3, 1, 1, {ed311, n4}};
	CHECK_INT(tls_dane_match(&ed_rec, 1, ed_chain, 1, NULL, 0, NULL), TLS_DANE_MATCH);
	struct tls_tlsa short_digest = {3, 1, 1, {ee311, 31}};
	CHECK(!tls_tlsa_usable(&short_digest));

	/* DANE-TA: the CA is sent, signs the leaf, and the leaf name must match */
	struct tls_tlsa ta = {2, 0, 1, {ta201, n2}};
	CHECK_INT(tls_dane_match(&ta, 1, chain, 2, names, 2, &m), TLS_DANE_MATCH);
	CHECK_INT(tls_dane_match(&ta, 1, chain, 2, other, 1, &m), TLS_DANE_NO_MATCH);
	CHECK_INT(tls_dane_match(&ta, 1, bad_chain, 2, names, 2, &m), TLS_DANE_NO_MATCH);
	CHECK_INT(tls_dane_match(&ta, 1, chain, 1, names, 2, &m), TLS_DANE_NO_MATCH);
	/* a TA record never matches the leaf itself */
	struct tls_tlsa ta_leaf = {2, 1, 1, {ee311, n1}};
	CHECK_INT(tls_dane_match(&ta_leaf, 1, chain, 2, names, 2, &m), TLS_DANE_NO_MATCH);
	buf_free(&leaf);
	buf_free(&ca);
	buf_free(&ec);
	buf_free(&ed);
}

TEST_MAIN()
