/*
 * json.c - the small JSON reader declared in json.h (recursive descent,
 * depth-limited; numbers via strtod).
 */
#define _GNU_SOURCE
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_DEPTH 64

struct parser {
    const char *p;
    const char *end;
    const char *start;
};

static ctest_json *parse_value(struct parser *ps, int depth);

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static ctest_json *new_value(ctest_json_type t)
{
    ctest_json *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        abort();
    }
    v->type = t;
    return v;
}

static int literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        return 0;
    }
    ps->p += n;
    return 1;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* at the opening quote; returns a malloc'd decoded string */
static char *parse_string(struct parser *ps)
{
    const char *q;
    char *out;
    size_t n = 0;

    if (ps->p >= ps->end || *ps->p != '"') {
        return NULL;
    }
    ps->p++;
    /* decoded text is never longer than the escaped text */
    for (q = ps->p; q < ps->end && *q != '"'; q++) {
        if (*q == '\\') {
            q++;
        }
    }
    if (q >= ps->end) {
        return NULL;
    }
    out = malloc((size_t)(q - ps->p) + 1);
    if (out == NULL) {
        abort();
    }
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;

        if (c < 0x20) {
            goto fail;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        if (ps->p >= ps->end) {
            goto fail;
        }
        c = (unsigned char)*ps->p++;
        switch (c) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            unsigned lo;

            if (ps->end - ps->p < 4 || hex4(ps->p, &cp) != 0) {
                goto fail;
            }
            ps->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
                ps->p[1] == 'u' && hex4(ps->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            /* \uXXXX (6 bytes) -> at most 3 bytes; a pair (12) -> 4 */
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            goto fail;
        }
    }
    if (ps->p >= ps->end) {
        goto fail;
    }
    ps->p++; /* closing quote */
    out[n] = '\0';
    return out;
fail:
    free(out);
    return NULL;
}

static void push(ctest_json *v, char *key, ctest_json *item)
{
    ctest_json **items = realloc(v->items, (v->len + 1) * sizeof(*items));

    if (items == NULL) {
        abort();
    }
    v->items = items;
    if (v->type == CTEST_JSON_OBJECT) {
        char **keys = realloc(v->keys, (v->len + 1) * sizeof(*keys));

        if (keys == NULL) {
            abort();
        }
        v->keys = keys;
        v->keys[v->len] = key;
    }
    v->items[v->len++] = item;
}

static ctest_json *parse_container(struct parser *ps, int depth, int object)
{
    ctest_json *v = new_value(object ? CTEST_JSON_OBJECT : CTEST_JSON_ARRAY);
    char close = object ? '}' : ']';

    ps->p++; /* '{' or '[' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        ctest_json *item;

        skip_ws(ps);
        if (object) {
            key = parse_string(ps);
            if (key == NULL) {
                goto fail;
            }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                goto fail;
            }
            ps->p++;
        }
        item = parse_value(ps, depth + 1);
        if (item == NULL) {
            free(key);
            goto fail;
        }
        push(v, key, item);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        goto fail;
    }
fail:
    ctest_json_free(v);
    return NULL;
}

static ctest_json *parse_value(struct parser *ps, int depth)
{
    ctest_json *v;

    if (depth > MAX_DEPTH) {
        return NULL;
    }
    skip_ws(ps);
    if (ps->p >= ps->end) {
        return NULL;
    }
    switch (*ps->p) {
    case '{':
        return parse_container(ps, depth, 1);
    case '[':
        return parse_container(ps, depth, 0);
    case '"': {
        char *s = parse_string(ps);

        if (s == NULL) {
            return NULL;
        }
        v = new_value(CTEST_JSON_STRING);
        v->string = s;
        return v;
    }
    case 't':
    case 'f':
        if (literal(ps, "true")) {
            v = new_value(CTEST_JSON_BOOL);
            v->boolean = 1;
            return v;
        }
        if (literal(ps, "false")) {
            return new_value(CTEST_JSON_BOOL);
        }
        return NULL;
    case 'n':
        return literal(ps, "null") ? new_value(CTEST_JSON_NULL) : NULL;
    default: {
        char buf[64];
        size_t n = 0;
        char *endp;

        while (ps->p + n < ps->end && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", ps->p[n]) != NULL) {
            n++;
        }
        if (n == 0) {
            return NULL;
        }
        memcpy(buf, ps->p, n);
        buf[n] = '\0';
        v = new_value(CTEST_JSON_NUMBER);
        v->number = strtod(buf, &endp);
        if (endp != buf + n) {
            ctest_json_free(v);
            return NULL;
        }
        ps->p += n;
        return v;
    }
    }
}

ctest_json *ctest_json_parse(const char *text, size_t len, size_t *err_offset)
{
    struct parser ps = { text, text + len, text };
    ctest_json *v;

    if (text == NULL) {
        return NULL;
    }
    v = parse_value(&ps, 0);
    if (v != NULL) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            ctest_json_free(v);
            v = NULL;
        }
    }
    if (v == NULL && err_offset != NULL) {
        *err_offset = (size_t)(ps.p - ps.start);
    }
    return v;
}

ctest_json *ctest_json_parse_file(const char *path)
{
    size_t len = 0;
    size_t off = 0;
    char *text = ctest_read_file(path, &len);
    ctest_json *v;

    if (text == NULL) {
        printf("    json: cannot read %s\n", path);
        return NULL;
    }
    v = ctest_json_parse(text, len, &off);
    if (v == NULL) {
        printf("    json: %s is not valid JSON (near byte %zu): %.200s\n", path, off, text);
    }
    free(text);
    return v;
}

void ctest_json_free(ctest_json *v)
{
    size_t i;

    if (v == NULL) {
        return;
    }
    for (i = 0; i < v->len; i++) {
        ctest_json_free(v->items[i]);
        if (v->keys != NULL) {
            free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const ctest_json *ctest_json_get(const ctest_json *v, const char *key)
{
    const ctest_json *found = NULL;
    size_t i;

    if (v == NULL || key == NULL || v->type != CTEST_JSON_OBJECT) {
        return NULL;
    }
    for (i = 0; i < v->len; i++) {
        if (strcmp(v->keys[i], key) == 0) {
            found = v->items[i];
        }
    }
    return found;
}

const ctest_json *ctest_json_at(const ctest_json *v, size_t i)
{
    if (v == NULL || v->type != CTEST_JSON_ARRAY || i >= v->len) {
        return NULL;
    }
    return v->items[i];
}

size_t ctest_json_len(const ctest_json *v)
{
    if (v == NULL || (v->type != CTEST_JSON_ARRAY && v->type != CTEST_JSON_OBJECT)) {
        return 0;
    }
    return v->len;
}

const char *ctest_json_str(const ctest_json *v)
{
    return (v != NULL && v->type == CTEST_JSON_STRING) ? v->string : NULL;
}

long long ctest_json_int(const ctest_json *v, long long dflt)
{
    return (v != NULL && v->type == CTEST_JSON_NUMBER) ? (long long)v->number : dflt;
}
