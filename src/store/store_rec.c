/* Schemas of the stored records: field numbers, names, types and caps.
 *
 * DESIGN: the queue and retired records share field numbers for the fields
 * they share (a retired record is written from a queue record, and a dump of
 * either reads the same), so both tables are built from one macro list; the
 * retired table simply leaves out 4 Hold, 14 NextAttempt, 24 MsgPrefix and
 * 25 DSNUTF8 and adds 40-43. Names are the JSON names of queue.md. */
#include "store/store_rec.h"

#include <stddef.h>
#include <string.h>

#define F(num, T, cap, S, member, name) {num, STORE_FT_##T, cap, offsetof(S, member), name, NULL}
#define NF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct store_field result_fields[] = {
	F(1, TIME, 0, struct store_msg_result, start, "Start"),
	F(2, I64, 0, struct store_msg_result, duration_ms, "DurationMs"),
	F(3, BOOL, 0, struct store_msg_result, success, "Success"),
	F(4, I32, 0, struct store_msg_result, code, "Code"),
	F(5, STR, 64, struct store_msg_result, secode, "Secode"),
	F(6, STR, STORE_CAP_TEXT, struct store_msg_result, error, "Error"),
};
const struct store_schema store_rec_result = {
	"MsgResult", 1, sizeof(struct store_msg_result), result_fields, NF(result_fields), 0,
};

/* Fields shared by queue and retired records; P is the path to the queue record. */
#define SHARED_FIELDS(S, P) \
	F(1, I64, 0, S, P id, "ID"), \
	F(2, I64, 0, S, P base_id, "BaseID"), \
	F(3, TIME, 0, S, P queued, "Queued"), \
	F(5, STR, STORE_CAP_NAME, S, P sender_account, "SenderAccount"), \
	F(6, STR, STORE_CAP_ADDR, S, P sender_localpart, "SenderLocalpart"), \
	F(7, STR, STORE_CAP_ADDR, S, P sender_domain, "SenderDomainStr"), \
	F(8, STR, STORE_CAP_ADDR, S, P from_id, "FromID"), \
	F(9, STR, STORE_CAP_ADDR, S, P recipient_localpart, "RecipientLocalpart"), \
	F(10, STR, STORE_CAP_ADDR, S, P recipient_domain, "RecipientDomainStr"), \
	F(11, I32, 0, S, P attempts, "Attempts"), \
	F(12, I32, 0, S, P max_attempts, "MaxAttempts"), \
	F(13, IPMAP, STORE_CAP_HOSTS, S, P dialed_ips, "DialedIPs"), \
	F(15, OPTTIME, 0, S, P last_attempt, "LastAttempt"), \
	{16, STORE_FT_RECS, STORE_CAP_RESULTS, offsetof(S, P results), "Results", &store_rec_result}, \
	F(17, BOOL, 0, S, P has_8bit, "Has8bit"), \
	F(18, BOOL, 0, S, P smtputf8, "SMTPUTF8"), \
	F(19, BOOL, 0, S, P is_dmarc_report, "IsDMARCReport"), \
	F(20, BOOL, 0, S, P is_tls_report, "IsTLSReport"), \
	F(21, I64, 0, S, P size, "Size"), \
	F(22, STR, STORE_CAP_TEXT, S, P message_id, "MessageID"), \
	F(23, STR, STORE_CAP_TEXT, S, P subject, "Subject"), \
	F(26, STR, STORE_CAP_NAME, S, P transport, "Transport"), \
	F(27, OPTBOOL, 0, S, P require_tls, "RequireTLS"), \
	F(28, STR, STORE_CAP_TEXT, S, P future_release_request, "FutureReleaseRequest"), \
	F(29, STRMAP, STORE_CAP_EXTRA, S, P extra, "Extra"), \
	F(30, STR, STORE_CAP_TEXT, S, P env_id, "EnvID"), \
	F(31, STR, 16, S, P ret, "Ret"), \
	F(32, STR, 64, S, P notify, "Notify"), \
	F(33, STR, STORE_CAP_ADDR, S, P orcpt, "ORcpt"), \
	F(34, U64, 0, S, P data_id, "DataID")

static const struct store_field queue_fields[] = {
	SHARED_FIELDS(struct store_queue_rec, ),
	F(4, BOOL, 0, struct store_queue_rec, hold, "Hold"),
	F(14, TIME, 0, struct store_queue_rec, next_attempt, "NextAttempt"),
	F(24, BYTES, STORE_CAP_PREFIX, struct store_queue_rec, msg_prefix, "MsgPrefix"),
	F(25, BYTES, STORE_CAP_DSN, struct store_queue_rec, dsn_utf8, "DSNUTF8"),
};
const struct store_schema store_rec_queue = {
	"queue", 1, sizeof(struct store_queue_rec), queue_fields, NF(queue_fields), 0,
};

static const struct store_field retired_fields[] = {
	SHARED_FIELDS(struct store_retired_rec, q.),
	F(40, TIME, 0, struct store_retired_rec, last_activity, "LastActivity"),
	F(41, STR, STORE_CAP_ADDR, struct store_retired_rec, recipient_address, "RecipientAddress"),
	F(42, BOOL, 0, struct store_retired_rec, success, "Success"),
	F(43, TIME, 0, struct store_retired_rec, keep_until, "KeepUntil"),
};
const struct store_schema store_rec_retired = {
	"retired", 1, sizeof(struct store_retired_rec), retired_fields, NF(retired_fields), 0,
};

static const struct store_field holdrule_fields[] = {
	F(1, I64, 0, struct store_holdrule, id, "ID"),
	F(2, STR, STORE_CAP_NAME, struct store_holdrule, account, "Account"),
	F(3, STR, STORE_CAP_ADDR, struct store_holdrule, sender_domain, "SenderDomainStr"),
	F(4, STR, STORE_CAP_ADDR, struct store_holdrule, recipient_domain, "RecipientDomainStr"),
};
const struct store_schema store_rec_holdrule = {
	"holdrule", 1, sizeof(struct store_holdrule), holdrule_fields, NF(holdrule_fields), 0,
};

static const struct store_field mailmsg_fields[] = {
	F(1, STR, STORE_CAP_NAME, struct store_mailmsg, account, "Account"),
	F(2, U64, 0, struct store_mailmsg, mailbox_id, "MailboxID"),
	F(3, U64, 0, struct store_mailmsg, uid, "UID"),
	F(4, U64, 0, struct store_mailmsg, data_id, "DataID"),
	F(5, I64, 0, struct store_mailmsg, size, "Size"),
	F(6, TIME, 0, struct store_mailmsg, received, "Received"),
	F(7, U64, 0, struct store_mailmsg, flags, "Flags"),
	F(8, STRS, STORE_CAP_KEYWORDS, struct store_mailmsg, keywords, "Keywords"),
	F(9, BYTES, STORE_CAP_PREFIX, struct store_mailmsg, prefix, "Prefix"),
};
const struct store_schema store_rec_mailmsg = {
	"mailmsg", 1, sizeof(struct store_mailmsg), mailmsg_fields, NF(mailmsg_fields), 0,
};

static const struct store_field datameta_fields[] = {
	F(1, I64, 0, struct store_datameta, size, "Size"),
	F(2, I32, 0, struct store_datameta, chunks, "Chunks"),
	F(3, I32, 0, struct store_datameta, refs, "Refs"),
};
const struct store_schema store_rec_datameta = {
	"datameta", 1, sizeof(struct store_datameta), datameta_fields, NF(datameta_fields), 0,
};

static const struct store_field quarantine_fields[] = {
	F(1, TIME, 0, struct store_quarantine_rec, time, "Time"),
	F(2, STR, 64, struct store_quarantine_rec, cf, "CF"),
	F(3, BYTES, STORE_KEY_MAX, struct store_quarantine_rec, key, "Key"),
	F(4, BYTES, STORE_CAP_QVALUE, struct store_quarantine_rec, value, "Value"),
	F(5, I64, 0, struct store_quarantine_rec, value_len, "ValueLen"),
	F(6, STR, STORE_CAP_TEXT, struct store_quarantine_rec, reason, "Reason"),
};
const struct store_schema store_rec_quarantine = {
	"quarantine", 1, sizeof(struct store_quarantine_rec), quarantine_fields, NF(quarantine_fields),
	STORE_CAP_QVALUE + (64u << 10),
};

const struct store_schema *store_rec_schema_for(enum store_cf cf, struct slice key)
{
	if (key.len == 0)
		return NULL;
	switch (cf) {
	case STORE_CF_MSGDATA:
		return key.len == 8 ? &store_rec_datameta : NULL;
	case STORE_CF_QUEUE:
		return key.p[0] == STORE_K_QREC && key.len == 9 ? &store_rec_queue : NULL;
	case STORE_CF_RETIRED:
		return key.p[0] == STORE_K_RREC && key.len == 9 ? &store_rec_retired : NULL;
	case STORE_CF_HOLDRULES:
		return key.p[0] == STORE_K_HOLDRULE && key.len == 9 ? &store_rec_holdrule : NULL;
	case STORE_CF_QUARANTINE:
		return key.p[0] == STORE_K_QUAR && key.len == 17 ? &store_rec_quarantine : NULL;
	case STORE_CF_ACCOUNTS: {
		if (key.p[0] != STORE_K_ACCOUNT || key.len < 3)
			return NULL;
		const uint8_t *z = memchr(key.p + 1, 0, key.len - 1);
		size_t rest = z ? key.len - (size_t)(z - key.p) - 1 : 0;
		return z && rest == 13 && z[1] == STORE_KA_MESSAGE ? &store_rec_mailmsg : NULL;
	}
	default:
		return NULL;
	}
}
