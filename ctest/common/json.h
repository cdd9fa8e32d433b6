/*
 * json.h - a small JSON reader for the isula-registry C tests (index.json,
 * manifests, configs, auths.json). Parses a whole document into a tree;
 * strings are decoded (escapes, \uXXXX incl. surrogate pairs, as UTF-8).
 * Accessors accept NULL and return NULL/defaults, so lookups can be chained:
 *   ctest_json_str(ctest_json_get(ctest_json_get(m, "config"), "digest"))
 */
#ifndef ISULA_CTEST_JSON_H
#define ISULA_CTEST_JSON_H

#include <stddef.h>

typedef enum {
    CTEST_JSON_NULL,
    CTEST_JSON_BOOL,
    CTEST_JSON_NUMBER,
    CTEST_JSON_STRING,
    CTEST_JSON_ARRAY,
    CTEST_JSON_OBJECT,
} ctest_json_type;

typedef struct ctest_json {
    ctest_json_type type;
    int boolean;
    double number;
    char *string;               /* STRING: NUL terminated (may contain NULs from \u0000) */
    size_t len;                 /* ARRAY/OBJECT: number of items */
    struct ctest_json **items;  /* ARRAY/OBJECT: values */
    char **keys;                /* OBJECT: keys, parallel to items */
} ctest_json;

/* Parse len bytes (the whole text must be one JSON value). NULL on a syntax error,
 * with the byte offset in *err_offset when err_offset is not NULL. */
ctest_json *ctest_json_parse(const char *text, size_t len, size_t *err_offset);
/* Parse a file; NULL when it cannot be read or parsed (prints why). */
ctest_json *ctest_json_parse_file(const char *path);
void ctest_json_free(ctest_json *v);

/* object member (last one with that key), NULL when missing or v is not an object */
const ctest_json *ctest_json_get(const ctest_json *v, const char *key);
/* array element, NULL when out of range or v is not an array */
const ctest_json *ctest_json_at(const ctest_json *v, size_t i);
/* number of array elements / object members (0 otherwise) */
size_t ctest_json_len(const ctest_json *v);
/* string value, NULL when v is not a string */
const char *ctest_json_str(const ctest_json *v);
/* number value as integer, dflt when v is not a number */
long long ctest_json_int(const ctest_json *v, long long dflt);

#endif
