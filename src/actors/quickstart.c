/* `tern quickstart [-hostname host] user@domain` (README "The binary").
 *
 * DESIGN: every target path is checked before anything is written, and each
 * file is created exclusively, so an operator's file is never replaced; when
 * a step fails, the files this run created are removed again so the command
 * can simply be rerun. tern.conf is validated in memory against the written
 * domains.conf and created last. The setup: a `public` listener on all
 * addresses (SMTP, Submission, Submissions, IMAPS, AccountHTTPS, WebAPIHTTPS,
 * MTASTSHTTPS) with a self-signed certificate to be replaced, an `internal`
 * loopback listener for /admin/ and metrics; the domain with two signing
 * DKIM selectors (ed25519 and RSA-2048), DMARC and TLSRPT report addresses and
 * an MTA-STS policy in testing mode; HostTLSRPT; one account named after the
 * localpart whose random password goes straight into the state. Run as root,
 * the config and data directories are handed to `User` (tern) when it exists. */
#include "actors/quickstart.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actors/config_cmds.h"
#include "actors/confgen.h"
#include "actors/dkim_keys.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/dkim_crypto.h"
#include "proto/dkim_sign.h"

#define QUICKSTART_FILES_MAX 16

struct quickstart {
	char *localpart, *domain, *hostname;
	char confdir[PATH_MAX], datadir[PATH_MAX + 16];
	char sel[2][64], keyfile[2][256];
	struct buf dkim_record[2];
	char mtasts_id[32];
	char account_pw[CONFGEN_PASSWORD_LEN + 1], admin_pw[CONFGEN_PASSWORD_LEN + 1];
	char *created[QUICKSTART_FILES_MAX]; /* removed again on failure */
	size_t ncreated;
	struct buf err;
};

static void created(struct quickstart *q, const char *path)
{
	if (q->ncreated < QUICKSTART_FILES_MAX)
		q->created[q->ncreated++] = xstrdup(path);
}

static char *lower(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* A host or domain name used in file names: letters, digits, '-', '.', not starting with '.'. */
static bool safe_name(const char *s)
{
	if (!*s || *s == '.' || *s == '-' || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && (unsigned char)*s < 0x80)
			return false;
	return true;
}

static int parse_args(int argc, char **argv, struct quickstart *q)
{
	const char *host = NULL, *addr = NULL;
	for (int i = 0; i < argc; i++) {
		const char *f = argv[i] + (argv[i][0] == '-' && argv[i][1] == '-' ? 2 : 1);
		if (argv[i][0] == '-' && strcmp(f, "hostname") == 0 && i + 1 < argc)
			host = argv[++i];
		else if (argv[i][0] != '-' && !addr)
			addr = argv[i];
		else
			return -1;
	}
	const char *at = addr ? strrchr(addr, '@') : NULL;
	if (!at || at == addr || !at[1])
		return -1;
	q->localpart = xstrndup(addr, (size_t)(at - addr));
	q->domain = lower(at + 1);
	q->hostname = host ? lower(host) : xasprintf("mail.%s", q->domain);
	if (!safe_name(q->domain) || !safe_name(q->hostname) || strpbrk(q->localpart, " \t/\"\\")) {
		fprintf(stderr, "tern: quickstart: invalid address or host name\n");
		return -2;
	}
	return 0;
}

/* ---- DKIM ---- */

static int dkim_keys(struct quickstart *q)
{
	if (config_dkim_keys(q->confdir, q->domain, q->sel, q->keyfile, &q->err) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		char path[CONFGEN_PATH_MAX];
		if (confgen_path(path, q->confdir, q->keyfile[i], &q->err) != 0)
			return -1;
		created(q, path);
		const char *why;
		struct dkim_privkey *k = dkim_keys_load_file(path, &why);
		if (!k) {
			buf_printf(&q->err, "%s: %s", path, why ? why : "cannot read the file");
			return -1;
		}
		dkim_sign_dns_record(k, &q->dkim_record[i]);
		dkim_privkey_free(k);
	}
	return 0;
}

/* ---- config ---- */

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static struct conf_report_addr *report_addr(const char *localpart, const char *account, const char *mailbox)
{
	struct conf_report_addr *r = xcalloc(1, sizeof *r);
	r->localpart = xstrdup(localpart);
	r->account = xstrdup(account);
	r->mailbox = xstrdup(mailbox);
	return r;
}

static struct conf_domains *build_domains(const struct quickstart *q)
{
	struct conf_domains *dc = conf_domains_new();
	struct conf_domain *dom = conf_domains_add_domain(dc, q->domain);
	for (int i = 0; i < 2; i++) {
		struct conf_dkim_selector *s = conf_domain_add_selector(dom, q->sel[i], q->keyfile[i]);
		s->expiration_ms = QUICKSTART_DKIM_EXPIRATION_MS;
		conf_strs_add(&dom->dkim->sign, q->sel[i]);
	}
	dom->dmarc = report_addr(QUICKSTART_DMARC_LOCALPART, q->localpart, "DMARC");
	dom->tlsrpt = report_addr(QUICKSTART_TLSRPT_LOCALPART, q->localpart, "TLSRPT");
	dom->mtasts = xcalloc(1, sizeof *dom->mtasts);
	dom->mtasts->policy_id = xstrdup(q->mtasts_id);
	dom->mtasts->mode = CONF_MTASTS_TESTING;
	dom->mtasts->max_age_ms = QUICKSTART_MTASTS_MAXAGE_MS;
	struct conf_account *acc = conf_domains_add_account(dc, q->localpart, q->domain);
	char *addr = xasprintf("%s@%s", q->localpart, q->domain);
	conf_account_add_destination(acc, addr, NULL);
	free(addr);
	return dc;
}

static struct conf_static *build_static(const struct quickstart *q)
{
	struct conf_static *st = conf_static_new();
	set_str(&st->hostname, q->hostname);
	set_str(&st->data_dir, "../" QUICKSTART_DATA_DIR);
	set_str(&st->postmaster.account, q->localpart);
	set_str(&st->postmaster.mailbox, "Postmaster");
	st->host_tlsrpt = xcalloc(1, sizeof *st->host_tlsrpt);
	st->host_tlsrpt->account = xstrdup(q->localpart);
	st->host_tlsrpt->mailbox = xstrdup("TLSRPT");
	st->host_tlsrpt->localpart = xstrdup(QUICKSTART_TLSRPT_LOCALPART);
	struct conf_listener *l = conf_static_add_listener(st, "public");
	conf_strs_add(&l->ips, "0.0.0.0");
	conf_strs_add(&l->ips, "::");
	l->tls = conf_static_new_tls();
	char *crt = xasprintf("%s.crt", q->hostname), *key = xasprintf("%s.key", q->hostname);
	conf_static_tls_add_keycert(l->tls, crt, key);
	free(crt);
	free(key);
	l->smtp.enabled = l->submission.enabled = l->submissions.enabled = l->imaps.enabled = true;
	l->account_https.enabled = l->webapi_https.enabled = l->mtasts_https.enabled = true;
	l = conf_static_add_listener(st, "internal");
	conf_strs_add(&l->ips, "127.0.0.1");
	conf_strs_add(&l->ips, "::1");
	l->admin_http.enabled = true;
	l->admin_http.port = QUICKSTART_ADMIN_PORT;
	l->metrics_http.enabled = true;
	return st;
}

static int write_config(struct quickstart *q)
{
	char path[CONFGEN_PATH_MAX];
	struct buf dtext, stext;
	buf_init(&dtext);
	buf_init(&stext);
	struct conf_domains *dc = build_domains(q);
	buf_puts(&dtext, "# Written by `tern quickstart`; rewritten by `tern config ...` and /admin/.\n");
	conf_domains_write(dc, &dtext);
	conf_domains_release(dc);
	struct conf_static *st = build_static(q);
	buf_puts(&stext, "# Written by `tern quickstart`. Read at start: restart after changes.\n");
	conf_static_write(st, &stext);
	conf_static_free(st);
	int r = -1;
	if (confgen_path(path, q->confdir, "domains.conf", &q->err) == 0 &&
	    confgen_write(path, dtext.p, dtext.len, 0640, true, &q->err) == 0) {
		created(q, path);
		if (confgen_validate(q->confdir, &stext, &q->err) == 0 &&
		    confgen_store_password(q->datadir, q->localpart, q->account_pw, &q->err) == 0 &&
		    confgen_path(path, q->confdir, "tern.conf", &q->err) == 0 &&
		    confgen_write(path, stext.p, stext.len, 0640, true, &q->err) == 0) {
			created(q, path);
			r = 0;
		}
	}
	buf_free(&dtext);
	buf_free(&stext);
	return r;
}

/* ---- ownership when run as root ---- */

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	if (lchown(path, chown_uid, chown_gid) != 0)
		fprintf(stderr, "tern: quickstart: cannot chown %s: %s\n", path, strerror(errno));
	return 0;
}

static void hand_over(const struct quickstart *q)
{
	if (geteuid() != 0)
		return;
	struct passwd *pw = getpwnam("tern");
	if (!pw) {
		printf("\nNOTE: tern.conf has `User: tern`, and there is no such user yet. Create it\n"
		       "(useradd --system --home-dir %s tern) and give it the config and data directories\n"
		       "(chown -R tern: %s %s), or set User in tern.conf.\n",
		       q->datadir, q->confdir, q->datadir);
		return;
	}
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	nftw(q->confdir, chown_cb, 16, FTW_PHYS);
	nftw(q->datadir, chown_cb, 16, FTW_PHYS);
}

/* ---- main ---- */

static int prepare_dirs(struct quickstart *q)
{
	if (mkdir(QUICKSTART_CONFIG_DIR, 0750) < 0 && errno != EEXIST) {
		buf_printf(&q->err, "cannot create %s: %s", QUICKSTART_CONFIG_DIR, strerror(errno));
		return -1;
	}
	if (!realpath(QUICKSTART_CONFIG_DIR, q->confdir)) {
		buf_printf(&q->err, "%s: %s", QUICKSTART_CONFIG_DIR, strerror(errno));
		return -1;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", q->confdir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = 0;
	snprintf(q->datadir, sizeof q->datadir, "%s/%s", parent, QUICKSTART_DATA_DIR);
	char p[6][CONFGEN_PATH_MAX];
	const char *names[] = {"tern.conf", "domains.conf", "adminpasswd", NULL, NULL};
	char crt[300], key[300];
	snprintf(crt, sizeof crt, "%s.crt", q->hostname);
	snprintf(key, sizeof key, "%s.key", q->hostname);
	names[3] = crt;
	names[4] = key;
	const char *paths[6];
	for (int i = 0; i < 5; i++) {
		if (confgen_path(p[i], q->confdir, names[i], &q->err) != 0)
			return -1;
		paths[i] = p[i];
	}
	if (confgen_path(p[5], q->datadir, "db", &q->err) != 0)
		return -1;
	paths[5] = p[5];
	return confgen_check_absent(paths, 6, &q->err);
}

static int generate(struct quickstart *q)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(q->mtasts_id, sizeof q->mtasts_id, "%Y%m%dT%H%M%S", &tm);
	confgen_random_password(q->account_pw);
	confgen_random_password(q->admin_pw);
	char crt[CONFGEN_PATH_MAX], key[CONFGEN_PATH_MAX], adm[CONFGEN_PATH_MAX];
	char cname[300], kname[300];
	snprintf(cname, sizeof cname, "%s.crt", q->hostname);
	snprintf(kname, sizeof kname, "%s.key", q->hostname);
	if (prepare_dirs(q) != 0 || dkim_keys(q) != 0)
		return -1;
	if (confgen_path(crt, q->confdir, cname, &q->err) != 0 || confgen_path(key, q->confdir, kname, &q->err) != 0 ||
	    confgen_path(adm, q->confdir, "adminpasswd", &q->err) != 0)
		return -1;
	if (confgen_selfsigned(q->hostname, QUICKSTART_CERT_DAYS, crt, key, true, &q->err) != 0)
		return -1;
	created(q, crt);
	created(q, key);
	if (confgen_adminpasswd(adm, q->admin_pw, true, &q->err) != 0)
		return -1;
	created(q, adm);
	return write_config(q);
}

static void report(const struct quickstart *q)
{
	printf("Wrote %s/tern.conf and domains.conf; state in %s.\n\n", q->confdir, q->datadir);
	printf("Account %s, address %s@%s, password: %s\n", q->localpart, q->localpart, q->domain, q->account_pw);
	printf("Admin password (/admin/ at http://127.0.0.1:%d/admin/): %s\n", QUICKSTART_ADMIN_PORT, q->admin_pw);
	printf("Write these passwords down: they are stored only as hashes.\n\n");
	printf("%s/%s.crt is a self-signed certificate: replace it and its key with a certificate\n"
	       "from a public CA for %s (and mta-sts.%s).\n\n", q->confdir, q->hostname, q->hostname, q->domain);
	printf("Create these DNS records:\n\n");
	struct quickstart_dns d = {.domain = q->domain, .hostname = q->hostname, .mtasts_id = q->mtasts_id,
	                           .host_tlsrpt = true};
	for (int i = 0; i < 2; i++) {
		d.dkim_selector[i] = q->sel[i];
		d.dkim_record[i] = (const char *)q->dkim_record[i].p;
	}
	quickstart_dns_print(stdout, &d);
	printf("\nThen start Tern: tern -config %s/tern.conf serve\n", q->confdir);
}

int quickstart_main(int loglevel, int argc, char **argv)
{
	if (loglevel < 0)
		log_set_level(LOG_ERROR); /* the store's "database opened" is noise here */
	struct quickstart q;
	memset(&q, 0, sizeof q);
	buf_init(&q.err);
	buf_init(&q.dkim_record[0]);
	buf_init(&q.dkim_record[1]);
	int r = parse_args(argc, argv, &q);
	if (r == -1)
		fprintf(stderr, "usage: tern quickstart [-hostname host] user@domain\n");
	if (r == 0 && generate(&q) != 0) {
		while (q.err.len && q.err.p[q.err.len - 1] == '\n')
			q.err.len--;
		fprintf(stderr, "tern: quickstart: %s\n", buf_cstr(&q.err));
		for (size_t i = q.ncreated; i-- > 0;)
			unlink(q.created[i]);
		r = -2;
	}
	if (r == 0) {
		buf_cstr(&q.dkim_record[0]);
		buf_cstr(&q.dkim_record[1]);
		report(&q);
		hand_over(&q);
		fflush(stdout);
	}
	for (size_t i = 0; i < q.ncreated; i++)
		free(q.created[i]);
	explicit_bzero(q.account_pw, sizeof q.account_pw);
	explicit_bzero(q.admin_pw, sizeof q.admin_pw);
	free(q.localpart);
	free(q.domain);
	free(q.hostname);
	buf_free(&q.err);
	buf_free(&q.dkim_record[0]);
	buf_free(&q.dkim_record[1]);
	return r == 0 ? 0 : r == -1 ? 2 : 1;
}
