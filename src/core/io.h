/* io_uring operations for actors: sockets, files, polls and cancellation.
 *
 * Every call prepares one SQE on the calling worker's ring with the op as
 * user_data; the completion runs op->cb on the same worker. The op and any
 * buffer or address passed must stay valid until the callback has run; an
 * actor closing down cancels its ops and waits for their callbacks before
 * freeing them. SQEs are submitted by the worker loop, batched. */
#ifndef TERN_CORE_IO_H
#define TERN_CORE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct io_op;
/** Completion: res is the CQE result (>= 0 or -errno), flags the CQE flags. */
typedef void (*io_cb)(struct io_op *op, int res, uint32_t flags);

/** One outstanding (or multishot) operation. */
struct io_op {
	io_cb cb;
	void *ctx;
	bool busy; /* set while the kernel may still complete it */
};

/** Initialises an op with its callback and context. */
void io_op_init(struct io_op *op, io_cb cb, void *ctx);

/** recv(2) into buf. */
void io_recv(struct io_op *op, int fd, void *buf, size_t n);
/** send(2) with MSG_NOSIGNAL. */
void io_send(struct io_op *op, int fd, const void *buf, size_t n);
/** Multishot accept: op->cb runs per connection while flags has IORING_CQE_F_MORE. */
void io_accept_multishot(struct io_op *op, int fd);
/** connect(2); addr is copied by the kernel at submission. */
void io_connect(struct io_op *op, int fd, const struct sockaddr *addr, socklen_t len);
/** close(2). */
void io_close(struct io_op *op, int fd);
/** read(2)/write(2) at offset (files). */
void io_read(struct io_op *op, int fd, void *buf, size_t n, uint64_t off);
void io_write(struct io_op *op, int fd, const void *buf, size_t n, uint64_t off);
/** One-shot poll for events (POLLIN...). */
void io_poll(struct io_op *op, int fd, unsigned events);
/** Asks the kernel to cancel target; target's callback still runs (with -ECANCELED). */
void io_cancel(struct io_op *target);
/** Submits prepared SQEs now (normally the loop does it). */
void io_flush(void);

#endif
