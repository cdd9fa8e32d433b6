/*
 * test_progress_feed.c - the feed of isula_registry.h, as a client that
 * receives a daemon's per-layer frames uses it: a scripted sequence of
 * frames (inferred and told phases, an id first seen late, bytes that go
 * back, the end of the pull) rendered in plain, json and tty mode, the text
 * checked line by line; bad arguments; a failed pull. Run under valgrind
 * too, so every string and handle is freed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isula_registry.h"

#include "common/check.h"

#define L1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define L2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define L3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define L4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define DIGEST "sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7"

/* A growing string of everything rendered. */
struct out {
    char *text;
    size_t len;
    int frames;     /* renders that returned text */
    int max_rows;   /* most newlines in one render after the first */
};

static void take(struct out *o, char *text, int first)
{
    CHECK_MSG(text != NULL, "render returned NULL: %s", isula_registry_last_error());
    if (text == NULL) {
        return;
    }
    size_t n = strlen(text);
    if (n > 0) {
        o->frames++;
    }
    int rows = 0;
    for (const char *p = text; *p != '\0'; p++) {
        rows += *p == '\n';
    }
    if (!first && rows > o->max_rows) {
        o->max_rows = rows;
    }
    char *grown = realloc(o->text, o->len + n + 1);
    REQUIRE(grown != NULL);
    memcpy(grown + o->len, text, n + 1);
    o->text = grown;
    o->len += n;
    free(text);
}

/* Lines of o->text not starting with `skip` (the summary, whose speed
 * depends on the clock), joined with '\n'. malloc'd. */
static char *without(const struct out *o, const char *skip)
{
    char *res = calloc(1, o->len + 1);
    size_t k = 0;
    const char *line = o->text != NULL ? o->text : "";
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        size_t n = end != NULL ? (size_t)(end - line) + 1 : strlen(line);
        if (strncmp(line, skip, strlen(skip)) != 0) {
            memcpy(res + k, line, n);
            k += n;
        }
        line += n;
    }
    return res;
}

/*
 * The script, rendered after each step by `r` at width x height:
 *   1. L1 0/1000 (inferred: Waiting), L2 told Already exists, L3 told
 *      Downloading at 500/3000;
 *   2. L1 500/1000 (inferred: Downloading), L3 told Verifying, L4 first
 *      seen, size unknown;
 *   3. L1 400/1000 (fewer bytes: ignored), L3 told Extracting 1500, L4
 *      100 bytes;
 *   4. digest and done: every layer Pull complete (L2 stays Already exists).
 */
static void script(isula_registry_renderer *r, unsigned width, unsigned height, struct out *o)
{
    isula_registry_feed *f = isula_registry_feed_new();
    REQUIRE(f != NULL);
    CHECK_INT(isula_registry_feed_pulling(f, "v1", "test/feed"), 0);
    CHECK_INT(isula_registry_feed_entry(f, L1, 0, 1000, ISULA_REGISTRY_PHASE_INFER), 0);
    CHECK_INT(isula_registry_feed_entry(f, L2, 0, 2000, ISULA_REGISTRY_PHASE_ALREADY_EXISTS), 0);
    CHECK_INT(isula_registry_feed_entry(f, L3, 500, 3000, ISULA_REGISTRY_PHASE_DOWNLOADING), 0);
    take(o, isula_registry_feed_render(r, f, width, height), 1);

    CHECK_INT(isula_registry_feed_entry(f, L1, 500, 1000, ISULA_REGISTRY_PHASE_INFER), 0);
    CHECK_INT(isula_registry_feed_entry(f, L3, 3000, 3000, ISULA_REGISTRY_PHASE_VERIFYING), 0);
    CHECK_INT(isula_registry_feed_entry(f, L4, 0, -1, ISULA_REGISTRY_PHASE_INFER), 0);
    take(o, isula_registry_feed_render(r, f, width, height), 0);

    CHECK_INT(isula_registry_feed_entry(f, L1, 400, 1000, ISULA_REGISTRY_PHASE_INFER), 0);
    CHECK_INT(isula_registry_feed_entry(f, L3, 1500, 3000, ISULA_REGISTRY_PHASE_EXTRACTING), 0);
    CHECK_INT(isula_registry_feed_entry(f, L4, 100, 0, ISULA_REGISTRY_PHASE_INFER), 0);
    take(o, isula_registry_feed_render(r, f, width, height), 0);

    CHECK_INT(isula_registry_feed_digest(f, DIGEST), 0);
    CHECK_INT(isula_registry_feed_done(f, "test/feed:v1", "127.0.0.1:5000/test/feed:v1", false), 0);
    /* frames after the end change nothing */
    CHECK_INT(isula_registry_feed_entry(f, L1, 0, 1000, ISULA_REGISTRY_PHASE_DOWNLOADING), 0);
    take(o, isula_registry_feed_render(r, f, width, height), 0);
    /* the end is written once */
    char *again = isula_registry_feed_render(r, f, width, height);
    CHECK_STR(again, "");
    free(again);
    isula_registry_feed_free(f);
}

static void plain_lines(void)
{
    struct out o = { 0 };
    isula_registry_renderer *r = isula_registry_renderer_new(ISULA_REGISTRY_PROGRESS_PLAIN, -1);
    REQUIRE(r != NULL);
    script(r, 80, 0, &o);
    isula_registry_renderer_free(r);
    char *text = without(&o, "Total: ");
    CHECK_STR(text,
              "v1: Pulling from test/feed\n"
              "111111111111: Pulling fs layer\n"
              "111111111111: Waiting\n"
              "222222222222: Already exists\n"
              "333333333333: Pulling fs layer\n"
              "333333333333: Downloading 16% (500B/3kB)\n"
              "111111111111: Downloading 50% (500B/1kB)\n"
              "333333333333: Verifying Checksum\n"
              "444444444444: Pulling fs layer\n"
              "444444444444: Waiting\n"
              "333333333333: Extracting 50% (1.5kB/3kB)\n"
              "444444444444: Downloading (100B)\n"
              "111111111111: Pull complete\n"
              "333333333333: Pull complete\n"
              "444444444444: Pull complete\n"
              "Digest: " DIGEST "\n"
              "Status: Downloaded newer image for test/feed:v1\n"
              "127.0.0.1:5000/test/feed:v1\n");
    /* one summary, at the end: all bytes of the layers to download */
    CHECK_CONTAINS(o.text, "\nTotal: 4.1kB/4.1kB");
    CHECK(strchr(o.text, '\x1b') == NULL);
    free(text);
    free(o.text);
}

static void json_lines(void)
{
    struct out o = { 0 };
    isula_registry_renderer *r = isula_registry_renderer_new(ISULA_REGISTRY_PROGRESS_JSON, -1);
    REQUIRE(r != NULL);
    script(r, 80, 0, &o);
    isula_registry_renderer_free(r);
    char *text = without(&o, "{\"status\":\"Summary\"");
    CHECK_STR(text,
              "{\"status\":\"Pulling from test/feed\",\"id\":\"v1\"}\n"
              "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"111111111111\"}\n"
              "{\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"111111111111\"}\n"
              "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"222222222222\"}\n"
              "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"333333333333\"}\n"
              "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500,\"total\":3000},\"id\":\"333333333333\"}\n"
              "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500,\"total\":1000},\"id\":\"111111111111\"}\n"
              "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"333333333333\"}\n"
              "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"444444444444\"}\n"
              "{\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"444444444444\"}\n"
              "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":1500,\"total\":3000},\"id\":\"333333333333\"}\n"
              "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":100},\"id\":\"444444444444\"}\n"
              "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"111111111111\"}\n"
              "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"333333333333\"}\n"
              "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"444444444444\"}\n"
              "{\"status\":\"Digest: " DIGEST "\"}\n"
              "{\"status\":\"Status: Downloaded newer image for test/feed:v1\"}\n"
              "{\"aux\":{\"Reference\":\"127.0.0.1:5000/test/feed:v1\"}}\n");
    /* the last summary has every byte */
    CHECK_CONTAINS(o.text, "{\"status\":\"Summary\",\"progressDetail\":{\"current\":4100,\"total\":4100}");
    free(text);
    free(o.text);
}

/* tty at 120x5: the redrawn block keeps within 4 rows (finished layers
 * fold), the last frame lists every layer. */
static void tty_fits_five_rows(void)
{
    struct out o = { 0 };
    isula_registry_renderer *r = isula_registry_renderer_new(ISULA_REGISTRY_PROGRESS_TTY, -1);
    REQUIRE(r != NULL);
    isula_registry_feed *f = isula_registry_feed_new();
    REQUIRE(f != NULL);
    char id[80];
    CHECK_INT(isula_registry_feed_pulling(f, "v1", "test/feed"), 0);
    for (int step = 0; step <= 10; step++) {
        for (int n = 1; n <= 8; n++) {
            snprintf(id, sizeof(id), "sha256:%012d%052d", n, 0);
            /* layer n downloads during steps n-1 .. n */
            long long cur = step >= n ? 1000000 : step == n - 1 ? 500000 : 0;
            CHECK_INT(isula_registry_feed_entry(f, id, cur, 1000000, ISULA_REGISTRY_PHASE_INFER), 0);
        }
        take(&o, isula_registry_feed_render(r, f, 120, 5), step == 0);
        if (step == 5) {
            CHECK_CONTAINS(o.text, "5 layers complete, 5MB\n");
            CHECK_CONTAINS(o.text, "000000000006: Downloading [=========================>");
        }
    }
    CHECK_MSG(o.max_rows <= 4, "a redraw took %d rows of a 5-row terminal", o.max_rows);
    size_t before = o.len;
    CHECK_INT(isula_registry_feed_done(f, "test/feed:v1", "127.0.0.1:5000/test/feed:v1", false), 0);
    take(&o, isula_registry_feed_render(r, f, 120, 5), 0);
    int complete = 0;
    for (const char *p = o.text + before; (p = strstr(p, ": Pull complete")) != NULL; p++) {
        complete++;
    }
    CHECK_INT(complete, 8);
    CHECK_CONTAINS(o.text + before, "Status: Downloaded newer image for test/feed:v1\n");
    isula_registry_feed_free(f);
    isula_registry_renderer_free(r);
    free(o.text);
}

static void failed_pull(void)
{
    isula_registry_renderer *r = isula_registry_renderer_new(ISULA_REGISTRY_PROGRESS_PLAIN, -1);
    isula_registry_feed *f = isula_registry_feed_new();
    REQUIRE(r != NULL && f != NULL);
    CHECK_INT(isula_registry_feed_entry(f, L1, 10, 100, ISULA_REGISTRY_PHASE_INFER), 0);
    CHECK_INT(isula_registry_feed_failed(f, "manifest unknown: test/feed:nope"), 0);
    char *text = isula_registry_feed_render(r, f, 0, 0);
    CHECK_CONTAINS(text, "111111111111: Downloading 10% (10B/100B)\n");
    CHECK_CONTAINS(text, "Error: manifest unknown: test/feed:nope\n");
    CHECK(!ctest_contains(text, "Status:"));
    free(text);
    isula_registry_feed_free(f);
    isula_registry_renderer_free(r);
}

static void bad_arguments(void)
{
    isula_registry_feed *f = isula_registry_feed_new();
    REQUIRE(f != NULL);
    CHECK_INT(isula_registry_feed_entry(NULL, L1, 0, 0, ISULA_REGISTRY_PHASE_INFER), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "isula_registry_feed_new");
    CHECK_INT(isula_registry_feed_entry(f, NULL, 0, 0, ISULA_REGISTRY_PHASE_INFER), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "id must be");
    CHECK_INT(isula_registry_feed_entry(f, "", 0, 0, ISULA_REGISTRY_PHASE_INFER), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "id is empty");
    CHECK_INT(isula_registry_feed_entry(f, L1, 0, 0, 99), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unknown layer phase 99");
    CHECK_INT(isula_registry_feed_entry(f, L1, 0, 0, -1), -1);
    CHECK_INT(isula_registry_feed_pulling(f, NULL, "x"), -1);
    CHECK_INT(isula_registry_feed_digest(f, NULL), -1);
    CHECK_INT(isula_registry_feed_done(f, "x", NULL, false), -1);
    CHECK_INT(isula_registry_feed_failed(NULL, "x"), -1);
    CHECK(isula_registry_feed_render(NULL, f, 80, 24) == NULL);
    CHECK_CONTAINS(isula_registry_last_error(), "needs a renderer and a feed");
    /* nothing of the rejected calls was kept: a render shows no layer */
    isula_registry_renderer *r = isula_registry_renderer_new(ISULA_REGISTRY_PROGRESS_PLAIN, -1);
    char *text = isula_registry_feed_render(r, f, 80, 24);
    CHECK_STR(text, "");
    CHECK(isula_registry_last_error() == NULL);
    free(text);
    CHECK(isula_registry_feed_render(r, NULL, 80, 24) == NULL);
    isula_registry_renderer_free(r);
    isula_registry_feed_free(f);
    isula_registry_feed_free(NULL);
    /* not a terminal: no size */
    CHECK_INT(isula_registry_terminal_width(-1), 0);
    CHECK_INT(isula_registry_terminal_height(-1), 0);
}

int main(void)
{
    RUN_CASE(plain_lines);
    RUN_CASE(json_lines);
    RUN_CASE(tty_fits_five_rows);
    RUN_CASE(failed_pull);
    RUN_CASE(bad_arguments);
    return ctest_finish();
}
