/*
 * test_buffer.c - buffer.h API (iSulad's Buffer): allocation, appending with
 * growth, NUL termination, buffer_strlen/buffer_empty and NULL handling.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

#include "common/check.h"

static void alloc_zero_is_null(void)
{
    Buffer *b = buffer_alloc(0);

    CHECK_MSG(b == NULL, "buffer_alloc(0) returned %p, expected NULL", (void *)b);
    buffer_free(b);
}

static void alloc_initial_state(void)
{
    Buffer *b = buffer_alloc(16);

    REQUIRE(b != NULL);
    CHECK(b->contents != NULL);
    CHECK_INT(b->bytes_used, 0);
    CHECK_INT(b->total_size, 16);
    CHECK_INT(buffer_strlen(b), 0);
    if (b->contents != NULL) {
        CHECK_STR(b->contents, "");
    }
    buffer_free(b);
}

static void append_and_grow(void)
{
    Buffer *b = buffer_alloc(4);
    char expected[4096];
    size_t exp_len = 0;
    int i;

    REQUIRE(b != NULL);
    CHECK_INT(buffer_append(b, "abc", 3), 0);
    CHECK_INT(b->bytes_used, 3);
    CHECK_STR(b->contents, "abc");
    CHECK_INT(buffer_strlen(b), 3);
    CHECK(b->total_size >= 4);

    /* needs to grow: 3 + 5 + NUL > 4 */
    CHECK_INT(buffer_append(b, "defgh", 5), 0);
    CHECK_INT(b->bytes_used, 8);
    CHECK_STR(b->contents, "abcdefgh");
    CHECK_MSG(b->total_size >= 9, "total_size %zu too small for 8 bytes + NUL", b->total_size);

    /* append only a prefix of a longer string */
    CHECK_INT(buffer_append(b, "ijkXYZ", 3), 0);
    CHECK_STR(b->contents, "abcdefghijk");
    CHECK_INT(b->bytes_used, 11);

    /* zero-length append keeps everything */
    CHECK_INT(buffer_append(b, "", 0), 0);
    CHECK_INT(b->bytes_used, 11);
    CHECK_STR(b->contents, "abcdefghijk");

    /* many appends: grows repeatedly, always NUL terminated */
    buffer_empty(b);
    for (i = 0; i < 300; i++) {
        char piece[16];
        int n = snprintf(piece, sizeof(piece), "%d,", i);

        REQUIRE(buffer_append(b, piece, (size_t)n) == 0);
        memcpy(expected + exp_len, piece, (size_t)n);
        exp_len += (size_t)n;
        expected[exp_len] = '\0';
        if (b->bytes_used != exp_len || b->total_size <= b->bytes_used ||
            b->contents[b->bytes_used] != '\0') {
            CHECK_MSG(0, "after append #%d: bytes_used=%zu (expected %zu) total_size=%zu", i,
                      b->bytes_used, exp_len, b->total_size);
            break;
        }
    }
    CHECK_STR(b->contents, expected);
    CHECK_INT(buffer_strlen(b), exp_len);
    buffer_free(b);
}

static void empty_resets(void)
{
    Buffer *b = buffer_alloc(8);
    size_t total;

    REQUIRE(b != NULL);
    CHECK_INT(buffer_append(b, "some longer text", 16), 0);
    total = b->total_size;
    buffer_empty(b);
    CHECK_INT(b->bytes_used, 0);
    CHECK_INT(buffer_strlen(b), 0);
    CHECK_STR(b->contents, "");
    CHECK_MSG(b->total_size == total, "buffer_empty changed total_size %zu -> %zu", total, b->total_size);
    CHECK_INT(buffer_append(b, "xy", 2), 0);
    CHECK_STR(b->contents, "xy");
    CHECK_INT(b->bytes_used, 2);
    buffer_free(b);
}

static void null_arguments(void)
{
    buffer_free(NULL);
    buffer_empty(NULL);
    CHECK_INT(buffer_strlen(NULL), 0);
    CHECK_MSG(buffer_append(NULL, "x", 1) != 0, "buffer_append(NULL, ...) must fail");
}

int main(void)
{
    RUN_CASE(alloc_zero_is_null);
    RUN_CASE(alloc_initial_state);
    RUN_CASE(append_and_grow);
    RUN_CASE(empty_resets);
    RUN_CASE(null_arguments);
    return ctest_finish();
}
