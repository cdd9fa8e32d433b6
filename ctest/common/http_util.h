/*
 * http_util.h - helpers shared by the http_request() tests: option structs
 * allocated the way free_http_get_options() expects (calloc + strdup), URLs for
 * the harness servers, and the expected contents of the served files.
 */
#ifndef ISULA_CTEST_HTTP_UTIL_H
#define ISULA_CTEST_HTTP_UTIL_H

#include <stddef.h>

#include "http.h"

/* calloc'd options (free with free_http_get_options) */
struct http_get_options *ctest_new_options(void);

/* "http://127.0.0.1:HTTP_PORT<path>" etc. (malloc'd) */
char *ctest_http_url(const char *path);
char *ctest_https_url(const char *path);
char *ctest_mtls_url(const char *path);
char *ctest_registry_url(const char *path);

/* malloc'd "CERT_DIR/<name>" */
char *ctest_cert(const char *name);

/* Load DATA_DIR/hello.txt and DATA_DIR/blob.bin once; 0 on success. */
int ctest_load_expected(void);
void ctest_free_expected(void);
extern char *g_hello;      /* NUL terminated */
extern size_t g_hello_len;
extern char *g_blob;       /* 4 MiB random */
extern size_t g_blob_len;

/* Compare a file with expected bytes; prints the first difference. 1 when equal. */
int ctest_file_equals(const char *path, const char *expected, size_t expected_len);

/* Print the interesting fields after a failed request. */
void ctest_dump_result(const char *what, int ret, long code, const struct http_get_options *o);

/* GET url into a fresh Buffer (*out; the caller frees it); prints the outcome on failure */
int ctest_get_to_buffer(const char *url, struct http_get_options *o, long *code, Buffer **out);

/* GET url (with_body set) and check: success, HTTP 200, body equal to hello.txt */
void ctest_check_hello(const char *url, struct http_get_options *o);

#endif
