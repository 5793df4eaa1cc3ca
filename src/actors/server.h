/* The server process: configuration, store, actors, listeners, shutdown.
 *
 * One struct server per process, built by server_serve() and read (never
 * changed after start-up) by actors through server_get(). */
#ifndef TERN_ACTORS_SERVER_H
#define TERN_ACTORS_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct conf_static;
struct store;
struct tls_ctx;

/** Process-wide state for actors. */
struct server {
	struct conf_static *st;     /* tern.conf (immutable) */
	struct store *store;
	/* Actor ids. Atomic: actors started early read the ids of those started after them. */
	_Atomic uint64_t committer; /* store committer actor */
	_Atomic uint64_t resolver;  /* DNS resolver actor */
	_Atomic uint64_t queue;     /* queue actor */
	_Atomic uint64_t mailbox;   /* mailbox store actor */
	_Atomic uint64_t router;    /* delivery router actor */
	struct tls_ctx *tls_client; /* outgoing TLS (SMTP client) */
	int64_t started_ms;         /* wall clock */
	_Atomic bool stopping;
	bool localserve;
	char fake_secret[32];       /* per-installation secret for SCRAM fake salts */
	char *ctl_path;             /* DataDir/ctl */
};

/** The running server (NULL outside serve). */
struct server *server_get(void);

/** Options of `serve` and `localserve`. */
struct server_opts {
	const char *config_path;
	int loglevel;       /* -1: from the config */
	bool localserve;
	void (*banner)(const struct conf_static *st); /* printed before accepting connections */
};

/** Runs the server until SIGTERM/SIGINT. Returns the exit status. */
int server_serve(const struct server_opts *o);

#endif
