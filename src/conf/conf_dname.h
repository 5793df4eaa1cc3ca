/* Domain names in config and lookups: validation and normal forms.
 *
 * The normal form used as a lookup key is lower case ASCII with A-labels
 * (punycode), so `Example.COM`, `bücher.example` and `xn--bcher-kva.example`
 * find the same domain. */
#ifndef TERN_CONF_DNAME_H
#define TERN_CONF_DNAME_H

#include <stddef.h>

/** Longest domain name in its ASCII form (RFC 1035), without a trailing dot. */
#define CONF_DNAME_MAX 253

/** Validates a domain name (unicode or ASCII, any case, no trailing dot, at
 * least one label of letters, digits and inner hyphens after IDNA mapping).
 * On success returns 0 and sets *ascii and *unicode (either may be NULL) to
 * new lower case strings the caller frees. On failure returns -1 and sets *why
 * to a static explanation. */
int conf_dname_norm(const char *in, char **ascii, char **unicode, const char **why);

/** The lookup key of a domain from the network: writes the lower case A-label
 * form of in (len bytes, need not be NUL-terminated) into out (cap bytes,
 * NUL-terminated). Pure ASCII input is only lower-cased (no allocation);
 * other input goes through IDNA. Returns the key length, or -1 when the
 * name is invalid or does not fit. */
int conf_dname_key(const char *in, size_t len, char *out, size_t cap);

#endif
