/* SCRAM message syntax (RFC 5802 §7): attribute lists, saslnames, GS2
 * headers and the four messages, for the server and client engines.
 *
 * Parsers return SASL_ERR_NONE or the error class the engines report:
 * SYNTAX/TOO_LONG for data that is not SCRAM-shaped (malformed), and
 * ENCODING/EXTENSION for the SCRAM-level faults of badinput.md #44 (missing
 * or misordered attributes, bad `=2X` escapes, unknown mandatory `m=`).
 * Every slice in a result points into the parsed message. */
#ifndef TERN_PROTO_SASL_SCRAM_MSG_H
#define TERN_PROTO_SASL_SCRAM_MSG_H

#include "proto/sasl.h"

/** Most attributes in one message (the mandatory ones plus extensions). */
#define SASL_SCRAM_ATTRS_MAX 16

struct sasl_scram_attr {
	uint8_t name;        /* ALPHA */
	struct slice value;  /* non-empty */
	struct slice raw;    /* "x=value" */
};

struct sasl_scram_attrs {
	size_t n;
	struct sasl_scram_attr a[SASL_SCRAM_ATTRS_MAX];
};

/** Splits msg at commas into attributes `ALPHA "=" 1*value-char` (no NUL). */
enum sasl_err sasl_scram_msg_split(struct slice msg, struct sasl_scram_attrs *out);

/** Decodes a saslname (`=2C` -> ',', `=3D` -> '='), appending to out; ENCODING on a bad escape. */
enum sasl_err sasl_scram_msg_name_decode(struct slice in, struct buf *out);
/** Appends in as a saslname (escaping ',' and '='). */
void sasl_scram_msg_name_encode(struct slice in, struct buf *out);
/** Whether s is non-empty and all RFC 5802 `printable` (0x21-0x7E except ','). */
bool sasl_scram_msg_printable(struct slice s);

/** client-first-message = gs2-header client-first-message-bare. */
struct sasl_scram_client_first {
	uint8_t cbflag;          /* 'n', 'y' or 'p' */
	struct slice cbname;     /* for 'p' */
	bool has_authzid;
	struct slice authzid;    /* encoded saslname */
	struct slice gs2_header; /* up to and including the second comma */
	struct slice bare;
	struct slice username;   /* encoded saslname */
	struct slice nonce;
};
enum sasl_err sasl_scram_msg_client_first(struct slice msg, struct sasl_scram_client_first *out);

/** client-final-message = c=, r=, [extensions], p= */
struct sasl_scram_client_final {
	struct slice cbind;         /* c= value (base64) */
	struct slice nonce;         /* r= value */
	struct slice proof;         /* p= value (base64) */
	struct slice without_proof; /* everything before ",p=" */
};
enum sasl_err sasl_scram_msg_client_final(struct slice msg, struct sasl_scram_client_final *out);

/** server-first-message = r=, s=, i=, [extensions] */
struct sasl_scram_server_first {
	struct slice nonce;
	struct slice salt;       /* base64 */
	uint32_t iterations;     /* parsed; ENCODING if not 1..2^31-1 in plain decimal */
};
enum sasl_err sasl_scram_msg_server_first(struct slice msg, struct sasl_scram_server_first *out);

/** server-final-message = (e= / v=) [extensions] */
struct sasl_scram_server_final {
	bool error;              /* e= */
	struct slice value;      /* the error text, or the base64 verifier */
};
enum sasl_err sasl_scram_msg_server_final(struct slice msg, struct sasl_scram_server_final *out);

#endif
