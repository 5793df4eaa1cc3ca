/* `tern config ...`: domain and account administration through the server.
 *
 * DESIGN: every domains.conf change goes through conf_rewrite (serialised,
 * validated, written atomically, reloaded); this file only maps the command
 * words to those changes and prints errors. Passwords never touch the
 * config: their derived secrets go to the accounts column family with a
 * synced write. Commands run on the control thread, where the slow key
 * derivation and DKIM key generation may block. */
#include "actors/config_cmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actors/control.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "conf/conf_rewrite.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/password.h"
#include "proto/tls.h"
#include "store/store.h"

int config_set_password(struct store *s, const char *account, struct slice password, struct buf *err)
{
	if (!password_acceptable(password)) {
		buf_puts(err, "password must be 1 to 1024 octets without NUL");
		return -1;
	}
	struct password_secrets sec;
	if (password_derive(password, 0, 0, &sec) != 0) {
		buf_puts(err, "cannot derive password secrets");
		return -1;
	}
	struct buf v;
	buf_init(&v);
	password_encode(&sec, &v);
	password_wipe(&sec);
	struct store_key k;
	if (store_key_account_secrets(&k, slice_str(account)) != 0) {
		buf_free(&v);
		buf_puts(err, "account name too long");
		return -1;
	}
	struct store_batch *b = store_batch_new();
	store_batch_put_buf(b, STORE_CF_ACCOUNTS, store_key_slice(&k), &v);
	int r = store_commit_wait(s, b, err);
	buf_free(&v);
	return r == 0 ? 0 : -1;
}

static int write_file(const char *path, const struct buf *b, struct buf *err)
{
	FILE *f = fopen(path, "wx");
	if (!f || fwrite(b->p, 1, b->len, f) != b->len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		buf_printf(err, "cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fchmod(fileno(f), 0600);
	fclose(f);
	return 0;
}

int config_dkim_keys(const char *config_dir, const char *domain, char sel[2][64], char path[2][256],
                     struct buf *err)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/dkim", config_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		buf_printf(err, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[16];
	strftime(stamp, sizeof stamp, "%Y%m%d", &tm);
	snprintf(sel[0], 64, "%sa", stamp);
	snprintf(sel[1], 64, "%sb", stamp);
	snprintf(path[0], 256, "dkim/%s.%s.ed25519.pkcs8.pem", sel[0], domain);
	snprintf(path[1], 256, "dkim/%s.%s.rsa2048.pkcs8.pem", sel[1], domain);
	struct buf k1, k2;
	buf_init(&k1);
	buf_init(&k2);
	int r = -1;
	char full[800];
	if (tls_cert_ed25519_key(&k1, NULL) != 0 || tls_cert_rsa_key(2048, &k2, NULL) != 0) {
		buf_puts(err, "cannot generate DKIM keys");
	} else {
		snprintf(full, sizeof full, "%s/%s", config_dir, path[0]);
		if (write_file(full, &k1, err) == 0) {
			snprintf(full, sizeof full, "%s/%s", config_dir, path[1]);
			r = write_file(full, &k2, err);
		}
	}
	buf_free(&k1);
	buf_free(&k2);
	return r;
}

static void finish(struct ctl_conn *c, int r, struct buf *err)
{
	if (r != 0)
		ctl_err(c, "tern: %s\n", buf_cstr(err));
	buf_free(err);
	ctl_done(c, r == 0 ? 0 : 1);
}

static bool usage_if(struct ctl_conn *c, bool bad, const char *usage)
{
	if (bad) {
		ctl_err(c, "usage: tern %s\n", usage);
		ctl_done(c, 2);
	}
	return bad;
}

static void cmd_domain_add(struct ctl_conn *c, int argc, char **argv)
{
	bool disabled = argc > 0 && strcmp(argv[0], "-disabled") == 0;
	if (disabled) {
		argc--;
		argv++;
	}
	if (usage_if(c, argc < 2 || argc > 3, "config domain add [-disabled] domain account [localpart]"))
		return;
	const struct conf_static *st = server_get()->st;
	struct buf err;
	buf_init(&err);
	char sel[2][64], path[2][256];
	if (config_dkim_keys(st->config_dir, argv[0], sel, path, &err) != 0) {
		finish(c, -1, &err);
		return;
	}
	struct conf_new_selector ns[2] = {
		{.name = sel[0], .private_key_file = path[0], .hash = CONF_DKIM_SHA256},
		{.name = sel[1], .private_key_file = path[1], .hash = CONF_DKIM_SHA256},
	};
	struct conf_domain_add a = {.domain = argv[0], .account = argv[1], .localpart = argc == 3 ? argv[2] : NULL,
	                            .disabled = disabled, .selectors = ns, .nselectors = 2};
	finish(c, conf_rewrite_domain_add(st, &a, &err), &err);
}

static void cmd_domain_rm(struct ctl_conn *c, int argc, char **argv)
{
	if (usage_if(c, argc != 1, "config domain rm domain"))
		return;
	struct buf err;
	buf_init(&err);
	finish(c, conf_rewrite_domain_rm(server_get()->st, argv[0], &err), &err);
}

static void domain_able(struct ctl_conn *c, int argc, char **argv, bool disable)
{
	if (usage_if(c, argc != 1, disable ? "config domain disable domain" : "config domain enable domain"))
		return;
	struct buf err;
	buf_init(&err);
	finish(c, conf_rewrite_domain_disable(server_get()->st, argv[0], disable, &err), &err);
}

static void cmd_domain_disable(struct ctl_conn *c, int argc, char **argv)
{
	domain_able(c, argc, argv, true);
}

static void cmd_domain_enable(struct ctl_conn *c, int argc, char **argv)
{
	domain_able(c, argc, argv, false);
}

static void cmd_account_add(struct ctl_conn *c, int argc, char **argv)
{
	if (usage_if(c, argc != 2, "config account add account address"))
		return;
	struct buf err;
	buf_init(&err);
	finish(c, conf_rewrite_account_add(server_get()->st, argv[0], argv[1], &err), &err);
}

static void cmd_account_rm(struct ctl_conn *c, int argc, char **argv)
{
	if (usage_if(c, argc != 1, "config account rm account"))
		return;
	struct buf err;
	buf_init(&err);
	int r = conf_rewrite_account_rm(server_get()->st, argv[0], &err);
	if (r == 0) { /* its stored mail and secrets: everything under the account's key prefix */
		struct store_key lo, hi;
		if (store_key_account(&lo, slice_str(argv[0])) == 0 && store_key_prefix_end(store_key_slice(&lo), &hi) == 0) {
			struct store_batch *b = store_batch_new();
			store_batch_delete_range(b, STORE_CF_ACCOUNTS, store_key_slice(&lo), store_key_slice(&hi));
			r = store_commit_wait(server_get()->store, b, &err);
		}
	}
	finish(c, r, &err);
}

static void cmd_account_disable(struct ctl_conn *c, int argc, char **argv)
{
	if (usage_if(c, argc != 2, "config account disable account message"))
		return;
	struct buf err;
	buf_init(&err);
	finish(c, conf_rewrite_account_disable(server_get()->st, argv[0], argv[1], &err), &err);
}

static void cmd_account_enable(struct ctl_conn *c, int argc, char **argv)
{
	if (usage_if(c, argc != 1, "config account enable account"))
		return;
	struct buf err;
	buf_init(&err);
	finish(c, conf_rewrite_account_enable(server_get()->st, argv[0], &err), &err);
}

/* The CLI reads the password from stdin and sends it as the last word. */
static void cmd_account_password(struct ctl_conn *c, int argc, char **argv)
{
	if (usage_if(c, argc != 2, "config account password account < password"))
		return;
	struct buf err;
	buf_init(&err);
	struct conf_domains *dc = conf_domains_acquire();
	bool known = conf_account_get(dc, argv[0]) != NULL;
	conf_domains_release(dc);
	if (!known) {
		buf_printf(&err, "no account %s", argv[0]);
		finish(c, -1, &err);
		return;
	}
	int r = config_set_password(server_get()->store, argv[0], slice_str(argv[1]), &err);
	if (r == 0)
		log_info("config", "password changed", "account=%s", argv[0]);
	finish(c, r, &err);
}

static const struct control_cmd cmds[] = {
	{"config domain add", "config domain add [-disabled] domain account [localpart]", cmd_domain_add},
	{"config domain rm", "config domain rm domain", cmd_domain_rm},
	{"config domain disable", "config domain disable domain", cmd_domain_disable},
	{"config domain enable", "config domain enable domain", cmd_domain_enable},
	{"config account add", "config account add account address", cmd_account_add},
	{"config account rm", "config account rm account", cmd_account_rm},
	{"config account disable", "config account disable account message", cmd_account_disable},
	{"config account enable", "config account enable account", cmd_account_enable},
	{"config account password", "config account password account (password on stdin)", cmd_account_password},
	{NULL, NULL, NULL},
};

void config_cmds_register(void)
{
	control_register(cmds);
}
