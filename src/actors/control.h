/* Control socket (DataDir/ctl): the CLI's way into a running server.
 *
 * Protocol (internal, same-version CLI and server only): the client sends one
 * frame holding a msgpack array of strings — the command words and flags, e.g.
 * ["queue","list","-to","@example.com"]. The server answers with frames, each a
 * msgpack array [kind, data]: kind "o" = bytes for stdout, "e" = bytes for
 * stderr, "x" = exit status (int, last frame). A frame is a 4-byte big-endian
 * length followed by that many bytes; frames are capped at CONTROL_FRAME_MAX. */
#ifndef TERN_ACTORS_CONTROL_H
#define TERN_ACTORS_CONTROL_H

#include <stdint.h>

#include "core/buf.h"
#include "core/msg.h"

#define CONTROL_FRAME_MAX (16u << 20)

struct ctl_conn;

/** One command handler: args[0] is the command word after the matched prefix. */
struct control_cmd {
	const char *words;  /* space-separated command words, e.g. "queue list" */
	const char *usage;  /* one line for `tern help` */
	/** Runs on the control thread (may block on the store). Writes output with ctl_out/ctl_err,
	 * finishes with ctl_done(c, status) — now or later, after replies from other actors. */
	void (*run)(struct ctl_conn *c, int argc, char **argv);
};

/** Starts the control listener on path (mode 0600, stale socket replaced), on its own thread.
 * Returns 0 or a negative errno (message in err). */
int control_start(const char *path, struct buf *err);
/** Registers a table of commands (NULL-terminated by words == NULL). Call before control_start. */
void control_register(const struct control_cmd *cmds);
/** Appends text for the client's stdout. */
void ctl_out(struct ctl_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends bytes for the client's stdout. */
void ctl_out_bytes(struct ctl_conn *c, const void *p, size_t n);
/** Appends text for the client's stderr. */
void ctl_err(struct ctl_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Ends the command with an exit status; the connection closes after the output is sent. */
void ctl_done(struct ctl_conn *c, int status);
/** The actor of the connection, for sending requests whose replies come back to it. */
struct actor *ctl_actor(struct ctl_conn *c);
/** Reply handler a running command installs to receive messages sent back to ctl_actor(). */
typedef void (*ctl_reply_cb)(struct ctl_conn *c, const struct msg *m, const void *payload);
/** Lets connections receive message `id` (call before control_start); delivered to the cb set by
 * ctl_expect(). */
void control_accept_reply(uint16_t id);
/** Installs the callback for replies to this connection (NULL to stop). Carries an opaque state. */
void ctl_expect(struct ctl_conn *c, ctl_reply_cb cb, void *state);
/** The state given to ctl_expect(). */
void *ctl_state(struct ctl_conn *c);
/** Looks up the command table; for `tern help`. Calls fn for each registered command. */
void control_foreach(void (*fn)(const struct control_cmd *cmd, void *arg), void *arg);

/** Client side: sends argv to the server at path and copies its output to stdout/stderr.
 * Returns the server's exit status, or 1 when no server answers (message on stderr). */
int control_client_run(const char *path, int argc, char **argv);

#endif
