/* Durations as written in config and CLI: `30s`, `7m30s`, `72h`, `1h58m3s`.
 *
 * Values are int64 milliseconds. */
#ifndef TERN_CONF_DURATION_H
#define TERN_CONF_DURATION_H

#include <stddef.h>
#include <stdint.h>

/** Longest formatted duration plus NUL. */
#define CONF_DURATION_STRLEN 40

/** Parses a sequence of `<digits><unit>` parts, units `h`, `m`, `s`, `ms`, each
 * unit at most once and in that order (`1h58m3s`, `7m30s500ms`), or a bare `0`.
 * A leading `-` is rejected. Returns 0 and sets *ms, or -1 on bad syntax or
 * overflow (more than about 292 million years). */
int conf_duration_parse(const char *s, int64_t *ms);

/** Formats ms rounded to whole seconds, largest units first and zero parts
 * left out: `7m29s`, `1h58m3s`, `2h`, `0s`. Negative values get a leading `-`.
 * Writes into out (CONF_DURATION_STRLEN bytes) and returns out. */
char *conf_duration_format(int64_t ms, char *out);

/** Like conf_duration_format but exact: a millisecond remainder is kept as
 * `<n>ms` (`1m500ms`), so conf_duration_parse gives back the same value.
 * Used when writing config files. */
char *conf_duration_format_exact(int64_t ms, char *out);

#endif
