/* Files that `tern localserve` and `tern quickstart` generate: exclusive
 * writes, the admin password hash, a self-signed certificate pair, random
 * passwords, and the first account password in the state. */
#ifndef TERN_ACTORS_CONFGEN_H
#define TERN_ACTORS_CONFGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

/** Length of a password from confgen_random_password (without the NUL). */
#define CONFGEN_PASSWORD_LEN 20
/** Longest path confgen builds (dir + "/" + name). */
#define CONFGEN_PATH_MAX 1024

/** Writes len bytes to a new file at path with mode, refusing an existing
 * file (O_EXCL), and fsyncs it. excl=false replaces an existing file instead.
 * Returns 0, or -1 with `cannot write <path>: <reason>` in err. */
int confgen_write(const char *path, const void *data, size_t len, mode_t mode, bool excl, struct buf *err);

/** Joins dir and name into out (CONFGEN_PATH_MAX bytes). Returns 0, or -1
 * with a message in err when it does not fit. */
int confgen_path(char *out, const char *dir, const char *name, struct buf *err);

/** Appends the crypt(3) bcrypt `$2b$` hash of password, with a fresh salt
 * and PASSWORD_BCRYPT_COST, to out (no newline). Returns 0 or -1. */
int confgen_bcrypt(const char *password, struct buf *out);

/** Writes the admin password file at path: the bcrypt hash of password and a
 * newline, mode 0600. Returns 0, or -1 with a message in err. */
int confgen_adminpasswd(const char *path, const char *password, bool excl, struct buf *err);

/** Generates a self-signed ECDSA P-256 certificate for hostname, valid for
 * days, and writes it to cert_path (0644) and its PKCS#8 key to key_path
 * (0600). Returns 0, or -1 with a message in err. */
int confgen_selfsigned(const char *hostname, int days, const char *cert_path, const char *key_path, bool excl,
                       struct buf *err);

/** Fills out with CONFGEN_PASSWORD_LEN random letters and digits and a NUL
 * (getrandom(2)). */
void confgen_random_password(char out[CONFGEN_PASSWORD_LEN + 1]);

/** Opens the store under datadir (creating the directory), stores the
 * derived secrets of password for account (synced) and closes the store.
 * Slow (bcrypt, PBKDF2). Returns 0, or -1 with a message in err (also when
 * a running server holds the store). */
int confgen_store_password(const char *datadir, const char *account, const char *password, struct buf *err);

/** Returns 0 when none of the n paths exists; otherwise -1 with one
 * `<path> already exists` line per existing path in err. */
int confgen_check_absent(const char *const *paths, size_t n, struct buf *err);

/** Parses text as the tern.conf of the absolute directory dir (without
 * writing it) and loads dir/domains.conf against it, as `serve` would, to
 * prove that generated files are valid before tern.conf is created.
 * Returns 0, or -1 with the loader's messages in err. */
int confgen_validate(const char *dir, const struct buf *text, struct buf *err);

#endif
