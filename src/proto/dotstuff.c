/* DATA dot-stuffing (RFC 5321 §4.5.2) and bare CR/LF detection.
 *
 * DESIGN: the data is walked line by line with memchr for LF, so the cost is one
 * scan plus one copy per line. A line is valid when its only CR is the one right
 * before its LF; state (at line start, pending CR) carries across slice
 * boundaries, so a CRLF split over two slices is fine. Encoding and checking share
 * the walk; checking just does not copy. */
#include "proto/dotstuff.h"

#include <string.h>

void dotstuff_init(struct dotstuff *d)
{
	d->bol = true;
	d->cr = false;
	d->bad = false;
}

/* Walks `in`; copies to out (with stuffing) when out is not NULL. */
static int walk(struct dotstuff *d, struct slice in, struct buf *out)
{
	const uint8_t *p = in.p, *end = in.p + in.len;
	if (d->bad)
		return -1;
	while (p < end) {
		if (d->cr && *p != '\n')
			goto bad; /* CR at the end of the previous piece, not followed by LF */
		if (d->bol && *p == '.' && out)
			buf_putc(out, '.');
		const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *stop = lf ? lf : end;
		/* Bytes before the LF (or the end) may hold one CR, only as their last byte. */
		const uint8_t *seg_end = stop;
		if (seg_end > p && seg_end[-1] == '\r')
			seg_end--;
		if (memchr(p, '\r', (size_t)(seg_end - p)))
			goto bad;
		if (lf) {
			bool had_cr = (lf > p && lf[-1] == '\r') || (lf == p && d->cr);
			if (!had_cr)
				goto bad;
			if (out)
				buf_append(out, p, (size_t)(lf + 1 - p));
			d->bol = true;
			d->cr = false;
			p = lf + 1;
		} else {
			if (out)
				buf_append(out, p, (size_t)(end - p));
			d->cr = end[-1] == '\r';
			d->bol = false;
			p = end;
		}
	}
	return 0;
bad:
	d->bad = true;
	return -1;
}

int dotstuff_encode(struct dotstuff *d, struct slice in, struct buf *out)
{
	return walk(d, in, out);
}

int dotstuff_check(struct dotstuff *d, struct slice in)
{
	return walk(d, in, NULL);
}

int dotstuff_finish(struct dotstuff *d, struct buf *out)
{
	if (d->bad || d->cr)
		return -1;
	buf_puts(out, d->bol ? ".\r\n" : "\r\n.\r\n");
	d->bol = true;
	return 0;
}

int dotstuff_check_end(const struct dotstuff *d)
{
	return (d->bad || d->cr) ? -1 : 0;
}
