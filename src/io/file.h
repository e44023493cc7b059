/*
 * file.h — how the library opens and reads every input file: CSV, .npy,
 * and the safetensors-based model and fusion files.  One place decides what
 * may be read and how much of it, so that no format reads without bound.
 *
 * Rules:
 *   - a regular file is read whole (its size from fstat; memory is the
 *     limit);
 *   - a pipe or FIFO (e.g. bash's `<(zcat x.csv.gz)`) is read up to
 *     LF_IO_STREAM_MAX bytes; more is an error, never a truncation;
 *   - a folder, a character or block device (`/dev/zero`, a terminal) and
 *     a socket are refused, also through a symlink, before anything is
 *     read;
 *   - opening never blocks: a FIFO with no writer reads as empty, which is
 *     an error of its own ("nothing was written to it").
 */
#ifndef LF_IO_FILE_H
#define LF_IO_FILE_H

#include "internal.h"

#include <sys/stat.h>

/* The most bytes read from an input that is not a regular file. */
#define LF_IO_STREAM_MAX ((size_t)1 << 30)

/* Opens path read-only (without blocking on a FIFO and without taking a
 * terminal as controlling terminal), fstat()s it into *sb and refuses what
 * the rules above refuse, with LF_ERR_IO (LF_ERR_ARG for an empty path) and
 * a message naming the path.  On success *fd is a blocking descriptor of a
 * regular file, a pipe or a FIFO, to be closed by the caller; on failure
 * *fd is -1. */
lf_status lf_io_open(const char *path, int *fd, struct stat *sb, lf_err *e);

/* Reads everything from fd (not closed) into a fresh LF_MALLOC buffer
 * (*buf, *len) with one extra byte set to 0 after the data (so *buf is
 * never NULL, even for an empty input).  Input that is not a regular file
 * may give at most stream_max bytes.  `name` names fd in messages. */
lf_status lf_io_read_fd(int fd, const char *name, size_t stream_max, unsigned char **buf, size_t *len,
                        lf_err *e);

/* lf_io_open, then lf_io_read_fd with LF_IO_STREAM_MAX. */
lf_status lf_io_read_file(const char *path, unsigned char **buf, size_t *len, lf_err *e);

#endif
