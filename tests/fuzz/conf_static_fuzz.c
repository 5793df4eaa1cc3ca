/* libFuzzer target: tern.conf from arbitrary bytes. Every input must be a clean
 * accept or a reject with at least one `name:line: ...` message; an accepted
 * config must survive write -> parse and compare equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_static *st, *back;
	struct buf err, y;
	buf_init(&err);
	buf_init(&y);
	if (conf_static_parse("tern.conf", data, size, "/etc/tern", &st, &err) == 0) {
		conf_static_write(st, &y);
		if (conf_static_parse("again", y.p, y.len, "/etc/tern", &back, &err) != 0 || !conf_static_eq(st, back))
			abort();
		conf_static_free(back);
		conf_static_free(st);
	} else if (err.len == 0 || strncmp((char *)err.p, "tern.conf:", 10) != 0) {
		abort();
	}
	buf_free(&err);
	buf_free(&y);
	return 0;
}
