/* localserve's simulated failures: special localparts (localserve.md §5).
 *
 * Pure functions: which command a localpart makes fail, with which code,
 * and the exact reply text. The SMTP session applies them in localserve
 * (docs/localserve.md says where). */
#ifndef TERN_PROTO_LOCALSERVE_SPECIAL_H
#define TERN_PROTO_LOCALSERVE_SPECIAL_H

#include <stdbool.h>
#include <stddef.h>

/** Lowest and highest code of the NNN suffix. */
#define LOCALSERVE_SPECIAL_CODE_MIN 400
#define LOCALSERVE_SPECIAL_CODE_MAX 600
/** Room for a reply text from localserve_special_reply, with the NUL. */
#define LOCALSERVE_SPECIAL_TEXT_MAX 80

/** What the end of a localpart asks for. */
enum localserve_outcome {
	LOCALSERVE_NORMAL = 0, /* not special */
	LOCALSERVE_CODE,       /* fail with a code (temperror 451, permerror 550, NNN) */
	LOCALSERVE_TIMEOUT,    /* no reply for LocalserveTimeout, then 451 */
};

/** Where the failure happens. */
enum localserve_stage {
	LOCALSERVE_AT_NONE = 0, /* nothing happens for this address */
	LOCALSERVE_AT_MAIL,     /* MAIL FROM (address starts with "mailfrom") */
	LOCALSERVE_AT_RCPT,     /* RCPT TO (recipient starts with "rcptto") */
	LOCALSERVE_AT_DATA,     /* end of data (any other recipient) */
};

/** Which address a localpart belongs to. */
enum localserve_role { LOCALSERVE_MAILFROM, LOCALSERVE_RCPT };

/** The verdict for one address. */
struct localserve_special {
	enum localserve_outcome outcome;
	enum localserve_stage stage; /* LOCALSERVE_AT_NONE when outcome is NORMAL */
	int code;                    /* LOCALSERVE_CODE: 400..600; TIMEOUT: 451 */
};

/** Classifies the unquoted localpart lp (len bytes) of a MAIL FROM address or
 * a recipient. The end decides the outcome, checked in this order:
 * `temperror` (451), `permerror` (550), `timeout`, three digits 400..600;
 * words match ASCII case-insensitively. The start decides the stage: a MAIL
 * FROM address counts only when it starts with `mailfrom`; a recipient fails
 * at RCPT when it starts with `rcptto`, else at the end of data. Returns
 * whether the address is special (then out->stage is not AT_NONE). */
bool localserve_special_parse(const char *lp, size_t len, enum localserve_role role, struct localserve_special *out);

/** Where the reply is given, for the texts that differ. */
enum localserve_reply_ctx {
	LOCALSERVE_REPLY_COMMAND,    /* MAIL FROM or RCPT TO */
	LOCALSERVE_REPLY_SUBMISSION, /* end of data on Submission/Submissions */
	LOCALSERVE_REPLY_DELIVERY,   /* end of data on the SMTP (MX) port */
};

/** Writes the reply text for a special address (without the code and without
 * the ` (<receivedid>)` the SMTP server appends) into text and returns the
 * code: `<class>.0.0 failure with code <code> due to special localpart`, or
 * for a timeout `4.3.0 timing out command|submission ...` /
 * `4.0.0 timing out delivery ...` (code 451). Returns 0 for a NORMAL s. */
int localserve_special_reply(const struct localserve_special *s, enum localserve_reply_ctx ctx,
                             char text[LOCALSERVE_SPECIAL_TEXT_MAX]);

#endif
