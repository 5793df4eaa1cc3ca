/* `tern localserve [-dir DIR] [-ip IP] [-initonly]` (localserve.md).
 *
 * DESIGN: a first start (no DIR/tern.conf) writes every other file first,
 * stores the account password in the state, and creates tern.conf last and
 * exclusively; an interrupted first start therefore stays a first start, and
 * a complete one is never redone. Every start then runs the ordinary server
 * (server_serve) with the localserve flag, which the SMTP side and the
 * delivery read through server_get()->localserve, and a banner callback that
 * prints the services from the loaded config (so later edits show), flushed
 * before any connection is accepted. */
#include "actors/localserve.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/confgen.h"
#include "actors/localserve_conf.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "core/xmalloc.h"

static const char usage_text[] = "usage: tern localserve [-dir DIR] [-ip IP] [-initonly]\n";

struct localserve_opts {
	const char *dir;
	const char *ips[LOCALSERVE_IPS_MAX];
	size_t nips;
	bool initonly;
};

static int parse_flags(int argc, char **argv, struct localserve_opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *f = argv[i];
		if (f[0] != '-')
			return -1;
		f += f[1] == '-' ? 2 : 1;
		if (strcmp(f, "initonly") == 0) {
			o->initonly = true;
		} else if (strcmp(f, "dir") == 0 && i + 1 < argc && argv[i + 1][0]) {
			o->dir = argv[++i];
		} else if (strcmp(f, "ip") == 0 && i + 1 < argc && o->nips < LOCALSERVE_IPS_MAX) {
			o->ips[o->nips++] = argv[++i];
		} else {
			return -1;
		}
	}
	return 0;
}

/* $XDG_CONFIG_HOME/tern-localserve, else ~/.config/tern-localserve. Caller frees. */
static char *default_dir(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/tern-localserve", xdg);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	return home ? xasprintf("%s/.config/tern-localserve", home) : NULL;
}

static int mkdirs(const char *path)
{
	char *p = xstrdup(path);
	int r = 0;
	for (char *s = p + 1; *s && r == 0; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		r = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
		*s = '/';
	}
	if (r == 0)
		r = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return r;
}

/* Whether ::1 can be bound here: on a host without IPv6 the default listener
 * gets 127.0.0.1 only, instead of a server that cannot start. */
static bool have_ipv6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static int first_start(const char *dir, const struct localserve_opts *o, const char *conf_path)
{
	static const char *const default_ips[] = {"127.0.0.1", "::1"};
	const char *const *ips = o->nips ? o->ips : default_ips;
	size_t nips = o->nips ? o->nips : have_ipv6_loopback() ? 2 : 1;
	struct buf err, text;
	buf_init(&err);
	buf_init(&text);
	int r = localserve_conf_write(dir, ips, nips, &text, &err);
	if (r == 0)
		r = confgen_store_password(dir, LOCALSERVE_ACCOUNT, LOCALSERVE_PASSWORD, &err);
	if (r == 0)
		r = confgen_write(conf_path, text.p, text.len, 0644, true, &err);
	if (r != 0)
		fprintf(stderr, "tern: localserve: %s\n", buf_cstr(&err));
	else
		fprintf(stderr, "tern: localserve: wrote a new configuration to %s\n", dir);
	buf_free(&err);
	buf_free(&text);
	return r;
}

/* ---- banner ---- */

/* The host for URLs: `localhost` when the listener is on a loopback default, else its first IP. */
static void url_host(const struct conf_listener *l, char *out, size_t cap)
{
	for (size_t i = 0; i < l->ips.n; i++) {
		if (strcmp(l->ips.v[i], "127.0.0.1") == 0 || strcmp(l->ips.v[i], "::1") == 0) {
			snprintf(out, cap, "localhost");
			return;
		}
	}
	const char *ip = l->ips.n ? l->ips.v[0] : "localhost";
	snprintf(out, cap, strchr(ip, ':') ? "[%s]" : "%s", ip);
}

struct banner_svc {
	const char *name, *scheme, *path, *note;
	bool enabled;
	int port;
	bool running; /* started by this build (the others are configured for later) */
};

static void banner_listener(const struct conf_listener *l, char *host, size_t hcap)
{
	url_host(l, host, hcap);
	const struct banner_svc svc[] = {
		{"SMTP", "smtp", "", "MX; any recipient (localserve.md §4)", l->smtp.enabled, l->smtp.port, true},
		{"Submission", "smtp", "", "STARTTLS offered, not required", l->submission.enabled, l->submission.port, true},
		{"Submissions", "smtps", "", "implicit TLS", l->submissions.enabled, l->submissions.port, true},
		{"IMAP", "imap", "", "", l->imap.enabled, l->imap.port, false},
		{"IMAPS", "imaps", "", "", l->imaps.enabled, l->imaps.port, false},
		{"WebAPI", "http", l->webapi_http.path, "", l->webapi_http.enabled, l->webapi_http.port, false},
		{"Admin", "http", l->admin_http.path, "", l->admin_http.enabled, l->admin_http.port, false},
		{"Account", "http", l->account_http.path, "", l->account_http.enabled, l->account_http.port, false},
		{"WebAPI", "https", l->webapi_https.path, "", l->webapi_https.enabled, l->webapi_https.port, false},
		{"Admin", "https", l->admin_https.path, "", l->admin_https.enabled, l->admin_https.port, false},
		{"Account", "https", l->account_https.path, "", l->account_https.enabled, l->account_https.port, false},
		{"Metrics", "http", "/metrics", "Prometheus", l->metrics_http.enabled, l->metrics_http.port, true},
	};
	for (size_t i = 0; i < sizeof svc / sizeof svc[0]; i++) {
		const struct banner_svc *s = &svc[i];
		if (!s->enabled)
			continue;
		char url[300];
		snprintf(url, sizeof url, "%s://%s:%d%s", s->scheme, host, s->port, s->path ? s->path : "");
		printf("  %-12s %-5d %-36s %s\n", s->name, s->port, url,
		       s->running ? s->note : "(configured; not in this build yet)");
	}
}

static void banner_cb(const struct conf_static *st)
{
	char host[80] = "localhost";
	int sub_port = LOCALSERVE_PORT_SUBMISSION, http_port = LOCALSERVE_PORT_HTTP;
	printf("tern localserve: a complete mail server on this machine; nothing leaves it.\n"
	       "Config and data: %s\n\nServices:\n", st->config_dir);
	for (size_t i = 0; i < st->nlisteners; i++) {
		const struct conf_listener *l = &st->listeners[i];
		if (st->nlisteners > 1)
			printf(" listener %s:\n", l->name);
		banner_listener(l, host, sizeof host);
		if (l->submission.enabled)
			sub_port = l->submission.port;
		if (l->webapi_http.enabled)
			http_port = l->webapi_http.port;
	}
	printf("\nAccount:  %s  password %s\n"
	       "Admin:    password %s\n\n",
	       LOCALSERVE_ADDRESS, LOCALSERVE_PASSWORD, LOCALSERVE_ADMIN_PASSWORD);
	printf("Submit a message over SMTP:\n"
	       "  swaks --server %s:%d --auth-user %s --auth-password %s --from %s --to someone@example.org\n"
	       "The webapi (POST http://%s:%d/webapi/v0/Send) is not in this build yet: use SMTP.\n",
	       host, sub_port, LOCALSERVE_ADDRESS, LOCALSERVE_PASSWORD, LOCALSERVE_ADDRESS, host, http_port);
	printf("Every recipient at any domain lands in the Inbox of %s. Simulated failures by localpart\n"
	       "(localserve.md §5): user-temperror@, user-permerror@, user-timeout@, user552@, mailfrom451@, rcptto550@.\n"
	       "CLI against this server: tern -config %s/tern.conf queue list\n\n",
	       LOCALSERVE_ADDRESS, st->config_dir);
	fflush(stdout);
}

int localserve_main(int loglevel, int argc, char **argv)
{
	struct localserve_opts o = {0};
	if (parse_flags(argc, argv, &o) != 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	char *dflt = o.dir ? NULL : default_dir();
	const char *dir_arg = o.dir ? o.dir : dflt;
	if (!dir_arg) {
		fprintf(stderr, "tern: localserve: no home directory; use -dir\n");
		return 1;
	}
	char dir[PATH_MAX];
	if (mkdirs(dir_arg) != 0 || !realpath(dir_arg, dir)) {
		fprintf(stderr, "tern: localserve: cannot create %s: %s\n", dir_arg, strerror(errno));
		free(dflt);
		return 1;
	}
	free(dflt);
	char conf_path[PATH_MAX + 16];
	snprintf(conf_path, sizeof conf_path, "%s/tern.conf", dir);
	struct stat sb;
	bool exists = stat(conf_path, &sb) == 0;
	if (exists && o.initonly) {
		fprintf(stderr, "tern: localserve: %s already exists; not overwriting it\n", conf_path);
		return 1;
	}
	if (!exists && first_start(dir, &o, conf_path) != 0)
		return 1;
	if (o.initonly)
		return 0;
	if (exists && o.nips)
		fprintf(stderr, "tern: localserve: -ip is only used on a first start; using %s as it is\n", conf_path);
	struct server_opts so = {.config_path = conf_path, .loglevel = loglevel, .localserve = true, .banner = banner_cb};
	return server_serve(&so);
}
