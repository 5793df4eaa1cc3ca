/* Control socket client: the CLI side of DataDir/ctl.
 *
 * DESIGN: plain blocking socket I/O — the CLI is a short-lived process with
 * nothing else to do. Output frames are copied to stdout/stderr as they arrive,
 * so long listings stream. */
#include "actors/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <msgpack.h>

#include "core/xmalloc.h"

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int buf_write_cb(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

/* Handles one frame; returns the exit status for an "x" frame, -1 otherwise, -2 if malformed. */
static int handle_frame(const uint8_t *p, size_t n)
{
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	int ret = -2;
	if (msgpack_unpack_next(&up, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS &&
	    up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size == 2 &&
	    up.data.via.array.ptr[0].type == MSGPACK_OBJECT_STR && up.data.via.array.ptr[0].via.str.size == 1) {
		char kind = up.data.via.array.ptr[0].via.str.ptr[0];
		msgpack_object *d = &up.data.via.array.ptr[1];
		if (kind == 'x' && (d->type == MSGPACK_OBJECT_POSITIVE_INTEGER || d->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
			ret = (int)d->via.i64;
		} else if ((kind == 'o' || kind == 'e') && d->type == MSGPACK_OBJECT_BIN) {
			FILE *f = kind == 'o' ? stdout : stderr;
			fwrite(d->via.bin.ptr, 1, d->via.bin.size, f);
			ret = -1;
		}
	}
	msgpack_unpacked_destroy(&up);
	return ret;
}

int control_client_run(const char *path, int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "tern: control socket path too long: %s\n", path);
		return 1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fprintf(stderr, "tern: no server running (cannot connect to %s: %s)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	struct buf req;
	buf_init(&req);
	buf_put_be32(&req, 0);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &req, buf_write_cb);
	msgpack_pack_array(&pk, (size_t)argc);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		msgpack_pack_str(&pk, n);
		msgpack_pack_str_body(&pk, argv[i], n);
	}
	uint32_t len = (uint32_t)(req.len - 4);
	req.p[0] = (uint8_t)(len >> 24);
	req.p[1] = (uint8_t)(len >> 16);
	req.p[2] = (uint8_t)(len >> 8);
	req.p[3] = (uint8_t)len;
	int status = 1;
	if (write_all(fd, req.p, req.len) < 0) {
		fprintf(stderr, "tern: control socket write failed: %s\n", strerror(errno));
		goto out;
	}
	for (;;) {
		uint8_t hdr[4];
		if (read_all(fd, hdr, 4) < 0) {
			fprintf(stderr, "tern: server closed the control connection early\n");
			break;
		}
		uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
		if (n > CONTROL_FRAME_MAX) {
			fprintf(stderr, "tern: oversized control frame\n");
			break;
		}
		uint8_t *body = xmalloc(n ? n : 1);
		if (read_all(fd, body, n) < 0) {
			free(body);
			fprintf(stderr, "tern: server closed the control connection early\n");
			break;
		}
		int r = handle_frame(body, n);
		free(body);
		if (r == -2) {
			fprintf(stderr, "tern: malformed control frame\n");
			break;
		}
		if (r >= 0) {
			status = r;
			break;
		}
	}
out:
	fflush(stdout);
	buf_free(&req);
	close(fd);
	return status;
}
