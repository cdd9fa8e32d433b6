/*
 * test_http.c - http_request() against the harness nginx/docker-registry:
 * body/head to a Buffer or a file, HEAD, POST/PUT bodies, custom/auth/accept
 * headers, 404, redirects, unix socket, connection refused, the registry's
 * /v2/ endpoint, NULL arguments and free_http_get_options().
 * Semantics are iSulad's libhttpclient ones (see the case comments).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buffer.h"
#include "http.h"

#include "common/check.h"
#include "common/env.h"
#include "common/http_util.h"
#include "common/util.h"

/* NULL url / options return -1 and never crash */
static void null_arguments(void)
{
    struct http_get_options *o = ctest_new_options();
    long code = 0;
    char *url = ctest_http_url("/static/hello.txt");

    CHECK_INT(http_request(NULL, o, &code, 0), -1);
    CHECK_INT(http_request(url, NULL, &code, 0), -1);
    free_http_get_options(NULL);
    free_http_get_options(o);
    free(url);
}

/* a NULL response_code pointer is allowed (iSulad checks it) */
static void null_response_code(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/hello.txt");
    Buffer *b = buffer_alloc(64);

    REQUIRE(b != NULL);
    o->with_body = 1;
    o->outputtype = HTTP_REQUEST_STRBUF;
    o->output = b;
    CHECK_INT(http_request(url, o, NULL, 0), 0);
    CHECK_STR(b->contents, g_hello);
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

static void body_to_buffer(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_STR(b->contents, g_hello);
        CHECK_INT(b->bytes_used, g_hello_len);
    }
    CHECK(o->errmsg == NULL);
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* body to a file: created/truncated, byte-identical to the served blob */
static void body_to_file(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/blob.bin");
    char *path = ctest_tmp_path("blob-download");
    char junk[8192];
    long code = 0;
    int ret;
    int i;
    FILE *f;

    /* pre-existing longer garbage must be truncated */
    memset(junk, 'J', sizeof(junk));
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    for (i = 0; i < 640; i++) {
        REQUIRE(fwrite(junk, 1, sizeof(junk), f) == sizeof(junk));
    }
    fclose(f);

    o->with_body = 1;
    o->outputtype = HTTP_REQUEST_FILE;
    o->output = path;
    ret = http_request(url, o, &code, 0);
    if (ret != 0) {
        ctest_dump_result(url, ret, code, o);
    }
    CHECK_INT(ret, 0);
    CHECK_INT(code, 200);
    CHECK_INT(ctest_file_size(path), g_blob_len);
    CHECK_MSG(ctest_file_equals(path, g_blob, g_blob_len), "%s differs from blob.bin", path);
    unlink(path);
    free(path);
    free_http_get_options(o);
    free(url);
}

/* with_head + with_body: "HTTP/1.1 200 OK\r\n...\r\n\r\n" then the body */
static void head_and_body_to_buffer(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/hello.txt");
    Buffer *b = NULL;
    long code = 0;
    const char *sep;

    o->with_head = 1;
    o->with_body = 1;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    REQUIRE(b != NULL && b->contents != NULL);
    CHECK_MSG(strncmp(b->contents, "HTTP/1.1 200", 12) == 0, "head does not start with HTTP/1.1 200: \"%.40s\"",
              b->contents);
    sep = strstr(b->contents, "\r\n\r\n");
    CHECK_MSG(sep != NULL, "no \\r\\n\\r\\n in \"%s\"", b->contents);
    if (sep != NULL) {
        CHECK_STR(sep + 4, g_hello);
    }
    CHECK(ctest_contains_ci(b->contents, "content-length:"));
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* with_head=1, with_body=0: a HEAD request, only the head is written */
static void head_only(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/hello.txt");
    char *clen = ctest_sprintf("Content-Length: %zu\r\n", g_hello_len);
    Buffer *b = NULL;
    long code = 0;
    size_t n;

    o->with_head = 1;
    o->with_body = 0;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    REQUIRE(b != NULL && b->contents != NULL);
    n = strlen(b->contents);
    CHECK_MSG(strncmp(b->contents, "HTTP/1.1 200", 12) == 0, "head does not start with HTTP/1.1 200");
    CHECK_MSG(n >= 4 && strcmp(b->contents + n - 4, "\r\n\r\n") == 0,
              "HEAD output must end with the blank line (no body): \"%s\"", b->contents);
    CHECK(!ctest_contains(b->contents, g_hello));
    CHECK_CONTAINS(b->contents, clen);
    buffer_free(b);
    free(clen);
    free_http_get_options(o);
    free(url);
}

/* true when some line of BODY_LOG equals line. nginx writes its access log
 * after the response went out, so poll for up to 3 s. */
static int body_log_has(const char *line)
{
    int attempt;

    for (attempt = 0; attempt < 60; attempt++) {
        char *log = ctest_read_file(ctest_env_req("BODY_LOG"), NULL);
        char *p;
        char *save = NULL;
        int found = 0;

        if (log != NULL) {
            for (p = strtok_r(log, "\n", &save); p != NULL; p = strtok_r(NULL, "\n", &save)) {
                if (strcmp(p, line) == 0) {
                    found = 1;
                    break;
                }
            }
            free(log);
        }
        if (found) {
            return 1;
        }
        usleep(50 * 1000);
    }
    printf("    body.log has no line \"%s\"\n", line);
    return 0;
}

/* input/input_len -> POST; with_header_json -> Content-Type: application/json */
static void post_json(void)
{
    struct http_get_options *o = ctest_new_options();
    char *path = ctest_sprintf("/post?id=%ld", (long)getpid());
    char *url = ctest_http_url(path);
    char *expected = ctest_sprintf("POST application/json {\"a\":1} %s", path);
    char body[] = "{\"a\":1}";
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    o->with_header_json = 1;
    o->input = body;
    o->input_len = strlen(body);
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_STR(b->contents, "ok\n");
    }
    CHECK(body_log_has(expected));
    buffer_free(b);
    free(expected);
    free(url);
    free(path);
    free_http_get_options(o);
}

/* method "PUT" overrides the verb; the uploaded body is read back with GET */
static void put_method_then_get(void)
{
    struct http_get_options *o = ctest_new_options();
    char *name = ctest_sprintf("/upload/put-%ld.txt", (long)getpid());
    char *url = ctest_http_url(name);
    char *content = ctest_sprintf("uploaded by pid %ld\n", (long)getpid());
    char *disk = ctest_sprintf("%s/put-%ld.txt", ctest_env_req("UPLOAD_DIR"), (long)getpid());
    char method[] = "PUT";
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    o->method = method;
    o->input = content;
    o->input_len = strlen(content);
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_MSG(code == 201 || code == 204, "PUT response_code %ld, expected 201/204", code);
    CHECK_MSG(ctest_file_equals(disk, content, strlen(content)), "uploaded file differs");
    buffer_free(b);
    free_http_get_options(o);

    /* read it back */
    o = ctest_new_options();
    o->with_body = 1;
    b = NULL;
    code = 0;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_STR(b->contents, content);
    }
    buffer_free(b);
    free_http_get_options(o);
    unlink(disk);
    free(disk);
    free(content);
    free(url);
    free(name);
}

/* custom_headers: NULL-terminated array of full header lines */
static void custom_headers(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/headers");
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    o->custom_headers = ctest_str_array("X-Test: custom-value-42", "Accept: text/x-custom", NULL);
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_CONTAINS(b->contents, "x-test=custom-value-42\n");
        CHECK_CONTAINS(b->contents, "accept=text/x-custom\n");
        CHECK_CONTAINS(b->contents, "method=GET\n");
    }
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* with_header_auth/_accept/_json send the headers; without the flags the
 * authorization/accepts strings are not sent */
static void auth_accept_json_headers(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/headers");
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    o->with_header_auth = 1;
    o->authorization = ctest_strdup("Bearer token-abc.def");
    o->with_header_accept = 1;
    o->accepts = ctest_strdup("application/vnd.docker.distribution.manifest.v2+json");
    o->with_header_json = 1;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_CONTAINS(b->contents, "authorization=Bearer token-abc.def\n");
        CHECK_CONTAINS(b->contents, "accept=application/vnd.docker.distribution.manifest.v2+json\n");
        CHECK_CONTAINS(b->contents, "content-type=application/json\n");
    }
    buffer_free(b);
    free_http_get_options(o);

    o = ctest_new_options();
    o->with_body = 1;
    o->authorization = ctest_strdup("Bearer must-not-be-sent");
    o->accepts = ctest_strdup("application/must-not-be-sent");
    b = NULL;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_CONTAINS(b->contents, "authorization=\n");
        CHECK_CONTAINS(b->contents, "content-type=\n");
        CHECK_MSG(!ctest_contains(b->contents, "must-not-be-sent"), "header sent without its flag: %s",
                  b->contents);
    }
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* an HTTP error status is not a transport error: 0 + response_code 404 */
static void status_404(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/status/404");
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 404);
    if (b != NULL) {
        CHECK_STR(b->contents, "not found\n");
    }
    CHECK(o->errmsg == NULL);
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

static void unix_socket(void)
{
    struct http_get_options *o = ctest_new_options();
    Buffer *b = NULL;
    long code = 0;

    o->with_body = 1;
    o->unix_socket_path = ctest_strdup(ctest_env_req("UNIX_SOCK"));
    CHECK_INT(ctest_get_to_buffer("http://localhost/static/hello.txt", o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_STR(b->contents, g_hello);
    }
    buffer_free(b);
    free_http_get_options(o);
}

/* redirects are followed; only the final body ends up in the buffer */
static void redirect_to_buffer(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/redirect");

    o->with_body = 1;
    ctest_check_hello(url, o);
    free_http_get_options(o);
    free(url);
}

static void redirect_to_file(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/redirect");
    char *path = ctest_tmp_path("redirect-download");
    long code = 0;
    int ret;

    o->with_body = 1;
    o->outputtype = HTTP_REQUEST_FILE;
    o->output = path;
    ret = http_request(url, o, &code, 0);
    if (ret != 0) {
        ctest_dump_result(url, ret, code, o);
    }
    CHECK_INT(ret, 0);
    CHECK_INT(code, 200);
    CHECK_MSG(ctest_file_equals(path, g_hello, g_hello_len), "redirected file differs from hello.txt");
    unlink(path);
    free(path);
    free_http_get_options(o);
    free(url);
}

/* transport failure: -1, errmsg (malloc'd, freed by free_http_get_options), errcode 7 */
static void connection_refused(void)
{
    struct http_get_options *o = ctest_new_options();
    Buffer *b = NULL;
    long code = 0;
    int port = 0;
    int fd = ctest_refusing_port(&port);
    char *url;

    REQUIRE(fd >= 0);
    url = ctest_sprintf("http://127.0.0.1:%d/", port);
    o->with_body = 1;
    b = buffer_alloc(64);
    REQUIRE(b != NULL);
    o->outputtype = HTTP_REQUEST_STRBUF;
    o->output = b;
    CHECK_INT(http_request(url, o, &code, 0), -1);
    CHECK_MSG(o->errmsg != NULL && o->errmsg[0] != '\0', "errmsg not set");
    CHECK_INT(o->errcode, 7); /* CURLE_COULDNT_CONNECT */
    printf("    errmsg: %s\n", o->errmsg ? o->errmsg : "(null)");
    close(fd);
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* docker-registry's API root with the response head */
static void registry_v2_head(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_registry_url("/v2/");
    Buffer *b = NULL;
    long code = 0;

    o->with_head = 1;
    o->with_body = 1;
    o->timeout = true;
    CHECK_INT(ctest_get_to_buffer(url, o, &code, &b), 0);
    CHECK_INT(code, 200);
    if (b != NULL) {
        CHECK_MSG(strncmp(b->contents, "HTTP/1.1 200", 12) == 0, "head does not start with HTTP/1.1 200");
        CHECK_CONTAINS(b->contents, "Docker-Distribution-Api-Version: registry/2.0\r\n");
        CHECK_MSG(b->bytes_used >= 6 && strcmp(b->contents + b->bytes_used - 6, "\r\n\r\n{}") == 0,
                  "registry body is not {}: \"%s\"", b->contents);
    }
    buffer_free(b);
    free_http_get_options(o);
    free(url);
}

/* timeout=true must not disturb a normal request */
static void timeout_option(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/hello.txt");

    o->with_body = 1;
    o->timeout = true;
    ctest_check_hello(url, o);
    free_http_get_options(o);
    free(url);
}

/* free_http_get_options frees every owned field (valgrind reports leaks) */
static void free_all_owned_fields(void)
{
    struct http_get_options *o = ctest_new_options();
    char method[] = "GET";
    char input[] = "x";

    o->accepts = ctest_strdup("a/b");
    o->authorization = ctest_strdup("Basic eDp5");
    o->unix_socket_path = ctest_strdup("/nonexistent.sock");
    o->custom_headers = ctest_str_array("A: 1", "B: 2", "C: 3", NULL);
    o->ca_file = ctest_strdup("/nonexistent/ca.crt");
    o->cert_file = ctest_strdup("/nonexistent/c.cert");
    o->key_file = ctest_strdup("/nonexistent/c.key");
    o->errmsg = ctest_strdup("previous error");
    /* not owned: */
    o->method = method;
    o->input = input;
    o->input_len = 1;
    free_http_get_options(o);
    /* nothing to assert here: the _valgrind variant reports any leaked field */
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

    RUN_CASE(null_arguments);
    RUN_CASE(null_response_code);
    RUN_CASE(body_to_buffer);
    RUN_CASE(body_to_file);
    RUN_CASE(head_and_body_to_buffer);
    RUN_CASE(head_only);
    RUN_CASE(post_json);
    RUN_CASE(put_method_then_get);
    RUN_CASE(custom_headers);
    RUN_CASE(auth_accept_json_headers);
    RUN_CASE(status_404);
    RUN_CASE(unix_socket);
    RUN_CASE(redirect_to_buffer);
    RUN_CASE(redirect_to_file);
    RUN_CASE(connection_refused);
    RUN_CASE(registry_v2_head);
    RUN_CASE(timeout_option);
    RUN_CASE(free_all_owned_fields);

    http_global_cleanup();
    rc = ctest_finish();
    ctest_free_expected();
    ctest_env_free();
    return rc;
}
