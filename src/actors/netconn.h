/* A TCP connection owned by an actor: io_uring reads and writes, optional TLS.
 *
 * Embedded in protocol actors (SMTP sessions, delivery connections). The owner
 * asks for input with netconn_read() (one receive per call, so it controls
 * back-pressure), queues output with netconn_write(), can switch to TLS at any
 * point (STARTTLS or implicit), and closes with netconn_close(). Callbacks run
 * on the owner's worker. After closed_cb the owner may free the memory. */
#ifndef TERN_ACTORS_NETCONN_H
#define TERN_ACTORS_NETCONN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/io.h"

struct netconn;
struct tls_conn;

/** Owner callbacks; any may be NULL except closed_cb. */
struct netconn_ops {
	/** New plaintext was appended to c->in (the owner consumes it with buf_consume). */
	void (*data_cb)(struct netconn *c);
	/** The peer closed, or an I/O or TLS error happened (err: 0 = orderly EOF, else -errno
	 * or -EPROTO for TLS). No further data_cb. The owner should netconn_close(). */
	void (*eof_cb)(struct netconn *c, int err);
	/** The TLS handshake ended: 0 done, negative failed (reason: tls_conn_error(c->tls)). */
	void (*tls_cb)(struct netconn *c, int status);
	/** Everything queued so far has been handed to the kernel. */
	void (*drained_cb)(struct netconn *c);
	/** The socket is closed and no operation is in flight. */
	void (*closed_cb)(struct netconn *c);
};

/** Read buffer size: one receive takes at most this many bytes. */
#define NETCONN_RBUF 16384

struct netconn {
	int fd;
	const struct netconn_ops *ops;
	void *owner;
	struct buf in;          /* plaintext received, not yet consumed */
	struct tls_conn *tls;   /* owned; NULL in plaintext */
	bool handshaking;
	bool reading, eof, closing, closed, close_after_flush;
	uint64_t bytes_in, bytes_out; /* on the wire */
	/* private */
	struct io_op rop, wop, cop;
	uint8_t *rbuf;
	struct buf pend;        /* bytes waiting for the socket */
	struct buf inflight;    /* bytes handed to the kernel in the current send */
	size_t inflight_off;
	struct buf hold;        /* plaintext written during the TLS handshake, sent after it */
	uint64_t ndata;         /* data_cb calls so far */
};

/** Takes ownership of fd (connected, non-blocking). */
void netconn_init(struct netconn *c, int fd, const struct netconn_ops *ops, void *owner);
/** Arms one receive unless one is pending, the connection is closing, or EOF was seen.
 * With TLS, buffered ciphertext is decrypted first (data_cb may run before this returns). */
void netconn_read(struct netconn *c);
/** Queues n plaintext bytes (encrypted first on TLS) and starts sending. During a TLS
 * handshake the bytes wait and are encrypted once it completes (never sent in clear). */
void netconn_write(struct netconn *c, const void *p, size_t n);
/** Bytes queued but not yet handed to the kernel. */
size_t netconn_pending(const struct netconn *c);
/** Starts TLS on the connection (ownership of t moves here). Buffered plaintext input is
 * discarded: bytes pipelined before the handshake are never used (STARTTLS injection).
 * tls_cb reports the result; reading continues as the handshake needs. */
void netconn_tls_start(struct netconn *c, struct tls_conn *t);
/** Closes now: cancels pending operations, closes the socket, then closed_cb. Also after
 * netconn_close_after_flush(), where it gives up on the unsent output. */
void netconn_close(struct netconn *c);
/** Sends what is queued (and a TLS close_notify), then closes. */
void netconn_close_after_flush(struct netconn *c);
/** Frees buffers and TLS state (after closed_cb, or instead of it if never started). */
void netconn_free(struct netconn *c);

#endif
