/* DKIM private keys of the configured selectors, loaded once and shared. */
#ifndef TERN_ACTORS_DKIM_KEYS_H
#define TERN_ACTORS_DKIM_KEYS_H

#include "core/buf.h"

struct conf_domain;
struct dkim_privkey;

/** Largest private key file read; the rest of a longer file is ignored. */
#define DKIM_KEYS_FILE_MAX (64 * 1024)

/** Reads the PEM private key file at path (at most about DKIM_KEYS_FILE_MAX
 * octets; the copy in memory is wiped) and parses it with dkim_privkey_load.
 * Returns a new key the caller frees with dkim_privkey_free, or NULL: *err is
 * then NULL when the file cannot be opened, else dkim_privkey_load's text. */
struct dkim_privkey *dkim_keys_load_file(const char *path, const char **err);

/** Signs msg for dom's DKIM.Sign selectors and appends the DKIM-Signature fields to out.
 * Returns the number of signatures added (0 when the domain signs nothing), or -1 when a
 * key cannot be loaded or signing fails (logged). Thread-safe. */
int dkim_keys_sign(const struct conf_domain *dom, struct slice msg, struct buf *out);

#endif
