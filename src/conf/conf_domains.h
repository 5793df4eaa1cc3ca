/* domains.conf: load and validate (spec/config.md §3, §4, §6), the current
 * snapshot (acquire/release/install), reload on change, build and write.
 *
 * A loaded struct conf_domains is immutable and reference counted. Readers on
 * any thread take the current one with conf_domains_acquire, use it for as
 * long as they like (e.g. one SMTP command), and release it. */
#ifndef TERN_CONF_DOMAINS_H
#define TERN_CONF_DOMAINS_H

#include "conf/conf.h"
#include "core/buf.h"

/** Reads and validates domains.conf at path against st (may be NULL: then
 * cross-file rules, i.e. Postmaster/HostTLSRPT/RelayAccount accounts and route
 * transports, are not checked). Relative paths resolve against st's
 * config_dir (or path's directory without st). On success returns 0 and sets
 * *out (one reference, owned by the caller: conf_domains_release or
 * conf_domains_install). On failure returns -1 and appends `file:line:
 * message` lines to err. st must outlive the snapshot. */
int conf_domains_load(const char *path, const struct conf_static *st, struct conf_domains **out,
                      struct buf *err);

/** Like conf_domains_load from memory; name is used in messages, base_dir
 * (may be NULL) for relative paths. The result records no file identity. */
int conf_domains_parse(const char *name, const void *data, size_t len, const struct conf_static *st,
                       const char *base_dir, struct conf_domains **out, struct buf *err);

/** The current snapshot with one more reference, or NULL if none is
 * installed. Thread-safe; a mutex held for a pointer load and an increment. */
struct conf_domains *conf_domains_acquire(void);

/** Drops one reference (NULL is fine); the last one frees the snapshot. */
void conf_domains_release(struct conf_domains *dc);

/** Makes dc the current snapshot, taking over the caller's reference, and
 * records its file identity for conf_domains_reload_if_changed. The previous
 * snapshot is released (readers holding it keep it). dc may be NULL (tests,
 * shutdown). */
void conf_domains_install(struct conf_domains *dc);

/** Checks st->domains_path: when its inode, size or mtime differ from the
 * last loaded or attempted version, loads it and installs it. Returns 1 when
 * a new snapshot was installed, 0 when nothing changed, -1 when the changed
 * file is invalid: then the previous snapshot stays, err gets the messages,
 * and the same bad version is not reported again. Serialised with
 * conf_rewrite (conf_rewrite.h). Meant to be called every second. */
int conf_domains_reload_if_changed(const struct conf_static *st, struct buf *err);

/** A new empty domains.conf (one reference, no lookup tables) for builders;
 * free with conf_domains_release. */
struct conf_domains *conf_domains_new(void);

/** A deep copy of the written fields of dc (one reference, no derived fields:
 * lookups do not work on it). Used by rewrites. */
struct conf_domains *conf_domains_copy(const struct conf_domains *dc);

/** Appends a domain with defaults (name copied); valid until the next append. */
struct conf_domain *conf_domains_add_domain(struct conf_domains *dc, const char *name);
/** Appends an account with defaults (name and domain copied); valid until the next append. */
struct conf_account *conf_domains_add_account(struct conf_domains *dc, const char *name, const char *domain);
/** Appends a destination (address and mailbox copied; mailbox NULL = Inbox). */
struct conf_destination *conf_account_add_destination(struct conf_account *acc, const char *address,
                                                      const char *mailbox);
/** Appends a DKIM selector with defaults to dom (creating dom->dkim if needed). */
struct conf_dkim_selector *conf_domain_add_selector(struct conf_domain *dom, const char *name,
                                                    const char *private_key_file);
/** Removes domain i / account i / destination i (freeing it). */
void conf_domains_remove_domain(struct conf_domains *dc, size_t i);
void conf_domains_remove_account(struct conf_domains *dc, size_t i);
void conf_account_remove_destination(struct conf_account *acc, size_t i);

/** Appends dc as block-style YAML (defaults left out) to out. */
void conf_domains_write(const struct conf_domains *dc, struct buf *out);

/** Whether the written fields of a and b are equal. */
bool conf_domains_eq(const struct conf_domains *a, const struct conf_domains *b);

#endif
