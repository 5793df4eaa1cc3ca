/* dkim_keys_load_file: the key file reader shared by signing (dkim_keys.c) and
 * localserve's mock DNS (localserve_runtime.c). Keys come from openssl genpkey. */
#include "check.h"

#include "actors/dkim_keys.h"
#include "proto/dkim_crypto.h"
#include "proto/dkim_testlib.h"

static bool same_public(const struct dkim_privkey *a, const struct dkim_privkey *b)
{
	struct buf pa, pb;
	buf_init(&pa);
	buf_init(&pb);
	dkim_privkey_public(a, &pa);
	dkim_privkey_public(b, &pb);
	bool same = pa.len > 0 && pa.len == pb.len && memcmp(pa.p, pb.p, pa.len) == 0;
	buf_free(&pa);
	buf_free(&pb);
	return same;
}

TEST(loads_openssl_keys)
{
	char *dir = dkim_test_tmpdir();
	static const char *const algos[] = {"ed25519", "2048"};
	for (size_t i = 0; i < 2; i++) {
		char path[512];
		struct dkim_privkey *want = dkim_test_genkey(dir, algos[i], algos[i]);
		CHECK(want != NULL);
		snprintf(path, sizeof path, "%s/%s.pem", dir, algos[i]);
		const char *err = "unset";
		struct dkim_privkey *k = dkim_keys_load_file(path, &err);
		CHECK(k != NULL);
		CHECK(err == NULL);
		if (k && want) {
			CHECK_INT(dkim_privkey_type(k), i == 0 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA);
			CHECK(same_public(k, want));
		}
		dkim_privkey_free(k);
		dkim_privkey_free(want);
	}
	dkim_test_rmdir(dir);
}

TEST(bad_files)
{
	char *dir = dkim_test_tmpdir();
	char path[512];
	const char *err = "unset";
	snprintf(path, sizeof path, "%s/missing.pem", dir);
	CHECK(dkim_keys_load_file(path, &err) == NULL);
	CHECK(err == NULL); /* cannot be opened: no parser text */

	snprintf(path, sizeof path, "%s/empty.pem", dir);
	dkim_test_write(path, SLICE_LIT(""));
	CHECK(dkim_keys_load_file(path, &err) == NULL);
	CHECK_STR(err, "key file empty or too large");

	snprintf(path, sizeof path, "%s/junk.pem", dir);
	dkim_test_write(path, SLICE_LIT("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"));
	CHECK(dkim_keys_load_file(path, &err) == NULL);
	CHECK_STR(err, "not an unencrypted PEM private key");

	/* Larger than any key: refused (reading also stops near DKIM_KEYS_FILE_MAX). */
	snprintf(path, sizeof path, "%s/huge.pem", dir);
	struct buf big;
	buf_init(&big);
	for (size_t i = 0; i < 4 * DKIM_KEYS_FILE_MAX / 64; i++)
		buf_puts(&big, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	dkim_test_write(path, buf_slice(&big));
	buf_free(&big);
	CHECK(dkim_keys_load_file(path, &err) == NULL);
	CHECK_STR(err, "key file empty or too large");
	dkim_test_rmdir(dir);
}

TEST_MAIN()
