/*
 * check.h - a very small test framework for the isula-registry C tests.
 *
 * Each test case is a `static void name(void)` run through RUN_CASE(name); every
 * failed CHECK prints file:line and what was expected, and marks the case as
 * failed. ctest_finish() prints a summary and returns the process exit code
 * (0 all passed, 1 any failure, 77 when everything was skipped).
 */
#ifndef ISULA_CTEST_CHECK_H
#define ISULA_CTEST_CHECK_H

#include <stddef.h>

void ctest_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ctest_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* abort the process (exit 2, naming the case) when one case runs longer than this */
void ctest_set_case_timeout(unsigned seconds);
void ctest_run_case(const char *name, void (*fn)(void));
int ctest_finish(void);
/* number of failures recorded in the current case so far */
int ctest_case_failures(void);

/* string helpers tolerant of NULL */
int ctest_str_eq(const char *a, const char *b);
int ctest_contains(const char *haystack, const char *needle);
int ctest_contains_ci(const char *haystack, const char *needle);

#define RUN_CASE(fn) ctest_run_case(#fn, fn)

#define CHECK(cond)                                                  \
    do {                                                             \
        if (!(cond)) {                                               \
            ctest_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);      \
        }                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                         \
    do {                                                             \
        if (!(cond)) {                                               \
            ctest_fail(__FILE__, __LINE__, __VA_ARGS__);             \
        }                                                            \
    } while (0)

#define CHECK_INT(actual, expected)                                               \
    do {                                                                          \
        long long ctest_a_ = (long long)(actual);                                 \
        long long ctest_e_ = (long long)(expected);                               \
        if (ctest_a_ != ctest_e_) {                                               \
            ctest_fail(__FILE__, __LINE__, "%s is %lld, expected %lld (%s)",      \
                       #actual, ctest_a_, ctest_e_, #expected);                   \
        }                                                                         \
    } while (0)

#define CHECK_STR(actual, expected)                                                      \
    do {                                                                                 \
        const char *ctest_a_ = (actual);                                                 \
        const char *ctest_e_ = (expected);                                               \
        if (!ctest_str_eq(ctest_a_, ctest_e_)) {                                         \
            ctest_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", #actual,     \
                       ctest_a_ ? ctest_a_ : "(null)", ctest_e_ ? ctest_e_ : "(null)"); \
        }                                                                                \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                   \
    do {                                                                                   \
        const char *ctest_h_ = (haystack);                                                 \
        const char *ctest_n_ = (needle);                                                   \
        if (!ctest_contains(ctest_h_, ctest_n_)) {                                         \
            ctest_fail(__FILE__, __LINE__, "%s does not contain \"%s\"; it is: \"%s\"",    \
                       #haystack, ctest_n_, ctest_h_ ? ctest_h_ : "(null)");               \
        }                                                                                  \
    } while (0)

/* stop the current case when a precondition failed (e.g. allocation) */
#define REQUIRE(cond)                                                \
    do {                                                             \
        if (!(cond)) {                                               \
            ctest_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);    \
            return;                                                  \
        }                                                            \
    } while (0)

#endif
