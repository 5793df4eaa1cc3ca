/* `tern quickstart [-hostname host] user@domain` (README "The binary"). */
#ifndef TERN_ACTORS_QUICKSTART_H
#define TERN_ACTORS_QUICKSTART_H

#include <stdio.h>

#include "core/buf.h"

/* Fixed names of the generated setup. */
#define QUICKSTART_CONFIG_DIR "config"
#define QUICKSTART_DATA_DIR "data"
#define QUICKSTART_DMARC_LOCALPART "dmarcreports"
#define QUICKSTART_TLSRPT_LOCALPART "tlsreports"
/** Self-signed certificate validity: the operator replaces it. */
#define QUICKSTART_CERT_DAYS 365
/** DKIM signature expiration and MTA-STS max age, ms. */
#define QUICKSTART_DKIM_EXPIRATION_MS (72LL * 3600 * 1000)
#define QUICKSTART_MTASTS_MAXAGE_MS (7LL * 24 * 3600 * 1000)
/** Admin listener port (loopback only). */
#define QUICKSTART_ADMIN_PORT 8080

/** Runs `tern quickstart`, writing below the current directory; returns the
 * exit status (0, 1 error, 2 usage). loglevel: -1 (quiet: errors only) or the
 * -loglevel given. */
int quickstart_main(int loglevel, int argc, char **argv);

/** What the DNS records are made of. Strings are borrowed. */
struct quickstart_dns {
	const char *domain, *hostname;
	const char *dkim_selector[2]; /* NULL when absent */
	const char *dkim_record[2];   /* "v=DKIM1; k=...; p=..." */
	const char *mtasts_id;        /* NULL: no MTA-STS records */
	bool host_tlsrpt;
};

/** Prints the records to create, in zone-file syntax (TXT values split into
 * strings of at most 255 octets), with comments, to f. */
void quickstart_dns_print(FILE *f, const struct quickstart_dns *d);

/** Appends value as zone-file TXT character-strings: `"..." "..."`, each at
 * most 255 octets, `"` and `\` escaped. */
void quickstart_dns_txt(struct buf *out, const char *value);

#endif
