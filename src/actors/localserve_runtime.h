/* What the SMTP server and the queue delivery do differently under
 * `tern localserve` (localserve.md §3, §4): the switch, the delivery target,
 * recipient resolution with the catch-all to tern@localhost, and the mock
 * DNS. Special localparts are in proto/localserve_special.h. Hook points for
 * the session and delivery code are described in docs/localserve.md. */
#ifndef TERN_ACTORS_LOCALSERVE_RUNTIME_H
#define TERN_ACTORS_LOCALSERVE_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/netaddr.h"
#include "proto/mailauth_dns.h"

struct conf_static;
struct conf_domains;
struct conf_dest;

/** Delivery dial timeout under localserve, ms (localserve.md §3). */
#define LOCALSERVE_DIAL_MS 30000
/** Fallback delivery target when listener `local` has no usable SMTP address. */
#define LOCALSERVE_FALLBACK_HOST "localhost"
#define LOCALSERVE_FALLBACK_PORT 1025
/** Most DNS records one mock answer holds. */
#define LOCALSERVE_DNS_RRS_MAX 4
/** Most DKIM key files whose records are cached. */
#define LOCALSERVE_DKIM_CACHE_MAX 64

/** Whether this process is a running localserve (server_get()->localserve). */
bool localserve_active(void);

/** Where every queued delivery goes under localserve: the first IP of
 * listener `local` (an unspecified IP becomes loopback of its family) and its
 * SMTP port; or, without such a listener, host `localhost` port 1025. */
struct localserve_target {
	bool have_ip;        /* ip/port are set; else resolve host */
	struct netaddr ip;
	uint16_t port;
	const char *host;    /* LOCALSERVE_FALLBACK_HOST when !have_ip (static) */
};
void localserve_delivery_target(const struct conf_static *st, struct localserve_target *out);

/** Recipient resolution under localserve (§4): like conf_dest_lookup, but an
 * address that is not a configured destination, at any domain, resolves to
 * the destination tern@localhost, or, when the config no longer has it, to
 * the postmaster (Postmaster.Account/Mailbox). Returns CONF_DEST_FOUND and
 * fills *out (borrowing from dc), or the conf_dest_lookup error when there
 * is no fallback either. */
int localserve_dest_lookup(const struct conf_domains *dc, const char *localpart, size_t lplen, const char *domain,
                           size_t dlen, struct conf_dest *out);

/** Storage of one mock DNS answer; answer.rr points into it. */
struct localserve_dns {
	struct mailauth_dns_answer answer;
	struct slice rr[LOCALSERVE_DNS_RRS_MAX];
	struct buf data[LOCALSERVE_DNS_RRS_MAX];
};

/** Answers a mail-authentication DNS query without the network (§3): names
 * outside the hosted domains of dc are NXDOMAIN; at a hosted domain, a TXT
 * query for the domain itself gets `v=spf1 ip4:127.0.0.1/8 ip6:::1 ~all` when
 * client (may be NULL) is loopback, `<selector>._domainkey.<domain>` TXT gets
 * the record of a configured DKIM key (`v=DKIM1; k=...; p=...`; key files
 * are read once and cached), `_dmarc.<domain>` TXT gets `v=DMARC1; p=none` so
 * aligned mail passes DMARC and nothing is rejected by policy; every other
 * name or type inside a hosted domain is an empty answer (NODATA). Fills
 * *out (release with localserve_dns_free). Thread-safe. */
void localserve_dns_answer(const struct conf_domains *dc, const struct mailauth_dns_query *q,
                           const struct netaddr *client, struct localserve_dns *out);

/** Frees the storage of an answer. */
void localserve_dns_free(struct localserve_dns *d);

#endif
