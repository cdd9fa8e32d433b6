/*
 * test_http_tls.c - http_request() over TLS against the harness nginx:
 * server verification with the right CA, the wrong CA (errcode 60), no CA
 * (system store), verification switched off, and the mutual-TLS listener with
 * and without the client certificate (cert_file/key_file).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "http.h"

#include "common/check.h"
#include "common/env.h"
#include "common/http_util.h"
#include "common/util.h"

/* GET hello.txt at url with o; *b gets the body */
static int fetch(const char *url, struct http_get_options *o, long *code, Buffer **b)
{
    o->with_body = 1;
    return ctest_get_to_buffer(url, o, code, b);
}

static void verify_with_right_ca(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_https_url("/static/hello.txt");

    o->ssl_verify_peer = true;
    o->ssl_verify_host = true;
    o->ca_file = ctest_cert("ca.crt");
    ctest_check_hello(url, o);
    free_http_get_options(o);
    free(url);
}

static void verify_with_wrong_ca_fails(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_https_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;

    o->ssl_verify_peer = true;
    o->ssl_verify_host = true;
    o->ca_file = ctest_cert("wrong-ca.crt");
    CHECK_INT(fetch(url, o, &code, &b), -1);
    CHECK_INT(o->errcode, 60); /* CURLE_PEER_FAILED_VERIFICATION */
    CHECK_MSG(ctest_contains_ci(o->errmsg, "ssl") || ctest_contains_ci(o->errmsg, "certificate"),
              "errmsg should mention SSL/certificate: %s", o->errmsg ? o->errmsg : "(null)");
    if (b != NULL) {
        CHECK_MSG(b->bytes_used == 0, "no body expected after a failed handshake");
    }
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* our test CA is not in the system store */
static void verify_without_ca_file_fails(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_https_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;

    o->ssl_verify_peer = true;
    o->ssl_verify_host = true;
    CHECK_INT(fetch(url, o, &code, &b), -1);
    CHECK_INT(o->errcode, 60);
    CHECK(o->errmsg != NULL);
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* a zeroed struct means no verification at all (iSulad default) */
static void no_verify_with_wrong_ca_ok(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_https_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;

    o->ca_file = ctest_cert("wrong-ca.crt");
    CHECK_INT(fetch(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_STR(b->contents, g_hello);
    }
    CHECK(o->errmsg == NULL);
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

static void mtls_without_client_cert_fails(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_mtls_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;

    o->ssl_verify_peer = true;
    o->ssl_verify_host = true;
    o->ca_file = ctest_cert("ca.crt");
    CHECK_INT(fetch(url, o, &code, &b), -1);
    CHECK_MSG(o->errcode != 0, "errcode not set");
    CHECK(o->errmsg != NULL);
    if (b != NULL) {
        CHECK_MSG(!ctest_contains(b->contents, g_hello), "body served without a client certificate");
    }
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

static void mtls_with_client_cert_ok(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_mtls_url("/static/hello.txt");

    o->ssl_verify_peer = true;
    o->ssl_verify_host = true;
    o->ca_file = ctest_cert("ca.crt");
    o->cert_file = ctest_cert("client.cert");
    o->key_file = ctest_cert("client.key");
    ctest_check_hello(url, o);
    free_http_get_options(o);
    free(url);
}

/* a client certificate from an untrusted CA (the server's own cert) is rejected */
static void mtls_with_untrusted_client_cert_fails(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_mtls_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;
    int ret;

    o->ca_file = ctest_cert("ca.crt");
    o->ssl_verify_peer = true;
    o->cert_file = ctest_cert("server.crt");
    o->key_file = ctest_cert("server.key");
    ret = fetch(url, o, &code, &b);
    /* nginx completes the handshake and answers 400 for a bad client cert */
    CHECK_MSG(ret == -1 || code == 400, "untrusted client cert accepted: ret=%d code=%ld", ret, code);
    if (b != NULL) {
        CHECK_MSG(!ctest_contains(b->contents, g_hello), "body served for an untrusted client certificate");
    }
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

int main(void)
{
    int rc;

    if (ctest_env_load() != 0 || ctest_load_expected() != 0) {
        ctest_env_free();
        ctest_free_expected();
        return 1;
    }
    ctest_set_case_timeout(90);
    http_global_init();

    RUN_CASE(verify_with_right_ca);
    RUN_CASE(verify_with_wrong_ca_fails);
    RUN_CASE(verify_without_ca_file_fails);
    RUN_CASE(no_verify_with_wrong_ca_ok);
    RUN_CASE(mtls_without_client_cert_fails);
    RUN_CASE(mtls_with_client_cert_ok);
    RUN_CASE(mtls_with_untrusted_client_cert_fails);

    http_global_cleanup();
    rc = ctest_finish();
    ctest_free_expected();
    ctest_env_free();
    return rc;
}
