/* Scripted transcripts for the SMTP client engine tests: feed exact server bytes,
 * check exact client bytes.
 *
 * A script is a NULL-terminated array of strings, each starting with a tag:
 *   "C..." bytes the client must have written (checked, cumulatively, before each
 *          server action and at the end);
 *   "S..." bytes the server sends at the next NEED_INPUT;
 *   "T"    the current wait times out (at the next NEED_INPUT);
 *   "E"    the connection breaks (at the next NEED_INPUT);
 *   "t"/"e" the same at the next SEND (a data block being written).
 * READY begins the next queued transaction, or QUITs when none is left. STARTTLS
 * is answered with smtp_client_tls_started(verified). Every loop is bounded. */
#ifndef TERN_TESTS_SMTP_CLIENT_SCRIPT_H
#define TERN_TESTS_SMTP_CLIENT_SCRIPT_H

#include "check.h"

#include "core/xmalloc.h"
#include "proto/smtp_client.h"

#define SCRIPT_TXN_MAX 8
#define SCRIPT_STEPS_MAX 100000

struct script {
	const char *const *lines;
	size_t pos;
	struct smtp_client *c;
	struct buf sent, want;
	struct smtp_client_txn *txns[SCRIPT_TXN_MAX];
	size_t ntxn, begun, done;
	bool tls_verified;
	bool no_quit;
	bool stop_at_starttls;          /* stop at READY after the last txn instead of QUIT */
	unsigned sends, needs; /* events seen */
	uint32_t waits[64];    /* timeout_ms at each new wait */
	size_t nwaits;
	uint64_t last_seq;
	enum smtp_client_event last;
};

static inline void script_check_client(struct script *s)
{
	while (s->lines[s->pos] && s->lines[s->pos][0] == 'C')
		buf_puts(&s->want, s->lines[s->pos++] + 1);
	if (s->sent.len != s->want.len || (s->sent.len && memcmp(s->sent.p, s->want.p, s->sent.len) != 0))
		CHECK_FAIL("client wrote:\n%.*s\nwanted:\n%.*s", (int)s->sent.len, (const char *)s->sent.p,
		           (int)s->want.len, (const char *)s->want.p);
}

/* Runs until CLOSED (or READY with no_quit and nothing left). Returns the last event. */
static inline enum smtp_client_event script_run(struct script *s)
{
	for (int i = 0; i < SCRIPT_STEPS_MAX; i++) {
		enum smtp_client_event ev = smtp_client_step(s->c);
		s->last = ev;
		struct slice out = smtp_client_output(s->c);
		buf_append(&s->sent, out.p, out.len);
		smtp_client_output_consumed(s->c, out.len);
		if ((ev == SMTP_CLIENT_EV_SEND || ev == SMTP_CLIENT_EV_NEED_INPUT) &&
		    smtp_client_wait_seq(s->c) != s->last_seq) {
			s->last_seq = smtp_client_wait_seq(s->c);
			if (s->nwaits < 64)
				s->waits[s->nwaits++] = smtp_client_timeout_ms(s->c);
		}
		const char *next = s->lines[s->pos];
		switch (ev) {
		case SMTP_CLIENT_EV_SEND:
			s->sends++;
			size_t k = s->pos;
			while (s->lines[k] && s->lines[k][0] == 'C')
				k++;
			next = s->lines[k];
			if (next && (next[0] == 't' || next[0] == 'e')) {
				script_check_client(s);
				s->pos++;
				if (next[0] == 't')
					smtp_client_timeout(s->c);
				else
					smtp_client_io_error(s->c, "connection reset");
			}
			break;
		case SMTP_CLIENT_EV_NEED_INPUT:
			s->needs++;
			script_check_client(s);
			next = s->lines[s->pos];
			if (!next) {
				CHECK_FAIL("script ended while the client waits for input");
				return ev;
			}
			s->pos++;
			if (next[0] == 'S')
				smtp_client_feed(s->c, next + 1, strlen(next + 1));
			else if (next[0] == 'T')
				smtp_client_timeout(s->c);
			else if (next[0] == 'E')
				smtp_client_io_error(s->c, "connection reset");
			else
				CHECK_FAIL("bad script line %s", next);
			break;
		case SMTP_CLIENT_EV_STARTTLS:
			if (s->stop_at_starttls)
				return ev;
			smtp_client_tls_started(s->c, s->tls_verified);
			break;
		case SMTP_CLIENT_EV_READY:
			if (s->begun < s->ntxn) {
				smtp_client_begin(s->c, s->txns[s->begun++]);
			} else if (s->no_quit) {
				return ev; /* the caller goes on; the next run checks the client bytes */
			} else {
				smtp_client_quit(s->c);
			}
			break;
		case SMTP_CLIENT_EV_TXN_DONE:
			s->done++;
			break;
		case SMTP_CLIENT_EV_CLOSED:
			script_check_client(s);
			if (s->lines[s->pos])
				CHECK_FAIL("script not finished at CLOSED: %s", s->lines[s->pos]);
			return ev;
		}
	}
	CHECK_FAIL("script did not finish");
	return s->last;
}

static inline void script_init(struct script *s, const struct smtp_client_config *cfg,
                               const char *const *lines)
{
	memset(s, 0, sizeof *s);
	s->lines = lines;
	s->c = smtp_client_new(cfg);
	ASSERT(s->c);
	buf_init(&s->sent);
	buf_init(&s->want);
}

static inline void script_free(struct script *s)
{
	for (size_t i = 0; i < s->ntxn; i++)
		smtp_client_txn_clear(s->txns[i]);
	smtp_client_free(s->c);
	buf_free(&s->sent);
	buf_free(&s->want);
}

/* ---- message bodies ---- */

struct body {
	const char *data;
	size_t len;
	size_t piece; /* serve at most this many bytes per read (0: all) */
	int fail_at;  /* read number that fails, 0 = never */
	int reads;
};

static inline int body_read_cb(void *ctx, uint64_t off, struct slice *out)
{
	struct body *b = ctx;
	if (++b->reads == b->fail_at)
		return -1;
	ASSERT(off < b->len);
	size_t n = b->len - (size_t)off;
	if (b->piece && n > b->piece)
		n = b->piece;
	*out = slice_of(b->data + off, n);
	return 0;
}

static inline void txn_body(struct smtp_client_txn *t, struct body *b, const char *prefix,
                            const char *data)
{
	b->data = data;
	b->len = strlen(data);
	t->prefix = slice_str(prefix);
	t->data_size = b->len;
	t->read_cb = body_read_cb;
	t->read_ctx = b;
}

/* The result text of a recipient, in a static buffer. */
static inline const char *rtext(const struct smtp_client_result *r)
{
	static char s[4096];
	struct buf b;
	buf_init(&b);
	smtp_client_result_text(r, &b);
	snprintf(s, sizeof s, "%s", b.len ? buf_cstr(&b) : "");
	buf_free(&b);
	return s;
}

/* ---- transaction scripts: greeting and EHLO, then the given lines ---- */

static const struct smtp_client_config txn_cfg = {.ehlo_name = "c.example"};

/* Runs: greeting, EHLO answered with `ehlo` (a full 250 reply), then `lines`. */
static inline void run(struct script *s, const char *ehlo, const char *const *lines,
                struct smtp_client_txn **txns, size_t ntxn, const struct smtp_client_config *cf)
{
	static const char *all[256];
	size_t n = 0;
	all[n++] = "S220 mx.example ESMTP\r\n";
	all[n++] = "CEHLO c.example\r\n";
	all[n++] = ehlo;
	while (*lines && n < 255)
		all[n++] = *lines++;
	all[n] = NULL;
	script_init(s, cf ? cf : &txn_cfg, all);
	for (size_t i = 0; i < ntxn; i++)
		s->txns[s->ntxn++] = txns[i];
	script_run(s);
}

#define PIPE "S250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000\r\n"

/* Greeting and EHLO (answered with `ehlo`), stopping at READY. */
static inline void connect_idle(struct script *s, const char *ehlo)
{
	static const char *lines[4];
	lines[0] = "S220 mx.example ESMTP\r\n";
	lines[1] = "CEHLO c.example\r\n";
	lines[2] = ehlo;
	lines[3] = NULL;
	script_init(s, &txn_cfg, lines);
	s->no_quit = true;
	CHECK_INT(script_run(s), SMTP_CLIENT_EV_READY);
}

static struct smtp_client_rcpt rcpts[8];
static struct body body;

static inline struct smtp_client_txn mk(size_t n, const char *data)
{
	static const char *const addrs[] = {"r0@d.example", "r1@d.example", "r2@d.example",
	                                    "r3@d.example", "r4@d.example", "r5@d.example",
	                                    "r6@d.example", "r7@d.example"};
	struct smtp_client_txn t = {.mail_from = "s@x.example", .rcpts = rcpts, .nrcpts = n};
	memset(rcpts, 0, sizeof rcpts);
	for (size_t i = 0; i < n; i++)
		rcpts[i].addr = addrs[i];
	memset(&body, 0, sizeof body);
	txn_body(&t, &body, "", data);
	return t;
}

#endif
