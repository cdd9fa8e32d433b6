/*
 * pull_progress.c - see pull_progress.h. The feed keeps the layers and their
 * phases; the renderer turns them into text for the terminal's current size.
 * This unit adds what only the client knows: which output was asked for and
 * what TERM says, the reference typed (for the `Pulling from` line), and
 * writing the text out whole.
 */
#define _GNU_SOURCE /* memrchr */
#include "pull_progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isula_registry.h"

struct pull_progress {
    int fd;
    enum isula_registry_progress_mode mode; /* never AUTO: resolved at creation */
    isula_registry_renderer *renderer;
    isula_registry_feed *feed;
    char *image;
    bool ended;
};

static void say(char *err, size_t errlen, const char *fmt, const char *arg)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, fmt, arg);
    }
}

/* auto: bars need a terminal that understands cursor movement. TERM is
 * only looked at, never required: unset, empty or "dumb" means plain lines. */
static enum isula_registry_progress_mode resolve_auto(int fd)
{
    const char *term = getenv("TERM");
    if (!isatty(fd) || term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0) {
        return ISULA_REGISTRY_PROGRESS_PLAIN;
    }
    return ISULA_REGISTRY_PROGRESS_TTY;
}

static int parse_mode(const char *mode, int fd, enum isula_registry_progress_mode *out)
{
    static const struct {
        const char *name;
        enum isula_registry_progress_mode mode;
    } modes[] = {
        { "tty", ISULA_REGISTRY_PROGRESS_TTY },     { "plain", ISULA_REGISTRY_PROGRESS_PLAIN },
        { "json", ISULA_REGISTRY_PROGRESS_JSON },   { "quiet", ISULA_REGISTRY_PROGRESS_QUIET },
    };
    if (mode == NULL || strcmp(mode, "auto") == 0) {
        *out = resolve_auto(fd);
        return 0;
    }
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(mode, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    }
    return -1;
}

/*
 * The `TAG: Pulling from REPO` parts of a reference as Docker prints them:
 * the tag (or the digest after '@', or "latest"), and the repository path
 * without the registry host (a first component with '.' or ':', or
 * "localhost"); a single name on the default registry is "library/NAME".
 */
static int split_reference(const char *ref, char **tag, char **repo)
{
    const char *at = strchr(ref, '@');
    size_t name_len = at != NULL ? (size_t)(at - ref) : strlen(ref);
    const char *slash = memchr(ref, '/', name_len);
    const char *path = ref;
    bool default_registry = true;

    if (slash != NULL) {
        size_t first = (size_t)(slash - ref);
        bool host = memchr(ref, '.', first) != NULL || memchr(ref, ':', first) != NULL ||
                    (first == 9 && strncmp(ref, "localhost", 9) == 0);
        if (host) {
            path = slash + 1;
            default_registry = first == 9 && strncmp(ref, "docker.io", 9) == 0;
        }
    }
    size_t path_len = name_len - (size_t)(path - ref);
    const char *colon = NULL;
    if (at == NULL) {
        const char *last_slash = memrchr(path, '/', path_len);
        colon = memrchr(last_slash != NULL ? last_slash : path, ':',
                        path_len - (size_t)((last_slash != NULL ? last_slash : path) - path));
    }
    size_t repo_len = colon != NULL ? (size_t)(colon - path) : path_len;
    if (repo_len == 0 || (at != NULL && at[1] == '\0') || (colon != NULL && colon[1] == '\0')) {
        return -1;
    }
    const char *tag_text = at != NULL ? at + 1 : colon != NULL ? colon + 1 : "latest";
    bool library = default_registry && memchr(path, '/', repo_len) == NULL;
    *tag = strdup(tag_text);
    *repo = malloc(repo_len + sizeof("library/"));
    if (*tag == NULL || *repo == NULL) {
        free(*tag);
        free(*repo);
        return -1;
    }
    snprintf(*repo, repo_len + sizeof("library/"), "%s%.*s", library ? "library/" : "", (int)repo_len, path);
    return 0;
}

pull_progress *pull_progress_new(const char *mode, int fd, const char *image, char *err, size_t errlen)
{
    enum isula_registry_progress_mode m;
    char *tag = NULL, *repo = NULL;

    if (parse_mode(mode, fd, &m) != 0) {
        say(err, errlen, "unknown progress output \"%s\": use one of " PULL_PROGRESS_MODES, mode);
        return NULL;
    }
    if (image == NULL || image[0] == '\0' || split_reference(image, &tag, &repo) != 0) {
        say(err, errlen, "not an image reference: \"%s\" (give NAME[:TAG] or NAME@DIGEST)",
            image != NULL ? image : "");
        return NULL;
    }
    pull_progress *p = calloc(1, sizeof(*p));
    if (p != NULL) {
        p->fd = fd;
        p->mode = m;
        p->renderer = isula_registry_renderer_new(m, fd);
        p->feed = isula_registry_feed_new();
        p->image = strdup(image);
    }
    if (p == NULL || p->renderer == NULL || p->feed == NULL || p->image == NULL ||
        isula_registry_feed_pulling(p->feed, tag, repo) != 0) {
        say(err, errlen, "%s", "out of memory for the progress display");
        pull_progress_free(p);
        p = NULL;
    }
    free(tag);
    free(repo);
    return p;
}

bool pull_progress_wants_frames(const pull_progress *p)
{
    return p != NULL && p->mode != ISULA_REGISTRY_PROGRESS_QUIET;
}

static int write_all(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Renders what the feed holds now, for the terminal's size now. */
static int draw(pull_progress *p)
{
    unsigned width = isula_registry_terminal_width(p->fd);
    unsigned height = isula_registry_terminal_height(p->fd);
    char *text = isula_registry_feed_render(p->renderer, p->feed, width, height);
    if (text == NULL) {
        return -1;
    }
    /* whatever the caller printed with stdio goes first */
    if (p->fd == STDOUT_FILENO) {
        fflush(stdout);
    }
    int rc = write_all(p->fd, text);
    free(text);
    return rc;
}

/* A phase as Docker words it, or INFER for anything else. */
static int phase_of(const char *text)
{
    static const struct {
        const char *text;
        int phase;
    } phases[] = {
        { "Pulling fs layer", ISULA_REGISTRY_PHASE_QUEUED },
        { "Waiting", ISULA_REGISTRY_PHASE_WAITING },
        { "Downloading", ISULA_REGISTRY_PHASE_DOWNLOADING },
        { "Retrying", ISULA_REGISTRY_PHASE_RETRYING },
        { "Verifying Checksum", ISULA_REGISTRY_PHASE_VERIFYING },
        { "Download complete", ISULA_REGISTRY_PHASE_DOWNLOAD_COMPLETE },
        { "Extracting", ISULA_REGISTRY_PHASE_EXTRACTING },
        { "Registering", ISULA_REGISTRY_PHASE_REGISTERING },
        { "Pull complete", ISULA_REGISTRY_PHASE_PULL_COMPLETE },
        { "Already exists", ISULA_REGISTRY_PHASE_ALREADY_EXISTS },
    };
    for (size_t i = 0; text != NULL && i < sizeof(phases) / sizeof(phases[0]); i++) {
        if (strcmp(text, phases[i].text) == 0) {
            return phases[i].phase;
        }
    }
    return ISULA_REGISTRY_PHASE_INFER;
}

int pull_progress_frame(pull_progress *p, size_t n, const char *const *ids, const int64_t *current,
                        const int64_t *total, const char *const *phases)
{
    if (p == NULL || (n > 0 && (ids == NULL || current == NULL || total == NULL))) {
        return -1;
    }
    if (p->ended) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        /* an entry the feed refuses (no id) is skipped, the others still count */
        if (ids[i] != NULL && ids[i][0] != '\0') {
            int phase = phases != NULL ? phase_of(phases[i]) : ISULA_REGISTRY_PHASE_INFER;
            (void)isula_registry_feed_entry(p->feed, ids[i], current[i], total[i], phase);
        }
    }
    return draw(p);
}

int pull_progress_done(pull_progress *p, const char *stored_name)
{
    if (p == NULL || p->ended) {
        return -1;
    }
    const char *name = stored_name != NULL && stored_name[0] != '\0' ? stored_name : p->image;
    p->ended = true;
    if (isula_registry_feed_done(p->feed, name, name, false) != 0) {
        return -1;
    }
    return draw(p);
}

int pull_progress_failed(pull_progress *p, const char *reason)
{
    if (p == NULL || p->ended) {
        return -1;
    }
    p->ended = true;
    if (isula_registry_feed_failed(p->feed, reason != NULL && reason[0] != '\0' ? reason : "pull failed") != 0) {
        return -1;
    }
    return draw(p);
}

void pull_progress_free(pull_progress *p)
{
    if (p == NULL) {
        return;
    }
    isula_registry_renderer_free(p->renderer);
    isula_registry_feed_free(p->feed);
    free(p->image);
    free(p);
}
