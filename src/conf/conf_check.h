/* Validation helpers shared by the tern.conf and domains.conf checks:
 * line numbers of fields in the YAML tree, and value rules.
 *
 * Internal to src/conf. */
#ifndef TERN_CONF_CHECK_H
#define TERN_CONF_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf_yaml.h"

/** Longest localpart accepted in config (RFC 5321 §4.5.3.1.1). */
#define CONF_LOCALPART_MAX 64
/** Longest account or mailbox name. */
#define CONF_NAME_MAX 255
/** Longest LoginDisabled message and Fail SMTPMessage. */
#define CONF_MESSAGE_MAX 256

/** Line of field `name` in mapping obj: its key's line, else obj's line, else fallback. */
int conf_line(const struct conf_node *obj, const char *name, int fallback);
/** Line of item i of the list in field `name` of obj, else conf_line(obj, name, fallback). */
int conf_line_item(const struct conf_node *obj, const char *name, size_t i, int fallback);
/** Value node of field `name` of obj, or NULL. */
const struct conf_node *conf_sub(const struct conf_node *obj, const char *name);
/** Value node of pair i of mapping m, or NULL. */
const struct conf_node *conf_pair_value(const struct conf_node *m, size_t i);
/** Line of the key of pair i of mapping m, or fallback. */
int conf_pair_line(const struct conf_node *m, size_t i, int fallback);
/** Item i of sequence s, or NULL. */
const struct conf_node *conf_item(const struct conf_node *s, size_t i);

/** Whether s is 1..max characters of printable ASCII (0x20-0x7e). */
bool conf_check_printable(const char *s, size_t max);
/** An account, listener or mailbox name: 1..CONF_NAME_MAX bytes, no control characters. */
bool conf_check_name(const char *s, const char **why);
/** A localpart: 1..64 bytes of dot-atom text (RFC 5322 atext and inner dots),
 * UTF-8 allowed (RFC 6531). */
bool conf_check_localpart(const char *s, const char **why);
/** A webhook URL: http:// or https://, a host, no spaces or control characters. */
bool conf_check_url(const char *s, const char **why);

#endif
