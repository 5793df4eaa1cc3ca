/* From SMTP client engine results to queue outcomes (queue.md §4, §9, §11.3).
 *
 * Pure functions: they turn a struct smtp_client_result into a struct
 * delivery_res (code, secode, sanitised error text, copied reply lines) and say
 * whether it settles the recipient for this attempt or means the whole host
 * failed, so the next host is to be tried. */
#ifndef TERN_ACTORS_DELIVERY_RESULT_H
#define TERN_ACTORS_DELIVERY_RESULT_H

#include <stdbool.h>

#include "actors/delivery_job.h"
#include "proto/smtp_client.h"

enum delivery_verdict {
	DELIVERY_V_FINAL,     /* the recipient's result for this attempt */
	DELIVERY_V_NEXT_HOST, /* the host failed as a whole: try the next host */
};

/** Fills res (freed first; host and IP left unset) from r. */
void delivery_result_fill(const struct smtp_client_result *r, struct delivery_res *res);

/** The verdict for one recipient's result r of a transaction:
 * - delivered, a reply to its RCPT (but 421), a bad argument, a too small SIZE, a 5xx
 *   to MAIL or the data, a local data error, and an I/O error or timeout after the
 *   data went out (the message may have arrived) settle the recipient;
 * - everything else (4xx to MAIL/data, 421, I/O, timeouts, protocol errors, no
 *   SMTPUTF8, no REQUIRETLS on direct delivery) fails the host.
 * For NEXT_HOST, *temp says whether the failure was temporary and *utf8 whether the
 * host lacked SMTPUTF8. */
enum delivery_verdict delivery_result_verdict(const struct smtp_client_result *r, bool direct, bool *temp,
                                              bool *utf8);

/** Whether the host failure of a session that ended before any transaction (greeting,
 * EHLO, STARTTLS, AUTH, a close while idle) was temporary: a 5xx reply is permanent,
 * everything else (4xx, 421, local errors) temporary. */
bool delivery_result_session_temp(const struct smtp_client_result *r);

/** Whether r failed the transaction before MAIL was accepted by EOF, an I/O error, a
 * timeout or a 421 (queue.md §3: on a reused connection, retried once on a new one). */
bool delivery_result_before_mail(const struct smtp_client_result *r);

#endif
