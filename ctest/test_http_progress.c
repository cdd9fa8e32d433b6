/*
 * test_http_progress.c - http_request() progress callback (show_progress +
 * xferinfo/xferinfo_op), aborting a transfer from the callback (errcode 42)
 * and resuming a truncated download (resume = true, Range from the file size).
 * Uses the rate-limited /slow/blob.bin (about 3.5 s for 4 MiB).
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

#define PROGRESS_MAGIC 0x1517A8E6u
#define MIB (1024 * 1024)

struct progress_probe {
    unsigned magic;
    long calls;
    long bad_pointer_calls;
    long decreasing;
    curl_off_t last_dlnow;
    curl_off_t last_dltotal;
    curl_off_t max_dlnow;
    curl_off_t max_dltotal;
    curl_off_t abort_at; /* return 1 once dlnow >= abort_at (0: never) */
    long aborts;
};

static struct progress_probe *g_expected_probe;

static int probe_cb(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct progress_probe *pr = p;

    (void)ultotal;
    (void)ulnow;
    if (pr != g_expected_probe || pr == NULL || pr->magic != PROGRESS_MAGIC) {
        /* cannot record into pr; count on the expected one */
        if (g_expected_probe != NULL) {
            g_expected_probe->bad_pointer_calls++;
        }
        return 0;
    }
    pr->calls++;
    if (dlnow < pr->last_dlnow) {
        pr->decreasing++;
    }
    pr->last_dlnow = dlnow;
    pr->last_dltotal = dltotal;
    if (dlnow > pr->max_dlnow) {
        pr->max_dlnow = dlnow;
    }
    if (dltotal > pr->max_dltotal) {
        pr->max_dltotal = dltotal;
    }
    if (pr->abort_at > 0 && dlnow >= pr->abort_at) {
        pr->aborts++;
        return 1;
    }
    return 0;
}

static void probe_init(struct progress_probe *pr)
{
    memset(pr, 0, sizeof(*pr));
    pr->magic = PROGRESS_MAGIC;
    g_expected_probe = pr;
}

static void probe_print(const char *what, const struct progress_probe *pr)
{
    printf("    %s: %ld callback calls, last dlnow=%lld dltotal=%lld, max dlnow=%lld dltotal=%lld\n", what,
           pr->calls, (long long)pr->last_dlnow, (long long)pr->last_dltotal, (long long)pr->max_dlnow,
           (long long)pr->max_dltotal);
}

/* callback gets the caller's pointer, dlnow never decreases, ends at 4 MiB/4 MiB */
static void progress_callback_slow_blob(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/slow/blob.bin");
    char *path = ctest_tmp_path("slow-download");
    struct progress_probe pr;
    long code = 0;
    int ret;

    probe_init(&pr);
    o->with_body = 1;
    o->outputtype = HTTP_REQUEST_FILE;
    o->output = path;
    o->show_progress = 1;
    o->xferinfo = &pr;
    o->xferinfo_op = probe_cb;
    ret = http_request(url, o, &code, 0);
    ctest_dump_result(url, ret, code, o);
    probe_print("slow blob", &pr);
    CHECK_INT(ret, 0);
    CHECK_INT(code, 200);
    CHECK_MSG(pr.calls >= 2, "progress callback called %ld times", pr.calls);
    CHECK_INT(pr.bad_pointer_calls, 0);
    CHECK_INT(pr.decreasing, 0);
    CHECK_INT(pr.max_dlnow, g_blob_len);
    CHECK_INT(pr.last_dlnow, g_blob_len);
    CHECK_INT(pr.last_dltotal, g_blob_len);
    CHECK_MSG(ctest_file_equals(path, g_blob, g_blob_len), "slow download differs from blob.bin");
    unlink(path);
    free(path);
    free_http_get_options(o);
    free(url);
    g_expected_probe = NULL;
}

/* a non-zero callback return aborts: -1, errcode 42 (CURLE_ABORTED_BY_CALLBACK) */
static void abort_from_callback(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/slow/blob.bin");
    char *path = ctest_tmp_path("aborted-download");
    struct progress_probe pr;
    long code = 0;
    long long size;
    int ret;

    probe_init(&pr);
    pr.abort_at = MIB;
    o->with_body = 1;
    o->outputtype = HTTP_REQUEST_FILE;
    o->output = path;
    o->show_progress = 1;
    o->xferinfo = &pr;
    o->xferinfo_op = probe_cb;
    ret = http_request(url, o, &code, 0);
    ctest_dump_result(url, ret, code, o);
    probe_print("abort", &pr);
    CHECK_INT(ret, -1);
    CHECK_INT(o->errcode, 42);
    CHECK_MSG(o->errmsg != NULL && o->errmsg[0] != '\0', "errmsg not set");
    CHECK_MSG(pr.aborts == 1, "callback asked to abort %ld times, expected exactly once", pr.aborts);
    size = ctest_file_size(path);
    CHECK_MSG(size < (long long)g_blob_len, "aborted download has the full size %lld", size);
    unlink(path);
    free(path);
    free_http_get_options(o);
    free(url);
    g_expected_probe = NULL;
}

/* resume: keep the first MiB, the library asks for the rest (Range) and appends */
static void resume_truncated_blob(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/blob.bin");
    char *path = ctest_tmp_path("resume-download");
    struct progress_probe pr;
    const curl_off_t remaining = (curl_off_t)g_blob_len - MIB;
    long code = 0;
    int ret;

    REQUIRE(ctest_write_file(path, g_blob, MIB) == 0);
    probe_init(&pr);
    o->with_body = 1;
    o->resume = true;
    o->outputtype = HTTP_REQUEST_FILE;
    o->output = path;
    o->show_progress = 1;
    o->xferinfo = &pr;
    o->xferinfo_op = probe_cb;
    ret = http_request(url, o, &code, 0);
    ctest_dump_result(url, ret, code, o);
    probe_print("resume", &pr);
    CHECK_INT(ret, 0);
    CHECK_INT(code, 206);
    CHECK_INT(ctest_file_size(path), g_blob_len);
    CHECK_MSG(ctest_file_equals(path, g_blob, g_blob_len), "resumed file differs from blob.bin");
    CHECK_MSG(pr.calls >= 1, "progress callback never called");
    CHECK_INT(pr.bad_pointer_calls, 0);
    CHECK_MSG(pr.max_dlnow <= remaining, "dlnow %lld exceeds the remaining %lld bytes",
              (long long)pr.max_dlnow, (long long)remaining);
    CHECK_MSG(pr.max_dltotal <= remaining, "dltotal %lld exceeds the remaining %lld bytes",
              (long long)pr.max_dltotal, (long long)remaining);
    CHECK_INT(pr.max_dlnow, remaining);
    unlink(path);
    free(path);
    free_http_get_options(o);
    free(url);
    g_expected_probe = NULL;
}

/* resume=false on an existing partial file truncates it first */
static void no_resume_truncates(void)
{
    struct http_get_options *o = ctest_new_options();
    char *url = ctest_http_url("/static/hello.txt");
    char *path = ctest_tmp_path("no-resume");
    long code = 0;

    REQUIRE(ctest_write_file(path, g_blob, MIB) == 0);
    o->with_body = 1;
    o->outputtype = HTTP_REQUEST_FILE;
    o->output = path;
    CHECK_INT(http_request(url, o, &code, 0), 0);
    CHECK_INT(code, 200);
    CHECK_MSG(ctest_file_equals(path, g_hello, g_hello_len), "file not truncated before the download");
    unlink(path);
    free(path);
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

    RUN_CASE(progress_callback_slow_blob);
    RUN_CASE(abort_from_callback);
    RUN_CASE(resume_truncated_blob);
    RUN_CASE(no_resume_truncates);

    http_global_cleanup();
    rc = ctest_finish();
    ctest_free_expected();
    ctest_env_free();
    return rc;
}
