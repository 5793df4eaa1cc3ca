/* Structural pre-check of msgpack bytes before msgpack-c unpacks them.
 *
 * msgpack-c allocates containers by their declared element count before it
 * knows the bytes exist, so 6 bytes can demand gigabytes. Every decoder of
 * untrusted or stored msgpack runs this first. */
#ifndef TERN_CORE_MPCHECK_H
#define TERN_CORE_MPCHECK_H

#include <stddef.h>
#include <stdint.h>

/** Returns 0 when p[0..n) is exactly one well-formed msgpack object whose declared
 * element counts are backed by bytes (each element needs at least one), else -1. */
int mpcheck_one(const uint8_t *p, size_t n);

#endif
