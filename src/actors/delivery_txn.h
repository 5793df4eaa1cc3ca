/* SMTP transactions of a delivery job on one connection (queue.md §9, §11.5).
 *
 * A job's records normally form one transaction (combined delivery: same sender,
 * message data and prefix); the engine itself splits it into rounds of at most
 * RCPTMAX recipients and retries 452/552 recipients on the same connection.
 * localserve sends each record in its own transaction, and a queued DSN with a
 * DSNUTF8 variant goes alone, as that variant when the server offers SMTPUTF8. */
#ifndef TERN_ACTORS_DELIVERY_TXN_H
#define TERN_ACTORS_DELIVERY_TXN_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/delivery_data.h"
#include "actors/delivery_job.h"
#include "proto/smtp_client.h"

/** One transaction: the engine's txn and everything it borrows. */
struct delivery_txn {
	struct smtp_client_txn t;
	struct smtp_client_rcpt *rcpts;
	size_t *idx;              /* job record index of each recipient */
	char **addrs;             /* owned recipient addresses */
	size_t n;
	char *mail_from;          /* owned */
	struct delivery_data data;
	bool utf8_variant;        /* sending the record's DSNUTF8 */
	bool active;
};

/** Builds the next transaction of job for a connection whose server announced caps:
 * the open records not yet tried on this connection that can share one with the first
 * of them (one record only when per_rcpt). Marks them tried. Returns false (x left
 * clear) when no record is left. Message data is read from st. */
bool delivery_txn_next(struct delivery_txn *x, struct delivery_job *job, const struct smtp_caps *caps,
                       bool per_rcpt, struct store *st);
/** Releases the engine results and everything x owns; x is clear afterwards. */
void delivery_txn_clear(struct delivery_txn *x);

#endif
