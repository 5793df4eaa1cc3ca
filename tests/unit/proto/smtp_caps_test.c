/* EHLO capability parsing for the outbound client. */
#include "check.h"

#include "proto/smtp_caps.h"

static void parse(struct smtp_caps *c, const char *reply)
{
	struct smtp_reply *r = smtp_reply_parse_str(reply);
	CHECK(r != NULL);
	if (r)
		smtp_caps_parse(c, r);
	smtp_reply_unref(r);
}

TEST(all_keywords)
{
	struct smtp_caps c;
	parse(&c, "250-mx.example greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	          "250-STARTTLS\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-CHUNKING\r\n"
	          "250-REQUIRETLS\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN scram-sha-256 LOGIN\r\n"
	          "250 LIMITS RCPTMAX=2 MAILMAX=5 RCPTDOMAINMAX=1\r\n");
	CHECK(c.pipelining && c.starttls && c.eightbitmime && c.smtputf8 && c.dsn && c.chunking);
	CHECK(c.requiretls && c.enhancedstatuscodes && c.size);
	CHECK_INT(c.size_max, 10240000);
	CHECK_INT(c.rcptmax, 2);
	CHECK_INT(c.mailmax, 5);
	CHECK_INT(c.rcptdomainmax, 1);
	CHECK_INT(c.nauth, 3);
	CHECK_STR(c.mechs[1], "SCRAM-SHA-256");
	CHECK(smtp_caps_has_mech(&c, "login"));
	CHECK(!smtp_caps_has_mech(&c, "CRAM-MD5"));
}

TEST(greeting_line_is_not_a_keyword)
{
	struct smtp_caps c;
	parse(&c, "250 PIPELINING\r\n");
	CHECK(!c.pipelining);
	parse(&c, "250-mx\r\n250 pipelining\r\n");
	CHECK(c.pipelining);
}

TEST(size_variants)
{
	struct smtp_caps c;
	parse(&c, "250-mx\r\n250 SIZE\r\n");
	CHECK(c.size && c.size_max == 0);
	parse(&c, "250-mx\r\n250 SIZE 0\r\n");
	CHECK(c.size && c.size_max == 0);
	parse(&c, "250-mx\r\n250 SIZE 12x\r\n");
	CHECK(c.size && c.size_max == 0);
	parse(&c, "250-mx\r\n250 SIZE 99999999999999999999999\r\n");
	CHECK(c.size && c.size_max == 0);
	parse(&c, "250-mx\r\n250 SIZEX 5\r\n");
	CHECK(!c.size);
}

TEST(auth_forms)
{
	struct smtp_caps c;
	parse(&c, "250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250 AUTH PLAIN CRAM-MD5 bad!mech "
	          "AVERYLONGMECHANISMNAMEXX\r\n");
	CHECK_INT(c.nauth, 3);
	CHECK_STR(c.mechs[0], "LOGIN");
	CHECK_STR(c.mechs[1], "PLAIN");
	CHECK_STR(c.mechs[2], "CRAM-MD5");
	/* '=' only means something for AUTH */
	parse(&c, "250-mx\r\n250 PIPELINING=1\r\n");
	CHECK(!c.pipelining);
}

TEST(auth_cap)
{
	struct smtp_caps c;
	char line[2048] = "250-mx\r\n250 AUTH";
	for (int i = 0; i < 40; i++)
		sprintf(line + strlen(line), " M%d", i);
	strcat(line, "\r\n");
	parse(&c, line);
	CHECK_INT(c.nauth, SMTP_CAPS_AUTH_MAX);
}

TEST(limits_junk_ignored)
{
	struct smtp_caps c;
	parse(&c, "250-mx\r\n250 LIMITS RCPTMAX=0 MAILMAX=x RCPTDOMAINMAX=99999999999 FOO=3 RCPTMAX\r\n");
	CHECK_INT(c.rcptmax, 0);
	CHECK_INT(c.mailmax, 0);
	CHECK_INT(c.rcptdomainmax, 0);
	parse(&c, "250-mx\r\n250 limits rcptmax=7\r\n");
	CHECK_INT(c.rcptmax, 7);
}

TEST_MAIN()
