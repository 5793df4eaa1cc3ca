/* Control socket server: accepts CLI connections on DataDir/ctl and runs commands.
 *
 * DESIGN: a listener actor and one ctl_conn actor per connection, all on one
 * dedicated worker thread, so a command may read the store synchronously
 * without stalling protocol workers. A connection reads exactly one request
 * frame (bounded), finds the longest registered command matching the leading
 * words, runs it, buffers its output frames and sends them when the command
 * calls ctl_done(); then it closes. Commands that need other actors send
 * messages from ctl_actor() and receive the replies through ctl_expect(). */
#include "actors/control.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <msgpack.h>

#include "core/actor.h"
#include "core/io.h"
#include "core/log.h"
#include "core/mpcheck.h"
#include "core/timer.h"
#include "core/xmalloc.h"

#define REQUEST_MAX (1u << 20)
#define ARGS_MAX 256
#define CONN_TIMEOUT_MS (10 * 60 * 1000)
#define CTL_STREAM_BYTES (256u << 10)

struct ctl_conn {
	struct actor a; /* first: the actor's memory is the connection's */
	int fd;
	struct io_op op;
	struct timer idle;
	uint8_t hdr[4];
	size_t got;
	uint8_t *req;
	uint32_t req_len;
	struct buf out;   /* encoded frames */
	size_t sent;
	bool done, closing;
	ctl_reply_cb reply_cb;
	void *state;
};

struct control_listener {
	struct actor a;
	int fd;
	struct io_op op;
	char *path;
};

static const struct control_cmd *tables[32];
static int ntables;
static struct worker *ctl_worker;
static struct actor_kind conn_kind;

void control_register(const struct control_cmd *cmds)
{
	if (ntables == (int)(sizeof tables / sizeof tables[0]))
		panic("too many control command tables");
	tables[ntables++] = cmds;
}

void control_foreach(void (*fn)(const struct control_cmd *cmd, void *arg), void *arg)
{
	for (int t = 0; t < ntables; t++)
		for (const struct control_cmd *c = tables[t]; c->words; c++)
			fn(c, arg);
}

/* ---- output frames ---- */

static int buf_write_cb(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

static void frame(struct ctl_conn *c, const char *kind, const void *p, size_t n, int status)
{
	struct buf body;
	buf_init(&body);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &body, buf_write_cb);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, kind, 1);
	if (kind[0] == 'x') {
		msgpack_pack_int(&pk, status);
	} else {
		msgpack_pack_bin(&pk, n);
		msgpack_pack_bin_body(&pk, p, n);
	}
	buf_put_be32(&c->out, (uint32_t)body.len);
	buf_append(&c->out, body.p, body.len);
	buf_free(&body);
}

/* Long outputs (listings, dumps) are written while the command runs: this is the control
 * thread, which may block, and no operation is in flight on the socket while a command runs. */
static void flush_blocking(struct ctl_conn *c)
{
	if (c->op.busy || c->closing)
		return;
	while (c->sent < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			if (poll(&pfd, 1, 30000) <= 0)
				break;
			continue;
		}
		if (w <= 0) {
			c->closing = true; /* the client went away: drop the rest */
			break;
		}
		c->sent += (size_t)w;
	}
	buf_consume(&c->out, c->sent);
	c->sent = 0;
}

void ctl_out_bytes(struct ctl_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		size_t k = n > (1u << 20) ? (1u << 20) : n;
		frame(c, "o", b, k, 0);
		b += k;
		n -= k;
	}
	if (c->out.len >= CTL_STREAM_BYTES)
		flush_blocking(c);
}

static void vout(struct ctl_conn *c, const char *kind, const char *fmt, va_list ap)
{
	struct buf t;
	buf_init(&t);
	buf_vprintf(&t, fmt, ap);
	if (kind[0] == 'o')
		ctl_out_bytes(c, t.p, t.len);
	else
		frame(c, kind, t.p, t.len, 0);
	buf_free(&t);
}

void ctl_out(struct ctl_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vout(c, "o", fmt, ap);
	va_end(ap);
}

void ctl_err(struct ctl_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vout(c, "e", fmt, ap);
	va_end(ap);
}

struct actor *ctl_actor(struct ctl_conn *c)
{
	return &c->a;
}

void ctl_expect(struct ctl_conn *c, ctl_reply_cb cb, void *state)
{
	c->reply_cb = cb;
	c->state = state;
}

void *ctl_state(struct ctl_conn *c)
{
	return c->state;
}

/* ---- connection lifecycle ---- */

static void conn_free_cb(struct actor *a)
{
	struct ctl_conn *c = (struct ctl_conn *)a;
	buf_free(&c->out);
	free(c->req);
	free(c);
}

static void conn_closed_cb(struct io_op *op, int res, uint32_t flags)
{
	struct ctl_conn *c = op->ctx;
	actor_stop(&c->a);
}

static void conn_close(struct ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->reply_cb = NULL;
	timer_stop(&c->idle);
	if (c->op.busy) {
		io_cancel(&c->op); /* its callback sees closing and calls us back */
		return;
	}
	io_op_init(&c->op, conn_closed_cb, c);
	io_close(&c->op, c->fd);
}

static void send_cb(struct io_op *op, int res, uint32_t flags)
{
	struct ctl_conn *c = op->ctx;
	if (c->closing || res <= 0) {
		c->closing = true;
		io_op_init(&c->op, conn_closed_cb, c);
		io_close(&c->op, c->fd);
		return;
	}
	c->sent += (size_t)res;
	if (c->sent < c->out.len) {
		io_send(&c->op, c->fd, c->out.p + c->sent, c->out.len - c->sent);
		return;
	}
	c->closing = true;
	io_op_init(&c->op, conn_closed_cb, c);
	io_close(&c->op, c->fd);
}

void ctl_done(struct ctl_conn *c, int status)
{
	if (c->done)
		return;
	c->done = true;
	c->reply_cb = NULL;
	frame(c, "x", NULL, 0, status);
	timer_stop(&c->idle);
	if (c->closing) { /* the client went away while the command ran */
		if (!c->op.busy) {
			io_op_init(&c->op, conn_closed_cb, c);
			io_close(&c->op, c->fd);
		}
		return;
	}
	io_op_init(&c->op, send_cb, c);
	io_send(&c->op, c->fd, c->out.p, c->out.len);
}

static const struct control_cmd *match(int argc, char **argv, int *nwords)
{
	const struct control_cmd *best = NULL;
	int bestn = 0;
	for (int t = 0; t < ntables; t++)
		for (const struct control_cmd *cmd = tables[t]; cmd->words; cmd++) {
			char tmp[128];
			snprintf(tmp, sizeof tmp, "%s", cmd->words);
			int n = 0;
			bool ok = true;
			for (char *save, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save), n++)
				if (n >= argc || strcmp(w, argv[n]) != 0) {
					ok = false;
					break;
				}
			if (ok && n > bestn) {
				best = cmd;
				bestn = n;
			}
		}
	*nwords = bestn;
	return best;
}

static void run_request(struct ctl_conn *c)
{
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	char *argv[ARGS_MAX + 1];
	int argc = 0;
	if (mpcheck_one(c->req, c->req_len) != 0 ||
	    msgpack_unpack_next(&up, (const char *)c->req, c->req_len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size > ARGS_MAX) {
		msgpack_unpacked_destroy(&up);
		ctl_err(c, "malformed control request\n");
		ctl_done(c, 2);
		return;
	}
	for (uint32_t i = 0; i < up.data.via.array.size; i++) {
		msgpack_object *o = &up.data.via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_STR)
			break;
		argv[argc++] = xstrndup(o->via.str.ptr, o->via.str.size);
	}
	argv[argc] = NULL;
	msgpack_unpacked_destroy(&up);
	int nwords = 0;
	const struct control_cmd *cmd = match(argc, argv, &nwords);
	if (!cmd) {
		ctl_err(c, "unknown command: %s\n", argc ? argv[0] : "(none)");
		ctl_done(c, 2);
	} else {
		log_debug("control", "command", "cmd=\"%s\"", cmd->words);
		cmd->run(c, argc - nwords, argv + nwords);
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

static void recv_cb(struct io_op *op, int res, uint32_t flags)
{
	struct ctl_conn *c = op->ctx;
	if (c->closing) {
		io_op_init(&c->op, conn_closed_cb, c);
		io_close(&c->op, c->fd);
		return;
	}
	if (res <= 0) {
		conn_close(c);
		return;
	}
	c->got += (size_t)res;
	if (!c->req) {
		if (c->got < 4) {
			io_recv(&c->op, c->fd, c->hdr + c->got, 4 - c->got);
			return;
		}
		c->req_len = (uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 | (uint32_t)c->hdr[2] << 8 | c->hdr[3];
		if (c->req_len == 0 || c->req_len > REQUEST_MAX) {
			conn_close(c);
			return;
		}
		c->req = xmalloc(c->req_len);
		c->got = 0;
		io_recv(&c->op, c->fd, c->req, c->req_len);
		return;
	}
	if (c->got < c->req_len) {
		io_recv(&c->op, c->fd, c->req + c->got, c->req_len - c->got);
		return;
	}
	run_request(c);
}

static void idle_cb(struct timer *t)
{
	struct ctl_conn *c = t->ctx;
	if (!c->done)
		conn_close(c);
}

static void conn_start(struct actor *a)
{
	struct ctl_conn *c = (struct ctl_conn *)a;
	timer_init(&c->idle, idle_cb, c);
	timer_start(&c->idle, CONN_TIMEOUT_MS);
	io_op_init(&c->op, recv_cb, c);
	io_recv(&c->op, c->fd, c->hdr, 4);
}

static void conn_reply(struct actor *self, const struct msg *m, const void *p)
{
	struct ctl_conn *c = (struct ctl_conn *)self;
	if (c->reply_cb && !c->done)
		c->reply_cb(c, m, p);
}

void control_accept_reply(uint16_t id)
{
	conn_kind.on[id] = conn_reply;
}

/* ---- listener ---- */

static void accept_cb(struct io_op *op, int res, uint32_t flags)
{
	struct control_listener *l = op->ctx;
	if (res >= 0) {
		struct ctl_conn *c = xcalloc(1, sizeof *c);
		c->fd = res;
		buf_init(&c->out);
		actor_spawn(&c->a, &conn_kind, ctl_worker);
	} else if (res != -ECANCELED) {
		log_error("control", "accept failed", "err=\"%s\"", strerror(-res));
	}
	if (!(flags & IORING_CQE_F_MORE) && res != -ECANCELED)
		io_accept_multishot(&l->op, l->fd);
}

static void listener_start(struct actor *a)
{
	struct control_listener *l = (struct control_listener *)a;
	io_op_init(&l->op, accept_cb, l);
	io_accept_multishot(&l->op, l->fd);
}

static const struct actor_kind listener_kind = {.name = "control_listener", .start = listener_start};

int control_start(const char *path, struct buf *err)
{
	conn_kind.name = "control_conn";
	conn_kind.start = conn_start;
	conn_kind.free_fn = conn_free_cb;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sun.sun_path) {
		buf_printf(err, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		buf_printf(err, "socket: %s", strerror(errno));
		return -errno;
	}
	unlink(path); /* a stale socket of a killed server; the DataDir lock proves no live one */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		buf_printf(err, "control socket %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	ctl_worker = worker_spawn_dedicated("tern-ctl");
	struct control_listener *l = xcalloc(1, sizeof *l);
	l->fd = fd;
	l->path = xstrdup(path);
	actor_spawn(&l->a, &listener_kind, ctl_worker);
	return 0;
}
