/* The configuration a first `tern localserve` start writes (localserve.md §1, §2). */
#ifndef TERN_ACTORS_LOCALSERVE_CONF_H
#define TERN_ACTORS_LOCALSERVE_CONF_H

#include <stddef.h>

#include "core/buf.h"

/* Ports (localserve.md §2). */
#define LOCALSERVE_PORT_SMTP 1025
#define LOCALSERVE_PORT_SUBMISSION 1587
#define LOCALSERVE_PORT_SUBMISSIONS 1465
#define LOCALSERVE_PORT_IMAP 1143
#define LOCALSERVE_PORT_IMAPS 1993
#define LOCALSERVE_PORT_HTTP 1080
#define LOCALSERVE_PORT_HTTPS 1443
#define LOCALSERVE_PORT_METRICS 1081

/* Names and credentials (localserve.md §1). */
#define LOCALSERVE_LISTENER "local"
#define LOCALSERVE_HOSTNAME "localhost"
#define LOCALSERVE_DOMAIN "localhost"
#define LOCALSERVE_ACCOUNT "tern"
#define LOCALSERVE_ADDRESS "tern@localhost"
#define LOCALSERVE_PASSWORD "terntern"
#define LOCALSERVE_ADMIN_PASSWORD "ternadmin"
#define LOCALSERVE_DKIM_SELECTOR "localserve"
#define LOCALSERVE_DKIM_FILE "dkim.localserve.privatekey.pkcs8.pem"
#define LOCALSERVE_CERT_FILE "localhost.crt"
#define LOCALSERVE_KEY_FILE "localhost.key"
/** Certificate validity: 4 years (localserve.md §1). */
#define LOCALSERVE_CERT_DAYS 1461
/** Retired records kept, ms (72h). */
#define LOCALSERVE_KEEP_MS (72LL * 3600 * 1000)
/** DKIM signature expiration, ms (72h). */
#define LOCALSERVE_DKIM_EXPIRATION_MS (72LL * 3600 * 1000)
/** Most -ip flags. */
#define LOCALSERVE_IPS_MAX 16

/** Writes the first-start files into dir (an existing absolute directory):
 * the DKIM key, the localhost certificate pair, adminpasswd and domains.conf,
 * replacing leftovers of an interrupted first start. tern.conf is not
 * written: its text is appended to static_text, already validated together
 * with the written domains.conf, for the caller to create exclusively once
 * the account password is stored, so that the existence of tern.conf marks
 * a complete first start. ips (nips >= 1) are the listener's IPs. Returns 0,
 * or -1 with a message in err. */
int localserve_conf_write(const char *dir, const char *const *ips, size_t nips, struct buf *static_text,
                          struct buf *err);

/** Appends the generated tern.conf and domains.conf texts for ips to
 * static_out / domains_out (no file is touched; for tests and the writer). */
void localserve_conf_text(const char *const *ips, size_t nips, struct buf *static_out, struct buf *domains_out);

#endif
