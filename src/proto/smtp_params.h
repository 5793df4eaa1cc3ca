/* MAIL FROM / RCPT TO ESMTP parameters (smtp.md §3, §4, §9; badinput.md D).
 *
 * The text after the path is tokenised strictly (one space before each
 * parameter, keyword of letters/digits/'-') and then applied in order, so the
 * first problem decides the reply. Decoded DSN values are length-delimited and
 * never hold CR, LF or NUL. */
#ifndef TERN_PROTO_SMTP_PARAMS_H
#define TERN_PROTO_SMTP_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/** Longest ENVID value (xtext as sent). */
#define SMTP_PARAMS_ENVID_MAX 100
/** Longest ORCPT value (addr-type;xtext as sent). */
#define SMTP_PARAMS_ORCPT_MAX 500
/** Most digits in SIZE. */
#define SMTP_PARAMS_SIZE_DIGITS 20
/** Most digits in HOLDFOR. */
#define SMTP_PARAMS_HOLDFOR_DIGITS 9
/** Longest future release: 60 days in seconds (also announced in EHLO). */
#define SMTP_PARAMS_HOLD_MAX_S 5184000
/** Longest keyword echoed in a 555 reply. */
#define SMTP_PARAMS_ECHO_MAX 64

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };
/** NOTIFY bits; 0 means NOTIFY was not given (FAILURE,DELAY applies). */
enum smtp_notify {
	SMTP_NOTIFY_NEVER = 1,
	SMTP_NOTIFY_SUCCESS = 2,
	SMTP_NOTIFY_FAILURE = 4,
	SMTP_NOTIFY_DELAY = 8,
};

/** Parsed MAIL parameters. Owns envid. AUTH= is validated and dropped. */
struct smtp_mail_params {
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	bool requiretls;
	enum smtp_ret ret;
	bool has_envid;
	struct buf envid;   /**< decoded ENVID */
	bool has_holdfor;
	uint64_t holdfor_s; /**< HOLDFOR seconds */
	bool has_holduntil;
	int64_t holduntil_ms; /**< HOLDUNTIL, Unix ms */
};

/** Parsed RCPT parameters. Owns orcpt_type and orcpt. */
struct smtp_rcpt_params {
	unsigned notify;    /**< enum smtp_notify bits, 0 when absent */
	bool has_orcpt;
	char *orcpt_type;   /**< addr-type as sent, e.g. "rfc822" */
	struct buf orcpt;   /**< decoded ORCPT address */
};

/** What the listener and connection allow. */
struct smtp_params_ctx {
	bool submission;           /**< HOLDFOR/HOLDUNTIL are known only on submission */
	bool tls;                  /**< connection is TLS */
	bool requiretls_announced; /**< REQUIRETLS was in EHLO */
	uint64_t max_size;         /**< SMTPMaxMessageSize */
	int64_t now_ms;            /**< wall clock for HOLDUNTIL */
};

/** A rejection: the SMTP code and "x.y.z text" (no receivedid). */
struct smtp_params_err {
	int code;
	char text[160];
};

/** Parses MAIL parameters from in (empty, or starting with one space). On
 *  success fills *out (caller frees with smtp_mail_params_free) and returns 0;
 *  otherwise fills *err, leaves *out empty and returns -1. */
int smtp_params_mail(struct slice in, const struct smtp_params_ctx *ctx,
                     struct smtp_mail_params *out, struct smtp_params_err *err);

/** Parses RCPT parameters (NOTIFY, ORCPT) like smtp_params_mail(). */
int smtp_params_rcpt(struct slice in, struct smtp_rcpt_params *out, struct smtp_params_err *err);

/** Frees and zeroes. */
void smtp_mail_params_free(struct smtp_mail_params *p);
/** Frees and zeroes. */
void smtp_rcpt_params_free(struct smtp_rcpt_params *p);

#endif
