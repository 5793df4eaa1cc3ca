/* /etc/ternsubmit.conf: the settings of `tern sendmail` (README "The binary").
 *
 * Errors are reported as lines `file:line: Field: message`, as for tern.conf. */
#ifndef TERN_CONF_SUBMIT_H
#define TERN_CONF_SUBMIT_H

#include <stdbool.h>

#include "core/buf.h"

/** RequireTLS: "" (server default), "yes" (REQUIRETLS), "no" (TLS-Required: No). */
enum conf_submit_requiretls { CONF_SUBMIT_REQUIRETLS_DEFAULT, CONF_SUBMIT_REQUIRETLS_YES, CONF_SUBMIT_REQUIRETLS_NO };

/** A loaded ternsubmit.conf. Strings are owned, "" when not set (never NULL
 * after a successful load). */
struct conf_submit {
	char *local_hostname;      /* EHLO name; "" = this machine's host name */
	char *host;                /* required */
	int port;                  /* 0 in the file = 465 with TLS, else 587 */
	bool tls;                  /* implicit TLS */
	bool starttls;             /* STARTTLS, required */
	bool tls_insecure_skip_verify;
	char *username, *password; /* no AUTH when Username is "" */
	char *auth_method;         /* upper case mechanism name, "" = the best offered */
	char *from;                /* required: envelope and From: address */
	char *default_destination; /* for recipients without '@'; "" = refuse those */
	char *require_tls_str;     /* as written */
	/* derived */
	enum conf_submit_requiretls require_tls;
};

/** Reads and validates the file at path. On success returns 0 and sets *out
 * (free with conf_submit_free); on failure returns -1 and appends one line
 * per error to err. */
int conf_submit_load(const char *path, struct conf_submit **out, struct buf *err);

/** Like conf_submit_load from memory; name is used in messages. */
int conf_submit_parse(const char *name, const void *data, size_t len, struct conf_submit **out, struct buf *err);

/** Frees a loaded config (NULL is fine). */
void conf_submit_free(struct conf_submit *c);

#endif
