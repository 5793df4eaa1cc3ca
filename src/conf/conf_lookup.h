/* Fast lookups in a domains.conf snapshot: domains, accounts, destinations,
 * login addresses, routes.
 *
 * All functions only read the snapshot (safe from any thread while it is
 * held) and make no allocation except for non-ASCII domain names, which go
 * through IDNA. Returned pointers borrow from the snapshot. Localparts are
 * the unquoted form (what smtp_addr parsing yields), domains are unicode or
 * ASCII in any case. */
#ifndef TERN_CONF_LOOKUP_H
#define TERN_CONF_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

/** Longest localpart accepted by lookups (longer ones are never found). */
#define CONF_LOOKUP_LOCALPART_MAX 256

/** conf_dest_lookup results. */
enum {
	CONF_DEST_FOUND = 0,
	CONF_DEST_ENOUSER = -1,   /* hosted domain (out->domain set), no such address */
	CONF_DEST_ENODOMAIN = -2, /* not a hosted domain and not a host name with a match */
};

/** The hosted domain named name (len bytes; unicode or A-labels, any case), or NULL. */
const struct conf_domain *conf_domain_get(const struct conf_domains *dc, const char *name, size_t len);

/** The account named name (exact), or NULL. */
const struct conf_account *conf_account_get(const struct conf_domains *dc, const char *name);

/** Resolves a recipient. Order: (1) the localpart is cut at the first
 * catch-all separator of a hosted domain and lower-cased unless the domain is
 * LocalpartCaseSensitive; (2) an exact address: a destination, a DMARC or
 * TLSRPT report address, or HostTLSRPT at Hostname; (3) postmaster (any case)
 * at a hosted domain, at Hostname or a listener hostname, or with an empty
 * domain (bare `postmaster`): Postmaster.Account/Mailbox; (4) the domain's
 * `@domain` catch-all. An explicit destination `postmaster@dom` wins over
 * rule (3). Returns CONF_DEST_FOUND and fills *out, or CONF_DEST_ENOUSER /
 * CONF_DEST_ENODOMAIN (out->domain is the hosted domain or NULL). */
int conf_dest_lookup(const struct conf_domains *dc, const char *localpart, size_t lplen, const char *domain,
                     size_t dlen, struct conf_dest *out);

/** The account whose login address is localpart@domain, or NULL. Login
 * addresses are the non-catch-all destinations. With allow_catchall, a
 * catch-all suffix form (`you+x@dom` for `you@dom`) matches too. */
const struct conf_account *conf_login_lookup(const struct conf_domains *dc, const char *localpart, size_t lplen,
                                             const char *domain, size_t dlen, bool allow_catchall);

/** Like conf_login_lookup on a whole `localpart@domain` address (split at the last `@`). */
const struct conf_account *conf_login_lookup_addr(const struct conf_domains *dc, const char *address,
                                                  bool allow_catchall);

/** Whether localpart@domain is a login address of acc (see conf_login_lookup). */
bool conf_account_has_login(const struct conf_domains *dc, const struct conf_account *acc, const char *localpart,
                            size_t lplen, const char *domain, size_t dlen, bool allow_catchall);

/** Whether address (`localpart@domain`) is one of acc's FromIDLoginAddresses;
 * then *sep gets the separator to use (the domain's first). */
bool conf_account_fromid_sep(const struct conf_domains *dc, const struct conf_account *acc, const char *address,
                             const char **sep);

/** The first matching route for a delivery (§6): account routes, then the
 * sender domain's routes, then global routes. from_domain and to_domain are
 * lower case A-label forms. acc may be NULL. Returns NULL for direct delivery. */
const struct conf_route *conf_route_find(const struct conf_domains *dc, const struct conf_account *acc,
                                         const char *from_domain, const char *to_domain, int attempts);

/** The storage limit of acc in bytes, 0 for none: the account's
 * QuotaMessageSize (negative: none), or the global one when it is 0. */
int64_t conf_account_quota(const struct conf_domains *dc, const struct conf_account *acc);

/** Writes the normalised lookup key `localpart@asciidomain` into out (cap
 * bytes): the localpart cut at dom's first separator occurrence (when cut is
 * true and dom has separators) and lower-cased unless dom is case sensitive
 * (dom NULL: lower-cased). dascii must already be the lower case A-label form.
 * Returns the key length or -1 if it does not fit. Internal to src/conf. */
int conf_dest_key(char *out, size_t cap, const char *lp, size_t lplen, const struct conf_domain *dom,
                  const char *dascii, bool cut);

#endif
