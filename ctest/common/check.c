/*
 * check.c - implementation of the tiny test framework declared in check.h.
 */
#define _GNU_SOURCE
#include "check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int g_case_failures;
static int g_case_skipped;
static int g_cases;
static int g_failed_cases;
static int g_skipped_cases;
static unsigned g_case_timeout;
static const char *volatile g_current_case;

static void watchdog(int sig)
{
    static const char msg1[] = "\n[ FAIL ] watchdog: case ";
    static const char msg2[] = " did not finish in time (hang/deadlock?)\n";
    const char *name = g_current_case ? g_current_case : "?";
    ssize_t r;

    (void)sig;
    r = write(STDOUT_FILENO, msg1, sizeof(msg1) - 1);
    r = write(STDOUT_FILENO, name, strlen(name));
    r = write(STDOUT_FILENO, msg2, sizeof(msg2) - 1);
    (void)r;
    _exit(2);
}

void ctest_set_case_timeout(unsigned seconds)
{
    g_case_timeout = seconds;
    signal(SIGALRM, watchdog);
}

void ctest_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    g_case_failures++;
    fprintf(stdout, "    FAILED %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void ctest_skip(const char *fmt, ...)
{
    va_list ap;

    g_case_skipped = 1;
    fprintf(stdout, "    SKIPPED: ");
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

int ctest_case_failures(void)
{
    return g_case_failures;
}

void ctest_run_case(const char *name, void (*fn)(void))
{
    g_case_failures = 0;
    g_case_skipped = 0;
    g_cases++;
    fprintf(stdout, "[ RUN  ] %s\n", name);
    fflush(stdout);
    g_current_case = name;
    if (g_case_timeout > 0) {
        alarm(g_case_timeout);
    }
    fn();
    alarm(0);
    if (g_case_failures > 0) {
        g_failed_cases++;
        fprintf(stdout, "[ FAIL ] %s (%d failed check%s)\n", name, g_case_failures,
                g_case_failures == 1 ? "" : "s");
    } else if (g_case_skipped) {
        g_skipped_cases++;
        fprintf(stdout, "[ SKIP ] %s\n", name);
    } else {
        fprintf(stdout, "[  OK  ] %s\n", name);
    }
    fflush(stdout);
}

int ctest_finish(void)
{
    fprintf(stdout, "\n%d case(s): %d passed, %d failed, %d skipped\n", g_cases,
            g_cases - g_failed_cases - g_skipped_cases, g_failed_cases, g_skipped_cases);
    fflush(stdout);
    if (g_failed_cases > 0) {
        return 1;
    }
    if (g_cases > 0 && g_skipped_cases == g_cases) {
        return 77;
    }
    return 0;
}

int ctest_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

int ctest_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
}

int ctest_contains_ci(const char *haystack, const char *needle)
{
    return haystack != NULL && needle != NULL && strcasestr(haystack, needle) != NULL;
}
