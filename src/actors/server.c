/* The server process (see server.h): start-up order, privileges, shutdown.
 *
 * DESIGN: start-up is a fixed sequence with fatal() on any configuration or
 * environment error: load both config files, bind every listening socket
 * (as root if need be), switch to the configured user, open the store (which
 * refuses a DataDir another server holds), start the actors (committer, DNS,
 * mailbox store, queue, delivery), start the control socket, print the
 * banner, and only then start accepting connections. The main thread then
 * waits for SIGTERM/SIGINT; shutdown stops accepting, lets sessions finish (up
 * to 30 s), flushes the committer and closes the store. */
#include "actors/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/config_cmds.h"
#include "actors/control.h"
#include "actors/delivery_router.h"
#include "actors/dns_resolver.h"
#include "actors/mailbox_store.h"
#include "actors/metrics_http.h"
#include "actors/queue.h"
#include "actors/server_cmds.h"
#include "actors/smtp_listener.h"
#include "actors/smtp_session_int.h"
#include "actors/store_committer.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timer.h"
#include "core/xmalloc.h"
#include "proto/tls.h"
#include "store/store.h"

#define SHUTDOWN_GRACE_MS 30000



static struct server srv;
static bool srv_running;

struct server *server_get(void)
{
	return srv_running ? &srv : NULL;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			free(p);
			return -errno;
		}
		*s = '/';
	}
	int r = mkdir(p, mode) < 0 && errno != EEXIST ? -errno : 0;
	free(p);
	return r;
}

/* Resolves tern.conf `User`: a number is uid and gid; a name is looked up (root only). */
static void drop_privileges(const struct conf_static *st)
{
	if (geteuid() != 0)
		return;
	uid_t uid;
	gid_t gid;
	char *end;
	unsigned long n = strtoul(st->user, &end, 10);
	if (*st->user && !*end) {
		uid = (uid_t)n;
		gid = (gid_t)n;
	} else {
		struct passwd *pw = getpwnam(st->user);
		if (!pw)
			fatal("%s: User: unknown user \"%s\"", st->file, st->user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (uid == 0)
		return;
	if (mkdir_p(st->data_dir_path, 0750) == 0 && chown(st->data_dir_path, uid, gid) < 0)
		log_error("server", "cannot chown DataDir", "path=%s err=\"%s\"", st->data_dir_path, strerror(errno));
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		fatal("cannot switch to user %s: %s", st->user, strerror(errno));
	log_info("server", "switched user", "uid=%u gid=%u", (unsigned)uid, (unsigned)gid);
}

/* ---- domains.conf watcher: a small actor polling mtime/size every second ---- */

struct conf_watch {
	struct actor a;
	struct timer t;
};

static void watch_cb(struct timer *t)
{
	struct buf err;
	buf_init(&err);
	int r = conf_domains_reload_if_changed(srv.st, &err);
	if (r > 0)
		log_info("conf", "domains.conf reloaded", "path=%s", srv.st->domains_path);
	else if (r < 0)
		log_error("conf", "domains.conf not reloaded, keeping the previous config", "err=%s",
		          log_quote((char[1024]){0}, 1024, buf_slice(&err)));
	buf_free(&err);
	timer_start(t, 1000);
}

static void watch_start(struct actor *a)
{
	struct conf_watch *w = (struct conf_watch *)a;
	timer_init(&w->t, watch_cb, w);
	timer_start(&w->t, 1000);
}

static const struct actor_kind watch_kind = {.name = "conf_watch", .start = watch_start};

/* ---- start-up ---- */

static void load_config(const struct server_opts *o)
{
	struct buf err;
	buf_init(&err);
	if (conf_static_load(o->config_path, &srv.st, &err) != 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		exit(1);
	}
	log_set_level(o->loglevel >= 0 ? (enum log_level)o->loglevel : (enum log_level)srv.st->log_level);
	struct conf_domains *dc = NULL;
	if (conf_domains_load(srv.st->domains_path, srv.st, &dc, &err) != 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		exit(1);
	}
	conf_domains_install(dc);
	buf_free(&err);
}

/* The per-installation secret for SCRAM fake salts (smtp.md §7): DataDir/auth.secret, created once. */
static void load_fake_secret(void)
{
	char *path = xasprintf("%s/auth.secret", srv.st->data_dir_path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, srv.fake_secret, sizeof srv.fake_secret) == (ssize_t)sizeof srv.fake_secret) {
		close(fd);
		free(path);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (getrandom(srv.fake_secret, sizeof srv.fake_secret, 0) != (ssize_t)sizeof srv.fake_secret)
		fatal("getrandom failed");
	char *tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, srv.fake_secret, sizeof srv.fake_secret) != (ssize_t)sizeof srv.fake_secret ||
	    fsync(fd) != 0 || rename(tmp, path) != 0)
		fatal("cannot write %s: %s", path, strerror(errno));
	close(fd);
	free(tmp);
	free(path);
}

static void start_actors(void)
{
	srv.committer = store_committer_start(srv.store, NULL);
	struct dns_resolver_config dcfg;
	memset(&dcfg, 0, sizeof dcfg);
	char derr[256] = "";
	size_t n = srv.st->dns.resolvers.n;
	struct slice *entries = xcalloc(n ? n : 1, sizeof *entries);
	for (size_t i = 0; i < n; i++)
		entries[i] = slice_str(srv.st->dns.resolvers.v[i]);
	if (dns_resolver_config_servers(&dcfg, entries, n, derr, sizeof derr) != 0)
		fatal("%s: DNS.Resolvers: %s", srv.st->file, derr);
	free(entries);
	srv.resolver = dns_resolver_start(&dcfg, derr, sizeof derr);
	if (!srv.resolver)
		fatal("cannot start the DNS resolver: %s", derr);
	smtp_session_auth_init();
	srv.mailbox = mailbox_store_start(srv.store, srv.committer, NULL);
	srv.queue = queue_start(srv.store, srv.committer, srv.st, NULL);
	srv.router = delivery_router_start(srv.st, NULL);
	struct conf_watch *w = xcalloc(1, sizeof *w);
	actor_spawn(&w->a, &watch_kind, NULL);
}

static void outgoing_tls(void)
{
	char err[TLS_ERR_MAX];
	struct tls_client_opts o = {
		.ca_files = (const char *const *)srv.st->tls.ca.cert_paths.v,
		.n_ca_files = srv.st->tls.ca.cert_paths.n,
		.ca_additional_to_system = srv.st->tls.ca.additional_to_system,
	};
	srv.tls_client = tls_ctx_client_new(&o, err);
	if (!srv.tls_client)
		fatal("%s: TLS.CA: %s", srv.st->file, err);
}

/* ---- stopping actors that answer STOP with an event ---- */

struct stopper {
	struct actor a;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void stopper_done(struct actor *self, const struct msg *m, const void *p)
{
	struct stopper *st = (struct stopper *)self;
	pthread_mutex_lock(&st->mu);
	st->done = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

static const struct actor_kind stopper_kind = {
	.name = "stopper",
	.on = {[DELIVERY_MSG_STOPPED_EVT] = stopper_done},
};

/* Sends STOP to id and waits (at most timeout_ms) for its stopped event. */
static void stop_and_wait(uint64_t id, int64_t timeout_ms)
{
	struct stopper *st = xcalloc(1, sizeof *st);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	actor_spawn(&st->a, &stopper_kind, NULL);
	if (CORE_MSG_STOP_CMD_send(id, &st->a, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true}) == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_ms / 1000;
		pthread_mutex_lock(&st->mu);
		while (!st->done)
			if (pthread_cond_timedwait(&st->cv, &st->mu, &ts) != 0)
				break;
		pthread_mutex_unlock(&st->mu);
	}
	/* The stopper stays registered: it is tiny and the process is exiting. */
}

static void wait_for_signal(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("server", "shutting down", "signal=%d", sig);
			return;
		}
	}
}

static void shutdown_all(void)
{
	atomic_store(&srv.stopping, true);
	smtp_listener_stop_all();
	int64_t deadline = clock_mono_ms() + SHUTDOWN_GRACE_MS + 2000;
	while (smtp_listener_sessions() > 0 && clock_mono_ms() < deadline)
		usleep(20000);
	stop_and_wait(srv.router, 10000);
	queue_stop();
	CORE_MSG_STOP_CMD_send(srv.mailbox, NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
	store_committer_stop(srv.committer);
	worker_pool_stop();
	store_close(srv.store);
	unlink(srv.ctl_path);
	log_info("server", "stopped", NULL);
}

int server_serve(const struct server_opts *o)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	srv.localserve = o->localserve;
	load_config(o);
	struct buf err;
	buf_init(&err);
	char *lerr = NULL;
	if (store_lock_probe(srv.st->data_dir_path, &lerr) != 0)
		fatal("%s", lerr);
	if (smtp_listener_bind_all(srv.st, &err) != 0 || metrics_http_bind(srv.st, &err) != 0)
		fatal("%s", buf_cstr(&err));
	drop_privileges(srv.st);
	if (mkdir_p(srv.st->data_dir_path, 0750) < 0)
		fatal("cannot create DataDir %s: %s", srv.st->data_dir_path, strerror(errno));
	char *serr = NULL;
	srv.store = store_open(srv.st->data_dir_path, &serr);
	if (!srv.store)
		fatal("%s", serr);
	load_fake_secret();
	outgoing_tls();
	srv.started_ms = clock_wall_ms();
	worker_set_exit_hook(tls_thread_exit);
	worker_pool_start(0);
	srv_running = true;
	start_actors();

	srv.ctl_path = xasprintf("%s/ctl", srv.st->data_dir_path);
	server_cmds_register();
	queue_cmds_register();
	config_cmds_register();
	if (control_start(srv.ctl_path, &err) != 0)
		fatal("%s", buf_cstr(&err));
	if (o->banner)
		o->banner(srv.st);
	smtp_listener_start_all();
	metrics_http_start();
	log_info("server", "started", "version=%s hostname=%s datadir=%s", TERN_VERSION, srv.st->hostname,
	         srv.st->data_dir_path);
	wait_for_signal();
	shutdown_all();
	return 0;
}
