/* DATA end detection, dot-unstuffing and streaming content checks.
 *
 * DESIGN: both layers are byte-stream state machines that keep no lookbehind
 * beyond a few flags, so a message may arrive split anywhere (a CR at the end of
 * one read, its LF in the next). Only CR LF "." CR LF at a line start (a line
 * starts after CR LF, never after a bare LF or CR) ends DATA, so every smuggling
 * variant (\n.\n, \r.\r, \r\n.\n, ...) stays inside the message, where the
 * content layer flags its bare CR or LF. Runs of ordinary bytes are copied in
 * bulk; only line starts and the header section are looked at byte by byte. */
#include "proto/smtp_data.h"

#include <string.h>

enum {
	DOT_LINE_START = 0, /* after CR LF (or at the first byte) */
	DOT_DOT,            /* "." at a line start, held back */
	DOT_DOT_CR,         /* ".\r" at a line start, both held back */
	DOT_MID,            /* inside a line */
};

void smtp_data_init(struct smtp_data *d, const struct smtp_data_limits *lim)
{
	memset(d, 0, sizeof(*d));
	d->lim = *lim;
	d->line_start = true;
	d->in_header = true;
	d->dot_state = DOT_LINE_START;
}

void smtp_data_free(struct smtp_data *d)
{
	buf_free(&d->msg);
}

bool smtp_data_would_exceed(const struct smtp_data *d, uint64_t n)
{
	return n > d->lim.max_size || d->size > d->lim.max_size - n;
}

void smtp_data_set_too_big(struct smtp_data *d)
{
	d->too_big = true;
	d->discard = true;
	buf_free(&d->msg);
}

/* Header bookkeeping for one byte c while in the header section. */
static void smtp_data_header_byte(struct smtp_data *d, uint8_t c)
{
	if (++d->header_len > d->lim.header_max) {
		d->header_big = true;
		d->in_header = false;
		return;
	}
	if (d->line_start) {
		d->blank_cr = c == '\r';
		d->name_len = 0;
		d->name_state = 0;
		if (c == ' ' || c == '\t')
			d->name_state = 2; /* continuation line */
	} else if (d->blank_cr) {
		if (c == '\n') {
			d->in_header = false; /* the empty line ends the header section */
			return;
		}
		d->blank_cr = false;
	}
	if (d->name_state == 0) {
		if (c == ':' || c == ' ' || c == '\t') {
			bool rcvd = d->name_len == 8 &&
			            slice_eq_str_nocase(slice_of(d->name, 8), "received");
			if (rcvd && c == ':')
				d->received++;
			d->name_state = rcvd && c != ':' ? 1 : 2;
		} else if (d->name_len < SMTP_DATA_NAME_MAX) {
			d->name[d->name_len++] = c;
		} else {
			d->name_state = 2;
		}
	} else if (d->name_state == 1) {
		if (c == ':')
			d->received++;
		if (c != ' ' && c != '\t')
			d->name_state = 2;
	}
}

/* Checks one byte that is CR, LF or NUL, or any byte while in the header. */
static void smtp_data_slow_byte(struct smtp_data *d, uint8_t c)
{
	if (d->cr && c != '\n')
		d->bare_eol = true;
	if (c == '\n' && !d->cr)
		d->bare_eol = true;
	if (c == 0)
		d->nul = true;
	if (d->in_header)
		smtp_data_header_byte(d, c);
	d->line_start = d->cr && c == '\n';
	d->cr = c == '\r';
}

static bool smtp_data_special(uint8_t c)
{
	return c == '\r' || c == '\n' || c == 0;
}

void smtp_data_content(struct smtp_data *d, const uint8_t *p, size_t n)
{
	if (n == 0 || d->too_big)
		goto count;
	if (smtp_data_would_exceed(d, n)) {
		smtp_data_set_too_big(d);
		goto count;
	}
	size_t i = 0;
	while (i < n) {
		if (d->in_header || d->cr || smtp_data_special(p[i])) {
			smtp_data_slow_byte(d, p[i++]);
			continue;
		}
		size_t j = i + 1;
		while (j < n && !smtp_data_special(p[j]))
			j++;
		d->line_start = false;
		i = j;
	}
	if (!d->discard)
		buf_append(&d->msg, p, n);
count:
	d->size = d->size > UINT64_MAX - n ? UINT64_MAX : d->size + n;
}

size_t smtp_data_dot(struct smtp_data *d, const uint8_t *p, size_t n, bool *done)
{
	size_t i = 0;
	*done = false;
	while (i < n) {
		uint8_t c = p[i];
		switch (d->dot_state) {
		case DOT_LINE_START:
			d->dot_cr = false;
			if (c == '.') {
				d->dot_state = DOT_DOT;
				i++;
				continue;
			}
			d->dot_state = DOT_MID;
			continue;
		case DOT_DOT:
			if (c == '\r') {
				d->dot_state = DOT_DOT_CR;
				i++;
				continue;
			}
			d->dot_state = DOT_MID; /* stuffed dot dropped: "..x" -> ".x", ".x" -> "x" */
			continue;
		case DOT_DOT_CR:
			if (c == '\n') {
				*done = true;
				return i + 1;
			}
			smtp_data_content(d, (const uint8_t *)"\r", 1);
			d->dot_cr = true;
			d->dot_state = DOT_MID;
			continue;
		default: {
			/* Copy up to and including the next LF; a line start follows CR LF only. */
			const uint8_t *lf = memchr(p + i, '\n', n - i);
			size_t end = lf ? (size_t)(lf - p) + 1 : n;
			bool crlf = lf && (end - i >= 2 ? p[end - 2] == '\r' : d->dot_cr);
			smtp_data_content(d, p + i, end - i);
			d->dot_cr = p[end - 1] == '\r';
			i = end;
			if (lf && crlf)
				d->dot_state = DOT_LINE_START;
		}
		}
	}
	return i;
}

enum smtp_data_verdict smtp_data_finish(struct smtp_data *d)
{
	if (d->cr)
		d->bare_eol = true; /* a final CR never followed by LF */
	if (d->too_big)
		return SMTP_DATA_TOO_BIG;
	if (d->bare_eol)
		return SMTP_DATA_BARE_EOL;
	if (d->nul)
		return SMTP_DATA_NUL;
	if (d->header_big)
		return SMTP_DATA_HEADER_BIG;
	if (d->received > d->lim.hops_max)
		return SMTP_DATA_HOPS;
	return SMTP_DATA_OK;
}

void smtp_data_take(struct smtp_data *d, struct buf *out)
{
	if (out->len == 0) {
		struct buf t = *out;
		*out = d->msg;
		d->msg = t;
		d->msg.len = 0;
		return;
	}
	buf_append(out, d->msg.p, d->msg.len);
	d->msg.len = 0;
}

const char *smtp_data_verdict_reply(enum smtp_data_verdict v, int *code)
{
	switch (v) {
	case SMTP_DATA_TOO_BIG:
		*code = 552;
		return "5.3.4 message too large";
	case SMTP_DATA_BARE_EOL:
		*code = 500;
		return "5.5.2 invalid bare \\r or \\n, may be smtp smuggling";
	case SMTP_DATA_NUL:
		*code = 554;
		return "5.6.0 message contains NUL byte";
	case SMTP_DATA_HEADER_BIG:
		*code = 554;
		return "5.6.0 header section too large";
	case SMTP_DATA_HOPS:
		*code = 554;
		return "5.4.0 too many hops";
	default:
		*code = 250;
		return "2.0.0 ok";
	}
}
