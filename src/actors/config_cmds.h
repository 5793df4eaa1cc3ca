/* `tern config ...` commands (README "The binary"): domains.conf changes through
 * the running server, and account passwords. */
#ifndef TERN_ACTORS_CONFIG_CMDS_H
#define TERN_ACTORS_CONFIG_CMDS_H

#include "core/buf.h"

struct store;

/** Registers the config commands with the control socket. */
void config_cmds_register(void);

/** Derives and stores the password secrets of account (synced). Slow (PBKDF2 + bcrypt):
 * never call it on an I/O worker. Returns 0, or -1 with a message in err. */
int config_set_password(struct store *s, const char *account, struct slice password, struct buf *err);

/** Generates the DKIM keys `config domain add` and quickstart create for domain: an ed25519 and
 * an RSA-2048 selector, written as PKCS#8 PEM under <config dir>/dkim/. Fills names/paths
 * (relative to the config dir) of the two selectors. Returns 0 or -1 with a message. */
int config_dkim_keys(const char *config_dir, const char *domain, char sel[2][64], char path[2][256],
                     struct buf *err);

#endif
