/*
 * Stand-in for the daemon's utils_timestamp.h
 * (iSulad src/utils/cutils/utils_timestamp.h): same guard as the library's,
 * and iSulad's spelling, whose struct tag differs from the typedef name.
 */
#ifndef UTILS_CUTILS_UTILS_TIMESTAMP_H
#define UTILS_CUTILS_UTILS_TIMESTAMP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct types_timestamp {
    bool has_seconds;
    int64_t seconds;
    bool has_nanos;
    int32_t nanos;
} types_timestamp_t;

#endif
