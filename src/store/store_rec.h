/* The stored record types: queue record, retired record, hold rule, mailbox
 * message entry, message-data meta and quarantine entry.
 *
 * Each is a plain struct plus a schema (store_codec.h) giving its field
 * numbers, types and caps. Encode with store_codec_encode(&store_rec_queue, &r,
 * &out), decode with store_codec_decode(), free with store_codec_free(). Field
 * numbers are part of the on-disk format: never reuse or renumber one; a change
 * in meaning needs a new version byte. */
#ifndef TERN_STORE_STORE_REC_H
#define TERN_STORE_STORE_REC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store_codec.h"
#include "store/store_keys.h"

/* Caps of stored fields (bytes or items). */
#define STORE_CAP_NAME 512           /* account, transport names */
#define STORE_CAP_ADDR 1024          /* localparts, domains, addresses, FromID, ORCPT */
#define STORE_CAP_TEXT 4096          /* subject, message-id, error texts, ENVID */
#define STORE_CAP_PREFIX (256u << 10) /* MsgPrefix: Received + DKIM-Signature headers */
#define STORE_CAP_DSN (512u << 10)   /* DSNUTF8: a whole DSN message */
#define STORE_CAP_RESULTS 256        /* Results entries */
#define STORE_CAP_HOSTS 64           /* DialedIPs hosts */
#define STORE_CAP_EXTRA 256          /* Extra entries */
#define STORE_CAP_KEYWORDS 128       /* IMAP keywords per message */
#define STORE_CAP_QVALUE (3u << 20)  /* quarantined value bytes kept */

/** MsgResult (queue.md §8): one delivery attempt. */
struct store_msg_result {
	int64_t start;       /* Unix ms */
	int64_t duration_ms;
	bool success;
	int32_t code;        /* SMTP code, 0 when none */
	char *secode;        /* enhanced status code without class, e.g. "1.1" */
	char *error;         /* sanitised text */
};

/** Queue record (queue.md §1). Times are Unix ms. Owned strings; NULL encodes as "". */
struct store_queue_rec {
	int64_t id;
	int64_t base_id;
	int64_t queued;
	bool hold;
	char *sender_account;
	char *sender_localpart;
	char *sender_domain;      /* SenderDomainStr */
	char *from_id;
	char *recipient_localpart;
	char *recipient_domain;   /* RecipientDomainStr; may be "[ip]" */
	int32_t attempts;
	int32_t max_attempts;     /* 0: default */
	struct store_ipmap dialed_ips;
	int64_t next_attempt;
	int64_t last_attempt;     /* 0: null */
	struct store_recs results; /* of struct store_msg_result */
	bool has_8bit;
	bool smtputf8;
	bool is_dmarc_report;
	bool is_tls_report;
	int64_t size;             /* prefix length plus data size */
	char *message_id;
	char *subject;
	struct buf msg_prefix;
	struct buf dsn_utf8;
	char *transport;
	int8_t require_tls;       /* -1 null, 0 false, 1 true */
	char *future_release_request;
	struct store_strmap extra;
	char *env_id;
	char *ret;
	char *notify;
	char *orcpt;
	uint64_t data_id;         /* msgdata id of the shared message data */
};

/** Retired record (queue.md §8): the queue fields except NextAttempt, Hold, MsgPrefix and
 * DSNUTF8 — those members of q are neither stored nor freed, so leave them empty — plus
 * four fields of its own. */
struct store_retired_rec {
	struct store_queue_rec q;
	int64_t last_activity;
	char *recipient_address;
	bool success;
	int64_t keep_until;
};

/** HoldRule (queue.md §6). Empty fields match everything. */
struct store_holdrule {
	int64_t id;
	char *account;
	char *sender_domain;
	char *recipient_domain;
};

/** IMAP system flags and Tern's own, as bits of store_mailmsg.flags. */
enum store_mailflag {
	STORE_MF_SEEN = 1 << 0,
	STORE_MF_ANSWERED = 1 << 1,
	STORE_MF_FLAGGED = 1 << 2,
	STORE_MF_DELETED = 1 << 3,
	STORE_MF_DRAFT = 1 << 4,
	STORE_MF_FORWARDED = 1 << 5, /* $Forwarded */
	STORE_MF_JUNK = 1 << 6,      /* $Junk */
	STORE_MF_NOTJUNK = 1 << 7,   /* $NotJunk */
	STORE_MF_PHISHING = 1 << 8,  /* $Phishing */
	STORE_MF_MDNSENT = 1 << 9,   /* $MDNSent */
	STORE_MF_DSN = 1 << 16,      /* the message is a DSN about outgoing mail */
};

/** A message in an account's mailbox; key: store_key_mailmsg(account, mailbox_id, uid). */
struct store_mailmsg {
	char *account;
	uint64_t mailbox_id;
	uint64_t uid;             /* IMAP uid, 1 .. 2^32-1 */
	uint64_t data_id;         /* msgdata id */
	int64_t size;             /* prefix plus data bytes */
	int64_t received;         /* Unix ms */
	uint64_t flags;           /* enum store_mailflag bits */
	struct store_strs keywords; /* other IMAP keywords */
	struct buf prefix;        /* per-message headers before the shared data */
};

/** Meta of one message-data object; key: store_key_datameta(dataid). */
struct store_datameta {
	int64_t size;             /* bytes over all chunks */
	int32_t chunks;
	int32_t refs;             /* queue records + mailbox entries referring to it */
};

/** A record that failed to decode, moved aside (badinput.md #76). */
struct store_quarantine_rec {
	int64_t time;             /* Unix ms, when quarantined */
	char *cf;                 /* column family it came from */
	struct buf key;
	struct buf value;         /* at most STORE_CAP_QVALUE bytes; see value_len */
	int64_t value_len;        /* original value length */
	char *reason;
};

extern const struct store_schema store_rec_result;
extern const struct store_schema store_rec_queue;
extern const struct store_schema store_rec_retired;
extern const struct store_schema store_rec_holdrule;
extern const struct store_schema store_rec_mailmsg;
extern const struct store_schema store_rec_datameta;
extern const struct store_schema store_rec_quarantine;

/** The schema of the value stored under key in cf, or NULL when that value is not a
 * versioned record (index entries, counters, message chunks). */
const struct store_schema *store_rec_schema_for(enum store_cf cf, struct slice key);

#endif
