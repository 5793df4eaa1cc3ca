/* TLS for Tern: wolfSSL behind a small API with no wolfSSL types in it.
 *
 * The engine is a pure in-memory state machine: an actor feeds it the
 * ciphertext it received (tls_conn_feed), drives it (handshake/read/write),
 * and sends whatever ciphertext the engine queued (tls_conn_out_take). No fd
 * is ever given to wolfSSL. This header may be included next to OpenSSL
 * headers (h2o): the wolfSSL headers stay inside src/proto/tls_*.c.
 *
 * Threads: a tls_ctx is immutable after creation and may be shared by all
 * workers; a tls_conn belongs to one actor at a time.
 *
 * Status convention (all functions returning int): TLS_OK (0), or one of the
 * positive "not now" codes, or a negative error with a short reason in
 * tls_conn_error(). After an error the connection is dead: every later call
 * returns the same error; only tls_conn_out_take (to flush a final alert) and
 * tls_conn_free remain useful. */
#ifndef TERN_PROTO_TLS_H
#define TERN_PROTO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- limits ---- */
#define TLS_ERR_MAX 160                 /* error strings, with the NUL */
#define TLS_KEYCERTS_MAX 32             /* certificates per server context */
#define TLS_CA_FILES_MAX 64             /* CA files per client context */
#define TLS_CONN_INBUF_MAX (256 * 1024) /* fed but not yet consumed ciphertext */
#define TLS_PEER_CHAIN_MAX 10           /* peer certificates kept (leaf first) */
#define TLS_PEER_CHAIN_BYTES (128 * 1024) /* their total DER size */
#define TLS_NAME_MAX 253                /* SNI / verification host name */
#define TLS_CB_LEN_MAX 64               /* channel binding data */
#define TLS_EXPORTER_CB_LEN 32          /* RFC 9266 tls-exporter length */

enum tls_status {
	TLS_OK = 0,
	TLS_WANT_IO = 1, /* send pending output, then feed more ciphertext */
	TLS_CLOSED = 2,  /* the peer closed (close_notify or end of input) */
	TLS_ERR = -1,    /* protocol, handshake or verification error */
	TLS_ERR_LIMIT = -2, /* a TLS_* limit above was exceeded */
	TLS_ERR_STATE = -3, /* call not valid in this state (e.g. write before handshake) */
};

enum tls_version {
	TLS_V12 = 12,
	TLS_V13 = 13,
};

/* ======================= contexts (tls_ctx.c) ======================= */

/** Frees wolfSSL's per-thread state. Every thread that ran a handshake or
 * used tls_cert/tls_dane must call it before it exits: Debian's build keeps
 * an ECC fixed-point cache in thread-local storage (FP_ECC with
 * HAVE_THREAD_LS), about 2.5 MB per thread, that nothing else frees. */
void tls_thread_exit(void);

struct tls_ctx;

/** One certificate for a server context: PEM files (the cert file may hold
 * the chain, leaf first). Strings are borrowed for the duration of the call. */
struct tls_keycert {
	const char *cert_file;
	const char *key_file;
};

/** Creates a server context from n (1..TLS_KEYCERTS_MAX) key/cert pairs.
 * The certificate is chosen per connection by the SNI the client sends
 * (matching the certificate's DNS names, wildcards included); the first
 * pair is the default when there is no SNI or no match. `min` is
 * TLS_V12 or TLS_V13 (TLS 1.2 is always the floor). Ciphers: TLS 1.3 AEAD
 * suites, and for TLS 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305.
 * Groups: X25519 first, then P-256, P-384. Session tickets are on.
 * Returns a context with one reference (the caller's), or NULL with a
 * reason in err (e.g. unreadable file, key does not match cert). */
struct tls_ctx *tls_ctx_server_new(const struct tls_keycert *kc, size_t n, enum tls_version min,
				   char err[TLS_ERR_MAX]);

/** Options for a client context. Arrays and strings are borrowed for the call. */
struct tls_client_opts {
	const char *const *ca_files;  /* PEM files with trusted CAs (TLS.CA.CertFiles) */
	size_t n_ca_files;
	bool ca_additional_to_system; /* TLS.CA.AdditionalToSystem: add files to the system roots */
	bool no_system_roots;         /* tests: trust only ca_files, even without files */
	enum tls_version min;         /* 0 means TLS_V12 */
	enum tls_version max;         /* 0 means none; TLS_V12 for interop workarounds and tests */
};

/** Creates a client context. Trusted roots: the system's roots, unless CA
 * files are given without ca_additional_to_system (then only the files).
 * Returns a context with one reference, or NULL with a reason in err. */
struct tls_ctx *tls_ctx_client_new(const struct tls_client_opts *o, char err[TLS_ERR_MAX]);

/** Drops the caller's reference and sets *ctxp to NULL (NULL-safe). The
 * context lives on while connections created from it exist. */
void tls_ctx_free(struct tls_ctx **ctxp);

/* ======================= connections (tls_conn.c) ======================= */

struct tls_conn;

/** How a client connection judges the server's certificate. */
enum tls_verify {
	/* Opportunistic: any certificate is accepted; whether the chain verified
	 * and whether the name matched is still recorded (tls_conn_peer_*). */
	TLS_VERIFY_NONE = 0,
	/* PKIX: the chain must verify to a trusted root and the leaf must match
	 * the verification name; otherwise the handshake fails. */
	TLS_VERIFY_PKIX = 1,
};

/** A server-side connection, e.g. just after `220 2.0.0 ready to start TLS`
 * or on accept for implicit TLS. It starts with no buffered input: bytes the
 * plaintext layer read before (pipelined after STARTTLS) must be discarded by
 * the caller and are never seen here. Takes a reference on ctx. */
struct tls_conn *tls_conn_server_new(struct tls_ctx *ctx);

/** A client-side connection. `name` (may be NULL) is sent as SNI unless it
 * is an IP literal, and is the name the certificate is checked against.
 * Takes a reference on ctx. `name` is copied. */
struct tls_conn *tls_conn_client_new(struct tls_ctx *ctx, const char *name, enum tls_verify mode);

/** Frees the connection, its buffers and wolfSSL state, and sets *cp to
 * NULL so a second call is a no-op (NULL-safe). Sends nothing: call
 * tls_conn_close_notify first for a clean close. */
void tls_conn_free(struct tls_conn **cp);

/** Appends received ciphertext (copied). Returns TLS_OK, or TLS_ERR_LIMIT
 * when more than TLS_CONN_INBUF_MAX bytes would be buffered unconsumed
 * (drain with handshake/read between feeds). */
int tls_conn_feed(struct tls_conn *c, struct slice cipher);

/** Records that the transport reached end of input (recv returned 0):
 * once buffered input is consumed, reads return TLS_CLOSED and a pending
 * handshake fails. */
void tls_conn_feed_eof(struct tls_conn *c);

/** Advances the handshake. Returns TLS_OK once done (idempotent),
 * TLS_WANT_IO when it needs more input, or a negative error. After every
 * call, send what tls_conn_out_take gives. After TLS_OK, call tls_conn_read:
 * application data may already be buffered. */
int tls_conn_handshake(struct tls_conn *c);

/** Decrypts buffered input and appends at most max plaintext bytes to out.
 * Returns TLS_OK when at least one byte was appended, TLS_WANT_IO when no
 * complete record is buffered, TLS_CLOSED once the peer closed, or a
 * negative error. Post-handshake messages (tickets, key updates) are
 * handled here and may queue output. Only after the handshake. */
int tls_conn_read(struct tls_conn *c, struct buf *out, size_t max);

/** Encrypts all of plain (any length) into the outbound buffer. Returns
 * TLS_OK or a negative error. Only after the handshake. */
int tls_conn_write(struct tls_conn *c, struct slice plain);

/** Queues a close_notify alert (at most once; later calls return TLS_OK).
 * Reads are still possible until the peer's close_notify. */
int tls_conn_close_notify(struct tls_conn *c);

/** Whether ciphertext is waiting to be sent. */
bool tls_conn_out_pending(const struct tls_conn *c);

/** Moves all pending ciphertext to the end of dst (the engine's buffer is
 * swapped in when dst is empty, so usually nothing is copied). The caller
 * owns dst and may keep it across an asynchronous send: the engine never
 * touches it again. */
void tls_conn_out_take(struct tls_conn *c, struct buf *dst);

/** Short reason for the last error ("" when none). Borrowed; valid until
 * free. */
const char *tls_conn_error(const struct tls_conn *c);

/** Whether the handshake completed. */
bool tls_conn_established(const struct tls_conn *c);
/** Whether the peer closed: close_notify received or end of input reached. */
bool tls_conn_peer_closed(const struct tls_conn *c);
/** Whether the peer's close was a close_notify alert (not a bare TCP close). */
bool tls_conn_peer_close_notify(const struct tls_conn *c);

/* ---- information (valid after the handshake; strings borrowed until free) ---- */

/** "TLS1.2" or "TLS1.3" (the Received header form), NULL before the handshake. */
const char *tls_conn_version(const struct tls_conn *c);
/** IANA cipher suite name, e.g. "TLS_AES_128_GCM_SHA256", NULL before the handshake. */
const char *tls_conn_cipher(const struct tls_conn *c);
/** Server: the SNI host name the client sent (NULL if none). Client: the name
 * given at creation (NULL if none). */
const char *tls_conn_sni(const struct tls_conn *c);
/** Whether the session was resumed from a ticket. */
bool tls_conn_resumed(const struct tls_conn *c);

/** Client: whether the server's chain verified to a trusted root. */
bool tls_conn_peer_verified(const struct tls_conn *c);
/** Client: whether the leaf certificate matches the verification name. */
bool tls_conn_peer_name_ok(const struct tls_conn *c);
/** Why the chain did not verify, for logs and TLS reports (e.g. "certificate
 * has expired"); "" when it verified or was not checked. Borrowed. */
const char *tls_conn_verify_error(const struct tls_conn *c);
/** Kind of chain failure, for TLSRPT result types. */
enum tls_verify_failure {
	TLS_VF_NONE = 0,
	TLS_VF_UNTRUSTED,  /* certificate-not-trusted */
	TLS_VF_EXPIRED,    /* certificate-expired (or not yet valid) */
	TLS_VF_OTHER,      /* validation-failure */
};
enum tls_verify_failure tls_conn_verify_failure(const struct tls_conn *c);

/** Client: number of certificates the server sent (at most TLS_PEER_CHAIN_MAX). */
size_t tls_conn_peer_chain_len(const struct tls_conn *c);
/** Client: DER of the i-th peer certificate (0 = leaf, as sent), empty when
 * out of range. Borrowed; valid until free. */
struct slice tls_conn_peer_cert(const struct tls_conn *c, size_t i);

/* ---- channel binding (RFC 5929, RFC 9266) ---- */

enum tls_cb_type {
	TLS_CB_UNIQUE = 1,   /* "tls-unique": TLS 1.2 only, first Finished message */
	TLS_CB_EXPORTER = 2, /* "tls-exporter": TLS 1.3 only, 32 exported bytes */
};

/** The binding type that fits the negotiated version: TLS_CB_EXPORTER on
 * TLS 1.3, TLS_CB_UNIQUE on TLS 1.2; 0 before the handshake. */
enum tls_cb_type tls_conn_cb_type(const struct tls_conn *c);
/** Its RFC name ("tls-unique" / "tls-exporter"), NULL for 0. */
const char *tls_cb_type_name(enum tls_cb_type t);

/** Appends the channel binding data of type t to out. Both ends of a
 * connection get the same bytes. Returns TLS_OK, or TLS_ERR_STATE before
 * the handshake or when t does not fit the negotiated version. */
int tls_conn_channel_binding(struct tls_conn *c, enum tls_cb_type t, struct buf *out);

/* ======================= DANE (tls_dane.c), pure functions ======================= */

/** One TLSA record (RFC 6698). data is borrowed. */
struct tls_tlsa {
	uint8_t usage;    /* 2 = DANE-TA, 3 = DANE-EE (others are unusable) */
	uint8_t selector; /* 0 = full certificate, 1 = SubjectPublicKeyInfo */
	uint8_t mtype;    /* 0 = exact, 1 = SHA2-256, 2 = SHA2-512 */
	struct slice data;
};

/** Whether Tern can use a record (usage 2/3, selector 0/1, mtype 0/1/2,
 * digest lengths right). */
bool tls_tlsa_usable(const struct tls_tlsa *r);

/** Finds the SubjectPublicKeyInfo inside a DER certificate (a view into
 * cert, with its tag and length). Returns 0 or -1 on malformed DER. */
int tls_cert_spki(struct slice cert, struct slice *spki);

/** Appends the association data of a certificate for a selector and
 * matching type (the exact DER, or its SHA-256/SHA-512). Returns 0, or -1
 * for an unknown selector/mtype or malformed DER. */
int tls_cert_assoc(struct slice cert, uint8_t selector, uint8_t mtype, struct buf *out);

/** Result of DANE matching. */
enum tls_dane_result {
	TLS_DANE_MATCH = 0,      /* a usable record matched (and for DANE-TA the chain and name checked out) */
	TLS_DANE_NO_MATCH = -1,  /* usable records, none matched: dane-no-match */
	TLS_DANE_UNUSABLE = -2,  /* no usable records at all */
};

/** Matches TLSA records against a peer chain (DER, leaf first, as sent).
 * DANE-EE (3): the leaf matches; expiry and names are ignored. DANE-TA (2):
 * a chain certificate at index >= 1 matches, the chain from the leaf up to
 * it verifies with that certificate as the only trust anchor (signatures,
 * validity dates), and the leaf matches one of names[] (RFC 7672 §3.2.3;
 * wildcards allowed). On TLS_DANE_MATCH, *matched (may be NULL) is the index
 * of the matching record. */
enum tls_dane_result tls_dane_match(const struct tls_tlsa *recs, size_t n_recs, const struct slice *chain,
				    size_t chain_len, const char *const *names, size_t n_names, size_t *matched);

/* ======================= key and certificate generation (tls_cert.c) ======================= */

#define TLS_CERT_DAYS_MAX 3660 /* self-signed validity cap (10 years) */

/** Generates an ECDSA P-256 key and a self-signed certificate for hostname
 * (CN and DNS SAN), valid from one day ago (wolfSSL's clock-skew margin) until
 * `days` days (1..TLS_CERT_DAYS_MAX) from now, basicConstraints CA:TRUE (so
 * wolfSSL and OpenSSL accept it as a trust anchor in TLS.CA.CertFiles),
 * serverAuth. Appends the certificate PEM to
 * cert_pem and the unencrypted PKCS#8 key PEM to key_pem. Returns 0 or -1
 * with a reason in err. */
int tls_cert_selfsigned(const char *hostname, int days, struct buf *cert_pem, struct buf *key_pem,
			char err[TLS_ERR_MAX]);

/** Generates an Ed25519 key: appends it as unencrypted PKCS#8 PEM to key_pem;
 * pub (may be NULL) gets the raw 32-byte public key (DKIM k=ed25519 p=).
 * Returns 0 or -1. */
int tls_cert_ed25519_key(struct buf *key_pem, uint8_t pub[32]);

/** Generates an RSA key of `bits` (2048..4096): appends it as unencrypted
 * PKCS#8 PEM to key_pem; spki (may be NULL) gets the SubjectPublicKeyInfo
 * DER appended (DKIM k=rsa p=). Slow (about a second for 2048 bits).
 * Returns 0 or -1. */
int tls_cert_rsa_key(int bits, struct buf *key_pem, struct buf *spki);

#endif
