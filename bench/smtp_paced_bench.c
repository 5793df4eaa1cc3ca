/* smtp_paced_bench: a paced SMTP load generator that measures, per message,
 * the time from writing the final "." to reading the server's reply.
 *
 * Usage: smtp_paced_bench -p PORT -n N -s SESSIONS [-r RATE] [-l BYTES]
 *        [-H HOST] [-f FROM] [-t TO] [-i IDPREFIX] [-o LATFILE] [-T SECONDS]
 * Sends exactly N transactions over S persistent sessions at RATE messages
 * per second (0 = as fast as the sessions go) and prints one JSON object on
 * stdout: counts by outcome, elapsed time, achieved rate, latency percentiles
 * in microseconds and how far the sender fell behind its schedule.
 * Each message carries "X-Bench-Id: <IDPREFIX>-<i>" and a matching Message-Id
 * so a sink dump can count lost and duplicated messages (benchmark W5).
 *
 * DESIGN: one thread, one epoll set, one state machine per session. The
 * schedule is open loop: message i is due at t0 + i/RATE; a session that is
 * idle takes the next message once it is due, so a slow server shows up as
 * "behind" (start time minus due time) and not as a lower offered rate
 * hidden inside the latency. The latency clock starts when the last byte of
 * "<CRLF>.<CRLF>" has been handed to the kernel and stops when the complete
 * final reply line has been read. MAIL, RCPT and DATA are pipelined when the
 * server announces PIPELINING (RFC 2920), otherwise sent one by one. A failed
 * transaction is counted, not retried, so N stays exact; a broken session
 * reconnects (bounded). The program is self-contained (libc only) so that
 * bench/run can compile it with `cc` without the rest of the tree; every
 * wait is bounded by -T. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { SESSIONS_MAX = 4096, REPLY_MAX = 8192, RECONNECTS_MAX = 100, ERRORS_PRINTED_MAX = 5 };

enum state { S_CONNECTING, S_GREETING, S_EHLO, S_IDLE, S_MAIL, S_RCPT, S_DATA,
	     S_BODY, S_DOT, S_RSET, S_QUIT, S_DONE };

struct session {
	int fd;
	enum state st;
	int pipelining;
	int failed;          /* this transaction already failed (pipelined replies pending) */
	long msg;            /* index of the message in flight, -1 if none */
	char *out;           /* owned; bytes still to write are out[off..len) */
	size_t off, len, cap;
	char in[REPLY_MAX];
	size_t inlen;
	int64_t t_dot;       /* ns when "." was fully written */
};

struct opts {
	const char *host, *from, *to, *idprefix, *latfile;
	int port, sessions;
	long n, size;
	double rate, timeout_s;
};

static struct opts o = {"127.0.0.1", "bench@example.test", "sink@example.test", "m", NULL,
			0, 20, 0, 1024, 0, 600};
static struct session *ss;
static int ep;
static char *body;             /* shared payload: "X" lines, CRLF, ends with CRLF.CRLF */
static size_t body_len;
static char date_hdr[64];
static long next_msg, n_ok, n_temp, n_perm, n_err, n_done, reconnects;
static uint32_t *lat_us;       /* per message, UINT32_MAX = no latency (failed) */
static int64_t t0, behind_max_ns;
static double behind_sum_ms;
static long behind_n;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: smtp_paced_bench -p PORT -n N -s SESSIONS [-r RATE] [-l BYTES] "
			"[-H HOST] [-f FROM] [-t TO] [-i IDPREFIX] [-o LATFILE] [-T SECONDS]\n");
	exit(2);
}

static void build_body(void)
{
	/* Payload of o.size bytes in lines of at most 76 X's, then the terminator. */
	body = malloc((size_t)o.size + (size_t)o.size / 76 * 2 + 16);
	if (!body) { perror("malloc"); exit(1); }
	size_t p = 0;
	for (long left = o.size; left > 0;) {
		long line = left > 76 ? 76 : left;
		memset(body + p, 'X', (size_t)line);
		p += (size_t)line;
		left -= line;
		memcpy(body + p, "\r\n", 2);
		p += 2;
	}
	memcpy(body + p, ".\r\n", 3);
	body_len = p + 3;
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date_hdr, sizeof date_hdr, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static void out_reset(struct session *s) { s->off = s->len = 0; }

static void out_put(struct session *s, const char *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		s->out = realloc(s->out, cap);
		if (!s->out) { perror("realloc"); exit(1); }
		s->cap = cap;
	}
	memcpy(s->out + s->len, p, n);
	s->len += n;
}

static void out_cmd(struct session *s, const char *verb, const char *addr)
{
	out_put(s, verb, strlen(verb));
	if (addr) {
		out_put(s, "<", 1);
		out_put(s, addr, strlen(addr));
		out_put(s, ">", 1);
	}
	out_put(s, "\r\n", 2);
}

static void watch(struct session *s, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(ep, op, s->fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
}

static void sess_connect(struct session *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
	if (inet_pton(AF_INET, o.host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", o.host); exit(2); }
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) { perror("socket"); exit(1); }
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	s->st = S_CONNECTING;
	s->inlen = 0;
	s->pipelining = 0;
	out_reset(s);
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		perror("connect");
		exit(1);
	}
	watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

/* The message in flight failed: count it once (by reply class) and release it. */
static void msg_fail(struct session *s, int code)
{
	if (s->msg < 0)
		return;
	if (code >= 400 && code < 500) n_temp++;
	else if (code >= 500 && code < 600) n_perm++;
	else n_err++;
	s->msg = -1;
	n_done++;
}

static void sess_broken(struct session *s, const char *why)
{
	if (reconnects < ERRORS_PRINTED_MAX)
		fprintf(stderr, "smtp_paced_bench: session error: %s\n", why);
	msg_fail(s, 0);
	close(s->fd);
	s->fd = -1;
	if (++reconnects > RECONNECTS_MAX || next_msg >= o.n) {
		s->st = S_DONE;
		return;
	}
	sess_connect(s);
}

/* Starts the next due message on an idle session; returns 1 if it did. */
static int sess_start_msg(struct session *s, int64_t now)
{
	if (next_msg >= o.n)
		return 0;
	int64_t due = o.rate > 0 ? t0 + (int64_t)((double)next_msg * 1e9 / o.rate) : now;
	if (due > now)
		return 0;
	if (now - due > behind_max_ns)
		behind_max_ns = now - due;
	behind_sum_ms += (double)(now - due) / 1e6;
	behind_n++;
	s->msg = next_msg++;
	s->failed = 0;
	out_reset(s);
	out_cmd(s, "MAIL FROM:", o.from);
	if (s->pipelining) {
		out_cmd(s, "RCPT TO:", o.to);
		out_cmd(s, "DATA", NULL);
	}
	s->st = S_MAIL;
	watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
	return 1;
}

static void queue_headers_and_body(struct session *s)
{
	char hdr[1024];
	int n = snprintf(hdr, sizeof hdr,
			 "From: <%s>\r\nTo: <%s>\r\nSubject: bench %ld\r\nDate: %s\r\n"
			 "Message-Id: <%s.%ld@bench.test>\r\nX-Bench-Id: %s-%ld\r\n\r\n",
			 o.from, o.to, s->msg, date_hdr, o.idprefix, s->msg, o.idprefix, s->msg);
	out_reset(s);
	out_put(s, hdr, (size_t)n);
	out_put(s, body, body_len);
	s->st = S_BODY;
	watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
}

static void sess_quit(struct session *s)
{
	out_reset(s);
	out_put(s, "QUIT\r\n", 6);
	s->st = S_QUIT;
	watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
}

/* One complete reply (final line) arrived with this code. */
static void sess_reply(struct session *s, int code)
{
	int ok2 = code >= 200 && code < 300;
	switch (s->st) {
	case S_GREETING:
		if (code != 220) { sess_broken(s, "bad greeting"); return; }
		out_reset(s);
		out_put(s, "EHLO bench.test\r\n", 17);
		s->st = S_EHLO;
		watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
		return;
	case S_EHLO:
		if (!ok2) { sess_broken(s, "EHLO refused"); return; }
		s->st = S_IDLE;
		watch(s, EPOLLIN, EPOLL_CTL_MOD);
		return;
	case S_MAIL:
		if (!ok2) { msg_fail(s, code); s->failed = 1; }
		s->st = S_RCPT;
		if (!s->pipelining) {
			if (s->failed) { s->st = S_IDLE; return; }
			out_reset(s);
			out_cmd(s, "RCPT TO:", o.to);
			watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
		}
		return;
	case S_RCPT:
		if (!ok2 && !s->failed) { msg_fail(s, code); s->failed = 1; }
		s->st = S_DATA;
		if (!s->pipelining) {
			if (s->failed) { s->st = S_RSET; goto rset; }
			out_reset(s);
			out_put(s, "DATA\r\n", 6);
			watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
		}
		return;
	case S_DATA:
		if (code == 354 && !s->failed) { queue_headers_and_body(s); return; }
		if (code == 354) { sess_broken(s, "354 after failed MAIL/RCPT"); return; }
		if (!s->failed) msg_fail(s, code);
		s->st = S_RSET;
		goto rset;
	case S_DOT: {
		int64_t t = now_ns();
		if (ok2) {
			int64_t us = (t - s->t_dot) / 1000;
			lat_us[s->msg] = us > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)us;
			n_ok++;
			n_done++;
			s->msg = -1;
		} else {
			msg_fail(s, code);
		}
		s->st = S_IDLE;
		watch(s, EPOLLIN, EPOLL_CTL_MOD);
		return;
	}
	case S_RSET:
		s->st = S_IDLE;
		watch(s, EPOLLIN, EPOLL_CTL_MOD);
		return;
	case S_QUIT:
		close(s->fd);
		s->fd = -1;
		s->st = S_DONE;
		return;
	default:
		sess_broken(s, "unexpected reply");
		return;
	}
rset:
	out_reset(s);
	out_put(s, "RSET\r\n", 6);
	watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
}

/* Parses complete reply lines in s->in; calls sess_reply per final line. */
static void sess_parse(struct session *s)
{
	size_t start = 0;
	for (;;) {
		char *nl = memchr(s->in + start, '\n', s->inlen - start);
		if (!nl)
			break;
		size_t linelen = (size_t)(nl - (s->in + start)) + 1;
		char *line = s->in + start;
		start += linelen;
		if (linelen < 5 || line[0] < '2' || line[0] > '5') {
			sess_broken(s, "malformed reply line");
			return;
		}
		int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (s->st == S_EHLO && linelen >= 14 && strncasecmp(line + 4, "PIPELINING", 10) == 0)
			s->pipelining = 1;
		if (line[3] == '-')
			continue;
		sess_reply(s, code);
		if (s->fd < 0 || s->st == S_CONNECTING)
			return; /* broken: the buffer was reset or the socket closed */
	}
	memmove(s->in, s->in + start, s->inlen - start);
	s->inlen -= start;
}

static void sess_readable(struct session *s)
{
	const char *err = NULL;
	for (;;) {
		if (s->inlen == sizeof s->in) { sess_broken(s, "reply too long"); return; }
		ssize_t r = read(s->fd, s->in + s->inlen, sizeof s->in - s->inlen);
		if (r > 0) {
			s->inlen += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			err = strerror(errno);
		if (r == 0)
			err = "server closed the connection";
		break;
	}
	/* Replies that came with the close (e.g. "221" or "421") are handled first. */
	sess_parse(s);
	if (err && s->fd >= 0 && s->st != S_CONNECTING)
		sess_broken(s, err);
}

static void sess_writable(struct session *s)
{
	if (s->st == S_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) { sess_broken(s, strerror(err)); return; }
		s->st = S_GREETING;
		watch(s, EPOLLIN, EPOLL_CTL_MOD);
		return;
	}
	int64_t t_write = 0;
	while (s->off < s->len) {
		t_write = now_ns();
		ssize_t w = write(s->fd, s->out + s->off, s->len - s->off);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w < 0) { sess_broken(s, strerror(errno)); return; }
		s->off += (size_t)w;
	}
	if (s->st == S_BODY) {
		/* The clock starts before the write that carried the final ".". */
		s->t_dot = t_write;
		s->st = S_DOT;
	}
	watch(s, EPOLLIN, EPOLL_CTL_MOD);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t pct(const uint32_t *v, long n, double q)
{
	if (n == 0)
		return 0;
	long i = (long)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void report(int64_t t_end, int timed_out)
{
	long m = 0;
	uint32_t *v = malloc(sizeof *v * (size_t)(o.n ? o.n : 1));
	double sum = 0;
	for (long i = 0; i < o.n; i++)
		if (lat_us[i] != UINT32_MAX) {
			v[m++] = lat_us[i];
			sum += lat_us[i];
		}
	if (o.latfile) {
		FILE *f = fopen(o.latfile, "w");
		if (f) {
			for (long i = 0; i < m; i++)
				fprintf(f, "%u\n", v[i]);
			fclose(f);
		}
	}
	qsort(v, (size_t)m, sizeof *v, cmp_u32);
	double el = (double)(t_end - t0) / 1e9;
	printf("{\"n\":%ld,\"sessions\":%d,\"size\":%ld,\"rate_target\":%.3f,\"ok\":%ld,"
	       "\"tempfail\":%ld,\"permfail\":%ld,\"errors\":%ld,\"unsent\":%ld,\"unfinished\":%ld,\"reconnects\":%ld,"
	       "\"timed_out\":%s,\"elapsed_s\":%.6f,\"rate_achieved\":%.3f,"
	       "\"lat_us\":{\"count\":%ld,\"mean\":%.1f,\"p50\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u},"
	       "\"behind_ms\":{\"mean\":%.3f,\"max\":%.3f}}\n",
	       o.n, o.sessions, o.size, o.rate, n_ok, n_temp, n_perm, n_err, o.n - next_msg, next_msg - n_done,
	       reconnects, timed_out ? "true" : "false", el, el > 0 ? (double)n_ok / el : 0.0,
	       m, m ? sum / (double)m : 0.0, pct(v, m, 0.5), pct(v, m, 0.9), pct(v, m, 0.99),
	       pct(v, m, 0.999), m ? v[m - 1] : 0, behind_n ? behind_sum_ms / (double)behind_n : 0.0,
	       (double)behind_max_ns / 1e6);
	free(v);
}

static void parse_args(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "H:p:n:s:r:l:f:t:i:o:T:")) != -1) {
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'n': o.n = atol(optarg); break;
		case 's': o.sessions = atoi(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'l': o.size = atol(optarg); break;
		case 'f': o.from = optarg; break;
		case 't': o.to = optarg; break;
		case 'i': o.idprefix = optarg; break;
		case 'o': o.latfile = optarg; break;
		case 'T': o.timeout_s = atof(optarg); break;
		default: usage();
		}
	}
	if (o.port <= 0 || o.port > 65535 || o.n <= 0 || o.sessions <= 0 ||
	    o.sessions > SESSIONS_MAX || o.size < 0 || o.rate < 0 || o.timeout_s <= 0 ||
	    strlen(o.from) > 256 || strlen(o.to) > 256 || strlen(o.idprefix) > 64)
		usage();
}

/* Runs the event loop until every session is done or the deadline passes. */
static int run_loop(int64_t deadline, int phase_connect)
{
	struct epoll_event evs[256];
	for (;;) {
		int64_t now = now_ns();
		int active = 0, idle = 0;
		for (int i = 0; i < o.sessions; i++) {
			struct session *s = &ss[i];
			if (s->st == S_DONE)
				continue;
			active++;
			if (s->st != S_IDLE)
				continue;
			idle++;
			if (phase_connect)
				continue;
			if (!sess_start_msg(s, now) && next_msg >= o.n)
				sess_quit(s);
		}
		if (phase_connect && idle == active)
			return 0;
		if (active == 0)
			return 0;
		if (now >= deadline)
			return -1;
		int wait_ms = 100;
		if (!phase_connect && o.rate > 0 && next_msg < o.n) {
			int64_t due = t0 + (int64_t)((double)next_msg * 1e9 / o.rate);
			int64_t d = (due - now) / 1000000;
			wait_ms = d < 0 ? 0 : d < wait_ms ? (int)d : wait_ms;
		}
		int n = epoll_wait(ep, evs, 256, wait_ms);
		for (int i = 0; i < n; i++) {
			struct session *s = evs[i].data.ptr;
			if (s->fd < 0)
				continue;
			if (s->st == S_CONNECTING) { /* SO_ERROR tells a refused connect */
				sess_writable(s);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				sess_readable(s);
			if (s->fd >= 0 && (evs[i].events & EPOLLOUT))
				sess_writable(s);
		}
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	build_body();
	lat_us = malloc(sizeof *lat_us * (size_t)o.n);
	ss = calloc((size_t)o.sessions, sizeof *ss);
	if (!lat_us || !ss) { perror("malloc"); return 1; }
	memset(lat_us, 0xff, sizeof *lat_us * (size_t)o.n);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) { perror("epoll_create1"); return 1; }
	int64_t deadline = now_ns() + (int64_t)(o.timeout_s * 1e9);
	for (int i = 0; i < o.sessions; i++) {
		ss[i].msg = -1;
		sess_connect(&ss[i]);
	}
	t0 = now_ns();
	int timed_out = run_loop(deadline, 1) < 0;
	t0 = now_ns();
	if (!timed_out)
		timed_out = run_loop(deadline, 0) < 0;
	int64_t t_end = now_ns();
	report(t_end, timed_out);
	return timed_out || n_ok != o.n ? 1 : 0;
}
