/*
 * http_util.c - helpers for the http_request() tests (see http_util.h).
 */
#define _GNU_SOURCE
#include "http_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "util.h"
#include "check.h"

char *g_hello;
size_t g_hello_len;
char *g_blob;
size_t g_blob_len;

struct http_get_options *ctest_new_options(void)
{
    struct http_get_options *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        abort();
    }
    return o;
}

char *ctest_http_url(const char *path)
{
    return ctest_sprintf("http://127.0.0.1:%s%s", ctest_env_req("HTTP_PORT"), path);
}

char *ctest_https_url(const char *path)
{
    return ctest_sprintf("https://127.0.0.1:%s%s", ctest_env_req("HTTPS_PORT"), path);
}

char *ctest_mtls_url(const char *path)
{
    return ctest_sprintf("https://127.0.0.1:%s%s", ctest_env_req("MTLS_PORT"), path);
}

char *ctest_registry_url(const char *path)
{
    return ctest_sprintf("http://127.0.0.1:%s%s", ctest_env_req("REGISTRY_PORT"), path);
}

char *ctest_cert(const char *name)
{
    return ctest_sprintf("%s/%s", ctest_env_req("CERT_DIR"), name);
}

int ctest_load_expected(void)
{
    char *p = ctest_sprintf("%s/hello.txt", ctest_env_req("DATA_DIR"));

    g_hello = ctest_read_file(p, &g_hello_len);
    if (g_hello == NULL) {
        perror(p);
    }
    free(p);
    p = ctest_sprintf("%s/blob.bin", ctest_env_req("DATA_DIR"));
    g_blob = ctest_read_file(p, &g_blob_len);
    if (g_blob == NULL) {
        perror(p);
    }
    free(p);
    if (g_hello == NULL || g_blob == NULL || g_hello_len == 0 ||
        g_blob_len != (size_t)strtoull(ctest_env_req("BLOB_SIZE"), NULL, 10)) {
        fprintf(stderr, "could not load the expected files from DATA_DIR\n");
        return -1;
    }
    return 0;
}

void ctest_free_expected(void)
{
    free(g_hello);
    free(g_blob);
    g_hello = NULL;
    g_blob = NULL;
}

int ctest_file_equals(const char *path, const char *expected, size_t expected_len)
{
    size_t len = 0;
    size_t i;
    char *data = ctest_read_file(path, &len);
    int equal;

    if (data == NULL) {
        printf("    cannot read %s\n", path);
        return 0;
    }
    equal = len == expected_len && memcmp(data, expected, len) == 0;
    if (!equal) {
        for (i = 0; i < len && i < expected_len && data[i] == expected[i]; i++) {
        }
        printf("    %s: %zu bytes, expected %zu; first difference at byte %zu\n", path, len,
               expected_len, i);
    }
    free(data);
    return equal;
}

void ctest_dump_result(const char *what, int ret, long code, const struct http_get_options *o)
{
    printf("    %s: ret=%d response_code=%ld errcode=%d errmsg=%s\n", what, ret, code,
           o != NULL ? o->errcode : -1, (o != NULL && o->errmsg != NULL) ? o->errmsg : "(null)");
}

int ctest_get_to_buffer(const char *url, struct http_get_options *o, long *code, Buffer **out)
{
    int ret;

    *out = buffer_alloc(64);
    if (*out == NULL) {
        return -2;
    }
    o->outputtype = HTTP_REQUEST_STRBUF;
    o->output = *out;
    ret = http_request(url, o, code, 0);
    if (ret != 0) {
        ctest_dump_result(url, ret, *code, o);
    }
    return ret;
}

void ctest_check_hello(const char *url, struct http_get_options *o)
{
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_STR(b->contents, g_hello);
    }
    buffer_free(b);
}
