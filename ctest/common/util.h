/*
 * util.h - small helpers for the isula-registry C tests: formatted strings,
 * whole-file reads, temp paths under the harness' TMP_DIR, NULL-terminated
 * string arrays. All returned memory is malloc'd and owned by the caller.
 */
#ifndef ISULA_CTEST_UTIL_H
#define ISULA_CTEST_UTIL_H

#include <stddef.h>

/* malloc'd printf; aborts the process on OOM */
char *ctest_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* strdup that aborts on OOM */
char *ctest_strdup(const char *s);

/* Read a whole file (NUL terminated, length without the NUL in *len). NULL on error. */
char *ctest_read_file(const char *path, size_t *len);
/* Write len bytes to path (create/truncate). 0 on success. */
int ctest_write_file(const char *path, const void *data, size_t len);
/* Size of a file, -1 when it cannot be stat'ed */
long long ctest_file_size(const char *path);

/* Remove path and everything below it (no error when it does not exist). 0 on success. */
int ctest_rm_rf(const char *path);

/* "$TMP_DIR/<name>-<pid>" (unique per process so parallel runs do not clash) */
char *ctest_tmp_path(const char *name);

/* NULL-terminated malloc'd array of malloc'd copies of the given strings */
char **ctest_str_array(const char *first, ...);

/* Open a TCP socket bound to 127.0.0.1:<ephemeral> that does NOT listen, so that a
 * connect to that port is refused. Returns the fd (close it) and sets *port. */
int ctest_refusing_port(int *port);

#endif
