/* Capabilities a remote SMTP server announces in its EHLO reply (queue.md §9, §11.4).
 *
 * Only what the outbound client acts on is kept; unknown keywords are ignored, and a
 * malformed parameter of a known keyword is ignored as if absent (a number that does
 * not parse never becomes a limit). */
#ifndef TERN_PROTO_SMTP_CAPS_H
#define TERN_PROTO_SMTP_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/smtp_reply.h"

/** AUTH mechanisms kept; further ones are ignored. */
#define SMTP_CAPS_AUTH_MAX 16
/** Longest SASL mechanism name (RFC 4422 §3.1: 1-20 of A-Z 0-9 - _). */
#define SMTP_CAPS_MECH_MAX 20

/** Parsed EHLO capabilities. Plain data: copy freely; auth[] points into mechs. */
struct smtp_caps {
	bool pipelining;
	bool starttls;
	bool eightbitmime;
	bool smtputf8;
	bool dsn;
	bool chunking;
	bool requiretls;
	bool enhancedstatuscodes;
	bool size;           /* SIZE announced */
	uint64_t size_max;   /* SIZE's limit; 0 = none given */
	uint32_t rcptmax;    /* LIMITS RCPTMAX; 0 = not announced */
	uint32_t mailmax;    /* LIMITS MAILMAX: parsed, ignored (queue.md §9) */
	uint32_t rcptdomainmax; /* LIMITS RCPTDOMAINMAX: parsed, ignored */
	size_t nauth;        /* AUTH mechanisms, upper case, in announcement order */
	char mechs[SMTP_CAPS_AUTH_MAX][SMTP_CAPS_MECH_MAX + 1];
};

/** Fills caps from a 250 EHLO reply (line 0 is the greeting, the others keywords).
 * caps is cleared first. Never fails: bad lines are skipped. */
void smtp_caps_parse(struct smtp_caps *caps, const struct smtp_reply *r);

/** Whether the server announced AUTH mechanism `mech` (case-insensitive). */
bool smtp_caps_has_mech(const struct smtp_caps *caps, const char *mech);

#endif
