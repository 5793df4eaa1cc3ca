/* Internals of the delivery connection actor, shared by delivery_conn.c (actor,
 * dialing, jobs, events) and delivery_conn_session.c (the SMTP session over
 * netconn). Nothing else includes this. */
#ifndef TERN_ACTORS_DELIVERY_CONN_PRIV_H
#define TERN_ACTORS_DELIVERY_CONN_PRIV_H

#include <sys/socket.h>

#include "actors/delivery_conn.h"
#include "actors/delivery_sasl.h"
#include "actors/delivery_txn.h"
#include "actors/netconn.h"
#include "core/actor.h"
#include "core/io.h"
#include "core/timer.h"

enum delivery_conn_state {
	DC_CONNECTING,   /* io_connect in flight */
	DC_TLS_IMPLICIT, /* handshake of an implicit-TLS connection */
	DC_SESSION,      /* the SMTP client engine runs */
	DC_CLOSING,      /* the socket is being closed */
	DC_DEAD,         /* closed, CLOSED sent, waiting for RELEASE */
};

struct delivery_conn {
	struct actor a;                  /* first member: freed with the actor */
	struct delivery_conn_params p;
	char *host;
	enum delivery_conn_state state;
	/* dialing */
	size_t ip_i;
	int fd;
	struct io_op cop;
	struct sockaddr_storage sa;
	bool connect_timed_out;
	int last_errno;
	bool dialed4, dialed6;
	struct netaddr ip;               /* the address connected to */
	bool plain;                      /* redialed without STARTTLS after a failed handshake */
	bool redial;                     /* dial ip_i again once the socket is closed */
	struct timer tmr;                /* connect, implicit handshake, engine waits */
	struct timer kick;               /* resume driving after DELIVERY_CONN_STEPS_MAX steps */
	/* session */
	struct netconn nc;
	bool nc_live;
	struct smtp_client *sc;
	struct delivery_sasl sasl;
	uint64_t wait_seq;
	bool drain_wait, in_drive, drive_again, idle;
	bool tls_failed;
	bool ready_sent, quit_req, closed_sent;
	int64_t ntxn;                    /* transactions begun on this connection */
	/* jobs */
	struct delivery_job *cur;        /* being delivered */
	bool cur_began;                  /* a transaction of cur was begun here */
	bool txn_reused;                 /* the running transaction is not the connection's first */
	struct delivery_job *qhead, *qtail; /* waiting at this connection */
	struct delivery_job *back;       /* handed back with CLOSED */
	uint64_t finished;               /* jobs finished since the last event that counted them */
	struct delivery_txn txn;
};

/* delivery_conn.c */
void delivery_conn_evt(struct delivery_conn *c, enum delivery_conn_evt_kind kind, struct delivery_job *jobs);
/* The current job is over here: finish it or hand it back (to `back` when closing). */
void delivery_conn_job_over(struct delivery_conn *c, bool closing);
/* The host failed before any transaction: note it on the current job. */
void delivery_conn_host_failed(struct delivery_conn *c, struct delivery_res *res, bool temp);
/* The socket is closed: redial, or report CLOSED. */
void delivery_conn_socket_closed(struct delivery_conn *c);

/* delivery_conn_session.c */
extern const struct netconn_ops delivery_conn_netconn_ops;
/* Starts the engine on the connected (and, for implicit TLS, handshaken) socket. */
void delivery_conn_session_start(struct delivery_conn *c, bool implicit_verified);
/* Runs the engine until it waits for the network. */
void delivery_conn_drive(struct delivery_conn *c);
/* The session timer fired. */
void delivery_conn_session_timeout(struct delivery_conn *c);
/* Whether records of the current connection have both families and only one was dialed. */
bool delivery_conn_one_family(const struct delivery_conn *c);

#endif
