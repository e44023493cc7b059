/*
 * input.h — a matrix input as a user names it, whatever form it has
 * (input.c has the rules): "-" (standard input), a file, or
 * "archive.npz:KEY"; a .npy, a .npz member, or a text table (CSV, or
 * columns separated by spaces or tabs), told by the content, with the
 * extension as a hint.
 */
#ifndef LF_IO_INPUT_H
#define LF_IO_INPUT_H

#include "io/array.h"

/* Whether `spec` is a .npy that lf_npy_reader_open can stream from the
 * file itself (no whole copy): a regular file that starts with the .npy
 * magic, or a name ending in .npy that does not exist (the reader then
 * gives the error).  Pipes and FIFOs are read whole.  Everything else goes through lf_input_read. */
int lf_input_streams_npy(const char *spec);

/* The file that spec reads, as a fresh string (NULL when out of memory):
 * spec itself when it exists (even with a ':' in it), else PATH for
 * "PATH:KEY" when PATH exists (the array KEY of the .npz archive PATH),
 * else spec.  "-" (standard input) gives "-". */
char *lf_input_file(const char *spec);

/* Reads the whole input named by spec into out (float32, like
 * lf_npy_parse / lf_csv_parse).  Messages name spec ("standard input" for
 * "-"). */
lf_status lf_input_read(const char *spec, lf_array *out, lf_err *e);

#endif
