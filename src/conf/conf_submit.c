/* /etc/ternsubmit.conf for `tern sendmail` (see conf_submit.h).
 *
 * DESIGN: the same table-driven decoding as tern.conf (unknown fields and
 * wrong types are errors with line numbers), then the few rules that span
 * fields: Host and From are required, TLS and STARTTLS exclude each other,
 * Username needs Password, AuthMethod must be a mechanism Tern's client
 * speaks, RequireTLS is yes, no or empty. Unset strings become "" so the
 * command never tests for NULL. */
#include "conf/conf_submit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_check.h"
#include "conf/conf_file.h"
#include "conf/conf_schema.h"
#include "core/xmalloc.h"

#define F(n, k, m, ...) {.name = n, .kind = k, .off = offsetof(struct conf_submit, m), __VA_ARGS__}
static const struct conf_field submit_fields[] = {
	F("LocalHostname", CONF_K_STR, local_hostname),
	F("Host", CONF_K_STR, host),
	F("Port", CONF_K_INT, port, CONF_RANGE(1, 65535)),
	F("TLS", CONF_K_BOOL, tls),
	F("STARTTLS", CONF_K_BOOL, starttls),
	F("TLSInsecureSkipVerify", CONF_K_BOOL, tls_insecure_skip_verify),
	F("Username", CONF_K_STR, username),
	F("Password", CONF_K_STR, password),
	F("AuthMethod", CONF_K_STR, auth_method),
	F("From", CONF_K_STR, from),
	F("DefaultDestination", CONF_K_STR, default_destination),
	F("RequireTLS", CONF_K_STR, require_tls_str),
};
#undef F
static const struct conf_schema submit_schema = {"ternsubmit.conf", sizeof(struct conf_submit),
						 CONF_FIELDS(submit_fields)};

static const char *const mechanisms[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
					 "CRAM-MD5", "PLAIN", NULL};

static void empty_if_null(char **s)
{
	if (!*s)
		*s = xstrdup("");
}

/* An address `localpart@domain` with something on both sides and no space or angle bracket. */
static bool plain_address(const char *s)
{
	const char *at = strrchr(s, '@');
	return at && at != s && at[1] && !strpbrk(s, " \t\r\n<>");
}

static void check(struct conf_dec *d, struct conf_submit *c, const struct conf_node *root)
{
	char **strs[] = {&c->local_hostname, &c->host, &c->username, &c->password, &c->auth_method,
			 &c->from, &c->default_destination, &c->require_tls_str};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		empty_if_null(strs[i]);
	if (!*c->host)
		conf_dec_err(d, conf_line(root, "Host", 1), "Host: required");
	if (!plain_address(c->from))
		conf_dec_err(d, conf_line(root, "From", 1), "From: required, an address localpart@domain");
	if (*c->default_destination && !plain_address(c->default_destination))
		conf_dec_err(d, conf_line(root, "DefaultDestination", 1), "DefaultDestination: must be an address localpart@domain");
	if (c->tls && c->starttls)
		conf_dec_err(d, conf_line(root, "STARTTLS", 1), "STARTTLS: cannot be combined with TLS (implicit TLS)");
	if (*c->username && !*c->password)
		conf_dec_err(d, conf_line(root, "Username", 1), "Password: required with Username");
	if (strpbrk(c->local_hostname, " \t\r\n"))
		conf_dec_err(d, conf_line(root, "LocalHostname", 1), "LocalHostname: must not contain white space");
	bool known = !*c->auth_method;
	for (size_t i = 0; mechanisms[i] && !known; i++)
		if (strcasecmp(c->auth_method, mechanisms[i]) == 0) {
			free(c->auth_method);
			c->auth_method = xstrdup(mechanisms[i]);
			known = true;
		}
	if (!known)
		conf_dec_err(d, conf_line(root, "AuthMethod", 1), "AuthMethod: unknown mechanism \"%s\"", c->auth_method);
	if (!*c->require_tls_str)
		c->require_tls = CONF_SUBMIT_REQUIRETLS_DEFAULT;
	else if (strcasecmp(c->require_tls_str, "yes") == 0)
		c->require_tls = CONF_SUBMIT_REQUIRETLS_YES;
	else if (strcasecmp(c->require_tls_str, "no") == 0)
		c->require_tls = CONF_SUBMIT_REQUIRETLS_NO;
	else
		conf_dec_err(d, conf_line(root, "RequireTLS", 1), "RequireTLS: must be yes, no or empty");
	if (c->port == 0)
		c->port = c->tls ? 465 : 587;
}

int conf_submit_parse(const char *name, const void *data, size_t len, struct conf_submit **out, struct buf *err)
{
	*out = NULL;
	struct conf_yaml doc;
	if (conf_yaml_parse(name, data, len, &doc, err) < 0)
		return -1;
	struct conf_dec d = {.file = name, .err = err};
	buf_init(&d.path);
	struct conf_submit *c = xmalloc(sizeof *c);
	conf_schema_init(&submit_schema, c);
	if (!doc.root)
		conf_dec_err(&d, 1, "empty file");
	else
		conf_schema_decode(&d, &submit_schema, c, doc.root, 1);
	if (d.nerr == 0)
		check(&d, c, doc.root);
	buf_free(&d.path);
	conf_yaml_free(&doc);
	if (d.nerr) {
		conf_submit_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int conf_submit_load(const char *path, struct conf_submit **out, struct buf *err)
{
	*out = NULL;
	struct buf data;
	buf_init(&data);
	if (conf_file_read(path, &data, NULL, err) < 0)
		return -1;
	int r = conf_submit_parse(path, data.p, data.len, out, err);
	if (data.len)
		explicit_bzero(data.p, data.len); /* it holds the password */
	buf_free(&data);
	return r;
}

void conf_submit_free(struct conf_submit *c)
{
	if (!c)
		return;
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	conf_schema_free(&submit_schema, c);
	free(c);
}
