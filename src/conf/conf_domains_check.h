/* Checking a decoded domains.conf and building its lookup tables.
 *
 * Internal to src/conf: conf_domains_check.c (domains, routes, the entry
 * point) and conf_accounts_check.c (accounts, addresses, cross-file rules). */
#ifndef TERN_CONF_DOMAINS_CHECK_H
#define TERN_CONF_DOMAINS_CHECK_H

#include "conf/conf.h"
#include "conf/conf_schema.h"

struct conf_check_ctx {
	struct conf_dec *d;
	struct conf_domains *dc;
	const struct conf_static *st; /* NULL: no cross-file rules */
	const struct conf_node *root;
};

/** Checks dc (decoded from root, which may be NULL) against st, reporting
 * through d, and fills every derived field and lookup table of dc. */
void conf_domains_check(struct conf_dec *d, struct conf_domains *dc, const struct conf_static *st,
                        const struct conf_node *root);

/** Accounts, destinations, report addresses, account and global routes,
 * MonitorDNSBLs, and the tern.conf account references (conf_accounts_check.c). */
void conf_accounts_check(struct conf_check_ctx *c);

/** The hosted domain named name (any form), or NULL. */
struct conf_domain *conf_check_domain_find(struct conf_check_ctx *c, const char *name);

/** Adds an address to the destination table, reporting a duplicate at line
 * with `what` as the field path. lp is the localpart (empty for a catch-all),
 * dascii the lower case A-label domain (e.domain's when set). */
void conf_check_dest_add(struct conf_check_ctx *c, int line, const char *what, const char *lp,
                         const char *dascii, struct conf_dest e);

/** Checks routes r[0..n) (YAML list node list) and fills their derived fields;
 * prefix names the list in messages. */
void conf_check_routes(struct conf_check_ctx *c, struct conf_route *r, size_t n, const struct conf_node *list,
                       const char *prefix);

#endif
