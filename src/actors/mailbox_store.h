/* The mailbox store actor: the only writer of mailbox entries (accounts CF).
 *
 * Local delivery (MX recipients at hosted domains) and DSNs about outgoing mail
 * go through it: the sender puts the message data (and any other writes that
 * must commit atomically with the delivery, e.g. queue record updates) into a
 * store batch and sends MAILBOX_MSG_DELIVER_REQ {batch, list}. The actor finds
 * or creates each mailbox, assigns the next uid (one counter per mailbox,
 * persisted in the same batch), adds the entries, and commits the batch with
 * sync through the store committer. MAILBOX_MSG_DELIVER_RES {code, error}
 * echoes the req_id after the commit. Commits reach the committer in uid
 * order, so uids become visible in increasing order. Each account's stored-bytes
 * counter (MAILBOX_STORE_USAGE_COUNTER, for quotas) grows in the same batch. A list
 * with queue records commits through the queue instead (see struct
 * mailbox_deliveries). */
#ifndef TERN_ACTORS_MAILBOX_STORE_H
#define TERN_ACTORS_MAILBOX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct store;
struct worker;

/** One message to add to one mailbox. Strings and the prefix are owned by the list. */
struct mailbox_delivery {
	char *account;
	char *mailbox;      /* e.g. "Inbox"; created on first use */
	uint64_t data_id;   /* msgdata of the message (refs already counted by the sender) */
	int64_t size;       /* prefix + data bytes */
	uint64_t flags;     /* enum store_mailflag bits (e.g. STORE_MF_DSN, STORE_MF_SEEN, STORE_MF_JUNK) */
	struct buf prefix;  /* per-entry headers before the data (Return-Path, Delivered-To, ...) */
};

struct queue_add;

/** Entries to add; owned by the mailbox store once sent. */
struct mailbox_deliveries {
	struct mailbox_delivery *v;
	size_t n;
	/** Queue records that must commit atomically with the entries (e.g. DSNs about the
	 * delivered message), or NULL. When set, the batch goes to the queue
	 * (QUEUE_MSG_ADD_REQ) instead of the committer, and the queue's answer is the
	 * answer; owned (freed with the list). */
	struct queue_add *queue;
};

/** A list with room for n entries (zeroed, n set). */
struct mailbox_deliveries *mailbox_deliveries_new(size_t n);
/** Frees the list and its entries. */
void mailbox_deliveries_free(struct mailbox_deliveries *l);

/** Name of the per-account counter (accounts column family, store_key_account_counter) of
 * the bytes stored in the account's mailboxes: the sizes of all entries added, kept by the
 * mailbox store in the same batch as the entries (big-endian u64). */
#define MAILBOX_STORE_USAGE_COUNTER "storedbytes"

/** The committed stored-bytes counter of account (0 when it has none or on a read error;
 * commits in flight are not included). Reads the store; any thread. */
int64_t mailbox_store_usage(struct store *s, const char *account);

/** Starts the actor on w (NULL: a new dedicated worker). committer: store committer id.
 * CORE_MSG_STOP_CMD stops it once every commit it sent has been answered (and answered on).
 * The value of the `b` key (a versioned mailbox record: ID, Name, UIDValidity, UIDNext,
 * Created) is described in docs/store.md. */
uint64_t mailbox_store_start(struct store *s, uint64_t committer, struct worker *w);

#endif
