/* Helpers for config tests: a private temp directory with real files, and the
 * spec/config.md §7 examples verbatim. */
#ifndef TERN_TESTS_CONF_TESTUTIL_H
#define TERN_TESTS_CONF_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"

/* Creates a new empty directory under $TMPDIR (or /tmp); caller frees the path. */
static inline char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/tern-conf-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpl))
		panic("mkdtemp");
	return tmpl;
}

/* Writes s to dir/name. */
static inline void tu_write(const char *dir, const char *name, const char *s)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		panic("fopen %s", p);
	fputs(s, f);
	fclose(f);
	free(p);
}

/* Reads dir/name into a new string (NULL if missing). */
static inline char *tu_read(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	free(p);
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_cstr(&b);
}

/* Removes dir and the plain files in it. */
static inline void tu_rmdir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

/* spec/config.md §7, verbatim. */
static const char TU_TERN_CONF[] =
	"Hostname: mail.example.com\n"
	"DataDir: ../data\n"
	"LogLevel: info\n"
	"Postmaster:\n"
	"  Account: admin\n"
	"  Mailbox: Postmaster\n"
	"HostTLSRPT:\n"
	"  Account: admin\n"
	"  Mailbox: TLSRPT\n"
	"  Localpart: tlsreports\n"
	"Listeners:\n"
	"  public:\n"
	"    IPs: [192.0.2.10, 2001:db8::10]\n"
	"    TLS:\n"
	"      KeyCerts:\n"
	"        - CertFile: mail.example.com.crt\n"
	"          KeyFile: mail.example.com.key\n"
	"    SMTP: {Enabled: true, DNSBLs: [sbl.spamhaus.org]}\n"
	"    Submissions: {Enabled: true}\n"
	"    IMAPS: {Enabled: true}\n"
	"    WebAPIHTTPS: {Enabled: true}\n"
	"    MTASTSHTTPS: {Enabled: true}\n"
	"  internal:\n"
	"    IPs: [127.0.0.1, ::1]\n"
	"    AdminHTTP: {Enabled: true, Port: 8080}\n"
	"    MetricsHTTP: {Enabled: true}\n"
	"Transports:\n"
	"  ipv4only:\n"
	"    Direct: {DisableIPv6: true}\n"
	"  relay:\n"
	"    Submissions:\n"
	"      Host: smtp.relay.example\n"
	"      Auth: {Username: tern, Password: secret}\n"
	"Queue:\n"
	"  MaxConnectionsPerHost: 32\n";

static const char TU_DOMAINS_CONF[] =
	"Domains:\n"
	"  example.com:\n"
	"    LocalpartCatchallSeparator: \"+\"\n"
	"    DKIM:\n"
	"      Selectors:\n"
	"        2025a:\n"
	"          Expiration: 72h\n"
	"          PrivateKeyFile: dkim/2025a.example.com.ed25519.pkcs8.pem\n"
	"      Sign: [2025a]\n"
	"    DMARC: {Localpart: dmarcreports, Account: admin, Mailbox: DMARC}\n"
	"    TLSRPT: {Localpart: tlsreports, Account: admin, Mailbox: TLSRPT}\n"
	"    MTASTS: {PolicyID: \"20250101\", Mode: enforce, MaxAge: 168h}\n"
	"  old.example:\n"
	"    Disabled: true\n"
	"Accounts:\n"
	"  admin:\n"
	"    Domain: example.com\n"
	"    Destinations:\n"
	"      admin@example.com: {}\n"
	"  app:\n"
	"    Domain: example.com\n"
	"    FullName: Example App\n"
	"    Destinations:\n"
	"      app@example.com: {}\n"
	"      noreply@example.com: {}\n"
	"    FromIDLoginAddresses: [noreply@example.com]\n"
	"    KeepRetiredMessagePeriod: 168h\n"
	"    KeepRetiredWebhookPeriod: 72h\n"
	"    OutgoingWebhook:\n"
	"      URL: https://app.example.com/hooks/mail\n"
	"      Authorization: Bearer 8hd72hd\n"
	"      Events: [delivered, failed, suppressed, delayed]\n"
	"    IncomingWebhook: {URL: https://app.example.com/hooks/incoming}\n"
	"    MaxOutgoingMessagesPerDay: 50000\n"
	"  migrating:\n"
	"    Domain: old.example\n"
	"    Destinations: {bob@old.example: {}}\n"
	"    LoginDisabled: \"moved to new host, see https://example.com/migrate\"\n"
	"Routes:\n"
	"  - ToDomain: [.corp.example]\n"
	"    MinimumAttempts: 3\n"
	"    Transport: relay\n";

#endif
