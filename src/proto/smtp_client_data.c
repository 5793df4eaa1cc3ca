/* Message body streaming for the outbound client: dot-stuffed DATA or BDAT chunks.
 *
 * DESIGN: the body is the record's prefix followed by the shared data read through
 * the caller's read_cb, addressed by offset so that the same bytes can be sent again
 * in a later transaction. It is handed out in blocks of at most SMTP_CLIENT_BLOCK_MAX
 * octets, each one SEND event (one write, 3-minute limit). BDAT chunks are at most
 * SMTP_CLIENT_BDAT_CHUNK_MAX; with PIPELINING they follow each other without waiting
 * (a chunk boundary is where a pipelined sender can stop once the replies show that
 * nobody was accepted), without it each chunk waits for its 250. Bare CR or LF in
 * the data (see dotstuff.h) or a read error fails the transaction temporarily and
 * drops the connection: part of the body may be out, and the only ways to end it
 * would deliver a truncated message. */
#include "proto/smtp_client_priv.h"

#include <string.h>

void smtp_client_data_start(struct smtp_client *c, bool bdat)
{
	struct sc_round *rd = &c->round;
	rd->bdat = bdat;
	rd->streaming = true;
	rd->off = 0;
	rd->chunk_left = 0;
	rd->chunk_last = false;
	dotstuff_init(&rd->ds);
}

/* Up to max bytes of the message at rd->off. */
static int slice_at(struct smtp_client *c, uint64_t max, struct slice *s)
{
	struct smtp_client_txn *t = c->txn;
	struct sc_round *rd = &c->round;
	uint64_t off = rd->off;
	if (off < t->prefix.len) {
		s->p = t->prefix.p + off;
		s->len = t->prefix.len - off;
	} else {
		if (!t->read_cb || t->read_cb(t->read_ctx, off - t->prefix.len, s) < 0 || s->len == 0)
			return -1;
	}
	if (s->len > max)
		s->len = max;
	if (s->len > rd->total - off)
		s->len = rd->total - off;
	return 0;
}

static int data_error(struct smtp_client *c, const char *why)
{
	smtp_client_fail_local(c, SMTP_CLIENT_ERR_DATA, SMTP_CLIENT_STAGE_DATA, false,
	                       "local error sending message: %s", why);
	return -1;
}

static int fill_data(struct smtp_client *c)
{
	struct sc_round *rd = &c->round;
	while (c->out.len < SMTP_CLIENT_BLOCK_MAX) {
		if (rd->off == rd->total) {
			if (dotstuff_finish(&rd->ds, &c->out) < 0)
				return data_error(c, "bare CR or LF in stored message");
			smtp_client_push(c, P_DOT, 0, false);
			rd->dot_sent = true;
			rd->streaming = false;
			return 0;
		}
		struct slice s;
		if (slice_at(c, SMTP_CLIENT_BLOCK_MAX - c->out.len, &s) < 0)
			return data_error(c, "cannot read message data");
		if (dotstuff_encode(&rd->ds, s, &c->out) < 0)
			return data_error(c, "bare CR or LF in stored message");
		rd->off += s.len;
	}
	return 0;
}

static void start_chunk(struct smtp_client *c)
{
	struct sc_round *rd = &c->round;
	uint64_t left = rd->total - rd->off;
	uint64_t size = left < SMTP_CLIENT_BDAT_CHUNK_MAX ? left : SMTP_CLIENT_BDAT_CHUNK_MAX;
	bool last = size == left;
	buf_printf(&c->out, "BDAT %llu%s\r\n", (unsigned long long)size, last ? " LAST" : "");
	smtp_client_push(c, P_BDAT, 0, last);
	rd->chunk_left = size;
	rd->chunk_last = last;
}

static int fill_bdat(struct smtp_client *c)
{
	struct sc_round *rd = &c->round;
	while (c->out.len < SMTP_CLIENT_BLOCK_MAX) {
		if (rd->chunk_left == 0) {
			if (rd->stop) {
				rd->streaming = false; /* no LAST: RSET comes before the next MAIL */
				return 0;
			}
			start_chunk(c);
		}
		if (rd->chunk_left > 0) {
			struct slice s;
			uint64_t room = SMTP_CLIENT_BLOCK_MAX - c->out.len;
			if (slice_at(c, rd->chunk_left < room ? rd->chunk_left : room, &s) < 0)
				return data_error(c, "cannot read message data");
			if (dotstuff_check(&rd->ds, s) < 0)
				return data_error(c, "bare CR or LF in stored message");
			buf_append(&c->out, s.p, s.len);
			rd->off += s.len;
			rd->chunk_left -= s.len;
		}
		if (rd->chunk_left > 0)
			continue;
		if (rd->chunk_last) {
			if (dotstuff_check_end(&rd->ds) < 0)
				return data_error(c, "bare CR at end of stored message");
			rd->dot_sent = true;
			rd->streaming = false;
			return 0;
		}
		if (!c->caps.pipelining) {
			rd->bdat_wait = true;
			return 0;
		}
	}
	return 0;
}

int smtp_client_data_fill(struct smtp_client *c)
{
	return c->round.bdat ? fill_bdat(c) : fill_data(c);
}
