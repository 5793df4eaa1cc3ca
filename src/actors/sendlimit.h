/* Per-account outgoing limits over a sliding 24 h window (smtp.md §11,
 * config.md §4.2 MaxOutgoingMessagesPerDay, MaxFirstTimeRecipientsPerDay). */
#ifndef TERN_ACTORS_SENDLIMIT_H
#define TERN_ACTORS_SENDLIMIT_H

#include <stddef.h>

struct conf_account;
struct smtp_server_txn;

/** Checks the transaction's recipients against acc's limits without counting them.
 * Returns 0, or -1 with the reply text ("4.7.1 max number of ...") in why. Thread-safe. */
int sendlimit_check(const struct conf_account *acc, const struct smtp_server_txn *t, char *why, size_t whylen);
/** Counts the transaction's recipients for acc; call once its message is committed. Thread-safe. */
void sendlimit_record(const struct conf_account *acc, const struct smtp_server_txn *t);

#endif
