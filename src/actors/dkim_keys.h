/* DKIM private keys of the configured selectors, loaded once and shared. */
#ifndef TERN_ACTORS_DKIM_KEYS_H
#define TERN_ACTORS_DKIM_KEYS_H

#include "core/buf.h"

struct conf_domain;

/** Signs msg for dom's DKIM.Sign selectors and appends the DKIM-Signature fields to out.
 * Returns the number of signatures added (0 when the domain signs nothing), or -1 when a
 * key cannot be loaded or signing fails (logged). Thread-safe. */
int dkim_keys_sign(const struct conf_domain *dom, struct slice msg, struct buf *out);

#endif
