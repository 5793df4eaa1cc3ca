/* Generated files for localserve and quickstart (see confgen.h).
 *
 * DESIGN: every generated file is written whole with one write, fsynced, and
 * by default created exclusively, so that a generator never overwrites an
 * operator's file (quickstart refuses up front, O_EXCL closes the race).
 * Secrets (keys, the admin hash) are created 0600 from the start, never
 * chmod-ed afterwards. The account password goes straight to the store the
 * server will open, through the same config_set_password as
 * `tern config account password`. */
#include "actors/confgen.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/config_cmds.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"
#include "proto/password.h"
#include "proto/tls.h"
#include "store/store.h"

int confgen_write(const char *path, const void *data, size_t len, mode_t mode, bool excl, struct buf *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), mode);
	if (fd < 0) {
		buf_printf(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	const char *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf_printf(err, "cannot write %s: %s", path, strerror(n < 0 ? errno : EIO));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		buf_printf(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int confgen_path(char *out, const char *dir, const char *name, struct buf *err)
{
	int n = snprintf(out, CONFGEN_PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= CONFGEN_PATH_MAX) {
		buf_printf(err, "path too long: %s/%s", dir, name);
		return -1;
	}
	return 0;
}

int confgen_bcrypt(const char *password, struct buf *out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	/* NULL random bytes: libxcrypt draws the salt from the kernel itself. */
	if (!crypt_gensalt_rn("$2b$", PASSWORD_BCRYPT_COST, NULL, 0, setting, sizeof setting))
		return -1;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *h = crypt_r(password, setting, cd);
	int r = -1;
	if (h && h[0] == '$') {
		buf_puts(out, h);
		r = 0;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return r;
}

int confgen_adminpasswd(const char *path, const char *password, bool excl, struct buf *err)
{
	struct buf h;
	buf_init(&h);
	if (confgen_bcrypt(password, &h) != 0) {
		buf_free(&h);
		buf_puts(err, "cannot hash the admin password with bcrypt");
		return -1;
	}
	buf_putc(&h, '\n');
	int r = confgen_write(path, h.p, h.len, 0600, excl, err);
	buf_free(&h);
	return r;
}

int confgen_selfsigned(const char *hostname, int days, const char *cert_path, const char *key_path, bool excl,
                       struct buf *err)
{
	struct buf cert, key;
	buf_init(&cert);
	buf_init(&key);
	char terr[TLS_ERR_MAX];
	int r = -1;
	if (tls_cert_selfsigned(hostname, days, &cert, &key, terr) != 0)
		buf_printf(err, "cannot generate a certificate for %s: %s", hostname, terr);
	else if (confgen_write(key_path, key.p, key.len, 0600, excl, err) == 0)
		r = confgen_write(cert_path, cert.p, cert.len, 0644, excl, err);
	explicit_bzero(key.p, key.len);
	buf_free(&cert);
	buf_free(&key);
	return r;
}

void confgen_random_password(char out[CONFGEN_PASSWORD_LEN + 1])
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const size_t na = sizeof alphabet - 1; /* 57: no 0/O, 1/l/I look-alikes */
	size_t i = 0;
	while (i < CONFGEN_PASSWORD_LEN) {
		uint8_t rnd[64];
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			panic("getrandom failed: %s", strerror(errno));
		for (size_t k = 0; k < sizeof rnd && i < CONFGEN_PASSWORD_LEN; k++)
			if (rnd[k] < 256 - 256 % na) /* no modulo bias */
				out[i++] = alphabet[rnd[k] % na];
	}
	out[i] = 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int r = 0;
	for (char *s = p + 1; *s && r == 0; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			r = -1;
		*s = '/';
	}
	if (r == 0 && mkdir(p, mode) < 0 && errno != EEXIST)
		r = -1;
	free(p);
	return r;
}

int confgen_store_password(const char *datadir, const char *account, const char *password, struct buf *err)
{
	if (mkdir_p(datadir, 0750) != 0) {
		buf_printf(err, "cannot create %s: %s", datadir, strerror(errno));
		return -1;
	}
	char *serr = NULL;
	struct store *s = store_open(datadir, &serr);
	if (!s) {
		buf_puts(err, serr ? serr : "cannot open the store");
		free(serr);
		return -1;
	}
	int r = config_set_password(s, account, slice_str(password), err);
	store_close(s);
	return r;
}

int confgen_check_absent(const char *const *paths, size_t n, struct buf *err)
{
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat sb;
		if (lstat(paths[i], &sb) == 0 || errno != ENOENT) {
			buf_printf(err, "%s already exists\n", paths[i]);
			r = -1;
		}
	}
	return r;
}

int confgen_validate(const char *dir, const struct buf *text, struct buf *err)
{
	char name[CONFGEN_PATH_MAX];
	if (confgen_path(name, dir, "tern.conf", err) != 0)
		return -1;
	struct conf_static *st = NULL;
	if (conf_static_parse(name, text->p, text->len, dir, &st, err) != 0)
		return -1;
	struct conf_domains *dc = NULL;
	int r = conf_domains_load(st->domains_path, st, &dc, err);
	conf_domains_release(dc);
	conf_static_free(st);
	return r;
}
