/*
 * env.c - parser for the KEY=VALUE file written by the ctest server harness
 * (see env.h). Values are taken verbatim up to the end of the line.
 */
#define _GNU_SOURCE
#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct env_entry {
    char *key;
    char *value;
};

static struct env_entry *g_entries;
static size_t g_len;

void ctest_env_free(void)
{
    size_t i;

    for (i = 0; i < g_len; i++) {
        free(g_entries[i].key);
        free(g_entries[i].value);
    }
    free(g_entries);
    g_entries = NULL;
    g_len = 0;
}

static int add_entry(const char *key, size_t key_len, const char *value)
{
    struct env_entry *tmp = realloc(g_entries, (g_len + 1) * sizeof(*g_entries));

    if (tmp == NULL) {
        return -1;
    }
    g_entries = tmp;
    g_entries[g_len].key = strndup(key, key_len);
    g_entries[g_len].value = strdup(value);
    if (g_entries[g_len].key == NULL || g_entries[g_len].value == NULL) {
        free(g_entries[g_len].key);
        free(g_entries[g_len].value);
        return -1;
    }
    g_len++;
    return 0;
}

int ctest_env_load(void)
{
    const char *dir = getenv("ISULA_CTEST_DIR");
    char path[4096];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;
    int ret = 0;

    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, "env: ISULA_CTEST_DIR is not set (run the tests through ctest)\n");
        return -1;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/env", dir) >= sizeof(path)) {
        fprintf(stderr, "env: path too long\n");
        return -1;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        fprintf(stderr, "env: servers not started? (fixture servers_start)\n");
        return -1;
    }
    ctest_env_free();
    while ((n = getline(&line, &cap, f)) >= 0) {
        char *eq;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n == 0 || line[0] == '#') {
            continue;
        }
        eq = strchr(line, '=');
        if (eq == NULL) {
            continue;
        }
        if (add_entry(line, (size_t)(eq - line), eq + 1) != 0) {
            fprintf(stderr, "env: out of memory\n");
            ret = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    return ret;
}

const char *ctest_env(const char *key)
{
    size_t i;
    const char *found = NULL;

    /* last definition wins, like the shell */
    for (i = 0; i < g_len; i++) {
        if (strcmp(g_entries[i].key, key) == 0) {
            found = g_entries[i].value;
        }
    }
    return found;
}

const char *ctest_env_req(const char *key)
{
    const char *v = ctest_env(key);

    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "env: key %s missing in $ISULA_CTEST_DIR/env\n", key);
        return "";
    }
    return v;
}
