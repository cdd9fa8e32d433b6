/*
 * test_progress_map.c - progress.h (iSulad's progress_status_map, including its
 * "udpate" spelling) and the Rust library's reader
 * isula_registry_progress_entries()/isula_registry_progress_entries_free()
 * from isula_registry.h: NULL handling, overwrite semantics, key (strcmp)
 * ordering, reading while holding the map lock, concurrent updates.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isula_registry.h"
#include "progress.h"

#include "common/check.h"

static void null_arguments(void)
{
    char key[] = "k";
    isula_registry_progress_entry *entries = (isula_registry_progress_entry *)&entries;
    size_t len = 12345;
    progress_status_map *m = progress_status_map_new();

    REQUIRE(m != NULL);
    CHECK(!progress_status_map_udpate(NULL, key, 1, 2));
    CHECK(!progress_status_map_udpate(m, NULL, 1, 2));
    CHECK_INT(progress_status_map_size(NULL), 0);
    CHECK_INT(progress_status_map_size(m), 0);
    CHECK(!progress_status_map_lock(NULL));
    progress_status_map_unlock(NULL);
    progress_status_map_free(NULL);

    CHECK_MSG(isula_registry_progress_entries(NULL, &entries, &len) != 0,
              "entries(NULL map) must fail");
    CHECK_MSG(isula_registry_progress_entries(m, NULL, &len) != 0, "entries(NULL out) must fail");
    CHECK_MSG(isula_registry_progress_entries(m, &entries, NULL) != 0, "entries(NULL len) must fail");
    isula_registry_progress_entries_free(NULL, 0);

    /* an empty map reads back as zero entries */
    entries = NULL;
    len = 12345;
    CHECK_INT(isula_registry_progress_entries(m, &entries, &len), 0);
    CHECK_INT(len, 0);
    isula_registry_progress_entries_free(entries, len);

    progress_status_map_free(m);
}

static void update_overwrite_and_order(void)
{
    char key[32];
    isula_registry_progress_entry *e = NULL;
    size_t len = 0;
    progress_status_map *m = progress_status_map_new();

    REQUIRE(m != NULL);
    strcpy(key, "b-layer");
    CHECK(progress_status_map_udpate(m, key, 10, 100));
    strcpy(key, "a-layer");
    CHECK(progress_status_map_udpate(m, key, 20, 200));
    strcpy(key, "C-layer"); /* strcmp order: uppercase first */
    CHECK(progress_status_map_udpate(m, key, 30, 300));
    CHECK_INT(progress_status_map_size(m), 3);

    /* overwrite an existing key: size unchanged, values replaced */
    strcpy(key, "b-layer");
    CHECK(progress_status_map_udpate(m, key, 55, 101));
    CHECK_INT(progress_status_map_size(m), 3);

    /* the map must own a copy of the key */
    strcpy(key, "zzzzzzz");

    REQUIRE(isula_registry_progress_entries(m, &e, &len) == 0);
    CHECK_INT(len, 3);
    if (len == 3 && e != NULL) {
        CHECK_STR(e[0].key, "C-layer");
        CHECK_INT(e[0].dlnow, 30);
        CHECK_INT(e[0].dltotal, 300);
        CHECK_STR(e[1].key, "a-layer");
        CHECK_INT(e[1].dlnow, 20);
        CHECK_INT(e[1].dltotal, 200);
        CHECK_STR(e[2].key, "b-layer");
        CHECK_INT(e[2].dlnow, 55);
        CHECK_INT(e[2].dltotal, 101);
    }
    isula_registry_progress_entries_free(e, len);

    /* negative / large values pass through unchanged */
    strcpy(key, "big");
    CHECK(progress_status_map_udpate(m, key, INT64_MAX, -1));
    e = NULL;
    len = 0;
    REQUIRE(isula_registry_progress_entries(m, &e, &len) == 0);
    CHECK_INT(len, 4);
    if (len == 4 && e != NULL) {
        CHECK_STR(e[3].key, "big");
        CHECK_MSG(e[3].dlnow == INT64_MAX, "big.dlnow = %lld", (long long)e[3].dlnow);
        CHECK_INT(e[3].dltotal, -1);
    }
    isula_registry_progress_entries_free(e, len);
    progress_status_map_free(m);
}

static void entries_while_locked(void)
{
    char key[] = "layer";
    isula_registry_progress_entry *e = NULL;
    size_t len = 0;
    progress_status_map *m = progress_status_map_new();

    REQUIRE(m != NULL);
    CHECK(progress_status_map_udpate(m, key, 7, 8));
    REQUIRE(progress_status_map_lock(m));
    /* the holder of the lock may read (iSulad's show-progress thread does this) */
    CHECK_INT(isula_registry_progress_entries(m, &e, &len), 0);
    progress_status_map_unlock(m);
    CHECK_INT(len, 1);
    if (len == 1 && e != NULL) {
        CHECK_STR(e[0].key, "layer");
        CHECK_INT(e[0].dlnow, 7);
        CHECK_INT(e[0].dltotal, 8);
    }
    isula_registry_progress_entries_free(e, len);

    /* the lock is released again: updates still work */
    CHECK(progress_status_map_udpate(m, key, 9, 10));
    CHECK_INT(progress_status_map_size(m), 1);
    progress_status_map_free(m);
}

#define THREADS 4
#define UPDATES 1000
#define SUBKEYS 50

struct worker {
    progress_status_map *m;
    int id;
    int failures;
};

static void *update_worker(void *arg)
{
    struct worker *w = arg;
    char key[64];
    int i;

    for (i = 1; i <= UPDATES; i++) {
        snprintf(key, sizeof(key), "thread-%d", w->id);
        if (!progress_status_map_udpate(w->m, key, i, UPDATES + w->id)) {
            w->failures++;
        }
        snprintf(key, sizeof(key), "thread-%d-sub-%02d", w->id, i % SUBKEYS);
        if (!progress_status_map_udpate(w->m, key, i, w->id)) {
            w->failures++;
        }
    }
    return NULL;
}

static volatile int g_stop_reader;

static void *reader_worker(void *arg)
{
    progress_status_map *m = arg;
    long reads = 0;

    while (!g_stop_reader) {
        isula_registry_progress_entry *e = NULL;
        size_t len = 0;

        if (progress_status_map_lock(m)) {
            if (isula_registry_progress_entries(m, &e, &len) == 0) {
                isula_registry_progress_entries_free(e, len);
            }
            progress_status_map_unlock(m);
        }
        (void)progress_status_map_size(m);
        reads++;
    }
    return (void *)reads;
}

static void concurrent_updates(void)
{
    pthread_t th[THREADS];
    pthread_t reader;
    struct worker w[THREADS];
    isula_registry_progress_entry *e = NULL;
    size_t len = 0;
    size_t i;
    int t;
    progress_status_map *m = progress_status_map_new();

    REQUIRE(m != NULL);
    g_stop_reader = 0;
    REQUIRE(pthread_create(&reader, NULL, reader_worker, m) == 0);
    for (t = 0; t < THREADS; t++) {
        w[t].m = m;
        w[t].id = t;
        w[t].failures = 0;
        if (pthread_create(&th[t], NULL, update_worker, &w[t]) != 0) {
            CHECK_MSG(0, "pthread_create %d failed", t);
            th[t] = 0;
        }
    }
    for (t = 0; t < THREADS; t++) {
        if (th[t] != 0) {
            pthread_join(th[t], NULL);
        }
        CHECK_MSG(w[t].failures == 0, "thread %d: %d updates returned false", t, w[t].failures);
    }
    g_stop_reader = 1;
    pthread_join(reader, NULL);

    CHECK_INT(progress_status_map_size(m), THREADS * (1 + SUBKEYS));
    REQUIRE(isula_registry_progress_entries(m, &e, &len) == 0);
    CHECK_INT(len, THREADS * (1 + SUBKEYS));
    for (i = 0; i < len; i++) {
        int id = -1;
        int sub = -1;

        if (i > 0 && strcmp(e[i - 1].key, e[i].key) >= 0) {
            CHECK_MSG(0, "entries not sorted: \"%s\" before \"%s\"", e[i - 1].key, e[i].key);
        }
        if (sscanf(e[i].key, "thread-%d-sub-%d", &id, &sub) == 2) {
            int64_t last = sub == 0 ? UPDATES : (UPDATES - SUBKEYS + sub);

            CHECK_MSG(e[i].dlnow == last && e[i].dltotal == id,
                      "%s = (%lld, %lld), expected (%lld, %d)", e[i].key, (long long)e[i].dlnow,
                      (long long)e[i].dltotal, (long long)last, id);
        } else if (sscanf(e[i].key, "thread-%d", &id) == 1) {
            CHECK_MSG(e[i].dlnow == UPDATES && e[i].dltotal == UPDATES + id,
                      "%s = (%lld, %lld), expected (%d, %d)", e[i].key, (long long)e[i].dlnow,
                      (long long)e[i].dltotal, UPDATES, UPDATES + id);
        } else {
            CHECK_MSG(0, "unexpected key \"%s\"", e[i].key);
        }
    }
    isula_registry_progress_entries_free(e, len);
    progress_status_map_free(m);
}

int main(void)
{
    ctest_set_case_timeout(60);
    RUN_CASE(null_arguments);
    RUN_CASE(update_overwrite_and_order);
    RUN_CASE(entries_while_locked);
    RUN_CASE(concurrent_updates);
    return ctest_finish();
}
