/* /etc/ternsubmit.conf: fields, defaults and errors. */
#include "check.h"

#include "conf/conf_submit.h"

static struct conf_submit *parse(const char *y, struct buf *err)
{
	struct conf_submit *c = NULL;
	buf_reset(err);
	conf_submit_parse("ternsubmit.conf", y, strlen(y), &c, err);
	return c;
}

TEST(all_fields)
{
	struct buf err;
	buf_init(&err);
	struct conf_submit *c = parse("LocalHostname: box.example.com\n"
	                              "Host: mail.example.com\n"
	                              "Port: 2587\n"
	                              "STARTTLS: true\n"
	                              "TLSInsecureSkipVerify: yes\n"
	                              "Username: app@example.com\n"
	                              "Password: \"s3cret: yes\"\n"
	                              "AuthMethod: scram-sha-256\n"
	                              "From: app@example.com\n"
	                              "DefaultDestination: ops@example.com\n"
	                              "RequireTLS: yes\n",
	                              &err);
	CHECK_STR(buf_cstr(&err), "");
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->local_hostname, "box.example.com");
		CHECK_STR(c->host, "mail.example.com");
		CHECK_INT(c->port, 2587);
		CHECK(c->starttls && !c->tls && c->tls_insecure_skip_verify);
		CHECK_STR(c->username, "app@example.com");
		CHECK_STR(c->password, "s3cret: yes");
		CHECK_STR(c->auth_method, "SCRAM-SHA-256");
		CHECK_STR(c->from, "app@example.com");
		CHECK_STR(c->default_destination, "ops@example.com");
		CHECK_INT(c->require_tls, CONF_SUBMIT_REQUIRETLS_YES);
	}
	conf_submit_free(c);
	buf_free(&err);
}

TEST(defaults)
{
	struct buf err;
	buf_init(&err);
	struct conf_submit *c = parse("Host: localhost\nFrom: a@b.example\n", &err);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(c->port, 587);
		CHECK_STR(c->username, "");
		CHECK_STR(c->auth_method, "");
		CHECK_STR(c->default_destination, "");
		CHECK_INT(c->require_tls, CONF_SUBMIT_REQUIRETLS_DEFAULT);
	}
	conf_submit_free(c);
	c = parse("Host: localhost\nFrom: a@b.example\nTLS: true\nRequireTLS: no\n", &err);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(c->port, 465);
		CHECK_INT(c->require_tls, CONF_SUBMIT_REQUIRETLS_NO);
	}
	conf_submit_free(c);
	c = parse("Host: localhost\nFrom: a@b.example\nRequireTLS: \"\"\n", &err);
	CHECK(c && c->require_tls == CONF_SUBMIT_REQUIRETLS_DEFAULT);
	conf_submit_free(c);
	buf_free(&err);
}

TEST(errors)
{
	struct buf err;
	buf_init(&err);
	CHECK(parse("From: a@b.example\n", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:1: Host: required\n");
	CHECK(parse("Host: h\nFrom: nobody\n", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:2: From: required, an address localpart@domain\n");
	CHECK(parse("Host: h\nFrom: a@b.c\nTLS: true\nSTARTTLS: true\n", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:4: STARTTLS: cannot be combined with TLS (implicit TLS)\n");
	CHECK(parse("Host: h\nFrom: a@b.c\nUsername: u\n", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:3: Password: required with Username\n");
	CHECK(parse("Host: h\nFrom: a@b.c\nAuthMethod: LOGIN\n", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:3: AuthMethod: unknown mechanism \"LOGIN\"\n");
	CHECK(parse("Host: h\nFrom: a@b.c\nRequireTLS: maybe\n", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:3: RequireTLS: must be yes, no or empty\n");
	CHECK(parse("Host: h\nFrom: a@b.c\nPort: 70000\n", &err) == NULL);
	CHECK(strstr(buf_cstr(&err), "ternsubmit.conf:3:") != NULL);
	CHECK(parse("Host: h\nFrom: a@b.c\nServer: x\n", &err) == NULL); /* unknown field */
	CHECK(strstr(buf_cstr(&err), "ternsubmit.conf:3:") != NULL);
	CHECK(parse("", &err) == NULL);
	CHECK_STR(buf_cstr(&err), "ternsubmit.conf:1: empty file\n");
	buf_free(&err);
}

TEST_MAIN()
