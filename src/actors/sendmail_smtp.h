/* One SMTP submission from the command line, for `tern sendmail`: a blocking
 * socket loop around the outbound SMTP client engine and the TLS engine. */
#ifndef TERN_ACTORS_SENDMAIL_SMTP_H
#define TERN_ACTORS_SENDMAIL_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct conf_submit;

/** Connection attempt limit per address, ms. */
#define SENDMAIL_CONNECT_MS 30000
/** Engine steps before giving up (a bound on the loop, never reached by a sane server). */
#define SENDMAIL_STEPS_MAX 1000000

/** One submission. Everything is borrowed for the call. */
struct sendmail_submission {
	const struct conf_submit *conf;
	const char *const *rcpts; /* full addresses */
	size_t nrcpts;
	struct slice data;        /* the whole message, CRLF line endings */
	bool has8bit;
	bool requiretls;          /* MAIL ... REQUIRETLS */
	const char *ca_file;      /* extra trusted CA file (SSL_CERT_FILE), or NULL */
};

/** Connects to conf->host:port (implicit TLS, STARTTLS or plaintext as
 * configured; certificates verified unless TLSInsecureSkipVerify), runs
 * AUTH when a Username is configured, and submits the message to every
 * recipient in one transaction. Returns 0 when the end of data got 250 for
 * every recipient; otherwise -1 with the server's reply lines (or a local
 * description) in err, one per line. */
int sendmail_smtp_submit(const struct sendmail_submission *s, struct buf *err);

#endif
