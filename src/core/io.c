/* io_uring operation helpers.
 *
 * DESIGN: thin wrappers that take an SQE from the calling worker's ring, mark
 * the op busy and tag it as user_data. The worker loop clears `busy` before the
 * callback of the final CQE, so an owner can free an op whose callback ran
 * without IORING_CQE_F_MORE. */
#include "core/io.h"

#include <liburing.h>
#include <poll.h>
#include <unistd.h>

#include "core/worker.h"

void io_op_init(struct io_op *op, io_cb cb, void *ctx)
{
	op->cb = cb;
	op->ctx = ctx;
	op->busy = false;
}

static struct io_uring_sqe *prep(struct io_op *op)
{
	struct io_uring_sqe *sqe = worker_sqe();
	op->busy = true;
	return sqe;
}

void io_recv(struct io_op *op, int fd, void *buf, size_t n)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_recv(sqe, fd, buf, n, 0);
	io_uring_sqe_set_data(sqe, op);
}

void io_send(struct io_op *op, int fd, const void *buf, size_t n)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_send(sqe, fd, buf, n, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, op);
}

void io_accept_multishot(struct io_op *op, int fd)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	io_uring_sqe_set_data(sqe, op);
}

void io_connect(struct io_op *op, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_connect(sqe, fd, addr, len);
	io_uring_sqe_set_data(sqe, op);
	/* The kernel copies addr during submission; submit now so callers may reuse it. */
	io_flush();
}

void io_close(struct io_op *op, int fd)
{
	struct io_uring_sqe *sqe = prep(op);
#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer cannot see IORING_OP_CLOSE: it would take the next socket that
	 * reuses this number on another worker for the same file and report a race. The
	 * TSan build closes here, where TSan sees it, and completes the op by a NOP (0). */
	close(fd);
	io_uring_prep_nop(sqe);
#else
	io_uring_prep_close(sqe, fd);
#endif
	io_uring_sqe_set_data(sqe, op);
}

void io_read(struct io_op *op, int fd, void *buf, size_t n, uint64_t off)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_read(sqe, fd, buf, (unsigned)n, off);
	io_uring_sqe_set_data(sqe, op);
}

void io_write(struct io_op *op, int fd, const void *buf, size_t n, uint64_t off)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_write(sqe, fd, buf, (unsigned)n, off);
	io_uring_sqe_set_data(sqe, op);
}

void io_poll(struct io_op *op, int fd, unsigned events)
{
	struct io_uring_sqe *sqe = prep(op);
	io_uring_prep_poll_add(sqe, fd, events);
	io_uring_sqe_set_data(sqe, op);
}

void io_cancel(struct io_op *target)
{
	struct io_uring_sqe *sqe = worker_sqe();
	io_uring_prep_cancel(sqe, target, 0);
	io_uring_sqe_set_data(sqe, NULL);
}

void io_flush(void)
{
	struct worker *w = worker_self();
	if (w)
		io_uring_submit(&w->ring);
}
