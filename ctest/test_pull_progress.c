/*
 * test_pull_progress.c - integration/isulad/client/pull_progress.c, the unit
 * iSulad's `isula pull` calls for each frame of its daemon's progress stream,
 * driven as the daemon drives it: a frame every 100 ms with every layer of
 * the progress map, ids the last 12 hex characters of the digests, totals
 * from the first frame, bytes growing; then the stored name. The text it
 * writes (to a file, a pipe-like fd, or a pseudo-terminal for `auto`) is
 * checked line by line in plain, parsed line by line in json, and looked at
 * for bars and the terminal's height in tty. Run under valgrind too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "pull_progress.h"

#include "common/check.h"
#include "common/json.h"

#define IMAGE "127.0.0.1:5000/test/progress:v1"
#define MIB 1048576

/* setup that cannot go on without (REQUIRE returns, and helpers return values) */
#define MUST(cond)                                                                 \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: setup failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static const char *const ids[] = { "aaaaaaaaaaa1", "bbbbbbbbbbb2", "ccccccccccc3" };
static const int64_t totals[] = { 4 * MIB, 4 * MIB, 2 * MIB };

/* A file to write to and read back: a regular file is not a terminal. */
static int temp_fd(void)
{
    char path[] = "/tmp/test_pull_progress.XXXXXX";
    int fd = mkstemp(path);
    MUST(fd >= 0);
    unlink(path);
    return fd;
}

static char *read_back(int fd)
{
    off_t len = lseek(fd, 0, SEEK_END);
    MUST(len >= 0);
    char *text = calloc(1, (size_t)len + 1);
    MUST(text != NULL);
    MUST(pread(fd, text, (size_t)len, 0) == len);
    return text;
}

/* `steps` frames: layer i gets its bytes during its part of the run; the
 * third layer's id first appears in the third frame (a late map entry). */
static void frames(pull_progress *p, int steps)
{
    CHECK_INT(pull_progress_frame(p, 0, NULL, NULL, NULL, NULL), 0);
    for (int s = 0; s <= steps; s++) {
        int64_t cur[3];
        for (int i = 0; i < 3; i++) {
            int64_t done = totals[i] * s * 2 / steps - totals[i] * i / 2;
            cur[i] = done < 0 ? 0 : done > totals[i] ? totals[i] : done;
        }
        CHECK_INT(pull_progress_frame(p, s >= 2 ? 3 : 2, ids, cur, totals, NULL), 0);
    }
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

static void plain_lines(void)
{
    int fd = temp_fd();
    char err[256] = "";
    pull_progress *p = pull_progress_new("plain", fd, IMAGE, err, sizeof(err));
    MUST(p != NULL);
    CHECK(pull_progress_wants_frames(p));
    frames(p, 20);
    CHECK_INT(pull_progress_done(p, IMAGE), 0);
    /* nothing after the end */
    CHECK_INT(pull_progress_frame(p, 3, ids, totals, totals, NULL), 0);
    CHECK_INT(pull_progress_done(p, IMAGE), -1);
    pull_progress_free(p);
    char *text = read_back(fd);
    close(fd);

    CHECK(strncmp(text, "v1: Pulling from test/progress\n", 31) == 0);
    CHECK(strchr(text, '\x1b') == NULL);
    for (int i = 0; i < 3; i++) {
        char line[64];
        snprintf(line, sizeof(line), "%s: Pulling fs layer\n", ids[i]);
        CHECK_INT(count(text, line), 1);
        snprintf(line, sizeof(line), "%s: Download complete\n", ids[i]);
        CHECK_INT(count(text, line), 1);
        snprintf(line, sizeof(line), "%s: Pull complete\n", ids[i]);
        CHECK_INT(count(text, line), 1);
    }
    /* decimal units as Docker prints them: 4 MiB is 4.194MB */
    CHECK_CONTAINS(text, "aaaaaaaaaaa1: Downloading 50% (2.097MB/4.194MB)\n");
    CHECK_CONTAINS(text, "Total: 10.49MB/10.49MB");
    CHECK_CONTAINS(text, "\nStatus: Downloaded newer image for " IMAGE "\n" IMAGE "\n");
    /* bounded: a line per 10 % step and phase, not one per frame */
    size_t lines = count(text, "\n");
    CHECK_MSG(lines <= 60, "%zu plain lines for 3 layers", lines);
    free(text);
}

static void json_lines(void)
{
    int fd = temp_fd();
    char err[256] = "";
    pull_progress *p = pull_progress_new("json", fd, IMAGE, err, sizeof(err));
    MUST(p != NULL);
    frames(p, 10);
    CHECK_INT(pull_progress_done(p, NULL), 0);
    pull_progress_free(p);
    char *text = read_back(fd);
    close(fd);

    size_t objects = 0, complete = 0, downloading = 0, references = 0;
    char *reference = NULL, *header = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        size_t off = 0;
        ctest_json *v = ctest_json_parse(line, strlen(line), &off);
        CHECK_MSG(v != NULL, "not JSON at %zu: %s", off, line);
        if (v == NULL) {
            continue;
        }
        objects++;
        const char *status = ctest_json_str(ctest_json_get(v, "status"));
        const ctest_json *aux = ctest_json_get(v, "aux");
        if (status != NULL && strcmp(status, "Pull complete") == 0) {
            complete++;
        }
        if (status != NULL && strcmp(status, "Downloading") == 0) {
            const ctest_json *d = ctest_json_get(v, "progressDetail");
            CHECK(ctest_json_int(ctest_json_get(d, "total"), -1) > 0);
            downloading++;
        }
        if (status != NULL && objects == 1) {
            header = strdup(status);
            CHECK_STR(ctest_json_str(ctest_json_get(v, "id")), "v1");
        }
        const char *ref = ctest_json_str(ctest_json_get(aux, "Reference"));
        if (ref != NULL) {
            free(reference);
            reference = strdup(ref);
            references++;
        }
        ctest_json_free(v);
    }
    CHECK_STR(header, "Pulling from test/progress");
    CHECK_INT(complete, 3);
    CHECK(downloading >= 3);
    /* no stored name given: the reference typed, once */
    CHECK_STR(reference, IMAGE);
    CHECK_INT(references, 1);
    free(header);
    free(reference);
    free(text);
}

static void quiet_and_failure(void)
{
    int fd = temp_fd();
    char err[256] = "";
    pull_progress *p = pull_progress_new("quiet", fd, "busybox", err, sizeof(err));
    MUST(p != NULL);
    CHECK(!pull_progress_wants_frames(p));
    frames(p, 4);
    CHECK_INT(pull_progress_done(p, "busybox:latest"), 0);
    pull_progress_free(p);
    char *text = read_back(fd);
    CHECK_STR(text, "busybox:latest\n");
    free(text);
    close(fd);

    fd = temp_fd();
    p = pull_progress_new("plain", fd, "busybox", err, sizeof(err));
    MUST(p != NULL);
    int64_t cur[] = { MIB, 0 };
    CHECK_INT(pull_progress_frame(p, 2, ids, cur, totals, NULL), 0);
    CHECK_INT(pull_progress_failed(p, "manifest unknown: library/busybox:latest"), 0);
    pull_progress_free(p);
    text = read_back(fd);
    CHECK(strncmp(text, "latest: Pulling from library/busybox\n", 37) == 0);
    CHECK_CONTAINS(text, "aaaaaaaaaaa1: Downloading 25% (1.049MB/4.194MB)\n");
    CHECK_CONTAINS(text, "Error: manifest unknown: library/busybox:latest\n");
    CHECK(!ctest_contains(text, "Status:"));
    free(text);
    close(fd);
}

/* A daemon that sends each layer's phase (the element's `message`): told phases are shown,
 * an empty or unknown text is inferred from the bytes. */
static void told_phases(void)
{
    int fd = temp_fd();
    char err[256] = "";
    pull_progress *p = pull_progress_new("plain", fd, IMAGE, err, sizeof(err));
    MUST(p != NULL);
    int64_t cur[] = { 4 * MIB, 0, MIB };
    const char *const first[] = { "Verifying Checksum", "Already exists", "" };
    CHECK_INT(pull_progress_frame(p, 3, ids, cur, totals, first), 0);
    int64_t cur2[] = { MIB, 0, 2 * MIB };
    const char *const second[] = { "Extracting", "Already exists", "no such phase" };
    CHECK_INT(pull_progress_frame(p, 3, ids, cur2, totals, second), 0);
    CHECK_INT(pull_progress_done(p, IMAGE), 0);
    pull_progress_free(p);
    char *text = read_back(fd);
    close(fd);
    CHECK_CONTAINS(text, "aaaaaaaaaaa1: Verifying Checksum\n");
    CHECK_CONTAINS(text, "aaaaaaaaaaa1: Extracting 25% (1.049MB/4.194MB)\n");
    CHECK_CONTAINS(text, "bbbbbbbbbbb2: Already exists\n");
    CHECK_CONTAINS(text, "ccccccccccc3: Downloading 50% (1.049MB/2.097MB)\n");
    CHECK_CONTAINS(text, "ccccccccccc3: Download complete\n");
    CHECK(!ctest_contains(text, "bbbbbbbbbbb2: Pull complete"));
    free(text);
}

/* The `Pulling from` line of `image`, in plain mode. */
static char *header_of(const char *image)
{
    int fd = temp_fd();
    char err[256] = "";
    pull_progress *p = pull_progress_new(NULL, fd, image, err, sizeof(err));
    MUST(p != NULL);
    CHECK_INT(pull_progress_frame(p, 0, NULL, NULL, NULL, NULL), 0);
    pull_progress_free(p);
    char *text = read_back(fd);
    close(fd);
    return text;
}

static void references(void)
{
    static const char *const cases[][2] = {
        { "busybox", "latest: Pulling from library/busybox\n" },
        { "docker.io/busybox:1.36", "1.36: Pulling from library/busybox\n" },
        { "quay.io/coreos/etcd:v3.5", "v3.5: Pulling from coreos/etcd\n" },
        { "localhost/x", "latest: Pulling from x\n" },
        { "localhost:5000/a/b/c", "latest: Pulling from a/b/c\n" },
        { "127.0.0.1:5000/test/x@sha256:0123abcd", "sha256:0123abcd: Pulling from test/x\n" },
        { "me/app:2", "2: Pulling from me/app\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = header_of(cases[i][0]);
        CHECK_STR(text, cases[i][1]);
        free(text);
    }
}

static void bad_arguments(void)
{
    char err[256] = "";
    CHECK(pull_progress_new("bars", 1, IMAGE, err, sizeof(err)) == NULL);
    CHECK_STR(err, "unknown progress output \"bars\": use one of auto|tty|plain|json|quiet");
    CHECK(pull_progress_new("plain", 1, "", err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "not an image reference");
    CHECK(pull_progress_new("plain", 1, "x:", err, sizeof(err)) == NULL);
    CHECK(pull_progress_new("plain", 1, "x@", err, sizeof(err)) == NULL);
    CHECK(pull_progress_new("plain", 1, NULL, err, sizeof(err)) == NULL);
    /* a too small buffer is cut, not overrun */
    char small[8];
    CHECK(pull_progress_new("bars", 1, IMAGE, small, sizeof(small)) == NULL);
    CHECK_STR(small, "unknown");
    CHECK_INT(pull_progress_frame(NULL, 0, NULL, NULL, NULL, NULL), -1);
    CHECK_INT(pull_progress_done(NULL, IMAGE), -1);
    CHECK_INT(pull_progress_failed(NULL, "x"), -1);
    CHECK(!pull_progress_wants_frames(NULL));
    pull_progress_free(NULL);

    int fd = temp_fd();
    pull_progress *p = pull_progress_new("plain", fd, IMAGE, err, sizeof(err));
    MUST(p != NULL);
    CHECK_INT(pull_progress_frame(p, 1, NULL, NULL, NULL, NULL), -1);
    /* an entry without an id is skipped, the others are drawn */
    const char *const some[] = { "", "bbbbbbbbbbb2" };
    int64_t cur[] = { 1, 2 }, tot[] = { 10, 20 };
    CHECK_INT(pull_progress_frame(p, 2, some, cur, tot, NULL), 0);
    pull_progress_free(p);
    char *text = read_back(fd);
    CHECK_CONTAINS(text, "bbbbbbbbbbb2: Downloading 10% (2B/20B)\n");
    CHECK_INT(count(text, "\n"), 3);
    free(text);
    close(fd);
    /* a write error is reported */
    p = pull_progress_new("plain", fd, IMAGE, err, sizeof(err));
    MUST(p != NULL);
    CHECK_INT(pull_progress_frame(p, 0, NULL, NULL, NULL, NULL), -1);
    pull_progress_free(p);
}

/* auto on a pseudo-terminal of 140x8: bars only when TERM allows them. */
static char *auto_on_pty(const char *term)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    MUST(master >= 0);
    MUST(grantpt(master) == 0 && unlockpt(master) == 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    MUST(slave >= 0);
    struct termios t;
    MUST(tcgetattr(slave, &t) == 0);
    cfmakeraw(&t); /* no \n -> \r\n, no echo */
    MUST(tcsetattr(slave, TCSANOW, &t) == 0);
    struct winsize ws = { .ws_row = 8, .ws_col = 140 };
    MUST(ioctl(slave, TIOCSWINSZ, &ws) == 0);
    if (term != NULL) {
        setenv("TERM", term, 1);
    } else {
        unsetenv("TERM");
    }

    char err[256] = "";
    pull_progress *p = pull_progress_new("auto", slave, IMAGE, err, sizeof(err));
    MUST(p != NULL);
    frames(p, 4);
    CHECK_INT(pull_progress_done(p, IMAGE), 0);
    pull_progress_free(p);
    close(slave);

    /* what was written is in the master's buffer, far below its size */
    size_t len = 0, cap = 1 << 16;
    char *text = calloc(1, cap);
    MUST(text != NULL);
    int flags = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, flags | O_NONBLOCK);
    ssize_t n;
    while (len + 1 < cap && (n = read(master, text + len, cap - 1 - len)) > 0) {
        len += (size_t)n;
    }
    close(master);
    return text;
}

static void auto_mode(void)
{
    char *saved = getenv("TERM") != NULL ? strdup(getenv("TERM")) : NULL;
    char *bars = auto_on_pty("xterm-256color");
    CHECK_CONTAINS(bars, "\x1b[2K\r");
    CHECK_CONTAINS(bars, "Downloading [");
    CHECK_CONTAINS(bars, "Status: Downloaded newer image for " IMAGE);
    /* an unknown TERM still gets bars (ANSI only, no terminfo) */
    char *unknown = auto_on_pty("no-such-terminal");
    CHECK_CONTAINS(unknown, "Downloading [");
    const char *const plain_terms[] = { NULL, "", "dumb" };
    for (size_t i = 0; i < 3; i++) {
        char *text = auto_on_pty(plain_terms[i]);
        CHECK_MSG(strchr(text, '\x1b') == NULL, "TERM=%s: escape sequences", plain_terms[i]);
        CHECK_CONTAINS(text, "aaaaaaaaaaa1: Pull complete\n");
        free(text);
    }
    if (saved != NULL) {
        setenv("TERM", saved, 1);
    } else {
        unsetenv("TERM");
    }
    free(saved);
    free(bars);
    free(unknown);
}

int main(void)
{
    RUN_CASE(plain_lines);
    RUN_CASE(json_lines);
    RUN_CASE(quiet_and_failure);
    RUN_CASE(told_phases);
    RUN_CASE(references);
    RUN_CASE(bad_arguments);
    RUN_CASE(auto_mode);
    return ctest_finish();
}
