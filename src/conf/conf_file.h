/* Config file I/O: whole-file reads with identity (for change detection) and
 * atomic replacement (write temp, fsync, rename, fsync directory).
 *
 * Internal to src/conf. */
#ifndef TERN_CONF_FILE_H
#define TERN_CONF_FILE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "core/buf.h"

/** Reads the whole file at path into data (appended). When sb is not NULL it
 * gets the fstat of the opened file. On error appends `path: message\n` to err
 * and returns -1. Files larger than CONF_YAML_MAX_BYTES are refused. */
int conf_file_read(const char *path, struct buf *data, struct stat *sb, struct buf *err);

/** The absolute directory holding path (symlinks in the directory part
 * resolved). Caller frees. Falls back to dirname(path) if it cannot be resolved. */
char *conf_file_dir(const char *path);

/** Replaces path with data atomically: writes `<path>.tmp` in the same
 * directory, fsyncs it, renames it over path and fsyncs the directory. On
 * error the temp file is removed, path is untouched, `path: message\n` is
 * appended to err and -1 is returned. */
int conf_file_replace(const char *path, const void *data, size_t len, struct buf *err);

/** Whether two stat results describe the same file version (device, inode,
 * size and modification time). */
bool conf_file_same(const struct stat *a, const struct stat *b);

#endif
