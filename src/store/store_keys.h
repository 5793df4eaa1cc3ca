/* The key layout of every column family: the ONE place that says which bytes
 * a key is made of.
 *
 * Numbers in keys are big-endian so that RocksDB's bytewise order is numeric
 * order: iterating `queue` from 'n' gives records in NextAttempt order, ids
 * sort oldest first, uids sort within a mailbox. Times in keys are Unix ms,
 * clamped at 0. Variable-length strings (account names) are followed by a 0x00
 * byte so that one name is never a prefix of another's range. Every key of a
 * column family (except msgdata) starts with a one-byte kind, listed below;
 * kinds marked "reserved" are documented for later issues and have no builder
 * yet. docs/store.md describes the same layout for readers of the database. */
#ifndef TERN_STORE_STORE_KEYS_H
#define TERN_STORE_STORE_KEYS_H

#include <stdint.h>

#include "core/buf.h"

/** Column families, in the order they are opened (spec README "Files"). */
enum store_cf {
	STORE_CF_DEFAULT,
	STORE_CF_MSGDATA,
	STORE_CF_QUEUE,
	STORE_CF_RETIRED,
	STORE_CF_HOLDRULES,
	STORE_CF_SUPPRESSION,
	STORE_CF_HOOKS,
	STORE_CF_HOOKSRETIRED,
	STORE_CF_ACCOUNTS,
	STORE_CF_REPORTS,
	STORE_CF_MTASTS,
	STORE_CF_QUARANTINE,
	STORE_CF_N
};

/** RocksDB name of a column family ("default", "msgdata", ...). */
const char *store_cf_name(enum store_cf cf);
/** Column family for a name, or -1 when unknown. */
int store_cf_parse(const char *name);

/** Longest key any builder makes. Variable parts that do not fit are refused. */
#define STORE_KEY_MAX 1100
/** Longest account or mailbox name in a key. */
#define STORE_KEY_NAME_MAX 512
/** Longest FromID in a key. */
#define STORE_KEY_FROMID_MAX 256

/** A key under construction; lives on the caller's stack. */
struct store_key {
	size_t len;
	uint8_t b[STORE_KEY_MAX];
};

/** View of a built key. */
static inline struct slice store_key_slice(const struct store_key *k)
{
	return slice_of(k->b, k->len);
}

/* ---- kinds (first key byte) ---- */
/* default */
#define STORE_K_SCHEMA 'v'     /* 'v' -> be32 schema version */
#define STORE_K_IDHWM 'i'      /* 'i' -> be64 id high-water mark (ids below it may be used) */
#define STORE_K_PENDING 'p'    /* 'p' <dataid> -> "" : msgdata written, commit not yet done */
#define STORE_K_COUNTER 'c'    /* 'c' <name> -> be64, server-wide counters (reserved) */
/* queue */
#define STORE_K_QREC 'q'       /* 'q' <id> -> queue record */
#define STORE_K_QDUE 'n'       /* 'n' <nextattempt ms> <id> -> "" ; only records with Hold=false */
#define STORE_K_QHELD 'h'      /* 'h' <id> -> "" ; records with Hold=true */
#define STORE_K_FROMID 'f'     /* 'f' <fromid bytes> -> be64 id (queue and retired) */
#define STORE_K_QBASE 'b'      /* 'b' <baseid> <id> -> recipient domain: combined delivery */
/* retired */
#define STORE_K_RREC 'r'       /* 'r' <id> -> retired record */
#define STORE_K_RKEEP 'k'      /* 'k' <keepuntil ms> <id> -> "" cleanup index */
#define STORE_K_RLAST 'l'      /* 'l' <lastactivity ms> <id> -> "" listing order */
/* holdrules */
#define STORE_K_HOLDRULE 'h'   /* 'h' <id> -> hold rule */
/* suppression (reserved) */
#define STORE_K_SUPP 's'       /* 's' <account> 0 <base address> -> entry */
/* hooks, hooksretired (reserved) */
#define STORE_K_HOOK 'w'       /* 'w' <id> -> webhook record */
#define STORE_K_HOOKDUE 'n'    /* 'n' <nextattempt ms> <id> -> "" (hooks) */
#define STORE_K_HOOKKEEP 'k'   /* 'k' <keepuntil ms> <id> -> "" (hooksretired) */
/* accounts: 'a' <account> 0 <sub-kind> ... */
#define STORE_K_ACCOUNT 'a'
#define STORE_KA_MAILBOX 'b'   /* ... 'b' <mailbox name> -> mailbox (reserved value format) */
#define STORE_KA_MESSAGE 'm'   /* ... 'm' <mailbox id be64> <uid be32> -> mailbox message entry */
#define STORE_KA_COUNTER 'c'   /* ... 'c' <name> -> be64 (uidnext, send limits) */
#define STORE_KA_SECRETS 'p'   /* ... 'p' -> derived password secrets (password_encode) */
#define STORE_KA_TLSDOM 't'    /* ... 't' <domain> -> recipient-domain TLS support (reserved) */
#define STORE_KA_LOGIN 'l'     /* ... 'l' <time ms> <seq> -> login attempt (reserved) */
/* reports (reserved) */
#define STORE_K_TLSRESULT 't'  /* 't' <day be32> <policy domain> 0 ... -> TLSRPT result */
#define STORE_K_DMARCEVAL 'd'  /* 'd' <day be32> <domain> 0 ... -> DMARC evaluation */
#define STORE_K_REPORTIN 'r'   /* 'r' <id> -> received DMARC/TLS report */
#define STORE_K_REPORTSUPP 's' /* 's' <address> -> report-address suppression */
/* mtasts (reserved) */
#define STORE_K_MTASTS 'p'     /* 'p' <domain> -> cached policy */
/* quarantine */
#define STORE_K_QUAR 'x'       /* 'x' <time ms> <seq id> -> quarantine record */

/* ---- builders: each resets k and writes one full key ---- */

/** default: the schema version key. */
void store_key_schema(struct store_key *k);
/** default: the id high-water mark key. */
void store_key_idhwm(struct store_key *k);
/** default: the pending-msgdata marker of dataid. */
void store_key_pending(struct store_key *k, uint64_t dataid);

/** msgdata: the meta record of dataid (8 bytes, sorts right before its chunks). */
void store_key_datameta(struct store_key *k, uint64_t dataid);
/** msgdata: chunk number `chunk` of dataid. */
void store_key_chunk(struct store_key *k, uint64_t dataid, uint32_t chunk);

/** queue: the record with this id. */
void store_key_qrec(struct store_key *k, uint64_t id);
/** queue: the next-attempt index entry. */
void store_key_qdue(struct store_key *k, int64_t next_ms, uint64_t id);
/** queue: the held index entry. */
void store_key_qheld(struct store_key *k, uint64_t id);
/** queue: the combined-delivery index entry of record id whose BaseID is base_id. */
void store_key_qbase(struct store_key *k, uint64_t base_id, uint64_t id);
/** queue or retired: the FromID index entry. Returns 0, or -E2BIG when fromid is too long. */
int store_key_fromid(struct store_key *k, struct slice fromid);

/** retired: the record with this id. */
void store_key_rrec(struct store_key *k, uint64_t id);
/** retired: the keep-until (cleanup) index entry. */
void store_key_rkeep(struct store_key *k, int64_t keep_until_ms, uint64_t id);

/** retired: the last-activity (listing) index entry. */
void store_key_rlast(struct store_key *k, int64_t last_activity_ms, uint64_t id);

/** holdrules: the rule with this id. */
void store_key_holdrule(struct store_key *k, uint64_t id);

/** accounts: the prefix of everything of one account. Returns 0 or -E2BIG. */
int store_key_account(struct store_key *k, struct slice account);
/** accounts: a mailbox by name. Returns 0 or -E2BIG. */
int store_key_mailbox(struct store_key *k, struct slice account, struct slice mailbox);
/** accounts: a mailbox message entry. Returns 0 or -E2BIG. */
int store_key_mailmsg(struct store_key *k, struct slice account, uint64_t mailbox_id, uint32_t uid);
/** accounts: the prefix of one mailbox's messages (iterate it for uid order). Returns 0 or -E2BIG. */
int store_key_mailmsg_prefix(struct store_key *k, struct slice account, uint64_t mailbox_id);
/** accounts: a per-account counter. Returns 0 or -E2BIG. */
int store_key_account_counter(struct store_key *k, struct slice account, struct slice name);

/** accounts: the derived password secrets of an account (proto/password.h encoding). Returns 0 or -E2BIG. */
int store_key_account_secrets(struct store_key *k, struct slice account);

/** quarantine: an entry, ordered by quarantine time. */
void store_key_quarantine(struct store_key *k, int64_t when_ms, uint64_t seq);

/** A one-byte kind prefix (iterate one kind of a column family). */
void store_key_kind(struct store_key *k, uint8_t kind);

/** Smallest key greater than every key starting with prefix, into *out; returns 0, or -1
 * when there is none (prefix all 0xff: iterate to the end). */
int store_key_prefix_end(struct slice prefix, struct store_key *out);

/** Reads the big-endian u64 at offset off of key; 0 when the key is too short. */
uint64_t store_key_u64_at(struct slice key, size_t off);

/** Appends a readable rendering of key (of column family cf) to out, e.g. `q/42` or
 * `n/2025-03-27T10:00:02Z/42`; unknown shapes are printed as hex. */
void store_key_format(enum store_cf cf, struct slice key, struct buf *out);

#endif
