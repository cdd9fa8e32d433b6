/*
 * test_authz.c - authz_http_request(), which always talks to the fixed
 * AUTHZ_UNIX_SOCK (/run/isulad/plugins/authz-broker.sock). The harness makes
 * nginx listen there (root only, and only if the path did not exist); the
 * stub answers 200, or 403 when the request body contains "deny". Without the
 * socket every case is skipped (exit code 77).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

#include "common/check.h"
#include "common/env.h"
#include "common/util.h"

static int have_socket(void)
{
    const char *s = ctest_env("AUTHZ_SOCK");

    if (s == NULL || s[0] == '\0') {
        ctest_skip("harness does not serve %s (not root, or the path already existed)", AUTHZ_UNIX_SOCK);
        return 0;
    }
    return 1;
}

/* poll AUTHZ_LOG (nginx logs after answering) for a JSON POST mentioning a and b */
static int authz_log_has(const char *a, const char *b)
{
    char *log = NULL;
    int attempt;

    for (attempt = 0; attempt < 60; attempt++) {
        char *copy;
        char *line;
        char *save = NULL;

        free(log);
        log = ctest_read_file(ctest_env_req("AUTHZ_LOG"), NULL);
        if (log != NULL) {
            copy = ctest_strdup(log);
            for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "POST application/json ", 22) == 0 && strstr(line, a) != NULL &&
                    strstr(line, b) != NULL) {
                    free(copy);
                    free(log);
                    return 1;
                }
            }
            free(copy);
        }
        usleep(50 * 1000);
    }
    printf("    authz.log has no JSON POST mentioning %s and %s:\n%s\n", a, b, log ? log : "(unreadable)");
    free(log);
    return 0;
}

static void authz_allowed(void)
{
    char *resp = NULL;
    char *user;
    int ret;

    if (!have_socket()) {
        return;
    }
    user = ctest_sprintf("alice%ld", (long)getpid());
    ret = authz_http_request(user, "container_create", &resp);
    printf("    authz_http_request -> %d, resp=%s\n", ret, resp ? resp : "(null)");
    CHECK_INT(ret, 0);
    CHECK(authz_log_has(user, "container_create"));
    free(resp);
    free(user);
}

static void authz_denied(void)
{
    char *resp = NULL;
    char *user;
    int ret;

    if (!have_socket()) {
        return;
    }
    user = ctest_sprintf("bob%ld", (long)getpid());
    ret = authz_http_request(user, "deny_container_delete", &resp);
    printf("    authz_http_request -> %d, resp=%s\n", ret, resp ? resp : "(null)");
    CHECK_INT(ret, -1);
    CHECK_MSG(resp != NULL && resp[0] != '\0', "no message for a denied request");
    CHECK(authz_log_has(user, "deny_container_delete"));
    free(resp);
    free(user);
}

static void authz_null_arguments(void)
{
    char *resp = NULL;

    CHECK_INT(authz_http_request(NULL, "container_create", &resp), -1);
    free(resp);
    resp = NULL;
    CHECK_INT(authz_http_request("alice", NULL, &resp), -1);
    free(resp);
}

int main(void)
{
    int rc;

    if (ctest_env_load() != 0) {
        return 1;
    }
    ctest_set_case_timeout(90);
    http_global_init();

    RUN_CASE(authz_allowed);
    RUN_CASE(authz_denied);
    RUN_CASE(authz_null_arguments);

    http_global_cleanup();
    rc = ctest_finish();
    ctest_env_free();
    return rc;
}
