/* tern.conf: load and validate (spec/config.md §1, §2, §5), build and write.
 *
 * Errors are reported as lines `file:line: Path.To.Field: message` in a
 * caller-provided buffer; at startup the caller prints them and exits. */
#ifndef TERN_CONF_STATIC_H
#define TERN_CONF_STATIC_H

#include "conf/conf.h"
#include "core/buf.h"

/** Reads and validates tern.conf at path. Relative paths in it are resolved
 * against the directory of path (made absolute). On success returns 0 and sets
 * *out (caller frees with conf_static_free). On failure returns -1 and appends
 * one line per error (at least one) to err. */
int conf_static_load(const char *path, struct conf_static **out, struct buf *err);

/** Like conf_static_load but from memory: name is used in messages, config_dir
 * (may be NULL: paths stay as written) for relative paths and domains_path. */
int conf_static_parse(const char *name, const void *data, size_t len, const char *config_dir,
                      struct conf_static **out, struct buf *err);

/** Frees a conf_static (NULL is fine). */
void conf_static_free(struct conf_static *st);

/** A new tern.conf with every default filled in and no listener; for
 * generators (localserve, quickstart), which set fields (strings as owned
 * copies) and then call conf_static_write. Free with conf_static_free. */
struct conf_static *conf_static_new(void);

/** Appends a listener with all defaults (name copied) and returns it; the
 * pointer is valid until the next append. */
struct conf_listener *conf_static_add_listener(struct conf_static *st, const char *name);

/** Appends a transport (no field set: direct delivery) and returns it; valid
 * until the next append. Set one of its pointers with conf_static_new_transport_smtp etc. */
struct conf_transport *conf_static_add_transport(struct conf_static *st, const char *name);

/** A new default TransportSMTP (for conf_transport.submissions/submission/smtp). */
struct conf_transport_smtp *conf_static_new_transport_smtp(const char *host);

/** A new default listener TLS block (MinVersion TLSv1.2, no keycerts). */
struct conf_tls *conf_static_new_tls(void);

/** Appends a `{CertFile, KeyFile}` (copied) to tls. */
void conf_static_tls_add_keycert(struct conf_tls *tls, const char *cert_file, const char *key_file);

/** Appends a copy of s to a string list. */
void conf_strs_add(struct conf_strs *l, const char *s);

/** Appends st as block-style YAML (fields at their defaults left out, strings
 * quoted where YAML 1.1 would misread them) to out. Derived fields are not
 * written. */
void conf_static_write(const struct conf_static *st, struct buf *out);

/** Whether the written fields of a and b are equal (not the derived ones). */
bool conf_static_eq(const struct conf_static *a, const struct conf_static *b);

/** The listener named name, or NULL. */
const struct conf_listener *conf_static_listener(const struct conf_static *st, const char *name);

/** The transport named name, or NULL. */
const struct conf_transport *conf_static_transport(const struct conf_static *st, const char *name);

/** The source address for outgoing SMTP connections of family 4 or 6, or NULL
 * (then the kernel chooses). Set when the SMTP listeners' IPs are explicit
 * (none unspecified) and at most one per family (spec/config.md §2 IPs). */
static inline const struct netaddr *conf_static_smtp_source(const struct conf_static *st, int family)
{
	const struct netaddr *a = family == 4 ? &st->smtp_source4 : &st->smtp_source6;
	return a->family ? a : NULL;
}

/** Whether host (ASCII, any case) is the global Hostname or a listener's Hostname. */
bool conf_static_is_hostname(const struct conf_static *st, const char *host, size_t len);

#endif
