/* quickstart's DNS records: zone-file TXT strings and the record set. */
#include "check.h"

#include "actors/quickstart.h"
#include "core/xmalloc.h"

TEST(txt_strings)
{
	struct buf b;
	buf_init(&b);
	quickstart_dns_txt(&b, "v=spf1 mx ~all");
	CHECK_STR(buf_cstr(&b), "\"v=spf1 mx ~all\"");
	buf_reset(&b);
	quickstart_dns_txt(&b, "a\"b\\c");
	CHECK_STR(buf_cstr(&b), "\"a\\\"b\\\\c\"");
	buf_reset(&b);
	quickstart_dns_txt(&b, "");
	CHECK_STR(buf_cstr(&b), "\"\"");
	/* 600 octets: 255 + 255 + 90 */
	char big[601];
	memset(big, 'x', 600);
	big[600] = 0;
	buf_reset(&b);
	quickstart_dns_txt(&b, big);
	const char *s = buf_cstr(&b);
	CHECK_INT(b.len, 600 + 6 + 2);
	CHECK(s[0] == '"' && s[256] == '"' && s[257] == ' ' && s[258] == '"');
	CHECK(s[514] == '"' && s[515] == ' ' && s[516] == '"');
	buf_free(&b);
}

TEST(records)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct quickstart_dns d = {.domain = "example.com", .hostname = "mail.example.com",
	                           .dkim_selector = {"20250101a", "20250101b"},
	                           .dkim_record = {"v=DKIM1; k=ed25519; p=AAAA", "v=DKIM1; k=rsa; p=BBBB"},
	                           .mtasts_id = "20250101T000000", .host_tlsrpt = true};
	quickstart_dns_print(f, &d);
	fclose(f);
	static const char *const want[] = {
		"example.com.                             IN MX    10 mail.example.com.\n",
		"example.com.                             IN TXT   \"v=spf1 mx ~all\"\n",
		"mail.example.com.                        IN TXT   \"v=spf1 a -all\"\n",
		"_dmarc.example.com.                      IN TXT   \"v=DMARC1; p=reject; rua=mailto:dmarcreports@example.com\"\n",
		"20250101a._domainkey.example.com.        IN TXT   \"v=DKIM1; k=ed25519; p=AAAA\"\n",
		"20250101b._domainkey.example.com.        IN TXT   \"v=DKIM1; k=rsa; p=BBBB\"\n",
		"_mta-sts.example.com.                    IN TXT   \"v=STSv1; id=20250101T000000\"\n",
		"mta-sts.example.com.                     IN CNAME mail.example.com.\n",
		"_smtp._tls.example.com.                  IN TXT   \"v=TLSRPTv1; rua=mailto:tlsreports@example.com\"\n",
		"_smtp._tls.mail.example.com.             IN TXT   \"v=TLSRPTv1; rua=mailto:tlsreports@mail.example.com\"\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(out, want[i]))
			CHECK_FAIL("missing record: %s", want[i]);
	free(out);
}

TEST_MAIN()
